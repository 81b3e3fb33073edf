"""`kyodo announce` in-process against the test database: shows who and how many, asks unless --yes, refuses
what the form refuses (past time, too long, http link, unknown district, over the approval threshold), hands
the announcement to bot.publish with its ref, and writes the audit log as the command line."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from bot.cli import main
from models.announcements import Announcement
from tests.admin_support import T0
from tests.announcements_support import add_residents, publisher  # noqa: F401 (fixture)


@pytest.fixture
def cli_env(admin_env, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("KYODO_APPROVAL_THRESHOLD", raising=False)
    with admin_env.db() as db:
        add_residents(db, T0)
    return admin_env


def announcements(env) -> list[Announcement]:
    with env.db() as db:
        return db.scalars(select(Announcement).where(Announcement.organisation_id.is_(None))).all()


def test_announce_to_a_district_now(cli_env, publisher, capsys):
    assert main(["announce", "--text", "国府津の皆さまへ\n明日は断水です。", "--district", "kozu", "--urgent", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "to: 地区: 国府津 の方" in out and "residents: 2" in out and "when: now" in out
    [ann] = announcements(cli_env)
    assert ann.status == "sent" and ann.title == "国府津の皆さまへ" and ann.urgent and ann.created_by_id is None
    assert ann.segment == {"districts": ["kozu"], "projects": [], "topics": [], "match": "any"}
    [call] = publisher.published()
    assert call["ref"] == f"announcement:{ann.id}" and call["urgent"] is True
    assert call["messages"] == [{"type": "text", "text": "【緊急】国府津の皆さまへ\n明日は断水です。"}]
    entries = cli_env.audit("announcement.send")
    assert [(e.actor_id, e.summary) for e in entries] == [(None, "国府津の皆さまへ（2人）（コマンドライン）")]


def test_announce_scheduled_with_and(cli_env, publisher, capsys):
    at = "2099-12-01 09:00"
    assert main(["announce", "--text", "プロジェクト3のお知らせ", "--district", "kozu", "--project", "3", "--match", "all",
                 "--at", at, "--link", "https://example.jp/p3", "--yes"]) == 0
    assert "residents: 1" in capsys.readouterr().out
    [ann] = announcements(cli_env)
    assert ann.status == "scheduled"
    [call] = publisher.published()
    assert call["when"] == datetime(2099, 12, 1, 0, 0, tzinfo=timezone.utc)
    assert call["messages"][1]["template"]["actions"][0]["uri"] == "https://example.jp/p3"


@pytest.mark.parametrize("args, message", [
    (["--at", "2020-01-01 09:00"], "配信日時が過ぎています"),
    (["--at", "tomorrow"], "2026-12-01 09:00 のように入力してください"),
    (["--district", "atlantis"], "unknown district atlantis"),
    (["--link", "http://example.jp/"], "https:// で始まるアドレス"),
    (["--topic", "gossip"], "unknown topic gossip"),
    ([], "not confirmed: add --yes"),  # stdin is not a terminal under pytest
])
def test_announce_refuses_like_the_form(cli_env, publisher, capsys, args, message):
    assert main(["announce", "--text", "お知らせです。", *args]) == 1
    assert message in capsys.readouterr().err
    assert announcements(cli_env) == [] and publisher.published() == []


def test_announce_refuses_text_too_long_and_over_the_threshold(cli_env, publisher, capsys, monkeypatch):
    assert main(["announce", "--text", "😀" * 2501, "--yes"]) == 1
    assert "--text is 5,002 characters; LINE allows 5,000" in capsys.readouterr().err
    monkeypatch.setenv("KYODO_APPROVAL_THRESHOLD", "2")
    assert main(["announce", "--text", "全員へ", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "more than 2 residents" in err and "/admin/announcements" in err
    with cli_env.db() as db:
        assert db.scalar(select(func.count()).select_from(Announcement).where(Announcement.organisation_id.is_(None))) == 0
