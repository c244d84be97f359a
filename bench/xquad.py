"""Kaynak on real documents: the development half of XQuAD, with the project's protocol.

    .venv/bin/python bench/xquad.py                  # Kaynak, then the tutorial baselines
    .venv/bin/python bench/xquad.py --no-baselines
    .venv/bin/python bench/xquad.py --no-baselines --no-lexicon   # as without the lexicon extra

Data: ../shared/datasets/xquad-dev (XQuAD, Artetxe, Ruder and Yogatama, ACL 2020; CC BY-SA
4.0): Turkish Wikipedia paragraphs with the same questions in Turkish and English. Read where
it lies, never copied into this repository.

Protocol (the dataset's README): one Turkish text file per article, paragraphs separated by
blank lines; the articles in HOLDOUT_TITLES and the 5th paragraph (index 4) of every other
article are left out. Their questions are the unanswerable ones: off-topic (left-out articles)
and on-topic (left-out paragraphs). A passage or citation is right when it overlaps the gold
answer's span. Every question is asked once in English and once in Turkish.

With the lexicon extra installed, Kaynak is measured twice on the same index in the same run:
with the Turkish-English lexicon and without it (KAYNAK_LEXICON off, the model and weights
fitted without it), so that its gain and its cost in time are measured, not assumed. The
cost in time is read from the "asked in turn" rows: each question asked of both readings one
after the other, so that both meet the same load (the machines are shared) and warm caches.

Baselines, in the same run: the LangChain tutorial pipeline (1000/200 character chunks,
Chroma, similarity_search k=4) with all-MiniLM-L6-v2, with USE and with e5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    ROOT,
    Tutorial,
    make_assistant,
    percentiles,
    quiet_logs,
    row,
    timed_ms,
    write_result,
)

DATA = ROOT.parent / "shared" / "datasets" / "xquad-dev"
TR = DATA / "xquad-dev.tr.json"
EN = DATA / "xquad-dev.en.json"
HOLDOUT_TITLES = (
    "Amazon_rainforest",
    "Black_Death",
    "Intergovernmental_Panel_on_Climate_Change",
    "French_and_Indian_War",
)
HOLDOUT_PARAGRAPH = 4
LANGUAGES = {"en": EN, "tr": None}  # question language -> parallel question file
NO_LEXICON = " (no lexicon)"  # suffix of the summaries measured without the lexicon


def question_sets(contexts: Path = TR, data: Path = DATA) -> dict[str, Any]:
    """The protocol's SquadSet for each question language (same corpus, same gold spans)."""
    from rag.evaluate import load_squad

    return {
        lang: load_squad(
            contexts,
            questions=(data / qfile.name) if qfile else None,
            holdout_paragraph=HOLDOUT_PARAGRAPH,
            holdout_titles=HOLDOUT_TITLES,
        )
        for lang, qfile in LANGUAGES.items()
    }


def build(workdir: Path, **overrides: Any):  # type: ignore[no-untyped-def]
    """Ingest the protocol's corpus into a fresh index under `workdir`: bot, sets, files, stats."""
    sets = question_sets()
    files = sets["tr"].write_corpus(workdir / "corpus")
    bot = make_assistant(workdir / "home", **overrides)
    ms, report = timed_ms(lambda: bot.ingest([workdir / "corpus"], background=False))
    seconds = ms / 1000
    stats = {"chunks": report.chunks, "seconds": seconds, "chunks_per_s": report.chunks / seconds}
    # the e5 vectors, computed after the documents are searchable
    stats["background_seconds"] = timed_ms(bot.complete_background)[0] / 1000
    return bot, sets, files, stats


def tutorial_scores(
    name: str, embeddings: Any, files: list[Path], sets: dict[str, Any], tmp: Path
) -> dict[str, Any]:
    """Chunk recall@1 and MRR@4 of the tutorial pipeline, per question language."""
    tutorial = Tutorial(tmp / f"tutorial-{name}", embeddings)
    ms, chunks = timed_ms(lambda: tutorial.ingest([str(f) for f in files]))
    out: dict[str, Any] = {"chunks": chunks, "ingest_s": round(ms / 1000, 2)}
    texts = {Path(f).stem: Path(f).read_text(encoding="utf-8") for f in files}
    for lang, squad in sets.items():
        ranks, chars = [], []
        for item in squad.questions:
            if not item["answerable"]:
                continue
            found = tutorial.store.similarity_search(item["question"], k=Tutorial.K)
            rank = None
            for i, doc in enumerate(found, 1):
                chars.append(len(doc.page_content))
                start = int(doc.metadata["start_index"])
                if rank is None and _tutorial_hit(texts, item, squad, doc, start):
                    rank = i
            ranks.append(rank)
        out[lang] = {
            "recall@1": sum(1 for r in ranks if r == 1) / len(ranks),
            "mrr@4": sum(1 / r for r in ranks if r) / len(ranks),
            "chars_per_citation": sum(chars) / max(len(chars), 1),
        }
    return out


def _tutorial_hit(
    texts: dict[str, str], item: dict[str, Any], squad: Any, doc: Any, start: int
) -> bool:
    from rag.evaluate import article_stem

    stem = Path(doc.metadata["source"]).stem
    if stem != article_stem(item["title"]):
        return False
    text = texts[stem]
    para = squad.articles[item["title"]][item["paragraph"]]
    at = text.find(para)
    end = start + len(doc.page_content)
    return any(start < at + e and at + s < end for s, e in item["spans"])


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--no-lexicon", action="store_true", help="only without the lexicon")
    args = ap.parse_args()
    quiet_logs()
    from rag.evaluate import evaluate_squad
    from rag.matching import forget

    summaries: dict[str, Any] = {}
    baselines: dict[str, Any] = {}
    paired: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bot, sets, files, stats = build(tmp, lexicon=not args.no_lexicon)
        bots = {"": bot}
        if bot.lexicon is not None:  # the same index, read without the lexicon
            bots[NO_LEXICON] = make_assistant(tmp / "home", lexicon=False)
        for lang, squad in sets.items():
            for name, each in bots.items():
                # each question the first time, for each reading of the index alike: the
                # vectors of words and names one reading remembered are forgotten first (they
                # are shared by the process, and would make the second reading's first time
                # a repeat)
                forget()
                summary = evaluate_squad(each, squad)["summary"]
                summaries[lang + name] = summary
            for name, each in bots.items():
                again = evaluate_squad(each, squad)["summary"]  # the same questions repeated
                summaries[lang + name]["repeated_p50_ms"] = again["latency_p50_ms"]
                summaries[lang + name]["repeated_p95_ms"] = again["latency_p95_ms"]
            if len(bots) > 1:
                paired[lang] = paired_latency(bots, squad)
        if not args.no_baselines:
            from _common import tutorial_embeddings

            from rag.embeddings import load_embeddings

            for name, make in (
                ("all-MiniLM-L6-v2", tutorial_embeddings),
                ("USE", lambda: load_embeddings("use")),
                ("e5", lambda: load_embeddings("e5")),
            ):
                baselines[name] = tutorial_scores(name, make(), list(files.values()), sets, tmp)
    write_result(
        "xquad",
        _rows(summaries, baselines.get("e5"), stats)
        + _paired_rows(paired)
        + _baseline_rows(baselines),
        baseline="LangChain tutorial + e5 (1,000-character chunks, k=4)",
        note="out of the box: Kaynak's defaults, nothing fitted in this run",
        details={
            "data": str(DATA),
            "kaynak": summaries,
            "paired_latency": paired,
            "tutorials": baselines,
            "ingest": stats,
        },
    )
    return 0


# Kaynak's rows per question language: (metric, key in evaluate_squad's summary, the e5
# tutorial's number (a key in its scores, or a constant), note)
ROWS = (
    ("sentence recall@1", "recall@1", "recall@1", "baseline: its chunk holds the answer"),
    ("MRR@5", "mrr", "mrr@4", "baseline: MRR@4"),
    ("paragraph recall@1", "paragraph_recall@1", None, ""),
    ("answered correctly", "answered_correctly", None, "did not abstain and cites the answer"),
    ("false abstentions", "false_abstentions", 0.0, "the tutorial never abstains"),
    ("abstained, off-topic", "abstained_off-topic", 0.0, ""),
    ("abstained, on-topic", "abstained_on-topic", 0.0, ""),
    ("citation precision", "citation_precision", None, "share of citations on the answer"),
    ("citation validity", "citation_validity", None, "quote == source text at its offsets"),
    ("characters per citation", "cited_chars_per_citation", "chars_per_citation", ""),
    ("ask p50 ms, first time", "latency_p50_ms", None, ""),
    ("ask p95 ms, first time", "latency_p95_ms", None, ""),
    ("ask p50 ms, repeated", "repeated_p50_ms", None, ""),
    ("ask p95 ms, repeated", "repeated_p95_ms", None, ""),
)


def _rows(
    summaries: dict[str, Any], e5: dict[str, Any] | None, stats: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = []
    for name, s in summaries.items():
        lang, plain = name.removesuffix(NO_LEXICON), name.endswith(NO_LEXICON)
        group = {"en": "English questions", "tr": "Turkish questions"}[lang]
        group += ", without the lexicon" if plain else ""
        tutorial = (e5 or {}).get(lang, {})
        for metric, key, ref, note in ROWS:
            base = tutorial.get(ref) if isinstance(ref, str) else ref
            base = None if base is None else round(base, 3)
            rows.append(row(metric, round(s[key], 3), base, note, group))
    e5_seconds = round(stats["background_seconds"], 1)
    return [
        *rows,
        row("ingest chunks/s (searchable)", round(stats["chunks_per_s"]), group="ingest"),
        row("e5 vectors after ingest, s", e5_seconds, None, "in the background", "ingest"),
    ]


def paired_latency(bots: dict[str, Any], squad: Any, k: int = 5) -> dict[str, Any]:
    """Ask latency with and without the lexicon, measured fairly on a shared machine: each
    question is asked of both readings of the index in turn, the order alternating from one
    question to the next, so that both meet the same load and the same warm caches (each has
    asked every question twice before). Per reading: p50 and p95; and the per-question
    difference (with minus without): its median and its 95th percentile."""
    import numpy as np

    names = list(bots)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, item in enumerate(squad.questions):
        for name in names if i % 2 == 0 else names[::-1]:
            ms, _ = timed_ms(lambda b=bots[name], q=item["question"]: b.ask(q, k=k))
            times[name].append(ms)
    out: dict[str, Any] = {name or "lexicon": percentiles(t) for name, t in times.items()}
    diff = np.subtract(*(np.asarray(times[n]) for n in names))
    out["difference_p50_ms"] = round(float(np.percentile(diff, 50)), 2)
    out["difference_p95_ms"] = round(float(np.percentile(diff, 95)), 2)
    return out


def _paired_rows(paired: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for lang, p in paired.items():
        group = {"en": "English", "tr": "Turkish"}[lang] + " questions, asked in turn"
        with_, without = p["lexicon"], p[NO_LEXICON]
        for q in ("p50", "p95"):
            rows.append(
                row(f"ask {q} ms, lexicon", with_[q], without[q], "baseline: without", group)
            )
        rows.append(row("ask ms, paired difference p50", p["difference_p50_ms"], None, "", group))
        rows.append(row("ask ms, paired difference p95", p["difference_p95_ms"], None, "", group))
    return rows


def _baseline_rows(baselines: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        row(
            f"{name}: {metric} ({lang})",
            round(scores[lang][key], 3),
            None,
            "",
            "the tutorial pipeline with three embedders",
        )
        for name, scores in baselines.items()
        for lang in ("en", "tr")
        for metric, key in (("chunk recall@1", "recall@1"), ("MRR@4", "mrr@4"))
    ]


if __name__ == "__main__":
    raise SystemExit(main())
