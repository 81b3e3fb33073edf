"""Engine and session factory. No module-level engine: each app/runtime makes its own."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    # Heroku-style and plain URLs select psycopg 3 explicitly.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# SQLAlchemy puts a statement's parameters (LINE ids, residents' text) into its exception messages and
# echo logs unless told not to; every engine here is told.
HIDE = {"hide_parameters": True}


def make_engine(url: str, *, pool_size: int = 10, autocommit: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **HIDE)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _rec):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            # WAL lets the webhook insert while the dispatcher reads; FKs for ON DELETE CASCADE.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # No pre-ping: it costs a round trip on every checkout of the webhook's hot path; stale
    # connections are recycled instead, and a failed request is retried by LINE's redelivery.
    extra = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, pool_recycle=1800, **extra, **HIDE)


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def scratch_postgres(admin_url: str, prefix: str = "kyodo_scratch") -> Iterator[str]:
    """A throwaway PostgreSQL database (tests, benchmarks): yields its URL, drops it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT", **HIDE)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield normalise_url(admin_url).rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
