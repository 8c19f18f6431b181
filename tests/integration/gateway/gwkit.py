"""gwkit — helpers for the gateway's API tests: the gateway process, whether
the real executor can grade here, an HTTP client with a cookie jar (stdlib
http.client), a tiny WebSocket client on the socket module, a tiny Redis
client (RESP) to look at the job queue and event streams, a TCP link a test
can cut or trip (the outage of a server as its clients see it), and a checker
of live responses against docs/openapi.yaml."""
import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import yaml

# Redis (RESP), to look at what the gateway and the executor wrote.
from serverkit import Redis  # noqa: F401

REPO = Path(__file__).resolve().parents[3]
OPENAPI = REPO / "docs" / "openapi.yaml"
# The task most tests use (written into the test content folder by conftest).
TASK_SLUG = "gw-sum"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_address():
    """A random loopback address other than 127.0.0.1 (all of 127.0.0.0/8
    reaches the host's loopback): a client address no other test shares."""
    b = secrets.token_bytes(3)
    return f"127.{b[0]}.{b[1]}.{max(b[2], 2)}"


def binary(name):
    bin_dir = Path(os.environ.get("DOJO_BIN_DIR") or REPO / "bazel-bin")
    return bin_dir / "services" / name / name


# ---------------------------------------------------------------------------
# The real executor: can it grade here?

LANGUAGES_DIR = REPO / "services" / "executor" / "languages"


def rootfs_dir():
    """Where the executor finds the language root filesystems (as `./dojo
    test` exports it)."""
    return Path(os.environ.get("DOJO_EXECUTOR_ROOTFS_DIR") or REPO / ".dojo" / "rootfs")


def executor_skip_reason():
    """Why the real executor cannot grade submissions here, or None when it
    can. DOJO_TEST_GATEWAY_EXECUTOR=0 turns it off on purpose."""
    if os.environ.get("DOJO_TEST_GATEWAY_EXECUTOR") == "0":
        return "DOJO_TEST_GATEWAY_EXECUTOR=0 turned the real executor off"
    if os.geteuid() != 0:
        return "the executor's sandbox needs root (containers with their own uid ranges)"
    if shutil.which("crun") is None:
        return "crun is not installed"
    if not binary("executor").exists():
        return f"the executor binary is not built ({binary('executor')})"
    need = sorted({json.loads(f.read_text()).get("rootfs", "")
                   for f in LANGUAGES_DIR.glob("*.json")})
    missing = [n for n in need if not (rootfs_dir() / n / "usr" / "bin").is_dir()]
    if missing:
        return (f"no language rootfs {missing} under {rootfs_dir()}: build it with "
                "`./dojo rootfs` or point DOJO_EXECUTOR_ROOTFS_DIR at one")
    return None


# ---------------------------------------------------------------------------
# The gateway process


class Gateway:
    def __init__(self, env, workdir, name="gateway", nofile=None):
        self.name = name
        self.nofile = nofile  # RLIMIT_NOFILE (soft and hard) of the process
        self.port = free_port()
        self.metrics_port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{name}.log"
        self.env = dict(env)
        self.env["DOJO_GATEWAY_ADDR"] = self.addr
        self.env["DOJO_GATEWAY_METRICS_ADDR"] = f"127.0.0.1:{self.metrics_port}"
        self.proc = None
        try:  # the session's last test looks for secrets in every log
            import authkit
            authkit.LOG_FILES.append(self.log_path)
        except ImportError:
            pass

    def start(self, timeout=20):
        with open(self.log_path, "ab") as log:
            # prlimit(1) sets the limit and execs the gateway (same pid): no
            # preexec_fn, whose Python code in the forked child can deadlock
            # on a lock one of this process's other threads (grpcio's) held.
            argv = [str(binary("gateway"))]
            if self.nofile:
                argv = ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--"] + argv
            self.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}\n"
                                   + self.log_tail())
            try:
                st, _, _ = Client(self.addr).request("GET", "/api/v1/health")
                if st == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("gateway did not answer /api/v1/health\n" + self.log_tail())

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=60):
        return f"--- last lines of {self.log_path} ---\n" + "\n".join(
            self.log_text().splitlines()[-lines:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("gateway did not exit after SIGTERM\n" + self.log_tail())


# ---------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    """One client (a browser or an API client): cookies, CSRF, bearer."""

    def __init__(self, addr, bearer=None, source=None):
        self.addr = addr
        self.host, port = addr.rsplit(":", 1)
        self.port = int(port)
        # A loopback address of its own (127.x.y.z) to connect from: a client
        # address of its own, as the gateway's per-address limits see it.
        self.source = source
        self.cookies = {}
        self.bearer = bearer
        self.csrf = True  # send X-CSRF-Token from the cookie on writes

    def request(self, method, path, body=None, headers=None, raw=None, timeout=30):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                          source_address=(self.source, 0) if self.source else None)
        hdrs = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if self.cookies:
            hdrs.setdefault("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if self.bearer:
            hdrs.setdefault("Authorization", f"Bearer {self.bearer}")
        if (self.csrf and method not in ("GET", "HEAD") and "dojo_csrf" in self.cookies):
            hdrs.setdefault("X-CSRF-Token", self.cookies["dojo_csrf"])
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        headers_list = resp.getheaders()
        conn.close()
        for k, v in headers_list:
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if "Max-Age=0" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        return resp.status, headers_list, payload

    def call(self, method, path, body=None, **kw):
        st, hdrs, payload = self.request(method, path, body, **kw)
        return Response(st, hdrs, payload)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)


def register(addr, session="cookie", source=None, **overrides):
    """A new learner: (client, registration response, account dict);
    `source` as Client's."""
    tag = secrets.token_hex(5)
    acct = {"email": overrides.pop("email", f"gw-{tag}@example.org"),
            "username": overrides.pop("username", f"gw_{tag}"),
            "password": overrides.pop("password", f"pw-{secrets.token_hex(8)}")}
    acct.update(overrides)
    c = Client(addr, source=source)
    body = dict(acct)
    body["session"] = session
    r = c.post("/api/v1/auth/register", body)
    assert r.status == 201, r
    try:
        import authkit
        for secret in (acct["password"], r.json.get("access_token"), r.json.get("refresh_token"),
                       c.cookies.get("dojo_at"), c.cookies.get("dojo_rt")):
            authkit.remember_secret(secret)
    except ImportError:
        pass
    if session == "token":
        c.bearer = r.json["access_token"]
    return c, r, acct


# ---------------------------------------------------------------------------
# WebSocket (RFC 6455, client side: masked frames)


def ws_handshake(addr, key, path="/api/v1/ws", cookies=None, bearer=None, origin=None):
    """The client's opening handshake (bytes)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {addr}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if bearer:
        lines.append(f"Authorization: Bearer {bearer}")
    if origin:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def ws_accept(key):
    """The Sec-WebSocket-Accept a server must answer to the client's key."""
    return base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()


def ws_frame(opcode, payload):
    """One whole client frame (FIN set, masked as RFC 6455 requires), bytes."""
    mask = secrets.token_bytes(4)
    n = len(payload)
    hdr = bytes([0x80 | opcode])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
    # XOR as one big integer: a per-byte loop costs ~1 s per MiB.
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return hdr + mask + masked


def ws_abort(addr, **handshake):
    """Sends a handshake and resets the connection at once (SO_LINGER 0): the
    gateway may already have accepted the upgrade but cannot send the 101."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(ws_handshake(addr, base64.b64encode(secrets.token_bytes(16)).decode(),
                           **handshake))
    s.close()


class WebSocket:
    """A client connection. `texts` keeps every text frame received, as sent:
    what a learner's browser could see."""

    def __init__(self, addr, path="/api/v1/ws", cookies=None, bearer=None, origin=None,
                 timeout=10):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.texts = []
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.sock.sendall(ws_handshake(addr, key, path, cookies, bearer, origin))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode()
        self.status = int(status_line.split()[1])
        self.head = head.decode(errors="replace")
        if self.status == 101:
            want = ws_accept(key)
            assert f"sec-websocket-accept: {want}".lower() in self.head.lower(), self.head

    def send_frame(self, opcode, payload):
        self.sock.sendall(ws_frame(opcode, payload))

    def send(self, obj):
        self.send_frame(1, json.dumps(obj).encode() if not isinstance(obj, (bytes, str))
                        else (obj.encode() if isinstance(obj, str) else obj))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        b0, b1 = self._read(2)
        opcode = b0 & 0x0F
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        return opcode, self._read(n)

    def recv(self, timeout=10):
        """The next JSON text message (answers pings; None on close)."""
        self.sock.settimeout(timeout)
        while True:
            op, data = self.recv_frame()
            if op == 1:
                self.texts.append(data.decode())
                return json.loads(data)
            if op == 9:
                self.send_frame(10, data)
            elif op == 8:
                return None

    def recv_until(self, pred, timeout=15):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            m = self.recv(timeout=max(0.1, deadline - time.monotonic()))
            if m is None:
                break
            seen.append(m)
            if pred(m):
                return m, seen
        raise AssertionError(f"no matching message; saw {seen}")

    def close(self):
        try:
            self.send_frame(8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


# ---------------------------------------------------------------------------
# A link to a server that a test can cut or trip


class Link:
    """A TCP forwarder from a loopback port (`addr`) to `target` (host, port).

    cut() closes every forwarded connection and refuses new ones until
    restore(): what a stopped or unreachable server looks like to its
    clients. trip(pattern, action) arms the link for the next time a client
    sends bytes containing `pattern`: "cut" drops those bytes (they never
    reach the server) and cuts; "hold" keeps them back with the connection
    open, as a server that stopped answering, until release() forwards them
    or cut() drops them. `tripped` is set when it happened."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.socks = set()
        self.is_cut = False
        self.closed = False
        self.armed = None  # (pattern, action)
        self.tripped = threading.Event()
        self._released = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            with self.lock:
                refuse = self.is_cut or self.closed
            if refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.socks.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, from_client):
        tail = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client and self.armed and self.armed[0] in tail + data:
                    action = self.armed[1]
                    self.armed = None
                    self.tripped.set()
                    if action == "cut":
                        self.cut()
                        break
                    self._released.wait()
                    if self.is_cut:
                        break
                tail = data[-64:]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s):
        with self.lock:
            self.socks.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def trip(self, pattern, action):
        assert action in ("cut", "hold")
        self.tripped.clear()
        self._released.clear()
        self.armed = (pattern, action)

    def release(self):
        self._released.set()

    def cut(self):
        with self.lock:
            self.is_cut = True
            socks = list(self.socks)
        self._released.set()
        for s in socks:
            self._drop(s)

    def restore(self):
        with self.lock:
            self.is_cut = False

    def close(self):
        self.closed = True
        self.cut()
        self.thread.join(timeout=5)
        self.listener.close()


# ---------------------------------------------------------------------------
# OpenAPI


class Spec:
    def __init__(self, path=OPENAPI):
        self.doc = yaml.safe_load(Path(path).read_text())
        self.paths = self.doc["paths"]

    def resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            node = self.doc
            for part in obj["$ref"][2:].split("/"):
                node = node[part]
            obj = node
        return obj

    def match(self, method, path):
        """The template that documents a concrete path, or None."""
        path = path.split("?", 1)[0]
        for tmpl, item in self.paths.items():
            rx = "^" + re.sub(r"\{[^/]+\}", "[^/]+", tmpl) + "$"
            if re.match(rx, path) and method.lower() in item:
                return tmpl
        return None

    def operation(self, method, tmpl):
        return self.paths[tmpl][method.lower()]

    def check(self, method, path, resp):
        """Asserts the status is documented for the operation and that a JSON
        body validates against its schema. Returns the schema checked."""
        tmpl = self.match(method, path)
        assert tmpl, f"{method} {path} is not in docs/openapi.yaml"
        op = self.operation(method, tmpl)
        responses = op["responses"]
        assert str(resp.status) in responses, (
            f"{method} {tmpl}: status {resp.status} not documented "
            f"({sorted(responses)}): {resp.body[:300]!r}")
        r = self.resolve(responses[str(resp.status)])
        content = r.get("content", {})
        if "application/json" in content and resp.body:
            schema = content["application/json"]["schema"]
            self.validate(json.loads(resp.body), schema, f"{method} {tmpl} {resp.status}")
        return r

    def validate(self, value, schema, where="$"):
        schema = self.resolve(schema)
        if "allOf" in schema:
            if value is None and schema.get("nullable"):
                return
            for s in schema["allOf"]:
                self.validate(value, s, where)
            return
        if value is None:
            assert schema.get("nullable") or schema.get("type") is None, f"{where}: null"
            return
        t = schema.get("type")
        types = {"object": dict, "array": list, "string": str, "boolean": bool,
                 "integer": int, "number": (int, float)}
        if t:
            ok = isinstance(value, types[t]) and not (t in ("integer", "number")
                                                       and isinstance(value, bool))
            assert ok, f"{where}: expected {t}, got {value!r:.100}"
        if "enum" in schema and value is not None:
            assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
        if t == "object":
            for k in schema.get("required", []):
                assert k in value, f"{where}: missing {k!r} in {list(value)}"
            for k, sub in schema.get("properties", {}).items():
                if k in value:
                    self.validate(value[k], sub, f"{where}.{k}")
        if t == "array" and "items" in schema:
            for i, v in enumerate(value):
                self.validate(v, schema["items"], f"{where}[{i}]")
