"""Text helpers shared by several stages: normalising, folding, tokens, language, hashes."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar, overload

_R = TypeVar("_R")

# A capitalised word of fewer letters is no name ("A", "I"); a text of at most this many words
# is too short for a statistical language identifier.
MIN_NAME_CHARS = 2
SHORT_TEXT_WORDS = 12

# Turkish and English question words and particles that are never names.
_NOT_NAMES = {
    "what", "who", "whom", "whose", "which", "when", "where", "why", "how", "did", "does",
    "do", "is", "are", "was", "were", "and", "the", "a", "an", "in", "of", "on", "to", "for",
    "with", "about", "tell", "me", "please", "can", "could", "would", "will", "has", "have",
    "had", "according", "i", "ne", "kim", "kime", "kimi", "nerede", "neden", "nasıl", "hangi",
    "niçin", "niye", "ve", "peki", "ya", "bu", "şu", "o", "mi", "mı", "mu", "mü",
    "this", "that", "these", "those", "it", "its", "he", "she", "they", "their", "his", "her",
    "there", "also", "however", "both", "but", "so", "as", "at", "by", "from", "if", "no",
    "not", "yes", "meanwhile", "then", "while", "after", "before", "during", "under", "over",
    "sources", "source", "article", "the article", "based", "we", "you", "our", "my",
    "bunun", "ayrıca", "ancak", "ama", "fakat", "göre", "kaynak", "kaynaklar", "makale",
    "haber", "onun", "onlar", "bunlar", "şöyle", "sonra", "önce",
}  # fmt: skip

# Turkish demonstratives and pronouns with their suffixes ("Bunlardan", "Onun"): not names.
_TR_PRONOUN_RE = re.compile(r"^(bu|su|o)n?(lar|ler)?(i|u|a|e|da|de|dan|den|in|un|la|le|nu|na)?$")
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)
_CAPITALISED_RE = re.compile(r"\b[^\W\d_][\w'’-]*", re.UNICODE)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
# The letters that set Turkish apart from English (a short question with one is Turkish).
TURKISH_LETTERS = frozenset("çğıöşüÇĞİÖŞÜ")
_TURKISH_WORDS = {
    "ne", "kim", "nedir", "neden", "nasıl", "hangi", "mi", "mı", "mu", "mü", "ve", "ile",
    "bir", "bu", "için", "dedi", "ya", "peki", "nerede", "kime", "kimle", "hakkında", "neler",
    "söyledi", "var", "olarak", "da", "de", "ki",
}  # fmt: skip
_ENGLISH_WORDS = {
    "what", "who", "the", "did", "does", "is", "are", "was", "and", "of", "to", "in", "on",
    "say", "said", "about", "which", "how", "why", "when", "where", "with", "for",
}  # fmt: skip


def normalize(text: str) -> str:
    """NFC, one kind of line break, no control characters but newline and tab."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u2028", "\n").replace("\u2029", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def fold(text: str) -> str:
    """Lower-case for matching, Turkish-aware: 'İ' -> 'i', 'I' -> 'ı' is avoided on purpose
    because English text is the common case; accents are stripped so 'Çin' matches 'cin'."""
    if text.isascii():  # (nothing else to do: the common case, and the fast one)
        return text.lower()
    text = text.replace("İ", "i").replace("I", "i").replace("ı", "i")
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


# Texts read again and again (passages and the text around them, from question to question)
# are read once: what is read from them is remembered, for texts of up to this many
# characters (a whole document, read once at ingest, is not kept).
_REMEMBERED_TEXTS = 4096
_REMEMBERED_LONGEST = 4000
_REMEMBERING: list[Any] = []  # the caches `forget` clears


@overload
def remembered(read: Callable[..., _R]) -> Callable[..., _R]: ...
@overload
def remembered(*, texts: int) -> Callable[[Callable[..., _R]], Callable[..., _R]]: ...
def remembered(read: Callable[..., _R] | None = None, *, texts: int = _REMEMBERED_TEXTS) -> Any:
    """`read(text, *args)`, remembered for the last `texts` texts (a few thousand by
    default) of up to `_REMEMBERED_LONGEST` characters; its result must not be changed by
    its callers. Use as `@remembered`, or `@remembered(texts=N)` for a bulkier result."""

    def wrap(read: Callable[..., _R]) -> Callable[..., _R]:
        cached = lru_cache(maxsize=texts)(read)
        _REMEMBERING.append(cached)

        @functools.wraps(read)
        def call(text: str, *args: Any) -> _R:
            return read(text, *args) if len(text) > _REMEMBERED_LONGEST else cached(text, *args)

        return call

    return wrap(read) if read is not None else wrap


def tokens(text: str) -> list[str]:
    """Folded word tokens; apostrophes split Turkish suffixes off names (Tokyo’da -> tokyo, da)."""
    return list(_tokens(text))


@remembered
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN_RE.findall(fold(text)))


def stems(text: str) -> list[str]:
    return stems_of(tokens(text))


def stems_of(words: list[str], prefix: int = 5) -> list[str]:
    """Fixed-prefix stems. Truncating to five letters is a strong stemmer for agglutinative
    Turkish (Can et al., 2008) and harmless for English names and terms."""
    return [w[:prefix] for w in words if len(w) > 1]


def names_and_numbers(text: str, sentence_initial: bool = True) -> list[str]:
    """Names (runs of capitalised words: "Melanie Joly", "Five Eyes") and numbers in `text`.
    A sentence's first word counts unless it is a common sentence opener; with
    `sentence_initial=False` a lone capitalised first word does not count at all (in fluent
    prose it is usually a capitalised noun: "Industry groups ...", "Eylem planı ...")."""
    return list(_names_and_numbers(text, sentence_initial))


@remembered
def _names_and_numbers(text: str, sentence_initial: bool) -> tuple[str, ...]:
    runs: list[tuple[int, list[str]]] = []
    last_end = -1
    for match in _CAPITALISED_RE.finditer(text):
        word = match.group()
        base = re.split(r"['’]", word)[0]
        folded = fold(base)
        is_name = (
            len(base) >= MIN_NAME_CHARS
            and base[0].isupper()
            and folded not in _NOT_NAMES
            and not _TR_PRONOUN_RE.match(folded)
        )
        if is_name and runs and last_end >= 0 and text[last_end : match.start()] == " ":
            runs[-1][1].append(base)
        elif is_name:
            runs.append((match.start(), [base]))
        # a word that is not a name, or a suffix after an apostrophe ("Tokyo’da"), ends a run
        last_end = match.end() if is_name and base == word else -1
    found = [
        " ".join(words)
        for start, words in runs
        if sentence_initial
        or len(words) > 1
        or words[0].isupper()
        or not _starts_sentence(text, start)
    ]
    return (*found, *_NUMBER_RE.findall(text))


def forget() -> None:
    """Forget the texts read (benchmarks of texts never seen)."""
    for cache in _REMEMBERING:
        cache.cache_clear()
    _detect_language.cache_clear()


def _starts_sentence(text: str, position: int) -> bool:
    before = text[:position].rstrip(" \t\"“‘'(«-")
    return not before or before[-1] in ".!?:;\n"


def around(text: str, start: int, end: int, before: int, after: int) -> str:
    """`text[start:end]` with up to `before` characters before it and `after` after it."""
    return text[max(0, start - before) : end + after]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def short_hash(text: str, length: int = 16) -> str:
    return content_hash(text)[:length]


def language_code(value: object) -> str:
    """A language as the two-letter code Kaynak compares: "TR", "tr-TR" and "tr_TR" are "tr"."""
    return re.split(r"[-_]", str(value or "").strip().lower())[0]


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code. Short questions are decided by Turkish letters and function words
    (statistical identifiers are unreliable on five words); longer text by py3langid."""
    return _detect_language(text[:5000], default)


@lru_cache(maxsize=2048)  # a question is read by retrieval, the decision and the answer
def _detect_language(sample: str, default: str) -> str:
    words = tokens(sample)
    if len(words) <= SHORT_TEXT_WORDS:
        raw_words = set(re.findall(r"\w+", sample.lower()))
        tr = len(raw_words & _TURKISH_WORDS) + sum(ch in TURKISH_LETTERS for ch in sample)
        en = len(raw_words & _ENGLISH_WORDS)
        if tr > en:
            return "tr"
        if en > 0:
            return "en"
    if not words:
        return default
    import py3langid

    lang, _score = py3langid.classify(sample)
    return str(lang) or default
