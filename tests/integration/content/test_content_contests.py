"""Contest definitions in the content service: contest files loaded with the
tasks (a contest naming an unknown task is rejected), public reads without
the invitation hash, the author's PutContest (versions, optimistic
concurrency, invitation codes stored as their hash, problems reported per
field), export round trips, and contest-only tasks hidden from learners
until the contest starts (the service's clock from DOJO_CLOCK_FILE)."""
import hashlib
import json
from pathlib import Path

import grpc

import contentkit
from contentkit import cpb, expect_status

Status = grpc.StatusCode

START = "2026-05-01T09:00:00Z"
START_S = 1777626000  # START in unix seconds


def contest(slug="spring-cup", **changes):
    doc = {"slug": slug, "title": "Spring cup", "start": START, "duration": "2:00:00",
           "freeze_minutes": 30, "problems": [{"label": "A", "task_slug": "visible-one"},
                                              {"label": "B", "task_slug": "secret-one"}]}
    doc.update(changes)
    return doc


def write_contest(folder, doc):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{doc['slug']}.json").write_text(json.dumps(doc, indent=2) + "\n")


def set_clock(path, unix_s):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(f"{unix_s}\n")
    tmp.replace(path)


def listed(c, token, **kw):
    return sorted(t.slug for t in c.client.call("ListTasks", cpb.ListTasksRequest(**kw),
                                                token=token).tasks)


def test_contest_files_load_with_their_tasks_and_read_publicly(
        start_content, tasks_dir, content_env, tokens):
    contentkit.write_task(tasks_dir, contentkit.task("visible-one"))
    contentkit.write_task(tasks_dir, contentkit.task("secret-one"))
    folder = Path(content_env["DOJO_CONTENT_DIR"]) / "contests"
    code_hash = hashlib.sha256(b"open sesame").hexdigest()
    write_contest(folder, contest(registration="invite", invite_code_sha256=code_hash))
    write_contest(folder, contest("broken", problems=[{"label": "A", "task_slug": "nowhere"}]))
    c = start_content("contests")
    log = c.log_text()
    assert 'msg="contest file rejected"' in log and 'path="$.problems[0].task_slug"' in log
    # Anyone may read contests, without the invitation hash.
    got = c.client.call("GetContest", cpb.GetContestRequest(slug="spring-cup")).contest
    assert got.title == "Spring cup" and got.version == 1 and got.duration_s == 7200
    assert got.freeze_minutes == 30 and got.start.unix_micros == START_S * 1_000_000
    assert [p.label for p in got.problems] == ["A", "B"]
    assert got.problems[0].name == contentkit.BASE_TASK["title"]
    assert got.registration == cpb.REGISTRATION_INVITE and got.invite_code_sha256 == ""
    assert got.scoring == cpb.SCORING_KIND_ICPC and got.penalty_minutes == 20
    seen = c.client.call("GetContest", cpb.GetContestRequest(slug="spring-cup"),
                         token=tokens["author"]).contest
    assert seen.invite_code_sha256 == code_hash
    slugs = [x.slug for x in c.client.call("ListContests", cpb.ListContestsRequest()).contests]
    assert slugs == ["spring-cup"]
    expect_status(Status.NOT_FOUND, c.client.call, "GetContest",
                  cpb.GetContestRequest(slug="broken"))
    c.stop()
    # Unchanged files change nothing on a restart.
    c = start_content("again")
    assert c.client.call("GetContest", cpb.GetContestRequest(slug="spring-cup")).contest.version == 1


def test_authors_put_contests_with_versions_and_hashed_invitation_codes(
        start_content, tasks_dir, tokens):
    contentkit.write_task(tasks_dir, contentkit.task("visible-one"))
    contentkit.write_task(tasks_dir, contentkit.task("secret-one"))
    c = start_content("put")
    doc = contest("autumn", registration="invite")
    req = cpb.PutContestRequest(input=cpb.ContestInput(json=json.dumps(doc)),
                                invite_code="let-me-in")
    expect_status(Status.PERMISSION_DENIED, c.client.call, "PutContest", req,
                  token=tokens["learner"])
    r = c.client.call("PutContest", req, token=tokens["author"])
    assert r.change == cpb.TASK_CHANGE_CREATED and not r.errors
    assert r.contest.invite_code_sha256 == hashlib.sha256(b"let-me-in").hexdigest()
    # The code itself is stored nowhere: export carries the hash.
    exported = c.client.call("ExportContest", cpb.ExportContestRequest(slug="autumn"),
                             token=tokens["author"])
    assert exported.file_name == "autumn.json" and "let-me-in" not in exported.json
    assert json.loads(exported.json)["invite_code_sha256"] == r.contest.invite_code_sha256
    # Creating again: ALREADY_EXISTS; a stale version: ABORTED.
    expect_status(Status.ALREADY_EXISTS, c.client.call, "PutContest", req, token=tokens["author"])
    doc2 = json.loads(exported.json)
    doc2["title"] = "Autumn cup"
    up = cpb.PutContestRequest(input=cpb.ContestInput(json=json.dumps(doc2)), expected_version=1)
    r2 = c.client.call("PutContest", up, token=tokens["author"])
    assert r2.change == cpb.TASK_CHANGE_NEW_VERSION and r2.contest.version == 2
    expect_status(Status.ABORTED, c.client.call, "PutContest", up, token=tokens["author"])
    # The exported text loads back unchanged.
    same = cpb.PutContestRequest(input=cpb.ContestInput(json=c.client.call(
        "ExportContest", cpb.ExportContestRequest(slug="autumn"), token=tokens["author"]).json),
        expected_version=2)
    assert c.client.call("PutContest", same, token=tokens["author"]).change == \
        cpb.TASK_CHANGE_UNCHANGED
    # Problems come back per field; nothing is written.
    bad = contest("winter", freeze_minutes=500, problems=[{"label": "A", "task_slug": "nope"}])
    rb = c.client.call("PutContest", cpb.PutContestRequest(
        input=cpb.ContestInput(json=json.dumps(bad))), token=tokens["author"])
    assert rb.change == cpb.TASK_CHANGE_REJECTED
    assert [(e.path, e.message) for e in rb.errors] == [
        ("$.freeze_minutes", "must not exceed the duration")]
    rb = c.client.call("PutContest", cpb.PutContestRequest(
        input=cpb.ContestInput(json=json.dumps(contest("winter", problems=[
            {"label": "A", "task_slug": "nope"}])))), token=tokens["author"])
    assert [(e.path, e.message) for e in rb.errors] == [
        ("$.problems[0].task_slug", 'problem A: no task "nope"')]
    expect_status(Status.NOT_FOUND, c.client.call, "GetContest", cpb.GetContestRequest(slug="winter"))
    expect_status(Status.INVALID_ARGUMENT, c.client.call, "PutContest", cpb.PutContestRequest(
        input=cpb.ContestInput(json=json.dumps(doc)), invite_code="abc"), token=tokens["author"])


def test_contest_only_tasks_stay_hidden_from_learners_until_the_start(
        start_content, tasks_dir, content_env, tokens, tmp_path):
    contentkit.write_task(tasks_dir, contentkit.task("visible-one"))
    contentkit.write_task(tasks_dir, contentkit.task("secret-one"))
    contentkit.write_task(tasks_dir, contentkit.task("elsewhere"))
    write_contest(Path(content_env["DOJO_CONTENT_DIR"]) / "contests",
                  contest(hide_tasks_until_start=True))
    clock = tmp_path / "clock"
    set_clock(clock, START_S - 60)
    c = start_content("hidden", DOJO_CLOCK_FILE=str(clock))
    assert listed(c, tokens["learner"]) == ["elsewhere"]
    assert listed(c, tokens["author"], include_hidden=True) == [
        "elsewhere", "secret-one", "visible-one"]
    expect_status(Status.PERMISSION_DENIED, c.client.call, "ListTasks",
                  cpb.ListTasksRequest(include_hidden=True), token=tokens["learner"])
    # Not even a service sees them without asking (the gateway's shared cache).
    expect_status(Status.NOT_FOUND, c.client.call, "GetTask",
                  cpb.GetTaskRequest(slug="secret-one"), service=True)
    expect_status(Status.NOT_FOUND, c.client.call, "GetTask",
                  cpb.GetTaskRequest(slug="secret-one"), token=tokens["learner"])
    assert c.client.call("GetTask", cpb.GetTaskRequest(slug="secret-one", include_hidden=True),
                         service=True).task.slug == "secret-one"
    # Several at once (the CLICS problem set): in the order asked, each once,
    # unknown and (unless asked for) hidden ones left out.
    ask = ["visible-one", "nope", "secret-one", "elsewhere", "visible-one", "Not A Slug"]
    assert [t.slug for t in c.client.call("GetTasks", cpb.GetTasksRequest(slugs=ask),
                                          service=True).tasks] == ["elsewhere"]
    both = c.client.call("GetTasks", cpb.GetTasksRequest(slugs=ask, include_hidden=True),
                         service=True).tasks
    assert [t.slug for t in both] == ["visible-one", "secret-one", "elsewhere"]
    assert both[1] == c.client.call("GetTask", cpb.GetTaskRequest(
        slug="secret-one", include_hidden=True), service=True).task
    expect_status(Status.PERMISSION_DENIED, c.client.call, "GetTasks",
                  cpb.GetTasksRequest(slugs=ask, include_hidden=True), token=tokens["learner"])
    for slugs in ([], [f"t{i}" for i in range(101)]):
        expect_status(Status.INVALID_ARGUMENT, c.client.call, "GetTasks",
                      cpb.GetTasksRequest(slugs=slugs), service=True)
    # Judge bundles are not affected (a practice submission may predate the contest).
    assert c.client.call("GetJudgeBundle", cpb.GetJudgeBundleRequest(slug="secret-one"),
                         service=True).bundle.slug == "secret-one"
    set_clock(clock, START_S)
    assert listed(c, tokens["learner"]) == ["elsewhere", "secret-one", "visible-one"]
    assert c.client.call("GetTask", cpb.GetTaskRequest(slug="secret-one"),
                         token=tokens["learner"]).task.slug == "secret-one"


def test_test_groups_travel_to_the_judge_bundle(start_content, tasks_dir, tokens):
    t = contentkit.task("grouped")
    t["tests"][2]["group"] = "big"
    t["tests"][3]["group"] = "big"
    contentkit.write_task(tasks_dir, t)
    contentkit.write_task(tasks_dir, contentkit.task("plain"))
    c = start_content("groups")
    b = c.client.call("GetJudgeBundle", cpb.GetJudgeBundleRequest(slug="grouped"),
                      service=True).bundle
    assert [x.group for x in b.tests] == ["", "", "big", "big"]
    # A task without groups keeps the hash it had before groups existed.
    plain = c.client.call("GetTask", cpb.GetTaskRequest(slug="plain"), token=tokens["learner"]).task
    bad = contentkit.task("badgroup")
    bad["tests"][0]["group"] = "Big Group"
    r = c.client.call("ValidateTask", cpb.ValidateTaskRequest(
        input=cpb.TaskInput(json=json.dumps(bad))), token=tokens["author"])
    assert [(e.path, e.message) for e in r.errors] == [
        ("$.tests[0].group", "must be 1-32 characters of [a-z0-9-]")]
    assert plain.content_hash
