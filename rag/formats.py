"""A file's bytes -> plain text: text in whatever encoding it was saved in, HTML (the article,
not the page around it), PDF and DOCX. What cannot be read raises LoadError with the reason."""

from __future__ import annotations

import io

from rag.text import TURKISH_LETTERS


class LoadError(Exception):
    """A source that cannot be loaded; str(error) tells the user what is wrong and what to do."""


def decode_text(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in: UTF-8 (or a byte-order mark's), else what
    charset-normalizer detects (an HTML page's declared charset first)."""
    if b"\x00" in data[:8192]:
        raise LoadError("this looks like a binary file, not text; convert it to .txt or .pdf")
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec, errors="strict"), codec
            except UnicodeDecodeError:
                raise LoadError(f"the file starts like {codec} but is not valid {codec}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    # A short Turkish text has too few letters for a detector to tell Windows-1254 from
    # cp1250 or hp_roman8 ("Dışişleri" comes out "Dýţiţleri"). When the bytes decode cleanly
    # as Windows-1254 (a superset of ISO-8859-9's letters) into text whose every non-ASCII
    # letter is Turkish, one of them only Turkish (ğ ş ı İ), that reading is the likely one.
    if best is None or best.encoding not in _TURKISH_CODECS:
        try:
            turkish = data.decode("cp1254")
        except UnicodeDecodeError:
            turkish = ""
        if turkish and looks_turkish(turkish):
            return turkish, "cp1254"
    if best is None:
        raise LoadError(
            "the file is neither UTF-8 nor text in an encoding Kaynak can recognise (a binary "
            "file?); save it as UTF-8 and ingest it again"
        )
    return str(best), best.encoding


_TURKISH_CODECS = {"cp1254", "iso8859_9", "cp857"}
# Every letter outside ASCII that Turkish text holds: its own, and the circumflex vowels of
# loanwords (kâr, hâlâ).
_TURKISH_TEXT_LETTERS = TURKISH_LETTERS | set("âÂîÎûÛ")
_ONLY_TURKISH = set("ğĞşŞıİ")


def looks_turkish(text: str) -> bool:
    letters = {ch for ch in text if ch.isalpha() and not ch.isascii()}
    return bool(letters & _ONLY_TURKISH) and letters <= _TURKISH_TEXT_LETTERS


def html_to_text(html: str) -> tuple[str, str]:
    # trafilatura finds the article's main text and drops navigation, ads and scripts.
    import trafilatura

    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, favor_recall=True, deduplicate=True
    )
    meta = trafilatura.extract_metadata(html)
    title = (meta.title if meta and meta.title else "") or ""
    if not text:
        raise LoadError(
            "no article text was found in this HTML page (only scripts, styles or menus)"
        )
    return text, title


def pdf_to_text(data: bytes) -> tuple[str, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("the PDF is encrypted; save an unencrypted copy and ingest that")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str(reader.metadata.get("/Title", "") or "") if reader.metadata else ""
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise LoadError(f"the PDF cannot be read ({exc}); it may be truncated or damaged") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise LoadError("the PDF has no text layer (a scan?); run OCR on it first")
    return text, title


def docx_to_text(data: bytes) -> tuple[str, str]:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(
            f"this is not a valid .docx file ({exc}); save it again from Word"
        ) from None
    text = "\n".join(p.text for p in document.paragraphs)
    return text, document.core_properties.title or ""
