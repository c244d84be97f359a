"""Names of one text in another by meaning: what spelling misses may be a translation
(India / Hindistan). A `Translations` source says how well a word or name translates to
words of the other text: today the multilingual model's similarity (`ByMeaning`). Each
caller compares that similarity with its own fitted number (see rag/config.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.embeddings import SHORT_TEXTS, VectorCache
from rag.matching.spelling import (
    mentions,
    name_words,
    number_values,
    spelled_apart,
    word_runs,
)
from rag.text import names_and_numbers, tokens


class Translations(Protocol):
    """Where "this word or name is a translation of that one" comes from."""

    def best(self, words: list[str], targets: list[str]) -> np.ndarray:
        """For each of `words`, how well it translates to the best of `targets` (not empty):
        one similarity per word, at most 1."""
        ...


class ByMeaning:
    """Translations by the multilingual model: the cosine similarity of the words alone
    (their vectors are remembered, as words and names recur from question to question;
    `stored` gives those a passage's names were given after ingest, rag/name_vectors.py)."""

    def __init__(
        self,
        embeddings: Embeddings,
        cache: VectorCache = SHORT_TEXTS,
        stored: Callable[[Sequence[str]], dict[str, np.ndarray]] | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.cache = cache
        self.stored = stored  # vectors of the passages' names computed after ingest, if any

    def best(self, words: list[str], targets: list[str]) -> np.ndarray:
        if self.stored is not None:  # read the passages' names rather than embed them
            model = str(getattr(self.embeddings, "model_id", ""))
            known = self.cache.get(model, targets)
            unseen = [t for t in dict.fromkeys(targets) if t not in known]
            if unseen:
                self.cache.put(model, self.stored(unseen))
        vecs = self.cache.vectors(self.embeddings, words + targets)
        similarity: np.ndarray = (vecs[: len(words)] @ vecs[len(words) :].T).max(axis=1)
        return similarity


def unmentioned(
    names: Sequence[str],
    texts: Sequence[str],
    translations: Translations,
    similarity: float,
    *,
    digits_as_numbers: bool = True,
) -> list[str]:
    """The `names` (names and numbers, as `names_and_numbers` finds them) that none of
    `texts` mentions: a number must be stated there, in digits or words; a name must be
    spelled alike (`mentions`) or translate to a name there with at least `similarity`.
    A name with a digit in it ("2011", "F-35") counts as a number; with `digits_as_numbers`
    False only a name of digits alone does, and the rest are looked for as names (as version
    1 of the citation check did, which compares the numbers of its claims itself)."""
    if not names:
        return []

    def is_number(name: str) -> bool:
        return any(ch.isdigit() for ch in name) if digits_as_numbers else name.isdigit()

    words = {w for text in texts for w in tokens(text)}
    name_set = {w for text in texts for w in name_words(text)}
    stated = {v for text in texts for v in number_values(text)}
    missing = []
    for name in names:
        if is_number(name):
            if not number_values(name) <= stated:
                missing.append(name)
        elif not mentions(name, words, name_set):
            missing.append(name)
    words_only = [n for n in missing if not is_number(n)]
    if not words_only:
        return missing
    candidates = sorted({n for text in texts for n in names_and_numbers(text) if not n.isdigit()})
    if not candidates:
        return missing
    best = translations.best(words_only, candidates)
    translated = {n for n, b in zip(words_only, best, strict=True) if float(b) >= similarity}
    return [n for n in missing if n not in translated]


def name_matches(
    claim: str, text: str, translations: Translations, context: str = "", language: str = ""
) -> dict[str, float]:
    """Each name and number of `claim` that `context` (`text` and the text around it) does
    not spell alike (`spelled_apart`), with how well it is found in `text` by meaning: its
    best similarity to a run of one or two words of `text` or a name of `context`. A
    translated name finds its translation (Armenia / Ermenistan'a, Byzantine Empire / Bizans
    İmparatorluğu); a swapped-in one finds nothing. A number must be stated (-inf: never found
    by meaning)."""
    gone = spelled_apart(claim, context or text)
    names = [m for m in gone if not m.isdigit()]
    found = {m: float("-inf") for m in gone}
    targets = word_runs(text, language)
    targets += [n for n in names_and_numbers(context) if not n.isdigit()]
    if names and targets:
        best = translations.best(names, list(dict.fromkeys(targets)))
        found.update({m: float(b) for m, b in zip(names, best, strict=True)})
    return found
