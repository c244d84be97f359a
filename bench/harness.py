"""Running Kaynak as a user does: the `kaynak` command, the page, Chromium. Shared by tests/
(as `bench.harness`: pytest puts the repository root on sys.path) and the benchmark scripts
(as `harness`: they run with bench/ on sys.path and cannot import the tests package)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.config import OFFLINE_ENV  # noqa: E402

_T = TypeVar("_T")

BIN = Path(sys.executable).parent  # the venv's bin/: `kaynak`, `chroma`
CHROMIUM = "/usr/bin/chromium"  # Debian's; `playwright install` is never needed
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kaynak_env(home: str | Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without its KAYNAK_* settings (an LLM or another home
    would change what Kaynak does), offline, with KAYNAK_HOME=`home` and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAYNAK_")}
    env.update(OFFLINE_ENV)
    if home is not None:
        env["KAYNAK_HOME"] = str(home)
    env.update(extra)
    return env


def run_kaynak(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The `kaynak` command of this venv, run for real in the repository folder."""
    return subprocess.run(  # the caller reads the exit code
        [str(BIN / "kaynak"), *args],
        check=False,
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until(predicate: Callable[[], _T], timeout: float, what: str, every: float = 0.1) -> _T:
    """Call `predicate` until it returns something true, and return that; a TimeoutError
    that names `what` if `timeout` seconds pass first. Tests wait on what they need to see,
    never for a fixed time: a fast machine does not wait longer than it must, and a slow one
    fails with the reason instead of asserting too early."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


def wait_for_http(
    url: str, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None
) -> None:
    """Return once `url` answers below 500; fail early if `proc` exits first."""
    import httpx

    def answers() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            return httpx.get(url, timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(answers, timeout, f"{url} answering", every=0.25)


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def start_page(
    env: dict[str, str], log: str | Path | None = None
) -> tuple[subprocess.Popen[Any], str, float]:
    """`kaynak ui` on a free port with `env`, waited for until the page answers: the
    process, its URL and the seconds that took. Output goes to `log` (or nowhere)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "kaynak"), "ui", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(url, timeout=120, proc=proc)  # models load, corpus ingested
    except (RuntimeError, TimeoutError) as exc:
        stop(proc)
        tail = Path(log).read_text(errors="replace")[-3000:] if log else ""
        raise RuntimeError(f"kaynak ui did not start: {exc}\n{tail}") from None
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    return proc, url, time.perf_counter() - started


def page_client(env: dict[str, str]) -> tuple[subprocess.Popen[Any], Any]:
    """`kaynak ui` with `env` (see start_page), and a gradio_client talking to it."""
    from gradio_client import Client

    proc, url, _ = start_page(env)
    return proc, Client(url, verbose=False)


def ask_page(
    client: Any, question: str, answerer: str = "Extractive (quotes the sources)"
) -> tuple[str, str]:
    """Ask through the page's own handler: the chat's last answer and the sources panel."""
    chat, sources, _ = client.predict(question, 5, answerer, api_name="/ask")
    return chat[-1]["content"][0]["text"], sources


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, with nothing that talks to Google."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


_ASK_ALL = """
import json, sys
from rag import Assistant
bot = Assistant(progress=False)
out = []
for question in json.load(sys.stdin):
    a = bot.ask(question)
    out.append({"question": question, "text": a.text, "abstained": a.abstained,
                "citations": [[c.doc_id, c.start, c.end, c.quote] for c in a.citations]})
print(json.dumps(out, ensure_ascii=False))
"""


def answers_of(env: dict[str, str], questions: list[str], timeout: float = 600) -> list[Any]:
    """Each question asked of the index that `env` names, in a process of its own (as a user
    would see it after a restart): text, abstained, and each citation's (doc, start, end,
    quote)."""
    import json

    done = subprocess.run(
        [sys.executable, "-c", _ASK_ALL],
        check=False,
        env=env,
        cwd=ROOT,
        input=json.dumps(questions),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"asking failed:\n{done.stderr[-3000:]}")
    return list(json.loads(done.stdout))


def start_chroma(path: str | Path, port: int | None = None) -> tuple[subprocess.Popen[Any], str]:
    """A real Chroma server (`chroma run`) on `path`, on a free loopback port unless given;
    waited for until it answers. The process and its URL."""
    port = port or free_port()
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
        env={**os.environ, **OFFLINE_ENV},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/v2/heartbeat", timeout=90, proc=proc)
    except (RuntimeError, TimeoutError):
        stop(proc)
        raise
    return proc, url
