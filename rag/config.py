"""One frozen Settings object: defaults, then KAYNAK_* environment, then arguments."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, fields
from importlib import metadata, resources
from pathlib import Path
from typing import Any

# Chroma and Gradio phone home unless told not to; Kaynak is offline by default.
OFFLINE_ENV = {
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}
for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)


def package_path(name: str) -> Path:
    """A file or folder shipped inside the `rag` package (pyproject's package-data), found
    through importlib.resources so that an installed wheel finds it as a clone does."""
    path = resources.files("rag").joinpath(name)
    if not isinstance(path, Path):  # wheels install unpacked; a zipped install is not supported
        raise ConfigError(f"Kaynak must be installed unpacked to read its {name}")
    return path


def kaynak_version() -> str:
    """The installed distribution's version (what `kaynak --version` prints)."""
    try:
        return metadata.version("kaynak")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


MAX_K = 100  # passages a question may ask for
MIN_CHUNK_CHARS = 50


class ConfigError(ValueError):
    """A setting has a value Kaynak cannot use; the message says what to change."""


log = logging.getLogger(__name__)

# Settings that are gone, and what took their place (a variable still set is reported).
_RETIRED = {
    "support_name": "names are now found by meaning, see KAYNAK_SUPPORT_NAMES",
}


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".kaynak")
    # "use" (Universal Sentence Encoder multilingual, packaged), "e5" (multilingual-e5-small,
    # packaged) or "st:PATH_OR_NAME" (any sentence-transformers model on disk).
    embeddings: str = "use"
    # The question-passage model (multilingual e5) whose vectors are computed after ingest
    # (rag/relevance.py); "" ranks and decides by USE and lexical evidence alone.
    relevance_model: str = "e5"
    # Ranking weights: USE, e5 (sentence alone, and after the sentence before it), lexical;
    # one set for a passage in another language than the question, one (`_same`) for a
    # passage in the question's language, where shared words are real evidence.
    # Fitted by bench/fit_decisions.py on ../shared/datasets/xquad-dev, folds by article.
    weight_use: float = 0.5
    weight_e5: float = 2.0
    weight_e5_context: float = 3.0
    weight_lexical: float = 0.0
    weight_use_same: float = 0.0
    weight_e5_same: float = 2.0
    weight_e5_context_same: float = 3.0
    weight_lexical_same: float = 1.5
    # With the lexicon (rag/lexicon.py), lexical evidence across languages is the share of
    # the question's words a passage holds through it, with this weight instead of
    # `weight_lexical` (bench/fit_decisions.py --lexicon, the other weights as above).
    weight_translated: float = 0.5
    # Match English and Turkish words through the Turkish-English lexicon (rag/lexicon.py)
    # when its optional package is installed (`kaynak[lexicon]`, GPL-3.0); off: never, and
    # Kaynak decides exactly as without the package.
    lexicon: bool = True
    # Candidates without stored e5 vectors (just ingested) embedded on demand per question
    # (two e5 passes each, 20-35 passages/s): the best few by USE and lexical evidence.
    relevance_depth: int = 5
    chroma_url: str = ""
    collection: str = "kaynak"
    # "none" (extractive answers), "ollama:MODEL", "openai:MODEL", "llamacpp:PATH.gguf".
    llm: str = "none"
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_temperature: float = 0.0
    k: int = 5
    # Without a relevance model: below this score (USE + lexical_weight x lexical) the sources
    # are judged not to answer (set on the bundled article's team set, bench/questions.jsonl).
    min_score: float = 0.23
    # Weight of lexical evidence in that score (by hand on the team set, commit b5c7d74).
    lexical_weight: float = 0.3
    # Passages quoted after the first must score within this share of the best one's fused
    # score (bench/fit_decisions.py, xquad-dev).
    answer_margin: float = 0.1
    max_answer_passages: int = 3
    # With the lexicon, a passage quoted after the first must hold every name of the question
    # the first holds, and at least this share of the question's content the first holds
    # (bench/fit_decisions.py --lexicon, with the margin, on xquad-dev).
    quote_coverage: float = 0.25
    # The citation check (rag/citations.py), fitted by bench/verifier_xquad.py on XQuAD-dev
    # (766 questions, English and Turkish claims; GroupKFold by article; docs/benchmarks.md;
    # within the bounds bench/verifier.py's hand-written pairs set, see GRID there):
    # a claim's agreement (USE similarity with the best sentence of the passage it cites) plus
    # `support_weight` x its alignment (how well its worst-found phrase matches a word or two
    # of the passage) must reach `support_threshold`; that alignment must reach
    # `support_align` across languages and `support_align_same` within one; leaving out one of
    # its phrases may raise agreement at most `support_phrase` of what is left to 1 (more: the
    # passage does not say that phrase); a name not spelled alike around the passage must match
    # a word or two of it with similarity `support_names` (its translation does); another
    # retrieved passage must match better by `support_margin` for the citation to count as
    # wrong (fitted: never; set to move a wrong citation to the passage that says it, which
    # costs no lie on that data).
    support_threshold: float = 1.025
    support_weight: float = 1.0
    support_phrase: float = 0.3
    support_margin: float = 0.025
    support_align: float = 0.4
    support_align_same: float = 0.7
    support_names: float = 0.55
    # With the Turkish-English lexicon (`lexicon` above, when installed), a claim in English or
    # Turkish citing a passage in the other language must have at least this share of its
    # content words found in the passage and the text around it, spelled alike or through a
    # dictionary translation (rag/matching `Words`); not applied without the lexicon.
    # Fitted out-of-fold (GroupKFold by article, the other numbers above held) by
    # bench/verifier_xquad.py on XQuAD-dev; see bench/results/verifier_xquad.json.
    support_words: float = 0.3
    # ... and, instead of `support_align`, the alignment of its worst-found phrase among those
    # whose words the lexicon does not find translated in the passage must reach this (a
    # phrase swapped in from another story rarely has a translation there). Fitted with
    # `support_words`, the same way.
    support_align_translated: float = 0.4
    # Names are looked for in a passage with the text around it in its source (names often
    # come a sentence or two before): this many characters before it and after it. Set by hand
    # with the name checks; bench/xquad.py measures them on XQuAD dev.
    context_before: int = 400
    context_after: int = 150
    # The abstain decision looks for the question's names around this many of the best
    # passages, and takes two names for translations of each other (India/Hindistan) at this
    # multilingual (USE) similarity; calibrated in bench/verifier.py on hand-labelled pairs.
    name_passages: int = 5
    name_similarity: float = 0.67
    max_chunk_chars: int = 600
    max_file_bytes: int = 20_000_000
    max_question_chars: int = 2_000
    url_timeout: float = 15.0
    allow_private_urls: bool = False
    progress: bool = True
    # CPU threads per embedding model (KAYNAK_THREADS); more than the cores only adds contention.
    threads: int = min(2, os.cpu_count() or 1)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then KAYNAK_<FIELD> variables, then keyword overrides."""
        env = dict(os.environ if env is None else env)
        for name, instead in _RETIRED.items():
            if env.get(f"KAYNAK_{name.upper()}"):
                log.warning("KAYNAK_%s is no longer read: %s", name.upper(), instead)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"KAYNAK_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, f.default, raw)
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "home" in values:
            values["home"] = Path(values["home"]).expanduser()
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        settings = dataclasses.replace(self, **changes)
        settings.validate()
        return settings

    def ranking_weights(
        self, same_language: bool, translated: bool = False
    ) -> tuple[float, float, float, float]:
        """(USE, e5, e5 in context, lexical) for a passage in (or not in) the question's
        language; `translated`: lexical evidence across languages comes through the lexicon."""
        if same_language:
            return (
                self.weight_use_same,
                self.weight_e5_same,
                self.weight_e5_context_same,
                self.weight_lexical_same,
            )
        lexical = self.weight_translated if translated else self.weight_lexical
        return self.weight_use, self.weight_e5, self.weight_e5_context, lexical

    def validate(self) -> None:
        if not 1 <= self.k <= MAX_K:
            raise ConfigError(f"k must be between 1 and {MAX_K}, not {self.k}")
        if self.chroma_url and not self.chroma_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"KAYNAK_CHROMA_URL must look like http://127.0.0.1:8000, not {self.chroma_url!r}"
            )
        if self.max_chunk_chars < MIN_CHUNK_CHARS:
            raise ConfigError(f"max_chunk_chars must be at least {MIN_CHUNK_CHARS}")


def _coerce(name: str, default: Any, raw: str) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
    except ValueError:
        raise ConfigError(
            f"KAYNAK_{name.upper()}={raw!r} is not a valid {type(default).__name__}"
        ) from None
    return raw
