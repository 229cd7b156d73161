# Two commands do everything: `make train` and `make test`.
# Both create .venv on first use and (re)install the package when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: train test test-min gpu-check lint format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/sr-lightning fit --config examples/configs/quickstart.yaml

test: $(STAMP)
	$(BIN)/python -m pytest sr_lightning tests

# The same tests in .venv-min, where every dependency is pinned to its lower bound in pyproject.toml.
MIN_VENV := .venv-min
MIN_STAMP := $(MIN_VENV)/.installed

$(MIN_STAMP): pyproject.toml .ci/min_constraints.py
	test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --upgrade pip
	$(MIN_VENV)/bin/python .ci/min_constraints.py pyproject.toml > $(MIN_VENV)/constraints.txt
	$(MIN_VENV)/bin/pip install -e '.[dev]' -c $(MIN_VENV)/constraints.txt
	touch $(MIN_STAMP)

test-min: $(MIN_STAMP)
	$(MIN_VENV)/bin/python -m pytest sr_lightning tests

# Everything that needs a CUDA GPU (tests marked `gpu`, a precision x layout throughput table); fails without one.
gpu-check: $(STAMP)
	$(BIN)/python benchmarks/gpu_check.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf runs lightning_logs .pytest_cache
