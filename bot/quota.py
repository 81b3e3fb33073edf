"""This month's LINE message quota, for the announcement form: how many pushes the plan allows and how
many are used (GET /v2/bot/message/quota and /quota/consumption, through the one adapter).

Cached per runtime for CACHE_S (the form is opened often, the figures move slowly; a failure is
remembered for less, so the page recovers soon after LINE does). `month_quota` never raises: when LINE
cannot be asked, `error` says so in Japanese and the figures are None.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.logsafe import describe_exception

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("kyodo.quota")

CACHE_S = 60.0
ERROR_CACHE_S = 10.0
ATTEMPTS = 2  # a page waits for this, not for the adapter's full retry budget


@dataclass(frozen=True)
class QuotaInfo:
    limit: int | None  # None: no monthly limit (LINE's "none"), or unknown when `error` is set
    used: int | None
    error: str | None = None

    @property
    def remaining(self) -> int | None:
        if self.limit is None or self.used is None:
            return None
        return max(0, self.limit - self.used)


_cache: dict[int, tuple[float, QuotaInfo, object]] = {}  # id(rt) -> (until, info, rt)
_lock = threading.Lock()


def _ask(rt: "Runtime") -> QuotaInfo:
    quota = rt.adapter.get_quota(max_attempts=ATTEMPTS)
    used = rt.adapter.get_quota_consumption(max_attempts=ATTEMPTS)
    limit = quota.get("value") if quota.get("type") == "limited" else None
    total = used.get("totalUsage", used.get("total_usage"))
    return QuotaInfo(limit=int(limit) if limit is not None else None, used=int(total) if total is not None else None)


def month_quota(rt: "Runtime") -> QuotaInfo:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(id(rt))
        if hit is not None and hit[2] is rt and hit[0] > now:
            return hit[1]
    try:
        info = _ask(rt)
        ttl = CACHE_S
    except Exception as e:  # noqa: BLE001 - the form must open whatever LINE does
        log.warning("quota: LINE could not be asked: %s", describe_exception(e))
        info = QuotaInfo(None, None, "LINEから今月の配信数を取得できませんでした。しばらくしてから画面を開き直してください。")
        ttl = ERROR_CACHE_S
    with _lock:
        _cache[id(rt)] = (time.monotonic() + ttl, info, rt)
    return info


def forget(rt: "Runtime | None" = None) -> None:
    """Drop the cached figures (tests; after a big send an operator may want fresh ones)."""
    with _lock:
        if rt is None:
            _cache.clear()
        else:
            _cache.pop(id(rt), None)
