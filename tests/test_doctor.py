"""rag/doctor.py: `kaynak doctor` finds a damaged or missing index and `--repair` rebuilds it
from the manifest of sources, so that the same questions get the same answers and citations.

Each test damages a real index on disk the way a crash or a bad copy would (a cut-short or
scrambled SQLite file, a deleted folder, a source file gone), then runs the commands a user
would run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bench.harness import answers_of, kaynak_env, run_kaynak
from rag import manifest
from tests.conftest import CORPUS, QUESTIONS

pytestmark = pytest.mark.slow
NOTE = "The night ferry to Bodø was cancelled on Friday because of the storm. It sails again on Monday."
NOTE_QUESTION = "Why was the night ferry to Bodø cancelled?"


def twenty_questions() -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows[:19]] + [NOTE_QUESTION]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """A home with the bundled article and one note, and the answers it gave."""
    tmp = tmp_path_factory.mktemp("doctor")
    notes = tmp / "notes"
    notes.mkdir()
    (notes / "ferry.txt").write_text(NOTE, encoding="utf-8")
    env = kaynak_env(tmp / "home")
    done = run_kaynak("ingest", str(CORPUS), str(notes), env=env)
    assert done.returncode == 0, done.stderr
    return tmp / "home", answers_of(env, twenty_questions())


@pytest.fixture
def home(built, tmp_path) -> Path:
    """A copy of the built home to damage (its manifest names the same sources)."""
    source, _ = built
    copy = tmp_path / "home"
    shutil.copytree(source, copy)
    return copy


def truncate(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 3)


def scramble(db: Path) -> None:
    with open(db, "r+b") as f:
        f.seek(4096 * 2)
        f.write(bytes(range(256)) * 64)


@pytest.mark.parametrize("damage", [truncate, scramble])
def test_a_damaged_index_is_named_and_rebuilt_with_the_same_answers(built, home, damage):
    _, before = built
    env = kaynak_env(home)
    damage(home / "chroma" / "chroma.sqlite3")

    asked = run_kaynak("ask", "What did Joly say?", env=env)
    assert asked.returncode == 2 and "Traceback" not in asked.stderr
    assert "is damaged" in asked.stderr and "kaynak doctor --repair" in asked.stderr

    checked = run_kaynak("doctor", env=env)
    assert checked.returncode == 1, checked.stdout
    assert f"{home / 'chroma' / 'chroma.sqlite3'} is damaged" in checked.stdout

    repaired = run_kaynak("doctor", "--repair", env=env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "moved the damaged index to" in repaired.stdout
    assert repaired.stdout.rstrip().endswith("All is well.")
    assert any(p.name.startswith("chroma.damaged-") for p in home.iterdir())  # kept, not deleted
    assert answers_of(env, twenty_questions()) == before


def test_a_deleted_index_comes_back_even_for_a_source_that_is_gone(built, home, tmp_path):
    _, before = built
    env = kaynak_env(home)
    note = next(e for e in manifest.read(home).values() if e.source.endswith("ferry.txt"))
    shutil.rmtree(home / "chroma")
    # the note's file is gone too: only the manifest's saved text of it is left
    moved = Path(note.source).rename(tmp_path / "ferry-moved.txt")
    try:
        checked = run_kaynak("doctor", env=env)
        assert checked.returncode == 1 and "no index" in checked.stdout
        repaired = run_kaynak("doctor", "--repair", env=env)
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        assert f"restored from the saved text {home / note.text_file}: {note.source}" in (
            repaired.stdout
        )
        assert answers_of(env, twenty_questions()) == before
    finally:
        moved.rename(note.source)


def test_a_manifest_that_lost_documents_is_written_again_from_the_index(built, home):
    env = kaynak_env(home)
    entries = manifest.read(home)
    kept = {d: e for d, e in entries.items() if not e.source.endswith("ferry.txt")}
    manifest.write(home, kept)  # as an index built before the manifest existed would be
    checked = run_kaynak("doctor", env=env)
    assert checked.returncode == 1 and "not in the manifest of sources" in checked.stdout
    repaired = run_kaynak("doctor", "--repair", env=env)
    assert repaired.returncode == 0 and "listed 1 documents in the manifest again" in (
        repaired.stdout
    )
    again = manifest.read(home)
    assert set(again) == set(entries)
    ferry = next(e for e in again.values() if e.source.endswith("ferry.txt"))
    assert manifest.saved_text(home, ferry) == NOTE


def test_a_healthy_index_is_reported_healthy(built):
    home, _ = built
    checked = run_kaynak("doctor", env=kaynak_env(home))
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.splitlines()[0] == "index: 2 documents; manifest of sources: 2 documents"


def test_repair_changes_nothing_it_cannot_rebuild(built, home):
    env = kaynak_env(home)
    truncate(home / "chroma" / "chroma.sqlite3")
    manifest.path(home).unlink()  # an index older than the manifest, now damaged
    refused = run_kaynak("doctor", "--repair", env=env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "no manifest of sources to rebuild it from" in refused.stderr
    assert (home / "chroma" / "chroma.sqlite3").exists()  # left where it was
    assert not any(p.name.startswith("chroma.damaged-") for p in home.iterdir())


def test_repair_leaves_an_index_from_a_newer_kaynak_alone(built, home):
    import sqlite3

    with sqlite3.connect(home / "chroma" / "chroma.sqlite3") as db:
        db.execute("UPDATE collection_metadata SET int_value = 99 WHERE key = 'schema_version'")
    refused = run_kaynak("doctor", "--repair", env=kaynak_env(home))
    assert refused.returncode == 2 and "nothing was changed" in refused.stderr
    assert "newer Kaynak" in refused.stderr
    assert not any(p.name.startswith("chroma.damaged-") for p in home.iterdir())
