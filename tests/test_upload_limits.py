"""Staff's phone photos (2-8 MB) go through; every other request keeps the 1 MiB limit.

Three layers must agree: the gunicorn worker (bot/gthread_buffered.py: 12 MiB only for POST to the upload
paths with a session cookie, refused at the head otherwise), Flask (bot/request_guard.py: the upload
endpoints take KYODO_MAX_UPLOAD_BYTES only for a signed-in account their rule admits) and nginx
(docs/DEPLOY.md). Checked through the app (Flask's test client), against the Procfile's real gunicorn
process over raw HTTP, and by comparing the three lists of upload paths with the app's URL map.
"""
from __future__ import annotations

import http.client
import io
import os
import re
import runpy
import socket
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bench.slow_clients import free_port, procfile_web_command, start_web, stop_web, wait_ready
from bot import media, request_guard
from bot.config import Config, from_env
from bot.error_pages import texts
from bot.gthread_buffered import SESSION_COOKIE, UPLOAD_PATH, UPLOAD_TOO_LARGE, Refuse, RequestScanner
from models.announcements import Announcement
from models.media import MediaImage
from tests.admin_support import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
TOO_LARGE_TITLE = texts(413)[0]  # 送信された内容が大きすぎます


def phone_photo(megabytes: float = 5.5) -> bytes:
    """A real JPEG of a phone photo's size: noise at quality 100 does not compress (about 4 bytes a pixel)."""
    pixels = int(megabytes * 1e6 / 4.1)
    w = int((pixels * 4 / 3) ** 0.5)
    h = w * 3 // 4
    out = io.BytesIO()
    Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(out, "JPEG", quality=100, subsampling=0)
    data = out.getvalue()
    assert 5 * MiB <= len(data) <= 8 * MiB, len(data)
    return data


@pytest.fixture(scope="module")
def photo() -> bytes:
    return phone_photo()


def image_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with Session(engine) as db:
            return db.scalar(select(func.count()).select_from(MediaImage))
    finally:
        engine.dispose()


# --- the three lists of upload paths and limits agree -----------------------------------------------------

def sample_posts(app) -> dict[str, str]:
    """endpoint -> an example path, for every POST route under /admin."""
    adapter = app.url_map.bind("x")
    return {rule.endpoint: adapter.build(rule.endpoint, {a: 7 for a in rule.arguments})
            for rule in app.url_map.iter_rules() if "POST" in rule.methods and rule.rule.startswith("/admin")}


def nginx_upload_location() -> re.Pattern:
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    blocks = re.findall(r"location ~ (\S+) \{(.*?)\}", text, re.S)
    [(regex, block)] = [(r, b) for r, b in blocks if "client_max_body_size" in b]
    assert re.search(r"client_max_body_size (\d+)m;", block).group(1) == "12"
    assert re.search(r"^\s*client_max_body_size\s+1m;", text, re.M), "the rest of the site must keep 1m"
    return re.compile(regex)


def test_the_worker_nginx_and_the_app_name_the_same_upload_routes(admin_app):
    app = admin_app[0]
    posts = sample_posts(app)
    assert request_guard.UPLOAD_ENDPOINTS <= set(posts), "an upload endpoint was renamed"
    nginx = nginx_upload_location()
    for endpoint, path in posts.items():
        upload = endpoint in request_guard.UPLOAD_ENDPOINTS
        assert bool(UPLOAD_PATH.fullmatch(path.encode())) == upload, (endpoint, path)
        assert bool(nginx.search(path)) == upload, (endpoint, path)
    assert SESSION_COOKIE.decode() == app.config["SESSION_COOKIE_NAME"]


def test_limits_fit_together():
    cfg = Config()
    assert cfg.max_body_bytes == MiB
    assert cfg.max_upload_bytes == media.UPLOAD_MAX_BYTES  # the app takes what bot/media.py accepts
    assert from_env({"KYODO_MAX_UPLOAD_BYTES": "8388608"}).max_upload_bytes == 8 * MiB
    assert from_env({}).max_upload_bytes == media.UPLOAD_MAX_BYTES
    worker = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["worker_class"]
    assert worker.max_body_bytes == MiB
    assert worker.max_upload_body_bytes >= cfg.max_upload_bytes + request_guard.FORM_ALLOWANCE
    assert worker.max_upload_body_bytes == 12 * MiB  # nginx's 12m (checked above)
    assert worker.max_upload_body_bytes * 4 <= worker.max_buffered_bytes  # several uploads fit the memory cap


# --- the worker's scanner --------------------------------------------------------------------------------

def scan(head: str, body: bytes = b"") -> int | str:
    """The request's length once complete, "more" while incomplete, or the refusal ("413 upload")."""
    s = RequestScanner(64 * 1024, MiB, 12 * MiB)
    try:
        end = s.feed(bytearray(head.encode() + body))
    except Refuse as r:
        return f"{r.status}{' upload' if r.upload else ''}"
    return end if isinstance(end, int) else "more"


@pytest.mark.parametrize("line,cookie,allowed", [
    ("POST /admin/media HTTP/1.1", "session=abc", True),
    ("POST /admin/media?x=1 HTTP/1.1", "a=1; session=abc", True),
    ("POST /admin/announcements/new HTTP/1.1", "session=abc", True),
    ("POST /admin/announcements/42/edit HTTP/1.1", "session=abc", True),
    ("POST /admin/media HTTP/1.1", "", False),  # anonymous: refused at the head, nothing buffered
    ("POST /admin/media HTTP/1.1", "session=", False),
    ("POST /admin/media HTTP/1.1", "mysession=abc", False),
    ("PUT /admin/media HTTP/1.1", "session=abc", False),
    ("POST /admin/media/ HTTP/1.1", "session=abc", False),
    ("POST /admin/media/../login HTTP/1.1", "session=abc", False),
    ("POST /admin/%6Dedia HTTP/1.1", "session=abc", False),  # another spelling: the ordinary limit
    ("POST /admin/announcements/42/submit HTTP/1.1", "session=abc", False),
    ("POST /admin/login HTTP/1.1", "session=abc", False),
    ("POST /callback HTTP/1.1", "session=abc", False),
])
def test_only_an_upload_path_with_a_session_cookie_may_send_more_than_1_mib(line, cookie, allowed):
    cookie_line = f"Cookie: {cookie}\r\n" if cookie else ""
    head = f"{line}\r\nHost: x\r\n{cookie_line}Content-Length: {5 * MiB}\r\n\r\n"
    assert scan(head) == ("more" if allowed else "413")
    # Chunked: counted as it arrives.
    head = f"{line}\r\nHost: x\r\n{cookie_line}Transfer-Encoding: chunked\r\n\r\n"
    body = b"".join(b"%x\r\n%s\r\n" % (MiB // 2, b"a" * (MiB // 2)) for _ in range(3))
    assert scan(head, body) == ("more" if allowed else "413")


def test_an_upload_over_its_limit_is_refused_with_the_photo_message():
    head = f"POST /admin/media HTTP/1.1\r\nHost: x\r\nCookie: session=abc\r\nContent-Length: {12 * MiB + 1}\r\n\r\n"
    assert scan(head) == "413 upload"
    head = f"POST /admin/media HTTP/1.1\r\nHost: x\r\nCookie: session=abc\r\nContent-Length: {12 * MiB}\r\n\r\n"
    assert scan(head, b"x" * 12 * MiB) == len(head) + 12 * MiB
    # A leading empty line (allowed before a request) does not hide the request line.
    assert scan("\r\n" + head) == "more"


# --- through the app ------------------------------------------------------------------------------------

def post_file(client, path: str, photo: bytes, fields: dict | None = None, token_from: str | None = None):
    data = dict(fields or {})
    if token_from:
        data["csrf_token"] = client.token(token_from)
    data["image"] = (io.BytesIO(photo), "IMG_0001.jpg")
    return client.c.post(path, data=data, content_type="multipart/form-data")


def compose(title: str) -> dict:
    return {"title": title, "body": "写真つきのお知らせです。", "target": "everyone", "match": "any", "link_label": ""}


def test_staff_upload_a_phone_photo_on_the_image_routes(admin_env, photo):
    staff = admin_env.signed_in("staff")
    r = post_file(staff, "/admin/media", photo, token_from="/admin/media")
    assert r.status_code == 302 and r.headers["Location"] == "/admin/media", r.get_data(as_text=True)[:500]
    r = post_file(staff, "/admin/announcements/new", photo, compose("写真つき"), token_from="/admin/announcements/new")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    edit = f"/admin/announcements/{admin_env.ids['notice_a']}/edit"
    orga = admin_env.signed_in("orga")  # an organisation drafts (and uploads) too
    r = post_file(orga, edit, photo, compose("下書きA"), token_from=edit)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    with admin_env.db() as db:
        assert db.scalar(select(func.count()).select_from(MediaImage)) == 3
        new = db.scalar(select(Announcement).where(Announcement.title == "写真つき"))
        assert new.image_id is not None
        assert db.get(Announcement, admin_env.ids["notice_a"]).image_id is not None
    # The larger limit was this request's only: the next one is back at 1 MiB.
    item = admin_env.ids["notice_a"]
    r = post_file(staff, f"/admin/announcements/{item}/submit", photo, token_from=f"/admin/announcements/{item}")
    assert r.status_code == 413


def test_a_photo_anywhere_else_is_413_at_1_mib(admin_env, photo):
    staff = admin_env.signed_in("staff")
    for path in ("/admin/login", "/admin/password", f"/admin/announcements/{admin_env.ids['notice_a']}/submit",
                 "/admin/line-link/code", "/plan"):
        r = post_file(staff, path, photo, token_from="/admin/media")
        assert r.status_code == 413, (path, r.status_code)
        body = r.get_data(as_text=True)
        assert TOO_LARGE_TITLE in body and "10MBまで" not in body, path
    r = staff.c.post("/callback", data=photo, headers={"X-Line-Signature": "x", "Content-Type": "application/json"})
    assert r.status_code == 413
    with admin_env.db() as db:
        assert db.scalar(select(func.count()).select_from(MediaImage)) == 0


def test_who_may_not_upload_is_held_to_1_mib(admin_env, photo):
    anon = admin_env.client()
    survey = admin_env.signed_in("survey")  # no image permission
    for client, page in ((anon, "/admin/login"), (survey, "/admin/")):
        for path in ("/admin/media", "/admin/announcements/new"):
            r = post_file(client, path, photo, token_from=page)
            # Refused before the body is read (the blueprint would answer 302 or 403 after reading it).
            assert r.status_code == 413, (path, r.status_code)
            assert "10MBまで" not in r.get_data(as_text=True)
    # A small upload from them still meets the usual answers (sign in; no permission).
    tiny = io.BytesIO()
    Image.new("RGB", (10, 10)).save(tiny, "JPEG")
    assert post_file(anon, "/admin/media", tiny.getvalue(), token_from="/admin/login").status_code == 302
    assert post_file(survey, "/admin/media", tiny.getvalue(), token_from="/admin/").status_code == 403
    with admin_env.db() as db:
        assert db.scalar(select(func.count()).select_from(MediaImage)) == 0


def test_a_session_that_was_revoked_does_not_get_the_larger_limit(admin_env, photo):
    from models.accounts import Account

    staff = admin_env.signed_in("staff")
    token = staff.token("/admin/media")
    with admin_env.db() as db:
        db.get(Account, admin_env.ids["staff"]).session_version += 1  # e.g. the password was changed elsewhere
        db.commit()
    r = staff.c.post("/admin/media", data={"csrf_token": token, "image": (io.BytesIO(photo), "a.jpg")},
                     content_type="multipart/form-data")
    assert r.status_code == 413


def test_over_the_upload_limit_is_413_with_a_japanese_page_saying_how_large(admin_env):
    staff = admin_env.signed_in("staff")
    big = b"\xff\xd8\xff" + b"\0" * (admin_env.rt.config.max_upload_bytes + request_guard.FORM_ALLOWANCE)
    r = post_file(staff, "/admin/media", big, token_from="/admin/media")
    assert r.status_code == 413
    body = r.get_data(as_text=True)
    assert TOO_LARGE_TITLE in body and "10MBまでのファイルにしてから" in body
    assert 'lang="ja"' in body and "エラー番号 413" in body
    # Just under it, the file itself is bot/media.py's to judge: its own message beside the field.
    near = b"\xff\xd8\xff" + b"\0" * media.UPLOAD_MAX_BYTES
    r = post_file(staff, "/admin/media", near, token_from="/admin/media")
    assert r.status_code == 422 and "10MBまで" in r.get_data(as_text=True)


# --- the Procfile's gunicorn process, over raw HTTP ------------------------------------------------------

class Browser:
    """Keeps the session cookie itself: it is Secure (production settings), and this talks plain HTTP."""

    def __init__(self, port: int) -> None:
        self.port, self.cookie = port, ""

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            hdrs = {"Cookie": self.cookie} if self.cookie else {}
            hdrs.update(headers or {})
            conn.request(method, path, body=body or None, headers=hdrs)
            r = conn.getresponse()
            data = r.read().decode("utf-8", errors="replace")
        finally:
            conn.close()
        for c in r.msg.get_all("Set-Cookie") or []:
            if c.startswith("session="):
                self.cookie = c.split(";", 1)[0]
        return r.status, r.headers, data

    def token(self, path: str) -> str:
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.request("GET", path)[2])
        assert m, path
        return m.group(1)

    def post_form(self, path: str, fields: dict, files: dict | None = None, token_from: str | None = None):
        fields = {**fields, "csrf_token": self.token(token_from or path)}
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items()]
        for name, (filename, data) in (files or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def head_only(port: int, head: bytes, timeout: float = 5.0) -> tuple[int, str, float]:
    """Send a request head announcing a large body, and none of the body: the answer must come anyway."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    status = int(got[9:12])
    return status, got.partition(b"\r\n\r\n")[2].decode(), time.monotonic() - t0


@pytest.fixture(scope="module")
def gunicorn_web(database_url, tmp_path_factory):
    from bot.admin.accounts import create_account

    email = f"uploader-{uuid.uuid4().hex[:8]}@example.jp"
    engine = create_engine(database_url)
    with Session(engine) as db:
        from datetime import datetime, timezone
        # The process checks passwords with the production hasher (not the tests' cheap one).
        create_account(db, email=email, role="staff", now=datetime.now(timezone.utc), password=PASSWORD,
                       display_name="写真係")
        db.commit()
    engine.dispose()
    mp = pytest.MonkeyPatch()
    mp.setenv("KYODO_PUBLIC_BASE_URL", "https://kyodo.example.jp")  # bot.media refuses plain http in production
    port = free_port()
    proc = start_web(procfile_web_command(), port, database_url)
    mp.undo()
    try:
        wait_ready(port, proc)
        yield port, email
    finally:
        log = stop_web(proc)
        assert "Traceback" not in log, log[-3000:]


def test_real_worker_a_signed_in_staff_member_uploads_a_phone_photo(gunicorn_web, database_url, photo):
    port, email = gunicorn_web
    b = Browser(port)
    status, headers, _ = b.post_form("/admin/login", {"email": email, "password": PASSWORD})
    assert status == 302 and b.cookie, status
    before = image_count(database_url)
    status, headers, body = b.post_form("/admin/media", {}, {"image": ("IMG_0001.jpg", photo)})
    assert status == 302 and headers["Location"].endswith("/admin/media"), (status, body[:500])
    assert image_count(database_url) == before + 1
    assert "画像を登録しました" in b.request("GET", "/admin/media")[2]
    # The compose form carries the photo too.
    fields = compose("写真つきのお知らせ")
    status, headers, body = b.post_form("/admin/announcements/new", fields, {"image": ("IMG_0002.jpg", photo)})
    assert status == 302, (status, body[:500])
    assert image_count(database_url) == before + 2
    # Between the app's limit and the worker's: the worker passes it, the app answers with the photo page.
    big = b"\xff\xd8\xff" + b"\0" * (11 * MiB)
    status, _, body = b.post_form("/admin/media", {}, {"image": ("huge.jpg", big)})
    assert status == 413 and "10MBまでのファイルにしてから" in body and "エラー番号 413" in body
    # Over the worker's limit: refused at the head, the body never sent, the photo page as well.
    head = (f"POST /admin/media HTTP/1.1\r\nHost: x\r\nCookie: {b.cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {13 * MiB}\r\n\r\n").encode()
    status, body, took = head_only(port, head)
    assert status == 413 and UPLOAD_TOO_LARGE in body and took < 2.0
    # Anywhere else, the same signed-in staff member is held to 1 MiB at the head.
    for path in ("/admin/login", "/admin/password", "/callback", "/admin/media/1"):
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nCookie: {b.cookie}\r\n"
                f"Content-Length: {len(photo)}\r\n\r\n").encode()
        status, body, took = head_only(port, head)
        assert status == 413 and TOO_LARGE_TITLE in body and UPLOAD_TOO_LARGE not in body and took < 2.0, path
    assert image_count(database_url) == before + 2


def test_real_worker_anonymous_photos_are_refused(gunicorn_web, database_url, photo):
    port, _ = gunicorn_web
    before = image_count(database_url)
    # No session cookie: refused from the head alone, before any of the body is read.
    head = f"POST /admin/media HTTP/1.1\r\nHost: x\r\nContent-Length: {len(photo)}\r\n\r\n".encode()
    status, body, took = head_only(port, head)
    assert status == 413 and TOO_LARGE_TITLE in body and took < 2.0
    # A made-up cookie gets the body as far as the app, which refuses it (no account behind it).
    b = Browser(port)
    b.cookie = "session=made-up"
    status, _, body = b.request("POST", "/admin/media", b"--x\r\n" + photo,
                                {"Content-Type": "multipart/form-data; boundary=x"})
    assert status in (302, 401, 403, 413), status
    assert status == 413 and "10MBまで" not in body
    assert image_count(database_url) == before


def test_real_worker_fake_uploads_get_their_own_share_of_the_buffer_and_the_rest_still_answers(gunicorn_web):
    """Anyone can send a session cookie: uploads may hold 24 MiB of a process's 64 MiB buffer, so a flood of
    made-up 11 MiB uploads gets 503s while the site (and LINE's webhooks) still have room."""
    port, _ = gunicorn_web
    size = 11 * 1024 * 1024
    head = (f"POST /admin/media HTTP/1.1\r\nHost: x\r\nCookie: session=made-up\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {size + 1}\r\n\r\n").encode()
    body = b"\0" * size  # all but the last byte: each connection stays in the worker's buffer
    held, refused = [], 0
    try:
        for _ in range(12):  # 132 MiB offered; 4 processes x 24 MiB hold at most 8 of them
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            try:
                s.sendall(head + body)
            except OSError:  # answered and closed while we were still sending
                refused += 1
                s.close()
                continue
            s.settimeout(0.3)
            try:
                got = s.recv(65536)
            except socket.timeout:
                held.append(s)
                continue
            assert got[9:12] == b"503", got[:100]
            refused += 1
            s.close()
        assert len(held) <= 8 and refused >= 4, (len(held), refused)
        status, _, _ = head_only(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status == 200
    finally:
        for s in held:
            s.close()
