# Connex Portal. The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PYTHON_CANDIDATES := python3.14 python3.13 python3.12 python3 python
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo partner app lives on another site (localhost vs 127.0.0.1) to show real cross-site embedding.
DEMO_HOST_PORT ?= 8001
DEMO_PARTNER_KEY := cxp_demo00000000_demo-partner-key-for-local-use-only
# The browser tests (tests/e2e) drive Debian's Chromium; Playwright's own browser download cannot work here.
CHROMIUM := /usr/bin/chromium
# `manage.py compilemessages` runs GNU gettext's msgfmt; the compiled catalogs are build output (.gitignore).
MSGFMT := /usr/bin/msgfmt
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

# `make run` is the local demo: debug on, the sandbox served under /sandbox/ of this server, which
# PORT tells the portal and the worker where to find (unless CONNEX_SANDBOX_URL says otherwise).
RUN_ENV := DEBUG=$${DEBUG:-true} CONNEX_SANDBOX=$${CONNEX_SANDBOX:-true} PORT=$(PORT)

.PHONY: help run test lint format bench venv clean messages

help:
	@echo "make run    set up, migrate, seed demo data, serve on http://$(HOST):$(PORT)/"
	@echo "make test   set up (with Chromium for the browser tests) and run the whole test suite"
	@echo "make lint   ruff check + ruff format --check"
	@echo "make bench  run the benchmarks under bench/"
	@echo "make messages  update locale/*/LC_MESSAGES/django.po from the code (then translate the new strings)"

$(BIN)/python:
	@py=""; \
	for candidate in $(PYTHON_CANDIDATES); do \
	  if command -v $$candidate >/dev/null 2>&1 && \
	     $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    py=$$candidate; break; \
	  fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "error: Connex Portal needs Python 3.12 or newer, and none was found (tried: $(PYTHON_CANDIDATES))." >&2; \
	  echo "       Install one (e.g. 'pyenv install 3.13'; .python-version selects it) and run make again." >&2; \
	  exit 1; \
	fi; \
	echo "Creating $(VENV) with $$($$py --version) ($$(command -v $$py))"; \
	$$py -m venv $(VENV)

$(VENV)/.installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-runtime

# A file target: once Chromium is installed, make finds it and re-runs cost nothing.
$(CHROMIUM):
	@if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "error: the browser tests need Chromium at $(CHROMIUM), and apt-get is not available to install it." >&2; \
	  echo "       Install Chromium so that $(CHROMIUM) exists (Debian/Ubuntu package 'chromium'), then run make test again." >&2; \
	  exit 1; \
	fi
	@if [ "$$(id -u)" -ne 0 ]; then \
	  echo "error: the browser tests need Chromium at $(CHROMIUM); installing it needs root." >&2; \
	  echo "       Run 'sudo apt-get update && sudo apt-get install -y chromium', then make test again." >&2; \
	  exit 1; \
	fi
	@echo "Installing Chromium for the browser tests (apt-get update && apt-get install chromium; once per machine)"
	@log=$$(mktemp); \
	if apt-get update -qq >"$$log" 2>&1 && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$$log" 2>&1; then \
	  rm -f "$$log"; \
	else \
	  cat "$$log" >&2; rm -f "$$log"; \
	  echo "error: installing chromium with apt-get failed (its output is above)." >&2; \
	  exit 1; \
	fi
	@test -x $@ || { echo "error: apt-get installed chromium, yet $@ is missing." >&2; exit 1; }

# Like Chromium: installed once per machine, then make finds the file and skips this.
$(MSGFMT):
	@if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "error: the translations are compiled with GNU gettext's msgfmt ($(MSGFMT)), and apt-get is not available to install it." >&2; \
	  echo "       Install GNU gettext so that $(MSGFMT) exists (Debian/Ubuntu package 'gettext'), then run make again." >&2; \
	  exit 1; \
	fi
	@if [ "$$(id -u)" -ne 0 ]; then \
	  echo "error: the translations are compiled with GNU gettext's msgfmt ($(MSGFMT)); installing it needs root." >&2; \
	  echo "       Run 'sudo apt-get update && sudo apt-get install -y gettext', then make again." >&2; \
	  exit 1; \
	fi
	@echo "Installing GNU gettext to compile the translations (apt-get update && apt-get install gettext; once per machine)"
	@log=$$(mktemp); \
	if apt-get update -qq >"$$log" 2>&1 && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gettext >>"$$log" 2>&1; then \
	  rm -f "$$log"; \
	else \
	  cat "$$log" >&2; rm -f "$$log"; \
	  echo "error: installing gettext with apt-get failed (its output is above)." >&2; \
	  exit 1; \
	fi
	@test -x $@ || { echo "error: apt-get installed gettext, yet $@ is missing." >&2; exit 1; }

# One compiled catalog per .po, rebuilt only when its .po changes. compilemessages would also walk
# .venv and compile Django's own catalogs there, hence the --ignore; DEBUG only lets settings load.
$(MO_FILES): %.mo: %.po | $(MSGFMT) $(VENV)/.installed-runtime
	@DEBUG=true $(BIN)/python manage.py compilemessages -v 0 --ignore=.venv --ignore=staticfiles \
	  --locale $(word 2,$(subst /, ,$@))

# makemessages carries the project's options (connexportal/core/management/commands/makemessages.py).
messages: $(VENV)/.installed-runtime | $(MSGFMT)
	@DEBUG=true $(BIN)/python manage.py makemessages --all

venv: $(VENV)/.installed-dev

run: $(VENV)/.installed-runtime $(MO_FILES)
	@$(RUN_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	@$(RUN_ENV) $(BIN)/python manage.py seed_demo --demo-host-port $(DEMO_HOST_PORT) --demo-host-webhooks
	@$(RUN_ENV) $(BIN)/python manage.py prune_activity --schedule
	@echo ""
	@echo "Connex Portal is starting on http://$(HOST):$(PORT)/"
	@echo "  merchant pages: http://$(HOST):$(PORT)/login/   merchant@demo.test / demo-merchant"
	@echo "                  (a second merchant with other data: other@demo.test / demo-other)"
	@echo "  console:        http://$(HOST):$(PORT)/partner/  partner@demo.test / demo-partner (the demo partner's console)"
	@echo "  admin:          http://$(HOST):$(PORT)/$$($(RUN_ENV) $(BIN)/python -c 'from connexportal.config import load_config; print(load_config().ADMIN_URL)')   admin@demo.test / demo-admin"
	@echo "  Connex sandbox: http://$(HOST):$(PORT)/sandbox/ qbotest@intuit.com / connex-demo"
	@echo "  health:         http://$(HOST):$(PORT)/healthz"
	@echo "  partner app:    http://localhost:$(DEMO_HOST_PORT)/  the demo partner's software, embedding the portal"
	@echo "  partner API:    http://$(HOST):$(PORT)/api/v1/docs  key $(DEMO_PARTNER_KEY)"
	@echo "  (a task worker runs beside the server for webhooks and run checks; Ctrl-C stops everything)"
	@echo ""
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	$(RUN_ENV) $(BIN)/python manage.py db_worker & \
	$(RUN_ENV) $(BIN)/python manage.py run_demo_host --port $(DEMO_HOST_PORT) --portal http://$(HOST):$(PORT) \
	  --api-key $(DEMO_PARTNER_KEY) & \
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-dev $(CHROMIUM) $(MO_FILES)
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every benchmark runs and prints its PASS/FAIL lines; make fails at the end if any did.
bench: $(VENV)/.installed-dev
	@failed=""; for script in bench/bench_*.py; do \
	  [ -e "$$script" ] || { echo "no benchmarks yet"; break; }; \
	  echo "== $$script"; $(BIN)/python "$$script" || failed="$$failed $$script"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAIL:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache $(MO_FILES)
