# zoomaudit — `make help` lists the targets. Works on a fresh machine with python3 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,notebooks]"
	@touch $@ $(VENV)/.installed-run

.PHONY: help install dev demo test test-fast lint format bench clean

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed-run ## create .venv and install the kit

dev: $(VENV)/.installed-dev ## create .venv and install the kit with dev + notebook extras

demo: $(VENV)/.installed-run ## run the whole audit on the built-in demo tenant (emulator)
	$(BIN)/zoomaudit demo

test: $(VENV)/.installed-dev ## install with dev extras and run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed-dev ## the suite without slow, notebook and browser tests
	$(BIN)/python -m pytest -m "not slow and not notebooks and not browser" $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev ## ruff lint + format check (notebooks included) and stripped notebooks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q tests/test_repository.py

format: $(VENV)/.installed-dev ## format code and strip notebook outputs
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/nbstripout notebooks/*.ipynb

bench: $(VENV)/.installed-dev ## run the benchmarks (minutes; results in bench/RESULTS.md)
	$(BIN)/python bench/run_all.py

clean: ## remove the virtualenv and caches (keeps data/ and reports/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
