# Common steps. A fresh clone needs only python3 (3.11+), make and node/npm:
#   make run    virtualenv, dependencies, front-end assets, database, demo data, dev server
#   make test   virtualenv, dependencies, front-end assets (axe-core for the browser tests), the test suite
# Everything installs into the work tree (.venv/, node_modules/, static/vendor/).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# Stamps: reinstall only when the files that describe the dependencies change.
PY_STAMP := $(VENV)/.installed
ASSETS_STAMP := static/vendor/.installed

.PHONY: run install assets test lint format migrations-check api-fuzz worker beat clean

run: install assets
	$(MANAGE) migrate --noinput
	$(MANAGE) setup_demo_if_empty
	$(MANAGE) runserver $(HOST):$(PORT)

install: $(PY_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[dev]"
	touch $@

assets: $(ASSETS_STAMP)

# The vendor script empties static/vendor/ first, so the stamp is written after it.
$(ASSETS_STAMP): package.json package-lock.json scripts/vendor.mjs
	npm ci --no-audit --no-fund
	npm run vendor
	touch $@

test: install assets
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(MANAGE) makemigrations --check --dry-run

# schemathesis against a live server on a fresh demo database (scripts/api-fuzz.sh).
api-fuzz: install assets
	scripts/api-fuzz.sh

# Worker and beat need a broker; the web process must use the same one (export
# CELERY_BROKER_URL for `make run` too), otherwise it runs tasks in-process.
worker beat: export CELERY_BROKER_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)

worker: install
	$(BIN)/celery -A governance worker -l info

beat: install
	$(BIN)/celery -A governance beat -l info --schedule $(VENV)/celerybeat-schedule

# Keeps db.sqlite3 and media/: they hold data, not build output.
clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles .pytest_cache .ruff_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
