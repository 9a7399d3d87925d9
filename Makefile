# Two commands for a fresh clone: `make run` and `make test`. Only Python 3.11 is needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck messages messages-check install clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 が必要です ($(PYTHON) が見つかりません)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py run_embedded

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy $(wildcard */services.py */services/*.py */selectors.py */tasks.py */pricing.py */tax.py */due_dates.py)

# English UI: the catalogue in locale/en (needs GNU gettext: apt-get install gettext).
# `make messages` collects new UI strings into it and compiles it after translating;
# `make messages-check` (CI) fails on an untranslated or fuzzy string, or a stale .mo.
PO := locale/en/LC_MESSAGES/django.po
MAKEMESSAGES := $(BIN)/python manage.py makemessages -l en \
	--ignore=.venv --ignore=var --ignore=staticfiles --ignore=bench --ignore=tests

# Japanese for third-party strings only (django-axes has none), kept by hand.
PO_JA := locale/ja/LC_MESSAGES/django.po

messages: $(STAMP)
	$(MAKEMESSAGES)
	msgfmt --check -o $(PO:.po=.mo) $(PO)
	msgfmt --check -o $(PO_JA:.po=.mo) $(PO_JA)

messages-check: $(STAMP)
	@tmp=$$(mktemp -d) && cp $(PO) $$tmp/django.po && \
	msgfmt --check -o $$tmp/django.mo $(PO) && \
	cmp -s $$tmp/django.mo $(PO:.po=.mo) || { echo "$(PO:.po=.mo) is stale: run make messages"; exit 1; }; \
	msgfmt --check -o $$tmp/ja.mo $(PO_JA) && \
	cmp -s $$tmp/ja.mo $(PO_JA:.po=.mo) || { echo "$(PO_JA:.po=.mo) is stale: run make messages"; exit 1; }; \
	$(MAKEMESSAGES) >/dev/null; \
	untranslated=$$(msgattrib --untranslated --no-wrap $(PO) | grep -c '^#: ' || true); \
	fuzzy=$$(msgattrib --only-fuzzy --no-wrap $(PO) | grep -c '^#: ' || true); \
	cp $$tmp/django.po $(PO); rm -rf $$tmp; \
	if [ "$$untranslated$$fuzzy" != "00" ]; then \
	  echo "English catalogue: $$untranslated untranslated, $$fuzzy fuzzy UI strings (make messages, then translate $(PO))"; exit 1; \
	fi; echo "English catalogue complete"

clean:
	rm -rf $(VENV) var staticfiles
