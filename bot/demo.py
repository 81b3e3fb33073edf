"""`kyodo demo`: set up a local database and run emulator + bot + scheduler + delivery in one process group."""
from __future__ import annotations

import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.config import ROOT

# "module:function" taking the Config. Sample data (`kyodo sample load`) comes after the demo accounts, so the
# demo organisation's own sample rows can be given to it; it replaces the previous start's samples.
SETUP_STEPS: list[str] = ["bot.demo:migrate", "bot.plan_loader:load_default", "bot.admin.demo:demo_accounts",
                          "bot.sample_data:load_for_demo"]


def migrate(cfg) -> None:
    from bot.migrate import upgrade, upgrade_summary

    if cfg.database_url.startswith("sqlite:///"):
        Path(cfg.database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    print(f"  ✓ {upgrade_summary(*upgrade(cfg.database_url))}")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _next_free(port: int, taken: set[int]) -> int:
    while port in taken or not _port_free(port):
        port += 1
    return port


def ports_in_use_message(port: int, emulator_port: int) -> str:
    """Which port is taken, and the command that starts the demo on free ones (make passes no options)."""
    busy = [p for p in (port, emulator_port) if not _port_free(p)]
    new_port = _next_free(port, {emulator_port}) if port in busy else port
    new_emulator_port = _next_free(emulator_port, {new_port}) if emulator_port in busy else emulator_port
    kyodo = Path(sys.executable).parent / "kyodo"
    try:
        command = str(kyodo.relative_to(Path.cwd())) if kyodo.exists() else "kyodo"
    except ValueError:
        command = str(kyodo)
    which = " and ".join(map(str, busy))
    return (f"kyodo demo: port {which} {'is' if len(busy) == 1 else 'are'} already in use (another program, or a demo"
            " still running). Stop it, or start the demo on other ports:\n"
            f"    {command} demo --port {new_port} --emulator-port {new_emulator_port}")


class ChildStopped(Exception):
    """One child of the demo stopped, or never came up; the message is the one line the demo prints.
    `code` is the demo's exit status: 0 when a child ended normally (exit code 0), else 1."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# A routine log line ("2026-11-25 18:03:47,634 INFO kyodo.scheduler: ..."): not a message about why a child stopped.
_ROUTINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO) ")


class Child:
    """A `kyodo <command>` child process, with the name and port used when telling what happened to it."""

    def __init__(self, name: str, args: list[str], port: int | None = None) -> None:
        self.name, self.port = name, port
        self.spoke = False  # wrote something other than routine log lines to stderr (a traceback, an error)
        # stderr passes through the demo, which notes whether the child said anything before it stopped.
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=os.environ.copy(),
                                     stderr=subprocess.PIPE, text=True, errors="replace")
        self._relay = threading.Thread(target=self._pass_stderr_on, name=f"{name} stderr", daemon=True)
        self._relay.start()

    def _pass_stderr_on(self) -> None:
        for line in self.proc.stderr:
            if line.strip() and not _ROUTINE.match(line):
                self.spoke = True
            try:
                sys.stderr.write(line)
                sys.stderr.flush()
            except (OSError, ValueError):
                pass  # our stderr is gone (a closed pipe): keep draining, or the child would block writing

    def stopped(self) -> bool:
        return self.proc.poll() is not None

    def wait_output(self, timeout: float = 2.0) -> None:
        """Until its last lines have been passed on (a grandchild holding the pipe open is not waited for long)."""
        self._relay.join(timeout)

    def why(self) -> ChildStopped:
        """'the LINE emulator (port 8081) stopped with exit code 1: port 8081 is in use by another program'."""
        self.wait_output()
        code = self.proc.returncode
        where = f" (port {self.port})" if self.port else ""
        if code is not None and code < 0:
            try:
                how = f"was stopped by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was stopped by signal {-code}"
            return ChildStopped(f"the {self.name}{where} {how}")
        if code == 0:  # it ended normally, e.g. on a Ctrl-C the demo itself ignores (started in the background)
            return ChildStopped(f"the {self.name}{where} stopped", code=0)
        text = f"the {self.name}{where} stopped with exit code {code}"
        # It does not listen any more, so whoever answers on its port is another program.
        if self.port and not _port_free(self.port):
            return ChildStopped(f"{text}: port {self.port} is in use by another program")
        return ChildStopped(f"{text} (its own message is above)" if self.spoke else text)


def wait_port(port: int, child: Child | None = None, timeout: float = 20.0) -> None:
    """Until something listens on the port; gives up at once if the child that should listen has stopped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.stopped():
            raise child.why()
        if not _port_free(port):
            return
        time.sleep(0.1)
    who = f"the {child.name} did not listen" if child is not None else "nothing listened"
    raise ChildStopped(f"{who} on port {port} within {timeout:.0f} s")


def first_stopped(children: list[Child]) -> Child | None:
    return next((c for c in children if c.stopped()), None)


def stop_all(children: list[Child]) -> None:
    for c in children:
        if not c.stopped():
            c.proc.send_signal(signal.SIGTERM)
    for c in children:
        try:
            c.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            c.proc.kill()
            c.proc.wait()
    for c in children:
        c.wait_output(0.5)


def run_demo(*, port: int, emulator_port: int, setup: bool = True) -> int:
    if not (_port_free(port) and _port_free(emulator_port)):
        print(ports_in_use_message(port, emulator_port))
        return 1
    emu_url = f"http://127.0.0.1:{emulator_port}"
    from bot.config import load_dotenv_if_present

    load_dotenv_if_present()  # a KYODO_PUBLIC_BASE_URL set in .env counts as configured
    # Links in the bot's messages (calendar files, web pages) point at this demo's own web app unless a public
    # base URL is configured (e.g. a tunnel); without this they would name port 5000 whatever --port says.
    if not os.environ.get("KYODO_PUBLIC_BASE_URL", "").strip():
        os.environ["KYODO_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    os.environ.setdefault("KYODO_DEMO", "1")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'demo.sqlite3'}")
    os.environ["LINE_API_BASE_URL"] = emu_url
    os.environ["LINE_DATA_API_BASE_URL"] = emu_url
    from bot.config import from_env

    cfg = from_env()
    if setup:
        print("kyodo demo: setting up")
        for step in SETUP_STEPS:
            mod, fn = step.split(":")
            getattr(importlib.import_module(mod), fn)(cfg)

    # SIGTERM (e.g. from a process manager) must stop the children too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    children: list[Child] = []
    try:
        emulator = Child("LINE emulator", ["emulator", "--port", str(emulator_port), "--webhook-url",
                                           f"http://127.0.0.1:{port}/callback"], emulator_port)
        children.append(emulator)
        wait_port(emulator_port, emulator)
        web = Child("web app", ["serve", "--port", str(port), "--quiet"], port)
        children.append(web)
        wait_port(port, web)
        from bot.richmenu import install_default

        try:
            install_default(cfg)
        except Exception:
            # The emulator or the web app going away mid-call is told as that, not as this call's traceback.
            if (dead := first_stopped(children)) is None:
                raise
            raise dead.why() from None
        print("  ✓ rich menu installed on the emulator")
        children.append(Child("scheduler", ["scheduler"]))
        children.append(Child("delivery", ["deliver"]))  # announcements and other pushes (kyodo deliver)
        print("\n" + "=" * 60)
        print(f"  チャット画面 (chat as a LINE user):  {emu_url}/")
        print(f"  Web (admin, plan pages):             http://127.0.0.1:{port}/")
        print(f"  Events and places (sample data):     http://127.0.0.1:{port}/events")
        print("  Ctrl-C で終了します (stops everything)")
        print("=" * 60 + "\n", flush=True)
        while (dead := first_stopped(children)) is None:
            time.sleep(0.2)
        raise dead.why()
    except ChildStopped as stopped:
        print(f"kyodo demo: {stopped}; stopping everything", flush=True)
        return stopped.code
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        stop_all(children)
