"""Chroma, embedded on disk or a Chroma server by URL: write, delete and search chunks; the
lock that makes writers from several processes take turns.

Two collections: `<name>` holds one record per chunk (text, vector, source metadata);
`<name>__documents` holds one record per source document (its
cleaned text and content hash), so a citation can always be checked against the source text.
A document's record is written last: until it is, the document counts as not ingested, and a
later run writes it again (a crash mid-ingest leaves nothing that a re-run does not repair).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlparse

from rag.config import Settings
from rag.embeddings import KaynakEmbeddings
from rag.store_errors import StoreError, fault, storage_faults
from rag.store_errors import where as index_location
from rag.types import Chunk, Hit, SourceDocument

SCHEMA_VERSION = 1
GENERATION_FILE = "index.generation"  # beside chroma/: rewritten after every write
_T = TypeVar("_T")
_DOC_FIELDS = ("title", "url", "path", "publisher", "published", "language")


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    content_hash: str
    title: str
    url: str
    path: str
    publisher: str
    published: str
    language: str
    chunks: int


@dataclass
class Pending:
    """A document on its way into the store."""

    doc: SourceDocument
    chunks: list[Chunk]
    replaces: bool  # an earlier version is stored
    vectors: list[list[float]] = field(default_factory=list)


def _client(settings: Settings):  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        parsed = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc}); start it with "
                "`chroma run --path DIR --host 127.0.0.1 --port 8000`, or unset KAYNAK_CHROMA_URL "
                "to use the index on disk"
            ) from None
    settings.home.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.home / "chroma"), settings=chroma_settings)


class _Gate:
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


class Store:
    """Every read and write goes through chromadb's public Collection API, one handle per
    collection. The embedded (on-disk) Chroma keeps each collection's vector index in process
    memory and never rereads it: a chunk that another process wrote is in SQLite (so `get` by
    id finds it) but not in this process's vector index (so search misses it, and reading its
    vector fails with "Error finding id"). So every write also bumps a generation file beside
    the index, and a reader that sees another process's generation reopens its client first;
    a read that still hits a missing id reopens and retries once."""

    def __init__(self, settings: Settings, embeddings: KaynakEmbeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self._lock = threading.RLock()  # one writer thread at a time in this process
        self._gate = _Gate()
        self._wanted = {
            "embedding_model": embeddings.model_id,
            "schema_version": SCHEMA_VERSION,
            "hnsw:space": "cosine",
        }
        self._generation_file = None if settings.chroma_url else settings.home / GENERATION_FILE
        self._seen_generation = ""
        with storage_faults(settings):
            self._open()

    # --- opening ---------------------------------------------------------------------------

    def _open(self) -> None:
        """(Re)open the client and both collections; callers hold the gate exclusively or
        are the constructor."""
        self._seen_generation = self._generation()
        client = _client(self.settings)
        existing = self._existing_metadata(client, self.settings.collection)
        if existing is not None:
            self._check_compatible(existing, self._wanted)
        self._chunks: Any = client.get_or_create_collection(
            self.settings.collection, metadata=self._wanted, embedding_function=None
        )
        self._docs: Any = client.get_or_create_collection(
            f"{self.settings.collection}__documents",
            metadata={"schema_version": SCHEMA_VERSION, "hnsw:space": "l2"},
            embedding_function=None,
        )
        self._sides: dict[str, Any] = {}  # opened on first use
        self.client = client

    def _reopen(self) -> None:
        with self._gate.exclusive():
            self._close_client()
            self._open()

    def close(self) -> None:
        """Let go of the index (the embedded client's cache of it), e.g. before it is moved."""
        with self._gate.exclusive():
            self._close_client()

    def _close_client(self) -> None:
        # Closing releases the process-wide cache of the embedded index, so the next client
        # reads the index from disk again (an HTTP client has no such cache).
        if not self.settings.chroma_url:
            self.client.close()

    def _existing_metadata(self, client: Any, name: str) -> dict[str, Any] | None:
        names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        if name not in names:
            return None
        return dict(client.get_collection(name, embedding_function=None).metadata or {})

    def _check_compatible(self, existing: dict[str, Any], wanted: dict[str, Any]) -> None:
        where = index_location(self.settings)
        found = existing.get("schema_version")
        if isinstance(found, int) and found > SCHEMA_VERSION:
            raise StoreError(
                f"the index at {where} was written by a newer Kaynak (schema {found}; this one "
                f"reads {SCHEMA_VERSION}). Upgrade Kaynak (`pip install -U kaynak`), or use "
                "another KAYNAK_HOME; `kaynak ingest --rebuild PATH...` would replace that index",
                "newer",
            )
        if found != SCHEMA_VERSION:
            raise StoreError(
                f"the index at {where} was written by another version of Kaynak (schema "
                f"{existing.get('schema_version')!r}, this one reads {SCHEMA_VERSION}); rebuild it "
                "with `kaynak ingest --rebuild PATH...`",
                "damaged",
            )
        if existing.get("embedding_model") != wanted["embedding_model"]:
            raise StoreError(
                f"the index at {where} was built with the embedding model "
                f"{existing.get('embedding_model')!r}, but Kaynak is set to "
                f"{wanted['embedding_model']!r}; vectors from different models cannot be "
                "compared. Either set KAYNAK_EMBEDDINGS back, or rebuild the index with "
                "`kaynak ingest --rebuild PATH...`",
                "model",
            )

    def drop_all(self) -> None:
        """Delete both collections (used by --rebuild) and create them afresh; other threads'
        reads wait for it, then read the new, empty collections."""
        with storage_faults(self.settings), self._lock, self._gate.exclusive():
            drop_index(self.settings, self.client)
            self._bump_generation()
            self._close_client()
            self._open()

    # --- seeing other processes' writes ----------------------------------------------------

    def _generation(self) -> str:
        if self._generation_file is None:
            return ""
        try:
            return self._generation_file.read_text(encoding="utf-8")
        except OSError:
            return ""

    def _bump_generation(self) -> None:
        """Tell other processes on this index that it changed (after every write)."""
        if self._generation_file is None:
            return
        token = f"{os.getpid()}-{time.time_ns()}"
        tmp = self._generation_file.with_name(f"{GENERATION_FILE}.{os.getpid()}.tmp")
        tmp.write_text(token, encoding="utf-8")
        os.replace(tmp, self._generation_file)
        self._seen_generation = token

    @contextmanager
    def _reading(self) -> Iterator[None]:
        if self._generation_file is not None and self._generation() != self._seen_generation:
            self._reopen()  # another process wrote: read the index from disk again
        with self._gate.read():
            yield

    def _read(self, fn: Callable[[], _T]) -> _T:
        """Run a read; if the index lost track of an id another process wrote (or dropped
        the collection), reopen and try once more."""
        from chromadb.errors import ChromaError

        with storage_faults(self.settings):
            with self._reading():
                try:
                    return fn()
                except (ChromaError, ValueError) as exc:
                    if not _stale_error(exc):
                        raise
            self._reopen()
            with self._gate.read():
                return fn()

    # --- documents -------------------------------------------------------------------------

    def documents(self) -> dict[str, DocumentRecord]:
        got = self._read(lambda: self._docs.get(include=["metadatas"]))
        return {i: _record(i, m) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)}

    def source_text(self, doc_id: str) -> str | None:
        got = self._read(lambda: self._docs.get(ids=[doc_id], include=["documents"]))
        docs = got.get("documents") or []
        return docs[0] if docs else None

    def chunk_vectors(self, doc_id: str) -> dict[str, list[float]]:
        """Vectors already stored for a document's chunks, keyed by chunk text."""
        got = self._read(
            lambda: self._chunks.get(where={"doc_id": doc_id}, include=["documents", "embeddings"])
        )
        vectors = got.get("embeddings")
        if vectors is None:
            return {}
        return {
            text: list(map(float, vec)) for text, vec in zip(got["documents"], vectors, strict=True)
        }

    def write_documents(self, items: Sequence[Pending]) -> None:
        """Upsert the chunks of several documents, delete stale chunks of the ones that
        changed, then write their records (last, so a crash leaves them to be redone)."""
        if not items:
            return
        ids: list[str] = []
        texts: list[str] = []
        vectors: list[list[float]] = []
        metadatas: list[dict[str, Any]] = []
        for item in items:
            common = {name: getattr(item.doc, name) or "" for name in _DOC_FIELDS}
            for chunk, vector in zip(item.chunks, item.vectors, strict=True):
                ids.append(chunk.chunk_id)
                texts.append(chunk.text)
                vectors.append(list(vector))
                metadatas.append(
                    {
                        **common,
                        "doc_id": item.doc.doc_id,
                        "start": chunk.start,
                        "end": chunk.end,
                        "index": chunk.index,
                    }
                )
        with storage_faults(self.settings), self._lock, self._reading():
            try:
                batch = max(1, min(self._max_batch(), 2000))
                for i in range(0, len(ids), batch):
                    self._chunks.upsert(
                        ids=ids[i : i + batch],
                        documents=texts[i : i + batch],
                        embeddings=vectors[i : i + batch],
                        metadatas=metadatas[i : i + batch],
                    )
                for item in items:
                    if item.replaces:
                        old = self._chunks.get(where={"doc_id": item.doc.doc_id}, include=[])
                        stale = sorted(set(old["ids"]) - {c.chunk_id for c in item.chunks})
                        if stale:
                            self._chunks.delete(ids=stale)
                self._docs.upsert(
                    ids=[item.doc.doc_id for item in items],
                    documents=[item.doc.text for item in items],
                    # the documents collection is looked up by id, never searched
                    embeddings=[[1.0] for _ in items],
                    metadatas=[
                        {
                            **{name: getattr(item.doc, name) or "" for name in _DOC_FIELDS},
                            "source": item.doc.source,
                            "content_hash": item.doc.content_hash,
                            "chunks": len(item.chunks),
                        }
                        for item in items
                    ],
                )
            finally:
                self._bump_generation()

    def delete_document(self, doc_id: str) -> None:
        with storage_faults(self.settings), self._lock, self._reading():
            try:
                self._docs.delete(ids=[doc_id])
                old = self._chunks.get(where={"doc_id": doc_id}, include=[])["ids"]
                if old:
                    self._chunks.delete(ids=old)
            finally:
                self._bump_generation()

    def orphan_chunk_ids(self) -> list[str]:
        """Chunks whose document has no record (left by a crash, or a vanished source)."""
        known = set(self.documents())
        orphans: list[str] = []
        for chunk_id, _text, meta in self.iter_chunks(include_text=False):
            if meta.get("doc_id") not in known:
                orphans.append(chunk_id)
        return orphans

    def delete_chunks(self, ids: Sequence[str]) -> None:
        with storage_faults(self.settings), self._lock, self._reading():
            try:
                for i in range(0, len(ids), 1000):
                    self._chunks.delete(ids=list(ids[i : i + 1000]))
            finally:
                self._bump_generation()

    # --- reading ---------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._read(lambda: self._chunks.count()))

    def chunk_ids(self) -> list[str]:
        """Every chunk id, in the store's order."""
        return [chunk_id for chunk_id, _t, _m in self.iter_chunks(include_text=False, meta=False)]

    def iter_chunks(
        self, include_text: bool = True, page: int = 5000, meta: bool = True
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        include = (["documents"] if include_text else []) + (["metadatas"] if meta else [])
        offset = 0

        def page_at(offset: int) -> Any:
            return self._read(lambda: self._chunks.get(include=include, limit=page, offset=offset))

        while True:
            got = page_at(offset)
            ids = got["ids"]
            if not ids:
                return
            docs = got.get("documents") or [""] * len(ids)
            metas = got.get("metadatas") or [{}] * len(ids)
            for chunk_id, text, m in zip(ids, docs, metas, strict=True):
                yield chunk_id, text or "", dict(m or {})
            offset += len(ids)

    def search(self, vector: Sequence[float], k: int) -> list[Hit]:
        if k <= 0:
            return []

        def query() -> Any:
            n = self._chunks.count()
            if n == 0:
                return None
            return self._chunks.query(
                query_embeddings=[list(vector)],
                n_results=min(k, n),
                include=["documents", "metadatas", "distances"],
            )

        got = self._read(query)
        if got is None:
            return []
        return [
            Hit(chunk_id=i, text=t, metadata=dict(m or {}), score=1.0 - float(d))
            for i, t, m, d in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ]

    def get_chunks(self, ids: Sequence[str]) -> list[Hit]:
        if not ids:
            return []
        got = self._read(
            lambda: self._chunks.get(ids=list(ids), include=["documents", "metadatas"])
        )
        by_id = {
            i: Hit(i, t, dict(m or {}), 0.0)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def previous_texts(self, hits: Sequence[Hit]) -> dict[str, str]:
        """For each hit, the text of the chunk before it in its document ("" for a first)."""
        wanted = {
            (str(h.metadata.get("doc_id", "")), int(h.metadata.get("index", 0)) - 1): h.chunk_id
            for h in hits
            if int(h.metadata.get("index", 0)) > 0
        }
        out = dict.fromkeys((h.chunk_id for h in hits), "")
        if not wanted:
            return out
        clauses = [{"$and": [{"doc_id": d}, {"index": i}]} for d, i in wanted]
        where = clauses[0] if len(clauses) == 1 else {"$or": clauses}
        got = self._read(lambda: self._chunks.get(where=where, include=["documents", "metadatas"]))
        for text, meta in zip(got["documents"], got["metadatas"], strict=True):
            key = (str(meta.get("doc_id", "")), int(meta.get("index", 0)))
            if key in wanted:
                out[wanted[key]] = text or ""
        return out

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        got = self._read(lambda: self._chunks.get(ids=list(ids), include=["embeddings"]))
        return {i: list(map(float, v)) for i, v in zip(got["ids"], got["embeddings"], strict=True)}

    # --- side collections: another model's vectors of the chunks, keyed by chunk id ------
    # They are derived data: a side collection made by another model is dropped and filled
    # again. Their writes go through the same generation as the chunks', so that no process
    # writes through an index that another process has changed under it.

    def _side(self, name: str, model_id: str) -> Any:
        side = self._sides.get(name)
        if side is None:
            full = f"{self.settings.collection}__{name}"
            meta = {"embedding_model": model_id, "hnsw:space": "cosine"}
            side = self.client.get_or_create_collection(
                full, metadata=meta, embedding_function=None
            )
            if (side.metadata or {}).get("embedding_model") != model_id:
                # another model's vectors: derived data, made again (no store lock here: the
                # callers hold the read gate, and a writer waits for readers under that lock)
                self.client.delete_collection(full)
                side = self.client.get_or_create_collection(
                    full, metadata=meta, embedding_function=None
                )
            self._sides[name] = side
        return side

    def side_vectors(self, name: str, model_id: str, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        got = self._read(
            lambda: self._side(name, model_id).get(ids=list(ids), include=["embeddings"])
        )
        vectors = got.get("embeddings")
        if vectors is None:
            return {}
        return {i: list(map(float, v)) for i, v in zip(got["ids"], vectors, strict=True)}

    def side_nearest(self, name: str, model_id: str, vector: Sequence[float], n: int) -> list[str]:
        def query() -> Any:
            side = self._side(name, model_id)
            count = side.count()
            if count == 0 or n <= 0:
                return None
            return side.query(query_embeddings=[list(vector)], n_results=min(n, count), include=[])

        got = self._read(query)
        return list(got["ids"][0]) if got is not None else []

    def side_ids(self, name: str, model_id: str, page: int = 10_000) -> list[str]:
        ids: list[str] = []

        def page_at(offset: int) -> Any:
            return self._read(
                lambda: self._side(name, model_id).get(include=[], limit=page, offset=offset)
            )

        while True:
            got = page_at(len(ids))
            if not got["ids"]:
                return ids
            ids += got["ids"]

    def side_count(self, name: str, model_id: str) -> int:
        return int(self._read(lambda: self._side(name, model_id).count()))

    def side_write(
        self,
        name: str,
        model_id: str,
        upsert: dict[str, list[float]] | None = None,
        delete: Sequence[str] = (),
    ) -> None:
        with storage_faults(self.settings), self._lock, self._reading():
            try:
                side = self._side(name, model_id)
                if upsert:
                    side.upsert(ids=list(upsert), embeddings=list(upsert.values()))
                for i in range(0, len(delete), 1000):
                    side.delete(ids=list(delete[i : i + 1000]))
            finally:
                self._bump_generation()

    # --- the whole index, for export and import (rag/backup.py) ---------------------------

    def dump(self, page: int = 2000) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """Every collection of this index, page by page: (its name without the prefix, its
        metadata, {"ids", "documents", "metadatas", "embeddings"})."""
        prefix = self.settings.collection
        with storage_faults(self.settings), self._reading():
            names = sorted(
                c if isinstance(c, str) else c.name for c in self.client.list_collections()
            )
            for name in names:
                if name != prefix and not name.startswith(f"{prefix}__"):
                    continue
                collection = self.client.get_collection(name, embedding_function=None)
                suffix = name[len(prefix) :].removeprefix("__")
                metadata = dict(collection.metadata or {})
                offset = 0
                while True:
                    got = collection.get(
                        include=["documents", "metadatas", "embeddings"],
                        limit=page,
                        offset=offset,
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
        with storage_faults(self.settings), self._lock, self._reading():
            try:
                collection = self.client.get_or_create_collection(
                    name, metadata=metadata or None, embedding_function=None
                )
                batch = max(1, min(self._max_batch(), 2000))
                for i in range(0, len(ids), batch):
                    part = slice(i, i + batch)
                    collection.upsert(
                        ids=ids[part],
                        embeddings=embeddings[part],
                        documents=documents[part] if any(documents[part]) else None,
                        metadatas=metadatas[part] if any(metadatas[part]) else None,
                    )
            finally:
                self._bump_generation()
                self._sides = {}  # reopened on first use

    def state(self) -> str:
        """Changes whenever the set of documents or their content changes."""
        docs = self.documents()
        return json.dumps(sorted((d, r.content_hash) for d, r in docs.items()))

    def _max_batch(self) -> int:
        try:
            return int(self.client.get_max_batch_size())
        except Exception:
            return 1000


# --- writers take turns ----------------------------------------------------------------------

LOCK_FILE = "index.lock"
HOLDER_FILE = "index.lock.holder"  # who holds the lock, for the message of whoever waits


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


def drop_index(settings: Settings, client=None) -> None:  # type: ignore[no-untyped-def]
    """Delete the index, whatever model built it (for `kaynak ingest --rebuild`)."""
    client = client or _client(settings)
    existing = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    for name in sorted(existing):
        # the chunks, their documents, and other models' vectors of them ("<name>__e5")
        if name == settings.collection or name.startswith(f"{settings.collection}__"):
            client.delete_collection(name)


def _stale_error(exc: Exception) -> bool:
    """An error that reopening the client cures: an id or collection that another process
    wrote or dropped after this process read the index."""
    text = str(exc)
    return "Error finding id" in text or "does not exist" in text or "not found" in text.lower()


def _record(doc_id: str, meta: dict[str, Any] | None) -> DocumentRecord:
    meta = dict(meta or {})
    return DocumentRecord(
        doc_id=doc_id,
        source=str(meta.get("source", "")),
        content_hash=str(meta.get("content_hash", "")),
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        path=str(meta.get("path", "")),
        publisher=str(meta.get("publisher", "")),
        published=str(meta.get("published", "")),
        language=str(meta.get("language", "")),
        chunks=int(meta.get("chunks", 0)),
    )
