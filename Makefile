# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   - create .venv, install sk_mtl with pinned CPU torch, run the wine demo
#   make test   - create .venv, install sk_mtl with pinned CPU torch, run the whole test suite
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e ".[dev,text,dask]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/python examples/wine_multitask.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	@# pytest exits 5 when it collects no test: say so instead of a bare make error.
	$(VENV)/bin/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is not wired up" >&2; fi; \
	exit $$rc

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_overhead.py
