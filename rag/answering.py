"""Passages -> answer text with [n] markers: extractive (no model), or any LangChain chat model
whose sentences the citation check keeps or drops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag import prompts
from rag.citations import Check, prepare, verify
from rag.config import ConfigError, Settings
from rag.embeddings import KaynakEmbeddings
from rag.markers import citation_for, neutralise_markers
from rag.matching import Held, Words
from rag.text import detect_language, language_code
from rag.types import Answer, Citation, DroppedSentence, Passage

if TYPE_CHECKING:
    from rag.lexicon import Lexicon

log = logging.getLogger(__name__)


def select_passages(
    passages: Sequence[Passage],
    settings: Settings,
    question: str = "",
    about: About | None = None,
) -> list[Passage]:
    """The passages an extractive answer quotes: the best one, and those whose score comes
    within `answer_margin` of it (a question is often answered by two adjacent sentences).
    With `about` (the lexicon is loaded), an added passage must also be about the question
    (`about_question`)."""
    if not passages:
        return []
    best = passages[0]
    close = [p for p in passages[1:] if p.score >= best.score - settings.answer_margin]
    if about is not None and question:
        first = about.holds(question, best)
        close = [
            p
            for p in close
            if about_question(first, about.holds(question, p), settings.quote_coverage)
        ]
    return [best, *close[: settings.max_answer_passages - 1]]


@dataclass(frozen=True)
class About:
    """What a passage holds of a question, through `words`; names are looked for in the
    passage with the text around it (`context`: Assistant.passage_context)."""

    words: Words
    context: Callable[[Passage], str]

    def holds(self, question: str, passage: Passage) -> Held:
        return self.words.holds(
            question,
            detect_language(question),
            passage.text,
            language_code(passage.language),
            self.context(passage),
        )


def about_question(first: Held, other: Held, share: float) -> bool:
    """Whether a passage that holds `other` of the question may be quoted after the best one,
    which holds `first`: it holds every name of the question the best one holds, and at least
    `share` of the content the best one holds (bench/fit_decisions.py --lexicon fits it)."""
    return first.names <= other.names and other.coverage >= share * first.coverage


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


def extractive(
    base: Answer, settings: Settings, about: About | None = None
) -> Iterator[str | Answer]:
    """The answer that quotes the best passages, piece by piece, then the final Answer."""
    chosen = select_passages(base.passages, settings, base.standalone_question, about)
    pieces = []
    for piece in extractive_pieces(chosen, base.language):
        pieces.append(piece)
        yield piece
    yield replace(
        base,
        text="".join(pieces),
        citations=extractive_citations(chosen),
        answerer="extractive",
    )


@dataclass(frozen=True)
class ModelCheck:
    """What checking a model's answer needs: the embeddings the citation check compares
    with, the settings, the text around a passage in its source (for names), and the
    Turkish-English lexicon when it is loaded (None: the check reads no dictionary)."""

    embeddings: KaynakEmbeddings
    settings: Settings
    context: Callable[[Passage], str]
    lexicon: Lexicon | None = None

    def prepare(self, passages: list[Passage]) -> None:
        try:
            prepare(passages, self.embeddings)
        except Exception:  # the check embeds what is missing itself
            log.warning("could not prepare the citation check ahead", exc_info=True)


def generative(llm: BaseChatModel, base: Answer, check: ModelCheck) -> Iterator[str | Answer]:
    """The model's answer as it streams, then the final Answer: only the sentences whose
    citations the check finds supported, or the quoted sources when none is (or the model
    failed, or said nothing)."""
    messages = llm_messages(base.standalone_question, base.passages, base.language)
    # the citation check's side of the comparison is embedded while the model writes
    ready = threading.Thread(
        target=check.prepare, args=(base.passages,), daemon=True, name="kaynak-check"
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
        yield from _quoted_instead(base, check.settings, note=note)
        return
    raw = "".join(parts).strip()
    if not raw:
        note = "The language model returned an empty answer, so the sources are quoted instead."
        yield from _quoted_instead(base, check.settings, note=note)
        return
    dropped = []
    if not is_cannot_answer(raw):
        ready.join()
        checked = verify(
            raw,
            base.passages,
            check.embeddings,
            language=base.language,
            contexts=[check.context(p) for p in base.passages],
            check=Check.from_settings(check.settings),
            lexicon=check.lexicon,
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
    yield from _quoted_instead(base, check.settings, dropped=dropped)


def _quoted_instead(
    base: Answer, settings: Settings, note: str = "", dropped: list[DroppedSentence] | None = None
) -> Iterator[Answer]:
    """The extractive answer in place of the model's (only the final Answer: it replaces
    whatever the model had streamed)."""
    for event in extractive(base, settings):
        if isinstance(event, Answer):
            yield replace(event, dropped=dropped or [], note=note)


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
