# Two entry points: `make run` (set up, then run every pipeline on the bundled sample)
# and `make test` (set up if needed, then run the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test browser lint viz airflow-dags clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kedro run

# Debian's headless Chromium for tests/test_viz_browser.py (apt-get, when missing).
browser:
	scripts/install_chromium.sh

test: $(STAMP) browser
	$(BIN)/ruff check src tests scripts benchmarks tools
	$(BIN)/pytest

viz: $(STAMP)
	$(BIN)/kedro viz build

airflow-dags: $(STAMP)
	scripts/generate_airflow_dags.sh

clean-venv:
	rm -rf $(VENV)
