"""The Gradio page (`kaynak ui`): its pure rendering functions, the page driven through
gradio_client, and the page in a real browser (Playwright with Debian's Chromium).

The page is started as a real subprocess on a free loopback port with a fresh KAYNAK_HOME, so
the bundled corpus is ingested on start exactly as a user would see it.

Run the browser checks: .venv/bin/python -m pytest tests/test_ui.py -q -s -m slow
Regenerate the README screenshot: make screenshot
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import (
    CHROMIUM,
    ask_page,
    kaynak_env,
    launch_chromium,
    page_client,
    start_page,
    stop,
)
from rag import Assistant
from rag.lexicon import data_folder
from tests.test_conversations import parse_export
from ui.handlers import safe_upload_name

# CI must run the browser tests; a local run without the browser skips them and says why.
IN_CI = bool(os.environ.get("CI"))
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    if IN_CI:
        raise
    expect = sync_playwright = None  # type: ignore[assignment]

VIEWPORT = {"width": 1300, "height": 900}
ANSWER_TIMEOUT = 90_000  # ms for one streamed answer to finish
UPLOAD_TIMEOUT = 60_000  # ms for an upload to reach the server / an ingest to finish

# Selectors for the Gradio 6 markup (checked against the live DOM).
QUESTION = "#question textarea"
BOT_MESSAGES = '#chat [data-testid="bot"]'
USER_MESSAGES = '#chat [data-testid="user"]'
CARDS = "#sources .card"
CITED = "#sources .card .passage > mark"  # a card's cited span (matched words are marks in it)
FILE_INPUT = '#upload input[type="file"]'
PICKER_OPTIONS = "#conversations label"

needs_chromium = pytest.mark.skipif(
    not IN_CI and (sync_playwright is None or not Path(CHROMIUM).exists()),
    reason=f"the browser tests need {CHROMIUM} and playwright (`make test` installs both)",
)
needs_lexicon = pytest.mark.skipif(
    not IN_CI and data_folder() is None,
    reason="the glosses need the lexicon's package (`make test` installs the extra 'lexicon')",
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/cron.d/evil.txt", "evil.txt"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("a" * 400 + ".txt", "a" * 80 + ".txt"),
        ("résumé final (2).pdf", "résumé_final_2.pdf"),
        ("...", "upload"),
    ],
)
def test_uploaded_file_names_stay_inside_the_uploads_folder(name, expected):
    assert safe_upload_name(name) == expected


# --- the page through gradio_client: bad input, and a restart ------------------------------


@pytest.fixture(scope="module")
def page_home(tmp_path_factory):
    return tmp_path_factory.mktemp("page") / "home"


@pytest.mark.slow
def test_the_page_explains_bad_input_and_keeps_documents_across_a_restart(page_home, tmp_path):
    from gradio_client import handle_file

    proc, client = page_client(kaynak_env(page_home))
    try:
        for question, message in [
            ("", "empty"),
            ("x " * 10_000, "keep it under"),
            ("?!?", "no words"),
        ]:
            text, _ = ask_page(client, question)
            assert message in text, text
        text, sources = ask_page(client, "Who did\x00 Joly meet in Tokyo?")
        assert "[1]" in text and "Hayashi" in sources
        bad = tmp_path / "photo.txt"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
        good = tmp_path / "ferry.txt"
        good.write_text(
            "The night ferry to Bodø was cancelled because of the storm.", encoding="utf-8"
        )
        report, *_ = client.predict(
            [handle_file(str(bad)), handle_file(str(good))], "", api_name="/add_sources"
        )
        assert "1 added" in report and "binary" in report
        report, *_ = client.predict([], "http://127.0.0.1:1/private", api_name="/add_sources")
        assert "KAYNAK_ALLOW_PRIVATE_URLS" in report
    finally:
        stop(proc)
    proc, client = page_client(
        kaynak_env(page_home)
    )  # the documents and the index survive a restart
    try:
        text, sources = ask_page(client, "Why was the night ferry to Bodø cancelled?")
        assert "[1]" in text and "storm" in sources
    finally:
        stop(proc)


# --- the page in Chromium ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ui_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui") / "home"


@pytest.fixture(scope="module")
def ui_url(ui_home: Path) -> Iterator[str]:
    """`kaynak ui` running for real on a fresh home; yields its URL, stops it afterwards."""
    tmp = ui_home.parent
    env = kaynak_env(ui_home, GRADIO_TEMP_DIR=str(tmp / "gradio"), PYTHONUNBUFFERED="1")
    proc, url, seconds = start_page(env, log=tmp / "kaynak-ui.log")
    print(f"\n[ui] process start -> page ready: {seconds:.1f} s")
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, ui_url):  # type: ignore[no-untyped-def]
    """A fresh browser context (its own Gradio session) with the page loaded."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(ui_url, wait_until="load")
    pg.locator(QUESTION).wait_for(state="visible")
    try:
        yield pg
    finally:
        context.close()


# --- helpers ------------------------------------------------------------------------------------


def submit(page, question: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(QUESTION)
    box.fill(question)
    box.press("Enter")


def wait_for_cards(page) -> None:  # type: ignore[no-untyped-def]
    """The final answer and its source cards arrive together, after the stream ends."""
    page.locator(CARDS).first.wait_for(state="visible", timeout=ANSWER_TIMEOUT)


def last_bot_message(page):  # type: ignore[no-untyped-def]
    return page.locator(BOT_MESSAGES).last


def open_conversations(page) -> None:  # type: ignore[no-untyped-def]
    if not page.locator("#conversations").is_visible():
        page.get_by_text("Past conversations (kept in this browser)").click()
    page.locator("#conversations").wait_for(state="visible")


def chat_state(page) -> tuple[list[str], list[str], list[str]]:  # type: ignore[no-untyped-def]
    """What a reader sees: the questions, the answers, and the marked quotes of the cards."""
    return (
        page.locator(USER_MESSAGES).all_inner_texts(),
        page.locator(BOT_MESSAGES).all_inner_texts(),
        page.locator(CITED).all_inner_texts(),
    )


def open_add_sources(page) -> None:  # type: ignore[no-untyped-def]
    if not page.locator("#upload").is_visible():
        page.get_by_text("Add sources", exact=True).click()
    page.locator("#upload").wait_for(state="visible")


def upload(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Upload a file through the page's own control and add it to the corpus."""
    open_add_sources(page)
    page.set_input_files(FILE_INPUT, str(path))
    # The file row gets its download link only once the upload reached the server.
    page.locator(f'#upload td.filename[aria-label="{path.name}"]').wait_for(timeout=UPLOAD_TIMEOUT)
    page.locator('#upload a[data-testid="download-link"]').first.wait_for(timeout=UPLOAD_TIMEOUT)
    page.locator("#add").click()
    expect(page.locator("#report")).to_contain_text("1 added", timeout=UPLOAD_TIMEOUT)
    expect(page.locator("#report")).to_contain_text(path.name)


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.slow
@needs_chromium
def test_answer_cites_sources_and_highlights_span(page, tmp_path, request) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    submit(page, "What did Joly say?")
    wait_for_cards(page)
    print(f"\n[ui] Enter -> first source card visible: {time.perf_counter() - started:.2f} s")

    answer = last_bot_message(page)
    expect(answer).to_contain_text("[1]")
    link = answer.locator('a.cite[href="#src-1"]')
    expect(link).to_have_count(1)
    expect(link).to_have_text("[1]")
    # Every marker in the answer points at a card that is on the page.
    hrefs = answer.locator("a.cite").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    for href in hrefs:
        expect(page.locator(f"#sources {href}.card")).to_have_count(1)
    marks = page.locator(CITED).all_inner_texts()
    assert any("Joly" in m for m in marks), marks
    expect(page.locator("#sources #src-1 .passage > mark")).to_be_visible()

    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if request.config.getoption("--screenshot"):  # `make screenshot`: the README's picture
        shutil.copyfile(shot, request.config.getoption("--screenshot"))

    # Clicking a marker jumps to its card, in the same tab.
    page.evaluate("window.scrollTo(0, 0)")
    link.click()
    page.wait_for_function("location.hash === '#src-1'")
    expect(page.locator("#sources #src-1")).to_be_in_viewport()
    assert len(page.context.pages) == 1


@pytest.mark.slow
@needs_chromium
@needs_lexicon
def test_an_english_reader_sees_the_turkish_quote_highlighted_and_glossed(  # type: ignore[no-untyped-def]
    browser, ui_url, tmp_path
) -> None:
    # a touch screen: a tap, not a hover, must show a word's gloss
    context = browser.new_context(viewport=VIEWPORT, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(ui_url, wait_until="load")
        submit(page, "What did Joly say about intelligence sharing?")
        wait_for_cards(page)
        answer, sources = last_bot_message(page), page.locator("#sources")
        expect(answer.locator("a.cite").first).to_be_visible()

        def word(where, selector: str, text: str):  # type: ignore[no-untyped-def]
            return where.locator(selector).filter(has_text=re.compile(f"^{text}$"))

        # In the answer's quote and in its card: the words that match the question are
        # highlighted, by translation (intelligence: İstihbarat) and by spelling (Joly) ...
        for where in (answer, sources):
            expect(word(where, "mark.hit", "İstihbarat")).not_to_have_count(0)
            expect(word(where, "mark.hit", "Joly")).not_to_have_count(0)
            expect(word(where, "mark.hit", "Bakanı")).to_have_count(0)  # not asked about
            # ... and a Turkish word carries its lemma and English lemmas; names and
            # function words carry none
            expect(word(where, ".gloss", "Bakanı").first).to_have_attribute(
                "title", re.compile(r"^bakan: .*\bminister\b")
            )
            expect(word(where, ".gloss", "İstihbarat").first).to_have_attribute(
                "title", re.compile(r"^istihbarat: .*\bintelligence\b")
            )
            expect(word(where, ".gloss", "Joly")).to_have_count(0)
            expect(word(where, ".gloss", "ve")).to_have_count(0)
            expect(where).to_contain_text("Highlighted: words that match your question.")
            expect(where).to_contain_text("not a translation")

        # A tap shows the gloss (a touch screen has no hover).
        tapped = word(answer, ".gloss", "Bakanı").first
        tapped.tap()
        page.wait_for_function("document.activeElement?.classList.contains('gloss')")
        bubble = page.evaluate("getComputedStyle(document.activeElement, '::after').content")
        assert "minister" in bubble and bubble.startswith('"bakan:'), bubble
        page.screenshot(path=str(tmp_path / "glosses.png"), full_page=True)

        # The conversation is kept, and exported, as plain text.
        expect(page.locator("#export")).to_be_enabled()
        with page.expect_download() as download:
            page.locator("#export").click()
        markdown = Path(download.value.path()).read_text(encoding="utf-8")
        assert "İstihbarat" in markdown and "<mark" not in markdown and "gloss" not in markdown
    finally:
        context.close()


@pytest.mark.slow
@needs_chromium
def test_uploaded_file_is_searchable(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "lake_vostok_rowing.txt"
    doc.write_text(
        "The Lake Vostok Rowing Club elected Mira Castellanos as its president on 3 March 2024. "
        "Castellanos promised to rebuild the boathouse before the summer season. "
        "The club has 140 members and trains on the lake every morning. "
        "Its previous president, Tomas Ekberg, stepped down after eight years in the post.\n",
        encoding="utf-8",
    )
    upload(page, doc)

    submit(page, "Who did the Lake Vostok Rowing Club elect as president?")
    wait_for_cards(page)
    expect(last_bot_message(page)).to_contain_text("Castellanos")
    cards = page.locator(CARDS)
    card = cards.filter(has_text="Castellanos").first
    expect(card).to_be_visible()
    expect(card).to_contain_text("lake_vostok_rowing.txt")  # the uploaded document
    expect(card.locator("mark")).to_contain_text("Castellanos")


@pytest.mark.slow
@needs_chromium
def test_unanswerable_question_says_so(page) -> None:  # type: ignore[no-untyped-def]
    submit(page, "What did Justin Trudeau say about the talks?")
    sources = page.locator("#sources")
    expect(sources).to_contain_text("No sources cited", timeout=ANSWER_TIMEOUT)
    answer = last_bot_message(page)
    expect(answer).to_contain_text("do not")
    expect(answer.locator("a.cite")).to_have_count(0)
    expect(page.locator(CARDS)).to_have_count(0)


@pytest.mark.slow
@needs_chromium
def test_new_conversation_empties_the_page_and_keeps_the_old_one(page) -> None:  # type: ignore[no-untyped-def]
    submit(page, "Who did Joly meet in Tokyo?")
    wait_for_cards(page)
    expect(page.locator(USER_MESSAGES)).to_have_count(1)
    page.locator("#new").click()
    expect(page.locator(USER_MESSAGES)).to_have_count(0)
    expect(page.locator(BOT_MESSAGES)).to_have_count(0)
    expect(page.locator(CARDS)).to_have_count(0)
    expect(page.locator("#sources")).to_contain_text("Ask a question")
    # The next question starts a new conversation: no earlier turn is shown or used.
    submit(page, "What did Joly say?")
    wait_for_cards(page)
    expect(page.locator(USER_MESSAGES)).to_have_count(1)
    expect(page.locator(USER_MESSAGES)).to_have_text("What did Joly say?")
    open_conversations(page)
    expect(page.locator(PICKER_OPTIONS)).to_have_count(2)
    expect(page.locator(PICKER_OPTIONS).first).to_contain_text("What did Joly say?")
    # The chat's own trash icon starts a new conversation too, and the next answer is saved
    # as a third one instead of replacing the one that was shown.
    page.locator('#chat button[aria-label="Clear"]').click()
    expect(page.locator(USER_MESSAGES)).to_have_count(0)
    expect(page.locator("#sources")).to_contain_text("Ask a question")
    submit(page, "Joly ne dedi?")
    wait_for_cards(page)
    expect(page.locator(PICKER_OPTIONS)).to_have_count(3)


@pytest.mark.slow
@needs_chromium
def test_conversations_are_per_session(browser, ui_url) -> None:  # type: ignore[no-untyped-def]
    questions = ["What did Joly say?", "Who did Joly meet in Tokyo?"]
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in questions]
    try:
        pages = [c.new_page() for c in contexts]
        for pg in pages:
            pg.goto(ui_url, wait_until="load")
            pg.locator(QUESTION).wait_for(state="visible")
        for pg, question in zip(pages, questions, strict=True):  # both in flight at once
            submit(pg, question)
        for pg in pages:
            wait_for_cards(pg)
        for pg, question, other in zip(pages, questions, reversed(questions), strict=True):
            expect(pg.locator(USER_MESSAGES)).to_have_count(1)
            expect(pg.locator(USER_MESSAGES)).to_have_text(question)
            expect(pg.locator(BOT_MESSAGES)).to_have_count(1)
            assert other not in pg.locator("#chat").inner_text()
        # A second turn in one tab leaves the other tab's conversation alone.
        submit(pages[0], "Joly ne dedi?")
        expect(pages[0].locator(USER_MESSAGES)).to_have_count(2)
        expect(pages[0].locator(BOT_MESSAGES).nth(1)).to_contain_text("[1]", timeout=ANSWER_TIMEOUT)
        expect(pages[1].locator(USER_MESSAGES)).to_have_count(1)
        expect(pages[1].locator(USER_MESSAGES)).to_have_text(questions[1])
    finally:
        for c in contexts:
            c.close()


@pytest.mark.slow
@needs_chromium
def test_source_text_is_escaped_not_executed(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "ottawa_visit.txt"
    doc.write_text(
        "<script>window.__pwned = 1</script><b>bold</b> Joly visited Ottawa.\n", encoding="utf-8"
    )
    upload(page, doc)

    submit(page, "Where did Joly visit?")
    wait_for_cards(page)
    card = page.locator(CARDS).filter(has_text="ottawa_visit.txt").first
    expect(card).to_be_visible()
    # The markup shows as text, in the card and in the answer, and never becomes elements.
    expect(card.locator("mark")).to_contain_text("<script>window.__pwned = 1</script>")
    expect(card.locator("mark")).to_contain_text("<b>bold</b> Joly visited Ottawa.")
    expect(last_bot_message(page)).to_contain_text("<b>bold</b>")
    assert page.locator("#sources script, #chat script").count() == 0
    assert page.locator("#sources b, #chat b").filter(has_text="bold").count() == 0
    assert page.evaluate("window.__pwned === undefined") is True


@pytest.mark.slow
@needs_chromium
def test_a_reload_keeps_the_conversation_with_working_citations(page, ui_home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    submit(page, "What did Joly say?")
    wait_for_cards(page)
    submit(page, "Who did Joly meet in Tokyo?")
    expect(page.locator(BOT_MESSAGES)).to_have_count(2)
    expect(page.locator(BOT_MESSAGES).nth(1).locator("a.cite").first).to_be_visible(
        timeout=ANSWER_TIMEOUT
    )
    expect(page.locator("#export")).to_be_enabled()  # saved in the browser once answered
    before = chat_state(page)
    assert len(before[0]) == 2 and before[2], before

    page.reload(wait_until="load")
    expect(page.locator(USER_MESSAGES)).to_have_count(2)
    expect(page.locator(CARDS).first).to_be_visible()
    assert chat_state(page) == before
    page.screenshot(path=str(tmp_path / "after-reload.png"), full_page=True)
    # The latest answer's markers still open its cards; the earlier answer's are plain text.
    latest, earlier = last_bot_message(page), page.locator(BOT_MESSAGES).first
    expect(earlier.locator("a.cite")).to_have_count(0)
    for href in latest.locator("a.cite").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    ):
        expect(page.locator(f"#sources {href}.card")).to_have_count(1)
    page.evaluate("window.scrollTo(0, 0)")
    latest.locator('a.cite[href="#src-1"]').first.click()
    page.wait_for_function("location.hash === '#src-1'")
    expect(page.locator("#sources #src-1")).to_be_in_viewport()

    # A question after the reload continues the same conversation (its turns came back).
    submit(page, "And what did she say?")
    expect(page.locator(BOT_MESSAGES)).to_have_count(3)
    expect(page.locator(BOT_MESSAGES).nth(2).locator("a.cite").first).to_be_visible(
        timeout=ANSWER_TIMEOUT
    )

    # Export: a Markdown file whose every quote is the source's text at its offsets. The button
    # is off while an answer is on its way and comes back once the conversation is saved.
    expect(page.locator("#export")).to_be_enabled()
    with page.expect_download() as download:
        page.locator("#export").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename.endswith(".md")
    assert "## Question 1: What did Joly say?" in markdown
    assert "## Question 2: Who did Joly meet in Tokyo?" in markdown
    assert "## Question 3: And what did she say?" in markdown
    sources = parse_export(markdown)
    assert sources, markdown
    reader = Assistant(home=ui_home, progress=False)  # a second process's view of the index
    for s in sources:
        assert reader.source_text(s["doc_id"])[s["start"] : s["end"]] == s["quote"]


@pytest.mark.slow
@needs_chromium
def test_past_conversations_can_be_opened_and_deleted(page) -> None:  # type: ignore[no-untyped-def]
    submit(page, "What did Joly say?")
    wait_for_cards(page)
    page.locator("#new").click()
    expect(page.locator(USER_MESSAGES)).to_have_count(0)
    submit(page, "Joly ne dedi?")
    wait_for_cards(page)
    open_conversations(page)
    expect(page.locator(PICKER_OPTIONS)).to_have_count(2)

    page.locator(PICKER_OPTIONS).filter(has_text="What did Joly say?").click()
    expect(page.locator(USER_MESSAGES)).to_have_text(["What did Joly say?"])
    expect(page.locator(CARDS).first).to_be_visible()

    page.locator("#delete").click()
    expect(page.locator(PICKER_OPTIONS)).to_have_count(1)
    expect(page.locator(USER_MESSAGES)).to_have_text(["Joly ne dedi?"])  # the one left
    page.reload(wait_until="load")
    expect(page.locator(USER_MESSAGES)).to_have_text(["Joly ne dedi?"])
    open_conversations(page)
    expect(page.locator(PICKER_OPTIONS)).to_have_count(1)
    page.locator("#delete").click()
    expect(page.locator(USER_MESSAGES)).to_have_count(0)
    expect(page.locator("#sources")).to_contain_text("Ask a question")
    expect(page.locator("#export")).to_be_disabled()
