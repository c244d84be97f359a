"""Another model's vectors of the chunks, kept in a side collection of the index by chunk id.

They are derived data: a side collection that another model made is dropped and filled again.
Their writes go through the same generation as the chunks', so that no process writes through
an index that another process has changed under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.store_chroma import Connection, vectors_by

DELETE_BATCH = 1000
ID_PAGE = 10_000


class SideVectors:
    """The side collection `<index>__<name>` of vectors made by the model `model_id`."""

    def __init__(self, connection: Connection, name: str, model_id: str) -> None:
        self.connection = connection
        self.name = name
        self.model_id = model_id

    def _collection(self) -> Any:
        """The open collection (callers hold the connection's read gate or its write lock)."""
        conn = self.connection
        side = conn.sides.get(self.name)
        if side is None:
            full = f"{conn.settings.collection}__{self.name}"
            meta = {"embedding_model": self.model_id, "hnsw:space": "cosine"}
            side = conn.client.get_or_create_collection(
                full, metadata=meta, embedding_function=None
            )
            if (side.metadata or {}).get("embedding_model") != self.model_id:
                # another model's vectors: derived data, made again (no write lock here: the
                # callers hold the read gate, and a writer waits for readers under that lock)
                conn.client.delete_collection(full)
                side = conn.client.get_or_create_collection(
                    full, metadata=meta, embedding_function=None
                )
            conn.sides[self.name] = side
        return side

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        got = self.connection.read(
            lambda: self._collection().get(ids=list(ids), include=["embeddings"])
        )
        return vectors_by(got["ids"], got.get("embeddings"))

    def nearest(self, vector: Sequence[float], n: int) -> list[str]:
        """The ids of the `n` chunks whose vectors are nearest to `vector`."""

        def query() -> Any:
            side = self._collection()
            count = side.count()
            if count == 0 or n <= 0:
                return None
            return side.query(query_embeddings=[list(vector)], n_results=min(n, count), include=[])

        got = self.connection.read(query)
        return list(got["ids"][0]) if got is not None else []

    def ids(self, page: int = ID_PAGE) -> list[str]:
        ids: list[str] = []

        def page_at(offset: int) -> Any:
            return self.connection.read(
                lambda: self._collection().get(include=[], limit=page, offset=offset)
            )

        while True:
            got = page_at(len(ids))
            if not got["ids"]:
                return ids
            ids += got["ids"]

    def count(self) -> int:
        return int(self.connection.read(lambda: self._collection().count()))

    def write(
        self, upsert: dict[str, list[float]] | None = None, delete: Sequence[str] = ()
    ) -> None:
        with self.connection.writing():
            side = self._collection()
            if upsert:
                side.upsert(ids=list(upsert), embeddings=list(upsert.values()))
            for i in range(0, len(delete), DELETE_BATCH):
                side.delete(ids=list(delete[i : i + DELETE_BATCH]))
