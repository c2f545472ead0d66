# The two commands of the README are `make demo` and `make test`; both build the venv first,
# from the lock files in requirements/ (the versions CI tested): the demo installs only what a
# run needs, the tests add the dev and Spark extras. `make lock` re-resolves both files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB ?= duckdb:///demo.duckdb
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
COMPILE := $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: demo test test-fast lint bench bench-large clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(DEMO_STAMP): requirements/demo.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/demo.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(STAMP): requirements/dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(DEMO_STAMP)

lock: $(STAMP)
	$(COMPILE) -o requirements/demo.txt pyproject.toml
	$(COMPILE) --extra dev --extra spark -o requirements/dev.txt pyproject.toml

demo: $(DEMO_STAMP)
	rm -f demo.duckdb demo.duckdb.wal
	$(BIN)/mastery init --database-url $(DEMO_DB)
	$(BIN)/mastery generate --users 300 --themes 24 --days 90 --seed 7 --database-url $(DEMO_DB)
	$(BIN)/mastery recompute --trigger cli --database-url $(DEMO_DB)
	$(BIN)/mastery runs --limit 5 --database-url $(DEMO_DB)
	$(BIN)/mastery report weak-themes --database-url $(DEMO_DB)

# three workers on two cores: a third of the suite's time is waiting (paused runs, locks,
# subprocesses), not computing
test: $(STAMP)
	$(BIN)/python -m pytest -n 3 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not integration and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --sizes S,M

bench-large: $(STAMP)
	$(BIN)/python -m benchmarks.run --sizes S,M,L

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache demo.duckdb*
