"""The question-passage model (multilingual e5) that judges whether passages answer a question."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rag.store import Hit


class Relevance:
    """Judges whether passages answer a question with a query-passage model (multilingual e5).
    Dense retrieval similarity ranks well but says little about whether anything relevant was
    found at all; e5, trained on question-passage pairs, separates the two far better (see
    docs/benchmarks.md). Its passage vectors are computed on demand for the few top passages
    and kept, so ingestion stays fast."""

    def __init__(self, spec: str, threads: int = 2, cache_size: int = 50_000) -> None:
        from rag.embeddings import load_embeddings

        self.model = load_embeddings(spec, threads)
        self._passages: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def scores(self, question: str, hits: Sequence[Hit]) -> list[float]:
        query = self._cached(self._queries, question, lambda: self.model.embed_query(question))
        missing = [h for h in hits if h.chunk_id not in self._passages]
        if missing:
            vectors = self.model.embed_documents([h.text for h in missing])
            for h, v in zip(missing, vectors, strict=True):
                self._cached(self._passages, h.chunk_id, lambda v=v: v)
        with self._lock:
            return [float(self._passages[h.chunk_id] @ query) for h in hits]

    def _cached(self, cache: OrderedDict[str, np.ndarray], key: str, make) -> np.ndarray:  # type: ignore[no-untyped-def]
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = np.asarray(make(), dtype=np.float32)
        with self._lock:
            cache[key] = value
            while len(cache) > self._size:
                cache.popitem(last=False)
        return value
