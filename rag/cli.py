"""The `kaynak` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rag.config import kaynak_version
from rag.types import Answer

if TYPE_CHECKING:  # the Assistant loads the models: imported when a command needs it
    from rag.assistant import Assistant


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kaynak",
        description="Answers about the news with citations you can check, on your own machine.",
    )
    p.add_argument("--version", action="version", version=f"kaynak {kaynak_version()}")
    p.add_argument("--home", help="where the index lives (KAYNAK_HOME, default .kaynak/)")
    p.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    p.add_argument("--embeddings", help="use (default), e5, or st:PATH_OR_NAME")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="add files, folders or http(s) URLs")
    ing.add_argument("sources", nargs="+")
    ing.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
    ing.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    ing.add_argument("--json", action="store_true")
    ing.add_argument(
        "--vectors-later",
        action="store_true",
        help="return once the sources are searchable; leave the relevance model's vectors to "
        "the page or the next ingest (by default they are computed now, with a progress bar)",
    )
    ing.add_argument(
        "--wait",
        type=float,
        default=600.0,
        help="seconds to wait while another process writes to the index (default 600)",
    )

    for name, text in (("ask", "ask one question"), ("chat", "chat in the terminal")):
        q = sub.add_parser(name, help=text)
        if name == "ask":
            q.add_argument("question")
            q.add_argument("--json", action="store_true", help="print the Answer as JSON")
        q.add_argument("-k", type=int, default=None, help="passages to retrieve")
        q.add_argument("--llm", help="none, ollama:MODEL, openai:MODEL or llamacpp:PATH.gguf")
        q.add_argument("--llm-base-url", help="an OpenAI-compatible or Ollama server URL")

    docs = sub.add_parser("docs", help="list the ingested documents")
    docs.add_argument("--json", action="store_true")
    rm = sub.add_parser("remove", help="remove a document by its id")
    rm.add_argument("doc_id")
    rm.add_argument("--wait", type=float, default=600.0, help="as for ingest")

    ui = sub.add_parser("ui", help="start the Gradio page")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=7860)
    ui.add_argument("--auth", help="user:password required to open the page")
    ui.add_argument("--llm", help="none, ollama:MODEL, openai:MODEL or llamacpp:PATH.gguf")
    ui.add_argument("--llm-base-url")

    from rag import cli_care  # the index's care and the MCP server

    cli_care.add_commands(sub)

    ev = sub.add_parser(
        "eval",
        help="evaluate on a question set (JSONL), or on SQuAD-format data with --squad",
    )
    ev.add_argument("questions", nargs="?", help="a question set (JSONL)")
    ev.add_argument(
        "--squad",
        metavar="CONTEXTS.json",
        help="SQuAD-format JSON: its contexts are ingested into a temporary index and every "
        "question is asked",
    )
    ev.add_argument(
        "--questions",
        dest="squad_questions",
        metavar="OTHER.json",
        help="ask the questions of this parallel SQuAD file (same ids) instead",
    )
    ev.add_argument(
        "--holdout-paragraph",
        type=int,
        metavar="N",
        help="leave paragraph N of every article out: its questions become unanswerable",
    )
    ev.add_argument(
        "--holdout-titles",
        nargs="+",
        default=[],
        metavar="TITLE",
        help="leave these articles out: their questions become unanswerable (off-topic)",
    )
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--llm")
    ev.add_argument("--llm-base-url")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # warnings (a model that failed, a writer being waited for) as one line each, no traceback
    logging.basicConfig(level=logging.WARNING, format="kaynak: %(message)s")
    for handler in logging.getLogger().handlers:  # bm25s sets its own logger to DEBUG
        handler.setLevel(logging.WARNING)
    from rag import ConfigError, LoadError, QuestionError, StoreError

    try:
        return _run(args)
    except (ConfigError, QuestionError, StoreError, LoadError) as exc:
        print(f"kaynak: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _assistant(args: argparse.Namespace) -> Assistant:
    from rag import Assistant

    return Assistant(**overrides_of(args))


def overrides_of(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "home": args.home,
        "chroma_url": args.chroma_url,
        "embeddings": args.embeddings,
        "llm": getattr(args, "llm", None),
        "llm_base_url": getattr(args, "llm_base_url", None),
    }
    return {k: v for k, v in overrides.items() if v is not None}


def say_waiting(message: str) -> None:
    print(f"kaynak: {message} …", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    if args.command == "ingest" and args.rebuild:
        _drop_index(args)
    if args.command == "eval" and args.squad:
        return _eval_squad(args)
    if args.command == "eval" and not args.questions:
        print("kaynak: give a question set (JSONL), or --squad CONTEXTS.json", file=sys.stderr)
        return 2
    from rag import cli_care

    if args.command in cli_care.COMMANDS:
        shared = cli_care.Shared(overrides_of(args), say_waiting, complete_background)
        return cli_care.run(args, shared)
    if args.command == "ui":
        from ui.app import launch

        return launch(_assistant(args), host=args.host, port=args.port, auth=args.auth)
    bot = _assistant(args)
    if args.command not in {"ingest", "docs", "remove"}:
        bot.ensure_corpus()  # the questions' commands answer from the bundled article at first
    return _COMMANDS[args.command](bot, args)


def _drop_index(args: argparse.Namespace) -> None:
    """`ingest --rebuild`: the index is dropped before the Assistant opens it, as a rebuild
    may change the embedding model."""
    from rag import manifest
    from rag.config import Settings
    from rag.store_chroma import drop_index
    from rag.store_errors import storage_faults
    from rag.store_sync import write_lock

    settings = Settings.from_env(**overrides_of(args))
    with storage_faults(settings), write_lock(settings, args.wait, say_waiting):
        drop_index(settings)
        manifest.forget_all(settings.home)


def _print(args: argparse.Namespace, record: Any, text: Callable[[], str]) -> None:
    """`record` as JSON with --json, else `text()` (made only when it is printed)."""
    print(json.dumps(record, ensure_ascii=False, indent=2) if args.json else text())


def _ingest(bot: Assistant, args: argparse.Namespace) -> int:
    report = bot.ingest(
        args.sources, prune=args.prune, wait=args.wait, on_wait=say_waiting, background=False
    )
    _print(args, report.to_dict(), report.summary)
    if not args.vectors_later:
        complete_background(bot, quiet=args.json)
    changed = report.added or report.updated or report.unchanged or report.removed
    return 0 if changed or not report.skipped else 1


def _docs(bot: Assistant, args: argparse.Namespace) -> int:
    docs = bot.documents()
    if args.json:
        print(json.dumps([d.__dict__ for d in docs], ensure_ascii=False, indent=2))
        return 0
    for d in docs:
        print(f"{d.doc_id}  {d.chunks:5d} chunks  {d.title}  ({d.url or d.path})")
    return 0


def _remove(bot: Assistant, args: argparse.Namespace) -> int:
    if bot.remove(args.doc_id, wait=args.wait, on_wait=say_waiting):
        print(f"removed {args.doc_id}")
        return 0
    print(f"kaynak: no document with id {args.doc_id!r}; `kaynak docs` lists them", file=sys.stderr)
    return 1


def _eval(bot: Assistant, args: argparse.Namespace) -> int:
    from rag.evaluate import evaluate, format_report

    result = evaluate(bot, args.questions)
    _print(args, result, lambda: format_report(result))
    return 0


def _ask(bot: Assistant, args: argparse.Namespace) -> int:
    answer = bot.ask(args.question, k=args.k)
    _print(args, answer.to_dict(), lambda: format_answer(answer))
    return 0


_COMMANDS: dict[str, Callable[[Assistant, argparse.Namespace], int]] = {
    "ingest": _ingest,
    "docs": _docs,
    "remove": _remove,
    "eval": _eval,
    "ask": _ask,
    "chat": lambda bot, args: _chat(bot, args.k),
}


def complete_background(bot: Assistant, quiet: bool = False) -> None:
    """Compute the relevance model's vectors now, with a progress bar. The documents are
    already searchable; stopping here (Ctrl-C) is safe, and the next ingest or page resumes."""
    progress = bot.background_progress()
    if progress is None:
        return
    from tqdm import tqdm

    bar = tqdm(
        total=progress[1],
        initial=progress[0],
        unit="chunk",
        desc="e5 vectors (already searchable; Ctrl-C finishes later)",
        disable=quiet or not bot.settings.progress,
        leave=False,
    )

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        bot.complete_background(update)
    finally:
        bar.close()


def _eval_squad(args: argparse.Namespace) -> int:
    """Ingest SQuAD contexts into a temporary index, ask every question, report."""
    import tempfile
    from pathlib import Path

    from rag import Assistant
    from rag.evaluate import evaluate_squad, format_report, load_squad

    try:
        squad = load_squad(
            args.squad,
            questions=args.squad_questions,
            holdout_paragraph=args.holdout_paragraph,
            holdout_titles=args.holdout_titles,
        )
    except ValueError as exc:
        print(f"kaynak: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="kaynak-eval-") as tmp:
        # a temporary index on disk, even when a Chroma server is configured
        overrides = {**overrides_of(args), "home": str(Path(tmp) / "home"), "chroma_url": ""}
        bot = Assistant(**overrides)
        squad.write_corpus(Path(tmp) / "corpus")
        bot.ingest([Path(tmp) / "corpus"], background=False)
        complete_background(bot, quiet=args.json)
        try:
            result = evaluate_squad(bot, squad)
        except ValueError as exc:
            print(f"kaynak: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else format_report(result))
    return 0


def format_answer(answer: Answer) -> str:
    lines = [answer.text]
    if answer.note:
        lines += ["", f"(note: {answer.note})"]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            where = c.url or c.path
            lines.append(f"[{c.n}] {c.title}" + (f" — {where}" if where else ""))
            lines.append(f"    “{' '.join(c.quote.split())}” (characters {c.start}–{c.end})")
    if answer.dropped:
        n = len(answer.dropped)
        lines.append("")
        lines.append(f"Removed ({n} sentence{'s' if n > 1 else ''} the sources do not support):")
        lines += [f"  - “{d.sentence}”: {d.reason}" for d in answer.dropped]
    return "\n".join(lines)


def _chat(bot: Assistant, k: int | None) -> int:
    from rag import Answer, QuestionError

    history: list[tuple[str, str]] = []
    print("Ask about the sources (Ctrl-D to quit). Example: What did Joly say?")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            continue
        try:
            answer = None
            streamed = []
            for event in bot.stream(question, history=history, k=k):
                if isinstance(event, Answer):
                    answer = event
                else:
                    streamed.append(event)
                    print(event, end="", flush=True)
            assert answer is not None
            if "".join(streamed).strip() != answer.text.strip():
                print("\n\n(verified answer)\n" + answer.text)
            if answer.note:
                print(f"\n(note: {answer.note})")
            print()
            if answer.citations or answer.dropped:
                sources = format_answer(replace(answer, note=""))  # the note is printed above
                print(sources.split(answer.text, 1)[1].lstrip("\n"))
            history.append((question, answer.text))
        except QuestionError as exc:
            print(f"kaynak: {exc}")
