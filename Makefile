# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test setup setup-test browser lint bench screenshots

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt

setup-test: $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt

# Debian's chromium for the Playwright tests (Playwright's own browser download needs the internet),
# and Debian's PostgreSQL for the run store's tests (started by a test fixture on a loopback port).
browser:
	@command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -q && apt-get install -y -q chromium postgresql; }

## Set up and start the dashboard on the built-in default dataset (digits, no download).
run: setup
	$(BIN)/streamlit run app.py --server.port $(PORT)

## Set up and run every test: lint, trainer unit tests, AppTest page tests, real-browser tests.
test: setup-test browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

## Refresh the README's screenshots in docs/ (the browser tests take them; only this writes them).
screenshots: setup-test browser
	TAPEBOARD_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/browser -k "readme_screenshot or evaluate_shows"

bench: setup
	$(BIN)/python benchmarks/throughput.py
