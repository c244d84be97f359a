"""The Gradio page: its layout, and which handler each event calls (ui/handlers.py). HTML
comes from ui/render.py; conversations are kept in the browser (ui/conversations.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag import Assistant
from ui import conversations
from ui.handlers import LANGUAGE_MODEL, Chat, Sources
from ui.render import render_background, render_documents, render_sources

BACKGROUND_EVERY = REFRESH_EVERY = 5  # seconds between two looks at the index
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
mark.hit, #sources mark mark.hit {background: #bfdbfe; color: #111; padding: 0 1px;
  border-radius: 3px; font-weight: 600;}
.gloss {position: relative; cursor: help;}
.gloss:hover, .gloss:focus {text-decoration: underline dotted; outline: none;}
.gloss:focus::after {content: attr(title); position: absolute; left: 0; top: 1.5em; z-index: 20;
  width: max-content; max-width: 18em; white-space: normal; padding: 3px 7px; border-radius: 5px;
  background: #1f2937; color: #f9fafb; font-size: 0.85em; font-weight: 400; line-height: 1.3;}
a.cite {text-decoration: none; font-weight: 600;}
.note {color: var(--body-text-color-subdued); font-size: 0.9em;}
"""


# --- the page ---------------------------------------------------------------------------------


@dataclass
class Page:
    """The components that events read or change."""

    chat: Any
    box: Any
    send: Any
    new: Any
    delete: Any
    export: Any
    picker: Any
    sources: Any
    answerer: Any
    k: Any
    turns: Any
    saved: Any
    files: Any
    url: Any
    add: Any
    report: Any
    docs: Any
    doc_id: Any
    remove: Any
    removed: Any
    background: Any


def build_app(bot: Assistant) -> gr.Blocks:
    with gr.Blocks(title="Kaynak") as app:
        page = layout(bot)
        wire_chat(app, page, Chat(bot))
        wire_sources(page, Sources(bot))
        gr.Timer(BACKGROUND_EVERY).tick(
            lambda: render_background(bot), None, page.background, api_visibility="private"
        )
    blocks: gr.Blocks = app
    return blocks


def layout(bot: Assistant) -> Page:
    """The page's components, in their places (inside a `gr.Blocks`)."""
    has_llm = bot.llm is not None
    answerers = ["Extractive (quotes the sources)"] + ([LANGUAGE_MODEL] if has_llm else [])
    gr.Markdown(
        "## Kaynak — answers about the news, with sources you can check\n"
        "Ask in English or Turkish. Every answer cites the exact passages it comes from."
    )
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
    return Page(
        chat=chat,
        box=box,
        send=send,
        new=new,
        delete=delete,
        export=export,
        picker=picker,
        sources=sources,
        answerer=answerer,
        k=k,
        turns=turns,
        saved=saved,
        files=files,
        url=url,
        add=add,
        report=report,
        docs=docs,
        doc_id=doc_id,
        remove=remove,
        removed=removed,
        background=background,
    )


def wire_chat(app: gr.Blocks, page: Page, chat: Chat) -> None:
    """Asking, and the conversations kept in the browser."""
    outputs = [page.chat, page.turns, page.sources, page.box]
    shown = [page.chat, page.turns, page.sources, page.picker, page.export]
    # While an answer is on its way the export is off: the file it holds lacks that turn,
    # and `remember` turns it back on with the conversation as saved.
    hold_export: dict[str, Any] = {"api_visibility": "private", "queue": False}
    asked = [page.box, page.turns, page.k, page.answerer]
    for trigger, naming in (
        (page.box.submit, {"api_visibility": "private"}),
        (page.send.click, {"api_name": "ask"}),
    ):
        trigger(lambda: gr.update(interactive=False), None, page.export, **hold_export).then(
            chat.respond, asked, outputs, **naming
        ).then(
            chat.remember,
            [page.saved, page.turns],
            [page.saved, page.picker, page.export],
            api_visibility="private",
        )
    private: dict[str, Any] = {"api_visibility": "private"}
    app.load(chat.opened, [page.saved], [page.saved, *shown], **private)
    page.picker.input(chat.switch, [page.saved, page.picker], [page.saved, *shown], **private)
    page.new.click(chat.start_new, [page.saved], [page.saved, *shown], **private)
    # the chat's own trash icon starts a new conversation too
    page.chat.clear(chat.start_new, [page.saved], [page.saved, *shown], **private)
    page.delete.click(chat.forget, [page.saved], [page.saved, *shown], **private)


def wire_sources(page: Page, sources: Sources) -> None:
    """Adding and removing documents; the table follows what other processes add."""
    page.add.click(
        sources.add,
        [page.files, page.url],
        [page.report, page.docs, page.files, page.url],
        api_name="add_sources",
    )
    page.remove.click(sources.remove, [page.doc_id], [page.removed, page.docs], api_name="remove")
    # Documents another process adds (`kaynak ingest` in a terminal) appear within 5 s.
    shown = gr.State(None)  # per browser tab: the rows it shows
    gr.Timer(REFRESH_EVERY).tick(
        sources.refresh,
        [shown],
        [page.docs, shown],
        api_visibility="private",
        show_progress="hidden",
    )


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
