# sct-forms: the two commands of the README, and the steps they are made of.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
FLASK := $(BIN)/flask --app sct_forms

.PHONY: demo test lint pytest install-system-tools

# Python keeps compiled modules (and pytest its rewritten test modules) in __pycache__ even where
# the shell turns that off: each of the suite's processes would otherwise compile every module
# again (collecting the suite: 7 s without the cache, 2 s with it, per process).
unexport PYTHONDONTWRITEBYTECODE

## demo: set up, migrate, seed, create demo accounts and serve on http://127.0.0.1:5000
# The worker (email, packet builds) runs beside the server and stops with it.
demo: $(INSTALLED) instance/config.py
	$(FLASK) db upgrade
	$(FLASK) seed
	$(FLASK) demo-accounts
	@echo "Serving sct-forms on http://127.0.0.1:5000 with its worker (Ctrl+C stops both)"
	@$(FLASK) worker & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT; \
	trap 'exit 130' INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

## test: set up, then run the linter and the whole test suite
test: $(INSTALLED) install-system-tools lint pytest

# lint: ruff, then the import contracts of pyproject.toml (which package may import which)
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# The suite in parallel: two pytest-xdist workers per core, because browser tests spend much of
# their time waiting on Chromium and the live server. Tests are handed out one at a time, longest
# first (the order is set in tests/conftest.py; loadgroup keeps a few modules on one worker).
# `python -m pytest tests/x.py` alone runs serially. Each worker has its own SQLite files,
# PostgreSQL database and live server.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
pytest: $(INSTALLED)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

# A random secret key for this machine, written once; production sets SECRET_KEY instead.
instance/config.py:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(f'SECRET_KEY = {secrets.token_hex(32)!r}')" > $@

# Browser tests drive Debian's Chromium; PDF tests read packets back with qpdf and pdftoppm;
# WeasyPrint subsets fonts with HarfBuzz's subset library (it warns, and the suite fails, without it).
# Install what is missing when we are allowed to (root with apt), else say what to install.
install-system-tools:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v qpdf >/dev/null || missing="$$missing qpdf"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	ldconfig -p | grep -q libharfbuzz-subset || missing="$$missing libharfbuzz-subset0"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	  else \
	    echo "The tests need Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

# translations: extract every marked string into the template, merge it into each language's
# catalog (new strings arrive untranslated, never guessed), then compile the catalogs.
.PHONY: translations
translations: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ \
	  --ignore-dirs='.* ._ __pycache__ instance test-artifacts bench tests static' \
	  --project=sct-forms --copyright-holder='Sustainable CT' \
	  -o sct_forms/translations/messages.pot .
	$(BIN)/pybabel update -i sct_forms/translations/messages.pot -d sct_forms/translations \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d sct_forms/translations --statistics
