"""How well the Turkish-English lexicon finds a question's words in the other language, and
how many translations a word may have and still count (rag/lexicon.py MAX_SENSES).

    .venv/bin/python bench/lexicon_probe.py

Data: ../shared/datasets/xquad-dev (XQuAD, Artetxe, Ruder and Yogatama, ACL 2020; CC BY-SA
4.0), read where it lies. For every answerable question, pick the sentence of its gold
paragraph whose words best cover the question's content words (rag/matching.Words, weighted
by idf over the paragraphs' sentences); right when that sentence holds the answer. Ties
share the credit. Both directions: English questions over the Turkish paragraphs, and
Turkish questions over the English paragraphs (XQuAD's parallel English contexts).
MAX_SENSES is chosen out-of-fold (GroupKFold by article) from SENSES, and so are the way a
Turkish word is matched (the lexicon's lemmas, or five-letter prefixes of the translations)
and whether an English word also takes the translations of the words derived from it
("lemmas, not derived": without them).
Needs the `lexicon` extra.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import row, write_result
from xquad import EN, TR

from rag import lexicon as lexicon_module
from rag.chunking import sentence_spans
from rag.lexicon import MAX_SENSES, Lexicon, build_table, data_folder
from rag.matching import Words, turkish_stem
from rag.text import fold, stems_of, tokens

SENSES = (4, 8, 12, 16, 24, 32, 64, 10_000)
FOLDS = 6


def items() -> list[dict[str, Any]]:
    """One row per question: its article, its Turkish and English text, and for each
    context language the paragraph's sentences and the index of the answer's sentence."""
    tr = json.loads(TR.read_text(encoding="utf-8"))["data"]
    en = json.loads(EN.read_text(encoding="utf-8"))["data"]
    out = []
    for art_tr, art_en in zip(tr, en, strict=True):
        for par_tr, par_en in zip(art_tr["paragraphs"], art_en["paragraphs"], strict=True):
            sides = {"tr": par_tr, "en": par_en}
            sentences = {
                lang: [p["context"][s.start : s.end] for s in sentence_spans(p["context"], lang)]
                for lang, p in sides.items()
            }
            spans = {lang: sentence_spans(p["context"], lang) for lang, p in sides.items()}
            for q_tr, q_en in zip(par_tr["qas"], par_en["qas"], strict=True):
                gold = {}
                for lang, q in (("tr", q_tr), ("en", q_en)):
                    start = q["answers"][0]["answer_start"]
                    gold[lang] = next(
                        (i for i, s in enumerate(spans[lang]) if s.start <= start < s.end), -1
                    )
                out.append(
                    {
                        "title": art_tr["title"],
                        "question": {"tr": q_tr["question"], "en": q_en["question"]},
                        "sentences": sentences,
                        "gold": gold,
                    }
                )
    return out


def idf_weight(rows: list[dict[str, Any]], language: str):  # type: ignore[no-untyped-def]
    """A word's weight: the idf (over every sentence in `language`) of its five-letter stem
    or, for a translated word, of its best-known translation's."""
    df: Counter[str] = Counter()
    seen = set()
    for r in rows:
        for s in r["sentences"][language]:
            if s not in seen:
                seen.add(s)
                df.update(set(stems_of(tokens(s))))
    n = len(seen)
    idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
    top = max(idf.values())

    def weight(word: str, targets: tuple[str, ...]) -> float:
        known = [idf[t[:5]] for t in targets if t[:5] in idf]
        if known:
            return max(known)
        return idf.get(word[:5], top)

    return weight


def right_first(words: Words, r: dict[str, Any], q_lang: str, c_lang: str) -> float:
    """1 if the answer's sentence covers the question best (a tie shares the credit)."""
    gold = r["gold"][c_lang]
    if gold < 0:
        return 0.0
    scores = []
    for s in r["sentences"][c_lang]:
        f = words.found(r["question"][q_lang], q_lang, s, c_lang)
        held = set(f.found)
        scores.append(sum(w for x, w in zip(f.words, f.weights, strict=True) if x in held))
    best = max(scores)
    tied = [i for i, v in enumerate(scores) if v == best]
    return 1.0 / len(tied) if gold in tied else 0.0


class Prefixes(Lexicon):
    """The same translations, matched by five-letter prefixes (the lexical index's stems)
    instead of the lexicon's lemmas."""

    def lemma(self, word: str, language: str) -> str | None:
        if language == "en":
            return super().lemma(word, language)
        return word[:5]

    def translations(self, word: str, language: str) -> tuple[str, ...]:
        return tuple({t[:5] for t in super().translations(word, language)})


class Snowball(Lexicon):
    """The same translations, matched by Snowball stems of the Turkish words."""

    def lemma(self, word: str, language: str) -> str | None:
        if language == "en":
            return super().lemma(word, language)
        return turkish_stem(word)

    def translations(self, word: str, language: str) -> tuple[str, ...]:
        found = super().translations(word, language)
        return tuple({turkish_stem(t) for t in found}) if language == "en" else found


class Analyser(Lexicon):
    """The same translations, a Turkish word taken to the longest root the morphological
    analyser of nlptoolkit-morphologicalanalysis (GPL-3.0, pulled in by the lexicon extra)
    gives it that the lexicon knows."""

    analyser: Any = None
    roots: dict[str, str | None] = {}  # noqa: RUF012 (one cache for the probe)
    written: dict[str, str] = {}  # noqa: RUF012 (folded word -> as written: it needs ç, ı, ş)

    def lemma(self, word: str, language: str) -> str | None:
        if language == "en":
            return super().lemma(word, language)
        if word not in Analyser.roots:
            parses = Analyser.analyser.morphologicalAnalysis(Analyser.written.get(word, word))
            roots = {fold(parses.getFsmParse(i).getWord().getName()) for i in range(parses.size())}
            known = sorted((r for r in roots if r in self.to_english), key=len, reverse=True)
            Analyser.roots[word] = known[0] if known else None
        return Analyser.roots[word]


def limited(full: Lexicon, senses: int, cls: type[Lexicon] = Lexicon) -> Lexicon:
    def cut(table: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {k: v if len(v) <= senses else () for k, v in table.items()}

    return cls(
        to_turkish=cut(full.to_turkish),
        to_english=cut(full.to_english),
        irregular=full.irregular,
        turkish_words=full.turkish_words,
        names=full.names,
    )


def main() -> int:
    folder = data_folder()
    if folder is None:
        print("nlptoolkit-wordnet is not installed: pip install -e '.[lexicon]'")
        return 1
    full = Lexicon.from_table(build_table(folder, max_senses=max(SENSES)))
    # the same without the translations of derivationally related words (build_table)
    underived = Lexicon.from_table(build_table(folder, max_senses=max(SENSES), derived=False))
    rows = items()
    try:  # needs pkg_resources (setuptools < 81), which the extra does not install
        from MorphologicalAnalysis.FsmMorphologicalAnalyzer import FsmMorphologicalAnalyzer

        started = time.perf_counter()
        Analyser.analyser = FsmMorphologicalAnalyzer()
        report_load: float | str = time.perf_counter() - started
        for r in rows:
            for sentence in r["sentences"]["tr"]:
                for raw in re.findall(r"\w+", sentence):
                    lower = raw.replace("I", "ı").replace("İ", "i").lower()
                    Analyser.written.setdefault(fold(raw), lower)
    except ImportError as exc:
        report_load = f"not measured: {exc}"
    weights = {lang: idf_weight(rows, lang) for lang in ("tr", "en")}
    titles = sorted({r["title"] for r in rows})
    fold_of = {t: i % FOLDS for i, t in enumerate(titles)}

    def per_question(lex: Lexicon | None, q_lang: str, c_lang: str) -> list[float]:
        words = Words(lex, weights[c_lang])
        return [right_first(words, r, q_lang, c_lang) for r in rows]

    report: dict[str, Any] = {"questions": len(rows), "analyser load seconds": report_load}
    results = []
    for q_lang, c_lang in (("en", "tr"), ("tr", "en")):
        direction = f"{q_lang} questions, {c_lang} paragraphs"
        base = per_question(None, q_lang, c_lang)
        same = per_question(None, c_lang, c_lang)
        variants = {
            (kind, k): per_question(limited(full, k, cls), q_lang, c_lang)
            for kind, cls in (("lemmas", Lexicon), ("prefixes", Prefixes), ("snowball", Snowball))
            for k in SENSES
        }
        variants |= {
            ("lemmas, not derived", k): per_question(limited(underived, k), q_lang, c_lang)
            for k in SENSES
        }
        if q_lang == "en" and Analyser.analyser is not None:  # Turkish words analysed
            variants[("analyser", MAX_SENSES)] = per_question(
                limited(full, MAX_SENSES, Analyser), q_lang, c_lang
            )
        # out-of-fold: each fold's questions scored with the variant best on the others
        oof = []
        chosen = []
        for f in range(FOLDS):
            train = [i for i, r in enumerate(rows) if fold_of[r["title"]] != f]
            test = [i for i, r in enumerate(rows) if fold_of[r["title"]] == f]
            best = max(variants, key=lambda v: sum(variants[v][i] for i in train))
            chosen.append(best)
            oof.extend(variants[best][i] for i in test)
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        best_all = max(variants, key=lambda v: sum(variants[v]))
        report[direction] = {
            "words as written": mean(base),
            "same question in the paragraphs' language": mean(same),
            "through the lexicon, out-of-fold": mean(oof),
            "chosen per fold": [f"{k} {n}" for k, n in chosen],
            "chosen on all": f"{best_all[0]} {best_all[1]}",
            "in-sample by variant": {
                f"{k} {n}": round(mean(v), 3) for (k, n), v in variants.items()
            },
        }
        print(direction, json.dumps(report[direction], indent=1), flush=True)
        results += [
            row(f"{direction}: words as written", round(mean(base), 3), group="right sentence first"),
            row(f"{direction}: through the lexicon (oof)", round(mean(oof), 3), round(mean(base), 3), group="right sentence first"),
            row(f"{direction}: the same question in {c_lang}", round(mean(same), 3), group="right sentence first"),
        ]  # fmt: skip
    # load time of the cached table, the way the product loads it
    with tempfile.TemporaryDirectory() as home:
        lexicon_module.load(Path(home))
        lexicon_module.forget()
        started = time.perf_counter()
        lexicon_module.load(Path(home))
        report["load seconds"] = time.perf_counter() - started
    results.append(row("lexicon table load (s)", round(report["load seconds"], 3), group="speed"))
    write_result("lexicon_probe", results, baseline="words as written", details=report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
