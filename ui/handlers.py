"""What the page's events do: ask and stream an answer, keep conversations in the browser, add
and remove sources. Each handler takes and returns the values of Gradio components (ui/app.py
wires them); only `Assistant` is called."""

from __future__ import annotations

import html
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Answer, Assistant, QuestionError, StoreError
from rag.store_errors import storage_faults
from rag.text import detect_language
from rag.types import Citation
from ui import conversations
from ui.glosses import Aid, Glosses
from ui.render import (
    render_answer,
    render_conversation,
    render_documents,
    render_sources,
    render_turn,
)

LANGUAGE_MODEL = "Language model"
UPLOADS = "uploads"  # in KAYNAK_HOME: copies of the files added on the page
NAME_CHARS, SUFFIX_CHARS = 80, 10
Records = list[dict[str, Any]]  # the current conversation's answers, as Answer.to_record()


def safe_upload_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no folders, no odd characters."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._")[:NAME_CHARS] or "upload"
    suffix = re.sub(r"[^\w]+", "", suffix)[:SUFFIX_CHARS]
    return f"{stem}.{suffix}" if suffix else stem


class Chat:
    """Questions and the conversations this browser keeps."""

    def __init__(self, bot: Assistant) -> None:
        self.bot = bot
        self.glosses = Glosses(bot.lexicon)  # reading help for Turkish quotes (ui/glosses.py)
        # Markdown exports, handed to Gradio (which copies them to its cache); gone at exit
        self.exports = tempfile.TemporaryDirectory(prefix="kaynak-exports-")

    def aid(self) -> Aid:
        """Reading help for the answers about to be shown. A passage's language is its
        document's (the documents are read once, when a citation first asks), or the quote's
        own when the document is gone or the index cannot say."""
        known: dict[str, str] | None = None

        def language(c: Citation) -> str:
            nonlocal known
            if known is None:
                try:
                    known = {d.doc_id: d.language for d in self.bot.documents()}
                except StoreError:
                    known = {}
            return known.get(c.doc_id) or detect_language(c.quote)

        return Aid(self.glosses, language)

    def respond(
        self, message: str, records: Records, k_value: float, who: str
    ) -> Iterator[tuple[Any, ...]]:
        """(chat, records, sources panel, question box), as the answer streams in."""
        past = [Answer.from_record(r) for r in records or []]
        aid = self.aid()
        # earlier answers' markers lose their links: the panel will show the new cards
        messages = [m for a in past for m in render_turn(a, latest=False, aid=aid)]
        message = message or ""
        messages.append({"role": "user", "content": message})
        messages.append({"role": "assistant", "content": "…"})
        history = [(a.question, a.text) for a in past]
        # the previous answer's cards must not stand beside the new answer's markers
        yield messages, records, '<div class="empty">Looking for sources…</div>', ""
        try:
            answer = None
            streamed = ""
            for event in self.bot.stream(
                message, history=history, k=int(k_value), use_llm=who == LANGUAGE_MODEL
            ):
                if isinstance(event, Answer):
                    answer = event
                else:
                    streamed += event
                    messages[-1] = {"role": "assistant", "content": render_answer(streamed)}
                    yield messages, records, gr.update(), ""
        except (QuestionError, StoreError) as exc:  # the page goes on serving
            messages[-1] = {"role": "assistant", "content": html.escape(f"⚠ {exc}")}
            yield messages, records, gr.update(), ""
            return
        assert answer is not None
        messages[-2:] = render_turn(answer, aid=aid)
        records = [*(records or []), answer.to_record()]
        yield messages, records, render_sources(answer, self.bot.source_text, aid), ""

    def view(self, store: conversations.Store) -> tuple[Any, ...]:
        """The page for the store's current conversation: chat, its answers, the latest
        answer's sources, the list of conversations and the export."""
        store = conversations.valid(store)
        conversation = conversations.current(store)
        past = conversations.answers(conversation)
        file = None
        if conversation is not None:  # one file per conversation, rewritten as it grows
            folder = Path(self.exports.name) / conversation["id"]
            folder.mkdir(exist_ok=True)
            file = folder / conversations.export_name(conversation)
            file.write_text(conversations.to_markdown(conversation), encoding="utf-8")
        aid = self.aid()
        return (
            render_conversation(past, aid),
            [a.to_record() for a in past],
            render_sources(past[-1] if past else None, self.bot.source_text, aid),
            gr.update(choices=conversations.choices(store), value=store["current"]),
            gr.update(value=str(file) if file else None, interactive=file is not None),
        )

    def remember(self, store: conversations.Store, records: Records) -> tuple[Any, ...]:
        """Save the conversation's answers in the browser: (store, picker, export)."""
        store = conversations.save_turns(store, records or [])
        return store, *self.view(store)[3:]

    def opened(self, store: conversations.Store) -> tuple[Any, ...]:
        return conversations.valid(store), *self.view(store)

    def switch(self, store: conversations.Store, conversation_id: str | None) -> tuple[Any, ...]:
        return self.opened(conversations.select(store, conversation_id))

    def start_new(self, store: conversations.Store) -> tuple[Any, ...]:
        return self.opened(conversations.select(store, None))

    def forget(self, store: conversations.Store) -> tuple[Any, ...]:
        store = conversations.valid(store)
        if store["current"] is None:  # a new conversation, not saved yet: nothing to delete
            return self.opened(store)
        return self.opened(conversations.delete(store, store["current"]))


class Sources:
    """Adding, removing and listing the indexed documents."""

    def __init__(self, bot: Assistant) -> None:
        self.bot = bot

    def add(
        self, paths: list[str] | None, link: str, progress: gr.Progress = gr.Progress()
    ) -> tuple[str, Any, None, str]:
        """(report, documents table, file picker, URL box) after adding files and a URL."""
        bot = self.bot
        inputs: list[str] = []
        try:
            with storage_faults(bot.settings):  # a full or read-only disk says so
                folder = bot.settings.home / UPLOADS
                folder.mkdir(parents=True, exist_ok=True)
                for p in paths or []:
                    target = folder / safe_upload_name(Path(p).name)
                    shutil.copyfile(p, target)
                    inputs.append(str(target))
        except StoreError as exc:
            return f"**Not added:** {html.escape(str(exc))}", gr.update(), None, ""
        if link and link.strip():
            inputs.append(link.strip())
        if not inputs:
            return "Choose a file or paste a URL first.", gr.update(), None, ""
        progress(0, desc="Reading sources")
        try:
            result = bot.ingest(
                inputs,
                on_progress=lambda d, t, s: progress(d / max(t, 1), desc=Path(s).name),
                on_wait=lambda message: progress(0, desc=message.capitalize()),
            )
        except StoreError as exc:  # e.g. another process held the index too long
            return f"**Not added:** {html.escape(str(exc))}", gr.update(), None, ""
        lines = [f"**{result.summary().splitlines()[0]}**"]
        lines += [f"- added: {html.escape(Path(s).name)}" for s in result.added]
        lines += [f"- updated: {html.escape(Path(s).name)}" for s in result.updated]
        lines += [f"- unchanged: {html.escape(Path(s).name)}" for s in result.unchanged]
        lines += [
            f"- skipped {html.escape(Path(s).name)}: {html.escape(why)}"
            for s, why in result.skipped
        ]
        return "\n".join(lines), render_documents(bot), None, ""

    def remove(self, identifier: str) -> tuple[str, Any]:
        """(message, documents table) after removing the document `identifier`."""
        identifier = (identifier or "").strip()
        if not identifier:
            return "Copy a document id from the table first.", gr.update()
        try:
            removed = self.bot.remove(identifier)
        except StoreError as exc:
            return f"Not removed: {html.escape(str(exc))}", gr.update()
        if removed:
            return f"Removed {html.escape(identifier)}.", render_documents(self.bot)
        return f"No document has the id {html.escape(identifier)}.", gr.update()

    def refresh(self, rows_shown: Any) -> tuple[Any, Any]:
        """(documents table, rows shown): the table changes only when the documents did."""
        try:
            rows = render_documents(self.bot)
        except StoreError:  # said by the background line beside it; keep what is shown
            return gr.update(), rows_shown
        return (gr.update(), rows_shown) if rows == rows_shown else (rows, rows)
