"""The audit log: who did what, when. Every change through the admin writes one entry in the same
transaction as the change itself, so a change without its entry cannot be committed."""
from __future__ import annotations

import hashlib
import hmac

from datetime import datetime

from flask import current_app, has_request_context, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clock import system_clock
from models.accounts import Account, AuditEntry

# Japanese labels for the audit page's filter and table; an action missing here still shows its code.
ACTIONS = {
    "login": "ログイン",
    "login.failed": "ログイン失敗",
    "login.locked": "アカウントのロック",
    "login.locked_attempt": "ロック中のログイン試行",
    "logout": "ログアウト",
    "password.change": "パスワード変更",
    "account.create": "アカウント作成",
    "account.update": "アカウント変更",
    "account.disable": "アカウント停止",
    "account.enable": "アカウント再開",
    "account.reset_password": "仮パスワード再発行",
    "organisation.create": "団体の登録",
    "organisation.update": "団体の変更",
    "survey_team.create": "調査チームの登録",
    "survey_team.update": "調査チームの変更",
    "notice.create": "お知らせ下書きの作成",
    "notice.update": "お知らせ下書きの編集",
    "notice.delete": "お知らせ下書きの削除",
    "announcement.create": "お知らせの作成",
    "announcement.update": "お知らせの編集",
    "announcement.delete": "お知らせの削除",
    "announcement.submit": "お知らせの承認依頼",
    "announcement.approve": "お知らせの承認",
    "announcement.send": "お知らせの配信",
    "announcement.schedule": "お知らせの配信予約",
    "announcement.cancel": "お知らせの配信取り消し",
    "announcement.test_send": "お知らせのテスト配信",
    "media.upload": "画像の登録",
    "staff_link.code": "LINE連携コードの発行",
    "staff_link.link": "LINE連携",
    "staff_link.unlink": "LINE連携の解除",
    "staff_link.throttled": "LINE連携コードの誤りによる受付停止",
    "event.create": "イベントの作成",
    "event.update": "イベントの編集",
    "event.publish": "イベントの公開",
    "event.submit": "イベントの承認依頼",
    "event.approve": "イベントの承認",
    "event.send_back": "イベントの差し戻し",
    "event.cancel": "イベントの中止",
    "event.delete": "イベントの削除",
    "event.message": "参加者へのメッセージ",
    "event.registrations_export": "申込者一覧のダウンロード",
    "place.create": "居場所の作成",
    "place.update": "居場所の編集",
    "place.publish": "居場所の公開",
    "place.submit": "居場所の承認依頼",
    "place.approve": "居場所の承認",
    "place.send_back": "居場所の差し戻し",
    "place.withdraw": "居場所の公開停止",
    "place.delete": "居場所の削除",
    "opendata.import": "CSVの取り込み",
    "opendata.export": "CSVのダウンロード",
    "access.denied": "権限のないアクセス",
    "volunteer.create": "ボランティア活動の作成",
    "volunteer.update": "ボランティア活動の編集",
    "volunteer.publish": "ボランティア活動の公開",
    "volunteer.submit": "ボランティア活動の承認依頼",
    "volunteer.approve": "ボランティア活動の承認",
    "volunteer.send_back": "ボランティア活動の差し戻し",
    "volunteer.withdraw": "ボランティア活動の掲載終了",
    "volunteer.shift_create": "シフトの追加",
    "volunteer.shift_update": "シフトの編集",
    "volunteer.shift_cancel": "シフトの中止",
    "volunteer.attendance": "出欠の記録",
    "volunteer.message": "ボランティア参加者へのメッセージ",
    "volunteer.roster_export": "名簿のダウンロード",
    "survey.create": "アンケートの作成",
    "survey.update": "アンケートの設定の編集",
    "survey.question_create": "アンケートの質問の追加",
    "survey.question_update": "アンケートの質問の編集",
    "survey.question_delete": "アンケートの質問の削除",
    "survey.question_move": "アンケートの質問の並べ替え",
    "survey.open": "アンケートの公開",
    "survey.close": "アンケートの締め切り",
    "survey.draft": "アンケートを下書きに戻す",
    "survey.delete": "アンケートの削除",
    "survey.export": "アンケート回答のダウンロード",
    "survey.export_tables": "アンケート集計表のダウンロード",
    "faq.create": "よくある質問の作成",
    "faq.update": "よくある質問の編集",
    "faq.publish": "よくある質問の公開",
    "faq.unpublish": "よくある質問の公開停止",
    "faq.delete": "よくある質問の削除",
    "faq.add_example": "よくある質問への言い換えの追加",
    "faq_miss.delete": "読み取れなかった言葉の削除",
    "faq_phrase.create": "言い換えの登録",
    "faq_phrase.delete": "言い換えの削除",
}


def ip_hash(address: str | None, secret: str) -> str | None:
    """Keyed hash of the client address: "same place as before" is visible, the address is not stored."""
    if not address:
        return None
    key = hashlib.sha256(("kyodo-audit-ip:" + secret).encode()).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:16]


def record(db: Session, action: str, *, actor: Account | None = None, obj=None, object_type: str | None = None,
           object_id: object = None, summary: str = "", now=None) -> AuditEntry:
    """Add an entry to `db` (the caller commits with its change). Never put a resident's data in `summary`."""
    address, at = None, now
    if has_request_context():
        address = request.remote_addr
        rt = current_app.extensions["kyodo"]
        at = at or rt.now()
        secret = current_app.config.get("SECRET_KEY") or ""
    else:
        secret = ""
    if obj is not None:
        if getattr(obj, "id", None) is None:
            db.flush()  # a new object gets its id before the entry names it
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    entry = AuditEntry(
        at=at or system_clock(), actor_id=actor.id if actor is not None else None, action=action,
        object_type=object_type, object_id=None if object_id is None else str(object_id),
        summary=summary[:500], ip_hash=ip_hash(address, secret),
    )
    db.add(entry)
    return entry


LOCK_OUT_ACTIONS = ("login.locked", "login.locked_attempt")


def lock_outs_since(db: Session, account: Account, since: datetime | None) -> int:
    """How often this account was locked, or tried while locked, since `since`: told to its owner at the next
    login, because the login page itself answers a locked account like any wrong password."""
    stmt = (select(func.count()).select_from(AuditEntry)
            .where(AuditEntry.object_type == Account.__tablename__, AuditEntry.object_id == str(account.id),
                   AuditEntry.action.in_(LOCK_OUT_ACTIONS)))
    if since is not None:
        stmt = stmt.where(AuditEntry.at > since)
    return db.scalar(stmt) or 0
