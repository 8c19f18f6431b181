"""The shipped tasks (content/tasks/*.json) and their solutions, graded
through the real sandbox the way the executor grades them: the run's records,
then the task's checker (content.proto: exact, trailing whitespace, tokens,
float tolerance; a custom checker program, itself run through the sandbox,
with INPUT EXPECTED ACTUAL files: exit 0/42 accepted, 1/43 wrong, else a judge
error; a package validator or interactor, through `sandbox-run
--validator-file` and `--interactive`, which run the executor's own code for
it). The overall verdict is the first test's that is not AC, as in the
executor. Used by test_reference_solutions.py and test_under_load.py.

Knob: DOJO_SANDBOX_RUNSC_SAMPLE (tasks sampled under runsc, default 3)."""
import json
import os
import re
import sys

import sandboxkit as kit

sys.path.insert(0, str(kit.REPO / "tests" / "content"))
from check_tasks import default_validator  # noqa: E402  (one copy of the package format's rule)

TASKS_DIR = kit.REPO / "content" / "tasks"
DEFAULT_LIMITS = {"cpu_ms": 2000, "wall_ms": 5000, "memory_kib": 262144, "output_kib": 1024}
# output_kib is also the file-size limit inside the sandbox: the checker's
# three files (input, expected, actual: up to 1 MiB each) must fit.
CHECKER_LIMITS = {"cpu_ms": 10000, "wall_ms": 20000, "memory_kib": 262144, "output_kib": 4096}
RUNSC_SAMPLE = int(os.environ.get("DOJO_SANDBOX_RUNSC_SAMPLE", "3"))
# The file extension of each language, from the language catalogue.
EXT = {json.loads(p.read_text())["id"]: "." + json.loads(p.read_text())["file_extension"]
       for p in (kit.REPO / "services" / "executor" / "languages").glob("*.json")}

# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------

def load_tasks():
    tasks = {}
    for p in sorted(TASKS_DIR.glob("*.json")):
        try:
            tasks[p.stem] = json.loads(p.read_text())
        except ValueError as e:
            tasks[p.stem] = {"_error": f"{p.name}: not JSON: {e}"}
    return tasks


TASKS = load_tasks()


def effective_limits(task, language):
    lim = dict(DEFAULT_LIMITS)
    for k, v in (task.get("limits") or {}).items():
        if v:
            lim[k] = v
    for opt in task.get("languages") or []:
        if opt.get("language") == language:
            for k, v in (opt.get("limits") or {}).items():
                if v:
                    lim[k] = v
    return lim


def norm_verdict(v):
    if v in (None, "", 0, "unspecified", "VERDICT_UNSPECIFIED"):
        return None
    return str(v).upper().replace("VERDICT_", "")


def cases():
    """(task, kind, solution name, runtime) for every solution; runsc for a sample."""
    out = []
    for slug, task in TASKS.items():
        if "_error" in task:
            out.append((slug, "task", "load", "crun"))
            continue
        for kind, key in (("reference", "reference_solutions"), ("wrong", "wrong_solutions")):
            for s in task.get(key) or []:
                out.append((slug, kind, s["name"], "crun"))
    # runsc: a few tasks, different checker kinds first
    seen_kinds, sample = set(), []
    for slug, task in TASKS.items():
        kind = ((task.get("checker") or {}).get("kind") or "ignore_trailing_ws").lower()
        if "_error" in task or not task.get("reference_solutions") or kind in seen_kinds:
            continue
        seen_kinds.add(kind)
        sample.append(slug)
    for slug in sample[:RUNSC_SAMPLE]:
        out.append((slug, "reference", TASKS[slug]["reference_solutions"][0]["name"], "runsc"))
    return out


CASES = cases()


# ---------------------------------------------------------------------------
# Checkers (content.proto CheckerKind)
# ---------------------------------------------------------------------------

NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _trim_ws(s):
    lines = [l.rstrip(" \t") for l in s.replace("\r\n", "\n").split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def compare(checker, expected, actual):
    """(accepted, explanation) for the built-in checker kinds."""
    kind = (checker.get("kind") or "ignore_trailing_ws").lower()
    if kind in ("exact",):
        return expected == actual, "bytes differ"
    if kind in ("ignore_trailing_ws", "unspecified", ""):
        return _trim_ws(expected) == _trim_ws(actual), "lines differ (trailing whitespace ignored)"
    e, a = expected.split(), actual.split()
    if kind == "tokens":
        return e == a, "tokens differ"
    if kind == "float":
        abs_tol, rel_tol = checker.get("abs_tol") or 0.0, checker.get("rel_tol") or 0.0
        if abs_tol == 0 and rel_tol == 0:
            abs_tol = rel_tol = 1e-6
        if len(e) != len(a):
            return False, f"{len(a)} tokens, expected {len(e)}"
        for i, (x, y) in enumerate(zip(e, a)):
            if NUMBER.match(x) and NUMBER.match(y):
                xe, ya = float(x), float(y)
                if not (abs(ya - xe) <= abs_tol or abs(ya - xe) <= rel_tol * abs(xe)):
                    return False, f"token {i + 1}: {y} vs {x}"
            elif x != y:
                return False, f"token {i + 1}: {y!r} vs {x!r}"
        return True, ""
    if kind == "default_validator":
        return default_validator(checker, expected, actual)
    raise ValueError(f"unknown checker kind {kind!r}")


CHECKER_WRAPPER = r'''
import io, os, sys, traceback
def _dojo_battery_checker(src):
    try:
        data = sys.stdin.buffer.read()
        nl = data.index(b"\n")
        lens = [int(x) for x in data[:nl].split()[1:]]
        pos, paths = nl + 1, []
        os.makedirs("/tmp/check", exist_ok=True)
        for name, n in zip(("input", "expected", "actual"), lens):
            p = "/tmp/check/" + name
            with open(p, "wb") as f:
                f.write(data[pos:pos + n])
            pos += n
            paths.append(p)
        sys.argv = ["checker.py"] + paths
        sys.stdin = io.TextIOWrapper(io.BytesIO(b""))
        exec(compile(src, "checker.py", "exec"), {"__name__": "__main__", "__file__": "checker.py"})
    except SystemExit:
        raise
    except BaseException:  # a crashing checker (or wrapper) is a judge error, never WA
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(2)
_dojo_battery_checker(%r)
'''


def run_custom_checker(task, tests, actuals, runtime, workdir, slot, tmp):
    """Verdicts ("AC"/"WA"/"IE") with messages, one per (test, actual) pair."""
    custom = (task.get("checker") or {}).get("custom") or {}
    if custom.get("language") != "python3":
        return [("IE", f"custom checker language {custom.get('language')!r} is not supported "
                       "by this test")] * len(tests)
    tmp.mkdir(parents=True, exist_ok=True)
    code = tmp / "checker.py"
    code.write_text(CHECKER_WRAPPER % custom["source"])
    inputs = []
    for t, act in zip(tests, actuals):
        i, e, a = t["input"].encode(), t["expected"].encode(), act.encode()
        inputs.append(f"DOJOCHK {len(i)} {len(e)} {len(a)}\n".encode() + i + e + a)
    run = kit.sandbox_run(code, inputs, runtime=runtime, language="python3", workdir=workdir,
                          slot=slot, tmp=tmp / "checker-in", timeout_s=600,
                          cpu_ms=CHECKER_LIMITS["cpu_ms"], wall_ms=CHECKER_LIMITS["wall_ms"],
                          memory_kib=CHECKER_LIMITS["memory_kib"],
                          output_kib=CHECKER_LIMITS["output_kib"])
    out = []
    for k in range(len(tests)):
        ev = run.tests.get(k)
        if ev is None:
            out.append(("IE", f"the checker did not report (run ended "
                              f"{(run.end or {}).get('end')}): {run.stderr[-300:]}"))
            continue
        msg = (ev.get("stdout") or "").split("\n", 1)[0][:200]
        if ev.get("stderr"):
            msg += " [stderr: " + ev["stderr"][-300:] + "]"
        if ev["status"] == "OK" and ev["exit_code"] in (0, 42):
            out.append(("AC", msg))
        elif ev["status"] == "OK" and ev["exit_code"] in (1, 43):
            out.append(("WA", msg))
        else:
            out.append(("IE", f"checker failed: status {ev['status']} exit {ev['exit_code']} "
                              f"signal {ev['signal']}: {(ev.get('stderr') or '')[-300:]}"))
    return out


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

class Graded:
    def __init__(self):
        self.verdicts = []  # (test name, verdict, detail)
        self.status, self.cpu = {}, {}  # by test name: the driver's status, CPU time
        self.cpu_limit = 0
        self.overall = None
        self.run = None
        self.problems = []

    def table(self):
        return "\n".join(f"  {name}: {v} {d}" for name, v, d in self.verdicts)

    def summary(self):
        """What must not depend on load or runtime: the verdict of each test."""
        return kit.Verdicts([(name, v, self.status.get(name), self.cpu.get(name, 0))
                             for name, v, _ in self.verdicts], self.cpu_limit)


def package_args(checker, tests, tmp):
    """sandbox-run's arguments for a package validator (or interactor)."""
    vdir = tmp / "validator"
    vdir.mkdir(parents=True, exist_ok=True)
    args = ["--validator-language", checker["language"]]
    for f in checker["files"]:
        (vdir / f["name"]).write_text(f["content"])
        args += ["--validator-file", str(vdir / f["name"])]
    for flag in checker.get("flags") or []:
        args += ["--validator-flag", flag]
    for k, t in enumerate(tests):
        (tmp / f"answer-{k}").write_text(t["expected"])
        args += ["--answer", str(tmp / f"answer-{k}")]
    if checker.get("interactive"):
        args.append("--interactive")
    return args


def grade(task, solution, runtime, workdir, slot, tmp):
    g = Graded()
    lang = solution["language"]
    lim = effective_limits(task, lang)
    tmp.mkdir(parents=True, exist_ok=True)
    code = tmp / ("main" + EXT.get(lang, ".txt"))
    code.write_text(solution["code"])
    tests = task["tests"]
    checker = task.get("checker") or {}
    package = (checker.get("kind") or "").lower() == "package_validator"
    run = kit.sandbox_run(code, [t["input"] for t in tests], runtime=runtime, language=lang,
                          workdir=workdir, slot=slot, tmp=tmp / "in", timeout_s=900,
                          cpu_ms=lim["cpu_ms"], wall_ms=lim["wall_ms"],
                          memory_kib=lim["memory_kib"], output_kib=lim["output_kib"],
                          extra_args=package_args(checker, tests, tmp) if package else None)
    g.run = run
    g.problems += run.problems
    g.cpu_limit = lim["cpu_ms"]
    for k, t in enumerate(tests):
        ev = run.tests.get(k) or {}
        g.status[t["name"]], g.cpu[t["name"]] = ev.get("status"), ev.get("cpu_ms") or 0
    end = (run.end or {}).get("end")
    if end == "COMPILE_ERROR":
        g.overall = "CE"
        g.verdicts = [(t["name"], "CE", "") for t in tests]
        return g
    custom = (checker.get("kind") or "").lower() == "custom"
    if package and checker.get("interactive"):
        for k, t in enumerate(tests):
            x = run.interaction.get(k)
            g.verdicts.append((t["name"], x["verdict"] if x else "IE",
                               f"{x['message']} (first: {x['first']})" if x else
                               f"no interaction (run ended {end})"))
            if x:
                g.status[t["name"]], g.cpu[t["name"]] = x["program_status"], x["program_cpu_ms"]
        g.overall = next((v for _, v, _ in g.verdicts if v != "AC"), "AC")
        return g
    pending = []
    for k, t in enumerate(tests):
        ev = run.tests.get(k)
        if ev is None:
            v = {"WALL_KILLED": "TLE", "CRASHED": "RE", "CANCELLED": "CANCELLED"}.get(end, "IE")
            g.verdicts.append((t["name"], v, f"no record (run ended {end})"))
        elif ev["verdict"] != "OK":
            g.verdicts.append((t["name"], ev["verdict"],
                               f"status {ev['status']} exit {ev['exit_code']} signal "
                               f"{ev['signal']} cpu {ev['cpu_ms']} ms wall {ev['wall_ms']} ms "
                               f"rss {ev['rss_kib']} KiB {(ev.get('stderr') or '')[-200:]!r}"))
        elif package:
            v = run.validator.get(k) or {}
            g.verdicts.append((t["name"], v.get("verdict", "IE"), v.get("message", "no verdict")))
        elif custom:
            g.verdicts.append((t["name"], None, ""))
            pending.append(k)
        else:
            ok, why = compare(checker, t["expected"], ev.get("stdout") or "")
            g.verdicts.append((t["name"], "AC" if ok else "WA",
                               "" if ok else f"{why}; cpu {ev['cpu_ms']} ms"))
    if pending:
        res = run_custom_checker(task, [tests[k] for k in pending],
                                 [run.tests[k].get("stdout") or "" for k in pending], runtime,
                                 workdir, slot, tmp / "checker")
        for k, (v, msg) in zip(pending, res):
            g.verdicts[k] = (tests[k]["name"], v, msg)
    g.overall = next((v for _, v, _ in g.verdicts if v != "AC"), "AC")
    return g


def solution_of(c):
    """The solution object of a case (slug, kind, name, runtime)."""
    slug, kind, name, _ = c
    key = "reference_solutions" if kind == "reference" else "wrong_solutions"
    return next(x for x in TASKS[slug].get(key) or [] if x["name"] == name)

