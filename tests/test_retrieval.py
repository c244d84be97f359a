import pytest

from rag import QuestionError
from rag.evaluate import on_target

# (question, a fragment of the sentence that answers it); English questions against the
# Turkish article, then Turkish ones.
CROSS_LINGUAL = [
    ("Who did Joly meet in Tokyo?", "Yoshimasa Hayashi ile Tokyo’da"),
    ("What is the name of the intelligence-sharing agreement?", "Genel Bilgi Güvenliği Anlaşması"),
    ("How many countries does Japan already share intelligence with?", "sekiz ayrı ülke"),
    ("Which alliance is Canada part of?", "Five Eyes"),
    ("What energy does Japan want to secure from Canada?", "sıvılaştırılmış doğal gaz"),
    ("What did Joly say on Twitter?", "İstihbarat alışverişi yoluyla"),
    ("Which disaster closed many Japanese nuclear plants?", "Fukushima"),
    ("What kind of reactors are mentioned?", "küçük modüler reaktörlerle"),
    ("Joly Tokyo'da kiminle görüştü?", "Yoshimasa Hayashi ile Tokyo’da"),
    ("Japonya hangi enerji kaynağını istiyor?", "sıvılaştırılmış doğal gaz"),
]


@pytest.mark.parametrize(("question", "fragment"), CROSS_LINGUAL)
def test_questions_find_the_sentence_that_answers_them(bot, question, fragment):
    passages = bot.retrieve(question, k=3)
    assert any(on_target(p.text, [fragment]) for p in passages), [p.text[:60] for p in passages]


def test_passages_are_ranked_and_point_into_the_source(bot):
    passages = bot.retrieve("What did Joly say?", k=5)
    assert len(passages) == 5
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert bot.source_text(p.doc_id)[p.start : p.end] == p.text
        assert p.url.startswith("https://globalnews.ca/")
    assert len({p.text for p in passages}) == 5


def test_names_the_sources_never_mention_are_found(bot):
    r = bot.retriever
    assert r.missing_names("What did Justin Trudeau say?") == ["Justin Trudeau"]
    assert r.missing_names("What did Canada and Russia agree?") == []  # Kanada, Rusya
    assert r.missing_names("What did Prime Minister Kishida order?") == []
    assert r.missing_names("What happened in 1999?") == ["1999"]


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n\t ", "empty"), ("?!...", "no words"), ("x" * 5000, "characters long")],
)
def test_bad_questions_say_what_to_change(bot, question, message):
    with pytest.raises(QuestionError, match=message):
        bot.retrieve(question)


def test_control_characters_are_removed_not_fatal(bot):
    passages = bot.retrieve("Who did Joly\x00 meet in\x07 Tokyo?", k=1)
    assert "Hayashi" in passages[0].text


def test_langchain_retriever_interface(bot):
    docs = bot.as_retriever(k=2).invoke("Who did Joly meet in Tokyo?")
    assert len(docs) == 2 and "Hayashi" in docs[0].page_content
    assert docs[0].metadata["doc_id"] and docs[0].metadata["end"] > docs[0].metadata["start"]
