"""Do the same-language ranking weights hold for English? XQuAD's English paragraphs, asked
in English.

    .venv/bin/python bench/xquad_english.py

`bench/fit_decisions.py` fits the weights for a passage in the question's language on Turkish
questions about Turkish paragraphs (XQuAD offers no other same-language pair with Turkish).
Most users ask in English, and many of their sources are English: this asks XQuAD's English
questions about its English paragraphs (development half, the protocol of bench/xquad.py:
same held-out articles and paragraphs) and ranks them with the same-language weights, with the
cross-language ones (the baseline), and with the best weights of fit_decisions' grid for this
very data (in-sample: a ceiling, not a fit). Data: ../shared/datasets/xquad-dev (XQuAD,
Artetxe, Ruder and Yogatama, ACL 2020; CC BY-SA 4.0), read where it lies.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import make_assistant, quiet_logs, row, write_result
from fit_decisions import GRID, collect, rank_quality
from xquad import EN, HOLDOUT_PARAGRAPH, HOLDOUT_TITLES


def main() -> None:
    from rag.config import Settings
    from rag.evaluate import load_squad

    quiet_logs()
    squad = load_squad(EN, holdout_paragraph=HOLDOUT_PARAGRAPH, holdout_titles=HOLDOUT_TITLES)
    with tempfile.TemporaryDirectory() as tmp:
        bot = make_assistant(Path(tmp) / "home")
        squad.write_corpus(Path(tmp) / "corpus")
        bot.ingest([Path(tmp) / "corpus"], background=False)
        bot.complete_background()  # the e5 vectors, as the other XQuAD benchmarks have them
        rows = collect(bot, {"en": squad})
    settings = Settings()
    same, cross = (np.array(settings.ranking_weights(s)) for s in (True, False))
    quality = {
        "same": rank_quality(rows, {True: same, False: same}),
        "cross": rank_quality(rows, {True: cross, False: cross}),
    }
    ceiling = max(
        (rank_quality(rows, {True: np.array(w), False: np.array(w)}), w)
        for w in itertools.product(*GRID.values())
    )
    group = "English questions, English paragraphs (same-language weights vs cross-language)"
    out = [
        row(name, quality["same"][i], quality["cross"][i], group=group)
        for i, name in enumerate(("passage recall@1", "MRR@5"))
    ]
    out += [
        row(f"{name}, best weights for this data (in-sample ceiling)", ceiling[0][i], group=group)
        for i, name in enumerate(("passage recall@1", "MRR@5"))
    ]
    answerable = sum(q["answerable"] for q in rows)
    write_result(
        "xquad_english",
        out,
        baseline="cross-language weights",
        details={
            "questions": answerable,
            "same": list(same),
            "cross": list(cross),
            "ceiling_weights": list(ceiling[1]),
        },
    )


if __name__ == "__main__":
    main()
