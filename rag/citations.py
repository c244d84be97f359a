"""Parse [n], map each to a span of a source, and check that the claim is supported.

The guarantee that an answer says only what its sources say comes from here, not from the
model: a sentence stays only if it cites a source, agrees with what it cites (cross-lingual
embedding similarity above a calibrated threshold), and every name and number in it appears
in a cited passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.embeddings import KaynakEmbeddings
from rag.text import mentions, name_words, names_and_numbers, number_values, tokens
from rag.types import Citation, DroppedSentence, Passage

_MARKER_RE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([.,;:!?])")


def parse_markers(text: str) -> list[int]:
    """All citation numbers in order of appearance: [1], [2, 3] and [1][2] are understood."""
    found: list[int] = []
    for match in _MARKER_RE.finditer(text):
        found += [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
    return found


def strip_markers(text: str) -> str:
    return _SPACE_BEFORE_PUNCT_RE.sub(r"\1", _MARKER_RE.sub("", text)).strip()


def citation_for(n: int, passage: Passage) -> Citation:
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


@dataclass(frozen=True)
class Verified:
    text: str  # kept sentences, markers renumbered 1..m in order of first use
    citations: list[Citation]
    dropped: list[DroppedSentence]


def split_sentences(text: str, language: str) -> list[str]:
    from rag.chunking import sentence_spans

    return [text[s.start : s.end] for s in sentence_spans(text, language)]


def verify(
    answer: str,
    passages: Sequence[Passage],
    embeddings: KaynakEmbeddings,
    threshold: float,
    language: str = "en",
    contexts: Sequence[str] | None = None,
) -> Verified:
    """Keep the sentences of `answer` that their citations support; renumber the markers.

    `contexts[i]` is passage i with the text around it in its source: names may come from
    there (a sentence often leaves its subject to the one before: "Joly ... . [She] met
    Hayashi in Tokyo"), while agreement is judged against the passage itself."""
    contexts = contexts or [p.text for p in passages]
    checks: list[tuple[str, list[int]]] = []
    dropped: list[DroppedSentence] = []
    for sentence in split_sentences(answer, language):
        cited = [n for n in dict.fromkeys(parse_markers(sentence)) if 1 <= n <= len(passages)]
        claim = strip_markers(sentence)
        if not re.search(r"\w", claim):
            continue  # a stray marker or punctuation between sentences
        if not cited:
            bad = parse_markers(sentence)
            reason = (
                f"cites [{', '.join(map(str, bad))}], which is not one of the sources"
                if bad
                else "cites no source"
            )
            dropped.append(DroppedSentence(claim, reason))
            continue
        unknown = unsupported_names(claim, [contexts[n - 1] for n in cited], embeddings)
        if unknown:
            dropped.append(
                DroppedSentence(claim, f"{', '.join(unknown)} not found in the cited source")
            )
            continue
        checks.append((sentence, cited))

    kept: list[tuple[str, list[int]]] = []
    if checks:
        claims = [strip_markers(s) for s, _ in checks]
        wanted = sorted({n for _, cited in checks for n in cited})
        sim = _similarities(embeddings, claims, [passages[n - 1].text for n in wanted])
        column = {n: j for j, n in enumerate(wanted)}
        for i, (sentence, cited) in enumerate(checks):
            scores = {n: float(sim[i, column[n]]) for n in cited}
            supporting = [n for n in cited if scores[n] >= threshold]
            if not supporting:
                best = max(scores.values())
                dropped.append(
                    DroppedSentence(
                        claims[i],
                        f"the cited source does not say this (similarity {best:.2f} < "
                        f"{threshold:.2f})",
                    )
                )
                continue
            kept.append((sentence, supporting))

    return _renumber(kept, passages, dropped)


def _similarities(embeddings: KaynakEmbeddings, claims: list[str], texts: list[str]) -> np.ndarray:
    a = np.asarray(embeddings.embed_documents(claims + texts), dtype=np.float32)
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    return a[: len(claims)] @ a[len(claims) :].T


def unsupported_names(
    claim: str,
    cited_texts: Sequence[str],
    embeddings: KaynakEmbeddings | None = None,
    threshold: float = 0.67,
) -> list[str]:
    """Names and numbers of `claim` that none of the cited texts mentions. A name may be
    spelled alike (Canada/Kanada) or, given `embeddings`, be a translation of a name there
    (India/Hindistan, Beijing/Pekin, United States/ABD: multilingual similarity >= 0.67,
    calibrated in bench/verifier.py)."""
    words = {w for text in cited_texts for w in tokens(text)}
    names = {w for text in cited_texts for w in name_words(text)}
    missing = [
        n
        for n in names_and_numbers(claim, sentence_initial=False)
        if not n.isdigit() and not mentions(n, words, names)
    ]
    stated = {v for text in cited_texts for v in number_values(text)}
    missing += [str(v) for v in sorted(number_values(claim) - stated)]
    if missing and embeddings is not None:
        candidates = sorted(
            {n for text in cited_texts for n in names_and_numbers(text) if not n.isdigit()}
        )
        unmatched = [n for n in missing if not n.isdigit()]
        if candidates and unmatched:
            sim = _similarities(embeddings, unmatched, candidates)
            translated = {
                n for n, row in zip(unmatched, sim, strict=True) if row.max() >= threshold
            }
            missing = [n for n in missing if n not in translated]
    return list(dict.fromkeys(missing))


def _renumber(
    kept: list[tuple[str, list[int]]], passages: Sequence[Passage], dropped: list[DroppedSentence]
) -> Verified:
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
    return Verified(text=" ".join(sentences), citations=citations, dropped=dropped)
