"""The city's contact for what this LINE account does not handle: cities/<city>/contact.yaml's `contact:` (the
city hall's name, its main number and its website). Read once per change of the file; a city without the file,
or with an unusable entry, has no contact (None), and the bot's answers simply leave the contact line out."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import ROOT
from bot.file_cache import read_per_change

log = logging.getLogger("kyodo.city_contact")
CONTACT_FILE = "contact.yaml"
_PHONE = re.compile(r"^(?:\+?\d[\d-]{2,18}\d|#\d{3,5})$")


@dataclass(frozen=True)
class Contact:
    name: str      # e.g. 小田原市役所
    phone: str     # as written for people: 0465-33-1300
    website: str   # https://...

    @property
    def tel_uri(self) -> str:
        """The number for a call button: tel: and the digits (LINE's uri action)."""
        return "tel:" + re.sub(r"[^\d+#]", "", self.phone)


def contact_path(city: str) -> Path:
    return ROOT / "cities" / city / CONTACT_FILE


def city_contact(city: str | None) -> Contact | None:
    """The contact of `city` (a folder under cities/), or None when it has none."""
    return _read(contact_path(city or "odawara"))


def _parse(path: Path) -> Contact | None:
    try:
        data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("contact") or {}
        name, phone, website = (str(data.get(k) or "").strip() for k in ("name", "phone", "website"))
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        log.warning("%s: unreadable (%s); no contact shown", path.name, type(exc).__name__)
        return None
    if not name or not _PHONE.match(phone) or not website.startswith("https://"):
        log.warning("%s: needs contact.name, a phone number and an https website; no contact shown", path.name)
        return None
    return Contact(name, phone, website)


_read = read_per_change(_parse)  # a changed file is read again, and a bad one is reported once per change
