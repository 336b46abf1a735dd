.DEFAULT_GOAL := help
sources = $(wildcard agentload target_service locustfiles tests benchmarks scripts)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The LangGraph Agent Server's own venv (its pins clash with the dev tools'): the preset's test.
LANGGRAPH_VENV := .venv-langgraph
LANGGRAPH_REQS := tests/servers/langgraph_app/requirements.txt
LANGGRAPH_STAMP := $(LANGGRAPH_VENV)/.installed

HOST ?=
USERS ?=
DURATION ?=
WORKERS ?=
ARGS ?=

run_opts = $(if $(HOST),--host $(HOST)) $(if $(USERS),--users $(USERS)) \
	$(if $(DURATION),--duration $(DURATION)) $(if $(WORKERS),--workers $(WORKERS)) $(ARGS)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

$(LANGGRAPH_STAMP): $(LANGGRAPH_REQS)
	@test -x $(LANGGRAPH_VENV)/bin/python || $(PYTHON) -m venv $(LANGGRAPH_VENV)
	$(LANGGRAPH_VENV)/bin/python -m pip install -q --upgrade pip
	$(LANGGRAPH_VENV)/bin/python -m pip install -q -r $(LANGGRAPH_REQS)
	@touch $(LANGGRAPH_STAMP)

.PHONY: help
help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

.PHONY: install
install: $(STAMP) $(LANGGRAPH_STAMP) ## Create .venv and install the suite (and Debian's tools where apt-get is usable)
	@bash scripts/install-system.sh || true

.PHONY: serve
serve: $(STAMP) ## Run the embedded target service (agent API + simulated LLM engine)
	$(BIN)/python -m target_service $(if $(PORT),--port $(PORT))

.PHONY: ui
ui: $(STAMP) ## Locust's web UI on the smoke phase (http://127.0.0.1:8089)
	$(BIN)/agentload run smoke --web $(run_opts)

.PHONY: smoke
smoke: $(STAMP) ## Smoke phase: 10 users, scenarios A+B, gates
	$(BIN)/agentload run smoke $(run_opts)

.PHONY: load
load: $(STAMP) ## Load phase: ramp to the expected peak and hold, scenarios B+C
	$(BIN)/agentload run load $(run_opts)

.PHONY: stress
stress: $(STAMP) ## Stress phase: growing steps until it breaks; finds the knee
	$(BIN)/agentload run stress $(run_opts)

.PHONY: profile
profile: $(STAMP) ## Profile phase: py-spy flame graph of the target at the knee
	$(BIN)/agentload run profile $(run_opts)

.PHONY: test
test: $(STAMP) $(LANGGRAPH_STAMP) ## Run the test suite (real service, real Locust)
	$(BIN)/python -m pytest $(ARGS)

.PHONY: lint
lint: $(STAMP) ## ruff, mypy and the import-linter contracts (agentload's layers)
	$(BIN)/ruff check $(sources)
	$(BIN)/ruff format --check $(sources)
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

.PHONY: format
format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff check --fix $(sources)
	$(BIN)/ruff format $(sources)

.PHONY: bench
bench: $(STAMP) ## Benchmarks (not tests): throughput ratios and capacity
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

.PHONY: docs
docs: $(STAMP) ## Build the documentation site into site/ (mkdocs-material, strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

.PHONY: clean
clean: ## Remove caches (keeps .venv and results/)
	rm -rf .pytest_cache .mypy_cache .ruff_cache
