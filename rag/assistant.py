"""`Assistant`: the facade, and the only place that builds the stages and wires them together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from rag import answering, lexicon, manifest
from rag.abstain import Decider
from rag.chat import History, standalone_question
from rag.config import MAX_K, Settings, package_path
from rag.embeddings import load_embeddings
from rag.ingest import ProgressFn, ingest
from rag.matching import Words
from rag.name_vectors import NameVectors
from rag.relevance import Backfill, BackfillProgress, Relevance
from rag.retrieval import (
    KaynakRetriever,
    QuestionError,
    Retriever,
    check_question,
    to_passage,
)
from rag.store import Store
from rag.store_errors import storage_faults
from rag.store_sync import write_lock
from rag.text import detect_language
from rag.types import Answer, DocumentRecord, IngestReport, Passage

BUNDLED_CORPUS = package_path("corpus")  # the bundled article, shipped as package data
WAIT_FOR_WRITER = 600.0  # seconds a write waits for another process's write to finish
log = logging.getLogger(__name__)


class Assistant:
    """Ask questions about your sources and get answers with checkable citations.

    >>> bot = Assistant()
    >>> bot.ingest(["corpus/"])
    >>> bot.ask("What did Joly say?").text
    """

    def __init__(
        self,
        settings: Settings | None = None,
        llm: BaseChatModel | str | None = None,
        **overrides: Any,
    ) -> None:
        if isinstance(llm, str):  # a spec such as "openai:MODEL", as in KAYNAK_LLM
            overrides["llm"], llm = llm, None
        self.settings = settings or Settings.from_env(**overrides)
        if settings is not None and overrides:
            self.settings = settings.replace(**overrides)
        self.embeddings = load_embeddings(self.settings.embeddings, self.settings.threads)
        self.store = Store(self.settings, self.embeddings.model_id)
        settings = self.settings
        # the Turkish-English lexicon, when installed and not turned off (None: spelling and
        # the multilingual model alone)
        self.lexicon = lexicon.load(settings.home) if settings.lexicon else None
        relevance = (
            Relevance(settings.relevance_model, self.store, settings.threads)
            if settings.relevance_model
            else None
        )
        names = NameVectors(self.store, self.embeddings)
        decider = Decider(self.store, self.embeddings, settings, lexicon=self.lexicon, names=names)
        self.retriever = Retriever(
            self.store, self.embeddings, settings, relevance, decider, self.lexicon
        )
        self.llm = llm if llm is not None else answering.make_llm(self.settings)
        self.background = Backfill(self.retriever.relevance, names)
        self._write_lock = threading.Lock()

    # --- sources ---------------------------------------------------------------------------

    def ingest(
        self,
        inputs: Iterable[str | Path] | str | Path,
        prune: bool = False,
        rebuild: bool = False,
        on_progress: ProgressFn | None = None,
        wait: float = WAIT_FOR_WRITER,
        on_wait: Callable[[str], None] | None = None,
        background: bool = True,
    ) -> IngestReport:
        """Add files, folders and http(s) URLs; unchanged sources are left as they are.

        Writers in other processes on the same index take turns: this waits up to `wait`
        seconds for one that is writing (telling `on_wait`, or the log, who it is). With
        `background`, the relevance model's vectors of new chunks are then computed in a
        background thread (`complete_background` computes them now instead)."""
        if isinstance(inputs, str | Path):
            inputs = [inputs]
        with storage_faults(self.settings):
            with self._write_lock, write_lock(self.settings, wait, on_wait or log.warning):
                if rebuild:
                    self.store.drop_all()
                    manifest.forget_all(self.settings.home)
                report = ingest(
                    inputs,
                    self.store,
                    self.embeddings,
                    self.settings,
                    prune=prune,
                    on_progress=on_progress,
                )
            if report.added or report.updated or report.removed or rebuild:
                self.retriever.invalidate()  # and save it, so the next process loads it
        if background and (report.added or report.updated or rebuild):
            self.start_background()
        return report

    # --- vectors computed after ingest (rag/relevance.py) ---------------------------------

    def start_background(self) -> None:
        """Compute the relevance model's vectors of new chunks in a background thread; the
        documents are searchable meanwhile (the few top candidates are embedded on demand)."""
        self.background.start()

    def complete_background(
        self, on_progress: BackfillProgress | None = None, wait: bool = True
    ) -> int:
        """Compute every missing e5 vector now, and the vectors of the chunks' names
        (resumable: what is stored stays stored)."""
        return self.background.complete(on_progress, wait)

    def background_progress(self) -> tuple[int, int] | None:
        """(chunks with e5 vectors, chunks), or None without a relevance model."""
        return self.background.progress()

    def ensure_corpus(self, corpus: Path = BUNDLED_CORPUS) -> IngestReport | None:
        """Ingest the bundled corpus if the store is empty (first use), with its relevance
        vectors (a few seconds for one article)."""
        if self.store.count() > 0:
            return None
        report = self.ingest([corpus], background=False)
        self.complete_background()
        return report

    def documents(self) -> list[DocumentRecord]:
        return sorted(self.store.documents().values(), key=lambda r: (r.title, r.source))

    def remove(
        self,
        doc_id: str,
        wait: float = WAIT_FOR_WRITER,
        on_wait: Callable[[str], None] | None = None,
    ) -> bool:
        with storage_faults(self.settings):
            with self._write_lock, write_lock(self.settings, wait, on_wait or log.warning):
                if doc_id not in self.store.documents():
                    return False
                self.store.delete_document(doc_id)
                manifest.forget(self.settings.home, [doc_id])
            self.retriever.invalidate()
        self.start_background()  # forgets the removed chunks' e5 vectors
        return True

    def source_text(self, doc_id: str) -> str:
        text = self.store.source_text(doc_id)
        if text is None:
            raise KeyError(f"no document with id {doc_id!r}")
        return text

    # --- questions -------------------------------------------------------------------------

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        question = check_question(question, self.settings)
        return self.retriever.retrieve(question, self._k(k))

    def as_retriever(self, k: int | None = None) -> KaynakRetriever:
        return KaynakRetriever(retriever=self.retriever, k=self._k(k))

    def ask(
        self,
        question: str,
        history: History | None = None,
        k: int | None = None,
        use_llm: bool = True,
    ) -> Answer:
        answer: Answer | None = None
        for event in self.stream(question, history=history, k=k, use_llm=use_llm):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(
        self,
        question: str,
        history: History | None = None,
        k: int | None = None,
        use_llm: bool = True,
    ) -> Iterator[str | Answer]:
        """Text as it is produced, then the final verified `Answer` (which replaces the
        streamed text where they differ)."""
        question = check_question(question, self.settings)
        llm = self.llm if use_llm else None
        standalone = standalone_question(question, history, llm)
        ranked = self.retriever.rank(standalone)
        results = ranked[: self._k(k)]
        decision = self.retriever.assess(standalone, ranked)
        base = Answer(
            question=question,
            text="",
            passages=[to_passage(r) for r in results],
            standalone_question=standalone,
            language=detect_language(question),
        )
        if not decision.answerable:
            text = answering.abstain_text(base.language, decision.missing_names)
            yield text
            yield replace(base, text=text, abstained=True, answerer="none")
        elif llm is None:
            about = (
                answering.About(Words(self.lexicon), self.passage_context)
                if self.lexicon is not None
                else None
            )
            yield from answering.extractive(base, self.settings, about)
        else:
            check = answering.ModelCheck(
                self.embeddings, self.settings, self.passage_context, self.lexicon
            )
            yield from answering.generative(llm, base, check)

    def passage_context(self, passage: Passage) -> str:
        """The passage with the text around it in its source (the name checks read it)."""
        return self.retriever.decider.context(
            passage.doc_id, passage.start, passage.end, passage.text
        )

    def _k(self, k: int | None) -> int:
        if k is None:
            return self.settings.k
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise QuestionError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
        return k
