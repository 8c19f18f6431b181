"""Every shipped task (content/tasks/*.json) through the real sandbox: each
reference solution must pass every test, each known-wrong solution must fail
(with its expected verdict when the task names one).

Solutions run with `executor sandbox-run` under crun, with the task's
effective limits for their language, all tests in one container as the
executor does. Output is compared here, in Python, by the task's checker as
content.proto defines it (exact; ignore trailing whitespace; tokens; float
tolerance; a custom checker program, itself run through the sandbox, with
INPUT EXPECTED ACTUAL files: exit 0 or 42 accepted, 1 or 43 wrong, anything
else a judge error). The overall verdict is the first test's that is not AC,
as in the executor. Under runsc a small sample runs too (the first reference
solution of a few tasks, one per checker kind where possible).

Knobs: DOJO_SANDBOX_JOBS_CRUN (parallel runs, default 2),
DOJO_SANDBOX_RUNSC_SAMPLE (tasks sampled under runsc, default 3)."""
import concurrent.futures
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sandboxkit as kit  # noqa: E402
from solutions import CASES, TASKS, TASKS_DIR, Graded, grade, norm_verdict, solution_of  # noqa: E402

JOBS = max(1, int(os.environ.get("DOJO_SANDBOX_JOBS_CRUN", "2")))
SLOT_BASE = int(os.environ.get("DOJO_SANDBOX_SLOT_BASE", "16")) + 40

_REASON = kit.skip_reason(("crun",))
if _REASON:
    pytestmark = pytest.mark.skip(reason=_REASON)


@pytest.fixture(scope="module")
def graded(request):
    me = Path(__file__).resolve()
    selected = [item.callspec.params["case"] for item in request.session.items
                if Path(str(item.fspath)).resolve() == me and hasattr(item, "callspec")
                and "case" in item.callspec.params and not item.get_closest_marker("skip")]
    runsc_ok = shutil.which("runsc") is not None
    tmp = Path(tempfile.mkdtemp(prefix="dojo-refsol-"))
    tmp.chmod(0o755)  # gVisor's gofer must reach the bundles below it
    kit.snapshot_executor(tmp)
    results = {}
    lock = threading.Lock()
    queue = [c for c in selected if c[1] != "task" and (c[3] == "crun" or runsc_ok)]
    # longest first: wrong solutions expected to time out, then big test sets
    queue.sort(key=lambda c: (c[1] == "wrong" and "tle" in str(solution_of(c).get(
        "expected_verdict", "")).lower(), c[3] == "runsc", len(TASKS[c[0]]["tests"])),
        reverse=True)

    def worker(k):
        wd = tmp / f"work-{k}"
        wd.mkdir()
        while True:
            with lock:
                if not queue:
                    return
                c = queue.pop(0)
            slug, kind, name, rt = c
            try:
                g = grade(TASKS[slug], solution_of(c), rt, wd, SLOT_BASE + k,
                          tmp / f"{slug}-{kind}-{name}-{rt}")
            except Exception as e:
                g = Graded()
                g.problems.append(f"harness error: {type(e).__name__}: {e}")
            with lock:
                results[c] = g
                kit.QUIET_VERDICTS[("solution",) + c] = g.summary()

    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        for f in [pool.submit(worker, k) for k in range(JOBS)]:
            f.result()
    yield results
    shutil.rmtree(tmp, ignore_errors=True)


def test_there_are_tasks():
    assert len(TASKS) >= 1, f"no task files in {TASKS_DIR}"


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c[0]}-{c[1]}-{c[2]}-{c[3]}")
                                  for c in CASES])
def test_solution(graded, case):
    slug, kind, name, rt = case
    if kind == "task":
        pytest.fail(TASKS[slug]["_error"])
    if rt == "runsc" and shutil.which("runsc") is None:
        pytest.skip("runsc is not installed")
    g = graded.get(case)
    assert g is not None, "not run"
    run_text = g.run.describe() if g.run else ""
    assert not g.problems, "the executor misbehaved:\n" + "\n".join(g.problems) + "\n" + run_text[:3000]
    if any(v == "IE" for _, v, _ in g.verdicts):
        pytest.fail(f"internal error (the judge failed, not the solution):\n{g.table()}")
    if kind == "reference":
        assert g.overall == "AC", (f"reference solution {name} of {slug} is not accepted under "
                                   f"{rt}:\n{g.table()}")
    else:
        want = norm_verdict(solution_of(case).get("expected_verdict"))
        assert g.overall != "AC", f"known-wrong solution {name} of {slug} passes every test"
        if want is not None:
            assert g.overall == want, (f"known-wrong solution {name} of {slug}: verdict "
                                       f"{g.overall}, the task expects {want}:\n{g.table()}")
