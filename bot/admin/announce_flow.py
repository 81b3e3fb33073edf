"""What may happen to an announcement, and the doing of it: count, submit, approve, send or schedule, cancel,
test-send. Shared by the admin pages (views_announcements.py) and `kyodo announce` (announce_cli.py), so the
rules are the same from both. Who may call which step is bot/admin/policy.py's business (the views' rules);
this module decides what the announcement's state allows, and writes the audit entry with each change.

The rule on approval: an organisation's announcement, or one that would reach more than
Config.approval_threshold residents, is sent only after someone other than its author approved it.
"""
from __future__ import annotations

from dataclasses import replace

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

import bot.publish as publishing  # the module, so a test's spy on publishing.publish sees every call
from bot import announcement_messages as am
from bot import media, segments
from bot.admin import audit, staff_link
from bot.admin.listing_forms import districts_from_yaml
from bot.clock import to_tokyo, utc
from models.accounts import Account
from models.subscriptions import FREQUENCIES
from models.announcements import (APPROVED, CANCELLED, DRAFT, EDITABLE, PENDING, SCHEDULED, SENT, Announcement)
from models.media import MediaImage

# With no topics in its segment, an announcement is a 市からのお知らせ: it reaches residents who kept that topic
# (the default). A segment that names topics is the clerk saying what it is about: those decide (see topic_of).
# Urgent ones reach everyone in the segment either way.
TOPIC = "city"
CLI = "（コマンドライン）"


class FlowError(Exception):
    """A step the announcement's state does not allow; `message` is Japanese, for the page or the terminal."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message, self.status = message, status


# --- reading -------------------------------------------------------------------------------------------

def segment_of(ann: Announcement) -> segments.Segment:
    return for_sending(segments.Segment.from_json(ann.segment or {}), ann.urgent)


def for_sending(seg: segments.Segment, urgent: bool) -> segments.Segment:
    """The segment as counted and sent: with 「どれか一つ」, a 地区 or a project, and topics, those matched
    by the 地区 or project must still want the city's news (Segment.others_topic). Urgent: as chosen."""
    if not urgent and seg.match == segments.ANY and seg.topics and (seg.districts or seg.projects):
        return replace(seg, others_topic=TOPIC)
    return seg


def topic_of(seg: segments.Segment) -> str | None:
    """The topic a resident must have kept. None when the segment names topics: then the segment's own topics
    filter (a resident who chose any of them), so an events-only resident hears an イベント announcement
    without also keeping 市からのお知らせ. The count and the publication use the same rule."""
    return None if seg.topics else TOPIC


def count(db: Session, seg: segments.Segment, urgent: bool) -> int:
    return segments.count(db, for_sending(seg, urgent), topic=topic_of(seg), urgent=urgent)


def image_urls(config, db: Session, image_id: int | None, *, strict: bool = False) -> tuple[str, str] | None:
    """The image's (original, preview) URLs. bot.media refuses when LINE could not fetch them (no https base
    URL in production): a preview then goes without the image, a send (`strict`) is refused with its reason."""
    if image_id is None:
        return None
    image = db.get(MediaImage, image_id)
    if image is None:
        if strict:
            raise FlowError("添付した画像が見つかりません。画像を付け直してください。")
        return None
    try:
        return media.image_urls(config, image)
    except media.MediaError as e:
        if strict:
            raise FlowError(str(e)) from e
        return None


def messages(config, db: Session, ann: Announcement, *, strict: bool = False) -> list[dict]:
    return am.build(am.content_of(ann, image_urls(config, db, ann.image_id, strict=strict)))


def needs_approval(ann: Announcement, audience: int, threshold: int) -> bool:
    return ann.organisation_id is not None or audience > threshold


def approved_by_another(ann: Announcement) -> bool:
    return ann.approved_by_id is not None and ann.approved_by_id != ann.created_by_id


def send_problem(ann: Announcement, audience: int, threshold: int) -> str | None:
    """Why it cannot be sent or scheduled now (None: it can)."""
    if ann.status not in (DRAFT, PENDING, APPROVED):
        return f"このお知らせは「{ann.status_label}」のため、配信できません。"
    if needs_approval(ann, audience, threshold) and not (ann.status == APPROVED and approved_by_another(ann)):
        why = ("団体が作成したお知らせ" if ann.organisation_id is not None
               else f"{threshold:,}人を超える方に届くお知らせ（{audience:,}人）")
        return f"{why}は、作成者以外の職員の承認が必要です。先に承認を依頼してください。"
    return None


# --- changing ------------------------------------------------------------------------------------------

def _actor_note(actor: Account | None) -> str:
    return "" if actor is not None else CLI


def touch_after_edit(ann: Announcement, now: datetime) -> None:
    """An edit withdraws a submission or approval: what was approved is not what would be sent any more."""
    if ann.status not in EDITABLE:
        raise FlowError(f"このお知らせは「{ann.status_label}」のため、編集できません。")
    ann.status, ann.approved_by_id, ann.approved_at = DRAFT, None, None
    ann.submitted_by_id, ann.submitted_at, ann.updated_at = None, None, now


def submit(db: Session, ann: Announcement, actor: Account | None, now: datetime, audience: int) -> None:
    if ann.status != DRAFT:
        raise FlowError(f"このお知らせは「{ann.status_label}」のため、承認を依頼できません。")
    ann.status, ann.submitted_by_id, ann.submitted_at, ann.audience = PENDING, getattr(actor, "id", None), now, audience
    audit.record(db, "announcement.submit", actor=actor, obj=ann, now=now,
                 summary=f"{ann.title}（{audience:,}人）{_actor_note(actor)}")


def approve(db: Session, ann: Announcement, actor: Account, now: datetime) -> None:
    if ann.status != PENDING:
        raise FlowError(f"このお知らせは「{ann.status_label}」のため、承認できません。")
    if actor.id in (ann.created_by_id, ann.submitted_by_id):
        raise FlowError("自分で作成・依頼したお知らせは承認できません。別の職員に承認を依頼してください。", 403)
    ann.status, ann.approved_by_id, ann.approved_at = APPROVED, actor.id, now
    audit.record(db, "announcement.approve", actor=actor, obj=ann, now=now, summary=ann.title)


def parse_when(raw: str | None) -> datetime:
    """'2026-12-01 09:00' or '2026-12-01T09:00' (a datetime-local field), read as Asia/Tokyo."""
    from bot.clock import TOKYO

    text = (raw or "").strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=TOKYO)
        except ValueError:
            continue
    raise FlowError("配信日時は 2026-12-01 09:00 のように入力してください。", 422)


def check_future(when: datetime, now: datetime) -> None:
    if utc(when) <= utc(now) + timedelta(minutes=1):
        raise FlowError(f"配信日時が過ぎています（{to_tokyo(when):%Y/%m/%d %H:%M}）。これから先の日時を選んでください。", 422)


def publish(db: Session, config, ann: Announcement, actor: Account | None, now: datetime,
            when: datetime | None = None) -> object:
    """Hand it to bot.publish, now (`when` None) or at `when`; the caller commits."""
    seg = segment_of(ann)
    audience = count(db, seg, ann.urgent)
    if (problem := send_problem(ann, audience, config.approval_threshold)) is not None:
        raise FlowError(problem)
    if when is not None:
        check_future(when, now)
    pub = publishing.publish(db, messages=messages(config, db, ann, strict=True), segment=seg, when=when,
                             purpose="announcement", ref=ann.ref, topic=topic_of(seg), urgent=ann.urgent,
                             title=ann.title, created_by=_created_by(actor), now=now)
    ann.publication_id, ann.audience = pub.id, audience
    ann.status = SCHEDULED if when is not None else SENT
    ann.scheduled_at = utc(when) if when is not None else None  # SQLite keeps no offset: store UTC
    ann.sent_by_id, ann.sent_at, ann.updated_at = getattr(actor, "id", None), now, now
    if when is not None:
        audit.record(db, "announcement.schedule", actor=actor, obj=ann, now=now,
                     summary=f"{ann.title}（{to_tokyo(when):%Y/%m/%d %H:%M}・{audience:,}人）{_actor_note(actor)}")
    else:
        audit.record(db, "announcement.send", actor=actor, obj=ann, now=now,
                     summary=f"{ann.title}（{audience:,}人）{_actor_note(actor)}")
    return pub


def _created_by(actor: Account | None) -> str:
    return actor.email if actor is not None else "cli"


def cancel(db: Session, ann: Announcement, actor: Account | None, now: datetime) -> None:
    if ann.status != SCHEDULED or ann.publication_id is None:
        raise FlowError("配信予約中のお知らせだけ取り消せます。")
    if not publishing.cancel(db, ann.publication_id):
        raise FlowError("配信がすでに始まっているため、取り消せませんでした。")
    ann.status, ann.updated_at = CANCELLED, now
    audit.record(db, "announcement.cancel", actor=actor, obj=ann, now=now, summary=f"{ann.title}{_actor_note(actor)}")


def test_send(db: Session, config, ann: Announcement, actor: Account, now: datetime) -> None:
    """Only to the actor's own linked LINE account (bot.admin.staff_link), never to residents."""
    user = staff_link.linked_user(db, actor)
    if user is None:
        raise FlowError("テスト配信の前に、管理画面の「LINE連携」で表示されるコードを、ご自分のLINEから公式アカウントに"
                        "送って連携してください。", 409)
    publishing.publish(db, messages=messages(config, db, ann, strict=True), user_ids=[user.id], purpose="test",
                       title=f"テスト: {ann.title}", urgent=True, frequencies=FREQUENCIES,
                       created_by=_created_by(actor), now=now)
    audit.record(db, "announcement.test_send", actor=actor, obj=ann, now=now, summary=ann.title)


def report(db: Session, ann: Announcement) -> dict | None:
    if ann.publication_id is None:
        return None
    return publishing.report(db, ann.publication_id)


# --- the choices a segment is made of ------------------------------------------------------------------

# 26 districts are too many for one list a clerk scans: grouped by area, in districts.yaml's order.
DISTRICT_AREAS = {
    "中心部": ("midori", "aratama", "mannen", "saiwai", "juji", "ashigara", "ashiko", "futakawa"),
    "西部": ("kuno", "hayakawa", "okubo", "kataura"),
    "東部": ("sakawa_koyawata", "sanno_amiisshiki", "kozu"),
    "北部": ("shimofunaka", "sakurai", "kamifunaka", "shimosoga", "soga", "toyokawa", "higashitomizu", "tomizu",
             "fujimi"),
    "橘": ("maeba", "tachibana_kita"),
}
TOPIC_LABELS = {"events": "イベント", "places": "こどもの居場所", "volunteer": "ボランティア", "surveys": "アンケート",
                "progress": "計画の進み具合", "city": "市からのお知らせ"}
PROJECT_NUMBERS = tuple(range(1, 8))


def districts(city: str) -> list[tuple[str, str]]:
    """(key, name) of the city's districts, in districts.yaml's order."""
    return [(d.key, d.name) for d in districts_from_yaml(city)]


def district_groups(city: str) -> list[tuple[str, list[tuple[str, str]]]]:
    names = dict(districts(city))
    groups = [(area, [(k, names[k]) for k in keys if k in names]) for area, keys in DISTRICT_AREAS.items()]
    placed = {k for keys in DISTRICT_AREAS.values() for k in keys}
    rest = [(k, n) for k, n in names.items() if k not in placed]  # another city's, or a new one
    return [g for g in groups if g[1]] + ([("その他", rest)] if rest else [])


def projects(db: Session) -> list[tuple[int, str]]:
    from sqlalchemy import select

    from models.plan import Project

    names = dict(db.execute(select(Project.number, Project.name)).all())
    return [(n, f"{n}. {names[n]}" if n in names else f"プロジェクト{n}") for n in PROJECT_NUMBERS]


def describe(seg: segments.Segment, city: str, project_names: dict[int, str] | None = None) -> str:
    """The segment in a clerk's words: 'すべての方' or '国府津・曽我 のどれか一つに当てはまる方'."""
    if seg.is_everyone():
        return "友だち全員（「市からのお知らせ」を受け取る設定の方）"
    names = dict(districts(city))
    parts = []
    if seg.districts:
        parts.append("地区: " + "・".join(names.get(d, d) for d in seg.districts))
    if seg.projects:
        parts.append("プロジェクト: " + "・".join((project_names or {}).get(p, str(p)) for p in seg.projects))
    if seg.topics:
        parts.append("関心: " + "・".join(TOPIC_LABELS.get(t, t) for t in seg.topics))
    if len(parts) == 1:
        return parts[0] + " の方"
    joined = "、".join(parts)
    return f"{joined} のすべてに当てはまる方" if seg.match == segments.ALL else f"{joined} のどれか一つに当てはまる方"
