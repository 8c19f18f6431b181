"""The gateway's defences: CSRF, security headers, body limits,
malformed input (never a 5xx, never a crash) and the static web app."""
import gzip
import json
import socket

import gwkit
TASK_SLUG = gwkit.TASK_SLUG


def raw_http(addr, data, timeout=10):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
    return out


# ---------------------------------------------------------------------------
# CSRF


def test_cookie_writes_need_the_csrf_header(gw, spec, learner):
    learner.csrf = False
    body = {"task_slug": TASK_SLUG, "language": "python3", "code": "print(1)"}
    for method, path, b in [("POST", "/api/v1/submissions", body), ("POST", "/api/v1/runs", body),
                            ("PATCH", "/api/v1/me", {"display_name": "x"}),
                            ("PUT", f"/api/v1/drafts/{TASK_SLUG}",
                             {"language": "python3", "code": "x"}),
                            ("POST", "/api/v1/auth/refresh", None),
                            ("POST", "/api/v1/auth/logout", None)]:
        r = learner.call(method, path, b)
        spec.check(method, path, r)
        assert r.status == 403 and r.json["error"]["code"] == "csrf_failed", (path, r)
    r = learner.call("POST", "/api/v1/runs", body, headers={"X-CSRF-Token": "wrong"})
    assert r.status == 403
    learner.csrf = True
    r = learner.call("PATCH", "/api/v1/me", {"display_name": "with csrf"})
    assert r.status == 200
    # GETs need no header
    learner.csrf = False
    assert learner.get("/api/v1/me").status == 200


def test_bearer_writes_need_no_csrf_header(gw):
    c, _, _ = gwkit.register(gw.addr, session="token")
    c.csrf = False
    r = c.call("PATCH", "/api/v1/me", {"display_name": "bearer"})
    assert r.status == 200


# ---------------------------------------------------------------------------
# Headers


def assert_security_headers(r):
    csp = r.header("Content-Security-Policy")
    assert csp and "frame-ancestors 'none'" in csp
    script = [d for d in csp.split(";") if d.strip().startswith("script-src")][0]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    # No inline styles either: the editor's styles are constructed sheets.
    assert "'unsafe-inline'" not in csp
    assert "default-src 'self'" in csp
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("X-Frame-Options") == "DENY"


def test_security_headers_everywhere(gw, learner):
    c = gwkit.Client(gw.addr)
    for r in (c.get("/api/v1/tasks"), c.get("/api/v1/tasks"),  # a cache hit too
              c.get("/api/v1/nope"), c.get("/api/v1/me"), learner.get("/api/v1/me"),
              c.get("/"), c.get("/assets/app-1a2b3c.js"), c.get("/missing.png"),
              c.post("/api/v1/auth/login", {"login": "x", "password": "y"})):
        assert_security_headers(r)
    r = learner.get("/api/v1/me")
    assert r.header("Cache-Control") == "no-store"
    assert r.header("Content-Type").startswith("application/json")


# ---------------------------------------------------------------------------
# Malformed input: always 4xx, never 5xx, never a crash

FUZZ_BODIES = [
    b"", b"{", b"}", b"[]", b"null", b"true", b"42", b'"string"', b"{'single': 1}",
    b'{"a":1,"a":2}', b'{"task_slug": "\\u0000"}', b"\xff\xfe\xfd", b'{"code": "\xc3\x28"}',
    b'{"email": "\xed\xa0\x80@x.org"}', b'{"page_size": 1e999}',
    b'{"expected_version": 123456789012345678901234567890}', b'{"n": -1e400}',
    b"[" * 100000 + b"]" * 100000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"task": {"slug": ' + b'"x" ' * 10 + b"}}", b'{"login": ["x"], "password": {"y": 1}}',
    b'{"task_slug": 1, "language": true, "code": null}', b'{"session": "both"}',
    b'{"restore": "yes"}', b'{"task": []}', b'{"task": {}}', b'{"stdin": 5}',
    b'{"all_sessions": 1}', b'{"refresh_token": 123}', b"\x00\x00\x00",
    b'{"display_name": "' + "\u202e".encode() * 300 + b'"}',
]

# Bodies that are not a JSON object at all (empty bodies are fine where the
# body is optional, so "" is not here).
NOT_OBJECTS = [b for b in FUZZ_BODIES if b and b[:1] != b"{" or b in (
    b"{", b"{'single': 1}", b'{"a":1,"a":2}', b'{"task_slug": "\\u0000"}',
    b'{"code": "\xc3\x28"}', b'{"email": "\xed\xa0\x80@x.org"}', b'{"page_size": 1e999}',
    b'{"expected_version": 123456789012345678901234567890}', b'{"n": -1e400}',
    b'{"a":' * 5000 + b"1" + b"}" * 5000, b'{"task": {"slug": ' + b'"x" ' * 10 + b"}}")]

FUZZ_TARGETS = [
    ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"), ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/forgot"), ("POST", "/api/v1/auth/reset"),
    ("POST", "/api/v1/auth/password"), ("PATCH", "/api/v1/me"),
    ("POST", "/api/v1/runs"), ("POST", "/api/v1/submissions"),
    ("PUT", f"/api/v1/drafts/{TASK_SLUG}"), ("POST", "/api/v1/author/tasks"),
    ("POST", "/api/v1/author/tasks/validate"), ("POST", "/api/v1/author/tasks/run-reference"),
    ("PUT", "/api/v1/author/tasks/gw-fuzz-none"),
    ("POST", "/api/v1/author/tasks/gw-fuzz-none/archive"),
    ("POST", "/api/v1/submissions/00000000-0000-4000-8000-000000000000/cancel"),
]


def test_fuzzed_bodies_never_5xx(gw, learner, author):
    for client in (gwkit.Client(gw.addr), learner, author):
        for method, path in FUZZ_TARGETS:
            for body in FUZZ_BODIES:
                r = client.call(method, path, raw=body,
                                headers={"Content-Type": "application/json"})
                if body in NOT_OBJECTS:
                    assert 400 <= r.status < 500, (method, path, body[:40], r)
                else:  # a well-formed object may be valid for some endpoint
                    assert r.status < 500 or r.status == 503, (method, path, body[:40], r)
                if r.body and r.status >= 400:
                    err = json.loads(r.body)["error"]
                    assert set(err) == {"code", "message", "field"}
    assert gw.alive()


def test_odd_requests_never_5xx(gw, learner):
    c = learner
    cases = [
        ("GET", "/api/v1/does-not-exist", None, {}),
        ("GET", "/api/v1/", None, {}),
        ("GET", "/api/v1", None, {}),
        ("GET", "/api/v2/tasks", None, {}),
        ("GET", "/api/v1/tasks/", None, {}),
        ("DELETE", "/api/v1/tasks", None, {}),
        ("PATCH", "/api/v1/tasks", None, {}),
        ("GET", "/api/v1/tasks?page_size=18446744073709551617", None, {}),
        ("GET", "/api/v1/tasks?q=%ff%fe", None, {}),
        ("GET", "/api/v1/tasks/%ff", None, {}),
        ("GET", "/api/v1/tasks/" + "t-9" * 1000, None, {}),
        ("GET", "/api/v1/submissions/%00", None, {}),
        ("GET", "/api/v1/submissions?page_size=1e3", None, {}),
        ("GET", "/api/v1/leaderboards/weekly?page_size=-5", None, {}),
        ("GET", "/api/v1/drafts/" + "d-7" * 70, None, {}),
        ("POST", "/api/v1/runs", b'{"a":1}', {"Content-Type": "text/plain"}),
        ("POST", "/api/v1/auth/login", b"login=x&password=y",
         {"Content-Type": "application/x-www-form-urlencoded"}),
    ]
    for method, path, raw, headers in cases:
        r = c.call(method, path, raw=raw, headers=headers)
        assert 400 <= r.status < 500, (method, path, r)
        if path.startswith("/api/") and r.body:
            assert "error" in json.loads(r.body)
    r = c.call("POST", "/api/v1/runs", raw=b'{"a":1}', headers={"Content-Type": "text/plain"})
    assert r.status == 415
    r = c.call("DELETE", "/api/v1/tasks")
    assert r.status == 405 and r.json["error"]["code"] == "method_not_allowed"
    assert gw.alive()


def test_body_limits(gw, learner):
    big = b'{"code": "' + b"x" * (300 * 1024) + b'"}'
    r = learner.call("POST", "/api/v1/runs", raw=big,
                     headers={"Content-Type": "application/json"})
    assert r.status == 413 and r.json["error"]["code"] == "payload_too_large"
    # A lying Content-Length is refused before the body is read.
    out = raw_http(gw.addr, b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n{")
    assert out.startswith(b"HTTP/1.1 413")
    # Chunked bodies are counted too.
    chunk = b"x" * 65536
    req = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    for _ in range(6):
        req += b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    req += b"0\r\n\r\n"
    out = raw_http(gw.addr, req)
    assert out.startswith(b"HTTP/1.1 413"), out[:100]
    garbage = raw_http(gw.addr, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    assert not garbage.startswith(b"HTTP/1.1 5")
    assert gw.alive()


# ---------------------------------------------------------------------------
# The web app


def test_static_files_caching_and_gzip(gw):
    c = gwkit.Client(gw.addr)
    r = c.get("/")
    assert r.status == 200 and b'id=app' in r.body
    assert r.header("Cache-Control") == "no-cache"
    assert r.header("Content-Type").startswith("text/html")
    r = c.get("/tasks/gw-sum")  # an SPA route
    assert r.status == 200 and b"id=app" in r.body and r.header("Cache-Control") == "no-cache"
    r = c.get("/assets/app-1a2b3c.js", headers={"Accept-Encoding": "gzip, br"})
    assert r.status == 200 and r.header("Content-Encoding") == "gzip"
    assert "immutable" in r.header("Cache-Control")
    assert gzip.decompress(r.body).startswith(b"console.log")
    assert r.header("Content-Type").startswith("text/javascript")
    r = c.get("/assets/app-1a2b3c.js")
    assert r.status == 200 and r.header("Content-Encoding") is None
    assert r.body.startswith(b"console.log")
    assert c.get("/assets/missing-123.js").status == 404
    assert c.get("/favicon.png").status == 404
    assert c.get("/../../etc/passwd").status in (400, 404)
    assert c.get("/%2e%2e/%2e%2e/etc/passwd").status in (400, 404)
    assert c.call("POST", "/", raw=b"x").status == 405


def test_metrics_endpoint(gw):
    import urllib.request
    with urllib.request.urlopen(f"http://{gw.env['DOJO_GATEWAY_METRICS_ADDR']}/healthz",
                                timeout=5) as r:
        assert r.status == 200
