"""Follow, unfollow, and leaving with all personal data deleted.

The 退会 confirmation also offers to stop notifications only (the settings feature's 通知を停止, postback
settings.stop), for a resident who says もう使わない or 通知がうるさい but may not want everything deleted; any
button other than the confirmation's own ends the confirmation (PAUSED_BY_OTHER_BUTTONS), so a later typed
「はい」 deletes nothing.
"""
from __future__ import annotations

from datetime import timedelta

from handlers import settings, texts, ui
from handlers.texts import vocab
from handlers.context import Ctx
from handlers.flex import tail_quick
from handlers.menu import main_menu_quick
from models.follow_log import FOLLOW, UNFOLLOW, count_event
from models.plan import city_name
from models.privacy import delete_personal_data

LEAVE_FLOW = "leave"
T: dict[str, str] = vocab("account")["texts"]
MUTE_ACTION = "settings.stop"  # handlers/settings.py: stop (通知を停止), answered there


def on_follow(ctx: Ctx) -> list[dict]:
    assert ctx.user is not None
    returning = ctx.user.followed_at is not None
    ctx.user.active, ctx.user.followed_at, ctx.user.unfollowed_at = True, ctx.now, None
    count_event(ctx.db, ctx.now, FOLLOW)  # the follows dashboard's history (counts only)
    greeting = texts.WELCOME_BACK if returning else texts.GREETING.format(city=city_name(ctx.db))
    # Then, once per resident, which 地区 they live in and what interests them (skippable).
    return [ui.text(greeting, main_menu_quick()), *settings.onboarding(ctx)]


def on_unfollow(ctx: Ctx) -> list[dict]:
    # Blocked: no reply is possible and no push may follow. Data stays until they ask (退会).
    if ctx.user is not None:
        ctx.user.active, ctx.user.unfollowed_at = False, ctx.now
    count_event(ctx.db, ctx.now, UNFOLLOW)  # a block counts even from someone whose data is gone
    return []


def ask_leave(ctx: Ctx) -> list[dict]:
    ctx.set_state(LEAVE_FLOW, step="confirm", ttl=timedelta(minutes=10))
    question = f"{T['confirm']}\n{T['mute_hint']}"
    msg = ui.confirm("退会の確認", question[:240],
                     ui.postback(T["btn_delete"], "leave.yes", T["btn_delete_said"]),
                     ui.postback(T["btn_keep"], "leave.no", T["btn_keep_said"]))
    return [{**msg, "quickReply": ui.quick_replies([ui.postback(T["btn_mute"], MUTE_ACTION, T["btn_mute_said"])])}]


def _known_only_since_now(ctx: Ctx) -> bool:
    """The router created this resident's row for this very event: nothing of theirs was stored before it.

    That is the case after 退会 deleted the row, so an old 削除する button tapped now finds the data gone.
    """
    return ctx.user is not None and ctx.user.created_at == ctx.now and ctx.user.followed_at is None


def _already_deleted(ctx: Ctx) -> list[dict]:
    # Already deleted (or never stored): say so, and keep no row made just to answer this tap.
    assert ctx.user is not None
    delete_personal_data(ctx.db, ctx.user)
    ctx.state, ctx.user = None, None
    return [ui.text(texts.LEAVE_ALREADY_DONE, tail_quick())]


def confirm_leave(ctx: Ctx) -> list[dict]:
    if _known_only_since_now(ctx):
        return _already_deleted(ctx)
    # The confirmation only counts while the question is fresh (state with expiry).
    if ctx.state is None or ctx.state.flow != LEAVE_FLOW:
        return [ui.text(texts.LEAVE_EXPIRED, main_menu_quick())]
    assert ctx.user is not None
    delete_personal_data(ctx.db, ctx.user)
    ctx.state = None
    ctx.user = None  # the row is gone; the router must not touch it again
    return [ui.text(texts.LEAVE_DONE, tail_quick())]


def cancel_leave(ctx: Ctx) -> list[dict]:
    if _known_only_since_now(ctx):
        return _already_deleted(ctx)  # an old 「やめる」 after deleting: nothing is kept to "continue"
    if ctx.state is None or ctx.state.flow != LEAVE_FLOW:
        return [ui.text(texts.LEAVE_NOT_PENDING, main_menu_quick())]
    ctx.clear_state()
    return [ui.text(texts.LEAVE_CANCELLED, main_menu_quick())]


def leave_flow_text(ctx: Ctx) -> list[dict] | None:
    """Typed answers to the confirmation; anything else leaves the flow and is routed normally."""
    if ctx.text in ("はい", "削除", "削除する", "はい削除します"):
        return confirm_leave(ctx)
    if ctx.text in ("いいえ", "やめる", "やめます", "キャンセル", "削除しない", "削除しません"):
        return cancel_leave(ctx)
    ctx.clear_state()
    return None


POSTBACKS = {"leave": ask_leave, "leave.yes": confirm_leave, "leave.no": cancel_leave}
INTENTS = {"leave": ask_leave}
EVENTS = {"follow": on_follow, "unfollow": on_unfollow}
FLOWS = {LEAVE_FLOW: leave_flow_text}
PAUSED_BY_OTHER_BUTTONS = (LEAVE_FLOW,)  # 通知だけ止める (or any other button) ends the confirmation
