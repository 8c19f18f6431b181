"""probe.py — what the stack costs while the load runs: /proc and Redis.

Per watched process tree (a service, PostgreSQL's postmaster, Redis, the
generator itself), once a second:
  cpu_s    CPU seconds of the tree: utime+stime+cutime+cstime of every live
           process in it (a finished sandbox's CPU reaches its waiting
           parent's cutime, so nothing counts twice), plus what left the tree
           unreaped (TreeCpu), so the counter never goes backwards.
  rss_kib  private memory of the tree (RssAnon of every process) plus the
           root's file-backed and shared pages: PostgreSQL's backends share
           their buffers, which a sum of VmRSS would count once per backend.
  root_rss_kib          VmRSS of the root alone (the executor without its sandboxes)
  threads, fds, procs   of the root (threads, open descriptors) and the tree.
And for the machine: busy CPU (% of one core, all processes, other people's
builds included) from /proc/stat.

The queue: XINFO GROUPS dojo:jobs (the consumer group "executors": pending =
delivered, not yet acknowledged; lag = not yet delivered) and XLEN, on gwkit's
Redis client in a thread (one blocking round trip a second).
"""
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

# gwkit, and serverkit beside it (gwkit takes its Redis client from there).
for _d in ("tests/integration/gateway", "tests/integration"):
    _p = str(Path(__file__).resolve().parents[1] / _d)
    if _p not in sys.path:
        sys.path.insert(0, _p)
import gwkit  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
JOBS_STREAM = "dojo:jobs"  # KVC_JOBS and KVC_JOBS_GROUP in libcommon/kvc.h
JOBS_GROUP = "executors"


def _stat(pid):
    """(ppid, own ticks, reaped children's ticks, start time) from
    /proc/PID/stat, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(b")") + 2:].split()  # the name may hold spaces and ')'
    # rest[k] is field k + 3 of proc(5): ppid 4, utime 14, stime 15,
    # cutime 16, cstime 17, starttime 22
    return (int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]),
            int(rest[19]))


class TreeCpu:
    """CPU ticks of a process tree as a counter that never goes backwards.

    The sum over the live tree of own + reaped-children ticks loses a
    process's CPU when it leaves without being reaped inside the tree: a
    sandbox whose runtime was killed at the wall clock is reparented to init.
    So each sample matches the processes that left against the growth of
    their parents' reaped-children ticks; what no parent took is kept in
    `vanished`."""

    def __init__(self):
        self.prev = {}  # pid -> (ppid, own, reaped, start)
        self.vanished = 0

    def update(self, cur):
        prev = self.prev
        gone = {p: v for p, v in prev.items() if p not in cur or cur[p][3] != v[3]}
        owed = {}  # pid -> ticks its reaped-children counter should have taken

        def depth(p):
            d = 0
            while p in prev and d < 10000:
                p, d = prev[p][0], d + 1
            return d

        for p in sorted(gone, key=depth, reverse=True):  # leaves first
            ppid, own, reaped, _ = gone[p]
            total = own + reaped + owed.pop(p, 0)
            if ppid in gone:
                owed[ppid] = owed.get(ppid, 0) + total
            elif ppid in cur and ppid in prev:
                owed[ppid] = owed.get(ppid, 0) + total
            else:
                self.vanished += total
        for q, want in owed.items():
            took = max(0, cur[q][2] - prev[q][2])
            self.vanished += max(0, want - took)
        self.prev = cur
        return sum(v[1] + v[2] for v in cur.values()) + self.vanished


def _status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def _fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def machine_busy_ticks():
    """(busy, total) CPU ticks of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    total = sum(v[:8])
    return total - idle, total


class ProcProbe:
    def __init__(self, roots):
        self.roots = dict(roots)  # name -> pid
        self.cpu = {name: TreeCpu() for name in self.roots}
        self.ncpu = os.cpu_count() or 1

    def sample(self):
        """{name: {cpu_s, rss_kib, threads, fds, procs, alive}} and the machine's
        (busy, total) ticks."""
        stats = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                st = _stat(d)
                if st:
                    stats[int(d)] = st
        children = {}
        for pid, st in stats.items():
            children.setdefault(st[0], []).append(pid)
        out = {}
        for name, root in self.roots.items():
            if root not in stats:
                out[name] = {"alive": False}
                continue
            tree, todo = [], [root]
            while todo and len(tree) < 100000:
                p = todo.pop()
                tree.append(p)
                todo.extend(children.get(p, ()))
            ticks = self.cpu[name].update({p: stats[p] for p in tree})
            st = _status(root)
            anon = sum(_status(p).get("RssAnon", 0) for p in tree[1:]) + st.get("RssAnon", 0)
            out[name] = {
                "alive": True,
                "cpu_s": ticks / CLK_TCK,
                "rss_kib": anon + st.get("RssFile", 0) + st.get("RssShmem", 0),
                "root_rss_kib": st.get("VmRSS", 0),
                "threads": st.get("Threads"),
                "fds": _fds(root),
                "procs": len(tree),
            }
        return out, machine_busy_ticks()


def bare_python_ms(n=20):
    """Median wall time of `/usr/bin/python3 -c pass`, DESIGN.md's yardstick
    (the executor benchmark's bare_python_ms): how fast this machine is
    right now, busy as it may be with other people's work."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
        times.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(times)


class QueueProbe:
    """XINFO GROUPS / XLEN of the job stream on a connection of its own."""

    def __init__(self, addr):
        self.addr = addr
        self.r = None
        # Callers sample from worker threads (asyncio.to_thread): two at once
        # on one connection would read each other's replies.
        self.lock = threading.Lock()

    def sample(self):
        with self.lock:
            return self._sample()

    def _sample(self):
        try:
            if self.r is None:
                self.r = gwkit.Redis(self.addr)
            out = {"xlen": self.r.cmd("XLEN", JOBS_STREAM), "pending": None, "lag": None}
            try:
                groups = self.r.cmd("XINFO", "GROUPS", JOBS_STREAM)
            except RuntimeError:  # no stream yet
                return out
            for g in groups or []:
                d = {g[i].decode() if isinstance(g[i], bytes) else g[i]: g[i + 1]
                     for i in range(0, len(g) - 1, 2)}
                name = d.get("name")
                if (name.decode() if isinstance(name, bytes) else name) == JOBS_GROUP:
                    out["pending"] = d.get("pending")
                    out["lag"] = d.get("lag")
            return out
        except (OSError, RuntimeError):
            self.close()
            return None

    def close(self):
        if self.r is not None:
            try:
                self.r.close()
            except OSError:
                pass
            self.r = None


async def run_probes(procs, queue, t_start, until, samples, every=1.0, on_sample=None):
    """Samples once every `every` s (monotonic time after t_start) into
    samples["proc"] / ["queue"] until until() is true (bounded by it and by
    the caller's cancel)."""
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while not until():
        t = loop.time() - t_start
        p, machine = procs.sample()
        samples["proc"].append((t, p, machine))
        if on_sample is not None:
            on_sample(t)
        if queue is not None:
            q = await asyncio.to_thread(queue.sample)
            if q is not None:
                samples["queue"].append((t, q))
        next_at += every
        await asyncio.sleep(max(0.0, next_at - loop.time()))
