# Every target works from a clean clone: the virtualenv is built from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BQEMU_VENV ?= .venv-bqemulator
BQEMU_STAMP := $(BQEMU_VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# The BigQuery emulator lives in its own virtualenv (see tests/bqemulator/requirements.txt).
$(BQEMU_STAMP): tests/bqemulator/requirements.txt
	$(PYTHON) -m venv $(BQEMU_VENV)
	$(BQEMU_VENV)/bin/python -m pip install -q -r tests/bqemulator/requirements.txt
	touch $(BQEMU_STAMP)

# Debian's chromium draws the status page in tests/serve (not on a new machine).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

demo: $(STAMP)
	$(BIN)/featmon demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint $(BQEMU_STAMP) $(CHROMIUM)
	FEATMON_BQEMULATOR_PYTHON=$(abspath $(BQEMU_VENV))/bin/python $(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/season.py

clean:
	rm -rf $(VENV) $(BQEMU_VENV) .featmon .pytest_cache .mypy_cache .ruff_cache
