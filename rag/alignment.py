"""How well each content phrase of a claim is found in a passage: word for word, or by meaning.

A claim's content phrases are its runs of a few content words between function words,
numbers and punctuation. A phrase whose words a passage holds (`matching.has_word`) is found;
any other is compared with every run of one or two words of the passage
(`matching.word_runs`) through a `matching.Translations` source. A translated phrase finds
its translation; a swapped-in fact finds nothing, however little it moves the whole sentence.
The citation check (rag/citations.py) reads the worst-found phrase; with the Turkish-English
lexicon, also the worst-found phrase among those whose words it does not find translated
(`held`: a phrase translated word for word is found).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from rag.matching import Translations, content_words, has_word, word_runs
from rag.text import fold, stems_of, tokens

# Function words of English and Turkish: they carry no fact a source must state.
_STOP = {
    fold(w)
    for w in re.split(
        r"\s+",
        """a an the of in on at to for from by with and or but not no nor as is are was were be been
    being has have had do does did this that these those it its he she they them his her their
    which who whom whose what when where why how than then there also both each all any some such
    into onto over under about after before during between while through against among until
    would could should will shall may might must can also only very most more many much other
    another one two its our we you i me my your so if because though although however
    ve ile bir bu şu o da de ki için gibi kadar daha en çok her hem ya veya ama fakat ancak
    olan olarak oldu olduğu olan ise ne mi mı mu mü sonra önce göre karşı arasında üzerinde
    tarafından just still even well since yet already almost""",
    )
}
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_BREAK_RE = re.compile(r"[,;:()\"“”]|\d")  # punctuation or a number between words ends a phrase
_APOSTROPHE_RE = re.compile(r"['’]")
_SHORTEST = 3  # letters of a content word


def open_phrases(claim: str, texts: Sequence[str], size: int = 3) -> list[tuple[str, set[int]]]:
    """The claim's content phrases (runs of up to `size` content words between function words,
    numbers and punctuation), each with the indexes of the `texts` that hold all its words
    (folded, or sharing a five-letter stem). Those must be found by meaning elsewhere."""
    vocab = [set(tokens(t)) for t in texts]
    stem_sets = [set(stems_of(list(v))) for v in vocab]
    runs: list[list[str]] = [[]]
    last = 0
    for m in _WORD_RE.finditer(claim):
        word = m.group()
        gap = claim[last : m.start()]
        last = m.end()
        if _BREAK_RE.search(gap):
            runs.append([])
        if fold(word) in _STOP or len(word) < _SHORTEST:
            runs.append([])
            continue
        runs[-1].append(word)
    out: list[tuple[str, set[int]]] = []
    for run in runs:
        for i in range(0, len(run), size):
            words = run[i : i + size]
            if not words:
                continue
            found = {
                j
                for j in range(len(texts))
                if all(
                    has_word(_APOSTROPHE_RE.split(fold(w))[0], vocab[j], stem_sets[j])
                    for w in words
                )
            }
            out.append((" ".join(words), found))
    return out


def alignment(
    claim: str, text: str, translations: Translations, context: str = "", language: str = ""
) -> tuple[float, str]:
    """How well the claim's worst-found phrase is found in `text`, and that phrase: each content
    phrase of the claim not found there word for word (nor, for a name, in `context`: the text
    around `text`, where a sentence leaves its subject to the one before it) is compared with
    every run of one or two words of `text`, and the least of their best matches is the
    alignment (1.0 when every phrase is found word for word)."""
    return worst(phrase_alignment(claim, text, translations, context, language))


def phrase_alignment(
    claim: str, text: str, translations: Translations, context: str = "", language: str = ""
) -> list[tuple[str, float]]:
    """Each content phrase of the claim not found word for word (see `alignment`), with its
    best match among the runs of one or two words of `text`."""
    phrases = [
        ph
        for ph, found in open_phrases(claim, [text, context or text], 2)
        if 0 not in found and not (1 in found and all(w[0].isupper() for w in ph.split()))
    ]
    if not phrases:
        return []
    runs = word_runs(text, language)
    if not runs:
        return [(ph, 0.0) for ph in phrases]
    best = translations.best(phrases, runs)
    return [(ph, float(b)) for ph, b in zip(phrases, best, strict=True)]


def worst(scored: Sequence[tuple[str, float]], held: Collection[str] = ()) -> tuple[float, str]:
    """The least-found phrase of `scored` and how well it is found (1.0, "" when there is
    none), leaving out the phrases all of whose content words are in `held` (folded: the words
    the lexicon finds translated around the passage)."""
    left = [(score, ph) for ph, score in scored if not _held(ph, held)]
    return min(left, default=(1.0, ""), key=lambda t: t[0])


def _held(phrase: str, held: Collection[str]) -> bool:
    """Whether every content word of `phrase` (as `matching.content_words` reads a claim's,
    a suffix after an apostrophe cut off: Tokyo'daki -> Tokyo) is in `held`."""
    words = content_words(" ".join(_APOSTROPHE_RE.split(w)[0] for w in phrase.split()))
    return bool(held) and bool(words) and all(w in held for w in words)
