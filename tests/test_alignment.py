"""A claim's content phrases against a passage's words: found word for word, found as a
translation, or (a swapped-in fact) found nowhere."""

import tempfile
from pathlib import Path

import pytest

from rag.alignment import alignment, open_phrases
from rag.citations import Check
from rag.embeddings import load_embeddings
from rag.matching import ByMeaning

HAYASHI = "Japon mevkidaşı Yoshimasa Hayashi ile Tokyo’da bir araya gelerek savunma ve ekonomik güvenlik alanındaki işbirliğini güçlendirme amaçlı bir eylem planı kabul etti."
TALKS = "Kanada ve Japonya, iki ülke Çin ve Rusya’dan gelen artan tehditlere karşı koymaya çalışırken, askeri istihbarat paylaşımını amaçlayan müzakereler başlattı."


@pytest.fixture(scope="module")
def by_meaning():
    return ByMeaning(load_embeddings("use"))


def test_phrases_are_content_words_between_function_words_numbers_and_punctuation():
    phrases = open_phrases("Joly met Hayashi in Tokyo, in 2022 signing an action plan.", [HAYASHI])
    assert [p for p, _ in phrases] == ["Joly met Hayashi", "Tokyo", "signing", "action plan"]
    # which texts hold every word of each (Tokyo’da holds Tokyo; a five-letter stem is enough)
    assert dict(phrases) == {
        "Joly met Hayashi": set(),
        "Tokyo": {0},
        "signing": set(),
        "action plan": set(),
    }
    assert dict(open_phrases("Hayashi kabul etti", [HAYASHI])) == {"Hayashi kabul etti": {0}}


def test_phrases_align_with_their_translation_and_swapped_ones_with_nothing(by_meaning):
    floor = Check().align
    assert alignment("action plan", HAYASHI, by_meaning)[0] >= floor  # eylem planı
    assert alignment("military intelligence", TALKS, by_meaning)[0] >= floor  # askeri istihbarat
    assert alignment("space exploration", HAYASHI, by_meaning)[0] < floor
    assert alignment("agricultural technology", TALKS, by_meaning)[0] < floor
    # every phrase found word for word: nothing to align
    assert alignment("Hayashi Tokyo", HAYASHI, by_meaning) == (1.0, "")
    # the worst-found phrase is named
    assert (
        alignment("action plan on space exploration", HAYASHI, by_meaning)[1] == "space exploration"
    )


def test_with_the_lexicon_a_phrase_translated_word_for_word_is_found(by_meaning):
    """The lexicon finds "military intelligence" translated in the passage (askeri
    istihbarat), so the worst-found phrase left is one it cannot find: a swapped-in one."""
    from rag import lexicon
    from rag.alignment import phrase_alignment, worst
    from rag.matching import Words

    if lexicon.data_folder() is None:
        pytest.skip("nlptoolkit-wordnet (the lexicon extra) is not installed")
    table = lexicon.load(Path(tempfile.gettempdir()))
    if table is None:
        pytest.skip("the lexicon's data cannot be read here")
    words = Words(table)

    def worst_found(claim: str) -> tuple[tuple[float, str], tuple[float, str]]:
        scored = phrase_alignment(claim, TALKS, by_meaning, language="tr")
        held = words.found(claim, "en", TALKS, "tr").found
        return worst(scored), worst(scored, held)

    plain, translated = worst_found("Canada and Japan started sharing military intelligence.")
    assert plain[1] == "intelligence" and plain[0] < 0.5  # barely like any word there
    assert translated == (1.0, "")  # every phrase found: by spelling, meaning or translation
    # a phrase swapped in from another story has no translation there: it stays the worst
    plain, translated = worst_found("Canada and Japan started sharing farming technology.")
    assert translated == plain and translated[1] == "technology"
    # a possessive or a suffix after an apostrophe leaves the phrase's words as they are
    assert worst([("Japan's intelligence", 0.1)], {"japan", "intelligence"}) == (1.0, "")
    assert worst([("Tokyo'daki", 0.1)], {"tokyo"}) == (1.0, "")
