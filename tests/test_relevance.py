"""The e5 vectors computed after ingest: stored, resumable, the same as on demand, forgotten
with their chunks, and shown by the CLI."""

import json

import numpy as np
import pytest

from rag import Assistant
from rag.relevance import ALONE, CONTEXT

from .conftest import CORPUS, ROOT, kaynak_env, run_kaynak

FERRY = ROOT / "bench" / "data" / "harbourton-ferry.en.txt"


class Stop(Exception):
    pass


def test_backfill_resumes_where_it_stopped_and_matches_on_demand(tmp_path):
    bot = Assistant(home=tmp_path / "home", progress=False)
    report = bot.ingest([CORPUS], background=False)
    assert bot.background_progress() == (0, report.chunks)  # searchable, no vectors yet
    question = "Who did Joly meet in Tokyo?"
    on_demand = bot.retrieve(question, k=3)  # the best few are embedded for the question

    def stop_after_first_batch(done, total):
        if done > 0:
            raise Stop

    with pytest.raises(Stop):
        bot.retriever.relevance.backfill(stop_after_first_batch, batch=8)
    assert bot.background_progress() == (8, report.chunks)  # what was stored stays stored
    assert bot.complete_background() == report.chunks - 8
    assert bot.background_progress() == (report.chunks, report.chunks)

    # stored vectors give the same scores as those computed on demand for the question (on
    # demand, only the best few by USE are embedded, so the rest of the list may differ)
    fresh = Assistant(home=tmp_path / "home", progress=False)
    stored = {p.chunk_id: p.score for p in fresh.retrieve(question, k=3)}
    assert next(iter(stored)) == on_demand[0].chunk_id and "Hayashi" in on_demand[0].text
    common = [p for p in on_demand if p.chunk_id in stored]
    assert len(common) >= 2
    assert np.allclose([p.score for p in common], [stored[p.chunk_id] for p in common], atol=1e-3)


def test_vectors_of_removed_documents_are_forgotten(tmp_path):
    bot = Assistant(home=tmp_path / "home", progress=False)
    bot.ingest([CORPUS, FERRY], background=False)
    bot.complete_background()
    ferry = next(d for d in bot.documents() if d.path.endswith("harbourton-ferry.en.txt"))
    assert bot.remove(ferry.doc_id)
    bot.complete_background()
    model = bot.retriever.relevance.model.model_id
    chunks = set(bot.store.chunk_ids())
    for side in (ALONE, CONTEXT):
        assert set(bot.store.side(side, model).ids()) == chunks


def test_cli_ingest_computes_the_vectors_unless_told_later(tmp_path):
    later = run_kaynak(
        "ingest", "--json", "--vectors-later", str(CORPUS), env=kaynak_env(tmp_path / "a")
    )
    assert later.returncode == 0, later.stderr
    chunks = json.loads(later.stdout)["chunks"]
    assert Assistant(home=tmp_path / "a", progress=False).background_progress() == (0, chunks)

    now = run_kaynak("ingest", str(CORPUS), env=kaynak_env(tmp_path / "b"))
    assert now.returncode == 0, now.stderr
    done = Assistant(home=tmp_path / "b", progress=False).background_progress()
    assert done == (chunks, chunks)
