"""Who sees what of a class: a teacher only their own classes and their
learners; a learner never the dashboard, and classmates only on the board,
by display name; nobody outside learns that a class exists."""
from classkit import AC, WA, TASKS, assign, call, join, new_class, person, submit


def test_a_teacher_cannot_see_another_teachers_class(st, spec):
    st.clock.set("2026-03-01T12:00:00Z")
    ada, bob = person(st, "teacher"), person(st, "teacher")
    cls = new_class(spec, ada)
    assert cls["teaching"] and cls["join_code"] and len(cls["join_code"]) == 8
    aid = assign(spec, ada, cls["id"], due_at="2026-03-20T23:59")["id"]
    base = f"/api/v1/classes/{cls['id']}"
    for method, path, body in [
            ("GET", base, None), ("GET", f"{base}/members", None),
            ("GET", f"{base}/board", None), ("GET", f"{base}/progress", None),
            ("GET", f"{base}/analytics?tasks={TASKS[0]}", None),
            ("GET", f"{base}/assignments", None), ("GET", f"{base}/assignments/{aid}", None),
            ("GET", f"{base}/assignments/{aid}/grades.csv", None),
            ("PATCH", base, {"title": "Mine now"}),
            ("POST", f"{base}/assignments", {"title": "x", "task_slugs": TASKS,
                                             "due_at": "2026-03-30T10:00"}),
            ("POST", f"{base}/roster", {"csv": "email\nx@example.org\n", "mode": "invite"}),
            ("POST", f"{base}/archive", {})]:
        r = call(spec, bob, method, path, body)
        assert r.status == 404, (method, path, r)
        assert r.json["error"]["message"] == "no such class", (method, path, r)
    # Bob's class list has none of Ada's.
    mine = call(spec, bob, "GET", "/api/v1/classes", expect=200).json["classes"]
    assert cls["id"] not in [c["id"] for c in mine]


def test_a_learner_cannot_see_the_dashboard_and_sees_classmates_only_by_name(st, spec):
    st.clock.set("2026-03-01T12:00:00Z")
    teacher = person(st, "teacher")
    ann = person(st, display_name="Ann the Brave")
    ben = person(st, display_name="Ben")
    cls = new_class(spec, teacher)
    for p in (ann, ben):
        assert join(spec, p, cls["join_code"].lower())["joined"]
    aid = assign(spec, teacher, cls["id"], opens_at="2026-03-01T00:00",
                 due_at="2026-03-20T23:59")["id"]
    submit(st, ann.id, TASKS[0], "2026-03-02T10:00:00Z")
    submit(st, ben.id, TASKS[0], "2026-03-02T11:00:00Z", verdict=WA)
    base = f"/api/v1/classes/{cls['id']}"

    seen = call(spec, ann, "GET", base, expect=200).json
    assert seen["member"] and not seen["teaching"] and seen["join_code"] is None
    for path in (f"{base}/members", f"{base}/progress", f"{base}/analytics?tasks={TASKS[0]}",
                 f"{base}/assignments/{aid}/grades.csv"):
        r = call(spec, ann, "GET", path)
        assert r.status == 403, (path, r)
    r = call(spec, ann, "POST", f"{base}/assignments",
             {"title": "x", "task_slugs": TASKS, "due_at": "2026-03-30T10:00"})
    assert r.status == 403, r
    # Ben is on the assignment board (he scored on a test) by his display name only.
    board = call(spec, ann, "GET", f"{base}/board?assignment={aid}", expect=200).json
    names = {e["display_name"]: e for e in board["entries"]}
    assert set(names) == {"Ann the Brave", "Ben"}
    assert names["Ben"]["user_id"] is None and not names["Ben"]["you"]
    assert names["Ann the Brave"]["user_id"] == ann.id and names["Ann the Brave"]["you"]
    assert board["own"]["rank"] == 1 and board["max_points"] == 300
    # A learner cannot read a classmate's submissions; the teacher can, for the class's tasks.
    r = call(spec, ann, "GET", f"/api/v1/submissions?user_id={ben.id}")
    assert r.status == 403, r
    subs = call(spec, teacher, "GET", f"/api/v1/submissions?user_id={ben.id}",
                expect=200).json["submissions"]
    assert [s["task_slug"] for s in subs] == [TASKS[0]]
    one = call(spec, teacher, "GET", f"/api/v1/submissions/{subs[0]['id']}", expect=200).json
    assert one["code"] and [t["verdict"] for t in one["tests"]] == ["ac", "wa", "wa"]
    assert one["tests"][2]["hidden"] and one["tests"][2]["output_excerpt"] == ""
    # The teacher sees all-time points with ids; leaving removes Ann from the class.
    allt = call(spec, teacher, "GET", f"{base}/board", expect=200).json
    assert [e["user_id"] for e in allt["entries"]] == [ann.id]
    assert call(spec, ann, "DELETE", f"{base}/members/me", expect=200).json["removed"]
    assert call(spec, ann, "GET", base).status == 404


def test_a_teacher_sees_only_the_learners_and_tasks_of_their_classes(st, spec):
    st.clock.set("2026-03-01T12:00:00Z")
    teacher, other = person(st, "teacher"), person(st, "teacher")
    kim, stranger = person(st), person(st)
    cls = new_class(spec, teacher)
    join(spec, kim, cls["join_code"])
    assign(spec, teacher, cls["id"], tasks=TASKS[:1], due_at="2026-03-20T23:59")
    assigned = submit(st, kim.id, TASKS[0], "2026-03-03T09:00:00Z")
    practice = submit(st, kim.id, TASKS[2], "2026-03-03T09:05:00Z")
    elsewhere = submit(st, stranger.id, TASKS[0], "2026-03-03T09:10:00Z")
    assert call(spec, teacher, "GET", f"/api/v1/submissions/{assigned}").status == 200
    # A task the class was not given, a learner not in the class, another teacher.
    assert call(spec, teacher, "GET", f"/api/v1/submissions/{practice}").status == 404
    assert call(spec, teacher, "GET", f"/api/v1/submissions/{elsewhere}").status == 404
    assert call(spec, teacher, "GET",
                f"/api/v1/submissions?user_id={stranger.id}").status == 403
    assert call(spec, other, "GET", f"/api/v1/submissions/{assigned}").status == 404
    listed = call(spec, teacher, "GET", f"/api/v1/submissions?user_id={kim.id}",
                  expect=200).json["submissions"]
    assert [s["id"] for s in listed] == [assigned]
    # Learners cannot make classes; the teacher can remove a learner.
    assert call(spec, kim, "POST", "/api/v1/classes", {"title": "Mine"}).status == 403
    assert call(spec, teacher, "DELETE",
                f"/api/v1/classes/{cls['id']}/members/{kim.id}", expect=200).json["removed"]
    assert call(spec, teacher, "GET", f"/api/v1/submissions/{assigned}").status == 404


def test_join_codes_invitations_and_archived_classes(st, spec):
    st.clock.set("2026-03-01T12:00:00Z")
    teacher, lea = person(st, "teacher"), person(st)
    cls = new_class(spec, teacher)
    code = cls["join_code"]
    assert call(spec, lea, "POST", "/api/v1/classes/join", {"code": "NOPE2345"}).status == 404
    spaced = f"{code[:4].lower()}-{code[4:]}"
    r = call(spec, lea, "POST", "/api/v1/classes/join", {"code": spaced}, 200).json
    assert r["joined"] and r["class"]["member_count"] == 1
    assert not join(spec, lea, code)["joined"]
    assert call(spec, teacher, "POST", "/api/v1/classes/join", {"code": code}).status == 409
    # A new code retires the old one.
    fresh = call(spec, teacher, "PATCH", f"/api/v1/classes/{cls['id']}",
                 {"rotate_join_code": True}, 200).json["join_code"]
    assert fresh != code
    late = person(st)
    assert call(spec, late, "POST", "/api/v1/classes/join", {"code": code}).status == 404
    # Archived: nobody joins, nothing changes, it can be deleted then.
    call(spec, teacher, "POST", f"/api/v1/classes/{cls['id']}/archive", {}, 200)
    assert call(spec, late, "POST", "/api/v1/classes/join", {"code": fresh}).status == 409
    assert call(spec, teacher, "PATCH", f"/api/v1/classes/{cls['id']}",
                {"title": "x"}).status == 409
    listed = call(spec, teacher, "GET", "/api/v1/classes", expect=200).json["classes"]
    assert cls["id"] not in [c["id"] for c in listed]
    listed = call(spec, teacher, "GET", "/api/v1/classes?include_archived=true",
                  expect=200).json["classes"]
    assert cls["id"] in [c["id"] for c in listed]
    other = new_class(spec, teacher, title="Not archived")
    assert call(spec, teacher, "DELETE", f"/api/v1/classes/{other['id']}").status == 409
    assert call(spec, teacher, "DELETE", f"/api/v1/classes/{cls['id']}").status == 204
    assert call(spec, lea, "GET", f"/api/v1/classes/{cls['id']}").status == 404
