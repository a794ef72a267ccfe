# Two commands for a fresh machine: `make run` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
NOTIFY_PORT ?= 8001
# `make run` signs its notify calls and its stand-in verifies them; never use this key elsewhere.
DEV_SIGNING_SECRET := whsec_bWFrZS1ydW4gZGV2ZWxvcG1lbnQgc2lnbmluZyBrZXk=

STATIC := staticfiles/staticfiles.json
LOCK_OPTIONS := --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run serve test lint bench flames screenshots lock check-install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# requirements*.txt are lock files (every dependency pinned and hashed): `make lock`
# writes them from requirements*.in. The venv first gets the locked pip, so the locks are
# read by that pip whatever pip created the venv.
$(VENV)/.pip: requirements-pip.txt | $(BIN)/python
	$(PIP) install --quiet -r requirements-pip.txt
	touch $@

$(VENV)/.runtime: requirements.txt $(VENV)/.pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# The pages' assets, hashed and compressed for WhiteNoise; again when the packages change.
$(STATIC): $(VENV)/.runtime
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

## run: the API on 127.0.0.1:$(PORT) plus a stand-in for /v1/notify that prints what it gets
run: $(VENV)/.runtime
	@trap 'kill $$standin 2>/dev/null' EXIT INT TERM; \
	export NOTIFY_SIGNING_SECRET="$${NOTIFY_SIGNING_SECRET:-$(DEV_SIGNING_SECRET)}"; \
	$(BIN)/python manage.py notify_standin --port $(NOTIFY_PORT) & standin=$$!; \
	NOTIFY_URL=http://127.0.0.1:$(NOTIFY_PORT)/v1/notify DEBUG=$${DEBUG:-true} \
		$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## serve: the production command (gunicorn, WEB_CONCURRENCY gevent worker processes) on $(HOST):$(PORT)
serve: $(STATIC)
	$(BIN)/python -m eventsproject.server -b $(HOST):$(PORT)

## lint: ruff and mypy
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

## test: lint, then the whole test suite with coverage (fails under 95%)
test: lint $(STATIC)
	$(BIN)/pytest --cov --cov-report=term --durations=20

## bench: throughput, latency and memory; writes benchmarks/RESULTS.md and results.json
bench: $(VENV)/.dev $(STATIC)
	$(BIN)/python -m benchmarks.run

## flames: py-spy flame graphs of the hot paths under the benchmarks' load (benchmarks/flames/*.svg)
flames: $(VENV)/.dev $(STATIC)
	$(BIN)/python -m benchmarks.flames

## screenshots: the pages as a person sees them, in headless Chromium (docs/screenshots/*.png)
screenshots: $(VENV)/.dev $(STATIC)
	mkdir -p docs/screenshots
	EVENTS_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q -p no:cacheprovider \
		tests/e2e/test_browser.py -k memory

## check-install: pip check, and the installed packages are exactly the locked ones (CI)
check-install: $(VENV)/.dev
	$(BIN)/python .ci/check_install.py requirements-pip.txt requirements-dev.txt

## lock: pin every dependency, transitive ones included, with hashes (needs PyPI)
lock: | $(BIN)/python
	$(PIP) install --quiet pip-tools==7.6.2
	$(BIN)/pip-compile --quiet $(LOCK_OPTIONS) -o requirements-pip.txt requirements-pip.in
	$(BIN)/pip-compile --quiet $(LOCK_OPTIONS) -o requirements.txt requirements.in
	$(BIN)/pip-compile --quiet $(LOCK_OPTIONS) -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) staticfiles .coverage .pytest_cache .mypy_cache .ruff_cache
