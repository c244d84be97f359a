"""Shared fixtures: a store with the bundled corpus, fresh homes, and a real Chroma server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
for key in [k for k in os.environ if k.startswith("KAYNAK_")]:
    del os.environ[key]  # tests set what they need

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "bench" / "questions.jsonl"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def run_kaynak(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """The `kaynak` command of this venv, run for real in the repository folder."""
    return subprocess.run(
        [str(BIN / "kaynak"), *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def kaynak_env(home: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its KAYNAK_* settings, for a `kaynak` on `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAYNAK_")}
    env["KAYNAK_HOME"] = str(home)
    env.update({f"KAYNAK_{k.upper()}": v for k, v in settings.items()})
    return env


def start_page(env: dict[str, str]):  # type: ignore[no-untyped-def]
    """`kaynak ui` on a free port with `env`; returns the process and a gradio_client."""
    from gradio_client import Client

    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "kaynak"), "ui", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_http(f"http://127.0.0.1:{port}/", timeout=180, proc=proc)
    return proc, Client(f"http://127.0.0.1:{port}/", verbose=False)


def ask_page(client, question: str, answerer: str = "Extractive (quotes the sources)"):  # type: ignore[no-untyped-def]
    """Ask through the page's own handler; the chat's last answer and the sources panel."""
    chat, sources, _ = client.predict(question, [], 5, answerer, api_name="/ask")
    return chat[-1]["content"][0]["text"], sources


@pytest.fixture(scope="session")
def bot(tmp_path_factory):
    """An Assistant whose store holds the bundled corpus (shared; do not write to it)."""
    from rag import Assistant

    assistant = Assistant(home=tmp_path_factory.mktemp("home"), progress=False)
    report = assistant.ingest([CORPUS])
    assert len(report.added) == 1
    return assistant


@pytest.fixture
def fresh(tmp_path):
    """A new, empty Assistant of its own."""
    from rag import Assistant

    return Assistant(home=tmp_path / "home", progress=False)


@pytest.fixture(scope="session")
def questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server (`chroma run`) on a free loopback port; yields its URL."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [
            str(BIN / "chroma"),
            "run",
            "--path",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/v2/heartbeat", timeout=90, proc=proc)
        yield url
    finally:
        stop(proc)
