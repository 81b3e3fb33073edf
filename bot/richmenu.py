"""The default rich menu: six areas, an image drawn here with legible Japanese labels."""
from __future__ import annotations

import io
import logging
from pathlib import Path

from bot.config import Config
from bot.postback import encode
from handlers.menu import MAIN_MENU

log = logging.getLogger("kyodo.richmenu")
WIDTH, HEIGHT = 2500, 1686
COLS, ROWS = 3, 2
PREBUILT = Path(__file__).parent / "static" / "richmenu.png"
FONT_CANDIDATES = [
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
]
ICONS = ["◆", "●", "★", "♥", "◎", "▲"]
COLOURS = ["#2E7D6B", "#E07A2E", "#3B6FB6", "#C2477A", "#6A55A8", "#5B6770"]


def menu_definition() -> dict:
    w, h = WIDTH // COLS, HEIGHT // ROWS
    areas = []
    for i, (label, action) in enumerate(MAIN_MENU):
        x, y = (i % COLS) * w, (i // COLS) * h
        areas.append({"bounds": {"x": x, "y": y, "width": w, "height": h},
                      "action": {"type": "postback", "label": label, "data": encode(action), "displayText": label}})
    return {"size": {"width": WIDTH, "height": HEIGHT}, "selected": True, "name": "kyodo-main", "chatBarText": "メニュー",
            "areas": areas}


def _font(size: int):
    from PIL import ImageFont

    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return None


def render_image() -> bytes:
    """Draw the menu; without a Japanese font on this machine, use the image shipped in the package."""
    from PIL import Image, ImageDraw

    big, small = _font(150), _font(120)
    if big is None:
        log.info("no Japanese font found; using the prebuilt rich menu image")
        return PREBUILT.read_bytes()
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(img)
    w, h = WIDTH // COLS, HEIGHT // ROWS
    for i, (label, _action) in enumerate(MAIN_MENU):
        x, y = (i % COLS) * w, (i // COLS) * h
        draw.rectangle([x + 12, y + 12, x + w - 12, y + h - 12], fill=COLOURS[i], outline="white", width=6)
        draw.text((x + w / 2, y + h * 0.36), ICONS[i], font=big, fill="white", anchor="mm")
        font = small if len(label) <= 5 else _font(int(120 * 5.4 / len(label)))
        draw.text((x + w / 2, y + h * 0.68), label, font=font, fill="white", anchor="mm")
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def install_default(config: Config, *, image_out: str | None = None) -> str:
    from bot.line_adapter import LineAdapter

    adapter = LineAdapter(config)
    image = render_image()
    if image_out:
        Path(image_out).write_bytes(image)
    rich_menu_id = adapter.create_rich_menu(menu_definition())
    adapter.upload_rich_menu_image(rich_menu_id, image, "image/png")
    adapter.set_default_rich_menu(rich_menu_id)
    # Old menus of ours would pile up on every deploy.
    for menu in adapter.list_rich_menus():
        if menu.get("name") == "kyodo-main" and menu.get("richMenuId") != rich_menu_id:
            adapter.delete_rich_menu(menu["richMenuId"])
    return rich_menu_id
