"""Kaynak: answers about the news with citations you can check, offline.

`rag.evaluate` is the evaluation module: `rag.evaluate.evaluate(bot, "questions.jsonl")`,
`rag.evaluate.format_report(result)`.
"""

from rag import evaluate
from rag.assistant import BUNDLED_CORPUS, Assistant
from rag.config import ConfigError, Settings
from rag.formats import LoadError
from rag.prompts import CANNOT_ANSWER
from rag.retrieval import QuestionError
from rag.store_errors import StoreError
from rag.types import Answer, Citation, DroppedSentence, IngestReport, Passage, SourceDocument

__all__ = [
    "BUNDLED_CORPUS",
    "CANNOT_ANSWER",
    "Answer",
    "Assistant",
    "Citation",
    "ConfigError",
    "DroppedSentence",
    "IngestReport",
    "LoadError",
    "Passage",
    "QuestionError",
    "Settings",
    "SourceDocument",
    "StoreError",
    "evaluate",
]
