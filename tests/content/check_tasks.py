#!/usr/bin/python3
"""Local sanity check of Dojo's content data (standard library only).

    /usr/bin/python3 tests/content/check_tasks.py [-j N] [SLUG ...]

For every task file in content/tasks/ it
  * checks the structure the tasks rely on (the JSON form of
    dojo.content.v1.Task: snake_case field names, enum values in lower case
    without their prefix, no output-only fields), with "<file> $.path: message"
    errors;
  * runs every reference solution, the starter code and every known-wrong
    solution with python3 on every test's input (subprocess, per-test CPU,
    wall, memory and output limits from the task) and judges the output with
    the task's checker: exact, ignore_trailing_ws, tokens, float (abs_tol /
    rel_tol) or custom (the checker program is run as content.proto's
    CustomChecker says: three file arguments input, expected, actual; exit 0
    accepted, 1 wrong answer, anything else an internal error);
  * asserts that every reference solution is accepted on every test, that the
    starter code runs (exit 0) on the visible tests, and that every known-wrong
    solution is rejected: its first failing test gets its expected_verdict when
    it names one, any failure otherwise.
It also validates content/achievements/*.json (structure, parameters per rule
kind, tags that exist, every rule kind covered), and, when the service has
published them, validates every file against content/schema/task.schema.json
and content/schema/achievement.schema.json (a small JSON Schema subset).

Prints one line per task (and per achievement), then "N passed, N failed";
exits 1 when anything failed. This is a local check of the data; the judged
run through the real sandbox comes with the executor.
"""

import argparse
import concurrent.futures
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TASKS_DIR = ROOT / "content" / "tasks"
ACH_DIR = ROOT / "content" / "achievements"
SCHEMA_DIR = ROOT / "content" / "schema"
PYTHON = sys.executable or "/usr/bin/python3"
PRLIMIT = "/usr/bin/prlimit"  # util-linux, in every Debian install

# Enum spellings: the proto value name without its enum prefix, lower case.
DIFFICULTIES = {"easy": (10, 20), "medium": (30, 50), "hard": (60, 100)}
CHECKER_KINDS = {"exact", "ignore_trailing_ws", "tokens", "float", "custom"}
VERDICTS = {"unspecified", "ac", "wa", "tle", "mle", "re", "ole", "ce", "ie", "cancelled"}
RULE_KINDS = {
    # kind: (uses threshold, uses tag, uses difficulty)
    "first_solve": (False, False, False),
    "tasks_solved": (True, False, False),
    "points": (True, False, False),
    "streak_days": (True, False, False),
    "tag_complete": (False, True, False),
    "difficulty_complete": (False, False, True),
    "first_attempt": (True, False, False),
    "difficulty_solved": (True, False, True),
    "all_tasks": (False, False, False),
}
TASK_FIELDS = ["slug", "title", "difficulty", "points", "description", "tags", "languages",
               "limits", "checker", "tests", "hints", "reference_solutions", "wrong_solutions"]
OUTPUT_ONLY = {"status", "version", "content_hash", "created_at", "updated_at"}
LIMIT_RANGES = {"cpu_ms": (100, 10000), "wall_ms": (100, 30000),
                "memory_kib": (16384, 1048576), "output_kib": (1, 16384)}
LIMIT_DEFAULTS = {"cpu_ms": 2000, "wall_ms": 5000, "memory_kib": 262144, "output_kib": 1024}
SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
KEBAB_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
TAG_RE = re.compile(r"^[a-z0-9-]{1,32}$")
TEST_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
ICON_RE = re.compile(r"^[a-z0-9-]{1,32}$")
MIB = 1024 * 1024


# ---------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------

class Problems:
    def __init__(self, file):
        self.file = file
        self.items = []

    def add(self, path, message):
        self.items.append(f"{self.file} {path}: {message}")

    def __bool__(self):
        return bool(self.items)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_str(p, obj, key, path, lo=1, hi=None, pattern=None, required=True):
    v = obj.get(key)
    if v is None:
        if required:
            p.add(f"{path}.{key}", "is required")
        return None
    if not isinstance(v, str):
        p.add(f"{path}.{key}", "must be a string")
        return None
    n = len(v.encode("utf-8"))
    if n < lo:
        p.add(f"{path}.{key}", f"must be at least {lo} byte(s)")
    if hi is not None and n > hi:
        p.add(f"{path}.{key}", f"must be at most {hi} bytes")
    if pattern is not None and not pattern.match(v):
        p.add(f"{path}.{key}", f"must match {pattern.pattern}")
    return v


def check_limits(p, lim, path, required_all):
    if not isinstance(lim, dict):
        p.add(path, "must be an object")
        return
    for k in lim:
        if k not in LIMIT_RANGES:
            p.add(f"{path}.{k}", "unknown field")
    for k, (lo, hi) in LIMIT_RANGES.items():
        v = lim.get(k)
        if v is None:
            if required_all:
                p.add(f"{path}.{k}", "is required (this repository writes every limit)")
            continue
        if not is_int(v):
            p.add(f"{path}.{k}", "must be an integer")
        elif v != 0 and not lo <= v <= hi:
            p.add(f"{path}.{k}", f"must be in {lo}..{hi}")
    cpu = lim.get("cpu_ms") or LIMIT_DEFAULTS["cpu_ms"]
    wall = lim.get("wall_ms") or LIMIT_DEFAULTS["wall_ms"]
    if is_int(cpu) and is_int(wall) and wall < cpu:
        p.add(f"{path}.wall_ms", "must be at least cpu_ms")


def check_solution(p, s, path, names, reference):
    if not isinstance(s, dict):
        p.add(path, "must be an object")
        return
    for k in s:
        if k not in ("name", "language", "code", "expected_verdict"):
            p.add(f"{path}.{k}", "unknown field")
    name = check_str(p, s, "name", path, 1, 64)
    if name is not None:
        if name in names:
            p.add(f"{path}.name", f"duplicate solution name {name!r}")
        names.add(name)
    check_str(p, s, "language", path)
    if s.get("language") not in (None, "python3"):
        p.add(f"{path}.language", "this check only runs python3 solutions")
    check_str(p, s, "code", path, 1, 64 * 1024)
    v = s.get("expected_verdict")
    if v is not None:
        if v not in VERDICTS:
            p.add(f"{path}.expected_verdict", f"must be one of {sorted(VERDICTS)}")
        elif reference and v not in ("ac", "unspecified"):
            p.add(f"{path}.expected_verdict", "a reference solution must expect ac")
        elif not reference and v == "ac":
            p.add(f"{path}.expected_verdict", "a known-wrong solution cannot expect ac")


def check_task_structure(t, file):
    p = Problems(file)
    if not isinstance(t, dict):
        p.add("$", "must be a JSON object")
        return p
    for k in t:
        if k in OUTPUT_ONLY:
            p.add(f"$.{k}", "output-only field must not be in a task file")
        elif k not in TASK_FIELDS:
            p.add(f"$.{k}", "unknown field")
    slug = check_str(p, t, "slug", "$", 1, 64, SLUG_RE)
    if slug is not None and file != f"{slug}.json":
        p.add("$.slug", f"must equal the file name without .json ({file})")
    if slug is not None and not KEBAB_RE.match(slug):
        p.add("$.slug", "must be kebab-case")
    title = check_str(p, t, "title", "$", 1)
    if title is not None and (len(title) > 120 or any(ord(c) < 32 for c in title)):
        p.add("$.title", "must be 1-120 characters without control characters")
    diff = t.get("difficulty")
    if diff not in DIFFICULTIES:
        p.add("$.difficulty", f"must be one of {sorted(DIFFICULTIES)}")
    pts = t.get("points")
    if not is_int(pts):
        p.add("$.points", "must be an integer")
    elif diff in DIFFICULTIES:
        lo, hi = DIFFICULTIES[diff]
        if not lo <= pts <= hi:
            p.add("$.points", f"must be in {lo}..{hi} for {diff} tasks")
    desc = check_str(p, t, "description", "$", 1, 64 * 1024)
    if desc is not None:
        for section in ("## Input", "## Output", "## Constraints", "## Example"):
            if section not in desc:
                p.add("$.description", f"has no {section!r} section")
    tags = t.get("tags")
    if not isinstance(tags, list) or not 1 <= len(tags) <= 10:
        p.add("$.tags", "must be a list of 1-10 tags")
    else:
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not TAG_RE.match(tag):
                p.add(f"$.tags[{i}]", "must be 1-32 characters of [a-z0-9-]")
        if len(set(tags)) != len(tags):
            p.add("$.tags", "has duplicates")
    langs = t.get("languages")
    if not isinstance(langs, list) or not 1 <= len(langs) <= 10:
        p.add("$.languages", "must be a list of 1-10 entries")
        langs = []
    seen = set()
    for i, lo in enumerate(langs):
        path = f"$.languages[{i}]"
        if not isinstance(lo, dict):
            p.add(path, "must be an object")
            continue
        for k in lo:
            if k not in ("language", "starter_code", "limits"):
                p.add(f"{path}.{k}", "unknown field")
        lang = check_str(p, lo, "language", path)
        if lang in seen:
            p.add(f"{path}.language", "duplicate language")
        seen.add(lang)
        check_str(p, lo, "starter_code", path, 0, 64 * 1024, required=False)
        if "limits" in lo:
            check_limits(p, lo["limits"], f"{path}.limits", False)
    if "python3" not in seen:
        p.add("$.languages", "must offer python3")
    elif not next(x for x in langs if isinstance(x, dict) and x.get("language") == "python3").get("starter_code"):
        p.add("$.languages", "python3 must have starter code")
    if "limits" not in t:
        p.add("$.limits", "is required (this repository writes every limit)")
    else:
        check_limits(p, t["limits"], "$.limits", True)
    ch = t.get("checker")
    if not isinstance(ch, dict):
        p.add("$.checker", "is required (this repository writes the checker explicitly)")
    else:
        for k in ch:
            if k not in ("kind", "abs_tol", "rel_tol", "custom"):
                p.add(f"$.checker.{k}", "unknown field")
        kind = ch.get("kind")
        if kind not in CHECKER_KINDS:
            p.add("$.checker.kind", f"must be one of {sorted(CHECKER_KINDS)}")
        for k in ("abs_tol", "rel_tol"):
            if k in ch:
                v = ch[k]
                if kind != "float":
                    p.add(f"$.checker.{k}", "only for the float checker")
                elif not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                    p.add(f"$.checker.{k}", "must be a number >= 0")
        if kind == "custom":
            c = ch.get("custom")
            if not isinstance(c, dict):
                p.add("$.checker.custom", "is required for the custom checker")
            else:
                for k in c:
                    if k not in ("language", "source"):
                        p.add(f"$.checker.custom.{k}", "unknown field")
                if c.get("language") != "python3":
                    p.add("$.checker.custom.language", "this check runs python3 checkers only")
                check_str(p, c, "source", "$.checker.custom", 1, 64 * 1024)
        elif "custom" in ch:
            p.add("$.checker.custom", "only for the custom checker")
    tests = t.get("tests")
    if not isinstance(tests, list) or not 1 <= len(tests) <= 200:
        p.add("$.tests", "must be a list of 1-200 tests")
        tests = []
    names = set()
    visible = hidden = 0
    for i, tc in enumerate(tests):
        path = f"$.tests[{i}]"
        if not isinstance(tc, dict):
            p.add(path, "must be an object")
            continue
        for k in tc:
            if k not in ("name", "input", "expected", "hidden", "weight"):
                p.add(f"{path}.{k}", "unknown field")
        name = check_str(p, tc, "name", path, 1, 64, TEST_NAME_RE)
        if name in names:
            p.add(f"{path}.name", f"duplicate test name {name!r}")
        names.add(name)
        check_str(p, tc, "input", path, 0, MIB)
        check_str(p, tc, "expected", path, 0, MIB)
        h = tc.get("hidden")
        if not isinstance(h, bool):
            p.add(f"{path}.hidden", "must be true or false")
        elif h:
            hidden += 1
        else:
            visible += 1
        w = tc.get("weight")
        if not is_int(w) or not 0 <= w <= 100:
            p.add(f"{path}.weight", "must be an integer in 0..100")
    if tests and not 2 <= visible <= 3:
        p.add("$.tests", f"has {visible} visible tests; this repository wants 2-3")
    if tests and not 5 <= hidden <= 10:
        p.add("$.tests", f"has {hidden} hidden tests; this repository wants 5-10")
    if desc is not None and tests:
        first = next((x for x in tests if isinstance(x, dict) and x.get("hidden") is False), None)
        if first and isinstance(first.get("input"), str) and isinstance(first.get("expected"), str):
            if first["input"].strip() not in desc or first["expected"].strip() not in desc:
                p.add("$.description", "the worked example must be the first visible test")
    hints = t.get("hints")
    if not isinstance(hints, list) or not 1 <= len(hints) <= 3:
        p.add("$.hints", "must be a list of 1-3 hints")
    else:
        for i, h in enumerate(hints):
            if not isinstance(h, str) or not 1 <= len(h.encode()) <= 4096:
                p.add(f"$.hints[{i}]", "must be a string of 1 byte to 4 KiB")
    refs = t.get("reference_solutions")
    if not isinstance(refs, list) or not 1 <= len(refs) <= 10:
        p.add("$.reference_solutions", "must be a list of 1-10 solutions")
        refs = []
    sol_names = set()
    for i, s in enumerate(refs):
        check_solution(p, s, f"$.reference_solutions[{i}]", sol_names, True)
    wrongs = t.get("wrong_solutions", [])
    if not isinstance(wrongs, list) or len(wrongs) > 20:
        p.add("$.wrong_solutions", "must be a list of 0-20 solutions")
        wrongs = []
    sol_names = set()
    for i, s in enumerate(wrongs):
        check_solution(p, s, f"$.wrong_solutions[{i}]", sol_names, False)
    return p


# ---------------------------------------------------------------------------
# Running and judging
# ---------------------------------------------------------------------------

def resolved_limits(task):
    lim = dict(LIMIT_DEFAULTS)
    for k, v in (task.get("limits") or {}).items():
        if v:
            lim[k] = v
    for lo in task.get("languages", []):
        if lo.get("language") == "python3":
            for k, v in (lo.get("limits") or {}).items():
                if v:
                    lim[k] = v
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


def judge_test(code, test, lim, checker, workdir):
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
    for s in task.get("reference_solutions", []):
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
    for s in task.get("wrong_solutions", []):
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
    summary = (f"{len(task.get('reference_solutions', []))} reference accepted on {len(task['tests'])} tests "
               f"(max cpu {max_cpu:.0f}/{lim['cpu_ms']} ms), "
               f"{rejected}/{len(task.get('wrong_solutions', []))} known-wrong rejected")
    return problems, summary


# ---------------------------------------------------------------------------
# Achievements
# ---------------------------------------------------------------------------

def check_achievement(a, file, tags, difficulties):
    p = Problems(file)
    if not isinstance(a, dict):
        p.add("$", "must be a JSON object")
        return p
    for k in a:
        if k not in ("slug", "title", "description", "icon", "rule", "sort_order"):
            p.add(f"$.{k}", "unknown field")
    slug = check_str(p, a, "slug", "$", 1, 64, re.compile(r"^[a-z0-9-]{1,64}$"))
    if slug is not None and file != f"{slug}.json":
        p.add("$.slug", f"must equal the file name without .json ({file})")
    title = check_str(p, a, "title", "$", 1)
    if title is not None and len(title) > 80:
        p.add("$.title", "must be at most 80 characters")
    desc = check_str(p, a, "description", "$", 1)
    if desc is not None and len(desc) > 300:
        p.add("$.description", "must be at most 300 characters")
    check_str(p, a, "icon", "$", 1, 32, ICON_RE)
    so = a.get("sort_order")
    if so is not None and not is_int(so):
        p.add("$.sort_order", "must be an integer")
    rule = a.get("rule")
    if not isinstance(rule, dict):
        p.add("$.rule", "is required")
        return p
    for k in rule:
        if k not in ("kind", "threshold", "tag", "difficulty"):
            p.add(f"$.rule.{k}", "unknown field")
    kind = rule.get("kind")
    if kind not in RULE_KINDS:
        p.add("$.rule.kind", f"must be one of {sorted(RULE_KINDS)}")
        return p
    uses_threshold, uses_tag, uses_diff = RULE_KINDS[kind]
    th = rule.get("threshold")
    if uses_threshold:
        if not is_int(th) or not 1 <= th <= 1000000:
            p.add("$.rule.threshold", "must be an integer in 1..1000000")
    elif th not in (None, 0):
        p.add("$.rule.threshold", f"must be unset for {kind}")
    tag = rule.get("tag")
    if uses_tag:
        if not isinstance(tag, str) or not TAG_RE.match(tag):
            p.add("$.rule.tag", "must be a tag")
        elif tag not in tags:
            p.add("$.rule.tag", f"no task has the tag {tag!r}")
    elif tag not in (None, ""):
        p.add("$.rule.tag", f"must be unset for {kind}")
    d = rule.get("difficulty")
    if uses_diff:
        if d not in DIFFICULTIES:
            p.add("$.rule.difficulty", f"must be one of {sorted(DIFFICULTIES)}")
        elif kind == "difficulty_solved" and is_int(th) and th > difficulties.get(d, 0):
            p.add("$.rule.threshold", f"only {difficulties.get(d, 0)} {d} tasks exist")
    elif d not in (None, "unspecified"):
        p.add("$.rule.difficulty", f"must be unset for {kind}")
    return p


# ---------------------------------------------------------------------------
# A small JSON Schema validator (the subset a service's schema is likely to use)
# ---------------------------------------------------------------------------

class SchemaChecker:
    TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}

    def __init__(self, schema):
        self.root = schema
        self.unsupported = set()

    def resolve(self, ref):
        if not ref.startswith("#"):
            self.unsupported.add(f"$ref {ref}")
            return {}
        node = self.root
        for part in ref.lstrip("#").strip("/").split("/"):
            if part:
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def type_ok(self, v, t):
        if isinstance(t, list):
            return any(self.type_ok(v, x) for x in t)
        if t == "integer":
            return is_int(v)  # the service wants integers written without a fraction
        if t == "number":
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        return isinstance(v, self.TYPES.get(t, object)) and not (t != "boolean" and isinstance(v, bool))

    def errors(self, v, s=None, path="$"):
        if s is None:
            s = self.root
        out = []
        if s is True or s == {}:
            return out
        if s is False:
            return [f"{path}: not allowed"]
        if "$ref" in s:
            out += self.errors(v, self.resolve(s["$ref"]), path)
        if "type" in s and not self.type_ok(v, s["type"]):
            return out + [f"{path}: must be of type {s['type']}"]
        if "enum" in s and v not in s["enum"]:
            out.append(f"{path}: must be one of {s['enum']}")
        if "const" in s and v != s["const"]:
            out.append(f"{path}: must be {s['const']!r}")
        for sub in s.get("allOf", []):
            out += self.errors(v, sub, path)
        if "anyOf" in s and not any(not self.errors(v, sub, path) for sub in s["anyOf"]):
            out.append(f"{path}: matches none of anyOf")
        if "oneOf" in s and sum(not self.errors(v, sub, path) for sub in s["oneOf"]) != 1:
            out.append(f"{path}: must match exactly one of oneOf")
        if "not" in s and not self.errors(v, s["not"], path):
            out.append(f"{path}: must not match 'not'")
        if "if" in s:
            branch = s.get("then") if not self.errors(v, s["if"], path) else s.get("else")
            if branch is not None:
                out += self.errors(v, branch, path)
        if isinstance(v, str):
            if "minLength" in s and len(v) < s["minLength"]:
                out.append(f"{path}: shorter than {s['minLength']}")
            if "maxLength" in s and len(v) > s["maxLength"]:
                out.append(f"{path}: longer than {s['maxLength']}")
            if "pattern" in s and not re.search(s["pattern"], v):
                out.append(f"{path}: does not match {s['pattern']}")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "minimum" in s and v < s["minimum"]:
                out.append(f"{path}: below {s['minimum']}")
            if "maximum" in s and v > s["maximum"]:
                out.append(f"{path}: above {s['maximum']}")
            if "exclusiveMinimum" in s and not isinstance(s["exclusiveMinimum"], bool) and v <= s["exclusiveMinimum"]:
                out.append(f"{path}: not above {s['exclusiveMinimum']}")
            if "exclusiveMaximum" in s and not isinstance(s["exclusiveMaximum"], bool) and v >= s["exclusiveMaximum"]:
                out.append(f"{path}: not below {s['exclusiveMaximum']}")
        if isinstance(v, list):
            if "minItems" in s and len(v) < s["minItems"]:
                out.append(f"{path}: fewer than {s['minItems']} items")
            if "maxItems" in s and len(v) > s["maxItems"]:
                out.append(f"{path}: more than {s['maxItems']} items")
            if s.get("uniqueItems") and len({json.dumps(x, sort_keys=True) for x in v}) != len(v):
                out.append(f"{path}: items not unique")
            if "contains" in s and not any(not self.errors(x, s["contains"], path) for x in v):
                out.append(f"{path}: no item matches 'contains'")
            if isinstance(s.get("items"), dict):
                for i, x in enumerate(v):
                    out += self.errors(x, s["items"], f"{path}[{i}]")
        if isinstance(v, dict):
            for k in s.get("required", []):
                if k not in v:
                    out.append(f"{path}.{k}: is required")
            props = s.get("properties", {})
            for k, x in v.items():
                if k in props:
                    out += self.errors(x, props[k], f"{path}.{k}")
                elif "additionalProperties" in s and s["additionalProperties"] is not True:
                    ap = s["additionalProperties"]
                    if ap is False:
                        out.append(f"{path}.{k}: unknown field")
                    else:
                        out += self.errors(x, ap, f"{path}.{k}")
        for k in ("patternProperties", "dependentRequired", "dependentSchemas",
                  "propertyNames", "prefixItems", "unevaluatedProperties"):
            if k in s:
                self.unsupported.add(k)
        return out


def load_schema(name):
    f = SCHEMA_DIR / name
    if not f.exists():
        return None
    return SchemaChecker(json.loads(f.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("slugs", nargs="*", help="only these tasks (default: all)")
    ap.add_argument("-j", "--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                    help="tasks checked in parallel (CPU time is measured per process)")
    ap.add_argument("--no-run", action="store_true", help="structure only, run nothing")
    args = ap.parse_args()

    task_schema = load_schema("task.schema.json")
    ach_schema = load_schema("achievement.schema.json")
    print(f"schema: content/schema/task.schema.json "
          f"{'found, every task is validated against it' if task_schema else 'not present, skipped'}")
    if ach_schema:
        print("schema: content/schema/achievement.schema.json found, every achievement is validated against it")

    files = sorted(TASKS_DIR.glob("*.json"))
    if args.slugs:
        files = [f for f in files if f.stem in args.slugs]
    passed = failed = 0
    tasks = {}
    loaded = []
    for f in files:
        try:
            t = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            print(f"FAIL task {f.name}: not valid UTF-8 JSON: {e}")
            failed += 1
            continue
        problems = check_task_structure(t, f.name).items
        if f.stat().st_size > 8 * MIB:
            problems.append(f"{f.name} $: larger than 8 MiB")
        if task_schema:
            problems += [f"{f.name} {e} (schema)" for e in task_schema.errors(t)]
        slug = t.get("slug") if isinstance(t, dict) else None
        if slug in tasks:
            problems.append(f"{f.name} $.slug: duplicate slug {slug!r}")
        if isinstance(slug, str):
            tasks[slug] = t
        loaded.append((f, t, problems))

    def work(item):
        f, t, problems = item
        if problems or args.no_run:
            return f, t, problems, "structure only" if not problems else ""
        more, summary = check_task_runs(t)
        return f, t, problems + more, summary

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for f, t, problems, summary in pool.map(work, loaded):
            label = t.get("slug", f.stem) if isinstance(t, dict) else f.stem
            if problems:
                failed += 1
                print(f"FAIL task {label}")
                for pr in problems:
                    print(f"     {pr}")
            else:
                passed += 1
                print(f"PASS task {label} [{t['difficulty']}, {t['points']} pts, "
                      f"{t['checker']['kind']}]: {summary}")
            sys.stdout.flush()

    if not args.slugs:
        all_tags = {tag for t in tasks.values() for tag in t.get("tags", [])}
        diffs = {}
        for t in tasks.values():
            diffs[t.get("difficulty")] = diffs.get(t.get("difficulty"), 0) + 1
        kinds = set()
        ach_slugs = set()
        for f in sorted(ACH_DIR.glob("*.json")):
            try:
                a = json.loads(f.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                print(f"FAIL achievement {f.name}: not valid UTF-8 JSON: {e}")
                failed += 1
                continue
            problems = check_achievement(a, f.name, all_tags, diffs).items
            if ach_schema:
                problems += [f"{f.name} {e} (schema)" for e in ach_schema.errors(a)]
            slug = a.get("slug") if isinstance(a, dict) else None
            if slug in ach_slugs:
                problems.append(f"{f.name} $.slug: duplicate slug {slug!r}")
            ach_slugs.add(slug)
            if isinstance(a, dict) and isinstance(a.get("rule"), dict):
                kinds.add(a["rule"].get("kind"))
            if problems:
                failed += 1
                print(f"FAIL achievement {f.stem}")
                for pr in problems:
                    print(f"     {pr}")
            else:
                passed += 1
                r = a["rule"]
                params = ", ".join(f"{k}={r[k]}" for k in ("threshold", "tag", "difficulty") if k in r)
                print(f"PASS achievement {a['slug']}: {r['kind']}{' (' + params + ')' if params else ''}")
        missing = sorted(set(RULE_KINDS) - kinds)
        if missing:
            failed += 1
            print(f"FAIL achievements: no achievement uses rule kind(s) {', '.join(missing)}")
        if len(tasks) < 30:
            failed += 1
            print(f"FAIL tasks: only {len(tasks)} task files (at least 30 wanted)")
        if len(ach_slugs) < 12:
            failed += 1
            print(f"FAIL achievements: only {len(ach_slugs)} files (at least 12 wanted)")
        print("tasks per difficulty: " + ", ".join(f"{d} {diffs.get(d, 0)}" for d in DIFFICULTIES))
    for sch in (task_schema, ach_schema):
        if sch and sch.unsupported:
            print(f"note: schema keywords not checked here: {', '.join(sorted(sch.unsupported))}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
