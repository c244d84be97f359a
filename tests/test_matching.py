"""Whether a name, number or word of one text is found in another: numbers by value in digits
or words, names by two spelling rules, and what spelling misses by a translations source."""

import numpy as np
import pytest

from rag.embeddings import load_embeddings
from rag.matching import (
    ByMeaning,
    mentions,
    name_matches,
    name_words,
    number_values,
    spelled_apart,
    unmentioned,
    word_runs,
)
from rag.text import tokens

EIGHT = "Japonya’nın NATO ve ABD, Avustralya, İngiltere, Hindistan ve Güney Kore de dahil olmak üzere sekiz ayrı ülke ile benzer istihbarat paylaşım anlaşmaları var."
VISITS = "Bakan, Macaristan’a ve Ermenistan’a yaptığı ziyaretlerin ardından Brüksel’de bir açıklama yaptı."


class NoTranslations:
    """A translations source that knows none: only spelling can match."""

    def best(self, words: list[str], targets: list[str]) -> np.ndarray:
        return np.full(len(words), -1.0)


@pytest.fixture(scope="module")
def by_meaning():
    return ByMeaning(load_embeddings("use"))


def _mentions(name: str, text: str) -> bool:
    return mentions(name, set(tokens(text)), name_words(text))


def test_numbers_are_compared_by_value_in_digits_and_words():
    assert number_values("sekiz ülke, eight countries, 2050") == {8, 2050}
    assert number_values("37 milyondan fazla yolcu") == {37, 10**6}
    # case endings only: a billionaire is no number, and "two" is too often just descriptive
    assert number_values("Milyarder iş insanı, the two countries") == set()


def test_a_name_is_mentioned_in_another_spelling_or_by_its_surname():
    assert _mentions("Canada", "Kanada ve Japonya") and _mentions("Russia", "Rusya’dan")
    assert _mentions("Prime Minister Kishida", "Başbakan Fumio Kishida’nın")
    assert _mentions("Japanese", "Japonya ile")
    assert not _mentions("Olaf Scholz", EIGHT)
    assert _mentions("2050", "2050 hedefi") and not _mentions("2040", "2050 hedefi")


def test_the_strict_rule_tells_a_swapped_name_from_a_respelled_one():
    # the loose rule takes "Steelers" for "Stephen" (same first letters); the strict one not
    assert _mentions("Steelers", "Stephen scored twice.")
    assert spelled_apart("The Steelers scored twice.", "Stephen scored twice.") == ["Steelers"]
    # one longer word of a translated name is enough
    assert spelled_apart("He knows American Sign Language.", "Amerikan İşaret Dili") == []
    assert spelled_apart("They met in 2011 with eight others.", "2011 yılında sekiz kişi") == []
    assert spelled_apart("They met in 2012.", "2011 yılında") == ["2012"]


def test_a_name_is_missing_unless_spelled_alike_or_translated(by_meaning):
    names = ["Canada", "Tokyo", "Russia", "India", "2011"]
    text = EIGHT + " Kanada Rusya Tokyo’da 2011"
    # India is Hindistan there: spelling misses it, its translation does not
    assert unmentioned(names, [text], NoTranslations(), 0.67) == ["India"]
    assert unmentioned(names, [text], by_meaning, 0.67) == []
    assert unmentioned(["Olaf Scholz", "1999"], [text], by_meaning, 0.67) == ["Olaf Scholz", "1999"]


def test_a_name_with_digits_is_a_number_unless_the_caller_says_otherwise():
    text = "Video MPEG-2 ile dört kanalda yayınlandı."
    assert unmentioned(["MPEG-4"], [text], NoTranslations(), 0.67) == []  # four is stated
    assert unmentioned(["MPEG-5"], [text], NoTranslations(), 0.67) == ["MPEG-5"]
    # looked for as a name, by its last word: no "4" is written there
    as_name = unmentioned(["MPEG-4"], [text], NoTranslations(), 0.67, digits_as_numbers=False)
    assert as_name == ["MPEG-4"]


def test_a_claim_s_names_are_found_by_their_translation_with_a_case_ending(by_meaning):
    found = name_matches(
        "She spoke in Brussels after visiting Hungary, Armenia and Georgia in 2019.",
        VISITS,
        by_meaning,
        language="tr",
    )
    assert set(found) == {"Hungary", "Armenia", "Georgia", "2019"}  # Brüksel is spelled alike
    assert found["Hungary"] >= 0.55 and found["Armenia"] >= 0.55 > found["Georgia"]
    assert found["2019"] == float("-inf")  # a number is stated or missing, never translated


def test_a_text_s_words_come_with_their_case_endings_removed():
    runs = word_runs("Peçeneklere ve Ermenistan’a", "tr")
    assert {"Peçeneklere", "Peçenek", "Ermenistan’a", "Ermenistan", "ve Ermenistan’a"} <= set(runs)
    assert "Peçenek" not in word_runs("Peçeneklere", "en")  # stemmed as Turkish only


class _Counting:
    """The real embeddings, counting the texts it is asked to embed."""

    def __init__(self, embeddings):
        self.inner, self.model_id, self.texts = embeddings, embeddings.model_id, []

    def embed_documents(self, texts):
        self.texts += list(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_the_passages_names_are_read_from_the_index_not_embedded_on_a_question(bot):
    """After ingest the names of the chunks have their vectors in the index (computed in
    the background with the relevance vectors): matching a question's name by meaning then
    embeds only the question's name, not the 40-80 names around its best passages."""
    from rag.embeddings import VectorCache, unit_vectors
    from rag.name_vectors import NameVectors

    stored = NameVectors(bot.store, bot.embeddings).lookup(["Yoshimasa Hayashi", "Tokyo", "Zeus"])
    assert set(stored) == {"Yoshimasa Hayashi", "Tokyo"}
    fresh = unit_vectors(bot.embeddings, ["Yoshimasa Hayashi"])[0]
    assert float(stored["Yoshimasa Hayashi"] @ fresh) > 0.999
    counting = _Counting(bot.embeddings)
    by_meaning = ByMeaning(counting, VectorCache(), stored=bot.retriever.decider.names.lookup)
    best = by_meaning.best(["Japan"], ["Yoshimasa Hayashi", "Tokyo"])
    assert counting.texts == ["Japan"]
    assert best[0] == pytest.approx(
        max(float(stored[n] @ unit_vectors(bot.embeddings, ["Japan"])[0]) for n in stored), abs=1e-4
    )


def test_without_a_relevance_model_the_names_still_get_their_vectors(tmp_path):
    """The names' vectors come after ingest with or without the e5 relevance model (it is
    the name check, not the ranking, that reads them)."""
    from rag import Assistant
    from rag.name_vectors import NameVectors
    from tests.conftest import CORPUS

    bot = Assistant(home=tmp_path / "home", progress=False, relevance_model="", lexicon=False)
    assert bot.retriever.relevance is None
    bot.ingest([CORPUS], background=False)
    bot.complete_background()
    names = NameVectors(bot.store, bot.embeddings)
    assert set(names.lookup(["Yoshimasa Hayashi", "Zeus"])) == {"Yoshimasa Hayashi"}
    # a removed document's names lose their vectors; names other documents have keep theirs
    note = tmp_path / "note.txt"
    note.write_text("Zeynep Kaymak ve Yoshimasa Hayashi Tokyo'da görüştü.", encoding="utf-8")
    bot.ingest([note], background=False)
    bot.complete_background()
    assert set(names.lookup(["Zeynep Kaymak", "Yoshimasa Hayashi"])) == {
        "Zeynep Kaymak",
        "Yoshimasa Hayashi",
    }
    (doc_id,) = [d.doc_id for d in bot.documents() if d.path.endswith("note.txt")]
    assert bot.remove(doc_id)
    bot.complete_background()
    assert set(names.lookup(["Zeynep Kaymak", "Yoshimasa Hayashi"])) == {"Yoshimasa Hayashi"}
