"""Kaynak on real documents: the development half of XQuAD, with the project's protocol.

    .venv/bin/python bench/xquad.py                  # Kaynak, then the tutorial baselines
    .venv/bin/python bench/xquad.py --no-baselines

Data: ../shared/datasets/xquad-dev (XQuAD, Artetxe, Ruder and Yogatama, ACL 2020; CC BY-SA
4.0): Turkish Wikipedia paragraphs with the same questions in Turkish and English. Read where
it lies, never copied into this repository.

Protocol (the dataset's README): one Turkish text file per article, paragraphs separated by
blank lines; the articles in HOLDOUT_TITLES and the 5th paragraph (index 4) of every other
article are left out. Their questions are the unanswerable ones: off-topic (left-out articles)
and on-topic (left-out paragraphs). A passage or citation is right when it overlaps the gold
answer's span. Every question is asked once in English and once in Turkish.

Baselines, in the same run: the LangChain tutorial pipeline (1000/200 character chunks,
Chroma, similarity_search k=4) with all-MiniLM-L6-v2, with USE and with e5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, Tutorial, command_line, make_assistant, quiet_logs, write_json

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
    """Ingest the protocol's corpus into a fresh index under `workdir`: (bot, sets, ingest stats)."""
    sets = question_sets()
    files = sets["tr"].write_corpus(workdir / "corpus")
    bot = make_assistant(workdir / "home", **overrides)
    started = time.perf_counter()
    report = bot.ingest([workdir / "corpus"])
    seconds = time.perf_counter() - started
    stats = {"chunks": report.chunks, "seconds": seconds, "chunks_per_s": report.chunks / seconds}
    started = time.perf_counter()
    if hasattr(bot, "complete_background"):
        bot.complete_background()  # vectors a slower model computes after ingest
    stats["background_seconds"] = time.perf_counter() - started
    return bot, sets, files, stats


def tutorial_scores(name: str, embeddings: Any, files: list[Path], sets: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Chunk recall@1 and MRR@4 of the tutorial pipeline, per question language."""
    tutorial = Tutorial(tmp / f"tutorial-{name}", embeddings)
    started = time.perf_counter()
    chunks = tutorial.ingest([str(f) for f in files])
    out: dict[str, Any] = {"chunks": chunks, "ingest_s": round(time.perf_counter() - started, 2)}
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


def _tutorial_hit(texts: dict[str, str], item: dict[str, Any], squad: Any, doc: Any, start: int) -> bool:
    from rag.evaluate import _safe_name

    stem = Path(doc.metadata["source"]).stem
    if stem != _safe_name(item["title"]):
        return False
    text = texts[stem]
    para = squad.articles[item["title"]][item["paragraph"]]
    at = text.find(para)
    end = start + len(doc.page_content)
    return any(start < at + e and at + s < end for s, e in item["spans"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--out", default=str(OUT / "xquad.json"))
    args = ap.parse_args()
    quiet_logs()
    from rag.evaluate import evaluate_squad

    result: dict[str, Any] = {"command": command_line(), "data": str(DATA)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bot, sets, files, stats = build(tmp)
        result["ingest"] = stats
        print(f"ingest: {stats['chunks']} chunks, {stats['chunks_per_s']:.0f} chunks/s", flush=True)
        for lang, squad in sets.items():
            started = time.perf_counter()
            res = evaluate_squad(bot, squad)  # each question asked for the first time
            res["summary"]["seconds"] = round(time.perf_counter() - started, 1)
            again = evaluate_squad(bot, squad)["summary"]  # the same questions repeated
            res["summary"]["repeated_p50_ms"] = again["latency_p50_ms"]
            res["summary"]["repeated_p95_ms"] = again["latency_p95_ms"]
            result[lang] = res
            print(f"\n[{lang}]", flush=True)
            for key, value in res["summary"].items():
                print(f"  {key:<30} {value:.3f}" if isinstance(value, float) else f"  {key:<30} {value}")
        if not args.no_baselines:
            from _common import tutorial_embeddings

            from rag.embeddings import load_embeddings

            result["baselines"] = {}
            for name, make in (
                ("minilm", tutorial_embeddings),
                ("use", lambda: load_embeddings("use")),
                ("e5", lambda: load_embeddings("e5")),
            ):
                scores = tutorial_scores(name, make(), list(files.values()), sets, tmp)
                result["baselines"][name] = scores
                print(f"\ntutorial+{name}: {scores}", flush=True)
    write_json(args.out, result)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
