"""The ingest loop: the same source twice, a changed one, pruning, many sources, bad ones in a
batch, and a crash in the middle."""

import os
import signal
import subprocess

import pytest

from rag import Assistant

from .conftest import (
    BIN,
    CORPUS,
    ROOT,
    expected_chunks,
    kaynak_env,
    run_kaynak,
    wait_until,
    write_reports,
)

TOKYO = "Who did Joly meet in Tokyo?"


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_ingest_is_idempotent_and_replaces_changed_sources(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    a = _write(
        src / "a.txt", "The river flooded the old town on Monday. Rescue teams arrived quickly."
    )
    _write(src / "b.txt", "The museum reopened after renovation. Visitors queued for hours.")
    bot = Assistant(home=tmp_path / "home", progress=False)
    first = bot.ingest([src])
    assert len(first.added) == 2 and first.chunks == 4
    again = bot.ingest([src])
    assert len(again.unchanged) == 2 and again.chunks == 0 and not again.added
    count = bot.store.count()

    _write(a, "The river flooded the old town on Monday. Volunteers filled sandbags all night.")
    changed = bot.ingest([src])
    assert changed.updated == [str(a.resolve())] and len(changed.unchanged) == 1
    texts = [t for _, t, _ in bot.store.iter_chunks()]
    assert bot.store.count() == count and "Rescue teams arrived quickly." not in texts
    assert "Volunteers filled sandbags all night." in texts
    assert len(texts) == len(set(texts))


def test_prune_removes_documents_whose_files_are_gone(tmp_path):
    a = _write(tmp_path / "a.txt", "A first document about bridges and rivers.")
    _write(tmp_path / "b.txt", "A second document about museums and art.")
    bot = Assistant(home=tmp_path / "home", progress=False)
    bot.ingest([tmp_path / "a.txt", tmp_path / "b.txt"])
    a.unlink()
    report = bot.ingest([tmp_path / "b.txt"], prune=True)
    assert report.removed == [str(a.resolve())]
    assert [d.title for d in bot.documents()] == ["B"]
    assert all("bridges" not in t for _, t, _ in bot.store.iter_chunks())


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
def test_kill_9_mid_ingest_then_the_same_command_leaves_exactly_the_sources_chunks(tmp_path):
    """`kaynak ingest` killed while it writes: another process reads the index throughout,
    the write lock dies with the writer, and the same command run again leaves each source's
    chunks once, with nothing orphaned. (A kill -9 of the lock's holder alone, and writers
    taking turns: tests/test_store_processes.py.)"""
    home = tmp_path / "home"
    reader = Assistant(home=home, progress=False)  # as the page would, in a process of its own
    reader.ingest([CORPUS], background=False)
    reader.complete_background()
    folder = tmp_path / "docs"
    write_reports(folder, 0, 300, words="lighthouse keeper Solveig Aune")
    env = kaynak_env(home, KAYNAK_PROGRESS="0")
    proc = subprocess.Popen(
        [str(BIN / "kaynak"), "ingest", "--vectors-later", str(folder)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # part of the way: its first batches of reports are stored (the corpus was alone before)
    wait_until(
        lambda: proc.poll() is not None or len(reader.store.documents()) > 1,
        300,
        "the ingest storing its first reports",
        every=0.05,
    )
    assert proc.poll() is None, "ingest finished before it could be killed; use more files"
    assert "Hayashi" in reader.ask(TOKYO).citations[0].quote  # while it writes
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "Hayashi" in reader.ask(TOKYO).citations[0].quote

    rerun = run_kaynak(
        "ingest", "--vectors-later", "--wait", "5", str(folder), env=env, timeout=600
    )
    assert rerun.returncode == 0, rerun.stderr  # the lock died with the killed process
    assert "waiting" not in rerun.stderr

    def reader_cites_the_reports() -> bool:
        reader.retriever.refresh_if_stale(every=0)  # its lexical index follows the rerun
        answer = reader.ask("Which report mentions Solveig Aune?")
        return any("Aune" in c.quote for c in answer.citations)

    wait_until(reader_cites_the_reports, 120, "the reader citing the reports", every=0.5)

    # (the e5 vectors, computed after the chunks, have a test of their own in test_relevance)
    bot = Assistant(home=home, progress=False)
    expected = expected_chunks(folder, CORPUS)
    stored = [cid for cid, _, _ in bot.store.iter_chunks(include_text=False)]
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected
    records = bot.store.documents()
    assert len(records) == 301 and sum(r.chunks for r in records.values()) == len(expected)
    assert bot.store.orphan_chunk_ids() == []
