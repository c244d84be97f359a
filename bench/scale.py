"""Both pipelines as the corpus grows: ingest throughput, latency, peak memory, disk.

    .venv/bin/python bench/scale.py                          # sizes 1000,10000
    .venv/bin/python bench/scale.py --sizes 1000             # a quick check
    .venv/bin/python bench/scale.py --sizes 1000,10000,100000   # long: hours on 2 cores
    .venv/bin/python bench/scale.py --plot-only              # redraw the plot from the JSON

For each size N, gen_corpus.py makes (or reuses, from bench/out/corpora/nN) a folder of N
synthetic Turkish/English sentences plus the bundled article. Then each pipeline runs in its
own process (so its peak RSS is its own): Kaynak (Assistant.ingest; retrieve, and extractive
ask) and the LangChain tutorial (1000/200 splitter, Chroma, all-MiniLM-L6-v2,
similarity_search k=4), each on a fresh temporary index. Questions: every question of
bench/questions.jsonl and bench/heldout.jsonl (follow-ups made standalone by Kaynak's rule,
the same text for both), once cold and --repeats rounds warm; the cold round also gives the
rank of the first chunk with an expected fragment (MRR, recall@k) for the answerable ones.
The "restart" step measures what a user meets after a restart: `kaynak ingest` of the folder
into a new index (its wall time, i.e. ingest speed), then a new process that opens that index:
loading the saved lexical index, and the first retrieve and ask.
Writes --json-out (after every size, so a long run keeps what it measured) and a plot of
latency p50/p95 against corpus size (log x) to --plot.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    HELDOUT,
    OUT,
    QUESTIONS,
    ROOT,
    command_line,
    kaynak_env,
    loadavg,
    machine_info,
    rel,
    write_json,
)

DEFAULT_PLOT = ROOT / "docs" / "latency_vs_size.png"


# --- the plot ---------------------------------------------------------------------------------

SERIES = [  # (pipeline, key in the result, label, colour)
    ("kaynak", "ask_ms", "Kaynak ask (extractive)", "tab:blue"),
    ("kaynak", "retrieve_ms", "Kaynak retrieve", "tab:green"),
    ("tutorial", "search_ms", "tutorial similarity_search", "tab:orange"),
]


def plot(results: list[dict[str, Any]], path: str | Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        r
        for r in results
        if "error" not in r.get("kaynak", {}) or "error" not in r.get("tutorial", {})
    ]
    if not rows:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, phase, title in (
        (axes[0], "cold", "first time a question is asked"),
        (axes[1], "warm", "repeated questions"),
    ):
        for pipeline, key, label, colour in SERIES:
            pts = [
                (r["size"], r[pipeline][key][phase])
                for r in rows
                if key in r.get(pipeline, {}) and r[pipeline][key][phase].get("n")
            ]
            if not pts:
                continue
            xs = [x for x, _ in pts]
            ax.plot(xs, [s["p50"] for _, s in pts], "o-", color=colour, label=f"{label} p50")
            ax.plot(
                xs, [s["p95"] for _, s in pts], "s--", color=colour, alpha=0.7, label=f"{label} p95"
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("corpus size (synthetic sentence chunks, + the article)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("latency (ms, log)")
    axes[1].legend(fontsize=7, loc="upper left")
    fig.suptitle("Latency against corpus size: Kaynak vs LangChain tutorial pipeline")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- printing ---------------------------------------------------------------------------------


def summary_rows(r: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    k, t = r.get("kaynak", {}), r.get("tutorial", {})

    def g(d: dict[str, Any], *keys: str) -> Any:
        for key in keys:
            if not isinstance(d, dict) or key not in d:
                return None
            d = d[key]
        return d

    return [
        ("chunks", g(k, "ingest", "chunks"), g(t, "ingest", "chunks")),
        ("ingest s", g(k, "ingest", "seconds"), g(t, "ingest", "seconds")),
        ("ingest chunks/s", g(k, "ingest", "chunks_per_s"), g(t, "ingest", "chunks_per_s")),
        ("ingest MB/s", g(k, "ingest", "mb_per_s"), g(t, "ingest", "mb_per_s")),
        ("re-ingest unchanged s", g(k, "reingest_unchanged", "seconds"), None),
        ("lexical index build ms", g(k, "lexical_index_build_ms"), None),
        *[
            (
                f"retrieve/search {pct} ms {phase}",
                g(k, "retrieve_ms", phase, pct),
                g(t, "search_ms", phase, pct),
            )
            for phase in ("cold", "warm")
            for pct in ("p50", "p95")
        ],
        ("ask p50 ms cold", g(k, "ask_ms", "cold", "p50"), None),
        ("ask p95 ms cold", g(k, "ask_ms", "cold", "p95"), None),
        ("ask p50 ms warm", g(k, "ask_ms", "warm", "p50"), None),
        ("ask p95 ms warm", g(k, "ask_ms", "warm", "p95"), None),
        ("peak RSS MB (process)", g(k, "process", "peak_rss_mb"), g(t, "process", "peak_rss_mb")),
        ("index on disk MB", g(k, "disk", "apparent_mb"), g(t, "disk", "apparent_mb")),
        ("MRR (answerable)", g(k, "quality", "all", "mrr"), g(t, "quality", "all", "mrr")),
        ("recall@4", g(k, "quality", "all", "recall@4"), g(t, "quality", "all", "recall@4")),
        (
            "MRR cross-lingual",
            g(k, "quality", "cross_lingual", "mrr"),
            g(t, "quality", "cross_lingual", "mrr"),
        ),
    ]


def print_size(r: dict[str, Any]) -> None:
    from _common import ratio

    print(
        f"\n== size {r['size']} ({r['corpus']['files']} files, "
        f"{r['corpus']['text_bytes'] / 1e6:.2f} MB) =="
    )
    for side in ("kaynak", "tutorial"):
        if "error" in r.get(side, {}):
            print(f"{side} FAILED: {r[side]['error'][-600:]}")
    print(f"{'':30} {'kaynak':>10} {'tutorial':>10} {'k/t':>7}")
    for name, kv, tv in summary_rows(r):
        rt = ratio(kv, tv) if isinstance(kv, int | float) and isinstance(tv, int | float) else None
        print(
            f"{name:30} {'-' if kv is None else kv:>10} {'-' if tv is None else tv:>10} "
            f"{'-' if rt is None else rt:>7}"
        )


# --- after a restart -------------------------------------------------------------------------

_RESTART = """
import json, sys, time
t0 = time.perf_counter()
from rag import Assistant
bot = Assistant(home=sys.argv[1], progress=False)
t1 = time.perf_counter()
bot.retriever.lexical()
t2 = time.perf_counter()
bot.retrieve("Who did Joly meet in Tokyo?")
t3 = time.perf_counter()
bot.ask("What did Joly say?")
t4 = time.perf_counter()
print(json.dumps({
    "assistant_init_ms": round((t1 - t0) * 1000, 1),
    "lexical_index_load_ms": round((t2 - t1) * 1000, 1),
    "first_retrieve_ms": round((t3 - t2) * 1000, 1),
    "first_ask_ms": round((t4 - t3) * 1000, 1),
    "first_question_after_restart_ms": round((t4 - t1) * 1000, 1),
    "chunks": bot.store.count(),
}))
"""


def measure_restart(corpus: Path, tmp: str | None) -> dict[str, Any]:
    """`kaynak ingest` into a new index, then a new process's first question on it."""
    import os
    import shutil
    import subprocess
    import tempfile
    import time

    home = Path(tempfile.mkdtemp(prefix="kaynak-restart-", dir=tmp))
    env = {**os.environ, "KAYNAK_HOME": str(home), "KAYNAK_PROGRESS": "0"}
    kaynak = Path(sys.executable).parent / "kaynak"
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [str(kaynak), "ingest", "--json", "--vectors-later", str(corpus)],
            env=env,
            capture_output=True,
            text=True,
        )
        ingest_s = time.perf_counter() - started
        if done.returncode != 0:
            return {"error": done.stderr[-2000:]}
        chunks = json.loads(done.stdout)["chunks"]
        first = subprocess.run(
            [sys.executable, "-c", _RESTART, str(home)], env=env, capture_output=True, text=True
        )
        if first.returncode != 0:
            return {"error": first.stderr[-2000:]}
        return {
            "ingest_cli": {
                "seconds": round(ingest_s, 1),
                "chunks": chunks,
                "chunks_per_s": round(chunks / ingest_s, 1),
            },
            **json.loads(first.stdout.strip().splitlines()[-1]),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000", help="comma-separated chunk counts")
    p.add_argument("--repeats", type=int, default=3, help="warm rounds over the questions")
    p.add_argument("--json-out", default=str(OUT / "scale.json"))
    p.add_argument(
        "--plot", default=str(DEFAULT_PLOT), help="PNG path (default docs/latency_vs_size.png)"
    )
    p.add_argument(
        "--corpora", default=str(OUT / "corpora"), help="where generated corpora are cached"
    )
    p.add_argument("--tmp", help="where the temporary indexes go (default: the system temp dir)")
    p.add_argument("--plot-only", action="store_true", help="redraw --plot from --json-out")
    p.add_argument(
        "--steps",
        default="kaynak,tutorial,restart",
        help="which of kaynak, tutorial and restart to run (comma-separated)",
    )
    args = p.parse_args()

    if args.plot_only:
        data = json.loads(Path(args.json_out).read_text(encoding="utf-8"))
        made = plot(data["results"], args.plot)
        print(f"wrote {rel(made) if made else '(nothing to plot)'}")
        return 0

    from bench_baseline import run_worker
    from gen_corpus import generate

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    result: dict[str, Any] = {
        "benchmark": "scale",
        "command": command_line(),
        "machine": machine_info(),
        "sizes": sizes,
        "repeats": args.repeats,
        "questions_files": [rel(QUESTIONS), rel(HELDOUT)],
        "kaynak_env": kaynak_env(),
        "results": [],
        "plot": rel(args.plot),
    }
    for size in sizes:
        manifest = generate(size, Path(args.corpora) / f"n{size}")
        corpus = Path(manifest["path"])
        print(
            f"corpus n={size}: {rel(corpus)} ({'reused' if manifest['reused'] else 'generated'})",
            flush=True,
        )
        row: dict[str, Any] = {"size": size, "corpus": {**manifest, "path": rel(corpus)}}
        steps = [s.strip() for s in args.steps.split(",")]
        for pipeline in [p for p in ("kaynak", "tutorial") if p in steps]:
            print(f"  {pipeline} ...", flush=True)
            row[pipeline] = run_worker(
                pipeline, corpus, args.repeats, answerable_only=False, ask=True, tmp=args.tmp
            )
        if "restart" in steps:
            print("  restart ...", flush=True)
            row["restart"] = measure_restart(corpus, args.tmp)
            print(f"  restart: {json.dumps(row['restart'])}", flush=True)
        row["loadavg_after"] = loadavg()
        result["results"].append(row)
        print_size(row)
        write_json(args.json_out, result)
        plot(result["results"], args.plot)
    print(f"\nwrote {rel(args.json_out)} and {rel(args.plot)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
