# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Benchmarks run in their own venv: it adds the peer watermarks we compare against
# (benchmarks/requirements.txt), which must not become project dependencies.
BENCH_VENV := .venv-bench
BENCH_BIN  := $(BENCH_VENV)/bin

.PHONY: demo test lint bench bench-setup setup

demo: setup
	$(BIN)/python -m vault.demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: bench-setup
	$(BENCH_BIN)/python benchmarks/bench_storage.py
	$(BENCH_BIN)/python benchmarks/bench_audit.py
	$(BENCH_BIN)/python benchmarks/bench_watermark.py
	$(BENCH_BIN)/python benchmarks/bench_swap.py
	$(BENCH_BIN)/python benchmarks/bench_render.py
	$(BENCH_BIN)/python benchmarks/bench_render.py --seconds 12
	$(BENCH_BIN)/python benchmarks/bench_trace.py
	$(BENCH_BIN)/python benchmarks/bench_leaks.py
	$(BENCH_BIN)/python benchmarks/bench_script.py

setup: $(VENV)/.installed

# torch 2.13.0 first: on these machines it is a CPU build from local disk, and with it
# installed the `torch>=2.3` requirement is already met, so no CUDA build is downloaded.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

bench-setup: $(BENCH_VENV)/.installed

# Same torch-first order as above, then the project without extras, then the peers with
# --no-deps: they declare opencv-python, which would clobber our headless cv2 (see
# benchmarks/requirements.txt, which lists their remaining dependencies explicitly).
$(BENCH_VENV)/.installed: pyproject.toml benchmarks/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/pip install --quiet --upgrade pip
	$(BENCH_BIN)/pip install --quiet torch==2.13.0
	$(BENCH_BIN)/pip install --quiet -e .
	$(BENCH_BIN)/pip install --quiet --no-deps -r benchmarks/requirements.txt
	$(BENCH_BIN)/python -c "import cv2, imwatermark, blind_watermark, watermark"
	touch $@
