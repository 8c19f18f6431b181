"""Due dates written in the class's zone, shown in the learner's; on time
means made at or before the due instant; late work accepted, penalised or
refused; the edges of daylight saving time. The clock is the stack's
DOJO_CLOCK_FILE."""
from classkit import AC, TASKS, WA, assign, call, join, new_class, person, submit
from dojo.gamification.v1 import gamification_pb2 as gpb

ZONE = "Pacific/Auckland"  # UTC+13 in March (daylight time), +12 from April


def partial_tests():
    return [gpb.TestResult(index=0, name="sample", verdict=AC, weight=1),
            gpb.TestResult(index=1, name="second", verdict=WA, weight=1,
                           output_excerpt="7\n"),
            gpb.TestResult(index=2, name="hidden-1", hidden=True, verdict=WA, weight=1)]


def test_dates_are_local_to_the_class_and_policies_grade_the_edges(st, spec):
    st.clock.set("2026-03-04T12:00:00Z")
    teacher = person(st, "teacher")
    on_time, late, mixed = (person(st, time_zone="America/Los_Angeles") for _ in range(3))
    cls = new_class(spec, teacher, title="Auckland evening class", zone=ZONE)
    for p in (on_time, late, mixed):
        join(spec, p, cls["join_code"])
    task = TASKS[1]
    made = {}
    for policy, penalty in (("accept", 0), ("penalty", 40), ("refuse", 0)):
        a = assign(spec, teacher, cls["id"], tasks=[task], title=f"Due ({policy})",
                   opens_at="2026-03-05T08:00", due_at="2026-03-10T23:59",
                   late_policy=policy, late_penalty_percent=penalty)
        made[policy] = a
    a = made["accept"]
    assert a["due_at"] == "2026-03-10T10:59:00.000Z" and a["due_at_local"] == "2026-03-10T23:59:00"
    assert a["opens_at"] == "2026-03-04T19:00:00.000Z" and a["time_zone"] == ZONE

    # Before it opens a learner does not learn of it; the teacher does.
    base = f"/api/v1/classes/{cls['id']}"
    assert call(spec, on_time, "GET", "/api/v1/me/assignments", expect=200).json["assignments"] == []
    assert call(spec, on_time, "GET", f"{base}/assignments", expect=200).json["assignments"] == []
    assert call(spec, on_time, "GET", f"{base}/assignments/{a['id']}").status == 404
    assert len(call(spec, teacher, "GET", f"{base}/assignments", expect=200).json["assignments"]) == 3

    st.clock.set("2026-03-06T00:00:00Z")
    due = call(spec, on_time, "GET", "/api/v1/me/assignments", expect=200).json
    assert due["time_zone"] == "America/Los_Angeles"
    assert [d["state"] for d in due["assignments"]] == ["open"] * 3

    # On the due second is on time; one second later is late.
    submit(st, on_time.id, task, "2026-03-10T10:59:00Z")
    submit(st, late.id, task, "2026-03-10T10:59:01Z")
    submit(st, mixed.id, task, "2026-03-09T08:00:00Z", verdict=WA, score=1, tests=partial_tests())
    submit(st, mixed.id, task, "2026-03-12T08:00:00Z")

    st.clock.set("2026-03-13T00:00:00Z")
    grades = {}
    for policy, asg in made.items():
        m = call(spec, teacher, "GET", f"{base}/progress?assignment={asg['id']}", expect=200).json
        by = {row["member"]["user_id"]: m["cells"][i][0] for i, row in enumerate(m["rows"])}
        grades[policy] = {who: (round(by[p.id]["grade_percent"], 1), by[p.id]["late"],
                                by[p.id]["solved"])
                          for who, p in (("on_time", on_time), ("late", late), ("mixed", mixed))}
    assert grades["accept"] == {"on_time": (100, False, True), "late": (100, True, True),
                                "mixed": (100, True, True)}
    assert grades["penalty"] == {"on_time": (100, False, True), "late": (60, True, True),
                                 "mixed": (60, True, True)}
    assert grades["refuse"] == {"on_time": (100, False, True), "late": (0, False, False),
                                "mixed": (33.3, False, False)}

    # After the due date: late work counts (late) or not (closed); finished ones drop out.
    def states(p, past=False):
        q = "?include_past=true" if past else ""
        return {d["assignment"]["title"]: d["state"] for d in
                call(spec, p, "GET", f"/api/v1/me/assignments{q}", expect=200).json["assignments"]}
    assert states(on_time) == {}
    assert states(on_time, past=True) == {"Due (accept)": "late", "Due (penalty)": "late",
                                          "Due (refuse)": "closed"}
    assert states(mixed) == {}
    assert states(late, past=True)["Due (refuse)"] == "closed"

    # A new due date grades every submission again: the late one is on time now.
    r = made["refuse"]
    call(spec, teacher, "PUT", f"{base}/assignments/{r['id']}",
         {"title": r["title"], "task_slugs": [task], "opens_at": "2026-03-05T08:00",
          "due_at": "2026-03-11T00:00", "late_policy": "refuse"}, 200)
    m = call(spec, teacher, "GET", f"{base}/progress?assignment={r['id']}", expect=200).json
    by = {row["member"]["user_id"]: m["cells"][i][0] for i, row in enumerate(m["rows"])}
    assert by[late.id]["grade_percent"] == 100 and not by[late.id]["late"]


def test_daylight_saving_edges_and_bad_dates(st, spec):
    st.clock.set("2026-03-10T00:00:00Z")
    teacher = person(st, "teacher")
    cls = new_class(spec, teacher, zone=ZONE)
    # Clocks go forward at 02:00 on 27 Sep 2026: 02:30 never happens there.
    r = assign(spec, teacher, cls["id"], expect=400, due_at="2026-09-27T02:30")
    err = r["error"]
    assert err["field"] == "due_at" and "does not exist in Pacific/Auckland" in err["message"]
    # Clocks go back at 03:00 on 5 Apr 2026: 02:30 happens twice; the later one counts.
    a = assign(spec, teacher, cls["id"], opens_at="2026-03-20T09:00", due_at="2026-04-05T02:30")
    assert a["due_at"] == "2026-04-04T14:30:00.000Z" and a["due_at_local"] == "2026-04-05T02:30:00"
    # An instant with an offset is taken as it is.
    b = assign(spec, teacher, cls["id"], opens_at="2026-03-20T09:00",
               due_at="2026-04-01T12:00:00+02:00")
    assert b["due_at"] == "2026-04-01T10:00:00.000Z" and b["due_at_local"] == "2026-04-01T23:00:00"
    for bad in ("2026-02-30T10:00", "next friday", "2026-04-01", "2026-04-01T24:00"):
        r = assign(spec, teacher, cls["id"], expect=400, due_at=bad)
        assert r["error"]["field"] == "due_at", (bad, r)
    r = assign(spec, teacher, cls["id"], expect=400, opens_at="2026-04-02T10:00",
               due_at="2026-04-01T10:00")
    assert (r["error"]["field"], r["error"]["message"]) == ("due_at", "must be after opens_at")
    r = assign(spec, teacher, cls["id"], expect=400, due_at="2026-04-01T10:00",
               late_policy="penalty")
    assert r["error"]["field"] == "late_penalty_percent"
    r = assign(spec, teacher, cls["id"], tasks=["no-such-task"], expect=400,
               due_at="2026-04-01T10:00")
    assert (r["error"]["field"], r["error"]["message"]) == \
        ("task_slugs[0]", 'no active task "no-such-task"')
