# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench setup

demo: setup
	$(BIN)/python -m vault.demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup
	$(BIN)/python benchmarks/bench_storage.py
	$(BIN)/python benchmarks/bench_audit.py

setup: $(VENV)/.installed

# torch 2.13.0 first: on these machines it is a CPU build from local disk, and with it
# installed the `torch>=2.3` requirement is already met, so no CUDA build is downloaded.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@
