# The two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := run

.PHONY: run test lint format lock clean bench

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)." % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	touch $@

run: $(VENV)/.installed
	$(BIN)/flask migrate
	$(BIN)/flask seed-demo
	PORT=$(PORT) $(BIN)/python run.py

# On every core (pytest-xdist: one PostgreSQL database per worker, the browser journeys on one
# worker); TEST_WORKERS=0 runs in this process, e.g. with PYTEST_ARGS="tests/test_login.py".
TEST_WORKERS ?= auto
test: $(VENV)/.installed
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Timings at volume (not part of `make test`): BENCH_ARGS="--dossiers 20000" or --database-url.
bench: $(VENV)/.installed
	$(BIN)/python bench/backoffice_list.py $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-resolve the exact versions after a change of pyproject.toml (needs network access to PyPI).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--universal --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
