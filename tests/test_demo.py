"""`kyodo demo`'s console: quiet and plain on start-up (one line per set-up step, no library banners, no access
log), and when one of its children stops, one line naming the child and why, every other child stopped, and no
second traceback. Runs the real demo (emulator, web app, scheduler) on free ports with a scratch SQLite database."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bot.migrate import upgrade
from tests.conftest import BACKEND, PG_ADMIN_URL

ROOT = Path(__file__).resolve().parent.parent
READY = "Ctrl-C で終了します"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_members(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live process in the session the demo leads (children and grandchildren)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found.append((int(entry.name), cmdline))
    return found


class Demo:
    def __init__(self, tmp_path: Path, *, setup: bool = False, ignore_sigint: bool = False, **env: str) -> None:
        url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
        if not setup:
            upgrade(url)
        self.port, self.emulator_port = free_port(), free_port()
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo", *([] if setup else ["--no-setup"]), "--port", str(self.port),
             "--emulator-port", str(self.emulator_port)],
            cwd=ROOT, env={**os.environ, "KYODO_DEMO": "1", "DATABASE_URL": url, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            # As `kyodo demo &` from a script starts it: SIGINT ignored, inherited by the children.
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None)
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.05)

    def finish(self, timeout: float = 20.0) -> tuple[int, list[str]]:
        code = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code, [line.rstrip("\n") for line in self.lines]

    def cleanup(self) -> None:
        for pid, _ in session_members(self.proc.pid):
            os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def demo(tmp_path):
    started = []

    def start(**kw) -> Demo:
        started.append(Demo(tmp_path, **kw))
        return started[-1]

    yield start
    for d in started:
        d.cleanup()


def wait_until_gone(sid: int, timeout: float = 5.0) -> list[tuple[int, str]]:
    deadline = time.monotonic() + timeout
    while (left := session_members(sid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_a_killed_child_is_named_once_and_everything_stops(demo):
    d = demo()
    d.wait_for(READY)
    children = session_members(d.proc.pid)
    scheduler = [pid for pid, cmd in children if cmd.endswith("bot.cli scheduler")]
    assert len(scheduler) == 1, children
    assert any(" bot.cli emulator " in cmd for _, cmd in children) and any(" bot.cli serve " in cmd
                                                                            for _, cmd in children), children

    os.kill(scheduler[0], signal.SIGKILL)
    code, lines = d.finish()
    assert code == 1
    mine = [line for line in lines if line.startswith("kyodo demo:")]
    assert mine == ["kyodo demo: the scheduler was stopped by SIGKILL; stopping everything"], lines
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
    assert wait_until_gone(d.proc.pid) == []  # the emulator (and its gunicorn worker) and the web app too


def test_a_child_failing_at_start_gives_one_traceback_and_one_line(demo):
    started = time.monotonic()
    d = demo(KYODO_LINE_OPENAPI="/nonexistent/messaging-api.yml")  # the emulator cannot start
    code, lines = d.finish()
    assert code == 1
    assert time.monotonic() - started < 15  # it does not wait out the 20 s start-up timeout
    assert sum("Traceback" in line for line in lines) == 1, "\n".join(lines)  # the emulator's own
    assert lines[-1].startswith("kyodo demo: the LINE emulator (port ")
    assert lines[-1].endswith(") stopped with exit code 1 (its own message is above); stopping everything")
    assert wait_until_gone(d.proc.pid) == []


def head_revisions(tmp_path: Path) -> str:
    """What a fully migrated database records (a branch merged through depends_on is not listed)."""
    _before, after = upgrade(f"sqlite:///{tmp_path / 'heads.sqlite3'}")
    return ", ".join(after)


def display_column(line: str, text: str) -> int:
    """The terminal column where `text` starts in `line` (wide characters such as kanji take two)."""
    before = line[: line.index(text)]
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)


def fetch(url: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_start_up_and_requests_print_plain_lines_and_no_library_noise(demo, tmp_path):
    d = demo(setup=True)
    d.wait_for(READY, timeout=60)
    web = f"http://127.0.0.1:{d.port}"
    assert fetch(f"{web}/") == 200
    assert fetch(f"{web}/static/favicon.svg") == 200
    assert fetch(f"{web}/callback", b"{}") == 400  # unsigned: refused, as LINE's own would be
    time.sleep(0.5)  # an access-log line, if any, has time to arrive
    os.killpg(d.proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
    code, lines = d.finish()
    assert code == 0, "\n".join(lines)
    console = "\n".join(lines)
    for noise in ("alembic", "werkzeug", "Serving Flask app", "Debug mode", "development server", "CTRL+C",
                  "GET /", "POST /callback", "inserted", "plan_", "Traceback"):
        assert noise not in console, console

    assert f"  ✓ database set up ({head_revisions(tmp_path)})" in lines
    plan = lines.index(next(line for line in lines if line.startswith("  ✓ plan for odawara: ")))
    plan_lines = lines[plan: plan + 3]
    assert " ".join(line.strip() for line in plan_lines) == (
        "✓ plan for odawara: added 7 projects, 21 actions, 98 roadmap items, 26 districts, 10 glossary terms, "
        "5 pillars, 5 forces, 2 periods, the city name and vision")
    assert all(len(line) <= 78 for line in plan_lines), plan_lines  # no wrap in an 80-column terminal

    table = lines.index("  ✓ demo admin accounts (web admin at /admin/):")
    rows = lines[table + 1: table + 5]
    assert [row.split()[0] for row in rows] == ["管理者", "職員", "団体", "調査チーム"]
    # The e-mail and password columns line up on screen, kanji taking two columns each.
    assert len({display_column(row, "@") - row.split()[1].index("@") for row in rows}) == 1, rows
    assert len({display_column(row, "kyodo-demo-") for row in rows}) == 1, rows


def test_a_child_ending_normally_is_a_calm_stop(demo):
    # Started in the background, the demo and its children ignore SIGINT; the emulator's gunicorn does not and
    # ends with exit code 0 when the group gets one. That is a normal stop, not a failure with a message above.
    d = demo(ignore_sigint=True)
    d.wait_for(READY)
    os.killpg(d.proc.pid, signal.SIGINT)
    code, lines = d.finish()
    assert code == 0, "\n".join(lines)
    mine = [line for line in lines if line.startswith("kyodo demo:")]
    assert mine == [f"kyodo demo: the LINE emulator (port {d.emulator_port}) stopped; stopping everything"], lines
    assert wait_until_gone(d.proc.pid) == []


def test_ports_in_use_name_the_command_that_uses_others(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port, emulator_port = taken.getsockname()[1], free_port()
        out = subprocess.run(
            [sys.executable, "-m", "bot.cli", "demo", "--port", str(port), "--emulator-port", str(emulator_port)],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"},
            capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    first, command = out.stdout.splitlines()
    assert first.startswith(f"kyodo demo: port {port} is already in use")
    # `make demo` takes no options: the advice is a command that can be typed as it stands.
    suggested = re.fullmatch(r"    \.venv/bin/kyodo demo --port (\d+) --emulator-port (\d+)", command)
    assert suggested, out.stdout
    assert int(suggested[1]) != port and int(suggested[2]) == emulator_port


@pytest.fixture
def empty_database_url(tmp_path):
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'kyodo.sqlite3'}"
        return
    from bot.db import scratch_postgres

    with scratch_postgres(PG_ADMIN_URL, prefix="kyodo_up") as url:
        yield url


def test_db_upgrade_says_what_it_did_in_one_line(empty_database_url, tmp_path):
    def kyodo_db_upgrade(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade", *args], cwd=tmp_path,
                              env={**os.environ, "DATABASE_URL": empty_database_url}, capture_output=True, text=True,
                              timeout=60)

    heads = head_revisions(tmp_path)
    runs = [kyodo_db_upgrade("--revision", "0004"), kyodo_db_upgrade(), kyodo_db_upgrade()]
    assert [r.stdout for r in runs] == ["database set up (0004)\n", f"database migrated to {heads} (was 0004)\n",
                                        f"database already up to date ({heads})\n"]
    assert [r.stderr for r in runs] == ["", "", ""]  # none of alembic's INFO lines

