"""`Assistant`: the facade that wires the stages together."""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from rag import answering, manifest
from rag.chat import History, standalone_question
from rag.citations import Check, prepare, verify
from rag.config import Settings, package_path
from rag.embeddings import load_embeddings
from rag.ingest import ProgressFn, ingest
from rag.relevance import BackfillProgress
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
from rag.text import around, detect_language
from rag.types import Answer, DocumentRecord, DroppedSentence, IngestReport, Passage

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
        self.retriever = Retriever(self.store, self.embeddings, self.settings)
        self.llm = llm if llm is not None else answering.make_llm(self.settings)
        self._write_lock = threading.Lock()
        self._background: threading.Thread | None = None
        self._background_lock = threading.Lock()
        self._background_again = False
        self._stopping = threading.Event()
        self._exit_hook = False

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

    # --- vectors computed after ingest -----------------------------------------------------

    def start_background(self) -> None:
        """Compute the relevance model's vectors of new chunks in a background thread; the
        documents are searchable meanwhile (the few top candidates are embedded on demand)."""
        if self.retriever.relevance is None:
            return
        with self._background_lock:
            if self._background is not None:
                self._background_again = True  # new chunks arrived while it runs
                return
            self._background = threading.Thread(
                target=self._run_background, name="kaynak-e5-vectors", daemon=True
            )
            self._background.start()
            if not self._exit_hook:  # stop between two batches, not in a write, at exit
                atexit.register(self._stop_background)
                self._exit_hook = True

    def _run_background(self) -> None:
        while True:
            try:
                self.complete_background(wait=False)
            except Exception:  # the index stays searchable; the next ingest or start resumes
                log.exception("computing e5 vectors in the background failed")
            with self._background_lock:
                if not self._background_again or self._stopping.is_set():
                    self._background = None
                    return
                self._background_again = False

    def _stop_background(self) -> None:
        self._stopping.set()
        thread = self._background
        if thread is not None:
            thread.join(timeout=60)

    def complete_background(
        self, on_progress: BackfillProgress | None = None, wait: bool = True
    ) -> int:
        """Compute every missing e5 vector now (resumable: what is stored stays stored)."""
        if self.retriever.relevance is None:
            return 0
        thread = self._background
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()
        return self.retriever.relevance.backfill(on_progress, stop=self._stopping)

    def background_progress(self) -> tuple[int, int] | None:
        """(chunks with e5 vectors, chunks), or None without a relevance model."""
        return self.retriever.relevance.pending() if self.retriever.relevance else None

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
            yield from self._extractive(base)
        else:
            yield from self._generative(llm, base)

    def _extractive(self, base: Answer) -> Iterator[str | Answer]:
        chosen = answering.select_passages(base.passages, self.settings)
        pieces = []
        for piece in answering.extractive_pieces(chosen, base.language):
            pieces.append(piece)
            yield piece
        yield replace(
            base,
            text="".join(pieces),
            citations=answering.extractive_citations(chosen),
            answerer="extractive",
        )

    def _generative(self, llm: BaseChatModel, base: Answer) -> Iterator[str | Answer]:
        messages = answering.llm_messages(base.standalone_question, base.passages, base.language)
        # the citation check's side of the comparison is embedded while the model writes
        ready = threading.Thread(
            target=self._prepare_check, args=(base.passages,), daemon=True, name="kaynak-check"
        )
        ready.start()
        parts: list[str] = []
        try:
            for chunk in llm.stream(messages):
                delta = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
                if delta:
                    parts.append(delta)
                    yield delta
        except Exception as exc:  # any model failure: the sources can still be quoted
            note = llm_failure_note(exc, started=bool(parts))
            log.warning("%s (%s: %s)", note, type(exc).__name__, exc)
            yield from self._quoted_instead(base, note=note)
            return
        raw = "".join(parts).strip()
        if not raw:
            note = "The language model returned an empty answer, so the sources are quoted instead."
            yield from self._quoted_instead(base, note=note)
            return
        dropped = []
        if not answering.is_cannot_answer(raw):
            ready.join()
            checked = verify(
                raw,
                base.passages,
                self.embeddings,
                language=base.language,
                contexts=[self._context(p) for p in base.passages],
                check=Check.from_settings(self.settings),
            )
            if checked.citations:
                yield replace(
                    base,
                    text=checked.text,
                    citations=checked.citations,
                    dropped=checked.dropped,
                    answerer="llm",
                )
                return
            dropped = checked.dropped
        # Nothing the model said survived verification: quote the sources instead.
        yield from self._quoted_instead(base, dropped=dropped)

    def _prepare_check(self, passages: list[Passage]) -> None:
        try:
            prepare(passages, self.embeddings)
        except Exception:  # the check embeds what is missing itself
            log.warning("could not prepare the citation check ahead", exc_info=True)

    def _quoted_instead(
        self, base: Answer, note: str = "", dropped: list[DroppedSentence] | None = None
    ) -> Iterator[Answer]:
        """The extractive answer in place of the model's (only the final Answer: it replaces
        whatever the model had streamed)."""
        for event in self._extractive(base):
            if isinstance(event, Answer):
                yield replace(event, dropped=dropped or [], note=note)

    def _context(self, passage: Passage) -> str:
        """The passage with the text around it in its source (for checking names)."""
        text = self.store.source_text(passage.doc_id) or passage.text
        s = self.settings
        return around(text, passage.start, passage.end, s.context_before, s.context_after)

    def _k(self, k: int | None) -> int:
        if k is None:
            return self.settings.k
        if not isinstance(k, int) or not 1 <= k <= 100:
            raise QuestionError(f"k must be a whole number from 1 to 100, not {k!r}")
        return k


def llm_failure_note(exc: BaseException, started: bool = False) -> str:
    """Why the language model gave no answer, in a line a user can act on."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if started:
        why = "The connection to the language model broke off mid-answer"
    elif kinds & {"APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout"}:
        why = "The language model did not answer in time"
    elif kinds & {"APIConnectionError", "ConnectError", "ConnectionError", "OSError"}:
        why = "The language model could not be reached (is its server running?)"
    elif "APIStatusError" in kinds:
        code = getattr(exc, "status_code", "")
        why = f"The language model answered with an error (HTTP {code})"
    else:
        why = f"The language model failed ({type(exc).__name__})"
    return f"{why}, so the sources are quoted instead."
