# Two entry points: `make run` (set up, then run every pipeline on the bundled sample)
# and `make test` (set up if needed, then run the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Airflow alone, apart from the project's environment (its dependencies are its own):
# `make test` loads the full-reproduction DAG with it, as the scheduler would parse it.
AIRFLOW_VERSION ?= 3.3.2
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-$(AIRFLOW_VERSION)

.PHONY: run test browser lint viz airflow-dags clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(AIRFLOW_STAMP):
	rm -rf $(AIRFLOW_VENV)
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install --quiet "apache-airflow==$(AIRFLOW_VERSION)"
	touch $(AIRFLOW_STAMP)

run: $(STAMP)
	$(BIN)/kedro run

# Debian's headless Chromium for tests/test_viz_browser.py (apt-get, when missing).
browser:
	scripts/install_chromium.sh

test: $(STAMP) $(AIRFLOW_STAMP) browser
	$(BIN)/ruff check src tests scripts benchmarks tools
	AGNEWS_AIRFLOW_PYTHON=$(CURDIR)/$(AIRFLOW_VENV)/bin/python $(BIN)/pytest

viz: $(STAMP)
	$(BIN)/kedro viz build

airflow-dags: $(STAMP)
	scripts/generate_airflow_dags.sh

clean-venv:
	rm -rf $(VENV) $(AIRFLOW_VENV)
