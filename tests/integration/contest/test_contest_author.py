"""Contests as data through the gateway: an author creates a contest from its
file's JSON, changes it (optimistic versions), gets every problem of a bad
definition at once (422, nothing stored), and exports the file back; learners
may not. Every answer against docs/openapi.yaml."""
import json

import pytest

import contestkit as ck
import gwkit

SPEC = gwkit.Spec()
PATH = "/api/v1/author/contests/gw-made"


def call(c, method, path, body=None):
    r = c.call(method, path, body)
    SPEC.check(method, path, r)
    return r


@pytest.fixture(scope="module")
def author(cgw, auth):
    c, _, acct = gwkit.register(cgw.addr, session="token")
    assert auth.run_cli("set-role", acct["username"], "author").returncode == 0
    login = gwkit.Client(cgw.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"], "session": "token"})
    return gwkit.Client(cgw.addr, bearer=login.json["access_token"])


def doc(**kw):
    d = ck.contest_doc("gw-made", start="2027-01-10T10:00:00Z", duration="3:00:00",
                       registration="open",
                       problems=[{"label": "A", "task_slug": "sim-a"},
                                 {"label": "B", "task_slug": "sim-b"}])
    d.update(kw)
    return d


def test_an_author_creates_changes_and_exports_a_contest(cgw, author):
    learner, _, _ = gwkit.register(cgw.addr)
    r = call(learner, "PUT", PATH, {"contest": doc(), "expected_version": 0})
    assert r.status == 403, r
    r = call(author, "PUT", PATH, {"contest": doc(), "dry_run": True})
    assert r.status == 200 and r.json["change"] == "created", r
    assert call(author, "GET", "/api/v1/contests/gw-made").status == 404, "a dry run stores nothing"
    r = call(author, "PUT", PATH, {"contest": doc(), "expected_version": 0})
    assert r.status == 201 and r.json["change"] == "created", r
    assert r.json["contest"]["version"] == 1
    page = call(gwkit.Client(cgw.addr), "GET", "/api/v1/contests/gw-made").json
    assert page["title"] == doc()["title"] and page["registration"] == "open"
    r = call(author, "PUT", PATH, {"contest": doc(), "expected_version": 0})
    assert r.status == 409 and r.json["error"]["code"] == "already_exists", r
    r = call(author, "PUT", PATH, {"contest": doc(title="Renamed"), "expected_version": 1})
    assert r.status == 200 and r.json["change"] == "new_version", r
    assert r.json["contest"]["version"] == 2
    r = call(author, "PUT", PATH, {"contest": doc(title="Stale"), "expected_version": 1})
    assert r.status == 409 and r.json["error"]["code"] == "aborted", r

    bad = doc(penalty_minutes=500, freeze_minutes=-5)
    r = call(author, "PUT", PATH, {"contest": bad, "expected_version": 2})
    assert r.status == 422 and r.json["change"] == "rejected", r
    paths = {e["path"] for e in r.json["errors"]}
    assert len(paths) >= 2, r.json["errors"]
    assert call(gwkit.Client(cgw.addr), "GET", "/api/v1/contests/gw-made").json["title"] == "Renamed"

    r = call(author, "PUT", PATH, {"contest": doc(slug="other")})
    assert r.status == 400 and r.json["error"]["field"] == "contest", r

    r = call(author, "GET", f"{PATH}/export")
    assert r.status == 200, r
    assert 'filename="gw-made.json"' in r.header("Content-Disposition")
    assert r.header("X-Contest-Version") == "2", "the version an edit names"
    exported = json.loads(r.body)
    assert exported["slug"] == "gw-made" and exported["title"] == "Renamed"
    assert [p["task_slug"] for p in exported["problems"]] == ["sim-a", "sim-b"]
    # Exported, put back: nothing changes.
    r = call(author, "PUT", PATH, {"contest": exported, "expected_version": 2})
    assert r.status == 200 and r.json["change"] == "unchanged", r
    assert call(author, "GET", "/api/v1/author/contests/nope/export").status == 404


def test_a_problem_naming_a_missing_or_archived_task_is_refused_naming_the_problem(cgw, author):
    path = "/api/v1/author/contests/gw-bad-tasks"
    problems = [{"label": "A", "task_slug": "sim-a"}, {"label": "B", "task_slug": "no-such-task"}]
    r = call(author, "PUT", path, {"contest": doc(slug="gw-bad-tasks", problems=problems)})
    assert r.status == 422 and r.json["change"] == "rejected", r
    assert [(e["path"], e["message"]) for e in r.json["errors"]] == [
        ("$.problems[1].task_slug", 'problem B: no task "no-such-task"')], r.json
    assert r.json["error"]["field"] == "$.problems[1].task_slug"
    assert call(gwkit.Client(cgw.addr), "GET", "/api/v1/contests/gw-bad-tasks").status == 404

    # An archived task is refused too (restoring it is the author's choice).
    task = ck.task_doc("gw-archived-task", "Archived one")
    r = author.post("/api/v1/author/tasks", {"task": task})
    assert r.status == 201, r
    r = author.post("/api/v1/author/tasks/gw-archived-task/archive", {})
    assert r.status == 200, r
    problems = [{"label": "A", "task_slug": "gw-archived-task"}]
    r = call(author, "PUT", path, {"contest": doc(slug="gw-bad-tasks", problems=problems)})
    assert r.status == 422, r
    assert [(e["path"], e["message"]) for e in r.json["errors"]] == [
        ("$.problems[0].task_slug", 'problem A: task "gw-archived-task" is archived (restore it first)')]
    r = author.post("/api/v1/author/tasks/gw-archived-task/archive", {"restore": True})
    assert r.status == 200, r
    r = call(author, "PUT", path, {"contest": doc(slug="gw-bad-tasks", problems=problems),
                                   "dry_run": True})
    assert r.status == 200 and r.json["change"] == "created", r
