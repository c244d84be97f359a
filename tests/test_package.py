"""The package as a user installs it: the wheel built from this tree, installed into a fresh
virtual environment outside the clone, asked a question from an empty folder.

The fresh environment reuses the test environment's installed dependencies (a .pth file names
its site-packages) so that it installs in seconds; Kaynak itself comes only from the wheel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from bench.harness import ROOT, kaynak_env

pytestmark = pytest.mark.slow
ARTICLE = "canada-japan-intelligence-talks.tr"


def _run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=600, check=False, **kwargs
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of a copy of the tree (a build in place could pick up stale build/ files)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ["pyproject.toml", "README.md"]:
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ["rag", "ui", "corpus"]:  # rag/corpus stays a link to corpus/, as in git
        shutil.copytree(ROOT / folder, src / folder, symlinks=True, ignore=ignore)
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", tmp / "dist", src,
    )  # fmt: skip
    (built,) = (tmp / "dist").glob("kaynak-*.whl")
    return built


def test_the_wheel_carries_the_fitted_model_and_the_bundled_article(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "rag/abstain.json" in names
    assert {f"rag/corpus/{ARTICLE}.txt", f"rag/corpus/{ARTICLE}.meta.toml"} <= names
    assert "ui/app.py" in names and "rag/mcp_server.py" in names
    packaged = zipfile.ZipFile(wheel).read(f"rag/corpus/{ARTICLE}.txt")
    assert packaged == (ROOT / "corpus" / f"{ARTICLE}.txt").read_bytes()


def test_an_installed_wheel_answers_from_an_empty_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # the test environment's dependencies, reused; its own (editable) Kaynak is not on this path
    Path(site.stdout.strip(), "reused-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    _run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)

    empty = tmp_path / "somewhere"
    empty.mkdir()
    env = kaynak_env()  # no KAYNAK_HOME: the default, .kaynak in the current folder
    version = _run(venv / "bin" / "kaynak", "--version", cwd=empty, env=env)
    assert version.stdout.strip() == "kaynak 0.1.0"

    asked = _run(venv / "bin" / "kaynak", "ask", "What did Joly say?", "--json", cwd=empty, env=env)
    answer = json.loads(asked.stdout)
    assert not answer["abstained"] and "[1]" in answer["text"]
    assert (empty / ".kaynak").is_dir()
    installed = Path(site.stdout.strip()).resolve()
    for c in answer["citations"]:
        # the article came from the installed package, not from the clone
        assert Path(c["path"]).is_relative_to(installed), c["path"]
    check = (
        "import json, sys; from rag import Assistant; bot = Assistant(); "
        "cites = json.load(sys.stdin)['citations']; "
        "print(all(bot.source_text(c['doc_id'])[c['start']:c['end']] == c['quote'] "
        "for c in cites), len(cites))"
    )
    quotes = _run(python, "-c", check, cwd=empty, env=env, input=asked.stdout)
    assert quotes.stdout.split() == ["True", str(len(answer["citations"]))]
    assert any("Joly" in c["quote"] for c in answer["citations"])
