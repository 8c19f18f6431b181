"""The teacher's dashboard beyond grades: where learners fail on a task,
how long they take, who is inactive; the same analytics for the author of a
task across every learner; reminder mails before the due date, once."""
import subprocess

import contentkit
from classkit import AC, TASKS, WA, assign, call, join, new_class, person, submit
from dojo.common.v1 import common_pb2
from dojo.gamification.v1 import gamification_pb2 as gpb

TLE = common_pb2.VERDICT_TLE
RE = common_pb2.VERDICT_RE


def wrong(excerpt, verdict=WA):
    return [gpb.TestResult(index=0, name="sample", verdict=AC, weight=1, output_excerpt="1\n"),
            gpb.TestResult(index=1, name="second", verdict=verdict, weight=1,
                           output_excerpt=excerpt),
            gpb.TestResult(index=2, name="hidden-1", hidden=True, verdict=verdict, weight=1)]


def test_where_learners_fail_how_long_they_take_and_who_is_inactive(st, spec):
    st.clock.set("2026-05-04T08:00:00Z")
    teacher = person(st, "teacher")
    sol, tim, rex, idle = (person(st) for _ in range(4))
    cls = new_class(spec, teacher, title="Dashboard class")
    for p in (sol, tim, rex, idle):
        join(spec, p, cls["join_code"])
    task = TASKS[2]
    assign(spec, teacher, cls["id"], tasks=[task], due_at="2026-05-20T18:00")
    # Sol opens the task, fails once, solves it ten minutes after opening.
    st.clock.set("2026-05-04T09:00:00Z")
    assert call(spec, sol, "POST", f"/api/v1/tasks/{task}/open", {}, 200).json[
        "first_opened_at"] == "2026-05-04T09:00:00.000Z"
    st.clock.set("2026-05-04T09:30:00Z")
    assert call(spec, sol, "POST", f"/api/v1/tasks/{task}/open", {}, 200).json[
        "first_opened_at"] == "2026-05-04T09:00:00.000Z"
    submit(st, sol.id, task, "2026-05-04T09:05:00Z", verdict=WA, score=1, tests=wrong("7\n"))
    submit(st, sol.id, task, "2026-05-04T09:10:00Z")
    for at in ("2026-05-04T10:00:00Z", "2026-05-04T10:05:00Z"):
        submit(st, tim.id, task, at, verdict=WA, score=1, tests=wrong("7\n"))
    submit(st, tim.id, task, "2026-05-04T10:10:00Z", verdict=TLE, score=1, tests=wrong("", TLE))
    submit(st, rex.id, task, "2026-05-04T11:00:00Z", verdict=WA, score=1, tests=wrong("8\n"))
    submit(st, rex.id, task, "2026-05-04T11:05:00Z", verdict=RE, score=1, tests=wrong("", RE))

    base = f"/api/v1/classes/{cls['id']}"
    t = call(spec, teacher, "GET", f"{base}/analytics?tasks={task}", expect=200).json["tasks"][0]
    assert (t["learners"], t["solvers"], t["submissions"]) == (3, 1, 7)
    assert t["median_attempts"] == 2 and t["median_seconds_to_solve"] == 600
    shares = {v["verdict"]: v["submissions"] for v in t["verdicts"]}
    assert shares == {"wa": 4, "ac": 1, "tle": 1, "re": 1}
    assert abs(sum(v["share"] for v in t["verdicts"]) - 1) < 1e-9
    assert [(x["name"], x["failed"], x["ran"]) for x in t["tests"][:2]] == \
        [("second", 6, 7), ("hidden-1", 6, 7)]
    assert t["tests"][1]["hidden"]
    # Hidden tests' outputs are never kept, so never shown.
    assert [(w["test_name"], w["output_excerpt"], w["submissions"], w["learners"])
            for w in t["wrong_outputs"]] == [("second", "7\n", 3, 2), ("second", "8\n", 1, 1)]
    assert {b["label"]: b["learners"] for b in t["retries"]} == {
        "1": 0, "2": 1, "3": 0, "4-5": 0, "6-10": 0, "11+": 0, "unsolved": 2}

    # The matrix: attempts, last verdict, time to solve; Idle has done nothing.
    st.clock.set("2026-05-06T08:00:00Z")
    m = call(spec, teacher, "GET", f"{base}/progress?inactive_days=1", expect=200).json
    rows = {row["member"]["user_id"]: (row, m["cells"][i][0]) for i, row in enumerate(m["rows"])}
    row, cell = rows[sol.id]
    assert (cell["attempts"], cell["last_verdict"], cell["seconds_to_solve"], cell["opened"]) == \
        (2, "ac", 600, True)
    assert rows[tim.id][1]["last_verdict"] == "tle" and rows[tim.id][1]["seconds_to_solve"] is None
    assert rows[idle.id][0]["inactive"] and rows[idle.id][1]["attempts"] == 0
    assert rows[sol.id][0]["inactive"]  # two days since, with inactive_days=1
    m = call(spec, teacher, "GET", f"{base}/progress?inactive_days=7", expect=200).json
    assert [row["member"]["user_id"] for row in m["rows"] if row["inactive"]] == [idle.id]


def test_authors_see_analytics_of_their_own_tasks_across_every_learner(st, spec):
    st.clock.set("2026-05-07T08:00:00Z")
    author, rival, learner = person(st, "author"), person(st, "author"), person(st)
    admin = person(st, "admin")
    slug = contentkit.unique_slug("own")
    doc = contentkit.task(slug, title="Own task")
    call(spec, author, "POST", "/api/v1/author/tasks", {"task": doc}, 201)
    submit(st, learner.id, slug, "2026-05-07T09:00:00Z", verdict=WA, score=1, tests=wrong("5\n"))
    path = f"/api/v1/author/tasks/{slug}/analytics"
    t = call(spec, author, "GET", path, expect=200).json
    assert (t["learners"], t["submissions"], t["solvers"]) == (1, 1, 0)
    assert call(spec, rival, "GET", path).status == 403
    assert call(spec, learner, "GET", path).status == 403
    assert call(spec, admin, "GET", path, expect=200).json["learners"] == 1
    # A task from the files belongs to nobody: admins only.
    assert call(spec, author, "GET", f"/api/v1/author/tasks/{TASKS[0]}/analytics").status == 403
    assert call(spec, admin, "GET", f"/api/v1/author/tasks/{TASKS[0]}/analytics").status == 200


def test_a_task_created_a_moment_ago_can_be_assigned_and_analysed_at_once(st, spec):
    st.clock.set("2026-05-08T08:00:00Z")
    author, learner = person(st, "author"), person(st)
    cls = new_class(spec, author, title="Fresh tasks")
    join(spec, learner, cls["join_code"])
    # Tasks from the files are known; the catalogue the service keeps is now fresh.
    assign(spec, author, cls["id"], tasks=TASKS[:1], due_at="2026-05-20T18:00")
    slug = contentkit.unique_slug("fresh")
    call(spec, author, "POST", "/api/v1/author/tasks",
         {"task": contentkit.task(slug, title="Fresh task")}, 201)
    a = assign(spec, author, cls["id"], tasks=[TASKS[0], slug], title="Week 2",
               due_at="2026-05-21T18:00")
    assert [t["slug"] for t in a["tasks"]] == [TASKS[0], slug]
    assert a["tasks"][1]["title"] == "Fresh task"
    t = call(spec, author, "GET", f"/api/v1/author/tasks/{slug}/analytics", expect=200).json
    assert (t["title"], t["learners"]) == ("Fresh task", 0)
    # A slug that names no task is still refused, however often it is asked for.
    for _ in range(3):
        r = assign(spec, author, cls["id"], tasks=["no-such-task-here"], expect=400,
                   due_at="2026-05-22T18:00")
        assert "no-such-task-here" in r["error"]["message"]


def send_reminders(st):
    r = subprocess.run([str(st.game.binary), "send-reminders"], env=st.game.env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_reminders_go_once_to_learners_who_have_not_finished(st, spec):
    st.clock.set("2026-06-01T08:00:00Z")
    teacher = person(st, "teacher")
    done, behind = person(st), person(st, time_zone="Asia/Tokyo")
    cls = new_class(spec, teacher, title="Reminded class", zone="Europe/London")
    for p in (done, behind):
        join(spec, p, cls["join_code"])
    assign(spec, teacher, cls["id"], tasks=TASKS[:2], title="Homework 3",
           due_at="2026-06-10T17:00", remind_hours_before=24)
    for slug in TASKS[:2]:
        submit(st, done.id, slug, "2026-06-02T08:00:00Z")
    submit(st, behind.id, TASKS[0], "2026-06-02T09:00:00Z")
    # 25 h before the due date (16:00 UTC): too early.
    st.clock.set("2026-06-09T15:00:00Z")
    assert send_reminders(st) == "0 reminders mailed\n"
    # 23 h before: one mail to the learner still behind, in their own zone.
    st.clock.set("2026-06-09T17:00:00Z")
    send_reminders(st)
    mails = st.auth.wait_mail_to(behind.account["email"], timeout=10)
    assert len(mails) == 1, mails
    assert "Subject: Due Thu 11 Jun 2026, 01:00: Homework 3" in mails[0]
    assert f"- Task {TASKS[1]}" in mails[0] and f"- Task {TASKS[0]}" not in mails[0]
    assert "(Asia/Tokyo)" in mails[0]
    # Never twice, and nothing for whoever has finished.
    assert send_reminders(st) == "0 reminders mailed\n"
    assert len(st.auth.mails_to(behind.account["email"])) == 1
    assert st.auth.mails_to(done.account["email"]) == []
