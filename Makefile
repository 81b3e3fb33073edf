# Two commands for a newcomer: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_ADMIN_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-x tests/test_webhook.py"`.
PYTEST_ARGS ?=
RUN_SUITE := $(BIN)/python -m tests.run_suite --pg-admin-url "$(PG_ADMIN_URL)" $(PYTEST_ARGS)

.PHONY: demo test test-sqlite test-postgresql bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	KYODO_DEMO=1 $(BIN)/kyodo demo

# The whole suite on SQLite and on PostgreSQL (a scratch database per run), the two halves at the same time
# (two processes; PYTEST_ARGS="--serial ..." runs them one after the other) but printed one after the other,
# each under a heading ("== make test: SQLite ==") and one summary line at the end; non-zero if either failed.
# Without a server, a newcomer gets one line and the SQLite half; CI (CI=true) fails instead.
# tests/setup_env.py first installs chromium for the browser tests when it is missing (one line when it does).
test: $(STAMP)
	@$(BIN)/python -m tests.setup_env
	@$(RUN_SUITE)

test-sqlite: $(STAMP)
	@$(BIN)/python -m tests.setup_env
	@$(RUN_SUITE) --only sqlite

test-postgresql: $(STAMP)
	@$(BIN)/python -m tests.setup_env
	@$(RUN_SUITE) --only postgresql

bench: $(STAMP)
	$(BIN)/python bench/webhook.py

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache
