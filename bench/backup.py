"""How long `kaynak export` and `kaynak import` take, against rebuilding from the sources.

    .venv/bin/python bench/backup.py                     # the bundled article, and 10k chunks
    .venv/bin/python bench/backup.py --sizes article     # the article only (a minute)

For each corpus: ingest it into an index on disk, export that index to one file, import the
file into a real Chroma server (`chroma run`, started here), and, as the baseline, ingest the
same sources straight into that server. Every step is a `kaynak` command in its own process,
models' loading included. The article's index carries its e5 vectors; the 10k one is ingested
with `--vectors-later` (e5 at ~12 sentences/s would take a quarter of an hour), so its export
holds USE vectors only, and the baseline skips e5 too. For the article, the imported index
must give the same answers and citations as the original (`details.same_answers`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPUS, QUESTIONS, row, run_measured, write_result
from gen_corpus import generate
from harness import BIN, answers_of, kaynak_env, start_chroma, stop


def measure(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = run_measured([str(BIN / "kaynak"), *args], env=env)
    if done["returncode"] != 0:
        raise RuntimeError(f"kaynak {' '.join(args)} failed:\n{done['stderr'][-2000:]}")
    return done


def run_size(name: str, corpus: Path, url: str, tmp: Path) -> tuple[list[dict[str, Any]], dict]:
    later = [] if name == "article" else ["--vectors-later"]
    disk = kaynak_env(tmp / f"{name}-disk")
    ingest = measure("ingest", str(corpus), *later, env=disk)
    file = tmp / f"{name}.zip"
    export = measure("export", str(file), env=disk)
    server = kaynak_env(
        tmp / f"{name}-server", KAYNAK_CHROMA_URL=url, KAYNAK_COLLECTION=f"imported_{name}"
    )
    imported = measure("import", str(file), *later, env=server)
    rebuilt_env = kaynak_env(
        tmp / f"{name}-rebuilt", KAYNAK_CHROMA_URL=url, KAYNAK_COLLECTION=f"rebuilt_{name}"
    )
    rebuilt = measure("ingest", str(corpus), *later, env=rebuilt_env)
    details: dict[str, Any] = {
        "export_file_mb": round(file.stat().st_size / 2**20, 2),
        "ingest_to_disk_ms": ingest["ms"],
        "export_stdout": export["stdout"].strip(),
        "import_stdout": imported["stdout"].strip(),
    }
    if name == "article":
        questions = [
            json.loads(line)["question"]
            for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
            if line
        ][:20]
        details["same_answers"] = answers_of(disk, questions) == answers_of(server, questions)
    group = f"{name}: {details['export_stdout'].split(' to ')[0].removeprefix('exported ')}"
    rows = [
        row("export (ms)", export["ms"], group=group, note="index on disk -> one file"),
        row(
            "import into a Chroma server (ms)",
            imported["ms"],
            baseline=rebuilt["ms"],
            group=group,
            note="baseline: ingest the sources into the same server",
        ),
        row("export file (MB)", details["export_file_mb"], group=group),
    ]
    return rows, details


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="article,10000", help="'article' and/or chunk counts")
    args = p.parse_args()
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kaynak-backup-") as name:
        tmp = Path(name)
        server, url = start_chroma(tmp / "server")
        try:
            for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
                corpus = CORPUS if size == "article" else Path(generate(int(size))["path"])
                label = size if size == "article" else f"n{size}"
                print(f"{label} ...", flush=True)
                got, details[label] = run_size(label, corpus, url, tmp)
                rows += got
        finally:
            stop(server)
    write_result(
        "backup",
        rows,
        baseline="rebuilding from the sources",
        note="each step a `kaynak` command in its own process, models' loading included",
        details=details,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
