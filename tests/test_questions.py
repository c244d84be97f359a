"""The bundled article's question sets, asked one by one: the team's set (written before any
tuning) and the blind set (written by someone who saw no code). Neither was used to fit
anything (bench/fit_decisions.py fits on XQuAD). Known misses are strict xfails, so that a
regression and an improvement both show."""

import json

import pytest

from rag.evaluate import on_target
from rag.lexicon import data_folder

from .conftest import ROOT

SETS = [ROOT / "bench" / "questions.jsonl", ROOT / "bench" / "heldout.jsonl"]
# Missed today (bench/fit_decisions.py's model; see docs/benchmarks.md): on-topic questions the
# article does not answer, and one follow-up whose rule rewrite misses.
KNOWN_MISSES = {
    "en-strategy-when": "the answering sentence ranks below a close neighbour",
    "fu-and-hayashi": "the follow-up rewrite by rule finds the wrong sentence",
    "un-germany-tr": "a country the article never names is evidence, not a veto",
    "un-biden": "a person the article never names is evidence, not a veto",
    "h-en-09": "the answering sentence ranks below a close neighbour",
    "h-fu-02": "the follow-up rewrite by rule finds the wrong sentence",
    "h-un-02": "on-topic and unanswerable",
    "h-un-03": "on-topic and unanswerable",
}
# What the Turkish-English lexicon (the `lexicon` extra, which `make test` installs) changes:
# three on-topic unanswerable questions are now refused, and one question's second answering
# sentence (the meeting's place) falls out of the quoting margin, below a Joly quote.
if data_folder() is not None:
    KNOWN_MISSES["h-en-03"] = "the place of the meeting ranks below another Joly sentence"
else:
    KNOWN_MISSES["un-cost"] = "on-topic and unanswerable: answered from a related sentence"
    KNOWN_MISSES["un-population"] = "on-topic and unanswerable: answered from a related sentence"
    KNOWN_MISSES["h-un-05"] = "on-topic and unanswerable"


def _items():
    for path in SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                marks = (
                    [pytest.mark.xfail(reason=KNOWN_MISSES[item["id"]], strict=True)]
                    if item["id"] in KNOWN_MISSES
                    else []
                )
                yield pytest.param(item, id=item["id"], marks=marks)


@pytest.mark.parametrize("item", list(_items()))
def test_question(bot, item):
    history = [tuple(turn) for turn in item.get("history", [])]
    answer = bot.ask(item["question"], history=history)
    if item.get("answerable", True):
        assert not answer.abstained, answer.text
        assert any(on_target(c.quote, item["expected"]) for c in answer.citations), answer.text
    else:
        assert answer.abstained and not answer.citations, answer.text
