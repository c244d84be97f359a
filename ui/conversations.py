"""Conversations as the page keeps them in the browser, and their Markdown export.

The page stores them in the browser's localStorage (Gradio's `BrowserState`), so the server
never mixes users and a reload finds them again. Each conversation is plain JSON: an id, a
title, when it started, and its turns, each an `Answer.to_record()` (question, answer text,
citations with their exact quotes). Nothing here needs the index: an exported conversation
stays checkable after the index changes.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.types import Answer

Store = dict[str, Any]  # {"conversations": [conversation, ...] (newest first), "current": id}
Conversation = dict[str, Any]  # {"id", "title", "started", "turns": [Answer record, ...]}

STORAGE_KEY = "kaynak-conversations"
SECRET_FILE = "browser-secret"  # in KAYNAK_HOME: the key the browser's copy is encrypted with
MIN_SECRET_CHARS = 16  # a shorter (hand-edited) key is replaced
MAX_CONVERSATIONS = 50  # localStorage holds a few MB per site; the oldest go first
TITLE_CHARS = 60
ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex


def empty() -> Store:
    return {"conversations": [], "current": None}


def browser_secret(home: Path) -> str:
    """The page's key for the conversations kept in browsers, made once per KAYNAK_HOME so that
    they survive a restart of the page (a new key would make them unreadable)."""
    path = home / SECRET_FILE
    try:
        secret = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        secret = ""
    if len(secret) < MIN_SECRET_CHARS:
        home.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(24)
        path.write_text(secret, encoding="ascii")
        path.chmod(0o600)
    return secret


def valid(store: Any) -> Store:
    """The stored value, or an empty store when the browser holds something else (an older
    format, or a value another page left under the same key)."""
    if not isinstance(store, dict) or not isinstance(store.get("conversations"), list):
        return empty()
    kept = [
        c
        for c in store["conversations"]
        if isinstance(c, dict)
        and isinstance(c.get("id"), str)
        and ID.fullmatch(c["id"])  # it names the conversation's export folder
        and isinstance(c.get("turns"), list)
    ]
    current = store.get("current")
    return {
        "conversations": kept,
        "current": current if any(c["id"] == current for c in kept) else None,
    }


def current(store: Store) -> Conversation | None:
    return next((c for c in store["conversations"] if c["id"] == store["current"]), None)


def answers(conversation: Conversation | None) -> list[Answer]:
    """The conversation's answers; a turn the browser holds in another shape is left out."""
    kept = []
    for turn in (conversation or {}).get("turns", []):
        try:
            kept.append(Answer.from_record(turn))
        except (TypeError, AttributeError):  # not a dict, or fields that Answer lacks
            continue
    return kept


def save_turns(store: Store, turns: list[dict[str, Any]]) -> Store:
    """The store with the current conversation's turns set to `turns` (a conversation begins
    with its first answer), moved to the top of the list."""
    store = valid(store)
    if not turns:
        return store
    conversation = current(store)
    if conversation is None:
        conversation = {
            "id": uuid.uuid4().hex,
            "title": title_of(turns[0].get("question", "")),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    conversation = {**conversation, "turns": list(turns)}
    others = [c for c in store["conversations"] if c["id"] != conversation["id"]]
    return {
        "conversations": [conversation, *others][:MAX_CONVERSATIONS],
        "current": conversation["id"],
    }


def select(store: Store, conversation_id: str | None) -> Store:
    store = valid(store)
    known = any(c["id"] == conversation_id for c in store["conversations"])
    return {**store, "current": conversation_id if known else None}


def delete(store: Store, conversation_id: str | None) -> Store:
    """The store without that conversation; the newest one left becomes current."""
    store = valid(store)
    kept = [c for c in store["conversations"] if c["id"] != conversation_id]
    return {"conversations": kept, "current": kept[0]["id"] if kept else None}


def choices(store: Store) -> list[tuple[str, str]]:
    """(label, id) for the list of past conversations, newest first."""
    labels = []
    for c in store["conversations"]:
        day = str(c.get("started", ""))[:10]
        n = len(c["turns"])
        labels.append(
            (f"{c.get('title') or 'Untitled'} · {day} · {n} question{'s' * (n != 1)}", c["id"])
        )
    return labels


def title_of(question: str) -> str:
    question = " ".join(str(question).split())
    return question if len(question) <= TITLE_CHARS else question[: TITLE_CHARS - 1] + "…"


# --- Markdown export -------------------------------------------------------------------------


def to_markdown(conversation: Conversation, exported: datetime | None = None) -> str:
    """The conversation as Markdown: each question, its answer, and the numbered sources with
    title, address, character offsets and the exact quote (a block quote, line for line)."""
    when = (exported or datetime.now(UTC)).isoformat(timespec="seconds")
    lines = [
        f"# {_inline(conversation.get('title') or 'Kaynak conversation')}",
        "",
        f"Exported from Kaynak on {when}. Each quote is the exact text of its source between "
        "the characters given, as the source read when the question was answered.",
    ]
    for i, answer in enumerate(answers(conversation), 1):
        lines += ["", f"## Question {i}: {_inline(answer.question)}", "", answer.text]
        if answer.note:
            lines += ["", f"_Note: {_inline(answer.note)}_"]
        if answer.citations:
            lines += ["", "### Sources", ""]
        for c in answer.citations:
            where = " · ".join(x for x in (c.url, c.path) if x)
            meta = " · ".join(x for x in (c.publisher, c.published) if x)
            lines.append(f"[{c.n}] {_inline(c.title)}" + (f" — {meta}" if meta else ""))
            lines.append(f"    source: {where or '(no address)'}")
            lines.append(f"    document: {c.doc_id}, characters {c.start}–{c.end}")
            lines += ["", *(f"> {line}" for line in c.quote.split("\n")), ""]
        if answer.dropped:
            lines += ["", "### Removed (the cited sources do not support them)", ""]
            lines += [f"- “{_inline(d.sentence)}”: {_inline(d.reason)}" for d in answer.dropped]
    return "\n".join(lines).rstrip() + "\n"


def export_name(conversation: Conversation) -> str:
    stem = re.sub(r"[^\w]+", "-", str(conversation.get("title", "")).lower()).strip("-")[:40]
    return f"kaynak-{stem or 'conversation'}.md"


def _inline(text: str) -> str:
    return " ".join(str(text).split())
