"""Things the suite needs that pip cannot install (run by `make test` before pytest).

Debian's chromium (driven by Playwright) and a Japanese font for the admin browser tests. When they are
missing and this is a Debian machine where we are root, they are installed with apt-get, announced in one
line; otherwise nothing is printed and the browser tests skip, giving `browser_skip_reason()`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
PACKAGES = {"chromium": CHROMIUM, "fonts-ipaexfont-gothic": FONT}
# Why the last install failed, for the skip message of the browser tests (instance/ is not tracked).
FAILURE_NOTE = Path(__file__).resolve().parent.parent / "instance" / "setup_env-browser.txt"
APT_TIMEOUT = 900


def missing_packages() -> list[str]:
    return [name for name, path in PACKAGES.items()
            if not (os.path.exists(path) or (name == "chromium" and shutil.which("chromium")))]


def cannot_install() -> str | None:
    """Why apt-get cannot be used here, or None."""
    if shutil.which("apt-get") is None:
        return "apt-get not found (not a Debian machine)"
    if os.geteuid() != 0:
        return "not root, so apt-get cannot install it (run `sudo .venv/bin/python -m tests.setup_env`)"
    return None


def install_browser(out=sys.stdout) -> bool:
    """Install what is missing; True if everything is there afterwards. Prints one line only when it installs."""
    missing = missing_packages()
    if not missing or cannot_install():
        return not missing
    print(f"make test: installing {' and '.join(missing)} with apt-get for the browser tests (once)",
          file=out, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                                                  *missing]):
            done = subprocess.run(cmd, env=env, timeout=APT_TIMEOUT, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, errors="replace")
            if done.returncode != 0:
                last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
                raise RuntimeError(f"`{' '.join(cmd[:2])}` exited {done.returncode}: {last[0][:200]}")
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        note(f"installing {' and '.join(missing)} with apt-get failed ({exc})")
        return False
    FAILURE_NOTE.unlink(missing_ok=True)
    return not missing_packages()


def note(text: str) -> None:
    try:
        FAILURE_NOTE.parent.mkdir(parents=True, exist_ok=True)
        FAILURE_NOTE.write_text(text, encoding="utf-8")
    except OSError:
        pass


def browser_skip_reason() -> str:
    """One sentence for the skip of the browser tests when chromium is missing."""
    what = " and ".join(missing_packages()) or "chromium"
    why = cannot_install()
    if why is None and FAILURE_NOTE.exists():
        why = FAILURE_NOTE.read_text(encoding="utf-8", errors="replace").strip()
    return f"{what} not installed: {why or 'run `.venv/bin/python -m tests.setup_env` as root'}"


def main() -> None:
    install_browser()


if __name__ == "__main__":
    main()
