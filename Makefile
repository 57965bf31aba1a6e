# The README's commands. Everything installs into .venv from the pinned constraints.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RIME_SDK_VERSION := 2.13.2
# The developer tools (demo, engine starter, data generator, docs) live in dev/, outside the package.
export PYTHONPATH := $(CURDIR)/dev$(if $(PYTHONPATH),:$(PYTHONPATH))
CODE := src dev tests example_dags benchmarks

# The second environment: Airflow 2.11 with the provider's core (plus pandas and pyarrow, which the
# firewall operator reads batches with), for the tests that must pass on every supported Airflow
# (tests/unit and tests/compat); the engine runs from .venv.
VENV2 := .venv-airflow2
STAMP2 := $(VENV2)/.installed
AIRFLOW2_VERSION := 2.11.2

.PHONY: install install-airflow2 chromium test lint typecheck pytest pytest-airflow2 demo demo-ui engine docs dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[all,dev]"
	# rime-sdk is a test-only tool: its pins (pandas<1.5, numpy<2) cannot install on 3.11.
	$(BIN)/pip install --quiet --no-deps rime-sdk==$(RIME_SDK_VERSION)
	$(MAKE) --no-print-directory chromium
	touch $(STAMP)

install: $(STAMP)

$(VENV2)/bin/python:
	$(PYTHON) -m venv $(VENV2)
	$(VENV2)/bin/pip install --quiet --upgrade pip

$(STAMP2): $(VENV2)/bin/python pyproject.toml constraints-airflow2.txt
	$(VENV2)/bin/pip install --quiet -c constraints-airflow2.txt -e . "apache-airflow==$(AIRFLOW2_VERSION)" \
		pytest pytest-asyncio respx pandas pyarrow
	touch $(STAMP2)

install-airflow2: $(STAMP2)

# The browser tests drive Debian's chromium (Playwright downloads no browser of its own).
# Installed when missing and apt-get can (as root); otherwise those tests skip and say why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
	      || echo "chromium could not be installed: the browser tests will skip"; \
	  else echo "chromium missing and apt-get unavailable (or not root): the browser tests will skip"; fi; }

# Style, formatting, and the import rules between the packages (pyproject's [tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Each checkout keeps its own pytest temp root: several checkouts' runs on one machine (all as one
# user) would otherwise prune each other's live engine directories under /tmp/pytest-of-<user>.
pytest: $(STAMP)
	mkdir -p .pytest-tmp
	$(BIN)/pytest -q --basetemp=$(CURDIR)/.pytest-tmp/main $(PYTEST_ARGS)

# The provider on Airflow 2.11: hook, operators, sensor and trigger on recorded answers, the example
# DAG's parse and one dag.test() run against the engine (started with .venv's interpreter).
# Airflow 2 runs dag.test() with the SequentialExecutor on SQLite.
pytest-airflow2: $(STAMP) $(STAMP2)
	mkdir -p .pytest-tmp
	RIME_ENGINE_PYTHON=$(CURDIR)/$(BIN)/python AIRFLOW__CORE__EXECUTOR=SequentialExecutor \
		$(VENV2)/bin/pytest -q --basetemp=$(CURDIR)/.pytest-tmp/airflow2 tests/unit tests/compat $(PYTEST_ARGS)

test: lint typecheck pytest pytest-airflow2

# The walkthrough end to end on this machine: local engine, SQLite Airflow and MLflow under .demo/.
demo: $(STAMP)
	$(BIN)/python -m rime_dev.demo

# Airflow (http://localhost:8081), MLflow UI (http://localhost:7081) and the engine on .demo/, until Ctrl-C.
demo-ui: $(STAMP)
	$(BIN)/python -m rime_dev.demo ui

engine: $(STAMP)
	$(BIN)/rime-local serve

# Copy the example DAGs' [START]/[END] regions into the how-to pages (tests/docs checks them).
docs: $(STAMP)
	$(BIN)/python -m rime_dev.docs

# The wheel and the sdist in dist/, checked by twine (what a package index would be sent).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) $(VENV2) dist .demo .pytest-tmp .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
