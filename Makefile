# Two commands do everything: `make train` and `make test`.
# Both create .venv on first use and (re)install the package when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: train test lint format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

train: $(STAMP)
	$(BIN)/sr-lightning fit --config examples/configs/quickstart.yaml

test: $(STAMP)
	$(BIN)/python -m pytest sr_lightning tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf runs lightning_logs .pytest_cache
