"""HTML for the page: answers with linked [n] markers, source cards with the cited span marked,
the documents table. Every text that comes from a source or a user is escaped here.

With an `Aid` (ui/glosses.py), a Turkish quote shown for a question in another language has
the words that match the question highlighted and English dictionary meanings on its words,
in the answer and in its card, with a note saying what they are. Only the page shows them:
the saved conversation and its Markdown export keep the plain text."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag import Answer, Assistant, StoreError
from rag.types import Citation
from ui.glosses import Aid, Glosses

CONTEXT_CHARS = 220  # source text shown around a cited span
Quotes = Sequence[tuple[str, frozenset[str]]]  # quotes to help reading, with their matched words


def _escape_markdown(text: str) -> str:
    """Escaped HTML that Markdown shows as typed (no markdown from sources)."""
    return re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", html.escape(text, quote=False))


def render_answer(
    text: str, linked: bool = True, quotes: Quotes = (), glosses: Glosses | None = None
) -> str:
    """Answer text for the chat: escaped, with each [n] linked to its source card (`linked`:
    the sources panel shows the cards of the conversation's latest answer only). With
    `glosses`, each of `quotes` found in the text gets its reading help."""
    pieces: list[str] = []
    position = 0
    for start, quote, matched in _places(text, quotes if glosses else ()):
        assert glosses is not None
        pieces.append(_escape_markdown(text[position:start]))
        pieces.append(glosses.render(quote, matched, _escape_markdown))
        position = start + len(quote)
    pieces.append(_escape_markdown(text[position:]))
    escaped = "".join(pieces)
    if not linked:
        return escaped
    return re.sub(r"\\\[(\d+)\\\]", r'<a class="cite" href="#src-\1">[\1]</a>', escaped)


def _places(text: str, quotes: Quotes) -> list[tuple[int, str, frozenset[str]]]:
    """Where each quote first stands in `text`, in order, none overlapping another."""
    found = sorted(
        (
            (start, quote, matched)
            for quote, matched in quotes
            if quote and (start := text.find(quote)) >= 0
        ),
        key=lambda place: place[0],
    )
    kept: list[tuple[int, str, frozenset[str]]] = []
    for place in found:
        if not kept or place[0] >= kept[-1][0] + len(kept[-1][1]):
            kept.append(place)
    return kept


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


def render_reading_note(glosses: Glosses) -> str:
    """What the highlights and the glosses are (and are not)."""
    return f'<span class="note reading">ⓘ {html.escape(glosses.note)}</span>'


def _helped(answer: Answer, aid: Aid | None) -> dict[int, frozenset[str]]:
    """The citations of `answer` whose quotes get reading help, with their matched words."""
    if aid is None or answer.abstained:
        return {}
    helped = {}
    for c in answer.citations:
        matched = aid.matches(answer.question, answer.language, c)
        if matched is not None:
            helped[c.n] = matched
    return helped


def render_sources(answer: Answer | None, source_text: Any = None, aid: Aid | None = None) -> str:
    if answer is None:
        return (
            '<div class="empty">Ask a question: the passages each answer cites appear here.</div>'
        )
    if answer.abstained or not answer.citations:
        return f'<div class="empty"><b>No sources cited.</b> {html.escape(answer.text)}</div>'
    helped = _helped(answer, aid)
    cards = [
        _card(c, source_text, (aid.glosses, helped[c.n]) if aid and c.n in helped else None)
        for c in answer.citations
    ]
    if aid and helped:
        cards.insert(0, f"<p>{render_reading_note(aid.glosses)}</p>")
    return "\n".join(cards)


def _card(
    c: Citation, source_text: Any, reading: tuple[Glosses, frozenset[str]] | None = None
) -> str:
    context = html.escape(c.quote)
    before = after = ""
    cut = (False, False)  # whether the text shown before / after cuts a word in two
    if source_text is not None:
        try:
            text = source_text(c.doc_id)
        except (KeyError, StoreError):  # removed since the answer, or the index fails
            text = ""
        if text[c.start : c.end] == c.quote:  # not when the source changed since the answer
            before = text[max(0, c.start - CONTEXT_CHARS) : c.start]
            after = text[c.end : c.end + CONTEXT_CHARS]
            first, last = c.start - CONTEXT_CHARS, c.end + CONTEXT_CHARS
            cut = (first > 0 and text[first - 1].isalnum(), text[last : last + 1].isalnum())
    lead = "…" if before and c.start > CONTEXT_CHARS else ""
    tail = "…" if after else ""
    shown_before, shown_after = html.escape(before), html.escape(after)
    if reading is not None:  # words cut off at the excerpt's ends have no gloss
        glosses, matched = reading
        shown_before = glosses.render(before, cut=(cut[0], False))
        context = glosses.render(c.quote, matched)
        shown_after = glosses.render(after, cut=(False, cut[1]))
    passage = f"{lead}{shown_before}<mark>{context}</mark>{shown_after}{tail}"
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


def render_turn(
    answer: Answer, latest: bool = True, aid: Aid | None = None
) -> list[dict[str, str]]:
    """A question and its answer as chat messages (only the latest answer's markers link to
    the cards in the sources panel). With `aid`, the Turkish quotes the answer holds get
    reading help, and a note says what it is."""
    helped = _helped(answer, aid)
    quotes = [(c.quote, helped[c.n]) for c in answer.citations if c.n in helped]
    glosses = aid.glosses if aid else None
    content = render_answer(answer.text, linked=latest, quotes=quotes, glosses=glosses)
    if glosses and _places(answer.text, quotes):
        content += "\n\n" + render_reading_note(glosses)
    return [
        {"role": "user", "content": answer.question},
        {"role": "assistant", "content": content + render_note(answer) + render_dropped(answer)},
    ]


def render_conversation(answers: list[Answer], aid: Aid | None = None) -> list[dict[str, str]]:
    last = len(answers) - 1
    return [m for i, a in enumerate(answers) for m in render_turn(a, i == last, aid)]


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
