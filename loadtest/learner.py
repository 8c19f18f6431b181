"""learner.py — one simulated learner, behaving as the web app makes a person behave.

On arrival it signs in (POST /auth/login with a cookie session; or registers,
which signs in too), loads what the app loads (GET /me, the task list and the
learner's progress), opens the one WebSocket the app keeps, then, until the
measured phase ends, views pages and submits on the scenario's schedule:

  page views   tasks (GET /tasks, /me/progress), task (GET /tasks/{slug},
               /me/progress, /drafts/{slug}), dashboard (/me/progress,
               /achievements, /submissions), leaderboard (/leaderboards/all-time)
  submitting   the task page, a draft save (PUT /drafts/{slug}), sometimes a
               run with the first sample's stdin (POST /runs, followed to its
               first output and result), then POST /submissions with an
               idempotency key, subscribe on the WebSocket after the 202 and
               follow the events to the final `result` (without a WebSocket:
               poll GET /submissions/{id}/events, the app's fallback)

Programs: right (the task's own reference solution, must be `ac`), wrong
(`wa`), slow (the right one after 0.25 s of CPU per test, still `ac`), tle (an
endless loop: every test runs into the CPU limit) and hostile (a fork bomb, a
memory hog, an output flood, escape attempts: HOSTILE names the verdicts each
may get; never `ac` or `ie`, and no "ESCAPED" in any visible output).

A 401 refreshes the session once (POST /auth/refresh) and retries, as
web/src/api.ts does; a 503 with Retry-After (the gateway shedding load) is
tried again after the time it names, up to SHED_RETRIES times (counted as
`shed_retried`; an error only when the last try is refused too), as a person
clicks again when told to wait; a WebSocket that drops is reopened (bounded) and every
open subscription resumes with `after` = the last event id seen. Everything
measured goes to the run's Recorder; every wait is bounded by the scenario's
timeouts and the run's deadline.
"""
import asyncio
import json
import random
import time
import uuid
from pathlib import Path

from wire import Browser, WireError, learner_ip

REPO = Path(__file__).resolve().parents[1]
LANGUAGE = "python3"
SHED_RETRIES = 5
SHED_WAIT_MAX_S = 30.0

WRONG = 'import sys\nsys.stdin.read()\nprint("loadtest: a wrong answer")\n'
# A right answer after a quarter of a second of CPU per test: an inefficient
# solution that still passes (10 tests: ~2.5 s of sandbox CPU).
SLOW_PREFIX = ("import time as _lt_time\n_lt_t0 = _lt_time.process_time()\n"
               "while _lt_time.process_time() - _lt_t0 < 0.25:\n    pass\n")
# The endless loop: every test runs into the task's CPU limit.
ENDLESS = "while True:\n    pass\n"
HOSTILE = {
    "forkbomb": ("import os\nwhile True:\n    try:\n        os.fork()\n"
                 "    except OSError:\n        pass\n", {"tle", "re", "mle"}),
    "memory": ("blocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))\n",
               {"mle", "re"}),
    "output": ('import sys\nwhile True:\n    sys.stdout.write("x" * 65536)\n', {"ole", "re", "tle"}),
    "escape": ("import os, socket\n"
               "tries = [lambda: open('/etc/shadow').read(),\n"
               "         lambda: open('/judge/planted', 'w').write('x'),\n"
               "         lambda: socket.create_connection(('127.0.0.1', 22), timeout=1),\n"
               "         lambda: os.setuid(0),\n"
               "         lambda: open('/proc/sysrq-trigger', 'w').write('h')]\n"
               "for i, t in enumerate(tries):\n"
               "    try:\n        t()\n        print('ESCAPED', i)\n"
               "    except Exception:\n        pass\n"
               "raise SystemExit(3)\n", {"re", "wa"}),
}


def load_task_programs(slug):
    """(right code, first sample's (stdin, expected)) from the shipped task file
    content/tasks/<slug>.json; KeyError with a reason when it has none."""
    path = REPO / "content" / "tasks" / f"{slug}.json"
    try:
        doc = json.loads(path.read_text())
    except OSError:
        raise KeyError(f"task {slug}: no {path.relative_to(REPO)}") from None
    right = [r["code"] for r in doc.get("reference_solutions", [])
             if r.get("language") == LANGUAGE and r.get("expected_verdict", "ac") == "ac"]
    if not right:
        raise KeyError(f"task {slug}: no {LANGUAGE} reference solution with verdict ac")
    sample = next((t for t in doc.get("tests", []) if not t.get("hidden")), None)
    if sample is None:
        raise KeyError(f"task {slug}: no visible test for a run's stdin")
    return right[0], (sample["input"], sample["expected"])


def pick(rng, weights):
    """A key of weights ({name: weight >= 0}, some > 0) drawn by weight."""
    total = sum(weights.values())
    x = rng.random() * total
    for k, w in weights.items():
        x -= w
        if x < 0 and w > 0:
            return k
    return max(weights, key=weights.get)


class Sub:
    """One accepted submission or run, as the learner saw it."""
    __slots__ = ("id", "kind", "program", "variant", "task", "learner", "t_post", "t_accepted",
                 "t_first_output", "t_result", "verdict", "passed", "total", "results", "attempt",
                 "last_seq", "last_id", "seen_ids", "done", "stdout", "escaped", "expected_out")

    def __init__(self, sid, kind, program, variant, task, learner, t_post, t_accepted):
        self.id, self.kind, self.program, self.variant = sid, kind, program, variant
        self.task, self.learner, self.t_post, self.t_accepted = task, learner, t_post, t_accepted
        self.t_first_output = self.t_result = None
        self.verdict = self.passed = self.total = None
        self.results = 0
        self.attempt = 1
        self.last_seq = 0
        self.last_id = None
        self.seen_ids = set()
        self.done = asyncio.Event()
        self.stdout = []
        self.escaped = False
        self.expected_out = None


def retry_after(r):
    """A 503's Retry-After in seconds (bounded), or None without one."""
    try:
        return min(max(float(r.header("retry-after")), 0.1), SHED_WAIT_MAX_S)
    except (TypeError, ValueError):
        return None


class Learner:
    def __init__(self, run, i):
        self.run, self.i = run, i
        s = run.scenario
        self.s = s
        self.rng = random.Random(s["seed"] * 1000003 + i)
        self.username = f"{run.tag}_{i:05d}"
        self.b = Browser(run.host, run.port, learner_ip(i), s["timeouts"]["request_s"])
        self.subs = {}  # id -> Sub, open subscriptions on the WebSocket
        self.ws_wanted = s["websocket"]["hold"]
        self.ws_reconnects = 0
        self.reconnecting = None
        self.submitted = 0
        self.signed_in = False

    # ---- HTTP with the web app's session handling --------------------------

    async def call(self, method, path, body=None, label=None, expect=(200,)):
        """A request as the app makes it; None when it failed (already tallied)."""
        rec = self.run.rec
        label = label or f"{method} {path.split('?')[0]}"
        refreshed, shed = False, 0
        for _ in range(2 + SHED_RETRIES):
            try:
                r = await self.b.request(method, path, body)
            except WireError as e:
                rec.error(f"{e.kind} {label}")
                return None
            rec.http(label, r.ms, r.status)
            wait = retry_after(r) if r.status == 503 else None
            if wait is not None and shed < SHED_RETRIES and self.run.active():
                shed += 1
                rec.count("shed_retried")
                await asyncio.sleep(wait)
                continue
            if r.status == 401 and not refreshed and "dojo_csrf" in self.b.cookies:
                refreshed = True
                if await self.refresh():
                    continue
            if r.status not in expect:
                rec.error(f"HTTP {r.status} {label}")
                return None
            return r
        return None

    async def refresh(self):
        try:
            r = await self.b.request("POST", "/api/v1/auth/refresh", {})
        except WireError as e:
            self.run.rec.error(f"{e.kind} POST /api/v1/auth/refresh")
            return False
        self.run.rec.http("POST /api/v1/auth/refresh", r.ms, r.status)
        if r.status == 200:
            self.run.rec.count("sessions_refreshed")
            return True
        self.run.rec.error(f"HTTP {r.status} POST /api/v1/auth/refresh")
        return await self.sign_in()  # signed out: the learner signs in again

    def account(self):
        return {"email": f"{self.username}@loadtest.example.org", "username": self.username,
                "password": self.run.password}

    async def register(self):
        body = dict(self.account(), session="cookie")
        r = await self.call("POST", "/api/v1/auth/register", body, expect=(201,))
        return r is not None

    async def sign_in(self):
        if self.s["sign_in"]["mode"] == "register" and not self.signed_in:
            ok = await self.register()
        else:
            a = self.account()
            r = await self.call("POST", "/api/v1/auth/login",
                                {"login": a["username"], "password": a["password"]})
            ok = r is not None
        self.signed_in = self.signed_in or ok
        return ok

    # ---- the WebSocket -------------------------------------------------------

    async def open_ws(self):
        rec = self.run.rec
        for attempt in range(2):
            try:
                status, ms = await self.b.open_ws(self.on_ws_message, self.on_ws_close)
            except WireError as e:
                rec.error(f"{e.kind} WebSocket open")
                return False
            if status == 101:
                rec.ws_opened(ms)
                return True
            rec.error(f"HTTP {status} WebSocket open")
            if status == 401 and attempt == 0 and await self.refresh():
                continue
            return False
        return False

    def on_ws_close(self, reason):
        rec = self.run.rec
        rec.ws_closed(expected=reason == "closed by the client")
        self.b.ws = None
        if reason != "closed by the client":
            rec.error(f"WebSocket {reason}")
            if self.run.active() and self.ws_reconnects < 5 and self.reconnecting is None:
                self.reconnecting = asyncio.get_running_loop().create_task(self.reopen_ws())

    async def reopen_ws(self):
        try:
            while self.run.active() and self.ws_reconnects < 5:
                self.ws_reconnects += 1
                await asyncio.sleep(min(8.0, 0.5 * 2 ** self.ws_reconnects) * self.rng.random())
                if await self.open_ws():
                    self.run.rec.count("websocket_reconnects")
                    for sub in list(self.subs.values()):
                        self.subscribe(sub)
                    return
        finally:
            self.reconnecting = None

    def subscribe(self, sub):
        msg = {"type": "subscribe", "submission_id": sub.id}
        if sub.last_id:
            msg["after"] = sub.last_id
        try:
            self.b.ws.send(msg)
        except (WireError, AttributeError):
            pass  # closed: reopen_ws resubscribes

    def on_ws_message(self, m, t):
        sub = self.subs.get(m.get("submission_id"))
        typ = m.get("type")
        if typ == "error":
            self.run.rec.error(f"WebSocket error {m.get('code')}")
            if sub is not None and m.get("code") in ("not_found", "permission_denied"):
                sub.done.set()
            return
        if sub is None:
            return
        if typ == "event":
            self.on_event(sub, m, t)
        elif typ == "submission":  # the event stream had expired: the whole result
            s = m.get("submission") or {}
            if s.get("state") == "finished":
                tests = s.get("tests") or []
                self.finish(sub, t, s.get("verdict"),
                            sum(1 for x in tests if x.get("verdict") == "ac"), len(tests))
            sub.done.set()
        elif typ == "done":
            if sub.t_result is None:
                self.run.rec.error("WebSocket done before a result")
            sub.done.set()

    def on_event(self, sub, e, t):
        rec = self.run.rec
        eid, seq, attempt = e.get("id"), e.get("seq") or 0, e.get("attempt") or 1
        if eid in sub.seen_ids:
            rec.count("events_repeated")
            return
        sub.seen_ids.add(eid)
        sub.last_id = eid
        if attempt > sub.attempt:  # a redelivered job starts over
            sub.attempt = attempt
            sub.last_seq = 0
            sub.stdout.clear()
            rec.count("attempts_restarted")
        elif seq and seq <= sub.last_seq and attempt == sub.attempt:
            rec.count("events_out_of_order")
        sub.last_seq = max(sub.last_seq, seq)
        kind = e.get("kind")
        if kind == "stdout":
            if sub.t_first_output is None:
                sub.t_first_output = t
            sub.stdout.append(e.get("data") or "")
        elif kind == "test_result":
            test = e.get("test") or {}
            if "ESCAPED" in (test.get("output_excerpt") or ""):
                sub.escaped = True
        elif kind == "result":
            r = e.get("result") or {}
            self.finish(sub, t, r.get("verdict"), r.get("tests_passed"), r.get("tests_total"))

    def finish(self, sub, t, verdict, passed, total):
        rec = self.run.rec
        sub.results += 1
        if sub.results > 1:
            rec.count("results_duplicated")
            return
        sub.t_result, sub.verdict, sub.passed, sub.total = t, verdict, passed, total
        rec.finished(sub)

    # ---- page views ------------------------------------------------------------

    async def page(self, kind, slug=None):
        t0 = time.monotonic()
        slug = slug or self.rng.choice(self.run.browse_slugs)
        api = "/api/v1"
        if kind == "tasks":
            reqs = [("GET", f"{api}/tasks?page_size=500", "GET /api/v1/tasks"),
                    ("GET", f"{api}/me/progress", None)]
        elif kind == "task":
            reqs = [("GET", f"{api}/tasks/{slug}", "GET /api/v1/tasks/{slug}"),
                    ("GET", f"{api}/me/progress", None),
                    ("GET", f"{api}/drafts/{slug}?language={LANGUAGE}", "GET /api/v1/drafts/{slug}")]
        elif kind == "dashboard":
            reqs = [("GET", f"{api}/me/progress", None), ("GET", f"{api}/achievements", None),
                    ("GET", f"{api}/submissions?kind=submit&page_size=15", "GET /api/v1/submissions")]
        else:
            reqs = [("GET", f"{api}/leaderboards/all-time?page_size=50",
                     "GET /api/v1/leaderboards/{board}")]
        ok = True
        for method, path, label in reqs:
            r = await self.call(method, path, label=label, expect=(200, 404) if "drafts" in path
                                else (200,))
            ok = ok and r is not None
        self.run.rec.page(kind, (time.monotonic() - t0) * 1000.0, ok)

    # ---- submissions and runs ---------------------------------------------------

    async def follow(self, sub, timeout):
        """Waits for sub's final result (WebSocket, or polling without one)."""
        self.subs[sub.id] = sub
        try:
            if self.b.ws is not None:
                self.subscribe(sub)
                try:
                    async with asyncio.timeout(timeout):
                        await sub.done.wait()
                except TimeoutError:
                    pass
            else:
                await self.poll(sub, timeout)
            if sub.t_result is None and self.run.active():
                # The learner gives up waiting (the run checks the server's
                # side at the end: finished unseen, or lost).
                self.run.rec.error(f"no {sub.kind} result within {timeout:.0f} s")
        finally:
            self.subs.pop(sub.id, None)
            if self.b.ws is not None and not sub.done.is_set():
                try:
                    self.b.ws.send({"type": "unsubscribe", "submission_id": sub.id})
                except WireError:
                    pass

    async def poll(self, sub, timeout):
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout) + 1):
            if time.monotonic() >= deadline or sub.done.is_set():
                return
            path = f"/api/v1/submissions/{sub.id}/events"
            if sub.last_id:
                path += f"?after={sub.last_id}"
            r = await self.call("GET", path, label="GET /api/v1/submissions/{id}/events")
            doc = r.json() if r else None
            if doc:
                t = time.monotonic()
                for e in doc.get("events") or []:
                    self.on_event(sub, e, t)
                if doc.get("done"):
                    sub.done.set()
                    return
            await asyncio.sleep(1.0)

    async def post_job(self, path, body, kind, program, variant, task):
        """POST /runs or /submissions; the accepted Sub, or None."""
        rec = self.run.rec
        t0 = time.monotonic()
        label = f"POST {path}"
        rec.count(f"{kind}s_posted")
        try:
            r = await self.b.request("POST", path, body)
        except WireError as e:
            rec.error(f"{e.kind} {label}")
            return None
        rec.http(label, r.ms, r.status)
        if r.status == 401 and await self.refresh():
            t0 = time.monotonic()
            try:
                r = await self.b.request("POST", path, body)
            except WireError as e:
                rec.error(f"{e.kind} {label}")
                return None
            rec.http(label, r.ms, r.status)
        if r.status == 429:
            rec.count("rate_limited")
            rec.error(f"HTTP 429 {label}")
            return None
        doc = r.json() or {}
        if r.status != 202 or not doc.get("id"):
            rec.error(f"HTTP {r.status} {label}")
            return None
        sub = Sub(doc["id"], kind, program, variant, task, self.i, t0, time.monotonic())
        rec.accepted(sub)
        return sub

    async def run_stdin(self, task):
        right, (stdin, expected) = self.run.programs[task]
        sub = await self.post_job("/api/v1/runs", {"task_slug": task, "language": LANGUAGE,
                                                   "code": right, "stdin": stdin},
                                  "run", "right", "", task)
        if sub is None:
            return
        sub.expected_out = expected
        await self.follow(sub, self.s["timeouts"]["verdict_s"])

    async def submit(self):
        s = self.s
        task = self.rng.choice(s["submit"]["tasks"])
        program, variant = self.run.next_program(self.rng)
        if program == "right":
            code = self.run.programs[task][0]
        elif program == "wrong":
            code = WRONG
        elif program == "slow":
            code = SLOW_PREFIX + self.run.programs[task][0]
        elif program == "tle":
            code = ENDLESS
        else:
            code = HOSTILE[variant][0]
        await self.page("task", task)
        await self.call("PUT", f"/api/v1/drafts/{task}", {"language": LANGUAGE, "code": code},
                        label="PUT /api/v1/drafts/{slug}")
        if self.rng.random() < s["submit"]["run_first"]:
            await self.run_stdin(task)
        body = {"task_slug": task, "language": LANGUAGE, "code": code,
                "idempotency_key": str(uuid.UUID(int=self.rng.getrandbits(128)))}
        self.submitted += 1
        sub = await self.post_job("/api/v1/submissions", body, "submission", program, variant, task)
        if sub is not None:
            await self.follow(sub, s["timeouts"]["verdict_s"])

    # ---- a learner's life ------------------------------------------------------

    def gap(self, mean):
        return self.rng.expovariate(1.0 / mean)

    async def live(self):
        run, s = self.run, self.s
        try:
            await run.sleep_until(run.arrival(self.i))
            if not run.active():
                return
            run.rec.count("learners_arrived")
            if not await self.sign_in():
                run.rec.count("learners_not_signed_in")
                return
            await self.call("GET", "/api/v1/me")
            if self.ws_wanted:
                await self.open_ws()
            run.rec.count("learners_ready")
            if s["browse"]["every_s"] == 0 and s["submit"]["schedule"] == "none":
                self.b.close_http()  # an idle tab: the browser drops its keep-alive connection
            end = s["duration_s"]
            now = run.now()
            sub_cfg = s["submit"]
            browse_every = s["browse"]["every_s"]
            pages = s["browse"]["pages"]
            if browse_every > 0:
                await self.page("tasks")
            if sub_cfg["schedule"] == "periodic":
                submit_at = [now + self.rng.uniform(0, sub_cfg["first_within_s"])]
            elif sub_cfg["schedule"] == "window":
                w0 = sub_cfg["window_start_s"]
                submit_at = sorted(w0 + self.rng.uniform(0, sub_cfg["window_s"])
                                   for _ in range(sub_cfg["per_learner"]))
            else:
                submit_at = []
            next_browse = run.now() + self.gap(browse_every) if browse_every > 0 else None
            limit = sub_cfg["max_per_learner"]
            for _ in range(limit + 100000):  # bounded; ends by time or schedule
                now = run.now()
                if now >= end or not run.active():
                    break
                due_sub = submit_at[0] if submit_at and self.submitted < limit else None
                due = min(x for x in (due_sub, next_browse, end) if x is not None)
                if due > now:
                    await run.sleep_until(due)
                    continue
                if due_sub is not None and due_sub <= now:
                    submit_at.pop(0)
                    if sub_cfg["schedule"] == "periodic":
                        submit_at.append(due_sub + self.gap(sub_cfg["every_s"]))
                    await self.submit()
                elif next_browse is not None and next_browse <= now:
                    await self.page(pick(self.rng, pages))
                    next_browse = max(next_browse + self.gap(browse_every), run.now())
            # Hold the WebSocket until the measured phase ends (idle learners).
            await run.sleep_until(end)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 — one learner's bug must not end the run
            run.rec.error(f"learner crashed: {type(e).__name__}: {e}"[:200])
        finally:
            if self.reconnecting is not None:
                self.reconnecting.cancel()
            self.ws_wanted = False
            await self.b.close()
