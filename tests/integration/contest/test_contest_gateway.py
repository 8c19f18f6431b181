"""/api/v1/contests through the real gateway, content and gamification: what
a public viewer, a participant and the jury see and may do, in the order of
a contest's life (the shared clock file moves it): the list and the page
before the start (no problems yet, contest-only tasks hidden), registration
(a new team, a team's join code, an invitation code), the time rules of
submitting (refused before the start, counted and queued on the contest
stream during it, practice on the ordinary stream after the end), the
scoreboard frozen for the public but not for the jury while a team still sees
its own results, clarifications, the jury's reads with code and per-test
results, rejudge, override with its reason in the audit log, and the reveal,
thaw and finalisation. Every response is checked against docs/openapi.yaml.

No executor runs here: the tests read the job the gateway queued and record
its verdict the way the executor would (Gamification.RecordResult)."""
import pytest

import contestkit as ck
import gwkit
from dojo.executor.v1 import executor_pb2
from dojo.gamification.v1 import gamification_pb2 as gpb

SLUG = "gw-live"
BASE = f"/api/v1/contests/{SLUG}"
T0 = ck.GW_START_S
DURATION_S = 2 * 3600
FREEZE_S = DURATION_S - 30 * 60

SPEC = gwkit.Spec()


class Api:
    """A client whose every answer is checked against the OpenAPI document."""

    def __init__(self, client):
        self.c = client

    def call(self, method, path, body=None):
        r = self.c.call(method, path, body)
        SPEC.check(method, path, r)
        return r

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None):
        return self.call("POST", path, body if body is not None else {})

    def put(self, path, body=None):
        return self.call("PUT", path, body if body is not None else {})


def expect(r, status, code=None, field=None):
    assert r.status == status, r
    if code:
        assert r.json["error"]["code"] == code, r
    if field:
        assert r.json["error"]["field"] == field, r
    return r


class Live:
    """The people of the contest and what they did, shared by the tests."""


@pytest.fixture(scope="module")
def live(cgw, cstack, cclock, auth):
    cclock.set(T0 - 3600)
    lv = Live()
    lv.gw = cgw
    lv.clock = cclock
    lv.game = cstack["game"].client
    lv.redis = gwkit.Redis(cstack["redis"])
    # Where the job streams were, so that teardown removes exactly what this
    # module queued (no executor may ever see it).
    lv.marks = {}
    for stream in ("dojo:jobs", "dojo:jobs:contest"):
        last = lv.redis.cmd("XREVRANGE", stream, "+", "-", "COUNT", "1")
        lv.marks[stream] = last[0][0] if last else b"0-0"
    lv.public = Api(gwkit.Client(cgw.addr))
    lv.people = {}
    for name in ("ann", "bob", "cat", "dan", "eve"):
        c, _, acct = gwkit.register(cgw.addr)
        me = c.get("/api/v1/me").json["user"]
        c.account = dict(acct, id=me["id"])
        lv.people[name] = Api(c)
    c, _, acct = gwkit.register(cgw.addr, session="token")
    res = auth.run_cli("set-role", acct["username"], "admin")
    assert res.returncode == 0, res.stderr
    login = gwkit.Client(cgw.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"], "session": "token"})
    assert login.status == 200, login
    lv.admin = Api(gwkit.Client(cgw.addr, bearer=login.json["access_token"]))
    yield lv
    for stream, mark in lv.marks.items():
        for entry_id, _ in lv.redis.cmd("XRANGE", stream, b"(" + mark, "+"):
            lv.redis.cmd("XDEL", stream, entry_id)
    lv.redis.close()


def queued_jobs(lv, stream):
    """The jobs queued on `stream` since the module started."""
    out = []
    for _, fields in lv.redis.cmd("XRANGE", stream, b"(" + lv.marks[stream], "+"):
        f = dict(zip(fields[::2], fields[1::2]))
        out.append(executor_pb2.Job.FromString(f[b"job"]))
    return out


def take_job(lv, stream, submission_id):
    """The job the gateway queued for `submission_id` on `stream`."""
    return next((j for j in queued_jobs(lv, stream) if j.submission_id == submission_id), None)


def judge(lv, submission_id, verdict, at_s):
    """Records a verdict as the executor would: four tests, hidden ones too."""
    ok = verdict == ck.AC
    tests = [gpb.TestResult(index=i, name="t0" if i == 0 else f"hidden-{i}", hidden=i > 0,
                            weight=ck.WEIGHTS[i], group=ck.GROUPS[i],
                            verdict=ck.AC if ok or i == 0 else verdict, cpu_ms=10 + i,
                            output_excerpt="0\n" if i == 0 else "")
             for i in range(4)]
    req = gpb.RecordResultRequest(
        submission_id=submission_id, verdict=verdict, tests=tests,
        score=sum(t.weight for t in tests if t.verdict == ck.AC),
        max_score=sum(ck.WEIGHTS), executor_id="test")
    req.started_at.unix_micros = int(at_s * 1e6)
    req.finished_at.unix_micros = int(at_s * 1e6)
    lv.game.call("RecordResult", req)


def submit(lv, who, problem, at_s, code="print(input())\n"):
    lv.clock.set(T0 + at_s)
    return lv.people[who].post(f"{BASE}/submissions", {
        "problem_id": problem, "language": "python3", "code": code})


def row_of(board, team_id):
    return next(r for r in board["rows"] if r["team_id"] == team_id)


# ---------------------------------------------------------------------------
# Before the start


def test_the_list_and_the_page_show_no_problems_before_the_start(live):
    r = live.public.get("/api/v1/contests")
    assert r.status == 200, r
    mine = {c["slug"]: c for c in r.json["contests"]}
    assert {SLUG, "gw-invite"} <= set(mine)
    c = mine[SLUG]
    assert c["phase"] == "scheduled" and c["access"] == "public"
    assert c["problem_count"] == 2 and "problems" not in c
    assert c["start"] == "2026-07-01T09:00:00.000Z" and c["end"] == "2026-07-01T11:00:00.000Z"

    page = live.public.get(BASE).json
    assert page["problems"] == [] and page["can_register"] is False
    assert page["registration"] == "open" and page["freeze_minutes"] == 30
    assert page["organizations"][0]["id"] == "org-gw"
    signed_in = live.people["ann"].get(BASE).json
    assert signed_in["can_register"] is True and signed_in["my_team"] is None

    expect(live.public.get(f"{BASE}/problems/A"), 404, "not_found")
    assert live.public.get(f"{BASE}/problems").json["problems"] == []
    # The contest-only task is hidden from learners until the start.
    expect(live.people["ann"].get(f"/api/v1/tasks/{ck.GW_SECRET_TASK}"), 404, "not_found")
    expect(live.public.get("/api/v1/contests/no-such-contest"), 404, "not_found")
    expect(live.public.get("/api/v1/contests/Not_A_Slug"), 404, "not_found")
    # The jury sees the problem set before the start.
    jury = live.admin.get(BASE).json
    assert jury["access"] == "jury" and [p["id"] for p in jury["problems"]] == ["A", "B"]
    assert jury["problems"][0]["rgb"] == "#ff0000" and jury["problems"][0]["color"] == "red"
    stmt = live.admin.get(f"{BASE}/problems/B").json
    assert stmt["task"]["slug"] == ck.GW_SECRET_TASK


def test_registration_by_team_join_code_and_invitation(live):
    ann, bob, cat = live.people["ann"], live.people["bob"], live.people["cat"]
    expect(live.public.post(f"{BASE}/register", {"team_name": "Nobody"}), 401, "unauthenticated")
    r = expect(ann.post(f"{BASE}/register", {"team_name": "Alpha", "organization_id": "org-gw"}),
               201)
    team = r.json["team"]
    assert team["name"] == "Alpha" and team["organization_id"] == "org-gw"
    assert team["join_code"] and [m["user_id"] for m in team["members"]] == [
        ann.c.account["id"]]
    expect(ann.post(f"{BASE}/register", {"team_name": "Again"}), 409, "failed_precondition")
    r = expect(cat.post(f"{BASE}/register", {"join_code": "not-a-code"}), 404, "not_found")
    assert "join_code" in r.json["error"]["message"]
    joined = expect(bob.post(f"{BASE}/register", {"join_code": team["join_code"]}), 201).json
    assert joined["team"]["id"] == team["id"] and len(joined["team"]["members"]) == 2
    beta = expect(cat.post(f"{BASE}/register", {"team_name": "Beta"}), 201).json["team"]
    live.alpha, live.beta = team["id"], beta["id"]

    page = ann.get(BASE).json
    assert page["access"] == "team" and page["my_team"]["id"] == live.alpha
    assert page["can_register"] is False and page["team_count"] == 2
    teams = live.public.get(f"{BASE}/teams").json
    assert {t["name"] for t in teams["teams"]} == {"Alpha", "Beta"}
    assert all(t["join_code"] is None and t["members"] == [] for t in teams["teams"])

    inv = "/api/v1/contests/gw-invite/register"
    expect(live.people["dan"].post(inv, {"team_name": "Gamma"}), 403, "permission_denied")
    expect(live.people["dan"].post(inv, {"team_name": "Gamma", "invite_code": "wrong one"}),
           403, "permission_denied")
    expect(live.people["dan"].post(inv, {"team_name": "Gamma",
                                         "invite_code": "gateway sesame"}), 201)


# ---------------------------------------------------------------------------
# Submitting within the contest's time rules


def test_a_submission_before_the_start_is_refused(live):
    r = expect(submit(live, "ann", "A", -60), 409, "failed_precondition")
    assert "not started" in r.json["error"]["message"]


def test_submissions_during_the_contest_count_and_go_to_the_contest_queue(live):
    live.subs = {}
    live.clock.set(T0 + 60)
    probs = live.people["ann"].get(f"{BASE}/problems").json["problems"]
    assert [(p["id"], p["name"]) for p in probs] == [("A", "Problem A"), ("B", "Secret problem")]
    stmt = live.people["ann"].get(f"{BASE}/problems/B").json
    assert stmt["problem"]["task_slug"] == ck.GW_SECRET_TASK
    assert stmt["task"]["slug"] == ck.GW_SECRET_TASK
    assert len(stmt["task"]["sample_tests"]) == 1 and stmt["task"]["hidden_test_count"] == 3

    expect(submit(live, "ann", "Z", 120), 400, "invalid_argument", "problem_id")
    expect(live.people["ann"].post(f"{BASE}/submissions", {
        "problem_id": "A", "language": "cobol", "code": "x"}), 400, "invalid_argument",
        "language")
    expect(live.people["ann"].post(f"{BASE}/submissions", {
        "problem_id": "A", "language": "python3", "code": ""}), 400, "invalid_argument", "code")
    expect(live.public.post(f"{BASE}/submissions", {
        "problem_id": "A", "language": "python3", "code": "print(1)\n"}), 401)
    r = expect(submit(live, "eve", "A", 130), 409, "failed_precondition")
    assert "register" in r.json["error"]["message"]

    # Alpha: A wrong at 10 min, right at 30 min (penalty 20); Beta: B right at 40 min.
    for key, who, prob, at_s, verdict in [("a1", "ann", "A", 600, ck.WA),
                                          ("a2", "bob", "A", 1800, ck.AC),
                                          ("b1", "cat", "B", 2400, ck.AC)]:
        r = expect(submit(live, who, prob, at_s), 202)
        s = r.json
        assert s["counted"] is True and s["state"] == "pending" and s["problem_id"] == prob
        assert r.header("Location") == f"{BASE}/submissions/{s['id']}"
        job = take_job(live, "dojo:jobs:contest", s["submission_id"])
        assert job is not None, "a counted submission goes on dojo:jobs:contest"
        assert take_job(live, "dojo:jobs", s["submission_id"]) is None
        assert job.task_slug == (ck.GW_SECRET_TASK if prob == "B" else "sim-a")
        assert job.task_version == 1 and job.language == "python3"
        # An ICPC contest: judged to the first failing test, whatever the
        # task says (its tasks do not stop early by themselves).
        assert job.stop_at_first_failure is True
        judge(live, s["submission_id"], verdict, T0 + at_s + 5)
        live.subs[key] = s


def test_the_frozen_board_hides_the_freeze_from_the_public_but_not_from_the_jury(live):
    # Beta solves A during the freeze; Alpha's B stays unjudged.
    s = expect(submit(live, "cat", "A", FREEZE_S + 300), 202).json
    judge(live, s["submission_id"], ck.AC, T0 + FREEZE_S + 305)
    live.subs["b2"] = s
    live.clock.set(T0 + FREEZE_S + 600)

    public = live.public.get(f"{BASE}/scoreboard").json
    assert public["frozen"] is True and public["audience"] == "public"
    assert public["scoring"] == "icpc" and public["state"]["frozen"] is not None
    beta = row_of(public, live.beta)
    cell_a = beta["problems"][0]
    assert cell_a["problem_id"] == "A" and cell_a["solved"] is False and cell_a["num_pending"] == 1
    assert beta["num_solved"] == 1
    alpha = row_of(public, live.alpha)
    assert alpha["num_solved"] == 1 and alpha["total_minutes"] == 30 + 20
    assert alpha["problems"][0]["time_ms"] == 1800 * 1000
    assert alpha["problems"][0]["first_to_solve"] is True

    # A team sees the public board too, and its own results in its submissions.
    team_board = live.people["cat"].get(f"{BASE}/scoreboard").json
    assert team_board["frozen"] is True and row_of(team_board, live.beta)["num_solved"] == 1
    own = live.people["cat"].get(f"{BASE}/submissions").json
    assert own["access"] == "team" and {x["team_id"] for x in own["submissions"]} == {live.beta}
    frozen_one = next(x for x in own["submissions"] if x["id"] == s["id"])
    assert frozen_one["judgement"]["verdict"] == "ac"

    jury = live.admin.get(f"{BASE}/scoreboard").json
    assert jury["frozen"] is False and jury["audience"] == "jury"
    assert row_of(jury, live.beta)["num_solved"] == 2
    assert [r["team_id"] for r in jury["rows"]][0] == live.beta
    jury_public = live.admin.get(f"{BASE}/scoreboard?public=true").json
    assert jury_public["frozen"] is True and jury_public["rows"] == public["rows"]


def test_the_jury_reads_every_submission_with_code_and_per_test_results(live):
    expect(live.public.get(f"{BASE}/submissions"), 401, "unauthenticated")
    mine = live.people["ann"].get(f"{BASE}/submissions").json["submissions"]
    assert {x["team_id"] for x in mine} == {live.alpha}
    expect(live.people["ann"].get(f"{BASE}/submissions/{live.subs['b1']['id']}"), 404,
           "not_found")

    every = live.admin.get(f"{BASE}/submissions").json
    assert every["access"] == "jury"
    assert {x["id"] for x in every["submissions"]} >= {v["id"] for v in live.subs.values()}
    only_a = live.admin.get(f"{BASE}/submissions?problem_id=A").json["submissions"]
    assert only_a and all(x["problem_id"] == "A" for x in only_a)

    one = live.admin.get(f"{BASE}/submissions/{live.subs['a1']['id']}").json
    assert one["code"] == "print(input())\n" and one["team_id"] == live.alpha
    assert one["contest_time_ms"] == 600 * 1000 and one["counted"] is True
    j = one["judgement"]
    assert j["verdict"] == "wa" and j["kind"] == "judge" and j["current"] is True
    assert [t["verdict"] for t in j["tests"]] == ["ac", "wa", "wa", "wa"]
    assert [t["name"] for t in j["tests"]] == ["t0", "hidden-1", "hidden-2", "hidden-3"]
    assert all(t["output_excerpt"] == "" for t in j["tests"] if t["hidden"])
    assert len(one["judgements"]) == 1
    by_uuid = live.admin.get(f"{BASE}/submissions/{live.subs['a1']['submission_id']}").json
    assert by_uuid["id"] == one["id"]
    judgements = live.admin.get(
        f"{BASE}/judgements?submission_id={live.subs['a1']['id']}").json["judgements"]
    assert [x["verdict"] for x in judgements] == ["wa"]

    # The jury named by an admin may read everything too.
    dan = live.people["dan"]
    expect(dan.get(f"{BASE}/audit"), 403, "permission_denied")
    r = expect(live.admin.put(f"{BASE}/jury/{dan.c.account['id']}", {"jury": True}), 200)
    assert dan.c.account["id"] in [m["user_id"] for m in r.json["jury"]]
    assert dan.get(BASE).json["access"] == "jury"
    assert len(dan.get(f"{BASE}/submissions").json["submissions"]) == len(every["submissions"])


def test_override_needs_a_reason_and_lands_in_the_audit_log(live):
    sid = live.subs["a1"]["id"]
    path = f"{BASE}/submissions/{sid}/override"
    expect(live.people["ann"].post(path, {"verdict": "ac", "reason": "mine"}), 403,
           "permission_denied")
    expect(live.admin.post(path, {"verdict": "ac"}), 400, "invalid_argument", "reason")
    expect(live.admin.post(path, {"verdict": "great", "reason": "x"}), 400, "invalid_argument",
           "verdict")
    r = expect(live.admin.post(path, {"verdict": "ac", "reason": "checker bug on test 2"}), 200)
    assert r.json["kind"] == "override" and r.json["verdict"] == "ac"
    assert r.json["reason"] == "checker bug on test 2"
    assert r.json["actor_id"] is not None

    one = live.admin.get(f"{BASE}/submissions/{sid}").json
    assert one["judgement"]["kind"] == "override"
    assert [x["kind"] for x in one["judgements"]] == ["judge", "override"]
    jury = live.admin.get(f"{BASE}/scoreboard").json
    alpha = row_of(jury, live.alpha)
    assert alpha["problems"][0]["time_ms"] == 600 * 1000 and alpha["total_minutes"] == 10

    entries = live.admin.get(f"{BASE}/audit").json["entries"]
    e = next(x for x in entries if x["action"] == "override")
    assert e["reason"] == "checker bug on test 2"
    assert (e["from_verdict"], e["to_verdict"]) == ("wa", "ac")
    assert e["target"] == f"submission {sid}"


def test_rejudge_takes_exactly_one_target(live):
    path = f"{BASE}/rejudge"
    expect(live.people["cat"].post(path, {"all": True, "reason": "please"}), 403,
           "permission_denied")
    expect(live.admin.post(path, {"reason": "nothing named"}), 400, "invalid_argument")
    expect(live.admin.post(path, {"all": True, "problem_id": "A", "reason": "two"}), 400,
           "invalid_argument")
    expect(live.admin.post(path, {"submission_id": live.subs["b1"]["id"]}), 400,
           "invalid_argument", "reason")
    r = expect(live.admin.post(path, {"submission_id": live.subs["b1"]["id"],
                                      "reason": "new tests"}), 202)
    assert r.json["queued"] == 1
    one = live.admin.get(f"{BASE}/submissions/{live.subs['b1']['id']}").json
    assert [x["kind"] for x in one["judgements"]] == ["judge", "rejudge"]
    assert one["judgements"][1]["verdict"] is None and one["judgement"]["kind"] == "judge"
    # The rejudge's job is on the ordinary queue, named by the new judgement;
    # judged again, it becomes the current judgement.
    job = next(j for j in queued_jobs(live, "dojo:jobs") if j.task_slug == ck.GW_SECRET_TASK)
    assert job.stop_at_first_failure is True
    judge(live, job.submission_id, ck.AC, T0 + FREEZE_S + 700)
    one = live.admin.get(f"{BASE}/submissions/{live.subs['b1']['id']}").json
    assert one["judgement"]["kind"] == "rejudge" and one["judgement"]["verdict"] == "ac"
    assert any(x["action"] == "rejudge" and x["reason"] == "new tests"
               for x in live.admin.get(f"{BASE}/audit").json["entries"])


def test_clarifications_reach_whom_they_are_for(live):
    path = f"{BASE}/clarifications"
    q = expect(live.people["ann"].post(path, {"text": "Is the input one line?",
                                              "problem_id": "A"}), 201).json
    assert q["from_team_id"] == live.alpha and q["problem_id"] == "A"
    expect(live.people["ann"].post(path, {"text": ""}), 400, "invalid_argument", "text")
    expect(live.public.post(path, {"text": "hello"}), 401)
    assert q["id"] not in [c["id"] for c in live.public.get(path).json["clarifications"]]
    assert q["id"] not in [c["id"] for c in live.people["cat"].get(path).json["clarifications"]]

    private = expect(live.admin.post(path, {"text": "Yes.", "reply_to_id": q["id"]}), 201).json
    assert private["to_team_id"] == live.alpha and private["reply_to_id"] == q["id"]
    everyone = expect(live.admin.post(path, {"text": "Yes, one line.", "reply_to_id": q["id"],
                                             "to_all": True}), 201).json
    news = expect(live.admin.post(path, {"text": "Ten minutes left."}), 201).json
    assert news["announcement"] is True

    ids = lambda who: [c["id"] for c in who.get(path).json["clarifications"]]  # noqa: E731
    assert set(ids(live.people["ann"])) >= {q["id"], private["id"], everyone["id"], news["id"]}
    cat = ids(live.people["cat"])
    assert everyone["id"] in cat and news["id"] in cat and private["id"] not in cat
    pub = ids(live.public)
    assert everyone["id"] in pub and news["id"] in pub and private["id"] not in pub
    assert set(ids(live.admin)) >= {q["id"], private["id"], everyone["id"], news["id"]}


# ---------------------------------------------------------------------------
# After the end


def test_after_the_end_submissions_are_practice_on_the_ordinary_queue(live):
    expect(live.admin.post(f"{BASE}/thaw"), 409, "failed_precondition")
    r = expect(submit(live, "bob", "B", DURATION_S + 60), 202)
    s = r.json
    assert s["counted"] is False
    job = take_job(live, "dojo:jobs", s["submission_id"])
    assert job is not None and job.stop_at_first_failure is True  # judged as in the contest
    assert take_job(live, "dojo:jobs:contest", s["submission_id"]) is None
    judge(live, s["submission_id"], ck.AC, T0 + DURATION_S + 65)
    board = live.admin.get(f"{BASE}/scoreboard").json
    assert row_of(board, live.alpha)["num_solved"] == 1
    page = live.public.get(BASE).json
    assert page["phase"] == "ended" and page["state"]["ended"] is not None


def test_the_jury_reveals_thaws_and_finalizes(live):
    expect(live.people["ann"].post(f"{BASE}/reveal"), 403, "permission_denied")
    expect(live.admin.post(f"{BASE}/finalize"), 409, "failed_precondition")
    step = expect(live.admin.post(f"{BASE}/reveal"), 200).json
    assert step["done"] is False
    assert (step["team_id"], step["problem_id"]) == (live.beta, "A")
    assert row_of(step["scoreboard"], live.beta)["num_solved"] == 2
    public = live.public.get(f"{BASE}/scoreboard").json
    assert row_of(public, live.beta)["problems"][0]["solved"] is True

    # That was the last frozen result: the board is thawed.
    assert step["scoreboard"]["frozen"] is False
    assert step["scoreboard"]["state"]["thawed"] is not None
    expect(live.admin.post(f"{BASE}/reveal"), 409, "failed_precondition")
    expect(live.admin.post(f"{BASE}/thaw"), 409, "failed_precondition")
    st = expect(live.admin.post(f"{BASE}/finalize"), 200).json["state"]
    assert st["finalized"] is not None and st["thawed"] is not None
    public = live.public.get(f"{BASE}/scoreboard").json
    assert public["frozen"] is False
    assert {a["id"]: a["team_ids"] for a in public["awards"]}["winner"] == [live.beta]
    assert public["rows"][0]["team_id"] == live.beta and public["rows"][0]["rank"] == 1
