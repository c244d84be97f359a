"""Chroma, embedded on disk or a Chroma server by URL: write, delete and search chunks.

Two collections: `<name>` holds one record per chunk (text, vector, source metadata), through
LangChain's Chroma wrapper; `<name>__documents` holds one record per source document (its
cleaned text and content hash), so a citation can always be checked against the source text.
A document's record is written last: until it is, the document counts as not ingested, and a
later run writes it again (a crash mid-ingest leaves nothing that a re-run does not repair).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from rag.config import Settings
from rag.embeddings import KaynakEmbeddings
from rag.types import Chunk, SourceDocument

SCHEMA_VERSION = 1
_DOC_FIELDS = ("title", "url", "path", "publisher", "published", "language")


class StoreError(RuntimeError):
    """The store cannot be used as it is; the message says how to fix it."""


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


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float  # cosine similarity


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


class Store:
    def __init__(self, settings: Settings, embeddings: KaynakEmbeddings) -> None:
        from langchain_chroma import Chroma

        self.settings = settings
        self.embeddings = embeddings
        self.client = _client(settings)
        self._lock = threading.RLock()
        wanted = {
            "embedding_model": embeddings.model_id,
            "schema_version": SCHEMA_VERSION,
            "hnsw:space": "cosine",
        }
        existing = self._existing_metadata(settings.collection)
        if existing is not None:
            self._check_compatible(existing, wanted)
        self.chunks = Chroma(
            collection_name=settings.collection,
            embedding_function=embeddings,
            client=self.client,
            collection_metadata=wanted,
        )
        # chromadb's own collection, for the calls LangChain's wrapper does not expose
        self._col: Any = self.chunks._collection
        self._docs: Any = self.client.get_or_create_collection(
            f"{settings.collection}__documents",
            metadata={"schema_version": SCHEMA_VERSION, "hnsw:space": "l2"},
            embedding_function=None,
        )

    # --- opening ---------------------------------------------------------------------------

    def _existing_metadata(self, name: str) -> dict[str, Any] | None:
        try:
            names = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        except Exception as exc:
            raise StoreError(f"cannot open the Chroma store: {exc}") from None
        if name not in names:
            return None
        return dict(self.client.get_collection(name, embedding_function=None).metadata or {})

    def _check_compatible(self, existing: dict[str, Any], wanted: dict[str, Any]) -> None:
        where = self.settings.chroma_url or str(self.settings.home / "chroma")
        if existing.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(
                f"the index at {where} was written by another version of Kaynak (schema "
                f"{existing.get('schema_version')!r}, this one reads {SCHEMA_VERSION}); rebuild it "
                "with `kaynak ingest --rebuild PATH...`"
            )
        if existing.get("embedding_model") != wanted["embedding_model"]:
            raise StoreError(
                f"the index at {where} was built with the embedding model "
                f"{existing.get('embedding_model')!r}, but Kaynak is set to "
                f"{wanted['embedding_model']!r}; vectors from different models cannot be "
                "compared. Either set KAYNAK_EMBEDDINGS back, or rebuild the index with "
                "`kaynak ingest --rebuild PATH...`"
            )

    def drop_all(self) -> None:
        """Delete both collections (used by --rebuild) and create them afresh."""
        with self._lock:
            drop_index(self.settings, self.client)
        self.__init__(self.settings, self.embeddings)  # type: ignore[misc]

    # --- documents -------------------------------------------------------------------------

    def documents(self) -> dict[str, DocumentRecord]:
        got = self._docs.get(include=["metadatas"])
        return {i: _record(i, m) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)}

    def source_text(self, doc_id: str) -> str | None:
        got = self._docs.get(ids=[doc_id], include=["documents"])
        docs = got.get("documents") or []
        return docs[0] if docs else None

    def chunk_vectors(self, doc_id: str) -> dict[str, list[float]]:
        """Vectors already stored for a document's chunks, keyed by chunk text."""
        got = self.chunks.get(where={"doc_id": doc_id}, include=["documents", "embeddings"])
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
        with self._lock:
            batch = max(1, min(self._max_batch(), 2000))
            for i in range(0, len(ids), batch):
                self._col.upsert(
                    ids=ids[i : i + batch],
                    documents=texts[i : i + batch],
                    embeddings=vectors[i : i + batch],
                    metadatas=metadatas[i : i + batch],
                )
            for item in items:
                if item.replaces:
                    old = self.chunks.get(where={"doc_id": item.doc.doc_id}, include=[])["ids"]
                    stale = sorted(set(old) - {c.chunk_id for c in item.chunks})
                    if stale:
                        self.chunks.delete(ids=stale)
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

    def delete_document(self, doc_id: str) -> None:
        with self._lock:
            self._docs.delete(ids=[doc_id])
            old = self.chunks.get(where={"doc_id": doc_id}, include=[])["ids"]
            if old:
                self.chunks.delete(ids=old)

    def orphan_chunk_ids(self) -> list[str]:
        """Chunks whose document has no record (left by a crash, or a vanished source)."""
        known = set(self.documents())
        orphans: list[str] = []
        for chunk_id, _text, meta in self.iter_chunks(include_text=False):
            if meta.get("doc_id") not in known:
                orphans.append(chunk_id)
        return orphans

    def delete_chunks(self, ids: Sequence[str]) -> None:
        with self._lock:
            for i in range(0, len(ids), 1000):
                self.chunks.delete(ids=list(ids[i : i + 1000]))

    # --- reading ---------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._col.count())

    def iter_chunks(
        self, include_text: bool = True, page: int = 5000
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        include = ["documents", "metadatas"] if include_text else ["metadatas"]
        offset = 0
        while True:
            got = self._col.get(include=include, limit=page, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            docs = got.get("documents") or [""] * len(ids)
            for chunk_id, text, meta in zip(ids, docs, got["metadatas"], strict=True):
                yield chunk_id, text or "", dict(meta or {})
            offset += len(ids)

    def search(self, vector: Sequence[float], k: int) -> list[Hit]:
        if k <= 0:
            return []
        n = self.count()
        if n == 0:
            return []
        got = self._col.query(
            query_embeddings=[list(vector)],
            n_results=min(k, n),
            include=["documents", "metadatas", "distances"],
        )
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
        got = self._col.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            i: Hit(i, t, dict(m or {}), 0.0)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        got = self._col.get(ids=list(ids), include=["embeddings"])
        return {i: list(map(float, v)) for i, v in zip(got["ids"], got["embeddings"], strict=True)}

    def state(self) -> str:
        """Changes whenever the set of documents or their content changes."""
        docs = self.documents()
        return json.dumps(sorted((d, r.content_hash) for d, r in docs.items()))

    def _max_batch(self) -> int:
        try:
            return int(self.client.get_max_batch_size())
        except Exception:
            return 1000


def drop_index(settings: Settings, client=None) -> None:  # type: ignore[no-untyped-def]
    """Delete the index, whatever model built it (for `kaynak ingest --rebuild`)."""
    client = client or _client(settings)
    existing = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    for name in (settings.collection, f"{settings.collection}__documents"):
        if name in existing:
            client.delete_collection(name)


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
