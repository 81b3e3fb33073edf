"""LINE's documented message limits that messaging-api.yml does not express.

The OpenAPI file only checks the request envelope (5 messages, 500 recipients, 13 quick-reply items); its
discriminators carry no oneOf, so nothing inside a message is checked against its own type. LINE itself rejects
a 5,001-character text, a Flex box without `layout`, a 21-character label, ... Everything here returns problems
as (property, message) pairs using LINE's property notation (``messages[0].contents.body.contents[1].text``),
so the emulator can answer 400 exactly where LINE would and tests can call the checks directly.
"""
from __future__ import annotations

import json
import re
from typing import Any

Problem = tuple[str, str]

MAX_MESSAGES = 5
TEXT_MAX = 5000
ALT_TEXT_MAX = 1500
QUICK_REPLY_MAX = 13
LABEL_MAX = 20
IMAGE_CAROUSEL_LABEL_MAX = 12
DATA_MAX = 300
DISPLAY_TEXT_MAX = 300
MESSAGE_ACTION_TEXT_MAX = 300
URI_MAX = 1000
URL_MAX = 2000
FLEX_CAROUSEL_MAX = 12
FLEX_MAX_BYTES = 30_000  # "30 KB"; the lower reading, so a message that passes here passes on LINE
MULTICAST_MAX = 500
TEMPLATE_CAROUSEL_MAX = 10
RICH_MENU_AREAS_MAX = 20
CHAT_BAR_TEXT_MAX = 14

MESSAGE_TYPES = {"text", "textV2", "sticker", "image", "video", "audio", "location", "imagemap", "template", "flex",
                 "coupon"}
ACTION_TYPES = {"postback", "message", "uri", "datetimepicker", "camera", "cameraRoll", "location", "clipboard",
                "richmenuswitch"}
QUICK_REPLY_ACTIONS = {"postback", "message", "uri", "datetimepicker", "camera", "cameraRoll", "location", "clipboard"}
URI_SCHEMES = ("http://", "https://", "tel:", "line:")
FLEX_IN_BOX = {"box", "button", "image", "text", "separator", "filler", "spacer"}
FLEX_IN_BASELINE = {"icon", "text", "filler", "spacer"}
FLEX_HERO = {"box", "image", "video"}
BUBBLE_SIZES = {"nano", "micro", "deca", "hecto", "kilo", "mega", "giga"}
LAYOUTS = {"horizontal", "vertical", "baseline"}

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_SPACING = re.compile(r"^(?:none|xs|sm|md|lg|xl|xxl|\d+(?:\.\d+)?px)$")
_TEXT_SIZE = re.compile(r"^(?:xxs|xs|sm|md|lg|xl|xxl|3xl|4xl|5xl|\d+(?:\.\d+)?px)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}$")
_PICKER_FORMATS = {"date": (_DATE, "yyyy-MM-dd"), "time": (_TIME, "HH:mm"), "datetime": (_DATETIME, "yyyy-MM-ddTHH:mm")}


def text_length(value: str) -> int:
    """Length as LINE counts it (UTF-16 code units: an emoji outside the BMP counts 2)."""
    return len(value.encode("utf-16-le")) // 2


def check_messages(messages: Any, prefix: str = "messages") -> list[Problem]:
    """Every limit LINE applies to a messages array of a reply/push/multicast/broadcast/narrowcast."""
    c = _Checker()
    if not isinstance(messages, list):
        c.add(prefix, "must be specified")
        return c.problems
    if not 1 <= len(messages) <= MAX_MESSAGES:
        c.add(prefix, f"Size must be between 1 and {MAX_MESSAGES}")
    for i, message in enumerate(messages):
        c.message(message, f"{prefix}[{i}]")
    return c.problems


def check_recipients(to: Any, prefix: str = "to") -> list[Problem]:
    """Multicast recipients: 1..500 user ids."""
    if not isinstance(to, list) or not 1 <= len(to) <= MULTICAST_MAX:
        return [(prefix, f"Size must be between 1 and {MULTICAST_MAX}")]
    return [(f"{prefix}[{i}]", "invalid user id") for i, uid in enumerate(to)
            if not (isinstance(uid, str) and re.match(r"^U[0-9a-f]{32}$", uid))]


def check_rich_menu(menu: Any) -> list[Problem]:
    """A rich menu object (create / validate)."""
    c = _Checker()
    if not isinstance(menu, dict):
        c.add("", "must be an object")
        return c.problems
    size = menu.get("size")
    width = height = None
    if not isinstance(size, dict):
        c.add("size", "must be specified")
    else:
        width, height = size.get("width"), size.get("height")
        if not (isinstance(width, int) and isinstance(height, int)):
            c.add("size", "width and height must be integers")
            width = height = None
        elif not (800 <= width <= 2500 and height >= 250 and width / height >= 1.45):
            c.add("size", "must be 800 to 2500 pixels wide, at least 250 high, with width/height at least 1.45")
    if not isinstance(menu.get("selected"), bool):
        c.add("selected", "must be specified")
    c.string(menu.get("name"), "name", 1, 300)
    c.string(menu.get("chatBarText"), "chatBarText", 1, CHAT_BAR_TEXT_MAX)
    areas = menu.get("areas")
    if not isinstance(areas, list) or not 1 <= len(areas) <= RICH_MENU_AREAS_MAX:
        c.add("areas", f"Size must be between 1 and {RICH_MENU_AREAS_MAX}")
        areas = areas if isinstance(areas, list) else []
    for i, area in enumerate(areas):
        path = f"areas[{i}]"
        if not isinstance(area, dict):
            c.add(path, "must be an object")
            continue
        bounds = area.get("bounds")
        keys = ("x", "y", "width", "height")
        if not isinstance(bounds, dict) or not all(isinstance(bounds.get(k), int) for k in keys):
            c.add(f"{path}.bounds", "x, y, width and height must be specified")
        elif width is not None and (bounds["x"] < 0 or bounds["y"] < 0 or bounds["width"] < 1
                                    or bounds["height"] < 1 or bounds["x"] + bounds["width"] > width
                                    or bounds["y"] + bounds["height"] > height):
            c.add(f"{path}.bounds", "must be inside the rich menu")
        c.action(area.get("action"), f"{path}.action", label_required=False, context="richmenu")
    return c.problems


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, prop: str, message: str) -> None:
        self.problems.append((prop, message))

    # -- primitives -------------------------------------------------------------------------------------------
    def string(self, value: Any, path: str, lo: int, hi: int, required: bool = True) -> bool:
        if value is None:
            if required:
                self.add(path, "must be specified")
            return not required
        if not isinstance(value, str):
            self.add(path, "must be a string")
            return False
        if not lo <= text_length(value) <= hi:
            self.add(path, f"Length must be between {lo} and {hi}")
            return False
        return True

    def url(self, value: Any, path: str, required: bool = True, max_len: int = URL_MAX) -> None:
        if self.string(value, path, 1, max_len, required) and value is not None:
            if not value.startswith(("http://", "https://")):
                self.add(path, "must be an http(s) URL")

    def color(self, node: dict, path: str, *keys: str) -> None:
        for key in keys:
            value = node.get(key)
            if value is not None and not (isinstance(value, str) and _COLOR.match(value)):
                self.add(f"{path}.{key}", "invalid color; use #RRGGBB or #RRGGBBAA")

    def pattern(self, node: dict, path: str, key: str, regex: re.Pattern, what: str) -> None:
        value = node.get(key)
        if value is not None and not (isinstance(value, str) and regex.match(value)):
            self.add(f"{path}.{key}", f"invalid {what}: {value!r}")

    def enum(self, node: dict, path: str, key: str, allowed: set | tuple) -> None:
        value = node.get(key)
        if value is not None and value not in allowed:
            self.add(f"{path}.{key}", f"must be one of {sorted(allowed)}")

    # -- messages -------------------------------------------------------------------------------------------
    def message(self, m: Any, path: str) -> None:
        if not isinstance(m, dict):
            self.add(path, "must be an object")
            return
        kind = m.get("type")
        if kind not in MESSAGE_TYPES:
            self.add(f"{path}.type", "invalid message type")
            return
        if kind == "text":
            self.string(m.get("text"), f"{path}.text", 1, TEXT_MAX)
        elif kind == "textV2":
            self.string(m.get("text"), f"{path}.text", 1, TEXT_MAX)
        elif kind == "sticker":
            self.string(m.get("packageId"), f"{path}.packageId", 1, 100)
            self.string(m.get("stickerId"), f"{path}.stickerId", 1, 100)
        elif kind in ("image", "video"):
            self.url(m.get("originalContentUrl"), f"{path}.originalContentUrl")
            self.url(m.get("previewImageUrl"), f"{path}.previewImageUrl")
        elif kind == "audio":
            self.url(m.get("originalContentUrl"), f"{path}.originalContentUrl")
            if not isinstance(m.get("duration"), int):
                self.add(f"{path}.duration", "must be specified")
        elif kind == "location":
            self.string(m.get("title"), f"{path}.title", 1, 100)
            self.string(m.get("address"), f"{path}.address", 1, 100)
            for key in ("latitude", "longitude"):
                if not isinstance(m.get(key), (int, float)) or isinstance(m.get(key), bool):
                    self.add(f"{path}.{key}", "must be specified")
        elif kind == "imagemap":
            self.string(m.get("altText"), f"{path}.altText", 1, ALT_TEXT_MAX)
            self.url(m.get("baseUrl"), f"{path}.baseUrl")
        elif kind == "template":
            self.string(m.get("altText"), f"{path}.altText", 1, ALT_TEXT_MAX)
            self.template(m.get("template"), f"{path}.template")
        elif kind == "flex":
            self.string(m.get("altText"), f"{path}.altText", 1, ALT_TEXT_MAX)
            self.flex_message(m.get("contents"), f"{path}.contents")
        if "quickReply" in m:
            self.quick_reply(m["quickReply"], f"{path}.quickReply")
        sender = m.get("sender")
        if isinstance(sender, dict):
            self.string(sender.get("name"), f"{path}.sender.name", 1, 20, required=False)
            self.url(sender.get("iconUrl"), f"{path}.sender.iconUrl", required=False, max_len=URL_MAX)

    def quick_reply(self, qr: Any, path: str) -> None:
        items = qr.get("items") if isinstance(qr, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= QUICK_REPLY_MAX:
            self.add(f"{path}.items", f"Size must be between 1 and {QUICK_REPLY_MAX}")
            return
        for i, item in enumerate(items):
            ipath = f"{path}.items[{i}]"
            if not isinstance(item, dict):
                self.add(ipath, "must be an object")
                continue
            if item.get("type", "action") != "action":
                self.add(f"{ipath}.type", "must be 'action'")
            self.url(item.get("imageUrl"), f"{ipath}.imageUrl", required=False)
            self.action(item.get("action"), f"{ipath}.action", label_required=True, context="quickReply")

    # -- actions --------------------------------------------------------------------------------------------
    def action(self, a: Any, path: str, *, label_required: bool, label_max: int = LABEL_MAX,
               context: str = "message") -> None:
        if not isinstance(a, dict):
            self.add(path, "must be specified")
            return
        kind = a.get("type")
        if kind not in ACTION_TYPES:
            self.add(f"{path}.type", "invalid action type")
            return
        if context == "quickReply" and kind not in QUICK_REPLY_ACTIONS:
            self.add(f"{path}.type", f"{kind} action cannot be used in a quick reply")
        if kind == "richmenuswitch" and context != "richmenu":
            self.add(f"{path}.type", "richmenuswitch action can only be used in a rich menu")
        self.string(a.get("label"), f"{path}.label", 1, label_max, required=label_required)
        if kind == "postback":
            self.string(a.get("data"), f"{path}.data", 0, DATA_MAX)
            self.string(a.get("displayText"), f"{path}.displayText", 1, DISPLAY_TEXT_MAX, required=False)
            self.string(a.get("text"), f"{path}.text", 1, DISPLAY_TEXT_MAX, required=False)
            if a.get("displayText") is not None and a.get("text") is not None:
                self.add(f"{path}.text", "displayText and text cannot both be set")
            self.enum(a, path, "inputOption", ("closeRichMenu", "openRichMenu", "openKeyboard", "openVoice"))
        elif kind == "message":
            self.string(a.get("text"), f"{path}.text", 1, MESSAGE_ACTION_TEXT_MAX)
        elif kind == "uri":
            self.uri(a.get("uri"), f"{path}.uri")
            alt = a.get("altUri")
            if isinstance(alt, dict) and alt.get("desktop") is not None:
                self.uri(alt.get("desktop"), f"{path}.altUri.desktop")
        elif kind == "datetimepicker":
            self.datetimepicker(a, path)
        elif kind == "clipboard":
            self.string(a.get("clipboardText"), f"{path}.clipboardText", 1, 1000)
        elif kind == "richmenuswitch":
            self.string(a.get("richMenuAliasId"), f"{path}.richMenuAliasId", 1, 32)
            self.string(a.get("data"), f"{path}.data", 1, DATA_MAX)

    def uri(self, value: Any, path: str) -> None:
        if self.string(value, path, 1, URI_MAX) and value is not None:
            if not value.startswith(URI_SCHEMES):
                self.add(path, "invalid uri scheme (use http, https, tel or line)")

    def datetimepicker(self, a: dict, path: str) -> None:
        self.string(a.get("data"), f"{path}.data", 0, DATA_MAX)
        mode = a.get("mode")
        if mode not in _PICKER_FORMATS:
            self.add(f"{path}.mode", "must be one of date, time, datetime")
            return
        regex, shape = _PICKER_FORMATS[mode]
        for key in ("initial", "min", "max"):
            value = a.get(key)
            if value is not None and not (isinstance(value, str) and regex.match(value)):
                self.add(f"{path}.{key}", f"must be {shape} for mode {mode}")
        lo, hi = a.get("min"), a.get("max")
        if isinstance(lo, str) and isinstance(hi, str) and lo.lower() > hi.lower():
            self.add(f"{path}.max", "must not be earlier than min")

    # -- templates ------------------------------------------------------------------------------------------
    def template(self, t: Any, path: str) -> None:
        if not isinstance(t, dict):
            self.add(path, "must be specified")
            return
        kind = t.get("type")
        if kind == "buttons":
            has_header = bool(t.get("thumbnailImageUrl") or t.get("title"))
            self.string(t.get("title"), f"{path}.title", 1, 40, required=False)
            self.string(t.get("text"), f"{path}.text", 1, 60 if has_header else 160)
            self.url(t.get("thumbnailImageUrl"), f"{path}.thumbnailImageUrl", required=False)
            self.actions(t.get("actions"), f"{path}.actions", 1, 4)
            if "defaultAction" in t:
                self.action(t["defaultAction"], f"{path}.defaultAction", label_required=False)
        elif kind == "confirm":
            self.string(t.get("text"), f"{path}.text", 1, 240)
            self.actions(t.get("actions"), f"{path}.actions", 2, 2)
        elif kind == "carousel":
            columns = t.get("columns")
            if not isinstance(columns, list) or not 1 <= len(columns) <= TEMPLATE_CAROUSEL_MAX:
                self.add(f"{path}.columns", f"Size must be between 1 and {TEMPLATE_CAROUSEL_MAX}")
                return
            counts = set()
            for i, col in enumerate(columns):
                cpath = f"{path}.columns[{i}]"
                if not isinstance(col, dict):
                    self.add(cpath, "must be an object")
                    continue
                has_header = bool(col.get("thumbnailImageUrl") or col.get("title"))
                self.string(col.get("title"), f"{cpath}.title", 1, 40, required=False)
                self.string(col.get("text"), f"{cpath}.text", 1, 60 if has_header else 120)
                self.url(col.get("thumbnailImageUrl"), f"{cpath}.thumbnailImageUrl", required=False)
                self.actions(col.get("actions"), f"{cpath}.actions", 1, 3)
                counts.add(len(col.get("actions") or []))
            if len(counts) > 1:
                self.add(f"{path}.columns", "every column must have the same number of actions")
        elif kind == "image_carousel":
            columns = t.get("columns")
            if not isinstance(columns, list) or not 1 <= len(columns) <= TEMPLATE_CAROUSEL_MAX:
                self.add(f"{path}.columns", f"Size must be between 1 and {TEMPLATE_CAROUSEL_MAX}")
                return
            for i, col in enumerate(columns):
                cpath = f"{path}.columns[{i}]"
                if not isinstance(col, dict):
                    self.add(cpath, "must be an object")
                    continue
                self.url(col.get("imageUrl"), f"{cpath}.imageUrl")
                self.action(col.get("action"), f"{cpath}.action", label_required=False,
                            label_max=IMAGE_CAROUSEL_LABEL_MAX)
        else:
            self.add(f"{path}.type", "invalid template type")

    def actions(self, actions: Any, path: str, lo: int, hi: int) -> None:
        if not isinstance(actions, list) or not lo <= len(actions) <= hi:
            self.add(path, f"Size must be between {lo} and {hi}")
            return
        for i, a in enumerate(actions):
            self.action(a, f"{path}[{i}]", label_required=True)

    # -- flex -----------------------------------------------------------------------------------------------
    def flex_message(self, contents: Any, path: str) -> None:
        if not isinstance(contents, dict):
            self.add(path, "must be specified")
            return
        size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        if size > FLEX_MAX_BYTES:
            self.add(path, f"Flex Message is too large: {size} bytes (max {FLEX_MAX_BYTES})")
        kind = contents.get("type")
        if kind == "bubble":
            self.bubble(contents, path)
        elif kind == "carousel":
            bubbles = contents.get("contents")
            if not isinstance(bubbles, list) or not 1 <= len(bubbles) <= FLEX_CAROUSEL_MAX:
                self.add(f"{path}.contents", f"Size must be between 1 and {FLEX_CAROUSEL_MAX}")
                return
            for i, b in enumerate(bubbles):
                bpath = f"{path}.contents[{i}]"
                if not isinstance(b, dict) or b.get("type") != "bubble":
                    self.add(f"{bpath}.type", "a carousel may only contain bubbles")
                else:
                    self.bubble(b, bpath)
        else:
            self.add(f"{path}.type", "must be bubble or carousel")

    def bubble(self, b: dict, path: str) -> None:
        self.enum(b, path, "size", BUBBLE_SIZES)
        self.enum(b, path, "direction", ("ltr", "rtl"))
        for block in ("header", "body", "footer"):
            if block in b:
                node = b[block]
                if not isinstance(node, dict) or node.get("type") != "box":
                    self.add(f"{path}.{block}.type", "must be box")
                else:
                    self.component(node, f"{path}.{block}", {"box"})
        if "hero" in b:
            self.component(b["hero"], f"{path}.hero", FLEX_HERO)
        styles = b.get("styles")
        if isinstance(styles, dict):
            for block, style in styles.items():
                if isinstance(style, dict):
                    self.color(style, f"{path}.styles.{block}", "backgroundColor", "separatorColor")
        if "action" in b:
            self.action(b["action"], f"{path}.action", label_required=False)

    def component(self, c: Any, path: str, allowed: set) -> None:
        if not isinstance(c, dict):
            self.add(path, "must be an object")
            return
        kind = c.get("type")
        if kind not in allowed:
            self.add(f"{path}.type", f"{kind!r} is not allowed here (allowed: {', '.join(sorted(allowed))})")
            return
        self.pattern(c, path, "margin", _SPACING, "margin")
        if "action" in c and kind != "button":
            self.action(c["action"], f"{path}.action", label_required=False)
        if kind == "box":
            layout = c.get("layout")
            if layout not in LAYOUTS:
                self.add(f"{path}.layout", "must be specified (horizontal, vertical or baseline)")
            self.pattern(c, path, "spacing", _SPACING, "spacing")
            self.color(c, path, "backgroundColor", "borderColor")
            children = c.get("contents")
            if not isinstance(children, list):
                self.add(f"{path}.contents", "must be specified")
                return
            inner = FLEX_IN_BASELINE if layout == "baseline" else FLEX_IN_BOX
            for i, child in enumerate(children):
                self.component(child, f"{path}.contents[{i}]", inner)
        elif kind == "text":
            spans = c.get("contents")
            if isinstance(spans, list) and spans:
                for i, span in enumerate(spans):
                    spath = f"{path}.contents[{i}]"
                    if not isinstance(span, dict) or span.get("type") != "span":
                        self.add(f"{spath}.type", "must be span")
                        continue
                    self.string(span.get("text"), f"{spath}.text", 1, TEXT_MAX)
                    self.color(span, spath, "color")
            else:
                self.string(c.get("text"), f"{path}.text", 1, TEXT_MAX)
            self.pattern(c, path, "size", _TEXT_SIZE, "size")
            self.enum(c, path, "weight", ("regular", "bold"))
            self.enum(c, path, "align", ("start", "end", "center"))
            self.color(c, path, "color")
        elif kind == "button":
            self.action(c.get("action"), f"{path}.action", label_required=True)
            self.enum(c, path, "style", ("primary", "secondary", "link"))
            self.enum(c, path, "height", ("sm", "md"))
            self.color(c, path, "color")
        elif kind in ("image", "icon"):
            self.url(c.get("url"), f"{path}.url")
            if kind == "image":
                self.pattern(c, path, "aspectRatio", re.compile(r"^\d+(?:\.\d+)?:\d+(?:\.\d+)?$"), "aspectRatio")
                self.color(c, path, "backgroundColor")
        elif kind == "separator":
            self.color(c, path, "color")
        elif kind == "video":
            self.url(c.get("url"), f"{path}.url")
            self.url(c.get("previewUrl"), f"{path}.previewUrl")
            if not isinstance(c.get("altContent"), dict):
                self.add(f"{path}.altContent", "must be specified")
