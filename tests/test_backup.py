"""rag/backup.py: `kaynak export` writes a whole index to one file and `kaynak import` brings
it back, here from an index on disk into a real Chroma server, answering identically."""

from __future__ import annotations

import json
import zipfile

import pytest

from bench.harness import answers_of, kaynak_env, run_kaynak
from tests.conftest import CORPUS, QUESTIONS

pytestmark = pytest.mark.slow


def questions() -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows[:20]]


def test_an_index_moves_from_disk_to_a_chroma_server_and_answers_the_same(tmp_path, chroma_server):
    disk = kaynak_env(tmp_path / "disk")
    assert run_kaynak("ingest", str(CORPUS), env=disk).returncode == 0
    before = answers_of(disk, questions())
    file = tmp_path / "index.zip"
    exported = run_kaynak("export", str(file), env=disk)
    assert exported.returncode == 0, exported.stderr
    assert "exported 1 documents and 18 chunks" in exported.stdout
    names = set(zipfile.ZipFile(file).namelist())
    assert {"kaynak-export.json", "collections/chunks/embeddings.npy"} <= names
    assert "collections/e5/embeddings.npy" in names  # the second model's vectors go along

    server = kaynak_env(
        tmp_path / "server-home", KAYNAK_CHROMA_URL=chroma_server, KAYNAK_COLLECTION="moved"
    )
    imported = run_kaynak("import", str(file), env=server)
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 documents and 18 chunks" in imported.stdout
    assert "not imported" not in imported.stderr  # nothing had to be recomputed
    assert answers_of(server, questions()) == before

    # a second import into the same, no longer empty, index is refused, and changes nothing
    again = run_kaynak("import", str(file), env=server)
    assert again.returncode == 2 and "is not empty" in again.stderr
    assert "Traceback" not in again.stderr
    checked = run_kaynak("doctor", env=server)
    assert checked.returncode == 0, checked.stdout


def test_an_import_refuses_vectors_of_another_model_and_files_that_are_not_exports(tmp_path):
    disk = kaynak_env(tmp_path / "disk")
    assert run_kaynak("ingest", str(CORPUS), "--vectors-later", env=disk).returncode == 0
    file = tmp_path / "index.zip"
    assert run_kaynak("export", str(file), env=disk).returncode == 0

    other = kaynak_env(tmp_path / "other", KAYNAK_EMBEDDINGS="e5")
    refused = run_kaynak("import", str(file), env=other)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "vectors of the embedding model 'use-multilingual-v3" in refused.stderr
    assert "KAYNAK_EMBEDDINGS" in refused.stderr

    junk = tmp_path / "notes.zip"
    junk.write_bytes(b"not a zip at all")
    refused = run_kaynak("import", str(junk), env=kaynak_env(tmp_path / "third"))
    assert refused.returncode == 2 and "is not a Kaynak export" in refused.stderr


def test_a_bad_file_with_replace_drops_nothing(tmp_path):
    env = kaynak_env(tmp_path / "home")
    assert run_kaynak("ingest", str(CORPUS), "--vectors-later", env=env).returncode == 0
    junk = tmp_path / "half.zip"
    with zipfile.ZipFile(junk, "w") as zf:  # a zip, but not a whole export
        zf.writestr("kaynak-export.json", json.dumps({"format": 1, "collections": {}}))
    refused = run_kaynak("import", str(junk), "--replace", env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "holds no chunks" in refused.stderr
    docs = run_kaynak("docs", "--json", env=env)
    assert len(json.loads(docs.stdout)) == 1  # the index is as it was
