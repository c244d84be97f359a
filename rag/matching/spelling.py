"""Names, numbers and words of one text in another by spelling: numbers by value (digits
or English and Turkish number words, with Turkish case endings), names and words folded
(Çin / cin), across languages (Canada / Kanada) and without Turkish case endings
(Ermenistan'a / Ermenistan), by a loose rule (`mentions`) and a strict one (`spelled_apart`);
and the runs of words of a text that a name's translation is looked for in (`word_runs`).
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

import snowballstemmer
from rapidfuzz import fuzz

from rag.text import names_and_numbers, stems_of, tokens

# --- numbers ---------------------------------------------------------------------------------

# Number words from three up (English and Turkish): "one"/"two"/"both" are too often just
# descriptive ("the two countries") to demand that the source spells them out.
_NUMBER_WORDS = {
    "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "dozen": 12,
    # ("on" = 10 and "bin" = 1000 are left out: they are English words too)
    "uc": 3, "dort": 4, "bes": 5, "alti": 6, "yedi": 7, "sekiz": 8, "dokuz": 9,
    "yirmi": 20, "otuz": 30, "kirk": 40, "elli": 50, "yuz": 100, "milyon": 10**6,
    "milyar": 10**9,
}  # fmt: skip
# "37 milyondan", "5 milyarlık" (folded): case endings only, not "milyarder" or "milyonlarca"
_SUFFIXED_NUMBER_RE = re.compile(r"(milyon|milyar)(a|da|dan|i|in|u|un|la|lik|luk|dir|dur)")
_DIGITS_RE = re.compile(r"\d+")
_LONGEST_NUMBER = 16  # digits; longer runs are identifiers, not numbers a claim states


def number_values(text: str) -> set[int]:
    """The numbers a text states, in digits or words ("eight", "sekiz", "2050", "milyondan")."""
    values = {int(n) for n in _DIGITS_RE.findall(text) if len(n) < _LONGEST_NUMBER}
    for w in tokens(text):
        suffixed = _SUFFIXED_NUMBER_RE.fullmatch(w)
        if w in _NUMBER_WORDS or suffixed:
            values.add(_NUMBER_WORDS[suffixed.group(1) if suffixed else w])
    return values


def unstated_numbers(text: str, others: Sequence[str]) -> list[str]:
    """The numbers `text` states that none of `others` does, in order of value."""
    stated = {v for other in others for v in number_values(other)}
    return [str(v) for v in sorted(number_values(text) - stated)]


# --- names and words by spelling -------------------------------------------------------------

PREFIX = 5  # letters of the fixed-prefix stems (text.stems_of): Japonya / Japonca


def name_words(text: str) -> set[str]:
    """Folded words of the names in `text`."""
    return {w for name in names_and_numbers(text) for w in tokens(name)}


def has_word(word: str, words: AbstractSet[str], stems: AbstractSet[str]) -> bool:
    """Whether folded `word` is one of `words`, or shares its five-letter stem with one of
    them (`stems`: `set(stems_of(words))`)."""
    return word in words or (len(word) >= PREFIX and word[:PREFIX] in stems)


# The loose rule, set by hand on the bundled article's question sets (commit 6aa1f9f): the
# last word of a name against the words of the names there, by its first three letters or by
# a fuzzy ratio of at least 70 (75 for a word of five letters or fewer: short words need a
# closer match), between words whose lengths differ by at most 40%.
_LOOSE_RATIO, _LOOSE_LENGTHS, _LOOSE_PREFIX = 70, 0.6, 3
_LOOSE_RATIO_SHORT, _LOOSE_SHORT = 75, 5
# The strict rule, set with the citation check on XQuAD (bench/verifier_xquad.py, commit
# 8e2f198): any longer word of a name against every word there, by its five-letter stem or by
# a fuzzy ratio of at least 80, between words whose lengths differ by at most 30%.
_STRICT_RATIO, _STRICT_LENGTHS = 80, 0.7
_SHORT_WORD = 4  # letters: shorter words are matched exactly


def mentions(name: str, words: set[str], names: set[str]) -> bool:
    """Whether a text whose folded words are `words` and whose folded name words are `names`
    mentions `name` (the loose rule). Numbers must match exactly. For a name of several words
    the last one decides (the surname or head noun: "Prime Minister Kishida" -> "Kishida"),
    spelled alike across languages (Canada/Kanada, Russia/Rusya) or sharing a stem
    (Japanese/Japonya)."""
    parts = tokens(name)
    if not parts:
        return True
    if all(p.isdigit() for p in parts):
        return all(p in words for p in parts)
    return _mentioned_word(parts[-1], words, names)


def _mentioned_word(word: str, words: set[str], names: set[str]) -> bool:
    if word in words:
        return True
    if len(word) < _SHORT_WORD:
        return False
    cutoff = _LOOSE_RATIO_SHORT if len(word) <= _LOOSE_SHORT else _LOOSE_RATIO
    return any(
        _comparable(n, word, _LOOSE_LENGTHS)
        and (n[:_LOOSE_PREFIX] == word[:_LOOSE_PREFIX] or fuzz.ratio(word, n, score_cutoff=cutoff))
        for n in names
    )


def _comparable(a: str, b: str, share: float) -> bool:
    return min(len(a), len(b)) >= share * max(len(a), len(b))


def spelled_apart(claim: str, context: str) -> list[str]:
    """Names and numbers of `claim` that `context` does not spell alike (the strict rule).
    Stricter than `mentions` about spelling (a shared first three letters is not enough: a
    swapped-in "Steelers" must not pass for "Stephen"), looser about names of several words:
    one longer word found is enough (a translation keeps one: "American Sign Language" /
    "Amerikan İşaret Dili"). `name_matches` looks for the rest by meaning."""
    words = set(tokens(context))
    stems = set(stems_of(list(words), PREFIX))

    def found(word: str) -> bool:
        if has_word(word, words, stems):
            return True
        return len(word) >= _SHORT_WORD and any(
            _comparable(w, word, _STRICT_LENGTHS) and fuzz.ratio(word, w) >= _STRICT_RATIO
            for w in words
        )

    missing = []
    for name in names_and_numbers(claim, sentence_initial=False):
        parts = [w for w in tokens(name) if not w.isdigit()]
        if not parts:
            continue
        longer = [w for w in parts if len(w) >= _SHORT_WORD] or parts
        if not any(found(w) for w in longer):
            missing.append(name)
    missing += unstated_numbers(claim, [context])
    return list(dict.fromkeys(missing))


# --- the words of a text to match against ----------------------------------------------------

_RUN_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+(?:[.,]\d+)*")
_SUFFIX_RE = re.compile(r"['’]")


def word_runs(text: str, language: str = "") -> list[str]:
    """Runs of one and two words of `text`, and each word without its suffixes: after an
    apostrophe (Ermenistan'a -> Ermenistan) and, in Turkish, by the Snowball stemmer
    (Peçeneklere -> Peçenek, Anarşinin -> Anarşi): a name's translation often carries a case
    ending that the multilingual model reads as another word."""
    words = _RUN_WORD_RE.findall(text)
    bases = [_SUFFIX_RE.split(w)[0] for w in words]
    if language == "tr":
        bases += [turkish_stem(w) for w in bases]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return list(dict.fromkeys(words + bases + pairs))


_TURKISH = snowballstemmer.stemmer("turkish")
_TURKISH_LOCK = threading.Lock()


@functools.lru_cache(maxsize=50_000)
def turkish_stem(word: str) -> str:
    """The Snowball stem of a Turkish word (Peçeneklere -> Peçenek)."""
    with _TURKISH_LOCK:  # the stemmer keeps its word in itself: one thread at a time
        stem: str = _TURKISH.stemWord(word)
        return stem
