# Quick start: `make demo` runs the quickstart notebook, `make test` runs every test.
# Both make (or reuse) a local venv in .venv and install the package into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv demo test lint lab chromium widget-renderer bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/python scripts/run_demo.py notebooks/quickstart.ipynb

test: venv chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider

# ruff over the repo and mypy --strict over the package (both configured in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

lab: venv
	$(BIN)/jupyter lab notebooks

# Debian's chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@if [ -x /usr/bin/chromium ] || [ -n "$$CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "no chromium: browser tests will skip (install Debian's chromium, or set CHROMIUM)"; fi

# The offline widget renderer for static HTML exports (npm registry).
widget-renderer:
	sh scripts/fetch_widget_renderer.sh build/widget-renderer

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf build test-artifacts .pytest_cache
