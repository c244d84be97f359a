"""rag/manifest.py: the list of sources kept outside the index follows every ingest, update
and removal, and says plainly when it is damaged."""

from __future__ import annotations

import json

import pytest

from rag import StoreError, manifest


def test_the_manifest_follows_ingest_update_and_removal(fresh, tmp_path):
    note = tmp_path / "ferry.txt"
    note.write_text("The night ferry was cancelled because of the storm.", encoding="utf-8")
    fresh.ingest([note], background=False)
    ((doc_id, entry),) = manifest.read(fresh.settings.home).items()
    assert entry.source == str(note.resolve()) and entry.title
    assert entry.content_hash == fresh.store.documents()[doc_id].content_hash
    assert manifest.saved_text(fresh.settings.home, entry) == fresh.source_text(doc_id)

    note.write_text("The night ferry sails again on Monday.", encoding="utf-8")
    fresh.ingest([note], background=False)
    updated = manifest.read(fresh.settings.home)[doc_id]
    assert updated.content_hash != entry.content_hash
    assert "Monday" in (manifest.saved_text(fresh.settings.home, updated) or "")

    assert fresh.remove(doc_id)
    assert manifest.read(fresh.settings.home) == {}
    assert manifest.saved_text(fresh.settings.home, updated) is None


def test_a_document_ingested_before_the_manifest_existed_is_listed_on_the_next_ingest(
    fresh, tmp_path
):
    note = tmp_path / "ferry.txt"
    note.write_text("The night ferry was cancelled because of the storm.", encoding="utf-8")
    fresh.ingest([note], background=False)
    manifest.write(fresh.settings.home, {})  # as an older Kaynak left it
    report = fresh.ingest([note], background=False)
    assert report.unchanged == [str(note.resolve())]
    assert [e.source for e in manifest.read(fresh.settings.home).values()] == report.unchanged


def test_a_damaged_manifest_is_named_with_what_to_do(tmp_path):
    manifest.path(tmp_path).write_text('{"documents": {"x": ', encoding="utf-8")
    with pytest.raises(StoreError, match=r"manifest\.json is damaged .*kaynak doctor --repair"):
        manifest.read(tmp_path)


def test_no_entry_can_name_a_file_outside_the_saved_texts(fresh, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    note = tmp_path / "ferry.txt"
    note.write_text("The night ferry was cancelled because of the storm.", encoding="utf-8")
    fresh.ingest([note], background=False)
    home = fresh.settings.home
    data = json.loads(manifest.path(home).read_text(encoding="utf-8"))
    (entry,) = data["documents"].values()
    entry["text_file"] = "../victim.txt"  # as a crafted export or a hand edit could say
    manifest.path(home).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StoreError, match=r"damaged .*would lie at '\.\./victim\.txt'"):
        manifest.read(home)
    with pytest.raises(StoreError, match="is damaged"):
        fresh.remove(entry["doc_id"])  # refuses rather than deleting the file it names
    assert victim.read_text(encoding="utf-8") == "keep me"
    with pytest.raises(StoreError, match="not a document id"):
        manifest.save_text(home, "../../outside", "x")
