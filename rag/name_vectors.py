"""The multilingual model's vectors of the names in the stored chunks, kept in a side
collection, so that matching a question's names by meaning (matching.ByMeaning) reads the
passages' names instead of embedding them on the question.

Without them, a question whose name is not spelled alike in its best passages (an English
question about Turkish text: Germany / Almanya) embedded every name of those passages and
the text around them the first time it met them: 40 to 80 short texts, the fat tail of
English questions' answer times (bench/xquad.py). They are computed after ingest, with the
relevance vectors (relevance.Backfill), and found by the name's text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from rag.embeddings import KaynakEmbeddings, unit_vectors
from rag.store import Store
from rag.store_side import SideVectors
from rag.store_sync import write_lock
from rag.text import names_and_numbers, short_hash

log = logging.getLogger(__name__)

SIDE = "names"  # the side collection "<collection>__names"
WAIT_FOR_WRITER = 600.0  # seconds a batch waits for another process's write to finish
_BATCH = 256


def chunk_names(text: str) -> list[str]:
    """The names of a chunk that matching by meaning compares (numbers are never matched
    by meaning)."""
    return [n for n in names_and_numbers(text) if not n.isdigit()]


def name_id(name: str) -> str:
    return short_hash(name)


class NameVectors:
    """The stored vectors of the chunks' names, by the embeddings the index was built with."""

    def __init__(self, store: Store, embeddings: KaynakEmbeddings) -> None:
        self.store = store
        self.embeddings = embeddings
        self._lock = threading.Lock()

    def _side(self) -> SideVectors:
        return self.store.side(SIDE, self.embeddings.model_id)

    def lookup(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `names` that a chunk has (unit rows)."""
        if not names:
            return {}
        by_id = {name_id(n): n for n in names}
        got = self._side().vectors(list(by_id))
        return {by_id[i]: np.asarray(v, dtype=np.float32) for i, v in got.items()}

    def backfill(self, stop: threading.Event | None = None) -> int:
        """Embed and store the names of the stored chunks that have no vector yet, and drop the
        vectors of names no chunk has any more (their documents removed or replaced); returns
        how many were embedded. Safe to stop between batches (what is stored stays stored)."""
        with self._lock:
            have = set(self._side().ids())
            wanted: dict[str, str] = {}
            for _, text, _ in self.store.iter_chunks(meta=False):
                for name in chunk_names(text):
                    wanted.setdefault(name_id(name), name)
            if stop is not None and stop.is_set():  # no write once asked to stop
                return 0
            # (a chunk that the scan skipped, as another process deleted chunks under it,
            # may lose its names' vectors: a missing one is embedded on the question that
            # needs it, and again by the next backfill)
            stale = sorted(have - wanted.keys())
            if stale:
                with write_lock(self.store.settings, WAIT_FOR_WRITER, log.info):
                    self._side().write(delete=stale)
            names = [(key, name) for key, name in wanted.items() if key not in have]
            done = 0
            for i in range(0, len(names), _BATCH):
                if stop is not None and stop.is_set():
                    break
                part = names[i : i + _BATCH]
                vectors = unit_vectors(self.embeddings, [n for _, n in part])
                upsert = {key: v.tolist() for (key, _), v in zip(part, vectors, strict=True)}
                with write_lock(self.store.settings, WAIT_FOR_WRITER, log.info):
                    self._side().write(upsert=upsert)
                done += len(part)
            return done
