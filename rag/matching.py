"""Whether a name, number or word of one text is found in another, in any language.

The one place for these rules; ranking (the lexical index), the abstain decision and the
citation check ask them here.

- Numbers are compared by value, written in digits or in English or Turkish words, with
  Turkish case endings ("sekiz", "37 milyondan").
- Names and words are compared by spelling, folded (Çin / cin), across languages (Canada /
  Kanada) and without Turkish case endings (Ermenistan'a / Ermenistan). There are two
  spelling rules: a loose one (`mentions`: is a question's name anywhere in these texts?) and
  a strict one (`spelled_apart`: a claim's name must not pass for another one in its cited
  passage, Steelers for Stephen).
- What spelling misses may be a translation (India / Hindistan). A `Translations` source says
  how well a word or name translates to words of the other text: today the multilingual
  model's similarity (`ByMeaning`). Each caller compares that similarity with its own fitted
  number (see rag/config.py).
- Content words across languages go through the Turkish-English lexicon (rag/lexicon.py,
  optional): `Words` says which of a text's content words another text holds, by spelling
  or by a dictionary translation, and how much of the text's content that is (`coverage`).
  Without the lexicon only spelling counts.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import snowballstemmer
from langchain_core.embeddings import Embeddings
from rapidfuzz import fuzz

from rag.embeddings import SHORT_TEXTS, VectorCache
from rag.text import (
    detect_language,
    fold,
    names_and_numbers,
    remembered,
    stems_of,
    tokens,
)
from rag.text import forget as forget_texts

if TYPE_CHECKING:
    from rag.lexicon import Lexicon

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

_PREFIX = 5  # letters of the fixed-prefix stems (text.stems_of): Japonya / Japonca


def name_words(text: str) -> set[str]:
    """Folded words of the names in `text`."""
    return {w for name in names_and_numbers(text) for w in tokens(name)}


def has_word(word: str, words: AbstractSet[str], stems: AbstractSet[str]) -> bool:
    """Whether folded `word` is one of `words`, or shares its five-letter stem with one of
    them (`stems`: `set(stems_of(words))`)."""
    return word in words or (len(word) >= _PREFIX and word[:_PREFIX] in stems)


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
    stems = set(stems_of(list(words), _PREFIX))

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


# --- names and words by meaning --------------------------------------------------------------


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


# --- content words, by spelling or through the lexicon ---------------------------------------

LEXICON_LANGUAGES = frozenset({"en", "tr"})  # the languages the lexicon translates between


def crosses(language: str, other: str) -> bool:
    """Whether words of `language` are matched to words of `other` through the lexicon:
    English to Turkish or Turkish to English (any other pair, or one language, by spelling)."""
    return language != other and {language, other} <= LEXICON_LANGUAGES


# Turkish question words, particles, conjunctions and pronouns (folded): never the evidence
# that a translation found a word. Not numerals or adverbs (iki, en, sonra: two, most, later),
# nor şu, which folds to su, water.
_TURKISH_GRAMMAR = frozenset(
    """ne neyi neye neden nedir neler kim kimi kime kimin kimdir kimler hangi hangisi
    hangileri nerede nereye nereden nasil niye nicin kac kaci ve veya ile ya da de ki mi mu
    bu o bunu sunu onu bunun onun bunlar onlar icin gibi her bir ise ama fakat""".split()  # noqa: SIM905
)

# Words that carry no content of their own in a question or a claim (folded): they are
# neither looked for nor counted.
FUNCTION_WORDS = frozenset(
    """a an the of to in on at by for from with about into over under after before during
    between through against among and or but nor not no yes is are was were be been being am
    do does did done have has had having will would shall should can could may might must
    what which who whom whose when where why how that this these those there here it its
    he she they them their his her him we us our you your i me my one ones as than then so
    such also only very more most much many some any all each every other another same own
    if whether while because although though since until up down out off again further
    once both either neither too just ever even yet still say said says tell told according
    called named name known kind type part
    ne neyi neye neden nedir neler kim kimi kime kimin kimdir kimler hangi hangisi hangileri
    nerede nereye nereden
    nasil niye nicin kac kaci ve veya ile ya da de ki mi mu bu su o bunu sunu onu bunun
    onun bunlar onlar icin gibi kadar daha en cok az her bir iki olan olarak oldu olur
    olmus olmak etmek yapmak var yok ise ama fakat ancak sonra once ayrica gore
    eger cunku ragmen iken bazi herhangi tum butun diger baska ayni kendi hem bircok sadece
    bile degil evet hayir""".split()  # noqa: SIM905 (a word list reads best as words)
)


def content_words(text: str) -> list[str]:
    """The folded content words of `text`, once each, in order (names and numbers too; no
    single letters, as the s of Japan's)."""
    return list(
        dict.fromkeys(
            w for w in tokens(text) if w not in FUNCTION_WORDS and (len(w) > 1 or w.isdigit())
        )
    )


_ASKED = 256  # texts whose content words a Words remembers
MIN_OPENING_NAME = 3  # letters: a shorter opening word is a title or initial (Dr, Mr), no name


def _suffixed(name: str, text: str) -> bool:
    """Whether `name` has a suffix after an apostrophe in Turkish `text` (Putin'in, AB'nin):
    Turkish spelling sets a suffix off so only on a proper name, an abbreviation or a number."""
    return re.search(r"(?<!\w)" + re.escape(name) + r"['’][^\W\d_]", text) is not None


@dataclass(frozen=True)
class _Reading:
    """A text's words as `Words.found` looks them up, read once per text."""

    words: frozenset[str]  # its folded words
    stems: frozenset[str]  # their five-letter stems
    by_stem: dict[str, tuple[str, ...]]  # stem -> the words with it
    by_lemma: dict[str, tuple[str, ...]]  # lexicon lemma -> the words with it (with a lexicon)


# A reading of a paragraph-long text takes some 40 kB: a thousand cover the candidates of
# many questions in a few tens of megabytes.
@remembered(texts=1024)
def _reading(text: str, language: str, lexicon: Lexicon | None) -> _Reading:
    words = tokens(text)
    by_stem: dict[str, list[str]] = {}
    by_lemma: dict[str, list[str]] = {}
    for w in dict.fromkeys(words):
        by_stem.setdefault(w[:_PREFIX], []).append(w)
        lemma = lexicon.lemma(w, language) if lexicon is not None else None
        if lemma:
            by_lemma.setdefault(lemma, []).append(w)
    return _Reading(
        frozenset(words),
        frozenset(stems_of(words, _PREFIX)),
        {k: tuple(v) for k, v in by_stem.items()},
        {k: tuple(v) for k, v in by_lemma.items()},
    )


@dataclass(frozen=True)
class Found:
    """Which content words of one text another text holds (`Words.found`)."""

    words: tuple[str, ...]  # the content words looked for
    found: tuple[str, ...]  # those held, by spelling or translation
    weights: tuple[float, ...]  # each looked-for word's weight (its idf)
    matched: frozenset[str]  # the folded words of the other text that held them

    @property
    def judged(self) -> bool:
        """Whether there was anything to look for (a question of function words alone, "What
        is it?", has nothing a passage could hold)."""
        return sum(self.weights) > 0

    @property
    def coverage(self) -> float:
        """The weighted share of the content words held; 0.0 when there are none to look for
        (no evidence either way: `judged` tells that case apart)."""
        total = sum(self.weights)
        if not total:
            return 0.0
        held = set(self.found)
        return (
            sum(w for word, w in zip(self.words, self.weights, strict=True) if word in held) / total
        )


@dataclass(frozen=True)
class Held:
    """What a passage holds of a question (`Words.holds`)."""

    coverage: float
    names: frozenset[str]


class Words:
    """Whether the content words of one text are in another: spelled alike (the same word,
    or the same five-letter stem: Japonya / Japonca) or, between English and Turkish, one of
    the lexicon's translations (intelligence / istihbaratın). `weight` gives a word its
    weight (the lexical index's idf: a rare word counts more than a common one)."""

    def __init__(
        self,
        lexicon: Lexicon | None,
        weight: Callable[[str, tuple[str, ...]], float] | None = None,
    ) -> None:
        self.lexicon = lexicon
        self.weight = weight
        # (text, language, other language) -> its content words, their translations and
        # weights: a question is looked for in many passages
        self._asked: dict[tuple[str, str, str], list[tuple[str, tuple[str, ...], float]]] = {}

    def translations(self, word: str, language: str, other: str) -> tuple[str, ...]:
        """What folded `word` of `language` translates to in `other` (none within a
        language, or without the lexicon; never a Turkish grammatical word: one sense of
        cause is neden, why, and a passage asking why holds no cause)."""
        if self.lexicon is None or not crosses(language, other):
            return ()
        found = self.lexicon.translations(word, language)
        if other == "tr" and found:
            return tuple(t for t in found if t not in _TURKISH_GRAMMAR)
        return found

    def translated(self, text: str, language: str) -> list[str]:
        """The five-letter stems (the lexical index's terms) of the translations of the
        content words of `text`, into the other of English and Turkish: `text` as a lexical
        query in the other language."""
        other = {"en": "tr", "tr": "en"}.get(language, "")
        found = (t for _, targets, _ in self._looked_for(text, language, other) for t in targets)
        return list(dict.fromkeys(stems_of([w for t in found for w in t.split()], _PREFIX)))

    def found(self, text: str, language: str, other: str, other_language: str) -> Found:
        """Which content words of `text` (in `language`) `other` (in `other_language`) holds."""
        crossing = self.lexicon is not None and crosses(language, other_language)
        asked = self._looked_for(text, language, other_language)
        read = _reading(other, other_language, self.lexicon if crossing else None)
        found: list[str] = []
        matched: set[str] = set()
        for word, targets, _ in asked:
            if has_word(word, read.words, read.stems):
                found.append(word)
                matched.update(read.by_stem.get(word[:_PREFIX], ()))
                continue
            hits = [w for t in targets for w in read.by_lemma.get(t, ())]
            if hits:
                found.append(word)
                matched.update(hits)
        words, _, weights = zip(*asked, strict=True) if asked else ((), (), ())
        return Found(tuple(words), tuple(found), tuple(weights), frozenset(matched))

    def _looked_for(
        self, text: str, language: str, other_language: str
    ) -> list[tuple[str, tuple[str, ...], float]]:
        """The content words of `text`, each with its translations into `other_language`
        and its weight, worked out once per text."""
        key = (text, language, other_language)
        asked = self._asked.get(key)
        if asked is None:
            if len(self._asked) >= _ASKED:  # a long-lived Words stays small
                self._asked.clear()
            asked = []
            for word in content_words(text):
                targets = self.translations(word, language, other_language)
                asked.append((word, targets, self.weight(word, targets) if self.weight else 1.0))
            self._asked[key] = asked
        return asked

    def holds(
        self, question: str, language: str, text: str, text_language: str, context: str = ""
    ) -> Held:
        """How much of `question` `text` holds: the share of its content words, and which
        of its names (`names`) `context` (the text with the text around it; default `text`)
        holds entirely."""
        whole = self.found(question, language, text, text_language)
        names = self.names(question)
        if names and context:
            around = set(self.found(question, language, context, text_language).found)
        else:
            around = set(whole.found)
        return Held(whole.coverage, frozenset(n for n in names if set(content_words(n)) <= around))

    def names(self, question: str) -> list[str]:
        """The names and numbers a question asks about. A capitalised word that opens the
        question is not taken for a name ("Historically, ..."), unless the lexicon, when
        loaded, knows it in neither language or as a proper name only: then it is a name
        ("Biden ne dedi?", "Bursa kütüphanesinin adı ne?"), or, in Turkish, it has a suffix
        after an apostrophe (Putin'in, which the lexicon reads as put + in). Question and
        function words (Kimin, Neler) and short titles (Dr) are never names alone."""
        asked = names_and_numbers(question, sentence_initial=False)
        if self.lexicon is None:
            return asked
        language = detect_language(question)
        opening = []
        for name in names_and_numbers(question):
            if name in asked:
                continue
            if language == "tr" and _suffixed(name, question):
                opening.append(name)
                continue
            words = [w for w in tokens(name) if len(w) >= MIN_OPENING_NAME]
            if not words or any(w in FUNCTION_WORDS for w in words):
                continue
            if all(self._name_word(w, language) for w in words):
                opening.append(name)
        return opening + asked

    def _name_word(self, word: str, language: str) -> bool:
        """Whether folded `word`, opening a question in `language`, is part of a name: a word
        of neither language, or only a proper name in the question's own (Biden; Bursa, which
        the lexicon has as a city; not "Adam ne dedi?", adam being a man in Turkish)."""
        assert self.lexicon is not None
        if self.unknown(word, "en") and self.unknown(word, "tr"):
            return True
        return language in LEXICON_LANGUAGES and self.lexicon.is_name(word, language)

    def unknown(self, word: str, language: str) -> bool:
        """Whether folded `word` is no word of `language` the lexicon knows (a name, or a
        word it lacks); False without the lexicon, which cannot tell."""
        if self.lexicon is None or language not in LEXICON_LANGUAGES:
            return False
        return not self.lexicon.knows(fold(word), language)


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


def forget() -> None:
    """Forget the remembered vectors and stems, as if no text had been seen (benchmarks of
    passages never seen)."""
    SHORT_TEXTS.clear()
    turkish_stem.cache_clear()
    forget_texts()
