"""Fit what decides what users see, on real documents: the ranking weights, the answer-or-
abstain model (rag/abstain.json) and how many passages an extractive answer quotes.

    .venv/bin/python bench/fit_decisions.py            # fit, report out-of-fold, write the model
    .venv/bin/python bench/fit_decisions.py --check    # fit and report; leave rag/abstain.json as it is
    .venv/bin/python bench/fit_decisions.py --lexicon  # the same with the Turkish-English lexicon:
                                                       # rag/abstain_lexicon.json

Without --lexicon, Kaynak runs without the lexicon (as when its package is not installed) and
the fit writes rag/abstain.json. With --lexicon (needs the `lexicon` extra), lexical evidence
across languages is the share of the question's words a passage holds through the lexicon:
its weight (`weight_translated`) is fitted with the other ranking weights as they are, the
abstain model also reads the question's coverage (rag/abstain.py LEXICON_FEATURES), and the
fit writes rag/abstain_lexicon.json.

Data: ../shared/datasets/xquad-dev (XQuAD, Artetxe, Ruder and Yogatama, ACL 2020; CC BY-SA
4.0), ingested with the protocol of bench/xquad.py; English and Turkish questions. Every
number is fitted with folds that leave whole articles out (GroupKFold by article title) and
the numbers reported are out-of-fold: each question is scored by a fit that never saw its
article. The final fit uses every article. Nothing here reads the bundled article.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, quiet_logs, row, write_result
from xquad import DATA, build

from rag.answering import About, about_question
from rag.config import Settings
from rag.evaluate import gold_locator, overlaps
from rag.matching import Words
from rag.retrieval import components, fuse, in_language, to_passage
from rag.text import detect_language

FOLDS = 6
# Candidate weights (USE, e5 alone, e5 in context, lexical), one set for passages in the
# question's language and one for the others; the e5 weight is fixed at 2, as only ratios
# matter for ranking.
GRID = {
    "weight_use": (0.0, 0.5, 1.0),
    "weight_e5": (2.0,),
    "weight_e5_context": (0.0, 1.0, 2.0, 3.0),
    "weight_lexical": (0.0, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0),
}
MARGINS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2)
# With the lexicon: the share of the question's content (as the best quote holds it) that
# an added quote must hold (Settings.quote_coverage).
QUOTE_SHARES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
PRECISION_WEIGHT = 0.5


def _folds(groups: list[str]) -> list[np.ndarray]:
    from sklearn.model_selection import GroupKFold

    idx = np.arange(len(groups))
    return [test for _, test in GroupKFold(FOLDS).split(idx, groups=groups)]


def collect(bot: Any, sets: dict[str, Any]) -> list[dict[str, Any]]:
    """Per question: the candidates' components and whether each overlaps the gold answer."""
    rows = []
    for lang, squad in sets.items():
        gold = gold_locator(bot, squad)
        for item in squad.questions:
            q = {k: item[k] for k in ("title", "question", "answerable", "kind")}
            rows.append(_rank(bot, {**q, "lang": lang, "spans": gold(item)[0]}))
    return rows


def _rank(bot: Any, q: dict[str, Any]) -> dict[str, Any]:
    """Question `q` ranked by `bot`'s settings: the candidates, their components and which of
    them overlap the gold answer."""
    q["ranked"] = ranked = bot.retriever.rank(q["question"])
    q["hit"] = np.array([_hits(r, q["spans"]) for r in ranked], dtype=bool)
    q["parts"] = components(ranked)  # what the product's fusion weighs, (0, 4) for nothing
    q["same"] = in_language(detect_language(q["question"]), ranked)
    if bot.lexicon is not None:  # what each of the top five holds of the question (quotes)
        about = About(Words(bot.lexicon), bot.passage_context)
        q["held"] = [about.holds(q["question"], to_passage(r)) for r in ranked[:5]]
    return q


def _hits(r: Any, spans: list[tuple[str, int, int]]) -> bool:
    m = r.hit.metadata
    return overlaps(str(m.get("doc_id")), m["start"], m["end"], spans)


def rank_quality(rows: list[dict[str, Any]], w: dict[bool, np.ndarray]) -> tuple[float, float]:
    """(recall@1, MRR@5) of answerable questions under weights `w` (by same language)."""
    ranks = []  # 0: no gold passage in the top 5
    for q in rows:
        if q["answerable"]:
            scores = fuse(q["parts"], q["same"], w)  # the product's ranking under `w`
            order = np.argsort(-scores, kind="stable")[:5] if q["hit"].any() else []
            ranks.append(next((i + 1 for i, j in enumerate(order) if q["hit"][j]), 0))
    reciprocal = [1 / r if r else 0.0 for r in ranks]
    return float(np.mean([r == 1 for r in ranks])), float(np.mean(reciprocal))


def _best_vector(rows: list[dict[str, Any]]) -> np.ndarray:
    best, best_mrr = np.array([v[0] for v in GRID.values()]), -1.0
    for values in itertools.product(*GRID.values()):
        w = np.array(values)
        _, mrr = rank_quality(rows, {True: w, False: w})
        if mrr > best_mrr:
            best, best_mrr = w, mrr
    return best


def fit_weights(rows: list[dict[str, Any]], one_set: bool = False) -> dict[bool, np.ndarray]:
    """The grid's best weights by MRR@5, for each condition on the questions all of whose
    candidates are in it (in XQuAD: Turkish questions same-language, English ones not);
    `one_set`: a single set for both, fitted on every question."""
    if one_set:
        w = _best_vector(rows)
        return {True: w, False: w}
    by_condition = {same: [r for r in rows if (r["same"] == same).all()] for same in (True, False)}
    return {same: _best_vector(part) for same, part in by_condition.items()}


def weights_settings(w: dict[bool, np.ndarray]) -> dict[str, float]:
    """The Settings fields of weights `w`."""
    out = {}
    for same, suffix in ((False, ""), (True, "_same")):
        out.update({f"{name}{suffix}": float(v) for name, v in zip(GRID, w[same], strict=True)})
    return out


def fit_abstain(X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=5000).fit((X - mean) / scale, y)
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def probabilities(fit: dict[str, Any], X: np.ndarray) -> np.ndarray:
    z = ((X - np.array(fit["mean"])) / np.array(fit["scale"])) @ np.array(fit["coef"])
    return 1.0 / (1.0 + np.exp(-(z + fit["intercept"])))


def choose_threshold(p: np.ndarray, y: np.ndarray, max_false_abstention: float) -> float:
    """The highest threshold (most abstentions on unanswerable questions) whose false
    abstentions on answerable ones stay within `max_false_abstention`."""
    answerable = np.sort(p[y == 1])
    allowed = int(np.floor(max_false_abstention * len(answerable)))
    return float(answerable[allowed]) if len(answerable) else 0.5


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--check", action="store_true", help="report only: leave --out as it is")
    ap.add_argument("--max-false-abstention", type=float, default=0.04)
    ap.add_argument("--lexicon", action="store_true", help="fit with the Turkish-English lexicon")
    ap.add_argument("--out", help="default: rag/abstain.json, or abstain_lexicon.json")
    args = ap.parse_args()
    quiet_logs()
    from rag.abstain import FEATURES, LEXICON_FEATURES

    features = LEXICON_FEATURES if args.lexicon else FEATURES
    out = args.out or str(
        ROOT / "rag" / ("abstain_lexicon.json" if args.lexicon else "abstain.json")
    )
    with tempfile.TemporaryDirectory() as tmp:
        bot, sets, _files, _stats = build(Path(tmp), lexicon=args.lexicon)
        if args.lexicon and bot.lexicon is None:
            print("--lexicon needs the lexicon extra: pip install -e '.[lexicon]'")
            return 1
        rows = collect(bot, sets)
        folds = _folds([r["title"] for r in rows])
        report: dict[str, Any] = {"data": str(DATA), "folds": FOLDS, "lexicon": args.lexicon}

        # 1. ranking weights, out-of-fold
        if args.lexicon:
            weights, report["ranking"] = _fit_translated(rows, sets, folds, bot.settings)
        else:
            weights, report["ranking"] = _fit_ranking(rows, sets, folds)
        oof_rank = report["ranking"]["out_of_fold"]
        print(json.dumps(report["ranking"], indent=1), flush=True)

        # 2. the abstain model, on the ranking those weights give
        bot.retriever.settings = bot.settings = replace(bot.settings, **weights)
        decider, lexical, X = bot.retriever.decider, bot.retriever.lexical(), []
        for q in rows:
            values, _ = decider.features(q["question"], _rank(bot, q)["ranked"], lexical)
            X.append([values[f] for f in features])
        Xa, ya = np.array(X), np.array([1 if q["answerable"] else 0 for q in rows])
        oof, thresholds, most = np.zeros(len(rows)), [], args.max_false_abstention
        for test in folds:
            train = _train(test, rows)
            fit = fit_abstain(Xa[train], ya[train])
            t = choose_threshold(probabilities(fit, Xa[train]), ya[train], most)
            thresholds.append(t)
            oof[test] = probabilities(fit, Xa[test]) - t  # >= 0: answer
        final = fit_abstain(Xa, ya)
        threshold = choose_threshold(probabilities(final, Xa), ya, most)
        report["abstain"] = {**_outcomes(rows, oof >= 0), "fold_thresholds": thresholds}
        # the rule on top of the model: a name no source mentions in any spelling, and that no
        # top passage translates, means the question is about something else
        unknown = Xa[:, features.index("names_unknown")] > 0
        report["abstain_with_unknown_name_rule"] = _outcomes(rows, (oof >= 0) & ~unknown)

        # 3. how many passages an answer quotes (margin), out-of-fold
        report["margin"] = _fit_margin(rows, oof >= 0, folds, args.lexicon)

    write_result(
        "decisions_lexicon" if args.lexicon else "decisions",
        _result_rows(report),
        baseline="USE alone (in-sample)",
        note="out-of-fold: folds leave whole articles out",
        details=report,
    )
    if not args.check:
        model = {
            "features": list(features),
            **final,
            "threshold": threshold,
            "fitted": {
                "by": "bench/fit_decisions.py",
                "data": "xquad-dev (XQuAD dev half, CC BY-SA 4.0), protocol of bench/xquad.py",
                "ranking_weights": weights,
                "answer_margin": report["margin"]["chosen"],
                "quote_coverage": report["margin"]["chosen_share"],
                "max_false_abstention": args.max_false_abstention,
                "out_of_fold": {"ranking": oof_rank, "abstain": report["abstain"]},
            },
        }
        Path(out).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return 0


def _fit_ranking(
    rows: list[dict[str, Any]], sets: Any, folds: list[np.ndarray]
) -> tuple[dict[str, float], dict[str, Any]]:
    """The ranking weights fitted on all rows, and their report: out-of-fold quality, and an
    in-sample ablation of the signals."""
    fold_w = [fit_weights([rows[i] for i in _train(t, rows)]) for t in folds]
    oof_rank = {}
    for lang in sets:
        r1s, mrrs, n = [], [], 0
        for test, w in zip(folds, fold_w, strict=True):
            part = [rows[i] for i in test if rows[i]["lang"] == lang]
            count = sum(1 for r in part if r["answerable"])
            if count:
                r1, mrr = rank_quality(part, w)
                r1s.append(r1 * count)
                mrrs.append(mrr * count)
                n += count
        oof_rank[lang] = {"recall@1": sum(r1s) / n, "mrr@5": sum(mrrs) / n}
    fitted = fit_weights(rows)
    weights = weights_settings(fitted)
    one = fit_weights(rows, one_set=True)[True]  # what the per-language sets bought
    ablation = {
        name: {True: np.array(v, dtype=float), False: np.array(v, dtype=float)}
        for name, v in (
            ("use", [1, 0, 0, 0]),
            ("e5", [0, 1, 0, 0]),
            ("e5+context", [0, 2, one[2], 0]),
            ("e5+context+use", [one[0], 2, one[2], 0]),
            ("e5+context+use+bm25", one),
        )
    }
    ablation["weights by language"] = fitted
    single = {
        name: {lang: rank_quality([r for r in rows if r["lang"] == lang], w) for lang in sets}
        for name, w in ablation.items()
    }
    return weights, {"weights": weights, "out_of_fold": oof_rank, "in_sample_ablation": single}


def _fit_translated(
    rows: list[dict[str, Any]], sets: Any, folds: list[np.ndarray], settings: Any
) -> tuple[dict[str, float], dict[str, Any]]:
    """With the lexicon: the weight of lexical evidence across languages (the share of the
    question's words a passage holds through the lexicon), the grid's best by MRR@5 on the
    questions whose candidates are all in the other language, the other weights as they are.
    Its report: out-of-fold quality, and in-sample quality with the weight at 0 (the
    lexicon's candidates only) and as fitted."""
    same = np.array(settings.ranking_weights(True), dtype=float)
    base = np.array(settings.ranking_weights(False), dtype=float)

    def weights_with(value: float) -> dict[bool, np.ndarray]:
        w = base.copy()
        w[3] = value
        return {True: same, False: w}

    def best(part: list[dict[str, Any]]) -> float:
        across = [r for r in part if not r["same"].any()]
        return max(GRID["weight_lexical"], key=lambda v: rank_quality(across, weights_with(v))[1])

    fold_values = [best([rows[i] for i in _train(t, rows)]) for t in folds]
    oof_rank = {}
    for lang in sets:
        r1s, mrrs, n = 0.0, 0.0, 0
        for test, value in zip(folds, fold_values, strict=True):
            part = [rows[i] for i in test if rows[i]["lang"] == lang]
            count = sum(1 for r in part if r["answerable"])
            if count:
                r1, mrr = rank_quality(part, weights_with(value))
                r1s, mrrs, n = r1s + r1 * count, mrrs + mrr * count, n + count
        oof_rank[lang] = {"recall@1": r1s / n, "mrr@5": mrrs / n}
    value = best(rows)

    def quality(w: dict[bool, np.ndarray]) -> dict[str, tuple[float, float]]:
        return {lang: rank_quality([r for r in rows if r["lang"] == lang], w) for lang in sets}

    use = np.array([1.0, 0, 0, 0])
    single = {
        "use": quality({True: use, False: use}),
        "without lexical evidence across languages": quality(weights_with(0.0)),
        "with it, fitted": quality(weights_with(value)),
    }
    return {"weight_translated": float(value)}, {
        "weights": {"weight_translated": float(value)},
        "fold_values": fold_values,
        "out_of_fold": oof_rank,
        "in_sample_ablation": single,
    }


def _train(test: np.ndarray, rows: list[dict[str, Any]]) -> np.ndarray:
    """The indexes of `rows` outside the fold `test`."""
    return np.setdiff1d(np.arange(len(rows)), test)


def _result_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    ranking, margin = report["ranking"], report["margin"]
    use = ranking["in_sample_ablation"]["use"]
    rows = []
    for lang, r in ranking["out_of_fold"].items():
        for i, (metric, key) in enumerate((("sentence recall@1", "recall@1"), ("MRR@5", "mrr@5"))):
            value, base = round(r[key], 3), round(use[lang][i], 3)
            rows.append(row(f"{metric} ({lang})", value, base, group="ranking, out-of-fold"))
    group = "each signal added, in-sample"
    for name, scores in ranking["in_sample_ablation"].items():
        for lang, (r1, mrr) in scores.items():
            metric = f"{name}: recall@1 / MRR ({lang})"
            rows.append(row(metric, f"{r1:.3f} / {mrr:.3f}", group=group))
    for key, group in (
        ("abstain", "answer or abstain, out-of-fold"),
        ("abstain_with_unknown_name_rule", "... with the unknown-name rule"),
    ):
        for lang in ("en", "tr"):
            for metric, v in report[key][lang].items():
                rows.append(row(f"{metric.replace('_', ' ')} ({lang})", round(v, 3), group=group))
    correct, precision = margin["out_of_fold_mean"]
    return [
        *rows,
        row("answer margin chosen", margin["chosen"], group="quoted passages"),
        row("answered correctly, out-of-fold", round(correct, 3), group="quoted passages"),
        row("citation precision, out-of-fold", round(precision, 3), group="quoted passages"),
    ]


def _outcomes(rows: list[dict[str, Any]], answer: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lang in sorted({r["lang"] for r in rows}):
        pick = [i for i, r in enumerate(rows) if r["lang"] == lang]
        ans = [i for i in pick if rows[i]["answerable"]]
        off = [i for i in pick if rows[i]["kind"] == "off-topic"]
        on = [i for i in pick if rows[i]["kind"] == "on-topic"]
        out[lang] = {
            "false_abstentions": float(np.mean([not answer[i] for i in ans])),
            "answered_top1_right": float(np.mean([answer[i] and rows[i]["hit"][0] for i in ans])),
            "abstained_off_topic": float(np.mean([not answer[i] for i in off])),
            "abstained_on_topic": float(np.mean([not answer[i] for i in on])),
        }
    return out


def _quoted(q: dict[str, Any], margin: float, share: float | None, most: int = 3) -> list[int]:
    """What answering.select_passages quotes: the first, those within `margin` and, with
    the lexicon (`share` not None), about the question (answering.about_question)."""
    scores = [r.score for r in q["ranked"][:5]]
    close = [i for i in range(1, len(scores)) if scores[i] >= scores[0] - margin]
    if share is not None:
        close = [i for i in close if about_question(q["held"][0], q["held"][i], share)]
    return [0, *close[: most - 1]]


def _margin_quality(
    rows: list[dict[str, Any]], answer: np.ndarray, rule: tuple[float, float | None]
) -> tuple[float, float]:
    """(answered correctly, citation precision) over answerable questions, quoting by
    `rule` (margin, share)."""
    correct, on, cited = [], 0, 0
    for i, q in enumerate(rows):
        if not q["answerable"]:
            continue
        quoted = _quoted(q, *rule) if answer[i] and len(q["ranked"]) else []
        hits = [bool(q["hit"][j]) for j in quoted]
        correct.append(bool(hits) and any(hits))
        on += sum(hits)
        cited += len(hits)
    return float(np.mean(correct)), on / max(cited, 1)


def _fit_margin(
    rows: list[dict[str, Any]], answer: np.ndarray, folds: list[np.ndarray], lexicon: bool
) -> dict[str, Any]:
    """The margin that maximises answered-correctly + PRECISION_WEIGHT x citation precision
    on the other folds: a quote that holds the answer matters more to a reader than one extra
    sentence to skim (at most three are quoted, a few hundred characters in all). With the
    lexicon, instead, the share of the question an added quote must hold (QUOTE_SHARES): the
    most precise one that answers as many questions correctly as an added quote holding the
    question's names alone (share 0) does on the other folds."""
    # with the lexicon the margin stays as fitted without it (one Settings.answer_margin): a
    # wider one bought answers at the cost of citation precision on this data
    shares: tuple[float | None, ...] = QUOTE_SHARES if lexicon else (None,)
    margins = (Settings().answer_margin,) if lexicon else MARGINS
    rules = [(m, share) for m in margins for share in shares]

    def best(idx: np.ndarray) -> tuple[float, float | None]:
        part = [rows[i] for i in idx]
        quality = {rule: _margin_quality(part, answer[idx], rule) for rule in rules}
        if lexicon:  # the most precise share that answers as many correctly as the names
            # rule alone (share 0): the issue asks for precision with no fewer right answers
            floor = quality[(margins[0], 0.0)][0]
            return max((r for r in rules if quality[r][0] >= floor), key=lambda r: quality[r][1])
        return max(rules, key=lambda r: quality[r][0] + PRECISION_WEIGHT * quality[r][1])

    curve = {f"{m} {share}": _margin_quality(rows, answer, (m, share)) for m, share in rules}
    oof_correct, oof_on = [], []
    for test in folds:
        rule = best(_train(test, rows))
        c, p = _margin_quality([rows[i] for i in test], answer[test], rule)
        oof_correct.append(c)
        oof_on.append(p)
    margin, share = best(np.arange(len(rows)))
    return {
        "curve (answered correctly, citation precision)": curve,
        "chosen": margin,
        "chosen_share": share,
        "out_of_fold_mean": [float(np.mean(oof_correct)), float(np.mean(oof_on))],
    }


if __name__ == "__main__":
    raise SystemExit(main())
