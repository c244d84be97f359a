"""Kaynak's own costs on one corpus: ingest throughput, question latency, memory, disk, and
the time from starting the `kaynak` command to its first answer.

    .venv/bin/python bench/bench_core.py                      # the bundled corpus/
    .venv/bin/python bench/bench_core.py --corpus bench/out/corpora/n1000 --repeats 5

Everything runs in a fresh temporary KAYNAK_HOME (deleted afterwards unless --keep-home):
  init        Assistant() (loads the models), then one-off lazy initialisation (first
              encode, language identifier, sentence splitter), timed apart from ingest;
  ingest      Assistant.ingest of the folder (loading, chunking, embedding, writing), timed,
              then the same call again with every source unchanged;
  index       the lexical (BM25) index Kaynak builds on the first question after a change;
  first call  the process's first retrieve and first ask (one-off lazy initialisation),
              with a question that is not in the set;
  cold        every question of the set once: the first time that question is asked
              (per-question caches empty), retrieve then ask;
  warm        then --repeats more rounds of every question (retrieve, then ask);
  memory      peak RSS of this process (ru_maxrss), after all of the above;
  disk        size of KAYNAK_HOME;
  cli         `kaynak ask "What did Joly say?"` as a new process on the built home, 3 times
              (median), then once more split into import / Assistant() / first / second ask.
Questions are the "question" field of bench/questions.jsonl (history ignored); answers are
extractive (KAYNAK_LLM is ignored). Numbers go to stdout and to --json-out.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CORPUS,
    OUT,
    QUESTIONS,
    ROOT,
    bytes_of,
    command_line,
    dir_size,
    first_hit_rank,
    kaynak_env,
    kaynak_settings_summary,
    load_questions,
    loadavg,
    machine_info,
    make_assistant,
    peak_rss_mb,
    percentiles,
    quiet_logs,
    rel,
    run_measured,
    source_files,
    timed_ms,
    write_json,
)

CLI_QUESTION = "What did Joly say?"
WARMUP_QUESTION = "Haftanın en önemli haberi neydi?"  # not in any question set
WARMUP_TEXT = "Bu bir ısınma cümlesidir. This sentence only wakes the models up."


def kaynak_build(
    corpus: str | Path, home: str | Path, second_ingest: bool = True
) -> tuple[dict[str, Any], Any]:
    """A fresh Assistant on `home`, warmed up, with `corpus` ingested (timed) and its lexical
    index built (timed). Returns the measurements and the Assistant."""
    from rag.chunking import sentence_spans
    from rag.text import detect_language

    files = source_files(corpus)
    size_bytes = bytes_of(files)
    res: dict[str, Any] = {
        "pipeline": "kaynak",
        "source_files": len(files),
        "source_mb": round(size_bytes / 1e6, 3),
    }
    ms, bot = timed_ms(lambda: make_assistant(home))
    res["assistant_init_ms"] = round(ms, 1)
    res["settings"] = kaynak_settings_summary(bot)

    # One-off lazy initialisation (first encode, language model, sentence splitter) is timed
    # on its own, so that ingest throughput is not a small corpus's start-up cost.
    def warm_up() -> None:
        detect_language(WARMUP_TEXT)
        sentence_spans(WARMUP_TEXT, "tr")
        bot.embeddings.embed_documents([WARMUP_TEXT])

    res["lazy_init_ms"] = round(timed_ms(warm_up)[0], 1)
    ms, report = timed_ms(lambda: bot.ingest([corpus]))
    seconds = ms / 1000
    res["ingest"] = {
        "seconds": round(seconds, 3),
        "chunks": report.chunks,
        "documents": len(report.added) + len(report.updated),
        "skipped": len(report.skipped),
        "chunks_per_s": round(report.chunks / seconds, 1) if seconds else None,
        "mb_per_s": round(size_bytes / 1e6 / seconds, 4) if seconds else None,
    }
    if report.skipped:
        res["ingest"]["skipped_examples"] = report.skipped[:5]
    if second_ingest:
        ms, again = timed_ms(lambda: bot.ingest([corpus]))
        res["reingest_unchanged"] = {
            "seconds": round(ms / 1000, 3),
            "unchanged": len(again.unchanged),
            "rewritten": len(again.added) + len(again.updated),
        }
    res["stored_chunks"] = bot.store.count()
    ms, _ = timed_ms(bot.retriever.lexical)
    res["lexical_index_build_ms"] = round(ms, 1)
    return res, bot


def measure_kaynak(
    corpus: str | Path,
    items: list[dict[str, Any]],
    repeats: int,
    home: str | Path,
    ask: bool = True,
    second_ingest: bool = True,
    k: int | None = None,
) -> tuple[dict[str, Any], Any]:
    """Build (see kaynak_build), then time retrieve (and ask) over `items`, each a dict with
    "query" and, for scoring, "expected" (a list of fragments, or None when unanswerable):
    every question once (cold), then `repeats` rounds (warm)."""
    res, bot = kaynak_build(corpus, home, second_ingest)
    k = k or bot.settings.k
    ms, _ = timed_ms(lambda: bot.retrieve(WARMUP_QUESTION, k=k))
    res["process_first_retrieve_ms"] = round(ms, 1)
    if ask:
        ms, _ = timed_ms(lambda: bot.ask(WARMUP_QUESTION, k=k))
        res["process_first_ask_ms"] = round(ms, 1)

    cold_retrieve: list[float] = []
    cold_ask: list[float] = []
    ranks: list[int | None] = []
    outcomes = {"answerable": 0, "answered": 0, "unanswerable": 0, "abstained": 0}
    for item in items:
        q = item["query"]
        ms, passages = timed_ms(lambda q=q: bot.retrieve(q, k=k))
        cold_retrieve.append(ms)
        if item.get("expected") is not None:
            ranks.append(first_hit_rank([p.text for p in passages], item["expected"]))
        if ask:
            ms, answer = timed_ms(lambda q=q: bot.ask(q, k=k))
            cold_ask.append(ms)
            if item.get("expected") is not None:
                outcomes["answerable"] += 1
                outcomes["answered"] += int(not answer.abstained)
            else:
                outcomes["unanswerable"] += 1
                outcomes["abstained"] += int(answer.abstained)

    warm_retrieve: list[float] = []
    warm_ask: list[float] = []
    for _ in range(repeats):
        for item in items:
            q = item["query"]
            warm_retrieve.append(timed_ms(lambda q=q: bot.retrieve(q, k=k))[0])
        if ask:
            for item in items:
                q = item["query"]
                warm_ask.append(timed_ms(lambda q=q: bot.ask(q, k=k))[0])

    res["k"] = k
    res["questions"] = len(items)
    res["repeats"] = repeats
    res["retrieve_ms"] = {"cold": percentiles(cold_retrieve), "warm": percentiles(warm_retrieve)}
    if ask:
        res["ask_ms"] = {"cold": percentiles(cold_ask), "warm": percentiles(warm_ask)}
        res["ask_outcomes"] = outcomes
    res["ranks"] = ranks
    res["peak_rss_mb"] = peak_rss_mb()
    res["disk"] = dir_size(home)
    return res, bot


def measure_cli(home: str | Path, runs: int = 3, question: str = CLI_QUESTION) -> dict[str, Any]:
    """Wall time from starting `kaynak ask QUESTION` to its exit, on an already built home."""
    kaynak = Path(sys.executable).parent / "kaynak"
    if not kaynak.exists():
        kaynak = ROOT / ".venv" / "bin" / "kaynak"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAYNAK_")}
    env.update({"KAYNAK_HOME": str(home), "KAYNAK_LLM": "none", "KAYNAK_PROGRESS": "0"})
    for key in ("KAYNAK_EMBEDDINGS", "KAYNAK_RELEVANCE_MODEL"):  # same models as the home
        if key in os.environ:
            env[key] = os.environ[key]
    runs_: list[dict[str, Any]] = []
    for _ in range(runs):
        runs_.append(
            run_measured([str(kaynak), "ask", question], env=env, cwd=tempfile.gettempdir())
        )
    last = runs_[-1]
    first_line = (last["stdout"].strip().splitlines() or [last["stderr"].strip()[-300:]])[0]
    times = [r["ms"] for r in runs_]
    return {
        "command": f"KAYNAK_HOME=<home> {rel(kaynak)} ask {question!r}",
        "runs": runs,
        "median_ms": round(statistics.median(times), 1),
        "all_ms": times,
        "exit_codes": [r["returncode"] for r in runs_],
        "answer_first_line": first_line[:200],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs_),
    }


_BREAKDOWN = r"""
import json, sys, time
t0 = time.perf_counter()
from rag import Assistant, Settings
t1 = time.perf_counter()
bot = Assistant(Settings.from_env(progress=False, llm="none"))
t2 = time.perf_counter()
bot.ask(sys.argv[1])
t3 = time.perf_counter()
bot.ask(sys.argv[1])
t4 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "assistant_init_ms": (t2 - t1) * 1000,
                  "first_ask_ms": (t3 - t2) * 1000, "second_ask_ms": (t4 - t3) * 1000}))
"""


def cold_process_breakdown(home: str | Path, question: str = CLI_QUESTION) -> dict[str, Any]:
    """Where a new process's time to first answer goes (one run): import, models, first ask
    (lazy initialisation, lexical index), and a second ask of the same question."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("KAYNAK_")}
    env["KAYNAK_HOME"] = str(home)
    for key in ("KAYNAK_EMBEDDINGS", "KAYNAK_RELEVANCE_MODEL"):
        if key in os.environ:
            env[key] = os.environ[key]
    done = run_measured([sys.executable, "-c", _BREAKDOWN, question], env=env, cwd=str(ROOT))
    try:
        parts = json.loads(done["stdout"].strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": done["stderr"][-500:]}
    return {k: round(v, 1) for k, v in parts.items()} | {"process_ms": done["ms"]}


def _fmt_stats(s: dict[str, Any]) -> str:
    return f"p50 {s.get('p50', '-'):>8} ms   p95 {s.get('p95', '-'):>8} ms   (n={s.get('n', 0)})"


def print_report(r: dict[str, Any]) -> None:
    k = r["kaynak"]
    ing = k["ingest"]
    print(f"corpus            {r['corpus']} ({k['source_files']} files, {k['source_mb']} MB)")
    print(
        f"assistant init    {k['assistant_init_ms']} ms (models loaded), then "
        f"{k['lazy_init_ms']} ms of lazy initialisation (first encode etc.)"
    )
    print(
        f"ingest            {ing['chunks']} chunks in {ing['seconds']} s: "
        f"{ing['chunks_per_s']} chunks/s, {ing['mb_per_s']} MB/s"
    )
    if "reingest_unchanged" in k:
        re_ = k["reingest_unchanged"]
        print(
            f"re-ingest         {re_['seconds']} s ({re_['unchanged']} unchanged, "
            f"{re_['rewritten']} rewritten)"
        )
    print(f"lexical index     {k['lexical_index_build_ms']} ms (built on the first question)")
    print(
        f"first retrieve    {k['process_first_retrieve_ms']} ms, first ask "
        f"{k.get('process_first_ask_ms', '-')} ms (process warm-up question)"
    )
    print(f"retrieve cold     {_fmt_stats(k['retrieve_ms']['cold'])}")
    print(f"retrieve warm     {_fmt_stats(k['retrieve_ms']['warm'])}")
    if "ask_ms" in k:
        print(f"ask cold          {_fmt_stats(k['ask_ms']['cold'])}")
        print(f"ask warm          {_fmt_stats(k['ask_ms']['warm'])}")
        o = k["ask_outcomes"]
        print(
            f"ask outcomes      answered {o['answered']}/{o['answerable']} answerable, "
            f"abstained on {o['abstained']}/{o['unanswerable']} unanswerable"
        )
    print(f"peak RSS          {k['peak_rss_mb']} MB")
    print(
        f"KAYNAK_HOME       {k['disk']['apparent_mb']} MB ({k['disk']['allocated_mb']} MB "
        f"allocated, {k['disk']['files']} files)"
    )
    if r.get("cli"):
        c = r["cli"]
        print(
            f"CLI first answer  median {c['median_ms']} ms over {c['runs']} runs {c['all_ms']} "
            f"(exit {c['exit_codes']}; peak RSS {c['peak_rss_mb']} MB)"
        )
        print(f"                  {c['answer_first_line'][:100]}")
        b = c.get("breakdown", {})
        if "first_ask_ms" in b:
            print(
                f"new process       import {b['import_ms']} ms, Assistant() "
                f"{b['assistant_init_ms']} ms, first ask {b['first_ask_ms']} ms, second ask "
                f"{b['second_ask_ms']} ms (one run)"
            )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=str(CORPUS), help="folder to ingest (default corpus/)")
    p.add_argument("--questions", default=str(QUESTIONS), help="JSONL question set")
    p.add_argument("--repeats", type=int, default=3, help="warm rounds over the questions")
    p.add_argument("--cli-runs", type=int, default=3, help="CLI runs (0 to skip)")
    p.add_argument("--json-out", default=str(OUT / "core.json"))
    p.add_argument("--keep-home", action="store_true", help="keep the temporary KAYNAK_HOME")
    args = p.parse_args()
    quiet_logs()

    corpus = Path(args.corpus)
    if not corpus.is_dir():
        p.error(f"--corpus {corpus} is not a folder")
    items = [
        {
            "id": it.get("id"),
            "query": it["question"],
            "expected": it.get("expected") if it.get("answerable", True) else None,
        }
        for it in load_questions([args.questions])
    ]
    result: dict[str, Any] = {
        "benchmark": "core",
        "command": command_line(),
        "machine": machine_info(),
        "corpus": rel(corpus),
        "questions_file": rel(args.questions),
        "kaynak_env": kaynak_env(),
    }
    home = Path(tempfile.mkdtemp(prefix="kaynak-bench-core-"))
    try:
        kaynak, bot = measure_kaynak(corpus, items, args.repeats, home)
        kaynak.pop("ranks", None)
        result["kaynak"] = kaynak
        del bot
        gc.collect()
        if args.cli_runs > 0:
            result["cli"] = measure_cli(home, args.cli_runs)
            result["cli"]["breakdown"] = cold_process_breakdown(home)
    finally:
        if args.keep_home:
            print(f"(KAYNAK_HOME kept at {home})")
        else:
            shutil.rmtree(home, ignore_errors=True)
    result["loadavg_at_end"] = loadavg()
    print_report(result)
    out = write_json(args.json_out, result)
    print(f"\nwrote {rel(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
