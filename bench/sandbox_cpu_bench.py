#!/usr/bin/python3
"""Where the CPU of one sandboxed submission goes, by process and by kind of
kernel work, in CPU-ms (not wall).

Runs `executor sandbox-run` (one cold box: the bundle, `crun run`, the driver,
the zygote and its ten forks, the teardown) of the `a + b` Python task with
10 tests, N times in a row under `perf record -g`, for one or more executor
binaries, in interleaved rounds (A/B of a change in the same minutes), and
prints each process's samples per run: the executor (its own start as a
command is in it: the service pays that once), crun, the driver, the zygote,
the zygote's forks (the tests), and with --system (perf record -a: the whole
machine, other users' work too) the kernel threads the boxes leave work to —
a network namespace's teardown (cleanup_net) and the cgroups' release run in
kworkers. Inside each process, samples are sorted into kinds of kernel work
by the first matching function of their call chain (netns creation, mounts,
cgroup directories, seccomp, fork, exec, page faults, exit, ...).

    sudo /usr/bin/python3 bench/sandbox_cpu_bench.py [--runs 20] [--rounds 2]
        [--runtime crun] [--system] [--executor PATH]...
        (default executor: bazel-bin/services/executor/executor)

An executor binary is looked up with its driver next to it
(<dir>/driver/driver or driver/driver.bin), as the service does. Needs root,
perf, and the language root filesystems (DOJO_EXECUTOR_ROOTFS_DIR, default
.dojo/rootfs). Prints the load average: the machine may be shared.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CODE = "a, b = map(int, input().split())\nprint(a + b)\n"
FREQ = 4999

# (kind, functions): the first kind one of whose functions is in a sample's
# call chain names the sample's kernel work.
KINDS = [
    ("netns: create", ["copy_net_ns"]),
    ("netns: teardown", ["cleanup_net"]),
    ("cgroup freezer (static key)", ["freezer_write", "freezer_apply_state"]),
    ("cgroup mkdir", ["cgroup_mkdir"]),
    ("cgroup rmdir / release", ["cgroup_rmdir", "css_killed_work_fn", "css_free_rwork_fn",
                                "css_release_work_fn"]),
    ("cgroup files", ["kernfs_fop_write_iter", "kernfs_fop_read_iter"]),
    ("mount", ["path_mount", "__x64_sys_mount", "__x64_sys_fsmount", "__x64_sys_open_tree",
               "__x64_sys_move_mount"]),
    ("umount", ["cleanup_mnt", "__x64_sys_umount", "umount_tree", "put_mnt_ns"]),
    ("pivot_root", ["__x64_sys_pivot_root"]),
    ("seccomp load", ["do_seccomp"]),
    ("other namespaces", ["create_new_namespaces", "copy_mnt_ns"]),
    ("execve", ["do_execveat_common", "bprm_execve"]),
    ("exit / unmap", ["do_exit", "exit_mmap"]),
    ("fork", ["copy_process", "kernel_clone"]),
    ("page faults", ["asm_exc_page_fault"]),
    ("unlink / rmdir", ["do_unlinkat", "do_rmdir"]),
    ("ext4", ["ext4_"]),
    ("path lookup / open", ["path_openat", "filename_lookup", "vfs_statx"]),
    ("other system calls", ["do_syscall_64"]),
]


def bare_python_ms(n=20):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return times[len(times) // 2]


def runner(work, exe, runtime, runs):
    """A shell script doing `runs` sandbox-runs in a row (perf records it)."""
    args = " ".join(f"--input {work}/in{i}" for i in range(10))
    env = (f"DOJO_EXECUTOR_POOL=off DOJO_EXECUTOR_WORKDIR={work}/w "
           f"DOJO_EXECUTOR_LANGUAGES_DIR={REPO}/services/executor/languages "
           f"DOJO_EXECUTOR_ROOTFS_DIR={os.environ.get('DOJO_EXECUTOR_ROOTFS_DIR', REPO / '.dojo/rootfs')} "
           f"DOJO_LOG_LEVEL=warn")
    script = work / "run.sh"
    script.write_text(
        "#!/bin/sh\nset -e\n"
        f"for n in $(seq {runs}); do {env} {exe} sandbox-run --runtime {runtime} "
        f"--language python3 --code {work}/main.py --slot 91 {args} > {work}/out.txt; "
        f"[ $(grep -c '\"verdict\":\"OK\"' {work}/out.txt) = 10 ]; done\n")
    script.chmod(0o755)
    return script


def classify(perf_data, exe):
    """Samples by (process, kind) from `perf script`."""
    text = subprocess.run(["perf", "script", "-i", str(perf_data)], capture_output=True,
                          text=True).stdout
    exe_comm = Path(exe).name[:15]
    samples = []  # (comm, pid, kind)
    for block in text.split("\n\n"):
        lines = block.strip("\n").split("\n")
        m = re.match(r"\s*(.+?)\s+(\d+)\s+(?:\[\d+\]\s+)?\d+\.\d+:", lines[0]) if lines else None
        if not m:
            continue
        comm, pid = m.group(1), m.group(2)
        chain = "\n".join(lines[1:])
        kind = "user"
        if "[kernel.kallsyms]" in chain:
            kind = "other kernel"
            for name, funcs in KINDS:
                if any(f in chain for f in funcs):
                    kind = name
                    break
        samples.append((comm, pid, kind))
    # The zygote is the python3 that exec'd (its pid ran the longest); its
    # forks are the tests.
    per_pid = collections.Counter(pid for comm, pid, _ in samples if comm == "python3")
    zygotes = {pid for pid, n in per_pid.items() if n >= 0.5 * max(per_pid.values(), default=0)}
    out = collections.Counter()
    for comm, pid, kind in samples:
        if comm == exe_comm or comm.startswith(("grpc_", "default-execu", "resolver-exec")):
            proc = "executor (with its start as a command)"
        elif comm in ("crun", "memfd:crun"):
            proc = "crun"
        elif comm == "python3":
            proc = "zygote" if pid in zygotes else "tests (forks of the zygote)"
        elif comm == "driver":
            proc = "driver"
        elif comm.startswith("kworker"):
            proc = "kworkers"
        elif comm.startswith(("ksoftirqd", "rcu")):
            proc = "softirq / rcu"
        elif comm == "swapper":
            continue
        elif comm in ("run.sh", "seq", "sh", "grep", "perf"):
            proc = "(the bench's shell)"
        else:
            proc = "others (not ours)"
        out[(proc, kind)] += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--runtime", default="crun", choices=["crun", "runsc"])
    ap.add_argument("--system", action="store_true", help="perf record -a (kworkers too)")
    ap.add_argument("--executor", action="append")
    ap.add_argument("--min-ms", type=float, default=0.1)
    o = ap.parse_args()
    if not shutil.which("perf"):
        raise SystemExit("needs perf")
    exes = o.executor or [str(REPO / "bazel-bin/services/executor/executor")]
    work = Path(tempfile.mkdtemp(prefix="sandbox-cpu-bench-"))
    work.chmod(0o755)  # gVisor's gofer runs unprivileged: it must reach the bundles
    (work / "main.py").write_text(CODE)
    for i in range(10):
        (work / f"in{i}").write_text(f"{i} {i * 7}\n")
    totals = {e: collections.Counter() for e in exes}
    try:
        bare0 = bare_python_ms()
        for e in exes:  # warm-up: page cache, the executor's shared copies
            subprocess.run([str(runner(work, e, o.runtime, 1))], check=True)
        for r in range(o.rounds):
            for e in exes:
                data = work / "perf.data"
                script = runner(work, e, o.runtime, o.runs)
                cmd = ["perf", "record", "-g", "-F", str(FREQ), "-o", str(data)]
                if o.system:
                    cmd.append("-a")
                subprocess.run(cmd + ["--", str(script)], check=True, capture_output=True)
                totals[e] += classify(data, e)
        bare1 = bare_python_ms()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ms = 1000.0 / FREQ / (o.runs * o.rounds)
    print(f"\nsandbox CPU benchmark ({time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, "
          f"{o.runtime}, {o.rounds} rounds x {o.runs} cold 10-test runs per executor, "
          f"interleaved; perf record{' -a' if o.system else ''} at {FREQ} Hz; load "
          f"{os.getloadavg()[0]:.1f}; bare `python3 -c pass` {bare0:.1f} / {bare1:.1f} ms)")
    for e in exes:
        c = totals[e]
        procs = collections.Counter()
        for (p, _), n in c.items():
            procs[p] += n
        ours = sum(n for p, n in procs.items() if p not in ("others (not ours)",
                                                               "(the bench's shell)"))
        print(f"  {e}: {ours * ms:.1f} ms of CPU a run (ours)")
        for p, n in procs.most_common():
            print(f"    {p:40s} {n * ms:6.2f} ms")
            for (pp, k), kn in sorted(c.items(), key=lambda x: -x[1]):
                if pp == p and kn * ms >= o.min_ms:
                    print(f"      {k:38s} {kn * ms:6.2f}")


if __name__ == "__main__":
    main()
