"""Conversation: follow-up questions made standalone before retrieval."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from rag import prompts
from rag.text import fold, names_and_numbers

History = Sequence[tuple[str, str]]
# A model's rewrite shorter or longer than this is not a question: the rules rewrite instead.
MIN_REWRITE_CHARS, MAX_REWRITE_CHARS = 3, 500
# A follow-up of at most this many words after an opener ("And Hayashi?") is elliptical.
ELLIPTICAL_WORDS = 6
log = logging.getLogger(__name__)

# Third-person pronouns that point back at the previous subject (English and Turkish).
_PRONOUNS = {
    "he", "she", "they", "him", "her", "them", "his", "hers", "their", "it", "its",
    "o", "onu", "ona", "onun", "onlar", "onları", "onlara", "onların",
}  # fmt: skip
# Openers of an elliptical follow-up: "And Hayashi?", "What about Japan?", "Peki Hayashi?".
_ELLIPSIS_RE = re.compile(
    r"^\s*(and|and what about|what about|how about|also|peki|ya|bir de|peki ya)\b[\s,]*",
    re.IGNORECASE,
)


def standalone_question(
    question: str, history: History | None, llm: BaseChatModel | None = None
) -> str:
    """`question` rewritten so that it needs no conversation to be understood."""
    if not history:
        return question
    if llm is not None:
        rewritten = _condense_with_llm(question, history, llm)
        if rewritten:
            return rewritten
    return _condense_by_rule(question, history)


def _condense_with_llm(question: str, history: History, llm: BaseChatModel) -> str:
    turns = "\n".join(
        f"User: {q}\nAssistant: {' '.join(a.split())[:400]}" for q, a in list(history)[-3:]
    )
    try:
        reply = llm.invoke(
            [HumanMessage(prompts.CONDENSE.format(history=turns, question=question))]
        )
    except Exception as exc:  # a failing model must not stop the conversation; the rule still works
        log.warning(
            "the language model could not rewrite the follow-up %r (%s: %s); using the rule",
            question,
            type(exc).__name__,
            exc,
        )
        return ""
    text = str(getattr(reply, "content", "") or "").strip().strip('"').strip()
    text = text.splitlines()[0].strip() if text else ""
    return text if MIN_REWRITE_CHARS <= len(text) <= MAX_REWRITE_CHARS else ""


def _condense_by_rule(question: str, history: History) -> str:
    previous = _last_subject_question(history)
    if previous is None:
        return question
    prev_question, subject = previous
    names = names_and_numbers(question)
    words = re.findall(r"\w+", question)
    elliptical = bool(_ELLIPSIS_RE.match(question)) and len(words) <= ELLIPTICAL_WORDS

    if elliptical and names:
        # "And Hayashi?" after "What did Joly say?" -> "What did Hayashi say?"
        if subject and subject in prev_question:
            return prev_question.replace(subject, " ".join(names), 1)
        return f"{prev_question.rstrip('?')} {' '.join(names)}?"
    if not names and subject:
        pronoun = next((w for w in words if fold(w) in _PRONOUNS), None)
        if pronoun is not None:
            # "What else did she say?" -> "What else did Joly say?"
            return re.sub(rf"\b{re.escape(pronoun)}\b", subject, question, count=1)
        if elliptical:
            rest = _ELLIPSIS_RE.sub("", question).strip()
            return f"{rest.rstrip('?')} {subject}?" if rest else prev_question
    return question


def _last_subject_question(history: History) -> tuple[str, str] | None:
    """The latest user question that names someone or something, and that name."""
    for user, _assistant in reversed(list(history)):
        names = [n for n in names_and_numbers(user) if not n.isdigit()]
        if names:
            return user, names[0]
    if history:
        return list(history)[-1][0], ""
    return None
