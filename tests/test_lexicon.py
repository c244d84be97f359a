"""The Turkish-English lexicon (rag/lexicon.py), with the real KeNet data, and Kaynak without it."""

import gzip
import json
import subprocess
import sys

import pytest

from rag import lexicon
from rag.matching import Words
from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.skipif(
    lexicon.data_folder() is None, reason="the lexicon extra is not installed (make setup does)"
)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return lexicon.load(tmp_path_factory.mktemp("home"))


def test_news_words_translate_both_ways(table):
    assert "bakan" in table.translations("minister", "en")
    assert "kutuphane" in table.translations("libraries", "en")  # plural -> library
    assert "savunma" in table.translations("defence", "en")
    assert "varsova" in table.translations("warsaw", "en")
    # a Turkish word with its suffixes is found by the lemma it begins with
    assert table.lemma("istihbaratin", "tr") == "istihbarat"
    assert "intelligence" in table.translations("istihbaratin", "tr")
    assert "minister" in table.translations("bakani", "tr")
    # a final k, p or t voiced before a suffix: Bakanlığı is bakanlık, kitabı is kitap
    assert "ministry" in table.translations("bakanligi", "tr")
    assert table.lemma("kitabi", "tr") == "kitap"
    assert table.lemma("andrew", "tr") is None  # no vowel after the d: no "ant"


def test_a_word_kenet_does_not_link_takes_the_translations_of_its_derived_words(table):
    """KeNet links no Turkish word to "violent" or "assassinate"; it does to "violence"
    (şiddet) and "assassination" (suikast), which WordNet derives them from. A Turkish word
    keeps its own senses: hava stays air and weather, not the dozens of words derived."""
    assert "siddet" in table.translations("violent", "en")
    assert "suikast" in table.translations("assassinating", "en")
    assert "violent" not in table.translations("siddet", "tr")
    assert {"air", "weather"} <= set(table.translations("hava", "tr"))


def test_a_function_word_is_no_translation(table):
    """One sense of "cause" is "neden" (why): a passage asking why holds no cause. Numerals
    and words that fold like one are translations still (two / iki, water / su: şu folds so)."""
    words = Words(table)
    assert "sebep" in words.translations("cause", "en", "tr")
    assert "neden" not in words.translations("cause", "en", "tr")
    assert words.found("What was the cause?", "en", "Neden bilinmiyor.", "tr").found == ()
    assert words.found("What was the cause?", "en", "Sebebi bilinmiyor.", "tr").found == ("cause",)
    assert "iki" in words.translations("two", "en", "tr")
    assert "su" in words.translations("water", "en", "tr")


def test_irregular_english_forms_take_their_lemma(table):
    assert table.lemma("children", "en") == "child"
    assert table.lemma("opened", "en") == "open"  # a regular ending dropped


def test_a_name_is_no_word_of_either_language(table):
    assert not table.knows("biden", "tr")  # not "bide" + "n"
    assert not table.knows("biden", "en")
    assert table.knows("kanadanin", "tr")  # Kanada + nın
    assert table.knows("historically", "en")


def test_a_turkish_word_shows_its_lemma_and_english_lemmas(table):
    lemma, meanings = table.gloss("Kütüphanesi")
    assert lemma == "kütüphane"
    assert "library" in meanings
    assert table.gloss("Joly") is None
    assert table.gloss("Hayashi") is None  # a name, though it begins with "haya" (shame)


def test_only_a_verb_loses_its_infinitive_ending(table):
    assert "bread" in table.translations("ekmek", "tr")  # the noun keeps -mek
    assert table.lemma("ekmek", "tr") == "ekmek"
    assert table.lemma("paylasti", "tr") == "paylas"  # paylaşmak, a verb


def test_question_and_opening_words_are_told_from_names(table):
    words = Words(table)
    assert words.names("Biden ne dedi?") == ["Biden"]  # no word of either language
    assert words.names("Kimin açıklaması?") == []  # a question word opens it
    assert words.names("Neler konuşuldu?") == []
    # Turkish function words the lexicon lacks (if, any, many) are no names either
    assert words.names("Eğer varsa, hangi ülke katıldı?") == []
    assert words.names("Herhangi bir anlaşma imzalandı mı?") == []
    assert words.names("Birçok ülke ne istedi?") == []
    # a proper name only in the other language is a word here: adam is a man in Turkish
    assert words.names("Adam ne dedi?") == []
    assert words.names("Kabul edilen yasa neydi?") == []
    assert words.names("Bursa kütüphanesinin adı ne?") == ["Bursa"]
    assert words.names("Historically, what did Joly say?") == ["Joly"]
    assert Words(None).names("Biden ne dedi?") == []  # without the lexicon, as before


def test_a_turkish_opening_word_with_a_suffix_after_an_apostrophe_is_a_name(table):
    """The lexicon reads Putin as put + in (an idol's); Turkish spelling says it is a name."""
    words = Words(table)
    assert words.names("Putin'in açıklaması neydi?") == ["Putin"]
    assert words.names("Goldenson’un şirketi neydi?") == ["Goldenson"]  # a curly apostrophe
    assert words.names("Q'nun anlamı ne?") == []  # one letter: an initial
    assert words.names("Putin's statement?") == []  # English: the possessive tells nothing


def test_a_claim_s_words_are_found_in_their_turkish_forms(table):
    """The s of "Japan's" is no word to look for; Bakanlığı holds "ministry"."""
    passage = "Japonya Dışişleri Bakanlığı, anlaşmaya en kısa sürede varılmasını istedi."
    found = Words(table).found("Japan's ministry wants a deal.", "en", passage, "tr")
    assert "s" not in found.words
    assert {"japan", "ministry"} <= set(found.found)


def test_no_content_words_is_no_evidence(table):
    found = Words(table).found("What is it?", "en", "Kanada ile Japonya görüşüyor.", "tr")
    assert not found.judged and found.coverage == 0.0
    # the lexicon translates between English and Turkish only: other pairs go by spelling
    assert Words(table).translations("minister", "en", "de") == ()


def test_words_are_found_across_languages_by_translation(table):
    passage = "Kanada ile Japonya askeri istihbarat paylaşımını görüşüyor."
    found = Words(table).found("Which minister discussed military talks?", "en", passage, "tr")
    assert "military" in found.found and "minister" not in found.found
    assert "askeri" in found.matched
    # without the lexicon only spelling counts
    assert "military" not in Words(None).found("military", "en", passage, "tr").found


def test_a_turkish_function_word_holds_no_translation(table):
    """kendi (own) begins like kent (city), and diğer (other) like dik (build): neither is
    the city or the building a question asks about."""
    words = Words(table)
    asked = "Which city did they build?"
    found = words.found(asked, "en", "Bakan kendi partisini diğer üyelerle savundu.", "tr")
    assert found.found == ()
    assert words.found(asked, "en", "Bakan kenti ziyaret etti.", "tr").found == ("city",)


def test_a_damaged_table_is_rebuilt_and_older_tables_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = lexicon.table_paths(tmp_path / "home")[0]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x1f\x8b half a file")
    older = path.with_name(f"kenet-0.9-v{lexicon.TABLE_FORMAT - 1}.json.gz")
    older.write_bytes(b"a table of an older format")
    # what stays: another install's table (a newer format, or the same format built from
    # another package version: the cache folder is shared), another process's table being
    # written, and files that are no tables
    kept = [
        path.with_name(f"kenet-0.9-v{lexicon.TABLE_FORMAT + 1}.json.gz"),
        path.with_name(f"kenet-0.9-v{lexicon.TABLE_FORMAT}.json.gz"),
        path.with_name(f".{path.name}.123-456"),
        path.with_name("kenet-notes.txt"),
    ]
    for other in kept:
        other.write_bytes(b"not mine")
    lexicon.forget()
    try:
        rebuilt = lexicon.load(tmp_path / "home")
    finally:
        lexicon.forget()
    assert rebuilt is not None and "bakan" in rebuilt.translations("minister", "en")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        assert json.load(f)["format"] == lexicon.TABLE_FORMAT
    assert not older.exists()
    assert all(other.read_bytes() == b"not mine" for other in kept)


def test_unreadable_data_turns_the_lexicon_off(tmp_path, monkeypatch):
    """KeNet's XML damaged (and no table built from it): Kaynak starts without the lexicon
    rather than failing."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in lexicon.DATA_FILES:
        (folder / name).write_text("<SYNSET><ID>TUR10", encoding="utf-8")
    monkeypatch.setattr(lexicon, "data_folder", lambda: folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lexicon.forget()
    try:
        assert lexicon.load(tmp_path / "home") is None
    finally:
        lexicon.forget()


def test_without_a_home_folder_the_table_lives_in_kaynak_home(tmp_path, monkeypatch):
    def no_home() -> None:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(lexicon.Path, "home", no_home)
    assert lexicon.table_paths(tmp_path) == [tmp_path / "lexicon" / lexicon.table_name()]


_WITHOUT_THE_PACKAGE = """
import json, sys
sys.modules["WordNet"] = None  # as if nlptoolkit-wordnet were not installed
from rag import Assistant, lexicon
assert lexicon.data_folder() is None
bot = Assistant(home=sys.argv[1], progress=False)
assert bot.lexicon is None
bot.ingest([sys.argv[2]], background=False)
bot.complete_background()
out = {}
for q in json.loads(sys.argv[3]):
    a = bot.ask(q)
    out[q] = [a.abstained, a.text, [[c.doc_id, c.start, c.end] for c in a.citations]]
print(json.dumps(out))
"""

QUESTIONS = [
    "What did Joly say?",
    "Who is Hayashi?",
    "What did Biden say?",
    "Japonya ile ne konuşuldu?",
]


@pytest.mark.slow
def test_without_the_package_kaynak_answers_as_with_the_lexicon_off(tmp_path):
    """With nlptoolkit-wordnet absent, Kaynak answers; exactly as with KAYNAK_LEXICON off,
    which uses the model and weights fitted without the lexicon."""
    from rag import Assistant

    run = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_PACKAGE, str(tmp_path / "a"), str(CORPUS),
         json.dumps(QUESTIONS)],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    absent = json.loads(run.stdout.strip().splitlines()[-1])
    bot = Assistant(home=tmp_path / "b", progress=False, lexicon=False)
    assert bot.lexicon is None
    bot.ingest([CORPUS], background=False)
    bot.complete_background()
    for q in QUESTIONS:
        a = bot.ask(q)
        cited = [[c.doc_id, c.start, c.end] for c in a.citations]
        assert absent[q] == [a.abstained, a.text, cited], q
    assert not absent["What did Joly say?"][0]
