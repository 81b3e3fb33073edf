"""Admin building blocks without HTTP: password rules and hashing, membership rules (also enforced by the
database), the audit address hash, the chart, the `kyodo admin` command and the demo accounts."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import IntegrityError

from bot.admin import auth
from bot.admin.accounts import AccountError, create_account, membership_problem
from bot.admin.audit import ip_hash
from bot.admin.dashboard import bar_chart
from bot.db import normalise_url
from models.accounts import Account, AuditEntry, Organisation, SurveyTeam
from models.announcements import Announcement

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(database_url):
    from bot.runtime import build_runtime
    from tests.conftest import make_config, wipe

    rt = build_runtime(make_config(database_url, "http://127.0.0.1:9"))
    wipe(rt)
    with rt.sessions() as session:
        yield session
    rt.close()


def test_password_rules():
    assert auth.password_problem("short") == "パスワードは12文字以上にしてください。"
    assert auth.password_problem("a" * 64) is not None  # too repetitive
    assert auth.password_problem("正しい馬の電池と留め金" + "xyz") is None
    assert auth.password_problem(("abcdefgh" * 16)[:128]) is None  # 128 is allowed: no maximum below 64
    assert auth.password_problem("x" * 100 + "abcdefghijklmnopqrstuvwxyz1234") == "パスワードは128文字以内にしてください。"
    assert auth.password_problem("hanako.yamada-2026", "hanako.yamada@example.jp") == "メールアドレスを含むパスワードは使えません。"
    assert len(auth.one_time_password()) >= 16 and auth.one_time_password() != auth.one_time_password()


def test_hashing_is_argon2id_and_cheap_test_hashes_are_upgraded():
    cheap = auth.hash_password("a long passphrase", testing=True)
    assert cheap.startswith("$argon2id$") and "a long passphrase" not in cheap
    assert auth.check_password(cheap, "a long passphrase", testing=True) == (True, None)
    assert auth.check_password(cheap, "wrong", testing=True) == (False, None)
    ok, upgraded = auth.check_password(cheap, "a long passphrase", testing=False)
    assert ok and upgraded and upgraded.startswith("$argon2id$v=19$m=65536,t=3")
    assert auth.check_password("not a hash", "x") == (False, None)


def test_emails_are_normalised_and_checked():
    assert auth.normalise_email("  Hanako@Example.JP ") == "hanako@example.jp"
    assert auth.email_problem("hanako@example") == "メールアドレスの形式が正しくありません。"
    assert auth.email_problem("hanako@city.odawara.kanagawa.jp") is None


def test_membership_rules():
    assert membership_problem("admin", None, None) is None
    assert membership_problem("organisation", 1, None) is None
    assert membership_problem("survey", None, 2) is None
    assert membership_problem("organisation", None, None) == ("organisation_id", "団体を選んでください。")
    assert membership_problem("organisation", 1, 2)[0] == "survey_team_id"
    assert membership_problem("survey", 1, 2)[0] == "organisation_id"
    assert membership_problem("staff", 1, None) == ("organisation_id", "管理者と職員は、団体や調査チームに所属しません。")
    assert membership_problem("owner", None, None) == ("role", "役割を選んでください。")


@pytest.mark.parametrize("role,org,team", [
    ("organisation", True, True),   # two groups
    ("organisation", False, False),  # none
    ("staff", True, False),          # staff in an organisation
    ("survey", True, False),         # survey account in an organisation
    ("superuser", False, False),     # unknown role
])
def test_the_database_refuses_an_account_in_the_wrong_groups(db, role, org, team):
    o = Organisation(name="団体", created_at=NOW)
    t = SurveyTeam(name="班", created_at=NOW)
    db.add_all([o, t])
    db.flush()
    db.add(Account(email="x@example.jp", role=role, organisation_id=o.id if org else None,
                   survey_team_id=t.id if team else None, password_hash="x", created_at=NOW))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_create_account_checks_and_audits(db):
    o = Organisation(name="みどり子ども会", created_at=NOW)
    db.add(o)
    db.flush()
    acc, secret = create_account(db, email="Org@Example.jp", role="organisation", organisation_id=o.id, now=NOW, testing=True)
    assert acc.email == "org@example.jp" and acc.must_change_password and secret
    assert auth.check_password(acc.password_hash, secret, testing=True)[0]
    with pytest.raises(AccountError) as e:
        create_account(db, email="org@example.jp", role="staff", now=NOW, testing=True)
    assert e.value.field == "email"
    with pytest.raises(AccountError) as e:
        create_account(db, email="s@example.jp", role="staff", now=NOW, password="short", testing=True)
    assert e.value.field == "password"
    acc2, secret2 = create_account(db, email="s@example.jp", role="staff", now=NOW, password="a long passphrase", testing=True)
    assert secret2 is None and not acc2.must_change_password
    entries = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.summary) for e in entries] == [
        ("account.create", "org@example.jp: 団体（みどり子ども会）"), ("account.create", "s@example.jp: 職員")]


def test_audit_address_hash_is_keyed_and_short():
    h = ip_hash("203.0.113.7", "secret-1")
    assert h == ip_hash("203.0.113.7", "secret-1") and len(h) == 16 and "203" not in h
    assert h != ip_hash("203.0.113.7", "secret-2") and h != ip_hash("203.0.113.8", "secret-1")
    assert ip_hash(None, "s") is None


def test_bar_chart_geometry():
    bars = bar_chart([("11/1", 0), ("11/8", 5), ("11/15", 10)], width=480, height=160, pad=24)
    assert [b.value for b in bars] == [0, 5, 10]
    assert bars[0].height == 0 and bars[2].height == pytest.approx(112) and bars[1].height == pytest.approx(56)
    assert bars[2].y == pytest.approx(24) and all(b.y + b.height == pytest.approx(136) for b in bars)
    assert bars[0].x < bars[1].x < bars[2].x and bars[2].x + bars[2].width <= 480
    assert bar_chart([]) == [] and bar_chart([("a", 0)])[0].height == 0


def _cli(monkeypatch, database_url, argv, stdin=""):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("KYODO_DEMO", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_cli_create_user(db, database_url, monkeypatch, capsys):
    assert _cli(monkeypatch, database_url, ["admin", "create-user", "--role", "admin", "--email", "First@Example.jp"]) == 0
    out = capsys.readouterr().out
    secret = out.split("one-time password: ")[1].split()[0]
    acc = db.scalar(select(Account).where(Account.email == "first@example.jp"))
    assert acc.role == "admin" and acc.must_change_password
    assert auth.check_password(acc.password_hash, secret)[0]

    assert _cli(monkeypatch, database_url, ["admin", "create-user", "--role", "organisation", "--email", "o@example.jp",
                                            "--organisation", "あおば自治会", "--password-stdin"], "a long passphrase\n") == 0
    out = capsys.readouterr().out
    assert "one-time password" not in out
    acc = db.scalar(select(Account).where(Account.email == "o@example.jp"))
    assert not acc.must_change_password and acc.organisation.name == "あおば自治会"

    assert _cli(monkeypatch, database_url, ["admin", "create-user", "--role", "organisation", "--email", "x@example.jp"]) == 1
    assert "--organisation" in capsys.readouterr().err
    assert _cli(monkeypatch, database_url, ["admin", "create-user", "--role", "staff", "--email", "first@example.jp"]) == 1
    assert "すでに登録されています" in capsys.readouterr().err
    assert _cli(monkeypatch, database_url, ["admin", "create-user", "--role", "staff", "--email", "p@example.jp",
                                            "--password-stdin"], "short\n") == 1
    assert "12文字以上" in capsys.readouterr().err

    assert _cli(monkeypatch, database_url, ["admin", "reset-password", "--email", "o@example.jp"]) == 0
    secret = capsys.readouterr().out.split(": ")[-1].strip()
    db.expire_all()
    acc = db.scalar(select(Account).where(Account.email == "o@example.jp"))
    assert acc.must_change_password and auth.check_password(acc.password_hash, secret)[0]


def test_demo_accounts_one_per_role(db, database_url, capsys):
    from bot.admin.demo import DEMO_ACCOUNTS, demo_accounts
    from tests.conftest import make_config

    cfg = make_config(database_url, "http://127.0.0.1:9", testing=False, demo=True)
    demo_accounts(cfg)
    demo_accounts(cfg)  # a second `make demo` changes nothing
    out = capsys.readouterr().out
    for _role, email, _name, password in DEMO_ACCOUNTS:
        assert email in out and password in out
        acc = db.scalar(select(Account).where(Account.email == email))
        assert auth.check_password(acc.password_hash, password)[0] and not acc.must_change_password
    assert sorted(a.role for a in db.scalars(select(Account))) == ["admin", "organisation", "staff", "survey"]
    assert len(db.scalars(select(Announcement)).all()) == 1

