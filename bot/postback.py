"""Postback data codec: `v=1&a=<action>&k=v...`, small, versioned, parseable; never free text."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

VERSION = "1"
MAX_LEN = 300  # LINE's limit for postback data


class PostbackError(ValueError):
    pass


@dataclass(frozen=True)
class Postback:
    action: str
    params: dict[str, str] = field(default_factory=dict)
    version: str = VERSION

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.params.get(key, default)

    def int(self, key: str, default: int | None = None) -> int | None:
        try:
            return int(self.params[key])
        except (KeyError, ValueError):
            return default


def encode(action: str, **params: object) -> str:
    if not action or "&" in action or "=" in action:
        raise PostbackError(f"bad action {action!r}")
    if "v" in params or "a" in params:
        raise PostbackError("parameters v and a are the codec's own (version, action)")
    data = urlencode([("v", VERSION), ("a", action), *((k, str(v)) for k, v in params.items() if v is not None)])
    if len(data) > MAX_LEN:
        raise PostbackError(f"postback data over {MAX_LEN} chars")
    return data


def decode(data: str) -> Postback:
    """Parse postback data; raises PostbackError for anything we did not produce."""
    if not data or len(data) > MAX_LEN:
        raise PostbackError("empty or oversized")
    pairs = parse_qsl(data, keep_blank_values=True, strict_parsing=False)
    params = dict(pairs)
    version = params.pop("v", None)
    action = params.pop("a", None)
    if not version or not action:
        raise PostbackError("missing v or a")
    return Postback(action=action, params=params, version=version)
