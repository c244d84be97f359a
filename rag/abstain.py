"""The answer-or-abstain decision: do the retrieved passages answer the question?

A small logistic model reads what retrieval found (how well the best passage matches by e5
and USE, lexical evidence, how it stands out from the rest, and whether the question's names
and numbers appear around the best passages) and gives the probability that the question is
answerable. Its coefficients and threshold are fitted by bench/fit_decisions.py on the
development half of XQuAD with folds that leave whole articles out, and stored in
rag/abstain.json with the numbers they were fitted to. A name no passage mentions is evidence,
not a veto: names are matched by spelling or, across languages, by multilingual similarity
(Germany/Almanya), and a question's lone sentence-initial word is not taken for a name.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.config import Settings, package_path
from rag.embeddings import KaynakEmbeddings
from rag.lexicon import Lexicon
from rag.matching import ByMeaning, Words, unmentioned
from rag.name_vectors import NameVectors
from rag.text import around, detect_language, language_code
from rag.types import Scored

_COVERED_TOP = 3  # passages whose coverage of the question is a feature

if TYPE_CHECKING:
    from rag.lexical import LexicalIndex
    from rag.store import Store

MODEL_FILE = package_path("abstain.json")  # package data, see pyproject.toml
# The model fitted with the Turkish-English lexicon (bench/fit_decisions.py --lexicon), used
# when the lexicon is loaded; it reads LEXICON_FEATURES.
LEXICON_MODEL_FILE = package_path("abstain_lexicon.json")
FEATURES = (
    "score",  # fused ranking score of the best passage
    "e5",  # e5 similarity of the best passage, alone and in context
    "e5_context",
    "use",  # USE similarity of the best passage
    "lexical",  # the best lexical share among the top three
    "e5_gap",  # the best e5 similarity above the median of the candidates: it stands out
    "margin",  # the best fused score above the second
    "names_missing",  # names and numbers of the question found around none of the top passages
    "names_unknown",  # ... and in no source at all, in any spelling
    "same_language",  # the question is in the best passage's language
)
LEXICON_FEATURES = (
    *FEATURES,
    # the share (by idf) of the question's content words the best passage, with the text
    # around it, holds by spelling or through the lexicon's translations
    "covered",
    "covered_top",  # ... the most that any of the top three holds
)


@dataclass(frozen=True)
class Decision:
    answerable: bool
    probability: float  # that the passages answer the question (1.0 when judged by rule)
    missing_names: list[str] = field(default_factory=list)  # that no source mentions at all
    features: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AbstainModel:
    """Standardised features -> logistic probability; answer when it reaches `threshold`."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def probability(self, values: dict[str, float]) -> float:
        z = self.intercept + sum(
            c * (values[f] - m) / s
            for f, m, s, c in zip(self.features, self.mean, self.scale, self.coef, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AbstainModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            features=tuple(data["features"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
        )


@lru_cache(maxsize=4)
def _model(path: Path = MODEL_FILE) -> AbstainModel:
    return AbstainModel.load(path)


class Decider:
    def __init__(
        self,
        store: Store,
        embeddings: KaynakEmbeddings,
        settings: Settings,
        model: AbstainModel | None = None,
        lexicon: Lexicon | None = None,
        names: NameVectors | None = None,
    ) -> None:
        self.store = store
        self.names = names  # the passages' names' vectors, stored after ingest
        self.embeddings = embeddings
        self.settings = settings
        self.model = model
        self.lexicon = lexicon
        self._lock = threading.Lock()
        self._texts: dict[str, str] = {}  # doc_id -> source text, until the documents change

    def features(
        self, question: str, ranked: Sequence[Scored], lexical: LexicalIndex
    ) -> tuple[dict[str, float], list[str]]:
        """The model's inputs, and the question's names and numbers that no source mentions."""
        best = ranked[0]
        e5 = [r.e5 for r in ranked if r.e5 is not None]
        missing = self.names_missing(question, ranked[: self.settings.name_passages])
        unknown = [n for n in missing if not lexical.mentions(n)]
        words = Words(self.lexicon, lexical.weight)
        language = detect_language(question)
        # (only the lexicon's model reads these: without it they are not computed)
        covered = [
            words.found(
                question, language, self._context(r), language_code(r.hit.metadata.get("language"))
            ).coverage
            for r in (ranked[:_COVERED_TOP] if self.lexicon is not None else [])
        ] or [0.0]
        values = {
            "score": best.score,
            "e5": best.e5 if best.e5 is not None else 0.0,
            "e5_context": best.e5_context if best.e5_context is not None else 0.0,
            "use": best.dense,
            "lexical": max(r.lexical for r in ranked[:3]),
            "e5_gap": (best.e5 - float(np.median(e5))) if e5 and best.e5 is not None else 0.0,
            "margin": best.score - ranked[1].score if len(ranked) > 1 else 0.0,
            "names_missing": float(len(missing)),
            "names_unknown": float(len(unknown)),
            "same_language": float(language == language_code(best.hit.metadata.get("language"))),
            "covered": covered[0],
            "covered_top": max(covered),
        }
        return values, unknown

    def decide(self, question: str, ranked: Sequence[Scored], lexical: LexicalIndex) -> Decision:
        if not ranked:
            return Decision(False, 0.0)
        values, unknown = self.features(question, ranked, lexical)
        if not self.settings.relevance_model:
            ok = ranked[0].score >= self.settings.min_score and not unknown
            return Decision(ok, 1.0 if ok else 0.0, unknown, values)
        model = self.model or _model(LEXICON_MODEL_FILE if self.lexicon else MODEL_FILE)
        p = model.probability(values)
        return Decision(p >= model.threshold, p, unknown, values)

    def names_missing(self, question: str, top: Sequence[Scored]) -> list[str]:
        """Names and numbers of `question` that none of the `top` passages, with the text
        around each, mentions in any spelling or translation (`matching.unmentioned`)."""
        asked = self.asked_names(question)
        if not asked:
            return []
        contexts = [self._context(r) for r in top]
        translations = ByMeaning(self.embeddings, stored=self.names.lookup if self.names else None)
        return unmentioned(asked, contexts, translations, self.settings.name_similarity)

    def asked_names(self, question: str) -> list[str]:
        """The names and numbers a question asks about (`matching.Words.names`)."""
        return Words(self.lexicon).names(question)

    def _context(self, scored: Scored) -> str:
        """The passage with the text around it in its source (names often come before)."""
        meta = scored.hit.metadata
        start, end = int(meta.get("start", 0)), int(meta.get("end", 0))
        return self.context(str(meta.get("doc_id", "")), start, end, scored.hit.text)

    def context(self, doc_id: str, start: int, end: int, passage: str) -> str:
        """The passage `passage` at `start:end` of document `doc_id`, with the text around it
        (`Settings.context_before`, `context_after`). The document's text is remembered until
        the documents change; one that no longer holds the passage there (another process
        replaced the document a moment ago) is read again."""
        with self._lock:
            text = self._texts.get(doc_id)
        if text is None or text[start:end] != passage:
            text = self.store.source_text(doc_id)
            if text is None or text[start:end] != passage:
                return passage
            with self._lock:
                self._texts[doc_id] = text
        s = self.settings
        return around(text, start, end, s.context_before, s.context_after)

    def forget(self) -> None:
        """Drop the cached source texts (the documents changed)."""
        with self._lock:
            self._texts.clear()
