from rag.chunking import sentence_spans, split_chunks
from rag.loaders import load_file
from rag.types import SourceDocument

from .conftest import CORPUS


def _doc(text: str, language: str = "tr") -> SourceDocument:
    return SourceDocument(doc_id="d", text=text, title="t", source="s", language=language)


def test_chunks_keep_exact_offsets_in_the_bundled_article():
    from rag.config import Settings

    doc = load_file(next(CORPUS.glob("*.txt")), Settings())
    chunks = split_chunks(doc)
    assert len(chunks) >= 15
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    # the Twitter quotation is one chunk, opening to closing quote
    quote = [c for c in chunks if "Twitter" in c.text]
    assert len(quote) == 1 and quote[0].text.endswith("dedi.")


def test_abbreviations_and_quotes_do_not_split_sentences():
    text = "Dr. Ahmet Yılmaz geldi. “Bu iyi. Çok iyi” dedi. Mr. Smith left at 5 p.m. yesterday."
    spans = sentence_spans(text, "tr")
    pieces = [text[s.start : s.end] for s in spans]
    assert pieces[0] == "Dr. Ahmet Yılmaz geldi."
    assert pieces[1] == "“Bu iyi. Çok iyi” dedi."


def test_paragraphs_always_end_a_chunk_and_fragments_join():
    text = "Kısa.\nBu ikinci paragrafta uzunca bir cümle var, yeterince uzun.\n\nSon paragraf burada bitiyor."
    chunks = split_chunks(_doc(text))
    assert [c.text for c in chunks][1:] == [
        "Bu ikinci paragrafta uzunca bir cümle var, yeterince uzun.",
        "Son paragraf burada bitiyor.",
    ]


def test_long_sentences_are_cut_with_exact_offsets():
    text = "Başlangıç; " + ", ".join(f"madde {i} uzun bir açıklama" for i in range(80)) + "."
    chunks = split_chunks(_doc(text), max_chars=200)
    assert len(chunks) > 5
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_chunk_ids_derive_from_content():
    a = split_chunks(_doc("Birinci cümle burada duruyor. İkinci cümle de burada duruyor."))
    b = split_chunks(_doc("Birinci cümle burada duruyor. İkinci cümle de burada duruyor."))
    c = split_chunks(_doc("Birinci cümle burada duruyor. Üçüncü cümle ise değişti, yeni."))
    assert [x.chunk_id for x in a] == [x.chunk_id for x in b]
    assert a[0].chunk_id == c[0].chunk_id and a[1].chunk_id != c[1].chunk_id
