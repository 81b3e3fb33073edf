"""`kyodo demo`: set up a local database and run emulator + bot + scheduler in one process group."""
from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bot.config import ROOT

# "module:function" taking the Config; later steps add plan loading, sample data, demo accounts.
SETUP_STEPS: list[str] = ["bot.demo:migrate", "bot.plan_loader:load_default", "bot.admin.demo:demo_accounts"]


def migrate(cfg) -> None:
    from bot.migrate import upgrade

    if cfg.database_url.startswith("sqlite:///"):
        Path(cfg.database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    upgrade(cfg.database_url)
    print("  ✓ database migrated")


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing is listening on port {port}")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def run_demo(*, port: int, emulator_port: int, setup: bool = True) -> int:
    for p in (port, emulator_port):
        if not _port_free(p):
            print(f"kyodo demo: port {p} is already in use; stop the other program or pass --port/--emulator-port")
            return 1
    emu_url = f"http://127.0.0.1:{emulator_port}"
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
    kyodo = [sys.executable, "-m", "bot.cli"]
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> None:
        procs.append(subprocess.Popen([*kyodo, *args], cwd=ROOT, env=os.environ.copy()))

    try:
        start("emulator", "--port", str(emulator_port), "--webhook-url", f"http://127.0.0.1:{port}/callback")
        wait_port(emulator_port)
        start("serve", "--port", str(port))
        wait_port(port)
        from bot.richmenu import install_default

        install_default(cfg)
        print("  ✓ rich menu installed on the emulator")
        start("scheduler")
        print("\n" + "=" * 60)
        print(f"  チャット画面 (chat as a LINE user):  {emu_url}/")
        print(f"  Web (admin, plan pages):             http://127.0.0.1:{port}/")
        print("  Ctrl-C で終了します (stops everything)")
        print("=" * 60 + "\n", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("kyodo demo: a component stopped; shutting down")
        return 1
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
