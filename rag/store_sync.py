"""How threads and processes on one index take turns: the reader-writer gate, the generation
file that tells a process another one wrote, and the write lock.

The embedded (on-disk) Chroma keeps each collection's vector index in process memory and never
rereads it. A chunk that another process wrote is in SQLite (so `get` by id finds it) but not
in this process's vector index (so a search misses it). So every write bumps a generation file
beside the index, and a reader that sees another process's generation reopens its client first.
Writers in several processes take turns through an OS file lock (`write_lock`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.config import Settings
from rag.store_errors import StoreError, fault, storage_faults

GENERATION_FILE = "index.generation"  # beside chroma/: rewritten after every write
LOCK_FILE = "index.lock"
HOLDER_FILE = "index.lock.holder"  # who holds the lock, for the message of whoever waits


class Gate:
    """Many readers at once, or one thread that reopens or drops the collections.
    (A reader-writer lock; the standard library has none, and this one is ten lines.)"""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._closed = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._closed)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._closed)
            self._closed = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._closed = False
                self._cond.notify_all()


class Generation:
    """The index's generation file: which process wrote last. A Chroma server needs none (it
    has one vector index for all its clients), so there `file` is None and nothing changes."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.seen = ""

    def current(self) -> str:
        if self.file is None:
            return ""
        try:
            return self.file.read_text(encoding="utf-8")
        except OSError:
            return ""

    def catch_up(self) -> None:
        """Remember the generation this process now reads (after it opened the index)."""
        self.seen = self.current()

    def changed(self) -> bool:
        """Another process wrote since this one last opened or wrote the index."""
        return self.file is not None and self.current() != self.seen

    def bump(self) -> None:
        """Tell other processes on this index that it changed (after every write)."""
        if self.file is None:
            return
        token = f"{os.getpid()}-{time.time_ns()}"
        tmp = self.file.with_name(f"{GENERATION_FILE}.{os.getpid()}.tmp")
        tmp.write_text(token, encoding="utf-8")
        os.replace(tmp, self.file)
        self.seen = token


def generation_for(settings: Settings) -> Generation:
    return Generation(None if settings.chroma_url else settings.home / GENERATION_FILE)


@contextmanager
def write_lock(
    settings: Settings, wait: float = 600.0, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the index's lock file while writing, so writers in several processes on one
    machine take turns. It is an OS lock (flock): the kernel drops it when its process dies,
    even by kill -9, so it is never left stuck. Waits up to `wait` seconds, telling `on_wait`
    who holds it; then fails with a StoreError that names the holder."""
    from filelock import FileLock, Timeout

    with storage_faults(settings):  # a read-only or full home says so
        settings.home.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(settings.home / LOCK_FILE), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = lock_holder(settings)
        if on_wait is not None:
            on_wait(f"waiting for {holder}, which is writing to the index")
        try:
            lock.acquire(timeout=max(wait, 0.0))
        except Timeout:
            raise StoreError(
                f"the index at {settings.home} is still being written by {holder} after "
                f"waiting {wait:.0f} s; let it finish (or stop it) and try again",
                "busy",
            ) from None
    except OSError as exc:  # the lock file cannot be made: a read-only or full home
        raise fault(exc, settings) from exc
    try:
        record = {"pid": os.getpid(), "command": " ".join(sys.argv), "since": time.time()}
        with storage_faults(settings):
            (settings.home / HOLDER_FILE).write_text(json.dumps(record), encoding="utf-8")
        yield
    finally:
        lock.release()


def lock_holder(settings: Settings) -> str:
    """Who holds (or last held) the write lock, in words: "process 123 (kaynak ingest notes/),
    writing since 14:02:11"."""
    try:
        record = json.loads((settings.home / HOLDER_FILE).read_text(encoding="utf-8"))
        since = time.strftime("%H:%M:%S", time.localtime(float(record["since"])))
        return f"process {record['pid']} ({record['command']}), writing since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
