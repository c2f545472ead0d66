# The two commands of the README are `make demo` and `make test`; both build the venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB ?= duckdb:///demo.duckdb
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench bench-large clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

demo: $(STAMP)
	rm -f demo.duckdb demo.duckdb.wal
	$(BIN)/mastery init --database-url $(DEMO_DB)
	$(BIN)/mastery generate --users 300 --themes 24 --days 90 --seed 7 --database-url $(DEMO_DB)
	$(BIN)/mastery recompute --trigger cli --database-url $(DEMO_DB)
	$(BIN)/mastery runs --limit 5 --database-url $(DEMO_DB)
	$(BIN)/mastery report weak-themes --database-url $(DEMO_DB)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

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
