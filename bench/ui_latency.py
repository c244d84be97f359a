"""The page as a user meets it: `kaynak ui` start to page ready, and question to answer shown.

    .venv/bin/python bench/ui_latency.py [--repeats 3]

Starts `kaynak ui` (fresh KAYNAK_HOME, so the first start also ingests the bundled article),
waits for "Kaynak is ready", then drives Debian's Chromium with Playwright: each question of
bench/questions.jsonl (without history) is typed and submitted, and the time until its source
cards (or the "No sources cited" note) are shown is recorded. Writes bench/out/ui.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _common import ROOT, free_port, start_page

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="starts of the page to time")
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "out" / "ui.json"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "bench" / "questions.jsonl").read_text().splitlines()
        if line.strip() and "history" not in line
    ]
    home = Path(tempfile.mkdtemp(prefix="kaynak-ui-")) / "home"
    starts = []
    for i in range(args.repeats):
        proc, seconds = start_page(home, free_port())
        starts.append(seconds)
        print(
            f"start {i + 1}: ready after {seconds:.2f} s" + (" (first: ingests)" if i == 0 else "")
        )
        proc.terminate()
        proc.wait(timeout=20)

    port = free_port()
    proc, _ = start_page(home, port)
    shown: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            box = page.locator("#question textarea")
            for n, q in enumerate(questions, start=1):
                before = page.locator('#chat [data-testid="bot"]').count()
                box.fill(q)
                t0 = time.perf_counter()
                box.press("Enter")
                page.wait_for_function(
                    """([n]) => document.querySelectorAll('#chat [data-testid="bot"]').length > n
                       && (document.querySelector('#sources .card, #sources .empty b'))""",
                    arg=[before],
                    timeout=30_000,
                )
                page.locator("#sources .card, #sources .empty b").first.wait_for()
                shown.append(time.perf_counter() - t0)
                page.locator("#clear").click()
                page.wait_for_function(
                    "document.querySelectorAll('#chat [data-testid=\"bot\"]').length == 0"
                )
                if n == 1:
                    print(f"first question: {shown[0]:.2f} s")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    shown_sorted = sorted(shown)
    result = {
        "start_to_ready_s": starts,
        "restart_to_ready_median_s": statistics.median(starts[1:]) if len(starts) > 1 else None,
        "question_to_answer_p50_s": statistics.median(shown),
        "question_to_answer_p95_s": shown_sorted[int(0.95 * (len(shown) - 1))],
        "questions": len(shown),
    }
    print(json.dumps(result, indent=2))
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
