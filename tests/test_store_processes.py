"""One index, several processes: the page keeps answering while `kaynak ingest` writes from a
terminal, writers take turns, and a kill -9 of the lock's holder leaves nothing stuck. Real
processes, real files, the embedded Chroma index on disk. (An ingest killed in the middle of
writing, and the run that repairs it: tests/test_ingest.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rag import Assistant

from .conftest import (
    BIN,
    CORPUS,
    LIBRARY,
    ROOT,
    ask_page,
    expected_chunks,
    kaynak_env,
    page_client,
    reading_meanwhile,
    run_kaynak,
    stop,
    wait_until,
    write_reports,
)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """`kaynak ui` on its own index (the bundled article), and the env to reach that index."""
    home = tmp_path_factory.mktemp("page") / "home"
    env = kaynak_env(home, KAYNAK_PROGRESS="0")
    proc, client = page_client(env)
    try:
        yield env, client
    finally:
        stop(proc)


def _answered_within(client, question: str, needle: str, seconds: float) -> tuple[str, str]:
    """The page's answer to `question` once its sources name `needle`, asked again every
    second; an AssertionError with the last answer if `seconds` pass first."""
    last: list[tuple[str, str]] = []

    def cites() -> tuple[str, str] | None:
        last[:] = [ask_page(client, question)]
        return last[0] if needle in last[0][1] else None

    try:
        return wait_until(cites, seconds, f"the page citing {needle!r}", every=1)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; its last answer: {last}") from None


@pytest.mark.slow
def test_the_page_answers_about_a_file_a_terminal_ingest_added(page, tmp_path):
    env, client = page
    text, sources = ask_page(client, "Who did Joly meet in Tokyo?")
    assert "Hayashi" in sources  # the page has read its index before the terminal writes
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "library.txt").write_text(LIBRARY, encoding="utf-8")
    done = run_kaynak("ingest", str(notes), env=env)
    assert done.returncode == 0, done.stderr
    # within the 5 s in which readers notice other processes' writes (plus the ask itself)
    text, sources = _answered_within(client, "Who opened the new library in Vardø?", "Thorsen", 8)
    assert "[1]" in text and "Thorsen" in sources, text
    assert "Error" not in text


@pytest.mark.slow
def test_two_ingests_at_once_on_overlapping_folders(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    write_reports(one, 0, 60)
    write_reports(two, 30, 90)
    for i in range(30, 60):  # the same files in both folders
        (two / f"r{i:03d}.txt").write_bytes((one / f"r{i:03d}.txt").read_bytes())
    env = kaynak_env(tmp_path / "home", KAYNAK_PROGRESS="0")
    procs = [
        subprocess.Popen(
            [str(BIN / "kaynak"), "ingest", "--vectors-later", str(folder)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in (one, two)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    bot = Assistant(home=tmp_path / "home", progress=False)
    stored = [cid for cid, _, _ in bot.store.iter_chunks(include_text=False)]
    expected = expected_chunks(one, two)
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected
    records = bot.store.documents()
    assert len(records) == 120 and sum(r.chunks for r in records.values()) == len(expected)


_HOLD_THE_LOCK = """
import sys, time
from rag.config import Settings
from rag.store_sync import write_lock
with write_lock(Settings.from_env()):
    print("holding", flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
def test_a_waiting_writer_names_the_holder_and_kill_9_frees_the_lock(tmp_path):
    env = kaynak_env(tmp_path / "home", KAYNAK_PROGRESS="0")
    note = tmp_path / "library.txt"
    note.write_text(LIBRARY, encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_LOCK, "kaynak-holder"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        waited = run_kaynak("ingest", "--wait", "2", str(note), env=env)
        assert waited.returncode == 2
        assert "waiting for process" in waited.stderr  # its progress says it waits
        assert f"process {holder.pid}" in waited.stderr and "kaynak-holder" in waited.stderr
        assert "after waiting 2 s" in waited.stderr and "Traceback" not in waited.stderr
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    started = time.monotonic()
    done = run_kaynak("ingest", "--wait", "5", str(note), env=env)
    assert done.returncode == 0, done.stderr
    assert "waiting" not in done.stderr and time.monotonic() - started < 60


@pytest.mark.slow
def test_an_assistant_sees_another_process_s_writes_without_error(tmp_path):
    home = tmp_path / "home"
    bot = Assistant(home=home, progress=False)
    bot.ingest([CORPUS])
    assert not bot.ask("Who did Joly meet in Tokyo?").abstained
    note = tmp_path / "library.txt"
    note.write_text(LIBRARY, encoding="utf-8")
    done = run_kaynak("ingest", str(note), env=kaynak_env(home, KAYNAK_PROGRESS="0"))
    assert done.returncode == 0, done.stderr
    # the dense search sees it at once; the lexical index and the corpus list within 5 s
    assert any("Thorsen" in p.text for p in bot.retrieve("Who opened the library in Vardø?"))
    assert any(d.title == "Library" for d in bot.documents())
    bot.retriever.refresh_if_stale(every=0)
    answer = bot.ask("Who opened the new library in Vardø?")
    assert not answer.abstained and "Thorsen" in answer.citations[0].quote


def test_drop_all_while_other_threads_read(fresh, tmp_path):
    fresh.ingest([CORPUS])

    def read() -> None:
        fresh.retrieve("Who did Joly meet in Tokyo?")
        fresh.documents()
        fresh.store.count()

    with reading_meanwhile(read):
        for _ in range(3):
            fresh.ingest([CORPUS], rebuild=True)
    fresh.complete_background()  # the answer once the rebuilt index has its e5 vectors again
    assert "Hayashi" in fresh.ask("Who did Joly meet in Tokyo?").citations[0].quote
