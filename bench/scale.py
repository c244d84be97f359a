"""Both pipelines as the corpus grows: ingest throughput, latency, peak memory, disk.

    .venv/bin/python bench/scale.py                          # sizes 1000,10000
    .venv/bin/python bench/scale.py --sizes 1000 --name scale-check   # a quick check
    .venv/bin/python bench/scale.py --sizes 1000,10000,100000   # long: hours on 2 cores

For each size N, gen_corpus.py makes (or reuses, from bench/out/corpora/nN) a folder of N
synthetic Turkish/English sentences plus the bundled article. Then each pipeline runs in its
own process, as in bench_baseline.py, on a fresh temporary index, over every question of
bench/questions.jsonl and bench/heldout.jsonl, and the same rows are written for each size.
The "restart" step measures what a user meets after a restart: `kaynak ingest` of the folder
into a new index (its wall time, i.e. ingest speed), then a new process that opens that index:
loading the saved lexical index, and the first retrieve and ask.
Writes bench/results/NAME.json after every size, so a long run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import rel, row, timed_ms, write_result
from bench_baseline import PIPELINES, comparison_rows, run_worker
from gen_corpus import generate
from harness import run_kaynak

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
    home = Path(tempfile.mkdtemp(prefix="kaynak-restart-", dir=tmp))
    env = {**os.environ, "KAYNAK_HOME": str(home), "KAYNAK_PROGRESS": "0"}
    try:
        args = ("ingest", "--json", "--vectors-later", str(corpus))
        ms, done = timed_ms(lambda: run_kaynak(*args, env=env, timeout=24 * 3600))
        if done.returncode != 0:
            return {"error": done.stderr[-2000:]}
        chunks = json.loads(done.stdout)["chunks"]
        first = subprocess.run(
            [sys.executable, "-c", _RESTART, str(home)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if first.returncode != 0:
            return {"error": first.stderr[-2000:]}
        ingest = {"seconds": round(ms / 1000, 1), "chunks": chunks}
        ingest["chunks_per_s"] = round(chunks / (ms / 1000), 1)
        return {"ingest_cli": ingest, **json.loads(first.stdout.strip().splitlines()[-1])}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def restart_rows(r: dict[str, Any], group: str) -> list[dict[str, Any]]:
    """What a user meets after a restart, on the index `kaynak ingest` wrote."""
    return [
        row(metric, value, None, note, group)
        for metric, value, note in (
            ("`kaynak ingest` chunks/s", r["ingest_cli"]["chunks_per_s"], "models included"),
            ("new process: lexical index load (ms)", r["lexical_index_load_ms"], "saved by ingest"),
            ("new process: first retrieve + ask (ms)", r["first_question_after_restart_ms"], ""),
        )
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000", help="comma-separated chunk counts")
    p.add_argument("--repeats", type=int, default=3, help="warm rounds over the questions")
    p.add_argument("--name", default="scale", help="the result's name (bench/results/NAME.json)")
    p.add_argument("--tmp", help="where the temporary indexes go (default: the system temp dir)")
    p.add_argument(
        "--steps",
        default="kaynak,tutorial,restart",
        help="which of kaynak, tutorial and restart to run (comma-separated)",
    )
    args = p.parse_args()
    steps = [s.strip() for s in args.steps.split(",")]
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        manifest = generate(size)
        corpus = Path(manifest["path"])
        print(f"corpus n={size}: {rel(corpus)} ({'reused' if manifest['reused'] else 'new'})")
        group = (
            f"{size:,} synthetic chunks + the article "
            f"({manifest['files']} files, {manifest['text_bytes'] / 1e6:.2f} MB)"
        )
        run: dict[str, Any] = {"size": size, "corpus": {**manifest, "path": rel(corpus)}}
        for step in [s for s in (*PIPELINES, "restart") if s in steps]:
            print(f"  {step} ...", flush=True)
            run[step] = (
                measure_restart(corpus, args.tmp)
                if step == "restart"
                else run_worker(step, corpus, args.repeats, tmp=args.tmp)
            )
            if "error" in run[step]:
                print(f"  {step} failed: {run[step]['error']}", file=sys.stderr)
        runs.append(run)
        if all(s in run and "error" not in run[s] for s in PIPELINES):
            rows += comparison_rows(run["kaynak"], run["tutorial"], group)
        if "restart" in run and "error" not in run["restart"]:
            rows += restart_rows(run["restart"], group)
        write_result(
            args.name,
            rows,
            baseline="LangChain tutorial",
            note="each pipeline in its own process, one after the other",
            details={"steps": steps, "repeats": args.repeats, "runs": runs},
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
