"""The `[n]` citation markers of an answer: read, removed, renumbered, and each tied to its span.

An answer cites passage n of its sources with `[n]`; `[2, 3]`, `[2; 3]` and `[2][3]` cite
several. A `Citation` is passage n's span of its source, quoted exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Citation, Passage

_MARKER_RE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SEPARATOR_RE = re.compile(r"\s*[,;]\s*")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([.,;:!?])")


def parse_markers(text: str) -> list[int]:
    """All citation numbers in order of appearance: [1], [2, 3] and [1][2] are understood."""
    found: list[int] = []
    for match in _MARKER_RE.finditer(text):
        found += [int(n) for n in _SEPARATOR_RE.split(match.group(1))]
    return found


def strip_markers(text: str) -> str:
    """`text` without its markers (and without the space a marker left before punctuation)."""
    return _SPACE_BEFORE_PUNCT_RE.sub(r"\1", _MARKER_RE.sub("", text)).strip()


def neutralise_markers(quoted: str) -> str:
    """A source's own "[1]" written with full-width brackets, so that it cannot pass for one
    of our markers when the source is quoted."""
    return _MARKER_RE.sub(r"［\1］", quoted)


def citation_for(n: int, passage: Passage) -> Citation:
    """Marker n's citation: the passage's span of its source."""
    return Citation(
        n=n,
        doc_id=passage.doc_id,
        title=passage.title,
        url=passage.url,
        path=passage.path,
        start=passage.start,
        end=passage.end,
        quote=passage.text,
        publisher=passage.publisher,
        published=passage.published,
    )


def renumber(
    kept: Sequence[tuple[str, Sequence[int]]], passages: Sequence[Passage]
) -> tuple[str, list[Citation]]:
    """Sentences with the passages (1-based) each cites -> the answer text with markers
    renumbered 1..m in order of first use, placed before the final punctuation, and the m
    citations."""
    order: dict[int, int] = {}
    for _, cited in kept:
        for n in cited:
            order.setdefault(n, len(order) + 1)
    sentences = []
    for sentence, cited in kept:
        body = strip_markers(sentence)
        marks = "".join(f"[{order[n]}]" for n in cited)
        if body and body[-1] in ".!?…":
            sentences.append(f"{body[:-1]} {marks}{body[-1]}")
        else:
            sentences.append(f"{body} {marks}")
    citations = [citation_for(new, passages[old - 1]) for old, new in order.items()]
    return " ".join(sentences), citations
