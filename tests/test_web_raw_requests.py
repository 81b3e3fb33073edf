"""Raw requests the web server refuses before the app sees them, against the Procfile's own `web:` process.

A malformed request line, a URL or head too long, a bad Host: each must be answered with the site's small
Japanese page and its security headers (never gunicorn's English one or an empty body), and cost at most
one log line, which never quotes the request (an e-mail address in a query string). The app's own log
lines carry time, level and logger name like the worker's.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from bench.slow_clients import SECRET, free_port, procfile_web_command, start_web, stop_web, wait_ready
from bot.error_pages import texts
from bot.security_headers import HEADERS

ROOT = Path(__file__).resolve().parent.parent


class WebProcess:
    """The Procfile's web line on a free port, its stderr collected as it is written."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.proc = start_web(procfile_web_command(), self.port, database_url)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_ready(self.port, self.proc)

    def _read(self) -> None:
        for raw in iter(self.proc.stderr.readline, b""):
            self.lines.append(raw.decode(errors="replace"))

    def log_since(self, mark: int, settle: float = 0.5) -> list[str]:
        time.sleep(settle)  # the worker writes its line after the answer
        return self.lines[mark:]

    def stop(self) -> None:
        stop_web(self.proc)


@pytest.fixture(scope="module")
def web(database_url):
    w = WebProcess(database_url)
    try:
        yield w
    finally:
        w.stop()


def exchange(port: int, raw: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], str]:
    """Send raw bytes, read until the server closes; (status, headers with lower-case names, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(raw)
        except OSError:  # the server may answer and close before taking a large request whole
            pass
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except ConnectionResetError:
            pass
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    assert m, got[:300]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(m.group(1)), headers, body.decode("utf-8", errors="replace")


def assert_japanese_refusal(status: int, headers: dict[str, str], body: str, expected: int) -> None:
    assert status == expected, (status, body[:300])
    assert headers.get("content-type") == "text/html; charset=utf-8", headers
    assert headers.get("connection") == "close", headers
    for name, value in HEADERS.items():
        assert headers.get(name.lower()) == value, (name, headers)
    assert int(headers["content-length"]) == len(body.encode())
    assert '<html lang="ja"' in body and f'data-status="{status}"' in body and f"エラー番号 {status}" in body
    assert texts(status)[0] in body
    for english in ("Bad Request", "Invalid", "Request Line", "too large", "Too Long"):
        assert english not in body


LONG = b"GET /plan?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
REFUSED = {
    # gunicorn's parser: bytes a request line may not hold, and a line too long
    "raw non-UTF-8 byte": (b"GET /plan/\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "overlong UTF-8": (b"GET /plan/\xc0\xaf HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "raw surrogate": (b"GET /plan/\xed\xa0\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "space in the target": (b"GET /plan/a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "lower-case method": (b"get /plan HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "9 KB URL": (LONG, 414),
    # bot/gthread_buffered.py's own refusals, made before gunicorn's parser sees the request
    "70 KB URL": (b"GET /plan?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    "bare LF lines": (b"GET /plan HTTP/1.1\nHost: x\n\n", 400),
    "2 MiB announced": (b"POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n", 413),
}


@pytest.mark.parametrize("name", REFUSED)
def test_requests_refused_before_the_app_get_the_japanese_page_and_headers(web, name):
    raw, expected = REFUSED[name]
    assert_japanese_refusal(*exchange(web.port, raw), expected)


def test_refusals_made_on_a_timer_or_under_load_are_the_japanese_page_too():
    """408 (a head too slow) and 503 (memory cap) take 10 s or a flood to provoke: their bytes, checked here."""
    from bot.gthread_buffered import _REFUSALS

    for status in (408, 503):
        raw = _REFUSALS[status]
        head, _, body = raw.partition(b"\r\n\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in head.decode().split("\r\n")[1:])}
        assert_japanese_refusal(int(head[9:12]), headers, body.decode(), status)
    assert b"Retry-After: 5\r\n" in _REFUSALS[503]


def test_a_url_nginx_passes_is_not_refused_by_gunicorn():
    """docs/DEPLOY.md's nginx passes request lines up to one large header buffer; gunicorn takes at least that."""
    import runpy

    deploy = (ROOT / "docs" / "DEPLOY.md").read_text()
    m = re.search(r"large_client_header_buffers\s+\d+\s+(\d+)([km]?);", deploy)
    assert m, "docs/DEPLOY.md sets no large_client_header_buffers"
    nginx_line = int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2)]
    gunicorn_line = runpy.run_path(str(ROOT / "gunicorn.conf.py")).get("limit_request_line", 4094)
    assert gunicorn_line == 0 or gunicorn_line >= nginx_line - 2, (gunicorn_line, nginx_line)  # nginx counts the CRLF


def test_a_long_url_within_the_limit_reaches_the_app(web):
    status, _, body = exchange(web.port, b"GET /healthz?q=" + b"a" * 7000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200, body[:300]


def test_the_log_of_a_malformed_request_does_not_quote_it(web):
    mark = len(web.lines)
    raw = ("GET /plan?email=taro.yamada@example.com&name=山田太郎 HTTP/1.1\r\nHost: x\r\n\r\n").encode()
    answer = exchange(web.port, raw)
    lines = web.log_since(mark)
    text = "".join(lines)
    for personal in ("taro", "yamada", "example.com", "山田", "email=", "/plan"):
        assert personal not in text, text
    assert len(lines) == 1 and "refused with 400: InvalidRequestLine" in text, text
    assert_japanese_refusal(*answer, 400)


def test_a_host_with_a_label_over_63_characters_gets_the_site_400_and_one_log_line_at_most(web):
    mark = len(web.lines)
    status, headers, body = exchange(web.port, b"GET /plan HTTP/1.1\r\nHost: " + b"a" * 64 + b"\r\nConnection: close\r\n\r\n")
    lines = web.log_since(mark)
    assert len(lines) <= 1, "".join(lines)
    assert status == 400
    assert headers["content-type"] == "text/html; charset=utf-8"
    for name, value in HEADERS.items():
        assert headers.get(name.lower()) == value, (name, headers)
    assert '<html lang="ja"' in body and texts(400)[0] in body
    assert 'href="/"' in body  # the site's own layout, links and all: not the bare fallback


def test_the_apps_log_lines_have_time_level_and_logger_like_the_workers(web):
    body = b'{"destination":"U","events":[{"mode":' + b"[" * 100 + b"]" * 100 + b"}]}"
    sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    mark = len(web.lines)
    status, _, answer = exchange(web.port, (f"POST /callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                            f"X-Line-Signature: {sig}\r\nContent-Length: {len(body)}\r\n"
                                            "Connection: close\r\n\r\n").encode() + body)
    assert status == 400 and json.loads(answer)["error"]
    lines = [line for line in web.log_since(mark) if "nested too deeply" in line]
    assert len(lines) == 1, lines
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING kyodo\.webhook: webhook: body is nested too deeply",
                    lines[0]), lines[0]


def test_env_example_names_every_setting_the_config_reads():
    names = set(re.findall(r'env(?:\.get\(|\[)"([A-Z][A-Z0-9_]+)"', (ROOT / "bot" / "config.py").read_text()))
    assert "RATELIMIT_STORAGE_URI" in names
    example = (ROOT / ".env.example").read_text()
    missing = sorted(n for n in names if not re.search(rf"^#? ?{n}=", example, re.M))
    assert not missing, f".env.example does not mention {missing}"
