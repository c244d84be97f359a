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
    for suffix, meta, page in store.dump():
        metadata[suffix] = meta
        pages.setdefault(suffix, []).append(page)
    if MAIN not in metadata:
        raise StoreError(f"there is no index at {store.settings.home} to export")
    tmp = target.with_name(f".{target.name}.tmp")
    with storage_faults(store.settings):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            counts = {}
            for suffix, got in pages.items():
                ids = [i for p in got for i in p["ids"]]
                counts[suffix] = len(ids)
                folder = f"collections/{suffix or 'chunks'}"
                zf.writestr(f"{folder}/ids.json", json.dumps(ids))
                zf.writestr(
                    f"{folder}/documents.json",
                    json.dumps(
                        [d for p in got for d in (p.get("documents") or [None] * len(p["ids"]))],
                        ensure_ascii=False,
                    ),
                )
                zf.writestr(
                    f"{folder}/metadatas.json",
                    json.dumps(
                        [m for p in got for m in (p.get("metadatas") or [None] * len(p["ids"]))],
                        ensure_ascii=False,
                    ),
                )
                vectors = [np.asarray(p["embeddings"], dtype=np.float32) for p in got if p["ids"]]
                buffer = io.BytesIO()
                np.save(
                    buffer, np.concatenate(vectors) if vectors else np.zeros((0, 0), np.float32)
                )
                zf.writestr(f"{folder}/embeddings.npy", buffer.getvalue())
            for entry in entries.values():
                text = manifest.saved_text(home, entry)
                if text is not None:
                    zf.writestr(entry.text_file, text)
            header = {
                "format": FORMAT,
                "kaynak": kaynak_version(),
                "collection": store.settings.collection,
                "collections": {
                    suffix: {"metadata": metadata[suffix], "count": counts[suffix]}
                    for suffix in pages
                },
                "manifest": {d: asdict(e) for d, e in entries.items()},
            }
            zf.writestr(HEADER, json.dumps(header, ensure_ascii=False, indent=1))
        tmp.replace(target)
    return counts


def import_index(
    store: Store,
    source: Path,
    side_models: dict[str, str],
    on_progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Write an exported index into the (empty) index behind `store`. `side_models` maps a
    side collection ("e5", "e5ctx") to the model this Kaynak computes it with; vectors of
    another model are left out (they are recomputed after the import)."""
    settings: Settings = store.settings
    try:
        zf = zipfile.ZipFile(source)
        header = json.loads(zf.read(HEADER))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise StoreError(f"{source} is not a Kaynak export ({exc})") from None
    if header.get("format") != FORMAT:
        raise StoreError(
            f"{source} was exported in format {header.get('format')!r}; this Kaynak reads "
            f"format {FORMAT}. Import it with the Kaynak that exported it, or a newer one"
        )
    collections: dict[str, Any] = header["collections"]
    wanted = store.embeddings.model_id
    found = collections.get(MAIN, {}).get("metadata", {}).get("embedding_model")
    if found != wanted:
        raise StoreError(
            f"{source} holds vectors of the embedding model {found!r}, but Kaynak is set to "
            f"{wanted!r}. Set KAYNAK_EMBEDDINGS to the model that made them, or ingest the "
            "sources again instead"
        )
    if store.count() or store.documents():
        raise StoreError(
            f"the index at {settings.chroma_url or settings.home} is not empty; import into an "
            "empty index (another KAYNAK_HOME, or `kaynak import FILE --replace`)"
        )
    report = ImportReport()
    for suffix, info in collections.items():
        model = info["metadata"].get("embedding_model")
        if suffix not in {MAIN, "documents"} and side_models.get(suffix) != model:
            report.skipped.append(
                f"{suffix}: vectors of {model!r}, not of this Kaynak's "
                f"{side_models.get(suffix)!r} (recomputed after the import)"
            )
            continue
        folder = f"collections/{suffix or 'chunks'}"
        ids = json.loads(zf.read(f"{folder}/ids.json"))
        vectors = np.load(io.BytesIO(zf.read(f"{folder}/embeddings.npy")))
        if on_progress is not None:
            on_progress(f"importing {suffix or 'chunks'}: {len(ids):,} records")
        store.restore(
            suffix,
            info["metadata"],
            ids,
            json.loads(zf.read(f"{folder}/documents.json")),
            json.loads(zf.read(f"{folder}/metadatas.json")),
            vectors,
        )
        if suffix == MAIN:
            report.chunks = len(ids)
        elif suffix == "documents":
            report.documents = len(ids)
    entries = {d: manifest.Entry(**e) for d, e in header.get("manifest", {}).items()}
    with storage_faults(settings):
        for entry in entries.values():
            try:
                text = zf.read(entry.text_file).decode("utf-8")
            except KeyError:
                continue
            manifest.save_text(settings.home, entry.text_file, text)
        manifest.write(settings.home, entries)
    return report
