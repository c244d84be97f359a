"""The `kaynak` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from rag.config import kaynak_version
from rag.types import Answer


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

    doctor = sub.add_parser(
        "doctor", help="check the index against its manifest of sources; --repair rebuilds it"
    )
    doctor.add_argument(
        "--repair",
        action="store_true",
        help="rebuild what is wrong from the sources (a damaged index is moved aside, not deleted)",
    )
    doctor.add_argument("--wait", type=float, default=600.0, help="as for ingest")
    exp = sub.add_parser("export", help="write the whole index, vectors included, to one file")
    exp.add_argument("file", help="the file to write, e.g. kaynak-index.zip")
    exp.add_argument("--wait", type=float, default=600.0, help="as for ingest")
    imp = sub.add_parser(
        "import", help="load an exported index (into an empty index, on disk or a server)"
    )
    imp.add_argument("file")
    imp.add_argument("--replace", action="store_true", help="drop the index that is there first")
    imp.add_argument("--wait", type=float, default=600.0, help="as for ingest")
    imp.add_argument(
        "--vectors-later",
        action="store_true",
        help="as for ingest: vectors the file lacks (another model's) are computed later",
    )

    mcp = sub.add_parser(
        "mcp",
        help="serve ask, search and documents to AI agents over the Model Context Protocol (stdio)",
    )
    mcp.add_argument(
        "--allow-ingest",
        action="store_true",
        help="also offer an ingest tool (off by default: agents only read the index)",
    )

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
    from rag import ConfigError, LoadError, QuestionError, StoreError

    try:
        return _run(args)
    except (ConfigError, QuestionError, StoreError, LoadError) as exc:
        print(f"kaynak: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _assistant(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from rag import Assistant

    return Assistant(**_overrides(args))


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "home": args.home,
        "chroma_url": args.chroma_url,
        "embeddings": args.embeddings,
        "llm": getattr(args, "llm", None),
        "llm_base_url": getattr(args, "llm_base_url", None),
    }
    return {k: v for k, v in overrides.items() if v is not None}


def _waiting(message: str) -> None:
    print(f"kaynak: {message} …", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    if args.command == "ingest" and args.rebuild:
        from rag import manifest
        from rag.config import Settings
        from rag.store import drop_index, write_lock
        from rag.store_errors import storage_faults

        # dropped before the Assistant opens it: a rebuild may change the embedding model
        settings = Settings.from_env(**_overrides(args))
        with storage_faults(settings), write_lock(settings, args.wait, _waiting):
            drop_index(settings)
            manifest.forget(settings.home, manifest.read(settings.home), keep_text=True)
    if args.command == "eval" and args.squad:
        return _eval_squad(args)
    if args.command == "eval" and not args.questions:
        print("kaynak: give a question set (JSONL), or --squad CONTEXTS.json", file=sys.stderr)
        return 2
    if args.command == "mcp":
        return _mcp(args)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "import":
        return _import(args)
    if args.command == "ui":
        from ui.app import launch

        return launch(_assistant(args), host=args.host, port=args.port, auth=args.auth)
    bot = _assistant(args)
    if args.command == "ingest":
        report = bot.ingest(
            args.sources, prune=args.prune, wait=args.wait, on_wait=_waiting, background=False
        )
        print(
            json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
            if args.json
            else report.summary()
        )
        if not args.vectors_later:
            _complete_background(bot, quiet=args.json)
        return (
            0
            if (report.added or report.updated or report.unchanged or report.removed)
            or not report.skipped
            else 1
        )
    if args.command == "export":
        from pathlib import Path

        from rag.backup import export_index
        from rag.store import write_lock

        started = time.perf_counter()
        with write_lock(bot.settings, args.wait, _waiting):  # no writer changes it meanwhile
            counts = export_index(bot.store, Path(args.file))
        print(
            f"exported {counts.get('documents', 0)} documents and {counts.get('', 0)} chunks "
            f"with their vectors to {args.file} ({time.perf_counter() - started:.1f} s)"
        )
        return 0
    if args.command == "docs":
        docs = bot.documents()
        if args.json:
            print(json.dumps([d.__dict__ for d in docs], ensure_ascii=False, indent=2))
        for d in docs if not args.json else []:
            print(f"{d.doc_id}  {d.chunks:5d} chunks  {d.title}  ({d.url or d.path})")
        return 0
    if args.command == "remove":
        if bot.remove(args.doc_id, wait=args.wait, on_wait=_waiting):
            print(f"removed {args.doc_id}")
            return 0
        print(
            f"kaynak: no document with id {args.doc_id!r}; `kaynak docs` lists them",
            file=sys.stderr,
        )
        return 1
    if args.command == "eval":
        from rag.evaluate import evaluate, format_report

        bot.ensure_corpus()
        result = evaluate(bot, args.questions)
        print(
            json.dumps(result, ensure_ascii=False, indent=2) if args.json else format_report(result)
        )
        return 0

    bot.ensure_corpus()
    if args.command == "ask":
        answer = bot.ask(args.question, k=args.k)
        print(
            json.dumps(answer.to_dict(), ensure_ascii=False, indent=2)
            if args.json
            else format_answer(answer)
        )
        return 0
    return _chat(bot, args.k)


def _doctor(args: argparse.Namespace) -> int:
    """Check (and with --repair, rebuild) the index; exit 1 while something is wrong."""
    from rag import Assistant, doctor
    from rag.config import Settings

    settings = Settings.from_env(**_overrides(args))
    checkup = doctor.check(settings)
    print(checkup.summary())
    if not args.repair or checkup.ok:
        return 0 if checkup.ok else 1
    print("\nRepairing …", flush=True)
    report = doctor.repair(
        settings, lambda: Assistant(settings), wait=args.wait, on_progress=_waiting
    )
    print(report.summary())
    after = doctor.check(settings)
    print("\nAfter the repair:\n" + after.summary())
    return 0 if after.ok and not report.lost else 1


def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rag import Assistant, manifest
    from rag.backup import check_fits, import_index, read_export
    from rag.relevance import ALONE, CONTEXT
    from rag.store import write_lock
    from rag.store_errors import storage_faults

    started = time.perf_counter()
    bot = Assistant(**_overrides(args))
    relevance = bot.retriever.relevance
    sides = {}
    if relevance is not None:
        sides = dict.fromkeys((ALONE, CONTEXT), relevance.model.model_id)
    export = read_export(Path(args.file))  # checked whole before anything is dropped
    check_fits(export, bot.store)
    with storage_faults(bot.settings), write_lock(bot.settings, args.wait, _waiting):
        if args.replace:
            bot.store.drop_all()
            manifest.forget(bot.settings.home, manifest.read(bot.settings.home), keep_text=True)
        report = import_index(bot.store, export, sides, on_progress=_waiting)
    bot.retriever.invalidate()
    for skipped in report.skipped:
        print(f"kaynak: not imported: {skipped}", file=sys.stderr)
    if not args.vectors_later:
        _complete_background(bot)
    print(
        f"imported {report.documents} documents and {report.chunks} chunks from {args.file} "
        f"into {bot.settings.chroma_url or bot.settings.home} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def _mcp(args: argparse.Namespace) -> int:
    """`kaynak mcp`: stdout carries the protocol, so nothing else may print there."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        print(
            "kaynak: the MCP server needs the `mcp` package: pip install 'kaynak[mcp]'",
            file=sys.stderr,
        )
        return 2
    from rag import Assistant
    from rag.mcp_server import serve

    bot = Assistant(**_overrides(args), progress=False)
    bot.ensure_corpus()
    return serve(bot, allow_ingest=args.allow_ingest)


def _complete_background(bot, quiet: bool = False) -> None:  # type: ignore[no-untyped-def]
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
        overrides = {**_overrides(args), "home": str(Path(tmp) / "home"), "chroma_url": ""}
        bot = Assistant(**overrides)
        squad.write_corpus(Path(tmp) / "corpus")
        bot.ingest([Path(tmp) / "corpus"], background=False)
        _complete_background(bot, quiet=args.json)
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


def _chat(bot, k: int | None) -> int:  # type: ignore[no-untyped-def]
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
