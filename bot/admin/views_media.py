"""画像: upload an image for announcements and see the ones uploaded (an organisation sees its own uploads)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot import media
from bot.admin.blueprint import bp
from bot.admin.policy import CONTENT_ALL, MEDIA_UPLOAD, has, requires
from models.media import MediaImage

LIST_MAX = 60


def _page(error: str | None = None, status: int = 200):
    stmt = select(MediaImage).order_by(MediaImage.id.desc()).limit(LIST_MAX)
    if not has(g.account, CONTENT_ALL):
        stmt = stmt.where(MediaImage.created_by_id == g.account.id)
    return render_template("admin/media.html", images=g.db.scalars(stmt).all(), error=error,
                           path=media.image_path, max_mb=media.UPLOAD_MAX_BYTES // (1024 * 1024)), status


@bp.get("/media", endpoint="media")
@requires(MEDIA_UPLOAD)
def media_list():
    return _page()


@bp.post("/media", endpoint="media_upload")
@requires(MEDIA_UPLOAD)
def media_upload():
    try:
        image = media.save_upload(g.db, request.files.get("image"), g.account)
    except media.MediaError as e:
        g.db.rollback()
        return _page(str(e), 422)
    g.db.commit()
    flash(f"画像を登録しました（{image.width}×{image.height}）。お知らせの作成画面で選べます。", "success")
    return redirect(url_for("admin.media"))
