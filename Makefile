# Entry points (see README): `make run`, `make test` (the full suite, what CI runs) and
# `make test-fast` (skips the tests marked slow: end-to-end runs, the wheel build). All build
# .venv first, with the extras the tests need (dev: pytest, chex; bench: flax).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast venv bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock setuptools  # builds the wheel offline in tests
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev,bench]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/jaxnn run all --quick $(if $(OUT),--out $(OUT),)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow" --durations=15

bench: $(STAMP)
	$(BIN)/jaxnn bench --quick

clean:
	rm -rf $(VENV) runs .pytest_cache
