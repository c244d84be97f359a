"""Path or URL -> cleaned SourceDocument. Bad sources raise LoadError with the reason."""

from __future__ import annotations

import io
import ipaddress
import re
import socket
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

from rag.config import Settings
from rag.text import TURKISH_LETTERS, detect_language, language_code, normalize, short_hash
from rag.types import SourceDocument

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
META_SUFFIX = ".meta.toml"

# Page furniture: "read more" markers, whose next line is another article's headline.
_READ_MORE_RE = re.compile(
    r"^\s*(devamını oku|devamı için tıklayın|ilgili haber(ler)?|read more|related( stories)?"
    r"|more on this|also read|see also)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_COPYRIGHT_RE = re.compile(r"^\s*(©|\(c\)\s|copyright\b|telif hakk)", re.IGNORECASE)
_LONE_PUNCT_RE = re.compile(r"^\s*[\W_]{1,3}\s*$")
_SOURCE_URL_RE = re.compile(
    r"^\s*(kaynak|source|original|orijinal haber)\s*:\s*(https?://\S+)\s*$", re.IGNORECASE
)


class LoadError(Exception):
    """A source that cannot be loaded; str(error) tells the user what is wrong and what to do."""


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


def iter_sources(inputs: Iterable[str | Path], settings: Settings) -> Iterator[str | Skipped]:
    """Expand folders (recursively, following no symlink loop) into files Kaynak can load."""
    # Kaynak's own index is never a source, even inside a folder being ingested.
    seen: set[Path] = {settings.home.resolve()}
    for item in inputs:
        raw = str(item)
        if raw.startswith(("http://", "https://")):
            yield raw
            continue
        if "://" in raw:
            yield Skipped(raw, "only http:// and https:// URLs can be fetched")
            continue
        path = Path(raw).expanduser()
        if not path.exists():
            yield Skipped(raw, "no such file or folder")
            continue
        if path.is_dir():
            yield from _walk(path, seen)
        else:
            yield from _one_file(path, seen)


def _walk(folder: Path, seen: set[Path]) -> Iterator[str | Skipped]:
    try:
        real = folder.resolve()
    except (OSError, RuntimeError):
        yield Skipped(str(folder), "cannot resolve this folder (a symlink loop?)")
        return
    if real in seen:
        return  # a symlink back into a folder already walked
    seen.add(real)
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        yield Skipped(str(folder), f"cannot read this folder: {exc.strerror}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, seen)
        elif entry.is_file():
            yield from _one_file(entry, seen)


def _one_file(path: Path, seen: set[Path]) -> Iterator[str | Skipped]:
    if path.name.endswith(META_SUFFIX):
        return
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        yield Skipped(str(path), _unsupported(path))
        return
    real = path.resolve()
    if real in seen:
        return
    seen.add(real)
    yield str(real)


def _unsupported(path: Path) -> str:
    kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return f"unsupported file type {path.suffix or '(none)'!r}; Kaynak reads {kinds}"


def doc_id_for(source: str) -> str:
    return short_hash(source)


def load(source: str, settings: Settings) -> SourceDocument:
    """Load one file path (resolved) or http(s) URL."""
    if source.startswith(("http://", "https://")):
        return load_url(source, settings)
    return load_file(Path(source), settings)


def load_file(path: Path, settings: Settings) -> SourceDocument:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(f"cannot read the file: {exc.strerror}") from None
    if size == 0:
        raise LoadError("the file is empty")
    if size > settings.max_file_bytes:
        raise LoadError(
            f"the file is {size / 1e6:.1f} MB, over the {settings.max_file_bytes / 1e6:.0f} MB "
            "limit; split it, or raise KAYNAK_MAX_FILE_BYTES"
        )
    data = path.read_bytes()
    suffix = path.suffix.lower()
    meta = _sidecar_metadata(path)
    title = ""
    encoding = ""
    if suffix in {".txt", ".md", ".markdown"}:
        text, encoding = _decode_text(data)
    elif suffix in {".html", ".htm"}:
        html, encoding = _decode_text(data)
        text, title = _html_to_text(html)
    elif suffix == ".pdf":
        text, title = _pdf_to_text(data)
    elif suffix == ".docx":
        text, title = _docx_to_text(data)
    else:
        raise LoadError(_unsupported(path))
    source = str(path)
    return _make_document(
        text,
        source=source,
        path=source,
        default_title=title or _title_from_name(path),
        meta=meta,
        encoding=encoding,
    )


def _make_document(
    raw_text: str,
    source: str,
    path: str,
    default_title: str,
    meta: dict[str, str],
    encoding: str = "",
) -> SourceDocument:
    text, found_url = clean_text(raw_text)
    if len(text.strip()) < 2 or not re.search(r"\w", text):
        raise LoadError("no readable text was found in it")
    language = language_code(meta.get("language")) or detect_language(text)
    return SourceDocument(
        doc_id=doc_id_for(source),
        text=text,
        title=meta.get("title") or default_title,
        source=source,
        url=meta.get("url") or found_url or (source if source.startswith("http") else ""),
        path=path,
        publisher=meta.get("publisher", ""),
        published=str(meta.get("published", "")),
        language=language,
        encoding=encoding,
    )


def clean_text(raw: str) -> tuple[str, str]:
    """Remove page furniture; return the cleaned text and a source URL found in it."""
    lines = normalize(raw).split("\n")
    kept: list[str] = []
    url = ""
    skip_headline = False
    seen_short: set[str] = set()
    for line in lines:
        stripped = line.strip()
        if _READ_MORE_RE.match(stripped):
            skip_headline = True  # the next non-empty line is a link to another article
            continue
        if not stripped:
            kept.append("")
            continue
        if skip_headline:
            skip_headline = False
            if not _ends_like_sentence(stripped) or len(stripped) < 160:
                seen_short.add(stripped)
                continue
        if _LONE_PUNCT_RE.match(stripped) or _COPYRIGHT_RE.match(stripped):
            continue
        match = _SOURCE_URL_RE.match(stripped)
        if match:
            url = match.group(2)
            continue
        if stripped in seen_short:
            continue  # a repeated headline or label
        if len(stripped) < 160 and not _ends_like_sentence(stripped):
            seen_short.add(stripped)
        kept.append(re.sub(r"[ \t]+", " ", stripped))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return text, url


def _ends_like_sentence(line: str) -> bool:
    return line.rstrip("”\"’')»").endswith((".", "!", "?", "…"))


def _decode_text(data: bytes) -> tuple[str, str]:
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
        if turkish and _looks_turkish(turkish):
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


def _looks_turkish(text: str) -> bool:
    letters = {ch for ch in text if ch.isalpha() and not ch.isascii()}
    return bool(letters & _ONLY_TURKISH) and letters <= _TURKISH_TEXT_LETTERS


def _html_to_text(html: str) -> tuple[str, str]:
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


def _pdf_to_text(data: bytes) -> tuple[str, str]:
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


def _docx_to_text(data: bytes) -> tuple[str, str]:
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


def _title_from_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or path.name


def _sidecar_metadata(path: Path) -> dict[str, str]:
    """Metadata kept beside a file as NAME.meta.toml (NAME without its last suffixes)."""
    candidates = [path.with_name(path.name[: -len(path.suffix)] + META_SUFFIX)]
    stem = path.name.split(".")[0]
    candidates.append(path.with_name(stem + META_SUFFIX))
    for candidate in candidates:
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise LoadError(
                    f"its metadata file {candidate.name} is not valid TOML: {exc}"
                ) from None
            return {k: str(v) for k, v in data.items()}
    return {}


# --- URLs -----------------------------------------------------------------------------------

_MAX_URL_BYTES = 10_000_000
_MAX_REDIRECTS = 5


def load_url(url: str, settings: Settings) -> SourceDocument:
    import httpx

    current = url
    with httpx.Client(timeout=settings.url_timeout, follow_redirects=False) as client:
        for _ in range(_MAX_REDIRECTS + 1):
            check_url_allowed(current, settings)
            try:
                with client.stream(
                    "GET", current, headers={"User-Agent": "kaynak/0.1 (+offline news QA)"}
                ) as response:
                    if response.is_redirect:
                        current = urljoin(current, response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise LoadError(f"the server answered HTTP {response.status_code}")
                    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    body = _read_capped(response)
                    break
            except httpx.TimeoutException:
                raise LoadError(
                    f"no answer within {settings.url_timeout:.0f} s; try again later or raise "
                    "KAYNAK_URL_TIMEOUT"
                ) from None
            except httpx.HTTPError as exc:
                raise LoadError(f"cannot fetch it: {exc}") from None
        else:
            raise LoadError(f"more than {_MAX_REDIRECTS} redirects")
    title = ""
    encoding = ""
    if kind in {"text/html", "application/xhtml+xml"}:
        html, encoding = _decode_text(body)
        text, title = _html_to_text(html)
    elif kind == "application/pdf":
        text, title = _pdf_to_text(body)
    elif kind in {"text/plain", "text/markdown"}:
        text, encoding = _decode_text(body)
    else:
        raise LoadError(
            f"unsupported content type {kind or '(none)'!r}; Kaynak reads HTML, PDF and text"
        )
    return _make_document(
        text, source=url, path="", default_title=title or url, meta={}, encoding=encoding
    )


def _read_capped(response) -> bytes:  # type: ignore[no-untyped-def]
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > _MAX_URL_BYTES:
            raise LoadError(f"the page is larger than {_MAX_URL_BYTES // 1_000_000} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def check_url_allowed(url: str, settings: Settings) -> None:
    """Refuse URLs that resolve to this machine or a private network, unless allowed."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise LoadError("only http:// and https:// URLs with a host name can be fetched")
    if settings.allow_private_urls:
        return
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise LoadError(f"the host {parsed.hostname!r} cannot be resolved") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise LoadError(
                f"{parsed.hostname} resolves to a private or local address ({address}); set "
                "KAYNAK_ALLOW_PRIVATE_URLS=1 to allow it"
            )
