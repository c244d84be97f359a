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

import atexit
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from rag.embeddings import KaynakEmbeddings, VectorCache, load_embeddings
from rag.name_vectors import NameVectors
from rag.store import Store
from rag.store_sync import write_lock
from rag.types import Hit

log = logging.getLogger(__name__)

WAIT_FOR_WRITER = 600.0  # seconds a batch waits for another process's write to finish
STOP_WAIT = 60.0  # seconds an exiting process waits for the batch being computed
# Called with (done, total) while vectors are computed.
BackfillProgress = Callable[[int, int], None]


ALONE, CONTEXT = "e5", "e5ctx"  # the store's side collections ("<collection>__e5")


class Relevance:
    def __init__(self, spec: str, store: Store, threads: int = 2, cache_size: int = 50_000) -> None:
        self.model: KaynakEmbeddings = load_embeddings(spec, threads)
        self.store = store
        self._queries = VectorCache(cache_size)
        self._computed = VectorCache(cache_size)  # (alone, in context), on demand, not stored
        self._backfill_lock = threading.Lock()

    # --- questions -------------------------------------------------------------------------

    def query(self, question: str) -> np.ndarray:
        model = self.model.model_id
        known = self._queries.get(model, [question])
        if question in known:
            return known[question]
        vec = np.asarray(self.model.embed_query(question), dtype=np.float32)
        self._queries.put(model, {question: vec})
        return vec

    def search(self, query: np.ndarray, n: int) -> list[str]:
        """The ids of the `n` chunks whose stored e5 vectors are nearest the question."""
        return self.store.side(ALONE, self.model.model_id).nearest(query.tolist(), n)

    def scores(
        self, query: np.ndarray, hits: Sequence[Hit], on_demand: set[str]
    ) -> dict[str, tuple[float, float]]:
        """(alone, in context) e5 similarity for each hit that has stored vectors, or that is
        in `on_demand` (embedded now, the same way `backfill` would, and kept in memory)."""
        ids = [h.chunk_id for h in hits]
        stored = {side: self._stored(side, ids) for side in (ALONE, CONTEXT)}
        missing = [
            h
            for h in hits
            if h.chunk_id in on_demand
            and (h.chunk_id not in stored[ALONE] or h.chunk_id not in stored[CONTEXT])
        ]
        model = self.model.model_id
        known = self._computed.get(model, [h.chunk_id for h in missing])
        todo = [h for h in missing if h.chunk_id not in known]
        if todo:
            previous = self.store.previous_texts(todo)
            texts = [h.text for h in todo]
            texts += [f"{previous[h.chunk_id]} {h.text}".strip() for h in todo]
            vectors = self.model.embed_documents(texts)
            fresh = {
                h.chunk_id: np.asarray([vectors[i], vectors[len(todo) + i]], dtype=np.float32)
                for i, h in enumerate(todo)
            }
            self._computed.put(model, fresh)
            known.update(fresh)
        computed = {h.chunk_id: known.get(h.chunk_id) for h in missing}
        out: dict[str, tuple[float, float]] = {}
        for cid in ids:
            both = computed.get(cid)
            if both is not None:
                out[cid] = (float(both[0] @ query), float(both[1] @ query))
            elif cid in stored[ALONE] and cid in stored[CONTEXT]:
                out[cid] = (float(stored[ALONE][cid] @ query), float(stored[CONTEXT][cid] @ query))
        return out

    def _stored(self, side: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        got = self.store.side(side, self.model.model_id).vectors(ids)
        return {i: np.asarray(v, dtype=np.float32) for i, v in got.items()}

    # --- vectors of the stored chunks ------------------------------------------------------

    def pending(self) -> tuple[int, int]:
        """(chunks with both e5 vectors stored, chunks in the index)."""
        model = self.model.model_id
        stored = min(self.store.side(ALONE, model).count(), self.store.side(CONTEXT, model).count())
        total = self.store.count()
        return min(stored, total), total

    def backfill(
        self,
        on_progress: BackfillProgress | None = None,
        batch: int = 8,
        stop: threading.Event | None = None,
    ) -> int:
        """Compute and store the e5 vectors the index lacks, and forget those of chunks that
        are gone. Returns how many chunks were embedded. Safe to stop at any point. Small
        batches: a question waits for the model at most one batch, and each batch takes the
        index's write lock only while it writes."""
        model = self.model.model_id
        with self._backfill_lock:
            # stored ids first: a chunk another process adds meanwhile is not taken for stale
            have = {side: set(self.store.side(side, model).ids()) for side in (ALONE, CONTEXT)}
            chunks = _in_document_order(self.store.iter_chunks())
            known = {cid for cid, _, _ in chunks}
            for side in (ALONE, CONTEXT):
                stale = sorted(have[side] - known)
                if stale:
                    with write_lock(self.store.settings, WAIT_FOR_WRITER, log.info):
                        self.store.side(side, model).write(delete=stale)
            todo = [c for c in chunks if c[0] not in have[ALONE] or c[0] not in have[CONTEXT]]
            done = len(chunks) - len(todo)
            if on_progress is not None:
                on_progress(done, len(chunks))
            for i in range(0, len(todo), batch):
                if stop is not None and stop.is_set():
                    break
                part = todo[i : i + batch]
                ids = [cid for cid, _, _ in part]
                alone = self.model.embed_documents([text for _, text, _ in part])
                context = self.model.embed_documents([ctx for _, _, ctx in part])
                with write_lock(self.store.settings, WAIT_FOR_WRITER, log.info):
                    self.store.side(ALONE, model).write(upsert=dict(zip(ids, alone, strict=True)))
                    self.store.side(CONTEXT, model).write(
                        upsert=dict(zip(ids, context, strict=True))
                    )
                done += len(part)
                if on_progress is not None:
                    on_progress(done, len(chunks))
            return done - (len(chunks) - len(todo))


class Backfill:
    """The relevance (e5) vectors of new chunks, then their names' vectors, computed in one
    background thread after an ingest (asked again while it runs, it goes round once more),
    and stopped between two batches, never inside a write, when the process exits. Without a
    relevance model the names' vectors are still computed."""

    def __init__(self, relevance: Relevance | None, names: NameVectors | None = None) -> None:
        self.relevance = relevance
        self.names = names  # the chunks' names' vectors, computed after the relevance ones
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._again = False
        self._stopping = threading.Event()
        self._exit_hook = False

    def start(self) -> None:
        if self.relevance is None and self.names is None:
            return
        with self._lock:
            if self._thread is not None:
                self._again = True  # new chunks arrived while it runs
                return
            self._thread = threading.Thread(target=self._run, name="kaynak-e5-vectors", daemon=True)
            self._thread.start()
            if not self._exit_hook:
                atexit.register(self._stop)
                self._exit_hook = True

    def _run(self) -> None:
        while True:
            try:
                self.complete(wait=False)
            except Exception:  # the index stays searchable; the next ingest or start resumes
                log.exception("computing vectors in the background failed")
            with self._lock:
                if not self._again or self._stopping.is_set():
                    self._thread = None
                    return
                self._again = False

    def _stop(self) -> None:
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=STOP_WAIT)

    def complete(self, on_progress: BackfillProgress | None = None, wait: bool = True) -> int:
        """Compute every missing vector now; with `wait`, after the background thread. Returns
        how many chunks got their relevance vectors."""
        thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()
        done = 0
        if self.relevance is not None:
            done = self.relevance.backfill(on_progress, stop=self._stopping)
        if self.names is not None:
            self.names.backfill(stop=self._stopping)
        return done

    def progress(self) -> tuple[int, int] | None:
        """(chunks with both vectors, chunks), or None without a relevance model."""
        return self.relevance.pending() if self.relevance is not None else None


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
