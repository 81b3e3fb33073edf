"""Everything a process needs to do work, built once per app or scheduler process (no globals)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import logsafe
from bot.clock import Clock, system_clock
from bot.config import Config
from bot.db import make_engine, make_sessions
from bot.line_adapter import LineAdapter


@dataclass
class Runtime:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    # Autocommit connections for single-statement writes on hot paths (the webhook's INSERT, claims):
    # no BEGIN/COMMIT round trips, and a pool of their own so no connection flips isolation level on
    # every checkout. SQLite: the same engine (begin() commits there; it has one writer anyway).
    autocommit_engine: Engine
    adapter: LineAdapter
    clock: Clock = system_clock
    dispatcher: object | None = None

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.shutdown()  # type: ignore[attr-defined]
        if self.autocommit_engine is not self.engine:
            self.autocommit_engine.dispose()
        self.engine.dispose()


def build_runtime(config: Config, *, clock: Clock | None = None, adapter: LineAdapter | None = None) -> Runtime:
    logsafe.set_key(config.secret_key or config.line_channel_secret)
    logsafe.install()  # every process that does work builds a runtime: web, worker, scheduler, cli
    engine = make_engine(config.database_url, pool_size=max(5, config.dispatch_workers + 4))
    autocommit = engine if engine.dialect.name == "sqlite" else make_engine(config.database_url, pool_size=8, autocommit=True)
    return Runtime(config=config, engine=engine, sessions=make_sessions(engine), autocommit_engine=autocommit,
                   adapter=adapter or LineAdapter(config), clock=clock or system_clock)
