# General Scheduler: `make run` starts the platform, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench soak migrate install screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# dramatiq-dashboard 0.4 pins dramatiq<2 but works with Dramatiq 2; install it without its pins.
	$(BIN)/pip install -q --no-deps 'dramatiq-dashboard==0.4.0'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m cli.devserver

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots

migrate: $(STAMP)
	$(BIN)/python -m cli migrate

bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "make bench drives the servers with wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench

soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
