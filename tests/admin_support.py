"""Shared support for the admin tests: an app with a frozen clock, a CSRF-aware client, seeded
accounts of every role, and the `admin_app` / `admin_env` fixtures."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.admin.accounts import create_account, find_or_create_group
from bot.app import create_app
from bot.clock import FrozenClock
from bot.runtime import build_runtime
from models.accounts import AuditEntry, Organisation, SurveyTeam
from models.announcements import Announcement
from tests.conftest import make_config, wipe

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)  # 10:00 in Tokyo
PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def build_app(database_url: str, clock: FrozenClock, **extra):
    cfg = make_config(database_url, "http://127.0.0.1:9", extra={"admin_login_rate": "1000 per minute", **extra})
    rt = build_runtime(cfg, clock=clock)
    return create_app(cfg, runtime=rt, start_workers=False), rt


class Client:
    """A person with a browser: keeps cookies, reads the CSRF token from the page like a form would."""

    def __init__(self, app) -> None:
        self.c = app.test_client()

    def token(self, path: str = "/admin/") -> str:
        html = self.c.get(path).get_data(as_text=True)
        m = CSRF_RE.search(html)
        assert m, f"no CSRF token on {path}"
        return m.group(1)

    def login(self, email: str, password: str = PASSWORD):
        token = self.token("/admin/login")
        return self.c.post("/admin/login", data={"email": email, "password": password, "csrf_token": token})

    def get(self, path: str):
        return self.c.get(path)

    def post(self, path: str, data: dict | None = None, *, token_from: str = "/admin/", csrf: bool = True):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token(token_from)
        return self.c.post(path, data=data)


@dataclass
class Env:
    app: object
    rt: object
    clock: FrozenClock
    ids: dict

    def client(self) -> Client:
        return Client(self.app)

    def signed_in(self, who: str) -> Client:
        c = self.client()
        r = c.login(f"{who}@example.jp")
        assert r.status_code == 302, r.get_data(as_text=True)
        return c

    def audit(self, action: str | None = None) -> list[AuditEntry]:
        with self.rt.sessions() as db:
            stmt = select(AuditEntry).order_by(AuditEntry.id)
            if action:
                stmt = stmt.where(AuditEntry.action == action)
            return db.scalars(stmt).all()

    def db(self):
        return self.rt.sessions()


def seed(rt, now) -> dict:
    """Two organisations, a survey team, one account per role (org A and org B), one draft announcement per
    organisation."""
    with rt.sessions() as db:
        a = find_or_create_group(db, Organisation, "みどり子ども会", now)
        b = find_or_create_group(db, Organisation, "あおば自治会", now)
        t = find_or_create_group(db, SurveyTeam, "市民アンケート班", now)
        db.flush()
        ids = {"org_a": a.id, "org_b": b.id, "team": t.id}
        for who, role, org, team in [("admin", "admin", None, None), ("staff", "staff", None, None),
                                     ("orga", "organisation", a.id, None), ("orgb", "organisation", b.id, None),
                                     ("survey", "survey", None, t.id)]:
            acc, _ = create_account(db, email=f"{who}@example.jp", role=role, organisation_id=org, survey_team_id=team,
                                    password=PASSWORD, now=now, testing=True, display_name=who)
            ids[who] = acc.id
        for key, org in (("notice_a", a.id), ("notice_b", b.id)):
            n = Announcement(organisation_id=org, title=f"下書き{key[-1].upper()}", body="本文", created_at=now, updated_at=now)
            db.add(n)
            db.flush()
            ids[key] = n.id
        db.commit()
    return ids


def fresh_env(app, rt, clock: FrozenClock) -> Env:
    """A clean, seeded database and the clock back at T0."""
    clock.set(T0)
    wipe(rt)
    return Env(app, rt, clock, seed(rt, T0))


@pytest.fixture(scope="module")
def admin_app(database_url):
    clock = FrozenClock(T0)
    app, rt = build_app(database_url, clock)
    yield app, rt, clock
    rt.close()


@pytest.fixture
def admin_env(admin_app) -> Env:
    return fresh_env(*admin_app)
