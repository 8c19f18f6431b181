"""Task-file validation: every rule of the validator has a bad file in
bad_tasks/ with exactly one problem, checked through `content validate` and
through ValidateTask; the repository's own content must pass."""
import json
from pathlib import Path

import pytest

import contentkit
from contentkit import BAD_TASKS, cpb

# file -> (JSON path, a fragment of the message)
EXPECTED = {
    "checker-custom-empty-source.json": ("$.checker.custom.source", 'must not be empty'),
    "checker-custom-missing.json": ("$.checker.custom", 'required for the "custom" kind'),
    "checker-kind-unknown.json": ("$.checker.kind", 'must be one of "exact", "ignore_trailing_ws", "tokens", "float", "custom"'),
    "checker-tolerance-negative.json": ("$.checker.abs_tol", 'must be a number >= 0'),
    "description-empty.json": ("$.description", 'must not be empty'),
    "description-too-large.json": ("$.description", 'must be at most 64 KiB'),
    "difficulty-unknown.json": ("$.difficulty", 'must be one of "easy", "medium", "hard"'),
    "duplicate-key.json": ("$", 'duplicate object key near'),
    "hint-too-long.json": ("$.hints[0]", 'must be a string of 1 byte to 4 KiB'),
    "language-duplicate.json": ("$.languages[1].language", 'duplicate language "python3"'),
    "language-limits-wall-below-cpu.json": ("$.languages[0].limits.wall_ms", 'must be at least cpu_ms'),
    "language-unknown.json": ("$.languages[0].language", 'unknown language "cobol"'),
    "languages-empty.json": ("$.languages", 'must not be empty'),
    "languages-missing.json": ("$.languages", 'required'),
    "limits-cpu-too-high.json": ("$.limits.cpu_ms", 'must be at most 10000'),
    "limits-cpu-too-low.json": ("$.limits.cpu_ms", 'must be at least 100'),
    "limits-memory-too-low.json": ("$.limits.memory_kib", 'must be at least 16384'),
    "limits-output-too-high.json": ("$.limits.output_kib", 'must be at most 16384'),
    "limits-unknown-field.json": ("$.limits.cpu", 'unknown field'),
    "limits-wall-below-cpu.json": ("$.limits.wall_ms", 'must be at least cpu_ms'),
    "missing-description.json": ("$.description", 'required'),
    "missing-difficulty.json": ("$.difficulty", 'required'),
    "missing-slug.json": ("$.slug", 'required'),
    "missing-title.json": ("$.title", 'required'),
    "not-an-object.json": ("$", 'must be a JSON object'),
    "not-json.json": ("$", "string or '}' expected ne"),
    "null-field.json": ("$.tags", 'must be an array'),
    "points-not-integer.json": ("$.points", 'must be an integer'),
    "points-too-high.json": ("$.points", 'must be at most 1000'),
    "reference-code-empty.json": ("$.reference_solutions[0].code", 'must not be empty'),
    "reference-language-not-in-task.json": ("$.reference_solutions[0].language", '"c" is not one of the task\'s languages'),
    "reference-verdict-not-ac.json": ("$.reference_solutions[0].expected_verdict", 'must be "ac" for a reference solution'),
    "slug-file-mismatch.json": ("$.slug", 'must equal the file name without .json'),
    "slug-uppercase.json": ("$.slug", 'must be 1-64 characters of [a-z0-9-], starting with a letter'),
    "starter-code-not-string.json": ("$.languages[0].starter_code", 'must be a string'),
    "tag-bad-chars.json": ("$.tags[0]", 'must be 1-32 characters of [a-z0-9-]'),
    "tag-duplicate.json": ("$.tags[1]", 'duplicate tag "math"'),
    "tags-not-array.json": ("$.tags", 'must be an array'),
    "tags-too-many.json": ("$.tags", 'must have at most 10 tags'),
    "test-hidden-not-bool.json": ("$.tests[2].hidden", 'must be true or false'),
    "test-input-not-string.json": ("$.tests[0].input", 'must be a string'),
    "test-missing-expected.json": ("$.tests[3].expected", 'required'),
    "test-name-bad.json": ("$.tests[1].name", 'must be 1-64 characters of [A-Za-z0-9_.-]'),
    "test-name-duplicate.json": ("$.tests[2].name", 'duplicate name "sample-1"'),
    "test-unknown-field.json": ("$.tests[0].output", 'unknown field'),
    "test-weight-too-high.json": ("$.tests[0].weight", 'must be at most 100'),
    "tests-all-hidden.json": ("$.tests", 'at least one test must be visible'),
    "tests-empty.json": ("$.tests", 'must not be empty'),
    "tests-missing.json": ("$.tests", 'required'),
    "tests-too-many.json": ("$.tests", 'must have at most 2000 tests'),
    "title-control-char.json": ("$.title", 'must not contain control characters'),
    "title-too-long.json": ("$.title", 'must be at most 120 characters'),
    "unknown-field.json": ("$.diffculty", 'unknown field'),
    "wrong-solution-name-duplicate.json": ("$.wrong_solutions[1].name", 'duplicate name "w"'),
    "wrong-verdict-ac.json": ("$.wrong_solutions[0].expected_verdict", 'must not be "ac" for a known-wrong solution'),
}


def test_every_bad_task_file_has_an_expectation():
    files = sorted(p.name for p in BAD_TASKS.glob("*.json"))
    assert files == sorted(EXPECTED), "bad_tasks/ and EXPECTED disagree"


def parse_validate_output(stdout):
    found = {}
    for line in stdout.splitlines():
        file, rest = line.split(":", 1)
        path, message = rest.split(": ", 1)
        found.setdefault(Path(file).name, []).append((path, message))
    return found


def test_content_validate_reports_each_bad_file_once_with_path_and_message(content_env):
    r = contentkit.run_cli(content_env, "validate", str(BAD_TASKS))
    assert r.returncode == 1, r.stderr
    found = parse_validate_output(r.stdout)
    for name, (path, fragment) in EXPECTED.items():
        errors = found.get(name, [])
        assert len(errors) == 1, f"{name}: expected one error, got {errors}"
        assert errors[0][0] == path, f"{name}: path {errors[0][0]!r}, expected {path!r}"
        assert fragment in errors[0][1], f"{name}: message {errors[0][1]!r} lacks {fragment!r}"
    assert f"{len(EXPECTED)} files checked, {len(EXPECTED)} errors" in r.stderr


def test_validate_task_rpc_reports_the_same_problem_for_each_bad_file(start_content, tokens):
    content = start_content()
    for name, (path, fragment) in sorted(EXPECTED.items()):
        text = (BAD_TASKS / name).read_text()
        resp = content.client.call("ValidateTask", cpb.ValidateTaskRequest(
            input=cpb.TaskInput(json=text, file=name)), token=tokens["author"])
        assert not resp.ok, name
        assert [(e.path, e.file) for e in resp.errors] == [(path, name)], name
        assert fragment in resp.errors[0].message, name
        assert resp.content_hash == "" and not resp.HasField("bundle"), name


def test_validate_task_returns_every_error_in_document_order(start_content, tokens):
    content = start_content()
    doc = contentkit.task("many-problems", title="", difficulty="extreme", points=0)
    doc["tests"][3].pop("expected")
    doc["limits"] = {"cpu_ms": 50}
    resp = content.client.call("ValidateTask", cpb.ValidateTaskRequest(
        input=cpb.TaskInput(json=json.dumps(doc), file="many-problems.json")),
        token=tokens["author"])
    assert not resp.ok
    assert [e.path for e in resp.errors] == [
        "$.title", "$.difficulty", "$.limits.cpu_ms", "$.tests[3].expected"]
    assert all(e.file == "many-problems.json" for e in resp.errors)


def test_validate_task_ok_gives_hash_change_and_bundle_with_warnings(start_content, tokens):
    content = start_content()
    doc = contentkit.task("fine-task", reference_solutions=[])
    doc["checker"] = {"kind": "exact", "abs_tol": 0.5}
    resp = content.client.call("ValidateTask", cpb.ValidateTaskRequest(
        input=cpb.TaskInput(json=json.dumps(doc))), token=tokens["author"])
    assert resp.ok and not resp.errors
    assert {w.path for w in resp.warnings} == {"$.checker.abs_tol", "$.reference_solutions"}
    assert len(resp.content_hash) == 64
    assert resp.change == cpb.TASK_CHANGE_CREATED
    assert resp.bundle.version == 1 and len(resp.bundle.tests) == 4
    assert resp.bundle.checker.kind == cpb.CHECKER_KIND_EXACT


def test_oversized_test_output_is_rejected(tmp_path, content_env):
    doc = contentkit.task("huge-expected")
    doc["tests"][1]["expected"] = "x" * (1024 * 1024 + 1)
    folder = tmp_path / "huge"
    contentkit.write_task(folder, doc)
    r = contentkit.run_cli(content_env, "validate", str(folder))
    assert r.returncode == 1
    assert "huge-expected.json:$.tests[1].expected: must be at most 1024 KiB" in r.stdout


def test_the_repository_content_is_valid(content_env):
    content = contentkit.REPO / "content"
    tasks = list((content / "tasks").glob("*.json"))
    achievements = list((content / "achievements").glob("*.json"))
    contests = list((content / "contests").glob("*.json"))
    tracks = list((content / "tracks").glob("*.json"))
    if not tasks and not achievements:
        pytest.skip("content/tasks and content/achievements are still empty: nothing to validate")
    r = contentkit.run_cli(content_env, "validate", str(content))
    assert r.returncode == 0, "content validate found errors:\n" + r.stdout + r.stderr
    assert f"{len(tasks) + len(achievements) + len(contests) + len(tracks)} files checked, 0 errors" in r.stderr


def test_the_task_schema_agrees_with_the_validator_on_the_bad_files():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((contentkit.REPO / "content/schema/task.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(contentkit.task())), "the base task must pass"
    # What a schema cannot say (see its description) is checked by C only.
    c_only = {"not-json.json", "duplicate-key.json", "slug-file-mismatch.json",
              "tag-duplicate.json", "language-duplicate.json", "limits-wall-below-cpu.json",
              "language-limits-wall-below-cpu.json", "test-name-duplicate.json",
              "reference-language-not-in-task.json", "wrong-solution-name-duplicate.json",
              "description-too-large.json"}
    for name in sorted(EXPECTED):
        if name in c_only:
            continue
        doc = json.loads((BAD_TASKS / name).read_text())
        assert list(validator.iter_errors(doc)), f"the schema accepts {name}"
