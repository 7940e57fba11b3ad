# The two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := run

.PHONY: run test lint format lock clean bench bench-full bench-list bench-annexes bench-receipts bench-portal bench-exports bench-submissions i18n translations

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)." % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	touch $@

# The compiled catalogues (.mo) are made from the committed .po files by every set-up.
translations: $(VENV)/.installed
	@$(BIN)/pybabel compile --use-fuzzy -d translations --statistics 2>&1 | grep -v "^compiling" || true

# Extract the texts of the code and templates (French, the source language) and update every
# catalogue; then translate the new entries of translations/<lang>/LC_MESSAGES/messages.po.
i18n: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--ignore-dirs=".* _* .venv tests bench migrations instance" -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d translations --statistics

run: $(VENV)/.installed translations
	$(BIN)/flask migrate
	$(BIN)/flask seed-demo
	PORT=$(PORT) $(BIN)/python run.py

# On every core (pytest-xdist: one PostgreSQL database per worker, the browser journeys on one
# worker); TEST_WORKERS=0 runs in this process, e.g. with PYTEST_ARGS="tests/test_login.py".
TEST_WORKERS ?= auto
test: $(VENV)/.installed translations
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Timings at volume (not part of `make test`), every bench in one run, appended to
# bench/RESULTS.md with the goals as its last lines: BENCH_ARGS="--dossiers 20000" or
# "--only backoffice_list portal". The end-to-end bench needs PostgreSQL and Redis.
bench: $(VENV)/.installed translations
	$(BIN)/python bench/all.py $(BENCH_ARGS)

# One bench alone: `make bench-list`, `bench-portal`, `bench-receipts`, `bench-annexes`, ...
bench-list: $(VENV)/.installed translations
	$(BIN)/python bench/backoffice_list.py $(BENCH_ARGS)

bench-annexes: $(VENV)/.installed translations
	$(BIN)/python bench/annexes.py $(BENCH_ARGS)

# Sealed receipts: wall and CPU time per receipt, receipts per second (not part of `make test`):
# BENCH_ARGS="--receipts 200 --processes 2" or --database-url postgresql://...
bench-receipts: $(VENV)/.installed translations
	$(BIN)/python bench/receipts.py $(BENCH_ARGS)

# The portal as a logged-in company user meets it: "Mes dossiers" of a company with 5,000
# dossiers, and the home's requests/s under gunicorn against a bare Flask app (ratio):
# BENCH_ARGS="--dossiers 20000 --profile" or --database-url postgresql://...
bench-portal: $(VENV)/.installed translations
	$(BIN)/python bench/portal_pages.py $(BENCH_ARGS)

# Every bench at the size of the issue: a million dossiers on PostgreSQL (the database is
# created when missing; its schema is dropped and rebuilt). Seeding alone takes minutes.
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/guichet_bench
bench-full: $(VENV)/.installed translations
	$(BIN)/python bench/all.py --dossiers 1000000 --database-url $(BENCH_DATABASE_URL) $(BENCH_ARGS)

bench-exports: $(VENV)/.installed translations
	$(BIN)/python bench/exports.py $(BENCH_ARGS)

# Signed submissions end to end over HTTP: gunicorn, PostgreSQL, Redis and `flask worker`
# processes started here; submissions/s, the submit step's p95, the receipt's delay at 20/s
# (not part of `make test`). The database is made when missing, its schema dropped and rebuilt;
# BENCH_ARGS="--submissions 1000 --clients 16 --signers 100".
BENCH_SUBMIT_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/guichet_bench_submit
bench-submissions: $(VENV)/.installed translations
	$(BIN)/python bench/submissions.py --database-url $(BENCH_SUBMIT_DATABASE_URL) $(BENCH_ARGS)

# Style, then the supply chain: bandit fails on a high-severity finding, and pip-audit checks
# requirements.lock against PyPI's vulnerability service (it says NOT AUDITED, and fails unless
# AUDIT_OFFLINE_OK=1, where the service cannot be reached).
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet -c pyproject.toml -r . --severity-level high
	$(BIN)/python .ci/audit_dependencies.py

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
