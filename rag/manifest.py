"""The manifest of sources: what was ingested, kept in KAYNAK_HOME outside the index.

The index is derived data; the manifest is its source of truth. For each document it keeps
the source (path or URL), content hash, title and when it was ingested, and a copy of its
cleaned text in `texts/`, so that `kaynak doctor --repair` can rebuild a damaged or deleted
index, and the text of a source that is gone can still be read. It is written after the index
has the document (so it never claims what the index lacks), atomically: write, fsync, rename.
Writers hold the index's write lock, so two processes never write it at once.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.store_errors import StoreError
from rag.types import DocumentFacts, SourceDocument

FILE = "manifest.json"
TEXTS = "texts"
FORMAT = 1
DOC_ID = re.compile(r"[0-9a-f]{16}")  # rag.loaders.doc_id_for


@dataclass(frozen=True)
class Entry(DocumentFacts):
    """A document as the manifest lists it: its facts, when it was ingested, and where its
    text was saved."""

    ingested: str  # ISO 8601, UTC
    text_file: str  # relative to KAYNAK_HOME: the cleaned text as it was ingested


def path(home: Path) -> Path:
    return home / FILE


def read(home: Path) -> dict[str, Entry]:
    """Every document the manifest lists ({} when there is none yet)."""
    file = path(home)
    try:
        raw = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StoreError(f"cannot read the manifest of sources {file} ({exc})") from None
    try:
        data = json.loads(raw)
        return entries_from(data["documents"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(
            f"the manifest of sources {file} is damaged ({exc}); `kaynak doctor --repair` "
            "writes it again from the index"
        ) from None


def entries_from(documents: dict[str, Any]) -> dict[str, Entry]:
    """Entries from their JSON form (a manifest, or an export's); a ValueError or TypeError
    for anything else. A saved text's place follows from the document id, never from the
    file, so no entry can name a file outside `texts/`."""
    entries = {}
    for doc_id, fields in documents.items():
        entry = Entry(**fields)
        if entry.doc_id != doc_id or not DOC_ID.fullmatch(doc_id):
            raise ValueError(f"an entry with the id {doc_id!r} is not one Kaynak writes")
        if entry.text_file != text_file(doc_id):
            raise ValueError(f"{doc_id}'s saved text would lie at {entry.text_file!r}")
        entries[doc_id] = entry
    return entries


def text_file(doc_id: str) -> str:
    """Where a document's saved text lies, relative to KAYNAK_HOME."""
    return f"{TEXTS}/{doc_id}.txt"


def saved_text(home: Path, entry: Entry) -> str | None:
    """The text the document had when it was ingested, or None if that copy is gone."""
    try:
        return (home / entry.text_file).read_text(encoding="utf-8")
    except OSError:
        return None


def record(home: Path, docs: Iterable[SourceDocument]) -> None:
    """Add or replace these documents (call once the index has them)."""
    docs = list(docs)
    if not docs:
        return
    entries = read(home)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for doc in docs:
        save_text(home, doc.doc_id, doc.text)
        entries[doc.doc_id] = Entry(
            doc_id=doc.doc_id,
            source=doc.source,
            content_hash=doc.content_hash,
            title=doc.title,
            url=doc.url,
            path=doc.path,
            publisher=doc.publisher,
            published=doc.published,
            language=doc.language,
            ingested=now,
            text_file=text_file(doc.doc_id),
        )
    write(home, entries)


def save_text(home: Path, doc_id: str, text: str) -> None:
    """Keep a document's cleaned text in `texts/`."""
    if not DOC_ID.fullmatch(doc_id):
        raise StoreError(f"{doc_id!r} is not a document id Kaynak writes")
    _write_atomic(home / text_file(doc_id), text)


def forget(home: Path, doc_ids: Iterable[str], keep_text: bool = False) -> None:
    """Remove these documents (call once the index no longer has them)."""
    entries = read(home)
    gone = [entries.pop(d) for d in doc_ids if d in entries]
    if not gone:
        return
    write(home, entries)
    for entry in gone if not keep_text else []:
        (home / entry.text_file).unlink(missing_ok=True)


def forget_all(home: Path) -> None:
    """The index was dropped: the manifest lists nothing (the saved texts are kept, the only
    copy of sources that may be gone)."""
    forget(home, read(home), keep_text=True)


def write(home: Path, entries: dict[str, Entry]) -> None:
    data: dict[str, Any] = {
        "format": FORMAT,
        "documents": {d: asdict(e) for d, e in sorted(entries.items())},
    }
    _write_atomic(path(home), json.dumps(data, ensure_ascii=False, indent=1))


def _write_atomic(target: Path, text: str) -> None:
    """Write, fsync, rename: a crash leaves the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
