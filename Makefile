# OpenEMC developer commands (GNU make). `make run` and `make test` are the two that matter;
# both install what is missing first. Downloads are cached in CACHE_DIR and reused.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.11 is required; python3 is tried when python3.11 is not on PATH (and must be 3.11).
PY ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
VENV_STAMP := $(VENV)/.pyproject.sha256
CACHE_DIR ?= $(or $(EMC_CACHE_DIR),$(HOME)/.cache/openemc)
# The Python side reads its cache folder from EMC_CACHE_DIR: keep both in step.
export EMC_CACHE_DIR := $(CACHE_DIR)

.PHONY: help venv jars geoip dashboard browser setup run lint test bench clean

help:
	@echo "make run    install what is missing, start Kafka + collector + streams + warehouse + demo traffic"
	@echo "make test   install what is missing, lint (ruff, mypy), run the whole test suite"
	@echo "other: setup (venv jars geoip dashboard), venv, jars, geoip, dashboard, browser, lint, bench, clean (removes var/)"
	@echo "CACHE_DIR=$(CACHE_DIR)"

# (Re)built only when pyproject.toml changed: the stamp holds the hash it was built from.
venv:
	@command -v $(PY) >/dev/null 2>&1 || { \
	  echo "error: $(PY) not found. OpenEMC needs Python 3.11 (install python3.11 and" \
	       "python3.11-venv, or run: make PY=/path/to/python3.11 ...)" >&2; exit 1; }
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "error: OpenEMC needs Python 3.11 but $(PY) is $$($(PY) --version 2>&1)." \
	       "Install python3.11 (and python3.11-venv) or run: make PY=/path/to/python3.11 ..." >&2; \
	  exit 1; }
	@want="$$($(PY) -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"; \
	if [ -x $(VENV)/bin/python ] && [ "$$(cat $(VENV_STAMP) 2>/dev/null)" = "$$want" ]; then \
	  echo "[make] $(VENV) is up to date"; \
	else \
	  echo "[make] installing Python packages into $(VENV) ..."; \
	  { [ -x $(VENV)/bin/python ] || $(PY) -m venv $(VENV); } && \
	  $(VENV)/bin/python -m pip install -q -e '.[dev]' && \
	  echo "$$want" > $(VENV_STAMP); \
	fi

jars: venv
	@$(VENV)/bin/python -c 'from pathlib import Path; from emc.kafka_local import ensure_jars; print("[make] Kafka jars:", ensure_jars(Path("$(CACHE_DIR)")))'

geoip: venv
	@$(VENV)/bin/python -m emc.geoip_fetch

# The dashboard's front-end libraries from the npm registry (dashboard/package-lock.json), served
# locally by the warehouse; reinstalled only when the lock file changed.
DASHBOARD_STAMP := dashboard/node_modules/.package-lock.sha256
dashboard:
	@command -v npm >/dev/null 2>&1 || { echo "error: npm not found (install Node.js 20 and npm)" >&2; exit 1; }
	@want="$$(sha256sum dashboard/package-lock.json | cut -d' ' -f1)"; \
	if [ "$$(cat $(DASHBOARD_STAMP) 2>/dev/null)" = "$$want" ]; then \
	  echo "[make] dashboard/node_modules is up to date"; \
	else \
	  echo "[make] npm ci in dashboard/ ..." && \
	  (cd dashboard && npm ci --no-audit --no-fund --loglevel=error) && echo "$$want" > $(DASHBOARD_STAMP); \
	fi

# Debian's Chromium for the browser tests (never a browser downloaded by Playwright), and the
# npm Matomo tracking client (pinned, into the cache) for the tracker drop-in test.
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "[make] chromium: $$(command -v chromium)"; \
	else \
	  echo "[make] installing Debian's chromium ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@[ -d "$(CACHE_DIR)/npm/node_modules/matomo-tracker" ] || \
	  npm install --no-audit --no-fund --loglevel=error --prefix "$(CACHE_DIR)/npm" matomo-tracker@2.2.4

setup: venv jars geoip dashboard

run: setup
	$(VENV)/bin/emc up

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
test: setup browser lint
	@code=0; $(VENV)/bin/pytest -q -p no:cacheprovider || code=$$?; \
	if [ $$code -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; \
	exit $$code

bench: setup
	@if [ -f bench/run_all.py ]; then $(VENV)/bin/python -m bench.run_all; \
	else echo "[make] no benchmarks (bench/run_all.py) in this checkout"; fi

clean:
	rm -rf var/
