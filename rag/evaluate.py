"""Run a question set against an ingested corpus and score retrieval, answers and citations.

A question set is JSONL, one object a line:
  {"id": "...", "question": "...", "expected": ["a quoted fragment of the source", ...]}
  {"id": "...", "question": "...", "answerable": false}
  optional: "history": [["earlier question", "earlier answer"], ...]
A passage or citation is on target when it contains one of the expected fragments.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rag.text import fold


def load_questions(source: str | Path | Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(source, str | Path):
        items = []
        for n, line in enumerate(Path(source).read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{source}, line {n}: not valid JSON ({exc})") from None
        return items
    return list(source)


def on_target(text: str, expected: Iterable[str]) -> bool:
    haystack = " ".join(fold(text).split())
    return any(" ".join(fold(e).split()) in haystack for e in expected)


def evaluate(
    bot: Any, questions: str | Path | Iterable[dict[str, Any]], k: int = 5
) -> dict[str, Any]:
    """Score `bot` (an Assistant) on `questions`; see the module docstring for the format."""
    from rag.chat import standalone_question

    items = load_questions(questions)
    rows: list[dict[str, Any]] = []
    for item in items:
        question = item["question"]
        history = [tuple(turn) for turn in item.get("history", [])]
        answerable = item.get("answerable", True)
        expected = item.get("expected", [])
        standalone = standalone_question(question, history, None)
        passages = bot.retrieve(standalone, k=k)
        started = time.perf_counter()
        answer = bot.ask(question, history=history, k=k)
        latency = (time.perf_counter() - started) * 1000
        rank = next(
            (i for i, p in enumerate(passages, start=1) if on_target(p.text, expected)), None
        )
        valid = [c.quote == bot.source_text(c.doc_id)[c.start : c.end] for c in answer.citations]
        hits = [on_target(c.quote, expected) for c in answer.citations]
        rows.append(
            {
                "id": item.get("id", question),
                "question": question,
                "answerable": answerable,
                "rank": rank,
                "abstained": answer.abstained,
                "correct": (not answer.abstained and any(hits)) if answerable else answer.abstained,
                "citations": len(answer.citations),
                "citations_on_target": sum(hits),
                "citations_valid": sum(valid),
                "latency_ms": round(latency, 2),
            }
        )
    return {"summary": summarize(rows, k), "questions": rows}


def summarize(rows: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    cited = sum(r["citations"] for r in answerable)
    all_cited = sum(r["citations"] for r in rows)
    latencies = [r["latency_ms"] for r in rows]

    def recall(n: int) -> float:
        return _mean([1.0 if r["rank"] is not None and r["rank"] <= n else 0.0 for r in answerable])

    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "recall@1": recall(1),
        "recall@3": recall(3),
        f"recall@{k}": recall(k),
        "mrr": _mean([1.0 / r["rank"] if r["rank"] else 0.0 for r in answerable]),
        "answered_correctly": _mean([1.0 if r["correct"] else 0.0 for r in answerable]),
        "false_abstentions": _mean([1.0 if r["abstained"] else 0.0 for r in answerable]),
        "abstained_when_unanswerable": _mean(
            [1.0 if r["abstained"] else 0.0 for r in unanswerable]
        ),
        "citation_precision": (sum(r["citations_on_target"] for r in answerable) / cited)
        if cited
        else 0.0,
        "citation_validity": (sum(r["citations_valid"] for r in rows) / all_cited)
        if all_cited
        else 1.0,
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else 0.0,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else 0.0,
    }


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def format_report(result: dict[str, Any]) -> str:
    s = result["summary"]
    lines = ["question                                   rank  abstained  correct  cites"]
    for r in result["questions"]:
        lines.append(
            f"{r['id'][:42]:<42} {r['rank'] or '-':>4}  {('yes' if r['abstained'] else 'no'):>9}"
            f"  {('yes' if r['correct'] else 'NO'):>7}  {r['citations_on_target']}/{r['citations']}"
        )
    lines.append("")
    width = max(len(key) for key in s)
    for key, value in s.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(f"{key:<{width}}  {shown}")
    return "\n".join(lines)
