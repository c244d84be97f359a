"""The `kaynak` commands that look after the index (`doctor`, `export`, `import`) and serve it
to agents (`mcp`)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COMMANDS = ("doctor", "export", "import", "mcp")


def add_commands(sub: Any) -> None:
    """Their arguments, on the `kaynak` parser's subcommands."""
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


@dataclass(frozen=True)
class Shared:
    """What these commands take from `kaynak`'s own: the settings its options give, how it
    tells that it waits, and its progress bar for the vectors computed after ingest."""

    overrides: dict[str, Any]
    say_waiting: Callable[[str], None]
    complete_background: Callable[[Any], None]


def run(args: argparse.Namespace, shared: Shared) -> int:
    command = {"doctor": _doctor, "export": _export, "import": _import, "mcp": _mcp}
    return command[args.command](args, shared)


def _doctor(args: argparse.Namespace, shared: Shared) -> int:
    """Check (and with --repair, rebuild) the index; exit 1 while something is wrong."""
    from rag import Assistant, doctor
    from rag.config import Settings

    settings = Settings.from_env(**shared.overrides)
    checkup = doctor.check(settings)
    print(checkup.summary())
    if not args.repair or checkup.ok:
        return 0 if checkup.ok else 1
    print("\nRepairing …", flush=True)
    report = doctor.repair(
        settings, lambda: Assistant(settings), wait=args.wait, on_progress=shared.say_waiting
    )
    print(report.summary())
    after = doctor.check(settings)
    print("\nAfter the repair:\n" + after.summary())
    return 0 if after.ok and not report.lost else 1


def _import(args: argparse.Namespace, shared: Shared) -> int:
    from pathlib import Path

    from rag import Assistant, manifest
    from rag.backup import check_fits, import_index, read_export
    from rag.name_vectors import SIDE as NAMES
    from rag.relevance import ALONE, CONTEXT
    from rag.store_errors import storage_faults
    from rag.store_sync import write_lock

    started = time.perf_counter()
    bot = Assistant(**shared.overrides)
    relevance = bot.retriever.relevance
    sides = {NAMES: bot.embeddings.model_id}  # the names' vectors (rag/name_vectors.py)
    if relevance is not None:
        sides.update(dict.fromkeys((ALONE, CONTEXT), relevance.model.model_id))
    export = read_export(Path(args.file))  # checked whole before anything is dropped
    check_fits(export, bot.store)
    with storage_faults(bot.settings), write_lock(bot.settings, args.wait, shared.say_waiting):
        if args.replace:
            bot.store.drop_all()
            manifest.forget_all(bot.settings.home)
        report = import_index(bot.store, export, sides, on_progress=shared.say_waiting)
    bot.retriever.invalidate()
    for skipped in report.skipped:
        print(f"kaynak: not imported: {skipped}", file=sys.stderr)
    if not args.vectors_later:
        shared.complete_background(bot)
    print(
        f"imported {report.documents} documents and {report.chunks} chunks from {args.file} "
        f"into {bot.settings.chroma_url or bot.settings.home} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def _mcp(args: argparse.Namespace, shared: Shared) -> int:
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

    bot = Assistant(**shared.overrides, progress=False)
    bot.ensure_corpus()
    return serve(bot, allow_ingest=args.allow_ingest)


def _export(args: argparse.Namespace, shared: Shared) -> int:
    from pathlib import Path

    from rag import Assistant
    from rag.backup import export_index
    from rag.store_sync import write_lock

    bot = Assistant(**shared.overrides)
    started = time.perf_counter()
    with write_lock(bot.settings, args.wait, shared.say_waiting):  # no writer changes it meanwhile
        counts = export_index(bot.store, Path(args.file))
    print(
        f"exported {counts.get('documents', 0)} documents and {counts.get('', 0)} chunks "
        f"with their vectors to {args.file} ({time.perf_counter() - started:.1f} s)"
    )
    return 0
