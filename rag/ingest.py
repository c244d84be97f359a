"""Sources -> store, idempotently: unchanged sources cost one hash, changed ones replace
their chunks, and vectors of sentences that did not change are reused, not recomputed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag import manifest
from rag.chunking import split_chunks
from rag.config import Settings
from rag.embeddings import KaynakEmbeddings
from rag.formats import LoadError
from rag.loaders import Skipped, iter_sources, load
from rag.store import Store
from rag.types import DocumentRecord, IngestReport, Pending, SourceDocument

# Called after each source with (done, total, source); the page shows it as progress.
ProgressFn = Callable[[int, int, str], None]

_BATCH_CHUNKS = 256


def ingest(
    inputs: Iterable[str | Path],
    store: Store,
    embeddings: KaynakEmbeddings,
    settings: Settings,
    prune: bool = False,
    on_progress: ProgressFn | None = None,
) -> IngestReport:
    report = IngestReport()
    sources = _sources(inputs, settings, report)
    by_source = {r.source: r for r in store.documents().values()}
    listed = manifest.read(settings.home)
    unlisted: list[SourceDocument] = []  # unchanged, but not (so) in the manifest
    pending: list[Pending] = []
    with _progress(settings, on_progress, len(sources)) as step:
        for done, source in enumerate(sources, start=1):
            prepared = _prepare(source, settings, by_source, report)
            if isinstance(prepared, Pending):
                pending.append(prepared)
            elif prepared is not None and (
                prepared.doc_id not in listed
                or listed[prepared.doc_id].content_hash != prepared.content_hash
            ):  # the manifest missed it, or an interrupted run left an older version there
                unlisted.append(prepared)
            # Embedding and writing in batches is many times faster than one by one.
            if sum(len(p.chunks) for p in pending) >= _BATCH_CHUNKS or done == len(sources):
                _flush(pending, store, embeddings, report)
                manifest.record(settings.home, [*(p.doc for p in pending), *unlisted])
                pending, unlisted = [], []
            step(done, len(sources), source)
    if prune:
        _prune(store, settings, report)
    return report


def _sources(inputs: Iterable[str | Path], settings: Settings, report: IngestReport) -> list[str]:
    """The files and URLs `inputs` name (folders walked); what cannot be read is reported."""
    sources: list[str] = []
    for item in iter_sources(inputs, settings):
        if isinstance(item, Skipped):
            report.skipped.append((item.source, item.reason))
        else:
            sources.append(item)
    return sources


@contextmanager
def _progress(
    settings: Settings, on_progress: ProgressFn | None, total: int
) -> Iterator[ProgressFn]:
    """Where each source's progress goes: `on_progress`, or a bar in a terminal."""
    if on_progress is not None or not settings.progress or total <= 1:
        yield on_progress or (lambda _done, _total, _source: None)
        return
    from tqdm import tqdm

    bar = tqdm(total=total, unit="source", desc="ingest", leave=False)
    try:
        yield lambda _done, _total, _source: bar.update(1)
    finally:
        bar.close()


def _prune(store: Store, settings: Settings, report: IngestReport) -> None:
    """Forget the documents whose files are gone, and chunks that belong to no document."""
    for record in store.documents().values():
        if record.path and not Path(record.path).exists():
            store.delete_document(record.doc_id)
            manifest.forget(settings.home, [record.doc_id])
            report.removed.append(record.source)
    orphans = store.orphan_chunk_ids()
    if orphans:
        store.delete_chunks(orphans)


def ingest_documents(
    docs: Iterable[SourceDocument], store: Store, embeddings: KaynakEmbeddings, settings: Settings
) -> IngestReport:
    """Write documents that are already loaded (a source restored from the manifest's saved
    text): chunked, embedded, stored and listed in the manifest as `ingest` does."""
    report = IngestReport()
    records = store.documents()
    pending = [
        Pending(
            doc=doc,
            chunks=split_chunks(doc, settings.max_chunk_chars),
            replaces=doc.doc_id in records,
        )
        for doc in docs
    ]
    _flush(pending, store, embeddings, report)
    manifest.record(settings.home, [p.doc for p in pending])
    return report


def _prepare(
    source: str, settings: Settings, by_source: dict[str, DocumentRecord], report: IngestReport
) -> Pending | SourceDocument | None:
    """What to write for `source`: its chunks, or (unchanged) only its document, or nothing."""
    try:
        doc = load(source, settings)
    except LoadError as exc:
        report.skipped.append((source, str(exc)))
        return None
    if doc.encoding:
        report.encodings[doc.source] = doc.encoding
    previous = by_source.get(doc.source)
    if previous is not None and previous.content_hash == doc.content_hash:
        report.unchanged.append(doc.source)
        return doc
    chunks = split_chunks(doc, settings.max_chunk_chars)
    if not chunks:
        report.skipped.append((source, "no sentences were found in it"))
        return None
    return Pending(doc=doc, chunks=chunks, replaces=previous is not None)


def _flush(
    pending: list[Pending], store: Store, embeddings: KaynakEmbeddings, report: IngestReport
) -> None:
    if not pending:
        return
    known: dict[str, list[float]] = {}
    for item in pending:
        if item.replaces:  # sentences that did not change keep their vectors
            known.update(store.chunk_vectors(item.doc.doc_id))
    missing = sorted({c.text for item in pending for c in item.chunks if c.text not in known})
    if missing:
        known.update(zip(missing, embeddings.embed_documents(missing), strict=True))
    for item in pending:
        item.vectors = [known[c.text] for c in item.chunks]
    store.write_documents(pending)
    for item in pending:
        (report.updated if item.replaces else report.added).append(item.doc.source)
        report.chunks += len(item.chunks)
