"""`make test`'s runner (tests/run_suite.py): each half under a heading, one summary line at the very end,
non-zero when a half failed, and a missing PostgreSQL server is a note for a newcomer but a failure in CI.
Runs the real runner on a tiny throwaway test folder."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_SERVER = "postgresql+psycopg://postgres@127.0.0.1:9/none"  # the discard port: nothing listens


def suite(tmp_path: Path, body: str, *args: str, ci: bool = False) -> tuple[int, list[str]]:
    (tmp_path / "test_tiny.py").write_text("import pytest\n" + body)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    done = subprocess.run([sys.executable, "-m", "tests.run_suite", *args, "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.splitlines()


PASSING = "def test_a(): pass\ndef test_b(): pass\n@pytest.mark.skip('later')\ndef test_c(): pass\n"


def test_sqlite_half_is_labelled_and_summarised(tmp_path):
    code, lines = suite(tmp_path, PASSING, "--only", "sqlite")
    assert code == 0
    assert lines[0] == "== make test: SQLite =="
    assert re.fullmatch(r"make test: SQLite 2 passed, 1 skipped \(\d+ s\)", lines[-1]), lines[-1]


def test_both_halves_one_summary_line_and_failure_still_summarised(tmp_path):
    code, lines = suite(tmp_path, PASSING + "def test_d(): assert False\n", "--pg-admin-url",
                        os.environ.get("KYODO_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    assert code == 1
    assert lines.count("== make test: SQLite ==") == 1 and lines.count("== make test: PostgreSQL ==") == 1
    assert [line for line in lines if line.startswith("make test: SQLite")] == [lines[-1]]
    assert re.fullmatch(r"make test: SQLite 1 failed, 2 passed, 1 skipped \(\d+ s\) · "
                        r"PostgreSQL 1 failed, 2 passed, 1 skipped \(\d+ s\)", lines[-1]), lines[-1]


def test_missing_postgres_is_a_note_for_a_newcomer_and_a_failure_in_ci(tmp_path):
    code, lines = suite(tmp_path, PASSING, "--pg-admin-url", NO_SERVER)
    assert code == 0
    assert "make test: no PostgreSQL at 127.0.0.1:9, so only the SQLite half ran" in lines
    assert re.fullmatch(r"make test: SQLite 2 passed, 1 skipped \(\d+ s\) · "
                        r"PostgreSQL not run \(no server at 127.0.0.1:9\)", lines[-1]), lines[-1]

    code, lines = suite(tmp_path, PASSING, "--pg-admin-url", NO_SERVER, ci=True)
    assert code == 1
    assert lines[-1].endswith("· PostgreSQL not reachable at 127.0.0.1:9"), lines[-1]


# The SQLite half's test waits for a file the PostgreSQL half's test writes: it passes only if the halves run at
# once. The PostgreSQL half finishes first, and its output still comes second, whole, under its own heading.
AT_ONCE = """import os, time
from pathlib import Path
MARK = Path({mark!r})
def test_at_once():
    print("half:", os.environ.get("KYODO_TEST_DB", "sqlite"))
    if os.environ.get("KYODO_TEST_DB") == "postgresql":
        MARK.write_text("here")
        return
    deadline = time.monotonic() + 30
    while not MARK.exists():
        assert time.monotonic() < deadline, "the PostgreSQL half did not run at the same time"
        time.sleep(0.05)
    time.sleep(1)  # the PostgreSQL half ends before this one
"""


def test_the_halves_run_at_once_and_print_one_after_the_other(tmp_path):
    suite_dir = tmp_path / "suite"
    suite_dir.mkdir()
    code, lines = suite(suite_dir, AT_ONCE.format(mark=str(tmp_path / "pg-was-here")), "-s", "--pg-admin-url",
                        os.environ.get("KYODO_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    assert code == 0, "\n".join(lines)
    sqlite, pg = lines.index("== make test: SQLite =="), lines.index("== make test: PostgreSQL ==")
    assert sqlite == 0 < pg
    assert any("half: sqlite" in line for line in lines[:pg]) and any("half: postgresql" in line for line in lines[pg:])
    assert re.fullmatch(r"make test: SQLite 1 passed \(\d+ s\) · PostgreSQL 1 passed \(\d+ s\)", lines[-1]), lines[-1]
