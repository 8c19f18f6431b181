"""The pool of pre-started sandboxes (DOJO_EXECUTOR_POOL=on, services/executor/pool.c):
jobs are judged in sandboxes started before they came, each sandbox serves one
submission only (what one plants, the next never finds), the metrics count
hits and misses, and the executor leaves nothing behind when it stops.

Waits here are for conditions (a box ready, a result), bounded in time; no
assertion is about how long anything took."""
import re
import secrets
import time
import urllib.request
from pathlib import Path

import pytest

import execkit
from execkit import new_submission
from dojo.common.v1 import common_pb2 as V

SUM_OK = "a, b = map(int, input().split())\nprint(a + b)\n"

# Plants a secret everywhere a later submission could look, leaves a process
# holding it behind, then answers correctly.
VICTIM = '''import os, subprocess
secret = "{secret}"
for d in ("/tmp", "/dev/shm", "/var/tmp", "/judge/code", "/judge/build"):
    try:
        with open(os.path.join(d, "pool-secret.txt"), "w") as f:
            f.write(secret)
    except OSError:
        pass
os.environ["POOL_SECRET"] = secret
subprocess.Popen(["/bin/sleep", "60", secret], start_new_session=True)
a, b = map(int, input().split())
print(a + b)
'''

# Looks for the marker in every writable folder, every file it can list and
# every process it can see; prints what it found, then the sum.
ATTACKER = '''import os
marker = "DOJO-POOL-" + "SECRET-"
found = []
for d in ("/tmp", "/dev/shm", "/var/tmp", "/judge/code", "/judge/build", "/judge/in"):
    try:
        names = os.listdir(d)
    except OSError:
        continue
    for n in names:
        try:
            with open(os.path.join(d, n), "rb") as f:
                if marker.encode() in f.read(1 << 16):
                    found.append(d + "/" + n)
        except OSError:
            pass
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{part}", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(f"/proc/{pid}/{part}")
            except OSError:
                pass
print("FOUND " + " ".join(found) if found else "CLEAN")
a, b = map(int, input().split())
print(a + b)
'''


# The key of the test tasks' sandboxes (execkit: 64 MiB).
KEY = 'language="python3",runtime="crun",memory_kib="65536"'


def metrics(ex, key=KEY):
    """The pool's metrics of one key (name -> value)."""
    text = urllib.request.urlopen(
        f"http://{ex.env['DOJO_EXECUTOR_METRICS_ADDR']}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(dojo_executor_pool_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$", line)
        if m and key in (m.group(2) or ""):
            out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(3))
    return out


def wait_ready(ex, timeout=90, key=KEY):
    """Until the pool holds a ready sandbox of `key` (the refill thread's work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics(ex, key).get("dojo_executor_pool_ready", 0) >= 1:
            return
        time.sleep(0.1)
    raise AssertionError("the pool has no ready sandbox after %ds:\n%s" % (timeout, ex.log_tail()))


@pytest.fixture
def pooled(start_executor):
    return start_executor("pool", DOJO_EXECUTOR_POOL="on", DOJO_EXECUTOR_POOL_SIZE=1,
                          DOJO_EXECUTOR_CONCURRENCY=1)


def judge(exec_stack, redis, slug, code, timeout=60):
    sid, user = new_submission(exec_stack.gc, slug, code)
    execkit.enqueue(redis, execkit.make_job(sid, user, slug, code))
    return execkit.wait_final(redis, sid, timeout)


def first_excerpt(events):
    return [e.test_result for e in events if e.WhichOneof("kind") == "test_result"][0].output_excerpt


def test_pooled_sandboxes_judge_like_cold_ones_and_count_hits(pooled, exec_stack, redis):
    # The first job of a key the pool did not know is a miss (a cold start);
    # from then on the refill thread keeps one ready for it.
    events = judge(exec_stack, redis, "x-sum", SUM_OK)
    assert events[-1].result.verdict == V.VERDICT_AC
    m = metrics(pooled)
    assert m.get("dojo_executor_pool_misses_total", 0) >= 1
    for _ in range(2):
        wait_ready(pooled)
        hits = metrics(pooled).get("dojo_executor_pool_hits_total", 0)
        events = judge(exec_stack, redis, "x-sum", SUM_OK)
        r = events[-1].result
        assert r.verdict == V.VERDICT_AC and (r.tests_passed, r.tests_total) == (4, 4)
        assert metrics(pooled)["dojo_executor_pool_hits_total"] == hits + 1
    wrong = judge(exec_stack, redis, "x-sum", "print(0)\n")
    assert wrong[-1].result.verdict == V.VERDICT_WA


def test_a_pooled_sandbox_serves_one_submission_only(pooled, exec_stack, redis):
    secret = "DOJO-POOL-SECRET-" + secrets.token_hex(8)
    judge(exec_stack, redis, "x-sum", SUM_OK)  # the key is known from now on
    for _ in range(3):
        wait_ready(pooled)
        victim = judge(exec_stack, redis, "x-sum", VICTIM.format(secret=secret))
        assert victim[-1].result.verdict == V.VERDICT_AC, victim[-1].result.message
        wait_ready(pooled)
        hits = metrics(pooled).get("dojo_executor_pool_hits_total", 0)
        attacker = judge(exec_stack, redis, "x-sum", ATTACKER)
        assert metrics(pooled)["dojo_executor_pool_hits_total"] == hits + 1
        excerpt = first_excerpt(attacker)
        assert excerpt.startswith("CLEAN"), excerpt
        assert secret not in b"".join(e.SerializeToString() for e in attacker).decode(errors="replace")


SUM_C = '#include <stdio.h>\nint main(void){long a,b;scanf("%ld %ld",&a,&b);printf("%ld\\n",a+b);}\n'
C_RUN = 'language="c",runtime="crun",memory_kib="65536"'
C_COMPILE = 'language="c",runtime="crun",memory_kib="524288",phase="compile"'


def test_a_compiled_language_compiles_and_runs_in_pre_started_sandboxes(pooled, exec_stack,
                                                                        redis):
    def judge_c(code):
        sid, user = new_submission(exec_stack.gc, "x-sum", code, language="c")
        execkit.enqueue(redis, execkit.make_job(sid, user, "x-sum", code, language="c"))
        return execkit.wait_final(redis, sid, 90)

    assert judge_c(SUM_C)[-1].result.verdict == V.VERDICT_AC  # both keys are known now
    for _ in range(2):
        wait_ready(pooled, key=C_COMPILE)
        wait_ready(pooled, key=C_RUN)
        hits = (metrics(pooled, C_COMPILE).get("dojo_executor_pool_hits_total", 0),
                metrics(pooled, C_RUN).get("dojo_executor_pool_hits_total", 0))
        r = judge_c(SUM_C)[-1].result
        assert r.verdict == V.VERDICT_AC and (r.tests_passed, r.tests_total) == (4, 4)
        assert metrics(pooled, C_COMPILE)["dojo_executor_pool_hits_total"] == hits[0] + 1
        assert metrics(pooled, C_RUN)["dojo_executor_pool_hits_total"] == hits[1] + 1
    wait_ready(pooled, key=C_COMPILE)
    bad = judge_c("int main(void) { return x; }\n")[-1].result
    assert bad.verdict == V.VERDICT_CE


def test_a_pooled_executor_leaves_nothing_behind(start_executor, exec_stack, redis):
    ex = start_executor("pool-stop", DOJO_EXECUTOR_POOL="on", DOJO_EXECUTOR_POOL_SIZE=2)
    judge(exec_stack, redis, "x-sum", SUM_OK)
    wait_ready(ex)
    assert ex.stop() == 0, ex.log_tail()
    work = Path(ex.env["DOJO_EXECUTOR_WORKDIR"])
    left = sorted(p.name for p in (work / "bundles").iterdir()) if (work / "bundles").exists() else []
    assert left == [], left
    for rt in ("crun", "runsc"):
        state = work / "state" / rt
        conts = sorted(p.name for p in state.iterdir()) if state.exists() else []
        assert [c for c in conts if c.startswith("dojo-")] == [], conts
