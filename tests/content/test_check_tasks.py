"""pytest wrapper for tests/content/check_tasks.py (the local sanity check of
content/tasks/*.json and content/achievements/*.json), plus unit tests of the
comparison semantics the check relies on.

Run with:  /usr/bin/python3 -m pytest -v tests/content
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_tasks  # noqa: E402


def test_every_task_and_achievement_passes_the_content_check():
    r = subprocess.run([sys.executable, str(HERE / "check_tasks.py")],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1800)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0, "check_tasks.py failed:\n" + r.stdout + r.stderr
    assert lines and lines[-1].endswith(" 0 failed"), r.stdout


@pytest.mark.parametrize("expected, actual, verdict", [
    ("a b\nc\n", "a b\nc\n", "ac"),
    ("a b\nc\n", "a b  \nc\t\n\n\n", "ac"),
    ("a b\nc\n", "a b\r\nc\r\n", "ac"),
    ("a b\nc\n", "a  b\nc\n", "wa"),
    ("a b\nc\n", " a b\nc\n", "wa"),
    ("", "\n\n", "ac"),
])
def test_ignore_trailing_ws(expected, actual, verdict):
    got, _ = check_tasks.compare({"kind": "ignore_trailing_ws"}, "", expected, actual.encode(), "/tmp")
    assert got == verdict


def test_exact_and_tokens():
    assert check_tasks.compare({"kind": "exact"}, "", "1\n2\n", b"1\n2\n", "/tmp")[0] == "ac"
    assert check_tasks.compare({"kind": "exact"}, "", "1\n2\n", b"1\n2", "/tmp")[0] == "wa"
    assert check_tasks.compare({"kind": "tokens"}, "", "1 2 3\n", b"1\n2\n\n3", "/tmp")[0] == "ac"
    assert check_tasks.compare({"kind": "tokens"}, "", "1 2 3\n", b"1 2", "/tmp")[0] == "wa"


@pytest.mark.parametrize("checker, actual, verdict", [
    ({"kind": "float", "abs_tol": 1e-6, "rel_tol": 1e-6}, "2.7500004 2", "ac"),
    ({"kind": "float", "abs_tol": 1e-6, "rel_tol": 1e-6}, "2.751 2", "wa"),
    ({"kind": "float", "abs_tol": 1e-6, "rel_tol": 1e-6}, "2.75 3", "wa"),
    ({"kind": "float", "abs_tol": 1e-6, "rel_tol": 1e-6}, "2.75", "wa"),
    ({"kind": "float"}, "2.7500000001 2", "ac"),  # both 0: 1e-6 each
    ({"kind": "float", "abs_tol": 0, "rel_tol": 0.01}, "2.77 2", "ac"),
])
def test_float_tolerance(checker, actual, verdict):
    got, _ = check_tasks.compare(checker, "", "2.750000 2\n", actual.encode(), "/tmp")
    assert got == verdict


def test_custom_checker_exit_codes_follow_content_proto():
    src = ("import sys\n"
           "inp, exp, act = (open(p).read() for p in sys.argv[1:4])\n"
           "if act.strip() == 'boom':\n    sys.exit(7)\n"
           "print('ok' if act.split() == exp.split() else 'differs')\n"
           "sys.exit(0 if act.split() == exp.split() else 1)\n")
    checker = {"kind": "custom", "custom": {"language": "python3", "source": src}}
    for actual, verdict in ((b"1 2", "ac"), (b"2 1", "wa"), (b"boom", "ie")):
        with tempfile.TemporaryDirectory() as wd:
            assert check_tasks.compare(checker, "in", "1 2\n", actual, wd)[0] == verdict


def test_limits_are_enforced_when_running_a_solution():
    task = {"limits": {"cpu_ms": 500, "wall_ms": 2000, "memory_kib": 262144, "output_kib": 1},
            "languages": [{"language": "python3"}], "checker": {"kind": "tokens"},
            "tests": [{"name": "t", "input": "", "expected": "1\n", "hidden": False, "weight": 1}]}
    verdicts = {code: check_tasks.run_solution(task, code, False)[0][1] for code in (
        "print(1)", "print(2)", "while True: pass", "print('x' * 5000)", "raise SystemExit(3)")}
    assert verdicts == {"print(1)": "ac", "print(2)": "wa", "while True: pass": "tle",
                        "print('x' * 5000)": "ole", "raise SystemExit(3)": "re"}
