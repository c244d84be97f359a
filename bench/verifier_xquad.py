"""The citation check on real cross-lingual claims (XQuAD, development half).

    .venv/bin/python bench/verifier_xquad.py [--limit N] [--before]

Data: ../shared/datasets/xquad-dev (XQuAD, Artetxe, Ruder and Yogatama, ACL 2020; CC BY-SA
4.0), read where it lies; no text of it is written into this repository (the probe's cases are
cached under the system's temp folder).

For every answerable question of the protocol (bench/xquad.py `build()`), asked in English and
in Turkish, Kaynak retrieves k=5 passages; a scripted model then answers in the question's
language in one of four ways, and each answer goes through `rag.citations.verify` with exactly
the inputs `Assistant` gives it (passages, embeddings, language, contexts):
  true       the sentence that holds the answer (from the English file for English claims, the
             Turkish paragraph for Turkish ones), citing the retrieved passage that holds it;
  swapped    that sentence with its answer replaced by another article's answer of the same
             kind (year, number, name, else phrase), citing the same passage;
  wrong      the true sentence citing a retrieved passage that does not hold the answer;
  unrelated  a sentence from another article, citing the passage that holds the answer.
"Kept" means the sentence survives citing a passage; a wrong citation the check moves to the
passage holding the answer is counted apart ("moved"). The verifier's numbers are fitted with
folds that leave whole articles out (GroupKFold by title) and reported out-of-fold; the
hand-written pairs (bench/verifier_pairs.jsonl) are the second check.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, quiet_logs, row, write_result
from xquad import EN, TR, build

CACHE = Path(tempfile.gettempdir()) / "kaynak-verifier-xquad-cases.json"
K = 5  # passages retrieved per question
FOLDS = 5
TARGETS = {"true": 0.9, "swapped": 0.05}  # the goals for the kept rates


def answer_kind(text: str) -> str:
    if re.fullmatch(r"\D{0,12}(1\d|20)\d\d\D{0,12}", text.strip()):
        return "year"
    if re.search(r"\d", text):
        return "number"
    words = [w for w in re.findall(r"\w+", text) if w.lower() not in {"of", "the", "and", "de"}]
    if words and all(w[0].isupper() for w in words):
        return "name"
    return "phrase"


def sentence_at(text: str, offset: int, language: str) -> str | None:
    from rag.chunking import sentence_spans

    for s in sentence_spans(text, language):
        if s.start <= offset < s.end:
            return text[s.start : s.end]
    return None


def _raw(path: Path) -> dict[str, Any]:
    """question id -> (paragraph text, answer text, answer offset), from the file as it is."""
    out = {}
    for article in json.loads(path.read_text(encoding="utf-8-sig"))["data"]:
        for para in article["paragraphs"]:
            context = para["context"].lstrip("\ufeff")
            for qa in para["qas"]:
                ans = qa["answers"][0]
                start = context.find(ans["text"], max(0, ans["answer_start"] - 20))
                start = start if start >= 0 else context.find(ans["text"])
                out[qa["id"]] = (context, ans["text"], start, article["title"])
    return out


def make_cases(limit: int | None) -> list[dict[str, Any]]:
    """Retrieve for every answerable question and write the four scripted answers."""
    from rag.evaluate import _gold_locator, _overlaps

    rng = random.Random(10)
    raw = {"en": _raw(EN), "tr": _raw(TR)}
    pool: dict[str, dict[str, list[tuple[str, str]]]] = {"en": {}, "tr": {}}
    for lang, items in raw.items():  # (title, answer) by kind, for the swaps
        for _context, ans, _, title in items.values():
            pool[lang].setdefault(answer_kind(ans), []).append((title, ans))
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        bot, sets, _, _ = build(Path(tmp))
        for lang, squad in sets.items():
            gold = _gold_locator(bot, squad)
            items = [q for q in squad.questions if q["answerable"]]
            if limit:
                items = rng.sample(items, min(limit, len(items)))
            for item in items:
                context, ans, at, title = raw[lang][item["id"]]
                sentence = sentence_at(context, at, lang) if at >= 0 else None
                if not sentence or ans not in sentence:
                    continue
                passages = bot.retrieve(item["question"], k=K)
                spans, _ = gold(item)
                hold = [_overlaps(p.doc_id, p.start, p.end, spans) for p in passages]
                if not any(hold):
                    continue
                kind = answer_kind(ans)
                others = [
                    a
                    for t, a in pool[lang].get(kind, [])
                    if t != title and a.lower() != ans.lower()
                ]
                right = hold.index(True)
                cited_text = passages[right].text.lower()
                others = [a for a in others if a.lower() not in cited_text] or others
                other_title = rng.choice([t for t in squad.articles if t != title])
                other_sentences = _sentences(raw[lang], other_title, lang)
                cases.append(
                    {
                        "id": item["id"],
                        "title": title,
                        "language": lang,
                        "answer": ans,
                        "answer_kind": kind,
                        "true": sentence,
                        "swapped": sentence.replace(ans, rng.choice(others), 1),
                        "unrelated": rng.choice(other_sentences),
                        "right": right + 1,
                        "wrong": next((i + 1 for i, h in enumerate(hold) if not h), None),
                        "holds": [i + 1 for i, h in enumerate(hold) if h],
                        "passages": [vars(p) for p in passages],
                        "contexts": [bot._context(p) for p in passages],
                    }
                )
    return cases


def _sentences(raw: dict[str, Any], title: str, lang: str) -> list[str]:
    from rag.chunking import sentence_spans

    paragraphs = {c for c, _, _, t in raw.values() if t == title}
    return [
        c[s.start : s.end]
        for c in sorted(paragraphs)
        for s in sentence_spans(c, lang)
        if s.end - s.start > 40
    ]


def load_cases(limit: int | None, refresh: bool) -> list[dict[str, Any]]:
    key = f"limit={limit}"
    if CACHE.exists() and not refresh:
        cached = json.loads(CACHE.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return cached["cases"]
    cases = make_cases(limit)
    CACHE.write_text(json.dumps({"key": key, "cases": cases}, ensure_ascii=False), "utf-8")
    return cases


def answers(case: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """The scripted model's answer of each kind: (text with its marker, cited passage)."""
    out = {
        "true": (case["true"], case["right"]),
        "swapped": (case["swapped"], case["right"]),
        "unrelated": (case["unrelated"], case["right"]),
    }
    if case["wrong"]:
        out["wrong"] = (case["true"], case["wrong"])
    return {k: (_cite(text, n), n) for k, (text, n) in out.items()}


def _cite(sentence: str, n: int) -> str:
    body = sentence.rstrip()
    if body and body[-1] in ".!?":
        return f"{body[:-1]} [{n}]{body[-1]}"
    return f"{body} [{n}]."


def evidence(cases: list[dict[str, Any]], emb: Any, names: float) -> dict[str, Any]:
    """Every (case, kind) compared with its passages once: arrays for fitting the numbers."""
    import numpy as np

    from rag.citations import gather, missing_names, strip_markers
    from rag.types import Passage

    meta, agree, phrase, named = [], [], [], []
    for case in cases:
        passages = [Passage(**p) for p in case["passages"]]
        scripted = answers(case)
        claims = [strip_markers(text) for text, _ in scripted.values()]
        cites = [[n] for _, n in scripted.values()]
        evs = gather(claims, cites, passages, emb, case["contexts"], names)
        for kind, ev in zip(scripted, evs, strict=True):
            pad = K - len(passages)
            meta.append(
                {
                    "kind": kind,
                    "language": case["language"],
                    "title": case["title"],
                    "answer_kind": case["answer_kind"],
                    "cited": ev.cited[0] - 1,
                    "holds": [h - 1 for h in case["holds"]],
                }
            )
            agree.append(ev.agree + [-1.0] * pad)
            phrase.append(ev.gain + [9.0] * pad)
            gone = [
                ev.missing[j]
                if ev.missing[j] is not None
                else missing_names(ev.claim, c, emb, names)
                for j, c in enumerate(case["contexts"])
            ]
            named.append(
                [
                    [any(m.isdigit() for m in g), any(not m.isdigit() for m in g), ng]
                    for g, ng in zip(gone, ev.name_gain, strict=True)
                ]
                + [[True, True, 9.0]] * pad
            )
    return {
        "meta": meta,
        "agree": np.array(agree),
        "phrase": np.array(phrase),
        "named": np.array(named),
    }


def outcomes(ev: dict[str, Any], check: Any, rows: Any = None) -> list[str]:
    """kept / moved / misplaced / dropped for each row, as `rag.citations.decide` decides."""
    import numpy as np

    rows = np.arange(len(ev["meta"])) if rows is None else rows
    agree, phrase, named = ev["agree"][rows], ev["phrase"][rows], ev["named"][rows]
    numbers, names, name_gain = named[..., 0] > 0, named[..., 1] > 0, named[..., 2]
    named = ~numbers & (~names | (name_gain <= check.name))
    ok = named & (agree >= check.support) & (phrase <= check.phrase)
    cited = np.array([ev["meta"][i]["cited"] for i in rows])
    best = agree.argmax(axis=1)
    at = np.arange(len(rows))
    moved = (best != cited) & (agree[at, best] - agree[at, cited] >= check.margin)
    source = np.where(moved, best, cited)
    kept = ok[at, source]
    out = []
    for i, k, src in zip(rows, kept, source, strict=True):
        m = ev["meta"][i]
        if not k:
            out.append("dropped")
        elif m["kind"] == "wrong" and src in m["holds"]:
            out.append("moved")
        elif m["kind"] == "true" and src not in m["holds"]:
            out.append("misplaced")
        else:
            out.append("kept")
    return out


def rates(meta: list[dict[str, Any]], got: list[str], key: str = "kind") -> dict[str, Any]:
    """Count and kept (and moved) rates of the outcomes `got` per "<language>_<meta[key]>"."""
    groups: dict[str, list[str]] = {}
    for m, o in zip(meta, got, strict=True):
        groups.setdefault(f"{m['language']}_{m[key]}", []).append(o)

    def share(some: list[str], what: str) -> float:
        return round(some.count(what) / len(some), 3)

    return {
        g: {"n": len(some), "kept": share(some, "kept"), "moved": share(some, "moved")}
        for g, some in groups.items()
    }


def objective(r: dict[str, Any]) -> float:
    """True claims kept minus lies kept (worst language each): a lie shown costs as much as a
    true sentence lost (Kaynak then quotes the sources instead); unrelated claims never."""

    def worst(kind: str, f: Any) -> float:
        return f(r[f"{lang}_{kind}"]["kept"] for lang in ("en", "tr") if f"{lang}_{kind}" in r)

    return (
        worst("true", min)
        - worst("swapped", max)
        - worst("wrong", max)
        - 20 * worst("unrelated", max)
    )


GRID = {
    "support": [round(0.4 + 0.025 * i, 3) for i in range(15)],
    "phrase": [0.1, 0.2, 0.3, 0.5, 9.0],
    "margin": [0.025, 0.05, 0.1, 9.0],
    "name": [round(-0.2 + 0.05 * i, 3) for i in range(12)],
}


def fit(ev: dict[str, Any], rows: Any, base: Any) -> Any:
    import itertools
    from dataclasses import replace

    meta = [ev["meta"][i] for i in rows]
    scored = []
    for support, phrase, margin, name in itertools.product(*GRID.values()):
        check = replace(base, support=support, phrase=phrase, margin=margin, name=name)
        scored.append((objective(rates(meta, outcomes(ev, check, rows))), -margin, support, check))
    return max(scored, key=lambda t: t[:3])[3]


def cross_validate(ev: dict[str, Any], base: Any, folds: int = 5) -> tuple[list[str], list[Any]]:
    """Out-of-fold outcomes: each article's rows decided by numbers fitted without it."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    groups = [m["title"] for m in ev["meta"]]
    got: list[str] = [""] * len(groups)
    fitted = []
    for train, test in GroupKFold(n_splits=folds).split(np.zeros(len(groups)), groups=groups):
        check = fit(ev, train, base)
        fitted.append(check)
        for i, o in zip(test, outcomes(ev, check, test), strict=True):
            got[i] = o
    return got, fitted


class Memo:
    """The embeddings with a cache: passages recur across questions (the probe only)."""

    def __init__(self, emb: Any) -> None:
        self.emb, self.seen, self.model_id = emb, {}, emb.model_id

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        self.seen.update(zip(new, self.emb.embed_documents(new), strict=True))
        return [self.seen[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


BEFORE = "6512948"  # the commit whose verifier the issue measured, with its threshold:
BEFORE_THRESHOLD = 0.35


def old_citations() -> Any:
    """rag/citations.py of commit BEFORE, read from git (not kept here)."""
    import subprocess
    import types

    git = ["git", "show", f"{BEFORE}:rag/citations.py"]
    code = subprocess.run(git, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    old = sys.modules["citations_before"] = types.ModuleType("citations_before")
    exec(compile(code, "citations_before.py", "exec"), old.__dict__)
    return old


def before(cases: list[dict[str, Any]], emb: Any, threshold: float) -> dict[str, Any]:
    """The same probe through the verifier of commit BEFORE."""
    from rag.types import Passage

    old, meta, got = old_citations(), [], []
    for case in cases:
        passages = [Passage(**p) for p in case["passages"]]
        for kind, (text, n) in answers(case).items():
            out = old.verify(
                text, passages, emb, threshold, case["language"], contexts=case["contexts"]
            )
            meta.append({"kind": kind, "language": case["language"]})
            right = kind != "true" or n in case["holds"]
            got.append("kept" if out.citations and right else "dropped")
    return rates(meta, got)


LABELS = {
    "true": "true sentence, right source",
    "swapped": "answer swapped",
    "wrong": "wrong source",
    "unrelated": "unrelated sentence",
}
LANGUAGES = {"en": "English claims", "tr": "Turkish claims"}
SWAPS = "answer swapped, kept by kind of answer"


def rows_of(now: dict[str, Any], old: dict[str, Any]) -> list[dict[str, Any]]:
    """Out-of-fold kept rates per language and kind, with the old check's as the baseline."""
    out = []
    for lang, group in LANGUAGES.items():
        for kind, label in LABELS.items():
            r, was = now.get(f"{lang}_{kind}"), old.get(f"{lang}_{kind}", {})
            if r:
                note = f"n={r['n']}"
                out.append(row(f"{label}: kept", r["kept"], was.get("kept"), note, group))
                if kind == "wrong":
                    out.append(
                        row(f"{label}: moved to the right one", r["moved"], None, note, group)
                    )
    return out


def main() -> int:
    from dataclasses import asdict

    import numpy as np

    from rag.citations import Check
    from rag.config import Settings
    from rag.embeddings import load_embeddings

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--limit", type=int, default=None, help="questions per language (sample)")
    ap.add_argument("--refresh", action="store_true", help="retrieve again (ignore the cache)")
    ap.add_argument("--before", action="store_true", help=f"also run the verifier of {BEFORE}")
    args = ap.parse_args()
    quiet_logs()
    cases = load_cases(args.limit, args.refresh)
    settings = Settings()
    emb = Memo(load_embeddings(settings.embeddings))
    configured = Check.from_settings(settings)
    ev = evidence(cases, emb, configured.names)
    meta = ev["meta"]
    old = before(cases, emb, BEFORE_THRESHOLD) if args.before else {}
    oof, fitted = cross_validate(ev, configured, FOLDS)
    now = rates(meta, oof)
    swaps = [i for i, m in enumerate(meta) if m["kind"] == "swapped"]
    by_answer = rates([meta[i] for i in swaps], [oof[i] for i in swaps], "answer_kind")
    swap_rows = [
        row(g[3:], r["kept"], note=f"n={r['n']}", group=f"{LANGUAGES[g[:2]]}: {SWAPS}")
        for g, r in sorted(by_answer.items())
    ]
    write_result(
        "verifier_xquad",
        rows_of(now, old) + swap_rows,
        baseline=f"before ({BEFORE})" if old else "",
        note="kept rates out-of-fold (folds leave whole articles out)",
        details={
            "questions": len(cases),
            "by_language": {lang: sum(c["language"] == lang for c in cases) for lang in LANGUAGES},
            "k": K,
            "folds": FOLDS,
            "model": emb.model_id,
            "before": {"commit": BEFORE, "threshold": BEFORE_THRESHOLD, "rates": old},
            "out_of_fold": now,
            "targets": TARGETS,
            "configured": {
                "check": asdict(configured),
                "rates": rates(meta, outcomes(ev, configured)),
            },
            "fold_checks": [asdict(c) for c in fitted],
            "fitted_on_all": asdict(fit(ev, np.arange(len(meta)), configured)),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
