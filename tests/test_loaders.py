import contextlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.config import Settings
from rag.formats import LoadError
from rag.loaders import Skipped, clean_text, iter_sources, load, load_file

from .conftest import CORPUS

SETTINGS = Settings()


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica, built by hand (no PDF writer needed)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_bundled_article_is_cleaned_and_keeps_its_metadata():
    doc = load_file(next(CORPUS.glob("*.txt")), SETTINGS)
    assert doc.url == "https://globalnews.ca/news/9191826/canada-japan-military-intelligence-talks/"
    assert doc.publisher == "Global News / The Canadian Press"
    assert doc.published == "2022-10-11" and doc.language == "tr"
    assert "Devamını oku" not in doc.text
    assert "©" not in doc.text and "Kaynak :" not in doc.text
    assert "ertelenen Hint-Pasifik stratejisi bu yıl" not in doc.text  # the related-link headline
    assert "\n-\n" not in doc.text
    assert doc.text.startswith("Kanada ve Japonya")


def test_clean_text_furniture_rules():
    raw = "Title line\nA sentence here.\nRead more:\nAnother story headline\n-\nMore text.\n© 2024 X\nSource: https://e.x/a"
    text, url = clean_text(raw)
    assert url == "https://e.x/a"
    assert "Another story headline" not in text and "©" not in text
    assert "A sentence here." in text and "More text." in text


def test_markdown_html_pdf_docx(tmp_path):
    (tmp_path / "a.md").write_text("# Notes\n\nThe council met on Monday.", encoding="utf-8")
    (tmp_path / "b.html").write_text(
        "<html><head><title>Page title</title><script>var x=1;</script></head><body>"
        "<nav>Home | About</nav><article><h1>Headline</h1><p>The mayor opened the new bridge "
        "over the river on Friday, after three years of construction work.</p></article></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "c.pdf").write_bytes(minimal_pdf("The minister visited Ankara in May."))
    import docx

    d = docx.Document()
    d.add_paragraph("The committee approved the budget on Tuesday.")
    d.save(tmp_path / "d.docx")
    texts = {p.suffix: load(str(p), SETTINGS) for p in sorted(tmp_path.iterdir())}
    assert "council met" in texts[".md"].text
    assert "mayor opened the new bridge" in texts[".html"].text
    assert "var x" not in texts[".html"].text and texts[".html"].title in {"Headline", "Page title"}
    assert "minister visited Ankara" in texts[".pdf"].text
    assert "approved the budget" in texts[".docx"].text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        # (legacy encodings are decoded now: tests/test_loaders_encodings.py)
        ("noise.txt", bytes(range(1, 256)) * 8, "neither UTF-8 nor text"),
        ("broken.pdf", minimal_pdf("Hello there")[:60], "PDF"),
        ("notzip.docx", b"this is not a zip file", "not a valid .docx"),
        ("scripts.html", b"<html><script>a=1</script><style>p{}</style></html>", "no article text"),
    ],
)
def test_bad_files_raise_a_clear_reason(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=message):
        load(str(path), SETTINGS)


def test_size_limit_is_configurable(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("Bir cümle daha. " * 2000, encoding="utf-8")
    with pytest.raises(LoadError, match="KAYNAK_MAX_FILE_BYTES"):
        load(str(path), Settings(max_file_bytes=1000))


def test_folders_recurse_skip_unsupported_and_survive_symlink_loops(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.txt").write_text("One sentence here.", encoding="utf-8")
    (tmp_path / "sub" / "deeper" / "b.md").write_text("Another sentence.", encoding="utf-8")
    (tmp_path / "sub" / "photo.jpg").write_bytes(b"\xff\xd8")
    os.symlink(tmp_path, tmp_path / "sub" / "loop")
    items = list(iter_sources([tmp_path, tmp_path / "missing.txt", "ftp://x/y"], SETTINGS))
    files = sorted(i for i in items if isinstance(i, str))
    skipped = {i.source.rsplit("/", 1)[-1]: i.reason for i in items if isinstance(i, Skipped)}
    assert [f.rsplit("/", 1)[-1] for f in files] == ["a.txt", "b.md"]
    assert "unsupported file type '.jpg'" in skipped["photo.jpg"]
    assert skipped["missing.txt"] == "no such file or folder"
    assert "http" in skipped["y"]


def test_private_addresses_are_refused_unless_allowed():
    with pytest.raises(LoadError, match="KAYNAK_ALLOW_PRIVATE_URLS"):
        load("http://127.0.0.1:9/page.html", SETTINGS)


def test_a_60_mb_text_file_is_skipped_and_the_rest_goes_in(tmp_path, fresh):
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(60 * 1024 * 1024)  # sparse: 60 MB on paper, nothing on disk
    (tmp_path / "good.txt").write_text("The ferry to the island leaves at noon.", encoding="utf-8")
    report = fresh.ingest([tmp_path])
    assert [s.rsplit("/", 1)[-1] for s in report.added] == ["good.txt"]
    ((source, reason),) = report.skipped
    assert source.endswith("big.txt") and "over the 20 MB limit" in reason


# --- URLs, served by a real HTTP server on loopback ----------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/article":
            body = (
                b"<html><head><title>Harbour news</title></head><body><article><p>The harbour "
                b"master said the new pier will open in June after two years of work.</p>"
                b"</article></body></html>"
            )
            self._send(200, "text/html; charset=utf-8", body)
        elif self.path == "/slow":
            # A server that does not answer while the test runs: the client must give up on
            # its own (had it not, "late" would arrive after a minute and fail the test).
            self.server.done.wait(60)  # type: ignore[attr-defined]
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(200, "text/plain", b"late")  # the client gave up, as it should
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            chunk = b"word " * 20_000
            try:
                for _ in range(200):  # 20 MB, over the 10 MB cap
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/image":
            self._send(200, "image/png", b"\x89PNG....")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/article")
            self.end_headers()
        else:
            self._send(404, "text/plain", b"nope")

    def _send(self, code, kind, body):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def web():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.done = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.done.set()  # type: ignore[attr-defined]
    server.shutdown()


def test_urls_are_fetched_and_bad_ones_explained(web):
    allow = Settings(allow_private_urls=True, url_timeout=1.0)
    doc = load(f"{web}/redirect", allow)
    assert "new pier will open in June" in doc.text and doc.url == f"{web}/redirect"
    cases = {
        "/slow": "no answer within 1 s",
        "/huge": "larger than 10 MB",
        "/image": "unsupported content type 'image/png'",
        "/missing": "HTTP 404",
    }
    for path, message in cases.items():
        with pytest.raises(LoadError, match=message):
            load(f"{web}{path}", allow)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/x",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://172.16.0.1/",
    ],
)
def test_local_private_and_metadata_addresses_are_refused(url):
    with pytest.raises(LoadError, match="KAYNAK_ALLOW_PRIVATE_URLS"):
        load(url, Settings())


def test_unreachable_and_malformed_urls(fresh):
    report = fresh.ingest(["http://no-such-host.invalid/a", "file:///etc/passwd", "https://"])
    reasons = dict(report.skipped)
    assert "cannot be resolved" in reasons["http://no-such-host.invalid/a"]
    assert "only http:// and https://" in reasons["file:///etc/passwd"]
    assert "host name" in reasons["https://"]


def test_a_language_written_as_a_region_or_in_capitals_is_the_same_code(tmp_path):
    """Retrieval weighs passages in the question's language apart, comparing codes: a sidecar's
    "TR" or "tr-TR" must not make a Turkish document look foreign."""
    (tmp_path / "haber.txt").write_text(
        "Kanada ve Japonya görüşmelere başladı.\n", encoding="utf-8"
    )
    (tmp_path / "haber.meta.toml").write_text('language = "tr-TR"\n', encoding="utf-8")
    assert load(str(tmp_path / "haber.txt"), Settings()).language == "tr"
