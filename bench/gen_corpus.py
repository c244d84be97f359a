"""Generate a synthetic Turkish/English corpus of N sentence chunks for the scale benchmarks.

    .venv/bin/python bench/gen_corpus.py 1000 10000    # -> bench/out/corpora/n1000, n10000

Each .txt file holds ~50 sentences, one language per file (alternately Turkish and English,
10% of sentences in the other), built from bench/data/synthetic-words.json with a fixed seed:
60-200 characters, one period each, so Kaynak (a chunk per sentence) makes exactly N chunks.
The bundled article is copied in too, so the questions keep their answers; nothing in the word
lists names what they ask about. A folder whose .manifest.json matches is reused.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ARTICLE, BENCH, CORPUS, OUT, rel

GENERATOR_VERSION = 1
MIN_CHARS, MAX_CHARS = 60, 200
PER_FILE, SEED = 50, 0

# Word lists, one set per language: subjects, verbs, objects, places, times, links, tails.
WORDS = json.loads((BENCH / "data" / "synthetic-words.json").read_text(encoding="utf-8"))


# Word order: English subject-verb-object, Turkish subject-time-place-object-verb.
ORDER = {
    "en": ("subjects", "verbs", "objects", "places", "times"),
    "tr": ("subjects", "times", "places", "objects", "verbs"),
}


def _clause(rng: random.Random, language: str) -> str:
    return " ".join(rng.choice(WORDS[language][part]) for part in ORDER[language])


def sentence(rng: random.Random, language: str) -> str:
    """One sentence of MIN_CHARS-MAX_CHARS characters ending with a period."""
    links, tails = WORDS[language]["links"], WORDS[language]["tails"]
    target = rng.randint(MIN_CHARS, MAX_CHARS)
    text = _clause(rng, language)
    while len(text) < target:
        nxt = _clause(rng, language) if rng.random() < 0.5 else rng.choice(tails)
        nxt = nxt[0].lower() + nxt[1:]
        candidate = f"{text}, {rng.choice(links)} {nxt}"
        if len(candidate) + 1 > MAX_CHARS:
            break
        text = candidate
    if len(text) + 1 < MIN_CHARS:  # a short clause and no room for a whole one: pad a tail
        text = f"{text}, {rng.choice(links)} {rng.choice(tails)}"
    text = text[: MAX_CHARS - 1].rstrip(" ,")
    return text[0].upper() + text[1:] + "."


def generate(n_chunks: int) -> dict[str, Any]:
    """Write bench/out/corpora/n<n_chunks> (or reuse a matching one); return its manifest."""
    if n_chunks < 1:
        raise ValueError("n_chunks must be at least 1")
    out = OUT / "corpora" / f"n{n_chunks}"
    wanted = {
        "generator_version": GENERATOR_VERSION,
        "synthetic_chunks": n_chunks,
        "sentences_per_file": PER_FILE,
        "seed": SEED,
        "include_article": True,
    }
    manifest_path = out / ".manifest.json"
    with contextlib.suppress(OSError, json.JSONDecodeError):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if all(manifest.get(k) == v for k, v in wanted.items()):
            return {**manifest, "reused": True, "path": str(out)}
    if out.exists():
        # Only ever delete a folder this script wrote (it has our manifest or is empty).
        if manifest_path.exists() or not any(out.iterdir()):
            shutil.rmtree(out)
        else:
            raise SystemExit(f"{out} exists and was not written by gen_corpus.py")
    out.mkdir(parents=True)

    started = time.perf_counter()
    rng = random.Random(SEED)
    total_bytes = 0
    by_language = {"tr": 0, "en": 0}
    lengths: list[int] = []
    n_files = (n_chunks + PER_FILE - 1) // PER_FILE
    for f in range(n_files):
        count = min(PER_FILE, n_chunks - f * PER_FILE)
        primary = "tr" if f % 2 == 0 else "en"
        other = "en" if primary == "tr" else "tr"
        sentences = []
        for _ in range(count):
            lang = other if rng.random() < 0.1 else primary
            sentences.append(sentence(rng, lang))
            by_language[lang] += 1
            lengths.append(len(sentences[-1]))
        # paragraphs of five sentences
        paragraphs = [" ".join(sentences[i : i + 5]) for i in range(0, count, 5)]
        data = ("\n\n".join(paragraphs) + "\n").encode("utf-8")
        (out / f"synth-{f:06d}.{primary}.txt").write_bytes(data)
        total_bytes += len(data)

    for name in (f"{ARTICLE}.txt", f"{ARTICLE}.meta.toml"):
        shutil.copy2(CORPUS / name, out / name)
    total_bytes += (out / f"{ARTICLE}.txt").stat().st_size

    manifest = {
        **wanted,
        "files": n_files + 1,
        "synthetic_files": n_files,
        "sentences_by_language": by_language,
        "sentence_chars": {
            "min": min(lengths),
            "max": max(lengths),
            "mean": round(sum(lengths) / len(lengths), 1),
        },
        "text_bytes": total_bytes,
        "generate_seconds": round(time.perf_counter() - started, 2),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return {**manifest, "reused": False, "path": str(out)}


if __name__ == "__main__":  # bench/scale.py calls generate() itself
    for size in sys.argv[1:]:
        made = generate(int(size))
        print(
            f"{'reused' if made['reused'] else 'wrote'} {rel(made['path'])}: {made['files']} files"
        )
