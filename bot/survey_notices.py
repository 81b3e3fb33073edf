"""What residents are told about a survey by push, all through bot.publish (topic "surveys", so only residents
who chose アンケート in 設定 hear of it; kyodo deliver checks following, notifications and quiet hours again at
send time):

- the invitation, queued when the team opens the survey (on_opened, from bot/admin/views_surveys.py), sent at
  its opening time: a card with the title, the start of the introduction, 締切 and 「回答する」;
- the one reminder to those who have not submitted (queued by scheduler/survey_jobs.py at remind_at);
- closing or taking a survey back to draft cancels whichever of them has not started sending (on_closed).

Each publication has a ref unique to the survey (publish() returns the first one for a ref), so a double click
in the admin or a second scheduler never invites or reminds twice. Sample surveys (source "sample") are never
announced. Wording lives here: these two messages are the only pushes of the feature.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import to_tokyo, utc
from bot.listing_format import day_label
from bot.publish import cancel as cancel_publication
from bot.publish import publish
from bot.segments import Segment
from handlers import flex as F
from handlers import ui
from handlers.plan_text import excerpt
from models.publications import CANCELLED, EXPANDING, SCHEDULED, Publication
from models.surveys import Survey

TOPIC = "surveys"
PURPOSE = "survey"
INTRO_CHARS = 120
T = {
    "invite_head": "アンケートのお願い",
    "remind_head": "アンケートのご案内（締切が近づいています）",
    "remind_body": "まだ回答がお済みでない方へのご案内です。途中まで答えた方は、続きから回答できます。",
    "deadline": "締切：{deadline}",
    "questions": "質問：{n}問",
    "anonymous": "無記名のアンケートです。",
    "named": "記名式のアンケートです。",
    "answer": "回答する",
    "answer_display": "「{title}」に回答する",
    "invite_alt": "アンケートのお願い：{title}（締切 {deadline}）",
    "remind_alt": "アンケートの締切が近づいています：{title}（締切 {deadline}）",
}


def invite_ref(survey_id: int, round_no: int = 1) -> str:
    """The invitation's ref; a survey opened again after its first invitation was cancelled unsent (taken back
    to draft before it went) gets a new round."""
    return f"survey:{survey_id}:invite" + (f":{round_no}" if round_no > 1 else "")


def remind_ref(survey_id: int) -> str:
    return f"survey:{survey_id}:remind"


def deadline_text(closes_at: datetime) -> str:
    """12月3日（木）17:00 (Tokyo)."""
    t = to_tokyo(closes_at)
    return f"{day_label(t.date(), year=False)}{t.hour}:{t.minute:02d}"


def _card(survey: Survey, head: str, lines: list[str], alt: str) -> dict:
    title = survey.title[:100]
    body = [F.text(s, size="sm") for s in lines if s]
    body.append(F.text(T["deadline"].format(deadline=deadline_text(survey.closes_at)), size="sm",
                       weight="bold", margin="md"))
    facts = [T["questions"].format(n=len(survey.questions))] if survey.questions else []
    facts.append(T["anonymous"] if survey.anonymous else T["named"])
    body.append(F.text("　".join(facts), size="xs", color=F.MUTED))
    button = F.button(ui.postback(T["answer"], "survey.open", T["answer_display"].format(title=title[:60]),
                                  s=survey.id), style="primary")
    bubble = F.bubble(body, header=[F.text(head, size="xs", color=F.MUTED),
                                    F.text(title, size="lg", weight="bold")], footer=[button])
    return ui.flex(alt, bubble)


def invitation_messages(survey: Survey) -> list[dict]:
    deadline = deadline_text(survey.closes_at)
    intro = excerpt((survey.intro or "").strip(), INTRO_CHARS) if (survey.intro or "").strip() else ""
    return [_card(survey, T["invite_head"], [intro[:300]],
                  T["invite_alt"].format(title=survey.title[:100], deadline=deadline))]


def reminder_messages(survey: Survey) -> list[dict]:
    deadline = deadline_text(survey.closes_at)
    return [_card(survey, T["remind_head"], [T["remind_body"]],
                  T["remind_alt"].format(title=survey.title[:100], deadline=deadline))]


def on_opened(db: Session, survey: Survey, *, now: datetime) -> Publication | None:
    """Queue the invitation for the survey's segment, not before it opens; record it on the survey. Called
    in the admin's transaction when the team sets the survey open. Idempotent: a survey whose invitation is
    queued or sent is not invited again."""
    survey.opened_at = survey.opened_at or utc(now)
    if survey.source == "sample":
        return None  # the demo's sample survey tells no resident anything
    round_no = 1
    while (pub := db.scalar(select(Publication).where(Publication.ref == invite_ref(survey.id, round_no))))\
            is not None and pub.status == CANCELLED:
        round_no += 1
    if pub is None:
        pub = publish(db, messages=invitation_messages(survey), segment=Segment.from_json(survey.segment or {}),
                      topic=TOPIC, when=max(utc(survey.opens_at), utc(now)), ref=invite_ref(survey.id, round_no),
                      purpose=PURPOSE, title=f"アンケート: {survey.title}"[:200], now=now)
    survey.invite_publication_id = pub.id
    return pub


def queue_reminder(db: Session, survey: Survey, user_ids: list[int], *, now: datetime) -> Publication:
    """The one reminder to these residents (those of the segment who have not submitted, found by
    scheduler/survey_jobs.py), sent now (quiet hours hold it back per resident)."""
    return publish(db, messages=reminder_messages(survey), user_ids=user_ids, topic=TOPIC, ref=remind_ref(survey.id),
                   purpose=PURPOSE, title=f"アンケート（再案内）: {survey.title}"[:200], now=now)


def on_closed(db: Session, survey: Survey) -> int:
    """Cancel the survey's invitation and reminder if they have not started sending (closed early, taken back to
    draft); returns how many were cancelled. Ones already sending go on: a tap after closing is answered
    「締め切りました」 by the LINE side."""
    ids = {survey.invite_publication_id, survey.reminder_publication_id} - {None}
    ids |= set(db.scalars(select(Publication.id).where(
        Publication.ref.in_([invite_ref(survey.id), remind_ref(survey.id)]))))
    ids |= set(db.scalars(select(Publication.id).where(Publication.ref.like(f"survey:{survey.id}:invite:%"))))
    n = 0
    for pub_id in sorted(ids):
        status = db.scalar(select(Publication.status).where(Publication.id == pub_id))
        if status in (SCHEDULED, EXPANDING) and cancel_publication(db, pub_id):
            n += 1
    return n


__all__ = ["deadline_text", "invitation_messages", "invite_ref", "on_closed", "on_opened", "queue_reminder",
           "remind_ref", "reminder_messages"]
