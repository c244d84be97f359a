"""HTML for the page: answers with linked [n] markers, source cards with the cited span marked,
the documents table. Every text that comes from a source or a user is escaped here."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from rag import Answer, Assistant, StoreError
from rag.types import Citation

CONTEXT_CHARS = 220  # source text shown around a cited span


def render_answer(text: str, linked: bool = True) -> str:
    """Answer text for the chat: escaped, with each [n] linked to its source card (`linked`:
    the sources panel shows the cards of the conversation's latest answer only)."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", escaped)  # no markdown from sources
    if not linked:
        return escaped
    return re.sub(r"\\\[(\d+)\\\]", r'<a class="cite" href="#src-\1">[\1]</a>', escaped)


def render_note(answer: Answer) -> str:
    """Why the answer quotes the sources instead of the model's words (empty when it does not)."""
    if not answer.note:
        return ""
    return f'\n\n<span class="note">ⓘ {html.escape(answer.note)}</span>'


def render_dropped(answer: Answer) -> str:
    """A note that the answer was trimmed, with each removed sentence and why, collapsed."""
    if not answer.dropped:
        return ""
    n = len(answer.dropped)
    items = "".join(
        f"<li>“{html.escape(d.sentence)}” — {html.escape(d.reason)}</li>" for d in answer.dropped
    )
    return (
        f'\n\n<details class="dropped"><summary>{n} sentence{"s" if n > 1 else ""} removed: '
        f"the cited sources do not support {'them' if n > 1 else 'it'}</summary>"
        f"<ul>{items}</ul></details>"
    )


def render_sources(answer: Answer | None, source_text: Any = None) -> str:
    if answer is None:
        return (
            '<div class="empty">Ask a question: the passages each answer cites appear here.</div>'
        )
    if answer.abstained or not answer.citations:
        return f'<div class="empty"><b>No sources cited.</b> {html.escape(answer.text)}</div>'
    return "\n".join(_card(c, source_text) for c in answer.citations)


def _card(c: Citation, source_text: Any) -> str:
    context = html.escape(c.quote)
    before = after = ""
    if source_text is not None:
        try:
            text = source_text(c.doc_id)
        except (KeyError, StoreError):  # removed since the answer, or the index fails
            text = ""
        if text[c.start : c.end] == c.quote:  # not when the source changed since the answer
            before = text[max(0, c.start - CONTEXT_CHARS) : c.start]
            after = text[c.end : c.end + CONTEXT_CHARS]
    lead = "…" if before and c.start > CONTEXT_CHARS else ""
    tail = "…" if after else ""
    passage = f"{lead}{html.escape(before)}<mark>{context}</mark>{html.escape(after)}{tail}"
    meta = " · ".join(html.escape(x) for x in (c.publisher, c.published) if x)
    link = ""
    if c.url.startswith(("http://", "https://")):
        link = (
            f' · <a href="{html.escape(c.url, quote=True)}" target="_blank" '
            'rel="noopener noreferrer">original</a>'
        )
    elif c.path:
        link = f" · {html.escape(Path(c.path).name)}"
    return (
        f'<div class="card" id="src-{c.n}"><h4>[{c.n}] {html.escape(c.title)}</h4>'
        f'<div class="meta">{meta}{link}</div><div class="passage">{passage}</div></div>'
    )


def render_turn(answer: Answer, latest: bool = True) -> list[dict[str, str]]:
    """A question and its answer as chat messages (only the latest answer's markers link to
    the cards in the sources panel)."""
    content = render_answer(answer.text, linked=latest) + render_note(answer)
    return [
        {"role": "user", "content": answer.question},
        {"role": "assistant", "content": content + render_dropped(answer)},
    ]


def render_conversation(answers: list[Answer]) -> list[dict[str, str]]:
    return [m for i, a in enumerate(answers) for m in render_turn(a, i == len(answers) - 1)]


def render_documents(bot: Assistant) -> list[list[Any]]:
    return [[d.title, d.chunks, d.url or d.path, d.doc_id] for d in bot.documents()]


def render_background(bot: Assistant) -> str:
    """How far the relevance model's vectors are (computed after ingest, in the background)."""
    try:
        progress = bot.background_progress()
    except StoreError as exc:  # shown on the page, which goes on serving what it can
        return f"⚠ {html.escape(str(exc))}"
    if progress is None or progress[0] >= progress[1]:
        return ""
    done, total = progress
    return (
        f"Computing relevance vectors: {done:,} of {total:,} passages. New documents are "
        "already searchable; answers about them get better when this is done."
    )
