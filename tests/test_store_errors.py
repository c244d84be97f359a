"""rag/store_errors.py: storage faults made to happen for real, each said in plain words, with
what was stored before still there and answering.

A full disk and a read-only folder need a small filesystem of their own (tmpfs), which needs
root: CI runs as root; a local run without root skips those two and says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.harness import (
    BIN,
    ask_page,
    free_port,
    kaynak_env,
    page_client,
    run_kaynak,
    start_chroma,
    stop,
    wait_until,
)
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow
QUESTION = "What did Joly say?"


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` mounted at `folder` for the block."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem (tmpfs) needs root; CI runs as root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
        check=False,
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def notes(folder: Path, count: int = 40, sentences: int = 30) -> Path:
    """`count` small English notes that no question here is about."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = " ".join(
            f"Note {i}, line {j}: the harbour market of town {i} opened on day {j}."
            for j in range(sentences)
        )
        (folder / f"note{i:03d}.txt").write_text(text, encoding="utf-8")
    return folder


def cited(env: dict[str, str]) -> list[list]:
    done = run_kaynak("ask", QUESTION, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return [
        [c["doc_id"], c["start"], c["end"], c["quote"]]
        for c in json.loads(done.stdout)["citations"]
    ]


def said_plainly(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, (phrase, done.stderr)


def test_a_full_disk_during_ingest_is_said_plainly_and_loses_nothing(tmp_path):
    with small_disk(tmp_path / "disk", 20) as disk:
        env = kaynak_env(disk / "home")
        assert run_kaynak("ingest", str(CORPUS), env=env).returncode == 0
        before = cited(env)
        free_kb = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize // 1024
        filler = disk / "filler"
        with open(filler, "wb") as f:  # leave 400 kB free
            f.write(b"\0" * ((free_kb - 400) * 1024))
        many = notes(tmp_path / "notes")

        full = run_kaynak("ingest", str(many), "--vectors-later", env=env)
        said_plainly(
            full, f"the disk holding {disk / 'home'} is full", "run the same command again"
        )
        assert cited(env) == before  # still answers, from what was stored before
        checked = run_kaynak("doctor", env=env)  # and the manifest claims nothing it lacks
        assert checked.returncode == 0, checked.stdout

        filler.unlink()  # space freed: the same command finishes the job
        again = run_kaynak("ingest", str(many), "--vectors-later", "--json", env=env)
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)
        assert len(report["added"]) + len(report["unchanged"]) == 40


def test_a_read_only_home_is_said_plainly(tmp_path):
    with small_disk(tmp_path / "disk", 20) as disk:
        env = kaynak_env(disk / "home")
        assert run_kaynak("ingest", str(CORPUS), env=env).returncode == 0
        before = cited(env)
        note = notes(tmp_path / "notes", count=1)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            for command in (["ingest", str(note)], ["ask", QUESTION]):
                said_plainly(
                    run_kaynak(*command, env=env),
                    f"Kaynak cannot write to {disk / 'home'}",
                    "read-only",
                    "set KAYNAK_HOME",
                )
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert cited(env) == before


def test_an_index_from_a_newer_kaynak_is_refused_with_what_to_do(tmp_path):
    env = kaynak_env(tmp_path / "home")
    assert run_kaynak("ingest", str(CORPUS), env=env).returncode == 0
    with sqlite3.connect(tmp_path / "home" / "chroma" / "chroma.sqlite3") as db:
        changed = db.execute(
            "UPDATE collection_metadata SET int_value = 99 WHERE key = 'schema_version'"
        ).rowcount
    assert changed >= 1
    said_plainly(
        run_kaynak("ask", QUESTION, env=env),
        "written by a newer Kaynak (schema 99",
        "Upgrade Kaynak",
    )


def test_a_chroma_server_that_dies_mid_ingest(tmp_path):
    import chromadb

    port = free_port()

    def start() -> subprocess.Popen[Any]:
        return start_chroma(tmp_path / "server", port)[0]

    server = start()
    url = f"http://127.0.0.1:{port}"
    env = kaynak_env(tmp_path / "home", KAYNAK_CHROMA_URL=url)
    try:
        assert run_kaynak("ingest", str(CORPUS), env=env).returncode == 0
        before = cited(env)
        many = notes(tmp_path / "notes", count=60)
        ingesting = subprocess.Popen(
            [str(BIN / "kaynak"), "ingest", str(many), "--vectors-later"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        documents = chromadb.HttpClient(host="127.0.0.1", port=port).get_collection(
            "kaynak__documents"
        )
        # a first batch of notes is in (the corpus is the one document before it)
        wait_until(
            lambda: ingesting.poll() is not None or documents.count() >= 2,
            120,
            "the ingest storing its first notes",
            every=0.05,
        )
        assert ingesting.poll() is None, "the ingest ended before the server died; add notes"
        server.kill()  # mid-ingest, as a crash would
        server.wait(timeout=30)
        out, err = ingesting.communicate(timeout=300)
        said_plainly(
            subprocess.CompletedProcess(ingesting.args, ingesting.returncode, out, err),
            f"the Chroma server at {url} stopped answering",
            "run the same command again",
        )
        server = start()
        assert cited(env) == before  # what it stored before is still there and answers
        again = run_kaynak("ingest", str(many), "--vectors-later", "--json", env=env)
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)
        assert len(report["added"]) + len(report["unchanged"]) == 60
    finally:
        stop(server)


def test_the_page_says_the_disk_is_full_and_keeps_answering(tmp_path):
    from gradio_client import handle_file

    with small_disk(tmp_path / "disk", 20) as disk:
        proc, client = page_client(kaynak_env(disk / "home"))
        try:
            text, sources = ask_page(client, QUESTION)
            assert "[1]" in text and "Joly" in sources
            free_kb = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize // 1024
            with open(disk / "filler", "wb") as f:
                f.write(b"\0" * ((free_kb - 300) * 1024))
            many = notes(tmp_path / "notes", count=20)
            report, *_ = client.predict(
                [handle_file(str(p)) for p in sorted(many.iterdir())], "", api_name="/add_sources"
            )
            assert "Not added" in report and "is full" in report, report
            assert "Traceback" not in report
            again, sources_again = ask_page(client, QUESTION)
            assert (again, sources_again) == (text, sources)
        finally:
            stop(proc)


def test_the_api_raises_one_error_type_with_the_message(tmp_path):
    from rag import Assistant, StoreError

    home = tmp_path / "home"
    assert run_kaynak("ingest", str(CORPUS), env=kaynak_env(home)).returncode == 0
    db = home / "chroma" / "chroma.sqlite3"
    os.truncate(db, db.stat().st_size // 3)
    with pytest.raises(StoreError, match=r"chroma is damaged .*kaynak doctor --repair"):
        Assistant(home=home, progress=False).ask(QUESTION)
