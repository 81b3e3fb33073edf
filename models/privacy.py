"""Registry of per-module deletion hooks: each feature removes its own personal data for a user."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.users import User

Hook = Callable[["Session", "User"], None]


@dataclass(frozen=True)
class _Entry:
    name: str
    order: int
    fn: Hook


_HOOKS: dict[str, _Entry] = {}


def deletion_hook(name: str, order: int = 100):
    """Register `fn(db, user)`; lower order runs first. One per module, by name."""

    def register(fn: Hook) -> Hook:
        _HOOKS[name] = _Entry(name, order, fn)
        return fn

    return register


def hooks() -> list[_Entry]:
    return sorted(_HOOKS.values(), key=lambda e: (e.order, e.name))


def delete_personal_data(db: "Session", user: "User") -> list[str]:
    """Run every hook in one transaction (the caller commits); returns the hook names run."""
    import models  # noqa: F401  (imports every model module so all hooks are registered)

    ran = []
    for entry in hooks():
        entry.fn(db, user)
        ran.append(entry.name)
    return ran
