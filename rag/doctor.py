"""`kaynak doctor`: check the index against its manifest of sources, and rebuild it from them.

The checks: SQLite's own integrity check of the index file, whether the collections open with
this Kaynak's models, the manifest against the index (documents missing on either side, or
changed), chunks whose document is gone, chunk counts, and whether the saved lexical index is
current. `repair` moves a damaged index aside (it is never deleted) and ingests every source of
the manifest again; a source that can no longer be read is restored from the text the manifest
kept, and listed.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rag import manifest
from rag.config import Settings
from rag.embeddings import KaynakEmbeddings, load_embeddings
from rag.ingest import ingest, ingest_documents
from rag.lexical import saved_is_current
from rag.store import Store
from rag.store_errors import StoreError, storage_faults
from rag.store_sync import write_lock
from rag.types import DocumentFacts, SourceDocument

if TYPE_CHECKING:
    from rag.assistant import Assistant

INDEX_FILE = "chroma.sqlite3"


@dataclass
class Checkup:
    problems: list[str] = field(default_factory=list)  # what is wrong, and what repair does
    notes: list[str] = field(default_factory=list)  # worth knowing, nothing to repair
    documents: int = 0  # in the index
    listed: int = 0  # in the manifest
    index_usable: bool = True  # the index opens and SQLite finds no damage
    # the index is damaged or missing (not merely from a newer Kaynak, another model, a
    # read-only folder or a server that is down): repair rebuilds it from the manifest
    rebuild: bool = False
    manifest_usable: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        index = f"{self.documents} documents" if self.index_usable else "cannot be read"
        listed = f"{self.listed} documents" if self.manifest_usable else "cannot be read"
        lines = [f"index: {index}; manifest of sources: {listed}"]
        lines += [f"PROBLEM: {p}" for p in self.problems]
        lines += [f"note: {n}" for n in self.notes]
        lines.append(
            "All is well."
            if self.ok
            else "Run `kaynak doctor --repair` to rebuild what is wrong from the sources."
        )
        return "\n".join(lines)


@dataclass
class RepairReport:
    reingested: list[str] = field(default_factory=list)  # read again from their source
    from_saved_text: list[tuple[str, str]] = field(default_factory=list)  # (source, saved copy)
    lost: list[str] = field(default_factory=list)  # neither the source nor a copy is left
    moved_aside: str = ""  # where the damaged index now lies
    fixed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        if self.moved_aside:
            lines.append(f"moved the damaged index to {self.moved_aside} (delete it when done)")
        lines += [f"fixed: {f}" for f in self.fixed]
        lines += [f"ingested again: {s}" for s in self.reingested]
        lines += [
            f"cannot be read any more, restored from the saved text {copy}: {s}"
            for s, copy in self.from_saved_text
        ]
        lines += [f"LOST (no source and no saved text): {s}" for s in self.lost]
        return "\n".join(lines) or "nothing to repair"


def check(settings: Settings) -> Checkup:
    """Everything `kaynak doctor` reports; it reads, never writes."""
    up = Checkup()
    entries: dict[str, manifest.Entry] = {}
    try:
        entries = manifest.read(settings.home)
        up.listed = len(entries)
    except StoreError as exc:
        up.problems.append(str(exc))
        up.manifest_usable = False
    if not settings.chroma_url:
        damage = sqlite_damage(settings.home / "chroma" / INDEX_FILE)
        if damage:
            up.problems.append(damage)
            up.index_usable, up.rebuild = False, True
            return up
        if not (settings.home / "chroma" / INDEX_FILE).exists():
            if entries:
                up.index_usable, up.rebuild = False, True
                up.problems.append(
                    f"there is no index at {settings.home / 'chroma'}, but the manifest lists "
                    f"{len(entries)} documents"
                )
            else:
                up.notes.append("nothing has been ingested here yet")
            return up
    try:
        store = Store(settings, load_embeddings(settings.embeddings, settings.threads).model_id)
    except StoreError as exc:
        up.problems.append(str(exc))
        up.index_usable, up.rebuild = False, exc.kind in {"damaged", "other"}
        return up
    try:
        return _compare(up, store, entries)
    except StoreError as exc:
        up.problems.append(str(exc))
        up.index_usable, up.rebuild = False, exc.kind in {"damaged", "other"}
        return up
    finally:
        store.close()  # the embedded client caches the index by its path: let go of it


def _compare(up: Checkup, store: Store, entries: dict[str, manifest.Entry]) -> Checkup:
    """The index against the manifest, chunk by chunk."""
    records = store.documents()
    chunk_docs = chunk_counts(store)
    up.documents = len(records)
    if up.manifest_usable:
        for doc_id in sorted(set(entries) - set(records)):
            up.problems.append(f"missing from the index: {entries[doc_id].source}")
        for doc_id in sorted(set(records) - set(entries)):
            up.problems.append(f"not in the manifest of sources: {records[doc_id].source}")
        for doc_id in sorted(set(records) & set(entries)):
            if records[doc_id].content_hash != entries[doc_id].content_hash:
                up.problems.append(
                    f"the index and the manifest disagree on {records[doc_id].source}"
                )
    orphans = sum(n for doc_id, n in chunk_docs.items() if doc_id not in records)
    if orphans:
        up.problems.append(f"{orphans} chunks belong to no document (left by an interrupted write)")
    for doc_id, record in sorted(records.items()):
        if chunk_docs.get(doc_id, 0) != record.chunks:
            up.problems.append(
                f"{record.source} should have {record.chunks} chunks but has "
                f"{chunk_docs.get(doc_id, 0)}"
            )
    if records and not saved_is_current(store):
        up.notes.append("the saved lexical index is out of date; the next question rebuilds it")
    return up


def chunk_counts(store: Store) -> Counter[str]:
    """How many chunks the index holds of each document id."""
    return Counter(str(m.get("doc_id")) for _, _, m in store.iter_chunks(False))


def sqlite_damage(path: Path) -> str:
    """What SQLite's integrity check finds wrong with the index file ("" if nothing)."""
    if not path.exists():
        return ""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
    except sqlite3.DatabaseError as exc:
        rows = [str(exc)]
    if rows == ["ok"]:
        return ""
    return f"the index file {path} is damaged ({'; '.join(rows[:3])})"


def repair(
    settings: Settings,
    make_assistant: Callable[[], Assistant],
    wait: float = 600.0,
    on_progress: Callable[[str], None] | None = None,
) -> RepairReport:
    """Rebuild what `check` finds wrong, holding the write lock. A damaged index is moved
    aside, not deleted, and built again from the manifest; a usable one is mended in place.
    What a repair cannot fix (an index from a newer Kaynak, another embedding model, a
    read-only folder, a server that is down, or a damaged index with no manifest to rebuild it
    from) is left as it is, and a StoreError says why."""
    say = on_progress or (lambda _message: None)
    report = RepairReport()
    with storage_faults(settings), write_lock(settings, wait, say):
        up = check(settings)
        if not up.index_usable and not up.rebuild:
            raise StoreError(
                f"the repair cannot fix this, so nothing was changed: {up.problems[-1]}"
            )
        entries = manifest.read(settings.home) if up.manifest_usable else {}
        if up.rebuild and not entries:
            raise StoreError(
                "the index is damaged or missing, and there is no manifest of sources to "
                "rebuild it from (it is damaged, or this index is older than the manifest), so "
                "nothing was changed. Ingest your sources again into a new KAYNAK_HOME, or "
                f"`kaynak import` an export; the texts Kaynak kept are in {settings.home / 'texts'}"
            )
        if up.rebuild and not settings.chroma_url:
            folder = settings.home / "chroma"
            if folder.exists():
                stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
                aside = settings.home / f"chroma.damaged-{stamp}"
                folder.rename(aside)
                report.moved_aside = str(aside)
            shutil.rmtree(settings.home / "lexical", ignore_errors=True)  # derived data
        bot = make_assistant()
        _mend(bot.store, bot.embeddings, settings, entries, up.manifest_usable, report, say)
    say("computing the relevance model's vectors")
    bot.retriever.invalidate()  # the lexical index, saved for the next process
    bot.complete_background()
    return report


def _mend(
    store: Store,
    embeddings: KaynakEmbeddings,
    settings: Settings,
    entries: dict[str, manifest.Entry],
    manifest_usable: bool,
    report: RepairReport,
    say: Callable[[str], None],
) -> None:
    """Make the index and the manifest agree (the caller holds the write lock)."""
    records = store.documents()
    # what the index holds that the manifest lost or lists in an older version: from the index
    stale = [
        d
        for d, r in records.items()
        if d not in entries or entries[d].content_hash != r.content_hash
    ]
    if stale or not manifest_usable:
        manifest.write(settings.home, {d: e for d, e in entries.items() if d in records})
        manifest.record(settings.home, stored_documents(store, stale))
        report.fixed.append(f"listed {len(stale)} documents in the manifest again, from the index")
        entries = manifest.read(settings.home)
    orphans = store.orphan_chunk_ids()
    if orphans:
        store.delete_chunks(orphans)
        report.fixed.append(f"removed {len(orphans)} chunks that belonged to no document")
    counts = chunk_counts(store)
    wrong = {d for d, r in records.items() if counts.get(d, 0) != r.chunks}
    for doc_id in sorted(wrong):
        store.delete_document(doc_id)
    for doc_id, entry in sorted(entries.items()):
        if doc_id in records and doc_id not in wrong:
            continue
        say(f"ingesting {entry.source}")
        got = ingest([entry.source], store, embeddings, settings)
        if got.added or got.updated or got.unchanged:
            report.reingested.append(entry.source)
            continue
        text = manifest.saved_text(settings.home, entry)
        if text is None:
            report.lost.append(entry.source)
            continue
        ingest_documents([as_document(entry, text)], store, embeddings, settings)
        report.from_saved_text.append((entry.source, str(settings.home / entry.text_file)))


def stored_documents(store: Store, doc_ids: list[str]) -> list[SourceDocument]:
    """The documents as the index holds them (their cleaned text and metadata)."""
    records = store.documents()
    return [as_document(records[d], store.source_text(d) or "") for d in doc_ids if d in records]


def as_document(listed: DocumentFacts, text: str) -> SourceDocument:
    """A document from what the manifest or the index says of it, and its text."""
    fields = ("title", "source", "url", "path", "publisher", "published", "language")
    return SourceDocument(
        doc_id=listed.doc_id, text=text, **{name: getattr(listed, name) for name in fields}
    )
