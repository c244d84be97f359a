"""The `[n]` markers of an answer: read in every common form, removed, renumbered in order of
first use, and a source's own brackets kept from passing for one."""

from rag.markers import neutralise_markers, parse_markers, renumber, strip_markers
from rag.types import Passage


def _p(text: str, start: int) -> Passage:
    return Passage(
        doc_id="d", title="t", url="", path="", text=text, start=start, end=start + len(text),
        score=1.0,
    )  # fmt: skip


def test_markers_are_parsed_in_every_common_form():
    assert parse_markers("A [1]. B [2, 3]. C [4][5]. D [6; 7].") == [1, 2, 3, 4, 5, 6, 7]
    assert parse_markers("In [2023] and [a] nothing is cited [ 1 ].") == [2023]
    assert strip_markers("Joly met Hayashi [1].") == "Joly met Hayashi."
    assert strip_markers("Joly met Hayashi [1][2] , in Tokyo [3]") == "Joly met Hayashi, in Tokyo"


def test_a_quoted_source_s_own_markers_are_not_read_as_citations():
    quoted = neutralise_markers("As reported [1], the plan [2, 3] stands.")
    assert parse_markers(quoted) == []
    assert quoted == "As reported ［1］, the plan ［2, 3］ stands."


def test_kept_sentences_are_renumbered_in_order_of_first_use():
    passages = [_p("first", 0), _p("second", 10), _p("third", 20)]
    text, citations = renumber([("Joly spoke [3].", [3]), ("Both met [2][3]", [2, 3])], passages)
    assert text == "Joly spoke [1]. Both met [2][1]"
    assert [(c.n, c.quote, c.start) for c in citations] == [(1, "third", 20), (2, "second", 10)]
