# Two commands on a fresh machine with Python 3.11+:  make serve  /  make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test bench openapi load

$(BIN)/rnnlab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

serve: $(BIN)/rnnlab  ## the API with its embedded queue and workers on http://127.0.0.1:8000
	$(BIN)/rnnlab serve

test: $(BIN)/rnnlab  ## lint, type-check and the whole test suite
	$(BIN)/ruff check core service tests bench scripts
	$(BIN)/ruff format --check core service tests bench scripts
	$(BIN)/mypy core service
	$(BIN)/pytest

bench: $(BIN)/rnnlab  ## benchmarks against in-process baselines; rewrites docs/performance.md
	$(BIN)/python -m bench

openapi: $(BIN)/rnnlab  ## regenerate the committed openapi.json
	$(BIN)/rnnlab openapi --output openapi.json

$(BIN)/locust: $(BIN)/rnnlab
	$(BIN)/python -m pip install --quiet -e '.[test,load]'
	touch $@

load: $(BIN)/locust  ## load ramp, 5-minute soak, largest requests; rewrites docs/reliability.md
	$(BIN)/python -m bench.load $(LOAD_ARGS)
	$(BIN)/python -m bench.load.stalls
