"""The site's own Japanese error pages: public pages, admin pages (in the admin layout) and any unknown path;
a 500 shows nothing of the error, even while the database is down."""
from __future__ import annotations

import pytest

from bot.clock import FrozenClock
from tests.admin_support import T0, build_app


def page(resp) -> str:
    return resp.get_data(as_text=True)


def assert_site_page(resp, status: int, *, admin: bool) -> str:
    body = page(resp)
    assert resp.status_code == status
    assert resp.content_type.startswith("text/html")
    assert '<html lang="ja"' in body and f'data-status="{status}"' in body
    assert f"エラー番号 {status}" in body
    for english in ("Not Found", "Bad Request", "Method Not Allowed", "Internal Server Error", "Werkzeug"):
        assert english not in body
    # The admin layout (管理画面 footer, link back to the dashboard) under /admin, the public one elsewhere.
    assert ("kyodo 管理画面" in body) is admin
    assert ('href="/admin/"' in body) is admin
    assert ('href="/"' in body) is not admin
    return body


@pytest.mark.parametrize("path", ["/no-such-page", "/plan/99", "/plan/actions/9999", "/favicon.png", "/static/none.css"])
def test_unknown_public_paths_get_the_japanese_404(admin_env, path):
    body = assert_site_page(admin_env.client().c.get(path), 404, admin=False)
    assert "ページが見つかりません" in body


def test_unknown_admin_paths_and_objects_get_the_admin_404(admin_env):
    admin = admin_env.signed_in("admin")
    for c, path in ((admin_env.client(), "/admin/no-such-page"), (admin, "/admin/no-such-page"),
                    (admin, "/admin/accounts/424242/edit"), (admin, "/admin/announcements/424242/edit")):
        assert_site_page(c.c.get(path), 404, admin=True)


def test_forbidden_method_csrf_and_size_in_japanese(admin_env):
    orga = admin_env.signed_in("orga")
    body = assert_site_page(orga.get("/admin/accounts"), 403, admin=True)
    assert "権限がありません" in body
    r = admin_env.client().c.post("/plan")
    assert_site_page(r, 405, admin=False)
    assert r.headers["Allow"]  # still says which methods are allowed
    r = admin_env.client().c.get("/admin/logout")
    assert_site_page(r, 405, admin=True)
    body = assert_site_page(admin_env.client().c.post("/admin/login", data={"email": "x"}), 400, admin=True)
    assert "フォームの有効期限が切れたか" in body  # the CSRF wording
    big = admin_env.client().c.post("/admin/login", data={"email": "a" * (2 * 1024 * 1024)})
    assert_site_page(big, 413, admin=True)
    assert_site_page(admin_env.client().c.get("/plan?x=%00"), 400, admin=False)


@pytest.fixture
def failing_app(database_url):
    app, rt = build_app(database_url, FrozenClock(T0))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as served: the error page, not the test's traceback

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret detail: user U1234567890abcdef, password hunter2")

    @app.get("/admin/boom-for-test")
    def admin_boom():
        raise RuntimeError("secret detail: user U1234567890abcdef, password hunter2")

    yield app, rt
    rt.close()


def test_a_server_error_shows_nothing_of_the_error(failing_app):
    app, _ = failing_app
    for path, admin in (("/boom-for-test", False), ("/admin/boom-for-test", True)):
        body = assert_site_page(app.test_client().get(path), 500, admin=admin)
        assert "システムでエラーが発生しました" in body
        for leak in ("secret", "U1234567890abcdef", "hunter2", "RuntimeError", "Traceback", "boom"):
            assert leak not in body


def test_the_error_page_renders_while_the_database_is_down(failing_app):
    from bot.db import make_engine, make_sessions

    app, rt = failing_app
    down = ("sqlite:////nonexistent-dir/kyodo.sqlite3" if rt.engine.dialect.name == "sqlite"
            else "postgresql+psycopg://postgres@127.0.0.1:1/test")  # nothing listens on port 1
    broken = make_engine(down)
    rt.sessions = make_sessions(broken)
    try:
        body = assert_site_page(app.test_client().get("/boom-for-test"), 500, admin=False)
        assert "システムでエラーが発生しました" in body
        assert_site_page(app.test_client().get("/no-such-page"), 404, admin=False)
    finally:
        broken.dispose()
