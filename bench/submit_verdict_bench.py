#!/usr/bin/python3
"""submit_verdict_bench.py — HTTP submit -> final verdict on the WebSocket, end to end.

What it measures: the latency a learner sees after pressing "Submit" on a
10-test Python task, through the real stack: `POST /api/v1/submissions`
(gateway: rate limit, Content.GetTask, Gamification.CreateSubmission, the
Redis pipeline that queues the job) -> an executor worker dequeues it, runs
the ten tests in the sandbox and records the result with Gamification ->
the gateway relays the `result` event to the learner's WebSocket. The clock
starts just before the POST is written and stops when the `result` event
(or, failing that, `done`) arrives on `/api/v1/ws`. The subscribe (with its
ownership check) happens after the 202, as the web app does it.

Samples run one at a time (one submission in flight): that is the latency
figure. `--concurrency N` runs N clients at once, each with its own HTTP
connection and WebSocket, for a throughput figure. Warm-up samples are not
counted. Every sample submits the task's correct solution; a verdict other
than `ac` with 10/10 tests, or a timeout, is an error and makes the exit
status non-zero.

Setup it does itself: registers a throwaway user, makes it an author with
`./dojo auth-admin set-role`, logs in again with `"session": "token"` for a
bearer token, creates a task `bench-verdict-<random>` (10 tests: 2 visible,
8 hidden, a Python reference solution) through the author API, and archives
it again at the end (`--keep-task` keeps it). Unless `--base-url` is given
it starts its own gateway (bazel-bin/services/gateway/gateway) on free ports
with a high rate limit, pointed at the running local stack, and stops it at
the end; the stack's own gateway (127.0.0.1:8080) allows only 20 submissions
a minute per user.

How to run it:

    ./dojo up                                        # the local stack, crun runtime
    /usr/bin/python3 bench/submit_verdict_bench.py   # 5 warm-up + 100 samples
    /usr/bin/python3 bench/submit_verdict_bench.py --samples 200 --warmup 10
    /usr/bin/python3 bench/submit_verdict_bench.py --concurrency 4 --samples 200
    /usr/bin/python3 bench/submit_verdict_bench.py --base-url http://127.0.0.1:8080
        # an existing gateway as it is (its rate limit applies: 429s are waited out)

Standard library only. Budget: p50 <= 120 ms with the crun runtime (one in flight).
"""
import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_P50_MS = 120.0
N_TESTS = 10

# The submission: the same trivial program as the executor's benchmark, so the
# figure is the platform's cost, not the solution's.
CODE = "a, b = map(int, input().split())\nprint(a + b)\n"


# ---------------------------------------------------------------------------
# Small helpers


def pct(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(1, -(-len(v) * p // 100))  # ceil(n * p / 100)
    return v[int(k) - 1]


def parse_time_ms(s):
    """RFC 3339 with milliseconds ('2026-11-22T22:04:10.086Z') -> epoch ms."""
    if not s:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000.0


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# HTTP (one keep-alive connection per client)


class Http:
    def __init__(self, host, port, bearer=None, timeout=30):
        self.host, self.port, self.timeout = host, port, timeout
        self.bearer = bearer
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method, path, body=None):
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if self.bearer:
            hdrs["Authorization"] = f"Bearer {self.bearer}"
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
            except (http.client.HTTPException, ConnectionError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.close()
                if attempt == 2:
                    raise
                continue
            if resp.will_close:
                self.close()
            try:
                doc = json.loads(payload) if payload else None
            except ValueError:
                doc = None
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), doc

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def expect(status, doc, want, what):
    if status != want:
        raise BenchError(f"{what}: HTTP {status}, expected {want}: {json.dumps(doc)[:500]}")
    return doc


# ---------------------------------------------------------------------------
# The WebSocket client of the gateway's tests (tests/integration/gateway/gwkit.py),
# with the bench's deadline-style recv.

# gwkit takes its Redis client from tests/integration/serverkit.py.
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "integration" / "gateway"))
import gwkit  # noqa: E402


class WebSocket(gwkit.WebSocket):
    def __init__(self, host, port, bearer=None, timeout=10):
        addr = f"{host}:{port}"
        # What a browser on the gateway's own page sends: the Origin's
        # host[:port] must equal Host (docs/gateway.md).
        super().__init__(addr, bearer=bearer, origin=f"http://{addr}", timeout=timeout)
        if self.status != 101:
            raise BenchError(f"WebSocket handshake refused: {self.head.splitlines()[0]}")
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def recv(self, deadline):
        """The next JSON text message; answers pings; raises on close/timeout."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline")
        m = super().recv(timeout=left)
        if m is None:
            raise ConnectionError("WebSocket closed by the server")
        self.texts.clear()  # the tests keep every frame; a benchmark need not
        return m

# ---------------------------------------------------------------------------
# The gateway of our own


def load_env():
    """The environment `./dojo up` gives the services (scripts/lib/common.sh
    dojo_export_env), values already in the environment winning."""
    env = dict(os.environ)
    defaults = {"DOJO_AUTH_ADDR": "127.0.0.1:7001", "DOJO_CONTENT_ADDR": "127.0.0.1:7002",
                "DOJO_GAMIFICATION_ADDR": "127.0.0.1:7003",
                "DOJO_EXECUTOR_ADDR": "127.0.0.1:7004", "DOJO_REDIS_ADDR": "127.0.0.1:56379",
                "DOJO_LOG_LEVEL": "info", "DOJO_RPC_DRAIN_GRACE": "8s"}
    for k, v in defaults.items():
        env.setdefault(k, v)
    secrets_file = REPO / ".dojo" / "secrets.env"
    if secrets_file.is_file():
        for line in secrets_file.read_text().splitlines():
            k, sep, v = line.partition("=")
            if sep and k and k.replace("_", "").isalnum() and k[0].isalpha() and not env.get(k):
                env[k] = v
    return env


def own_gateway(workdir):
    """A gateway of the bench's own (gwkit.Gateway, as the tests start it) against
    the running stack, with the rate limit raised: runs and submissions share
    a budget of 20 a minute per user and per IP by default."""
    env = load_env()
    if not env.get("DOJO_SERVICE_KEY"):
        raise BenchError("DOJO_SERVICE_KEY is not set and .dojo/secrets.env has none: "
                         "start the stack with ./dojo up first")
    if not gwkit.binary("gateway").exists():
        raise BenchError(f"{gwkit.binary('gateway')} is not built: ./dojo build")
    env["DOJO_GATEWAY_RATE_LIMIT"] = "1000000"
    env["DOJO_GATEWAY_ANON_RATE_LIMIT"] = "1000000"
    env["DOJO_GATEWAY_WEB_DIR"] = str(REPO / "web" / "dist")
    gw = gwkit.Gateway(env, workdir)
    gw.env["DOJO_PUBLIC_URL"] = f"http://{gw.addr}"
    try:
        return gw.start()
    except RuntimeError as e:
        raise BenchError(str(e)) from None


# ---------------------------------------------------------------------------
# Setup through the API


def bench_task(slug):
    pairs = [(2, 3), (-7, 7), (0, 0), (10 ** 9, 10 ** 9), (-(10 ** 9), 1), (123, 456),
             (999, 1), (-5, -6), (31337, 4242), (17, 25)]
    tests = [{"name": f"t{i + 1:02d}", "input": f"{a} {b}\n", "expected": f"{a + b}\n",
              "hidden": i >= 2, "weight": 1} for i, (a, b) in enumerate(pairs)]
    assert len(tests) == N_TESTS
    return {
        "slug": slug,
        "title": "Benchmark: sum of two integers",
        "difficulty": "easy",
        "points": 1,
        "description": "Read two integers `a` and `b` on one line; print `a + b`.\n\n"
                       "Made by bench/submit_verdict_bench.py (archived when it ends).\n",
        "tags": ["benchmark"],
        "languages": [{"language": "python3",
                       "starter_code": "a, b = map(int, input().split())\nprint(0)\n"}],
        "limits": {"cpu_ms": 2000, "wall_ms": 5000, "memory_kib": 262144, "output_kib": 64},
        "checker": {"kind": "ignore_trailing_ws"},
        "tests": tests,
        "reference_solutions": [{"name": "sum", "language": "python3", "code": CODE,
                                 "expected_verdict": "ac"}],
    }


def setup(base_host, base_port, log):
    tag = secrets.token_hex(4)
    username = f"bench_{tag}"
    password = f"pw-{secrets.token_hex(10)}"
    anon = Http(base_host, base_port)
    st, _, doc = anon.request("POST", "/api/v1/auth/register", {
        "email": f"bench-{tag}@example.org", "username": username, "password": password,
        "session": "token"})
    expect(st, doc, 201, "POST /api/v1/auth/register")
    log(f"registered user {username}")
    r = subprocess.run([str(REPO / "dojo"), "auth-admin", "set-role", username, "author"],
                       cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"./dojo auth-admin set-role {username} author failed "
                         f"({r.returncode}): {(r.stdout + r.stderr).strip()[:500]}")
    st, _, doc = anon.request("POST", "/api/v1/auth/login", {
        "login": username, "password": password, "session": "token"})
    expect(st, doc, 200, "POST /api/v1/auth/login")
    anon.close()
    if doc["user"].get("role") not in ("author", "admin"):
        raise BenchError(f"after set-role the login says role {doc['user'].get('role')!r}")
    token = doc["access_token"]
    slug = f"bench-verdict-{secrets.token_hex(4)}"
    c = Http(base_host, base_port, bearer=token)
    st, _, doc = c.request("POST", "/api/v1/author/tasks", {"task": bench_task(slug)})
    expect(st, doc, 201, "POST /api/v1/author/tasks")
    log(f"created task {slug} (version {doc.get('version')}, {N_TESTS} tests: 2 visible, 8 hidden)")
    c.close()
    return token, slug


def archive_task(base_host, base_port, token, slug):
    c = Http(base_host, base_port, bearer=token)
    st, _, doc = c.request("POST", f"/api/v1/author/tasks/{slug}/archive", {})
    c.close()
    return st == 200


# ---------------------------------------------------------------------------
# One client: a keep-alive HTTP connection and a WebSocket


class Sample:
    __slots__ = ("ok", "ms", "post_ms", "error", "runtime", "parts", "sandbox_wall_ms", "retried")

    def __init__(self):
        self.ok, self.ms, self.post_ms, self.error = False, None, None, None
        self.runtime, self.parts, self.sandbox_wall_ms, self.retried = None, {}, None, False


class Client:
    def __init__(self, host, port, token, slug, timeout):
        self.host, self.port, self.token, self.slug = host, port, token, slug
        self.timeout = timeout
        self.http = Http(host, port, bearer=token)
        self.ws = None
        self.n = 0
        self.rate_limited = 0

    def _ws(self):
        if self.ws is None:
            self.ws = WebSocket(self.host, self.port, bearer=self.token)
        return self.ws

    def drop_ws(self):
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def close(self):
        self.drop_ws()
        self.http.close()

    def one(self):
        s = Sample()
        ws = self._ws()  # opened (once) before the clock starts, as the web app keeps it open
        self.n += 1
        body = {"task_slug": self.slug, "language": "python3", "code": CODE}
        while True:
            t0 = time.perf_counter()
            t0_wall = time.time() * 1000.0
            st, hdrs, doc = self.http.request("POST", "/api/v1/submissions", body)
            t_post = time.perf_counter()
            if st == 429:  # only with --base-url: the gateway's own rate limit
                self.rate_limited += 1
                time.sleep(float(hdrs.get("retry-after", "1") or 1))
                continue
            break
        if st != 202:
            s.error = f"POST /api/v1/submissions: HTTP {st}: {json.dumps(doc)[:300]}"
            return s
        s.post_ms = (t_post - t0) * 1000.0
        sid = doc["id"]
        deadline = time.monotonic() + self.timeout
        at = {}
        tests = []
        result = None
        try:
            ws.send({"type": "subscribe", "submission_id": sid, "id": self.n})
            while True:
                m = ws.recv(deadline)
                if m.get("submission_id") not in (sid, None):
                    continue  # a late message of an earlier submission
                typ = m.get("type")
                if typ == "error":
                    s.error = f"WebSocket error: {m.get('code')}: {m.get('message')}"
                    return s
                if typ == "event":
                    kind = m.get("kind")
                    if kind == "started":
                        if m.get("attempt", 1) > 1:
                            s.retried = True
                            tests.clear()
                        s.runtime = m.get("runtime")
                    if kind == "test_result":
                        tests.append(parse_time_ms(m.get("emitted_at")))
                    else:
                        at[kind] = parse_time_ms(m.get("emitted_at"))
                    if kind == "result":
                        t_end = time.perf_counter()
                        t_end_wall = time.time() * 1000.0
                        result = m.get("result") or {}
                        break
                elif typ == "submission":  # the event stream had expired
                    t_end = time.perf_counter()
                    t_end_wall = None
                    sub = m.get("submission") or {}
                    tl = sub.get("tests") or []
                    result = {"verdict": sub.get("verdict"), "wall_ms": sub.get("wall_ms"),
                              "tests_total": len(tl),
                              "tests_passed": sum(1 for t in tl if t.get("verdict") == "ac")}
                    break
                elif typ == "done":
                    t_end = time.perf_counter()
                    t_end_wall = None
                    break
        except (socket.timeout, TimeoutError):
            s.error = f"timeout: no result for {sid} within {self.timeout:.0f} s"
            self.drop_ws()
            return s
        except (ConnectionError, OSError) as e:
            s.error = f"WebSocket: {e}"
            self.drop_ws()
            return s
        s.ms = (t_end - t0) * 1000.0
        # The `done` that follows the result ends this subscription; read it
        # (not timed) so the next sample starts clean.
        if typ == "event":
            try:
                dl = time.monotonic() + 2
                while ws.recv(dl).get("type") != "done":
                    pass
            except (socket.timeout, TimeoutError, ConnectionError, OSError):
                self.drop_ws()
        verdict = result.get("verdict") if result else None
        passed, total = (result or {}).get("tests_passed"), (result or {}).get("tests_total")
        if verdict != "ac" or passed != N_TESTS or total != N_TESTS:
            s.error = f"submission {sid}: verdict {verdict!r}, tests {passed}/{total}"
            return s
        s.sandbox_wall_ms = result.get("wall_ms")
        # Where the time went, from the events' emitted_at (ms resolution; the
        # services and this program share the machine's clock).
        if t_end_wall and "queued" in at and "started" in at and tests and "result" in at:
            s.parts = {
                "POST -> queued event (gateway, XADD)": at["queued"] - t0_wall,
                "queued -> started (dequeue, claim)": at["started"] - at["queued"],
                "started -> first test (sandbox up)": tests[0] - at["started"],
                "first -> last test (9 more tests)": tests[-1] - tests[0],
                "last test -> result (record, XADD)": at["result"] - tests[-1],
                "result -> on the WebSocket (relay)": t_end_wall - at["result"],
            }
        s.ok = True
        return s


# ---------------------------------------------------------------------------
# Main


def run_samples(clients, n, pause_s=0.0):
    """n samples over the clients (one thread each when more than one)."""
    out = []
    lock = threading.Lock()
    todo = [n]

    def worker(c):
        while True:
            with lock:
                if todo[0] <= 0:
                    return
                todo[0] -= 1
            try:
                s = c.one()
            except Exception as e:  # a broken connection must not stop the run
                s = Sample()
                s.error = f"{type(e).__name__}: {e}"
                c.drop_ws()
                c.http.close()
            with lock:
                out.append(s)
            if pause_s > 0:
                time.sleep(pause_s)

    t = time.perf_counter()
    if len(clients) == 1:
        worker(clients[0])
    else:
        threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(
        description="HTTP submit -> final verdict on the WebSocket, 10-test Python task.")
    ap.add_argument("--samples", type=int, default=100, help="measured samples (default 100)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up samples, not counted (default 5)")
    ap.add_argument("--concurrency", type=int, default=1,
                    help="clients at once (default 1: the latency figure)")
    ap.add_argument("--base-url", help="use this gateway as it is instead of starting one "
                    "(e.g. http://127.0.0.1:8080); it must front the local stack, "
                    "since ./dojo auth-admin makes the user an author")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per sample (default 30)")
    ap.add_argument("--keep-task", action="store_true", help="do not archive the task at the end")
    ap.add_argument("--pause", type=float, default=0.0, metavar="MS",
                    help="idle time between one client's samples, not timed (default 0: "
                         "back to back)")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="print every measured sample with its breakdown")
    args = ap.parse_args()
    if args.samples < 1 or args.warmup < 0 or args.concurrency < 1 or args.pause < 0:
        ap.error("--samples >= 1, --warmup >= 0, --concurrency >= 1, --pause >= 0")

    def log(msg):
        print(f"  {msg}", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="dojo-bench-verdict-"))
    gw = None
    token = slug = None
    failed = False
    try:
        if args.base_url:
            u = urllib.parse.urlsplit(args.base_url)
            if u.scheme != "http" or not u.hostname:
                raise BenchError("--base-url must be http://HOST:PORT")
            host, port = u.hostname, u.port or 80
            print(f"gateway: {args.base_url} (as it is)")
        else:
            gw = own_gateway(workdir)
            host, port = "127.0.0.1", gw.port
            print(f"gateway: own, http://{gw.addr} (DOJO_GATEWAY_RATE_LIMIT=1000000, "
                  f"log {gw.log_path})")
        token, slug = setup(host, port, log)
        clients = [Client(host, port, token, slug, args.timeout)
                   for _ in range(args.concurrency)]
        if args.warmup:
            warm, _ = run_samples(clients[:1], args.warmup)
            bad = [s.error for s in warm if not s.ok]
            log(f"warm-up: {args.warmup} samples" + (f", {len(bad)} errors: {bad[0]}" if bad else ""))
            if bad:
                failed = True
        bare = bare_python_ms()
        samples, elapsed = run_samples(clients, args.samples, args.pause / 1000.0)
        bare = (bare + bare_python_ms()) / 2  # before and after: the load may move meanwhile
        for c in clients:
            c.close()
        rate_limited = sum(c.rate_limited for c in clients)
        failed = report(samples, elapsed, args, rate_limited, bare) or failed
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        failed = True
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        failed = True
    finally:
        if token and slug and not args.keep_task:
            try:
                if not archive_task(host, port, token, slug):
                    print(f"warning: could not archive task {slug}", file=sys.stderr)
            except OSError as e:
                print(f"warning: could not archive task {slug}: {e}", file=sys.stderr)
        if gw is not None:
            gw.stop()
        if failed and gw is not None:
            print(f"(the gateway's log is kept: {gw.log_path})", file=sys.stderr)
        else:
            for f in workdir.iterdir():
                f.unlink()
            workdir.rmdir()
    return 1 if failed else 0


def bare_python_ms(n=20):
    """The yardstick of docs/benchmarks.md: a bare `python3 -c pass` on this
    host, median of n, measured in the same run as the samples."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def report(samples, elapsed, args, rate_limited, bare=None):
    ok = [s for s in samples if s.ok]
    errors = [s for s in samples if not s.ok]
    lat = [s.ms for s in ok]
    runtimes = sorted({s.runtime for s in samples if s.runtime})
    runtime = ",".join(runtimes) or "?"
    mode = ("sequential, one in flight" if args.concurrency == 1
            else f"{args.concurrency} clients at once")
    if args.pause:
        mode += f", {args.pause:.0f} ms pause between samples"
    print()
    print(f"HTTP submit -> final verdict on the WebSocket, {N_TESTS}-test Python task ({mode})")
    print(f"  samples            {len(samples)} measured ({len(ok)} ok, {len(errors)} errors), "
          f"{args.warmup} warm-up not counted")
    print(f"  executor runtime   {runtime}")
    if lat and bare:
        print(f"  bare python3       {bare:8.1f} ms (`python3 -c pass` on this host, medians of 20 "
              f"before and after the samples): p50 is {pct(lat, 50) / bare:.2f}x bare")
    if lat:
        print(f"  p50                {pct(lat, 50):8.1f} ms")
        print(f"  p90                {pct(lat, 90):8.1f} ms")
        print(f"  p99                {pct(lat, 99):8.1f} ms")
        print(f"  min                {min(lat):8.1f} ms")
        print(f"  max                {max(lat):8.1f} ms")
        print(f"  mean               {statistics.fmean(lat):8.1f} ms")
    if args.verbose:
        print("  every sample, ms: total | " + " | ".join(
            k.split(" (")[0] for k in next((s.parts for s in ok if s.parts), {})))
        for i, s in enumerate(samples):
            if s.ok:
                print(f"    {i + 1:4} {s.ms:7.1f} | " + " ".join(f"{v:6.1f}" for v in s.parts.values()))
            else:
                print(f"    {i + 1:4} error: {s.error}")
    thr = len(ok) / elapsed if elapsed > 0 else 0.0
    print(f"  throughput         {thr:8.1f} verdicts/s ({len(ok)} in {elapsed:.1f} s)")
    if ok:
        posts = [s.post_ms for s in ok]
        print(f"  POST -> 202        {statistics.median(posts):8.1f} ms median "
              "(the HTTP answer alone)")
        walls = [s.sandbox_wall_ms for s in ok if s.sandbox_wall_ms is not None]
        if walls:
            print(f"  sandbox wall_ms    {statistics.median(walls):8.1f} ms median "
                  "(the result's wall_ms = the executor log's wall_ms)")
    parted = [s.parts for s in ok if s.parts]
    if parted:
        print(f"  where the time goes (events' emitted_at, ms resolution, n={len(parted)}):")
        print(f"    {'':40} {'median':>7} {'mean':>7} {'p90':>7}  ms")
        for k in parted[0]:
            v = [p[k] for p in parted]
            print(f"    {k:40} {statistics.median(v):7.1f} {statistics.fmean(v):7.1f} "
                  f"{pct(v, 90):7.1f}")
    retried = sum(1 for s in ok if s.retried)
    if retried:
        print(f"  note: {retried} samples were retried by the executor (attempt > 1)")
    if rate_limited:
        print(f"  note: {rate_limited} POSTs got 429 and were retried after Retry-After "
              "(not timed)")
    for s in errors[:5]:
        print(f"  error: {s.error}")
    if len(errors) > 5:
        print(f"  ... and {len(errors) - 5} more errors")
    met = bool(lat) and runtimes == ["crun"] and args.concurrency == 1 \
        and pct(lat, 50) <= BUDGET_P50_MS
    if not lat:
        budget = "no figures"
    elif args.concurrency != 1:
        budget = f"p50 <= {BUDGET_P50_MS:.0f} ms applies to one submission in flight (--concurrency 1)"
    elif runtimes != ["crun"]:
        budget = f"p50 <= {BUDGET_P50_MS:.0f} ms applies to crun (runtime here: {runtime})"
    elif pct(lat, 50) <= BUDGET_P50_MS:
        budget = f"met (p50 {pct(lat, 50):.1f} <= {BUDGET_P50_MS:.0f} ms)"
    else:
        budget = f"NOT met (p50 {pct(lat, 50):.1f} > {BUDGET_P50_MS:.0f} ms)"
    print(f"  budget             {budget}")
    print()
    if lat:
        print(f"submit->verdict n={len(ok)} c={args.concurrency} p50={pct(lat, 50):.1f} "
              f"p90={pct(lat, 90):.1f} p99={pct(lat, 99):.1f} min={min(lat):.1f} "
              f"max={max(lat):.1f} ms thr={thr:.1f}/s runtime={runtime} errors={len(errors)} "
              f"budget={'met' if met else 'n/a' if args.concurrency != 1 or runtimes != ['crun'] else 'not met'}")
    else:
        print(f"submit->verdict n=0 errors={len(errors)}")
    return bool(errors) or not lat


if __name__ == "__main__":
    sys.exit(main())
