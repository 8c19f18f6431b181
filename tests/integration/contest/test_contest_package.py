"""CLICS contest packages through the author API: a package written as
another system writes one (contest.yaml with a "+01" start and the API's
relative times, problems.yaml out of ordinal order, organizations, groups,
teams, accounts) is imported into a Dojo contest and its teams; exported
back, the package holds the same contest and teams, and importing the
export changes nothing (teams matched by name, no duplicates); malformed
packages and missing tasks are refused naming the file or the problem; only
authors. Every answer against docs/openapi.yaml."""
import io
import json
import zipfile

import pytest
import yaml

import gwkit

SPEC = gwkit.Spec()
SLUG = "gw-pkg"
PATH = f"/api/v1/author/contests/{SLUG}/package"
ZIP = {"Content-Type": "application/zip"}

CONTEST_YAML = """\
id: wf-like
name: Package round
formal_name: The package round of Dojo's tests
start_time: 2027-06-25T10:00:00+01
duration: "5:00:00"
scoreboard_freeze_duration: "1:00:00.000"
scoreboard_type: pass-fail
penalty_time: 15
"""

PROBLEMS_YAML = """\
- id: sim-b
  label: B
  name: Whatever the other system called it
  ordinal: 2
  color: gray
  rgb: '#808080'
  time_limit: 3.5
  test_data_count: 15
- id: sim-a
  label: A
  ordinal: 1
  rgb: '#00f'
"""

ORGS = [{"id": "kth", "name": "KTH", "formal_name": "KTH Royal Institute of Technology",
         "country": "SWE"},
        {"id": "baylor", "name": "Baylor"}]
GROUPS = [{"id": "site-a", "name": "Site A", "type": "site"}]
TEAMS = [{"id": "45", "label": "45", "name": "Pkg Lions", "organization_id": "kth",
          "group_ids": ["site-a"]},
         {"id": "46", "name": "Pkg Jury team", "organization_id": "baylor", "group_ids": [],
          "hidden": True}]
ACCOUNTS_YAML = """\
- id: team45
  username: team45
  password: not-imported
  type: team
  team_id: '45'
"""


def make_zip(files, top=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(f"{top}/{name}" if top else name, data)
    return buf.getvalue()


def package(**override):
    files = {"contest.yaml": CONTEST_YAML, "problems.yaml": PROBLEMS_YAML,
             "organizations.json": json.dumps(ORGS), "groups.json": json.dumps(GROUPS),
             "teams.json": json.dumps(TEAMS), "accounts.yaml": ACCOUNTS_YAML}
    files.update(override)
    return make_zip({k: v for k, v in files.items() if v is not None}, top="wf-like")


def call(c, method, path, raw=None, headers=None):
    r = c.call(method, path, raw=raw, headers=headers)
    SPEC.check(method, path, r)
    return r


def unzip(body):
    z = zipfile.ZipFile(io.BytesIO(body))
    names = z.namelist()
    top = names[0].split("/")[0]
    assert all(n.startswith(top + "/") for n in names), names
    return {n[len(top) + 1:]: z.read(n).decode() for n in names}


@pytest.fixture(scope="module")
def author(cgw, auth):
    c, _, acct = gwkit.register(cgw.addr, session="token")
    assert auth.run_cli("set-role", acct["username"], "author").returncode == 0
    login = gwkit.Client(cgw.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"], "session": "token"})
    return gwkit.Client(cgw.addr, bearer=login.json["access_token"])


def teams_of(author):
    files = unzip(call(author, "GET", PATH).body)
    return {t["name"]: t for t in json.loads(files["teams.json"])}


def test_a_clics_package_round_trips_through_a_dojo_contest(cgw, author):
    r = call(author, "PUT", PATH + "?dry_run=true", raw=package(), headers=ZIP)
    assert r.status == 200 and r.json["change"] == "created", r
    assert call(author, "GET", PATH).status == 404, "a dry run stores nothing"

    r = call(author, "PUT", PATH, raw=package(), headers=ZIP)
    assert r.status == 201 and r.json["change"] == "created", r
    warned = {w["path"] for w in r.json["warnings"]}
    assert {"contest.yaml", "accounts.yaml"} <= warned, r.json["warnings"]
    assert [(t["package_id"], t["change"]) for t in r.json["teams"]] == [
        ("45", "created"), ("46", "created")]
    made = {t["name"]: t["id"] for t in r.json["teams"]}

    exported = call(author, "GET", PATH)
    assert exported.status == 200 and exported.header("Content-Type") == "application/zip"
    assert exported.header("X-Contest-Version") == "1"
    assert f'filename="{SLUG}.zip"' in exported.header("Content-Disposition")
    files = unzip(exported.body)
    assert {"contest.yaml", "problems.yaml", "organizations.json", "groups.json", "teams.json",
            "dojo.json"} <= set(files)
    contest = yaml.safe_load(files["contest.yaml"])
    assert contest == {"id": SLUG, "name": "Package round",
                       "formal_name": "The package round of Dojo's tests",
                       "start_time": "2027-06-25T09:00:00Z", "duration": "5:00:00",
                       "scoreboard_freeze_duration": "1:00:00", "scoreboard_type": "pass-fail",
                       "penalty_time": 15}
    problems = yaml.safe_load(files["problems.yaml"])
    assert [(p["id"], p["label"], p["ordinal"], p.get("rgb"), p.get("color")) for p in problems] == [
        ("sim-a", "A", 1, "#00f", None), ("sim-b", "B", 2, "#808080", "gray")]
    assert problems[0]["name"] == "Problem A", "the name is the task's title"
    assert json.loads(files["organizations.json"])[0] == ORGS[0]
    assert json.loads(files["groups.json"]) == GROUPS
    teams = {t["name"]: t for t in json.loads(files["teams.json"])}
    assert {n: (t["id"], t["organization_id"], t["group_ids"], t["hidden"])
            for n, t in teams.items()} == {
        "Pkg Lions": (made["Pkg Lions"], "kth", ["site-a"], False),
        "Pkg Jury team": (made["Pkg Jury team"], "baylor", [], True)}
    # The contest file beside them, as the author API exports it.
    side = json.loads(files["dojo.json"])["contest"]
    assert side == json.loads(call(author, "GET",
                                   f"/api/v1/author/contests/{SLUG}/export").body)
    assert side["registration"] == "open" and side["freeze_minutes"] == 60

    # The export read back changes nothing, and makes no second team.
    r = call(author, "PUT", PATH + "?expected_version=1", raw=exported.body, headers=ZIP)
    assert r.status == 200 and r.json["change"] == "unchanged", r
    assert [(t["id"], t["change"]) for t in r.json["teams"]] == sorted(
        [(made[n], "updated") for n in made], key=lambda x: int(x[0]))
    assert teams_of(author).keys() == made.keys()
    assert unzip(call(author, "GET", PATH).body) == files

    # What CLICS cannot say survives an edited contest.yaml: dojo.json keeps it.
    edited = dict(files, **{"contest.yaml": files["contest.yaml"].replace(
        '"Package round"', '"Renamed round"')})
    r = call(author, "PUT", PATH + "?expected_version=1", raw=make_zip(edited, top=SLUG),
             headers=ZIP)
    assert r.status == 200 and r.json["change"] == "new_version", r
    again = json.loads(call(author, "GET", f"/api/v1/author/contests/{SLUG}/export").body)
    assert again == dict(side, title="Renamed round")


def test_malformed_packages_and_missing_tasks_are_refused_naming_the_file(cgw, author):
    path = "/api/v1/author/contests/gw-pkg-bad/package"
    cases = [
        (package(**{"contest.yaml": None}), "contest.yaml", "no contest.yaml"),
        (package(**{"problems.yaml": "- id: [unclosed"}), "problems.yaml", ""),
        (package(**{"contest.yaml": CONTEST_YAML.replace("pass-fail", "golf")}), "contest.yaml",
         "scoreboard_type"),
        (package(**{"teams.json": json.dumps([{"id": "1"}])}), "teams.json[0].name", "name"),
        (b"not a zip at all", "", "not a readable .zip"),
    ]
    for body, where, words in cases:
        r = call(author, "PUT", path, raw=body, headers=ZIP)
        assert r.status == 422 and r.json["error"]["code"] == "invalid_package", r
        assert r.json["errors"][0]["path"] == where and words in r.json["errors"][0]["message"], r
    # A problem naming no task is the contest's problem, named as PUT names it.
    r = call(author, "PUT", path, raw=package(**{"problems.yaml": "- id: no-such-task\n  label: A\n"}),
             headers=ZIP)
    assert r.status == 422 and r.json["change"] == "rejected", r
    assert [(e["path"], e["message"]) for e in r.json["errors"]] == [
        ("$.problems[0].task_slug", 'problem A: no task "no-such-task"')]
    assert call(author, "GET", path).status == 404


def test_only_authors_import_and_export_packages(cgw, author):
    learner, _, _ = gwkit.register(cgw.addr)
    assert call(learner, "PUT", PATH, raw=package(), headers=ZIP).status == 403
    assert call(learner, "GET", PATH).status == 403
    assert call(gwkit.Client(cgw.addr), "GET", PATH).status == 401
    r = learner.call("PUT", PATH, raw=package(), headers={"Content-Type": "text/plain"})
    assert r.status == 415
