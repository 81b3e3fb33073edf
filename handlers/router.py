"""The router table: event type / postback action / intent / conversation flow -> handler.

Each feature module declares plain dicts (POSTBACKS, INTENTS, EVENTS, FLOWS, COMMANDS); adding a feature
is adding its module to FEATURES. COMMANDS are exact-shape texts (a code, a keyword plus digits) tried before
flows and the NLU: each returns None for a text that is not its own. Keys must be unique across modules (checked at import).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot import faq as faq_phrases
from bot.postback import VERSION, PostbackError, decode
from handlers import (account, common, courtesy, crisis, events, fallback, faq, location, nlu, places, plan,
                      settings, staff_link, surveys, volunteer)
from handlers.common import Outcome
from handlers.context import Ctx
from models.conversation import ConversationState, live_state
from models.users import User

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("kyodo.router")
Handler = Callable[[Ctx], "list[dict] | None"]

# `common` supplies defaults (help, placeholders for features still to come); every other module
# may override those but may not claim a key another feature module already owns.
# `faq` answers its entries as the intent "faq" (handlers/faq.weigh sets them against the classifier's answer);
# `fallback` answers "unknown" (the close guesses, the content search, or the short not-understood answer with
# the miss counted); `courtesy` greetings, thanks, complaints.
# `crisis` first: its COMMAND (死にたい, DV ...) is tried before every other command, flow and the classifier.
FEATURES = [crisis, account, plan, location, settings, staff_link, places, events, volunteer, surveys, faq, courtesy,
            fallback]
MAX_TEXT = 1000  # longer messages are not parsed (LINE allows 5,000; nothing we answer needs that)


def _merge(attr: str) -> dict[str, Handler]:
    table: dict[str, Handler] = dict(getattr(common, attr, {}))
    owner: dict[str, str] = {}
    for mod in FEATURES:
        for key, fn in getattr(mod, attr, {}).items():
            if key in owner:
                raise RuntimeError(f"router: {attr} key {key!r} claimed by {owner[key]} and {mod.__name__}")
            owner[key], table[key] = mod.__name__, fn
    return table


def tables() -> dict[str, dict[str, Handler]]:
    return {attr: _merge(attr) for attr in ("POSTBACKS", "INTENTS", "EVENTS", "FLOWS", "COMMANDS")}


TABLES = tables()
# Flows that a button of another feature (the rich menu, an old card) pauses: the state is cleared, so the
# resident's next typed text is not taken as an answer (a survey keeps its place in its own table).
PAUSED_BY_OTHER_BUTTONS = frozenset(f for mod in FEATURES for f in getattr(mod, "PAUSED_BY_OTHER_BUTTONS", ()))


@dataclass
class Known:
    """Users and conversation states of a batch of events, read in two queries before its handlers run
    (a batch holds one event per user), so each event does not pay two round trips for them."""

    users: dict[str, User]
    states: dict[int, ConversationState]

    @classmethod
    def load(cls, db: Session, bodies: list[dict], now) -> "Known":
        """Also creates the residents seen for the first time (but not for an unfollow) in one INSERT,
        and marks them all seen in one UPDATE: a flush per event cost more than its handler."""
        ids, create = set(), set()
        for b in bodies:
            source = _obj(b.get("source"))
            if (uid := _str(source.get("userId"))) and source.get("type", "user") == "user":
                ids.add(uid)
                if b.get("type") != "unfollow":
                    create.add(uid)
        users = {u.line_user_id: u for u in db.scalars(select(User).where(User.line_user_id.in_(ids)))} if ids else {}
        new = [User(line_user_id=uid, active=True, created_at=now, last_seen_at=now)
               for uid in sorted(create - users.keys())]
        if new:
            db.add_all(new)
            db.flush()
            users.update((u.line_user_id, u) for u in new)
        seen = [u.id for u in users.values() if u.last_seen_at != now]
        if seen:
            db.execute(update(User).where(User.id.in_(seen)).values(last_seen_at=now),
                       execution_options={"synchronize_session": False})
            for u in users.values():
                set_committed_value(u, "last_seen_at", now)
        uids = [u.id for u in users.values()]
        states = {st.user_id: st for st in db.scalars(select(ConversationState).where(ConversationState.user_id.in_(uids)))} if uids else {}
        return cls(users, states)

    def state(self, db: Session, user: User | None, now) -> ConversationState | None:
        return live_state(db, self.states.get(user.id) if user is not None else None, now)


def _user(db: Session, line_user_id: str, now, *, create: bool, known: Known | None = None) -> User | None:
    if known is not None:
        return known.users.get(line_user_id)  # created and marked seen by Known.load
    user = db.scalar(select(User).where(User.line_user_id == line_user_id))
    if user is None and create:
        user = User(line_user_id=line_user_id, active=True, created_at=now)
        db.add(user)
        db.flush()
    if user is not None:
        user.last_seen_at = now
    return user


def _route_text(ctx: Ctx, raw: str) -> list[dict]:
    if len(raw) > MAX_TEXT:
        return common.too_long(ctx)
    ctx.text = nlu.normalise(raw)
    for command in TABLES["COMMANDS"].values():
        if (replies := command(ctx)) is not None:
            return replies
    if ctx.state is not None and (flow := TABLES["FLOWS"].get(ctx.state.flow)):
        replies = flow(ctx)
        if replies is not None:
            return replies
    # A wording staff taught in the admin (the not-understood list's 「言い換えとして登録」) goes where they said;
    # otherwise the classifier's answer and the FAQ entry the message asks compete (handlers/faq.weigh).
    route = faq_phrases.phrase_route(ctx.db, raw)
    ctx.intent = (nlu.Intent(route[0], route[1], 1.0) if route is not None
                  else faq.weigh(ctx, raw, nlu.classify(raw)))
    handler = TABLES["INTENTS"].get(ctx.intent.name, common.not_understood)
    return handler(ctx) or common.not_understood(ctx)


def _route_postback(ctx: Ctx, data: str) -> list[dict]:
    try:
        ctx.postback = decode(data)
    except PostbackError:
        return common.stale_button(ctx)
    if ctx.postback.version != VERSION:
        return common.stale_button(ctx)
    flow = ctx.state.flow if ctx.state is not None else None
    if flow in PAUSED_BY_OTHER_BUTTONS and not (ctx.postback.action == flow or ctx.postback.action.startswith(flow + ".")):
        ctx.clear_state()
    handler = TABLES["POSTBACKS"].get(ctx.postback.action, common.stale_button)
    return handler(ctx) or []


def _obj(value) -> dict:
    # The webhook checks every event's shape before storing it; this keeps a row stored before that
    # check (or edited by hand) from raising here.
    return value if isinstance(value, dict) else {}


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def handle_event(rt: "Runtime", db: Session, body: dict, known: Known | None = None) -> Outcome:
    source = _obj(body.get("source"))
    line_user_id = _str(source.get("userId"))
    etype = _str(body.get("type"))
    if not line_user_id or source.get("type", "user") != "user":
        return Outcome([], None)  # group/room chats are not part of this service
    now = rt.now()
    user = _user(db, line_user_id, now, create=etype != "unfollow", known=known)
    state = Ctx.load_state(db, user, now) if known is None else known.state(db, user, now)
    ctx = Ctx(event=body, user=user, db=db, now=now, config=rt.config, state=state)
    if etype == "message":
        msg = _obj(body.get("message"))
        mtype = _str(msg.get("type"))
        if mtype == "text":
            replies = _route_text(ctx, _str(msg.get("text")))
        elif handler := TABLES["EVENTS"].get(f"message:{mtype}"):
            replies = handler(ctx) or []
        else:
            replies = common.unsupported_message(ctx)
    elif etype == "postback":
        replies = _route_postback(ctx, _str(_obj(body.get("postback")).get("data")))
    elif handler := TABLES["EVENTS"].get(etype):
        replies = handler(ctx) or []
    else:
        replies = []
    return Outcome(replies, line_user_id)
