"""The records that pass between stages. Each stage produces one kind and reads earlier ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from rag.text import content_hash


@dataclass(frozen=True)
class SourceDocument:
    """A loaded and cleaned source. `text` is the text every offset refers to."""

    doc_id: str
    text: str
    title: str
    source: str  # what the user named: a resolved file path or a URL
    url: str = ""
    path: str = ""
    publisher: str = ""
    published: str = ""
    language: str = ""
    encoding: str = ""  # what a text file was read as ("utf-8", "cp1254", ...); "" for PDF

    @property
    def content_hash(self) -> str:
        return content_hash(
            "\x1f".join(
                [self.text, self.title, self.url, self.publisher, self.published, self.language]
            )
        )


@dataclass(frozen=True)
class Chunk:
    """A piece of a source: `text == source_text[start:end]`."""

    chunk_id: str
    doc_id: str
    index: int
    start: int
    end: int
    text: str


@dataclass
class Pending:
    """A document on its way into the store: its chunks, and their vectors once embedded."""

    doc: SourceDocument
    chunks: list[Chunk]
    replaces: bool  # an earlier version is stored
    vectors: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class DocumentFacts:
    """What is known of an ingested document besides its text: where it came from, its
    content hash and its metadata (the index and the manifest of sources both keep these)."""

    doc_id: str
    source: str
    content_hash: str
    title: str
    url: str
    path: str
    publisher: str
    published: str
    language: str


@dataclass(frozen=True)
class DocumentRecord(DocumentFacts):
    """What the store keeps of an ingested document (besides its text)."""

    chunks: int

    @classmethod
    def from_metadata(cls, doc_id: str, meta: dict[str, Any] | None) -> DocumentRecord:
        meta = dict(meta or {})
        text = {f.name: str(meta.get(f.name, "")) for f in fields(cls) if f.type == "str"}
        text.pop("doc_id", None)
        return cls(doc_id=doc_id, chunks=int(meta.get("chunks", 0)), **text)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with what a reader needs to find it in its source."""

    doc_id: str
    title: str
    url: str
    path: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: str = ""
    publisher: str = ""
    published: str = ""
    language: str = ""


@dataclass(frozen=True)
class Citation:
    """`quote == source_text(doc_id)[start:end]`."""

    n: int
    doc_id: str
    title: str
    url: str
    path: str
    start: int
    end: int
    quote: str
    publisher: str = ""
    published: str = ""


@dataclass(frozen=True)
class DroppedSentence:
    sentence: str
    reason: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    passages: list[Passage] = field(default_factory=list)
    dropped: list[DroppedSentence] = field(default_factory=list)
    standalone_question: str = ""
    answerer: str = "extractive"
    language: str = "en"
    # Why the answer is not what was asked for: the language model failed, so it quotes.
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_record(self) -> dict[str, Any]:
        """The answer as a reader keeps it (JSON): text, citations with their exact quotes,
        removed sentences; without the retrieved passages. `Answer.from_record` reads it."""
        record = self.to_dict()
        del record["passages"]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Answer:
        """The answer `to_record` gave (unknown keys, from a newer Kaynak, are ignored)."""
        known = {f.name for f in fields(cls)} - {"passages", "citations", "dropped"}
        return cls(
            **{k: v for k, v in record.items() if k in known},
            citations=[Citation(**c) for c in record.get("citations", [])],
            dropped=[DroppedSentence(**d) for d in record.get("dropped", [])],
        )


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # (source, reason) for every source that was not ingested
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0  # chunks written (added or replaced) by this run
    # source -> the encoding its text was read in, for text, Markdown and HTML files
    encodings: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.removed)} removed",
            f"{len(self.skipped)} skipped",
            f"{self.chunks} chunks written",
        ]
        lines = [", ".join(parts)]
        lines += [f"  skipped {src}: {why}" for src, why in self.skipped]
        lines += [
            f"  read {src} as {enc} (not UTF-8)"
            for src, enc in self.encodings.items()
            if enc not in {"utf-8", "utf-8-sig", "ascii"}
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class Hit:
    """A chunk the store found, with its source metadata and similarity."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float  # cosine similarity


@dataclass(frozen=True)
class Scored:
    """A candidate passage with each score the ranking fused."""

    hit: Hit
    dense: float  # USE similarity
    lexical: float  # BM25 as a share of what the question's terms can score
    score: float  # the fused score the ranking sorts by
    e5: float | None = None  # e5 similarity of the sentence alone,
    e5_context: float | None = None  # and of it after the sentence before it
