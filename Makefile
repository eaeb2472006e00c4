# tradepipe: `make demo` and `make test` are the two set-up commands; both create .venv when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1


.PHONY: chaos
.PHONY: help install demo test browser wrk bench-compare test-unit test-integration test-e2e test-infra lint synth nag layers bench local clean check-packaging deploy

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install everything (runtime, local stack, infra, dev tools)

demo: $(STAMP) ## run the embedded stack, replay the bundled alerts, print what happened
	$(PY) -m tradepipe.cli demo

local: $(STAMP) ## run the whole pipeline on this machine until Ctrl-C
	$(PY) -m tradepipe.cli local

test: $(STAMP) lint browser check-packaging ## lint, the packaging check, then the whole suite (unit, integration, e2e, infra, browser, chaos)
	TRADEPIPE_CHAOS_ALERTS=300 $(PY) -m pytest

# Every function of the synthesized template imports and runs with only its own layers (built for this
# machine, cached in build/packaging-check/) and the runtime's boto3; then the arm64 layers' sizes.
check-packaging: $(STAMP) ## import + invoke each Lambda with only its layers; arm64 sizes vs 250 MB (PyPI, cached)
	$(PY) -m infra.checks.packaging

# The live-page test drives Debian's Chromium through playwright's executable_path; playwright never
# downloads a browser. Installed with apt-get when we are root (or have password-less sudo); otherwise a
# loud note, and the browser test skips with the same note.
browser: ## install Debian's chromium for the browser test when missing (apt-get, needs root)
	@if command -v chromium >/dev/null 2>&1; then \
		echo "browser test: $$(command -v chromium)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo "!!! NO CHROMIUM and no way to install it here (needs apt-get as root)."; \
		echo "!!! The live-page browser test (tests/browser) will be SKIPPED."; \
		echo "!!! Fix: sudo apt-get install -y chromium   (or set TRADEPIPE_CHROMIUM=/path/to/chromium)"; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	fi

chaos: $(STAMP) ## 2,000 alerts against a faulting broker with executor crashes (~25 min on 2 cores)
	TRADEPIPE_CHAOS_ALERTS=2000 $(PY) -m pytest tests/chaos -s -p no:logging

test-unit: $(STAMP) ## domain and contracts, no sockets
	$(PY) -m pytest tests/unit

test-integration: $(STAMP) ## handlers against moto, the paper broker and osmem
	$(PY) -m pytest tests/integration

test-e2e: $(STAMP) ## `tradepipe local` driven over HTTP
	$(PY) -m pytest tests/e2e

test-infra: $(STAMP) ## CDK template assertions
	$(PY) -m pytest tests/infra

lint: $(STAMP) ## ruff, mypy and the import contracts (pyproject.toml [tool.importlinter])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy src functions infra
	$(VENV)/bin/lint-imports --no-cache --no-logo

synth: $(STAMP) ## synthesize the CDK app offline into cdk.out/ (cdk-nag AwsSolutions on)
	$(PY) infra/app.py

nag: $(STAMP) ## synth with cdk-nag and CloudFormation template validation; fails on any finding
	$(PY) infra/app.py -c validate=true

layers: $(STAMP) ## build the Lambda layers for arm64 / Python 3.12 from binary wheels (needs PyPI; cached)
	$(PY) infra/build_layers.py

# The CDK CLI, pinned in package.json + package-lock.json (npm's `latest` tag is an old 3.0.0 that rejects
# this aws-cdk-lib's cloud assembly), installed into the project, never globally.
STAGE ?= dev
CDK := node_modules/.bin/cdk
NPM_STAMP := node_modules/.installed
export CDK_DISABLE_CLI_TELEMETRY := true

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $(NPM_STAMP)

deploy: $(STAMP) $(NPM_STAMP) ## deploy a stage: make deploy STAGE=dev|prod (DRY_RUN=1 stops before `cdk deploy`)
	@case "$(STAGE)" in dev|prod) ;; *) echo "STAGE must be dev or prod, got '$(STAGE)'" >&2; exit 2;; esac
	$(PY) infra/build_layers.py
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CDK) synth --no-notices --quiet \
		-c stage=$(STAGE) -c require_layers=true --output cdk.out/$(STAGE)
	@if [ -n "$(DRY_RUN)" ]; then \
		echo "DRY_RUN: synthesized cdk.out/$(STAGE); stopping before: $(CDK) deploy --app cdk.out/$(STAGE) tradepipe-$(STAGE)"; \
	else \
		set -x; $(CDK) deploy --no-notices --app cdk.out/$(STAGE) tradepipe-$(STAGE); \
	fi

# The runtime bench drives both servers with wrk (C, one thread: it costs the shared cores little), Debian's
# package, installed with apt-get when missing and we are root (or have password-less sudo); fastapi for the
# reference webhook comes with the dev extras.
bench: $(STAMP) wrk ## benchmarks: risk, synth, backtest, cold starts beside their floors, the runtime vs a reference (BENCH="runtime" for one)
	$(PY) -m benchmarks $(BENCH)

# Every run's JSON is kept under build/bench/runs/<commit>/: bench one commit, check out another, bench it,
# then compare the two (exit 1 when a target met before is missed after).
bench-compare: $(STAMP) ## two benched runs side by side: BEFORE=<commit|dir|file> [AFTER=<commit|dir|file>, default the latest]
	@test -n "$(BEFORE)" || { echo "usage: make bench-compare BEFORE=<commit> [AFTER=<commit>]"; exit 2; }
	$(PY) -m benchmarks.compare $(BEFORE) $(AFTER)

wrk: ## install Debian's wrk for the runtime bench when missing (apt-get, needs root)
	@if command -v wrk >/dev/null 2>&1; then \
		true; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	else \
		echo "!!! NO wrk and no way to install it here (needs apt-get as root): the runtime bench will fail."; \
		echo "!!! Fix: sudo apt-get install -y wrk"; \
	fi

clean: ## remove build outputs (keeps .venv)
	rm -rf cdk.out build .mypy_cache .ruff_cache
