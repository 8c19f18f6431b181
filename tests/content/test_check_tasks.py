"""pytest wrapper for tests/content/check_tasks.py (the local check of
content/tasks/*.json and content/achievements/*.json), plus unit tests of the
comparison semantics the check relies on, of how it reports the validator's
findings, and of the catalogue's conventions.

Run with:  /usr/bin/python3 -m pytest -v tests/content
"""

import json
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


def shipped(slug):
    return json.loads((check_tasks.TASKS_DIR / f"{slug}.json").read_text(encoding="utf-8"))


def test_a_shipped_task_keeps_the_conventions():
    assert check_tasks.task_conventions(shipped("fizz-buzz")) == []


@pytest.mark.parametrize("change, problem", [
    (lambda t: t.update(slug="fizz--buzz"), "$.slug: must be kebab-case"),
    (lambda t: t.update(points=25), "$.points: must be written, 10-20 for easy tasks"),
    (lambda t: t.pop("points"), "$.points: must be written, 10-20 for easy tasks"),
    (lambda t: t["languages"][0].pop("starter_code"), "$.languages: must offer python3 with starter code"),
    (lambda t: t["limits"].pop("wall_ms"), "$.limits: every limit is written out"),
    (lambda t: t.pop("checker"), "$.checker: the checker kind is written out"),
    (lambda t: t["tests"][-1].pop("weight"), "$.tests: every test writes hidden and weight"),
    (lambda t: [x.update(hidden=False) for x in t["tests"][-2:]], "$.tests: has 4 visible tests; 2-3 wanted"),
    (lambda t: t.update(tests=t["tests"][:2] + t["tests"][-1:]), "$.tests: has 1 hidden tests; 5-10 wanted"),
    (lambda t: t.update(tags=[]), "$.tags: at least one tag"),
    (lambda t: t.update(hints=["a", "b", "c", "d"]), "$.hints: 1-3 hints"),
    (lambda t: t.update(reference_solutions=[]), "$.reference_solutions: at least one"),
    (lambda t: t.update(description=t["description"].replace("## Constraints", "## Limits")),
     "$.description: has no '## Constraints' section"),
    (lambda t: t["tests"].insert(0, dict(t["tests"][0], name="first", input="99 1 1\n")),
     "$.description: the worked example must be the first visible test"),
    (lambda t: [s.update(language="c") for s in t["reference_solutions"]],
     "$.reference_solutions: at least one in python3 (the one this check runs)"),
])
def test_each_convention_names_what_breaks_it(change, problem):
    t = shipped("fizz-buzz")
    change(t)
    found = check_tasks.task_conventions(t)
    assert problem in found, found


def test_the_catalogue_needs_every_rule_kind_and_tags_that_tasks_have():
    tasks = {"a": {"difficulty": "easy", "tags": ["math"]}}
    achievements = {"x": {"rule": {"kind": "tag_complete", "tag": "graphs"}},
                    "y": {"rule": {"kind": "difficulty_solved", "threshold": 2, "difficulty": "easy"}}}
    found = check_tasks.catalogue_conventions(tasks, achievements)
    assert "achievement x $.rule.tag: no task has the tag 'graphs'" in found
    assert "achievement y $.rule.threshold: only 1 easy tasks exist" in found
    assert any(p.startswith("achievements: no achievement uses rule kind(s) first_solve") for p in found)
    assert "tasks: only 1 task files (at least 30 wanted)" in found


def test_the_validators_findings_are_reported_per_file(tmp_path):
    binary = check_tasks.content_binary()
    if not binary.exists():
        pytest.skip(f"{binary} not built (bazel build //services/content)")
    (tmp_path / "tasks").mkdir()
    t = shipped("fizz-buzz")
    t["difficulty"] = "extreme"
    (tmp_path / "tasks" / "fizz-buzz.json").write_text(json.dumps(t))
    t = shipped("fizz-buzz")
    t["checker"]["abs_tol"] = 0.5
    (tmp_path / "tasks" / "warned.json").write_text(json.dumps(dict(t, slug="warned")))
    problems = check_tasks.validate(binary, tmp_path)
    assert problems == {
        "fizz-buzz.json": ['$.difficulty: must be one of "easy", "medium", "hard"'],
        "warned.json": ['$.checker.abs_tol: warning: ignored: only the "float" and '
                        '"default_validator" checkers use it'],
    }
