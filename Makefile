# Two commands do everything on a fresh clone:
#   make run    set up, then open the Gradio page on the bundled corpus
#   make test   set up (with test tools and Chromium), then lint (ruff, mypy) and run every test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

.PHONY: run test setup setup-dev setup-bench chat bench bench-quick screenshot lint clean

$(VENV)/.ok: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -e '.[llm,mcp,lexicon]'
	$(PY) -c "from pathlib import Path; from rag import lexicon; lexicon.load(Path('.kaynak'))"
	touch $@

# llama-cpp-python (for the real-LLM tests) compiles from source once; pip caches the wheel.
$(VENV)/.ok-dev: $(VENV)/.ok
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q -e '.[llm,mcp,lexicon,llamacpp,dev]'
	bash scripts/install-chromium.sh
	touch $@

# What the benchmark scripts import besides Kaynak itself (the `bench` extra).
$(VENV)/.ok-bench: $(VENV)/.ok
	$(PIP) install -q -e '.[llm,mcp,lexicon,bench]'
	touch $@

setup: $(VENV)/.ok
setup-dev: $(VENV)/.ok-dev
setup-bench: $(VENV)/.ok-bench

run: setup
	$(VENV)/bin/kaynak ui

chat: setup
	$(VENV)/bin/kaynak chat

# Lint first: CI runs this target, so a lint error fails CI as a failing test does.
test: lint
	$(PY) -m pytest -q -ra

# Every benchmark writes bench/results/NAME.json; bench/render.py rebuilds docs/benchmarks.md
# from those files and bench/templates/. bench-quick (a few minutes): the bundled article only.
bench-quick: setup-bench
	$(PY) bench/bench_baseline.py
	$(PY) bench/render.py

# Hours on 2 cores (the 100k-chunk scale run). fit_decisions refits rag/abstain.json on
# xquad-dev and reports its out-of-fold numbers (review the diff before committing it).
bench: setup-bench
	$(PY) bench/bench_baseline.py
	$(PY) bench/verifier.py
	$(PY) bench/xquad.py
	$(PY) bench/fit_decisions.py
	$(PY) bench/verifier_xquad.py --before
	$(PY) bench/scale.py --sizes 1000,10000,100000
	$(PY) bench/backup.py
	$(PY) bench/render.py

# The README's picture: the browser test's screenshot, kept.
screenshot: setup-dev
	$(PY) -m pytest -q tests/test_ui.py -k highlights --screenshot docs/screenshot.png

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy rag ui

clean:
	rm -rf $(VENV) .kaynak
