"""ui/conversations.py: conversations kept in the browser, and their Markdown export."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rag.types import Answer, Citation, DroppedSentence
from ui import conversations as conv

QUOTE = "Joly, Tokyo'da “Japonya ile istihbarat paylaşımı” dedi.\nİkinci satır: *yıldız* [2]"


def _record(question: str, quote: str = QUOTE, **changes: object) -> dict:
    answer = Answer(
        question=question,
        text=f"According to the article: “{quote}” [1]",
        citations=[
            Citation(
                n=1,
                doc_id="abc123",
                title="Kanada ve Japonya",
                url="https://example.org/x",
                path="/corpus/a.txt",
                start=40,
                end=40 + len(quote),
                quote=quote,
                publisher="The Canadian Press",
                published="2022-10-11",
            )
        ],
        dropped=[DroppedSentence("Joly met Biden.", "Biden not found in the cited source")],
        **changes,  # type: ignore[arg-type]
    )
    return answer.to_record()


def parse_export(markdown: str) -> list[dict]:
    """Each source of an exported conversation: number, title, document, offsets, quote."""
    sources = []
    lines = markdown.split("\n")
    for i, line in enumerate(lines):
        found = re.fullmatch(r"    document: (\S+), characters (\d+)–(\d+)", line)
        if not found:
            continue
        heading = re.fullmatch(r"\[(\d+)\] (.*?)(?: — .*)?", lines[i - 2])
        assert heading, lines[i - 2]
        quote_lines = []
        for q in lines[i + 2 :]:
            if not q.startswith(">"):
                break
            quote_lines.append(q[2:] if q.startswith("> ") else q[1:])
        sources.append(
            {
                "n": int(heading[1]),
                "title": heading[2],
                "doc_id": found[1],
                "start": int(found[2]),
                "end": int(found[3]),
                "quote": "\n".join(quote_lines),
            }
        )
    return sources


def test_an_answer_record_brings_back_the_same_answer_without_its_passages():
    record = _record("Joly ne dedi?", abstained=False, note="a note")
    assert "passages" not in record
    answer = Answer.from_record({**record, "from_a_newer_kaynak": 1})
    assert answer.to_record() == record
    assert answer.citations[0].quote == QUOTE and answer.dropped[0].reason.startswith("Biden")


def test_a_conversation_begins_with_its_first_answer_and_keeps_its_turns():
    store = conv.save_turns(conv.empty(), [])
    assert store == conv.empty()  # no conversation without an answer
    store = conv.save_turns(store, [_record("What did Joly say?")])
    first = conv.current(store)
    assert first is not None and first["title"] == "What did Joly say?"
    store = conv.save_turns(store, [_record("What did Joly say?"), _record("And Hayashi?")])
    assert len(store["conversations"]) == 1 and len(conv.current(store)["turns"]) == 2
    # a new conversation goes to the top; the earlier one is kept, and can be opened again
    store = conv.save_turns(conv.select(store, None), [_record("Who is Hayashi?")])
    assert [c["title"] for c in store["conversations"]] == ["Who is Hayashi?", "What did Joly say?"]
    store = conv.select(store, first["id"])
    assert [a.question for a in conv.answers(conv.current(store))] == [
        "What did Joly say?",
        "And Hayashi?",
    ]
    labels = [label for label, _ in conv.choices(store)]
    assert labels[1].startswith("What did Joly say? · ") and labels[1].endswith("2 questions")


def test_deleting_a_conversation_opens_the_newest_one_left():
    store = conv.empty()
    for question in ["one?", "two?", "three?"]:
        store = conv.save_turns(conv.select(store, None), [_record(question)])
    ids = [c["id"] for c in store["conversations"]]
    store = conv.delete(store, ids[0])
    assert [c["title"] for c in store["conversations"]] == ["two?", "one?"]
    assert store["current"] == ids[1]
    store = conv.delete(conv.delete(store, ids[1]), ids[2])
    assert store == conv.empty()


def test_the_oldest_conversations_go_when_the_browser_holds_too_many():
    store = conv.empty()
    for n in range(conv.MAX_CONVERSATIONS + 3):
        store = conv.save_turns(conv.select(store, None), [_record(f"question {n}?")])
    titles = [c["title"] for c in store["conversations"]]
    assert len(titles) == conv.MAX_CONVERSATIONS and titles[0] == f"question {n}?"
    assert "question 0?" not in titles


def test_what_the_browser_holds_under_the_key_is_checked_before_use():
    assert conv.valid(None) == conv.empty()
    assert conv.valid(["an", "older", "format"]) == conv.empty()
    good = {"id": "0123456789abcdef" * 2, "turns": []}
    bad = [{"id": "../../etc", "turns": []}, {"id": "0" * 32}, "junk"]
    store = conv.valid({"conversations": [good, *bad], "current": "gone"})
    assert store == {"conversations": [good], "current": None}
    odd_turns = {"id": good["id"], "turns": [_record("kept?"), "junk", {"citations": [{"n": 1}]}]}
    assert [a.question for a in conv.answers(odd_turns)] == ["kept?"]


def test_the_export_holds_every_quote_exactly_and_reads_without_the_index():
    store = conv.save_turns(conv.empty(), [_record("What did Joly say?"), _record("Why?", "Kısa.")])
    markdown = conv.to_markdown(conv.current(store), exported=datetime(2026, 12, 2, tzinfo=UTC))
    assert markdown.startswith("# What did Joly say?\n")
    assert "## Question 1: What did Joly say?" in markdown and "## Question 2: Why?" in markdown
    sources = parse_export(markdown)
    assert [s["quote"] for s in sources] == [QUOTE, "Kısa."]
    assert sources[0] == {
        "n": 1,
        "title": "Kanada ve Japonya",
        "doc_id": "abc123",
        "start": 40,
        "end": 40 + len(QUOTE),
        "quote": QUOTE,
    }
    assert "https://example.org/x · /corpus/a.txt" in markdown
    assert "- “Joly met Biden.”: Biden not found in the cited source" in markdown
    assert conv.export_name(conv.current(store)) == "kaynak-what-did-joly-say.md"


def test_the_browser_key_survives_a_restart_of_the_page(tmp_path):
    secret = conv.browser_secret(tmp_path / "home")
    assert len(secret) >= 16 and conv.browser_secret(tmp_path / "home") == secret
    assert (tmp_path / "home" / conv.SECRET_FILE).stat().st_mode & 0o077 == 0
