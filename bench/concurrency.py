"""Many users at once on the page: concurrent questions while another client ingests.

    .venv/bin/python bench/concurrency.py [--clients 20] [--questions 200] [--ingest-files 200]

Starts `kaynak ui` on a free loopback port with a fresh KAYNAK_HOME, then runs --clients
gradio_client clients in threads, --questions questions in total (the question set, cycled),
while one more client uploads a folder of --ingest-files documents through the page. Prints
errors, invalid answers (neither cited nor abstained), and latency p50/p95; writes
bench/out/concurrency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from _common import ROOT, free_port, start_page

os.environ.update({"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--ingest-files", type=int, default=200)
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "out" / "concurrency.json"))
    args = parser.parse_args()

    from gradio_client import Client, handle_file

    work = Path(tempfile.mkdtemp(prefix="kaynak-conc-"))
    docs = work / "docs"
    docs.mkdir()
    for i in range(args.ingest_files):
        (docs / f"bulletin{i:03d}.txt").write_text(
            f"Bulletin {i}: the city council of Harbourton approved project {i} on Monday. "
            f"The project {i} will cost {i * 3 + 10} thousand lira and start in spring.",
            encoding="utf-8",
        )
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "bench" / "questions.jsonl").read_text().splitlines()
        if line.strip() and "history" not in line
    ]
    port = free_port()
    proc, ready = start_page(work / "home", port)
    url = f"http://127.0.0.1:{port}/"
    try:
        print(f"page ready after {ready:.1f} s")

        latencies: list[float] = []
        errors: list[str] = []
        invalid: list[str] = []
        lock = threading.Lock()
        quota = [
            args.questions // args.clients + (1 if i < args.questions % args.clients else 0)
            for i in range(args.clients)
        ]

        def asker(n: int) -> None:
            client = Client(url, verbose=False)
            for j in range(quota[n]):
                q = questions[(n * 7 + j) % len(questions)]
                t0 = time.perf_counter()
                try:
                    chat, sources, _ = client.predict(
                        q, [], 5, "Extractive (quotes the sources)", api_name="/ask"
                    )
                    elapsed = (time.perf_counter() - t0) * 1000
                    text = chat[-1]["content"][0]["text"] if chat else ""
                    ok = ('class="card"' in sources and "[1]" in text) or (
                        "No sources cited" in sources and "[1]" not in text
                    )
                    with lock:
                        latencies.append(elapsed)
                        if not ok:
                            invalid.append(q)
                except Exception as exc:  # any failure is counted and reported
                    with lock:
                        errors.append(f"{q}: {exc!r}")

        ingest_result: dict = {}

        def ingester() -> None:
            client = Client(url, verbose=False)
            t0 = time.perf_counter()
            try:
                report, *_ = client.predict(
                    [handle_file(str(p)) for p in sorted(docs.iterdir())],
                    "",
                    api_name="/add_sources",
                )
                ingest_result.update(
                    report=report.splitlines()[0], seconds=time.perf_counter() - t0
                )
            except Exception as exc:
                errors.append(f"ingest: {exc!r}")

        threads = [threading.Thread(target=asker, args=(i,)) for i in range(args.clients)]
        threads.append(threading.Thread(target=ingester))
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    latencies.sort()
    result = {
        "clients": args.clients,
        "questions": len(latencies) + len(errors),
        "errors": errors,
        "invalid": invalid,
        "latency_p50_ms": statistics.median(latencies) if latencies else None,
        "latency_p95_ms": latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
        "wall_seconds": wall,
        "questions_per_second": len(latencies) / wall,
        "ingest": ingest_result,
        "page_ready_seconds": ready,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
