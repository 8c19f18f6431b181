"""Problem packages (the Kattis / ICPC problem package format, a .zip) through
the author API: hand-written packages, good and malformed, imported with their
submissions checked on the real executor; a task exported as a package and
read back to the same task. Every answer is checked against docs/openapi.yaml."""
import base64
import functools
import hashlib
import io
import json
import os
import random
import socket
import stat
import subprocess
import threading
import time
import urllib.parse
import zipfile

import contentkit
import gwkit
from test_gateway_submissions import GRADE_TIMEOUT, wait_finished
from test_gateway_testdata import raw_request

IMPORT = "/api/v1/author/packages"


def checked(spec, client, method, path, body=None, **kw):
    r = client.call(method, path, body, **kw)
    spec.check(method, path, r)
    return r


def make_zip(files, top=None, links=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, content in files.items():
            z.writestr(f"{top}/{path}" if top else path, content)
        for path, target in links:
            info = zipfile.ZipInfo(f"{top}/{path}" if top else path)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            info.create_system = 3
            z.writestr(info, target)
    return buf.getvalue()


def upload(spec, author, data, timeout=240, **query):
    qs = urllib.parse.urlencode(query)
    path = IMPORT + ("?" + qs if qs else "")
    r = author.call("POST", path, raw=data, headers={"Content-Type": "application/zip"},
                    timeout=timeout)
    spec.check("POST", IMPORT, r)
    return r


def hello_files(**changes):
    files = {
        "problem.yaml": "name: Hello Sum\nlimits:\n  time_limit: 1\n  memory: 256\n"
                        "validator_flags: float_tolerance 1e-6\nkeywords: math easy_one\n",
        "problem_statement/problem.en.md": "Read two numbers and print their sum.\n",
        "data/sample/1.in": "1 2\n", "data/sample/1.ans": "3\n",
        "data/secret/g1/a.in": "5 5\n", "data/secret/g1/a.ans": "10.0000001\n",
        "data/secret/b.in": "2.5 2.5\n", "data/secret/b.ans": "5\n",
        "submissions/accepted/sol.py": "a, b = map(float, input().split())\nprint(a + b)\n",
        "submissions/wrong_answer/zero.py": "input()\nprint(0)\n",
        "submissions/time_limit_exceeded/spin.py": "while True:\n    pass\n",
        "submissions/run_time_error/crash.py": "raise SystemExit(3)\n",
    }
    files.update(changes)
    return {k: v for k, v in files.items() if v is not None}


def error_paths(r):
    return [(e.get("path"), e["message"]) for e in r.json["errors"]]


# ---------------------------------------------------------------------------
# Good packages


def test_a_package_imports_with_its_submissions_checked(gw, spec, author, executor):
    slug = contentkit.unique_slug("pkg")
    data = make_zip(hello_files(), top=slug)
    r = upload(spec, author, data, file_name=f"{slug}.zip")
    assert r.status == 201, r
    assert r.json["change"] == "created" and r.json["checked"] is True
    task = r.json["task"]
    assert task["slug"] == slug and task["title"] == "Hello Sum"
    assert task["limits"]["cpu_ms"] == 1000 and task["limits"]["memory_kib"] == 256 * 1024
    assert task["tags"] == ["math", "easy-one"]
    assert task["checker"] == {"kind": "default_validator", "abs_tol": 1e-6, "rel_tol": 1e-6}
    tests = {t["name"]: t for t in task["tests"]}
    assert tests["1"].get("hidden", False) is False
    assert tests["secret.g1.a"]["hidden"] is True and tests["secret.g1.a"]["group"] == "g1"
    assert "group" not in tests["secret.b"]
    assert [s["name"] for s in task["reference_solutions"]] == ["accepted/sol.py"]
    verdicts = {x["name"]: (x["expected_verdict"], x["verdict"]) for x in r.json["results"]}
    assert verdicts == {"accepted/sol.py": ("ac", "ac"),
                        "wrong_answer/zero.py": ("wa", "wa"),
                        "time_limit_exceeded/spin.py": ("tle", "tle"),
                        "run_time_error/crash.py": ("re", "re")}
    # The same package again changes nothing.
    r = upload(spec, author, data, file_name=f"{slug}.zip", check=0)
    assert r.status == 200 and r.json["change"] == "unchanged", r
    # A learner sees the sample, never the secret data.
    lc, _, _ = gwkit.register(gw.addr)
    view = lc.get(f"/api/v1/tasks/{slug}")
    assert view.status == 200
    assert [s["name"] for s in view.json["sample_tests"]] == ["1"]
    assert view.json["hidden_test_count"] == 2
    assert b"10.0000001" not in view.body and b"2.5 2.5" not in view.body


JAVA_SOLUTION = """import java.util.Scanner;

public class Solution {
    static class Pair { double a, b; }
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        Pair p = new Pair();
        p.a = in.nextDouble();
        p.b = in.nextDouble();
        System.out.println(p.a + p.b);
    }
}
"""


def test_a_java_submission_keeps_its_public_class(gw, spec, author, executor):
    """Packages ship Java as Solution.java holding `public class Solution`: it is
    checked at import as written (javac wants the file named after the class,
    the JVM starts it), with no warning, and exported under the same name."""
    slug = contentkit.unique_slug("pkgjava")
    files = hello_files(**{"submissions/accepted/sol.py": None,
                           "submissions/accepted/Solution.java": JAVA_SOLUTION,
                           "submissions/time_limit_exceeded/spin.py": None,
                           "submissions/run_time_error/crash.py": None})
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 201, r
    verdicts = {x["name"]: (x["expected_verdict"], x["verdict"]) for x in r.json["results"]}
    assert verdicts == {"accepted/Solution.java": ("ac", "ac"),
                        "wrong_answer/zero.py": ("wa", "wa")}, r.json["results"]
    assert not [w for w in r.json["warnings"] if "Solution.java" in (w.get("path") or "")]
    r = author.get(f"/api/v1/author/tasks/{slug}/package")
    assert r.status == 200
    z = zipfile.ZipFile(io.BytesIO(r.body))
    assert z.read(f"{slug}/submissions/accepted/Solution.java").decode() == JAVA_SOLUTION


def test_a_package_without_samples_imports_with_no_visible_test(gw, spec, author):
    slug = contentkit.unique_slug("pkgns")
    files = hello_files(**{"data/sample/1.in": None, "data/sample/1.ans": None})
    r = upload(spec, author, make_zip(files, top=slug), check=0)
    assert r.status == 201, r
    assert r.json["task"]["no_visible_tests"] is True
    assert r.json["checked"] is False
    lc, _, _ = gwkit.register(gw.addr)
    view = lc.get(f"/api/v1/tasks/{slug}")
    assert view.json["sample_tests"] == [] and view.json["hidden_test_count"] == 2
    # The designer's own rule still holds for tasks that do have samples.
    doc = contentkit.task(contentkit.unique_slug("pkgnv"), no_visible_tests=True)
    r = checked(spec, author, "POST", "/api/v1/author/tasks/validate", {"task": doc})
    assert r.json["ok"] is False
    assert any(e["path"] == "$.no_visible_tests" for e in r.json["errors"])


def test_a_2023_07_package_with_a_latex_statement_and_scoring(spec, author):
    slug = contentkit.unique_slug("pkg23")
    files = {
        "problem.yaml": "problem_format_version: 2023-07-draft\ntype: scoring\n"
                        "name:\n  en: Squares\n  sv: Kvadrater\nuuid: 0\n"
                        "keywords: [math]\nlimits:\n  time_limit: 2\n",
        "statement/problem.en.tex": "\\problemname{Squares}\nPrint $n^2$.\n",
        "data/secret/small/testdata.yaml": "accept_score: 3\n",
        "data/secret/small/1.in": "2\n", "data/secret/small/1.ans": "4\n",
        "data/secret/large/1.in": "30\n", "data/secret/large/1.ans": "900\n",
        "data/sample/s.interaction": "> 2\n< 4\n",
        "solution/solution.en.md": "Multiply n by itself.\n",
        "submissions/accepted/sq.py": "n = int(input())\nprint(n * n)\n",
    }
    r = upload(spec, author, make_zip(files, top=slug), check=0)
    assert r.status == 201, r
    t = r.json["task"]
    assert t["title"] == "Squares" and t["limits"]["cpu_ms"] == 2000
    assert "Print $n^2$." in t["description"] and "\\problemname" not in t["description"]
    assert "Example interaction" in t["description"] and "> 2" in t["description"]
    assert t["editorial"] == "Multiply n by itself.\n"
    weights = {x["name"]: (x.get("group"), x.get("weight", 1)) for x in t["tests"]}
    assert weights == {"secret.small.1": ("small", 3), "secret.large.1": ("large", 1)}
    assert t["no_visible_tests"] is True
    assert any("LaTeX" in w["message"] for w in r.json["warnings"])


# ---------------------------------------------------------------------------
# Submissions that disagree with their directory


def test_a_submission_with_the_wrong_verdict_refuses_the_import(gw, spec, author, executor):
    slug = contentkit.unique_slug("pkgwv")
    files = hello_files(**{
        "submissions/wrong_answer/actually_right.py":
            "a, b = map(float, input().split())\nprint(a + b)\n",
        "submissions/time_limit_exceeded/spin.py": None,
        "submissions/run_time_error/crash.py": None})
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 422, r
    assert r.json["error"]["code"] == "invalid_package"
    assert r.json["error"]["field"] == "submissions/wrong_answer/actually_right.py"
    assert "expects wa, the judge gave ac" in r.json["error"]["message"]
    # Nothing was stored.
    assert author.get(f"/api/v1/author/tasks/{slug}").status == 404


RETRY_LINE = "executor busy, author run retried"


def test_an_import_waits_for_a_sandbox_slot_while_every_one_is_busy(gw, stack, spec, author,
                                                                      executor):
    """Both of the executor's slots for synchronous runs (DOJO_EXECUTOR_SYNC_SLOTS,
    2) are held by runs that sleep until they are cancelled: the import's first
    submission finds the executor busy (RESOURCE_EXHAUSTED), and the gateway waits
    and tries again instead of failing the import; once the slots are free the
    import goes through with its submissions checked."""
    import grpc
    import execkit
    from dojo.executor.v1 import executor_pb2 as epb
    md = [("x-dojo-service-key", stack["service_key"])]
    ch = grpc.insecure_channel(executor.addr)
    run_job = ch.unary_stream("/dojo.executor.v1.Executor/RunJob",
                              request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=epb.Event.FromString)
    blockers = []
    try:
        for _ in range(2):
            job = execkit.make_job("", "", "gw-echo", "import time\ntime.sleep(600)\n",
                                   kind=execkit.RUN)
            job.limits.wall_ms = 30000
            blockers.append(run_job(epb.RunJobRequest(job=job), metadata=md, timeout=120))
        deadline = time.monotonic() + 60
        while True:
            running = executor.call("ListRunning", epb.ListRunningRequest(),
                                    epb.ListRunningResponse, service_key=stack["service_key"])
            if sum(j.synchronous for j in running.jobs) >= 2:
                break
            assert time.monotonic() < deadline, f"the blockers never ran: {running}"
            time.sleep(0.05)
        retries_before = gw.log_text().count(RETRY_LINE)
        slug = contentkit.unique_slug("pkgbusy")
        files = hello_files(**{"submissions/wrong_answer/zero.py": None,
                               "submissions/time_limit_exceeded/spin.py": None,
                               "submissions/run_time_error/crash.py": None})
        box = {}
        t = threading.Thread(target=lambda: box.setdefault(
            "r", upload(spec, author, make_zip(files, top=slug))))
        t.start()
        deadline = time.monotonic() + 50
        while gw.log_text().count(RETRY_LINE) == retries_before:
            assert t.is_alive(), f"the import ended while every slot was busy: {box.get('r')}"
            assert time.monotonic() < deadline, "the gateway never retried the busy executor"
            time.sleep(0.05)
    finally:
        for b in blockers:
            b.cancel()
        ch.close()
    t.join(240)
    r = box.get("r")
    assert r is not None and r.status == 201, r
    assert [(x["name"], x["verdict"]) for x in r.json["results"]] == [("accepted/sol.py", "ac")]


# ---------------------------------------------------------------------------
# Input validators: run over every test's input at import

RANGE_VALIDATOR = """import sys
args = sys.argv[1:]
if "--max" not in args:
    print("no --max flag given", file=sys.stderr)
    sys.exit(43)
limit = float(args[args.index("--max") + 1])
nums = [float(x) for x in sys.stdin.read().split()]
if len(nums) != 2:
    print("want two numbers, got %d" % len(nums))
    sys.exit(43)
for x in nums:
    if x > limit:
        print("%g is over %g" % (x, limit))
        sys.exit(43)
sys.exit(42)
"""
FORMAT_VALIDATOR_C = """#include <stdio.h>
int main(void) {
    double a, b;
    char extra;
    if (scanf("%lf %lf", &a, &b) != 2 || scanf(" %c", &extra) == 1) {
        fprintf(stderr, "not two numbers\\n");
        return 43;
    }
    return 42;
}
"""


def validated_files(**changes):
    files = hello_files(**{"submissions/time_limit_exceeded/spin.py": None,
                           "submissions/run_time_error/crash.py": None,
                           "input_format_validators/range/range.py": RANGE_VALIDATOR,
                           "data/testdata.yaml": "input_validator_flags: --max 100\n"})
    files.update(changes)
    return {k: v for k, v in files.items() if v is not None}


def test_input_validators_that_accept_every_input_let_the_package_import(gw, spec, author,
                                                                         executor):
    """A legacy input_format_validators/ program in Python (which refuses any input
    without the --max flag of data/testdata.yaml) and a 2023-07 input_validators/
    one in C both accept every test's input: the package imports, its submissions
    checked after them."""
    slug = contentkit.unique_slug("pkgiv")
    files = validated_files(**{"input_validators/format.c": FORMAT_VALIDATOR_C,
                               # 2023-07's map by validator name
                               "data/testdata.yaml": "input_validator_flags:\n  range: --max 100\n",
                               "data/secret/g1/testdata.yaml": "input_validator_flags: --max 1\n"})
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 201, r
    assert ("data/secret/g1/testdata.yaml", "input validator flags per test group are not "
            "applied: the input validators get data/testdata.yaml's for every test") in [
                (w["path"], w["message"]) for w in r.json["warnings"]]
    assert {x["name"]: x["verdict"] for x in r.json["results"]} == {
        "accepted/sol.py": "ac", "wrong_answer/zero.py": "wa"}


def test_an_input_the_validator_refuses_fails_the_import_naming_the_file(gw, spec, author,
                                                                         executor, tmp_path):
    slug = contentkit.unique_slug("pkgivr")
    files = validated_files(**{"data/secret/g1/big.in": "500 5\n",
                               "data/secret/g1/big.ans": "505\n",
                               "data/secret/two.in": "1 2 3\n", "data/secret/two.ans": "6\n"})
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 422, r
    assert r.json["error"]["code"] == "invalid_package"
    assert r.json["error"]["field"] == "data/secret/g1/big.in"
    assert error_paths(r) == [
        ("data/secret/g1/big.in", "refused by input_format_validators/range: 500 is over 100"),
        ("data/secret/two.in", "refused by input_format_validators/range: want two numbers, got 3")]
    assert r.json["results"] == [], "the submissions ran after a refused input"
    assert author.get(f"/api/v1/author/tasks/{slug}").status == 404
    # The CLI says the same.
    bad = tmp_path / "bad.zip"
    bad.write_bytes(make_zip(files, top=slug))
    cli = subprocess.run([str(contentkit.REPO / "dojo"), "package", "import", str(bad)],
                         env=dict(os.environ, DOJO_URL=f"http://{gw.addr}", DOJO_TOKEN=author.bearer),
                         capture_output=True, text=True, timeout=240)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert ("error: data/secret/g1/big.in: refused by input_format_validators/range: "
            "500 is over 100") in cli.stdout, cli.stdout
    # Without the flag the same validator refuses every input: the flags do reach it.
    files["data/testdata.yaml"] = "on_reject: continue\n"
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 422, r
    assert {m for _, m in error_paths(r)} == {
        "refused by input_format_validators/range: no --max flag given"}
    assert len(error_paths(r)) == 5


def test_an_input_validator_that_does_not_compile_fails_the_import(gw, spec, author, executor):
    slug = contentkit.unique_slug("pkgivc")
    files = validated_files(**{"input_validators/broken/broken.c": "int main(void) { return nope; }\n"})
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 422, r
    assert r.json["error"]["field"] == "input_validators/broken"
    (path, msg), = error_paths(r)
    assert path == "input_validators/broken"
    assert msg.startswith("the input validator does not compile: ") and "nope" in msg, msg
    assert author.get(f"/api/v1/author/tasks/{slug}").status == 404


def with_files(data, top, **changes):
    """The zip `data` (files under `top`/) with `changes` (path: text) added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    files = {n[len(top) + 1:]: src.read(n) for n in src.namelist()}
    files.update(changes)
    return make_zip(files, top=top)


def test_input_validators_are_kept_exported_and_run_again_on_the_reimport(gw, spec, author,
                                                                          executor):
    """The package's input validators are stored with the task (path, language,
    files, flags); its export writes them back where they came from with their
    flags in data/testdata.yaml, reads back to the same task (unchanged, the
    validators run again over every input), and a test added to the export
    whose input they refuse is refused naming the file and the validator."""
    slug = contentkit.unique_slug("pkgivs")
    files = validated_files(**{"input_validators/format.c": FORMAT_VALIDATOR_C,
                               "data/testdata.yaml": "input_validator_flags:\n  range: --max 100\n"})
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 201, r
    ivs = r.json["task"]["input_validators"]
    assert [(v["path"], v["language"], [f["name"] for f in v["files"]], v.get("flags"))
            for v in ivs] == [
        ("input_format_validators/range", "python3", ["range.py"], ["--max", "100"]),
        ("input_validators/format.c", "c", ["format.c"], None)]
    assert ivs[0]["files"][0]["content"] == RANGE_VALIDATOR
    before = r.json
    # A learner's view and the judge bundle's tests say nothing of them.
    lc, _, _ = gwkit.register(gw.addr)
    view = lc.get(f"/api/v1/tasks/{slug}")
    assert view.status == 200 and b"is over" not in view.body

    r = author.get(f"/api/v1/author/tasks/{slug}/package")
    assert r.status == 200, r
    z = zipfile.ZipFile(io.BytesIO(r.body))
    assert z.read(f"{slug}/input_format_validators/range/range.py").decode() == RANGE_VALIDATOR
    assert z.read(f"{slug}/input_validators/format.c").decode() == FORMAT_VALIDATOR_C
    assert z.read(f"{slug}/data/testdata.yaml").decode() == (
        'output_validator_flags: "float_absolute_tolerance 1e-06 float_relative_tolerance 1e-06"\n'
        'input_validator_flags:\n  "range": "--max 100"\n')
    assert author.get(f"/api/v1/author/tasks/{slug}/package").body == r.body
    exported = r.body

    again = upload(spec, author, exported)
    assert again.status == 200, again
    assert again.json["change"] == "unchanged" and again.json["checked"] is True
    assert again.json["task"] == before["task"]
    assert again.json["content_hash"] == before["content_hash"]

    bad = with_files(exported, slug, **{"data/secret/huge.in": "500 5\n",
                                        "data/secret/huge.ans": "505\n"})
    r = upload(spec, author, bad)
    assert r.status == 422, r
    assert error_paths(r) == [
        ("data/secret/huge.in", "refused by input_format_validators/range: 500 is over 100")]
    got = author.get(f"/api/v1/author/tasks/{slug}")
    assert got.json["version"] == before["version"]


def test_a_test_added_through_the_api_is_checked_by_the_stored_input_validators(
        gw, spec, author, executor):
    """A test added to a task with input validators (the designer's save, PUT)
    is run past them before the version is stored: a refused input is a 422
    naming the test, the validator and its message, and nothing is stored; an
    accepted one makes the new version. Creating a task with a bad input is
    refused the same way."""
    slug = contentkit.unique_slug("pkgiva")
    r = upload(spec, author, make_zip(validated_files(), top=slug), check=0)
    assert r.status == 201, r
    task, version = r.json["task"], r.json["version"]
    n = len(task["tests"])
    task["tests"].append({"name": "added", "input": "500 5\n", "expected": "505\n",
                          "hidden": True})
    path = f"/api/v1/author/tasks/{slug}"
    r = checked(spec, author, "PUT", path, {"task": task, "expected_version": version},
                timeout=240)
    assert r.status == 422, r
    assert r.json["error"]["code"] == "invalid_input"
    assert r.json["error"]["field"] == f"$.tests[{n}].input"
    assert error_paths(r) == [(f"$.tests[{n}].input", 'test "added": refused by '
                               'input_format_validators/range: 500 is over 100')]
    assert author.get(path).json["version"] == version
    task["tests"][n] = {"name": "added", "input": "7 8\n", "expected": "15\n", "hidden": True}
    r = checked(spec, author, "PUT", path, {"task": task, "expected_version": version},
                timeout=240)
    assert r.status == 200, r
    assert r.json["change"] == "new_version" and r.json["version"] == version + 1
    # A new task with the validators: every input is checked.
    other = dict(task, slug=contentkit.unique_slug("pkgivb"))
    other["tests"] = task["tests"] + [{"name": "three", "input": "1 2 3\n", "expected": "6\n",
                                       "hidden": True}]
    r = checked(spec, author, "POST", "/api/v1/author/tasks", {"task": other}, timeout=240)
    assert r.status == 422, r
    assert error_paths(r) == [(f"$.tests[{n + 1}].input", 'test "three": refused by '
                               'input_format_validators/range: want two numbers, got 3')]
    assert author.get(f"/api/v1/author/tasks/{other['slug']}").status == 404


# ---------------------------------------------------------------------------
# Malformed packages: each refused naming its file and the rule


def refused(spec, author, data, path, words, **query):
    r = upload(spec, author, data, check=0, **query)
    assert r.status == 422, r
    assert r.json["error"]["code"] == "invalid_package"
    errs = error_paths(r)
    assert any(p == path and all(w in m for w in words) for p, m in errs), errs
    return r


def test_malformed_packages_are_refused_naming_the_file_and_the_rule(spec, author):
    slug = contentkit.unique_slug("pkgbad")

    def pkg(**changes):
        return make_zip(hello_files(**changes), top=slug)

    refused(spec, author, pkg(**{"problem.yaml": None}), "problem.yaml", ["required"])
    refused(spec, author, pkg(**{"data/secret/b.ans": None}), "data/secret/b.in",
            ["has no answer file data/secret/b.ans"])
    refused(spec, author, pkg(**{"data/secret/c.ans": "1\n"}), "data/secret/c.ans",
            ["has no input file"])
    refused(spec, author, pkg(**{"problem.yaml": "name: [unclosed\n"}), "problem.yaml",
            ["not valid YAML", "line"])
    refused(spec, author, pkg(**{"problem.yaml": "name: X\nvalidator_flags: loose\n"}),
            "problem.yaml", ["\"loose\" is not a flag of the default output validator"])
    refused(spec, author, pkg(**{"problem.yaml": "name: X\nlimits:\n  time_limit: 60\n"}),
            "problem.yaml", ["60 s is outside Dojo's range"])
    refused(spec, author, pkg(**{"problem.yaml": "name: X\nvalidation: custom\n"}),
            "output_validators/", ["needs its output validator"])
    refused(spec, author, pkg(**{"output_validators/v/v.txt": "hello\n"}),
            "output_validators/", ["no source file of a language Dojo runs"])
    refused(spec, author, pkg(**{"problem.yaml": "name: X\ntype: interactive\n"}),
            "output_validator/", ["needs its interactor"])
    refused(spec, author, pkg(**{"problem.yaml": "name: X\ntype: multi-pass\n"}),
            "problem.yaml", ["\"multi-pass\" problems are not supported yet"])
    refused(spec, author, pkg(**{"problem.yaml": "name: X\ncolour: red\n"}), "problem.yaml",
            ["colour: unknown key"])
    refused(spec, author, pkg(**{"problem_statement/problem.en.md": None,
                                 "problem_statement/problem.en.pdf": "%PDF-1.4\n"}),
            "problem_statement/problem.en.pdf", ["PDF statement cannot be shown"])
    refused(spec, author, pkg(**{"data/secret/b.in": "a\0b\n"}), "data/secret/b.in",
            ["NUL byte"])
    refused(spec, author, pkg(**{"data/secret/Bad Group!/x.in": "1\n",
                                 "data/secret/Bad Group!/x.ans": "1\n"}),
            "data/secret/Bad Group!/x.in", ["group's name"])
    # A group's own flags the default validator does not know: refused
    # naming the group's file, in either file name and form.
    refused(spec, author, pkg(**{"data/secret/g1/testdata.yaml":
                                 "output_validator_flags: loose\n"}),
            "data/secret/g1/testdata.yaml",
            ["\"loose\" is not a flag of the default output validator"])
    refused(spec, author, pkg(**{"data/secret/g1/test_group.yaml":
                                 "output_validator_args: [float_tolerance]\n"}),
            "data/secret/g1/test_group.yaml", ["must be followed by a number"])
    # The same flags as the root's are the checker's: no test's own.
    same = "output_validator_flags: float_tolerance 1e-6\n"
    r = upload(spec, author, pkg(**{"data/testdata.yaml": same,
                                    "data/secret/g1/testdata.yaml": same}),
               check=0, dry_run="true")
    assert r.status == 200, r
    assert all("validator_flags" not in t for t in r.json["task"]["tests"]), r
    r = upload(spec, author, b"this is not a zip", check=0)
    assert r.status == 422 and "not a readable .zip file" in r.json["error"]["message"]
    r = upload(spec, author, make_zip(hello_files()), check=0, slug="Not A Slug")
    assert r.status == 422 and "must be 1-64 characters" in r.json["error"]["message"]


def test_path_traversal_links_and_zip_bombs_are_refused(spec, author):
    slug = contentkit.unique_slug("pkgevil")
    files = hello_files()
    refused(spec, author, make_zip(dict(files, **{"../escape.txt": "x"})), "../escape.txt",
            ["\"..\" path component"])
    refused(spec, author, make_zip(dict(files, **{"/etc/passwd": "x"})), "/etc/passwd",
            ["absolute path"])
    refused(spec, author, make_zip(files, top=slug, links=[("data/secret/l.in", "/etc/passwd")]),
            f"{slug}/data/secret/l.in", ["symbolic link"])
    # 2 MiB of zeros compresses to a few KiB: a sample's (and a statement's)
    # per-file limit says no — only hidden test data goes to blobs.
    bomb = dict(files, **{"data/sample/big.in": "0" * (2 << 20), "data/sample/big.ans": "0\n"})
    r = refused(spec, author, make_zip(bomb, top=slug), "data/sample/big.in",
                ["the limit for this file is 1 MiB"])
    bomb = dict(files, **{"problem_statement/problem.en.md": "x" * (2 << 20)})
    refused(spec, author, make_zip(bomb, top=slug), "problem_statement/problem.en.md",
            ["the limit for this file is"])
    # Five files of 220 MiB of zeros (a few hundred KiB zipped): past the
    # 1 GiB the whole package may unpack to, refused from the headers alone.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for path, content in files.items():
            z.writestr(f"{slug}/{path}", content)
        zeros = bytes(1 << 20)
        for i in range(5):
            with z.open(f"{slug}/attachments/f{i}.bin", "w", force_zip64=True) as f:
                for _ in range(220):
                    f.write(zeros)
    r = upload(spec, author, buf.getvalue(), check=0)
    assert r.status == 422 and "the limit is 1024 MiB" in r.json["error"]["message"], r
    # More tests than a task takes.
    many = dict(files, **{f"data/secret/m/{i:04d}.{ext}": "1\n" for i in range(2001)
                          for ext in ("in", "ans")})
    refused(spec, author, make_zip(many, top=slug), "data/", ["at most 2000 per task"])


# ---------------------------------------------------------------------------
# Test data at real size: the zip as a blob, large hidden data stored as blobs

MIB = 1024 * 1024
NTESTS = int(os.environ.get("DOJO_TEST_PACKAGE_TESTS", "1000"))
BIG_BYTES = 14 * MIB  # base64 text: the zip stays well over the 8 MiB body
ECHO_BYTES = 2 * MIB  # input and answer both blobs
MID_BYTES = 100 * 1024  # over the 64 KiB a file kept inline

# Counts a test's input, or (first line "echo") prints it back.
COUNT = ("import sys\nd = sys.stdin.buffer.read()\n"
         "if d.startswith(b'echo'):\n    sys.stdout.buffer.write(d)\n"
         "else:\n    print(len(d), d.count(b'\\n'))\n")
# The same, one off on the test whose data starts with LAST.
WRONG_LAST = COUNT.replace("print(len(d)", "print(len(d) + d.startswith(b'LAST')")


def counted(data):
    return "%d %d\n" % (len(data), data.count(b"\n"))


def sha(data):
    return hashlib.sha256(data).hexdigest()


def b64_lines(rng, n, head=b""):
    """`n` bytes: `head`, then lines of base64 of random bytes (barely compressible)."""
    out = bytearray(head)
    while len(out) < n:
        out += base64.b64encode(rng.randbytes(57)) + b"\n"
    return bytes(out[:n - 1]) + b"\n"


@functools.lru_cache(maxsize=1)
def large_package(ntests=NTESTS):
    """The zip of a package of `ntests` small hidden tests (inline), a few of
    100 KiB, one of 14 MiB and one whose answer is 2 MiB too (blobs), a
    sample, and its accepted and wrong submissions; and its data by test."""
    rng = random.Random(15)
    files = {
        "problem.yaml": "name: Count at scale\nlimits:\n  time_limit: 2\n  memory: 256\n"
                        "  output: 8\n",
        "problem_statement/problem.en.md": "Print the input's bytes and lines.\n",
        "data/sample/1.in": b"ab\ncd\n", "data/sample/1.ans": "6 2\n",
        "submissions/accepted/count.py": COUNT,
        "submissions/wrong_answer/off_by_one.py": WRONG_LAST,
    }
    data = {}
    for i in range(ntests):
        head = b"LAST\n" if i == ntests - 1 else b"test %d\n" % i
        data[f"secret.t{i:04d}"] = b64_lines(rng, rng.randint(20, 300), head)
    for i in range(3):
        data[f"secret.m{i}"] = b64_lines(rng, MID_BYTES, b"mid\n")
    data["secret.u-big"] = b64_lines(rng, BIG_BYTES, b"big\n")
    data["secret.u-echo"] = b64_lines(rng, ECHO_BYTES, b"echo\n")
    for name, d in data.items():
        stem = "data/secret/" + name[len("secret."):]
        files[stem + ".in"] = d
        files[stem + ".ans"] = d if name == "secret.u-echo" else counted(d)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for path, content in files.items():
            z.writestr(f"count-at-scale/{path}", content)
    return buf.getvalue(), data


def put_blob(client, data):
    return client.call("PUT", f"/api/v1/author/blobs/{sha(data)}", raw=data,
                       headers={"Content-Type": "application/octet-stream"}, timeout=300)


def test_a_package_of_1000_tests_and_a_14_mib_test_imports_as_a_blob_and_judges(
        gw, spec, author, learner, executor):
    zipped, data = large_package()
    assert len(zipped) > 8 * MIB
    slug = contentkit.unique_slug("pkgbig")
    # Too large for the request: the error says so and how to send it.
    status, body = raw_request(
        gw.addr, f"POST {IMPORT}?check=0 HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {author.bearer}\r\nContent-Type: application/zip\r\n"
                 f"Content-Length: {len(zipped)}\r\n\r\n")
    assert status == 413, body
    assert "over 8388608 bytes" in body and "/api/v1/author/blobs/" in body, body
    # A blob that was never uploaded (or is someone else's).
    r = upload(spec, author, b"", blob=sha(b"never uploaded " + slug.encode()), check=0)
    assert r.status == 404 and "upload it first" in r.json["error"]["message"], r
    r = upload(spec, author, b"", blob="not-a-hash", check=0)
    assert r.status == 400 and r.json["error"]["field"] == "blob", r
    # The zip as a blob, then the import naming it: the submissions run on
    # every test, and the task stores the large data as blobs.
    r = put_blob(author, zipped)
    assert r.status == 200 and r.json["complete"], r
    r = upload(spec, author, b"", timeout=900, blob=sha(zipped), slug=slug,
               file_name="count-at-scale.zip")
    assert r.status == 201, r
    verdicts = {x["name"]: (x["expected_verdict"], x["verdict"]) for x in r.json["results"]}
    assert verdicts == {"accepted/count.py": ("ac", "ac"),
                        "wrong_answer/off_by_one.py": ("wa", "wa")}, r.json["results"]
    tests = {t["name"]: t for t in r.json["task"]["tests"]}
    assert len(tests) == len(data) + 1
    big, echo = tests["secret.u-big"], tests["secret.u-echo"]
    assert big["input_sha256"] == sha(data["secret.u-big"]) and not big.get("input")
    assert big["expected"] == counted(data["secret.u-big"]) and "expected_sha256" not in big
    assert echo["input_sha256"] == echo["expected_sha256"] == sha(data["secret.u-echo"])
    assert tests["secret.m0"]["input_sha256"] == sha(data["secret.m0"])
    small = tests["secret.t0000"]
    assert small["input"] == data["secret.t0000"].decode() and "input_sha256" not in small
    # A learner's submission is judged on every test, the blobs streamed in.
    s = learner.post("/api/v1/submissions", {"task_slug": slug, "language": "python3",
                                             "code": COUNT})
    assert s.status == 202, s
    done = wait_finished(learner, s.json["id"], timeout=max(GRADE_TIMEOUT, 3 * NTESTS))
    res = done.json
    assert res["verdict"] == "ac", res
    assert len(res["tests"]) == len(data) + 1 and res["score"] == res["max_score"], res
    # The same package again: the same blobs, the same task.
    t0 = time.monotonic()
    r = upload(spec, author, b"", timeout=900, blob=sha(zipped), slug=slug, check=0)
    again_s = time.monotonic() - t0
    assert r.status == 200 and r.json["change"] == "unchanged", r
    # A figure for the report, not a check: reading this package against a
    # small one's, in the same run.
    t0 = time.monotonic()
    small_slug = contentkit.unique_slug("pkgsmall")
    r = upload(spec, author, make_zip(hello_files(), top=small_slug), check=0)
    small_s = time.monotonic() - t0
    assert r.status == 201, r
    print(f"\nBENCH package of {len(data)} hidden tests, {len(zipped) / MIB:.1f} MiB zipped: "
          f"import (unchanged, no check) {again_s:.2f} s; 4-test package {small_s:.3f} s; "
          f"ratio {again_s / small_s:.1f}x; learner SUBMIT on every test: verdict {res['verdict']}")


def test_the_cli_sends_a_package_over_8_mib_as_a_blob(gw, author, tmp_path):
    zipped, data = large_package()
    out = tmp_path / "count-at-scale.zip"
    out.write_bytes(zipped)
    slug = contentkit.unique_slug("pkgclibig")
    env = dict(os.environ, DOJO_URL=f"http://{gw.addr}", DOJO_TOKEN=author.bearer)
    r = subprocess.run([str(contentkit.REPO / "dojo"), "package", "import", str(out), "--slug",
                        slug, "--no-check"], env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{slug}: created" in r.stdout, r.stdout
    t = author.get(f"/api/v1/author/tasks/{slug}")
    assert t.status == 200, t
    names = {x["name"]: x for x in t.json["task"]["tests"]}
    assert names["secret.u-big"]["input_sha256"] == sha(data["secret.u-big"])


# ---------------------------------------------------------------------------
# Export and the round trip


def test_a_task_exported_as_a_package_reads_back_to_the_same_task(spec, author):
    slug = contentkit.unique_slug("pkgrt")
    doc = contentkit.task(
        slug, title="Round trip", difficulty="hard", points=77,
        hints=["First hint.", "Second hint."], editorial="The editorial.\n",
        checker={"kind": "default_validator", "case_sensitive": True, "rel_tol": 1e-4},
        limits={"cpu_ms": 1500, "memory_kib": 100000, "output_kib": 100},
        stop_at_first_failure=True,
        languages=[{"language": "python3", "starter_code": "print()\n"},
                   {"language": "cpp", "starter_code": "int main(){}\n"}],
        tests=[{"name": "ex", "input": "1 2\n", "expected": "3\n"},
               {"name": "g-a", "input": "3 4\n", "expected": "7\n", "hidden": True,
                "group": "grp", "weight": 5},
               {"name": "visible two", "input": "0 0\n", "expected": "0\n"},
               {"name": "zz", "input": "9 9\n", "expected": "18\n", "hidden": True}],
        wrong_solutions=[{"name": "difference", "language": "python3",
                          "code": "a, b = map(int, input().split())\nprint(a - b)\n",
                          "expected_verdict": "wa"},
                         {"name": "any failure", "language": "pypy3", "code": "print()\n"}])
    doc["tests"][2]["name"] = "visible-two"
    r = checked(spec, author, "POST", "/api/v1/author/tasks", {"task": doc})
    assert r.status == 201, r
    before = r.json
    r = author.get(f"/api/v1/author/tasks/{slug}/package")
    spec.check("GET", f"/api/v1/author/tasks/{slug}/package", r)
    assert r.status == 200 and r.header("Content-Type") == "application/zip"
    assert f'filename="{slug}.zip"' in r.header("Content-Disposition")
    names = zipfile.ZipFile(io.BytesIO(r.body)).namelist()
    for want in ("problem.yaml", "statement/problem.en.md", "solution/solution.en.md",
                 "data/sample/ex.in", "data/secret/grp/g-a.ans", "data/secret/zz.in",
                 "submissions/accepted/direct.py", "submissions/wrong_answer/difference.py",
                 "submissions/rejected/any_failure.py", "dojo.json", "data/testdata.yaml"):
        assert f"{slug}/{want}" in names, names
    # Read back (no runs needed: its submissions are the task's own).
    again = upload(spec, author, r.body, check=0)
    assert again.status == 200, again
    diff = {k: (before["task"].get(k), again.json["task"].get(k))
            for k in set(before["task"]) | set(again.json["task"])
            if before["task"].get(k) != again.json["task"].get(k)}
    assert diff == {}
    assert again.json["change"] == "unchanged", again
    assert again.json["content_hash"] == before["content_hash"]
    assert again.json["task"] == before["task"]
    # Exporting twice gives the same bytes.
    assert author.get(f"/api/v1/author/tasks/{slug}/package").body == r.body
    assert author.get("/api/v1/author/tasks/no-such-task-q/package").status == 404


# The blob of the export test (DOJO_TEST_EXPORT_MIB): the gateway's peak
# stays the same at 160 MiB (16 MiB over its RSS, 2026-12-04).
EXPORT_BYTES = int(os.environ.get("DOJO_TEST_EXPORT_MIB", "48")) * MIB


def test_a_task_with_blob_tests_exports_their_bytes_and_reads_back(stack, gw, spec, author):
    """Hidden tests whose data are blobs (one of 48 MiB of random bytes, one
    whose input and answer are the same 3 MiB blob) export with exactly their
    bytes: content writes the zip with the blobs and streams it, the gateway
    sends it on as it comes (its peak RSS grows far less than the package),
    the same task exports to the same bytes, and the package, over 8 MiB,
    imports back as a blob to the same task."""
    from test_gateway_testdata import proc_rss_kib, sanitized
    rng = random.Random(1515)
    big = rng.randbytes(EXPORT_BYTES)  # incompressible: the zip is as large
    echo = b64_lines(rng, 3 * MIB, b"echo\n")
    for data in (big, echo):
        r = put_blob(author, data)
        assert r.status == 200 and r.json["complete"], r
    slug = contentkit.unique_slug("pkgblob")
    doc = contentkit.task(slug, tests=[
        {"name": "ex", "input": "ab\ncd\n", "expected": "6 2\n"},
        {"name": "big", "hidden": True, "input_sha256": sha(big), "expected": counted(big)},
        {"name": "echo", "hidden": True, "group": "g", "input_sha256": sha(echo),
         "expected_sha256": sha(echo)}],
        reference_solutions=[{"name": "count", "language": "python3", "code": COUNT}],
        wrong_solutions=[])
    r = checked(spec, author, "POST", "/api/v1/author/tasks", {"task": doc})
    assert r.status == 201, r
    before = r.json
    gw_pid, content_pid = gw.proc.pid, stack["content"].proc.pid
    for pid in (gw_pid, content_pid):
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # VmHWM from here on
    rss0 = proc_rss_kib(gw_pid)["VmRSS"]
    content_rss0 = proc_rss_kib(content_pid)["VmRSS"]
    t0 = time.monotonic()
    r = author.get(f"/api/v1/author/tasks/{slug}/package", timeout=300)
    export_s = time.monotonic() - t0
    spec.check("GET", f"/api/v1/author/tasks/{slug}/package", r)
    peak = proc_rss_kib(gw_pid)["VmHWM"]
    content_peak = proc_rss_kib(content_pid)["VmHWM"]
    assert r.status == 200 and r.header("Content-Type") == "application/zip", r
    assert int(r.header("Content-Length")) == len(r.body)
    assert f'filename="{slug}.zip"' in r.header("Content-Disposition")
    z = zipfile.ZipFile(io.BytesIO(r.body))
    assert sha(z.read(f"{slug}/data/secret/big.in")) == sha(big)
    assert z.read(f"{slug}/data/secret/big.ans") == counted(big).encode()
    assert z.read(f"{slug}/data/secret/g/echo.in") == echo
    assert z.read(f"{slug}/data/secret/g/echo.ans") == echo
    assert len(r.body) > EXPORT_BYTES
    print(f"\nBENCH export of {len(r.body) / MIB:.1f} MiB with blob tests in {export_s:.1f} s: "
          f"gateway VmRSS "
          f"{rss0 / 1024:.0f} MiB before, VmHWM {peak / 1024:.0f} MiB during; content "
          f"{content_rss0 / 1024:.0f} MiB, {content_peak / 1024:.0f} MiB")
    if not sanitized(gw_pid):
        assert peak - rss0 < 24 * 1024, (rss0, peak)
        assert content_peak - content_rss0 < 32 * 1024, (content_rss0, content_peak)
    # A client that goes away after the first MiB: the download stops there
    # (counted as cut), and the next one is whole — the same task, the same
    # bytes.
    from test_gateway_workers import metric, wait_for
    sent0 = metric(gw, "dojo_gateway_downloads_total", '{result="sent"}')
    cut0 = metric(gw, "dojo_gateway_downloads_total", '{result="cut"}')
    host, port = gw.addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(f"GET /api/v1/author/tasks/{slug}/package HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {author.bearer}\r\n\r\n".encode())
        got = b""
        while len(got) < MIB:
            chunk = s.recv(65536)
            assert chunk, got[:200]
            got += chunk
        assert got.startswith(b"HTTP/1.1 200"), got[:200]
    wait_for(lambda: metric(gw, "dojo_gateway_downloads_total", '{result="cut"}') > cut0,
             "the abandoned download counted as cut", tries=1200)
    again = author.get(f"/api/v1/author/tasks/{slug}/package", timeout=300)
    assert again.status == 200 and sha(again.body) == sha(r.body)
    # (The call's end is counted just after its last byte went out.)
    wait_for(lambda: metric(gw, "dojo_gateway_downloads_total", '{result="sent"}') == sent0 + 1,
             "the whole download counted as sent", tries=1200)
    # Over 8 MiB: back in as a blob, to the same task.
    assert put_blob(author, r.body).json["complete"]
    back = upload(spec, author, b"", timeout=600, blob=sha(r.body), check=0)
    assert back.status == 200, back
    assert back.json["change"] == "unchanged", back
    assert back.json["content_hash"] == before["content_hash"]
    assert back.json["task"] == before["task"]


def test_only_authors_import_and_export(gw, spec, learner):
    r = learner.call("POST", IMPORT, raw=make_zip(hello_files()),
                     headers={"Content-Type": "application/zip"})
    assert r.status == 403, r
    r = learner.get(f"/api/v1/author/tasks/{gwkit.TASK_SLUG}/package")
    assert r.status == 403
    r = gwkit.Client(gw.addr).call("POST", IMPORT, raw=b"PK",
                                   headers={"Content-Type": "application/zip"})
    assert r.status == 401
    r = learner.call("POST", IMPORT, raw=b"PK", headers={"Content-Type": "text/plain"})
    assert r.status == 415 and "application/zip" in r.json["error"]["message"]


# ---------------------------------------------------------------------------
# Custom output validators and interactors (the package_validator checker)

VALIDATOR = """import sys
answer = open(sys.argv[2]).read().split()
got = sys.stdin.read().split()
with open(sys.argv[3] + "judgemessage.txt", "w") as f:
    f.write("compared %d tokens" % len(answer))
sys.exit(42 if [g.lower() for g in got] == [a.lower() for a in answer] else 43)
"""


def test_a_custom_output_validator_imports_as_a_package_validator(spec, author, executor):
    slug = contentkit.unique_slug("pkgcv")
    files = {
        "problem.yaml": "name: Shout\nvalidation: custom\nvalidator_flags: loud\n",
        "problem_statement/problem.en.md": "Print the word back.\n",
        "output_validators/cmp/cmp.py": VALIDATOR,
        "data/sample/1.in": "Hi\n", "data/sample/1.ans": "hi\n",
        "data/secret/2.in": "Zebra\n", "data/secret/2.ans": "zebra\n",
        "submissions/accepted/echo.py": "print(input().upper())\n",
        "submissions/wrong_answer/nope.py": "print('nope')\n",
    }
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 201, r
    c = r.json["task"]["checker"]
    assert c["kind"] == "package_validator" and c["language"] == "python3"
    assert c["flags"] == ["loud"] and [f["name"] for f in c["files"]] == ["cmp.py"]
    verdicts = {x["name"]: x["verdict"] for x in r.json["results"]}
    assert verdicts == {"accepted/echo.py": "ac", "wrong_answer/nope.py": "wa"}
    # Two validators, build scripts: refused naming the file.
    refused(spec, author, make_zip(dict(files, **{"output_validators/other/o.py": "pass\n"}),
                                   top=slug),
            "output_validators/other/o.py", ["one output validator"])
    refused(spec, author, make_zip(dict(files, **{"output_validators/cmp/build": "#!/bin/sh\n"}),
                                   top=slug),
            "output_validators/cmp/build", ["build and run scripts are not supported"])


# A validator whose flag "loud" wants the answer in capitals; without it,
# the answer as it is.
FLAG_VALIDATOR = """import sys
answer = open(sys.argv[2]).read().split()
got = sys.stdin.read().split()
loud = "loud" in sys.argv[4:]
with open(sys.argv[3] + "judgemessage.txt", "w") as f:
    f.write("flags: %s" % " ".join(sys.argv[4:]))
sys.exit(42 if got == [a.upper() if loud else a for a in answer] else 43)
"""


def test_a_groups_own_validator_flags_judge_its_tests(spec, author, executor):
    """Two groups with different flags, on the default validator and on a
    custom one: each package's accepted and wrong-answer submissions get the
    verdicts of their directories only if each group's tests are checked with
    that group's flags; the export reads back unchanged."""
    # Default validator: "loose" has a tolerance, "exact" none (numbers are
    # text). 0.3333 passes only with the tolerance; 0.33333 too, but its
    # 1.00000 is not the exact group's 1.0000.
    slug = contentkit.unique_slug("pkggf")
    files = {
        "problem.yaml": "name: Thirds\n",
        "problem_statement/problem.en.md": "Print x / 3.\n",
        "data/sample/1.in": "6\n", "data/sample/1.ans": "2.0000\n",
        "data/secret/loose/testdata.yaml": "output_validator_flags: float_tolerance 1e-3\n",
        "data/secret/loose/a.in": "1\n", "data/secret/loose/a.ans": "0.333333333\n",
        "data/secret/exact/b.in": "3\n", "data/secret/exact/b.ans": "1.0000\n",
        "submissions/accepted/four.py": "print(f'{int(input()) / 3:.4f}')\n",
        "submissions/wrong_answer/five.py": "print(f'{int(input()) / 3:.5f}')\n",
    }
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 201, r
    tests = {t["name"]: t for t in r.json["task"]["tests"]}
    assert tests["secret.loose.a"]["validator_flags"] == ["float_tolerance", "1e-3"]
    assert "validator_flags" not in tests["secret.exact.b"]
    assert r.json["task"]["checker"] == {"kind": "default_validator"}
    verdicts = {x["name"]: x["verdict"] for x in r.json["results"]}
    assert verdicts == {"accepted/four.py": "ac", "wrong_answer/five.py": "wa"}, r.json
    before = r.json
    pkg = author.get(f"/api/v1/author/tasks/{slug}/package")
    assert pkg.status == 200, pkg
    z = zipfile.ZipFile(io.BytesIO(pkg.body))
    assert z.read(f"{slug}/data/secret/loose/testdata.yaml") == \
        b'output_validator_flags: "float_tolerance 1e-3"\n'
    assert f"{slug}/data/secret/exact/testdata.yaml" not in z.namelist()
    again = upload(spec, author, pkg.body, check=0)
    assert again.status == 200 and again.json["change"] == "unchanged", again
    assert again.json["task"] == before["task"]

    # A custom validator: "g1" passes "loud", "g2" nothing, so printing the
    # input back (HI, zebra) is accepted and lower-casing it is wrong.
    slug = contentkit.unique_slug("pkggv")
    files = {
        "problem.yaml": "name: Loud\nvalidation: custom\n",
        "problem_statement/problem.en.md": "Print the word back.\n",
        "output_validators/cmp/cmp.py": FLAG_VALIDATOR,
        "data/sample/1.in": "same\n", "data/sample/1.ans": "same\n",
        "data/secret/g1/test_group.yaml": "output_validator_args: [loud]\n",
        "data/secret/g1/a.in": "HI\n", "data/secret/g1/a.ans": "hi\n",
        "data/secret/g2/b.in": "zebra\n", "data/secret/g2/b.ans": "zebra\n",
        "submissions/accepted/echo.py": "print(input())\n",
        "submissions/wrong_answer/lower.py": "print(input().lower())\n",
    }
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 201, r
    tests = {t["name"]: t for t in r.json["task"]["tests"]}
    assert tests["secret.g1.a"]["validator_flags"] == ["loud"]
    assert "validator_flags" not in tests["secret.g2.b"]
    assert "flags" not in r.json["task"]["checker"]
    verdicts = {x["name"]: x["verdict"] for x in r.json["results"]}
    assert verdicts == {"accepted/echo.py": "ac", "wrong_answer/lower.py": "wa"}, r.json
    before = r.json
    pkg = author.get(f"/api/v1/author/tasks/{slug}/package")
    again = upload(spec, author, pkg.body, check=0)
    assert again.status == 200 and again.json["change"] == "unchanged", again
    assert again.json["task"] == before["task"]


def test_an_interactors_group_gets_its_own_flags(spec, author, executor):
    """The interactor of group g1 is given "triple" and wants 3n, g2's
    nothing and wants 2n: a program that always doubles fails g1 and one that
    always triples fails g2; the one that multiplies by what the interactor
    says passes both."""
    slug = contentkit.unique_slug("pkgif")
    interactor = ("import sys\nn = int(open(sys.argv[1]).read())\n"
                  "m = 3 if 'triple' in sys.argv[4:] else 2\n"
                  "print(n, m, flush=True)\n"
                  "sys.exit(42 if input().strip() == str(n * m) else 43)\n")
    files = {
        "problem.yaml": "problem_format_version: 2023-07-draft\nname: Times\n"
                        "type: [pass-fail, interactive]\nuuid: x\n",
        "statement/problem.en.md": "Read n and m, print n times m.\n",
        "output_validator/interactor.py": interactor,
        "data/secret/g1/test_group.yaml": "output_validator_args: [triple]\n",
        "data/secret/g1/1.in": "7\n", "data/secret/g1/1.ans": "\n",
        "data/secret/g2/2.in": "5\n", "data/secret/g2/2.ans": "\n",
        "submissions/accepted/times.py": "n, m = map(int, input().split())\nprint(n * m)\n",
        "submissions/wrong_answer/double.py": "n, m = map(int, input().split())\nprint(2 * n)\n",
        "submissions/wrong_answer/triple.py": "n, m = map(int, input().split())\nprint(3 * n)\n",
    }
    r = upload(spec, author, make_zip(files, top=slug))
    assert r.status == 201, r
    tests = {t["name"]: t for t in r.json["task"]["tests"]}
    assert tests["secret.g1.1"]["validator_flags"] == ["triple"]
    assert "validator_flags" not in tests["secret.g2.2"]
    verdicts = {x["name"]: x["verdict"] for x in r.json["results"]}
    assert verdicts == {"accepted/times.py": "ac", "wrong_answer/double.py": "wa",
                        "wrong_answer/triple.py": "wa"}, r.json


def test_the_interactive_task_round_trips_as_a_package(spec, author):
    slug = contentkit.unique_slug("pkgint")
    interactor = ("import sys\nn = int(open(sys.argv[1]).read())\nprint(n, flush=True)\n"
                  "sys.exit(42 if input().strip() == str(n * 2) else 43)\n")
    files = {
        "problem.yaml": "problem_format_version: 2023-07-draft\nname: Double\n"
                        "type: [pass-fail, interactive]\nuuid: x\n",
        "statement/problem.en.md": "Read n, print 2n.\n",
        "output_validator/interactor.py": interactor,
        "data/secret/1.in": "21\n", "data/secret/1.ans": "\n",
        "submissions/accepted/double.py": "print(int(input()) * 2)\n",
    }
    r = upload(spec, author, make_zip(files, top=slug), check=0)
    assert r.status == 201, r
    before = r.json
    assert before["task"]["checker"]["interactive"] is True
    pkg = author.get(f"/api/v1/author/tasks/{slug}/package")
    names = zipfile.ZipFile(io.BytesIO(pkg.body)).namelist()
    assert f"{slug}/output_validator/interactor.py" in names, names
    again = upload(spec, author, pkg.body, check=0)
    assert again.status == 200 and again.json["change"] == "unchanged", again
    assert again.json["task"] == before["task"]


def test_the_cli_exports_and_imports_a_package(gw, author, tmp_path):
    import os
    import subprocess
    repo = contentkit.REPO
    env = dict(os.environ, DOJO_URL=f"http://{gw.addr}", DOJO_TOKEN=author.bearer)
    out = tmp_path / "sum.zip"
    r = subprocess.run([str(repo / "dojo"), "package", "export", gwkit.TASK_SLUG, str(out)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert zipfile.is_zipfile(out)
    slug = contentkit.unique_slug("pkgcli")
    r = subprocess.run([str(repo / "dojo"), "package", "import", str(out), "--slug", slug,
                        "--no-check"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{slug}: created" in r.stdout and "submissions not run" in r.stdout
    bad = tmp_path / "bad.zip"
    bad.write_bytes(make_zip(hello_files(**{"data/secret/b.ans": None})))
    r = subprocess.run([str(repo / "dojo"), "package", "import", str(bad), "--no-check"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "error: data/secret/b.in: has no answer file" in r.stdout
