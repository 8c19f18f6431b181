"""chaoskit — the chaos suite's parts: the whole stack on a PostgreSQL and a
Redis of its own (the suite stops, kills and restarts them, and its services),
learners that submit steadily and retry the way the web app does, and
watchers that follow every accepted submission on a WebSocket, resuming after
the gateway goes away.

Every process is real: the five service binaries ($DOJO_BIN_DIR), Debian's
redis-server and PostgreSQL, the executor's crun sandbox. The kits of
tests/integration start them."""
import json
import os
import random
import secrets
import select
import threading
import time
from pathlib import Path

import authkit
import contentkit
import execkit
import gamekit
import gwkit
import serverkit
from dojo.executor.v1 import executor_pb2 as epb

CORRECT = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "a, b = map(int, input().split())\nprint(a - b)\n"
TASKS = ("chaos-sum", "chaos-add")


def now():
    return time.monotonic()


# ---------------------------------------------------------------------------
# The stack


class Stack:
    """PostgreSQL, Redis (append-only file: a restart keeps its data, as a
    production Redis does), auth, content, gamification, two executors
    (concurrency 1 each: the machine has two cores) and one gateway."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.pg = serverkit.PostgresServer().start()
        self.pg.psql("CREATE DATABASE dojo_chaos")
        self.redis = serverkit.RedisServer(self.workdir / "redis", persist=True).start()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DOJO_")}
        self.env.update({
            "DOJO_PG_URL": self.pg.url("dojo_chaos"),
            "DOJO_REDIS_ADDR": self.redis.addr,
            "DOJO_SERVICE_KEY": "svc-" + secrets.token_hex(16),
            "DOJO_PUBLIC_URL": "http://dojo.chaos",
            "DOJO_LOG_LEVEL": "info",
            "DOJO_RPC_DRAIN_GRACE": "3s",
        })
        self.procs = []
        self.executors = []
        self._exec_serial = 0

    def start(self):
        env = self.env
        auth_env = dict(env, DOJO_AUTH_MASTER_KEY=authkit_master_key(),
                        DOJO_MAIL_OUTBOX=str(self.workdir / "outbox"))
        self.auth = authkit.AuthProcess(auth_env, self.workdir / "auth", "auth-chaos").start(60)
        self.procs.append(self.auth)
        env["DOJO_AUTH_ADDR"] = self.auth.addr
        content_dir = self.workdir / "content"
        for slug in TASKS:
            # A roomy wall clock: CPU time decides, and this machine is busy.
            contentkit.write_task(content_dir / "tasks", contentkit.task(
                slug, title=slug, limits={"cpu_ms": 2000, "wall_ms": 30000}))
        (content_dir / "achievements").mkdir(parents=True, exist_ok=True)
        self.content = gamekit.ServiceProcess(
            "content", gamekit.binary("content"), dict(env, DOJO_CONTENT_DIR=str(content_dir)),
            self.workdir / "content-proc", "DOJO_CONTENT_ADDR", "DOJO_CONTENT_METRICS_ADDR"
        ).start(60)
        self.procs.append(self.content)
        env["DOJO_CONTENT_ADDR"] = self.content.addr
        self.game = gamekit.ServiceProcess(
            "gamification", gamekit.binary("gamification"), env, self.workdir / "game-proc",
            "DOJO_GAMIFICATION_ADDR", "DOJO_GAMIFICATION_METRICS_ADDR").start(60)
        self.procs.append(self.game)
        env["DOJO_GAMIFICATION_ADDR"] = self.game.addr
        for slot in range(2):
            self.executors.append(self.new_executor(slot))
        gw_env = dict(env, DOJO_EXECUTOR_ADDR=self.executors[0].addr,
                      DOJO_GATEWAY_RATE_LIMIT="100000",
                      DOJO_GATEWAY_ANON_RATE_LIMIT="100000",
                      DOJO_GATEWAY_WEB_DIR=str(self.workdir / "no-web"))
        self.gateway = gwkit.Gateway(gw_env, self.workdir / "gw-proc", "gateway-chaos").start(60)
        self.procs.append(self.gateway)
        return self

    def new_executor(self, slot):
        """An executor in slot `slot` with a new id (as a new pod would get),
        in the slot's work folder (its start removes what a killed one left)."""
        self._exec_serial += 1
        eid = f"chaos-exec-{slot}-{self._exec_serial}"
        env = dict(self.env)
        env.update({
            "DOJO_EXECUTOR_ID": eid,
            "DOJO_EXECUTOR_ROOTFS_DIR": str(gwkit.rootfs_dir()),
            "DOJO_EXECUTOR_LANGUAGES_DIR": str(gwkit.LANGUAGES_DIR),
            "DOJO_EXECUTOR_CONCURRENCY": "1",
            # A job left for another attempt (its result could not be
            # recorded) is claimed again after this (default 60 s).
            "DOJO_EXECUTOR_RECLAIM_IDLE": "10s",
        })
        e = execkit.ExecutorProcess(env, self.workdir / f"exec-slot-{slot}", eid,
                                    serverkit.free_port)
        e.start(timeout=90)
        self.procs.append(e)
        return e

    def kill_executor(self, slot):
        e = self.executors[slot]
        e.proc.kill()
        e.proc.wait()
        return e

    def stop(self):
        rcs = {}
        for p in reversed(self.procs):
            try:
                rcs[p.log_path.name] = p.stop()
            except Exception as e:  # a process that would not stop: kill it
                rcs[p.log_path.name] = repr(e)
                if p.proc and p.proc.poll() is None:
                    p.proc.kill()
        self.redis.kill()
        self.pg.destroy()
        return rcs

    def redis_client(self):
        return serverkit.Redis(self.redis.addr)

    def sql(self, query):
        """Rows of a query on the stack's database (| separated fields)."""
        out = self.pg.psql(query, db="dojo_chaos")
        return [line.split("|") for line in out.splitlines() if line]


def authkit_master_key():
    import base64
    return base64.b64encode(secrets.token_bytes(32)).decode()


# ---------------------------------------------------------------------------
# What clients saw


class Log:
    """Everything the clients saw, with monotonic times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.responses = []   # (t, status, retry_after, code) of every answer but 202
        self.conn_errors = []  # (t, what)
        self.clicks = []       # dicts: user, key, t_click, t_accept, id, gave_up, attempts
        self.violations = []   # what a client must never see

    def add(self, field, item):
        with self.lock:
            getattr(self, field).append(item)


class Learner(threading.Thread):
    """Submits, thinks, submits again until stopped. A click retries with
    the same idempotency key on no answer and on 503 (waiting Retry-After),
    as the web app does, for up to `click_budget` seconds."""

    def __init__(self, gw_addr, log, watcher, rng, think=2.0, click_budget=45.0):
        super().__init__(daemon=True)
        self.gw_addr = gw_addr
        self.log = log
        self.watcher = watcher
        self.rng = rng
        self.think = think
        self.click_budget = click_budget
        self.stop = threading.Event()
        c, reg, acct = register_retrying(gw_addr)
        self.client = c
        self.user_id = reg.json["user"]["id"]
        self.bearer = c.bearer

    def run(self):
        while not self.stop.is_set():
            self.click()
            self.stop.wait(self.think * (0.5 + self.rng.random()))

    def click(self):
        task = self.rng.choice(TASKS)
        code = CORRECT if self.rng.random() < 0.75 else WRONG
        key = secrets.token_hex(12)
        click = {"user": self.user_id, "key": key, "task": task, "correct": code == CORRECT,
                 "t_click": now(), "t_accept": None, "id": None, "gave_up": False,
                 "attempts": 0}
        self.log.add("clicks", click)
        body = {"task_slug": task, "language": "python3", "code": code, "idempotency_key": key}
        deadline = now() + self.click_budget
        while True:
            click["attempts"] += 1
            try:
                r = self.client.post("/api/v1/submissions", body)
            except OSError as e:
                self.log.add("conn_errors", (now(), f"{type(e).__name__}: {e}"))
                wait = 0.5
            else:
                if r.status == 202:
                    click["t_accept"] = now()
                    click["id"] = r.json["id"]
                    self.watcher.watch(click["id"])
                    return
                ra = r.header("Retry-After")
                code_s = (r.json.get("error", {}).get("code") if r.body else None)
                self.log.add("responses", (now(), r.status, ra, code_s))
                if r.status != 503 or not ra or not ra.isdigit():
                    self.log.add("violations", (now(), "POST /submissions", r.status, ra,
                                                r.body[:200]))
                    click["gave_up"] = True
                    return
                wait = min(int(ra), 3)
            if now() + wait > deadline or self.stop.is_set():
                click["gave_up"] = True
                return
            time.sleep(wait)


def register_retrying(gw_addr, budget=60):
    deadline = now() + budget
    while True:
        try:
            return gwkit.register(gw_addr, session="token")
        except (OSError, AssertionError):
            if now() > deadline:
                raise
            time.sleep(0.5)


class Watcher(threading.Thread):
    """One learner's WebSocket: subscribes to each accepted submission and
    keeps every event; when the connection goes, it connects again and
    resubscribes the unfinished ones after the last event id seen."""

    def __init__(self, gw_addr, bearer, log):
        super().__init__(daemon=True)
        self.gw_addr = gw_addr
        self.bearer = bearer
        self.log = log
        self.lock = threading.Lock()
        self.subs = {}      # id -> {"events": [(entry id, kind)], "done": bool}
        self.pending = []   # ids to subscribe
        self.stop = threading.Event()
        self.reconnects = 0
        self.ws = None

    def watch(self, sub_id):
        with self.lock:
            self.subs.setdefault(sub_id, {"events": [], "done": False, "t_done": None})
            self.pending.append(sub_id)

    def unfinished(self):
        with self.lock:
            return [s for s, v in self.subs.items() if not v["done"]]

    def _connect(self):
        ws = gwkit.WebSocket(self.gw_addr, bearer=self.bearer, timeout=5)
        if ws.status != 101:
            ws.sock.close()
            raise ConnectionError(f"handshake {ws.status}")
        return ws

    def _subscribe(self, ws, sub_id):
        with self.lock:
            ev = self.subs[sub_id]["events"]
            after = ev[-1][0] if ev else None
        msg = {"type": "subscribe", "submission_id": sub_id}
        if after:
            msg["after"] = after
        ws.send(msg)

    def run(self):
        first = True
        while not self.stop.is_set():
            try:
                self.ws = self._connect()
            except OSError:
                time.sleep(0.3)
                continue
            if not first:
                self.reconnects += 1
                with self.lock:
                    self.pending = [s for s, v in self.subs.items() if not v["done"]]
            first = False
            try:
                self._serve(self.ws)
            except (OSError, ConnectionError, ValueError):
                pass
            finally:
                try:
                    self.ws.sock.close()
                except OSError:
                    pass

    def _serve(self, ws):
        while not self.stop.is_set():
            with self.lock:
                todo, self.pending = self.pending, []
            for s in todo:
                self._subscribe(ws, s)
            # Wait for a frame without a timeout inside one: a frame read
            # half would be lost.
            if not ws.buf and not select.select([ws.sock], [], [], 0.3)[0]:
                continue
            m = ws.recv(timeout=15)
            if m is None:
                raise ConnectionError("closed by the gateway")
            self._on_message(m)

    def _on_message(self, m):
        t = m.get("type")
        sub = m.get("submission_id")
        with self.lock:
            v = self.subs.get(sub)
            if v is None:
                return
            if t == "event":
                v["events"].append((m["id"], m.get("kind")))
                if m.get("kind") == "result" and "verdict" not in v:
                    v["verdict"] = (m.get("result") or {}).get("verdict")
            elif t == "submission":
                v["events"].append(("stored", "submission"))
                v["verdict"] = (m.get("submission") or {}).get("verdict")
            elif t == "done":
                v["done"] = True
                v["t_done"] = now()
            elif t == "error":
                # A subscription refused while a service is away: try again.
                if m.get("code") in ("unavailable", "deadline_exceeded"):
                    self.pending.append(sub)
                else:
                    self.log.add("violations", (now(), "websocket", m))


# ---------------------------------------------------------------------------
# Faults and their figures


class Timeline:
    def __init__(self):
        self.t0 = now()
        self.faults = []  # dicts: name, start, end, notes

    def fault(self, name):
        f = {"name": name, "start": now(), "end": None, "notes": {}}
        self.faults.append(f)
        return f

    @staticmethod
    def end(f):
        f["end"] = now()


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def figures(timeline, log, watchers):
    """Per fault: how long until the first submission was accepted after the
    fault ended (recovery), the 503s answered during it, and the delay from
    acceptance to the final event on the WebSocket of submissions clicked
    during it (or up to 5 s before: those in flight when it struck)."""
    done_at = {}
    for w in watchers:
        with w.lock:
            for sid, v in w.subs.items():
                if v["t_done"]:
                    done_at[sid] = v["t_done"]
    clicks = list(log.clicks)
    rows = []
    for f in timeline.faults:
        start, end = f["start"], f["end"]
        after = [c["t_accept"] for c in clicks if c["t_accept"] and c["t_accept"] >= end]
        recovery = (min(after) - end) if after else None
        n503 = sum(1 for t, st, _, _ in log.responses if st == 503 and start <= t <= end + 2)
        delays = [done_at[c["id"]] - c["t_accept"] for c in clicks
                  if c["id"] in done_at and start - 5 <= c["t_click"] <= end]
        rows.append({"fault": f["name"], "lasted_s": round(end - start, 1),
                     "recovery_s": None if recovery is None else round(recovery, 2),
                     "503s": n503, "submissions": len(delays),
                     "verdict_delay_p50_s": rnd(pct(delays, 50)),
                     "verdict_delay_max_s": rnd(max(delays) if delays else None),
                     **f["notes"]})
    quiet = [done_at[c["id"]] - c["t_accept"] for c in clicks if c["id"] in done_at and
             not any(f["start"] - 5 <= c["t_click"] <= f["end"] + 5 for f in timeline.faults)]
    return rows, {"p50": rnd(pct(quiet, 50)), "max": rnd(max(quiet) if quiet else None),
                  "n": len(quiet)}


def rnd(x):
    return None if x is None else round(x, 2)


# The figures of the run, printed at the end of the pytest session
# (conftest.py's pytest_terminal_summary) whether or not output is captured.
REPORT = []


def report_table(rows, quiet, totals):
    cols = ["fault", "lasted_s", "recovery_s", "503s", "submissions", "verdict_delay_p50_s",
            "verdict_delay_max_s"]
    out = REPORT
    out.append("chaos figures (seconds; recovery = fault end -> first submission accepted; "
               "verdict delay = 202 -> final event on the WebSocket)")
    out.append("  " + "  ".join(f"{c:>19}" if i else f"{c:<42}" for i, c in enumerate(cols)))
    for r in rows:
        out.append("  " + "  ".join(f"{str(r.get(c)):>19}" if i else f"{str(r.get(c)):<42}"
                                    for i, c in enumerate(cols)))
        extra = {k: v for k, v in r.items() if k not in cols}
        if extra:
            out.append("  " + " " * 42 + "  " + json.dumps(extra))
    out.append(f"  no fault near: verdict delay p50 {quiet['p50']} s, max {quiet['max']} s "
               f"({quiet['n']} submissions)")
    out.append("  totals: " + json.dumps(totals))


def victim_in_flight(redis, consumer):
    """The submission id of the entry `consumer` holds (read, not yet
    acknowledged), or None."""
    try:
        pend = redis.cmd("XPENDING", "dojo:jobs", "executors", "-", "+", "10", consumer)
    except RuntimeError:
        return None
    for entry in pend or []:
        eid = entry[0].decode()
        rows = redis.cmd("XRANGE", "dojo:jobs", eid, eid)
        if rows:
            return epb.Job.FromString(rows[0][1][1]).submission_id
    return None


def rng_for(seed):
    return random.Random(seed)
