"""The BM25 index that follows the store: lexical evidence for ranking, and which words and
names the sources mention at all. It is saved beside the Chroma index, so a new process loads
it instead of reading and tokenizing every chunk again, and it is updated from the previous
one when documents change: only chunks it has not seen are read and tokenized."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.matching import mentions, name_words
from rag.store import Store
from rag.text import fold, stems_of, tokens

log = logging.getLogger(__name__)
# bm25s warns "Building index from tokens" on every build, which is what we mean to do
logging.getLogger("bm25s").setLevel(logging.ERROR)

# Bump when text.tokens(), text.stems_of(), matching.name_words() or the saved layout change:
# an index saved by another version is then rebuilt, never read with the wrong words.
FORMAT = 1
_FETCH = 2000  # chunks read from the store per request when updating
_sequence = itertools.count()  # orders indexes by when their store state was read


class LexicalIndex:
    """BM25 over the stems of every chunk. Build one with `open` (the saved one, or built and
    saved) and a newer one with `updated`; an index never changes once built."""

    def __init__(
        self,
        state: str,
        ids: list[str],
        words: set[str],
        names: set[str],
        idf: dict[str, float],
        bm25: Any,
        *,
        folder: Path | None,
        sequence: int,
    ) -> None:
        self.state = state
        self.ids = ids
        self.words = words  # every folded word, for checking names
        self.names = names  # folded words of capitalised names
        self.idf = idf
        self.vocabulary = set(idf)
        self.sequence = sequence  # newer store states have higher numbers
        self._bm25 = bm25
        self._folder = folder  # where it is saved, with each chunk's words for the next update
        self._mentions: dict[str, bool] = {}
        self._position = {chunk_id: i for i, chunk_id in enumerate(ids)}
        self._top_idf = max(idf.values(), default=1.0)
        self._update_lock = threading.Lock()
        self._updating: tuple[str, threading.Thread] | None = None

    # --- making one ------------------------------------------------------------------------

    @classmethod
    def open(cls, store: Store) -> LexicalIndex:
        """The saved index if it matches the store; else one updated from the latest saved
        index (or built from scratch), and saved."""
        sequence, state = next(_sequence), store.state()
        folder = _folder(store, state)
        if (folder / "meta.json").is_file():
            try:
                return cls._load(folder, sequence)
            except (OSError, ValueError, KeyError) as exc:  # half-deleted or damaged: rebuild
                log.warning(
                    "cannot load the saved lexical index at %s (%s); rebuilding", folder, exc
                )
        return cls._build(store, state, _latest_saved(store), sequence)

    def update_in_background(
        self, store: Store, install: Callable[[LexicalIndex], None]
    ) -> threading.Thread:
        """Start building the index for the store's current state (once per state) and hand
        it to `install`; this one keeps serving meanwhile."""
        sequence, state = next(_sequence), store.state()
        with self._update_lock:
            if self._updating and self._updating[0] == state and self._updating[1].is_alive():
                return self._updating[1]

            def work() -> None:
                try:
                    install(self._build(store, state, self._folder, sequence))
                except Exception:  # the current index keeps serving; the next change retries
                    log.exception("updating the lexical index failed")

            thread = threading.Thread(target=work, name="kaynak-lexical", daemon=True)
            thread.start()
            self._updating = (state, thread)
            return thread

    @classmethod
    def _build(cls, store: Store, state: str, previous: Path | None, sequence: int) -> LexicalIndex:
        import bm25s

        ids = store.chunk_ids()
        known = _load_chunk_words(previous, set(ids)) if previous is not None else {}
        missing = [i for i in ids if i not in known]
        for start in range(0, len(missing), _FETCH):
            for hit in store.get_chunks(missing[start : start + _FETCH]):
                known[hit.chunk_id] = (tokens(hit.text), sorted(name_words(hit.text)))
        ids = [i for i in ids if i in known]  # a chunk deleted meanwhile
        words: set[str] = set()
        names: set[str] = set()
        corpus: list[list[str]] = []
        for chunk_id in ids:
            chunk_words, chunk_names = known[chunk_id]
            words.update(chunk_words)
            names.update(chunk_names)
            corpus.append(stems_of(chunk_words) or ["\x00"])
        df: dict[str, int] = {}
        for doc in corpus:
            for t in set(doc):
                df[t] = df.get(t, 0) + 1
        n = len(corpus)
        # BM25's (Lucene) idf, to know the most a query's terms can score together
        idf = {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}
        bm25 = bm25s.BM25()
        if corpus:
            bm25.index(corpus, show_progress=False)
        index = cls(
            state, ids, words, names, idf, bm25 if corpus else None, folder=None, sequence=sequence
        )
        try:
            index._folder = index._save(store, {i: known[i] for i in ids})
        except OSError as exc:  # a read-only home still gets a working index
            log.warning("cannot save the lexical index (%s)", exc)
        return index

    # --- saving and loading ----------------------------------------------------------------

    def _save(self, store: Store, chunk_words: dict[str, tuple[list[str], list[str]]]) -> Path:
        """Write into a private folder, then rename it into place: a reader never sees half
        an index, and two processes saving the same state both end with a whole one."""
        final = _folder(store, self.state)
        root = final.parent
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".tmp-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        meta = {
            "format": FORMAT,
            "state": self.state,
            "ids": self.ids,
            "words": sorted(self.words),
            "names": sorted(self.names),
            "idf": self.idf,
        }
        try:
            if self._bm25 is not None:
                self._bm25.save(str(tmp / "bm25"))
            (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            (tmp / "chunks.json").write_text(
                json.dumps(chunk_words, ensure_ascii=False), encoding="utf-8"
            )
        except OSError:  # a full disk: leave no half-written folder to fill it further
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            tmp.rename(final)
        except OSError:  # another process saved the same state first
            shutil.rmtree(tmp, ignore_errors=True)
        for old in root.iterdir():  # keep only the newest saved index
            if old != final and not old.name.startswith(".tmp-"):
                shutil.rmtree(old, ignore_errors=True)
        return final

    @classmethod
    def _load(cls, folder: Path, sequence: int) -> LexicalIndex:
        import bm25s

        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"saved by another version (format {meta.get('format')})")
        bm25 = None
        if (folder / "bm25").is_dir():
            # memory-mapped: the score matrix is read from disk as queries need it
            bm25 = bm25s.BM25.load(str(folder / "bm25"), mmap=True)
        return cls(
            meta["state"],
            list(meta["ids"]),
            set(meta["words"]),
            set(meta["names"]),
            {str(k): float(v) for k, v in meta["idf"].items()},
            bm25,
            folder=folder,
            sequence=sequence,
        )

    # --- using it --------------------------------------------------------------------------

    def scores(self, query_stems: Sequence[str]) -> np.ndarray:
        """BM25 scores as a share of what a passage holding every query term would score:
        a passage that shares only common words with the question gets little."""
        known = [s for s in query_stems if s in self.vocabulary]
        if not known or not self.ids or self._bm25 is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        ceiling = sum(self.idf[s] for s in known) * (1 + 1.5)  # idf x (k1 + 1), tf saturated
        raw = np.asarray(self._bm25.get_scores(known), dtype=np.float32)
        scores: np.ndarray = np.clip(raw / max(ceiling, 1e-9), 0.0, 1.0)
        return scores

    def weight(self, word: str, translations: Sequence[str] = ()) -> float:
        """How much folded `word` counts as evidence: the idf of its stem or, when it is
        matched through `translations`, of the rarest one the sources hold; the highest
        idf for a word no source holds (a question's word the sources lack weighs most)."""
        known = [self.idf[t[:5]] for t in translations if t[:5] in self.idf]
        if known:
            return max(known)
        return self.idf.get(word[:5], self._top_idf)

    def position(self, chunk_id: str) -> int | None:
        return self._position.get(chunk_id)

    def mentions(self, name: str) -> bool:
        """Whether any chunk has this name or number, allowing for spelling across languages
        (Canada/Kanada, Russia/Rusya, China/Çin)."""
        folded = fold(name)
        if folded not in self._mentions:
            self._mentions[folded] = mentions(name, self.words, self.names)
        return self._mentions[folded]


def saved_is_current(store: Store) -> bool:
    """Whether a saved lexical index matches the store as it is (else the next question
    builds one)."""
    return (_folder(store, store.state()) / "meta.json").is_file()


def _root(store: Store) -> Path:
    return store.settings.home / "lexical" / store.settings.collection


def _folder(store: Store, state: str) -> Path:
    """One folder per store state: a saved index is valid exactly for the state it names."""
    key = hashlib.sha256(f"{FORMAT}\x1f{store.settings.chroma_url}\x1f{state}".encode())
    return _root(store) / key.hexdigest()[:20]


def _latest_saved(store: Store) -> Path | None:
    root = _root(store)
    try:
        saved = [p for p in root.iterdir() if (p / "chunks.json").is_file()]
    except OSError:
        return None
    return max(saved, key=lambda p: p.stat().st_mtime, default=None)


def _load_chunk_words(
    folder: Path, wanted: Iterable[str]
) -> dict[str, tuple[list[str], list[str]]]:
    """Each chunk's words and name words from a saved index, for the chunks still stored."""
    try:
        saved = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if meta.get("format") != FORMAT:
        return {}
    return {i: (saved[i][0], saved[i][1]) for i in wanted if i in saved}
