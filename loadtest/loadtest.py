#!/usr/bin/python3
"""loadtest.py — simulated learners against a Dojo gateway, and what it costs.

    ./dojo loadtest [SCENARIO] [-- ARGS]      a stack of its own (the usual way)
    /usr/bin/python3 loadtest/loadtest.py SCENARIO --base-url http://127.0.0.1:PORT \\
        [--redis 127.0.0.1:PORT] [--pid gateway=PID ...] [--set learners=700 ...] [--out DIR]

SCENARIO is a file (loadtest/scenarios/*.toml, see scenario.py for its
fields) or the name of a shipped one: smoke, steady, burst, idle-websockets,
soak. Each learner (learner.py) has an account of its own, connects from an
address of its own in 127.16.0.0/12 (so per-user and per-IP rate limits see
distinct learners) and behaves as the web app makes a person behave.

What it reports (printed, and in DIR/result.json): submit → verdict and
run → first output (p50/p90/p99/max), per page and per endpoint latency,
errors by kind, submissions accepted but never finalised (lost) or finalised
twice (duplicated), the verdicts per program kind, the job queue over time
(XINFO GROUPS dojo:jobs: pending and lag of the executors' group), each
watched process tree's CPU and memory from /proc — the generator's own
included, so one can see it is not the bottleneck — and, for long runs, the
growth of memory, open files and latency. DIR/plot.svg draws latency, queue,
CPU, memory and open WebSockets over time.

Exit status: 0 when the run is clean (nothing lost or duplicated, no
unexpected verdict, no escape, errors within the scenario's expect.max_errors),
1 otherwise, 2 on a usage or setup error.

Why Python asyncio on the standard library: one event loop holds thousands
of learners and ten thousand idle sockets in one process with a few KiB
each, and Debian's python3 is already on every machine that runs Dojo's
tests. aiohttp (Debian 12: python3-aiohttp 3.8.4) would bring C parsers, but
one ClientSession per learner (each needs its own cookie jar and its own
source address) costs far more memory than a bare stream pair, and the
protocol parts this needs are small. Its own CPU is measured in every run.
"""
import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import plot  # noqa: E402
import probe  # noqa: E402
import scenario as scen  # noqa: E402
import stats  # noqa: E402
from learner import HOSTILE, Learner, load_task_programs, pick  # noqa: E402
from wire import Browser, WireError, learner_ip  # noqa: E402

REPO = HERE.parent
EXPECTED = {"right": {"ac"}, "wrong": {"wa"}, "slow": {"ac"}, "tle": {"tle"}}


class SetupError(Exception):
    pass


# ---------------------------------------------------------------------------
# What happened


class Recorder:
    def __init__(self, t0, bucket_s):
        self.t0 = t0
        self.errors = Counter()
        self.counters = Counter()
        self.http_ms = defaultdict(list)
        self.http_status = defaultdict(Counter)
        self.pages = defaultdict(list)
        self.subs = {}
        self.b = stats.Buckets(bucket_s)
        self.ws_open = 0
        self.ws_max = 0
        self.ws_open_ms = []
        self.verdicts = defaultdict(Counter)  # program[/variant] -> verdict -> n
        self.lat = defaultdict(list)
        self.by_program = defaultdict(list)  # program[/variant] -> submit → verdict ms

    def rel(self, t):
        return t - self.t0

    def now(self):
        return time.monotonic() - self.t0

    def error(self, kind):
        self.errors[kind] += 1
        self.b.add("errors", self.now())

    def count(self, name, n=1):
        self.counters[name] += n

    def http(self, label, ms, status):
        self.http_ms[label].append(ms)
        self.http_status[label][status] += 1

    def page(self, kind, ms, ok):
        self.pages[kind].append(ms)
        if not ok:
            self.count(f"pages_failed_{kind}")

    def ws_opened(self, ms):
        self.ws_open += 1
        self.ws_max = max(self.ws_max, self.ws_open)
        self.ws_open_ms.append(ms)
        self.count("websockets_opened")

    def ws_closed(self, expected):
        self.ws_open -= 1
        if not expected:
            self.count("websockets_dropped")

    def accepted(self, sub):
        self.subs[sub.id] = sub
        self.count(f"{sub.kind}s_accepted")
        self.lat[f"{sub.kind}_accept_ms"].append((sub.t_accepted - sub.t_post) * 1000.0)
        self.b.add(f"{sub.kind}s", self.rel(sub.t_post))

    def finished(self, sub):
        ms = (sub.t_result - sub.t_post) * 1000.0
        t_sub = self.rel(sub.t_post)
        key = sub.program + (f"/{sub.variant}" if sub.variant else "")
        if sub.kind == "run":
            self.lat["run_result_ms"].append(ms)
            if sub.t_first_output is not None:
                self.lat["run_first_output_ms"].append((sub.t_first_output - sub.t_post) * 1000.0)
                self.b.add("run_first_output_ms", t_sub,
                           (sub.t_first_output - sub.t_post) * 1000.0)
            else:
                self.error("run without output")
            got = "".join(sub.stdout)
            if sub.expected_out is not None and got.rstrip() != sub.expected_out.rstrip():
                self.error("run output differs from the sample's")
            self.verdicts[f"run/{key}"][sub.verdict] += 1
            return
        self.lat["submit_verdict_ms"].append(ms)
        self.by_program[key].append(ms)
        self.b.add("verdict_ms", t_sub, ms)
        self.b.add("verdicts", self.rel(sub.t_result))
        self.verdicts[key][sub.verdict] += 1
        want = EXPECTED.get(sub.program) or HOSTILE.get(sub.variant, (None, set()))[1]
        if sub.verdict not in want:
            self.error(f"verdict {sub.verdict} for a {key} program")
        elif sub.program in ("right", "slow") and sub.passed != sub.total:
            self.error(f"ac with {sub.passed}/{sub.total} tests")
        if sub.escaped:
            self.count("escapes")
            self.error(f"sandbox escape: {key} printed ESCAPED")


# ---------------------------------------------------------------------------
# The run


class Run:
    def __init__(self, s, host, port):
        self.scenario = s
        self.host, self.port = host, port
        self.tag = "lt" + secrets.token_hex(3)
        self.password = "pw-" + secrets.token_hex(12)
        self.t0 = time.monotonic()
        self.rec = Recorder(self.t0, s["report"]["bucket_s"])
        self.programs = {}
        self.browse_slugs = []
        self.deadline = s["duration_s"] + s["drain_s"]
        self.stopped = False
        self.dealt = Counter()
        self.dealt_hostile = 0

    def now(self):
        return time.monotonic() - self.t0

    def next_program(self, rng):
        """(program kind, hostile variant or "") of the next submission."""
        sub = self.scenario["submit"]
        mix = sub["mix"]
        if sub["order"] == "random":
            kind = pick(rng, mix)
            variant = rng.choice(sub["hostile"]) if kind == "hostile" else ""
            return kind, variant
        # Dealt: smooth weighted round robin, one sequence for all learners.
        total = sum(mix.values())
        for k, w in mix.items():
            self.dealt[k] += w
        kind = max(mix, key=lambda k: (self.dealt[k], -list(mix).index(k)))
        self.dealt[kind] -= total
        variant = ""
        if kind == "hostile":
            variant = sub["hostile"][self.dealt_hostile % len(sub["hostile"])]
            self.dealt_hostile += 1
        return kind, variant

    def active(self):
        return not self.stopped and self.now() < self.deadline

    def arrival(self, i):
        return scen.arrival_offset(self.scenario, i)

    async def sleep_until(self, t):
        d = min(t, self.deadline) - self.now()
        if d > 0:
            await asyncio.sleep(d)

    def start_clock(self):
        self.t0 = time.monotonic()
        self.rec = Recorder(self.t0, self.scenario["report"]["bucket_s"])


async def check_stack(run, log):
    """The gateway answers, the scenario's tasks are there; fills
    run.programs and run.browse_slugs."""
    b = Browser(run.host, run.port, "127.0.0.1", 10)
    try:
        r = await b.request("GET", "/api/v1/health")
        if r.status != 200:
            raise SetupError(f"GET /api/v1/health: HTTP {r.status}")
        r = await b.request("GET", "/api/v1/tasks?page_size=500")
        if r.status != 200:
            raise SetupError(f"GET /api/v1/tasks: HTTP {r.status}")
        listed = [t["slug"] for t in (r.json() or {}).get("tasks", [])]
    except WireError as e:
        raise SetupError(f"the gateway at {run.host}:{run.port} does not answer: {e}") from None
    finally:
        await b.close()
    for slug in run.scenario["submit"]["tasks"]:
        if slug not in listed:
            raise SetupError(f"task {slug} is not among the gateway's {len(listed)} tasks")
        try:
            run.programs[slug] = load_task_programs(slug)
        except KeyError as e:
            raise SetupError(str(e.args[0])) from None
    run.browse_slugs = listed or list(run.programs)
    log(f"gateway {run.host}:{run.port}: {len(listed)} tasks; submitting to "
        f"{', '.join(run.scenario['submit']['tasks'])}")


async def make_accounts(run, learners, log):
    """Registers every learner's account before the clock starts (mode
    "login": an institution's learners exist before the lesson)."""
    n = len(learners)
    sem = asyncio.Semaphore(run.scenario["sign_in"]["setup_concurrency"])
    done = [0]
    t0 = time.monotonic()

    async def one(lr):
        async with sem:
            for _ in range(3):
                if await lr.register():
                    break
                await asyncio.sleep(1)
            await lr.b.close()
            lr.b.cookies.clear()
            done[0] += 1
            if done[0] % max(1, n // 10) == 0 or done[0] == n:
                log(f"accounts: {done[0]}/{n} ({time.monotonic() - t0:.0f} s)")

    await asyncio.gather(*(one(lr) for lr in learners))
    if run.rec.errors:
        raise SetupError(f"making accounts failed: {dict(run.rec.errors.most_common(5))}")
    return time.monotonic() - t0


async def classify_lost(run, learners):
    """Accepted submissions and runs without a final result: is the server
    done with them (the learner missed the result) or not (lost)?"""
    out = {"pending": 0, "finished_unseen": 0, "unknown": 0, "ids": []}
    by_learner = {lr.i: lr for lr in learners}
    for sub in run.rec.subs.values():
        if sub.t_result is not None:
            continue
        lr = by_learner[sub.learner]
        r = await lr.call("GET", f"/api/v1/submissions/{sub.id}",
                          label="GET /api/v1/submissions/{id} (after the run)")
        doc = r.json() if r else None
        state = (doc or {}).get("state")
        key = {"pending": "pending", "finished": "finished_unseen"}.get(state, "unknown")
        out[key] += 1
        if len(out["ids"]) < 20:
            out["ids"].append({"id": sub.id, "kind": sub.kind, "state": state,
                               "verdict": (doc or {}).get("verdict")})
        await lr.b.close()
    return out


async def execute(s, args, log):
    u = urlsplit(args.base_url)
    if u.scheme != "http" or not u.hostname or not u.hostname.startswith("127."):
        raise SetupError("--base-url must be http://127.x.y.z:PORT: load goes to loopback only")
    run = Run(s, u.hostname, u.port or 80)
    await check_stack(run, log)
    learners = [Learner(run, i) for i in range(s["learners"])]
    setup_s = 0.0
    if s["sign_in"]["mode"] == "login":
        log(f"making {len(learners)} accounts ({s['sign_in']['setup_concurrency']} at a time)")
        setup_s = await make_accounts(run, learners, log)

    roots = dict(args.pid)
    roots["loadtest"] = os.getpid()
    procs = probe.ProcProbe(roots)
    queue = probe.QueueProbe(args.redis) if args.redis else None
    samples = {"proc": [], "queue": []}
    bare = [await asyncio.to_thread(probe.bare_python_ms)]
    run.start_clock()
    load_before = os.getloadavg()
    started = datetime.now(timezone.utc)
    log(f"run {run.tag}: {s['learners']} learners, {s['duration_s']:.0f} s "
        f"(+ up to {s['drain_s']:.0f} s drain)")
    done_probing = [False]
    probe_task = asyncio.create_task(probe.run_probes(
        procs, queue, run.t0, lambda: done_probing[0] or not run.active(), samples,
        on_sample=lambda t: run.rec.b.add("ws_open", t, run.rec.ws_open)))
    tasks = [asyncio.create_task(lr.live()) for lr in learners]

    async def progress():
        while run.active():
            await asyncio.sleep(args.progress)
            r = run.rec
            lat = r.lat["submit_verdict_ms"][-200:]
            q = samples["queue"][-1][1] if samples["queue"] else {}
            log(f"t={run.now():5.0f} s  ready {r.counters['learners_ready']:5d}  ws "
                f"{r.ws_open:5d}  submitted {r.counters['submissions_accepted']:6d}  "
                f"verdicts {len(r.lat['submit_verdict_ms']):6d}  p99(last 200) "
                f"{(stats.pct(lat, 99) if lat else 0):7.0f} ms  lag {q.get('lag')} pending "
                f"{q.get('pending')}  errors {sum(r.errors.values())}"
                + "".join(f" | {k} ×{n}" for k, n in r.errors.most_common(2)))

    prog = asyncio.create_task(progress()) if args.progress > 0 else None
    try:
        await asyncio.wait(tasks, timeout=max(1.0, run.deadline - run.now() + 5))
    finally:
        pending = [t for t in tasks if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=30)
            run.rec.count("learners_cut_at_deadline", len(pending))
        measured_s = run.now()
        run.stopped = True
        if prog:
            prog.cancel()
    # One last queue sample once the verdicts are in: what never drained.
    queue_end = None
    all_final = all(x.t_result is not None for x in run.rec.subs.values())
    for _ in range(10 if queue else 0):  # the last acknowledgement follows the result
        queue_end = await asyncio.to_thread(queue.sample)
        if not all_final or not queue_end or not (queue_end.get("pending")
                                                  or queue_end.get("lag")):
            break
        await asyncio.sleep(0.5)
    done_probing[0] = True
    await asyncio.wait([probe_task], timeout=10)
    lost = await classify_lost(run, learners)
    if queue:
        queue.close()
    bare.append(await asyncio.to_thread(probe.bare_python_ms))
    try:
        return build_report(run, s, samples, lost, queue_end, setup_s, measured_s, started,
                            load_before, bare)
    except Exception:
        # A bug in the report must not throw away what a long run saw.
        (args.out_dir / "raw.json").write_text(json.dumps({
            "errors": dict(run.rec.errors), "counters": dict(run.rec.counters),
            "lost": lost, "queue_end": queue_end, "proc": samples["proc"],
            "queue": samples["queue"]}, default=_jsonable) + "\n")
        log(f"the report failed; the raw figures are in {args.out_dir / 'raw.json'}")
        raise


# ---------------------------------------------------------------------------
# The report


def steady_window(s, measured_s):
    """Where per-service CPU means are taken: from the last arrival (plus one
    bucket) to the end of the measured phase; for a burst, from its start to
    the end of the drain."""
    if s["submit"]["schedule"] == "window":
        return s["submit"]["window_start_s"], measured_s
    a = scen.arrivals_end(s) + s["report"]["bucket_s"]
    b = min(s["duration_s"], measured_s)
    if b - a < 2:
        a = 0.0
    return a, b


def settled_window(s, measured_s):
    """Where submit → verdict is taken for the "held" figure: submissions
    posted after the last arrival's first one was due (the periodic
    schedule's first submission is uniform within first_within_s, then
    every_s apart, so until then the asked rate overshoots the steady one, up
    to twice it for the first learners) to the end of the measured phase.
    None for other schedules or when that leaves under one bucket."""
    if s["submit"]["schedule"] != "periodic":
        return None
    a = scen.arrivals_end(s) + s["submit"]["first_within_s"]
    b = min(s["duration_s"], measured_s)
    return (a, b) if b - a >= s["report"]["bucket_s"] else None


def build_report(run, s, samples, lost, queue_end, setup_s, measured_s, started, load_before,
                 bare):
    rec = run.rec
    t_a, t_b = steady_window(s, measured_s)
    width = s["report"]["bucket_s"]
    nb = int(measured_s // width) + 1
    ts = [round(k * width, 3) for k in range(nb)]

    names = sorted({n for _, p, _ in samples["proc"] for n in p})
    services = {}
    cpu_series, rss_series = {}, {}
    growth = {}
    for n in names:
        cpu = [(t, p[n]["cpu_s"]) for t, p, _ in samples["proc"] if p.get(n, {}).get("alive")]
        rss = [(t, p[n]["rss_kib"] / 1024.0) for t, p, _ in samples["proc"]
               if p.get(n, {}).get("alive")]
        fds = [(t, p[n]["fds"]) for t, p, _ in samples["proc"]
               if p.get(n, {}).get("alive") and p[n]["fds"] is not None]
        thr = [p[n]["threads"] for _, p, _ in samples["proc"] if p.get(n, {}).get("alive")]
        nprocs = [p[n]["procs"] for _, p, _ in samples["proc"] if p.get(n, {}).get("alive")]
        r = stats.rates(cpu)
        services[n] = {
            "cpu_pct_mean": _r(stats.cpu_percent(cpu, t_a, t_b)),
            "cpu_pct_max": _r(max((v for _, v in r), default=None)),
            "cpu_s_total": _r(cpu[-1][1] - cpu[0][1]) if len(cpu) > 1 else None,
            "rss_mib_max": _r(max((v for _, v in rss), default=None)),
            "rss_mib_end": _r(rss[-1][1]) if rss else None,
            "root_rss_mib_max": _r(max((p[n]["root_rss_kib"] / 1024.0 for _, p, _ in
                                        samples["proc"] if p.get(n, {}).get("alive")),
                                       default=None)),
            "threads_max": max((v for v in thr if v is not None), default=None),
            "fds_max": max((v for _, v in fds), default=None),
            "procs_max": max(nprocs, default=None),
            "alive_at_end": bool(samples["proc"]) and samples["proc"][-1][1].get(n, {}).get(
                "alive", False),
        }
        b = stats.Buckets(width)
        for t, v in r:
            b.add("cpu", t, v)
        for t, v in rss:
            b.add("rss", t, v)
        cpu_series[n] = [_r(v) for v in b.mean("cpu", nb)]
        rss_series[n] = [_r(v) for v in b.last("rss", nb)]
        growth[n] = {"rss_mib": stats.growth(rss, t_a, t_b), "fds": stats.growth(fds, t_a, t_b)}
    m = [(t, busy, total) for t, _, (busy, total) in samples["proc"]]
    machine_pct = None
    mach_b = stats.Buckets(width)
    inside = [x for x in m if t_a <= x[0] <= t_b]
    ncpu = os.cpu_count() or 1
    if len(inside) >= 2 and inside[-1][2] > inside[0][2]:
        machine_pct = 100.0 * ncpu * (inside[-1][1] - inside[0][1]) / (inside[-1][2] - inside[0][2])
    for (ta, ba, xa), (tb, bb, xb) in zip(m, m[1:]):
        if xb > xa:
            mach_b.add("cpu", tb, 100.0 * ncpu * (bb - ba) / (xb - xa))
    for t, q in samples["queue"]:
        for k in ("pending", "lag", "xlen"):
            if q.get(k) is not None:
                rec.b.add(f"queue_{k}", t, q[k])
    lat = {k: stats.summary(v) for k, v in sorted(rec.lat.items())}
    subs = [x for x in rec.subs.values() if x.kind == "submission"]
    runs = [x for x in rec.subs.values() if x.kind == "run"]
    fin = [x for x in subs if x.t_result is not None]
    # Not finished on the server: lost when no job is left in the queue that
    # could still finish it; otherwise merely unfinished when the drain ended.
    not_final = lost["pending"] + lost["unknown"]
    backlog = ((queue_end or {}).get("pending") or 0) + ((queue_end or {}).get("lag") or 0)
    lost_n = max(0, not_final - backlog)
    dup = rec.counters["results_duplicated"]
    first_post = min((x.t_post for x in subs), default=None)
    settled = settled_window(s, measured_s)
    settled_ms = [] if settled is None else [
        (x.t_result - x.t_post) * 1000.0 for x in fin
        if settled[0] <= rec.rel(x.t_post) <= settled[1]]
    last_result = max((x.t_result for x in fin), default=None)
    v99 = [(k * width, v) for k, v in enumerate(rec.b.percentile("verdict_ms", 99, nb))]
    q_pending = rec.b.last("queue_pending", nb)
    q_lag = rec.b.last("queue_lag", nb)
    report = {
        "scenario": s,
        "run": {"tag": run.tag, "started_at": started.isoformat(timespec="seconds"),
                "setup_s": _r(setup_s), "measured_s": _r(measured_s),
                "steady_window_s": [_r(t_a), _r(t_b)],
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "bare_python_ms": [_r(x) for x in bare],
                "cpus": ncpu, "generator": f"Python {platform.python_version()} asyncio "
                f"({type(asyncio.get_event_loop_policy()).__name__})"},
        "learners": {k: rec.counters[k] for k in ("learners_arrived", "learners_ready",
                                                   "learners_not_signed_in",
                                                   "learners_cut_at_deadline")},
        "submissions": {
            "expected_by_schedule": scen.expected_submissions(s),
            "posted": rec.counters["submissions_posted"],
            "accepted": len(subs),
            "finalised": len(fin),
            "lost": lost_n,
            "unfinished_at_end": not_final - lost_n,
            "finalised_unseen": lost["finished_unseen"],
            "duplicated": dup,
            "rate_limited": rec.counters["rate_limited"],
            "per_s": _r(len(subs) / max(1e-9, s["duration_s"])),
            "drain_s": _r(last_result - first_post) if first_post and last_result else None,
            "verdicts": {k: dict(v) for k, v in sorted(rec.verdicts.items())
                         if not k.startswith("run/")},
        },
        "runs": {"posted": rec.counters["runs_posted"], "accepted": len(runs),
                 "finalised": sum(1 for x in runs if x.t_result is not None),
                 "verdicts": {k[4:]: dict(v) for k, v in sorted(rec.verdicts.items())
                              if k.startswith("run/")}},
        "lost_detail": lost,
        "latency_ms": {
            "submit_to_verdict": lat.get("submit_verdict_ms", stats.summary([])),
            # DESIGN.md's budgets are ratios to a bare python3 -c pass, measured in the same run.
            # The "held" figure: only submissions posted once the schedule settled.
            "submit_to_verdict_settled": stats.summary(settled_ms),
            "settled_window_s": None if settled is None else [_r(settled[0]), _r(settled[1])],
            "submit_to_verdict_p50_x_bare": _r(lat["submit_verdict_ms"]["p50"] / min(bare), 2)
            if lat.get("submit_verdict_ms", {}).get("p50") and min(bare) > 0 else None,
            "submit_to_verdict_by_program": {k: stats.summary(v) for k, v in
                                             sorted(rec.by_program.items())},
            "submit_to_202": lat.get("submission_accept_ms", stats.summary([])),
            "run_to_first_output": lat.get("run_first_output_ms", stats.summary([])),
            "run_to_result": lat.get("run_result_ms", stats.summary([])),
            "websocket_open": stats.summary(rec.ws_open_ms),
            "pages": {k: stats.summary(v) for k, v in sorted(rec.pages.items())},
            "http": {k: dict(stats.summary(v), status={str(c): n for c, n in
                                                       sorted(rec.http_status[k].items())})
                     for k, v in sorted(rec.http_ms.items())},
        },
        "errors": dict(rec.errors.most_common()),
        "errors_total": sum(rec.errors.values()),
        "counters": dict(sorted(rec.counters.items())),
        "websockets": {"max_open": rec.ws_max, "opened": rec.counters["websockets_opened"],
                       "dropped": rec.counters["websockets_dropped"],
                       "reconnects": rec.counters["websocket_reconnects"]},
        "queue": {"max_pending": max((q.get("pending") or 0 for _, q in samples["queue"]),
                                     default=None),
                  "max_lag": max((q.get("lag") or 0 for _, q in samples["queue"]), default=None),
                  "end": queue_end},
        "services": services,
        "machine_cpu_pct_mean": _r(machine_pct),
        # What the rest of the machine (other people's builds) took meanwhile.
        "others_cpu_pct_mean": _r(machine_pct - sum(v["cpu_pct_mean"] or 0
                                                    for v in services.values()))
        if machine_pct is not None else None,
        "growth": {"services": growth,
                   "submit_to_verdict_p99_ms": stats.growth(v99, t_a, t_b)},
        "series": {
            "t_s": ts,
            "submissions": rec.b.count("submissions", nb),
            "verdicts": rec.b.count("verdicts", nb),
            "errors": rec.b.count("errors", nb),
            "verdict_p50_ms": [_r(v) for v in rec.b.percentile("verdict_ms", 50, nb)],
            "verdict_p99_ms": [_r(v) for v in rec.b.percentile("verdict_ms", 99, nb)],
            "run_first_output_p99_ms": [_r(v) for v in
                                        rec.b.percentile("run_first_output_ms", 99, nb)],
            "queue_pending": q_pending,
            "queue_lag": q_lag,
            "websockets_open": rec.b.last("ws_open", nb),
            "cpu_pct": cpu_series,
            "machine_cpu_pct": [_r(v) for v in mach_b.mean("cpu", nb)],
            "rss_mib": rss_series,
        },
    }
    report["clean"], report["verdict"] = judge(report, s)
    return report


def judge(report, s):
    why = []
    sub = report["submissions"]
    if sub["lost"]:
        why.append(f"{sub['lost']} submissions or runs lost")
    if sub["unfinished_at_end"]:
        why.append(f"{sub['unfinished_at_end']} still queued or running when the drain ended")
    if sub["duplicated"]:
        why.append(f"{sub['duplicated']} results duplicated")
    if report["counters"].get("escapes"):
        why.append(f"{report['counters']['escapes']} sandbox escapes")
    allow = tuple(s["expect"]["allow"])
    counted = sum(n for k, n in report["errors"].items() if not k.startswith(allow))
    if counted > s["expect"]["max_errors"]:
        why.append(f"{counted} errors (expect.max_errors = {s['expect']['max_errors']}"
                   + (f", not counting {', '.join(allow)}" if allow else "") + ")")
    return not why, "; ".join(why) or "clean"


def _bytes_in(v, path="$"):
    if isinstance(v, bytes):
        yield path
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from _bytes_in(x, f"{path}.{k}")
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            yield from _bytes_in(x, f"{path}[{i}]")


def _jsonable(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    raise TypeError(f"{type(v).__name__} in the report")


def _r(v, nd=1):
    return None if v is None else round(float(v), nd)


def draw(report):
    ser = report["series"]
    t = ser["t_s"]
    w = report["scenario"]["report"]["bucket_s"]
    mid = [x + w / 2 for x in t]
    pts = lambda ys: list(zip(mid, ys))  # noqa: E731
    svc = sorted(ser["cpu_pct"])
    panels = [
        {"title": "submit → verdict", "unit": "ms, by submit time",
         "series": [("p50", pts(ser["verdict_p50_ms"])), ("p99", pts(ser["verdict_p99_ms"])),
                    ("run → 1st output p99", pts(ser["run_first_output_p99_ms"]))]},
        {"title": "job queue (dojo:jobs, group executors)", "unit": "entries",
         "series": [("pending", pts(ser["queue_pending"])), ("lag", pts(ser["queue_lag"])),
                    (f"submitted/{w:g}s", pts(ser["submissions"])),
                    (f"errors/{w:g}s", pts(ser["errors"]))]},
        {"title": "CPU", "unit": "% of one core",
         "series": [(n, pts(ser["cpu_pct"][n])) for n in svc]
         + [("machine", pts(ser["machine_cpu_pct"]))]},
        {"title": "memory", "unit": "MiB",
         "series": [(n, pts(ser["rss_mib"][n])) for n in svc]},
    ]
    if report["websockets"]["opened"]:
        panels.append({"title": "open WebSockets", "unit": "connections",
                       "series": [("open", pts(ser["websockets_open"]))]})
    s = report["scenario"]
    title = (f"{s['name']}: {s['learners']} learners — p99 submit→verdict "
             f"{report['latency_ms']['submit_to_verdict']['p99']} ms, "
             f"{report['submissions']['accepted']} accepted, {report['submissions']['lost']} lost, "
             f"{report['errors_total']} errors")
    return plot.svg(title, panels, report["run"]["measured_s"] or 1)


def print_report(r, out_dir):
    s = r["scenario"]
    L = r["latency_ms"]

    def fmt(x):
        return "-" if x["n"] == 0 else (f"p50 {x['p50']:.0f}  p90 {x['p90']:.0f}  "
                                        f"p99 {x['p99']:.0f}  max {x['max']:.0f} ms  (n={x['n']})")
    sub = r["submissions"]
    print()
    print(f"loadtest {s['name']}: {s['learners']} learners, {r['run']['measured_s']:.0f} s "
          f"measured (steady window {r['run']['steady_window_s'][0]:.0f}–"
          f"{r['run']['steady_window_s'][1]:.0f} s), setup {r['run']['setup_s']:.0f} s, "
          f"load average before {r['run']['loadavg_before'][0]}")
    print(f"  learners          {r['learners']['learners_ready']} ready of "
          f"{r['learners']['learners_arrived']} arrived")
    print(f"  submissions       {sub['accepted']} accepted ({sub['per_s']}/s; schedule "
          f"{sub['expected_by_schedule']}), {sub['finalised']} finalised, lost {sub['lost']}, "
          f"unfinished {sub['unfinished_at_end']}, duplicated {sub['duplicated']}, rate-limited {sub['rate_limited']}"
          + (f", drained {sub['drain_s']:.1f} s after the first" if sub["drain_s"] else ""))
    print(f"  submit → verdict  {fmt(L['submit_to_verdict'])}")
    if L.get("settled_window_s"):
        a, b = L["settled_window_s"]
        print(f"    settled {a:.0f}–{b:.0f} s {fmt(L['submit_to_verdict_settled'])}")
    for k, v in L["submit_to_verdict_by_program"].items():
        print(f"    {k:<15} {fmt(v)}")
    print(f"  submit → 202      {fmt(L['submit_to_202'])}")
    print(f"  run → 1st output  {fmt(L['run_to_first_output'])}")
    print(f"  WebSocket open    {fmt(L['websocket_open'])}  (max open "
          f"{r['websockets']['max_open']}, dropped {r['websockets']['dropped']})")
    for k, v in L["pages"].items():
        print(f"  page {k:<12} {fmt(v)}")
    print("  verdicts          " + "; ".join(
        f"{k}: " + ", ".join(f"{vk} {n}" for vk, n in sorted(v.items(), key=lambda x: str(x)))
        for k, v in sub["verdicts"].items()))
    q = r["queue"]
    print(f"  queue             max pending {q['max_pending']}, max lag {q['max_lag']}, at the "
          f"end {q['end']}")
    print("  CPU (% of a core, steady window) and memory:")
    for n, v in sorted(r["services"].items()):
        print(f"    {n:<13} cpu {_s(v['cpu_pct_mean']):>6}  max {_s(v['cpu_pct_max']):>6}  "
              f"rss max {_s(v['rss_mib_max']):>7} MiB"
              + (f" (itself {_s(v['root_rss_mib_max'])})" if v["procs_max"] and v["procs_max"] > 1
                 else "") + f"  threads {_s(v['threads_max']):>5}  fds "
              f"{_s(v['fds_max']):>6}  procs {_s(v['procs_max'])}")
    print(f"    machine       cpu {_s(r['machine_cpu_pct_mean']):>6}  (of {100 * r['run']['cpus']}"
          f"), of which others {_s(r['others_cpu_pct_mean'])}; bare python3 -c pass "
          f"{' / '.join(_s(x) for x in r['run']['bare_python_ms'])} ms (before / after)")
    print(f"  errors            {r['errors_total']}" + (": " + "; ".join(
        f"{k} ×{n}" for k, n in list(r["errors"].items())[:12]) if r["errors"] else ""))
    print(f"  result            {r['verdict']}")
    print(f"  written           {out_dir / 'result.json'}, {out_dir / 'plot.svg'}")


def _s(v):
    return "-" if v is None else f"{v:g}"


def scenario_path(arg):
    p = Path(arg)
    if p.is_file():
        return p
    q = HERE / "scenarios" / f"{arg}.toml"
    if q.is_file():
        return q
    names = sorted(x.stem for x in (HERE / "scenarios").glob("*.toml"))
    raise SetupError(f"no scenario {arg!r} (a file, or one of: {', '.join(names)})")


def parse_pid(v):
    name, sep, pid = v.partition("=")
    if not sep or not name or not pid.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PID, got {v!r}")
    return name, int(pid)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Simulated learners against a Dojo gateway.")
    ap.add_argument("scenario", help="a scenario file or shipped name (smoke, steady, burst, "
                    "idle-websockets, soak)")
    ap.add_argument("--base-url", help="the gateway, http://127.x.y.z:PORT")
    ap.add_argument("--redis", help="Redis HOST:PORT, for the job queue's depth")
    ap.add_argument("--pid", action="append", type=parse_pid, default=[],
                    metavar="NAME=PID", help="a process tree to watch (repeat)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a scenario field, e.g. learners=700 (repeat)")
    ap.add_argument("--out", help="where result.json and plot.svg go (default "
                    ".dojo/loadtest/NAME-TIME)")
    ap.add_argument("--progress", type=float, default=10.0, metavar="S",
                    help="a progress line every S seconds (0: none)")
    ap.add_argument("--print-stack-env", action="store_true",
                    help="print the scenario's stack.env as KEY=VALUE lines and exit")
    args = ap.parse_args(argv)

    def log(msg):
        print(f"  {msg}", flush=True)

    try:
        s = scen.load(scenario_path(args.scenario))
        for a in args.set:
            s = scen.apply_override(s, a)
    except (SetupError, scen.ScenarioError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.print_stack_env:
        for k, v in sorted(s["stack"]["env"].items()):
            print(f"{k}={v}")
        return 0
    if not args.base_url:
        ap.error("--base-url is required (./dojo loadtest starts a stack and passes it)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    idle = s["browse"]["every_s"] == 0 and s["submit"]["schedule"] == "none"
    need = (1 if idle else 2) * s["learners"] + 64  # a WebSocket and an HTTP connection each
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
        soft = min(hard, max(need, soft))
    if soft < need:
        print(f"error: {s['learners']} learners need {need} file descriptors; the limit is "
              f"{hard}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else (
        REPO / ".dojo" / "loadtest" / f"{s['name']}-{time.strftime('%Y%m%d-%H%M%S')}")
    learner_ip(s["learners"] - 1)  # in range
    out.mkdir(parents=True, exist_ok=True)
    args.out_dir = out
    try:
        report = asyncio.run(execute(s, args, log))
    except SetupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for path in _bytes_in(report):
        print(f"warning: bytes at {path} in the report", file=sys.stderr)
    (out / "result.json").write_text(json.dumps(report, indent=1, default=_jsonable) + "\n")
    (out / "plot.svg").write_text(draw(report))
    print_report(report, out)
    return 0 if report["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
