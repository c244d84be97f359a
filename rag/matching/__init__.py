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

Its parts: `spelling` (numbers, names and words by spelling), `meaning` (names by the
multilingual model) and `words` (content words, through the lexicon).
"""

from __future__ import annotations

from rag.embeddings import SHORT_TEXTS
from rag.matching.meaning import ByMeaning, Translations, name_matches, unmentioned
from rag.matching.spelling import (
    PREFIX,
    has_word,
    mentions,
    name_words,
    number_values,
    spelled_apart,
    turkish_stem,
    unstated_numbers,
    word_runs,
)
from rag.matching.words import (
    FUNCTION_WORDS,
    LEXICON_LANGUAGES,
    MIN_OPENING_NAME,
    Found,
    Held,
    Words,
    content_words,
    crosses,
)
from rag.text import forget as forget_texts

__all__ = [
    "FUNCTION_WORDS",
    "LEXICON_LANGUAGES",
    "MIN_OPENING_NAME",
    "PREFIX",
    "ByMeaning",
    "Found",
    "Held",
    "Translations",
    "Words",
    "content_words",
    "crosses",
    "forget",
    "has_word",
    "mentions",
    "name_matches",
    "name_words",
    "number_values",
    "spelled_apart",
    "turkish_stem",
    "unmentioned",
    "unstated_numbers",
    "word_runs",
]


def forget() -> None:
    """Forget the remembered vectors and stems, as if no text had been seen (benchmarks of
    passages never seen)."""
    SHORT_TEXTS.clear()
    turkish_stem.cache_clear()
    forget_texts()
