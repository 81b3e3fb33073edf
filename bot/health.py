"""GET /healthz: is the database reachable, and is anything stuck."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select

from bot.db import ping
from models.outbox import FAILED, UNCERTAIN, OutboxBatch
from models.webhook import PENDING, WebhookEvent

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    rt = current_app.extensions["kyodo"]
    ok = ping(rt.engine)
    body: dict = {"status": "ok" if ok else "error", "database": "ok" if ok else "unreachable"}
    if ok:
        with rt.sessions() as db:
            body["events_pending"] = db.scalar(select(func.count()).where(WebhookEvent.status == PENDING))
            body["outbox_failed"] = db.scalar(select(func.count()).select_from(OutboxBatch).where(OutboxBatch.status.in_((FAILED, UNCERTAIN))))
    return jsonify(body), 200 if ok else 503
