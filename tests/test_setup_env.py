"""tests/setup_env.py: one line when it installs the browser with apt-get, silence otherwise, and a skip
reason for the browser tests that says why it could not. apt-get is a stand-in script on PATH."""
from __future__ import annotations

import io
import os
import stat

import pytest

from tests import setup_env


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """Package files under tmp_path, an empty PATH of our own, root, and a scratch failure note."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    files = {"chromium": tmp_path / "usr/bin/chromium", "fonts-ipaexfont-gothic": tmp_path / "fonts/ipaexg.ttf"}
    monkeypatch.setattr(setup_env, "PACKAGES", {name: str(path) for name, path in files.items()})
    monkeypatch.setattr(setup_env, "FAILURE_NOTE", tmp_path / "instance" / "note.txt")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(os, "geteuid", lambda: 0)

    def apt_get(script: str) -> None:
        path = bin_dir / "apt-get"
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    return files, apt_get


def run() -> tuple[bool, list[str]]:
    out = io.StringIO()
    ok = setup_env.install_browser(out=out)
    return ok, out.getvalue().splitlines()


def test_quiet_when_everything_is_there(machine):
    files, _ = machine
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    assert run() == (True, [])


def test_one_line_when_it_installs(machine):
    files, apt_get = machine
    # The stand-in installs by creating the packages' files (with shell built-ins only: PATH is ours).
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    apt_get(f'[ "$1" = install ] && : > {files["chromium"]} && : > {files["fonts-ipaexfont-gothic"]}\nexit 0\n')
    ok, lines = run()
    assert ok
    assert lines == ["make test: installing chromium and fonts-ipaexfont-gothic with apt-get for the browser "
                     "tests (once)"]
    assert run() == (True, [])  # the next run has nothing to do


def test_failed_install_is_one_line_and_becomes_the_skip_reason(machine):
    _, apt_get = machine
    apt_get('[ "$1" = install ] && { echo "E: Failed to fetch http://deb.debian.org/chromium" >&2; exit 100; }\n'
            'exit 0\n')
    ok, lines = run()
    assert not ok and len(lines) == 1 and "installing chromium" in lines[0]
    reason = setup_env.browser_skip_reason()
    assert reason.startswith("chromium and fonts-ipaexfont-gothic not installed: ")
    assert "apt-get install` exited 100" in reason and "Failed to fetch" in reason


def test_not_root_is_silent_and_the_skip_says_why(machine, monkeypatch):
    _, apt_get = machine
    apt_get("exit 0\n")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert run() == (False, [])
    assert "not root" in setup_env.browser_skip_reason()


def test_no_apt_get_is_silent_and_the_skip_says_why(machine):
    assert run() == (False, [])
    assert "apt-get not found" in setup_env.browser_skip_reason()
