"""Kaynak against the usual LangChain tutorial pipeline, on the same corpus and questions:
quality, ingest throughput, latency first time and repeated, memory and disk. Writes
bench/results/baseline.json. See bench/templates/10-baseline.md for what is measured.

    .venv/bin/python bench/bench_baseline.py [--corpus corpus/] [--repeats 3] [--name baseline]

Each pipeline runs in its own process (their thread pools would otherwise compete), so each
gets its own peak RSS; bench/scale.py uses the same worker processes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CORPUS,
    HELDOUT,
    QUESTIONS,
    ROOT,
    Tutorial,
    dir_size,
    first_hit_rank,
    is_cross_lingual,
    load_questions,
    make_assistant,
    percentiles,
    quiet_logs,
    rel,
    retrieval_query,
    row,
    run_measured,
    source_files,
    split_metrics,
    timed_ms,
    tutorial_embeddings,
    write_json,
    write_result,
)

PIPELINES = ("kaynak", "tutorial")  # each measured in its own worker process
WARMUP_QUESTION = "Haftanın en önemli haberi neydi?"  # not in any question set
WARMUP_TEXT = "Bu bir ısınma cümlesidir. This sentence only wakes the models up."


def rounds(fn: Any, items: list[dict[str, Any]], repeats: int) -> tuple[dict[str, Any], list[Any]]:
    """fn(query) for every item once ("cold": first time asked), then `repeats` more rounds
    ("warm"): latency percentiles of each, and the cold results in order."""
    cold, results = [], []
    for item in items:
        ms, out = timed_ms(lambda q=item["query"]: fn(q))
        cold.append(ms)
        results.append(out)
    warm = [timed_ms(lambda q=it["query"]: fn(q))[0] for _ in range(repeats) for it in items]
    return {"cold": percentiles(cold), "warm": percentiles(warm)}, results


def ingest_stats(corpus: str | Path, ingest: Any) -> dict[str, Any]:
    """Time `ingest(files)` (it returns the chunks written) over the corpus's files."""
    files = source_files(corpus)
    size_mb = sum(Path(f).stat().st_size for f in files) / 1e6
    ms, chunks = timed_ms(lambda: ingest(files))
    s = ms / 1000
    return {
        "source_files": len(files),
        "source_mb": round(size_mb, 3),
        "ingest": {
            "seconds": round(s, 3),
            "chunks": chunks,
            "chunks_per_s": round(chunks / s, 1) if s else None,
            "mb_per_s": round(size_mb / s, 4) if s else None,
        },
    }


def measure_kaynak(
    corpus: str | Path, items: list[dict[str, Any]], repeats: int, home: Path
) -> dict[str, Any]:
    """Load the models and warm them up (timed apart from ingest), ingest `corpus` twice (the
    second time all unchanged), build the lexical index, then time retrieve and ask."""
    from rag.chunking import sentence_spans
    from rag.text import detect_language

    ms, bot = timed_ms(lambda: make_assistant(home))
    res: dict[str, Any] = {"pipeline": "kaynak", "model_load_ms": round(ms, 1)}
    detect_language(WARMUP_TEXT)
    sentence_spans(WARMUP_TEXT, "tr")
    bot.embeddings.embed_documents([WARMUP_TEXT])
    res |= ingest_stats(corpus, lambda _files: bot.ingest([corpus]).chunks)  # the same walk
    # searchable now; the e5 vectors follow in the background: time them apart, and measure
    # questions once they are done (the steady state)
    res["e5_vectors_s"] = round(timed_ms(bot.complete_background)[0] / 1000, 3)
    res["reingest_unchanged"] = {
        "seconds": round(timed_ms(lambda: bot.ingest([corpus]))[0] / 1000, 3)
    }
    res["lexical_index_build_ms"] = round(timed_ms(bot.retriever.lexical)[0], 1)
    bot.ask(WARMUP_QUESTION)  # the process's one-off first-call costs
    res["retrieve_ms"], found = rounds(lambda q: bot.retrieve(q, k=5), items, repeats)
    res["found"] = [[p.text for p in passages] for passages in found]
    res["ask_ms"], answers = rounds(lambda q: bot.ask(q, k=5), items, repeats)
    got = [(it["expected"] is not None, a.abstained) for it, a in zip(items, answers, strict=True)]
    res["ask_outcomes"] = {
        "answerable": sum(e for e, _ in got), "answered": sum(e and not a for e, a in got),
        "unanswerable": sum(not e for e, _ in got), "abstained": sum(a and not e for e, a in got),
    }  # fmt: skip
    res["disk"] = dir_size(home)
    return res


def measure_tutorial(
    corpus: str | Path, items: list[dict[str, Any]], repeats: int, persist_dir: Path
) -> dict[str, Any]:
    """The same for the tutorial pipeline: load and warm the model, ingest, search."""
    ms, embeddings = timed_ms(tutorial_embeddings)
    res: dict[str, Any] = {"pipeline": "tutorial", "model_load_ms": round(ms, 1)}
    embeddings.embed_documents([WARMUP_TEXT])
    tutorial = Tutorial(persist_dir, embeddings)
    res |= ingest_stats(corpus, tutorial.ingest)
    tutorial.search(WARMUP_QUESTION)
    res["search_ms"], res["found"] = rounds(tutorial.search, items, repeats)
    res["disk"] = dir_size(persist_dir)
    return res


def question_items(paths: list[str | Path]) -> list[dict[str, Any]]:
    """Questions as both pipelines search them; "expected" is None for unanswerable ones."""
    return [
        {
            "id": it.get("id"),
            "query": retrieval_query(it),
            "expected": it.get("expected", []) if it.get("answerable", True) else None,
            "cross_lingual": is_cross_lingual(it),
        }
        for it in load_questions(paths)
    ]


# --- one pipeline per process -------------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    """Measure one pipeline (in this process) and write its result to --json-out."""
    quiet_logs()
    items = question_items(args.questions)
    work = Path(tempfile.mkdtemp(prefix=f"kaynak-bench-{args.worker}-", dir=args.tmp))
    try:
        if args.worker == "kaynak":
            res = measure_kaynak(args.corpus, items, args.repeats, work / "home")
            cutoffs: tuple[int, ...] = (1, 4, 5)
        else:
            res = measure_tutorial(args.corpus, items, args.repeats, work / "chroma")
            cutoffs = (1, 4)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    found = zip(items, res.pop("found"), strict=True)  # what each question found the first time
    hits = [(q, first_hit_rank(t, q["expected"])) for q, t in found if q["expected"] is not None]
    res["quality"] = split_metrics([it for it, _ in hits], [r for _, r in hits], cutoffs)
    res["per_question_rank"] = {it["id"]: r for it, r in hits}
    write_json(args.json_out, res)
    return 0


def run_worker(
    pipeline: str,
    corpus: str | Path,
    repeats: int,
    questions: list[str | Path] | None = None,
    tmp: str | None = None,
) -> dict[str, Any]:
    """Run `worker` for one pipeline in a new process; its result, plus the process's wall
    time and peak RSS (or {"error": ...} if it failed)."""
    out = str(Path(tempfile.mkdtemp(prefix=f"kaynak-bench-{pipeline}-")) / "result.json")
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--worker", pipeline,
        "--corpus", str(corpus), "--repeats", str(repeats), "--json-out", out,
        "--questions", *[str(q) for q in (questions or [QUESTIONS, HELDOUT])],
    ]  # fmt: skip
    cmd += ["--tmp", tmp] if tmp else []
    res: dict[str, Any] = {}
    done = run_measured(cmd, cwd=str(ROOT))
    with contextlib.suppress(OSError, json.JSONDecodeError):
        res = json.loads(Path(out).read_text(encoding="utf-8"))
    shutil.rmtree(Path(out).parent, ignore_errors=True)
    if done["returncode"] != 0 or not res:
        return {
            "pipeline": pipeline,
            "error": f"exit {done['returncode']}: {done['stderr'][-2000:]}",
        }
    res["process"] = {"wall_s": round(done["ms"] / 1000, 1), "peak_rss_mb": done["peak_rss_mb"]}
    return res


def comparison_rows(k: dict[str, Any], t: dict[str, Any], group: str = "") -> list[dict[str, Any]]:
    """Kaynak's worker result `k` against the tutorial's `t` (the baseline); scale.py shows the
    same rows for each corpus size."""
    out = []
    for part, label in (("all", "all"), ("cross_lingual", "cross-lingual")):
        kq, tq = k["quality"][part], t["quality"][part]
        n = kq["questions"]
        out += [
            row(f"MRR, {label} (n={n})", kq["mrr"], tq["mrr"], "Kaynak top 5, tutorial 4"),
            row(f"recall@1, {label}", kq["recall@1"], tq["recall@1"]),
            row(f"recall@4, {label}", kq["recall@4"], tq["recall@4"], "same depth"),
            row(f"recall@5 / @4, {label}", kq["recall@5"], tq["recall@4"], "each at its k"),
        ]
    ki, ti = k["ingest"], t["ingest"]
    out += [
        row("chunks written", ki["chunks"], ti["chunks"], "a sentence vs ≤1000 characters"),
        row("ingest chunks/s", ki["chunks_per_s"], ti["chunks_per_s"], "models loaded apart"),
        row("ingest MB/s", ki["mb_per_s"], ti["mb_per_s"], "same source bytes"),
        row("second ingest, all unchanged (s)", k["reingest_unchanged"]["seconds"]),
        row("lexical index, built on the first question (ms)", k["lexical_index_build_ms"]),
    ]
    vs = "retrieve(k=5) vs similarity_search(k=4)"
    for phase, label in (("cold", "first time asked"), ("warm", "repeated")):
        for pct in ("p50", "p95"):
            kr, ka, ts = (
                d[key][phase].get(pct)
                for d, key in ((k, "retrieve_ms"), (k, "ask_ms"), (t, "search_ms"))
            )
            out += [
                row(f"retrieve {pct} ms, {label}", kr, ts, vs),
                row(f"ask (extractive) {pct} ms, {label}", ka),
            ]
    o, kp, tp = k["ask_outcomes"], k["process"], t["process"]
    out += [
        row("answered / answerable", f"{o['answered']}/{o['answerable']}", note="sanity check"),
        row("abstained / unanswerable", f"{o['abstained']}/{o['unanswerable']}"),
        row("index on disk (MB)", k["disk"]["apparent_mb"], t["disk"]["apparent_mb"]),
        row("peak RSS (MB), own process", kp["peak_rss_mb"], tp["peak_rss_mb"], "models included"),
    ]
    return [{**r, "group": group} for r in out]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=str(CORPUS), help="folder to ingest (default corpus/)")
    p.add_argument("--questions", nargs="+", default=[str(QUESTIONS), str(HELDOUT)])
    p.add_argument("--repeats", type=int, default=3, help="warm rounds over the questions")
    p.add_argument("--name", default="baseline", help="the result's name (bench/results/NAME.json)")
    p.add_argument("--worker", choices=PIPELINES, help=argparse.SUPPRESS)
    p.add_argument("--json-out", help=argparse.SUPPRESS)
    p.add_argument("--tmp", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    quiet_logs()
    sides = {s: run_worker(s, args.corpus, args.repeats, args.questions) for s in PIPELINES}
    for side in sides.values():
        if "error" in side:
            print(f"{side['pipeline']} failed: {side['error']}", file=sys.stderr)
            return 1
    k, t = sides["kaynak"], sides["tutorial"]
    missed = {
        s: [i for i, r in d["per_question_rank"].items() if r is None] for s, d in sides.items()
    }
    write_result(
        args.name,
        comparison_rows(k, t),
        baseline="LangChain tutorial",
        note=f"Corpus `{rel(args.corpus)}`: {k['source_files']} file(s), {k['source_mb']} MB; "
        f"questions {', '.join(rel(q) for q in args.questions)}",
        details={"missed": missed, "kaynak": k, "tutorial": t},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
