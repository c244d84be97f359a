"""Bad input, crashes and restarts, hostile documents, and no traffic off the machine."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag import Assistant, LoadError, QuestionError, StoreError
from rag.chunking import split_chunks
from rag.config import Settings
from rag.loaders import load, load_file
from ui.app import safe_upload_name

from .conftest import BIN, CORPUS, ROOT, run_kaynak

# --- questions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "the question is empty"),
        (" \t\n ", "the question is empty"),
        ("x " * 10_000, "keep it under"),
        ("?!?... ,;", "no words"),
        ("\x00\x01\x02", "the question is empty"),
    ],
)
def test_bad_questions_get_a_clear_message(bot, question, message):
    with pytest.raises(QuestionError, match=message):
        bot.ask(question)


def test_nul_bytes_inside_a_real_question_are_ignored(bot):
    assert "Hayashi" in bot.ask("Who did Joly\x00 meet in Tokyo?").citations[0].quote


def test_a_question_in_a_language_the_corpus_is_not_in(bot):
    answer = bot.ask("Mit wem traf sich Joly in Tokio?")  # German
    assert answer.abstained or any("Hayashi" in c.quote for c in answer.citations)
    assert bot.ask("Wer hat die Fußball-Weltmeisterschaft 2014 gewonnen?").abstained


def test_non_text_questions_and_bad_k(bot):
    with pytest.raises(QuestionError):
        bot.ask(None)  # type: ignore[arg-type]
    with pytest.raises(QuestionError, match="k must be"):
        bot.ask("What did Joly say?", k=0)


# --- files ----------------------------------------------------------------------------------


def test_a_60_mb_text_file_is_skipped_and_the_rest_goes_in(tmp_path, fresh):
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(60 * 1024 * 1024)  # sparse: 60 MB on paper, nothing on disk
    (tmp_path / "good.txt").write_text("The ferry to the island leaves at noon.", encoding="utf-8")
    report = fresh.ingest([tmp_path])
    assert [s.rsplit("/", 1)[-1] for s in report.added] == ["good.txt"]
    ((source, reason),) = report.skipped
    assert source.endswith("big.txt") and "over the 20 MB limit" in reason


def test_a_folder_of_a_thousand_small_files(tmp_path, fresh):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1000):
        (folder / f"n{i:04d}.txt").write_text(
            f"Note {i}: the shop number {i} opens at nine.", encoding="utf-8"
        )
    report = fresh.ingest([folder])
    assert len(report.added) == 1000 and fresh.store.count() == 1000
    assert len(fresh.ingest([folder]).unchanged) == 1000


def test_a_bad_file_in_a_batch_loses_nothing_already_stored(tmp_path, fresh):
    fresh.ingest([CORPUS])
    before = fresh.store.count()
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 truncated")
    (tmp_path / "bad.docx").write_bytes(b"not a zip")
    report = fresh.ingest([tmp_path, CORPUS])
    assert len(report.skipped) == 2 and report.unchanged and fresh.store.count() == before


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/cron.d/evil.txt", "evil.txt"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("a" * 400 + ".txt", "a" * 80 + ".txt"),
        ("résumé final (2).pdf", "résumé_final_2.pdf"),
        ("...", "upload"),
    ],
)
def test_uploaded_file_names_stay_inside_the_uploads_folder(name, expected):
    assert safe_upload_name(name) == expected


# --- URLs -----------------------------------------------------------------------------------


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
            time.sleep(3)
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
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
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


# --- crashes and restarts -------------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_leaves_exactly_the_sources_chunks(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(300):
        sentences = " ".join(
            f"Report {i} sentence {j} mentions the harbour and the ferry." for j in range(12)
        )
        (folder / f"r{i:03d}.txt").write_text(sentences, encoding="utf-8")
    home = tmp_path / "home"
    env = {**os.environ, "KAYNAK_HOME": str(home), "KAYNAK_PROGRESS": "0"}
    proc = subprocess.Popen([str(BIN / "kaynak"), "ingest", str(folder)], env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (home / "chroma").exists() and any((home / "chroma").rglob("*.bin")):
            time.sleep(1.5)  # let it get part of the way through the folder
            break
        time.sleep(0.2)
    assert proc.poll() is None, "ingest finished before it could be killed; use more files"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    rerun = run_kaynak("ingest", str(folder), env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    bot = Assistant(home=home, progress=False)
    settings = Settings()
    expected = {
        c.chunk_id
        for f in folder.iterdir()
        for c in split_chunks(load_file(f.resolve(), settings), settings.max_chunk_chars)
    }
    stored = [cid for cid, _, _ in bot.store.iter_chunks(include_text=False)]
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected
    records = bot.store.documents()
    assert len(records) == 300 and sum(r.chunks for r in records.values()) == len(expected)
    assert bot.store.orphan_chunk_ids() == []


def test_an_index_from_another_schema_version_is_explained(tmp_path):
    import chromadb

    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    client.create_collection("kaynak", metadata={"schema_version": 0, "embedding_model": "x"})
    del client
    with pytest.raises(StoreError, match=r"another version of Kaynak.*--rebuild"):
        Assistant(home=tmp_path)


# --- nothing leaves the machine -------------------------------------------------------------

GUARD = """
import os, socket, ipaddress
_log = os.environ["KAYNAK_NET_LOG"]
_real = socket.socket.connect
def _host(address):
    return address[0] if isinstance(address, tuple) else str(address)
def connect(self, address):
    host = _host(address)
    try:
        local = ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        local = self.family == socket.AF_UNIX
    if not local:
        with open(_log, "a") as f:
            f.write(f"{host}\\n")
        raise OSError("outbound connections are blocked in this test")
    return _real(self, address)
socket.socket.connect = connect
_real_gai = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1", "0.0.0.0") and not str(host).startswith("127."):
        with open(_log, "a") as f:
            f.write(f"dns:{host}\\n")
        raise socket.gaierror("name lookups are blocked in this test")
    return _real_gai(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
"""


@pytest.mark.slow
def test_ingest_ask_chat_and_the_page_work_with_no_network(tmp_path):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    log.touch()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KAYNAK_")},
        "PYTHONPATH": str(guard),
        "KAYNAK_NET_LOG": str(log),
        "KAYNAK_HOME": str(tmp_path / "home"),
        "HTTP_PROXY": "",
        "HTTPS_PROXY": "",
    }

    def run(*args: str, stdin: str | None = None) -> str:
        out = run_kaynak(*args, env=env, stdin=stdin)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert "1 added" in run("ingest", str(CORPUS))
    assert "Hayashi" in run("ask", "Who did Joly meet in Tokyo?")
    assert "[1]" in run("chat", stdin="What did Joly say?\nAnd Hayashi?\n")

    from .conftest import stop

    proc, client = _start_page(env)
    try:
        assert client.view_api(return_format="dict", print_info=False)
    finally:
        stop(proc)
    assert log.read_text() == "", f"outbound connections were attempted: {log.read_text()}"


# --- the page: bad input, and a restart --------------------------------------------------


@pytest.fixture(scope="module")
def page_home(tmp_path_factory):
    return tmp_path_factory.mktemp("page") / "home"


def _page_env(home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAYNAK_")}
    env["KAYNAK_HOME"] = str(home)
    return env


def _start_page(env: dict[str, str]):
    """`kaynak ui` on a free port with `env`; returns the process and a gradio_client."""
    from gradio_client import Client

    from .conftest import free_port, wait_for_http

    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "kaynak"), "ui", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_http(f"http://127.0.0.1:{port}/", timeout=120, proc=proc)
    return proc, Client(f"http://127.0.0.1:{port}/", verbose=False)


def _ask(client, question: str) -> tuple[str, str]:
    chat, sources, _ = client.predict(
        question, [], 5, "Extractive (quotes the sources)", api_name="/ask"
    )
    return chat[-1]["content"][0]["text"], sources


@pytest.mark.slow
def test_the_page_explains_bad_input_and_keeps_documents_across_a_restart(page_home, tmp_path):
    from gradio_client import handle_file

    from .conftest import stop

    proc, client = _start_page(_page_env(page_home))
    try:
        for question, message in [
            ("", "empty"),
            ("x " * 10_000, "keep it under"),
            ("?!?", "no words"),
        ]:
            text, _ = _ask(client, question)
            assert message in text, text
        text, sources = _ask(client, "Who did\x00 Joly meet in Tokyo?")
        assert "[1]" in text and "Hayashi" in sources
        bad = tmp_path / "photo.txt"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
        good = tmp_path / "ferry.txt"
        good.write_text(
            "The night ferry to Bodø was cancelled because of the storm.", encoding="utf-8"
        )
        report, *_ = client.predict(
            [handle_file(str(bad)), handle_file(str(good))], "", api_name="/add_sources"
        )
        assert "1 added" in report and "binary" in report
        report, *_ = client.predict([], "http://127.0.0.1:1/private", api_name="/add_sources")
        assert "KAYNAK_ALLOW_PRIVATE_URLS" in report
    finally:
        stop(proc)
    proc, client = _start_page(
        _page_env(page_home)
    )  # the documents and the index survive a restart
    try:
        text, sources = _ask(client, "Why was the night ferry to Bodø cancelled?")
        assert "[1]" in text and "storm" in sources
    finally:
        stop(proc)
