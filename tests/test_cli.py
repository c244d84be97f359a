import json
import os
import subprocess

import pytest

from .conftest import BIN, CORPUS, run_kaynak


def kaynak(*args: str, home, timeout: int = 180) -> subprocess.CompletedProcess:
    return run_kaynak(*args, env={**os.environ, "KAYNAK_HOME": str(home)}, timeout=timeout)


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
    env = {**os.environ, "KAYNAK_HOME": str(home)}
    out = subprocess.run(
        [str(BIN / "kaynak"), "chat"],
        input="What did Joly say about the Indo-Pacific strategy?\nWhen did she say it would be released?\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    second_answer = out.stdout.split("\n> ")[2]
    assert "yıl sonundan önce" in second_answer
