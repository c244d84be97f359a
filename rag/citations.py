"""The citation check: keep the sentences of an answer that the sources they cite support.

The guarantee that an answer says only what its sources say comes from here, not from the
model: a sentence stays only if it cites a source whose best sentence agrees with it, in whose
words each of its phrases finds a match (a translation; a swapped-in fact finds none), whose
text holds its numbers and its names (spelled alike, or a translation of a word or two there),
where leaving out none of its phrases makes it agree better, and which no other retrieved
passage beats clearly (then the sentence moves there if that passage passes, or goes). The
numbers are fitted on XQuAD by bench/verifier_xquad.py (docs/benchmarks.md, section 4b). `Check.version` 1 is the first, simpler check, kept as the
benchmarks' baseline.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import snowballstemmer

from rag.chunking import split_sentences
from rag.embeddings import SHORT_TEXTS, KaynakEmbeddings, unit_vectors
from rag.markers import parse_markers, renumber, strip_markers
from rag.text import (
    detect_language,
    fold,
    language_code,
    mentions,
    name_words,
    names_and_numbers,
    number_values,
    tokens,
)
from rag.types import Citation, DroppedSentence, Passage


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
    claim's names and numbers must be mentioned around a cited passage (spelled alike, or a
    name there translated with similarity at least `names`), and its similarity with the
    whole passage must reach `support`; nothing else is read."""

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
    version: int = 2

    @classmethod
    def from_settings(cls, settings: Any = None) -> Check:
        from rag.config import Settings

        s = settings or Settings.from_env()
        return cls(
            support=s.support_threshold,
            weight=s.support_weight,
            phrase=s.support_phrase,
            margin=s.support_margin,
            align=s.support_align,
            align_same=s.support_align_same,
            names=s.support_names,
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
    # (see `name_matches`); None for passages the verdict need not judge, like -inf in `align`
    missing: list[dict[str, float] | None]
    align: list[float]  # see `alignment` (-inf: not computed, for passages it need not judge)
    unaligned: list[str]  # the phrase that aligns worst
    same: list[bool]  # the passage is in the claim's language

    def score(self, n: int, check: Check) -> float:
        """Agreement with passage n (1-based) raised or lowered by how well its phrases align."""
        return self.agree[n - 1] + check.weight * self.align[n - 1]


def verify(
    answer: str,
    passages: Sequence[Passage],
    embeddings: KaynakEmbeddings,
    language: str = "en",
    contexts: Sequence[str] | None = None,
    check: Check | None = None,
) -> Verified:
    """Keep the sentences of `answer` that their citations support; renumber the markers.

    A sentence is kept when a passage it cites agrees with it (similarity of the claim to the
    passage's best sentence), every content phrase of the claim is found there (its most
    specific part: the fact it asserts), and its names and numbers appear there. A sentence
    that another retrieved passage supports clearly better than the cited one has a wrong
    citation: it is moved to that passage when the passage passes every check, else dropped.

    `contexts[i]` is passage i with the text around it in its source: names may come from
    there (a sentence often leaves its subject to the one before: "Joly ... . [She] met
    Hayashi in Tokyo"), while agreement is judged against the passage itself."""
    check = check or Check.from_settings()
    contexts = list(contexts or [p.text for p in passages])
    kept: list[tuple[str, list[int]]] = []
    dropped: list[DroppedSentence] = []
    pending: list[tuple[str, list[int]]] = []
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
        pending.append((sentence, cited))
    claims = [strip_markers(s) for s, _ in pending]
    marks = [c for _, c in pending]
    if check.version == 1:
        verdicts = first_check(claims, marks, passages, embeddings, contexts, check)
    else:
        evidence = gather(claims, marks, passages, embeddings, contexts, language=language)
        verdicts = [decide(ev, check) for ev in evidence]
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
        if not ev.align[n - 1] >= (check.align_same if ev.same[n - 1] else check.align):
            return f"“{ev.unaligned[n - 1]}” is not in the cited source"
        if ev.score(n, check) < check.support:
            return (
                f"the cited source does not say this (agreement {ev.score(n, check):.2f} < "
                f"{check.support:.2f})"
            )
        if ev.gain[n - 1] > check.phrase:
            return f"“{ev.weakest[n - 1]}” is not in the cited source"
        return ""

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
    words and two-word runs (remembered in `embeddings.SHORT_TEXTS`). `Assistant` calls it while the model
    writes, so that checking the answer then embeds little more than the model's sentences."""
    for passage, code in zip(passages, _languages(passages), strict=True):
        # a passage at a time: the model is free for other questions in between
        SHORT_TEXTS.vectors(embeddings, _sentences(passage) + _windows(passage.text, code))


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
    max_phrases: int = 3,
    language: str = "en",
) -> list[Evidence]:
    """Compare each claim with every passage, in one batch of embeddings.

    Agreement is the claim's similarity to the passage's best sentence. The claim's most
    specific part is probed by leaving out, one at a time, each content phrase not found word
    for word in a cited passage: when the claim without a phrase agrees clearly better with
    the passage than the whole claim, the passage does not say that phrase (a swapped fact)."""
    if not claims:
        return []
    sentences = [_sentences(p) for p in passages]
    owners = np.array([j for j, ss in enumerate(sentences) for _ in ss])
    flat = [s for ss in sentences for s in ss]
    contexts = list(contexts or [p.text for p in passages])
    variants: list[list[tuple[str, str]]] = []
    for claim, marks in zip(claims, cited, strict=True):
        texts = [passages[n - 1].text for n in marks]
        open_ = [ph for ph, found in _open_phrases(claim, texts, 2) if len(found) < len(texts)]
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
        + [w for j in cited_at for w in _windows(passages[j].text, languages[j])]
        + [ph for claim in claims for ph, _ in _open_phrases(claim, cited_texts, 2)],
    )[: len(flat)]
    same = [code == language for code in languages]
    vecs = unit_vectors(embeddings, texts)

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
        gain = [g / max(1.0 - a, 0.02) for g, a in zip(gain, agree, strict=True)]
        # names and alignment where the verdict needs them: the cited passages and the best one
        missing: list[dict[str, float] | None] = [None] * len(passages)
        align, unaligned = [float("-inf")] * len(passages), [""] * len(passages)
        for n in {*marks, 1 + int(np.argmax(agree))}:
            text, context, code = passages[n - 1].text, contexts[n - 1], languages[n - 1]
            missing[n - 1] = name_matches(claim, text, embeddings, context, code)
            align[n - 1], unaligned[n - 1] = alignment(claim, text, embeddings, context, code)
        out.append(Evidence(claim, marks, agree, gain, weakest, missing, align, unaligned, same))
    return out


_WINDOW_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+(?:[.,]\d+)*")


def alignment(
    claim: str, text: str, embeddings: KaynakEmbeddings, context: str = "", language: str = ""
) -> tuple[float, str]:
    """How well the claim's worst-found phrase is found in `text`, and that phrase: each content
    phrase of the claim not found there word for word (nor, for a name, in `context`: the text
    around `text`, where a sentence leaves its subject to the one before it) is compared
    (multilingual similarity) with every run of one or two words of `text`, and the least of
    their best matches is the alignment (1.0 when every phrase is found word for word). A
    translated phrase finds its translation; a swapped-in fact finds nothing, however little it
    moves the whole sentence."""
    phrases = [
        ph
        for ph, found in _open_phrases(claim, [text, context or text], 2)
        if 0 not in found and not (1 in found and all(w[0].isupper() for w in ph.split()))
    ]
    if not phrases:
        return 1.0, ""
    windows = _windows(text, language)
    if not windows:
        return 0.0, phrases[0]
    vecs = SHORT_TEXTS.vectors(embeddings, phrases + windows)
    best = (vecs[: len(phrases)] @ vecs[len(phrases) :].T).max(axis=1)
    return float(best.min()), phrases[int(best.argmin())]


def name_matches(
    claim: str, text: str, embeddings: KaynakEmbeddings, context: str = "", language: str = ""
) -> dict[str, float]:
    """Each name and number of `claim` that `context` (`text` and the text around it) does not
    spell alike, with how well it is found in `text` by meaning: its best similarity to a run
    of one or two words of `text` or a name of `context`. A translated name finds its
    translation (Armenia / Ermenistan'a, Byzantine Empire / Bizans İmparatorluğu); a swapped-in
    one finds nothing. A number must be stated (-inf: never found by meaning)."""
    gone = missing_names(claim, context or text)
    names = [m for m in gone if not m.isdigit()]
    found = {m: float("-inf") for m in gone}
    targets = _windows(text, language)
    targets += [n for n in names_and_numbers(context) if not n.isdigit()]
    if names and targets:
        vecs = SHORT_TEXTS.vectors(embeddings, names + list(dict.fromkeys(targets)))
        best = (vecs[: len(names)] @ vecs[len(names) :].T).max(axis=1)
        found.update({m: float(b) for m, b in zip(names, best, strict=True)})
    return found


def _windows(text: str, language: str = "") -> list[str]:
    """Runs of one and two words of `text`, and each word without its suffixes: after an
    apostrophe (Ermenistan'a -> Ermenistan) and, in Turkish, by the Snowball stemmer
    (Peçeneklere -> Peçenek, Anarşinin -> Anarşi): a name's translation often carries a case
    ending that the multilingual model reads as another word."""
    words = _WINDOW_RE.findall(text)
    bases = [re.split(r"['’]", w)[0] for w in words]
    if language == "tr":
        bases += [_turkish_stem(w) for w in bases]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return list(dict.fromkeys(words + bases + pairs))


@functools.lru_cache(maxsize=50_000)
def _turkish_stem(word: str) -> str:
    with _TURKISH_LOCK:  # the stemmer keeps its word in itself: one thread at a time
        return _TURKISH.stemWord(word)


_TURKISH = snowballstemmer.stemmer("turkish")
_TURKISH_LOCK = threading.Lock()


def forget() -> None:
    """Forget the remembered vectors and stems, as if no passage had been seen."""
    SHORT_TEXTS.clear()
    _turkish_stem.cache_clear()


def _without(claim: str, phrase: str) -> str:
    return re.sub(r"\s{2,}", " ", claim.replace(phrase, "", 1)).strip()


def _similarities(embeddings: KaynakEmbeddings, claims: list[str], texts: list[str]) -> np.ndarray:
    a = unit_vectors(embeddings, claims + texts)
    return a[: len(claims)] @ a[len(claims) :].T


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
    verdicts: list[tuple[list[int], str]] = []
    for claim, marks in zip(claims, cited, strict=True):
        gone = unsupported_names(claim, [contexts[n - 1] for n in marks], embeddings, check.names)
        if gone:
            verdicts.append(([], f"{', '.join(gone)} not found in the cited source"))
            continue
        vecs = unit_vectors(embeddings, [claim] + [passages[n - 1].text for n in marks])
        similarity = {n: float(vecs[0] @ vecs[i]) for i, n in enumerate(marks, start=1)}
        supporting = [n for n in marks if similarity[n] >= check.support]
        best = max(similarity.values())
        why = f"the cited source does not say this (similarity {best:.2f} < {check.support:.2f})"
        verdicts.append((supporting, "") if supporting else ([], why))
    return verdicts


def unsupported_names(
    claim: str,
    cited_texts: Sequence[str],
    embeddings: KaynakEmbeddings | None = None,
    threshold: float = 0.67,
) -> list[str]:
    """Names and numbers of `claim` that none of the cited texts mentions (version 1 of the
    check). A name may be spelled alike (Canada/Kanada) or, given `embeddings`, be a
    translation of a name there (India/Hindistan, Beijing/Pekin, United States/ABD:
    multilingual similarity >= 0.67, calibrated in bench/verifier.py)."""
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


# Function words of English and Turkish: they carry no fact a source must state.
_STOP = {
    fold(w)
    for w in re.split(
        r"\s+",
        """a an the of in on at to for from by with and or but not no nor as is are was were be been
    being has have had do does did this that these those it its he she they them his her their
    which who whom whose what when where why how than then there also both each all any some such
    into onto over under about after before during between while through against among until
    would could should will shall may might must can also only very most more many much other
    another one two its our we you i me my your so if because though although however
    ve ile bir bu şu o da de ki için gibi kadar daha en çok her hem ya veya ama fakat ancak
    olan olarak oldu olduğu olan ise ne mi mı mu mü sonra önce göre karşı arasında üzerinde
    tarafından just still even well since yet already almost""",
    )
}
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def _open_phrases(claim: str, texts: Sequence[str], size: int = 3) -> list[tuple[str, set[int]]]:
    """The claim's content phrases (runs of up to `size` content words between function words,
    numbers and punctuation), each with the passages that contain all its words (folded, or
    sharing a five-letter stem, or spelled alike). Those must be found by meaning elsewhere."""
    vocab = [set(tokens(t)) for t in texts]
    stem_sets = [{w[:5] for w in v if len(w) >= 5} for v in vocab]
    runs: list[list[str]] = [[]]
    last = 0
    for m in _WORD_RE.finditer(claim):
        word = m.group()
        gap = claim[last : m.start()]
        last = m.end()
        if any(ch in gap for ch in ',;:()"“”') or re.search(r"\d", gap):
            runs.append([])
        if fold(word) in _STOP or len(word) < 3:
            runs.append([])
            continue
        runs[-1].append(word)
    out: list[tuple[str, set[int]]] = []
    for run in runs:
        for i in range(0, len(run), size):
            words = run[i : i + size]
            if not words:
                continue
            found = {
                j
                for j in range(len(texts))
                if all(_lexical(fold(w), vocab[j], stem_sets[j]) for w in words)
            }
            out.append((" ".join(words), found))
    return out


def _lexical(word: str, vocab: set[str], stems: set[str]) -> bool:
    word = word.split("'")[0].split("’")[0]
    return word in vocab or (len(word) >= 5 and word[:5] in stems)


def missing_names(claim: str, context: str) -> list[str]:
    """Names and numbers of `claim` that `context` does not spell alike. Stricter than
    `unsupported_names` about spelling (a shared first three letters is not enough: a
    swapped-in "Steelers" must not pass for "Stephen"), looser about names of several words:
    one longer word found is enough (a translation keeps one: "American Sign Language" /
    "Amerikan İşaret Dili"). `name_matches` looks for the rest by meaning."""
    from rapidfuzz import fuzz

    words = set(tokens(context))
    stems5 = {w[:5] for w in words if len(w) >= 5}

    def found(word: str) -> bool:
        if word in words or (len(word) >= 5 and word[:5] in stems5):
            return True
        return len(word) >= 4 and any(
            min(len(w), len(word)) >= 0.7 * max(len(w), len(word)) and fuzz.ratio(word, w) >= 80
            for w in words
        )

    missing = []
    for name in names_and_numbers(claim, sentence_initial=False):
        parts = [w for w in tokens(name) if not w.isdigit()]
        if not parts:
            continue
        longer = [w for w in parts if len(w) >= 4] or parts
        if not any(found(w) for w in longer):
            missing.append(name)
    missing += [str(v) for v in sorted(number_values(claim) - number_values(context))]
    return list(dict.fromkeys(missing))
