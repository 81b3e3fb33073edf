"""This month's quota read from the emulator through the real line-bot-sdk client: figures, the 60 s cache,
and LINE answering 500 (an error text, no exception, few attempts, recovery)."""
from __future__ import annotations

import pytest

from bot import quota
from bot.runtime import build_runtime
from tests.conftest import make_config


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t


@pytest.fixture
def rt(database_url, emulator):
    emulator.reset()
    runtime = build_runtime(make_config(database_url, emulator.base_url))
    quota.forget()
    yield runtime
    quota.forget()
    runtime.close()


@pytest.fixture
def clock(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(quota, "time", fake)
    return fake


def quota_calls(emulator) -> int:
    return sum(1 for r in emulator.requests if "/v2/bot/message/quota" in r.get("path", ""))


def test_limit_and_usage_come_from_line_and_are_cached_for_a_minute(rt, emulator, clock, user_id, monkeypatch):
    monkeypatch.setattr(emulator, "quota", 1200)
    info = quota.month_quota(rt)
    assert info == quota.QuotaInfo(limit=1200, used=0, error=None) and info.remaining == 1200
    rt.adapter.multicast([user_id, user_id[:-1] + "0", user_id[:-1] + "1"], [{"type": "text", "text": "お知らせ"}],
                         retry_key="8d6f1e0c-5d2a-4c52-9b9e-1f2a3b4c5d6e")
    calls = quota_calls(emulator)
    clock.t += quota.CACHE_S - 1
    assert quota.month_quota(rt).used == 0  # cached: LINE not asked again
    assert quota_calls(emulator) == calls
    clock.t += 2
    fresh = quota.month_quota(rt)
    assert (fresh.limit, fresh.used, fresh.remaining, fresh.error) == (1200, 3, 1197, None)
    assert quota_calls(emulator) == calls + 2  # quota and consumption


def test_line_answering_500_gives_an_error_text_not_an_exception(rt, emulator, clock):
    emulator.inject("quota", "500", count=100)
    info = quota.month_quota(rt)
    assert info.limit is None and info.used is None and info.remaining is None
    assert info.error == "LINEから今月の配信数を取得できませんでした。しばらくしてから画面を開き直してください。"
    assert quota_calls(emulator) == quota.ATTEMPTS  # a page does not wait for the full retry budget
    emulator.reset()  # LINE is back
    clock.t += quota.ERROR_CACHE_S - 1
    assert quota.month_quota(rt).error is not None  # the failure is remembered briefly
    clock.t += 2
    assert quota.month_quota(rt) == quota.QuotaInfo(limit=emulator.quota, used=0, error=None)


def test_an_unreachable_line_is_an_error_text_too(database_url, clock):
    runtime = build_runtime(make_config(database_url, "http://127.0.0.1:9"))  # nothing listens there
    try:
        info = quota.month_quota(runtime)
        assert info.error and info.limit is None
    finally:
        quota.forget()
        runtime.close()
