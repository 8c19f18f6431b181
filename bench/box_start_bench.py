#!/usr/bin/python3
"""What a sandbox costs in CPU: `executor sandbox-run` (one cold box: bundle,
runtime, driver, zygote, the tests, teardown) of a Python `a + b`, with 1 and
with 10 tests, for one or more executor binaries interleaved (A/B of a change,
same minutes), every figure also as a ratio to a bare `python3 -c pass`
measured in the same run, before and after the samples.

CPU is the whole process tree's (`perf stat -e task-clock`, whose counters
every descendant inherits, reaped or not: the executor, the runtime, the
container's driver, zygote and tests; getrusage of the waited-for children
where perf is missing, which misses what the container's init leaves to the
kernel, the zygote among it), so the
executor's own start as a command (its dynamic linking, the same for every
binary) is in it; the difference between binaries is what a box costs less.
The 10-test minus the 1-test figure, over 9, is a test's share; the 1-test
figure minus one test is the box's start.

    sudo /usr/bin/python3 bench/box_start_bench.py [--runs 15] [--runtime crun]
        [--executor PATH]...   (default: bazel-bin/services/executor/executor)

Needs root (sandboxes) and the language root filesystems (./dojo rootfs);
DOJO_EXECUTOR_ROOTFS_DIR overrides .dojo/rootfs.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CODE = "a, b = map(int, input().split())\nprint(a + b)\n"


PERF = shutil.which("perf")


def children_cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000


def bare_python_ms(n=20):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def one_run(exe, runtime, work, tests):
    code = work / "main.py"
    args = [str(exe), "sandbox-run", "--runtime", runtime, "--language", "python3",
            "--code", str(code), "--slot", "90"]
    for i in range(tests):
        args += ["--input", str(work / f"in{i}")]
    env = dict(os.environ, DOJO_EXECUTOR_POOL="off", DOJO_EXECUTOR_WORKDIR=str(work / "w"),
               DOJO_EXECUTOR_LANGUAGES_DIR=str(REPO / "services/executor/languages"),
               DOJO_EXECUTOR_ROOTFS_DIR=os.environ.get("DOJO_EXECUTOR_ROOTFS_DIR",
                                                       str(REPO / ".dojo/rootfs")),
               DOJO_LOG_LEVEL="warn")
    stat = work / "perf-stat"
    if PERF:
        args = [PERF, "stat", "-x", ",", "-e", "task-clock", "-o", str(stat), "--"] + args
    cpu0, t0 = children_cpu_ms(), time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True)
    wall, cpu = (time.perf_counter() - t0) * 1000, children_cpu_ms() - cpu0
    if PERF:
        lines = [l for l in stat.read_text().splitlines() if "task-clock" in l]
        cpu = float(lines[0].split(",")[0])
    ok = out.returncode == 0 and out.stdout.count('"verdict":"OK"') == tests
    if not ok:
        raise SystemExit(f"{exe}: sandbox-run failed ({out.returncode}):\n"
                         f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return cpu, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--runtime", default="crun", choices=["crun", "runsc"])
    ap.add_argument("--executor", action="append")
    o = ap.parse_args()
    exes = o.executor or [str(REPO / "bazel-bin/services/executor/executor")]
    work = Path(tempfile.mkdtemp(prefix="box-start-bench-"))
    work.chmod(0o755)  # gVisor's gofer runs unprivileged: it must reach the bundles
    (work / "main.py").write_text(CODE)
    for i in range(10):
        (work / f"in{i}").write_text(f"{i} {i * 7}\n")
    try:
        bare0 = bare_python_ms()
        samples = {(e, t): [] for e in exes for t in (1, 10)}
        for e in exes:  # warm-up: page cache, the executor's shared copies
            one_run(e, o.runtime, work, 1)
        for _ in range(o.runs):
            for t in (1, 10):
                for e in exes:
                    samples[(e, t)].append(one_run(e, o.runtime, work, t))
        bare1 = bare_python_ms()
        bare = (bare0 + bare1) / 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nbox start benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
          f"{o.runtime}, {o.runs} runs each, interleaved; load {os.getloadavg()[0]:.1f}; CPU by "
          f"{'perf stat' if PERF else 'getrusage'})")
    print(f"  bare `python3 -c pass` (median of 20, before and after): {bare0:.1f} / "
          f"{bare1:.1f} ms; ratios below to their mean {bare:.1f} ms")
    for e in exes:
        c1 = statistics.median(c for c, _ in samples[(e, 1)])
        c10 = statistics.median(c for c, _ in samples[(e, 10)])
        w10 = statistics.median(w for _, w in samples[(e, 10)])
        per_test = (c10 - c1) / 9
        print(f"  {e}")
        print(f"    CPU of a 10-test run {c10:6.1f} ms ({c10 / bare:4.2f}x bare), 1-test run "
              f"{c1:6.1f} ms; a test {per_test:5.1f} ms; the rest (start, teardown, the "
              f"command's own start) {c1 - per_test:6.1f} ms ({(c1 - per_test) / bare:4.2f}x)"
              f"; wall of a 10-test run {w10:6.1f} ms")


if __name__ == "__main__":
    main()
