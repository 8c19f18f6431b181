"""The same verdict under load: every attack of the battery (crun and runsc)
and every shipped reference and known-wrong solution (crun, and the runsc
sample of test_reference_solutions.py) run again while the machine is loaded
— a CPU burner on every core, each pinned to its core and in a cpu cgroup of
its own (so it weighs as much as a container), and two sandboxes at once —
and every test's verdict must equal the quiet run's. (One exception: a test
that needs half its CPU limit or more may get TLE in one run and another
verdict in the other; sandboxkit.BORDERLINE_CPU_SHARE says why.)

The quiet verdicts come from test_attacks.py and test_reference_solutions.py
earlier in the same session (kit.QUIET_VERDICTS); what they did not run (this
module run alone) is run quietly here first, two at a time.

Bounded: the loaded pass stops at DOJO_SANDBOX_LOAD_BUDGET_S (default 1800 s,
whatever is not run by then fails as "not run"); the burners stop with it.
DOJO_SANDBOX_LOAD=0 skips the module; DOJO_SANDBOX_LOAD_REPORT=FILE writes the
verdict table there."""
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
from solutions import CASES, TASKS, grade, solution_of  # noqa: E402

ATTACKS = {a.name: a for a in kit.all_attacks()}
# Alone, without the partner they wait for (its verdict is OK either way).
RUNNABLE = sorted(n for n, a in ATTACKS.items() if a.role != "partner")
SOLUTIONS = [c for c in CASES if c[1] != "task"]
BUDGET_S = float(os.environ.get("DOJO_SANDBOX_LOAD_BUDGET_S", "1800"))
SLOT_BASE = int(os.environ.get("DOJO_SANDBOX_SLOT_BASE", "16")) + 48
WORKERS = 2  # two sandboxes at once, as two executors would run them

_REASON = kit.skip_reason(("crun",))
if os.environ.get("DOJO_SANDBOX_LOAD", "1") == "0":
    _REASON = "DOJO_SANDBOX_LOAD=0"
if _REASON:
    pytestmark = pytest.mark.skip(reason=_REASON)
_RUNSC = shutil.which("runsc") is not None


def _cases():
    out = [("attack", name, rt) for rt in kit.RUNTIMES for name in RUNNABLE
           if rt == "crun" or _RUNSC]
    out += [("solution",) + c for c in SOLUTIONS if c[3] == "crun" or _RUNSC]
    return out


CASES_UNDER_LOAD = _cases()


class Runner:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.listeners = kit.HostListeners(tmp / "listen")
        self.subst = kit.attack_subst(self.listeners, "DOJO-CANARY-" + secrets.token_hex(8))

    def verdicts(self, case, worker: int, tag: str) -> str:
        wd = self.tmp / f"work-{tag}-{worker}"
        wd.mkdir(parents=True, exist_ok=True)
        slot = SLOT_BASE + worker
        where = self.tmp / tag / "-".join(case[1:])
        if case[0] == "attack":
            _, name, rt = case
            a = ATTACKS[name]
            subst = dict(self.subst, WORKDIR=str(wd), SECRET="DOJO-SECRET-" + secrets.token_hex(8))
            return kit.attack_verdicts(kit.run_attack(a, rt, wd, slot, subst, where), a)
        c = case[1:]
        g = grade(TASKS[c[0]], solution_of(c), c[3], wd, slot, where)
        if g.problems:
            return kit.Verdicts([("problems", "; ".join(g.problems)[:300], None, 0)], 0)
        return g.summary()

    def run_all(self, cases, tag, deadline=None):
        """{case: verdict summary}, WORKERS at a time; cases left at the
        deadline are missing."""
        out, lock, queue = {}, threading.Lock(), list(cases)

        def work(k):
            while deadline is None or time.monotonic() < deadline:
                with lock:
                    if not queue:
                        return
                    case = queue.pop(0)
                try:
                    v = self.verdicts(case, k, tag)
                except Exception as e:  # a harness failure: reported on the case
                    v = kit.Verdicts([("harness error", f"{type(e).__name__}: {e}", None, 0)], 0)
                with lock:
                    out[case] = v

        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for f in [pool.submit(work, k) for k in range(WORKERS)]:
                f.result()
        return out

    def close(self):
        self.listeners.close()


@pytest.fixture(scope="module")
def under_load(request):
    me = Path(__file__).resolve()
    selected = [item.callspec.params["case"] for item in request.session.items
                if Path(str(item.fspath)).resolve() == me and hasattr(item, "callspec")
                and "case" in item.callspec.params and not item.get_closest_marker("skip")]
    tmp = Path(tempfile.mkdtemp(prefix="dojo-load-"))
    tmp.chmod(0o755)  # gVisor's gofer must reach the bundles below it
    kit.snapshot_executor(tmp)
    r = Runner(tmp)
    try:
        missing = [c for c in selected if c not in kit.QUIET_VERDICTS]
        quiet = dict(kit.QUIET_VERDICTS)
        quiet.update(r.run_all(missing, "quiet"))
        t0 = time.monotonic()
        with kit.CpuLoad(BUDGET_S + 60):
            loaded = r.run_all(selected, "loaded", deadline=t0 + BUDGET_S)
        took = time.monotonic() - t0
        report = os.environ.get("DOJO_SANDBOX_LOAD_REPORT")
        if report:  # the verdict table, for people (docs/sandbox.md)
            with open(report, "w") as f:
                f.write(f"loaded pass: {took:.0f} s\n\n| case | quiet | loaded | differences |\n"
                        "|---|---|---|---|\n")
                for c in selected:
                    q, l = quiet.get(c), loaded.get(c)
                    note = ""
                    if q is not None and l is not None:
                        diff, border = kit.verdict_differences(q, l)
                        note = "; ".join(diff + [f"borderline {b}" for b in border])
                    f.write(f"| {' '.join(c[1:])} | {q} | {l} | {note} |\n")
        yield quiet, loaded, took
    finally:
        r.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("case", [pytest.param(c, id="-".join(c)) for c in CASES_UNDER_LOAD])
def test_verdict_under_load_equals_the_quiet_one(under_load, case):
    quiet, loaded, took = under_load
    assert case in loaded, f"not run: the loaded pass stopped at its budget ({took:.0f} s)"
    assert case in quiet, "no quiet run to compare with"
    diff, _ = kit.verdict_differences(quiet[case], loaded[case])
    assert not diff, (f"quiet:  {quiet[case]}\nloaded: {loaded[case]}\n" + "\n".join(diff))
