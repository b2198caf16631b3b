# icpkit — the four commands a developer needs. Everything installs from the committed uv.lock.
SHELL := /bin/bash
PY ?= python3
# uv from PATH, else the uv package of $(PY) (installed with pip on first use).
UV := $(or $(shell command -v uv 2>/dev/null),$(PY) -m uv)
VENV := .venv
RUN := $(UV) run --frozen
DEMO_DIR ?= demo

.PHONY: help env report-deps demo test test-slow test-services services-deps test-all lint format bench docs docs-images web-images clean bench-venv

help:
	@echo "make demo        create the environment and run the whole pipeline on the synthetic CRM"
	@echo "make test        run the test suite (fast tests)"
	@echo "make test-slow   run the slow statistical tests"
	@echo "make test-services  run the PostgreSQL, Spark and browser tests (installs them from Debian when missing)"
	@echo "make web-images  regenerate the web app screenshots docs/web-*.png (headless chromium)"
	@echo "make lint        ruff check + ruff format --check + mypy"
	@echo "make bench       run the benchmarks (see bench/RESULTS.md)"
	@echo "make bench-venv  build .bench-venv (pysubgroup + numpy<2, pinned) for bench/bench_discovery.py"
	@echo "make docs        regenerate docs/config.md from the typed settings"
	@echo "make docs-images regenerate the report screenshots in docs/"

# The environment comes from the committed lock; uv is installed with pip when it is missing.
# PYTHONDONTWRITEBYTECODE=1 on these machines: no process may write .pyc, so every one would compile
# scipy, scikit-learn, pandas and icpkit from source at start. The environment's bytecode is compiled
# once here (uv --compile-bytecode), and the project's own sources whenever they are newer than their
# bytecode (compileall skips files whose .pyc is current). Tests are not compiled: pytest rewrites them anyway.
$(VENV)/.synced-compiled: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	$(UV) sync --frozen --all-extras --group dev --compile-bytecode
	@touch $@

env: $(VENV)/.synced-compiled
	@$(VENV)/bin/python -m compileall -q -j 0 src >/dev/null

demo: env
	$(RUN) icpkit demo $(DEMO_DIR)

# The PDF report is laid out in Liberation Sans (Arial's metrics; the one-pager must stay one page)
# and pdftoppm renders its pages to PNG: both from Debian, installed when missing.
REPORT_DEBS := fonts-liberation2 poppler-utils
report-deps:
	@missing=""; \
	fc-list 2>/dev/null | grep -qi "Liberation Sans" || missing="$$missing fonts-liberation2"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

test: env report-deps
	$(RUN) pytest -q -n 2 --dist loadfile

# pytest exits 5 when no test is selected; that is not a failure of the slow suite.
# ICPKIT_HYPOTHESIS=thorough: the property tests run again there, with ten times the examples.
test-slow: env report-deps
	ICPKIT_HYPOTHESIS=thorough $(RUN) pytest -q -n 2 --dist loadfile -m slow || [ $$? -eq 5 ]

# Debian packages the service tests need; installed with apt-get when missing (CI runs as root).
SERVICE_DEBS := postgresql openjdk-17-jre-headless chromium npm
services-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@# axe-core (npm) for the accessibility check of every page, pinned by tests/js/package-lock.json
	@[ -f tests/js/node_modules/axe-core/axe.min.js ] || npm ci --prefix tests/js --no-audit --no-fund

test-services: env services-deps
	$(RUN) pytest -q -m services

test-all: test test-slow test-services

lint: env
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench
	$(RUN) mypy

format: env
	$(RUN) ruff format src tests bench
	$(RUN) ruff check --fix src tests bench

bench: env
	$(RUN) python bench/run_all.py

# --- discovery reference (issue 30): pysubgroup pins numpy < 2, so it gets its own venv, built from
# PyPI alone with exact pins; bench/bench_discovery.py runs bench/pysubgroup_ref.py inside it.
BENCH_VENV := .bench-venv
$(BENCH_VENV)/.pinned: bench/pysubgroup-requirements.txt
	@$(UV) --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	$(UV) venv --allow-existing --python 3.11 $(BENCH_VENV)
	$(UV) pip install --python $(BENCH_VENV)/bin/python -r bench/pysubgroup-requirements.txt
	@touch $@

bench-venv: $(BENCH_VENV)/.pinned

docs: env
	$(RUN) python -c "from icpkit.config import settings_markdown as m; print(m(), end='')" > docs/config.md

docs-images: env report-deps
	$(RUN) python docs/make_images.py

web-images: env services-deps
	ICPKIT_WEB_SCREENSHOTS=docs $(RUN) pytest -q -m services tests/test_web_browser*.py tests/test_web_a11y.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DEMO_DIR)
