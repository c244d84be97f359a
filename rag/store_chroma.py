"""The connection to Chroma: a client for a folder or a server, this index's collections checked
against the schema and model that made them, and reads that survive another process's write.

An index is the collections named after `Settings.collection`: `<name>` (one record per chunk),
`<name>__documents` (one per source document) and side collections `<name>__<side>` (another
model's vectors of the chunks, rag/store_side.py). Only the store modules (this one, store.py,
store_side.py and store_errors.py) know Chroma's API and its error texts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlparse

from rag.config import Settings
from rag.store_errors import StoreError, storage_faults, where
from rag.store_sync import Gate, generation_for

SCHEMA_VERSION = 1
DEFAULT_PORT, TLS_PORT = 8000, 443
MAX_BATCH = 2000  # records per upsert, at most (the server may allow fewer)
FALLBACK_BATCH = 1000  # when the client cannot say its limit
CREATE_LOCK_FILE = "index.create.lock"  # beside chroma/: held while a new index is made
CREATE_WAIT = 120.0  # seconds another process may take to make it
_T = TypeVar("_T")


def open_client(settings: Settings) -> Any:
    """A Chroma client: the server at KAYNAK_CHROMA_URL, or the index on disk in KAYNAK_HOME."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        parsed = urlparse(settings.chroma_url)
        https = parsed.scheme == "https"
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (TLS_PORT if https else DEFAULT_PORT),
                ssl=https,
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc}); start it with "
                "`chroma run --path DIR --host 127.0.0.1 --port 8000`, or unset KAYNAK_CHROMA_URL "
                "to use the index on disk"
            ) from None
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / "chroma"
    if (path / "chroma.sqlite3").is_file():
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    # A new index: Chroma creates its tables on first open, and two processes doing it at once
    # (two `kaynak ingest` on a fresh home) collide ("table collections already exists"). The
    # first one creates it under a lock file; the others wait, then open what it made.
    from filelock import FileLock

    with FileLock(str(settings.home / CREATE_LOCK_FILE), timeout=CREATE_WAIT):
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def index_collections(client: Any, settings: Settings) -> list[str]:
    """The names of this index's collections, whatever model made them, sorted."""
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    prefix = settings.collection
    return sorted(n for n in names if n == prefix or n.startswith(f"{prefix}__"))


def drop_index(settings: Settings, client: Any = None) -> None:
    """Delete the index, whatever model built it (for `kaynak ingest --rebuild`)."""
    client = client or open_client(settings)
    for name in index_collections(client, settings):
        client.delete_collection(name)


def vectors_by(keys: Sequence[str], vectors: Any) -> dict[str, list[float]]:
    """Chroma's vectors (rows of an array, or None when there are none) as lists by key."""
    if vectors is None:
        return {}
    return {key: list(map(float, v)) for key, v in zip(keys, vectors, strict=True)}


def is_stale(exc: Exception) -> bool:
    """An error that reopening the client cures: an id or collection that another process
    wrote or dropped after this process read the index."""
    text = str(exc)
    return "Error finding id" in text or "does not exist" in text or "not found" in text.lower()


def check_compatible(existing: dict[str, Any], model_id: str, settings: Settings) -> None:
    """Refuse an index that another schema or another embedding model wrote."""
    place = where(settings)
    found = existing.get("schema_version")
    if isinstance(found, int) and found > SCHEMA_VERSION:
        raise StoreError(
            f"the index at {place} was written by a newer Kaynak (schema {found}; this one "
            f"reads {SCHEMA_VERSION}). Upgrade Kaynak (`pip install -U kaynak`), or use "
            "another KAYNAK_HOME; `kaynak ingest --rebuild PATH...` would replace that index",
            "newer",
        )
    if found != SCHEMA_VERSION:
        raise StoreError(
            f"the index at {place} was written by another version of Kaynak (schema "
            f"{found!r}, this one reads {SCHEMA_VERSION}); rebuild it "
            "with `kaynak ingest --rebuild PATH...`",
            "damaged",
        )
    if existing.get("embedding_model") != model_id:
        raise StoreError(
            f"the index at {place} was built with the embedding model "
            f"{existing.get('embedding_model')!r}, but Kaynak is set to {model_id!r}; vectors "
            "from different models cannot be compared. Either set KAYNAK_EMBEDDINGS back, or "
            "rebuild the index with `kaynak ingest --rebuild PATH...`",
            "model",
        )


class Connection:
    """The open client and the index's collections, shared by the threads of one process:
    reads run side by side, a write runs under the process's write lock, and a reopen waits
    for the reads. Every write bumps the generation; a read that sees another process's
    generation, or hits an id that another process wrote, reopens first."""

    def __init__(self, settings: Settings, model_id: str) -> None:
        self.settings = settings
        self.lock = threading.RLock()  # one writer thread at a time in this process
        self.gate = Gate()
        self.generation = generation_for(settings)
        self.wanted = {
            "embedding_model": model_id,
            "schema_version": SCHEMA_VERSION,
            "hnsw:space": "cosine",
        }
        with storage_faults(settings):
            self._open()

    def _open(self) -> None:
        """(Re)open the client and both collections; callers hold the gate exclusively or
        are the constructor."""
        self.generation.catch_up()
        client = open_client(self.settings)
        name = self.settings.collection
        if name in index_collections(client, self.settings):
            existing = dict(client.get_collection(name, embedding_function=None).metadata or {})
            check_compatible(existing, str(self.wanted["embedding_model"]), self.settings)
        self.chunks: Any = client.get_or_create_collection(
            name, metadata=self.wanted, embedding_function=None
        )
        self.docs: Any = client.get_or_create_collection(
            f"{name}__documents",
            metadata={"schema_version": SCHEMA_VERSION, "hnsw:space": "l2"},
            embedding_function=None,
        )
        self.sides: dict[str, Any] = {}  # side collections, opened on first use (store_side)
        self.client = client

    def _close_client(self) -> None:
        # Closing releases the process-wide cache of the embedded index, so the next client
        # reads the index from disk again (an HTTP client has no such cache).
        if not self.settings.chroma_url:
            self.client.close()

    def reopen(self) -> None:
        with self.gate.exclusive():
            self._close_client()
            self._open()

    def close(self) -> None:
        """Let go of the index (the embedded client's cache of it), e.g. before it is moved."""
        with self.gate.exclusive():
            self._close_client()

    def drop(self) -> None:
        """Delete every collection of the index and create the two main ones afresh; other
        threads' reads wait for it, then read the new, empty collections."""
        with storage_faults(self.settings), self.lock, self.gate.exclusive():
            drop_index(self.settings, self.client)
            self.generation.bump()
            self._close_client()
            self._open()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        if self.generation.changed():
            self.reopen()  # another process wrote: read the index from disk again
        with self.gate.read():
            yield

    def read(self, fn: Callable[[], _T]) -> _T:
        """Run a read; if the index lost track of an id another process wrote (or dropped
        the collection), reopen and try once more."""
        from chromadb.errors import ChromaError

        with storage_faults(self.settings):
            with self._reading():
                try:
                    return fn()
                except (ChromaError, ValueError) as exc:
                    if not is_stale(exc):
                        raise
            self.reopen()
            with self.gate.read():
                return fn()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A write: storage faults said plainly, one writer thread, the generation bumped
        after it (even when it failed half-way: other processes must reread)."""
        with storage_faults(self.settings), self.lock, self._reading():
            try:
                yield
            finally:
                self.generation.bump()

    def batch_size(self) -> int:
        try:
            return max(1, min(int(self.client.get_max_batch_size()), MAX_BATCH))
        except Exception:
            return FALLBACK_BATCH

    # --- the whole index, for export and import (rag/backup.py) ---------------------------

    def dump(self, page: int = MAX_BATCH) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """Every collection of this index, page by page: (its name without the prefix, its
        metadata, {"ids", "documents", "metadatas", "embeddings"})."""
        prefix = self.settings.collection
        with storage_faults(self.settings), self._reading():
            for name in index_collections(self.client, self.settings):
                collection = self.client.get_collection(name, embedding_function=None)
                suffix = name[len(prefix) :].removeprefix("__")
                metadata = dict(collection.metadata or {})
                offset = 0
                while True:
                    got = collection.get(
                        include=["documents", "metadatas", "embeddings"], limit=page, offset=offset
                    )
                    if not got["ids"] and offset:
                        break
                    yield suffix, metadata, got
                    if not got["ids"]:
                        break
                    offset += len(got["ids"])

    def restore(
        self,
        suffix: str,
        metadata: dict[str, Any],
        ids: list[str],
        documents: list[str | None],
        metadatas: list[dict[str, Any] | None],
        embeddings: Any,
    ) -> None:
        """Write records exported by `dump` into the collection `suffix` of this index (made
        with the exported metadata if it does not exist)."""
        name = f"{self.settings.collection}__{suffix}" if suffix else self.settings.collection
        with self.writing():
            try:
                collection = self.client.get_or_create_collection(
                    name, metadata=metadata or None, embedding_function=None
                )
                batch = self.batch_size()
                for i in range(0, len(ids), batch):
                    part = slice(i, i + batch)
                    collection.upsert(
                        ids=ids[part],
                        embeddings=embeddings[part],
                        documents=documents[part] if any(documents[part]) else None,
                        metadatas=metadatas[part] if any(metadatas[part]) else None,
                    )
            finally:
                self.sides = {}  # reopened on first use
