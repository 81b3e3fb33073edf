"""A gunicorn gthread worker that gives a thread only to a request that has fully arrived.

gunicorn's gthread worker hands every new connection to a thread, which then blocks reading the request:
300 connections that send nothing, or one byte every few seconds, held all 16 threads and LINE's webhook
went unanswered. This worker reads the request head and body in the worker's event loop (non-blocking,
one selector for every connection), with a deadline for each, and submits the connection to the thread
pool only once the whole request is buffered, so a thread never waits on a client. Idle, slow and
oversized requests are dropped in the loop: 408 when a started request misses its deadline, 431/413 when
it is too large, plain close when nothing was sent. Everything after the hand-over is gunicorn's own
(parsing, keep-alive, the WSGI call); the buffered bytes are fed to its parser.

Every answer made here or by gunicorn's parser (a malformed request line, a line too long) is the site's
own small Japanese page with the site's security headers (`refusal`), not gunicorn's English one, and
its log line names the status and the error class only: gunicorn's own quotes the request line, which
can carry a query string with an e-mail address or a name.

TLS and HTTP/2 cleartext are not buffered (the loop would see encrypted bytes or a preface): with those
settings the worker behaves exactly like gthread. TLS ends at the reverse proxy (docs/DEPLOY.md).
Settings: gunicorn.conf.py, via BufferedThreadWorker.with_limits().

Bodies are limited to max_body_bytes (1 MiB), except a staff member's image upload (`is_upload_request`:
POST to the admin's upload paths with a session cookie), which may reach max_upload_body_bytes; the app
decides, per endpoint and account, what it really accepts (bot/request_guard.py).
"""
from __future__ import annotations

import errno
import re
import selectors
import ssl
import time
from functools import partial
from http import HTTPStatus

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import TConn, ThreadWorker

from bot.error_pages import bare_page
from bot.logsafe import describe_exception
from bot.security_headers import HEADERS

_MORE = object()  # the request is not complete yet


def refusal(status: int, extra: tuple[tuple[str, str], ...] = (), message: str | None = None) -> bytes:
    """A whole HTTP answer: the site's Japanese error page and security headers; the connection closes."""
    body = bare_page(status, message=message).encode()
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: text/html; charset=utf-8",
            f"Content-Length: {len(body)}", "Connection: close", *(f"{k}: {v}" for k, v in HEADERS.items()),
            *(f"{k}: {v}" for k, v in extra)]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_REFUSALS = {status: refusal(status) for status in (400, 408, 413, 431)}
_REFUSALS[503] = refusal(503, (("Retry-After", "5"),))
# An image upload over max_upload_body_bytes: say what to do with a phone photo.
UPLOAD_TOO_LARGE = "ファイルが大きすぎます。10MBまでのファイルにしてから、もう一度お試しください（写真は小さくして、CSVは分けてください）。"
_UPLOAD_413 = refusal(413, message=UPLOAD_TOO_LARGE)

# The routes that take a staff member's image (bot/admin/views_media.py, views_announcements.py), as the
# request line spells them; any other spelling gets the ordinary limit (the safe side).
UPLOAD_PATH = re.compile(rb"/admin/(?:media|announcements/new|announcements/[0-9]{1,10}/edit|opendata/import)")
# Flask's session cookie (SESSION_COOKIE_NAME, its default): without one the request cannot be a signed-in
# staff member's, so it is held to max_body_bytes before its body is read. Its validity is the app's to check.
SESSION_COOKIE = b"session"


def is_upload_request(request_line: bytes, cookies: list[bytes]) -> bool:
    method, _, rest = request_line.partition(b" ")
    target = rest.rpartition(b" ")[0]
    if method != b"POST" or not UPLOAD_PATH.fullmatch(target.partition(b"?")[0]):
        return False
    return any(pair.strip().partition(b"=")[0] == SESSION_COOKIE and pair.partition(b"=")[2].strip()
               for value in cookies for pair in value.split(b";"))

# gunicorn's parser errors and the status gunicorn answers them with (gunicorn/workers/base.py); any other
# ParseException is a client error answered 400. These are the response's faults, not the client's: 500.
_PARSE_STATUS = ((http_errors.LimitRequestLine, 414), (http_errors.LimitRequestHeaders, 431),
                 (http_errors.ExpectationFailed, 417), (http_errors.UnsupportedTransferCoding, 501),
                 (http_errors.ForbiddenProxyRequest, 403), (http_errors.ConfigurationProblem, 500))
_APP_FAULTS = (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)


def client_error_status(exc: BaseException) -> int | None:
    """The status gunicorn gives a request it refused itself, or None when the fault is not the client's."""
    if isinstance(exc, _APP_FAULTS):
        return None
    if isinstance(exc, ssl.SSLError):
        return 403
    if not isinstance(exc, http_errors.ParseException):
        return None
    return next((status for cls, status in _PARSE_STATUS if isinstance(exc, cls)), 400)


class Refuse(Exception):
    def __init__(self, status: int, upload: bool = False) -> None:
        self.status, self.upload = status, upload


class RequestScanner:
    """Finds where one HTTP/1.1 request ends in a growing buffer, without interpreting more than framing.

    feed() returns the request's length once it is complete, or _MORE. Anything odd about the framing
    (two lengths, an unknown transfer coding, a bad chunk size) ends the scan at the head: gunicorn's
    parser then refuses the request with its own 400, from bytes it already has.
    """

    def __init__(self, max_head: int, max_body: int, max_upload_body: int | None = None) -> None:
        self.max_head, self.max_body = max_head, max_body
        self.max_upload_body = max_body if max_upload_body is None else max_upload_body
        self.is_upload = False  # known with the head: the body may reach max_upload_body
        self.head_end: int | None = None
        self.body_end: int | None = None  # known once Content-Length is read
        self.chunked = False
        self.pos = 0  # chunked: where the next chunk-size line starts
        self.body_bytes = 0
        self.in_trailers = False
        self.expects_continue = False

    def feed(self, buf: bytearray):
        if self.head_end is None:
            end = buf.find(b"\r\n\r\n", 2 if buf[:2] == b"\r\n" else 0)  # one leading empty line is allowed
            if end < 0:
                if b"\n\n" in buf:  # bare-LF lines: gunicorn wants CRLF, and would wait for one
                    raise Refuse(400)
                if len(buf) > self.max_head:
                    raise Refuse(431)
                return _MORE
            if end + 4 > self.max_head:
                raise Refuse(431)
            self.head_end = end + 4
            framing = self._framing(bytes(buf[:end]))
            if framing is not None:
                return framing
        if self.body_end is not None:
            return self.body_end if len(buf) >= self.body_end else _MORE
        return self._scan_chunks(buf)

    def _framing(self, head: bytes):
        lengths, codings, cookies = set(), [], []
        lines = head.split(b"\r\n")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip()
            if name == b"cookie":
                cookies.append(value)
            elif name == b"content-length":
                lengths.add(value)
            elif name == b"transfer-encoding":
                codings += [c.strip().lower() for c in value.split(b",")]
            elif name == b"expect":
                self.expects_continue = value.lower() == b"100-continue"
        request_line = lines[1] if lines[0] == b"" and len(lines) > 1 else lines[0]  # one leading empty line
        if self.max_upload_body > self.max_body and is_upload_request(request_line, cookies):
            self.is_upload, self.max_body = True, self.max_upload_body
        if codings:
            if lengths or codings[-1] != b"chunked":
                return self.head_end  # gunicorn refuses these framings
            self.chunked, self.pos = True, self.head_end
            return None
        if not lengths:
            return self.head_end  # no body
        value = lengths.pop()
        if lengths or not value.isdigit():
            return self.head_end
        if int(value) > self.max_body:
            raise Refuse(413, self.is_upload)
        self.body_end = self.head_end + int(value)
        return None

    def _scan_chunks(self, buf: bytearray):
        while True:
            nl = buf.find(b"\r\n", self.pos)
            if nl < 0:
                if len(buf) - self.pos > 4096:  # a chunk-size or trailer line this long is not one
                    raise Refuse(400)
                return _MORE
            line = bytes(buf[self.pos:nl])
            if self.in_trailers:
                self.pos = nl + 2
                if not line:
                    return self.pos
                continue
            try:
                size = int(line.split(b";", 1)[0].strip() or b"x", 16)
            except ValueError:
                return self.head_end  # gunicorn refuses the bad chunk
            if size == 0:
                self.in_trailers, self.pos = True, nl + 2
                continue
            self.body_bytes += size
            if self.body_bytes > self.max_body:
                raise Refuse(413, self.is_upload)
            if len(buf) < nl + 2 + size + 2:
                return _MORE
            self.pos = nl + 2 + size + 2


class BufferingConn(TConn):
    """A connection whose next request is read by the event loop before a thread sees it."""

    def __init__(self, cfg, sock, client, server, io_timeout: float) -> None:
        super().__init__(cfg, sock, client, server)
        self.io_timeout = io_timeout
        self.buf = bytearray()
        self.scanner: RequestScanner | None = None
        self.deadline = 0.0
        self.complete = False  # the buffered request is whole and waits for a thread

    def init(self) -> None:
        super().init()  # in the thread: creates gunicorn's parser on the first request
        if self.buf:
            self.parser.unreader.unread(bytes(self.buf))
            self.buf = bytearray()
        self.complete = False
        # The request is already here; this only bounds writing the answer to a client that stops reading.
        self.sock.settimeout(self.io_timeout)


class BufferedThreadWorker(ThreadWorker):
    header_timeout = 10.0  # seconds from the connection (or keep-alive wake-up) to the end of the head
    body_timeout = 10.0  # seconds from the end of the head to the end of the body
    max_head_bytes = 64 * 1024
    max_body_bytes = 1024 * 1024
    # A staff member's image upload (is_upload_request): a larger body, and longer to send it from a phone.
    max_upload_body_bytes = 1024 * 1024
    upload_body_timeout = 10.0
    io_timeout = 10.0  # a thread's socket operations (writing the answer)
    # All requests being read by one process together: 1,000 connections each 1 MiB into their body would
    # otherwise hold a gigabyte. Past it, the connection that would grow the total is answered 503.
    max_buffered_bytes = 64 * 1024 * 1024
    max_upload_buffered_bytes = 24 * 1024 * 1024  # of which uploads may hold at most this much

    @classmethod
    def with_limits(cls, **limits) -> type["BufferedThreadWorker"]:
        unknown = set(limits) - {"header_timeout", "body_timeout", "max_head_bytes", "max_body_bytes", "io_timeout",
                                 "max_buffered_bytes", "max_upload_body_bytes", "upload_body_timeout",
                                 "max_upload_buffered_bytes"}
        if unknown:
            raise TypeError(f"unknown limits: {sorted(unknown)}")
        return type(cls.__name__, (cls,), {**limits, "__module__": cls.__module__})

    def init_process(self) -> None:
        self.reading: set[BufferingConn] = set()  # connections whose request is being read in the loop
        self.next_sweep = 0.0
        self.buffered = 0  # bytes held in the buffers of `reading`
        self.buffering = not self.cfg.is_ssl and self.cfg.http2_cleartext == "off"
        super().init_process()

    def accept(self, listener) -> None:
        if not self.buffering:
            return super().accept(listener)
        try:
            sock, addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._read_request(BufferingConn(self.cfg, sock, addr, listener.getsockname(), self.io_timeout))

    def enqueue_req(self, conn) -> None:
        # gthread calls this for a new request on a kept-alive connection too (readable, or bytes left
        # over behind the last request): buffer that one as well.
        if isinstance(conn, BufferingConn) and not conn.complete:
            leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
            self._read_request(conn, leftover)
            return
        super().enqueue_req(conn)

    def _read_request(self, conn: BufferingConn, pending: bytes = b"") -> None:
        conn.sock.setblocking(False)
        conn.buf = bytearray(pending)
        self.buffered += len(pending)
        conn.scanner = RequestScanner(self.max_head_bytes, self.max_body_bytes, self.max_upload_body_bytes)
        conn.deadline = time.monotonic() + self.header_timeout
        self.reading.add(conn)
        if pending and self._scan(conn):
            return
        # A kept-alive connection comes here because it is readable: take its request now, without a
        # round through the selector.
        if self._receive(conn):
            return
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: BufferingConn, _sock) -> None:
        self._receive(conn)

    def _receive(self, conn: BufferingConn) -> bool:
        """Read what has arrived; True once the connection has left the loop (to a thread, or closed)."""
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return True
        if self.buffered + len(data) > self.max_buffered_bytes:
            self._drop(conn, 503)
            return True
        if conn.scanner.is_upload and self._upload_bytes() + len(data) > self.max_upload_buffered_bytes:
            # Uploads have their own share of the buffer: anyone can send a session cookie, and a few
            # 12 MiB bodies must not leave no room for LINE's webhooks.
            self._drop(conn, 503)
            return True
        conn.buf += data
        self.buffered += len(data)
        return self._scan(conn)

    def _upload_bytes(self) -> int:
        return sum(len(c.buf) for c in self.reading if c.scanner is not None and c.scanner.is_upload)

    def _scan(self, conn: BufferingConn) -> bool:
        had_head = conn.scanner.head_end is not None
        try:
            end = conn.scanner.feed(conn.buf)
        except Refuse as r:
            self._drop(conn, r.status, _UPLOAD_413 if r.upload else None)
            return True
        if end is _MORE:
            if not had_head and conn.scanner.head_end is not None:
                conn.deadline = time.monotonic() + (self.upload_body_timeout if conn.scanner.is_upload
                                                    else self.body_timeout)
                if conn.scanner.expects_continue:
                    # The client waits for this before sending the body. gunicorn sends its own 100 once the
                    # request reaches a thread; a second 1xx is allowed (RFC 9110 section 15.2) and ignored.
                    self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return False
        self._unwatch(conn)
        conn.complete = True
        conn.data_ready = True  # gthread must not wait for data again: it is all here
        super().enqueue_req(conn)
        return True

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        if now < self.next_sweep and self.alive:
            return  # the loop turns once per event under load; deadlines need only ~1 s precision
        self.next_sweep = now + 0.25
        for conn in [c for c in self.reading if c.deadline <= now or (not self.alive and not c.buf)]:
            self._drop(conn, 408 if conn.buf else None)

    def _unwatch(self, conn: BufferingConn) -> None:
        if conn in self.reading:
            self.reading.discard(conn)
            self.buffered -= len(conn.buf)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def handle_error(self, req, client, addr, exc) -> None:
        """gunicorn's handle_error, without its English page and without the request line in the log."""
        status = client_error_status(exc)
        if status is None:
            status = 500
            self.log.error("Error handling request: %s", describe_exception(exc))
        else:
            self.log.warning("Invalid request refused with %d: %s", status, type(exc).__name__)
        try:
            page = _REFUSALS.get(status) or refusal(status)
            util.write_nonblock(client, page)
        except Exception:  # noqa: BLE001 - the client may be gone; as gunicorn does
            self.log.debug("Failed to send error message.")

    def _drop(self, conn: BufferingConn, status: int | None = None, page: bytes | None = None) -> None:
        self._unwatch(conn)
        if status is not None:
            self._send(conn, page or _REFUSALS[status])
        self.nr_conns -= 1
        conn.close()

    @staticmethod
    def _send(conn: BufferingConn, data: bytes) -> None:
        try:
            conn.sock.send(data)  # small and best effort: never wait for a client in the loop
        except OSError:
            pass
