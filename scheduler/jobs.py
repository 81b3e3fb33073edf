"""Job bodies. Each is safe to run in two processes at once (claims are conditional UPDATEs)."""
from __future__ import annotations

import logging

from bot import dispatcher, outbox

log = logging.getLogger("kyodo.jobs")


def sweep_webhooks(rt) -> None:
    n = dispatcher.sweep(rt, older_than_s=10.0, inline=True)
    if n:
        log.info("sweeper: processed events of %d users left behind", n)


def sweep_outbox(rt) -> None:
    n = outbox.sweep(rt)
    if n:
        log.info("sweeper: delivered %d outbox batches", n)


# (id, function, seconds between runs)
JOBS = [
    ("sweep_webhooks", sweep_webhooks, 30),
    ("sweep_outbox", sweep_outbox, 15),
]
