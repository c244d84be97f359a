"""Passages -> answer text with [n] markers: extractive (no model), or any LangChain chat model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag import prompts
from rag.config import ConfigError, Settings
from rag.markers import citation_for, neutralise_markers
from rag.types import Citation, Passage


def select_passages(passages: Sequence[Passage], settings: Settings) -> list[Passage]:
    """The passages an extractive answer quotes: the best one, and those whose score comes
    within `answer_margin` of it (a question is often answered by two adjacent sentences)."""
    if not passages:
        return []
    best = passages[0].score
    close = [p for p in passages[1:] if p.score >= best - settings.answer_margin]
    return [passages[0], *close[: settings.max_answer_passages - 1]]


def extractive_pieces(passages: Sequence[Passage], language: str) -> Iterator[str]:
    """The answer text, piece by piece (for streaming): a frame, then each quoted passage."""
    one, several = prompts.EXTRACTIVE_INTRO.get(language, prompts.EXTRACTIVE_INTRO["en"])
    titles = {p.title for p in passages}
    yield one.format(title=passages[0].title) if len(titles) == 1 else several
    for n, p in enumerate(passages, start=1):
        yield f"\n- “{neutralise_markers(' '.join(p.text.split()))}” [{n}]"


def extractive_citations(passages: Sequence[Passage]) -> list[Citation]:
    return [citation_for(n, p) for n, p in enumerate(passages, start=1)]


def abstain_text(language: str, missing_names: Sequence[str] = ()) -> str:
    """Why there is no answer, in the question's language."""
    text = prompts.ABSTAIN.get(language, prompts.ABSTAIN["en"])
    if missing_names:
        missing = prompts.ABSTAIN_MISSING.get(language, prompts.ABSTAIN_MISSING["en"])
        text = missing.format(names=", ".join(missing_names)) + " " + text
    return text


def llm_messages(question: str, passages: Sequence[Passage], language: str) -> list[Any]:
    return [
        SystemMessage(
            prompts.SYSTEM.format(
                language=prompts.language_name(language), cannot_answer=prompts.CANNOT_ANSWER
            )
        ),
        HumanMessage(
            prompts.USER.format(sources=prompts.format_sources(passages), question=question)
        ),
    ]


def is_cannot_answer(text: str) -> bool:
    key = prompts.CANNOT_ANSWER.lower().rstrip(".")
    return key in " ".join(text.lower().split())


def make_llm(settings: Settings) -> BaseChatModel | None:
    """The chat model named by KAYNAK_LLM, or None for extractive answers."""
    spec = settings.llm.strip()
    if spec in {"", "none", "extractive"}:
        return None
    kind, _, model = spec.partition(":")
    if not model:
        raise ConfigError(f"KAYNAK_LLM={spec!r} names no model; e.g. ollama:qwen2.5:7b")
    try:
        if kind == "ollama":
            from langchain_ollama import ChatOllama

            kwargs: dict[str, Any] = {"model": model, "temperature": settings.llm_temperature}
            if settings.llm_base_url:
                kwargs["base_url"] = settings.llm_base_url
            return ChatOllama(**kwargs)
        if kind == "openai":
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(
                model=model,
                base_url=settings.llm_base_url or None,
                api_key=settings.llm_api_key or "not-needed",  # type: ignore[arg-type]
                temperature=settings.llm_temperature,
                max_retries=1,
                timeout=120,
            )
        if kind == "llamacpp":
            from langchain_community.chat_models import ChatLlamaCpp

            return ChatLlamaCpp(
                model_path=model, temperature=settings.llm_temperature, n_ctx=4096, verbose=False
            )
    except ImportError as exc:
        extra = "llamacpp" if kind == "llamacpp" else "llm"
        raise ConfigError(
            f"KAYNAK_LLM={spec!r} needs a package that is not installed ({exc.name}); "
            f"install it with: pip install -e '.[{extra}]'"
        ) from None
    raise ConfigError(
        f"unknown KAYNAK_LLM kind {kind!r}; use none, ollama:MODEL, openai:MODEL or "
        "llamacpp:PATH.gguf"
    )
