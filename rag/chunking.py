"""Text -> sentences and chunks that keep their character offsets in the source text.

A chunk is one sentence: news sentences are the unit a reader checks a claim against, so the
citation can point at exactly the sentence that supports it. Very short fragments are joined
to the next sentence, and over-long "sentences" (tables, lists) are cut at natural breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import short_hash
from rag.types import Chunk, SourceDocument

MIN_SENTENCE_CHARS = 25


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_spans(text: str, language: str = "en") -> list[Span]:
    """Sentence boundaries as offsets into `text`. Paragraphs (blank or single line breaks)
    always end a sentence; within a paragraph, sentencex decides (it knows Turkish and English
    abbreviations and keeps quotations whole)."""
    from sentencex import segment

    spans: list[Span] = []
    for para in re.finditer(r"[^\n]+", text):
        para_text = para.group()
        cursor = 0
        for sentence in segment(language or "en", para_text):
            piece = sentence.strip()
            if not piece:
                continue
            found = para_text.find(piece, cursor)
            if found < 0:  # the segmenter changed the text; fall back to the paragraph rest
                found = cursor
                piece = para_text[cursor:].strip()
                if not piece:
                    break
                found = para_text.find(piece, cursor)
            spans.append(Span(para.start() + found, para.start() + found + len(piece)))
            cursor = found + len(piece)
    return _quote_aware(text, spans)


def split_sentences(text: str, language: str) -> list[str]:
    """The sentences of `text` (see `sentence_spans`)."""
    return [text[s.start : s.end] for s in sentence_spans(text, language)]


def _quote_aware(text: str, spans: list[Span]) -> list[Span]:
    """Join a span that ends inside an open quotation with the next one in the paragraph."""
    merged: list[Span] = []
    for span in spans:
        if merged:
            prev = merged[-1]
            between = text[prev.end : span.start]
            inside = text[prev.start : prev.end]
            if "\n" not in between and _open_quote(inside):
                merged[-1] = Span(prev.start, span.end)
                continue
        merged.append(span)
    return merged


def _open_quote(s: str) -> bool:
    return s.count("“") > s.count("”") or s.count('"') % 2 == 1


def split_chunks(doc: SourceDocument, max_chars: int = 600) -> list[Chunk]:
    spans = sentence_spans(doc.text, doc.language)
    spans = _join_fragments(doc.text, spans)
    spans = [piece for span in spans for piece in _cut_long(doc.text, span, max_chars)]
    return [
        Chunk(
            chunk_id=chunk_id(doc.doc_id, doc.text[s.start : s.end], s.start),
            doc_id=doc.doc_id,
            index=i,
            start=s.start,
            end=s.end,
            text=doc.text[s.start : s.end],
        )
        for i, s in enumerate(spans)
    ]


def chunk_id(doc_id: str, text: str, start: int) -> str:
    return f"{doc_id}-{short_hash(f'{start}:{text}', 20)}"


def _join_fragments(text: str, spans: list[Span]) -> list[Span]:
    """A fragment too short to stand alone joins the next sentence of its paragraph."""
    out: list[Span] = []
    pending: Span | None = None
    for sentence in spans:
        span = sentence
        if pending is not None:
            if "\n" in text[pending.end : span.start]:
                out.append(pending)
            else:
                span = Span(pending.start, span.end)
            pending = None
        if span.end - span.start < MIN_SENTENCE_CHARS:
            pending = span
        else:
            out.append(span)
    if pending is not None:
        out.append(pending)
    return out


def _cut_long(text: str, span: Span, max_chars: int) -> list[Span]:
    if span.end - span.start <= max_chars:
        return [span]
    # LangChain's recursive splitter cuts at the most natural break (clause, then word) and
    # reports where each piece starts, so offsets stay exact.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_chars,
        chunk_overlap=0,
        separators=["; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )
    piece_text = text[span.start : span.end]
    out: list[Span] = []
    for doc in splitter.create_documents([piece_text]):
        start = span.start + int(doc.metadata["start_index"])
        out.append(Span(start, start + len(doc.page_content)))
    return out


__all__ = ["Span", "chunk_id", "sentence_spans", "split_chunks"]
