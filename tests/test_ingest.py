"""The ingest loop: many sources, bad ones in a batch, and a crash in the middle."""

import os
import signal
import subprocess
import time

import pytest

from bench.harness import BIN, ROOT, kaynak_env, run_kaynak
from rag import Assistant
from rag.chunking import split_chunks
from rag.config import Settings
from rag.loaders import load_file

from .conftest import CORPUS


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
    env = kaynak_env(home, KAYNAK_PROGRESS="0")
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

    # (the e5 vectors, computed after the chunks, have a test of their own in test_relevance)
    rerun = run_kaynak("ingest", "--vectors-later", str(folder), env=env, timeout=600)
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
