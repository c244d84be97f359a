"""Calibrate and measure the citation verifier on a labelled set of claims and passages.

    .venv/bin/python bench/verifier.py [--pairs bench/verifier_pairs.jsonl] [--json-out F]

For every (claim, passage, supported) pair the verifier either keeps the claim (it cites the
passage, agrees with it and names nothing the passage lacks) or drops it. "Positive" means
kept. Precision: of the kept claims, how many are really supported; recall: of the supported
claims, how many are kept. Printed for a range of similarity thresholds, then the configured
one, with the added latency of verifying an answer of four sentences.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.citations import unsupported_names  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embeddings import load_embeddings  # noqa: E402
from rag.types import Passage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", default=str(ROOT / "bench" / "verifier_pairs.jsonl"))
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "out" / "verifier.json"))
    args = parser.parse_args()
    pairs = [json.loads(line) for line in Path(args.pairs).read_text().splitlines() if line.strip()]
    settings = Settings()
    emb = load_embeddings(settings.embeddings)

    claims = [p["claim"] for p in pairs]
    passages = [p["passage"] for p in pairs]
    vecs = emb.embed_documents(claims + passages)
    import numpy as np

    a = np.asarray(vecs, dtype=np.float32)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    sims = np.sum(a[: len(pairs)] * a[len(pairs) :], axis=1)
    names_ok = [not unsupported_names(c, [p], emb) for c, p in zip(claims, passages, strict=True)]
    truth = [bool(p["supported"]) for p in pairs]

    rows = []
    for threshold in [round(x, 2) for x in np.arange(0.15, 0.61, 0.05)]:
        rows.append(_score(threshold, sims, names_ok, truth, pairs))
    configured = _score(settings.support_threshold, sims, names_ok, truth, pairs)
    similarity_only = _score(settings.support_threshold, sims, [True] * len(pairs), truth, pairs)

    print(f"{len(pairs)} labelled pairs ({sum(truth)} supported), model {emb.model_id}\n")
    print("threshold  precision  recall    F1   kept")
    for r in rows:
        print(
            f"{r['threshold']:>9.2f}  {r['precision']:>9.3f}  {r['recall']:>6.3f}  {r['f1']:.3f}  {r['kept']:>4}"
        )
    print(
        f"\nconfigured threshold {settings.support_threshold}: precision {configured['precision']:.3f}, "
        f"recall {configured['recall']:.3f}"
    )
    print(
        f"similarity alone (no name/number check): precision {similarity_only['precision']:.3f}, "
        f"recall {similarity_only['recall']:.3f}"
    )
    print("wrongly kept, by kind:", configured["false_kept_by_kind"])

    latency = _latency(emb, settings)
    print(
        f"verification latency for a 4-sentence answer: p50 {latency['p50_ms']:.1f} ms, "
        f"p95 {latency['p95_ms']:.1f} ms"
    )
    out = {
        "thresholds": rows,
        "configured": configured,
        "similarity_only": similarity_only,
        "latency": latency,
        "pairs": len(pairs),
        "model": emb.model_id,
    }
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(out, indent=2))


def _score(threshold, sims, names_ok, truth, pairs) -> dict:  # type: ignore[no-untyped-def]
    kept = [bool(s >= threshold and n) for s, n in zip(sims, names_ok, strict=True)]
    tp = sum(k and t for k, t in zip(kept, truth, strict=True))
    fp = sum(k and not t for k, t in zip(kept, truth, strict=True))
    fn = sum(t and not k for k, t in zip(kept, truth, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_kind: dict[str, int] = {}
    for k, t, p in zip(kept, truth, pairs, strict=True):
        if k and not t:
            by_kind[p["kind"]] = by_kind.get(p["kind"], 0) + 1
    return {
        "threshold": float(threshold),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "kept": sum(kept),
        "false_kept_by_kind": by_kind,
    }


def _latency(emb, settings, repeats: int = 30) -> dict:  # type: ignore[no-untyped-def]
    from rag.citations import verify

    passage = (
        "Japon mevkidaşı Yoshimasa Hayashi ile Tokyo’da bir araya gelerek savunma ve "
        "ekonomik güvenlik alanındaki işbirliğini güçlendirme amaçlı bir eylem planı kabul etti."
    )
    sources = [Passage("d", "t", "", "", passage, 0, len(passage), 1.0)] * 3
    answer = (
        "Joly met Yoshimasa Hayashi in Tokyo [1]. They adopted an action plan [2]. "
        "It covers defence and economic security [3]. The plan strengthens cooperation [1]."
    )
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        verify(answer, sources, emb, settings.support_threshold, "en")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))]}


if __name__ == "__main__":
    main()
