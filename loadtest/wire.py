"""wire.py — HTTP/1.1 and WebSocket clients on asyncio streams.

One `Browser` is one learner's browser: a cookie jar, the CSRF double-submit
header on writes (as web/src/api.ts sends it), one keep-alive HTTP connection
and at most one WebSocket, both from the learner's own loopback address, so
the gateway sees a distinct client IP per learner the way it sees real ones
(its per-IP rate limit and auth's per-IP throttles apply per learner; no
trusted-proxy header is needed). Every wait has a deadline.

The WebSocket handshake and the client frames are gwkit's
(tests/integration/gateway/gwkit.py: ws_handshake, ws_accept, ws_frame), so
the load generator and the gateway's tests speak one dialect.
"""
import asyncio
import base64
import json
import secrets
import struct
import sys
import time
from pathlib import Path

# gwkit, and serverkit beside it (gwkit takes its Redis client from there).
for _d in ("tests/integration/gateway", "tests/integration"):
    _p = str(Path(__file__).resolve().parents[1] / _d)
    if _p not in sys.path:
        sys.path.insert(0, _p)
import gwkit  # noqa: E402

# Loopback only: learner i connects from 127.16.0.0 + 1 + i (127.0.0.0/8 is
# all on `lo`; binding any address in it needs no setup).
LEARNER_NET = (127 << 24) | (16 << 16)
MAX_LEARNER_IPS = (1 << 20) - 2


def learner_ip(i):
    if not 0 <= i < MAX_LEARNER_IPS:
        raise ValueError(f"learner index {i} out of range")
    n = LEARNER_NET + 1 + i
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class WireError(Exception):
    """A failure below HTTP: `kind` is a short label for the error tally
    (connect, reset, timeout, closed, protocol)."""

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def _kind_of(e):
    if isinstance(e, WireError):
        return e.kind
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)):
        return "reset"
    if isinstance(e, OSError):
        return f"os_{e.errno}" if e.errno else "os"
    return type(e).__name__


def _parse_head(head):
    """(status, [(name_lower, value)]) of an HTTP response head (bytes)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise WireError("protocol", f"bad status line {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        k, sep, v = line.partition(":")
        if not sep:
            raise WireError("protocol", f"bad header line {line[:80]!r}")
        headers.append((k.strip().lower(), v.strip()))
    return int(parts[1]), headers


class Response:
    __slots__ = ("status", "headers", "body", "ms")

    def __init__(self, status, headers, body, ms):
        self.status, self.headers, self.body, self.ms = status, headers, body, ms

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class Browser:
    def __init__(self, host, port, local_ip, timeout):
        self.host, self.port, self.local_ip, self.timeout = host, port, local_ip, timeout
        self.hostport = f"{host}:{port}"
        self.origin = f"http://{self.hostport}"
        self.cookies = {}
        self.reader = self.writer = None
        self.ws = None

    # ---- HTTP ---------------------------------------------------------------

    async def _connect(self):
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=(self.local_ip, 0), limit=1 << 20)

    def close_http(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def _store_cookies(self, headers):
        for k, v in headers:
            if k != "set-cookie":
                continue
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in v.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def _request_bytes(self, method, path, body):
        data = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.hostport}", "Accept: application/json"]
        if body is not None:
            lines.append("Content-Type: application/json")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(data)}")
        if method not in ("GET", "HEAD"):
            lines.append(f"Origin: {self.origin}")
            if "dojo_csrf" in self.cookies:
                lines.append(f"X-CSRF-Token: {self.cookies['dojo_csrf']}")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + data

    async def _read_body(self, status, headers, method):
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return b""
        hd = dict(headers)
        if "content-length" in hd:
            return await self.reader.readexactly(int(hd["content-length"]))
        if hd.get("transfer-encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    return bytes(out)
                out += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
        return await self.reader.read()  # until the server closes

    async def request(self, method, path, body=None):
        """One request on the keep-alive connection (opened on first use; a
        stale one is reopened once). Returns a Response; raises WireError."""
        msg = self._request_bytes(method, path, body)
        for attempt in (1, 2):
            reused = self.writer is not None
            t0 = time.monotonic()
            try:
                async with asyncio.timeout(self.timeout):
                    if self.writer is None:
                        await self._connect()
                    self.writer.write(msg)
                    await self.writer.drain()
                    try:
                        head = await self.reader.readuntil(b"\r\n\r\n")
                    except asyncio.IncompleteReadError:
                        if reused and attempt == 1:  # the server closed an idle connection
                            self.close_http()
                            continue
                        raise
                    status, headers = _parse_head(head[:-4])
                    data = await self._read_body(status, headers, method)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    TimeoutError, ValueError) as e:
                self.close_http()
                if isinstance(e, ConnectionResetError) and reused and attempt == 1:
                    continue
                raise WireError(_kind_of(e), str(e)[:200]) from None
            ms = (time.monotonic() - t0) * 1000.0
            self._store_cookies(headers)
            if (dict(headers).get("connection", "").lower() == "close"):
                self.close_http()
            return Response(status, headers, data, ms)
        raise WireError("reset", "connection closed twice")

    # ---- WebSocket ----------------------------------------------------------

    async def open_ws(self, on_message, on_close):
        """Opens the WebSocket (/api/v1/ws, cookie-authenticated, the page's
        Origin). Returns (status, ms): 101 means open, anything else is the
        refusal's HTTP status."""
        t0 = time.monotonic()
        ws = WebSocket(self, on_message, on_close)
        status = await ws.open()
        if status == 101:
            self.ws = ws
        return status, (time.monotonic() - t0) * 1000.0

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
        self.close_http()


class WebSocket:
    """A client WebSocket whose reader task hands every text message (parsed
    JSON) to on_message(msg, t_monotonic) as it arrives, answers pings, and
    calls on_close(reason) once when the connection ends."""

    def __init__(self, browser, on_message, on_close):
        self.b = browser
        self.on_message, self.on_close = on_message, on_close
        self.reader = self.writer = None
        self.task = None
        self.closed = False

    async def open(self):
        b = self.b
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        try:
            async with asyncio.timeout(b.timeout):
                self.reader, self.writer = await asyncio.open_connection(
                    b.host, b.port, local_addr=(b.local_ip, 0), limit=1 << 20)
                self.writer.write(gwkit.ws_handshake(b.hostport, key, cookies=b.cookies,
                                                     origin=b.origin))
                await self.writer.drain()
                head = await self.reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TimeoutError) as e:
            self._drop()
            raise WireError(_kind_of(e), str(e)[:200]) from None
        status, headers = _parse_head(head[:-4])
        if status != 101:
            self._drop()
            return status
        if dict(headers).get("sec-websocket-accept") != gwkit.ws_accept(key):
            self._drop()
            raise WireError("protocol", "wrong Sec-WebSocket-Accept")
        self.task = asyncio.get_running_loop().create_task(self._read_loop())
        return 101

    def _drop(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def send(self, obj):
        if self.closed or self.writer is None:
            raise WireError("closed", "WebSocket is closed")
        self.writer.write(gwkit.ws_frame(1, json.dumps(obj).encode()))

    async def _read_frame(self):
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        if n > (1 << 24):
            raise WireError("protocol", f"frame of {n} bytes")
        mask = await self.reader.readexactly(4) if b1 & 0x80 else None
        data = await self.reader.readexactly(n) if n else b""
        if mask:  # servers must not mask; tolerate it anyway
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        return b0 & 0x80, b0 & 0x0F, data

    async def _read_loop(self):
        reason = "closed by the server"
        parts, part_op = [], 0
        try:
            while True:
                fin, op, data = await self._read_frame()
                if op == 0:  # continuation
                    parts.append(data)
                    if not fin:
                        continue
                    op, data, parts = part_op, b"".join(parts), []
                elif op in (1, 2) and not fin:
                    parts, part_op = [data], op
                    continue
                if op == 1:
                    t = time.monotonic()
                    try:
                        msg = json.loads(data)
                    except ValueError:
                        raise WireError("protocol", "a text frame that is not JSON") from None
                    self.on_message(msg, t)
                elif op == 9:
                    self.writer.write(gwkit.ws_frame(10, data))
                elif op == 8:
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    reason = f"close {code}"
                    try:
                        self.writer.write(gwkit.ws_frame(8, data[:2]))
                    except (OSError, RuntimeError):
                        pass
                    break
        except asyncio.CancelledError:
            reason = "closed by the client"
        except (OSError, asyncio.IncompleteReadError, WireError) as e:
            reason = _kind_of(e)
        finally:
            self.closed = True
            self._drop()
            try:
                self.on_close(reason)
            except Exception:  # noqa: BLE001 — a callback bug must not hide the close
                pass

    async def close(self):
        if self.closed:
            return
        try:
            if self.writer is not None:
                self.writer.write(gwkit.ws_frame(8, struct.pack("!H", 1000)))
        except (OSError, RuntimeError):
            pass
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        else:
            self._drop()
        self.closed = True
