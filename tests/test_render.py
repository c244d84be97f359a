"""ui/render.py: the HTML of answers, source cards and the documents table, without a browser."""

from __future__ import annotations

from rag.types import Answer, Citation
from ui.render import render_answer, render_conversation, render_documents, render_sources


def _citation(n: int = 1, **changes: object) -> Citation:
    fields: dict = dict(
        n=n, doc_id="d1", title="Harbour <news>", url="https://example.org/a?x=1&y=2",
        path="/data/harbour.txt", start=20, end=47, quote="The pier opens in June [2].",
        publisher="Gazette", published="2024-05-01",
    )  # fmt: skip
    fields.update(changes)
    return Citation(**fields)


SOURCE = "Harbour news today. The pier opens in June [2]. The ferry runs at noon <b>daily</b>."


def test_answer_markers_link_to_their_cards_and_nothing_else_becomes_markup():
    html = render_answer(
        "Joly said *this* <script>x()</script> [1] and [12], see [a](http://e.vil)."
    )
    assert '<a class="cite" href="#src-1">[1]</a>' in html
    assert '<a class="cite" href="#src-12">[12]</a>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\\*this\\*" in html  # markdown emphasis is escaped, shown as typed
    assert "](http" not in html  # a source cannot smuggle in a link


def test_cards_mark_the_cited_span_inside_its_escaped_context():
    answer = Answer(question="q", text="It opens in June [1].", citations=[_citation()])
    html = render_sources(answer, {"d1": SOURCE}.__getitem__)
    assert html.count('class="card"') == 1 and 'id="src-1"' in html
    assert "<mark>The pier opens in June [2].</mark>" in html
    assert "Harbour news today. <mark>" in html  # text before the span, from the source
    assert "&lt;b&gt;daily&lt;/b&gt;" in html and "<b>" not in html
    assert "[1] Harbour &lt;news&gt;" in html and "Gazette · 2024-05-01" in html
    assert (
        'href="https://example.org/a?x=1&amp;y=2"' in html and 'rel="noopener noreferrer"' in html
    )


def test_a_card_without_a_web_address_names_its_file_and_survives_a_missing_source():
    answer = Answer(question="q", text="x [1]", citations=[_citation(url="javascript:alert(1)")])
    html = render_sources(answer, {}.__getitem__)  # the document was removed meanwhile
    assert "javascript:" not in html and " · harbour.txt" in html
    assert "<mark>The pier opens in June [2].</mark></div>" in html


def test_the_sources_panel_before_a_question_and_after_an_abstention():
    assert "Ask a question" in render_sources(None)
    abstained = Answer(question="q", text="None of the sources mentions <Trudeau>.", abstained=True)
    html = render_sources(abstained)
    assert "No sources cited." in html and "&lt;Trudeau&gt;" in html and 'class="card"' not in html


def test_the_documents_table_lists_what_is_stored(bot):
    ((title, chunks, where, doc_id),) = render_documents(bot)
    assert title == bot.documents()[0].title and chunks == bot.store.count()
    assert where.startswith("https://globalnews.ca/") and bot.source_text(doc_id)


def test_a_card_shows_no_context_from_a_source_that_changed_since_the_answer():
    answer = Answer(question="q", text="It opens in June [1].", citations=[_citation()])
    changed = "Harbour news, updated. The pier opens in July. The ferry runs at noon."
    html = render_sources(answer, {"d1": changed}.__getitem__)
    # the stored quote is shown as it was; text around stale offsets would mislead
    assert "<mark>The pier opens in June [2].</mark></div>" in html
    assert "updated" not in html and "July" not in html


def test_only_the_latest_answer_links_its_markers_to_the_panel():
    first = Answer(question="What opens?", text="The pier [1].", citations=[_citation()])
    second = Answer(question="When?", text="In June [1] [2].", citations=[_citation()])
    messages = render_conversation([first, second])
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "What opens?"
    assert 'class="cite"' not in messages[1]["content"] and "\\[1\\]" in messages[1]["content"]
    assert messages[3]["content"].count('class="cite"') == 2
