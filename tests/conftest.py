"""Shared fixtures: a store with the bundled corpus, fresh homes, and a real Chroma server."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.harness import (
    BIN,
    ROOT,
    ask_page,
    free_port,
    kaynak_env,
    page_client,
    run_kaynak,
    start_chroma,
    stop,
    wait_for_http,
    wait_until,
)
from rag.config import OFFLINE_ENV

# Helpers for starting Kaynak's processes live in bench/harness.py (the benchmarks use them
# too); tests import them from here or from there.
__all__ = [
    "BIN",
    "CORPUS",
    "ROOT",
    "ask_page",
    "free_port",
    "kaynak_env",
    "page_client",
    "run_kaynak",
    "stop",
    "wait_for_http",
    "wait_until",
]

os.environ.update(OFFLINE_ENV)
for key in [k for k in os.environ if k.startswith("KAYNAK_")]:
    del os.environ[key]  # tests set what they need

CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "bench" / "questions.jsonl"
LIBRARY = "Councillor Ingrid Thorsen opened the new library in Vardø on Monday."  # in no document


def write_reports(
    folder: Path, first: int, last: int, words: str = "harbour and the ferry"
) -> None:
    """Reports number `first` to `last` - 1 in `folder`, twelve sentences each about `words`."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, last):
        text = " ".join(f"Report {i} sentence {j} mentions the {words}." for j in range(12))
        (folder / f"r{i:03d}.txt").write_text(text, encoding="utf-8")


def expected_chunks(*sources: Path) -> set[str]:
    """The ids of the chunks that ingesting `sources` (files or folders) stores."""
    from rag.chunking import split_chunks
    from rag.config import Settings
    from rag.loaders import iter_sources, load_file

    settings = Settings()
    return {
        c.chunk_id
        for source in iter_sources(sources, settings)
        if isinstance(source, str)
        for c in split_chunks(load_file(Path(source), settings), settings.max_chunk_chars)
    }


@contextlib.contextmanager
def reading_meanwhile(read: Callable[[], object], threads: int = 3) -> Iterator[None]:
    """`read` called over and over by `threads` threads while the block runs (it writes); any
    exception a reader meets fails the test."""
    errors: list[BaseException] = []
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            try:
                read()
            except BaseException as exc:  # any failure is the test's failure
                errors.append(exc)
                return

    readers = [threading.Thread(target=loop) for _ in range(threads)]
    for t in readers:
        t.start()
    try:
        yield
    finally:
        done.set()
        for t in readers:
            t.join(timeout=60)
    assert errors == []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshot",
        default="",
        help="also save the page test's screenshot here (`make screenshot` uses docs/screenshot.png)",
    )


@pytest.fixture(scope="session")
def bot(tmp_path_factory):
    """An Assistant whose store holds the bundled corpus (shared; do not write to it)."""
    from rag import Assistant

    assistant = Assistant(home=tmp_path_factory.mktemp("home"), progress=False)
    report = assistant.ingest([CORPUS])
    assert len(report.added) == 1
    assert assistant.complete_background() == 0  # the background thread already did them all
    assert assistant.background_progress() == (report.chunks, report.chunks)
    return assistant


@pytest.fixture
def fresh(tmp_path):
    """A new, empty Assistant of its own."""
    from rag import Assistant

    return Assistant(home=tmp_path / "home", progress=False)


@pytest.fixture(scope="session")
def questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server (`chroma run`) on a free loopback port; yields its URL."""
    proc, url = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield url
    finally:
        stop(proc)
