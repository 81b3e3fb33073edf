"""POST /callback through real HTTP: signatures, bad bodies, limits, redelivery, ordering, speed."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from models.outbox import OutboxMessage
from models.webhook import WebhookEvent
from tests.helpers import leave_buttons, post, post_events, sign, text_event


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


def _chunked(bot, body: bytes, signature: str, frames: bytes | None = None) -> int:
    """POST with Transfer-Encoding: chunked, framed by hand; the client half-closes so the server sees the end."""
    import re
    import socket
    from urllib.parse import urlsplit

    if frames is None:
        frames = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000])
                          for i in range(0, len(body), 1000)) + b"0\r\n\r\n"
    parts = urlsplit(bot.url)
    head = (b"POST /callback HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"X-Line-Signature: " + signature.encode() + b"\r\nConnection: close\r\n\r\n")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(head + frames)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(re.match(rb"HTTP/1\.[01] (\d{3})", data).group(1))


def test_chunked_bodies_are_read_whole_and_broken_framing_gets_400(bot, emulator, user_id):
    body = json.dumps({"destination": "U", "events": [text_event(user_id, "ヘルプ")]}, ensure_ascii=False).encode()
    assert _chunked(bot, body, sign(body)) == 200
    big = json.dumps({"destination": "U", "events": [text_event(user_id, "あ" * 400_000)]}, ensure_ascii=False).encode()
    assert _chunked(bot, big, sign(big)) == 413  # was cut at 1 MiB and refused as a bad signature
    for frames in (b"zz\r\n" + body + b"\r\n0\r\n\r\n",                       # size is not hex
                   b"%x\r\n" % (len(body) + 10) + body + b"\r\n0\r\n\r\n",   # cut off: fewer bytes than announced
                   b"%x\r\n" % len(body) + body + b"XX0\r\n\r\n"):           # no CRLF after the data
        assert _chunked(bot, body, sign(body), frames) == 400, frames[:20]
    bot.settle()
    assert len(emulator.sent(user=user_id)) == 1
    assert _count(bot.rt, WebhookEvent) == 1


def test_envelope_problems_get_400_and_store_nothing(bot, user_id):
    ev = text_event(user_id, "ヘルプ")
    raw = json.dumps({"destination": "U", "events": [ev]})
    bodies = [
        json.dumps({"destination": "U", "events": {"0": ev}}),                          # events an object
        json.dumps({"destination": 1, "events": [ev]}),                                 # destination a number
        raw.replace(f'"timestamp": {ev["timestamp"]}', '"timestamp": NaN'),            # not JSON numbers
        raw.replace(f'"timestamp": {ev["timestamp"]}', '"timestamp": 1e400'),
        raw.replace(f'"{ev["webhookEventId"]}"', '"\\ud800"'),                          # an id with a lone surrogate
        raw.replace(f'"{ev["webhookEventId"]}"', '"ID\\u0000"'),                         # ... or NUL
        raw.replace('"mode": "active"', '"mode": ' + "[" * 100 + "]" * 100),             # nested deeper than LINE nests
        raw.replace('"mode": "active"', '"mode": ' + "[" * 50_000 + "]" * 50_000),       # deeper than Python recurses
    ]
    for body in bodies:
        data = body.encode()
        assert post(bot.url + "/callback", data, {"X-Line-Signature": sign(data)})[0] == 400, body[:200]
    assert _count(bot.rt, WebhookEvent) == 0


def test_events_in_a_shape_we_do_not_know_are_stored_skipped_and_the_rest_answered(bot, emulator, user_id, caplog):
    import logging

    from models.webhook import DONE, SKIPPED

    caplog.set_level(logging.INFO)
    now = int(time.time() * 1000)
    good = text_event(user_id, "ヘルプ", event_id="GOOD", ts_ms=now)
    future = {**text_event(user_id, "未来の秘密", event_id="FUTURE", ts_ms=now + 1), "type": "hologram"}
    number = text_event(user_id, "x", event_id="NUMBER", ts_ms=now + 2)
    number["message"]["text"] = 12345
    stringly = {**text_event(user_id, "文字の秘密", event_id="STRINGLY", ts_ms=now + 3), "source": user_id}
    late = {**text_event(user_id, "時刻の秘密", event_id="LATE"), "timestamp": str(now)}
    assert post_events(bot.url, [good, future, number, stringly, late]) == 200
    bot.settle()
    with bot.rt.sessions() as db:
        rows = {r.event_id: r for r in db.scalars(select(WebhookEvent))}
    assert rows["GOOD"].status == DONE
    for eid, reason in (("FUTURE", "unknown event type"), ("NUMBER", "message.text is not a string"),
                        ("STRINGLY", "source is not an object"), ("LATE", "timestamp is not a time")):
        assert (rows[eid].status, rows[eid].body, rows[eid].attempts) == (SKIPPED, None, 0), eid
        assert rows[eid].error.startswith("skipped: " + reason), rows[eid].error
    assert len(emulator.sent(user=user_id)) == 1  # the good one, answered once
    assert "stored but skipped" in caplog.text
    assert user_id not in caplog.text and "秘密" not in caplog.text and "hologram" not in caplog.text


def test_lone_surrogates_and_nul_in_a_residents_text_are_repaired_and_answered(bot, emulator, user_id, monkeypatch):
    """PostgreSQL's JSON and text types refuse them (a 500 there); the handlers get U+FFFD instead."""
    import handlers.router as router

    real, seen = router.handle_event, []

    def spy(rt, db, body):
        seen.append(body["message"]["text"])
        return real(rt, db, body)

    monkeypatch.setattr(router, "handle_event", spy)
    now = int(time.time() * 1000)
    events = [text_event(user_id, t, ts_ms=now + i) for i, t in enumerate(("ヘルプ\ud800", "a\udfffb", "x\u0000y"))]
    body = json.dumps({"destination": "U", "events": events}).encode()  # the odd characters as JSON escapes
    assert post(bot.url + "/callback", body, {"X-Line-Signature": sign(body)})[0] == 200
    bot.settle()
    assert seen == ["ヘルプ\ufffd", "a\ufffdb", "x\ufffdy"]
    assert len(emulator.sent(user=user_id)) == 3


def test_a_skipped_event_is_logged_once_by_a_hash_keeps_nothing_personal_and_is_unlinked_on_leaving(
        bot, emulator, user_id, caplog):
    import logging

    from bot.logsafe import user_key
    from models.webhook import SKIPPED

    caplog.set_level(logging.INFO, logger="kyodo.webhook")
    odd_id = "taro.yamada@example.com"  # any printable ASCII up to 64 characters passes as an id
    ev = {**text_event(user_id, "秘密の相談", event_id=odd_id), "type": "yamada-taro"}
    for _ in range(3):  # the first delivery and two redeliveries of the same id
        assert post_events(bot.url, [ev]) == 200
    skipped = [r for r in caplog.records if "stored but skipped" in r.getMessage()]
    assert "taro" not in caplog.text and "yamada" not in caplog.text and "秘密" not in caplog.text
    assert len(skipped) == 1, [r.getMessage() for r in skipped]
    from bot.logsafe import event_ref

    assert event_ref(odd_id) in skipped[0].getMessage()  # a keyed hash: findable by whoever holds the key
    with bot.rt.sessions() as db:
        row = db.scalars(select(WebhookEvent).where(WebhookEvent.event_id == odd_id)).one()
        assert (row.status, row.body, row.event_type) == (SKIPPED, None, "?")
        assert "yamada" not in (row.error or "") and row.user_key == user_key(user_id)
    # Leaving deletes the link from the skipped row to the resident too.
    yes = leave_buttons(bot, emulator, user_id)[0]
    emulator.send_postback(user_id, yes["data"])
    bot.settle()
    assert "削除しました" in emulator.messages_for(user_id)[-1]["text"]
    with bot.rt.sessions() as db:
        assert db.scalar(select(WebhookEvent.user_key).where(WebhookEvent.event_id == odd_id)) == "deleted"
