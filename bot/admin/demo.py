"""`make demo`: one account per role, with fixed throwaway passwords printed for the local demo only."""
from __future__ import annotations

import unicodedata

from sqlalchemy import select

from models.accounts import ADMIN, ORGANISATION, ROLE_LABELS, STAFF, SURVEY, Account, Organisation, SurveyTeam
from models.announcements import Announcement

DEMO_ORGANISATION = "みどり子ども会"
DEMO_SURVEY_TEAM = "市民アンケート班"
DEMO_ACCOUNTS = [
    # (role, email, display name, password): demo only, never for a real deployment
    (ADMIN, "admin@kyodo.example", "管理 太郎", "kyodo-demo-kanri-2026"),
    (STAFF, "staff@kyodo.example", "職員 花子", "kyodo-demo-shokuin-2026"),
    (ORGANISATION, "org@kyodo.example", "みどり 次郎", "kyodo-demo-dantai-2026"),
    (SURVEY, "survey@kyodo.example", "調査 三郎", "kyodo-demo-chousa-2026"),
]


def demo_accounts(cfg) -> None:
    from bot.admin.accounts import create_account, find_or_create_group
    from bot.runtime import build_runtime

    rt = build_runtime(cfg)
    try:
        with rt.sessions() as db:
            now = rt.now()
            org = find_or_create_group(db, Organisation, DEMO_ORGANISATION, now)
            team = find_or_create_group(db, SurveyTeam, DEMO_SURVEY_TEAM, now)
            db.flush()
            for role, email, name, password in DEMO_ACCOUNTS:
                if db.scalar(select(Account.id).where(Account.email == email)) is None:
                    create_account(db, email=email, role=role, display_name=name, password=password, now=now,
                                   organisation_id=org.id if role == ORGANISATION else None,
                                   survey_team_id=team.id if role == SURVEY else None, via="（デモ）")
            if db.scalar(select(Announcement.id).where(Announcement.organisation_id == org.id)) is None:
                db.add(Announcement(organisation_id=org.id, title="夏休み子ども食堂のお知らせ（下書き）",
                                    body="8月の毎週土曜日、地区センターで子ども食堂を開きます。", created_at=now, updated_at=now))
            db.commit()
    finally:
        rt.close()
    print("  ✓ demo admin accounts (web admin at /admin/):")
    labels = [ROLE_LABELS[role] for role, *_ in DEMO_ACCOUNTS]
    label_cols = max(map(display_width, labels))
    email_cols = max(len(email) for _, email, *_ in DEMO_ACCOUNTS)
    for label, (_role, email, _name, password) in zip(labels, DEMO_ACCOUNTS):
        print(f"      {pad(label, label_cols)}  {email:<{email_cols}}  {password}")


def display_width(text: str) -> int:
    """Columns a terminal gives the text: wide (W) and fullwidth (F) characters such as kanji take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    """`text` followed by spaces up to `columns` terminal columns (str.ljust counts a kanji as one)."""
    return text + " " * max(0, columns - display_width(text))
