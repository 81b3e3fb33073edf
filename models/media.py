"""Images staff upload for announcements, stored in the database (every web process can serve them, no
shared disk) as the JPEGs LINE fetches: the original (<= 1024 px wide) and the preview (<= 240 px).

Staff uploads, no resident data: no deletion hook. Served by bot/media.py at an unguessable URL.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId


class MediaImage(Base):
    __tablename__ = "media_images"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Part of the URL (32 hex digits): knowing an id is not enough to fetch an image.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    preview_width: Mapped[int]
    preview_height: Mapped[int]
    # Deferred: lists and forms load the row without the bytes; only the serving route reads them.
    original: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    preview: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    original_name: Mapped[str] = mapped_column(String(200), default="")  # shown to staff only
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("admin_accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
