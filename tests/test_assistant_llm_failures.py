"""A language model that fails gives the extractive answer with a note on why, never a
traceback: a real OpenAI-compatible endpoint that is down (a closed loopback port), and tiny
loopback servers that drop the connection mid-stream, answer nothing, or never answer."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_openai import ChatOpenAI

from rag.answering import make_llm

from .conftest import ask_page, free_port, kaynak_env, page_client, run_kaynak, stop

QUESTION = "Who did Joly meet in Tokyo?"


def _event(content: str, finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "test",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    behaviour = "drop"

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.behaviour == "hang":
            # no answer while the test runs: the client's own timeout must end the wait (had
            # it not, the request would end after a minute and the test fail on the time)
            self.server.done.wait(60)  # type: ignore[attr-defined]
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        if self.behaviour == "drop":
            chunk(_event("Joly met Yoshimasa"))
            # the server goes away mid-answer: no end of the chunked body, no [DONE]
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        chunk(_event(""))  # "empty": a well-formed stream that says nothing
        chunk(_event("", finish="stop"))
        chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def server(request) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"behaviour": request.param})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.done = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.done.set()  # type: ignore[attr-defined]
        httpd.shutdown()
        httpd.server_close()


def _model(url: str, timeout: float = 10) -> ChatOpenAI:
    return ChatOpenAI(
        model="test", base_url=url, api_key="not-needed", timeout=timeout, max_retries=0
    )  # type: ignore[arg-type]


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # bound, then closed: nothing listens


def _assert_quoted_with_note(answer, why: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.answerer == "extractive" and not answer.abstained
    assert "Hayashi" in answer.citations[0].quote
    assert why in answer.note and "quoted instead" in answer.note


def test_an_unreachable_openai_endpoint_gives_quotes_and_a_note(bot, monkeypatch):
    llm = make_llm(bot.settings.replace(llm="openai:test", llm_base_url=_closed_port_url()))
    monkeypatch.setattr(bot, "llm", llm)
    _assert_quoted_with_note(bot.ask(QUESTION), "could not be reached")
    events = list(bot.stream(QUESTION))
    _assert_quoted_with_note(events[-1], "could not be reached")


@pytest.mark.parametrize("server", ["drop"], indirect=True)
def test_a_server_that_drops_the_connection_mid_stream(bot, monkeypatch, server):
    monkeypatch.setattr(bot, "llm", _model(server))
    events = list(bot.stream(QUESTION))
    assert "Joly met Yoshimasa" in events  # the model did start answering
    _assert_quoted_with_note(events[-1], "broke off mid-answer")
    assert "Joly met" not in events[-1].text  # the half answer is replaced, not kept


@pytest.mark.parametrize("server", ["empty"], indirect=True)
def test_a_model_that_returns_nothing(bot, monkeypatch, server):
    monkeypatch.setattr(bot, "llm", _model(server))
    _assert_quoted_with_note(bot.ask(QUESTION), "empty answer")


@pytest.mark.parametrize("server", ["hang"], indirect=True)
def test_a_model_that_does_not_answer_in_time(bot, monkeypatch, server):
    monkeypatch.setattr(bot, "llm", _model(server, timeout=1))
    started = time.monotonic()
    _assert_quoted_with_note(bot.ask(QUESTION), "did not answer in time")
    assert time.monotonic() - started < 20


def test_the_follow_up_rewriter_s_failure_is_logged(bot, monkeypatch, caplog):
    monkeypatch.setattr(bot, "llm", _model(_closed_port_url()))
    with caplog.at_level(logging.WARNING, logger="rag.chat"):
        answer = bot.ask("And Hayashi?", history=[("What did Joly say?", "Joly said ...")])
    assert any("could not rewrite the follow-up" in r.getMessage() for r in caplog.records)
    assert answer.standalone_question != "And Hayashi?"  # the rule still made it standalone
    assert "could not be reached" in answer.note


@pytest.mark.slow
def test_the_cli_shows_the_note_and_no_traceback(bot):
    env = kaynak_env(bot.settings.home, KAYNAK_PROGRESS="0")
    args = ["--llm", "openai:test", "--llm-base-url", _closed_port_url(), QUESTION]
    done = run_kaynak("ask", "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "could not be reached" in answer["note"] and answer["citations"]
    assert "Traceback" not in done.stderr
    plain = run_kaynak("ask", *args, env=env)
    assert "(note: The language model could not be reached" in plain.stdout
    assert "Traceback" not in plain.stderr


@pytest.mark.slow
def test_the_page_shows_the_note(tmp_path):
    env = kaynak_env(
        tmp_path / "home",
        KAYNAK_PROGRESS="0",
        KAYNAK_LLM="openai:test",
        KAYNAK_LLM_BASE_URL=_closed_port_url(),
    )
    proc, client = page_client(env)
    try:
        text, sources = ask_page(client, QUESTION, answerer="Language model")
        assert "Hayashi" in sources
        assert "could not be reached" in text and "quoted instead" in text
    finally:
        stop(proc)
