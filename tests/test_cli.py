"""The `kaynak` command, run for real as a subprocess, and with no network at all."""

import json
import os
import subprocess

import pytest

from bench.harness import kaynak_env, run_kaynak, start_page, stop

from .conftest import CORPUS


def kaynak(
    *args: str, home, timeout: int = 180, stdin: str | None = None
) -> subprocess.CompletedProcess:
    return run_kaynak(*args, env=kaynak_env(home), timeout=timeout, stdin=stdin)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli")
    out = kaynak("ingest", str(CORPUS), home=home)
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout
    return home


def test_ask_prints_the_answer_and_numbered_sources(home):
    out = kaynak("ask", "What did Joly say?", home=home)
    assert out.returncode == 0, out.stderr
    assert "[1]" in out.stdout and "Sources:" in out.stdout
    assert "https://globalnews.ca/news/9191826/" in out.stdout


def test_ask_json(home):
    out = kaynak("ask", "Who did Joly meet in Tokyo?", "--json", home=home)
    data = json.loads(out.stdout)
    assert data["abstained"] is False and "Hayashi" in data["citations"][0]["quote"]


def test_first_use_ingests_the_bundled_corpus(tmp_path):
    out = kaynak("ask", "Who did Joly meet in Tokyo?", home=tmp_path / "new")
    assert out.returncode == 0 and "Hayashi" in out.stdout


def test_ingest_reports_and_keeps_going_past_bad_files(home, tmp_path):
    (tmp_path / "good.txt").write_text(
        "The bakery on Elm Street sells rye bread.", encoding="utf-8"
    )
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01\x02binary")
    out = kaynak("ingest", str(tmp_path), "--json", home=home)
    report = json.loads(out.stdout)
    assert len(report["added"]) == 1 and report["skipped"][0][1].startswith(
        "this looks like a binary"
    )
    again = kaynak("ingest", str(tmp_path), home=home)
    assert "0 added, 0 updated, 1 unchanged" in again.stdout and "skipped" in again.stdout
    docs = kaynak("docs", home=home)
    assert "Good" in docs.stdout and "chunks" in docs.stdout


def test_bad_question_and_bad_settings_exit_with_a_message(home):
    out = kaynak("ask", "   ", home=home)
    assert out.returncode == 2 and "the question is empty" in out.stderr
    out = kaynak("--embeddings", "nope", "ask", "hi", home=home)
    assert out.returncode == 2 and "unknown embeddings" in out.stderr


def test_chat_keeps_history_across_turns(home):
    out = kaynak(
        "chat",
        home=home,
        stdin="What did Joly say about the Indo-Pacific strategy?\nWhen did she say it would be released?\n",
    )
    assert out.returncode == 0, out.stderr
    second_answer = out.stdout.split("\n> ")[2]
    assert "yıl sonundan önce" in second_answer


# --- nothing leaves the machine ---------------------------------------------------------

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
    from gradio_client import Client

    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    log.touch()
    env = kaynak_env(
        tmp_path / "home",
        PYTHONPATH=os.pathsep.join(filter(None, [str(guard), os.environ.get("PYTHONPATH")])),
        KAYNAK_NET_LOG=str(log),
        HTTP_PROXY="",
        HTTPS_PROXY="",
    )

    def run(*args: str, stdin: str | None = None) -> str:
        out = run_kaynak(*args, env=env, stdin=stdin)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert "1 added" in run("ingest", str(CORPUS))
    assert "Hayashi" in run("ask", "Who did Joly meet in Tokyo?")
    assert "[1]" in run("chat", stdin="What did Joly say?\nAnd Hayashi?\n")

    proc, url, _ = start_page(env)
    try:
        assert Client(url, verbose=False).view_api(return_format="dict", print_info=False)
    finally:
        stop(proc)
    assert log.read_text() == "", f"outbound connections were attempted: {log.read_text()}"
