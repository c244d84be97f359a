from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag.chat import standalone_question


def test_first_questions_are_left_alone():
    assert standalone_question("What did Joly say?", []) == "What did Joly say?"


def test_elliptical_follow_up_takes_the_previous_question():
    history = [("What did Joly say?", "According to the article: ...")]
    assert standalone_question("And Hayashi?", history) == "What did Hayashi say?"
    assert (
        standalone_question("What about Melanie Joly?", [("Who is Hayashi?", "...")])
        == "Who is Melanie Joly?"
    )


def test_pronouns_point_back_at_the_previous_subject():
    history = [("What did Melanie Joly say about the strategy?", "...")]
    assert (
        standalone_question("What else did she say?", history) == "What else did Melanie Joly say?"
    )
    assert (
        standalone_question("O başka ne dedi?", [("Joly ne dedi?", "...")]) == "Joly başka ne dedi?"
    )


def test_turkish_ellipsis():
    history = [("Japonya hangi ülkelerle anlaşma yaptı?", "...")]
    assert standalone_question("Peki Kanada?", history) == "Kanada hangi ülkelerle anlaşma yaptı?"


def test_self_contained_follow_ups_are_unchanged():
    history = [("What did Joly say?", "...")]
    assert standalone_question("Who is Yoshimasa Hayashi?", history) == "Who is Yoshimasa Hayashi?"


def test_a_language_model_rewrites_when_configured_and_failures_fall_back():
    history = [("What did Joly say?", "...")]
    llm = FakeListChatModel(responses=['"What did Hayashi say about the agreement?"'])
    assert (
        standalone_question("And Hayashi?", history, llm)
        == "What did Hayashi say about the agreement?"
    )

    class Broken(FakeListChatModel):
        def _call(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise ConnectionError("model server is down")

    assert (
        standalone_question("And Hayashi?", history, Broken(responses=["x"]))
        == "What did Hayashi say?"
    )
