# Studio Billing. Quick start: `make run`, `make test`.
SHELL := /bin/bash
PYTHON := .venv/bin/python
export DJANGO_ALLOW_ASYNC_UNSAFE := true

.PHONY: run test setup venv database browser bench check

venv:
	@command -v uv >/dev/null || python3 -m pip install --quiet uv
	@uv sync --frozen --quiet --python python3

database:
	@bash scripts/ensure_postgres.sh

browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

setup: venv database
	@$(PYTHON) manage.py migrate --no-input -v 0

run: setup
	@$(PYTHON) manage.py seed_demo
	$(PYTHON) manage.py runserver 127.0.0.1:8000

test: venv database browser
	$(PYTHON) -m pytest

check: setup
	$(PYTHON) manage.py check_ledger

bench: setup
	$(PYTHON) -m bench
