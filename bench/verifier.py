"""The citation check on the 70 hand-written (claim, passage) pairs, and its latency.

    .venv/bin/python bench/verifier.py [--pairs bench/verifier_pairs.jsonl]

Each pair's claim cites its passage ([1], the only source) and goes through
`rag.citations.verify` with the configured numbers (fitted on XQuAD by
bench/verifier_xquad.py; these pairs are the second check, never fitted on), and through
version 1 of the check (`Check.first()`, the check of commit BEFORE: the baseline).
"Positive" means kept. Precision: of the kept claims, how many are supported; recall: of the
supported claims, how many are kept. With the Turkish-English lexicon installed
(rag/lexicon.py) the pairs are checked with it too (Settings.support_words applies), against
the same check without it. Latency: verifying an answer of four sentences against five
passages (as `Assistant` checks, with the lexicon when it is loaded).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPUS, ROOT, percentiles, row, timed_ms, write_result
from verifier_xquad import BEFORE

RUNS = 30  # timed runs of each latency row


def main() -> None:
    from rag import lexicon
    from rag.citations import Check, verify
    from rag.config import Settings
    from rag.embeddings import load_embeddings
    from rag.types import Passage

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", default=str(ROOT / "bench" / "verifier_pairs.jsonl"))
    args = parser.parse_args()
    pairs = [json.loads(line) for line in Path(args.pairs).read_text().splitlines() if line.strip()]
    settings = Settings()
    emb = load_embeddings(settings.embeddings)
    check, first = Check.from_settings(settings), Check.first()
    lex = lexicon.load(settings.home) if settings.lexicon else None

    def passage(text: str) -> Passage:
        return Passage("d", "t", "", "", text, 0, len(text), 1.0)

    def kept(p: dict, when: str) -> bool:
        claim, sources = p["claim"].rstrip(".") + " [1].", [passage(p["passage"])]
        out = verify(
            claim,
            sources,
            emb,
            check=first if when == "before" else check,
            contexts=[p["passage"]],
            lexicon=lex if when == "lexicon" else None,
        )
        return bool(out.citations)

    truth = [bool(p["supported"]) for p in pairs]
    scores, wrongly = {}, {}
    for when in ("now", "before", "lexicon") if lex else ("now", "before"):
        got = [kept(p, when) for p in pairs]
        tp = sum(k and t for k, t in zip(got, truth, strict=True))
        scores[when] = (round(tp / max(sum(got), 1), 3), round(tp / max(sum(truth), 1), 3))
        wrongly[when] = Counter(
            p["kind"] for p, k, t in zip(pairs, got, truth, strict=True) if k and not t
        )

    # latency: a four-sentence answer about the bundled article, five retrieved passages
    article = sorted(CORPUS.glob("*.txt"))[0].read_text(encoding="utf-8")
    sources = [passage(p) for p in article.split("\n") if len(p) > 120][:5]
    answer = (
        "Joly met Yoshimasa Hayashi in Tokyo [1]. They adopted an action plan [2]. "
        "It covers defence and economic security [3]. The plan strengthens cooperation [1]."
    )
    from rag.citations import prepare
    from rag.matching import forget

    def check_ms(seen: bool = True, prepared: bool = False) -> float:
        if not seen:  # passages never seen: nothing remembered
            forget()
        if prepared:  # as `Assistant` does while the model writes
            prepare(sources, emb)
        return timed_ms(lambda: verify(answer, sources, emb, check=check, lexicon=lex))[0]

    def prepare_ms() -> float:
        forget()
        return timed_ms(lambda: prepare(sources, emb))[0]

    latency = {
        "passages seen before": percentiles([check_ms() for _ in range(RUNS)]),
        "never seen, prepared while the model writes": percentiles(
            [check_ms(seen=False, prepared=True) for _ in range(RUNS)]
        ),
        "never seen, not prepared": percentiles([check_ms(seen=False) for _ in range(RUNS)]),
        "preparing (while the model writes)": percentiles([prepare_ms() for _ in range(RUNS)]),
    }
    pairs_group = f"{len(pairs)} hand-written pairs ({sum(truth)} supported)"
    lexicon_group = f"{pairs_group}, with the lexicon (baseline: without it)"
    write_result(
        "verifier",
        [
            row("precision", scores["now"][0], scores["before"][0], group=pairs_group),
            row("recall", scores["now"][1], scores["before"][1], group=pairs_group),
            *(
                row(name, scores["lexicon"][i], scores["now"][i], group=lexicon_group)
                for i, name in enumerate(("precision", "recall"))
                if lex
            ),
            *(
                row(f"{q}, {name} (ms)", lat[q], group="verifying a 4-sentence answer, 5 passages")
                for name, lat in latency.items()
                for q in ("p50", "p95")
            ),
        ],
        baseline=f"version 1 of the check ({BEFORE})",
        details={
            "pairs": len(pairs),
            "supported": sum(truth),
            "kinds": {k.replace("-", "_"): n for k, n in Counter(p["kind"] for p in pairs).items()},
            "model": emb.model_id,
            "check": asdict(check),
            "lexicon": lex is not None,
            "scores": {w: {"precision": p, "recall": r} for w, (p, r) in scores.items()},
            "before": {"commit": BEFORE, "threshold": first.support, "check": asdict(first)},
            "wrongly_kept": {w: [f"{k}: {n}" for k, n in c.items()] for w, c in wrongly.items()},
            "runs": RUNS,
            "latency_ms": latency,
        },
    )


if __name__ == "__main__":
    main()
