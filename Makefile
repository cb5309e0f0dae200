# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APP_STAMP := $(VENV)/.installed-app
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test lint typecheck pytest bench bench-quick clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(APP_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(APP_STAMP) $@

$(BENCH_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(APP_STAMP) $@

run: $(APP_STAMP)
	.ci/system-deps $(PY) xcb
	$(VENV)/bin/cmdb-desktop

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check cmdb_desktop importers ui tests bench

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

# pytest exits 5 when it collects nothing; that must fail the build, and it does
# because make stops on any non-zero status.
pytest: $(DEV_STAMP)
	.ci/system-deps $(PY) offscreen
	.ci/system-deps $(PY) postgres
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(BENCH_STAMP)
	.ci/system-deps $(PY) offscreen
	.ci/system-deps $(PY) postgres
	.ci/system-deps $(PY) graphviz
	QT_QPA_PLATFORM=offscreen $(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
