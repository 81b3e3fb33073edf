"""The LINE emulator, driven the way the bot drives LINE: the real line-bot-sdk v3 client over HTTP on loopback,
and signed webhooks to a small receiver that checks signatures the way the bot must."""
from __future__ import annotations

import copy
import io
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from linebot.v3.messaging import (
    ApiClient, Configuration, MessagingApi, MessagingApiBlob, MulticastRequest, PushMessageRequest, QuickReply,
    QuickReplyItem, MessageAction, ReplyMessageRequest, RichMenuArea, RichMenuBounds, RichMenuRequest, RichMenuSize,
    PostbackAction, TextMessage)
from linebot.v3.messaging.exceptions import ApiException
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from emulator import LineEmulator, check_messages, new_user_id
from emulator.control import load_districts
from emulator.ids import new_ulid
from emulator.limits import check_rich_menu
from emulator.schema import load_spec_dict, webhook_openapi_path
from emulator.webhooks import sign

SECRET = "emulator-test-secret"
TOKEN = "emulator-test-token"


# -- fixtures ---------------------------------------------------------------------------------------------------
class _Quiet(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        pass


class Receiver:
    """A stand-in bot webhook: verifies X-Line-Signature, records bodies, optionally reacts to each event."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.bodies: list[dict] = []
        self.raw: list[bytes] = []
        self.rejected = 0
        self.on_event = None
        self.status = 200
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        if request.headers.get("X-Line-Signature") != sign(self.secret, body):
            self.rejected += 1
            return Response("bad signature", status=400)(environ, start_response)
        assert request.mimetype == "application/json"
        doc = json.loads(body)
        self.raw.append(body)
        self.bodies.append(doc)
        for event in doc["events"]:
            if self.on_event:
                self.on_event(event)
        return Response("OK", status=self.status)(environ, start_response)

    @property
    def events(self) -> list[dict]:
        return [e for b in self.bodies for e in b["events"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def server():
    emu = LineEmulator(channel_secret=SECRET, access_token=TOKEN).start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver(SECRET)
    yield r
    r.close()


@pytest.fixture
def emu(server, receiver):
    server.reset()
    server.reply_token_ttl = 60.0
    server.webhook_url = receiver.url
    receiver.bodies.clear()
    receiver.raw.clear()
    receiver.on_event = None
    receiver.status = 200
    receiver.rejected = 0
    return server


@pytest.fixture(scope="module")
def clients(server):
    client = ApiClient(Configuration(host=server.base_url, access_token=TOKEN))
    yield MessagingApi(client), MessagingApiBlob(client)
    client.close()


@pytest.fixture
def api(clients):
    return clients[0]


@pytest.fixture
def blob(clients):
    return clients[1]


def http(emu: LineEmulator, method: str, path: str, body=None, token: str | None = TOKEN, headers=None):
    """(status, headers, parsed JSON) for a raw call, without the SDK's client-side checks."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(emu.base_url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw, status, hdrs = resp.read(), resp.status, resp.headers
    except urllib.error.HTTPError as err:
        raw, status, hdrs = err.read(), err.code, err.headers
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return status, hdrs, parsed


def png(width: int, height: int, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (6, 199, 85)).save(buf, format=fmt)
    return buf.getvalue()


def error_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


# -- reply ------------------------------------------------------------------------------------------------------
def test_reply_through_the_sdk_uses_a_token_once(emu, receiver, api):
    user = new_user_id()
    status, event = emu.send_text(user, "こんにちは")
    assert status == 200 and receiver.events == [event]
    token = event["replyToken"]
    result = api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="ようこそ")]))
    assert len(result.sent_messages) == 1 and result.sent_messages[0].quote_token
    [record] = emu.sent(user=user)
    assert record["kind"] == "reply" and record["to"] == [user] and record["reply_token"] == token
    assert record["messages"] == [{"type": "text", "text": "ようこそ"}]
    assert record["seq"] == 1 and record["retry_key"] is None and len(record["request_id"]) == 32
    assert emu.messages_for(user) == [{"type": "text", "text": "ようこそ"}]

    with pytest.raises(ApiException) as exc:
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="二度目")]))
    assert exc.value.status == 400 and error_of(exc.value) == {"message": "Invalid reply token"}
    with pytest.raises(ApiException):
        api.reply_message(ReplyMessageRequest(reply_token="never-issued", messages=[TextMessage(text="x")]))
    assert len(emu.sent()) == 1
    assert [r["status"] for r in emu.requests] == [200, 400, 400]


def test_reply_token_expires(emu, api):
    emu.reply_token_ttl = 0.05
    _, event = emu.send_text(new_user_id(), "遅い返事")
    time.sleep(0.1)
    with pytest.raises(ApiException) as exc:
        api.reply_message(ReplyMessageRequest(reply_token=event["replyToken"], messages=[TextMessage(text="x")]))
    assert exc.value.status == 400 and emu.sent() == []


def test_bot_replying_inside_its_webhook_is_ordered_after_the_user(emu, receiver, api):
    def reply(event):
        api.reply_message(ReplyMessageRequest(reply_token=event["replyToken"],
                                              messages=[TextMessage(text="受け付けました")]))
    receiver.on_event = reply
    user = new_user_id()
    emu.send_text(user, "相談です")
    _, _, timeline = http(emu, "GET", f"/_emulator/timeline?user={user}")
    assert [i["from"] for i in timeline["items"]] == ["user", "bot"]
    assert timeline["items"][0]["display"] == "相談です" and timeline["items"][0]["status"] == 200


# -- push / multicast and the retry key ------------------------------------------------------------------------
def test_push_with_retry_key_is_accepted_once(emu, api):
    user, key = new_user_id(), str(uuid.uuid4())
    first = api.push_message_with_http_info(PushMessageRequest(to=user, messages=[TextMessage(text="お知らせ")]),
                                            x_line_retry_key=key)
    assert first.status_code == 200
    with pytest.raises(ApiException) as exc:
        api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="お知らせ")]), x_line_retry_key=key)
    assert exc.value.status == 409
    body = error_of(exc.value)
    assert body["message"] == "The retry key is already accepted"
    assert [m["id"] for m in body["sentMessages"]] == [m.id for m in first.data.sent_messages]
    assert exc.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    [record] = emu.sent(user=user)
    assert record["kind"] == "push" and record["retry_key"] == key


def test_push_rejects_a_retry_key_that_is_not_a_uuid(emu, api):
    with pytest.raises(ApiException) as exc:
        api.push_message(PushMessageRequest(to=new_user_id(), messages=[TextMessage(text="x")]),
                         x_line_retry_key="not-a-uuid")
    assert exc.value.status == 400 and "X-Line-Retry-Key" in error_of(exc.value)["message"]
    assert emu.sent() == []


def test_multicast_limits_and_retry_key(emu, api):
    users = [new_user_id() for _ in range(500)]
    key = str(uuid.uuid4())
    assert api.multicast(MulticastRequest(to=users, messages=[TextMessage(text="全員へ")]), x_line_retry_key=key) \
        is not None
    with pytest.raises(ApiException) as exc:
        api.multicast(MulticastRequest(to=users, messages=[TextMessage(text="全員へ")]), x_line_retry_key=key)
    assert exc.value.status == 409
    # The SDK's own models refuse 501 recipients, so build the request unchecked, as a buggy caller might.
    with pytest.raises(ApiException) as exc:
        api.multicast(MulticastRequest.construct(to=users + [new_user_id()], messages=[TextMessage(text="x")]))
    assert exc.value.status == 400
    assert error_of(exc.value)["details"] == [{"message": "Size must be between 1 and 500", "property": "to"}]
    assert len(emu.sent(kind="multicast")) == 1 and emu.messages_for(users[-1]) == [{"type": "text", "text": "全員へ"}]


def test_six_messages_are_refused(emu, api):
    with pytest.raises(ApiException) as exc:
        api.push_message(PushMessageRequest.construct(to=new_user_id(),
                                                      messages=[TextMessage(text=str(i)) for i in range(6)]))
    assert exc.value.status == 400
    assert error_of(exc.value)["details"][0]["property"] == "messages"


def test_text_length_limit_is_enforced_beyond_the_schema(emu, api):
    user = new_user_id()
    api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="あ" * 5000)]))
    with pytest.raises(ApiException) as exc:
        api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="あ" * 5001)]))
    assert exc.value.status == 400
    assert error_of(exc.value) == {"message": "The request body has 1 error(s)", "details": [
        {"message": "Length must be between 1 and 5000", "property": "messages[0].text"}]}
    assert len(emu.sent()) == 1


def test_quick_reply_with_14_items_is_refused(emu, api):
    items = [QuickReplyItem(action=MessageAction(label=f"選択{i}", text=f"選択{i}")) for i in range(14)]
    message = TextMessage(text="どれにしますか", quick_reply=QuickReply.construct(items=items))
    with pytest.raises(ApiException) as exc:
        api.push_message(PushMessageRequest(to=new_user_id(), messages=[message]))
    assert exc.value.status == 400
    assert error_of(exc.value)["details"][0]["property"] == "messages[0].quickReply.items"
    ok = TextMessage(text="どれにしますか", quick_reply=QuickReply(items=items[:13]))
    api.push_message(PushMessageRequest(to=new_user_id(), messages=[ok]))


def test_flex_without_layout_is_refused_over_http(emu):
    bad = {"type": "flex", "altText": "お知らせ", "contents": {"type": "bubble", "body": {
        "type": "box", "contents": [{"type": "text"}]}}}
    status, headers, body = http(emu, "POST", "/v2/bot/message/push", {"to": new_user_id(), "messages": [bad]})
    assert status == 400 and headers["x-line-request-id"]
    props = {d["property"] for d in body["details"]}
    assert props == {"messages[0].contents.body.layout", "messages[0].contents.body.contents[0].text"}


def test_broadcast_and_narrowcast_are_recorded(emu):
    a, b = new_user_id(), new_user_id()
    emu.send_follow(a)
    emu.send_follow(b)
    emu.send_unfollow(b)
    status, _, _ = http(emu, "POST", "/v2/bot/message/broadcast", {"messages": [{"type": "text", "text": "全体"}]})
    assert status == 200
    status, _, _ = http(emu, "POST", "/v2/bot/message/narrowcast", {"messages": [{"type": "text", "text": "一部"}]})
    assert status == 202
    assert [r["kind"] for r in emu.sent()] == ["broadcast", "narrowcast"]
    assert emu.sent(kind="broadcast")[0]["to"] == [a]  # a blocked user receives nothing
    assert emu.sent(kind="narrowcast")[0]["to"] == []


# -- the rest of the API ---------------------------------------------------------------------------------------
def test_profile_and_quota(emu, api):
    user = new_user_id()
    with pytest.raises(ApiException) as exc:
        api.get_profile(user)
    assert exc.value.status == 404
    emu.send_follow(user)
    profile = api.get_profile(user)
    assert profile.user_id == user and profile.display_name.startswith("デモユーザー") and profile.language == "ja"
    assert api.get_message_quota().value == 5000
    api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="1"), TextMessage(text="2")]))
    assert api.get_message_quota_consumption().total_usage == 2


def test_rich_menu_create_upload_and_set_default(emu, api, blob):
    user = new_user_id()
    menu = RichMenuRequest(
        size=RichMenuSize(width=2500, height=843), selected=True, name="main", chatBarText="メニュー",
        areas=[RichMenuArea(bounds=RichMenuBounds(x=0, y=0, width=1250, height=843),
                            action=PostbackAction(label="予定", data="v=1&a=plan", displayText="予定")),
               RichMenuArea(bounds=RichMenuBounds(x=1250, y=0, width=1250, height=843),
                            action=MessageAction(label="ヘルプ", text="ヘルプ"))])
    rid = api.create_rich_menu(menu).rich_menu_id
    assert rid.startswith("richmenu-")
    with pytest.raises(ApiException) as exc:  # no image yet
        api.set_default_rich_menu(rid)
    assert exc.value.status == 400
    with pytest.raises(ApiException) as exc:
        blob.set_rich_menu_image(rid, body=png(2500, 1686), _headers={"Content-Type": "image/png"})
    assert exc.value.status == 400 and "2500x843" in error_of(exc.value)["message"]
    blob.set_rich_menu_image(rid, body=png(2500, 843), _headers={"Content-Type": "image/png"})
    api.set_default_rich_menu(rid)
    assert api.get_default_rich_menu_id().rich_menu_id == rid
    assert [m.rich_menu_id for m in api.get_rich_menu_list().richmenus] == [rid]
    assert api.get_rich_menu(rid).chat_bar_text == "メニュー"
    assert blob.get_rich_menu_image(rid)[:8] == b"\x89PNG\r\n\x1a\n"
    api.link_rich_menu_id_to_user(user, rid)
    _, _, shown = http(emu, "GET", f"/_emulator/richmenu?user={user}")
    assert shown["richMenu"]["richMenuId"] == rid
    status, headers, _ = http(emu, "GET", shown["image"], token=None)
    assert status == 200 and headers["Content-Type"] == "image/png"
    api.delete_rich_menu(rid)
    with pytest.raises(ApiException):
        api.get_default_rich_menu_id()


def test_rich_menu_limits(emu):
    base = {"size": {"width": 2500, "height": 1686}, "selected": False, "name": "m", "chatBarText": "メニュー",
            "areas": [{"bounds": {"x": 0, "y": 0, "width": 2500, "height": 1686},
                       "action": {"type": "message", "label": "a", "text": "a"}}]}
    assert check_rich_menu(base) == []
    too_long = {**base, "chatBarText": "あ" * 15}
    status, _, body = http(emu, "POST", "/v2/bot/richmenu", too_long)
    assert status == 400 and body["details"][0]["property"] == "chatBarText"
    outside = copy.deepcopy(base)
    outside["areas"][0]["bounds"]["x"] = 10
    assert check_rich_menu(outside) == [("areas[0].bounds", "must be inside the rich menu")]
    assert check_rich_menu({**base, "areas": base["areas"] * 21})[0][0] == "areas"
    status, _, body = http(emu, "POST", "/v2/bot/richmenu", base)
    rid = body["richMenuId"]
    req = urllib.request.Request(f"{emu.base_url}/v2/bot/richmenu/{rid}/content", data=png(2500, 1686, "JPEG"),
                                 method="POST", headers={"Authorization": f"Bearer {TOKEN}",
                                                         "Content-Type": "image/png"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=5)
    assert exc.value.code == 400  # a JPEG labelled as PNG


def test_auth_unknown_paths_and_request_ids(emu):
    status, headers, body = http(emu, "GET", "/v2/bot/message/quota", token="wrong")
    assert status == 401 and body["message"].startswith("Authentication failed")
    assert len(headers["x-line-request-id"]) == 32
    status, _, body = http(emu, "GET", "/v2/bot/no/such/thing")
    assert status == 404 and body == {"message": "Not found"}
    assert http(emu, "GET", "/v2/bot/message/reply")[0] == 405
    assert http(emu, "GET", "/v2/bot/followers/ids")[0] == 501  # in LINE's spec, not emulated
    assert [r["status"] for r in emu.requests] == [401, 404, 405, 501]


# -- faults and rate limit -------------------------------------------------------------------------------------
def test_injected_429_with_retry_after_then_success(emu, api):
    emu.inject("push", "429", count=2, retry_after=1)
    user = new_user_id()
    for _ in range(2):
        with pytest.raises(ApiException) as exc:
            api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="x")]))
        assert exc.value.status == 429 and exc.value.headers["Retry-After"] == "1"
    api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="x")]))
    assert len(emu.sent()) == 1


def test_injected_500_affects_only_its_endpoint(emu, api):
    emu.inject("push", "500")
    assert api.get_message_quota().value == 5000
    with pytest.raises(ApiException) as exc:
        api.push_message(PushMessageRequest(to=new_user_id(), messages=[TextMessage(text="x")]))
    assert exc.value.status == 500 and emu.sent() == []


def test_hang_accepts_the_push_and_the_retry_gets_409(emu, api):
    emu.inject("push", "hang", hang_seconds=0.5)
    user, key = new_user_id(), str(uuid.uuid4())
    request = PushMessageRequest(to=user, messages=[TextMessage(text="一度だけ")])
    with pytest.raises(Exception) as exc:
        api.push_message(request, x_line_retry_key=key, _request_timeout=0.2)
    assert "timeout" in type(exc.value).__name__.lower() or "timed out" in str(exc.value).lower()
    with pytest.raises(ApiException) as exc:
        api.push_message(request, x_line_retry_key=key)
    assert exc.value.status == 409
    assert len(emu.sent(user=user)) == 1


def test_rate_limit(emu):
    emu.set_rate_limit(per_second=5)
    statuses = [http(emu, "GET", "/v2/bot/message/quota")[0] for _ in range(12)]
    assert statuses.count(429) >= 5 and statuses[0] == 200
    emu.set_rate_limit(None)
    assert http(emu, "GET", "/v2/bot/message/quota")[0] == 200


# -- webhooks --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def webhook_schema(server):
    """Validates a webhook body against CallbackRequest and, since LINE's discriminators carry no oneOf, also
    each event against the schema its `type` maps to (and a message against its message type)."""
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    spec = load_spec_dict(str(webhook_openapi_path(server.validator.path)))
    uri = "urn:line:webhook"
    registry = Registry().with_resource(uri, Resource.from_contents(spec, default_specification=DRAFT4))
    schemas = spec["components"]["schemas"]

    def validator(name):
        return OAS30Validator({"$ref": f"{uri}#/components/schemas/{name}"}, registry=registry)

    def mapped(base, kind):
        return schemas[base]["discriminator"]["mapping"][kind].rsplit("/", 1)[-1]

    def check(body):
        validator("CallbackRequest").validate(body)
        for event in body["events"]:
            validator(mapped("Event", event["type"])).validate(event)
            validator(mapped("Source", event["source"]["type"])).validate(event["source"])
            if event["type"] == "message":
                validator(mapped("MessageContent", event["message"]["type"])).validate(event["message"])
    return check


def test_every_generated_event_is_schema_valid_and_parses_with_the_sdk(emu, receiver, webhook_schema):
    from linebot.v3 import WebhookParser
    from linebot.v3.webhooks import FollowEvent, MessageEvent, PostbackEvent, UnfollowEvent

    user = new_user_id()
    emu.send_follow(user)
    emu.send_text(user, "こんにちは")
    emu.send_postback(user, "v=1&a=plan.pick", params={"datetime": "2026-12-01T10:00"})
    emu.send_location(user, 35.2564, 139.1550, title="小田原駅", address="神奈川県小田原市栄町")
    emu.send_sticker(user)
    emu.send_unfollow(user)
    emu.send_follow(user)
    _, last = emu.send_text(user, "おかえり")
    emu.redeliver(last)
    assert len(receiver.bodies) == 9 and receiver.rejected == 0
    parser = WebhookParser(SECRET)
    kinds = []
    for body, raw in zip(receiver.bodies, receiver.raw):
        webhook_schema(body)
        assert body["destination"] == emu.bot_user_id
        [event] = parser.parse(raw.decode("utf-8"), sign(SECRET, raw))
        kinds.append(type(event))
    assert kinds[:3] == [FollowEvent, MessageEvent, PostbackEvent] and kinds[5] == UnfollowEvent
    follow, text, postback, location, sticker, unfollow, refollow = receiver.events[:7]
    assert follow["follow"] == {"isUnblocked": False} and refollow["follow"] == {"isUnblocked": True}
    assert "replyToken" not in unfollow and all("replyToken" in e for e in (follow, text, postback, location))
    assert postback["postback"] == {"data": "v=1&a=plan.pick", "params": {"datetime": "2026-12-01T10:00"}}
    assert location["message"]["latitude"] == 35.2564 and location["message"]["title"] == "小田原駅"
    for e in receiver.events:
        assert e["mode"] == "active" and e["source"] == {"type": "user", "userId": user}
        assert re.fullmatch(r"[0-9A-Z]{26}", e["webhookEventId"])
        assert abs(e["timestamp"] - time.time() * 1000) < 60_000
    assert len({e["webhookEventId"] for e in receiver.events[:8]}) == 8


def test_redelivery_keeps_the_id_and_is_re_signed(emu, receiver, api):
    user = new_user_id()
    _, event = emu.send_text(user, "再送テスト")
    status, again = emu.redeliver(event)
    assert status == 200
    first, second = receiver.events
    assert second["webhookEventId"] == first["webhookEventId"] == again["webhookEventId"]
    assert first["deliveryContext"] == {"isRedelivery": False}
    assert second["deliveryContext"] == {"isRedelivery": True}
    assert event["deliveryContext"] == {"isRedelivery": False}  # the caller's copy is untouched
    status, _, body = http(emu, "POST", "/_emulator/redeliver", {"webhookEventId": event["webhookEventId"]})
    assert status == 200 and body["event"]["deliveryContext"]["isRedelivery"] is True
    assert len(receiver.events) == 3 and receiver.rejected == 0


def test_forged_signature_and_raw_body(emu, receiver):
    user = new_user_id()
    _, event = emu.send_text(user, "本物")
    assert emu.post_events([event], signature="Zm9yZ2Vk") == 400
    assert receiver.rejected == 1
    raw = json.dumps({"destination": emu.bot_user_id, "events": []}).encode()
    assert emu.post_events([], raw_body=raw) == 200  # LINE's "verify" call: an empty events array
    assert receiver.raw[-1] == raw


def test_webhook_errors_are_reported(emu, receiver):
    receiver.status = 500
    status, _ = emu.send_text(new_user_id(), "x")
    assert status == 500
    emu.webhook_url = None
    from emulator import WebhookError
    with pytest.raises(WebhookError):
        emu.send_text(new_user_id(), "x")


# -- control API and chat page ---------------------------------------------------------------------------------
def test_control_api(emu, receiver, api):
    user = new_user_id()
    status, _, body = http(emu, "POST", "/_emulator/send", {"user": user, "type": "text", "text": "やあ"}, token=None)
    assert status == 200 and body["status"] == 200 and body["event"]["message"]["text"] == "やあ"
    api.reply_message(ReplyMessageRequest(reply_token=body["event"]["replyToken"], messages=[TextMessage(text="1")]))
    api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="2")]))
    _, _, sent = http(emu, "GET", f"/_emulator/sent?user={user}", token=None)
    assert [r["messages"][0]["text"] for r in sent["records"]] == ["1", "2"] and sent["last_seq"] == 2
    _, _, later = http(emu, "GET", f"/_emulator/sent?user={user}&since=1", token=None)
    assert [r["seq"] for r in later["records"]] == [2]
    _, _, reqs = http(emu, "GET", "/_emulator/requests?limit=1", token=None)
    assert len(reqs["requests"]) == 1 and reqs["requests"][0]["path"] == "/v2/bot/message/push"

    for payload in ({"type": "postback", "data": "v=1&a=x", "params": {"date": "2026-12-01"}},
                    {"type": "location", "latitude": 35.25, "longitude": 139.15, "title": "城山"},
                    {"type": "follow"}, {"type": "unfollow"}):
        status, _, body = http(emu, "POST", "/_emulator/send", {"user": user, **payload}, token=None)
        assert status == 200 and body["event"]["type"] == payload["type"].replace("location", "message"), body
    assert http(emu, "POST", "/_emulator/send", {"user": "nobody", "type": "text"}, token=None)[0] == 400

    assert http(emu, "POST", "/_emulator/faults", {"endpoint": "push", "mode": "500", "count": 1}, token=None)[0] == 200
    assert http(emu, "POST", "/v2/bot/message/push", {"to": user, "messages": [{"type": "text", "text": "x"}]})[0] \
        == 500
    assert http(emu, "POST", "/_emulator/faults", {"endpoint": "nowhere", "mode": "500"}, token=None)[0] == 400
    http(emu, "POST", "/_emulator/rate_limit", {"per_second": 1}, token=None)
    assert [http(emu, "GET", "/v2/bot/message/quota")[0] for _ in range(3)][-1] == 429
    http(emu, "POST", "/_emulator/rate_limit", {"per_second": None}, token=None)
    assert http(emu, "GET", "/v2/bot/message/quota")[0] == 200

    assert http(emu, "POST", "/_emulator/reset", {}, token=None)[0] == 200
    assert emu.sent() == [] and emu.requests == []
    _, _, districts = http(emu, "GET", "/_emulator/districts", token=None)
    assert isinstance(districts, list)


def test_districts_file_is_read_defensively(tmp_path):
    path = tmp_path / "districts.yaml"
    path.write_text("districts:\n  - {name: 緑, kana: みどり, center: {lat: 35.25, lon: 139.15}}\n"
                    "  - {name: 未定, kana: みてい, center: null}\n  - nonsense\n", encoding="utf-8")
    assert load_districts(path) == [{"name": "緑", "kana": "みどり", "lat": 35.25, "lon": 139.15},
                                    {"name": "未定", "kana": "みてい", "lat": None, "lon": None}]
    assert load_districts(tmp_path / "missing.yaml") == []


def test_chat_page_is_served_self_contained(emu):
    with urllib.request.urlopen(emu.base_url + "/", timeout=5) as resp:
        html = resp.read().decode("utf-8")
        assert resp.headers["Content-Type"].startswith("text/html")
    assert html.lower().startswith("<!doctype html>")
    for label in ("メッセージを入力", "送信", "位置情報を送る", "ブロックする", "新しいユーザー"):
        assert label in html
    assert "/_emulator/timeline" in html and "function renderFlexContainer" in html and ".fx-bubble" in html
    assert 'src="http' not in html and 'href="http' not in html  # works offline: no CDN


# -- the limits module, directly -------------------------------------------------------------------------------
def _flex(body):
    return [{"type": "flex", "altText": "お知らせ", "contents": {"type": "bubble", "body": body}}]


def test_check_messages_accepts_realistic_messages():
    bubble = {"type": "box", "layout": "vertical", "spacing": "md", "contents": [
        {"type": "text", "text": "清掃ボランティア", "weight": "bold", "size": "lg", "wrap": True},
        {"type": "separator", "margin": "md", "color": "#DDDDDD"},
        {"type": "box", "layout": "baseline", "contents": [
            {"type": "icon", "url": "https://example.com/i.png"}, {"type": "text", "text": "12/1 10:00"}]},
        {"type": "button", "style": "primary",
         "action": {"type": "postback", "label": "参加する", "data": "v=1&a=vol.join&id=3", "displayText": "参加"}},
        {"type": "button", "action": {"type": "datetimepicker", "label": "日時", "data": "v=1&a=d", "mode": "datetime",
                                      "initial": "2026-12-01T10:00", "min": "2026-11-01t00:00"}},
        {"type": "button", "action": {"type": "uri", "label": "電話", "uri": "tel:0465330000"}}]}
    quick = {"items": [{"type": "action", "action": {"type": "message", "label": "はい", "text": "はい"}}]}
    template = {"type": "template", "altText": "確認", "template": {"type": "confirm", "text": "よろしいですか",
                "actions": [{"type": "message", "label": "はい", "text": "はい"},
                            {"type": "postback", "label": "いいえ", "data": "no"}]}}
    carousel = {"type": "flex", "altText": "一覧", "contents": {"type": "carousel", "contents": [
        {"type": "bubble", "body": bubble}] * 12}}
    assert check_messages(_flex(bubble) + [{"type": "text", "text": "😀" * 2500, "quickReply": quick},
                                           template, carousel]) == []


@pytest.mark.parametrize("messages, prop", [
    ([{"type": "text", "text": ""}], "messages[0].text"),
    ([{"type": "text", "text": "😀" * 2501}], "messages[0].text"),  # LINE counts UTF-16 units
    (_flex({"type": "box", "contents": []}), "messages[0].contents.body.layout"),
    (_flex({"type": "box", "layout": "vertical"}), "messages[0].contents.body.contents"),
    (_flex({"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": ""}]}),
     "messages[0].contents.body.contents[0].text"),
    (_flex({"type": "box", "layout": "vertical", "contents": [{"type": "button"}]}),
     "messages[0].contents.body.contents[0].action"),
    (_flex({"type": "box", "layout": "vertical", "contents": [
        {"type": "button", "action": {"type": "message", "label": "あ" * 21, "text": "x"}}]}),
     "messages[0].contents.body.contents[0].action.label"),
    (_flex({"type": "box", "layout": "baseline", "contents": [{"type": "button", "action": {
        "type": "message", "label": "x", "text": "x"}}]}), "messages[0].contents.body.contents[0].type"),
    (_flex({"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "x", "color": "red"}]}),
     "messages[0].contents.body.contents[0].color"),
    ([{"type": "flex", "altText": "x", "contents": {"type": "carousel", "contents": [
        {"type": "bubble"}] * 13}}], "messages[0].contents.contents"),
    (_flex({"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "あ" * 4000}] * 3}),
     "messages[0].contents"),
    ([{"type": "template", "altText": "あ" * 1501, "template": {"type": "buttons", "text": "x", "actions": [
        {"type": "message", "label": "x", "text": "x"}]}}], "messages[0].altText"),
    ([{"type": "template", "altText": "x", "template": {"type": "buttons", "text": "x", "actions": [
        {"type": "postback", "label": "x", "data": "d" * 301}]}}], "messages[0].template.actions[0].data"),
    ([{"type": "template", "altText": "x", "template": {"type": "buttons", "text": "x", "actions": [
        {"type": "postback", "label": "x", "data": "d", "displayText": "あ" * 301}]}}],
     "messages[0].template.actions[0].displayText"),
    ([{"type": "template", "altText": "x", "template": {"type": "buttons", "text": "x", "actions": [
        {"type": "uri", "label": "x", "uri": "ftp://example.com"}]}}], "messages[0].template.actions[0].uri"),
    ([{"type": "template", "altText": "x", "template": {"type": "confirm", "text": "x", "actions": [
        {"type": "message", "label": "x", "text": "x"}]}}], "messages[0].template.actions"),
    ([{"type": "text", "text": "x", "quickReply": {"items": [
        {"type": "action", "action": {"type": "message", "label": "x", "text": "x"}}] * 14}}],
     "messages[0].quickReply.items"),
    ([{"type": "text", "text": "x", "quickReply": {"items": [
        {"type": "action", "action": {"type": "message", "label": "あ" * 21, "text": "x"}}]}}],
     "messages[0].quickReply.items[0].action.label"),
    ([{"type": "text", "text": "x", "quickReply": {"items": [{"type": "action", "action": {
        "type": "datetimepicker", "label": "日付", "data": "d", "mode": "date", "initial": "2026/12/01"}}]}}],
     "messages[0].quickReply.items[0].action.initial"),
    ([{"type": "text", "text": str(i)} for i in range(6)], "messages"),
])
def test_check_messages_rejects_what_line_rejects(messages, prop):
    assert prop in [p for p, _ in check_messages(messages)]


def test_ids_look_like_lines():
    assert re.fullmatch(r"U[0-9a-f]{32}", new_user_id())
    ulid = new_ulid()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", ulid) and new_ulid() != ulid
