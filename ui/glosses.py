"""Reading help for a Turkish quote shown to someone who asked in another language: the quoted
words that match the question are highlighted, and a Turkish word shows its lemma and a few
of its English lemmas when hovered or tapped (from the Turkish-English lexicon, rag/lexicon.py).

Neither is a translation, and the page says so beside them (`Glosses.note`). Words match as
`rag.matching.Words` says (by spelling, or through the lexicon's translations); without the
lexicon only spelling counts and no word has a gloss.

Every piece of source text is escaped here; the only markup is the page's own `<mark>` and
`<span>` with a `title` (the gloss) and `tabindex="-1"` (a tap or click focuses it and so shows
the gloss, and the words stay out of the keyboard's tab order).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.lexicon import Lexicon
from rag.matching import FUNCTION_WORDS, Words
from rag.text import tokens
from rag.types import Citation

TURKISH = "tr"
SENSES = 3  # English lemmas shown per word (the lexicon lists the most linked first)
REMEMBERED = 50_000  # glosses kept for words seen before
NOTE_MATCHES = "Highlighted: words that match your question."
NOTE_GLOSSES = (
    " Hover over or tap a Turkish word for its dictionary meanings "
    "(KeNet word list, not a translation)."
)
# A word as rag.text.tokens finds it, but in the text as written (tokens() reads it folded):
# each such word is folded and split by tokens() again to compare it with folded words.
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_APOSTROPHES = "'’"
# Function words (matching.FUNCTION_WORDS) that still get a gloss: a reader who cannot read
# Turkish needs a negation, "only", "some", "other", "all" or "despite" to read a quote right.
_GLOSSED_FUNCTION_WORDS = frozenset({"degil", "sadece", "bazi", "baska", "tum", "butun", "ragmen"})


def escape(text: str) -> str:
    return html.escape(text, quote=False)


@dataclass
class Glosses:
    """The reading help one page gives, with the lexicon it was started with (None: words are
    highlighted by spelling alone, and no word has a gloss)."""

    lexicon: Lexicon | None
    _words: Words = field(init=False, repr=False)
    _titles: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._words = Words(self.lexicon)

    @staticmethod
    def applies(question_language: str, passage_language: str) -> bool:
        """Whether a passage gets reading help: a Turkish one, for a question in another
        language (a Turkish reader needs neither)."""
        return passage_language == TURKISH and question_language != TURKISH

    @property
    def note(self) -> str:
        """What the highlights (and, with the lexicon, the glosses) are, in plain words."""
        return NOTE_MATCHES + (NOTE_GLOSSES if self.lexicon is not None else "")

    def matched(
        self, question: str, question_language: str, passage: str, passage_language: str
    ) -> frozenset[str]:
        """The folded words of `passage` that hold the question's content words."""
        found = self._words.found(question, question_language, passage, passage_language)
        return found.matched

    def title(self, word: str) -> str:
        """'istihbarat: intelligence, hearing, news' for a Turkish word the lexicon knows
        and can say something of in English; "" for any other word (names, function words,
        words too general to have a few meanings)."""
        if self.lexicon is None:
            return ""
        key = word.casefold()
        title = self._titles.get(key)
        if title is None:
            title = self._title(word)  # kept in a local: another thread may clear the cache
            if len(self._titles) >= REMEMBERED:
                self._titles.clear()
            self._titles[key] = title
        return title

    def _title(self, word: str) -> str:
        assert self.lexicon is not None
        folded = tokens(word)
        if len(folded) != 1 or folded[0].isdigit():
            return ""
        if folded[0] in FUNCTION_WORDS and folded[0] not in _GLOSSED_FUNCTION_WORDS:
            return ""
        gloss = self.lexicon.gloss(word)
        if gloss is None or not gloss[1]:
            return ""
        lemma, english = gloss
        return f"{lemma}: {', '.join(english[:SENSES])}"

    def render(
        self,
        text: str,
        matched: frozenset[str] = frozenset(),
        escape: Callable[[str], str] = escape,
        cut: tuple[bool, bool] = (False, False),
    ) -> str:
        """`text` as HTML: each word of it that is in `matched` (folded) in a `<mark>`, each
        word with a gloss in a `<span>` whose title is the gloss; the rest escaped by `escape`
        (which must escape HTML). A suffix after an apostrophe (Tokyo’da) has no gloss of its
        own, nor has a word cut off at the start or end of `text` (`cut`: an excerpt)."""
        out: list[str] = []
        last = 0
        for m in _WORD_RE.finditer(text):
            word = m.group()
            hit = bool(matched) and any(w in matched for w in tokens(word))
            partial = (cut[0] and m.start() == 0) or (cut[1] and m.end() == len(text))
            suffix = m.start() > 0 and text[m.start() - 1] in _APOSTROPHES
            title = "" if suffix or partial else self.title(word)
            if not hit and not title:
                continue
            shown = escape(word)
            if title:
                shown = (
                    f'<span class="gloss" tabindex="-1" title="{html.escape(title, quote=True)}">'
                    f"{shown}</span>"
                )
            if hit:
                shown = f'<mark class="hit">{shown}</mark>'
            out += [escape(text[last : m.start()]), shown]
            last = m.end()
        out.append(escape(text[last:]))
        return "".join(out)


@dataclass(frozen=True)
class Aid:
    """The reading help for the answers of one view of the page: the page's `Glosses` and the
    language of a cited passage (its document's, as ingested)."""

    glosses: Glosses
    language: Callable[[Citation], str]

    def matches(self, question: str, question_language: str, c: Citation) -> frozenset[str] | None:
        """The words of `c`'s quote that match the question, or None when its passage gets no
        reading help (see `Glosses.applies`)."""
        if not self.glosses.applies(question_language, self.language(c)):
            return None
        return self.glosses.matched(question, question_language, c.quote, TURKISH)
