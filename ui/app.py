"""The Gradio page: its layout and events. It only calls `Assistant`; HTML comes from
`ui/render.py`, and conversations are kept in the browser (`ui/conversations.py`)."""

from __future__ import annotations

import html
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Answer, Assistant, QuestionError, StoreError
from rag.store_errors import storage_faults
from ui import conversations
from ui.render import (
    render_answer,
    render_background,
    render_conversation,
    render_documents,
    render_sources,
    render_turn,
)

EXAMPLES = ["What did Joly say?", "Who did Joly meet in Tokyo?", "Joly ne dedi?"]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx"]

CSS = """
#sources .card {border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 10px 12px; margin-bottom: 10px; background: var(--background-fill-secondary);}
#sources .card:target {outline: 2px solid var(--color-accent);}
#sources .card h4 {margin: 0 0 4px 0; font-size: 0.95em;}
#sources .meta {color: var(--body-text-color-subdued); font-size: 0.85em; margin-bottom: 6px;}
#sources .passage {font-size: 0.92em; line-height: 1.45;}
#sources mark {background: #fde68a; color: #111; padding: 0 2px; border-radius: 3px;}
#sources .empty {color: var(--body-text-color-subdued);}
a.cite {text-decoration: none; font-weight: 600;}
.note {color: var(--body-text-color-subdued); font-size: 0.9em;}
"""


def safe_upload_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no folders, no odd characters."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._")[:80] or "upload"
    suffix = re.sub(r"[^\w]+", "", suffix)[:10]
    return f"{stem}.{suffix}" if suffix else stem


# --- the page ---------------------------------------------------------------------------------


def build_app(bot: Assistant) -> gr.Blocks:
    has_llm = bot.llm is not None
    answerers = ["Extractive (quotes the sources)"] + (["Language model"] if has_llm else [])

    with gr.Blocks(title="Kaynak") as app:
        gr.Markdown(
            "## Kaynak — answers about the news, with sources you can check\n"
            "Ask in English or Turkish. Every answer cites the exact passages it comes from."
        )
        # Markdown exports, handed to Gradio (which copies them to its cache); gone at exit
        exports = tempfile.TemporaryDirectory(prefix="kaynak-exports-")
        # the current conversation's answers (records), and every conversation of this browser
        turns = gr.State([])
        saved = gr.BrowserState(
            conversations.empty(),
            storage_key=conversations.STORAGE_KEY,
            secret=conversations.browser_secret(bot.settings.home),
        )
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Conversation",
                    height=480,
                    placeholder="Ask about the sources, e.g. *What did Joly say?*",
                    sanitize_html=True,
                    elem_id="chat",
                )
                with gr.Row():
                    box = gr.Textbox(
                        show_label=False,
                        placeholder="Type a question and press Enter",
                        scale=5,
                        elem_id="question",
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                with gr.Row():
                    new = gr.Button("New conversation", size="sm", elem_id="new")
                    delete = gr.Button(
                        "Delete this conversation", size="sm", variant="stop", elem_id="delete"
                    )
                    export = gr.DownloadButton(
                        "Export as Markdown", size="sm", elem_id="export", interactive=False
                    )
                with gr.Accordion("Past conversations (kept in this browser)", open=False):
                    picker = gr.Radio(
                        [], label="Open a conversation", elem_id="conversations", type="value"
                    )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render_sources(None), elem_id="sources")

        with gr.Accordion("Settings", open=False):
            answerer = gr.Radio(
                answerers, value=answerers[-1] if has_llm else answerers[0], label="Answerer"
            )
            k = gr.Slider(1, 20, value=bot.settings.k, step=1, label="Passages to retrieve")

        with gr.Accordion("Add sources", open=False):
            files = gr.File(
                label="Upload files",
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                type="filepath",
                elem_id="upload",
            )
            url = gr.Textbox(label="…or a web page URL", placeholder="https://…", elem_id="url")
            add = gr.Button("Add to the corpus", elem_id="add")
            report = gr.Markdown(elem_id="report")

        with gr.Accordion("Corpus", open=False):
            docs = gr.Dataframe(
                headers=["title", "chunks", "source", "id"],
                value=render_documents(bot),
                interactive=False,
                elem_id="docs",
            )
            with gr.Row():
                doc_id = gr.Textbox(label="Document id to remove", scale=4)
                remove = gr.Button("Remove", variant="stop", scale=1)
            removed = gr.Markdown()
            background = gr.Markdown(render_background(bot), elem_id="background")
        gr.Timer(5).tick(lambda: render_background(bot), None, background)

        def respond(message: str, records: list, k_value: float, who: str):  # type: ignore[no-untyped-def]
            past = [Answer.from_record(r) for r in records or []]
            # earlier answers' markers lose their links: the panel will show the new cards
            messages = [m for a in past for m in render_turn(a, latest=False)]
            message = message or ""
            messages.append({"role": "user", "content": message})
            messages.append({"role": "assistant", "content": "…"})
            history = [(a.question, a.text) for a in past]
            # the previous answer's cards must not stand beside the new answer's markers
            yield messages, records, '<div class="empty">Looking for sources…</div>', ""
            try:
                answer = None
                streamed = ""
                for event in bot.stream(
                    message, history=history, k=int(k_value), use_llm=who == "Language model"
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
            messages[-2:] = render_turn(answer)
            records = [*(records or []), answer.to_record()]
            yield messages, records, render_sources(answer, bot.source_text), ""

        def view(store: conversations.Store) -> tuple[Any, ...]:
            """The page for the store's current conversation: chat, its answers, the latest
            answer's sources, the list of conversations and the export."""
            store = conversations.valid(store)
            conversation = conversations.current(store)
            past = conversations.answers(conversation)
            file = None
            if conversation is not None:  # one file per conversation, rewritten as it grows
                folder = Path(exports.name) / conversation["id"]
                folder.mkdir(exist_ok=True)
                file = folder / conversations.export_name(conversation)
                file.write_text(conversations.to_markdown(conversation), encoding="utf-8")
            return (
                render_conversation(past),
                [a.to_record() for a in past],
                render_sources(past[-1] if past else None, bot.source_text),
                gr.update(choices=conversations.choices(store), value=store["current"]),
                gr.update(value=str(file) if file else None, interactive=file is not None),
            )

        def remember(store: conversations.Store, records: list):  # type: ignore[no-untyped-def]
            store = conversations.save_turns(store, records or [])
            return store, *view(store)[3:]

        outputs = [chat, turns, sources, box]
        page = [chat, turns, sources, picker, export]
        # While an answer is on its way the export is off: the file it holds lacks that turn,
        # and `remember` turns it back on with the conversation as saved.
        hold_export: dict[str, Any] = {"api_visibility": "private", "queue": False}
        for trigger, naming in (
            (box.submit, {"api_visibility": "private"}),
            (send.click, {"api_name": "ask"}),
        ):
            trigger(lambda: gr.update(interactive=False), None, export, **hold_export).then(
                respond, [box, turns, k, answerer], outputs, **naming
            ).then(remember, [saved, turns], [saved, picker, export], api_visibility="private")

        def opened(store: conversations.Store):  # type: ignore[no-untyped-def]
            return conversations.valid(store), *view(store)

        def switch(store: conversations.Store, conversation_id: str | None):  # type: ignore[no-untyped-def]
            return opened(conversations.select(store, conversation_id))

        def start_new(store: conversations.Store):  # type: ignore[no-untyped-def]
            return opened(conversations.select(store, None))

        def forget(store: conversations.Store):  # type: ignore[no-untyped-def]
            store = conversations.valid(store)
            if store["current"] is None:  # a new conversation, not saved yet: nothing to delete
                return opened(store)
            return opened(conversations.delete(store, store["current"]))

        private: dict[str, Any] = {"api_visibility": "private"}
        app.load(opened, [saved], [saved, *page], **private)
        picker.input(switch, [saved, picker], [saved, *page], **private)
        new.click(start_new, [saved], [saved, *page], **private)
        chat.clear(start_new, [saved], [saved, *page], **private)  # the chat's own trash icon
        delete.click(forget, [saved], [saved, *page], **private)

        def add_sources(paths: list[str] | None, link: str, progress=gr.Progress()):  # type: ignore[no-untyped-def]
            inputs: list[str] = []
            try:
                with storage_faults(bot.settings):  # a full or read-only disk says so
                    folder = bot.settings.home / "uploads"
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

        add.click(add_sources, [files, url], [report, docs, files, url], api_name="add_sources")

        def remove_doc(identifier: str):  # type: ignore[no-untyped-def]
            identifier = (identifier or "").strip()
            if not identifier:
                return "Copy a document id from the table first.", gr.update()
            try:
                removed = bot.remove(identifier)
            except StoreError as exc:
                return f"Not removed: {html.escape(str(exc))}", gr.update()
            if removed:
                return f"Removed {html.escape(identifier)}.", render_documents(bot)
            return f"No document has the id {html.escape(identifier)}.", gr.update()

        remove.click(remove_doc, [doc_id], [removed, docs], api_name="remove")

        # Documents another process adds (`kaynak ingest` in a terminal) appear within 5 s.
        shown = gr.State(None)  # per browser tab: the rows it shows

        def refresh_documents(rows_shown):  # type: ignore[no-untyped-def]
            try:
                rows = render_documents(bot)
            except StoreError:  # said by the background line beside it; keep what is shown
                return gr.update(), rows_shown
            return (gr.update(), rows_shown) if rows == rows_shown else (rows, rows)

        gr.Timer(5).tick(
            refresh_documents,
            [shown],
            [docs, shown],
            api_visibility="private",
            show_progress="hidden",
        )
    return app


def launch(
    bot: Assistant,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    block: bool = True,
) -> int:
    """Start the page on the bundled corpus (ingested on first use)."""
    started = time.perf_counter()
    bot.ensure_corpus()
    bot.start_background()  # vectors an earlier run or another process left to compute
    bot.retriever.lexical()  # build the lexical index now, not on the first question
    bot.ask(EXAMPLES[0])  # warm the models' first-call costs before anyone waits on them
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise SystemExit("kaynak: --auth takes user:password")
        credentials = (user, password)
    app = build_app(bot)
    app.queue(default_concurrency_limit=2, max_size=64)
    app.launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        share=False,
        inbrowser=False,
        prevent_thread_lock=True,
        quiet=True,
        css=CSS,
        footer_links=[],
        allowed_paths=[],
    )
    print(
        f"Kaynak is ready at http://{host}:{port} ({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    if block:
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            app.close()
    return 0
