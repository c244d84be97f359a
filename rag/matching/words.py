"""Content words of one text in another: by spelling or, between English and Turkish,
through the lexicon's translations (rag/lexicon.py, optional). `Words` says which of a
text's content words another text holds and how much of the text's content that is
(`coverage`), and which names a question asks about. Without the lexicon only spelling
counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.matching.spelling import PREFIX, has_word
from rag.text import detect_language, fold, names_and_numbers, remembered, stems_of, tokens

if TYPE_CHECKING:
    from rag.lexicon import Lexicon

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
    eger cunku ragmen iken bazi herhangi tum butun diger baska kendi bircok sadece
    degil""".split()  # noqa: SIM905 (a word list reads best as words)
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
        by_stem.setdefault(w[:PREFIX], []).append(w)
        # a function word holds no translation (kendi, own, is no form of kent, city)
        if lexicon is not None and w not in FUNCTION_WORDS:
            lemma = lexicon.lemma(w, language)
            if lemma:
                by_lemma.setdefault(lemma, []).append(w)
    return _Reading(
        frozenset(words),
        frozenset(stems_of(words, PREFIX)),
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
        return list(dict.fromkeys(stems_of([w for t in found for w in t.split()], PREFIX)))

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
                matched.update(read.by_stem.get(word[:PREFIX], ()))
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
