"""The index's chunks and documents in Chroma: write, delete, list and search them.

Two collections: `<name>` holds one record per chunk (text, vector, source metadata);
`<name>__documents` holds one record per source document (its cleaned text and content hash),
so a citation can always be checked against the source text. A document's record is written
last: until it is, the document counts as not ingested, and a later run writes it again (a
crash mid-ingest leaves nothing that a re-run does not repair). The connection, the turns that
threads and processes take, and other models' vectors have modules of their own (store_chroma,
store_sync, store_side).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from rag.config import Settings
from rag.store_chroma import Connection, vectors_by
from rag.store_side import SideVectors
from rag.types import DocumentRecord, Hit, Pending

_DOC_FIELDS = ("title", "url", "path", "publisher", "published", "language")
DELETE_BATCH = 1000
CHUNK_PAGE = 5000


class Store:
    """Every read and write goes through chromadb's public Collection API, by way of one
    `Connection` (rag/store_chroma.py) that this process's threads share."""

    def __init__(self, settings: Settings, model_id: str) -> None:
        self.settings = settings
        self.model_id = model_id
        self.connection = Connection(settings, model_id)

    def close(self) -> None:
        """Let go of the index (the embedded client's cache of it), e.g. before it is moved."""
        self.connection.close()

    def drop_all(self) -> None:
        """Delete every collection of the index (used by --rebuild) and start afresh."""
        self.connection.drop()

    def side(self, name: str, model_id: str) -> SideVectors:
        """The side collection `name` of vectors by the model `model_id` (rag/relevance.py)."""
        return SideVectors(self.connection, name, model_id)

    # --- documents -------------------------------------------------------------------------

    def documents(self) -> dict[str, DocumentRecord]:
        got = self.connection.read(lambda: self.connection.docs.get(include=["metadatas"]))
        return {
            i: DocumentRecord.from_metadata(i, m)
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
        }

    def source_text(self, doc_id: str) -> str | None:
        got = self.connection.read(
            lambda: self.connection.docs.get(ids=[doc_id], include=["documents"])
        )
        docs = got.get("documents") or []
        return docs[0] if docs else None

    def chunk_vectors(self, doc_id: str) -> dict[str, list[float]]:
        """Vectors already stored for a document's chunks, keyed by chunk text."""
        got = self.connection.read(
            lambda: self.connection.chunks.get(
                where={"doc_id": doc_id}, include=["documents", "embeddings"]
            )
        )
        return vectors_by(got["documents"], got.get("embeddings"))

    def write_documents(self, items: Sequence[Pending]) -> None:
        """Upsert the chunks of several documents, delete stale chunks of the ones that
        changed, then write their records (last, so a crash leaves them to be redone)."""
        if not items:
            return
        ids, texts, vectors, metadatas = _chunk_rows(items)
        conn = self.connection
        with conn.writing():
            batch = conn.batch_size()
            for i in range(0, len(ids), batch):
                conn.chunks.upsert(
                    ids=ids[i : i + batch],
                    documents=texts[i : i + batch],
                    embeddings=vectors[i : i + batch],
                    metadatas=metadatas[i : i + batch],
                )
            for item in items:
                if item.replaces:
                    old = conn.chunks.get(where={"doc_id": item.doc.doc_id}, include=[])
                    stale = sorted(set(old["ids"]) - {c.chunk_id for c in item.chunks})
                    if stale:
                        conn.chunks.delete(ids=stale)
            conn.docs.upsert(
                ids=[item.doc.doc_id for item in items],
                documents=[item.doc.text for item in items],
                # the documents collection is looked up by id, never searched
                embeddings=[[1.0] for _ in items],
                metadatas=[_document_row(item) for item in items],
            )

    def delete_document(self, doc_id: str) -> None:
        conn = self.connection
        with conn.writing():
            conn.docs.delete(ids=[doc_id])
            old = conn.chunks.get(where={"doc_id": doc_id}, include=[])["ids"]
            if old:
                conn.chunks.delete(ids=old)

    def orphan_chunk_ids(self) -> list[str]:
        """Chunks whose document has no record (left by a crash, or a vanished source)."""
        known = set(self.documents())
        orphans: list[str] = []
        for chunk_id, _text, meta in self.iter_chunks(include_text=False):
            if meta.get("doc_id") not in known:
                orphans.append(chunk_id)
        return orphans

    def delete_chunks(self, ids: Sequence[str]) -> None:
        conn = self.connection
        with conn.writing():
            for i in range(0, len(ids), DELETE_BATCH):
                conn.chunks.delete(ids=list(ids[i : i + DELETE_BATCH]))

    # --- reading ---------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.connection.read(self._count))

    def _count(self) -> int:
        return int(self.connection.chunks.count())

    def chunk_ids(self) -> list[str]:
        """Every chunk id, in the store's order."""
        return [chunk_id for chunk_id, _t, _m in self.iter_chunks(include_text=False, meta=False)]

    def iter_chunks(
        self, include_text: bool = True, page: int = CHUNK_PAGE, meta: bool = True
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        include = (["documents"] if include_text else []) + (["metadatas"] if meta else [])
        offset = 0

        def page_at(offset: int) -> Any:
            return self.connection.read(
                lambda: self.connection.chunks.get(include=include, limit=page, offset=offset)
            )

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
            n = self.connection.chunks.count()
            if n == 0:
                return None
            return self.connection.chunks.query(
                query_embeddings=[list(vector)],
                n_results=min(k, n),
                include=["documents", "metadatas", "distances"],
            )

        got = self.connection.read(query)
        if got is None:
            return []
        return _hits(got)

    def get_chunks(self, ids: Sequence[str]) -> list[Hit]:
        if not ids:
            return []
        got = self.connection.read(
            lambda: self.connection.chunks.get(ids=list(ids), include=["documents", "metadatas"])
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
        got = self.connection.read(
            lambda: self.connection.chunks.get(where=where, include=["documents", "metadatas"])
        )
        for text, meta in zip(got["documents"], got["metadatas"], strict=True):
            key = (str(meta.get("doc_id", "")), int(meta.get("index", 0)))
            if key in wanted:
                out[wanted[key]] = text or ""
        return out

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        got = self.connection.read(
            lambda: self.connection.chunks.get(ids=list(ids), include=["embeddings"])
        )
        return vectors_by(got["ids"], got["embeddings"])

    def state(self) -> str:
        """Changes whenever the set of documents or their content changes."""
        docs = self.documents()
        return json.dumps(sorted((d, r.content_hash) for d, r in docs.items()))


def _chunk_rows(
    items: Sequence[Pending],
) -> tuple[list[str], list[str], list[list[float]], list[dict[str, Any]]]:
    """The ids, texts, vectors and metadata of the chunks of `items`, in that order."""
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
    return ids, texts, vectors, metadatas


def _document_row(item: Pending) -> dict[str, Any]:
    """The metadata of a document's record."""
    return {
        **{name: getattr(item.doc, name) or "" for name in _DOC_FIELDS},
        "source": item.doc.source,
        "content_hash": item.doc.content_hash,
        "chunks": len(item.chunks),
    }


def _hits(got: dict[str, Any]) -> list[Hit]:
    """The hits of a query's result (Chroma gives one row per query vector; here, one)."""
    row = (got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
    return [
        Hit(chunk_id=i, text=t, metadata=dict(m or {}), score=1.0 - float(d))
        for i, t, m, d in zip(*row, strict=True)
    ]
