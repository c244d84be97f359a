# Two commands do everything on a fresh clone:
#   make run    set up, then open the Gradio page on the bundled corpus
#   make test   set up (with test tools and Chromium), then run every test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

.PHONY: run test setup setup-dev chat bench lint clean

$(VENV)/.ok: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -e '.[llm]'
	touch $@

# llama-cpp-python (for the real-LLM tests) compiles from source once; pip caches the wheel.
$(VENV)/.ok-dev: $(VENV)/.ok
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -q -e '.[llm,llamacpp,dev]'
	bash scripts/install-chromium.sh
	touch $@

setup: $(VENV)/.ok
setup-dev: $(VENV)/.ok-dev

run: setup
	$(VENV)/bin/kaynak ui

chat: setup
	$(VENV)/bin/kaynak chat

test: setup-dev
	$(PY) -m pytest -q -ra

bench: setup-dev
	$(PY) bench/run_all.py

lint: setup-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/mypy rag ui

clean:
	rm -rf $(VENV) .kaynak
