"""`kyodo demo` when one of its children dies: one line naming the child and why, every other child
stopped, exit status 1, and no second traceback. Runs the real demo (emulator, web app, scheduler) on free
ports with a scratch SQLite database."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.migrate import upgrade

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
    def __init__(self, tmp_path: Path, **env: str) -> None:
        url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
        upgrade(url)
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo", "--no-setup", "--port", str(free_port()),
             "--emulator-port", str(free_port())],
            cwd=ROOT, env={**os.environ, "KYODO_DEMO": "1", "DATABASE_URL": url, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
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

    def start(**env: str) -> Demo:
        started.append(Demo(tmp_path, **env))
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
