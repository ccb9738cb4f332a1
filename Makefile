# Set-up and checks. `make demo` runs the main job; `make test` runs every check.
# torch is installed first (CPU build 2.13.0 unless a torch is already in the venv), and its
# installed version is written to a constraints file so pip never swaps in a multi-GB CUDA build.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
TORCH ?= torch==2.13.0
CONSTRAINTS := $(VENV)/constraints.txt
OUT ?= out

.PHONY: demo test lint typecheck unit docs bench clean chromium gpu-check

demo: $(VENV)/.demo-installed
	$(BIN)/aigc news-clip examples/data/usgs_significant_week.geojson -o $(OUT)/quake.mp4 --brand examples/brand/brand.toml
	$(BIN)/aigc news-clip examples/data/article_en.md -o $(OUT)/park.mp4 --aspect 16:9,9:16 --duration 45

# The Mandarin voice's own environment (TensorFlow 2.15, numpy 1) is built beside the venv, once;
# with AIGC_TEST_REQUIRE_ENVS=1 its tests fail rather than skip when it is missing.
test: $(VENV)/.all-installed chromium
	$(BIN)/aigc models fetch zh-fastspeech2
	AIGC_TEST_REQUIRE_ENVS=1 $(MAKE) lint typecheck unit docs

# The review page's browser test drives Debian's Chromium through playwright (the dev extra); never
# `playwright install` (it downloads a browser from a CDN).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium)

lint:
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

unit:
	$(BIN)/python -m pytest

docs:
	$(BIN)/mkdocs build --strict --site-dir site

bench: $(VENV)/.all-installed
	$(BIN)/python benchmarks/bench_import.py

# On a CUDA machine: the CUDA-only tests and `bench_scheduler.py --shapes full`, one report, $(OUT)/gpu-check.json
# (docs/gpu-check.md). Without CUDA it prints "gpu-check skipped: no CUDA device" and succeeds. The venv's python
# when there is one, else python3 (a GPU image's own); extra options in GPU_CHECK_ARGS.
gpu-check:
	$(if $(wildcard $(BIN)/python),$(BIN)/python,python3) tools/gpu_check.py --out $(OUT)/gpu-check.json $(GPU_CHECK_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(CONSTRAINTS): | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH)"
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__)" > $@

$(VENV)/.demo-installed: pyproject.toml $(CONSTRAINTS)
	$(PIP) install -c $(CONSTRAINTS) -e ".[voice,text,image,video,trust]"
	touch $@

$(VENV)/.all-installed: pyproject.toml $(CONSTRAINTS) tools/cpu_torchaudio.py
	$(PIP) install -c $(CONSTRAINTS) -e ".[all,dev,docs]"
	$(BIN)/python tools/cpu_torchaudio.py
	touch $@ $(VENV)/.demo-installed

clean:
	rm -rf $(VENV) site $(OUT) .mypy_cache .ruff_cache .pytest_cache
