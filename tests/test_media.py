"""Images for announcements over real HTTP: upload (CSRF, roles), what is refused (not an image, a fake
extension, a truncated file, a decompression bomb, a body over the limit), what is stored (JPEG, LINE's
sizes, EXIF gone, orientation applied) and how it is served (unguessable URL, caching, 404s)."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import select

from bot import media
from bot.config import Config
from models.accounts import AuditEntry
from models.media import MediaImage
from tests.live_admin import live_admin_bot, staff_env  # noqa: F401  (fixtures)


def jpeg(width: int, height: int, *, gps: bool = False, orientation: int | None = None) -> bytes:
    im = Image.new("RGB", (width, height), (200, 30, 30))
    im.paste((20, 20, 220), (0, 0, width // 2, height // 4))  # a blue block top-left: shows the rotation
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (35.0, 15.0, 0.0), 3: "E", 4: (139.0, 9.0, 0.0)}
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png_rgba(width: int, height: int) -> bytes:
    im = Image.new("RGBA", (width, height), (0, 128, 0, 0))
    im.paste((0, 128, 0, 255), (0, 0, width // 2, height))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG header claiming 3.6 billion pixels, with a few bytes of data: refused before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def upload(client, data: bytes, name: str = "photo.jpg", mime: str = "image/jpeg"):
    return client.post("/admin/media", files={"image": (name, data, mime)}, token_from="/admin/media")


def stored(bot) -> list[MediaImage]:
    with bot.rt.sessions() as db:
        images = db.scalars(select(MediaImage).order_by(MediaImage.id)).all()
        for im in images:
            im.original, im.preview  # load the deferred bytes before the session closes
        return images


def test_a_phone_photo_is_resized_rotated_stripped_and_served(staff_env):
    bot, ids, login = staff_env
    staff = login("staff")
    original = jpeg(3000, 2000, gps=True, orientation=6)  # "rotate 90° clockwise to view"
    assert b"SERIAL-12345" in original
    r = upload(staff, original)
    assert r.status_code == 302 and r.headers["Location"] == "/admin/media"
    assert "画像を登録しました（1024×1536）" in staff.get("/admin/media").text
    [image] = stored(bot)
    # Upright (portrait after the EXIF rotation), at most 1024 wide, preview at most 240 wide.
    assert (image.width, image.height) == (1024, 1536)
    assert (image.preview_width, image.preview_height) == (240, 360)
    big, small = Image.open(io.BytesIO(image.original)), Image.open(io.BytesIO(image.preview))
    assert big.format == small.format == "JPEG" and big.size == (1024, 1536) and small.size == (240, 360)
    assert big.getpixel((1000, 10))[2] > 150  # the blue block moved from top-left to top-right: rotated
    for data in (image.original, image.preview):
        assert b"Exif" not in data and b"SERIAL-12345" not in data and b"PhoneMaker" not in data
        assert not Image.open(io.BytesIO(data)).getexif()
    assert image.created_by_id == ids["staff"] and image.original_name == "photo.jpg"
    with bot.rt.sessions() as db:
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "media.upload")).all()
        assert entry.actor_id == ids["staff"] and entry.object_id == str(image.id)

    # Served at the URLs a LINE image message carries (KYODO_PUBLIC_BASE_URL + path), cacheable for good.
    orig_url, preview_url = media.image_urls(bot.rt.config.with_(public_base_url=bot.url), image)
    assert orig_url == f"{bot.url}/media/{image.id}/{image.token}.jpg" and preview_url.endswith("_p.jpg")
    anon = type(staff)(bot.url)  # not signed in: LINE's servers fetch these
    for url, body in ((orig_url, image.original), (preview_url, image.preview)):
        r = anon.s.get(url, timeout=10)
        assert r.status_code == 200 and r.content == body
        assert r.headers["Content-Type"] == "image/jpeg"
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        again = anon.s.get(url, headers={"If-None-Match": r.headers["ETag"]}, timeout=10)
        assert again.status_code == 304 and again.content == b""
    # Anything else is not found: a wrong token, a guessed id, another name.
    wrong = "0" * 32 if image.token != "0" * 32 else "1" * 32
    for path in (f"/media/{image.id}/{wrong}.jpg", f"/media/{image.id + 1}/{image.token}.jpg",
                 f"/media/{image.id}/{image.token}.png", f"/media/{image.id}/{image.token}_x.jpg",
                 f"/media/{image.id}/{image.token.upper()}.jpg", f"/media/{image.id}", "/media/99999999999/x.jpg"):
        assert anon.get(path).status_code == 404, path


def test_png_with_transparency_becomes_a_jpeg_on_white_and_small_images_keep_their_size(staff_env):
    bot, ids, login = staff_env
    org = login("orga")  # an organisation drafts announcements too
    assert upload(org, png_rgba(400, 300), "chirashi.png", "image/png").status_code == 302
    [image] = stored(bot)
    assert (image.width, image.height, image.preview_width) == (400, 300, 240)
    im = Image.open(io.BytesIO(image.original))
    assert im.format == "JPEG" and im.getpixel((399, 150))[0] > 240  # transparent half: white, not black
    # Staff see every upload; an organisation sees only its own.
    login("staff")  # a second account exists; orgb sees nothing of orga's
    assert f"/media/{image.id}/{image.token}_p.jpg" in login("staff").get("/admin/media").text
    assert f"/media/{image.id}/" not in login("orgb").get("/admin/media").text


@pytest.mark.parametrize("data,name,mime,message", [
    (b"GIF89a" + b"\0" * 100, "anim.gif", "image/gif", "JPEGかPNGの画像を選んでください"),
    (b"<?php echo 'hi'; ?>", "evil.jpg", "image/jpeg", "JPEGかPNGの画像を選んでください"),  # name and type lie
    (b"%PDF-1.7\n...", "flyer.png", "image/png", "JPEGかPNGの画像を選んでください"),
    (jpeg(800, 600)[:400], "cut.jpg", "image/jpeg", "画像を読み取れませんでした"),  # truncated
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "broken.png", "image/png", "画像を読み取れませんでした"),
    (png_bomb(), "bomb.png", "image/png", "画素数が大きすぎます"),
    (b"", "empty.jpg", "image/jpeg", "画像ファイルを選んでください"),
])
def test_what_is_not_a_usable_image_is_refused_in_japanese(staff_env, data, name, mime, message):
    bot, ids, login = staff_env
    staff = login("staff")
    r = upload(staff, data, name, mime)
    assert r.status_code == 422 and message in r.text
    assert 'aria-invalid="true"' in r.text
    assert stored(bot) == []
    with bot.rt.sessions() as db:
        assert db.scalars(select(AuditEntry).where(AuditEntry.action == "media.upload")).all() == []


def test_missing_file_csrf_and_roles(staff_env):
    bot, ids, login = staff_env
    staff = login("staff")
    r = staff.post("/admin/media", {}, token_from="/admin/media")
    assert r.status_code == 422 and "画像ファイルを選んでください" in r.text
    r = staff.post("/admin/media", files={"image": ("a.jpg", jpeg(10, 10), "image/jpeg")}, csrf=False)
    assert r.status_code == 400 and "送信を受け付けられませんでした" in r.text
    survey = login("survey")
    assert survey.get("/admin/media").status_code == 403
    r = survey.post("/admin/media", files={"image": ("a.jpg", jpeg(10, 10), "image/jpeg")}, token_from="/admin/")
    assert r.status_code == 403
    assert stored(bot) == []


def test_a_body_over_the_web_limit_gets_a_clear_413(staff_env):
    bot, ids, login = staff_env
    staff = login("staff")
    # The upload routes take KYODO_MAX_UPLOAD_BYTES (and the form around it), not 1 MiB (bot/request_guard.py).
    big = jpeg(10, 10) + b"\0" * (bot.rt.config.max_upload_bytes + 256 * 1024 + 1)
    r = upload(staff, big)
    assert r.status_code == 413 and "送信された内容が大きすぎます" in r.text and "10MBまで" in r.text
    assert stored(bot) == []


def test_save_upload_limits_without_http(staff_env):
    """The 10 MB limit itself (above the web process's body limit today), and https for production."""
    from werkzeug.datastructures import FileStorage

    bot, ids, login = staff_env
    with bot.rt.sessions() as db, bot.app.app_context():
        too_big = FileStorage(io.BytesIO(b"\xff\xd8\xff" + b"\0" * media.UPLOAD_MAX_BYTES), "big.jpg")
        with pytest.raises(media.MediaError, match="10MBまで"):
            media.save_upload(db, too_big, None)
    production = Config(public_base_url="http://kyodo.example.jp")
    with pytest.raises(media.MediaError, match="https"):
        media.image_urls(production, MediaImage(id=1, token="a" * 32))
    ok = Config(public_base_url="https://kyodo.example.jp/")
    assert media.image_urls(ok, MediaImage(id=7, token="b" * 32)) == (
        "https://kyodo.example.jp/media/7/" + "b" * 32 + ".jpg", "https://kyodo.example.jp/media/7/" + "b" * 32 + "_p.jpg")
