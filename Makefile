# The two commands a fresh machine needs: `make demo` and `make test`.
# Both create .venv if needed and install the pinned set from constraints.txt first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The demo salt is public and for demos only; real runs set CSCI_SALT in the environment or .env.
DEMO_SALT := 64656d6f2d73616c742d6e6f742d736563726574

.PHONY: setup demo demo-pset1 demo-pset4 test test-fast lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt 'pip==25.3'
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[all]'
	touch $@

demo: demo-pset1 demo-pset4

demo-pset1: $(STAMP)
	test -e data/hashed.xlsx || $(PY) -m pset_1.synthetic data/hashed.xlsx --rows 2000
	@echo "pset_1 demo: CSCI_SALT is the public demo salt, for demos only; real runs set their own."
	CSCI_SALT=$(DEMO_SALT) $(PY) -m pset_1 --user alice --user Bob --excel data/hashed.xlsx

demo-pset4: $(STAMP)
	$(PY) -m pset_4 --demo

test: lint
	$(PY) -m pytest -n auto --cov --cov-report=term

# Everything but the tests marked slow (large files, training, several real servers): for the edit-test loop.
test-fast: lint
	$(PY) -m pytest -n auto -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Every bench runs, even after one misses its target; the run fails at the end, naming those that missed.
bench: $(STAMP)
	failed=""; for script in bench/bench_*.py; do $(PY) $$script || failed="$$failed $$script"; done; \
	test -z "$$failed" || { echo "targets missed:$$failed"; exit 1; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage .coverage.* htmlcov build *.egg-info
