# Comradarr — `make help` lists the targets. Everything installs itself: uv is the only
# bootstrap, and it is fetched with pip when missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen
PYTEST_TIMEOUT ?= 180
GATEWAY_PORT ?= 8000

.PHONY: help bootstrap install run migrate test test-unit test-integration lint format schemas bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

bootstrap: ## install uv if it is missing
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

install: bootstrap ## install every package and the dev tools from uv.lock
	$(UV) sync --frozen --all-packages

run: install ## install, migrate and start everything in one process (embedded servers if unset)
	@echo "Starting Comradarr; the gateway answers on http://127.0.0.1:$(GATEWAY_PORT) (GET /health)."
	GATEWAY_PORT=$(GATEWAY_PORT) $(RUN) comradarr up

migrate: install ## apply database migrations and exit
	$(RUN) comradarr migrate

test: install ## the whole suite (unit + integration; embedded PostgreSQL/NATS unless TEST_* are set)
	$(RUN) pytest -m "not benchmark and not e2e" --timeout=$(PYTEST_TIMEOUT) \
		--cov=gatherarr --cov-report=term --cov-fail-under=85

test-unit: install ## unit tests only
	$(RUN) pytest -m unit

test-integration: install ## integration tests only (real PostgreSQL and NATS)
	$(RUN) pytest -m integration

lint: install ## ruff, format check, mypy (strict on libs/ and proto/), stale-schema check
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy --strict libs/*/src proto/src
	$(RUN) mypy services/*/src
	$(RUN) python -m comradarr_proto.generate --check

format: install ## apply ruff fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

schemas: install ## regenerate proto/generated (JSON Schema + AsyncAPI)
	$(RUN) python -m comradarr_proto.generate

bench: install ## benchmarks; each prints its figures as JSON
	$(RUN) pytest -m benchmark -s -q -p no:cacheprovider tests/benchmarks

clean: ## remove caches (not your data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .coverage
