# Two commands for a fresh machine: `make run` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
NOTIFY_PORT ?= 8001
# `make run` signs its notify calls and its stand-in verifies them; never use this key elsewhere.
DEV_SIGNING_SECRET := whsec_bWFrZS1ydW4gZGV2ZWxvcG1lbnQgc2lnbmluZyBrZXk=

.PHONY: run serve test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## run: the API on 127.0.0.1:$(PORT) plus a stand-in for /v1/notify that prints what it gets
run: $(VENV)/.runtime
	@trap 'kill $$standin 2>/dev/null' EXIT INT TERM; \
	export NOTIFY_SIGNING_SECRET="$${NOTIFY_SIGNING_SECRET:-$(DEV_SIGNING_SECRET)}"; \
	$(BIN)/python manage.py notify_standin --port $(NOTIFY_PORT) & standin=$$!; \
	NOTIFY_URL=http://127.0.0.1:$(NOTIFY_PORT)/v1/notify DEBUG=$${DEBUG:-true} \
		$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## serve: the production command (gunicorn, one process with threads) on 127.0.0.1:$(PORT)
serve: $(VENV)/.runtime
	$(BIN)/gunicorn -c python:eventsproject.gunicorn -b 127.0.0.1:$(PORT) eventsproject.wsgi

## lint: ruff and mypy
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

## test: lint, then the whole test suite with coverage (fails under 95%)
test: lint
	$(BIN)/pytest --cov --cov-report=term

## bench: throughput, latency and memory; writes benchmarks/RESULTS.md and results.json
bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .coverage .pytest_cache .mypy_cache .ruff_cache
