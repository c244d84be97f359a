"""Question -> ranked passages, and the decision that nothing relevant was found.

Ranking: the dense (multilingual) similarity of each candidate, plus a bounded bonus for
same-language lexical evidence (BM25 over five-letter stems, as a share of the most the
question's terms could score), then the top few adjusted by a question-passage model. Dense
similarity carries cross-lingual questions, where BM25 finds nothing; lexical evidence
separates passages about the named person or term. Plain rank fusion of the two lists was
worse cross-lingually (a BM25 list of chance matches pulls noise up), so lexical evidence
only ever adds to a dense score, never replaces it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.config import Settings
from rag.lexical import LexicalIndex
from rag.relevance import Relevance
from rag.store import Hit, Store
from rag.text import detect_language, names_and_numbers, stems
from rag.types import Passage


class QuestionError(ValueError):
    """A question Kaynak cannot use as it is; the message says what to change."""


def check_question(question: object, settings: Settings) -> str:
    """The question, cleaned; or a QuestionError that says what to change."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QuestionError("the question is empty; type a question, e.g. 'What did Joly say?'")
    if len(cleaned) > settings.max_question_chars:
        raise QuestionError(
            f"the question is {len(cleaned):,} characters long; keep it under "
            f"{settings.max_question_chars:,} (ask about one thing at a time)"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise QuestionError(
            "the question has no words in it; ask with words, e.g. 'Who is Hayashi?'"
        )
    return cleaned


@dataclass(frozen=True)
class Scored:
    hit: Hit
    dense: float
    lexical: float
    score: float
    relevance: float | None = None  # the relevance model's judgement, for the top few

    def answers(self, settings: Settings, question_language: str) -> bool:
        """Whether the relevance model judges this passage to answer the question."""
        if self.relevance is None:
            return False
        same = self.hit.metadata.get("language") == question_language
        threshold = settings.min_relevance_same_language if same else settings.min_relevance
        return self.relevance >= threshold


class Retriever:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._lexical: LexicalIndex | None = None
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self.relevance = (
            Relevance(settings.relevance_model, settings.threads)
            if settings.relevance_model
            else None
        )

    # --- the lexical index follows the store ---------------------------------------------

    def lexical(self) -> LexicalIndex:
        with self._lock:
            if self._lexical is None:
                self._lexical = LexicalIndex.open(self.store)  # the saved one, if current
            return self._lexical

    def invalidate(self, wait: float | None = None) -> None:
        """The store changed: build the lexical index again from the current one (reading
        only new chunks), while the current one keeps serving other threads. Waits up to
        `wait` seconds for it (None: until it is ready)."""
        with self._lock:
            current = self._lexical
        if current is None:
            if wait is None:
                self.lexical()  # a writer saves the index, so the next process loads it
            return

        def install(new: LexicalIndex) -> None:
            with self._lock:
                if self._lexical is None or self._lexical.sequence < new.sequence:
                    self._lexical = new

        current.update_in_background(self.store, install).join(wait)

    def refresh_if_stale(self, every: float = 5.0) -> None:
        """Notice documents that another process wrote (a second `kaynak`, or another client
        of the same Chroma server), checking at most every `every` seconds."""
        now = time.monotonic()
        with self._lock:
            current = self._lexical  # read under the lock: another thread may replace it
            if current is None or now - self._checked < every:
                return
            self._checked = now
        if current.state != self.store.state():
            # a small index is ready at once; a large one serves its old self meanwhile
            self.invalidate(wait=0.5)

    # --- ranking ---------------------------------------------------------------------------

    def search(self, question: str, k: int) -> list[Scored]:
        self.refresh_if_stale()
        s = self.settings
        query_vec = np.asarray(self.store.embeddings.embed_query(question), dtype=np.float32)
        pool = max(4 * k, 30)
        hits = {h.chunk_id: h for h in self.store.search(query_vec.tolist(), pool)}
        dense = {cid: h.score for cid, h in hits.items()}

        lex = self.lexical()
        lex_scores = lex.scores(stems(question))
        lexical: dict[str, float] = {}
        if lex_scores.size and float(lex_scores.max()) > 0:
            best = np.argsort(-lex_scores)[: max(2 * k, 10)]
            extra = [lex.ids[i] for i in best if lex_scores[i] > 0 and lex.ids[i] not in hits]
            if extra:
                vectors = self.store.vectors(extra)
                for h in self.store.get_chunks(extra):
                    vec = np.asarray(vectors[h.chunk_id], dtype=np.float32)
                    dense[h.chunk_id] = float(
                        vec @ query_vec / (np.linalg.norm(vec) * np.linalg.norm(query_vec) + 1e-12)
                    )
                    hits[h.chunk_id] = h
            for cid in hits:
                pos = lex.position(cid)
                if pos is not None:
                    lexical[cid] = float(lex_scores[pos])

        scored = [
            Scored(
                hit=h,
                dense=dense[cid],
                lexical=lexical.get(cid, 0.0),
                score=dense[cid] + s.lexical_weight * lexical.get(cid, 0.0),
            )
            for cid, h in hits.items()
        ]
        scored.sort(key=lambda x: -x.score)
        return self._rerank(question, _drop_near_duplicates(scored)[:k])

    def _rerank(self, question: str, results: list[Scored]) -> list[Scored]:
        """Let the relevance model adjust the scores of the top few (it was trained on
        question-passage pairs, which the dense model was not)."""
        depth = self.settings.relevance_depth
        if self.relevance is None or not results or depth <= 0:
            return results
        top, rest = results[:depth], results[depth:]
        judged = self.relevance.scores(question, [r.hit for r in top])
        mean = sum(judged) / len(judged)
        w = self.settings.rerank_weight
        top = [
            replace(r, relevance=j, score=round(r.score + w * (j - mean), 6))
            for r, j in zip(top, judged, strict=True)
        ]
        return sorted(top + rest, key=lambda x: -x.score)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        return [to_passage(s) for s in self.search(question, k or self.settings.k)]

    # --- abstaining ------------------------------------------------------------------------

    def missing_names(self, question: str) -> list[str]:
        """Names and numbers in the question that no source mentions, in any spelling."""
        lex = self.lexical()
        return [name for name in names_and_numbers(question) if not lex.mentions(name)]

    def assess(self, question: str, results: Sequence[Scored]) -> Assessment:
        """Do the results answer the question?"""
        if not results:
            return Assessment(False, [])
        # A question about a person, place or number the sources never mention is not
        # answered from passages that merely share its topic.
        missing = self.missing_names(question)
        if self.relevance is None:
            return Assessment(results[0].score >= self.settings.min_score and not missing, missing)
        language = detect_language(question)
        ok = any(r.answers(self.settings, language) for r in results)
        return Assessment(ok and not missing, missing)


@dataclass(frozen=True)
class Assessment:
    answerable: bool
    missing_names: list[str]


def _drop_near_duplicates(scored: list[Scored]) -> list[Scored]:
    kept: list[Scored] = []
    seen: list[set[str]] = []
    for item in scored:
        words = set(stems(item.hit.text))
        if any(_jaccard(words, other) > 0.9 for other in seen):
            continue
        kept.append(item)
        seen.append(words)
    return kept


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def to_passage(scored: Scored) -> Passage:
    m = scored.hit.metadata
    return Passage(
        doc_id=str(m.get("doc_id", "")),
        title=str(m.get("title", "")),
        url=str(m.get("url", "")),
        path=str(m.get("path", "")),
        text=scored.hit.text,
        start=int(m.get("start", 0)),
        end=int(m.get("end", 0)),
        score=round(scored.score, 4),
        chunk_id=scored.hit.chunk_id,
        publisher=str(m.get("publisher", "")),
        published=str(m.get("published", "")),
        language=str(m.get("language", "")),
    )


class KaynakRetriever(BaseRetriever):
    """Kaynak's ranking as a LangChain retriever, for use in any LangChain chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Retriever
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                page_content=p.text,
                id=p.chunk_id,
                metadata={k: v for k, v in p.__dict__.items() if k != "text"},
            )
            for p in self.retriever.retrieve(query, self.k)
        ]
