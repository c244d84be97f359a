"""Text, Markdown and HTML files that are not UTF-8: decoded by charset-normalizer (with a rule
for short Turkish texts), the encoding recorded in the report; binary files still refused."""

from __future__ import annotations

import pytest

from rag import LoadError
from rag.config import Settings
from rag.loaders import load

SETTINGS = Settings()

TURKISH = [
    "Dışişleri Bakanı Joly, Tokyo'da Japon mevkidaşı Hayashi ile görüştü.",
    "Öğrenciler şu an sınıfta.",
    "İstanbul'da şiddetli yağış bekleniyor; okullar öğleden sonra kapanacak.",
    "Kanada ve Japonya, askeri istihbarat paylaşımı için görüşmelere başladı. Bakan Joly, iki "
    "ülkenin güvenlik işbirliğini güçlendirmeyi amaçladığını söyledi.",
]


@pytest.mark.parametrize("codec", ["cp1254", "iso-8859-9"])
@pytest.mark.parametrize("text", TURKISH)
def test_turkish_text_in_a_legacy_codepage_reads_as_turkish(tmp_path, codec, text):
    path = tmp_path / "haber.txt"
    path.write_bytes(text.encode(codec))
    doc = load(str(path), SETTINGS)
    assert doc.text == text  # ğ, ş, ı, İ, not cp1250's ğ -> đ or ş -> ţ
    assert doc.encoding in {"cp1254", "iso8859_9"}


def test_markdown_in_windows_1254(tmp_path):
    path = tmp_path / "notlar.md"
    path.write_bytes(
        "# Toplantı\n\nŞirket yöneticisi Ayşe Işık, bütçeyi onayladı.".encode("cp1254")
    )
    doc = load(str(path), SETTINGS)
    assert "Ayşe Işık" in doc.text and doc.encoding == "cp1254"


@pytest.mark.parametrize(
    ("codec", "declaration"),
    [
        ("cp1254", '<meta charset="windows-1254">'),
        ("iso-8859-9", '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-9">'),
        ("cp1254", ""),  # no declaration: detected
    ],
)
def test_html_with_and_without_a_declared_charset(tmp_path, codec, declaration):
    body = "".join(f"<p>{sentence}</p>" for sentence in TURKISH * 2)  # an article, not a stub
    page = f"<html><head>{declaration}<title>Haber</title></head><body>{body}</body></html>"
    path = tmp_path / "haber.html"
    path.write_bytes(page.encode(codec))
    doc = load(str(path), SETTINGS)
    assert "Dışişleri Bakanı" in doc.text and "Öğrenciler şu an sınıfta." in doc.text
    assert doc.encoding.replace("-", "").replace("_", "") in {"cp1254", "iso88599"}


def test_utf8_files_say_so(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("Çok güzel bir gün.", encoding="utf-8")
    assert load(str(path), SETTINGS).encoding == "utf-8"


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        bytes(range(1, 256)) * 8,  # no NUL byte, but no text in any encoding either
    ],
)
def test_binary_files_are_still_refused(tmp_path, content):
    path = tmp_path / "photo.txt"
    path.write_bytes(content)
    with pytest.raises(LoadError, match="binary"):
        load(str(path), SETTINGS)


def test_a_windows_1254_file_is_ingested_and_answered_from(fresh, tmp_path):
    path = tmp_path / "kutuphane.txt"
    path.write_bytes(
        "Belediye meclis üyesi Ingrid Thorsen, Vardø'daki yeni kütüphaneyi pazartesi günü "
        "açtı. Kütüphanede iki bin kitap ve bir çocuk okuma salonu bulunuyor.".encode("cp1254")
    )
    report = fresh.ingest([path])
    assert report.added == [str(path.resolve())]
    assert report.encodings == {str(path.resolve()): "cp1254"}
    assert "as cp1254 (not UTF-8)" in report.summary()
    answer = fresh.ask("Yeni kütüphaneyi kim açtı?")
    assert not answer.abstained
    assert "Thorsen" in answer.citations[0].quote and "kütüphaneyi" in answer.citations[0].quote
