# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   - create .venv, install sk_mtl with the pinned versions, run the wine demo
#   make test   - create .venv, install sk_mtl with the pinned versions, run the whole test suite
#                 (the tests marked slow included: a plain `pytest` skips those)
# (constraints.txt pins torch==2.13.0; for its CPU build where the index serves the CUDA one,
# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make demo: see docs/install.rst)
# and, for the documentation site (docs/, Sphinx; warnings are errors):
#   make docs        - install the docs extra, build docs/_build/html, running every example
#   make docs-quick  - the same with the examples in --quick mode (what CI builds)
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test lint bench install docs docs-quick

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e ".[dev,text,dask,onnx,torchjd,stream]"
	touch $(STAMP)

install: $(STAMP)

$(DOCS_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(VENV)/bin/pip install --quiet -c constraints.txt -e ".[dev,text,dask,onnx,torchjd,stream,docs]"
	touch $(DOCS_STAMP)

demo: $(STAMP)
	$(VENV)/bin/python examples/wine_multitask.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	@# pytest exits 5 when it collects no test: say so instead of a bare make error.
	@# Two worker processes (pytest-xdist; one on a one-core machine): 7 minutes, not 11.
	$(VENV)/bin/python -m pytest -q -m "slow or not slow" -n auto --maxprocesses 2; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is not wired up" >&2; fi; \
	exit $$rc

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_overhead.py

# Always from scratch: Sphinx only re-reads changed pages (so -W would miss the warnings of
# the others) and sphinx-gallery only re-runs changed examples (so a --quick run's output
# would stay). The gallery reads the real data like the examples (../shared/data).
docs: $(DOCS_STAMP)
	rm -rf docs/_build docs/api/generated docs/auto_examples docs/sg_execution_times.rst
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html
	@echo "The site is in docs/_build/html (open docs/_build/html/index.html)."

docs-quick:
	SK_MTL_DOCS_QUICK=1 $(MAKE) docs
