# Studio Billing. Quick start: `make run`, `make test`.
SHELL := /bin/bash
PYTHON := .venv/bin/python
export DJANGO_ALLOW_ASYNC_UNSAFE := true

.PHONY: run test lint fmt setup venv database browser pango wrk bench check soak

venv:
	@command -v uv >/dev/null || python3 -m pip install --quiet uv
	@uv sync --frozen --quiet --python python3

database:
	@bash scripts/ensure_postgres.sh

browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# WeasyPrint (the PDFs) needs Debian's Pango, and HarfBuzz's subsetter to embed only the letters a PDF uses (without
# it WeasyPrint falls back to fontTools: a one-page credit note takes twice as long).
PANGO_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
pango:
	@(ldconfig -p | grep -q libpangoft2-1.0 && ldconfig -p | grep -q libharfbuzz-subset) || (apt-get update -qq && apt-get install -y -qq $(PANGO_PACKAGES) >/dev/null)

wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)

setup: venv database pango
	@$(PYTHON) manage.py migrate --no-input -v 0

run: setup
	@$(PYTHON) manage.py seed_demo
	.venv/bin/honcho start -f Procfile

# Lint, format check and the layers (import-linter) before the suite: CI fails on any of them.
lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

test: lint database browser pango
	$(PYTHON) manage.py makemigrations --check --dry-run -v 0
	$(PYTHON) -m pytest

fmt: venv
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

# The long version of the hardening suite (README, "Reliability"): the ledger state machine at 1,000 examples
# and 1,000 racing HTTP requests instead of 100. Any failure prints the seed that replays it.
soak: venv database
	LEDGER_EXAMPLES=1000 SOAK_REQUESTS=500 $(PYTHON) -m pytest tests/test_ledger_model.py tests/security/test_http_concurrency.py -rA

check: setup
	$(PYTHON) manage.py check_ledger

# `make bench` (1,000,000 customers) or `make bench SIZE=small` (100,000); see README › Performance.
bench: setup wrk
	BENCH_SIZE=$(or $(SIZE),$(BENCH_SIZE),full) $(PYTHON) -m bench
