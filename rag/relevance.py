"""The question-passage model (multilingual e5): its vectors of every chunk, kept beside the
index and filled in after ingest, and its scores for a question's candidates.

USE embeds fast enough to keep ingest above 200 chunks/s; e5 (about 20-35 passages/s on two
cores) ranks cross-lingual questions better and separates answering passages from merely
related ones (bench/fit_decisions.py). So a document is searchable as soon as its USE vectors
are written, and e5 vectors follow: `backfill` computes what is missing, in batches, and can
be stopped and resumed at any time (what is stored stays stored). Each chunk gets two vectors:
of the sentence alone, and of the sentence after the one before it (a sentence often leaves
its subject to the previous one). Candidates whose vectors are not there yet are embedded on
demand, the few that matter, and kept in memory.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from rag.embeddings import KaynakEmbeddings, load_embeddings
from rag.store import Store

log = logging.getLogger(__name__)

# Called with (done, total) while vectors are computed.
BackfillProgress = Callable[[int, int], None]


def collection_names(collection: str) -> tuple[str, str]:
    """The collections holding e5 vectors of the chunks of `collection` (alone, in context)."""
    return f"{collection}__e5", f"{collection}__e5ctx"


class Relevance:
    def __init__(self, spec: str, store: Store, threads: int = 2, cache_size: int = 50_000) -> None:
        self.model: KaynakEmbeddings = load_embeddings(spec, threads)
        self.store = store
        meta = {"embedding_model": self.model.model_id, "hnsw:space": "cosine"}
        names = collection_names(store.settings.collection)
        self._alone: Any = store.client.get_or_create_collection(
            names[0], metadata=meta, embedding_function=None
        )
        self._context: Any = store.client.get_or_create_collection(
            names[1], metadata=meta, embedding_function=None
        )
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._computed: OrderedDict[str, np.ndarray] = OrderedDict()  # on demand, not stored
        self._size = cache_size
        self._lock = threading.Lock()
        self._backfill_lock = threading.Lock()

    # --- questions -------------------------------------------------------------------------

    def query(self, question: str) -> np.ndarray:
        with self._lock:
            if question in self._queries:
                self._queries.move_to_end(question)
                return self._queries[question]
        vec = np.asarray(self.model.embed_query(question), dtype=np.float32)
        with self._lock:
            self._remember(self._queries, question, vec)
        return vec

    def search(self, query: np.ndarray, n: int) -> list[str]:
        """The ids of the `n` chunks whose stored e5 vectors are nearest the question."""
        count = int(self._alone.count())
        if count == 0 or n <= 0:
            return []
        got = self._alone.query(query_embeddings=[query.tolist()], n_results=min(n, count), include=[])
        return list(got["ids"][0])

    def scores(
        self, query: np.ndarray, ids: Sequence[str], texts: dict[str, str], on_demand: set[str]
    ) -> dict[str, tuple[float, float]]:
        """(alone, in context) e5 similarity for each of `ids` that has stored vectors, or
        that is in `on_demand` (embedded now, alone; its context score is its own)."""
        stored_alone = self._stored(self._alone, ids)
        stored_context = self._stored(self._context, ids)
        out: dict[str, tuple[float, float]] = {}
        for cid in ids:
            if cid in stored_alone:
                alone = float(stored_alone[cid] @ query)
                context = float(stored_context[cid] @ query) if cid in stored_context else alone
                out[cid] = (alone, context)
        missing = [cid for cid in ids if cid not in out and cid in on_demand]
        with self._lock:
            todo = [cid for cid in missing if cid not in self._computed]
        if todo:
            vectors = self.model.embed_documents([texts[cid] for cid in todo])
            with self._lock:
                for cid, vec in zip(todo, vectors, strict=True):
                    self._remember(self._computed, cid, np.asarray(vec, dtype=np.float32))
        with self._lock:
            for cid in missing:
                if cid in self._computed:
                    value = float(self._computed[cid] @ query)
                    out[cid] = (value, value)
        return out

    def _stored(self, collection: Any, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = collection.get(ids=list(ids), include=["embeddings"])
        vectors = got.get("embeddings")
        if vectors is None:
            return {}
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], vectors, strict=True)}

    def _remember(self, cache: OrderedDict[str, np.ndarray], key: str, value: np.ndarray) -> None:
        cache[key] = value
        while len(cache) > self._size:
            cache.popitem(last=False)

    # --- vectors of the stored chunks ------------------------------------------------------

    def pending(self) -> tuple[int, int]:
        """(chunks with both e5 vectors stored, chunks in the index)."""
        total = self.store.count()
        return min(int(self._alone.count()), int(self._context.count()), total), total

    def backfill(self, on_progress: BackfillProgress | None = None, batch: int = 32) -> int:
        """Compute and store the e5 vectors the index lacks, and forget those of chunks that
        are gone. Returns how many chunks were embedded. Safe to stop at any point."""
        with self._backfill_lock:
            chunks = _in_document_order(self.store.iter_chunks())
            have_alone = set(self._ids(self._alone))
            have_context = set(self._ids(self._context))
            known = {cid for cid, _, _ in chunks}
            for collection, have in ((self._alone, have_alone), (self._context, have_context)):
                stale = sorted(have - known)
                for i in range(0, len(stale), 1000):
                    collection.delete(ids=stale[i : i + 1000])
            todo = [c for c in chunks if c[0] not in have_alone or c[0] not in have_context]
            done = len(chunks) - len(todo)
            if on_progress is not None:
                on_progress(done, len(chunks))
            for i in range(0, len(todo), batch):
                part = todo[i : i + batch]
                ids = [cid for cid, _, _ in part]
                alone = self.model.embed_documents([text for _, text, _ in part])
                context = self.model.embed_documents([ctx for _, _, ctx in part])
                self._alone.upsert(ids=ids, embeddings=alone)
                self._context.upsert(ids=ids, embeddings=context)
                done += len(part)
                if on_progress is not None:
                    on_progress(done, len(chunks))
            return len(todo)

    @staticmethod
    def _ids(collection: Any, page: int = 10_000) -> Iterable[str]:
        offset = 0
        while True:
            got = collection.get(include=[], limit=page, offset=offset)
            if not got["ids"]:
                return
            yield from got["ids"]
            offset += len(got["ids"])


def _in_document_order(
    chunks: Iterable[tuple[str, str, dict[str, Any]]],
) -> list[tuple[str, str, str]]:
    """(chunk id, text, text with the chunk before it in its document)."""
    by_doc: dict[str, list[tuple[int, str, str]]] = {}
    for cid, text, meta in chunks:
        by_doc.setdefault(str(meta.get("doc_id", "")), []).append(
            (int(meta.get("index", 0)), cid, text)
        )
    out: list[tuple[str, str, str]] = []
    for items in by_doc.values():
        items.sort()
        previous = ""
        for _, cid, text in items:
            out.append((cid, text, f"{previous} {text}".strip()))
            previous = text
    return out
