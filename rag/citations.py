"""The citation check: keep the sentences of an answer that the sources they cite support.

The guarantee that an answer says only what its sources say comes from here, not from the
model: a sentence stays only if it cites a source whose best sentence agrees with it, in whose
words each of its phrases finds a match (rag/alignment.py: a translation; a swapped-in fact
finds none), whose text holds its numbers and its names (rag/matching: spelled alike, or a
translation of a word or two there), where leaving out none of its phrases makes it agree
better, and which no other retrieved passage beats clearly (then the sentence moves there if
that passage passes, or goes). With the Turkish-English lexicon (rag/lexicon.py, optional)
a claim in one of the two languages citing a passage in the other must also have enough of
its content words found around the passage, spelled alike or through a dictionary
translation (`matching.Words`), and a phrase whose words the lexicon finds translated in the
passage counts as found (the alignment rule reads the worst of the others); without the
lexicon these rules are not applied and the check decides as before. The numbers are fitted on XQuAD by bench/verifier_xquad.py
(docs/benchmarks.md, section 4b). `Check.version` 1 is the first, simpler check, kept as the
benchmarks' baseline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from rag.alignment import open_phrases, phrase_alignment, worst
from rag.chunking import split_sentences
from rag.config import Settings
from rag.embeddings import SHORT_TEXTS, KaynakEmbeddings, unit_vectors
from rag.markers import parse_markers, renumber, strip_markers
from rag.matching import (
    ByMeaning,
    Words,
    crosses,
    name_matches,
    unmentioned,
    unstated_numbers,
    word_runs,
)
from rag.text import detect_language, language_code, names_and_numbers
from rag.types import Citation, DroppedSentence, Passage

if TYPE_CHECKING:
    from rag.lexicon import Lexicon

_WORD_CHAR_RE = re.compile(r"\w")
_SPACES_RE = re.compile(r"\s{2,}")
_CLOSEST = 0.02  # the least room to 1 a claim's agreement gain is divided by (see `gather`)
_SHOWN_WORDS = 3  # the most missing words a reason names


@dataclass(frozen=True)
class Verified:
    text: str  # kept sentences, markers renumbered 1..m in order of first use
    citations: list[Citation]
    dropped: list[DroppedSentence]


@dataclass(frozen=True)
class Check:
    """Which check, with its calibrated numbers (see rag/config.py for where each comes from).

    Version 2 is the check the module's docstring describes. Version 1 is the first check
    (commit 6512948), kept as the baseline the benchmarks compare with (`Check.first()`): a
    claim's names and numbers must be mentioned around a cited passage (spelled alike by
    `matching.mentions`, or a name there translated with similarity at least `names`), and its
    similarity with the whole passage must reach `support`; nothing else is read."""

    # agreement (USE cosine with the cited passage's best sentence) + weight x alignment
    support: float = 1.025
    weight: float = 1.0
    phrase: float = 0.3  # the most a claim's agreement may rise without one of its phrases
    # (as a share of 1 - agreement)
    margin: float = 0.025  # another retrieved passage better by this: a wrong citation
    # the least alignment of the claim's weakest phrase with the passage's words, in another
    # language and in the same one (where a phrase not found word for word is suspect)
    align: float = 0.4
    align_same: float = 0.7
    # the least similarity of a name not spelled alike around the passage with a word or two of
    # the passage or a name around it (a translated name finds its translation)
    names: float = 0.55
    # with the lexicon, across English and Turkish: the least share of the claim's content
    # words found around the passage (spelled alike or translated; `matching.Words`)
    words: float = 0.3
    # ... and the least alignment of its worst-found phrase among those the lexicon does not
    # find translated word for word (`Evidence.align_translated`), instead of `align`
    align_translated: float = 0.4
    version: int = 2

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Check:
        s = settings or Settings.from_env()
        return cls(
            support=s.support_threshold,
            weight=s.support_weight,
            phrase=s.support_phrase,
            margin=s.support_margin,
            align=s.support_align,
            align_same=s.support_align_same,
            names=s.support_names,
            words=s.support_words,
            align_translated=s.support_align_translated,
        )

    @classmethod
    def first(cls) -> Check:
        """Version 1 with the numbers it was measured at: similarity 0.35 with the passage
        (as the issue that replaced it measured it), and 0.67 for a translated name (its
        default then, calibrated in bench/verifier.py as Settings.name_similarity is)."""
        return cls(support=0.35, names=0.67, version=1)


@dataclass
class Evidence:
    """One claim compared with each retrieved passage j (lists indexed by j)."""

    claim: str
    cited: list[int]
    agree: list[float]  # similarity to the passage's best sentence
    gain: list[float]  # how much leaving out the claim's weakest phrase raises it
    weakest: list[str]  # that phrase
    # names and numbers not spelled alike around the passage, each with its best match there
    # (see `matching.name_matches`); None for passages the verdict need not judge, like -inf
    # in `align`
    missing: list[dict[str, float] | None]
    align: list[float]  # see `alignment` (-inf: not computed, for passages it need not judge)
    unaligned: list[str]  # the phrase that aligns worst
    same: list[bool]  # the passage is in the claim's language
    # the share of the claim's content words found around the passage through the lexicon,
    # and the words not found; None where it is not judged (no lexicon, a passage in the
    # claim's language or in one the lexicon does not translate, a passage not judged)
    coverage: list[float | None] | None = None
    uncovered: list[tuple[str, ...]] | None = None
    # with the lexicon, where `coverage` is judged: the alignment of the worst-found phrase
    # among those whose words the lexicon does not find translated in the passage, and that
    # phrase (a phrase translated word for word is found; a swapped-in one rarely is)
    align_translated: list[float] | None = None
    unaligned_translated: list[str] | None = None

    def score(self, n: int, check: Check) -> float:
        """Agreement with passage n (1-based) raised or lowered by how well its phrases align."""
        return self.agree[n - 1] + check.weight * self.align[n - 1]

    def translated(self, n: int) -> bool:
        """Whether the lexicon judged passage n (1-based): `coverage` is read there, and the
        alignment rule reads `align_translated` instead of `align` (the agreement `score`
        keeps `align`: reading the other there did no better on bench/verifier_xquad.py's
        data)."""
        return self.coverage is not None and self.coverage[n - 1] is not None

    def unaligned_phrase(self, n: int, check: Check) -> str | None:
        """The claim's phrase that passage n (1-based) does not hold by the alignment rule
        (`Check.align`, `align_same`; with the lexicon, `align_translated`), or None."""
        if self.translated(n) and self.align_translated and self.unaligned_translated:
            if self.align_translated[n - 1] >= check.align_translated:
                return None
            return self.unaligned_translated[n - 1]
        limit = check.align_same if self.same[n - 1] else check.align
        return None if self.align[n - 1] >= limit else self.unaligned[n - 1]

    def words_missing(self, n: int, check: Check) -> str:
        """Why too few of the claim's content words are found around passage n (1-based)
        through the lexicon, or "" (enough are, or it was not judged)."""
        coverage = self.coverage[n - 1] if self.coverage is not None else None
        if coverage is None or coverage >= check.words:
            return ""
        words = self.uncovered[n - 1] if self.uncovered is not None else ()
        return (
            f"{', '.join(words[:_SHOWN_WORDS])} not found in the cited source "
            f"(words found {coverage:.2f} < {check.words:.2f})"
        )


def verify(
    answer: str,
    passages: Sequence[Passage],
    embeddings: KaynakEmbeddings,
    language: str = "en",
    contexts: Sequence[str] | None = None,
    check: Check | None = None,
    lexicon: Lexicon | None = None,
) -> Verified:
    """Keep the sentences of `answer` that their citations support; renumber the markers.

    A sentence is kept when a passage it cites agrees with it (similarity of the claim to the
    passage's best sentence), every content phrase of the claim is found there (its most
    specific part: the fact it asserts), and its names and numbers appear there; with
    `lexicon`, enough of its content words are found around a passage in the other language
    (spelled alike or translated; None: not judged, as before the lexicon). A sentence
    that another retrieved passage supports clearly better than the cited one has a wrong
    citation: it is moved to that passage when the passage passes every check, else dropped.

    `contexts[i]` is passage i with the text around it in its source: names may come from
    there (a sentence often leaves its subject to the one before: "Joly ... . [She] met
    Hayashi in Tokyo"), while agreement is judged against the passage itself."""
    check = check or Check.from_settings()
    contexts = list(contexts or [p.text for p in passages])
    dropped: list[DroppedSentence] = []
    pending: list[tuple[str, list[int]]] = []
    for sentence in split_sentences(answer, language):
        cited = [n for n in dict.fromkeys(parse_markers(sentence)) if 1 <= n <= len(passages)]
        claim = strip_markers(sentence)
        if not _WORD_CHAR_RE.search(claim):
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
        pending.append((sentence, cited))
    claims = [strip_markers(s) for s, _ in pending]
    marks = [c for _, c in pending]
    if check.version == 1:
        verdicts = first_check(claims, marks, passages, embeddings, contexts, check)
    else:
        evidence = gather(
            claims, marks, passages, embeddings, contexts, language=language, lexicon=lexicon
        )
        verdicts = [decide(ev, check) for ev in evidence]
    kept: list[tuple[str, list[int]]] = []
    for (sentence, _), claim, (sources, reason) in zip(pending, claims, verdicts, strict=True):
        if sources:
            kept.append((sentence, sources))
        else:
            dropped.append(DroppedSentence(claim, reason))
    text, citations = renumber(kept, passages)
    return Verified(text=text, citations=citations, dropped=dropped)


def decide(ev: Evidence, check: Check) -> tuple[list[int], str]:
    """The passages (1-based) that support `ev.claim`, or none and the reason why."""

    def problem(n: int) -> str:
        missing = ev.missing[n - 1]
        if missing is None:  # never so for the passages `gather` judges; never a pass
            return "the cited source was not checked"
        gone = [m for m, sim in missing.items() if sim < check.names]
        if gone:
            return f"{', '.join(gone)} not found in the cited source"
        unaligned = ev.unaligned_phrase(n, check)
        if unaligned is not None:
            return f"“{unaligned}” is not in the cited source"
        if ev.score(n, check) < check.support:
            return (
                f"the cited source does not say this (agreement {ev.score(n, check):.2f} < "
                f"{check.support:.2f})"
            )
        if ev.gain[n - 1] > check.phrase:
            return f"“{ev.weakest[n - 1]}” is not in the cited source"
        return ev.words_missing(n, check)

    best = max(range(1, len(ev.agree) + 1), key=lambda n: ev.agree[n - 1])
    top = max(ev.agree[n - 1] for n in ev.cited)
    better = ev.agree[best - 1] - top >= check.margin and ev.score(best, check) >= check.support
    if best not in ev.cited and better:
        if not problem(best):
            return [best], ""
        return [], (
            f"cites the wrong source: source [{best}] matches it better "
            f"({ev.agree[best - 1]:.2f} vs {top:.2f}) and no source supports it"
        )
    problems = {n: problem(n) for n in ev.cited}
    supporting = [n for n in ev.cited if not problems[n]]
    if supporting:
        return supporting, ""
    return [], problems[max(ev.cited, key=lambda n: ev.agree[n - 1])]


def prepare(passages: Sequence[Passage], embeddings: KaynakEmbeddings) -> None:
    """Embed ahead what the check compares a model's sentences with: each passage's sentences,
    words and two-word runs (remembered in `embeddings.SHORT_TEXTS`). `answering.generative`
    runs it while the model writes, so that checking the answer then embeds little more than the
    model's sentences."""
    for passage, code in zip(passages, _languages(passages), strict=True):
        # a passage at a time: the model is free for other questions in between
        SHORT_TEXTS.vectors(embeddings, _sentences(passage) + word_runs(passage.text, code))


def _sentences(passage: Passage) -> list[str]:
    return split_sentences(passage.text, passage.language or "en") or [passage.text]


def _languages(passages: Sequence[Passage]) -> list[str]:
    return [language_code(p.language) or detect_language(p.text) for p in passages]


def gather(
    claims: list[str],
    cited: list[list[int]],
    passages: Sequence[Passage],
    embeddings: KaynakEmbeddings,
    contexts: Sequence[str] | None = None,
    *,
    max_phrases: int = 3,
    language: str = "en",
    lexicon: Lexicon | None = None,
) -> list[Evidence]:
    """Compare each claim with every passage, in one batch of embeddings.

    Agreement is the claim's similarity to the passage's best sentence. The claim's most
    specific part is probed by leaving out, one at a time, each content phrase not found word
    for word in a cited passage: when the claim without a phrase agrees clearly better with
    the passage than the whole claim, the passage does not say that phrase (a swapped fact).
    With `lexicon`, the share of the claim's content words found around each judged passage
    in the other language of the two it translates between (`Evidence.coverage`)."""
    if not claims:
        return []
    sentences = [_sentences(p) for p in passages]
    owners = np.array([j for j, ss in enumerate(sentences) for _ in ss])
    flat = [s for ss in sentences for s in ss]
    contexts = list(contexts or [p.text for p in passages])
    variants: list[list[tuple[str, str]]] = []
    for claim, marks in zip(claims, cited, strict=True):
        texts = [passages[n - 1].text for n in marks]
        open_ = [ph for ph, found in open_phrases(claim, texts, 2) if len(found) < len(texts)]
        open_.sort(key=len, reverse=True)
        variants.append([(ph, _without(claim, ph)) for ph in open_[:max_phrases]])
    texts = list(dict.fromkeys(claims + [v for per in variants for _, v in per]))
    index = {t: i for i, t in enumerate(texts)}
    # the passages' sentences, and the alignment's words and phrases for the cited passages,
    # in one batch (remembered: see `prepare`)
    languages = _languages(passages)
    cited_at = {n - 1 for marks in cited for n in marks}
    cited_texts = [passages[j].text for j in cited_at]
    targets = SHORT_TEXTS.vectors(
        embeddings,
        flat
        + [w for j in cited_at for w in word_runs(passages[j].text, languages[j])]
        + [ph for claim in claims for ph, _ in open_phrases(claim, cited_texts, 2)],
    )[: len(flat)]
    same = [code == language for code in languages]
    vecs = unit_vectors(embeddings, texts)
    translations = ByMeaning(embeddings)
    words = Words(lexicon) if lexicon is not None else None

    def per_passage(v: np.ndarray) -> list[float]:
        sims = targets @ v
        return [float(sims[owners == j].max()) for j in range(len(passages))]

    out = []
    for claim, marks, per in zip(claims, cited, variants, strict=True):
        agree = per_passage(vecs[index[claim]])
        gain = [-1.0] * len(passages)
        weakest = [""] * len(passages)
        for phrase, variant in per:
            for j, score in enumerate(per_passage(vecs[index[variant]])):
                if score - agree[j] > gain[j]:
                    gain[j], weakest[j] = score - agree[j], phrase
        # relative to what is left to gain: a verbatim sentence moves little but far
        gain = [g / max(1.0 - a, _CLOSEST) for g, a in zip(gain, agree, strict=True)]
        # names and alignment where the verdict needs them: the cited passages and the best one
        missing: list[dict[str, float] | None] = [None] * len(passages)
        align, unaligned = [float("-inf")] * len(passages), [""] * len(passages)
        coverage: list[float | None] = [None] * len(passages)
        uncovered: list[tuple[str, ...]] = [()] * len(passages)
        translated = [(float("-inf"), "")] * len(passages)
        for n in {*marks, 1 + int(np.argmax(agree))}:
            text, context, code = passages[n - 1].text, contexts[n - 1], languages[n - 1]
            missing[n - 1] = name_matches(claim, text, translations, context, code)
            scored = phrase_alignment(claim, text, translations, context, code)
            align[n - 1], unaligned[n - 1] = worst(scored)
            if words is not None and crosses(language, code):
                found = words.found(claim, language, context, code)
                coverage[n - 1] = found.coverage if found.judged else None
                uncovered[n - 1] = tuple(w for w in found.words if w not in found.found)
                held = words.found(claim, language, text, code).found
                translated[n - 1] = worst(scored, held)
        evidence = Evidence(claim, marks, agree, gain, weakest, missing, align, unaligned, same)
        out.append(
            replace(
                evidence,
                coverage=coverage,
                uncovered=uncovered,
                align_translated=[a for a, _ in translated],
                unaligned_translated=[ph for _, ph in translated],
            )
        )
    return out


def _without(claim: str, phrase: str) -> str:
    return _SPACES_RE.sub(" ", claim.replace(phrase, "", 1)).strip()


def first_check(
    claims: list[str],
    cited: list[list[int]],
    passages: Sequence[Passage],
    embeddings: KaynakEmbeddings,
    contexts: Sequence[str],
    check: Check,
) -> list[tuple[list[int], str]]:
    """Version 1 of the check (see `Check`): for each claim, the cited passages (1-based)
    that support it, or none and the reason why."""
    translations = ByMeaning(embeddings)
    verdicts: list[tuple[list[int], str]] = []
    for claim, marks in zip(claims, cited, strict=True):
        around = [contexts[n - 1] for n in marks]
        names = [n for n in names_and_numbers(claim, sentence_initial=False) if not n.isdigit()]
        gone = unmentioned(names, around, translations, check.names, digits_as_numbers=False)
        gone += unstated_numbers(claim, around)
        if gone:
            verdicts.append(([], f"{', '.join(dict.fromkeys(gone))} not found in the cited source"))
            continue
        vecs = unit_vectors(embeddings, [claim] + [passages[n - 1].text for n in marks])
        similarity = {n: float(vecs[0] @ vecs[i]) for i, n in enumerate(marks, start=1)}
        supporting = [n for n in marks if similarity[n] >= check.support]
        best = max(similarity.values())
        why = f"the cited source does not say this (similarity {best:.2f} < {check.support:.2f})"
        verdicts.append((supporting, "") if supporting else ([], why))
    return verdicts
