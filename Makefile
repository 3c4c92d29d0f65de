# hrapi: `make run` starts the API, `make test` runs the test suite. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
DATA_DIR ?= fixtures

export PORT HOST

.PHONY: install run stack test lint seed fixtures backup bench fuzz clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/gunicorn -c python:hrapi.gunicorn_conf 'hrapi:create_app()'

stack: install
	$(BIN)/python -m hrapi.stack

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

seed: install
	$(BIN)/hrapi seed $(DATA_DIR) $(SEED_ARGS)

backup: install
	$(BIN)/hrapi backup

bench: install
	$(BIN)/python -m tests.benchmark

fuzz: install
	HRAPI_FUZZ_EXAMPLES=$${HRAPI_FUZZ_EXAMPLES:-300} $(BIN)/pytest tests/test_fuzz.py -q

fixtures: install
	$(BIN)/hrapi generate-fixtures fixtures

clean:
	rm -rf $(VENV) .hrapi .pytest_cache .ruff_cache build dist src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
