"""The BM25 index that follows the store: lexical evidence for ranking, and which words and
names the sources mention at all."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.store import Store
from rag.text import fold, mentions, name_words, stems_of, tokens


class LexicalIndex:
    """BM25 over the stems of every chunk, rebuilt when the store's documents change."""

    def __init__(self, store: Store) -> None:
        import bm25s

        self.state = store.state()
        self.ids: list[str] = []
        self.words: set[str] = set()  # every folded word, for checking names
        self.names: set[str] = set()  # folded words of capitalised names
        corpus: list[list[str]] = []
        for chunk_id, text, _meta in store.iter_chunks():
            self.ids.append(chunk_id)
            words = tokens(text)
            self.words.update(words)
            self.names.update(name_words(text))
            corpus.append(stems_of(words) or ["\x00"])
        df: dict[str, int] = {}
        for doc in corpus:
            for t in set(doc):
                df[t] = df.get(t, 0) + 1
        n = len(corpus)
        # BM25's (Lucene) idf, to know the most a query's terms can score together
        self.idf = {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}
        self.vocabulary = set(df)
        self._mentions: dict[str, bool] = {}
        self._bm25 = bm25s.BM25()
        if corpus:
            self._bm25.index(corpus, show_progress=False)
        self._position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}

    def scores(self, query_stems: Sequence[str]) -> np.ndarray:
        """BM25 scores as a share of what a passage holding every query term would score:
        a passage that shares only common words with the question gets little."""
        known = [s for s in query_stems if s in self.vocabulary]
        if not known or not self.ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        ceiling = sum(self.idf[s] for s in known) * (1 + 1.5)  # idf x (k1 + 1), tf saturated
        raw = np.asarray(self._bm25.get_scores(known), dtype=np.float32)
        return np.clip(raw / max(ceiling, 1e-9), 0.0, 1.0)

    def position(self, chunk_id: str) -> int | None:
        return self._position.get(chunk_id)

    def mentions(self, name: str) -> bool:
        """Whether any chunk has this name or number, allowing for spelling across languages
        (Canada/Kanada, Russia/Rusya, China/Çin)."""
        folded = fold(name)
        if folded not in self._mentions:
            self._mentions[folded] = mentions(name, self.words, self.names)
        return self._mentions[folded]
