"""The citation check on the 70 hand-written (claim, passage) pairs, and its latency.

    .venv/bin/python bench/verifier.py [--pairs bench/verifier_pairs.jsonl] [--json-out F]

Each pair's claim cites its passage ([1], the only source) and goes through
`rag.citations.verify` with the configured numbers (fitted on XQuAD by
bench/verifier_xquad.py; these pairs are the second check, never fitted on). "Positive" means
kept. Precision: of the kept claims, how many are supported; recall: of the supported claims,
how many are kept. Latency: verifying an answer of four sentences against five passages.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, percentiles, timed_ms, write_json


def main() -> None:
    from rag.citations import Check, verify
    from rag.config import Settings
    from rag.embeddings import load_embeddings
    from rag.types import Passage

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", default=str(ROOT / "bench" / "verifier_pairs.jsonl"))
    parser.add_argument("--json-out", default=str(OUT / "verifier.json"))
    args = parser.parse_args()
    pairs = [json.loads(line) for line in Path(args.pairs).read_text().splitlines() if line.strip()]
    settings = Settings()
    emb = load_embeddings(settings.embeddings)
    check = Check.from_settings(settings)

    def passage(text: str) -> Passage:
        return Passage("d", "t", "", "", text, 0, len(text), 1.0)

    kept = [
        bool(
            verify(
                p["claim"].rstrip(".") + " [1].",
                [passage(p["passage"])],
                emb,
                check=check,
                contexts=[p["passage"]],
            ).citations
        )
        for p in pairs
    ]
    truth = [bool(p["supported"]) for p in pairs]
    tp = sum(k and t for k, t in zip(kept, truth, strict=True))
    precision = tp / max(sum(kept), 1)
    recall = tp / max(sum(truth), 1)
    wrongly: dict[str, int] = {}
    for k, t, p in zip(kept, truth, pairs, strict=True):
        if k and not t:
            wrongly[p["kind"]] = wrongly.get(p["kind"], 0) + 1

    # latency: a four-sentence answer about the bundled article, five retrieved passages
    text = (ROOT / "corpus").glob("*.txt")
    article = next(iter(sorted(text))).read_text(encoding="utf-8")
    paras = [p for p in article.split("\n") if len(p) > 120][:5]
    sources = [passage(p) for p in paras]
    answer = (
        "Joly met Yoshimasa Hayashi in Tokyo [1]. They adopted an action plan [2]. "
        "It covers defence and economic security [3]. The plan strengthens cooperation [1]."
    )
    times = [timed_ms(lambda: verify(answer, sources, emb, check=check))[0] for _ in range(30)]
    latency = percentiles(times)
    print(f"{len(pairs)} hand-written pairs ({sum(truth)} supported), model {emb.model_id}")
    print(f"check {check}: precision {precision:.3f}, recall {recall:.3f}, kept {sum(kept)}")
    print("wrongly kept, by kind:", wrongly)
    print(
        f"verifying a 4-sentence answer: p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms"
    )
    write_json(
        args.json_out,
        {
            "pairs": len(pairs),
            "model": emb.model_id,
            "check": vars(check) if hasattr(check, "__dict__") else str(check),
            "precision": precision,
            "recall": recall,
            "kept": sum(kept),
            "false_kept_by_kind": wrongly,
            "latency_ms": latency,
        },
    )


if __name__ == "__main__":
    main()
