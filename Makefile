# Two commands matter: `make run` (a working portal with demo data) and
# `make test` (the whole suite). Both create .venv and install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test test-future install lint migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Every link the portal writes uses SITE_URL: unless it is set, it follows PORT.
RUN_SITE_URL = $(or $(SITE_URL),http://127.0.0.1:$(PORT))

run: install
	DEBUG=1 SITE_URL=$(RUN_SITE_URL) $(BIN)/python manage.py migrate --noinput
	DEBUG=1 SITE_URL=$(RUN_SITE_URL) $(BIN)/python manage.py load_demo
	@echo
	@echo "  Coolhead: http://127.0.0.1:$(PORT)/   (Ctrl-C stops the web server, worker and beat)"
	@echo
	DEBUG=1 SITE_URL=$(RUN_SITE_URL) $(BIN)/python manage.py runportal --port $(PORT)

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite with the clock 400 days ahead: a test that pins a calendar date but reads
# something written at the real clock fails here today, not for everyone in a year.
# Tests with a real worker or browser keep the real clock in that process: left out
# (this -m replaces the one in addopts, so the drills are named again).
test-future: install
	$(BIN)/python -m pytest --clock-ahead-days=400 -m "not realclock and not drill" $(PYTEST_ARGS)

# The drills (README, Drills): the real web server, worker, PostgreSQL and a Redis of
# their own on 127.0.0.1, broken on purpose (Redis stopped and frozen, the worker
# killed, PostgreSQL cut off, bad webhook receivers); nothing lost, doubled or a 500.
# Needs PostgreSQL (DATABASE_URL, default the local one) and a free DRILL_REDIS_PORT.
DRILL_REDIS_PORT ?= 6393
.PHONY: drills
drills: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	REDIS_URL=redis://127.0.0.1:$(DRILL_REDIS_PORT)/0 \
	TEST_DB_SUFFIX=$${TEST_DB_SUFFIX:-_drills} \
	$(BIN)/python -m pytest -m drill tests/drills -p no:cacheprovider $(PYTEST_ARGS)

# Style, and the layers of the apps (the import-linter contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf .run staticfiles
