"""The executor benchmark (issue 4, section 6). Not a test: it prints figures,
and pytest only runs it when named (the file does not match test_*.py).

    ./dojo bench
or, with a PostgreSQL and a Redis of your own:
    DOJO_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres \\
    DOJO_TEST_REDIS_ADDR=127.0.0.1:PORT \\
    /usr/bin/python3 -m pytest -s -q -p no:cacheprovider tests/integration/executor/bench_executor.py

Figures, printed in one block:
1. a bare `python3 -c pass` on the host, median of 20: the yardstick;
2. per test case of a 10-test Python submission in one sandbox: the sandbox's
   own wall time (bundle, container start, ten tests, records) divided by 10,
   median of 10 runs of `executor sandbox-run`, for crun and runsc, and its
   ratio to (1) (budget with crun: <= 0.6);
3. dequeue -> recorded result: from the job's XADD to its final event (which
   the executor writes after Gamification.RecordResult answered), one
   submission at a time, p50/p99 (budget with crun: p50 <= 100 ms);
4. saturation: two executors of two workers each, N submissions enqueued at
   once, submissions per second from the first XADD to the last final event,
   and a check that none was lost or recorded twice.

(3) and (4) run with the pool of pre-started sandboxes off and on
(DOJO_EXECUTOR_POOL; for crun (3) also at pool sizes 1, 2 and 4), every
figure also as a ratio to (1); then the memory an idle pooled sandbox holds
(its cgroup, from dojo_executor_pool_memory_bytes / dojo_executor_pool_ready).
DOJO_BENCH_POOL=0 runs the pool-off figures only; DOJO_BENCH_PARTS picks
parts (a comma list of per-test, dequeue, saturation; all by default),
DOJO_BENCH_SATURATION_POOL the pool sizes of the saturation runs (0,4),
DOJO_BENCH_POOL_STARTS their DOJO_EXECUTOR_POOL_STARTS."""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import execkit  # noqa: E402
from execkit import new_submission  # noqa: E402

CODE = "a, b = map(int, input().split())\nprint(a + b)\n"


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def bare_python_ms(n=20):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def sandbox_per_test_ms(runtime, runs=10):
    work = Path(tempfile.mkdtemp(prefix="bench-sb-"))
    work.chmod(0o755)  # gVisor's gofer runs unprivileged: it must reach the bundles
    code = work / "main.py"
    code.write_text(CODE)
    inputs = []
    for i in range(10):
        f = work / f"in{i}"
        f.write_text(f"{i} {i * 7}\n")
        inputs += ["--input", str(f)]
    env = dict(os.environ, DOJO_EXECUTOR_ROOTFS_DIR=str(execkit.rootfs_dir()),
               DOJO_EXECUTOR_POOL="off",  # the whole cold sandbox, as before the pool
               DOJO_EXECUTOR_WORKDIR=str(work / "w"),
               DOJO_EXECUTOR_LANGUAGES_DIR=str(execkit.LANGUAGES_DIR), DOJO_LOG_LEVEL="warn")
    walls = []
    for _ in range(runs + 1):
        out = subprocess.run([str(execkit.executor_binary()), "sandbox-run", "--runtime", runtime,
                              "--language", "python3", "--code", str(code), *inputs],
                             env=env, capture_output=True, text=True, check=True).stdout
        lines = [json.loads(l) for l in out.splitlines() if l.strip()]
        end = lines[-1]
        assert end.get("end") == "DONE", out
        assert sum(1 for l in lines if l.get("verdict") == "OK") == 10, out
        walls.append(end["wall_ms"])
    return statistics.median(walls[1:]) / 10  # the first run warms caches


def submit(stack, redis, slug="x-bench10"):
    sid, user = new_submission(stack.gc, slug, CODE)
    job = execkit.make_job(sid, user, slug, CODE)
    return sid, job


BREAKDOWN = {}


def dequeue_to_result_ms(stack, redis, n):
    times = []
    parts = {"xadd->started": [], "started->first test": [], "tests": [],
             "last test->result": []}
    for _ in range(n):
        sid, job = submit(stack, redis)
        t = time.perf_counter()
        t_wall_us = time.time() * 1e6
        execkit.enqueue(redis, job)
        evs = execkit.wait_final(redis, sid, timeout=60)
        times.append((time.perf_counter() - t) * 1000)
        at = {}
        tests = [e.emitted_at.unix_micros for e in evs if e.WhichOneof("kind") == "test_result"]
        for e in evs:
            at.setdefault(e.WhichOneof("kind"), e.emitted_at.unix_micros)
        if "started" in at and tests:
            parts["xadd->started"].append((at["started"] - t_wall_us) / 1000)
            parts["started->first test"].append((tests[0] - at["started"]) / 1000)
            parts["tests"].append((tests[-1] - tests[0]) / 1000)
            parts["last test->result"].append((at["result"] - tests[-1]) / 1000)
        res = evs[-1].result
        assert res.recorded and res.tests_passed == 10, [
            (e.test_result.name, e.test_result.verdict, e.test_result.message)
            for e in evs if e.WhichOneof("kind") == "test_result"]
    BREAKDOWN.update({k: statistics.median(v) for k, v in parts.items() if v})
    return times


def host_cpu():
    """(busy, total) jiffies of the whole host, from /proc/stat."""
    f = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = f[3] + f[4]  # idle + iowait
    return sum(f[:8]) - idle, sum(f[:8])


SATURATION_CPU = {}


def saturation(stack, redis, n):
    subs = [submit(stack, redis) for _ in range(n)]
    t = time.perf_counter()
    cpu0 = host_cpu()
    for _, job in subs:
        execkit.enqueue(redis, job)
    for sid, _ in subs:
        evs = execkit.wait_final(redis, sid, timeout=300)
        results = [e for e in evs if e.WhichOneof("kind") == "result"]
        assert len(results) == 1 and results[0].result.recorded, sid
    elapsed = time.perf_counter() - t
    cpu1 = host_cpu()
    hz = os.sysconf("SC_CLK_TCK")
    SATURATION_CPU.update(busy=(cpu1[0] - cpu0[0]) / max(1, cpu1[1] - cpu0[1]),
                          per_sub_ms=(cpu1[0] - cpu0[0]) / hz * 1000 / n)
    assert execkit.pending_count(redis, wait=5) == 0
    return n / elapsed


def pool_metrics(ex):
    """name -> value summed over the labels, of the dojo_executor_pool_* metrics."""
    text = urllib.request.urlopen(
        f"http://{ex.env['DOJO_EXECUTOR_METRICS_ADDR']}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(dojo_executor_pool_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(3))
    return out


def wait_pool_ready(ex, n, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pool_metrics(ex).get("dojo_executor_pool_ready", 0) >= n:
            return True
        time.sleep(0.2)
    return False


def execkit_workdir_root(stack):
    # The executors' folders live in the session's workdir, next to the
    # content service's.
    return Path(stack.content.workdir).parent


def test_executor_benchmark(exec_stack, start_executor, redis):
    lines = []
    bare = bare_python_ms()

    def x(ms):
        return f"({ms / bare:5.2f}x bare)"

    lines.append(f"bare `python3 -c pass` on the host (median of 20):  {bare:6.1f} ms")
    parts = os.environ.get("DOJO_BENCH_PARTS", "per-test,dequeue,saturation").split(",")
    for rt in (("crun", "runsc") if "per-test" in parts else ()):
        per = sandbox_per_test_ms(rt)
        lines.append(f"{rt:5} per test case, 10-test Python submission:   {per:6.1f} ms"
                     f"   ratio {per / bare:4.2f} x bare python3")

    with_pool = os.environ.get("DOJO_BENCH_POOL", "1") != "0"
    # (runtime, samples, pool size; 0 = the pool off)
    configs = [("crun", 50, 0), ("runsc", 20, 0)]
    if with_pool:
        configs = [("crun", 50, 0), ("crun", 50, 1), ("crun", 50, 2), ("crun", 50, 4),
                   ("runsc", 20, 0), ("runsc", 20, 4)]
    if "dequeue" not in parts:
        configs = []
    idle = {}
    for rt, n, size in configs:
        # gVisor's gofer is unprivileged: it must get through the session folder.
        os.chmod(execkit_workdir_root(exec_stack), 0o711)
        env = dict(DOJO_EXECUTOR_RUNTIME=rt, DOJO_EXECUTOR_CONCURRENCY=2, DOJO_EXECUTOR_POOL="off")
        if size:
            # The bench task's key (execkit: 64 MiB) is learned from its first job.
            env.update(DOJO_EXECUTOR_POOL="on", DOJO_EXECUTOR_POOL_SIZE=size,
                       DOJO_EXECUTOR_POOL_LANGUAGES="python3")
        ex = start_executor(f"bench-{rt}-p{size}", **env)
        try:
            if size:
                dequeue_to_result_ms(exec_stack, redis, 1)  # a miss: the key is known now
                wait_pool_ready(ex, 2)
                m = pool_metrics(ex)
                if m.get("dojo_executor_pool_ready"):
                    idle[rt] = m.get("dojo_executor_pool_memory_bytes", 0) / m["dojo_executor_pool_ready"]
            times = dequeue_to_result_ms(exec_stack, redis, n)
        except AssertionError:
            print(ex.log_tail())
            raise
        pool = f"pool {size}" if size else "no pool"
        p50 = pct(times, 0.5)
        lines.append(f"{rt:5} {pool:7} dequeue -> recorded result, 10 tests (n={n}): "
                     f"p50 {p50:6.1f} ms {x(p50)}   p99 {pct(times, 0.99):6.1f} ms")
        lines.append("      medians: " + ", ".join(f"{k} {v:.1f} ms {x(v)}"
                                                   for k, v in BREAKDOWN.items()))
        if size:
            m = pool_metrics(ex)
            lines.append(f"      pool: hits {m.get('dojo_executor_pool_hits_total', 0):.0f}, "
                         f"misses {m.get('dojo_executor_pool_misses_total', 0):.0f}")
        ex.stop()
    for rt, b in idle.items():
        lines.append(f"{rt:5} an idle pooled sandbox (python3, zygote warm) holds "
                     f"{b / 1048576:6.1f} MiB (its cgroup's memory, page cache included)")

    n = int(os.environ.get("DOJO_BENCH_SUBMISSIONS", "200"))
    sizes = [int(v) for v in os.environ.get("DOJO_BENCH_SATURATION_POOL", "0,4").split(",")]
    for size in ((sizes if with_pool else (0,)) if "saturation" in parts else ()):
        env = dict(DOJO_EXECUTOR_CONCURRENCY=2, DOJO_EXECUTOR_POOL="off")
        if size:
            env.update(DOJO_EXECUTOR_POOL="on", DOJO_EXECUTOR_POOL_SIZE=size)
            if os.environ.get("DOJO_BENCH_POOL_STARTS"):
                env.update(DOJO_EXECUTOR_POOL_STARTS=os.environ["DOJO_BENCH_POOL_STARTS"])
        a = start_executor(f"bench-sat-a-p{size}", **env)
        b = start_executor(f"bench-sat-b-p{size}", **env)
        if size:
            dequeue_to_result_ms(exec_stack, redis, 2)
            wait_pool_ready(a, 1)
            wait_pool_ready(b, 1)
        rate = saturation(exec_stack, redis, n)
        pool = f"pool {size}" if size else "no pool"
        lines.append(f"crun  {pool:7} saturation, 2 executors x 2 workers, {n} x 10-test "
                     f"submissions: {rate:5.1f} submissions/s, none lost, each recorded once")
        if size:
            m = [pool_metrics(e) for e in (a, b)]
            lines.append(f"      pool: hits {sum(x.get('dojo_executor_pool_hits_total', 0) for x in m):.0f}, "
                         f"misses {sum(x.get('dojo_executor_pool_misses_total', 0) for x in m):.0f}")
        lines.append(f"      the host's CPUs {SATURATION_CPU['busy'] * 100:.0f}% busy, "
                     f"{SATURATION_CPU['per_sub_ms']:.0f} ms of CPU a submission (everything "
                     f"on the host, other engineers' work too)")
        a.stop()
        b.stop()
    print("\n\nexecutor benchmark (" + time.strftime("%Y-%m-%d") + f", {os.cpu_count()} cores)")
    for line in lines:
        print("  " + line)
