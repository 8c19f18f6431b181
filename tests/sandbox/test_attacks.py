"""The attack battery: every hostile program of attacks/ runs through the real
sandbox (`executor sandbox-run`) under crun and under runsc; its outcome must
match the expectations in its header, and the host must be unchanged
afterwards (no processes of the sandbox's uids, no containers, no mounts, no
cgroups, no files in the workdir, nothing new in /tmp, host files and clock
untouched, no connection reached the host's listeners).

Attack header format (see README.md): comment lines at the top of the file,
`# key: value` in Python, `// key: value` in C:

  attack: / why:        what it does and what a secure judge must do (prose)
  tests: N              how many test cases (inputs default to "<i>\\n")
  input@I: TEXT         the input of test I ({PLACEHOLDERS} expanded, "\\n" added)
  limits: cpu-ms=.. wall-ms=.. memory-kib=.. output-kib=..
  expect[@I]: k=v ...   checks of every test (or of test I only)
  expect[RT][@I]: ...   the same for one runtime only; replaces the generic
                        lines of the same scope for that runtime
  expect-run[RT]: ...   checks of the whole run (end, compile, ...)
  partner: FILE         run FILE at the same time in another slot first
  role: partner         only run as somebody's partner

Runs are done up front, in parallel threads (each with its own workdir and
slot), by a module fixture; each parametrised test then asserts its result.
Knobs: DOJO_SANDBOX_JOBS_CRUN (default 2), DOJO_SANDBOX_JOBS_RUNSC (default 4),
DOJO_SANDBOX_SLOT_BASE (default 16).

Every attack runs as the executor runs by default, in a sandbox started
before its job (DOJO_EXECUTOR_POOL on: `sandbox-run` starts the sandbox and
waits until it is ready before it sends the job); the cross-submission ones
(with a partner) also run with both sandboxes started cold (the pool off),
as `<attack>-<runtime>-cold`."""
import concurrent.futures
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sandboxkit as kit  # noqa: E402

ATTACKS = {a.name: a for a in kit.all_attacks()}
RUNNABLE = sorted(n for n, a in ATTACKS.items() if a.role != "partner")

_REASON = kit.skip_reason(("crun",))
if _REASON:
    pytestmark = pytest.mark.skip(reason=_REASON)
_RUNSC_REASON = None if shutil.which("runsc") else "runsc is not installed"

SLOT_BASE = int(os.environ.get("DOJO_SANDBOX_SLOT_BASE", "16"))
JOBS = {"crun": int(os.environ.get("DOJO_SANDBOX_JOBS_CRUN", "2")),
        "runsc": int(os.environ.get("DOJO_SANDBOX_JOBS_RUNSC", "4"))}
SETTLE_S = 20  # how long leftovers may take to disappear after the CLI returned
PARTNER_SLOT_OFFSET = 24


# How the sandboxes start: before their job (the pool, the default) or cold.
STARTS = {"pooled": "on", "cold": "off"}


def _params():
    out = []
    for rt in kit.RUNTIMES:
        for name in RUNNABLE:
            marks = [pytest.mark.skip(reason=_RUNSC_REASON)] if rt == "runsc" and _RUNSC_REASON else []
            out.append(pytest.param(name, rt, "pooled", id=f"{name}-{rt}", marks=marks))
            if ATTACKS[name].partner:
                out.append(pytest.param(name, rt, "cold", id=f"{name}-{rt}-cold", marks=marks))
    return out


class Result:
    def __init__(self, attack, runtime):
        self.attack = attack
        self.runtime = runtime
        self.run = None
        self.partner_run = None
        self.failures = []
        self.host_failures = []
        self.notes = []

    def report(self):
        a = self.attack
        lines = [f"attack {a.name} under {self.runtime}", a.description, ""]
        if self.failures:
            lines += ["OUTCOME FAILURES:"] + [f"  - {f}" for f in self.failures]
        if self.host_failures:
            lines += ["HOST NOT CLEAN:"] + [f"  - {f}" for f in self.host_failures]
        lines += [f"note: {n}" for n in self.notes]
        if self.run is not None:
            lines += ["", "run:", self.run.describe()]
        if self.partner_run is not None:
            lines += ["", "partner run:", self.partner_run.describe()]
        return "\n".join(lines)


class Battery:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.rootfs = kit.rootfs_dir()
        self.listeners = kit.HostListeners(tmp / "listen")
        self.canary = "DOJO-CANARY-" + secrets.token_hex(8)
        self.base_subst = kit.attack_subst(self.listeners, self.canary)
        self.start_mounts = kit.mounts()
        self.start_cgroups = set(kit.cgroups_named(("dojo",)))
        self.start_tmp = kit.tmp_entries()
        self.start_hashes = kit.host_file_hashes()
        self.start_clock = kit.clock_offset()
        self.uid_base = None
        self.results = {}
        self.all_ids = set()  # job ids (bundle folder names) seen while running
        self.lock = threading.Lock()

    # -- uid ranges -------------------------------------------------------
    def calibrate_uid_base(self):
        """The executor maps container uids to base + slot * 65536 + uid:
        learn the base from one tiny run (or DOJO_EXECUTOR_UID_BASE)."""
        if os.environ.get("DOJO_EXECUTOR_UID_BASE"):
            self.uid_base = int(os.environ["DOJO_EXECUTOR_UID_BASE"])
            return
        code = self.tmp / "uidmap.py"
        code.write_text("print(open('/proc/self/uid_map').read())\n")
        wd = self.tmp / "work-calibrate"
        run = kit.sandbox_run(code, ["\n"], runtime="crun", language="python3", workdir=wd,
                              slot=SLOT_BASE, tmp=self.tmp / "calibrate")
        try:
            inside, outside, _ = map(int, run.tests[0]["stdout"].split()[:3])
            self.uid_base = outside - inside - SLOT_BASE * 65536
        except (KeyError, ValueError, IndexError):
            self.uid_base = None  # fall back to "any uid >= 200000"

    def uid_ranges(self, slots):
        if self.uid_base is None:
            return None
        return [(self.uid_base + s * 65536, self.uid_base + (s + 1) * 65536) for s in slots]

    # -- one attack ---------------------------------------------------------
    def run_attack(self, attack, runtime, worker, start="pooled"):
        res = Result(attack, runtime)
        res.notes.append(f"sandboxes started {'before their jobs (pool)' if start == 'pooled' else 'cold'}")
        slot = SLOT_BASE + (0 if runtime == "crun" else 8) + worker
        slots = [slot]
        wd = self.tmp / f"work-{runtime}-{worker}"
        wd.mkdir(parents=True, exist_ok=True)
        subst = dict(self.base_subst, WORKDIR=str(wd),
                     SECRET="DOJO-SECRET-" + secrets.token_hex(12))
        ids = set()
        stop = threading.Event()

        def watch():  # learn the job ids (bundle folder names) while it runs
            while not stop.is_set():
                try:
                    ids.update(os.listdir(wd / "bundles"))
                except OSError:
                    pass
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        hits_before = len(self.listeners.hits)
        partner_thread = None
        partner_box = {}
        if attack.partner:
            partner = ATTACKS[Path(attack.partner).stem]
            pslot = slot + PARTNER_SLOT_OFFSET
            slots.append(pslot)

            def run_partner():
                partner_box["run"] = self._run(partner, runtime, wd, pslot, subst,
                                               f"{attack.name}-{runtime}-{start}-partner", start)
            partner_thread = threading.Thread(target=run_partner)
            partner_thread.start()
            time.sleep(1.2 if runtime == "crun" else 2.5)  # the victim has planted its secret
        try:
            res.run = self._run(attack, runtime, wd, slot, subst, f"{attack.name}-{runtime}-{start}",
                                start)
        finally:
            if partner_thread:
                partner_thread.join()
                res.partner_run = partner_box.get("run")
            stop.set()
            watcher.join()
        self._check_outcome(res, attack, runtime, res.run, subst)
        if res.partner_run is not None:
            partner = ATTACKS[Path(attack.partner).stem]
            for f in self._outcome_failures(partner, runtime, res.partner_run, subst):
                res.failures.append(f"partner {partner.name}: {f}")
        self._check_host(res, wd, slots, ids, hits_before)
        with self.lock:
            self.all_ids |= ids
        return res

    def _run(self, attack, runtime, wd, slot, subst, tag, start="pooled"):
        return kit.run_attack(attack, runtime, wd, slot, subst, self.tmp / "inputs" / tag,
                              extra_env={"DOJO_BATTERY_CANARY": self.canary,
                                         "DOJO_EXECUTOR_POOL": STARTS[start]})

    def _outcome_failures(self, attack, runtime, run, subst):
        fails = []
        if run.timed_out:
            fails.append("the executor did not finish within 150 s (hung judge)")
        fails += [f"event stream: {p}" for p in run.problems]
        if run.end is None and run.returncode != 0:
            fails.append(f"executor exited {run.returncode} without an end line "
                         "(a judge failure, not a verdict)")
        end = run.end["end"] if run.end else None
        for i in range(attack.tests):
            if end == "COMPILE_ERROR":
                break
            checks = attack.checks_for_test(runtime, i)
            fails += [f"test {i}: {f}" for f in kit.check_test(run.tests.get(i), checks, subst, end)]
        fails += kit.check_run(run, attack.run_checks(runtime), subst)
        # Leaks checked for every attack: nothing of the host's environment,
        # machine id or password hashes may appear in any output.
        blobs = [(f"test {i} stdout", e.get("stdout") or "") for i, e in run.tests.items()]
        blobs += [(f"test {i} stderr", e.get("stderr") or "") for i, e in run.tests.items()]
        blobs.append(("compile output", (run.compile or {}).get("output", "") or ""))
        for where, text in blobs:
            for key in ("CANARY", "MACHINE_ID", "SHADOW_ROOT_HASH"):
                if subst[key] in text:
                    fails.append(f"LEAK: {where} contains the host's {key}")
        return fails

    def _check_outcome(self, res, attack, runtime, run, subst):
        res.failures += self._outcome_failures(attack, runtime, run, subst)

    def _check_host(self, res, wd, slots, ids, hits_before):
        ranges = self.uid_ranges(slots)
        needles = (str(wd) + "/",)
        t0 = time.monotonic()
        files_since = None
        while True:
            procs = kit.sandbox_processes(ranges, needles)
            conts = kit.runtime_containers(wd)
            files = kit.leftover_files(wd)
            now = time.monotonic()
            if not (procs or conts or files) or now - t0 > SETTLE_S:
                break
            # Files alone: give the clean-up 2 s more, no more.
            if not (procs or conts):
                files_since = files_since or now
                if now - files_since > 2:
                    break
            time.sleep(0.25)
        waited = time.monotonic() - t0
        if waited > 3:
            res.notes.append(f"leftovers took {waited:.1f} s to disappear after the executor exited")
        res.host_failures += [f"process left: {p}" for p in procs]
        res.host_failures += [f"container left: {c}" for c in conts]
        bundles = {}
        for f in files:
            parts = f.split("/")
            key = "/".join(parts[:2]) if parts[0] == "bundles" and len(parts) > 2 else f
            bundles.setdefault(key, []).append(f)
        for key, fs in sorted(bundles.items()):
            res.host_failures.append(f"left in the workdir: {key}" + (
                f" ({len(fs)} files: {', '.join(x.split('/', 2)[-1] for x in fs[:6])})"
                if len(fs) > 1 or fs[0] != key else ""))
        res.host_failures += [f"mount left: {m}" for m in kit.mounts() - self.start_mounts
                              if str(wd) in m[0] or str(wd) in m[1]]
        if ids:
            res.host_failures += [f"cgroup left: {c}" for c in kit.cgroups_named(tuple(ids))]
        if ranges:
            for name, uid in kit.tmp_entries().items():
                if any(lo <= uid < hi for lo, hi in ranges):
                    res.host_failures.append(f"/tmp/{name} is owned by sandbox uid {uid}")
        removed, text = kit.executor_sweep(wd)
        if removed != 0:
            res.host_failures.append(f"`executor sweep` removed {removed} container(s): {text}")
        new_hits = self.listeners.hits[hits_before:]
        res.host_failures += [f"host listener reached (maybe by a concurrent attack): {h}"
                              for h in new_hits]
        # Leave the workdir empty for the next attack of this worker even if
        # this one left something (already reported).
        for p in list(wd.iterdir()) if wd.exists() else []:
            if p.name != "state":
                shutil.rmtree(p, ignore_errors=True)

    # -- everything -----------------------------------------------------------
    def run_all(self, selected):
        self.calibrate_uid_base()
        by_rt = {rt: sorted(((a, st) for (a, r, st) in selected if r == rt),
                            key=lambda x: self._cost(x[0]), reverse=True)
                 for rt in kit.RUNTIMES}
        pools, futures = [], []
        for rt, names in by_rt.items():
            if not names:
                continue
            n = max(1, JOBS[rt])
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=n)
            pools.append(pool)
            queue = list(names)
            qlock = threading.Lock()

            def worker(k, rt=rt, queue=queue, qlock=qlock):
                while True:
                    with qlock:
                        if not queue:
                            return
                        name, start = queue.pop(0)
                    try:
                        r = self.run_attack(ATTACKS[name], rt, k, start)
                    except Exception as e:  # a harness failure: report it on the test
                        r = Result(ATTACKS[name], rt)
                        r.failures.append(f"harness error: {type(e).__name__}: {e}")
                    with self.lock:
                        self.results[(name, rt, start)] = r
                        if r.run is not None and not r.attack.partner:
                            kit.QUIET_VERDICTS[("attack", name, rt)] = kit.attack_verdicts(
                                r.run, r.attack)
            for k in range(n):
                futures.append(pool.submit(worker, k))
        for f in futures:
            f.result()
        for p in pools:
            p.shutdown()

    @staticmethod
    def _cost(name):
        a = ATTACKS[name]
        return a.limits["wall-ms"] * a.tests + (3000 if a.language == "c" else 0) + \
            (8000 if a.partner else 0)


@pytest.fixture(scope="module")
def battery(request):
    me = Path(__file__).resolve()
    selected = set()
    for item in request.session.items:
        if Path(str(item.fspath)).resolve() == me and hasattr(item, "callspec") and \
                "attack" in item.callspec.params and not item.get_closest_marker("skip"):
            selected.add((item.callspec.params["attack"], item.callspec.params["runtime"],
                          item.callspec.params["start"]))
    tmp = Path(tempfile.mkdtemp(prefix="dojo-battery-"))
    tmp.chmod(0o755)  # gVisor's gofer must reach the bundles below it
    kit.snapshot_executor(tmp)
    b = Battery(tmp)
    try:
        b.run_all(selected)
        yield b
    finally:
        b.listeners.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_attack_files_are_well_formed():
    assert len(RUNNABLE) >= 30, f"only {len(RUNNABLE)} attacks"
    for a in ATTACKS.values():
        assert a.description.startswith("attack:"), f"{a.name}: no `attack:` line"
        assert "why:" in a.description, f"{a.name}: no `why:` line"
        if a.partner:
            assert Path(a.partner).stem in ATTACKS, f"{a.name}: unknown partner {a.partner}"


@pytest.mark.parametrize("attack,runtime,start", _params())
def test_attack(battery, attack, runtime, start):
    res = battery.results.get((attack, runtime, start))
    assert res is not None, "not run"
    assert not res.failures and not res.host_failures, res.report()


def test_host_unchanged_after_battery(battery):
    """After every attack (and every clean-up): the host as it was."""
    problems = []
    time.sleep(0.5)
    ranges = battery.uid_ranges(range(SLOT_BASE, SLOT_BASE + 64))
    problems += [f"process left: {p}" for p in kit.sandbox_processes(ranges, (str(battery.tmp),))]
    # Only mounts a sandbox could have touched: below the battery's folders or
    # the rootfs, or the host's /dev (crun's namespace binds device nodes
    # over it); other engineers' tests mount and unmount on a shared host.
    def ours(m):
        return any(str(p) in m[0] or str(p) in m[1] for p in (battery.tmp, battery.rootfs)) \
            or m[1] == "/dev" or m[1].startswith("/dev/")
    now = kit.mounts()
    for m in sorted(now - battery.start_mounts):
        if ours(m):
            problems.append(f"new mount: {m}")
    for m in sorted(battery.start_mounts - now):
        if ours(m):
            problems.append(f"mount gone: {m}")
    # only our jobs' cgroups: other executors may be running on this host
    if battery.all_ids:
        new_cg = sorted(set(kit.cgroups_named(tuple(battery.all_ids))) - battery.start_cgroups)
        problems += [f"new cgroup: {c}" for c in new_cg]
    for name, uid in kit.tmp_entries().items():
        if name in battery.start_tmp or str(battery.tmp).endswith(name):
            continue
        if uid >= kit.SANDBOX_UID_FLOOR or name.startswith(("dojo-cli", "runsc", "crun")):
            problems.append(f"new /tmp entry: {name} (owner {uid})")
    hashes = kit.host_file_hashes()
    for p, h in battery.start_hashes.items():
        if hashes.get(p) != h:
            problems.append(f"host file changed: {p}")
    drift = abs(kit.clock_offset() - battery.start_clock)
    if drift > 2:
        problems.append(f"the host's clock moved by {drift:.1f} s")
    problems += [f"host listener reached: {h}" for h in battery.listeners.hits]
    assert not problems, "\n".join(problems)


def test_runtimes_agree_on_every_attack_without_a_documented_difference(battery):
    """crun and runsc give every test the same verdict, except for the attacks
    whose headers declare a runtime-specific expectation (each says why:
    docs/sandbox.md, known differences)."""
    differ, documented = [], []
    for name in RUNNABLE:
        a = ATTACKS[name]
        runs = [battery.results.get((name, rt, "pooled")) for rt in kit.RUNTIMES]
        if any(r is None or r.run is None for r in runs) or a.partner:
            continue
        crun, runsc = (kit.verdict_summary(r.run, a.tests) for r in runs)
        if any(rt is not None for rt, _, _ in a.expects) or any(rt for rt, _ in a.run_expects):
            documented.append(name)
            continue
        if crun != runsc:
            differ.append(f"{name}: crun {crun} | runsc {runsc}")
    assert not differ, "verdicts differ between the runtimes:\n" + "\n".join(differ)
    assert len(documented) <= 8, f"{len(documented)} documented differences: {documented}"
