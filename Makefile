# Two commands on a fresh machine with Python 3.11+:  make serve  /  make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test bench readme openapi load

# The runtime alone: what `make serve` needs.
$(BIN)/rnnlab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The test tools on top (linters, pytest, schemathesis, selenium...), and the Python client
# (client/), which the suite tests against a live server.
$(VENV)/.test: $(BIN)/rnnlab client/pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet -e 'client[progress]'
	touch $@

serve: $(BIN)/rnnlab  ## the API with its embedded job queue and workers on http://127.0.0.1:8000
	$(BIN)/rnnlab serve

# The explorer page's JavaScript tools (ESLint, axe-core), exactly as package-lock.json says.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --silent

test: $(VENV)/.test node_modules/.package-lock.json  ## lint, type-check and the whole test suite
	npx --no-install eslint service/explorer/static
	$(BIN)/ruff check core service client tests bench scripts
	$(BIN)/ruff format --check core service client tests bench scripts
	$(BIN)/mypy core service client
	$(BIN)/pytest

bench: $(VENV)/.test  ## benchmarks against in-process baselines; rewrites docs/performance.md
	$(BIN)/python -m bench

readme: $(BIN)/rnnlab  ## regenerate the README's generated sections (the optimizer table)
	$(BIN)/python scripts/readme.py

openapi: $(BIN)/rnnlab  ## regenerate the committed openapi.json
	$(BIN)/rnnlab openapi --output openapi.json

$(VENV)/.load: $(VENV)/.test
	$(BIN)/python -m pip install --quiet -e '.[test,load]'
	touch $@

load: $(VENV)/.load  ## load ramp, 5-minute soak, largest requests; rewrites docs/reliability.md
	$(BIN)/python -m bench.load $(LOAD_ARGS)
	$(BIN)/python -m bench.load.stalls
