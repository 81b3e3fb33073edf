"""POST /callback through real HTTP: signatures, bad bodies, limits, redelivery, ordering, speed."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from models.outbox import OutboxMessage
from models.webhook import WebhookEvent
from tests.helpers import post, post_events, sign, text_event


def _count(rt, model, *where):
    with rt.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def test_missing_and_forged_signature_are_refused_and_nothing_is_stored(bot, user_id):
    body = json.dumps({"destination": "U", "events": [text_event(user_id, "ヘルプ")]}).encode()
    assert post(bot.url + "/callback", body)[0] == 400
    assert post(bot.url + "/callback", body, {"X-Line-Signature": sign(body, "wrong-secret")})[0] == 400
    assert post(bot.url + "/callback", body, {"X-Line-Signature": sign(body + b" ")})[0] == 400
    assert _count(bot.rt, WebhookEvent) == 0


def test_malformed_json_and_non_line_payloads_get_400(bot):
    for body in (b"{not json", b"[]", json.dumps({"events": "x"}).encode(), "\udcff".encode("utf-8", "surrogatepass"),
                 json.dumps({"destination": "U", "events": [{"type": "message"}]}).encode()):
        assert post(bot.url + "/callback", body, {"X-Line-Signature": sign(body)})[0] == 400, body
    assert _count(bot.rt, WebhookEvent) == 0


def test_line_verification_request_with_no_events_is_ok(bot):
    body = json.dumps({"destination": "U", "events": []}).encode()
    assert post(bot.url + "/callback", body, {"X-Line-Signature": sign(body)})[0] == 200


def test_body_over_one_mebibyte_is_413(bot, user_id):
    ev = text_event(user_id, "あ" * 400_000)  # ~1.2 MB of UTF-8
    body = json.dumps({"destination": "U", "events": [ev]}, ensure_ascii=False).encode()
    assert len(body) > 1024 * 1024
    assert post(bot.url + "/callback", body, {"X-Line-Signature": sign(body)})[0] == 413
    assert _count(bot.rt, WebhookEvent) == 0


def test_redelivered_event_is_processed_once(bot, emulator, user_id):
    status, event = emulator.send_text(user_id, "ヘルプ")
    assert status == 200
    bot.settle()
    assert emulator.redeliver(event)[0] == 200
    assert post_events(bot.url, [event]) == 200  # and once more as a plain duplicate
    bot.settle()
    assert _count(bot.rt, WebhookEvent) == 1
    assert _count(bot.rt, OutboxMessage) == 1
    assert len(emulator.sent(user=user_id)) == 1


def test_oversized_text_gets_a_polite_answer(bot, emulator, user_id):
    emulator.send_text(user_id, "ながい" * 800)
    bot.settle()
    [record] = emulator.sent(user=user_id)
    assert "長すぎる" in record["messages"][0]["text"]


def test_emoji_and_odd_characters_never_get_silence(bot, emulator, user_id):
    for text in ("🙇‍♀️🙏🏻", "\u200b", "ｱｲｳ", "𠮷野家", "‮abc"):
        emulator.send_text(user_id, text)
    bot.settle()
    assert len(emulator.sent(user=user_id)) == 5


def test_ack_does_not_wait_for_slow_processing(bot, emulator, user_id, monkeypatch):
    import handlers.router as router

    real = router.handle_event

    def slow(rt, db, body):
        time.sleep(1.0)
        return real(rt, db, body)

    monkeypatch.setattr(router, "handle_event", slow)
    t0 = time.perf_counter()
    status, _ = emulator.send_text(user_id, "ヘルプ")
    elapsed = time.perf_counter() - t0
    assert status == 200
    assert elapsed < 0.5, f"ack took {elapsed:.3f}s"
    assert emulator.sent(user=user_id) == []
    bot.settle()
    assert len(emulator.sent(user=user_id)) == 1


def test_one_users_events_are_processed_in_order(bot, emulator, user_id, monkeypatch):
    import handlers.router as router

    real = router.handle_event
    seen: list[str] = []

    def slow_first(rt, db, body):
        txt = (body.get("message") or {}).get("text")
        if txt == "1":
            time.sleep(0.5)  # the second message must still wait for the first
        seen.append(txt)
        return real(rt, db, body)

    monkeypatch.setattr(router, "handle_event", slow_first)
    now = int(time.time() * 1000)
    # two deliveries, as LINE would make them, in quick succession
    assert post_events(bot.url, [text_event(user_id, "1", ts_ms=now)]) == 200
    assert post_events(bot.url, [text_event(user_id, "2", ts_ms=now + 1)]) == 200
    assert post_events(bot.url, [text_event(user_id, "3", ts_ms=now + 2)]) == 200
    bot.settle()
    assert seen == ["1", "2", "3"]


def test_healthz_reports_database(bot):
    import urllib.request

    with urllib.request.urlopen(bot.url + "/healthz") as resp:
        data = json.loads(resp.read())
    assert resp.status == 200 and data["database"] == "ok"
