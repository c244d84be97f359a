"""ui/glosses.py and its use in ui/render.py: the reading help for a Turkish quote shown to an
English reader (highlighted matches, dictionary glosses), without a browser. A small
hand-made lexicon stands in for KeNet here; tests/test_ui.py uses the real one."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from rag.lexicon import Lexicon
from rag.types import Answer, Citation
from ui.glosses import Aid, Glosses
from ui.render import CONTEXT_CHARS, render_sources, render_turn

LEXICON = Lexicon(
    to_turkish={"intelligence": ("istihbarat",), "minister": ("bakan",), "share": ("paylas",)},
    to_english={
        "istihbarat": ("intelligence", "news", "tidings", "word"),
        "bakan": ("minister",),
        "kan": ("blood",),
        "paylas": ("share",),
        "ve": ("steering",),  # a function word: never glossed
        "degil": ("no",),  # a function word a reader needs: glossed
        "kent": ("city",),  # what kendi (own, a function word) would be misread as
    },
    irregular={},
    names={"tr": frozenset(), "en": frozenset()},
    turkish_words={
        "istihbarat": "istihbarat",
        "bakan": "bakan",
        "kan": "kan",
        "paylas": "paylaş",
        "ve": "ve",
        "degil": "değil",
        "kent": "kent",
    },
)
QUOTE = "Bakan Joly, “İstihbarat paylaşımı ve Tokyo’da işbirliği” dedi."
QUESTION = "What did Joly say about intelligence?"


def _answer(quote: str = QUOTE, question: str = QUESTION, language: str = "en") -> Answer:
    citation = Citation(
        n=1, doc_id="d1", title="Haber", url="", path="", start=0, end=len(quote), quote=quote
    )
    text = f"According to the article “Haber”:\n- “{quote}” [1]"
    return Answer(question=question, text=text, citations=[citation], language=language)


def _aid(lexicon: Lexicon | None = LEXICON, language: str = "tr") -> Aid:
    return Aid(Glosses(lexicon), lambda c: language)


class Tags(HTMLParser):
    """The start tags of a piece of HTML, and whether every one of them was closed."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in {"br", "hr", "img"}:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (tag, self.open)
        self.open.pop()


def _chat(answer: Answer, aid: Aid | None) -> str:
    return render_turn(answer, aid=aid)[1]["content"]


def test_matched_words_are_marked_and_turkish_words_glossed_in_the_answer_and_its_card():
    answer = _answer()
    chat, card = _chat(answer, _aid()), render_sources(answer, None, _aid())
    for html in (chat, card):
        # by translation (intelligence / İstihbarat, matched folded) and by spelling (Joly)
        assert (
            '<mark class="hit"><span class="gloss" tabindex="-1" '
            'title="istihbarat: intelligence, news, tidings">İstihbarat</span></mark>'
        ) in html
        assert '<mark class="hit">Joly</mark>' in html
        # a word the question does not ask about: glossed, not marked
        assert '<span class="gloss" tabindex="-1" title="bakan: minister">Bakan</span>' in html
        assert '<mark class="hit"><span class="gloss" tabindex="-1" title="bakan' not in html
        assert 'title="ve: ' not in html  # function words carry no gloss
        assert "Tokyo’da" in html  # no gloss for a suffix, nor for a name the lexicon lacks
        assert "Highlighted: words that match your question." in html
        assert "not a translation" in html
        tags = Tags(html)
        assert tags.open == []
        assert {t for t, _ in tags.tags} <= {"mark", "span", "a", "div", "h4", "p"}
    assert card.count('class="card"') == 1
    assert '<a class="cite" href="#src-1">[1]</a>' in chat


def test_source_text_and_lexicon_text_cannot_become_markup():
    hostile = Lexicon(
        to_turkish={"intelligence": ("istihbarat",)},
        to_english={"istihbarat": ('x" onmouseover="alert(1)',)},
        irregular={},
        names={"tr": frozenset(), "en": frozenset()},
        turkish_words={"istihbarat": "<script>alert(2)</script>"},
    )
    quote = "<script>alert(3)</script> İstihbarat <b>paylaşımı</b> [2](javascript:x) *Joly*"
    answer = _answer(quote)
    for html in (_chat(answer, _aid(hostile)), render_sources(answer, None, _aid(hostile))):
        assert "<script" not in html and "<b>" not in html and 'onmouseover="' not in html
        assert "&lt;script&gt;alert" in html and "&lt;/script&gt; <mark" in html  # as text
        tags = Tags(html)
        assert tags.open == []
        spans = [a for t, a in tags.tags if t == "span" and a.get("class") == "gloss"]
        # the lexicon's own text is the title's value, whole, and nothing more
        assert spans == [
            {
                "class": "gloss",
                "tabindex": "-1",
                "title": '<script>alert(2)</script>: x" onmouseover="alert(1)',
            }
        ]
        assert all(set(a) <= {"class", "tabindex", "title", "href", "id"} for _, a in tags.tags)
    chat = _chat(answer, _aid(hostile))
    assert (
        '\\*<mark class="hit">Joly</mark>\\*' in chat and "\\(javascript:x\\)" in chat
    )  # no markdown from sources
    assert "](javascript" not in chat


def test_without_the_lexicon_matches_by_spelling_are_still_marked_and_nothing_is_glossed():
    answer = _answer()
    for html in (_chat(answer, _aid(None)), render_sources(answer, None, _aid(None))):
        assert '<mark class="hit">Joly</mark>' in html
        assert "İstihbarat" in html and '<mark class="hit">İstihbarat' not in html
        assert 'class="gloss"' not in html and "title=" not in html
        assert "Highlighted: words that match your question." in html
        assert "Hover" not in html and "not a translation" not in html  # says only what is there
        assert Tags(html).open == []


def test_turkish_readers_and_other_languages_get_the_page_as_before():
    for answer, aid in [
        (_answer(question="Joly istihbarat hakkında ne dedi?", language="tr"), _aid()),
        (_answer(), _aid(language="en")),  # an English source for an English question
    ]:
        assert render_turn(answer, aid=aid) == render_turn(answer)
        assert render_sources(answer, None, aid) == render_sources(answer)


def test_an_answer_that_does_not_hold_its_quote_gets_help_in_the_card_only():
    answer = _answer()
    told = Answer(
        question=QUESTION, text="Joly said intelligence will be shared [1].",
        citations=answer.citations, language="en",
    )  # fmt: skip
    assert render_turn(told, aid=_aid()) == render_turn(told)
    assert '<mark class="hit">Joly</mark>' in render_sources(told, None, _aid())


@pytest.mark.parametrize("cut", [True, False])
def test_a_word_cut_off_at_an_excerpt_end_has_no_gloss(cut: bool) -> None:
    """A card shows CONTEXT_CHARS of its source on each side of the quote. Cut there,
    "bakanlar" (ministers) would show as "kanlar" (bloods) and "bakanlık" as "bakan"."""
    quote = "İstihbarat paylaşımı başladı."
    first, last = ("kanlar", "bakan") if cut else ("bakanlar", "bakanlık")
    n = CONTEXT_CHARS
    shown_before = first + " " + "y" * (n - len(first) - 2) + " "  # n characters
    shown_after = " " + "y" * (n - len(last) - 2) + " " + last  # n characters
    before = ("zzba" if cut else "zz ") + shown_before
    text = before + quote + shown_after + ("lık ve" if cut else " ve")
    start = len(before)
    answer = Answer(
        question=QUESTION,
        text="x [1]",
        citations=[
            Citation(n=1, doc_id="d1", title="Haber", url="", path="", start=start,
                     end=start + len(quote), quote=quote)
        ],
        language="en",
    )  # fmt: skip
    html = render_sources(answer, {"d1": text}.__getitem__, _aid())
    assert html.count("…") == 2  # an excerpt on both sides
    if cut:
        assert "…kanlar y" in html and " bakan…" in html
        assert 'title="kan: ' not in html and 'title="bakan: ' not in html
    else:
        assert '…<span class="gloss" tabindex="-1" title="bakan: minister">bakanlar</span>' in html
        assert 'title="bakan: minister">bakanlık</span>…' in html


def test_a_negation_is_glossed_and_other_function_words_are_not():
    """ "değil" (not) changes what a quote says: a reader needs its gloss. "kendi" (own) would
    be glossed as kent (city), a word it only begins like."""
    html = _chat(_answer("Bakan kendi planı değil, Joly’nin planı dedi."), _aid())
    assert '<span class="gloss" tabindex="-1" title="değil: no">değil</span>' in html
    assert 'title="kent: ' not in html
