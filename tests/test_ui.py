"""Real-browser checks of the Gradio page (`kaynak ui`), driven with Playwright and Chromium.

The page is started as a real subprocess on a free loopback port with a fresh KAYNAK_HOME, so
the bundled corpus is ingested on start exactly as a user would see it. The browser is the
system Chromium (/usr/bin/chromium); `playwright install` is never needed.

Run: .venv/bin/python -m pytest tests/test_ui.py -q -s -m slow
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import free_port, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "screenshot.png"
VIEWPORT = {"width": 1300, "height": 900}
START_TIMEOUT = 120.0  # seconds for `kaynak ui` to load its models and ingest the corpus
ANSWER_TIMEOUT = 90_000  # ms for one streamed answer to finish
UPLOAD_TIMEOUT = 60_000  # ms for an upload to reach the server / an ingest to finish

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (apt-get install chromium); the browser tests need it",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")

# Selectors for the Gradio 6 markup (checked against the live DOM).
QUESTION = "#question textarea"
BOT_MESSAGES = '#chat [data-testid="bot"]'
USER_MESSAGES = '#chat [data-testid="user"]'
CARDS = "#sources .card"
FILE_INPUT = '#upload input[type="file"]'


# --- fixtures -----------------------------------------------------------------------------------


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def ui_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kaynak ui --port PORT` running for real; yields its URL, stops it afterwards."""
    kaynak = Path(sys.executable).parent / "kaynak"
    if not kaynak.exists():
        pytest.fail(f"console script {kaynak} is missing; `pip install -e .` the project first")
    tmp = tmp_path_factory.mktemp("ui")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Inherited KAYNAK_* settings (an LLM, another home...) would change what the page shows.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAYNAK_")}
    env.update(
        KAYNAK_HOME=str(tmp / "home"),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        GRADIO_TEMP_DIR=str(tmp / "gradio"),  # uploads land here, not in /tmp/gradio
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp / "kaynak-ui.log"
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(kaynak), "ui", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(ROOT),
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            output = log_path.read_text(encoding="utf-8", errors="replace")
            if "Kaynak is ready" in output or _answers_200(url):
                break
            if proc.poll() is not None:
                pytest.fail(f"kaynak ui exited with {proc.returncode}:\n{output[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"kaynak ui was not ready within {START_TIMEOUT:.0f} s:\n{output[-3000:]}"
                )
            time.sleep(0.25)
        # "ready" is printed once the server listens; make sure the page itself answers.
        while not _answers_200(url):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(
                    f"{url} did not answer 200:\n{log_path.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.25)
        print(f"\n[ui] process start -> page ready: {time.perf_counter() - started:.1f} s")
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
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
    sync_api.expect(page.locator("#report")).to_contain_text("1 added", timeout=UPLOAD_TIMEOUT)
    sync_api.expect(page.locator("#report")).to_contain_text(path.name)


# --- tests --------------------------------------------------------------------------------------


def test_answer_cites_sources_and_highlights_span(page) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    submit(page, "What did Joly say?")
    wait_for_cards(page)
    print(f"\n[ui] Enter -> first source card visible: {time.perf_counter() - started:.2f} s")

    answer = last_bot_message(page)
    sync_api.expect(answer).to_contain_text("[1]")
    link = answer.locator('a.cite[href="#src-1"]')
    sync_api.expect(link).to_have_count(1)
    sync_api.expect(link).to_have_text("[1]")
    # Every marker in the answer points at a card that is on the page.
    hrefs = answer.locator("a.cite").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    for href in hrefs:
        sync_api.expect(page.locator(f"#sources {href}.card")).to_have_count(1)
    marks = page.locator("#sources .card mark").all_inner_texts()
    assert any("Joly" in m for m in marks), marks
    sync_api.expect(page.locator("#sources #src-1 mark")).to_be_visible()

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000

    # Clicking a marker jumps to its card, in the same tab.
    page.evaluate("window.scrollTo(0, 0)")
    link.click()
    page.wait_for_function("location.hash === '#src-1'")
    sync_api.expect(page.locator("#sources #src-1")).to_be_in_viewport()
    assert len(page.context.pages) == 1


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
    sync_api.expect(last_bot_message(page)).to_contain_text("Castellanos")
    cards = page.locator(CARDS)
    card = cards.filter(has_text="Castellanos").first
    sync_api.expect(card).to_be_visible()
    sync_api.expect(card).to_contain_text("lake_vostok_rowing.txt")  # the uploaded document
    sync_api.expect(card.locator("mark")).to_contain_text("Castellanos")


def test_unanswerable_question_says_so(page) -> None:  # type: ignore[no-untyped-def]
    submit(page, "What did Justin Trudeau say about the talks?")
    sources = page.locator("#sources")
    sync_api.expect(sources).to_contain_text("No sources cited", timeout=ANSWER_TIMEOUT)
    answer = last_bot_message(page)
    sync_api.expect(answer).to_contain_text("do not")
    sync_api.expect(answer.locator("a.cite")).to_have_count(0)
    sync_api.expect(page.locator(CARDS)).to_have_count(0)


def test_clear_empties_conversation(page) -> None:  # type: ignore[no-untyped-def]
    submit(page, "Who did Joly meet in Tokyo?")
    wait_for_cards(page)
    sync_api.expect(page.locator(USER_MESSAGES)).to_have_count(1)
    page.locator("#clear").click()
    sync_api.expect(page.locator(USER_MESSAGES)).to_have_count(0)
    sync_api.expect(page.locator(BOT_MESSAGES)).to_have_count(0)
    sync_api.expect(page.locator(CARDS)).to_have_count(0)
    sync_api.expect(page.locator("#sources")).to_contain_text("Ask a question")
    # The next question starts a new conversation: no earlier turn is shown or used.
    submit(page, "What did Joly say?")
    wait_for_cards(page)
    sync_api.expect(page.locator(USER_MESSAGES)).to_have_count(1)
    sync_api.expect(page.locator(USER_MESSAGES)).to_have_text("What did Joly say?")


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
            sync_api.expect(pg.locator(USER_MESSAGES)).to_have_count(1)
            sync_api.expect(pg.locator(USER_MESSAGES)).to_have_text(question)
            sync_api.expect(pg.locator(BOT_MESSAGES)).to_have_count(1)
            assert other not in pg.locator("#chat").inner_text()
        # A second turn in one tab leaves the other tab's conversation alone.
        submit(pages[0], "Joly ne dedi?")
        sync_api.expect(pages[0].locator(USER_MESSAGES)).to_have_count(2)
        sync_api.expect(pages[0].locator(BOT_MESSAGES).nth(1)).to_contain_text(
            "[1]", timeout=ANSWER_TIMEOUT
        )
        sync_api.expect(pages[1].locator(USER_MESSAGES)).to_have_count(1)
        sync_api.expect(pages[1].locator(USER_MESSAGES)).to_have_text(questions[1])
    finally:
        for c in contexts:
            c.close()


def test_source_text_is_escaped_not_executed(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "ottawa_visit.txt"
    doc.write_text(
        "<script>window.__pwned = 1</script><b>bold</b> Joly visited Ottawa.\n", encoding="utf-8"
    )
    upload(page, doc)

    submit(page, "Where did Joly visit?")
    wait_for_cards(page)
    card = page.locator(CARDS).filter(has_text="ottawa_visit.txt").first
    sync_api.expect(card).to_be_visible()
    # The markup shows as text, in the card and in the answer, and never becomes elements.
    sync_api.expect(card.locator("mark")).to_contain_text("<script>window.__pwned = 1</script>")
    sync_api.expect(card.locator("mark")).to_contain_text("<b>bold</b> Joly visited Ottawa.")
    sync_api.expect(last_bot_message(page)).to_contain_text("<b>bold</b>")
    assert page.locator("#sources script, #chat script").count() == 0
    assert page.locator("#sources b, #chat b").filter(has_text="bold").count() == 0
    assert page.evaluate("window.__pwned === undefined") is True
