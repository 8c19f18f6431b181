#!/usr/bin/python3
"""Local check of Dojo's content data: runs the solutions, and holds the
catalogue to this repository's conventions (standard library only).

    /usr/bin/python3 tests/content/check_tasks.py [-j N] [--no-run] [SLUG ...]

What a valid task or achievement file is, only the content service decides:
this script runs its validator (`content validate content`, the binary from
$DOJO_BIN_DIR or bazel-bin/, built by `bazel build //services/content`) and
reports every error and warning it prints. For every valid task it then
  * runs every python3 reference solution, the starter code and every python3
    known-wrong solution (those in other languages are judged through the real
    sandbox by tests/sandbox/test_reference_solutions.py) on every test's input, on the task as the service
    stores it (`content normalize`: limits, checker and tests with their
    defaults resolved), with per-test CPU, wall, memory and output limits,
    and judges the output with the task's checker: exact,
    ignore_trailing_ws, tokens, float (abs_tol / rel_tol), custom (the
    checker program is run as content.proto's CustomChecker says: three file
    arguments input, expected, actual; exit 0 accepted, 1 wrong answer,
    anything else an internal error) or a python3 package_validator (the
    problem package format's `validator input answer feedback_dir < output`,
    exit 42/43; with `interactive`, run at the same time as the solution,
    connected to it by pipes);
  * asserts that every reference solution is accepted on every test, that the
    starter code runs (exit 0) on the visible tests, and that every known-wrong
    solution is rejected: its first failing test gets its expected_verdict when
    it names one, any failure otherwise;
  * checks the conventions of this repository's catalogue (CONVENTIONS below):
    stricter than what Dojo accepts from an author, they keep the shipped
    tasks uniform (sections of the description, 2-3 visible tests, every
    limit written out, ...).
With no SLUG it also checks the catalogue as a whole: enough tasks and
achievements, every rule kind used, achievement tags and thresholds that
tasks can meet.

Prints one line per task (and per achievement), then "N passed, N failed";
exits 1 when anything failed. This is a local check of the data; the judged
run through the real sandbox is tests/sandbox/test_reference_solutions.py.
"""

import argparse
import concurrent.futures
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTENT_DIR = ROOT / "content"
TASKS_DIR = CONTENT_DIR / "tasks"
ACH_DIR = CONTENT_DIR / "achievements"
PYTHON = sys.executable or "/usr/bin/python3"
PRLIMIT = "/usr/bin/prlimit"  # util-linux, in every Debian install


def content_binary():
    bin_dir = Path(os.environ.get("DOJO_BIN_DIR") or ROOT / "bazel-bin")
    return bin_dir / "services" / "content" / "content"


# ---------------------------------------------------------------------------
# The service's validator: the one authority on what a valid file is
# ---------------------------------------------------------------------------

def validate(binary, content_dir=CONTENT_DIR):
    """Runs `content validate` on content/: {file name: [problem, ...]}.
    Errors and warnings both count: the shipped files should be clean."""
    r = subprocess.run([str(binary), "validate", str(content_dir)], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    if r.returncode not in (0, 1) or "files checked" not in r.stderr:
        raise SystemExit(f"content validate failed (exit {r.returncode}):\n{r.stderr}")
    problems = {}
    for line in r.stdout.splitlines() + r.stderr.splitlines():
        if ".json:$" not in line:
            continue
        cut = line.index(".json:$") + len(".json")
        problems.setdefault(Path(line[:cut]).name, []).append(line[cut + 1:])
    return problems


def normalized(binary, path):
    """The task file at `path` as the service stores it."""
    r = subprocess.run([str(binary), "normalize", str(path)], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError(f"content normalize {path.name} failed: {r.stdout}{r.stderr}")
    return json.loads(r.stdout)


# ---------------------------------------------------------------------------
# Conventions of this repository's catalogue. The files are valid already
# (every field has its type); these only make the shipped tasks uniform.
# ---------------------------------------------------------------------------

POINTS = {"easy": (10, 20), "medium": (30, 50), "hard": (60, 100)}
SECTIONS = ("## Input", "## Output", "## Constraints", "## Example")
LIMITS = ("cpu_ms", "wall_ms", "memory_kib", "output_kib")
KEBAB_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
RULE_KINDS = ["first_solve", "tasks_solved", "points", "streak_days", "tag_complete",
              "difficulty_complete", "first_attempt", "difficulty_solved", "all_tasks"]


def task_conventions(t):
    """Problems of the task file `t` (as written) with the conventions."""
    p = []
    tests, desc = t["tests"], t["description"]
    visible = [x for x in tests if not x.get("hidden")]
    hidden = len(tests) - len(visible)
    lo, hi = POINTS[t["difficulty"]]
    python = next((x for x in t["languages"] if x["language"] == "python3"), None)
    rules = [
        (KEBAB_RE.match(t["slug"]), "$.slug: must be kebab-case"),
        (lo <= t.get("points", 0) <= hi, f"$.points: must be written, {lo}-{hi} for {t['difficulty']} tasks"),
        (python and python.get("starter_code"), "$.languages: must offer python3 with starter code"),
        (all(t.get("limits", {}).get(k) for k in LIMITS), "$.limits: every limit is written out"),
        ("kind" in t.get("checker", {}), "$.checker: the checker kind is written out"),
        (all("hidden" in x and "weight" in x for x in tests), "$.tests: every test writes hidden and weight"),
        (2 <= len(visible) <= 3, f"$.tests: has {len(visible)} visible tests; 2-3 wanted"),
        (5 <= hidden <= 10, f"$.tests: has {hidden} hidden tests; 5-10 wanted"),
        (1 <= len(t.get("tags", [])), "$.tags: at least one tag"),
        (1 <= len(t.get("hints", [])) <= 3, "$.hints: 1-3 hints"),
        (t.get("reference_solutions"), "$.reference_solutions: at least one"),
    ]
    p += [msg for ok, msg in rules if not ok]
    p += [f"$.description: has no {s!r} section" for s in SECTIONS if s not in desc]
    if visible and (visible[0].get("input", "").strip() not in desc
                    or visible[0]["expected"].strip() not in desc):
        p.append("$.description: the worked example must be the first visible test")
    # What this script can run: python3 solutions (those in other languages
    # are judged by the sandbox stage, tests/sandbox/test_reference_solutions.py);
    # every task keeps a python3 reference solution.
    if t.get("reference_solutions") and not any(
            s["language"] == "python3" for s in t["reference_solutions"]):
        p.append("$.reference_solutions: at least one in python3 (the one this check runs)")
    custom = t.get("checker", {}).get("custom")
    if t.get("checker", {}).get("kind") == "custom" and custom["language"] != "python3":
        p.append("$.checker.custom.language: this check runs python3 checkers only")
    if t.get("checker", {}).get("kind") == "package_validator" and \
            t["checker"].get("language") != "python3":
        p.append("$.checker.language: this check runs python3 validators only")
    return p


def catalogue_conventions(tasks, achievements):
    """Problems of the catalogue as a whole (tasks and achievements by slug)."""
    p = []
    tags = {tag for t in tasks.values() for tag in t.get("tags", [])}
    per_difficulty = {d: sum(t["difficulty"] == d for t in tasks.values()) for d in POINTS}
    kinds = set()
    for slug, a in achievements.items():
        r = a["rule"]
        kinds.add(r["kind"])
        if "tag" in r and r["tag"] not in tags:
            p.append(f"achievement {slug} $.rule.tag: no task has the tag {r['tag']!r}")
        if r["kind"] == "difficulty_solved" and r["threshold"] > per_difficulty[r["difficulty"]]:
            p.append(f"achievement {slug} $.rule.threshold: only "
                     f"{per_difficulty[r['difficulty']]} {r['difficulty']} tasks exist")
    missing = [k for k in RULE_KINDS if k not in kinds]
    if missing:
        p.append(f"achievements: no achievement uses rule kind(s) {', '.join(missing)}")
    if len(tasks) < 30:
        p.append(f"tasks: only {len(tasks)} task files (at least 30 wanted)")
    if len(achievements) < 12:
        p.append(f"achievements: only {len(achievements)} files (at least 12 wanted)")
    return p


# ---------------------------------------------------------------------------
# Running and judging
# ---------------------------------------------------------------------------

def resolved_limits(task):
    """The python3 limits of a task: the language's own over the task's (a
    normalised task has both complete)."""
    lim = dict(task.get("limits") or {})
    for lo in task.get("languages", []):
        if lo.get("language") == "python3":
            lim.update({k: v for k, v in (lo.get("limits") or {}).items() if v})
    return lim


class RunResult:
    def __init__(self, stdout, stderr, status, cpu_ms, wall_ms, timed_out, truncated):
        self.stdout = stdout
        self.stderr = stderr
        self.status = status  # as from os.wait4
        self.cpu_ms = cpu_ms
        self.wall_ms = wall_ms
        self.timed_out = timed_out
        self.truncated = truncated


def run_program(argv, stdin_bytes, lim, cwd):
    """Runs argv with the task's limits; returns a RunResult with the child's own rusage."""
    cpu_s = math.ceil(lim["cpu_ms"] / 1000) + 1
    mem = lim["memory_kib"] * 1024
    out_cap = lim["output_kib"] * 1024

    limits = [f"--cpu={cpu_s}:{cpu_s + 1}", f"--as={mem}", "--core=0"]
    start = time.monotonic()
    # prlimit sets the limits and execs the program (same pid, so wait4's rusage is the
    # program's); a preexec_fn would not be safe with the threads this script uses.
    proc = subprocess.Popen([PRLIMIT] + limits + ["--"] + argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            start_new_session=True,
                            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"})
    out, err = [], []
    state = {"out": 0, "truncated": False, "timed_out": False}

    def feed():
        try:
            proc.stdin.write(stdin_bytes)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def drain(stream, buf, cap, is_out):
        total = 0
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            if total < cap + 1:
                buf.append(chunk[: cap + 1 - total])
            total += len(chunk)
            if is_out and total > cap:
                state["truncated"] = True
        stream.close()

    def kill():
        state["timed_out"] = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    threads = [threading.Thread(target=feed, daemon=True),
               threading.Thread(target=drain, args=(proc.stdout, out, out_cap, True), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, err, 64 * 1024, False), daemon=True)]
    for th in threads:
        th.start()
    timer = threading.Timer(lim["wall_ms"] / 1000.0, kill)
    timer.start()
    _, status, ru = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = -1  # reaped here; keep Popen from waiting again
    wall_ms = (time.monotonic() - start) * 1000
    for th in threads:
        th.join(5)
    cpu_ms = (ru.ru_utime + ru.ru_stime) * 1000
    return RunResult(b"".join(out), b"".join(err), status, cpu_ms, wall_ms,
                     state["timed_out"], state["truncated"])


def parse_number(tok):
    try:
        v = float(tok)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def normalise_trailing_ws(text):
    lines = text.replace("\r\n", "\n").split("\n")
    lines = [ln.rstrip(" \t") for ln in lines]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def compare(checker, inp, expected, actual, workdir):
    """Returns (verdict, message) for one test's output under the task's checker."""
    kind = checker.get("kind", "ignore_trailing_ws")
    if kind == "exact":
        return ("ac", "") if actual == expected.encode("utf-8") else ("wa", "output differs byte-wise")
    text = actual.decode("utf-8", errors="replace")
    if kind == "ignore_trailing_ws":
        return ("ac", "") if normalise_trailing_ws(text) == normalise_trailing_ws(expected) \
            else ("wa", "output differs")
    if kind == "tokens":
        return ("ac", "") if text.split() == expected.split() else ("wa", "tokens differ")
    if kind == "float":
        abs_tol = checker.get("abs_tol", 0) or 0
        rel_tol = checker.get("rel_tol", 0) or 0
        if abs_tol == 0 and rel_tol == 0:
            abs_tol = rel_tol = 1e-6
        a_toks, e_toks = text.split(), expected.split()
        if len(a_toks) != len(e_toks):
            return "wa", f"expected {len(e_toks)} tokens, got {len(a_toks)}"
        for i, (a, e) in enumerate(zip(a_toks, e_toks)):
            av, ev = parse_number(a), parse_number(e)
            if av is not None and ev is not None:
                d = abs(av - ev)
                if not (d <= abs_tol or d <= rel_tol * abs(ev)):
                    return "wa", f"token {i + 1}: {a} is not within tolerance of {e}"
            elif a != e:
                return "wa", f"token {i + 1}: {a!r} != {e!r}"
        return "ac", ""
    if kind == "default_validator":
        ok, why = default_validator(checker, expected, text)
        return ("ac", "") if ok else ("wa", why)
    if kind == "package_validator":
        code = package_validator_run(checker, inp, expected, actual, workdir)
        if code is None:
            return "ie", "the output validator crashed or timed out"
        verdict = {42: "ac", 43: "wa"}.get(code[0], "ie")
        return verdict, code[1] if verdict != "ie" else f"validator exit {code[0]}: {code[2]}"
    if kind == "custom":
        c = checker["custom"]
        src = Path(workdir) / "checker.py"
        if not src.exists():
            src.write_text(c["source"], encoding="utf-8")
        files = []
        for name, data in (("input.txt", inp.encode("utf-8")),
                           ("expected.txt", expected.encode("utf-8")),
                           ("actual.txt", actual)):
            f = Path(workdir) / name
            f.write_bytes(data)
            files.append(str(f))
        lim = {"cpu_ms": 10000, "wall_ms": 20000, "memory_kib": 1048576, "output_kib": 64}
        r = run_program([PYTHON, str(src)] + files, b"", lim, workdir)
        msg = r.stdout.decode("utf-8", "replace").split("\n", 1)[0][:200]
        if r.timed_out or not os.WIFEXITED(r.status):
            return "ie", "checker crashed or timed out"
        code = os.WEXITSTATUS(r.status)
        if code == 0:
            return "ac", msg
        if code == 1:
            return "wa", msg
        return "ie", f"checker exit {code}: {r.stderr.decode('utf-8', 'replace')[-300:]}"
    return "ie", f"unknown checker kind {kind!r}"


VALIDATOR_LIMITS = {"cpu_ms": 10000, "wall_ms": 20000, "memory_kib": 1048576, "output_kib": 64}


def validator_files(checker, inp, expected, workdir):
    """Writes a package validator's files and a test's input and answer;
    returns (argv, feedback dir) for `validator input answer feedback_dir flags`."""
    vdir = Path(workdir) / "validator"
    vdir.mkdir(exist_ok=True)
    for f in checker["files"]:
        (vdir / f["name"]).write_text(f["content"], encoding="utf-8")
    fb = Path(workdir) / "feedback"
    shutil.rmtree(fb, ignore_errors=True)
    fb.mkdir()
    (Path(workdir) / "input").write_text(inp, encoding="utf-8")
    (Path(workdir) / "answer").write_text(expected, encoding="utf-8")
    argv = [PYTHON, str(vdir / checker["files"][0]["name"]), str(Path(workdir) / "input"),
            str(Path(workdir) / "answer"), str(fb) + "/"] + list(checker.get("flags") or [])
    return argv, fb


def feedback_message(fb):
    for name in ("teammessage.txt", "judgemessage.txt"):
        f = fb / name
        if f.exists() and f.read_text(encoding="utf-8", errors="replace").strip():
            return f.read_text(encoding="utf-8", errors="replace").strip().splitlines()[0][:200]
    return ""


def package_validator_run(checker, inp, expected, actual, workdir):
    """(exit code, message, stderr) of a package validator on `actual`, or None."""
    argv, fb = validator_files(checker, inp, expected, workdir)
    r = run_program(argv, actual, VALIDATOR_LIMITS, workdir)
    if r.timed_out or not os.WIFEXITED(r.status):
        return None
    return os.WEXITSTATUS(r.status), feedback_message(fb), \
        r.stderr.decode("utf-8", "replace")[-300:]


def judge_interactive(code, test, lim, checker, workdir):
    """The solution against the interactor, connected by pipes, each under its
    limits; whoever ends first decides (the package format's rule, as the
    executor's interaction_verdict)."""
    prog = Path(workdir) / "solution.py"
    prog.write_text(code, encoding="utf-8")
    argv, fb = validator_files(checker, test["input"], test["expected"], workdir)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    cpu_s = math.ceil(lim["cpu_ms"] / 1000) + 1
    to_sol_r, to_sol_w = os.pipe()
    to_int_r, to_int_w = os.pipe()
    start = time.monotonic()
    sol = subprocess.Popen([PRLIMIT, f"--cpu={cpu_s}:{cpu_s + 1}",
                            f"--as={lim['memory_kib'] * 1024}", "--core=0", "--", PYTHON,
                            str(prog)], stdin=to_sol_r, stdout=to_int_w,
                           stderr=subprocess.PIPE, cwd=workdir, env=env, start_new_session=True)
    inter = subprocess.Popen(argv, stdin=to_int_r, stdout=to_sol_w, stderr=subprocess.PIPE,
                             cwd=workdir, env=env, start_new_session=True)
    for fd in (to_sol_r, to_sol_w, to_int_r, to_int_w):
        os.close(fd)
    first = None
    deadline = start + lim["wall_ms"] / 1000.0 + 10
    while time.monotonic() < deadline and (sol.poll() is None or inter.poll() is None):
        if first is None:
            first = "solution" if sol.poll() is not None else \
                "interactor" if inter.poll() is not None else None
        if first == "interactor" and inter.returncode != 42 and sol.poll() is None:
            os.killpg(sol.pid, signal.SIGKILL)
        if first == "solution" and sol.returncode != 0 and inter.poll() is None:
            os.killpg(inter.pid, signal.SIGKILL)
        time.sleep(0.005)
    timed_out = sol.poll() is None
    for p in (sol, inter):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    wall_ms = (time.monotonic() - start) * 1000
    err = sol.stderr.read()
    sol.stderr.close()
    inter.stderr.close()
    r = RunResult(b"", err, sol.returncode if sol.returncode >= 0 else 0, 0, wall_ms, timed_out,
                  False)
    if first is None:
        first = "solution" if timed_out else "interactor"
    if first == "interactor" and inter.returncode == 43:
        return "wa", feedback_message(fb), r
    if first == "interactor" and inter.returncode != 42:
        return "ie", f"interactor exit {inter.returncode}", r
    if timed_out:
        return "tle", f"wall {wall_ms:.0f} ms", r
    if sol.returncode != 0:
        return "re", f"exit {sol.returncode}", r
    return {42: "ac", 43: "wa"}.get(inter.returncode, "ie"), feedback_message(fb), r


def judge_test(code, test, lim, checker, workdir):
    if checker.get("kind") == "package_validator" and checker.get("interactive"):
        return judge_interactive(code, test, lim, checker, workdir)
    prog = Path(workdir) / "solution.py"
    prog.write_text(code, encoding="utf-8")
    r = run_program([PYTHON, str(prog)], test["input"].encode("utf-8"), lim, workdir)
    signalled = os.WIFSIGNALED(r.status)
    if r.timed_out or r.cpu_ms > lim["cpu_ms"] or (signalled and os.WTERMSIG(r.status) == signal.SIGXCPU):
        return "tle", f"cpu {r.cpu_ms:.0f} ms, wall {r.wall_ms:.0f} ms", r
    if r.truncated:
        return "ole", "output limit exceeded", r
    if b"MemoryError" in r.stderr:
        return "mle", "memory limit", r
    if signalled or os.WEXITSTATUS(r.status) != 0:
        tail = r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["killed"]
        return "re", tail[0][:200], r
    verdict, msg = compare(checker, test["input"], test["expected"], r.stdout, workdir)
    return verdict, msg, r


def run_solution(task, code, stop_at_first_failure):
    """Judges code on every test; returns a list of (test name, verdict, message, cpu_ms)."""
    lim = resolved_limits(task)
    checker = task.get("checker") or {"kind": "ignore_trailing_ws"}
    results = []
    with tempfile.TemporaryDirectory(prefix="dojo-check-") as wd:
        for test in task["tests"]:
            verdict, msg, r = judge_test(code, test, lim, checker, wd)
            results.append((test["name"], verdict, msg, r.cpu_ms))
            if verdict != "ac" and stop_at_first_failure:
                break
    return results


def check_task_runs(task):
    """Returns (problems, summary) for running the task's solutions."""
    problems = []
    lim = resolved_limits(task)
    max_cpu = 0.0
    python = [s for s in task.get("reference_solutions", []) if s["language"] == "python3"]
    wrong = [s for s in task.get("wrong_solutions", []) if s["language"] == "python3"]
    for s in python:
        for name, verdict, msg, cpu in run_solution(task, s["code"], False):
            max_cpu = max(max_cpu, cpu)
            if verdict != "ac":
                problems.append(f"reference {s['name']!r} got {verdict} on test {name!r}: {msg}")
    starter = next(lo.get("starter_code", "") for lo in task["languages"] if lo["language"] == "python3")
    visible = dict(task, tests=[t for t in task["tests"] if not t["hidden"]])
    for name, verdict, msg, _ in run_solution(visible, starter, False):
        if verdict not in ("ac", "wa"):
            problems.append(f"starter code got {verdict} on visible test {name!r}: {msg}")
    rejected = 0
    for s in wrong:
        res = run_solution(task, s["code"], True)
        failing = [r for r in res if r[1] != "ac"]
        want = s.get("expected_verdict", "unspecified")
        if not failing:
            problems.append(f"known-wrong {s['name']!r} passed every test")
        elif failing[0][1] == "ie":
            problems.append(f"known-wrong {s['name']!r}: internal error on {failing[0][0]!r}: {failing[0][2]}")
        elif want not in ("unspecified", failing[0][1]):
            problems.append(f"known-wrong {s['name']!r} expected {want}, got {failing[0][1]} "
                            f"on test {failing[0][0]!r}")
        else:
            rejected += 1
    if max_cpu > 0.5 * lim["cpu_ms"]:
        problems.append(f"a reference solution used {max_cpu:.0f} ms CPU, more than half the "
                        f"{lim['cpu_ms']} ms limit (too little headroom for a slower sandbox)")
    others = (len(task.get("reference_solutions", [])) - len(python)
              + len(task.get("wrong_solutions", [])) - len(wrong))
    summary = (f"{len(python)} reference accepted on {len(task['tests'])} tests "
               f"(max cpu {max_cpu:.0f}/{lim['cpu_ms']} ms), "
               f"{rejected}/{len(wrong)} known-wrong rejected"
               + (f", {others} in other languages left to the sandbox stage" if others else ""))
    return problems, summary


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("slugs", nargs="*", help="only these tasks (default: all)")
    ap.add_argument("-j", "--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                    help="tasks checked in parallel (CPU time is measured per process)")
    ap.add_argument("--no-run", action="store_true", help="validate and check conventions, run nothing")
    args = ap.parse_args()

    binary = content_binary()
    if not binary.exists():
        print(f"FAIL {binary} not found: bazel build //services/content (or set DOJO_BIN_DIR)")
        return 1
    invalid = validate(binary)

    files = sorted(TASKS_DIR.glob("*.json"))
    if args.slugs:
        files = [f for f in files if f.stem in args.slugs]
    passed = failed = 0
    tasks = {}

    def work(f):
        if f.name in invalid:
            return f, None, [f"{f.name} {e}" for e in invalid[f.name]], ""
        t = json.loads(f.read_text(encoding="utf-8"))
        problems = [f"{f.name} {e}" for e in task_conventions(t)]
        if problems or args.no_run:
            return f, t, problems, "" if problems else "not run"
        more, summary = check_task_runs(normalized(binary, f))
        return f, t, problems + more, summary

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for f, t, problems, summary in pool.map(work, files):
            if t is not None:
                tasks[t["slug"]] = t
            if problems:
                failed += 1
                print(f"FAIL task {f.stem}")
                for pr in problems:
                    print(f"     {pr}")
            else:
                passed += 1
                print(f"PASS task {t['slug']} [{t['difficulty']}, {t['points']} pts, "
                      f"{t['checker']['kind']}]: {summary}")
            sys.stdout.flush()

    if not args.slugs:
        achievements = {}
        for f in sorted(ACH_DIR.glob("*.json")):
            if f.name in invalid:
                failed += 1
                print(f"FAIL achievement {f.stem}")
                for e in invalid[f.name]:
                    print(f"     {f.name} {e}")
                continue
            a = json.loads(f.read_text(encoding="utf-8"))
            achievements[a["slug"]] = a
            passed += 1
            r = a["rule"]
            params = ", ".join(f"{k}={r[k]}" for k in ("threshold", "tag", "difficulty") if k in r)
            print(f"PASS achievement {a['slug']}: {r['kind']}{' (' + params + ')' if params else ''}")
        for pr in catalogue_conventions(tasks, achievements):
            failed += 1
            print(f"FAIL {pr}")
        print("tasks per difficulty: " + ", ".join(
            f"{d} {sum(t['difficulty'] == d for t in tasks.values())}" for d in POINTS))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def default_validator(checker, expected, actual):
    """(accepted, why): the problem package format's default output validator
    (content.proto CHECKER_KIND_DEFAULT_VALIDATOR): tokens, case-insensitive
    unless case_sensitive, the whitespace too when space_change_sensitive, and
    with a tolerance numbers (nan and inf included) of the expected output
    compared as floats."""
    import math
    import re as _re
    abs_tol, rel_tol = checker.get("abs_tol") or 0.0, checker.get("rel_tol") or 0.0
    if checker.get("space_change_sensitive"):
        if _re.findall(r"\s+", expected) != _re.findall(r"\s+", actual) or \
                (expected[:1].isspace() != actual[:1].isspace()) or \
                (expected[-1:].isspace() != actual[-1:].isspace()):
            return False, "the whitespace differs"
    e, a = expected.split(), actual.split()
    if len(e) != len(a):
        return False, f"{len(a)} tokens, expected {len(e)}"

    def as_float(t):
        if _re.fullmatch(r"[+-]?(nan|inf|infinity)", t, _re.I) or \
                _re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", t):
            return float(t)
        return None

    for i, (x, y) in enumerate(zip(e, a)):
        xe = as_float(x) if (abs_tol or rel_tol) else None
        if xe is not None:
            ya = as_float(y)
            if ya is not None and (math.isnan(ya) if math.isnan(xe) else
                                   ya == xe if math.isinf(xe) else
                                   math.isfinite(ya) and (abs(ya - xe) <= abs_tol
                                                          or abs(ya - xe) <= rel_tol * abs(xe))):
                continue
            return False, f"token {i + 1}: {y!r} vs {x!r}"
        if (x == y) if checker.get("case_sensitive") else (x.lower() == y.lower()):
            continue
        return False, f"token {i + 1}: {y!r} vs {x!r}"
    return True, ""


if __name__ == "__main__":
    sys.exit(main())
