#!/usr/bin/env python3
"""A fake LINE Messaging API for benchmarks: fast, answers after a set latency, records what arrived.

    .venv/bin/python bench/fake_line.py --port 9000 [--latency-ms 100]
    .venv/bin/python bench/fake_line.py --capacity        # how many requests/s it answers on its own

Not the project's emulator (emulator/ validates every body against LINE's OpenAPI file and keeps chat
state, which makes it the slowest part of an end-to-end bench). This one only does what a bench needs:

- POST /v2/bot/message/reply answers 200 {"sentMessages": [...]} (the SDK requires the field), or 400
  "Invalid reply token" when the token was already used, as LINE does;
- POST /v2/bot/message/push and /multicast answer 200, or 409 when the X-Line-Retry-Key was already
  accepted (with x-line-accepted-request-id, as LINE does);
- any other /v2/ call answers 200 {} (a profile gets a userId and a displayName);
- every call waits `latency_ms` first, without holding anything (asyncio timer), and is recorded as
  (arrival time on time.monotonic(), kind, reply token or recipient, retry key, status). CLOCK_MONOTONIC
  is system-wide on Linux, so the sender of the webhook events can subtract its own send times.

Control: GET /_fake/records, GET /_fake/stats (answers so far and this process's CPU seconds),
POST /_fake/reset, POST /_fake/config {"latency_ms": N}.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

OK = b"200 OK"
STATUS = {200: b"200 OK", 400: b"400 Bad Request", 404: b"404 Not Found", 409: b"409 Conflict"}


class State:
    def __init__(self, latency_ms: float) -> None:
        self.latency_s = latency_ms / 1000
        self.reset()

    def reset(self) -> None:
        self.records: list[tuple] = []  # (t, kind, token_or_to, retry_key, status)
        self.tokens: set[str] = set()
        self.keys: set[str] = set()
        self.served = 0
        self.seq = 0


def _sent(n: int, st: State) -> bytes:
    st.seq += 1
    return json.dumps({"sentMessages": [{"id": f"{st.seq}{i:02d}", "quoteToken": f"q{st.seq}"}
                                        for i in range(max(1, n))]}).encode()


def handle(st: State, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, dict]:
    """(status, body, extra headers) for one request; records LINE calls."""
    if path.startswith("/_fake/"):
        if path == "/_fake/records":
            return 200, json.dumps(st.records).encode(), {}
        if path == "/_fake/stats":
            return 200, json.dumps({"answers": sum(1 for r in st.records if r[4] == 200),
                                    "served": st.served, "cpu_s": time.process_time(), "pid": os.getpid(),
                                    "latency_ms": st.latency_s * 1000}).encode(), {}
        if path == "/_fake/reset":
            st.reset()
            return 200, b"{}", {}
        if path == "/_fake/config":
            st.latency_s = float(json.loads(body or b"{}").get("latency_ms", st.latency_s * 1000)) / 1000
            return 200, b"{}", {}
        return 404, b"{}", {}
    st.served += 1
    now = time.monotonic()
    if method == "POST" and path == "/v2/bot/message/reply":
        req = json.loads(body)
        token = req.get("replyToken", "")
        if token in st.tokens:
            st.records.append((now, "reply", token, None, 400))
            return 400, b'{"message":"Invalid reply token"}', {}
        st.tokens.add(token)
        st.records.append((now, "reply", token, None, 200))
        return 200, _sent(len(req.get("messages") or ()), st), {}
    if method == "POST" and path in ("/v2/bot/message/push", "/v2/bot/message/multicast"):
        req = json.loads(body)
        kind = path.rsplit("/", 1)[1]
        key = headers.get("x-line-retry-key")
        to = req.get("to")
        if key and key in st.keys:
            st.records.append((now, kind, to, key, 409))
            return 409, b'{"message":"The retry key is already accepted"}', {"x-line-accepted-request-id": key}
        if key:
            st.keys.add(key)
        st.records.append((now, kind, to, key, 200))
        return 200, (_sent(len(req.get("messages") or ()), st) if kind == "push" else b"{}"), {}
    if method == "GET" and path.startswith("/v2/bot/profile/"):
        uid = path.rsplit("/", 1)[1]
        return 200, json.dumps({"userId": uid, "displayName": "ベンチ"}).encode(), {}
    return 200, b"{}", {}


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, Content-Length bodies only (what urllib3 and our load client send)."""

    def __init__(self, st: State) -> None:
        self.st, self.buf, self.transport = st, b"", None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            method, path = head[0].split(" ")[:2]
            status, out, extra = handle(self.st, method, path.split("?")[0], headers, body)
            close = headers.get("connection", "").lower() == "close"
            resp = (b"HTTP/1.1 " + STATUS.get(status, OK) + b"\r\nContent-Type: application/json\r\n"
                    + b"".join(f"{k}: {v}\r\n".encode() for k, v in extra.items())
                    + b"x-line-request-id: fake\r\nContent-Length: " + str(len(out)).encode()
                    + (b"\r\nConnection: close" if close else b"") + b"\r\n\r\n" + out)
            if self.st.latency_s > 0 and not path.startswith("/_fake/"):
                # One timer per request; the connection reads on (clients here never pipeline, and a
                # fixed delay keeps the answers of one connection in order anyway).
                self.loop.call_later(self.st.latency_s, self._write, resp, close)
            else:
                self._write(resp, close)

    def _write(self, resp: bytes, close: bool) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(resp)
            if close:
                self.transport.close()

    def connection_lost(self, exc) -> None:
        self.transport = None


async def serve(port: int, latency_ms: float, ready=None) -> None:
    st = State(latency_ms)
    server = await asyncio.get_running_loop().create_server(lambda: HttpProtocol(st), "127.0.0.1", port,
                                                           backlog=4096, reuse_address=True)
    if ready is not None:
        ready()
    async with server:
        await server.serve_forever()


async def measure_capacity(port: int, seconds: float = 3.0, concurrency: int = 32) -> dict:
    """Reply calls from `concurrency` keep-alive connections for `seconds`: answers/s seen by this
    (Python, so itself CPU-bound) client, and the server's own CPU per answer from /_fake/stats."""
    from bench._common import Connection, http_json

    base = f"http://127.0.0.1:{port}"
    before = http_json(base + "/_fake/stats")
    done = 0
    stop = time.monotonic() + seconds

    async def one(c: int) -> None:
        nonlocal done
        conn = await Connection.open(port)
        i = 0
        while time.monotonic() < stop:
            i += 1
            body = json.dumps({"replyToken": f"cap{c}-{i}", "messages": [{"type": "text", "text": "x"}]}).encode()
            await conn.post("/v2/bot/message/reply", body, {"Content-Type": "application/json"})
            done += 1
        conn.close()

    t0 = time.monotonic()
    await asyncio.gather(*(one(c) for c in range(concurrency)))
    wall = time.monotonic() - t0
    after = http_json(base + "/_fake/stats")
    http_json(base + "/_fake/reset", {})
    cpu_per = (after["cpu_s"] - before["cpu_s"]) / max(1, done)
    return {"client_rps": done / wall, "server_cpu_us": cpu_per * 1e6,
            "server_ceiling_rps": 1 / cpu_per if cpu_per else float("inf")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--capacity", action="store_true", help="start on a free port, measure, print, exit")
    args = ap.parse_args()
    if not args.capacity:
        asyncio.run(serve(args.port, args.latency_ms))
        return
    import subprocess
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench._common import free_port, wait_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--port", str(port)])
    try:
        wait_port(port)
        r = asyncio.run(measure_capacity(port))
        print(f"fake LINE: {r['client_rps']:.0f} answers/s to a 32-connection Python client; "
              f"{r['server_cpu_us']:.0f} µs of its CPU per answer (one core: ~{r['server_ceiling_rps']:.0f}/s)")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
