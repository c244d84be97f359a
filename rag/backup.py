"""`kaynak export` / `kaynak import`: a whole index as one portable file, and back.

The file is a zip: `kaynak-export.json` (format, Kaynak's version, each collection's metadata
and size, the manifest of sources), then per collection its ids, texts and metadata (JSON) and
its vectors (`.npy`, float32, as Chroma stores them), and the manifest's saved texts. Importing
writes the same vectors back, so an index moves between a folder and a Chroma server
(`KAYNAK_CHROMA_URL`) without recomputing anything, and answers as it did. The import checks
that this Kaynak embeds with the models that made the vectors.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag import manifest
from rag.config import Settings, kaynak_version
from rag.store import Store
from rag.store_errors import StoreError, storage_faults

FORMAT = 1
HEADER = "kaynak-export.json"
MAIN = ""  # the chunks collection's suffix


@dataclass
class ImportReport:
    documents: int = 0
    chunks: int = 0
    skipped: list[str] = field(default_factory=list)  # collections not imported, and why


def export_index(store: Store, target: Path) -> dict[str, int]:
    """Write the whole index behind `store`, with its manifest, to `target`; the number of
    records of each collection."""
    home = store.settings.home
    entries = manifest.read(home)
    pages: dict[str, list[dict[str, Any]]] = {}
    metadata: dict[str, dict[str, Any]] = {}
    for suffix, meta, page in store.connection.dump():
        metadata[suffix] = meta
        pages.setdefault(suffix, []).append(page)
    if MAIN not in metadata:
        raise StoreError(f"there is no index at {store.settings.home} to export")
    tmp = target.with_name(f".{target.name}.tmp")
    with storage_faults(store.settings):
        try:
            write_zip(tmp, pages, metadata, entries, home, store.settings.collection)
        except BaseException:
            tmp.unlink(missing_ok=True)  # no half-written file left on a full disk
            raise
        tmp.replace(target)
    return {suffix: sum(len(p["ids"]) for p in got) for suffix, got in pages.items()}


def write_zip(
    target: Path,
    pages: dict[str, list[dict[str, Any]]],
    metadata: dict[str, dict[str, Any]],
    entries: dict[str, manifest.Entry],
    home: Path,
    collection: str,
) -> None:
    """The export file: per collection its ids, texts, metadata and vectors; the saved texts;
    and a header that says what is in it."""

    def column(got: list[dict[str, Any]], key: str) -> list[Any]:
        return [x for p in got for x in (p.get(key) or [None] * len(p["ids"]))]

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for suffix, got in pages.items():
            folder = f"collections/{suffix or 'chunks'}"
            zf.writestr(f"{folder}/ids.json", json.dumps(column(got, "ids")))
            for key in ("documents", "metadatas"):
                zf.writestr(
                    f"{folder}/{key}.json", json.dumps(column(got, key), ensure_ascii=False)
                )
            vectors = [np.asarray(p["embeddings"], dtype=np.float32) for p in got if p["ids"]]
            buffer = io.BytesIO()
            np.save(buffer, np.concatenate(vectors) if vectors else np.zeros((0, 0), np.float32))
            zf.writestr(f"{folder}/embeddings.npy", buffer.getvalue())
        for entry in entries.values():
            text = manifest.saved_text(home, entry)
            if text is not None:
                zf.writestr(entry.text_file, text)
        header = {
            "format": FORMAT,
            "kaynak": kaynak_version(),
            "collection": collection,
            "collections": {
                suffix: {"metadata": metadata[suffix], "count": len(column(got, "ids"))}
                for suffix, got in pages.items()
            },
            "manifest": {d: asdict(e) for d, e in entries.items()},
        }
        zf.writestr(HEADER, json.dumps(header, ensure_ascii=False, indent=1))


@dataclass
class Part:
    """One collection of an export, read and checked."""

    metadata: dict[str, Any]
    ids: list[str]
    documents: list[str | None]
    metadatas: list[dict[str, Any] | None]
    vectors: Any  # float32, one row per id


@dataclass
class Export:
    """An export file, read whole and checked before anything is written."""

    source: Path
    parts: dict[str, Part]
    entries: dict[str, manifest.Entry]
    texts: dict[str, str]  # doc_id -> saved text


def read_export(source: Path) -> Export:
    """The export at `source`, or a StoreError that says what is wrong with it."""
    try:
        with zipfile.ZipFile(source) as zf:
            header = json.loads(zf.read(HEADER))
            if header.get("format") != FORMAT:
                raise StoreError(
                    f"{source} was exported in format {header.get('format')!r}; this Kaynak "
                    f"reads format {FORMAT}. Import it with the Kaynak that exported it, or a "
                    "newer one"
                )
            parts = {}
            for suffix, info in header["collections"].items():
                folder = f"collections/{suffix or 'chunks'}"
                part = Part(
                    metadata=dict(info["metadata"]),
                    ids=json.loads(zf.read(f"{folder}/ids.json")),
                    documents=json.loads(zf.read(f"{folder}/documents.json")),
                    metadatas=json.loads(zf.read(f"{folder}/metadatas.json")),
                    vectors=np.load(io.BytesIO(zf.read(f"{folder}/embeddings.npy"))),
                )
                if not len(part.ids) == len(part.documents) == len(part.metadatas):
                    raise ValueError(f"the parts of {folder} differ in length")
                if part.ids and len(part.vectors) != len(part.ids):
                    raise ValueError(
                        f"{folder} has {len(part.vectors)} vectors for {len(part.ids)} ids"
                    )
                parts[suffix] = part
            entries = manifest.entries_from(header.get("manifest", {}))
            texts = {
                d: zf.read(e.text_file).decode("utf-8")
                for d, e in entries.items()
                if e.text_file in zf.namelist()
            }
    except StoreError:
        raise
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise StoreError(f"{source} is not a Kaynak export, or it is damaged ({exc})") from None
    if MAIN not in parts or "documents" not in parts:
        raise StoreError(f"{source} is not a Kaynak export: it holds no chunks")
    return Export(source, parts, entries, texts)


def check_fits(export: Export, store: Store) -> None:
    """Refuse an export whose vectors another embedding model made."""
    wanted = store.model_id
    found = export.parts[MAIN].metadata.get("embedding_model")
    if found != wanted:
        raise StoreError(
            f"{export.source} holds vectors of the embedding model {found!r}, but Kaynak is set "
            f"to {wanted!r}. Set KAYNAK_EMBEDDINGS to the model that made them, or ingest the "
            "sources again instead"
        )


def import_index(
    store: Store,
    export: Export,
    side_models: dict[str, str],
    on_progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Write a checked export into the (empty) index behind `store`. `side_models` maps a
    side collection ("e5", "e5ctx", "names") to the model this Kaynak computes it with; vectors of
    another model are left out (they are recomputed after the import)."""
    settings: Settings = store.settings
    check_fits(export, store)
    if store.count() or store.documents():
        raise StoreError(
            f"the index at {settings.chroma_url or settings.home} is not empty; import into an "
            "empty index (another KAYNAK_HOME, or `kaynak import FILE --replace`)"
        )
    report = ImportReport()
    for suffix, part in export.parts.items():
        model = part.metadata.get("embedding_model")
        if suffix not in {MAIN, "documents"} and side_models.get(suffix) != model:
            report.skipped.append(
                f"{suffix}: vectors of {model!r}, not of this Kaynak's "
                f"{side_models.get(suffix)!r} (recomputed after the import)"
            )
            continue
        if on_progress is not None:
            on_progress(f"importing {suffix or 'chunks'}: {len(part.ids):,} records")
        store.connection.restore(
            suffix, part.metadata, part.ids, part.documents, part.metadatas, part.vectors
        )
        if suffix == MAIN:
            report.chunks = len(part.ids)
        elif suffix == "documents":
            report.documents = len(part.ids)
    with storage_faults(settings):
        for doc_id, text in export.texts.items():
            manifest.save_text(settings.home, doc_id, text)
        manifest.write(settings.home, export.entries)
    return report
