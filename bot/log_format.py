"""One format for every process's log lines: `kyodo worker`, `kyodo scheduler`, the CLI (bot/cli.py) and the
gunicorn web process (gunicorn.conf.py), so a line says when, how bad and from where, whichever wrote it."""
from __future__ import annotations

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def gunicorn_logconfig() -> dict:
    """gunicorn's logconfig_dict: the app's loggers (kyodo.*, libraries) print to stderr in LOG_FORMAT.

    gunicorn's own loggers keep their handlers (they do not propagate to the root), hence no "loggers"."""
    return {
        "root": {"level": "INFO", "handlers": ["kyodo"]},
        "loggers": {},
        "handlers": {"kyodo": {"class": "logging.StreamHandler", "formatter": "kyodo", "stream": "ext://sys.stderr"}},
        "formatters": {"kyodo": {"format": LOG_FORMAT}},
    }
