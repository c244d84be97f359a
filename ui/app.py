"""The Gradio page. It only calls `Assistant`; every text from a source is escaped here."""

from __future__ import annotations

import html
import re
import shutil
import time
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Answer, Assistant, QuestionError, StoreError
from rag.types import Citation

EXAMPLES = ["What did Joly say?", "Who did Joly meet in Tokyo?", "Joly ne dedi?"]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx"]
CONTEXT_CHARS = 220  # source text shown around a cited span

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


# --- rendering (pure functions, tested without a browser) -------------------------------------


def render_answer(text: str) -> str:
    """Answer text for the chat: escaped, with each [n] linked to its source card."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", escaped)  # no markdown from sources
    return re.sub(r"\\\[(\d+)\\\]", r'<a class="cite" href="#src-\1">[\1]</a>', escaped)


def render_note(answer: Answer) -> str:
    """Why the answer quotes the sources instead of the model's words (empty when it does not)."""
    if not answer.note:
        return ""
    return f'\n\n<span class="note">ⓘ {html.escape(answer.note)}</span>'


def render_dropped(answer: Answer) -> str:
    """A note that the answer was trimmed, with each removed sentence and why, collapsed."""
    if not answer.dropped:
        return ""
    n = len(answer.dropped)
    items = "".join(
        f"<li>“{html.escape(d.sentence)}” — {html.escape(d.reason)}</li>" for d in answer.dropped
    )
    return (
        f'\n\n<details class="dropped"><summary>{n} sentence{"s" if n > 1 else ""} removed: '
        f"the cited sources do not support {'them' if n > 1 else 'it'}</summary>"
        f"<ul>{items}</ul></details>"
    )


def render_sources(answer: Answer | None, source_text: Any = None) -> str:
    if answer is None:
        return (
            '<div class="empty">Ask a question: the passages each answer cites appear here.</div>'
        )
    if answer.abstained or not answer.citations:
        return f'<div class="empty"><b>No sources cited.</b> {html.escape(answer.text)}</div>'
    return "\n".join(_card(c, source_text) for c in answer.citations)


def _card(c: Citation, source_text: Any) -> str:
    context = html.escape(c.quote)
    before = after = ""
    if source_text is not None:
        try:
            text = source_text(c.doc_id)
            before = text[max(0, c.start - CONTEXT_CHARS) : c.start]
            after = text[c.end : c.end + CONTEXT_CHARS]
        except KeyError:
            pass
    lead = "…" if before and c.start > CONTEXT_CHARS else ""
    tail = "…" if after else ""
    passage = f"{lead}{html.escape(before)}<mark>{context}</mark>{html.escape(after)}{tail}"
    meta = " · ".join(html.escape(x) for x in (c.publisher, c.published) if x)
    link = ""
    if c.url.startswith(("http://", "https://")):
        link = (
            f' · <a href="{html.escape(c.url, quote=True)}" target="_blank" '
            'rel="noopener noreferrer">original</a>'
        )
    elif c.path:
        link = f" · {html.escape(Path(c.path).name)}"
    return (
        f'<div class="card" id="src-{c.n}"><h4>[{c.n}] {html.escape(c.title)}</h4>'
        f'<div class="meta">{meta}{link}</div><div class="passage">{passage}</div></div>'
    )


def render_documents(bot: Assistant) -> list[list[Any]]:
    return [[d.title, d.chunks, d.url or d.path, d.doc_id] for d in bot.documents()]


def render_background(bot: Assistant) -> str:
    """How far the relevance model's vectors are (computed after ingest, in the background)."""
    progress = bot.background_progress()
    if progress is None or progress[0] >= progress[1]:
        return ""
    done, total = progress
    return (
        f"Computing relevance vectors: {done:,} of {total:,} passages. New documents are "
        "already searchable; answers about them get better when this is done."
    )


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
        history = gr.State([])
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
                clear = gr.Button("Clear conversation", size="sm", elem_id="clear")
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

        def respond(message: str, messages: list, turns: list, k_value: float, who: str):  # type: ignore[no-untyped-def]
            messages = list(messages or [])
            message = message or ""
            messages.append({"role": "user", "content": message})
            messages.append({"role": "assistant", "content": "…"})
            # the previous answer's cards must not stand beside the new answer's markers
            yield messages, turns, '<div class="empty">Looking for sources…</div>', ""
            try:
                answer = None
                streamed = ""
                for event in bot.stream(
                    message, history=turns, k=int(k_value), use_llm=who == "Language model"
                ):
                    if isinstance(event, Answer):
                        answer = event
                    else:
                        streamed += event
                        messages[-1] = {"role": "assistant", "content": render_answer(streamed)}
                        yield messages, turns, gr.update(), ""
            except QuestionError as exc:
                messages[-1] = {"role": "assistant", "content": html.escape(f"⚠ {exc}")}
                yield messages, turns, gr.update(), ""
                return
            assert answer is not None
            content = render_answer(answer.text) + render_note(answer) + render_dropped(answer)
            messages[-1] = {"role": "assistant", "content": content}
            turns = [*turns, (message, answer.text)]
            yield messages, turns, render_sources(answer, bot.source_text), ""

        outputs = [chat, history, sources, box]
        box.submit(respond, [box, chat, history, k, answerer], outputs, api_visibility="private")
        send.click(respond, [box, chat, history, k, answerer], outputs, api_name="ask")
        clear.click(
            lambda: ([], [], render_sources(None)),
            None,
            [chat, history, sources],
            api_visibility="private",
        )

        def add_sources(paths: list[str] | None, link: str, progress=gr.Progress()):  # type: ignore[no-untyped-def]
            inputs: list[str] = []
            folder = bot.settings.home / "uploads"
            folder.mkdir(parents=True, exist_ok=True)
            for p in paths or []:
                target = folder / safe_upload_name(Path(p).name)
                shutil.copyfile(p, target)
                inputs.append(str(target))
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
            rows = render_documents(bot)
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
