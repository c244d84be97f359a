"""Time to the first streamed text with the extractive answerer.

    .venv/bin/python bench/first_token.py [--repeats 3]

For each question of bench/questions.jsonl: milliseconds from calling `Assistant.stream` to
its first text piece, the first time the question is asked in the process and on repeats.
Writes bench/out/first_token.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from _common import ROOT, make_assistant, percentiles, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "out" / "first_token.json"))
    args = parser.parse_args()
    items = [json.loads(line) for line in (ROOT / "bench" / "questions.jsonl").read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        bot = make_assistant(tmp)
        bot.ingest([ROOT / "corpus"])
        bot.ask("What is this article about?")  # the process's one-off warm-up
        first, repeated = [], []
        for n in range(1 + args.repeats):
            for item in items:
                history = [tuple(t) for t in item.get("history", [])]
                started = time.perf_counter()
                stream = bot.stream(item["question"], history=history)
                next(stream)
                (first if n == 0 else repeated).append((time.perf_counter() - started) * 1000)
                for _ in stream:
                    pass
    result = {"first_time_asked_ms": percentiles(first), "repeated_ms": percentiles(repeated)}
    print(json.dumps(result, indent=2))
    write_json(args.json_out, result)


if __name__ == "__main__":
    main()
