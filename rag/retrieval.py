"""Question -> ranked passages, and the decision that nothing relevant was found.

Ranking: a weighted sum of the dense (multilingual) similarities of each candidate, by USE
and by a question-passage model (e5), and of lexical evidence (BM25 over five-letter stems,
as a share of the most the question's terms could score). Passages in the question's
language get their own weights, where shared words count for much more. Dense
similarity carries cross-lingual questions, where BM25 finds nothing; lexical evidence
separates passages about the named person or term. Plain rank fusion of the two lists was
worse cross-lingually (a BM25 list of chance matches pulls noise up), so lexical evidence
only ever adds to a dense score, never replaces it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.abstain import Decider, Decision
from rag.config import Settings
from rag.embeddings import KaynakEmbeddings, cosine
from rag.lexical import LexicalIndex
from rag.lexicon import Lexicon
from rag.matching import Words, crosses
from rag.relevance import Relevance
from rag.store import Store
from rag.text import detect_language, language_code, remembered, stems
from rag.types import Hit, Passage, Scored

# A candidate whose stems overlap an earlier one's this much (Jaccard) repeats it: a copy of
# the same sentence in another document, or a paragraph quoted again.
NEAR_DUPLICATE = 0.9
_LEXICAL_CANDIDATES = 10  # the best lexical matches added to the dense candidates, per query


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


class Retriever:
    """Ranks the store's chunks for a question, keeps the lexical index in step with the
    store, and asks `decider` whether the best ones answer it. `relevance` is the
    question-passage model, or None to rank by USE and lexical evidence alone."""

    def __init__(
        self,
        store: Store,
        embeddings: KaynakEmbeddings,
        settings: Settings,
        relevance: Relevance | None,
        decider: Decider,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.store = store
        self.lexicon = lexicon  # English <-> Turkish words, when installed (rag/lexicon.py)
        self.embeddings = embeddings
        self.settings = settings
        self._lexical: LexicalIndex | None = None
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self.relevance = relevance
        self.decider = decider

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
        self.decider.forget()
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

    def rank(self, question: str, pool: int = 30) -> list[Scored]:
        """Every candidate for `question`, best first, near-duplicates dropped.

        Candidates: the nearest chunks by USE and by e5, and the best lexical matches. Score:
        a weighted sum of USE similarity, e5 similarity of the sentence alone and in context,
        and lexical evidence, with weights fitted on XQuAD (bench/fit_decisions.py): one set
        for passages in the question's language, one for the others."""
        self.refresh_if_stale()
        s = self.settings
        query_vec = np.asarray(self.embeddings.embed_query(question), dtype=np.float32)
        hits = {h.chunk_id: h for h in self.store.search(query_vec.tolist(), pool)}
        e5_query = self.relevance.query(question) if self.relevance is not None else None
        wanted: list[str] = []
        if self.relevance is not None and e5_query is not None:
            wanted = self.relevance.search(e5_query, pool)
        lex = self.lexical()  # one index for the whole question (another may be installed)
        words = Words(self.lexicon, lex.weight)  # the question's words, translated once
        lex_scores, lexical_best = self._lexical_candidates(question, lex, words)
        # the chunks found by e5 and by words, read in one request to the store
        wanted = [cid for cid in dict.fromkeys(wanted + lexical_best) if cid not in hits]
        got = {h.chunk_id: h for h in self.store.get_chunks(wanted)}
        hits.update({cid: got[cid] for cid in wanted if cid in got})

        lexical = self._lexical_evidence(
            question, hits, lex, words, lex_scores, e5_query is not None
        )
        dense = {cid: h.score for cid, h in hits.items() if h.score}
        unscored = [cid for cid in hits if cid not in dense]
        if unscored:
            vectors = self.store.vectors(unscored)
            for cid in unscored:  # one removed meanwhile is dropped
                if cid in vectors:
                    dense[cid] = cosine(vectors[cid], query_vec)
                else:
                    del hits[cid]

        if e5_query is None:
            scored = [
                Scored(h, dense[c], lexical[c], dense[c] + s.lexical_weight * lexical[c])
                for c, h in hits.items()
            ]
        else:
            scored = self._fuse(question, hits, dense, lexical, e5_query)
        scored.sort(key=lambda x: -x.score)
        return _drop_near_duplicates(scored)

    def _lexical_candidates(
        self, question: str, lex: LexicalIndex, words: Words
    ) -> tuple[np.ndarray, list[str]]:
        """The BM25 shares of the question's words, and the ids of the best lexical matches:
        for the question's words and, with the lexicon, for their translations into the
        other of English and Turkish."""
        lex_scores = lex.scores(stems(question))
        queries = [lex_scores]
        if self.lexicon is not None:
            queries.append(lex.scores(words.translated(question, detect_language(question))))
        best: list[str] = []
        for scores in queries:
            if scores.size and float(scores.max()) > 0:
                top = np.argsort(-scores)[:_LEXICAL_CANDIDATES]
                best += [lex.ids[i] for i in top if scores[i] > 0]
        return lex_scores, best

    def _lexical_evidence(
        self,
        question: str,
        hits: dict[str, Hit],
        lex: LexicalIndex,
        words: Words,
        lex_scores: np.ndarray,
        translated: bool,
    ) -> dict[str, float]:
        """Each hit's lexical evidence: the BM25 share (`lex_scores`); with the lexicon and
        `translated`, for a passage in the other of English and Turkish, the share of the
        question's words it holds through the lexicon, and none for a passage in another
        language (as without the lexicon)."""
        lexical = {cid: _at(lex_scores, lex.position(cid)) for cid in hits}
        if self.lexicon is None or not translated:  # (fitted with the e5 ranking only)
            return lexical
        language = detect_language(question)
        for cid, hit in hits.items():
            passage_language = language_code(hit.metadata.get("language"))
            if crosses(language, passage_language):
                lexical[cid] = words.found(question, language, hit.text, passage_language).coverage
            elif passage_language != language:  # a pair the lexicon does not translate: no
                lexical[cid] = 0.0  # evidence, as weight_lexical 0 gives without the lexicon
        return lexical

    def _fuse(
        self,
        question: str,
        hits: dict[str, Hit],
        dense: dict[str, float],
        lexical: dict[str, float],
        e5_query: np.ndarray,
    ) -> list[Scored]:
        assert self.relevance is not None
        s = self.settings
        # Chunks whose e5 vectors are not stored yet (just ingested): embed the few best now,
        # chosen by USE and lexical evidence alike in any language (a same-language passage
        # that shares no word with the question still has its USE similarity).
        first = {c: dense[c] + s.lexical_weight * lexical[c] for c in hits}
        on_demand = set(sorted(hits, key=lambda c: -first[c])[: s.relevance_depth])
        e5 = self.relevance.scores(e5_query, list(hits.values()), on_demand)
        floor = min((v[0] for v in e5.values()), default=0.0)
        unfused = [
            Scored(h, dense[c], lexical[c], 0.0, *e5.get(c, (floor, floor)))
            for c, h in hits.items()
        ]
        scores = fuse(
            components(unfused),
            in_language(detect_language(question), unfused),
            {same: s.ranking_weights(same, self.lexicon is not None) for same in (True, False)},
        )
        return [replace(x, score=round(float(v), 6)) for x, v in zip(unfused, scores, strict=True)]

    def search(self, question: str, k: int) -> list[Scored]:
        return self.rank(question)[:k]

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        return [to_passage(s) for s in self.search(question, k or self.settings.k)]

    # --- abstaining ------------------------------------------------------------------------

    def assess(self, question: str, ranked: Sequence[Scored]) -> Decision:
        """Do the passages answer the question? (`ranked`: all of `rank`'s list.)"""
        return self.decider.decide(question, ranked, self.lexical())


def components(candidates: Sequence[Scored]) -> np.ndarray:
    """What `fuse` weighs, one row per candidate: USE similarity, e5 similarity of the
    sentence alone and in context (0 when not computed), and lexical evidence."""
    rows = [[c.dense, c.e5 or 0.0, c.e5_context or 0.0, c.lexical] for c in candidates]
    return np.array(rows, dtype=float).reshape(-1, 4)


def in_language(language: str, candidates: Sequence[Scored]) -> np.ndarray:
    """For each candidate, whether its passage is in `language` (the question's)."""
    codes = [language_code(c.hit.metadata.get("language")) for c in candidates]
    return np.array([code == language for code in codes], dtype=bool)


def fuse(
    parts: np.ndarray, same_language: np.ndarray, weights: Mapping[bool, Sequence[float]]
) -> np.ndarray:
    """The ranking score of each candidate: the weighted sum of its `parts` (a row of
    `components`), with `weights[True]` for a passage in the question's language and
    `weights[False]` for the others (`Settings.ranking_weights`). `Retriever.rank` sorts
    by it, and bench/fit_decisions.py fits the weights with it."""
    w = np.where(same_language[:, None], weights[True], weights[False])
    # USE and lexical evidence first, e5 after: the order the fitted model's scores were
    # summed in, so that no rounded score (and no near-tie's order) moves by a last bit
    first = w[:, 0] * parts[:, 0] + w[:, 3] * parts[:, 3]
    return np.asarray(first + w[:, 1] * parts[:, 1] + w[:, 2] * parts[:, 2], dtype=float)


def _drop_near_duplicates(scored: list[Scored]) -> list[Scored]:
    kept: list[Scored] = []
    seen: list[frozenset[str]] = []
    for item in scored:
        words = _stem_set(item.hit.text)
        if any(_jaccard(words, other) > NEAR_DUPLICATE for other in seen):
            continue
        kept.append(item)
        seen.append(words)
    return kept


@remembered
def _stem_set(text: str) -> frozenset[str]:
    return frozenset(stems(text))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


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


def _at(scores: np.ndarray, position: int | None) -> float:
    return float(scores[position]) if position is not None and scores.size else 0.0
