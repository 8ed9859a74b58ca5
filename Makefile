# Two commands matter: `make run` (a working portal with demo data) and
# `make test` (the whole suite). Both create .venv and install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test install lint migrate demo clean

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

# Style, and the layers of the apps (the import-linter contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf .run staticfiles
