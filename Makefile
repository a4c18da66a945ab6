# Two commands for a newcomer: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: setup run test lint unit integration clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip check
	touch $(STAMP)

setup: $(STAMP)

run: setup  ## Embedded broker + worker + sample stream, alerts shown live (ARGS="--duration 120")
	$(VENV)/bin/churn-detector run $(ARGS)

test: setup  ## The whole test suite (unit, agent, over-the-wire integration)
	$(PY) -m pytest $(PYTEST_ARGS)

unit: setup
	$(PY) -m pytest -m 'not integration and not model' $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check detector models streams tests
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
