"""The saved lexical index: written beside the Chroma index, loaded by the next process,
updated from the previous one (only new chunks are read) while the old one keeps serving."""

from __future__ import annotations

import json

from rag import Assistant
from rag.lexical import FORMAT

from .conftest import CORPUS, LIBRARY, reading_meanwhile


def _saved(home):  # type: ignore[no-untyped-def]
    return [p for p in (home / "lexical" / "kaynak").iterdir() if not p.name.startswith(".")]


def _ingested(home):  # type: ignore[no-untyped-def]
    """An Assistant on `home` with the bundled corpus, and the folder of its saved index."""
    bot = Assistant(home=home, progress=False)
    bot.ingest([CORPUS])
    (folder,) = _saved(home)
    return bot, folder


def test_ingest_saves_the_index_and_a_new_process_loads_it(tmp_path):
    home = tmp_path / "home"
    writer, folder = _ingested(home)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["format"] == FORMAT and meta["state"] == writer.store.state()

    reader = Assistant(home=home, progress=False)
    index = reader.retriever.lexical()
    assert index._folder == folder  # loaded, not built again
    assert index.ids == writer.retriever.lexical().ids
    assert index.mentions("Hayashi") and not index.mentions("Thorsen")
    assert "Hayashi" in reader.ask("Who did Joly meet in Tokyo?").citations[0].quote


def test_a_change_updates_the_index_from_the_saved_one(tmp_path):
    home = tmp_path / "home"
    bot, old = _ingested(home)
    # Mark one stored chunk's saved words: an update that reuses the saved words (instead of
    # reading and tokenizing every chunk again) carries the mark into the new index.
    chunks = json.loads((old / "chunks.json").read_text(encoding="utf-8"))
    first = next(iter(chunks))
    chunks[first][0].append("zzsavedword")
    (old / "chunks.json").write_text(json.dumps(chunks), encoding="utf-8")

    note = tmp_path / "library.txt"
    note.write_text(LIBRARY, encoding="utf-8")
    bot.ingest([note])
    (new,) = _saved(home)  # the old one is gone
    assert new != old
    index = bot.retriever.lexical()
    assert index.mentions("Thorsen") and "zzsavedword" in index.words
    assert len(index.ids) == len(chunks) + 1

    assert bot.remove(next(d.doc_id for d in bot.documents() if d.title == "Library"))
    assert not bot.retriever.lexical().mentions("Thorsen")


def test_an_index_saved_by_another_format_is_rebuilt(tmp_path):
    home = tmp_path / "home"
    _, folder = _ingested(home)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["format"] = FORMAT + 100
    meta["words"] = []
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    index = Assistant(home=home, progress=False).retriever.lexical()
    assert index.mentions("Hayashi")


def test_refreshing_while_other_threads_search_and_write(fresh, tmp_path):
    """The race the issue names: refresh_if_stale read the index after letting the lock go."""
    fresh.ingest([CORPUS])

    def search() -> None:
        fresh.retriever.refresh_if_stale(every=0)
        fresh.retrieve("Who did Joly meet in Tokyo?")
        fresh.retriever.invalidate(wait=0)

    with reading_meanwhile(search):
        for i in range(4):
            note = tmp_path / f"note{i}.txt"
            note.write_text(f"Note {i}: the ferry to Hammerfest leaves at {i + 6} o'clock.")
            fresh.ingest([note])
            assert fresh.retriever.lexical().mentions(str(i + 6))  # the writer sees its own
