from rag.evaluate import evaluate, format_report


def test_evaluation_scores_retrieval_answers_and_abstention(bot):
    items = [
        {"id": "a", "question": "Who did Joly meet in Tokyo?", "expected": ["Yoshimasa Hayashi"]},
        {
            "id": "b",
            "question": "What energy supply does Japan want to secure from Canada?",
            "expected": ["doğal gaz"],
        },
        {"id": "c", "question": "Who won the 2022 FIFA World Cup?", "answerable": False},
    ]
    result = evaluate(bot, items)
    s = result["summary"]
    assert s["questions"] == 3 and s["recall@1"] == 1.0 and s["mrr"] == 1.0
    assert s["answered_correctly"] == 1.0 and s["abstained_when_unanswerable"] == 1.0
    assert s["citation_validity"] == 1.0 and s["false_abstentions"] == 0.0
    assert "recall@1" in format_report(result)


def test_wrong_expectations_score_zero(bot):
    s = evaluate(
        bot, [{"question": "Who did Joly meet in Tokyo?", "expected": ["not in the article"]}]
    )["summary"]
    assert s["mrr"] == 0.0 and s["answered_correctly"] == 0.0


def test_rag_evaluate_is_the_evaluation_module_however_it_is_imported():
    import rag
    import rag.evaluate

    assert rag.evaluate.format_report is format_report and rag.evaluate.evaluate is evaluate
    from rag import evaluate as module

    assert module is rag.evaluate and "evaluate" in rag.__all__
