"""The gateway at its descriptor limit (issue 11.4): it sheds new connections
with a 503 and Retry-After before RLIMIT_NOFILE runs out, /healthz and the
connections it already holds keep answering, and it takes new ones again as
soon as descriptors come free. It used to run out (every WebSocket held a
socket, an eventfd and a Redis connection) and then hang, spinning on
accept, until sockets closed.

The gateway of these tests runs with a low RLIMIT_NOFILE (setrlimit before
exec), so its limit is reached with a few dozen connections."""
import json
import os
import socket
import time
import urllib.request

import gwkit

NOFILE = 256


def http_on(sock, addr, path="/api/v1/health"):
    """Sends one keep-alive GET on `sock`; (status, headers dict, body)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:n]


def connect(addr):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def healthz(g):
    url = f"http://{g.env['DOJO_GATEWAY_METRICS_ADDR']}/healthz"
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status


def test_gateway_sheds_with_503_before_descriptors_run_out_and_recovers(stack, workdir, learner):
    g = gwkit.Gateway(dict(stack["env"]), workdir / "gw-nofile", nofile=NOFILE).start()
    sockets, websockets = [], []
    try:
        # WebSockets until the gateway refuses one: each holds descriptors.
        refused = None
        for _ in range(NOFILE):
            ws = gwkit.WebSocket(g.addr, cookies=learner.cookies)
            if ws.status != 101:
                refused = ws
                break
            websockets.append(ws)
        assert refused is not None, "every WebSocket was accepted\n" + g.log_tail()
        assert refused.status == 503, refused.head
        assert "retry-after:" in refused.head.lower(), refused.head
        refused.sock.close()
        assert len(websockets) >= 5, g.log_tail()

        # Plain connections until one is shed.
        shed = None
        for _ in range(NOFILE):
            s = connect(g.addr)
            status, headers, body = http_on(s, g.addr)
            if status != 200:
                shed = (status, headers, body)
                s.close()
                break
            sockets.append(s)
        assert shed is not None, "every connection was served\n" + g.log_tail()
        status, headers, body = shed
        assert status == 503, shed
        assert int(headers["retry-after"]) >= 1, headers
        assert headers.get("connection", "").lower() == "close", headers
        assert json.loads(body)["error"]["code"] == "unavailable", body
        assert open_fds(g.proc.pid) < NOFILE

        # Still answering: /healthz, a connection it holds, a WebSocket.
        assert healthz(g) == 200
        if sockets:
            assert http_on(sockets[0], g.addr)[0] == 200
        websockets[0].send({"type": "ping"})
        assert websockets[0].recv()["type"] == "pong"
        assert g.alive()

        # Descriptors come free: it admits again. The gateway learns of a
        # closed WebSocket when its event loop reads the close, so a plain
        # connection (one descriptor) may be admitted again before a
        # WebSocket (which needs GW_WS_EXTRA_FDS more) is: wait for both.
        for s in sockets:
            s.close()
        for ws in websockets:
            ws.close()
        sockets, websockets = [], []
        deadline = time.monotonic() + 30
        while True:
            s = connect(g.addr)
            status = http_on(s, g.addr)[0]
            s.close()
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200, g.log_tail()
        while True:
            ws = gwkit.WebSocket(g.addr, cookies=learner.cookies)
            ws.close()
            if ws.status == 101 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert ws.status == 101, ws.head + g.log_tail()
        assert healthz(g) == 200
    finally:
        for s in sockets:
            s.close()
        for ws in websockets:
            ws.close()
        assert g.stop() == 0, g.log_tail()


def test_gateway_refuses_to_start_with_too_few_descriptors(stack, workdir):
    g = gwkit.Gateway(dict(stack["env"]), workdir / "gw-nofile-tiny", nofile=64)
    try:
        g.start(timeout=10)
        started = True
    except RuntimeError as e:
        started = False
        assert "RLIMIT_NOFILE" in str(e), str(e)
    finally:
        g.stop()
    assert not started
