"""What the admin's イベント and こどもの居場所 pages share, written once for both (views_events.py, views_places.py).

A kind of listing describes itself once as a `Listing` (its model, its audit prefix, its words, two hooks) and
its routes call the steps of its status through it: publish, or submit for approval when KYODO_LISTING_APPROVAL
is on and the account may not approve; approve; send back with a reason; withdraw; delete. Each step writes its
audit entry in the same transaction, and going live tells the 地区/project subscribers once
(bot.event_notices.announce_listing). Nothing here decides who may: every route keeps its own
`@requires(...)` from policy.py, and the list page narrows through policy.scope.

Beside the steps: the list page, the approval facts of the detail page, who owns a listing, the form's context
and the drawing of the bot's Flex bubble for the preview.
"""
from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Callable

from flask import flash, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import func, select

from bot import event_notices
from bot.admin import audit
from bot.admin import listing_forms as lf
from bot.admin.policy import CONTENT_ALL, LISTINGS_APPROVE, has, scope
from bot.event_occurrences import validate_rrule
from models.accounts import AuditEntry, Organisation
from models.places import DRAFT, PENDING, PUBLISHED

log = logging.getLogger("kyodo.admin")

PAGE_SIZE = 50
REASON_LIMIT = 300  # characters of a send-back reason (shown to the organisation)
MESSAGE_LIMIT = 1000  # characters of an organiser's message to registrants (one short LINE text)
NONCE_RE = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Listing:
    """One kind of listing as its admin pages and status steps need it."""

    model: type
    table: str  # "events": the audit entries' object type (the send-back reason is read back by it)
    prefix: str  # "event": audit actions event.publish, event.submit, ...
    endpoint: str  # "admin.event": the item's page; the list is endpoint + "s", a step endpoint + "_publish" ...
    noun: str  # "居場所": 「承認待ちの居場所ではありません。」
    full_noun: str  # "こどもの居場所": 「こどもの居場所を保存しました。」
    labels: dict  # status -> its Japanese label, in the list's tab order
    shown_in: str  # where a published one appears: 「公開しました。{shown_in}に表示されます。」
    page: Callable  # the item's page, undecorated: page(item=, error=, status=) -> response
    name_attr: str = "title"
    publish_from: tuple = (DRAFT,)  # the states 公開する starts from
    withdrawn: str | None = None  # the state 掲載を終える leads to (None: the kind has no such step)
    summary: Callable | None = None  # item -> the audit summary on going live (default: its name)
    going_live: Callable | None = None  # item -> None, after the status is set and before the notice
    live_problem: Callable | None = None  # (item, "publish" | "approve") -> why it may not go live (422), or None

    @property
    def list_endpoint(self) -> str:
        return self.endpoint + "s"

    def name(self, item) -> str:
        return getattr(item, self.name_attr)

    # --- status steps ---------------------------------------------------------------------------------------

    def refuse(self, item, message: str, status: int = 409):
        """The item's page again with the reason; nothing of this request is kept."""
        g.db.rollback()
        return self.page(item=g.db.get(self.model, item.id), error=message, status=status)

    def done(self, item, message: str):
        g.db.commit()
        flash(message, "success")
        return redirect(url_for(self.endpoint, item_id=item.id))

    def saved(self, item):
        """After the form is written: commit, say so (and how to publish a draft), show the item."""
        return self.done(item, f"{self.full_noun}を保存しました。"
                         + ("公開するには「公開する」を押してください。" if item.status == DRAFT else ""))

    def publish(self, item):
        """公開する: live at once, or pending until the city's staff approve when approval is asked for."""
        if item.status not in self.publish_from:
            return self.refuse(item, f"この{self.noun}は「{self.labels[item.status]}」のため、公開の操作はできません。")
        problem = self.live_problem(item, "publish") if self.live_problem else None
        if problem:
            return self.refuse(item, problem, 422)
        if needs_approval():
            item.status, item.updated_at = PENDING, g.now
            audit.record(g.db, f"{self.prefix}.submit", actor=g.account, obj=item, summary=self.name(item))
            return self.done(item, "承認を依頼しました。市の職員が確認すると公開されます。")
        self._go_live(item, "publish")
        return self.done(item, f"公開しました。{self.shown_in}に表示されます。")

    def approve(self, item):
        if item.status != PENDING:
            return self.refuse(item, f"承認待ちの{self.noun}ではありません。")
        problem = self.live_problem(item, "approve") if self.live_problem else None
        if problem:
            return self.refuse(item, problem, 422)
        self._go_live(item, "approve")
        return self.done(item, "承認して公開しました。")

    def send_back(self, item):
        """Back to draft with a reason the organisation reads on the item's page (send_back_reason)."""
        if item.status != PENDING:
            return self.refuse(item, f"承認待ちの{self.noun}ではありません。")
        reason = (request.form.get("reason") or "").strip()[:REASON_LIMIT]
        item.status, item.updated_at = DRAFT, g.now
        audit.record(g.db, f"{self.prefix}.send_back", actor=g.account, obj=item, summary=reason or "（理由の記入なし）")
        return self.done(item, "差し戻しました。団体が直して、もう一度承認を依頼できます。")

    def withdraw(self, item):
        assert self.withdrawn is not None, f"{self.table} have no withdrawn state"
        if item.status not in (PUBLISHED, PENDING):
            return self.refuse(item, f"掲載を終えられるのは、公開中か承認待ちの{self.noun}です。")
        item.status, item.updated_at = self.withdrawn, g.now
        audit.record(g.db, f"{self.prefix}.withdraw", actor=g.account, obj=item, summary=self.name(item))
        return self.done(item, "掲載を終えました。LINEとホームページには表示されなくなります。")

    def delete(self, item, *, with_rows=()):
        """Delete the item (and rows of its own, e.g. an event's empty registration slot); the caller has
        already refused what may not be deleted."""
        audit.record(g.db, f"{self.prefix}.delete", actor=g.account, obj=item, summary=self.name(item))
        for row in with_rows:
            g.db.delete(row)
        g.db.delete(item)
        g.db.commit()
        flash(f"{self.full_noun}を削除しました。", "success")
        return redirect(url_for(self.list_endpoint))

    def _go_live(self, item, step: str) -> None:
        item.status, item.updated_at = PUBLISHED, g.now
        item.published_at = item.published_at or g.now
        if self.going_live is not None:
            self.going_live(item)
        event_notices.announce_listing(g.db, item, now=g.now, base_url=g.rt.config.public_base_url)
        audit.record(g.db, f"{self.prefix}.{step}", actor=g.account, obj=item,
                     summary=(self.summary or self.name)(item))

    # --- pages ----------------------------------------------------------------------------------------------

    def list_page(self, *order_by) -> dict:
        """The list page's rows (this account's, by policy.scope), status tab, paging and pending count."""
        status = status_filter(self.labels)
        page = page_number()
        stmt = scope(select(self.model), self.model, g.account)
        if status:
            stmt = stmt.where(self.model.status == status)
        total = g.db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = g.db.scalars(stmt.order_by(*order_by).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        pending = g.db.scalar(select(func.count()).select_from(self.model).where(self.model.status == PENDING)) \
            if has(g.account, LISTINGS_APPROVE) else 0
        return dict(items=rows, status=status, labels=self.labels, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                    total=total, pending=pending, org_names={o.id: o.name for o in organisations()})

    def detail_facts(self, item, error: str | None) -> dict:
        """What the item's page shows around its steps: owner, status labels, approval, the send-back reason."""
        return dict(item=item, listing=self, labels=self.labels, owner=organisation_name(item.organisation_id),
                    approval=needs_approval(), can_approve=has(g.account, LISTINGS_APPROVE), error=error,
                    sent_back=send_back_reason(self.table, item.id) if item.status == DRAFT else None)

    def render_form(self, template: str, item, raw: dict, errors: dict, bubble: dict | None, status: int, **extra):
        ctx = form_context()
        return render_template(
            template, item=item, listing=self, f=raw, errors=errors, bubble=bubble, preview=flex_html(bubble),
            districts=ctx.districts, projects=project_choices(), organisations=organisations(),
            choose_owner=has(g.account, CONTENT_ALL), cost_labels=lf.COST_LABELS, **extra,
        ), status


def needs_approval() -> bool:
    return bool(g.rt.config.listing_approval) and not has(g.account, LISTINGS_APPROVE)


def send_back_reason(table: str, item_id: int) -> str | None:
    """The reason the last 差し戻し gave, shown to the organisation on the item's page."""
    entry = g.db.scalar(select(AuditEntry).where(AuditEntry.object_type == table, AuditEntry.object_id == str(item_id),
                                                 AuditEntry.action.like("%.send_back"))
                        .order_by(AuditEntry.id.desc()).limit(1))
    return entry.summary if entry is not None else None


def status_filter(allowed) -> str:
    value = request.args.get("status", "")
    return value if value in allowed else ""


def page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 10_000)) if raw.isdigit() else 1


# --- owner ------------------------------------------------------------------------------------------------------

def organisations() -> list[Organisation]:
    return list(g.db.scalars(select(Organisation).order_by(Organisation.name)))


def organisation_name(org_id: int | None) -> str:
    if org_id is None:
        return "市"
    org = g.db.get(Organisation, org_id)
    return org.name if org is not None else "市"


def owner_from_form(parsed: lf.Parsed, item) -> int | None:
    """The owning organisation: staff choose it (0 = the city), an organisation always writes for itself (the
    field is not offered to it, and a forged one is ignored)."""
    if not has(g.account, CONTENT_ALL):
        return g.account.organisation_id
    raw = (request.form.get("organisation_id") or "0").strip()
    parsed.raw["organisation_id"] = raw
    if not raw.isdigit() or len(raw) > 9:  # an id the database could hold (a forged 20-digit one overflows)
        parsed.errors["organisation_id"] = "主催の団体を一覧から選んでください。"
        return item.organisation_id if item is not None else None
    org_id = int(raw)
    if org_id and g.db.get(Organisation, org_id) is None:
        parsed.errors["organisation_id"] = "主催の団体を一覧から選んでください。"
        return None
    return org_id or None


def stored_raw(item, raw: dict) -> dict:
    """The edit form's fields of a stored item, with its owner (0 = the city)."""
    raw["organisation_id"] = str(item.organisation_id or 0)
    return raw


def assign_owner(item, owner_id: int | None, *, new: bool) -> None:
    """Set the owner and the shown organiser name, and mark the row as written in the admin."""
    if not new and owner_id != item.organisation_id and item.organiser_name == organisation_name(item.organisation_id):
        item.organiser_name = None  # staff moved it to another organisation: its name follows
    item.organisation_id = owner_id
    if not item.organiser_name and owner_id is not None:
        item.organiser_name = organisation_name(owner_id)
    item.source, item.updated_at = "admin", g.now


# --- the form -------------------------------------------------------------------------------------------------

def form_context() -> lf.Context:
    """What the listing checks need: the city's 地区 (with their centres), the plan's numbers, the clock."""
    from models.plan import Action

    has_actions = g.db.scalar(select(func.count()).select_from(Action)) or 0
    numbers = set(g.db.scalars(select(Action.number))) if has_actions else set()
    return lf.Context(districts=lf.districts(g.db, g.rt.config.city), now=g.now,
                      action_exists=(lambda n: n in numbers) if has_actions else (lambda n: True),
                      validate_rrule=validate_rrule)


def district_names() -> dict[str, str]:
    return {d.key: d.name for d in lf.districts(g.db, g.rt.config.city)}


def project_choices() -> list[tuple[int, str]]:
    from bot.admin.announce_flow import projects

    return projects(g.db)


# --- the preview ------------------------------------------------------------------------------------------------

def flex_html(node, *, inline: bool = False) -> Markup:
    """A LINE-like drawing of a Flex bubble dict (the same dict the bot sends): boxes, texts, buttons, images as a
    placeholder (the admin's CSP allows this site's images only). Rendered on the server: no script needed."""
    if not isinstance(node, dict):
        return Markup("")
    kind = node.get("type")
    if kind == "flex":
        return flex_html(node.get("contents"))
    if kind == "carousel":
        return Markup("").join(Markup('<div class="flex-bubble">{}</div>').format(flex_html(b))
                               for b in node.get("contents") or ())
    if kind == "bubble":
        parts = [Markup('<div class="flex-{}">{}</div>').format(part, flex_html(node[part]))
                 for part in ("header", "hero", "body", "footer") if isinstance(node.get(part), dict)]
        return Markup("").join(parts)
    if kind == "box":
        row = node.get("layout") in ("horizontal", "baseline")
        children = [flex_html(c, inline=row) for c in node.get("contents") or ()]
        inner = Markup(" ").join(c for c in children if c) if row else Markup("").join(children)
        tag = "span" if inline else "div"
        return Markup('<{0} class="flex-box flex-{1}">{2}</{0}>').format(Markup(tag), node.get("layout", ""), inner)
    if kind == "text":
        spans = node.get("contents")
        words = "".join(str(s.get("text", "")) for s in spans if isinstance(s, dict)) if spans else str(node.get("text", ""))
        body = Markup("<strong>{}</strong>").format(words) if node.get("weight") == "bold" else escape(words)
        tag = "span" if inline else "div"
        return Markup('<{0} class="flex-text">{1}</{0}>').format(Markup(tag), body)
    if kind == "button":
        action = node.get("action") or {}
        title = action.get("uri") or action.get("data") or action.get("text") or ""
        return Markup('<span class="link-button" title="{}">{}</span>').format(title, action.get("label", ""))
    if kind == "image":
        return Markup('<span class="flex-image">［画像］</span>')
    if kind == "separator":
        return Markup("<hr>")
    return Markup("")


def safe_bubble(build, *args, **kw) -> dict | None:
    """The bot's own bubble for the preview; None (and the page says so) when the view is missing or fails on
    unsaved values: a preview must never cost the organiser their form."""
    try:
        return build(*args, **kw)
    except Exception:  # noqa: BLE001 - a preview is a courtesy; the form stays usable
        log.exception("admin: listing preview failed")
        return None


# --- a message to those who signed up (an event's registrants, a shift's volunteers) ---------------------------

def message_form() -> tuple[str, str]:
    """The form's one-time token (kept from the form, else a new one) and its text, CRLF made LF, trimmed.
    The caller makes the token the push's ref, so a double click or a resubmitted page sends once."""
    nonce = request.form.get("nonce", "")
    if not NONCE_RE.fullmatch(nonce):
        nonce = secrets.token_hex(16)
    return nonce, (request.form.get("text") or "").replace("\r\n", "\n").strip()


def message_problem(text: str, recipients: list[int]) -> str | None:
    """Why the message cannot be sent (the form says it), or None."""
    if not text:
        return "送る文を入力してください。"
    if len(text) > MESSAGE_LIMIT:
        return f"送る文は{MESSAGE_LIMIT:,}文字以内にしてください（いま{len(text):,}文字）。"
    if not recipients:
        return "送る相手（参加が確定している方）がいません。"
    return None
