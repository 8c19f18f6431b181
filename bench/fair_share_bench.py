"""The fair-share benchmark (issue 10, part 3). Not a test: it prints figures.

One abuser submits fork bombs and sleepers at full rate while 20 normal
learners submit a correct 10-test Python solution now and then; the figure is
the 20's p99 verdict latency (XADD of the job -> its final event) with the
abuser, as a ratio to their p99 alone, measured in the same run on the same
executor (two workers: the shipped single-node shape). Target: <= 2x.

Phases, each on a fresh executor and empty job streams:
  alone      the 20 learners only;
  abuser     the same 20 learners' schedule, plus the abuser, with the shipped
             fair-share settings (DOJO_EXECUTOR_LEARNER_MAX_RUNNING=1,
             DOJO_EXECUTOR_LEARNER_SANDBOX_SECONDS=30 a minute);
  unfair     the same again with both off (0): what one learner could do
             before. DOJO_BENCH_FAIR_UNFAIR=0 skips it.

Jobs go straight onto dojo:jobs as the gateway writes them, so the abuser's
"full rate" (DOJO_BENCH_FAIR_ABUSE_RATE, default 2 a second) is above the
gateway's per-account limit (20 a minute): the executor's share must hold on
its own. Latencies come from the events' timestamps (the executor's clock)
against the enqueue time (this process's clock, the same host).

    ./dojo bench
or, with a PostgreSQL and a Redis of your own:
    DOJO_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres \\
    DOJO_TEST_REDIS_ADDR=127.0.0.1:PORT \\
    /usr/bin/python3 -m pytest -s -q -p no:cacheprovider --rootdir=bench bench/fair_share_bench.py
"""
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration" / "executor"))

import execkit  # noqa: E402
from execkit import new_submission  # noqa: E402
from dojo.executor.v1 import executor_pb2 as epb  # noqa: E402

TASK = "x-bench10"  # ten tests, 1 s CPU and 3 s wall each
GOOD = "a, b = map(int, input().split())\nprint(a + b)\n"
FORK_BOMB = ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
             "        pass\n")
SLEEPER = "import time\ntime.sleep(600)\n"

LEARNERS = int(os.environ.get("DOJO_BENCH_FAIR_LEARNERS", "20"))
PER_LEARNER = int(os.environ.get("DOJO_BENCH_FAIR_SUBMISSIONS", "4"))
GAP_S = float(os.environ.get("DOJO_BENCH_FAIR_GAP", "15"))  # mean seconds between a learner's
WAIT_AFTER_S = float(os.environ.get("DOJO_BENCH_FAIR_WAIT", "90"))
ABUSE_RATE = float(os.environ.get("DOJO_BENCH_FAIR_ABUSE_RATE", "2"))
FAIR = {"DOJO_EXECUTOR_LEARNER_MAX_RUNNING": "1", "DOJO_EXECUTOR_LEARNER_SANDBOX_SECONDS": "30"}
UNFAIR = {"DOJO_EXECUTOR_LEARNER_MAX_RUNNING": "0", "DOJO_EXECUTOR_LEARNER_SANDBOX_SECONDS": "0"}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def schedule(seed):
    """(at_s, learner) for every normal submission: each learner's first at a
    random point of its first gap, then every GAP_S +- 50 %."""
    rng = random.Random(seed)
    plan = []
    for k in range(LEARNERS):
        t = rng.uniform(0, GAP_S)
        for _ in range(PER_LEARNER):
            plan.append((t, k))
            t += rng.uniform(0.5 * GAP_S, 1.5 * GAP_S)
    return sorted(plan)


def clean_queue(redis):
    """Empty job streams (the group is made again by the next executor)."""
    for key in ("dojo:jobs", "dojo:jobs:contest"):
        redis("DEL", key)


def phase(name, start_executor, exec_stack, redis, env, abuse):
    clean_queue(redis)
    ex = start_executor(f"fair-{name}", DOJO_EXECUTOR_CONCURRENCY="2",
                        DOJO_LOG_LEVEL="warn", **env)
    learners = [str(uuid.uuid4()) for _ in range(LEARNERS)]
    abuser = str(uuid.uuid4())
    plan = schedule(seed=10)
    # The submissions exist before the clock starts: only the queue is timed.
    jobs = []
    for at, k in plan:
        sid, _ = new_submission(exec_stack.gc, TASK, GOOD, user=learners[k])
        jobs.append((at, sid, execkit.make_job(sid, learners[k], TASK, GOOD)))
    span = plan[-1][0]
    abuse_jobs = []
    if abuse:
        n = int(span * ABUSE_RATE) + 1
        for i in range(n):
            code = FORK_BOMB if i % 2 == 0 else SLEEPER
            sid, _ = new_submission(exec_stack.gc, TASK, code, user=abuser)
            abuse_jobs.append((i / ABUSE_RATE, sid, execkit.make_job(sid, abuser, TASK, code)))
    events = sorted([(at, False, sid, job) for at, sid, job in jobs] +
                    [(at, True, sid, job) for at, sid, job in abuse_jobs], key=lambda e: e[0])
    enqueued_us = {}
    t0 = time.monotonic()
    for at, _, sid, job in events:
        delay = t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        enqueued_us[sid] = time.time() * 1e6
        execkit.enqueue(redis, job)
    # A learner's verdict that has not come WAIT_AFTER_S after the last
    # submission is counted at what it waited by then (p99 is then a floor).
    deadline = time.monotonic() + WAIT_AFTER_S
    latencies, late = [], 0
    for _, sid, _ in jobs:
        evs = []
        while time.monotonic() < deadline:
            evs = [e for _, e in execkit.read_events(redis, sid)]
            if evs and evs[-1].WhichOneof("kind") == "result":
                break
            time.sleep(0.05)
        if evs and evs[-1].WhichOneof("kind") == "result":
            r = evs[-1].result
            assert r.recorded and r.tests_passed == 10, (name, sid, r)
            latencies.append((evs[-1].emitted_at.unix_micros - enqueued_us[sid]) / 1000)
        else:
            late += 1
            latencies.append(time.time() * 1000 - enqueued_us[sid] / 1000)
    done_abuse = 0
    for _, sid, _ in abuse_jobs:
        evs = execkit.read_events(redis, sid)
        done_abuse += bool(evs) and evs[-1][1].WhichOneof("kind") == "result"
    # Stop the abuser's backlog: its running jobs are cancelled, the rest are
    # dropped with the streams.
    for _, sid, _ in abuse_jobs:
        execkit.control(redis, sid, 1, cancel=epb.Cancel(reason="benchmark over"))
    ex.kill()
    subprocess.run([str(execkit.executor_binary()), "sweep"], env=ex.env, capture_output=True,
                   timeout=120)
    clean_queue(redis)
    return {"p50": statistics.median(latencies), "p99": pct(latencies, 0.99),
            "max": max(latencies), "n": len(latencies), "late": late,
            "abuse_sent": len(abuse_jobs), "abuse_judged": done_abuse}


def bare_python_ms(n=20):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def test_fair_share_benchmark(start_executor, exec_stack, redis):
    reason = execkit.sandbox_skip_reason()
    if reason:
        pytest.skip(reason)
    bare = bare_python_ms()
    alone = phase("alone", start_executor, exec_stack, redis, FAIR, abuse=False)
    abused = phase("abuser", start_executor, exec_stack, redis, FAIR, abuse=True)
    unfair = None
    if os.environ.get("DOJO_BENCH_FAIR_UNFAIR", "1") != "0":
        unfair = phase("unfair", start_executor, exec_stack, redis, UNFAIR, abuse=True)

    def line(label, f):
        floor = ">=" if f["late"] else "  "
        late = f"; {f['late']} not judged within {WAIT_AFTER_S:g} s" if f["late"] else ""
        return (f"  {label:<34} p50 {f['p50']:8.0f} ms  p99 {floor}{f['p99']:8.0f} ms  "
                f"max {f['max']:8.0f} ms  (n={f['n']}{late}; abuser: {f['abuse_judged']} of "
                f"{f['abuse_sent']} judged)")

    print()
    print(f"fair share: {LEARNERS} learners x {PER_LEARNER} submissions of {TASK} "
          f"(one every ~{GAP_S:g} s each), abuser at {ABUSE_RATE:g}/s "
          f"(fork bomb / sleeper), one executor with 2 workers, {os.environ.get('DOJO_EXECUTOR_RUNTIME', 'crun')}")
    print(f"  bare python3 -c pass (median of 20): {bare:.1f} ms")
    print(line("alone", alone))
    print(line("with the abuser, fair share on", abused))
    if unfair:
        print(line("with the abuser, fair share off", unfair))
    print(f"  p99 with the abuser / alone: {abused['p99'] / alone['p99']:.2f}x (target <= 2x)")
    print(f"  p50 with the abuser / alone: {abused['p50'] / alone['p50']:.2f}x")
    if unfair:
        floor = ">= " if unfair["late"] else ""
        print(f"  p99 with the abuser, fair share off / alone: "
              f"{floor}{unfair['p99'] / alone['p99']:.2f}x")
    print(f"  p99 alone / bare python: {alone['p99'] / bare:.1f}x")
