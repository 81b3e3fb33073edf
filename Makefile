# Two commands for a newcomer: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_ADMIN_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: demo test test-sqlite test-postgresql bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	KYODO_DEMO=1 $(BIN)/kyodo demo

# The whole suite on SQLite, then on PostgreSQL (a scratch database per run). Without a server,
# a newcomer gets one line and the SQLite half; CI (CI=true) fails instead.
test: $(STAMP)
	@$(BIN)/python -m tests.setup_env
	$(PYTEST) tests
	@if $(BIN)/python -m tests.pg_available "$(PG_ADMIN_URL)"; then \
		KYODO_TEST_DB=postgresql KYODO_TEST_PG_ADMIN_URL="$(PG_ADMIN_URL)" $(PYTEST) tests; \
	elif [ -n "$$CI" ]; then \
		echo "make test: PostgreSQL is required in CI but is not reachable at $(PG_ADMIN_URL)"; exit 1; \
	else \
		echo "make test: no PostgreSQL at 127.0.0.1:5432, so only the SQLite half ran"; \
	fi

bench: $(STAMP)
	$(BIN)/python bench/webhook.py

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache
