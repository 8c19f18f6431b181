"""The JSON Schemas of content/schema document the content service's
validator, which is the authority: every shipped file matches its schema, and
on generated variants of a task and of an achievement (one change each) the
schema accepts exactly the files `content validate` accepts. Variants that
only break a rule a schema cannot state (the ones each schema's description
lists: file names, duplicates, wall_ms >= cpu_ms, bytes against characters,
integers written with a fraction) are left out.

Run with:  /usr/bin/python3 -m pytest -v tests/content/test_schemas.py
"""

import copy
import json
import sys
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")  # Debian: python3-jsonschema

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_tasks  # noqa: E402

ROOT = check_tasks.ROOT
SCHEMAS = ROOT / "content" / "schema"


def validator(name):
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def binary():
    b = check_tasks.content_binary()
    if not b.exists():
        pytest.skip(f"{b} not built (bazel build //services/content)")
    return b


def _language_enums(node, out):
    if isinstance(node, dict):
        if node.get("description") == "A language id from ListLanguages." and "enum" in node:
            out.append(node["enum"])
        for v in node.values():
            _language_enums(v, out)
    elif isinstance(node, list):
        for v in node:
            _language_enums(v, out)
    return out


def test_schema_language_ids_are_the_catalogues():
    """The schema's language enums list exactly the language catalogue's ids
    (services/executor/languages/*.json, the one place a language is defined)."""
    catalogue = sorted(json.loads(p.read_text())["id"]
                       for p in (ROOT / "services" / "executor" / "languages").glob("*.json"))
    for name in ("task.schema.json", "contest.schema.json"):
        enums = _language_enums(json.loads((SCHEMAS / name).read_text(encoding="utf-8")), [])
        assert name != "task.schema.json" or enums, "no language enum found in the task schema"
        for e in enums:
            assert sorted(e) == catalogue, f"{name}: {sorted(e)} != catalogue {catalogue}"


def test_every_shipped_file_matches_its_schema():
    for folder, schema in (("tasks", "task.schema.json"), ("achievements", "achievement.schema.json"),
                           ("contests", "contest.schema.json"), ("tracks", "track.schema.json")):
        v = validator(schema)
        files = sorted((ROOT / "content" / folder).glob("*.json"))
        assert files, folder
        for f in files:
            errors = [e.message for e in v.iter_errors(json.loads(f.read_text(encoding="utf-8")))]
            assert not errors, f"{f.name}: {errors[:3]}"


# ---------------------------------------------------------------------------
# Variants: (path of the change, new value); DELETE removes the member.

DELETE = object()

BASE_TASK = {
    "slug": "base",
    "title": "Sum of two",
    "difficulty": "easy",
    "points": 10,
    "description": "Add two numbers.",
    "tags": ["math"],
    "languages": [{"language": "python3", "starter_code": "print()",
                   "limits": {"memory_kib": 131072}}],
    "limits": {"cpu_ms": 1000, "wall_ms": 3000, "memory_kib": 262144, "output_kib": 64},
    "checker": {"kind": "tokens"},
    "tests": [{"name": "s1", "input": "1 2\n", "expected": "3\n", "hidden": False, "weight": 1},
              {"name": "h1", "input": "2 2\n", "expected": "4\n", "hidden": True}],
    "hints": ["Add."],
    "reference_solutions": [{"name": "r", "language": "python3", "code": "print(3)"}],
    "wrong_solutions": [{"name": "w", "language": "python3", "code": "print(4)",
                         "expected_verdict": "wa"}],
}

CUSTOM = {"kind": "custom", "custom": {"language": "python3", "source": "import sys"}}
PACKAGE = {"kind": "package_validator", "language": "cpp",
           "files": [{"name": "validate.cpp", "content": "int main() {}"},
                     {"name": "testlib.h", "content": ""}]}

TASK_VARIANTS = [
    *[((key,), DELETE) for key in BASE_TASK if key != "slug"],
    (("colour",), "blue"), (("version",), 3), (("status",), "active"),
    (("slug",), "2sum"), (("slug",), 5),
    (("title",), ""), (("title",), "x" * 120), (("title",), "x" * 121), (("title",), "a\tb"),
    (("title",), 7),
    (("difficulty",), "extreme"), (("difficulty",), "Easy"), (("difficulty",), 1),
    (("points",), 0), (("points",), 1000), (("points",), 1001), (("points",), -1), (("points",), "10"),
    (("description",), ""), (("description",), ["a"]),
    (("tags",), []), (("tags",), "math"), (("tags",), ["Math"]), (("tags",), ["a" * 33]),
    (("tags",), [1]), (("tags",), [f"t{i}" for i in range(11)]), (("tags",), None),
    (("languages",), []), (("languages",), [{"language": "cobol"}]), (("languages",), [{}]),
    (("languages",), [{"language": "python3"}, {"language": "c"}]),
    (("languages",), [{"language": "python3", "x": 1}]),
    (("languages", 0, "starter_code"), 5), (("languages", 0, "starter_code"), ""),
    (("languages", 0, "limits"), {"cpu_ms": 99}), (("languages", 0, "limits"), {"cpu_ms": 0}),
    (("languages", 0, "limits"), []), (("languages", 0, "limits"), {"cpu": 1}),
    (("limits", "cpu_ms"), 99), (("limits", "cpu_ms"), 0), (("limits", "cpu_ms"), 3000),
    (("limits", "cpu_ms"), 10001), (("limits", "wall_ms"), 0), (("limits", "wall_ms"), 30001),
    (("limits", "memory_kib"), 16383), (("limits", "memory_kib"), 1048577),
    (("limits", "memory_kib"), 0), (("limits", "output_kib"), 0), (("limits", "output_kib"), 16385),
    (("limits", "output_kib"), -1), (("limits", "disk_kib"), 1), (("limits",), "fast"),
    (("checker",), {}), (("checker",), {"kind": "regex"}), (("checker",), {"kind": 2}),
    (("checker",), {"kind": "float"}), (("checker",), {"kind": "float", "abs_tol": -1}),
    (("checker",), {"kind": "float", "rel_tol": "0.1"}), (("checker",), {"kind": "exact", "abs_tol": 0.5}),
    (("checker",), {"kind": "custom"}), (("checker",), CUSTOM),
    (("checker",), {"kind": "tokens", "custom": CUSTOM["custom"]}),
    (("checker",), {"kind": "custom", "custom": {"language": "lua", "source": "x"}}),
    (("checker",), {"kind": "custom", "custom": {"language": "python3", "source": ""}}),
    (("checker",), {"kind": "custom", "custom": {"language": "python3"}}),
    (("checker",), {"kind": "tokens", "strict": True}),
    (("checker",), PACKAGE), (("checker",), {**PACKAGE, "interactive": True, "flags": ["a", "1e-6"]}),
    (("checker",), {"kind": "package_validator", "language": "cpp"}),
    (("checker",), {"kind": "package_validator", "files": PACKAGE["files"]}),
    (("checker",), {**PACKAGE, "language": "lua"}), (("checker",), {**PACKAGE, "files": []}),
    (("checker",), {**PACKAGE, "files": [{"name": "../v.cpp", "content": "x"}]}),
    (("checker",), {**PACKAGE, "files": [{"name": "v.cpp"}]}),
    (("checker",), {**PACKAGE, "flags": ["a\nb"]}), (("checker",), {**PACKAGE, "flags": [""]}),
    (("checker",), {**PACKAGE, "interactive": "yes"}),
    (("tests",), []), (("tests",), "none"),
    (("tests",), [{"name": "h", "expected": "1", "hidden": True}]),
    (("tests",), [{"name": f"t{i}", "expected": "1"} for i in range(201)]),
    (("tests", 0, "name"), "a b"), (("tests", 0, "name"), "x" * 65), (("tests", 0, "name"), DELETE),
    (("tests", 0, "expected"), DELETE), (("tests", 0, "expected"), 3), (("tests", 0, "input"), DELETE),
    (("tests", 0, "input"), None), (("tests", 0, "hidden"), 0), (("tests", 0, "hidden"), DELETE),
    (("tests", 0, "weight"), 101), (("tests", 0, "weight"), 0), (("tests", 0, "weight"), -1),
    (("tests", 0, "output"), "3\n"), (("tests", 1), 7),
    (("tests", 0, "validator_flags"), []), (("tests", 0, "validator_flags"), ["x" * 257]),
    (("tests", 0, "validator_flags"), ["a\nb"]), (("tests", 0, "validator_flags"), "loud"),
    (("hints",), []), (("hints",), [""]), (("hints",), ["x" * 4097]), (("hints",), [1]),
    (("hints",), [f"h{i}" for i in range(11)]),
    (("reference_solutions",), []),
    (("reference_solutions",), [{"name": f"r{i}", "language": "python3", "code": "x"} for i in range(11)]),
    (("reference_solutions", 0, "expected_verdict"), "ac"),
    (("reference_solutions", 0, "expected_verdict"), "wa"),
    (("reference_solutions", 0, "name"), ""), (("reference_solutions", 0, "name"), "a\u0007"),
    (("reference_solutions", 0, "name"), "x" * 65), (("reference_solutions", 0, "code"), ""),
    (("reference_solutions", 0, "language"), "cobol"), (("reference_solutions", 0, "code"), DELETE),
    (("reference_solutions", 0, "author"), "me"),
    (("wrong_solutions", 0, "expected_verdict"), "ac"), (("wrong_solutions", 0, "expected_verdict"), "ie"),
    (("wrong_solutions", 0, "expected_verdict"), "tle"),
    (("wrong_solutions", 0, "expected_verdict"), DELETE),
    (("wrong_solutions",), [{"name": f"w{i}", "language": "python3", "code": "x"} for i in range(21)]),
]

BASE_ACHIEVEMENT = {"slug": "base", "title": "Ten down", "description": "Solve ten tasks.",
                    "icon": "star", "sort_order": 5, "rule": {"kind": "tasks_solved", "threshold": 10}}

RULES = [
    {"kind": "first_solve"}, {"kind": "first_solve", "threshold": 1}, {"kind": "first_solve", "tag": "a"},
    {"kind": "tasks_solved"}, {"kind": "tasks_solved", "threshold": 0},
    {"kind": "tasks_solved", "threshold": 1000000}, {"kind": "tasks_solved", "threshold": 1000001},
    {"kind": "points", "threshold": -5}, {"kind": "points", "threshold": 5, "difficulty": "easy"},
    {"kind": "streak_days", "threshold": 7}, {"kind": "streak_days", "threshold": "7"},
    {"kind": "tag_complete"}, {"kind": "tag_complete", "tag": "graphs"},
    {"kind": "tag_complete", "tag": "Graphs"}, {"kind": "tag_complete", "tag": "g", "threshold": 2},
    {"kind": "difficulty_complete"}, {"kind": "difficulty_complete", "difficulty": "hard"},
    {"kind": "difficulty_complete", "difficulty": "brutal"},
    {"kind": "difficulty_complete", "difficulty": "hard", "threshold": 3},
    {"kind": "first_attempt"}, {"kind": "first_attempt", "threshold": 0},
    {"kind": "first_attempt", "threshold": 3}, {"kind": "first_attempt", "tag": "a"},
    {"kind": "difficulty_solved", "threshold": 3, "difficulty": "medium"},
    {"kind": "difficulty_solved", "threshold": 3}, {"kind": "difficulty_solved", "difficulty": "easy"},
    {"kind": "difficulty_solved", "threshold": 0, "difficulty": "easy"},
    {"kind": "all_tasks"}, {"kind": "all_tasks", "difficulty": "easy"},
    {"kind": "be_nice"}, {}, {"kind": "points", "threshold": 5, "bonus": 1},
]

ACHIEVEMENT_VARIANTS = [
    *[((key,), DELETE) for key in BASE_ACHIEVEMENT if key != "slug"],
    *[(("rule",), r) for r in RULES],
    (("rule",), "points"), (("badge",), 1), (("slug",), "Bad"), (("slug",), 3),
    (("title",), ""), (("title",), "x" * 80), (("title",), "x" * 81), (("title",), "a\nb"),
    (("description",), "x" * 301), (("description",), 4), (("icon",), "a star"), (("icon",), "x" * 33),
    (("sort_order",), -1000000), (("sort_order",), 1000001), (("sort_order",), "1"),
]


BASE_CONTEST = {
    "slug": "base", "title": "Spring cup", "start": "2026-03-08T09:00:00Z", "duration": "5:00:00",
    "freeze_minutes": 60, "scoring": "icpc", "penalty_minutes": 20, "registration": "open",
    "problems": [{"label": "A", "task_slug": "two-sum", "rgb": "#ff0000", "color": "red"},
                 {"label": "B", "task_slug": "knapsack", "points": 50}],
    "organizations": [{"id": "uni-1", "name": "University", "country": "NLD"}],
    "groups": [{"id": "site-a", "name": "Site A", "type": "site"}],
    "medals": {"gold": 1, "silver": 2, "bronze": 3},
}

CONTEST_VARIANTS = [
    *[((key,), DELETE) for key in BASE_CONTEST if key != "slug"],
    (("slug",), "1cup"), (("slug",), "x" * 37), (("title",), ""), (("title",), "x" * 121),
    (("title",), "a\tb"), (("formal_name",), "x" * 201), (("description",), 3),
    (("start",), "tomorrow"), (("start",), "2026-03-08T09:00:00+01:00"), (("start",), 17),
    (("duration",), None), (("duration",), "5h"), (("duration",), "120:00:00"),
    (("freeze_minutes",), -1), (("freeze_minutes",), "60"),
    (("scoring",), "ioi"), (("scoring",), "kattis"), (("ioi_mode",), "last"), (("ioi_mode",), "max"),
    (("penalty_minutes",), 121), (("penalty_minutes",), 0),
    (("registration",), "closed"), (("registration",), "lottery"),
    (("invite_code_sha256",), "xyz"), (("hide_tasks_until_start",), "yes"),
    (("practice_after_end",), False), (("max_team_size",), 0), (("max_team_size",), 3),
    (("max_team_size",), 11),
    (("problems",), []), (("problems",), [{"label": "A"}]),
    (("problems", 0, "label"), "A-1"), (("problems", 0, "label"), "ABCDEFGHI"),
    (("problems", 0, "rgb"), "red"), (("problems", 0, "rgb"), "#abc"),
    (("problems", 0, "color"), "x" * 33), (("problems", 0, "points"), 0),
    (("problems", 0, "points"), 10001), (("problems", 0, "task_slug"), "Two-Sum"),
    (("problems", 0, "extra"), 1),
    (("organizations", 0, "id"), "Uni 1"), (("organizations", 0, "country"), "nl"),
    (("organizations", 0, "name"), ""), (("organizations", 0, "url"), "x" * 301),
    (("organizations", 0, "logo"), "x.png"),
    (("groups", 0, "id"), "x" * 37), (("groups", 0, "type"), "x" * 33),
    (("medals",), {"gold": 101}), (("medals",), {"platinum": 1}), (("medals",), []),
    (("colour",), "blue"),
]


def variant(base, path, value, slug):
    doc = copy.deepcopy(base)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    if path != ("slug",):
        doc["slug"] = slug
    return doc


def verdicts(binary, tmp_path, folder, base, variants):
    """[(variant, document, the validator's problems)] for every variant,
    each written as its own file of tmp_path/folder (named after its slug
    when the variant does not change the slug)."""
    (tmp_path / folder).mkdir()
    cases = []
    for i, (path, value) in enumerate(variants):
        name = f"case-{i}"
        doc = variant(base, path, value, name)
        (tmp_path / folder / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
        cases.append((name, path, value, doc))
    problems = check_tasks.validate(binary, tmp_path)
    return [(path, value, doc, [p for p in problems.get(f"{name}.json", []) if ": warning: " not in p])
            for name, path, value, doc in cases]


def expect_agreement(results, v, base):
    assert not list(v.iter_errors(base)), "the base document must match its schema"
    disagree = []
    for path, value, doc, c_errors in results:
        if path == ("slug",):
            # The slug names the file: a changed one is a file-name error in C.
            c_errors = [e for e in c_errors if "file name" not in e]
        schema_errors = [e.message for e in v.iter_errors(doc)]
        if bool(c_errors) != bool(schema_errors):
            shown = "(removed)" if value is DELETE else json.dumps(value)[:60]
            disagree.append(f"{'.'.join(map(str, path))} = {shown}: "
                            f"validator {c_errors or 'accepts'}, schema {schema_errors[:2] or 'accepts'}")
    assert not disagree, "\n".join(disagree)


def test_the_task_schema_accepts_what_the_validator_accepts(binary, tmp_path):
    results = verdicts(binary, tmp_path, "tasks", BASE_TASK, TASK_VARIANTS)
    refused = sum(bool(c) for *_, c in results)
    assert 0 < refused < len(results), "the variants must include accepted and refused files"
    expect_agreement(results, validator("task.schema.json"), BASE_TASK)


def test_the_achievement_schema_accepts_what_the_validator_accepts(binary, tmp_path):
    results = verdicts(binary, tmp_path, "achievements", BASE_ACHIEVEMENT, ACHIEVEMENT_VARIANTS)
    refused = sum(bool(c) for *_, c in results)
    assert 0 < refused < len(results), "the variants must include accepted and refused files"
    expect_agreement(results, validator("achievement.schema.json"), BASE_ACHIEVEMENT)


def test_the_contest_schema_accepts_what_the_validator_accepts(binary, tmp_path):
    results = verdicts(binary, tmp_path, "contests", BASE_CONTEST, CONTEST_VARIANTS)
    refused = sum(bool(c) for *_, c in results)
    assert 0 < refused < len(results), "the variants must include accepted and refused files"
    expect_agreement(results, validator("contest.schema.json"), BASE_CONTEST)
