"""A Turkish-English lexicon for matching words across the two languages (optional).

It is built from KeNet, the Turkish WordNet, whose synsets link to English WordNet 3.1
synsets (`<ILR>ENG31-...<TYPE>SYNONYM`); the data ships in the `nlptoolkit-wordnet` package
(GPL-3.0, installed by the `kaynak[lexicon]` extra). Without that package `load` returns None
and Kaynak matches words by spelling and by the multilingual model alone, as it did before.

Words are compared as lemmas, folded as the lexical index folds them (rag/text.py). A Turkish
word's lemma is the longest lemma of the lexicon it begins with (Turkish adds suffixes:
istihbaratın -> istihbarat, başlattı -> başlat), its final g, b or d before a vowel read as
the k, p or t it voices (bakanlığı -> bakanlık); a verb's lemma drops its infinitive ending
(başlatmak -> başlat). The table also lists the lemmas that are only proper names (a city,
a country: Bursa, Warsaw), which tell a name from a word (`is_name`). An English word's
lemma comes from WordNet's list of irregular forms (said -> say, children -> child) or by
dropping a regular ending when what is left is a lemma of the lexicon (talks -> talk,
sharing -> share). An English word KeNet does not link translates as the words WordNet
relates it to by derivation do (violent as violence: şiddet). The table keeps, for each
lemma, the lemmas of the other language it translates to, most linked first, and no more than
`MAX_SENSES`: a word with more translations than that ("say" has dozens of verbs) is too
general to count as evidence, and is treated as a word the lexicon does not know.

The table is parsed from 75 MB of XML once (about five seconds) and kept as a compact JSON file
(0.8 MB) that loads in a fraction of a second: in the user's cache folder, shared by every
KAYNAK_HOME on the machine, or under KAYNAK_HOME when that cannot be written (`table_paths`).
`make setup` builds it; `load` builds it when it is missing or made by another version, when
an Assistant starts, so a question never waits for the XML.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
import os
import re
import threading
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.text import fold
from rag.text import forget as forget_texts

log = logging.getLogger(__name__)

PACKAGE = "WordNet"  # the import name of nlptoolkit-wordnet
DATA_FILES = ("turkish_wordnet.xml", "english_wordnet_version_31.xml", "english_exception.xml")
# Bump when the table's layout or the way keys are made changes: a table built by another
# version is then rebuilt, never read with the wrong keys.
TABLE_FORMAT = 6
_REMEMBERED = 200_000  # words whose lemma is remembered
MIN_LEMMA = 3  # letters: a shorter Turkish lemma must be the whole word (su, ev)
# Translations kept per lemma; a lemma with more is too general to be evidence. Fitted on
# XQuAD dev by bench/lexicon_probe.py (choosing the answer's sentence, folds by article).
MAX_SENSES = 32
# Turkish light verbs: in "yardım etmek" (to help) the meaning is in the noun.
_LIGHT_VERBS = frozenset({"etmek", "olmak", "yapmak", "eylemek", "kilmak", "edilmek", "olunmak"})
_INFINITIVE = ("mak", "mek")
# Turkish voices a lemma's final k, p, t before a suffix's vowel (folded: ğ is g)
_VOICED = {"g": "k", "b": "p", "d": "t"}
_VOWELS = frozenset("aeiou")  # folded: ı, ö, ü are i, o, u
# What a Turkish lemma may be followed by in a word, folded: nothing, or the beginning of a
# common case, plural, possessive or verb ending.
_TURKISH_ENDING = re.compile(
    r"$|l[ae]r|[dt][ae]n?|n?[iu]n|[sy]?[iu]|y?[ae]|[iu]m|[iu]z|m[iu]z|[dt][iu]|k[ae]n|l[iu]k|[cg][iu]|c[ae]|l[ae]|n[ae]|n[iu]"
)
# Regular English endings, and what replaces them: talks -> talk, sharing -> share
_ENDINGS = (
    ("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"),
    ("er", ""), ("est", ""), ("ly", ""),
)  # fmt: skip


def data_folder() -> Path | None:
    """Where the installed nlptoolkit-wordnet keeps its XML, or None when it is not
    installed (the package is found without being imported)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if all((folder / name).is_file() for name in DATA_FILES) else None


def _package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("nlptoolkit-wordnet")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Lemmas of one language -> lemmas of the other, most linked first (folded)."""

    to_turkish: dict[str, tuple[str, ...]]  # English lemma -> Turkish lemmas
    to_english: dict[str, tuple[str, ...]]  # Turkish lemma -> English lemmas
    irregular: dict[str, str]  # English irregular form -> lemma (said -> say)
    turkish_words: dict[str, str]  # Turkish lemma -> the word as the lexicon writes it
    names: dict[str, frozenset[str]]  # language -> its lemmas that are proper names only
    # (word, language) -> lemma, as words recur from question to question
    _lemmas: dict[tuple[str, str], str | None] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> Lexicon:
        """The lexicon of a table `build_table` made."""
        return cls(
            to_turkish={k: tuple(v) for k, v in table["to_turkish"].items()},
            to_english={k: tuple(v) for k, v in table["to_english"].items()},
            irregular=dict(table["irregular"]),
            turkish_words=dict(table["turkish_words"]),
            names={lang: frozenset(v) for lang, v in table["names"].items()},
        )

    def lemma(self, word: str, language: str) -> str | None:
        """The lemma of folded `word` of `language` ("en" or "tr"), or None if the lexicon
        does not know it."""
        key = (word, language)
        if key in self._lemmas:
            return self._lemmas.get(key)
        lemma = self._lemma(word, language)  # kept in a local: another thread may clear
        if len(self._lemmas) > _REMEMBERED:
            self._lemmas.clear()
        self._lemmas[key] = lemma
        return lemma

    def _lemma(self, word: str, language: str) -> str | None:
        if language == "en":
            return self._english_lemma(word)
        for end in range(len(word), MIN_LEMMA - 1, -1):
            if word[:end] in self.to_english:
                return word[:end]
            # a final k, p or t voiced before a vowel (bakanlık -> bakanlığı, ekmek -> ekmeği)
            voiced = _VOICED.get(word[end - 1])
            before_vowel = end < len(word) and word[end] in _VOWELS
            if voiced and before_vowel and word[: end - 1] + voiced in self.to_english:
                return word[: end - 1] + voiced
        return word if word in self.to_english else None

    def _english_lemma(self, word: str) -> str | None:
        if word in self.irregular:
            return self.irregular[word]
        if word in self.to_turkish:
            return word
        for ending, instead in _ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= MIN_LEMMA:
                base = word[: -len(ending)] + instead
                if base in self.to_turkish:
                    return base
        return None

    def knows(self, word: str, language: str) -> bool:
        """Whether folded `word` is a word of `language` the lexicon has: for Turkish, a
        lemma alone or followed by what begins a case, plural or possessive ending (Biden is
        not "bide" + "n"; Kanadanın is "kanada" + "nin")."""
        lemma = self.lemma(word, language)
        if lemma is None:
            return False
        return language == "en" or bool(_TURKISH_ENDING.match(word[len(lemma) :]))

    def is_name(self, word: str, language: str) -> bool:
        """Whether folded `word` of `language` is a proper name the lexicon knows (a place,
        a country: Bursa, Bursa'da, Warsaw), and nothing else."""
        return self.knows(word, language) and self.lemma(word, language) in self.names[language]

    def translations(self, word: str, language: str) -> tuple[str, ...]:
        """The lemmas of the other language that folded `word` of `language` translates to
        (none for a word the lexicon does not know, or one too general to count)."""
        lemma = self.lemma(word, language)
        if lemma is None:
            return ()
        table = self.to_turkish if language == "en" else self.to_english
        return table.get(lemma, ())

    def lemmas(self, words: Iterable[str], language: str) -> set[str]:
        """The lemmas of folded `words` of `language` that the lexicon knows."""
        found = (self.lemma(w, language) for w in words)
        return {lemma for lemma in found if lemma}

    def gloss(self, word: str) -> tuple[str, tuple[str, ...]] | None:
        """(Turkish lemma as written, its English lemmas) for a Turkish word the lexicon
        knows (`knows`), or None: a name is no word of it (Hayashi is not "haya" + "shi")."""
        folded = fold(word)
        lemma = self.lemma(folded, "tr")
        if lemma is None or not self.knows(folded, "tr"):
            return None
        return self.turkish_words.get(lemma, lemma), self.to_english.get(lemma, ())


def turkish_lemma(lemma: str, verb: bool = True) -> str:
    """A folded Turkish lemma, a verb's without its infinitive ending (başlatmak -> baslat;
    the noun ekmek, bread, keeps it)."""
    if verb and lemma.endswith(_INFINITIVE) and len(lemma) > len("mak") + 1:
        return lemma[: -len("mak")]
    return lemma


# --- building the table ----------------------------------------------------------------------


def _synsets(path: Path) -> Iterator[ET.Element]:
    for _, element in ET.iterparse(path, events=("end",)):
        if element.tag == "SYNSET":
            yield element
            element.clear()


def _literals(synset: ET.Element) -> list[str]:
    synonym = synset.find("SYNONYM")
    if synonym is None:
        return []
    return [(lit.text or "").strip() for lit in synonym.findall("LITERAL") if lit.text]


def build_table(folder: Path, max_senses: int = MAX_SENSES, derived: bool = True) -> dict[str, Any]:
    """Parse the package's XML into the table `Lexicon` reads (a few seconds). With
    `derived`, an English word that KeNet links to no Turkish word borrows the translations
    of the words WordNet relates it to by derivation (DERIVATION_RELATED: violent from
    violence, şiddet), in the English-to-Turkish direction only (a Turkish word keeps its
    own senses); bench/lexicon_probe.py measures with and without. Borrowing for every
    English word found a few more answers' sentences on XQuAD dev, but let more swapped
    phrases through the citation check and answered fewer questions correctly."""
    irregular = {}
    for _, element in ET.iterparse(folder / "english_exception.xml", events=("end",)):
        if element.tag == "word" and element.get("name") and element.get("root"):
            irregular[fold(element.get("name", ""))] = fold(element.get("root", ""))
    # folded word -> whether each of its senses is a proper name (Bursa, Warsaw)
    kinds: dict[str, dict[str, set[bool]]] = {"tr": defaultdict(set), "en": defaultdict(set)}
    links = _turkish_links(folder / "turkish_wordnet.xml", kinds["tr"])
    pairs: list[tuple[str, str, bool]] = []  # (English lemma, Turkish word, verb), one word each
    related: list[tuple[str, str]] = []  # (English word, a synset derivationally related)
    for synset in _synsets(folder / "english_wordnet_version_31.xml"):
        synonym = synset.find("SYNONYM")
        for literal in synonym.findall("LITERAL") if synonym is not None else ():
            text = (literal.text or "").strip()
            kinds["en"][fold(text)].add(text[:1].isupper())  # WordNet capitalises names
            if derived and fold(text).isalpha():
                related.extend(
                    (fold(text), (sr.text or "").strip())
                    for sr in literal.findall("SR")
                    if sr.findtext("TYPE") == "DERIVATION_RELATED"
                )
        english = [fold(w) for w in _literals(synset) if " " not in w.strip()]
        pairs.extend(
            (en, tr, verb)
            for tr, verb in _one_words(links.get(synset.findtext("ID") or "", ()))
            for en in english
            if en.isalpha()
        )
    linked = {en for en, _, _ in pairs}
    borrowed = [  # only for a word KeNet links to no Turkish word itself
        (en, tr, verb)
        for en, target in related
        if en not in linked
        for tr, verb in _one_words(links.get(target, ()))
    ]
    names = {lang: {w for w, k in kind.items() if k == {True}} for lang, kind in kinds.items()}
    return _table(pairs, irregular, max_senses, names, borrowed)


def _one_words(turkish: Iterable[tuple[str, bool]]) -> Iterator[tuple[str, bool]]:
    """The Turkish entries of one word, or of one word and a light verb ("yardım etmek"),
    as that word: the words of a longer entry do not each mean the whole ("kıyamet günü" is
    doomsday, "günü" is not)."""
    for tr, verb in turkish:
        words = [w for w in tr.lower().split() if w.isalpha()]
        content = [w for w in words if fold(w) not in _LIGHT_VERBS] or words
        if len(content) == 1:
            yield content[0], verb


def _turkish_links(path: Path, kinds: dict[str, set[bool]]) -> dict[str, list[tuple[str, bool]]]:
    """English synset id -> the Turkish literals linked to it as synonyms, and whether each
    is a verb. Adds to `kinds`, for each folded literal, whether each of its synsets is a
    proper name's (an instance, or written capitalised: Kanada)."""
    links: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for synset in _synsets(path):
        instance = any(sr.findtext("TYPE") == "INSTANCE_HYPERNYM" for sr in synset.findall("SR"))
        literals = _literals(synset)
        for literal in literals:
            kinds[fold(literal)].add(instance or literal[:1].isupper())
        verb = synset.findtext("POS") == "v"
        for ilr in synset.findall("ILR"):
            target = (ilr.text or "").strip()
            if ilr.findtext("TYPE") == "SYNONYM" and target.startswith("ENG31-"):
                links[target].extend((literal, verb) for literal in literals)
    return links


def _table(
    pairs: Iterable[tuple[str, str, bool]],
    irregular: dict[str, str],
    max_senses: int,
    names: dict[str, set[str]],
    borrowed: Iterable[tuple[str, str, bool]] = (),
) -> dict[str, Any]:
    """The table of (English lemma, Turkish word, verb) `pairs`, and `borrowed` pairs, which
    translate from English to Turkish only."""
    to_turkish: dict[str, Counter[str]] = defaultdict(Counter)
    to_english: dict[str, Counter[str]] = defaultdict(Counter)
    written: dict[str, Counter[str]] = defaultdict(Counter)  # Turkish lemma -> as written
    for en, word, verb in pairs:
        tr = turkish_lemma(fold(word), verb)
        to_turkish[en][tr] += 1
        to_english[tr][en] += 1
        written[tr][word] += 1
    for en, word, verb in borrowed:  # the Turkish word is linked to its own English words
        to_turkish[en][turkish_lemma(fold(word), verb)] += 1

    def ranked(table: dict[str, Counter[str]]) -> dict[str, list[str]]:
        """Translations by how often they are linked; none for a lemma too general to count
        (it stays in the table: it is still a word the lexicon knows)."""
        return {
            k: [t for t, _ in c.most_common()] if len(c) <= max_senses else []
            for k, c in table.items()
        }

    return {
        "format": TABLE_FORMAT,
        "to_turkish": ranked(to_turkish),
        "to_english": ranked(to_english),
        "irregular": irregular,
        "turkish_words": {k: c.most_common(1)[0][0] for k, c in written.items()},
        # lemmas that are proper names in every sense the lexicon has (Bursa, Warsaw)
        "names": {
            "tr": sorted(names["tr"] & to_english.keys()),
            "en": sorted(names["en"] & to_turkish.keys()),
        },
    }


# --- the cached table ------------------------------------------------------------------------

_LOADED: dict[str, Lexicon | None] = {}
_LOAD_LOCK = threading.Lock()


_TABLE_NAME = re.compile(r"kenet-.+-v(\d+)\.json\.gz")  # (`table_name`) its format


def table_name() -> str:
    """The table's file name: it depends on the package's version and the table format only,
    not on anyone's documents."""
    return f"kenet-{_package_version()}-v{TABLE_FORMAT}.json.gz"


def table_paths(home: Path) -> list[Path]:
    """Where the table is looked for, in order: the user's cache folder (shared by every
    KAYNAK_HOME on the machine: `$XDG_CACHE_HOME/kaynak` or `~/.cache/kaynak`), then
    KAYNAK_HOME, where it is built when the cache folder cannot be written."""
    paths = [home / "lexicon" / table_name()]
    try:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kaynak"
    except RuntimeError:  # no home folder (a service account): KAYNAK_HOME alone
        return paths
    return [cache / "lexicon" / table_name(), *paths]


def load(home: Path) -> Lexicon | None:
    """The lexicon, or None when nlptoolkit-wordnet is not installed or its data cannot be
    read (then Kaynak works as without it, and says why in the log). Read from its table
    (`table_paths`), built first if there is none (a few seconds, once per machine); loaded
    once per process."""
    folder = data_folder()
    if folder is None:
        return None
    name = table_name()
    with _LOAD_LOCK:
        if name in _LOADED:
            return _LOADED[name]
        paths = table_paths(home)
        table = next((t for t in map(_read, paths) if t is not None), None)
        if table is None:
            log.info("building the Turkish-English lexicon from KeNet (once)")
            try:
                table = build_table(folder)
            except (OSError, ET.ParseError) as exc:
                log.warning("the lexicon is off: cannot read KeNet's data in %s (%s)", folder, exc)
                _LOADED[name] = None  # not tried again in this process (until `forget`)
                return None
            if not any(_write(path, table) for path in paths):
                log.warning("cannot save the lexicon table; it is rebuilt in each process")
            for path in paths:  # tables of an older format are never read again
                _drop_others(path)
        lexicon = Lexicon.from_table(table)
        _LOADED[name] = lexicon
        return lexicon


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            table = json.load(f)
    except (OSError, ValueError, EOFError):  # missing, half-written or damaged: rebuild
        return None
    return table if isinstance(table, dict) and table.get("format") == TABLE_FORMAT else None


def _write(path: Path, table: dict[str, Any]) -> bool:
    """Write beside, then rename into place: another process never reads half a table.
    False when the folder cannot be written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=3) as f:
            json.dump(table, f, ensure_ascii=False, separators=(",", ":"))
        tmp.replace(path)
    except OSError as exc:
        log.info("cannot save the lexicon table to %s (%s)", path, exc)
        tmp.unlink(missing_ok=True)
        return False
    return True


def _drop_others(path: Path) -> None:
    """Remove the tables beside `path` in an older table format (about a megabyte each): no
    Kaynak reads them once a newer one is installed. Tables of the same or a newer format
    stay, whatever package version built them: the cache folder is shared by every install
    on the machine, and one install must not delete what another reads (each would rebuild
    its own on every start)."""
    try:
        for other in path.parent.glob("kenet-*-v*.json.gz"):
            found = _TABLE_NAME.fullmatch(other.name)
            if found and int(found.group(1)) < TABLE_FORMAT:
                other.unlink(missing_ok=True)
                log.info("removed a lexicon table of an older format: %s", other)
    except OSError as exc:  # a folder that cannot be read or written: they stay
        log.info("cannot remove old lexicon tables beside %s (%s)", path, exc)


def forget() -> None:
    """Forget the loaded tables (the next `load` reads its file again), and what was read
    of texts with them."""
    with _LOAD_LOCK:
        _LOADED.clear()
    forget_texts()
