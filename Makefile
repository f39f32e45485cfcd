# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: offline fail → pass (a vulnerable and a fixed demo image, compared), then a local
## console with both scans uploaded (Ctrl-C stops it; `mamori demo --no-console` skips it)
demo: $(STAMP)
	$(BIN)/mamori demo

## system-deps: the Debian packages the tests need (fixture images, registry, engine API,
## browser, PostgreSQL) and the services they talk to
system-deps:
	bash .ci/system-deps
	bash .ci/services

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## test: lint, type-check and run every test (real images, registry, engine socket)
test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup

## bench: every benchmark, each printing its figures (inventory compares with Trivy)
bench: $(STAMP)
	$(BIN)/python bench/inventory.py
	$(BIN)/python bench/vulndb_import.py
	$(BIN)/python bench/match.py
	$(BIN)/python bench/versions.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/tracer.py
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/agent_events.py
	$(BIN)/python bench/agent.py
	$(BIN)/python bench/server_queries.py

clean:
	rm -rf $(VENV) .demo
