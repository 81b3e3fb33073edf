"""Who may do what in /admin. The one place authorisation is decided.

Every admin view declares a rule with `@requires(...)`; `enforce()` runs before every /admin request and
refuses a view without one (deny by default), and tests/test_admin_policy.py walks the URL map so a new
route without a rule fails the suite. Objects are checked on the server: `@requires(..., load=Model)`
loads the object named in the URL and answers 403 unless the account may touch it, and list pages go
through `scope()`. Hiding a button in a template is a courtesy, never the check.

Ownership is by column: a model with `organisation_id` belongs to that organisation, one with
`survey_team_id` to that survey team. Later steps (events, places, shifts, surveys) follow the same rule.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from flask import abort, current_app, flash, g, redirect, request, url_for
from sqlalchemy import false, or_

from models.accounts import ADMIN, ORGANISATION, STAFF, SURVEY, Account

log = logging.getLogger("kyodo.admin")

PUBLIC = "public"  # the login page: no account needed
SIGNED_IN = "signed_in"  # any active account: dashboard, own password, logout
ACCOUNTS_MANAGE = "accounts:manage"  # invite, edit, disable accounts; organisations and survey teams
AUDIT_READ = "audit:read"
CONTENT_ALL = "content:all"  # every organisation's and team's items (the city's staff)
# お知らせ: write drafts and submit them for approval (own organisation's, or all with content:all) ...
ANNOUNCEMENTS_DRAFT = "announcements:draft"
# ... and approve (someone else's), send, schedule, cancel, test-send: the city's staff only.
ANNOUNCEMENTS_SEND = "announcements:send"

PERMISSIONS: dict[str, frozenset[str]] = {
    ADMIN: frozenset({ACCOUNTS_MANAGE, AUDIT_READ, CONTENT_ALL, ANNOUNCEMENTS_DRAFT, ANNOUNCEMENTS_SEND}),
    STAFF: frozenset({CONTENT_ALL, ANNOUNCEMENTS_DRAFT, ANNOUNCEMENTS_SEND}),
    ORGANISATION: frozenset({ANNOUNCEMENTS_DRAFT}),
    SURVEY: frozenset(),  # step 9 below: its own surveys and their results
}
# Step 6's staff tools (helper D2): link one's own LINE account for test sends, upload images for
# announcements, read the follows/blocks dashboard.
LINE_LINK_SELF = "line_link:self"
MEDIA_UPLOAD = "media:upload"
FOLLOWS_READ = "follows:read"
for _role, _extra in ((ADMIN, {LINE_LINK_SELF, MEDIA_UPLOAD, FOLLOWS_READ}),
                      (STAFF, {LINE_LINK_SELF, MEDIA_UPLOAD, FOLLOWS_READ}),
                      (ORGANISATION, {LINE_LINK_SELF, MEDIA_UPLOAD})):
    PERMISSIONS[_role] = PERMISSIONS[_role] | _extra
# Step 7: events and こどもの居場所. An organisation writes its own (content:all: every one); staff approve
# an organisation's listing before it is published when the city turns KYODO_LISTING_APPROVAL on, and import
# files for anyone. Ownership per row is `organisation_id`, checked by may_access / scope as for the rest.
LISTINGS_EDIT = "listings:edit"
LISTINGS_APPROVE = "listings:approve"
for _role, _extra in ((ADMIN, {LISTINGS_EDIT, LISTINGS_APPROVE}), (STAFF, {LISTINGS_EDIT, LISTINGS_APPROVE}),
                      (ORGANISATION, {LISTINGS_EDIT})):
    PERMISSIONS[_role] = PERMISSIONS[_role] | _extra
# Step 8: volunteering. An organisation manages its own opportunities, shifts and rosters (content:all: every
# one), checked per row by `organisation_id` (a shift through its opportunity: views load the opportunity).
VOLUNTEER_MANAGE = "volunteer:manage"
for _role in (ADMIN, STAFF, ORGANISATION):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {VOLUNTEER_MANAGE}
# Step 9: surveys. A survey team builds its own surveys and reads their results (content:all: every one),
# checked per row by `survey_team_id` (questions and exports through their survey: views load the survey).
SURVEYS_MANAGE = "surveys:manage"
for _role in (ADMIN, STAFF, SURVEY):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {SURVEYS_MANAGE}
# Step 10: よくある質問 and the list of what residents asked that was not understood: the city's staff only
# (neither has an owner column; the entries speak for the city).
FAQ_MANAGE = "faq:manage"
for _role in (ADMIN, STAFF):
    PERMISSIONS[_role] = PERMISSIONS[_role] | {FAQ_MANAGE}
OWNER_COLUMNS = ("organisation_id", "survey_team_id")


@dataclass(frozen=True)
class Rule:
    permission: str
    load: type | None = None  # model whose primary key is the URL argument `arg`
    arg: str = "item_id"
    # Reachable while the account still has a one-time password (to change it, or to leave).
    with_temporary_password: bool = False


def requires(permission: str, *, load: type | None = None, arg: str = "item_id", with_temporary_password: bool = False):
    """Declare who may use a view. With `load`, the view receives `item=` (the checked object) instead of the id."""
    rule = Rule(permission, load, arg, with_temporary_password)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**kwargs):
            if rule.load is not None:
                obj = g.db.get(rule.load, kwargs.pop(rule.arg))
                if obj is None:
                    abort(404)
                if not may_access(g.account, obj):
                    deny(f"{rule.load.__name__} #{obj.id}")
                kwargs["item"] = obj
            return view(**kwargs)

        wrapper.admin_rule = rule  # type: ignore[attr-defined]
        return wrapper

    return decorate


def rule_for_view(view) -> Rule | None:
    return getattr(view, "admin_rule", None)


def rule_for(endpoint: str | None) -> Rule | None:
    return rule_for_view(current_app.view_functions.get(endpoint or ""))


def has(account: Account | None, permission: str) -> bool:
    if account is None or not account.active:
        return False
    if permission == SIGNED_IN:
        return True
    return permission in PERMISSIONS.get(account.role, frozenset())


def may_access(account: Account | None, obj) -> bool:
    """May this account see or change this object? Staff and admins: everything; others: what they own."""
    if account is None:
        return False
    if has(account, CONTENT_ALL):
        return True
    for column in OWNER_COLUMNS:
        owner = getattr(obj, column, None)
        if owner is not None and owner == getattr(account, column, None):
            return True
    return False


def scope(stmt, model, account: Account):
    """Restrict a SELECT of `model` to the rows this account may see."""
    if has(account, CONTENT_ALL):
        return stmt
    conditions = [
        getattr(model, column) == getattr(account, column)
        for column in OWNER_COLUMNS
        if hasattr(model, column) and getattr(account, column, None) is not None
    ]
    return stmt.where(or_(*conditions)) if conditions else stmt.where(false())


def deny(what: str = "") -> None:
    """403, written to the audit log: a refused request is someone probing or a bug worth seeing."""
    from bot.admin import audit

    audit.record(g.db, "access.denied", actor=g.account, summary=f"{request.method} {request.path} {what}".strip())
    g.db.commit()
    abort(403)


def enforce():
    """Before every /admin request (after the session is loaded): sign-in, temporary password, permission."""
    rule = rule_for(request.endpoint)
    if rule is None:
        log.error("admin: endpoint %s has no policy rule; refused", request.endpoint)
        abort(403)
    if rule.permission == PUBLIC:
        return None
    account = g.account
    if account is None:
        if g.get("session_ended") == "expired":
            flash("一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。", "warning")
        nxt = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("admin.login", next=nxt))
    if account.must_change_password and not rule.with_temporary_password:
        flash("最初に、新しいパスワードを設定してください。", "warning")
        return redirect(url_for("admin.password"))
    if not has(account, rule.permission):
        deny()
    return None


def unruled_endpoints(app) -> list[str]:
    """Admin endpoints (URL rules under /admin or in the admin blueprint) that declare no rule."""
    missing = []
    for url_rule in app.url_map.iter_rules():
        under_admin = url_rule.endpoint.startswith("admin.") or url_rule.rule.startswith("/admin")
        if under_admin and rule_for_view(app.view_functions.get(url_rule.endpoint)) is None:
            missing.append(f"{url_rule.endpoint} {url_rule.rule}")
    return sorted(missing)
