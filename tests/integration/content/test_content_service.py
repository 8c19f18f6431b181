"""The content service end to end: loading the content folder (idempotent,
versioned, archiving), learner reads without hidden data, judge bundles for
services only, the author API, export/import round trips, achievements and
languages."""
import json
import threading
from pathlib import Path

import grpc
import pytest

import contentkit
from contentkit import cpb, expect_status

LANGUAGES_DIR = Path(__file__).resolve().parents[3] / "services" / "executor" / "languages"

Status = grpc.StatusCode


def summaries(content, token, **kw):
    return content.client.call("ListTasks", cpb.ListTasksRequest(**kw), token=token).tasks


def write_achievement(content_env, slug, **rule):
    from pathlib import Path
    folder = Path(content_env["DOJO_CONTENT_DIR"]) / "achievements"
    doc = {"slug": slug, "title": slug.title(), "description": "A test achievement.",
           "icon": "star", "rule": rule or {"kind": "first_solve"}, "sort_order": 1}
    (folder / f"{slug}.json").write_text(json.dumps(doc))


# ---------------------------------------------------------------------------
# Loading


def test_loading_is_idempotent_and_a_changed_test_makes_a_new_version(
        start_content, tasks_dir, tokens):
    contentkit.write_task(tasks_dir, contentkit.task("alpha"))
    contentkit.write_task(tasks_dir, contentkit.task("beta", difficulty="hard"))
    c1 = start_content("first")
    before = {t.slug: (t.version, t.content_hash) for t in summaries(c1, tokens["learner"])}
    assert before.keys() == {"alpha", "beta"}
    assert all(v == 1 for v, _ in before.values())
    assert c1.stop() == 0

    c2 = start_content("restart")
    again = {t.slug: (t.version, t.content_hash) for t in summaries(c2, tokens["learner"])}
    assert again == before, "a restart with the same files must not create versions"
    assert "change=created" not in c2.log_text() and "change=new_version" not in c2.log_text()
    assert c2.stop() == 0

    changed = contentkit.task("alpha")
    changed["tests"][2]["expected"] = "1998244361\n"
    contentkit.write_task(tasks_dir, changed)
    c3 = start_content("changed")
    now = {t.slug: (t.version, t.content_hash) for t in summaries(c3, tokens["learner"])}
    assert now["beta"] == before["beta"]
    assert now["alpha"][0] == 2 and now["alpha"][1] != before["alpha"][1]
    # The old version stays readable by (slug, version), for old submissions.
    old = c3.client.call("GetJudgeBundle", cpb.GetJudgeBundleRequest(slug="alpha", version=1),
                         service=True).bundle
    assert old.version == 1 and old.content_hash == before["alpha"][1]
    assert old.tests[2].expected == "1998244360\n"
    new = c3.client.call("GetJudgeBundle", cpb.GetJudgeBundleRequest(slug="alpha"),
                         service=True).bundle
    assert new.version == 2 and new.tests[2].expected == "1998244361\n"
    view = c3.client.call("GetTask", cpb.GetTaskRequest(slug="alpha", version=1),
                          token=tokens["learner"]).task
    assert view.version == 1 and view.content_hash == before["alpha"][1]
    expect_status(Status.NOT_FOUND, c3.client.call, "GetTask",
                  cpb.GetTaskRequest(slug="alpha", version=3), token=tokens["learner"])


def test_a_removed_file_archives_its_task_and_its_return_restores_it(
        start_content, tasks_dir, tokens):
    contentkit.write_task(tasks_dir, contentkit.task("stays"))
    path = contentkit.write_task(tasks_dir, contentkit.task("goes"))
    start_content("one").stop()
    saved = path.read_text()
    path.unlink()
    c = start_content("two")
    assert [t.slug for t in summaries(c, tokens["learner"])] == ["stays"]
    view = c.client.call("GetTask", cpb.GetTaskRequest(slug="goes"), token=tokens["learner"]).task
    assert view.status == cpb.TASK_STATUS_ARCHIVED and view.version == 1
    listed = summaries(c, tokens["author"], include_archived=True)
    assert {t.slug: t.status for t in listed} == {
        "stays": cpb.TASK_STATUS_ACTIVE, "goes": cpb.TASK_STATUS_ARCHIVED}
    expect_status(Status.PERMISSION_DENIED, c.client.call, "ListTasks",
                  cpb.ListTasksRequest(include_archived=True), token=tokens["learner"])
    c.stop()
    path.write_text(saved)
    c = start_content("three")
    assert sorted(t.slug for t in summaries(c, tokens["learner"])) == ["goes", "stays"]


def test_a_bad_file_is_rejected_without_disturbing_the_loaded_version(
        start_content, tasks_dir, tokens):
    path = contentkit.write_task(tasks_dir, contentkit.task("steady"))
    c = start_content("good")
    first = summaries(c, tokens["learner"])[0]
    c.stop()
    broken = contentkit.task("steady")
    del broken["tests"][0]["expected"]
    contentkit.write_task(tasks_dir, broken)
    c = start_content("bad")
    again = summaries(c, tokens["learner"])
    assert [(t.slug, t.version, t.content_hash, t.status) for t in again] == [
        ("steady", 1, first.content_hash, cpb.TASK_STATUS_ACTIVE)]
    log = c.log_text()
    assert 'msg="task file rejected" file="steady.json" path="$.tests[0].expected"' in log
    assert path.exists()


def test_two_replicas_starting_at_once_store_each_version_once(
        start_content, tasks_dir, tokens, content_env, infra):
    for i in range(8):
        contentkit.write_task(tasks_dir, contentkit.task(f"race-{i}"))
    procs, errors = [], []

    def run(name):
        try:
            procs.append(start_content(name))
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(f"replica-{k}",)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    db = content_env["DOJO_PG_URL"].rsplit("/", 1)[1]
    rows = infra.psql("SELECT slug, count(*) FROM content.task_versions GROUP BY slug", db)
    counts = dict(line.split("|") for line in rows.split())
    assert counts == {f"race-{i}": "1" for i in range(8)}


# ---------------------------------------------------------------------------
# Learner reads and judge bundles


def test_learner_reads_never_contain_hidden_tests_or_solutions(start_content, tasks_dir, tokens):
    doc = contentkit.task("secretive")
    doc["editorial"] = "EDITORIAL-TEXT: sum them."
    doc["checker"] = {"kind": "custom",
                      "custom": {"language": "python3", "source": "import sys  # CHECKER-SOURCE\n"}}
    contentkit.write_task(tasks_dir, doc)
    c = start_content()
    markers = contentkit.hidden_markers(doc) + ["CHECKER-SOURCE", "hidden-big", "hidden-neg"]
    for role in ("learner", "author", "admin"):
        for raw in (c.client.raw_bytes("GetTask", cpb.GetTaskRequest(slug="secretive"),
                                       token=tokens[role]),
                    c.client.raw_bytes("ListTasks", cpb.ListTasksRequest(),
                                       token=tokens[role])):
            for m in markers:
                assert m.encode() not in raw, f"{m!r} leaked to a {role}"
    view = c.client.call("GetTask", cpb.GetTaskRequest(slug="secretive"),
                         token=tokens["learner"]).task
    assert [s.name for s in view.sample_tests] == ["sample-1", "sample-2"]
    assert view.sample_tests[0].input == "1 2\n" and view.sample_tests[0].expected == "3\n"
    assert view.hidden_test_count == 2 and view.max_score == 5
    assert view.checker_kind == cpb.CHECKER_KIND_CUSTOM
    assert view.points == 10 and view.limits.cpu_ms == 1000 and view.limits.wall_ms == 5000
    assert view.languages[0].limits.cpu_ms == 1000
    assert view.hints == ["Split the line."]


def test_solutions_are_for_services_and_authors(start_content, tasks_dir, tokens):
    doc = contentkit.task("explained")
    doc["editorial"] = "## Idea\n\nAdd them."
    contentkit.write_task(tasks_dir, doc)
    contentkit.write_task(tasks_dir, contentkit.task("unexplained"))
    c = start_content()
    expect_status(Status.PERMISSION_DENIED, c.client.call, "GetTaskSolutions",
                  cpb.GetTaskSolutionsRequest(slug="explained"), token=tokens["learner"])
    expect_status(Status.UNAUTHENTICATED, c.client.call, "GetTaskSolutions",
                  cpb.GetTaskSolutionsRequest(slug="explained"))
    for kw in ({"service": True}, {"token": tokens["author"]}):
        s = c.client.call("GetTaskSolutions", cpb.GetTaskSolutionsRequest(slug="explained"), **kw)
        assert s.slug == "explained" and s.version == 1
        assert s.editorial == "## Idea\n\nAdd them."
        assert [x.code for x in s.reference_solutions] == [x["code"] for x in doc["reference_solutions"]]
    none = c.client.call("GetTaskSolutions", cpb.GetTaskSolutionsRequest(slug="unexplained"),
                         service=True)
    assert none.editorial == ""
    expect_status(Status.NOT_FOUND, c.client.call, "GetTaskSolutions",
                  cpb.GetTaskSolutionsRequest(slug="nope"), service=True)


def test_judge_bundle_is_for_services_only(start_content, tasks_dir, tokens):
    doc = contentkit.task("judged")
    contentkit.write_task(tasks_dir, doc)
    c = start_content()
    for role in ("learner", "author", "admin"):
        expect_status(Status.PERMISSION_DENIED, c.client.call, "GetJudgeBundle",
                      cpb.GetJudgeBundleRequest(slug="judged"), token=tokens[role])
    expect_status(Status.UNAUTHENTICATED, c.client.call, "GetJudgeBundle",
                  cpb.GetJudgeBundleRequest(slug="judged"))
    expect_status(Status.UNAUTHENTICATED, c.client.call, "GetJudgeBundle",
                  cpb.GetJudgeBundleRequest(slug="judged"),
                  metadata=[("x-dojo-service-key", "wrong-key")])
    b = c.client.call("GetJudgeBundle", cpb.GetJudgeBundleRequest(slug="judged"),
                      service=True).bundle
    assert b.slug == "judged" and b.version == 1 and len(b.content_hash) == 64
    assert [t.name for t in b.tests] == ["sample-1", "sample-2", "hidden-big", "hidden-neg"]
    assert [t.hidden for t in b.tests] == [False, False, True, True]
    assert [t.weight for t in b.tests] == [1, 1, 2, 1] and b.max_score == 5
    assert b.checker.kind == cpb.CHECKER_KIND_IGNORE_TRAILING_WS
    assert (b.limits.cpu_ms, b.limits.wall_ms, b.limits.memory_kib, b.limits.output_kib) == (
        1000, 5000, 262144, 1024)
    expect_status(Status.NOT_FOUND, c.client.call, "GetJudgeBundle",
                  cpb.GetJudgeBundleRequest(slug="nope"), service=True)
    expect_status(Status.UNAUTHENTICATED, c.client.call, "GetTask",
                  cpb.GetTaskRequest(slug="judged"))


def test_list_tasks_filters_orders_and_pages(start_content, tasks_dir, tokens):
    contentkit.write_task(tasks_dir, contentkit.task("zeta", title="Zeta", tags=["strings"]))
    contentkit.write_task(tasks_dir, contentkit.task("alpha", title="Alpha", difficulty="hard"))
    contentkit.write_task(tasks_dir, contentkit.task("mid", title="Middle", difficulty="medium",
                                                     points=45))
    contentkit.write_task(tasks_dir, contentkit.task("beta", title="Beta"))
    c = start_content()
    t = tokens["learner"]
    assert [s.slug for s in summaries(c, t)] == ["beta", "zeta", "mid", "alpha"]
    assert [s.points for s in summaries(c, t)] == [10, 10, 45, 60]
    assert [s.slug for s in summaries(c, t, tag="strings")] == ["zeta"]
    assert [s.slug for s in summaries(c, t, query="MIDD")] == ["mid"]
    assert [s.slug for s in summaries(c, t, difficulty=3)] == ["alpha"]
    from dojo.common.v1 import common_pb2
    page1 = c.client.call("ListTasks", cpb.ListTasksRequest(
        page=common_pb2.PageRequest(page_size=3)), token=t)
    assert len(page1.tasks) == 3 and page1.page.total == 4 and page1.page.next_page_token
    page2 = c.client.call("ListTasks", cpb.ListTasksRequest(page=common_pb2.PageRequest(
        page_size=3, page_token=page1.page.next_page_token)), token=t)
    assert [s.slug for s in page2.tasks] == ["alpha"] and page2.page.next_page_token == ""
    expect_status(Status.INVALID_ARGUMENT, c.client.call, "ListTasks", cpb.ListTasksRequest(
        page=common_pb2.PageRequest(page_token="garbage")), token=t)


# ---------------------------------------------------------------------------
# The author API


def test_author_api_needs_the_author_role(start_content, tokens):
    c = start_content()
    req = cpb.CreateTaskRequest(input=cpb.TaskInput(json=json.dumps(contentkit.task("by-api"))))
    expect_status(Status.PERMISSION_DENIED, c.client.call, "CreateTask", req,
                  token=tokens["learner"])
    expect_status(Status.UNAUTHENTICATED, c.client.call, "CreateTask", req)
    for method, r in (("ValidateTask", cpb.ValidateTaskRequest(input=req.input)),
                      ("ArchiveTask", cpb.ArchiveTaskRequest(slug="by-api")),
                      ("ExportTask", cpb.ExportTaskRequest(slug="by-api")),
                      ("ImportTasks", cpb.ImportTasksRequest(files=[cpb.TaskFile(
                          name="by-api.json", json=req.input.json)])),
                      ("UpdateTask", cpb.UpdateTaskRequest(slug="by-api", input=req.input))):
        expect_status(Status.PERMISSION_DENIED, c.client.call, method, r, token=tokens["learner"])
    created = c.client.call("CreateTask", req, token=tokens["author"])
    assert created.change == cpb.TASK_CHANGE_CREATED and created.task.version == 1
    assert created.task.status == cpb.TASK_STATUS_ACTIVE and created.task.points == 10
    assert created.task.created_at.unix_micros > 0
    expect_status(Status.ALREADY_EXISTS, c.client.call, "CreateTask", req, token=tokens["admin"])


def test_create_update_archive_and_restore(start_content, tokens):
    c = start_content()
    a = tokens["author"]
    doc = contentkit.task("lifecycle")
    created = c.client.call("CreateTask", cpb.CreateTaskRequest(
        input=cpb.TaskInput(json=json.dumps(doc))), token=a)
    # The message form goes through the same validation.
    msg = created.task
    same = c.client.call("UpdateTask", cpb.UpdateTaskRequest(
        slug="lifecycle", input=cpb.TaskInput(task=msg), expected_version=1), token=a)
    assert same.change == cpb.TASK_CHANGE_UNCHANGED and same.task.version == 1
    doc["title"] = "Sum, again"
    upd = c.client.call("UpdateTask", cpb.UpdateTaskRequest(
        slug="lifecycle", input=cpb.TaskInput(json=json.dumps(doc)), expected_version=1), token=a)
    assert upd.change == cpb.TASK_CHANGE_NEW_VERSION and upd.task.version == 2
    doc["title"] = "Stale edit"
    expect_status(Status.ABORTED, c.client.call, "UpdateTask", cpb.UpdateTaskRequest(
        slug="lifecycle", input=cpb.TaskInput(json=json.dumps(doc)), expected_version=1), token=a)
    expect_status(Status.INVALID_ARGUMENT, c.client.call, "UpdateTask", cpb.UpdateTaskRequest(
        slug="other", input=cpb.TaskInput(json=json.dumps(doc))), token=a)
    bad = dict(doc, difficulty="extreme")
    err = expect_status(Status.INVALID_ARGUMENT, c.client.call, "UpdateTask",
                        cpb.UpdateTaskRequest(slug="lifecycle",
                                              input=cpb.TaskInput(json=json.dumps(bad))), token=a)
    assert err.details().startswith("$.difficulty: must be one of")
    expect_status(Status.NOT_FOUND, c.client.call, "UpdateTask", cpb.UpdateTaskRequest(
        slug="ghost", input=cpb.TaskInput(json=json.dumps(contentkit.task("ghost")))), token=a)

    arch = c.client.call("ArchiveTask", cpb.ArchiveTaskRequest(slug="lifecycle"), token=a).task
    assert arch.status == cpb.TASK_STATUS_ARCHIVED and arch.version == 2
    assert list(summaries(c, tokens["learner"])) == []
    assert c.client.call("GetTask", cpb.GetTaskRequest(slug="lifecycle"),
                         token=tokens["learner"]).task.status == cpb.TASK_STATUS_ARCHIVED
    back = c.client.call("ArchiveTask", cpb.ArchiveTaskRequest(slug="lifecycle", restore=True),
                         token=a).task
    assert back.status == cpb.TASK_STATUS_ACTIVE
    expect_status(Status.NOT_FOUND, c.client.call, "ArchiveTask",
                  cpb.ArchiveTaskRequest(slug="ghost"), token=a)


def test_export_then_import_is_unchanged_and_the_file_form_round_trips(
        start_content, tasks_dir, tokens, content_env):
    doc = contentkit.task("round-trip")
    doc["checker"] = {"kind": "float", "abs_tol": 0.001, "rel_tol": 1e-9}
    contentkit.write_task(tasks_dir, doc)
    c = start_content()
    a = tokens["author"]
    exp = c.client.call("ExportTask", cpb.ExportTaskRequest(slug="round-trip"), token=a)
    assert exp.file_name == "round-trip.json" and exp.json.endswith("}\n")
    assert list(json.loads(exp.json)) == [
        "slug", "title", "difficulty", "points", "description", "tags", "languages", "limits",
        "checker", "tests", "hints", "reference_solutions", "wrong_solutions"]
    assert exp.task.version == 1 and exp.task.content_hash
    imp = c.client.call("ImportTasks", cpb.ImportTasksRequest(files=[
        cpb.TaskFile(name=exp.file_name, json=exp.json)]), token=a)
    assert imp.unchanged == 1 and imp.results[0].change == cpb.TASK_CHANGE_UNCHANGED
    assert imp.results[0].content_hash == exp.task.content_hash
    # The command line gives the same text, and a restart from it changes nothing.
    r = c.run_cli("export", "round-trip")
    assert r.returncode == 0, r.stderr
    assert r.stdout == exp.json
    (tasks_dir / "round-trip.json").write_text(r.stdout)
    c.stop()
    c = start_content("again")
    assert summaries(c, tokens["learner"])[0].version == 1


def test_import_tasks_reports_each_file_and_honours_dry_run_and_archive_missing(
        start_content, tasks_dir, tokens):
    contentkit.write_task(tasks_dir, contentkit.task("kept"))
    contentkit.write_task(tasks_dir, contentkit.task("dropped"))
    c = start_content()
    a = tokens["author"]
    kept = json.dumps(contentkit.task("kept", title="Kept, changed"))
    fresh = json.dumps(contentkit.task("fresh"))
    broken = json.dumps(contentkit.task("broken", difficulty="nope"))
    files = [cpb.TaskFile(name="kept.json", json=kept), cpb.TaskFile(name="fresh.json", json=fresh)]
    dry = c.client.call("ImportTasks", cpb.ImportTasksRequest(
        files=files, dry_run=True, archive_missing=True), token=a)
    assert (dry.created, dry.new_versions, dry.unchanged, dry.rejected) == (1, 1, 0, 0)
    assert list(dry.archived) == ["dropped"]
    assert sorted(t.slug for t in summaries(c, a)) == ["dropped", "kept"], "dry run wrote"
    with_bad = c.client.call("ImportTasks", cpb.ImportTasksRequest(
        files=files + [cpb.TaskFile(name="broken.json", json=broken)], archive_missing=True),
        token=a)
    assert with_bad.rejected == 1 and list(with_bad.archived) == []
    res = with_bad.results[2]
    assert res.change == cpb.TASK_CHANGE_REJECTED and res.slug == "broken"
    assert [(e.file, e.path) for e in res.errors] == [("broken.json", "$.difficulty")]
    again = c.client.call("ImportTasks", cpb.ImportTasksRequest(
        files=files, archive_missing=True), token=a)
    assert (again.created, again.new_versions, again.unchanged) == (0, 0, 2)
    assert list(again.archived) == ["dropped"]
    expect_status(Status.INVALID_ARGUMENT, c.client.call, "ImportTasks",
                  cpb.ImportTasksRequest(files=[files[0], files[0]]), token=a)
    expect_status(Status.INVALID_ARGUMENT, c.client.call, "ImportTasks",
                  cpb.ImportTasksRequest(), token=a)


# ---------------------------------------------------------------------------
# Achievements, languages, command line


def test_achievements_load_list_and_retire(start_content, content_env, tokens):
    write_achievement(content_env, "first-blood")
    write_achievement(content_env, "ten-solved", kind="tasks_solved", threshold=10)
    write_achievement(content_env, "hard-three", kind="difficulty_solved", threshold=3,
                      difficulty="hard")
    c = start_content()
    resp = c.client.call("ListAchievements", cpb.ListAchievementsRequest(),
                         token=tokens["learner"])
    by_slug = {a.slug: a for a in resp.achievements}
    assert list(by_slug) == ["first-blood", "hard-three", "ten-solved"]
    assert by_slug["ten-solved"].rule.kind == cpb.ACHIEVEMENT_RULE_KIND_TASKS_SOLVED
    assert by_slug["ten-solved"].rule.threshold == 10
    assert by_slug["hard-three"].rule.difficulty == 3
    c.stop()
    from pathlib import Path
    (Path(content_env["DOJO_CONTENT_DIR"]) / "achievements" / "ten-solved.json").unlink()
    c = start_content("again")
    resp2 = c.client.call("ListAchievements", cpb.ListAchievementsRequest(),
                          token=tokens["learner"])
    assert [a.slug for a in resp2.achievements] == ["first-blood", "hard-three"]
    assert resp2.content_hash != resp.content_hash


def write_track(content_env, slug, tasks, sort_order=0, title=None):
    from pathlib import Path
    d = Path(content_env["DOJO_CONTENT_DIR"]) / "tracks"
    d.mkdir(exist_ok=True)
    doc = {"slug": slug, "title": title or slug.title(), "description": f"About {slug}.",
           "tasks": tasks, "sort_order": sort_order}
    (d / f"{slug}.json").write_text(json.dumps(doc) + "\n")
    return d / f"{slug}.json"


def test_tracks_load_in_order_and_a_bad_file_keeps_the_set(start_content, content_env, tasks_dir,
                                                           tokens):
    for slug in ("t-one", "t-two", "t-three"):
        contentkit.write_task(tasks_dir, contentkit.task(slug))
    write_track(content_env, "later", ["t-three"], sort_order=2)
    write_track(content_env, "basics", ["t-two", "t-one"], sort_order=1)
    c = start_content()
    tracks = c.client.call("ListTracks", cpb.ListTracksRequest(), token=tokens["learner"]).tracks
    assert [t.slug for t in tracks] == ["basics", "later"]
    assert list(tracks[0].task_slugs) == ["t-two", "t-one"], "the order is the file's"
    assert tracks[0].title == "Basics" and tracks[0].description == "About basics."
    expect_status(Status.UNAUTHENTICATED, c.client.call, "ListTracks", cpb.ListTracksRequest())
    c.stop()
    # A track naming a task that is not in the catalogue is refused; the stored set stays.
    bad = write_track(content_env, "broken", ["t-one", "no-such-task"])
    (bad.parent / "later.json").unlink()
    c = start_content("bad")
    assert [t.slug for t in c.client.call("ListTracks", cpb.ListTracksRequest(),
                                          service=True).tracks] == ["basics", "later"]
    log = c.log_tail(200)
    assert "track file rejected" in log and "no-such-task" in log and "in the catalogue" in log
    c.stop()
    bad.unlink()
    c = start_content("fixed")
    assert [t.slug for t in c.client.call("ListTracks", cpb.ListTracksRequest(),
                                          service=True).tracks] == ["basics"]


def test_bad_achievement_files_are_reported(content_env, tmp_path):
    folder = tmp_path / "achievements"
    folder.mkdir()
    cases = {
        "no-threshold": ({"kind": "tasks_solved"}, "$.rule.threshold", "required"),
        "extra-tag": ({"kind": "first_solve", "tag": "x"}, "$.rule.tag", "not used"),
        "bad-kind": ({"kind": "be_nice"}, "$.rule.kind", "must be one of"),
        "no-difficulty": ({"kind": "difficulty_complete"}, "$.rule.difficulty", "required"),
    }
    for slug, (rule, _, _) in cases.items():
        (folder / f"{slug}.json").write_text(json.dumps(
            {"slug": slug, "title": "T", "description": "D", "icon": "star", "rule": rule}))
    r = contentkit.run_cli(content_env, "validate", str(folder))
    assert r.returncode == 1
    for slug, (_, path, fragment) in cases.items():
        line = [ln for ln in r.stdout.splitlines() if ln.startswith(f"{folder}/{slug}.json:")]
        assert len(line) == 1 and f":{path}: " in line[0] and fragment in line[0], r.stdout


def test_list_languages(start_content, tokens):
    c = start_content()
    langs = c.client.call("ListLanguages", cpb.ListLanguagesRequest(),
                          token=tokens["learner"]).languages
    # The language catalogue (the executor's own files) is what content serves.
    files = [json.loads(p.read_text()) for p in LANGUAGES_DIR.glob("*.json")]
    want = sorted(((f["display_name"], f["id"], f["file_extension"], f["editor_mode"],
                    f["version"], bool(f.get("compile"))) for f in files))
    assert [(l.display_name, l.id, l.file_extension, l.editor_mode, l.version, l.compiled)
            for l in langs] == want
    by_id = {l.id: l for l in langs}
    assert by_id["c"].compiled and not by_id["python3"].compiled
    assert by_id["c"].editor_mode == "c" and by_id["python3"].editor_mode == "python"


def test_cli_import_and_export(content_env, tasks_dir):
    contentkit.write_task(tasks_dir, contentkit.task("cli-task"))
    r = contentkit.run_cli(content_env, "import", content_env["DOJO_CONTENT_DIR"])
    assert r.returncode == 0, r.stderr
    assert "created cli-task.json version=1" in r.stdout
    r = contentkit.run_cli(content_env, "import", content_env["DOJO_CONTENT_DIR"])
    assert "unchanged cli-task.json version=1" in r.stdout
    r = contentkit.run_cli(content_env, "export", "cli-task")
    assert r.returncode == 0 and json.loads(r.stdout)["slug"] == "cli-task"
    r = contentkit.run_cli(content_env, "export", "no-such-task")
    assert r.returncode == 1 and "no task" in r.stderr
