"""The public home page at /: what the LINE account does, how to add it as a friend (QR code), the plan.
Also /favicon.ico, which browsers ask for on every page whatever the <link rel="icon"> says."""
from __future__ import annotations

from functools import lru_cache

import segno
from flask import Blueprint, current_app, render_template
from markupsafe import Markup

from models import plan as P

bp = Blueprint("home", __name__)


def register(app) -> None:
    app.register_blueprint(bp)


@lru_cache(maxsize=4)
def qr_svg(url: str) -> Markup:
    """The add-friend URL as an inline SVG QR code, drawn here (no image service, no script)."""
    code = segno.make(url, error="m")
    return Markup(code.svg_inline(scale=5, border=2, svgclass="qr", lineclass="qr-line",
                                  title="友だち追加用のQRコード"))


@bp.get("/favicon.ico")
def favicon():
    return current_app.send_static_file("favicon.ico")


@bp.get("/")
def index():
    rt = current_app.extensions["kyodo"]
    url = rt.config.line_add_friend_url
    with rt.sessions() as db:
        info = P.plan_info(db)
        projects = P.projects(db) if info else []
        return render_template("home.html", info=info, projects=projects, add_friend_url=url,
                               qr=qr_svg(url) if url else None, demo=rt.config.demo)
