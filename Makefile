# Interview Live — developer entry points. `make run` and `make test` are the README's two commands.
VENV ?= .venv
DATA ?= data
HOST ?= 127.0.0.1
PORT ?= 8080
PYTHON ?= python3
RUN_PACKAGES ?= libgl1 libglib2.0-0
SYSTEM_PACKAGES ?= $(RUN_PACKAGES) chromium espeak-ng redis-server postgresql nginx-light coturn fonts-wqy-microhei fonts-dejavu-core
NODE_PACKAGES ?= nodejs npm
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint web-lint install system-deps run-deps clean

# Debian packages the server needs (mediapipe/OpenCV shared libraries); installed when missing.
run-deps:
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(RUN_PACKAGES)"

# Debian packages the tests need (those, a real browser, speech synthesis, Redis, PostgreSQL (the
# tests start their own throwaway cluster), nginx, coturn, fonts for the generated résumés);
# installed only when missing.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Seed demo data (admin login + 3 invitation links are printed) and start the server.
run: install run-deps
	$(VENV)/bin/interview-live demo --data-dir $(DATA) --host $(HOST) --port $(PORT)
	$(VENV)/bin/interview-live serve --data-dir $(DATA) --host $(HOST) --port $(PORT)

# The pages' JavaScript tools (eslint, prettier) from npm, at the versions of package-lock.json,
# into node_modules/; Debian's nodejs and npm are installed first when node or npm is missing.
node_modules/.installed: package.json package-lock.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || \
	  $(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(NODE_PACKAGES)"
	npm ci --no-audit --no-fund
	touch $@

web-lint: node_modules/.installed
	npx eslint web
	npx prettier --check web

lint: install web-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The API and store tests again with their servers' store in PostgreSQL (the store tests alone run
# on both backends in the first pass); about 6 minutes on 2 cores.
POSTGRES_TESTS ?= tests/test_api.py tests/test_audit.py tests/test_resumes.py tests/test_privacy.py \
  tests/test_webhooks_exports.py tests/test_training.py tests/test_access_matrix.py \
  tests/test_modes.py tests/test_reports.py tests/test_fairness_reminders.py \
  tests/test_personalised.py tests/test_chinese_api.py tests/test_headers.py tests/test_limits.py \
  tests/test_openapi.py tests/test_upload_text.py tests/test_followups.py tests/test_screening.py \
  tests/test_encrypted_recordings.py tests/test_interview_media.py tests/test_shared_nodes.py
# (tests/test_cluster.py runs its media, analyzer and API nodes on PostgreSQL in the first pass;
# the scale-out and nginx tests, which add nothing store-specific, run there on SQLite)

test: install system-deps lint
	$(VENV)/bin/pytest -q
	$(VENV)/bin/pytest -q --database=postgresql $(POSTGRES_TESTS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .test-artifacts
