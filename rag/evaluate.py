"""Run a question set against an ingested corpus and score retrieval, answers and citations.

A question set is JSONL, one object a line:
  {"id": "...", "question": "...", "expected": ["a quoted fragment of the source", ...]}
  {"id": "...", "question": "...", "answerable": false}
  optional: "history": [["earlier question", "earlier answer"], ...]
A passage or citation is on target when it contains one of the expected fragments.

SQuAD-format data (`evaluate_squad`): the contexts become one text file per article
(paragraphs separated by blank lines), ingested into the bot; a passage or citation is on
target when its span overlaps the gold answer's span in its paragraph. Holding out paragraphs
or whole articles gives unanswerable questions: on-topic (same article, answer absent) and
off-topic.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.text import detect_language, fold, normalize


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


# --- SQuAD-format data ---------------------------------------------------------------------


# A span of an ingested document's text: (doc_id, start, end).
Span = tuple[str, int, int]
# A question of a SquadSet -> (its gold answer spans, its paragraph's span or None).
GoldLocator = Callable[[dict[str, Any]], tuple[list[Span], Span | None]]


@dataclass
class SquadSet:
    """Articles to ingest and the questions about them, with gold answer spans."""

    # title -> {paragraph index: text} for the paragraphs kept in the corpus (normalised)
    articles: dict[str, dict[int, str]]
    questions: list[dict[str, Any]] = field(default_factory=list)

    def article_text(self, title: str) -> str:
        return "\n\n".join(self.articles[title].values()) + "\n"

    def write_corpus(self, folder: str | Path) -> dict[str, Path]:
        """One UTF-8 text file per article; returns title -> path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for title in self.articles:
            path = folder / f"{article_stem(title)}.txt"
            path.write_text(self.article_text(title), encoding="utf-8")
            paths[title] = path
        return paths


def load_squad(
    contexts: str | Path,
    questions: str | Path | None = None,
    holdout_paragraph: int | None = None,
    holdout_titles: Sequence[str] = (),
) -> SquadSet:
    """Read SQuAD-format JSON. `questions` is a parallel file (same question ids) whose
    questions are asked instead (the cross-lingual case); answers always come from `contexts`.
    Questions about a held-out paragraph or article are unanswerable ("on-topic" and
    "off-topic")."""
    data = _read_json(contexts)["data"]
    asked = _questions_by_id(questions) if questions is not None else {}
    holdout = set(holdout_titles)
    unknown = holdout - {a["title"] for a in data}
    if unknown:
        raise ValueError(f"--holdout-titles names articles not in {contexts}: {sorted(unknown)}")
    squad = SquadSet(articles={})
    for article in data:
        title = article["title"]
        kept: dict[int, str] = {}
        for index, para in enumerate(article["paragraphs"]):
            text = normalize(para["context"]).strip()
            offset = len(normalize(para["context"])) - len(normalize(para["context"]).lstrip())
            held = title in holdout or index == holdout_paragraph
            kind = "off-topic" if title in holdout else "on-topic" if held else "answerable"
            if not held:
                kept[index] = text
            for qa in para["qas"]:
                if questions is not None and qa["id"] not in asked:
                    continue
                spans = _answer_spans(para["context"], qa.get("answers", []), offset)
                squad.questions.append(
                    {
                        "id": qa["id"],
                        "question": asked.get(qa["id"], qa["question"]),
                        "answerable": not held,
                        "kind": kind,
                        "title": title,
                        "paragraph": index,
                        "answers": [a["text"] for a in qa.get("answers", [])],
                        "spans": spans,
                    }
                )
        if kept:
            squad.articles[title] = kept
    return squad


def _questions_by_id(questions: str | Path) -> dict[str, str]:
    """Each question of a SQuAD-format file, by its id."""
    asked: dict[str, str] = {}
    for article in _read_json(questions)["data"]:
        for para in article["paragraphs"]:
            asked.update({qa["id"]: qa["question"] for qa in para["qas"]})
    return asked


def _answer_spans(
    context: str, answers: list[dict[str, Any]], offset: int
) -> list[tuple[int, int]]:
    """Where the answers lie in the normalised paragraph (those that can be found)."""
    spans = []
    for ans in answers:
        start = _answer_start(context, ans)
        if start is None:
            continue
        begin = len(normalize(context[:start])) - offset
        spans.append((begin, begin + len(normalize(ans["text"]))))
    return spans


def evaluate_squad(bot: Any, squad: SquadSet, k: int = 5) -> dict[str, Any]:
    """Score `bot`, which has ingested `squad.write_corpus(...)`, on the questions of `squad`.
    Metrics as `evaluate`, plus paragraph recall@1 and abstentions by kind of question."""
    gold = gold_locator(bot, squad)
    rows: list[dict[str, Any]] = []
    for item in squad.questions:
        passages = bot.retrieve(item["question"], k=k)
        started = time.perf_counter()
        answer = bot.ask(item["question"], k=k)
        latency = (time.perf_counter() - started) * 1000
        spans, paragraph = gold(item)
        rank = next(
            (i for i, p in enumerate(passages, 1) if overlaps(p.doc_id, p.start, p.end, spans)),
            None,
        )
        hits = [overlaps(c.doc_id, c.start, c.end, spans) for c in answer.citations]
        valid = [c.quote == bot.source_text(c.doc_id)[c.start : c.end] for c in answer.citations]
        rows.append(
            {
                "id": item["id"],
                "question": item["question"],
                "language": detect_language(item["question"]),
                "kind": item["kind"],
                "title": item["title"],
                "answerable": item["answerable"],
                "rank": rank,
                "paragraph_hit": bool(passages)
                and paragraph is not None
                and overlaps(passages[0].doc_id, passages[0].start, passages[0].end, [paragraph]),
                "abstained": answer.abstained,
                "correct": (not answer.abstained and any(hits))
                if item["answerable"]
                else answer.abstained,
                "citations": len(answer.citations),
                "citations_on_target": sum(hits),
                "citations_valid": sum(valid),
                "cited_chars": sum(len(c.quote) for c in answer.citations),
                "latency_ms": round(latency, 2),
            }
        )
    return {"summary": summarize_squad(rows, k), "questions": rows}


def summarize_squad(rows: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    summary = summarize(rows, k)
    answerable = [r for r in rows if r["answerable"]]
    for kind in ("off-topic", "on-topic"):
        some = [r for r in rows if r["kind"] == kind]
        summary[f"abstained_{kind}"] = _mean([1.0 if r["abstained"] else 0.0 for r in some])
    summary["paragraph_recall@1"] = _mean([1.0 if r["paragraph_hit"] else 0.0 for r in answerable])
    cited = sum(r["citations"] for r in answerable)
    summary["cited_chars_per_citation"] = (
        sum(r["cited_chars"] for r in answerable) / cited if cited else 0.0
    )
    return summary


def gold_locator(bot: Any, squad: SquadSet) -> GoldLocator:
    """Where the answers of `squad`'s questions lie in what `bot` ingested: a function from a
    question to (its gold answer spans, its paragraph's span), both as `Span`s of the
    ingested documents' text; ([], None) for an unanswerable question. `bot` (an Assistant)
    must have ingested `squad.write_corpus(...)`."""
    by_name = {Path(r.path).stem: r.doc_id for r in bot.documents() if r.path}
    # (title, paragraph index) -> (doc_id, offsets in the ingested text of each non-space
    # character of the paragraph): loading may change whitespace, never the words
    where: dict[tuple[str, int], tuple[str, list[int]]] = {}
    for title, paragraphs in squad.articles.items():
        doc_id = by_name.get(article_stem(title))
        if doc_id is None:
            raise ValueError(f"the article {title!r} is not in the index; ingest it first")
        text = bot.source_text(doc_id)
        cursor = 0
        for index, para in paragraphs.items():
            pattern = r"\s+".join(re.escape(word) for word in para.split())
            found = re.compile(pattern).search(text, cursor)
            if found is None:
                raise ValueError(f"paragraph {index} of {title!r} is not in its ingested text")
            where[(title, index)] = (
                doc_id,
                [found.start() + i for i, ch in enumerate(found.group()) if not ch.isspace()],
            )
            cursor = found.end()

    def locate(item: dict[str, Any]) -> tuple[list[Span], Span | None]:
        found = where.get((item["title"], item["paragraph"]))
        if not item["answerable"] or found is None:
            return [], None
        doc_id, offsets = found
        para = squad.articles[item["title"]][item["paragraph"]]

        def ordinal(i: int) -> int:  # non-space characters of the paragraph before offset i
            return len(para[:i]) - sum(ch.isspace() for ch in para[:i])

        spans = [
            (doc_id, offsets[ordinal(s)], offsets[max(ordinal(e) - 1, 0)] + 1)
            for s, e in item["spans"]
            if ordinal(s) < len(offsets)
        ]
        return spans, (doc_id, offsets[0], offsets[-1] + 1)

    return locate


def overlaps(doc_id: str, start: int, end: int, spans: Sequence[Span]) -> bool:
    """Does [start, end) of document `doc_id` share a character with one of `spans`?"""
    return any(d == doc_id and start < e and s < end for d, s, e in spans)


def _answer_start(context: str, answer: dict[str, Any]) -> int | None:
    """The answer's offset, checked against the text (translated sets are sometimes off)."""
    start, text = int(answer.get("answer_start", -1)), answer["text"]
    if context[start : start + len(text)] == text:
        return start
    found = [m.start() for m in re.finditer(re.escape(text), context)]
    return min(found, key=lambda s: abs(s - start)) if found else None


def article_stem(title: str) -> str:
    """The file name, without `.txt`, that `SquadSet.write_corpus` gives the article `title`."""
    return re.sub(r"[^\w.-]+", "_", title).strip("._") or "article"


def _read_json(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path} as SQuAD JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{path} is not SQuAD-format JSON (no top-level 'data' list)")
    return data
