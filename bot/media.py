"""Images for announcements: checked, cleaned and resized on upload; served at unguessable URLs for LINE.

`save_upload(db, file_storage, account)` accepts JPEG and PNG only, recognised by their bytes (not the
file name or the browser's content type), refuses a file over UPLOAD_MAX_BYTES and a picture over
MAX_PIXELS *before* decoding it (a small PNG can claim 50,000 x 50,000 pixels: a decompression bomb),
and stores two JPEGs LINE accepts: the original at most 1024 px wide and the preview at most 240 px.
Re-encoding drops EXIF (GPS position, camera serial) and everything else the file carried; the EXIF
orientation is applied first so a phone photo is not shown sideways.

`image_urls(config, image)` gives the absolute URLs under KYODO_PUBLIC_BASE_URL that go into the LINE
image message; `install(app)` adds the route serving them (/media/<id>/<token>.jpg, preview
/media/<id>/<token>_p.jpg): immutable cache headers, 404 for anything else.
"""
from __future__ import annotations

import hmac
import io
import re
import secrets
import warnings
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, abort, current_app, has_app_context, request
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from bot.clock import system_clock
from models.media import MediaImage

if TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

    from bot.config import Config
    from models.accounts import Account

UPLOAD_MAX_BYTES = 10 * 1024 * 1024  # LINE's own limit for an image message's original
# Refused before decoding. A JPEG is decoded at a reduced scale (draft), so a 48-megapixel phone photo
# costs little; a PNG is decoded whole (4 bytes a pixel): 20 megapixels is about 80 MB at most.
MAX_PIXELS = {"JPEG": 50_000_000, "PNG": 20_000_000}
ORIGINAL_MAX_WIDTH = 1024
PREVIEW_MAX_WIDTH = 240
# LINE: originalContentUrl <= 10 MB, previewImageUrl <= 1 MB. Quality 85 keeps a 1024 px photo ~200 KB.
JPEG_QUALITY = 85
_SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}
_NAME = re.compile(r"([0-9a-f]{32})(_p)?\.jpg")


class MediaError(ValueError):
    """An upload that cannot be used; the message is Japanese, for the person who uploaded it."""


def _read_limited(file_storage: "FileStorage") -> bytes:
    data = file_storage.stream.read(UPLOAD_MAX_BYTES + 1)
    if len(data) > UPLOAD_MAX_BYTES:
        raise MediaError(f"画像が大きすぎます（{UPLOAD_MAX_BYTES // (1024 * 1024)}MBまで）。小さくしてから、もう一度お試しください。")
    return data


def _kind(data: bytes) -> str:
    for magic, fmt in _SIGNATURES.items():
        if data.startswith(magic):
            return fmt
    if not data:
        raise MediaError("画像ファイルを選んでください。")
    raise MediaError("JPEGかPNGの画像を選んでください（このファイルは画像として読み取れませんでした）。")


def _open(data: bytes, fmt: str) -> Image.Image:
    """Decode safely: the size is checked from the header before any pixel is decoded."""
    too_large = MediaError("画像の縦横の画素数が大きすぎます。4000×3000程度までに縮小して、もう一度お試しください。")
    unreadable = MediaError("画像を読み取れませんでした。ファイルが壊れていないか確かめて、別の画像でお試しください。")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[fmt])
            w, h = im.size
            if w <= 0 or h <= 0 or w * h > MAX_PIXELS[fmt]:
                raise too_large
            if fmt == "JPEG":
                # Decode at a reduced scale that still leaves both sides >= 1024 (the photo may be rotated).
                im.draft("RGB", (ORIGINAL_MAX_WIDTH, ORIGINAL_MAX_WIDTH))
            im.load()
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise unreadable from None
    return im


def _rgb(im: Image.Image) -> Image.Image:
    im = ImageOps.exif_transpose(im)  # before EXIF is dropped: phones store "rotated" as a tag
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        flat = Image.new("RGB", im.size, (255, 255, 255))  # JPEG has no transparency: white behind it
        flat.paste(im, mask=im.getchannel("A"))
        return flat
    return im.convert("RGB")


def _fit(im: Image.Image, max_width: int) -> Image.Image:
    if im.width <= max_width:
        return im
    h = max(1, round(im.height * max_width / im.width))
    return im.resize((max_width, h), Image.LANCZOS)


def _jpeg(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)  # no exif= : nothing carried over
    return out.getvalue()


def require_https(config: "Config") -> None:
    """LINE fetches images over https only: in production the public base URL must be https."""
    if not (config.testing or config.demo) and not config.public_base_url.startswith("https://"):
        raise MediaError("画像を配信するには、KYODO_PUBLIC_BASE_URL を https:// で始まるアドレスにしてください（システム管理者に連絡してください）。")


def save_upload(db: Session, file_storage: "FileStorage", account: "Account | None", *,
                config: "Config | None" = None, now: datetime | None = None) -> MediaImage:
    """Check, clean and store an uploaded image (added to `db` with an audit entry; the caller commits).
    `config` and `now` default to the app's (the form's request); a script passes them."""
    from bot.admin import audit

    if file_storage is None:
        raise MediaError("画像ファイルを選んでください。")
    if has_app_context():
        rt = current_app.extensions["kyodo"]
        config, now = config or rt.config, now or rt.now()
    if config is not None:
        require_https(config)
    data = _read_limited(file_storage)
    fmt = _kind(data)
    im = _rgb(_open(data, fmt))
    original = _fit(im, ORIGINAL_MAX_WIDTH)
    preview = _fit(original, PREVIEW_MAX_WIDTH)
    image = MediaImage(token=secrets.token_hex(16), width=original.width, height=original.height,
                       preview_width=preview.width, preview_height=preview.height,
                       original=_jpeg(original), preview=_jpeg(preview),
                       original_name=(file_storage.filename or "")[:200],
                       created_by_id=account.id if account is not None else None, created_at=now or system_clock())
    db.add(image)
    audit.record(db, "media.upload", actor=account, obj=image,
                 summary=f"{image.width}×{image.height} {len(image.original) // 1024}KB")
    return image


def image_path(image: MediaImage, preview: bool = False) -> str:
    """The site-relative path (for the admin's own pages, which load it from the same origin)."""
    return f"/media/{image.id}/{image.token}{'_p' if preview else ''}.jpg"


def image_urls(config: "Config", image: MediaImage) -> tuple[str, str]:
    """(originalContentUrl, previewImageUrl) for a LINE image message."""
    require_https(config)
    base = config.public_base_url.rstrip("/")
    return base + image_path(image), base + image_path(image, preview=True)


bp = Blueprint("media", __name__)
CACHE_FOREVER = "public, max-age=31536000, immutable"  # a token names one image's bytes for good


@bp.get("/media/<int:image_id>/<name>")
def serve(image_id: int, name: str):
    m = _NAME.fullmatch(name)
    if m is None:
        abort(404)
    rt = current_app.extensions["kyodo"]
    with rt.sessions() as db:
        image = db.get(MediaImage, image_id)
        if image is None or not hmac.compare_digest(image.token, m.group(1)):
            abort(404)
        data = image.preview if m.group(2) else image.original
    resp = Response(data, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = CACHE_FOREVER
    resp.set_etag(f"{image_id}-{m.group(1)}{m.group(2) or ''}")
    return resp.make_conditional(request)


def install(app: Flask) -> None:
    app.register_blueprint(bp)
