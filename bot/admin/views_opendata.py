"""オープンデータ: import and export the イベント一覧 / 公共施設一覧 CSV files (bot/opendata/) in the admin.

Staff import any rows and download everything; an organisation imports only its own rows (a row another
organisation or the city registered is refused with its line) and downloads its own. The result page
shows the encoding read, the counts and every refused row (line, column, why); the valid rows and the
audit entry are committed together, or nothing is (a file that cannot be read at all).
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, g, render_template, request

from bot.admin import audit
from bot.admin.blueprint import bp
from bot.admin.policy import CONTENT_ALL, LISTINGS_APPROVE, LISTINGS_EDIT, deny, has, requires
from bot.opendata import events_csv, places_csv
from bot.opendata.encoding import UnreadableFile
from bot.opendata.importer import Scope

LAYOUTS = {"events": (events_csv, "イベント一覧", "events.csv"), "places": (places_csv, "こどもの居場所（公共施設一覧）", "places.csv")}
NAME_MAX = 100


def _scope() -> Scope:
    """Staff: every row, published as the file says. An organisation: its own rows; when the city approves
    listings first (KYODO_LISTING_APPROVAL), a row to be published waits for approval."""
    account = g.account
    if has(account, CONTENT_ALL):
        return Scope()
    if account.organisation_id is None:
        deny("opendata without an organisation")
    approval = g.rt.config.listing_approval and not has(account, LISTINGS_APPROVE)
    return Scope(organisation_id=account.organisation_id, own_only=True, allow_publish=not approval)


def _page(*, result=None, error: str | None = None, layout: str = "events", file_name: str = "", status: int = 200):
    return render_template("admin/opendata.html", layouts=LAYOUTS, result=result, error=error, layout=layout,
                           file_name=file_name, own_only=not has(g.account, CONTENT_ALL),
                           approval=g.rt.config.listing_approval and not has(g.account, LISTINGS_APPROVE),
                           max_mb=max(1, _upload_limit() // (1024 * 1024))), status


def _upload_limit() -> int:
    """The body this form may send: the upload limit once bot/request_guard.py lists the route, else 1 MiB."""
    from bot.request_guard import UPLOAD_ENDPOINTS

    cfg = g.rt.config
    return cfg.max_upload_bytes if "admin.opendata_import" in UPLOAD_ENDPOINTS else cfg.max_body_bytes


@bp.get("/opendata", endpoint="opendata")
@requires(LISTINGS_EDIT)
def opendata():
    return _page()


@bp.post("/opendata/import", endpoint="opendata_import")
@requires(LISTINGS_EDIT)
def opendata_import():
    layout = request.form.get("layout", "")
    if layout not in LAYOUTS:
        return _page(error="取り込むファイルの種類を選んでください。", status=422)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(error="CSVファイルを選んでください。", layout=layout, status=422)
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:NAME_MAX]
    dry_run = request.form.get("dry_run") == "y"
    module, label, _ = LAYOUTS[layout]
    data = upload.read()
    try:
        report = module.import_csv(g.db, data, scope=_scope(), now=g.now, dry_run=dry_run,
                                   announce=request.form.get("announce") == "y",
                                   base_url=g.rt.config.public_base_url)
    except UnreadableFile as e:
        g.db.rollback()
        return _page(error=f"{e} 何も取り込んでいません。", layout=layout, file_name=name, status=422)
    if not dry_run:
        audit.record(g.db, "opendata.import", actor=g.account, object_type=layout,
                     summary=f"{label} {name}: {report.summary()}（{report.encoding_label}）")
        g.db.commit()
    return _page(result=report, layout=layout, file_name=name)


def _download(layout: str) -> Response:
    module, _, filename = LAYOUTS[layout]
    if has(g.account, CONTENT_ALL):
        data = module.export_csv(g.db)
    elif g.account.organisation_id is None:
        abort(403)
    else:
        data = module.export_csv(g.db, organisation_id=g.account.organisation_id, own_only=True)
    return Response(data, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"})


@bp.get("/opendata/events.csv", endpoint="opendata_events_csv")
@requires(LISTINGS_EDIT)
def opendata_events_csv():
    return _download("events")


@bp.get("/opendata/places.csv", endpoint="opendata_places_csv")
@requires(LISTINGS_EDIT)
def opendata_places_csv():
    return _download("places")
