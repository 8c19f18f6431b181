"""A simulated contest in compressed time, against the real content and
gamification services: 50 teams, 10 problems and a scripted set of
submissions, the clock moved by DOJO_CLOCK_FILE to each submission's
instant. The final ICPC and IOI standings equal the ones computed here
(contestkit.expected_board, an implementation of the rules of its own);
the public board hides exactly the results of the freeze and the jury's
step-by-step reveal uncovers them resolver-style; awards, rejudges,
overrides with their audit log, clarifications, and the event log
replaying to what the reads return, for the jury, a team and the public."""
import time

import grpc
import pytest

import contestkit as ck
import gamekit
from dojo.gamification.v1 import gamification_pb2 as gpb

Status = grpc.StatusCode
N_TEAMS = 50
JURY, TEAM, PUBLIC = (gpb.CONTEST_ACCESS_JURY, gpb.CONTEST_ACCESS_TEAM,
                      gpb.CONTEST_ACCESS_PUBLIC)


def expect_status(code, fn, *a, **kw):
    with pytest.raises(grpc.RpcError) as ei:
        fn(*a, **kw)
    assert ei.value.code() == code, f"expected {code}, got {ei.value.code()}: {ei.value.details()}"
    return ei.value.details()


class Sim:
    """Teams of one simulated contest and the submissions made."""

    def __init__(self, gc, clock, slug, real_users):
        self.gc, self.clock, self.slug = gc, clock, slug
        self.users, self.team_ids, self.names = [], [], []
        for i in range(N_TEAMS):
            if i < len(real_users):
                user = real_users[i]["id"]
            else:
                user = gamekit.new_user()
                gc.profile(user, display_name=f"member {i}")
            t = gc.call("PutContestTeam", gpb.PutContestTeamRequest(
                slug=slug, name=f"Team {i:02d}", organization_id=f"org-{i % 5}",
                group_ids=["site-north" if i % 2 else "site-south"], member_user_ids=[user])).team
            self.users.append(user)
            self.team_ids.append(t.id)
            self.names.append(t.name)

    def submit(self, s):
        self.clock.set(ck.START_S + s.t)
        code = f"print({s.team}*{s.problem}+{s.t})\n"
        r = self.gc.call("CreateSubmission", gpb.CreateSubmissionRequest(
            user_id=self.users[s.team], contest_slug=self.slug, problem_id=ck.LABELS[s.problem],
            language="python3", code=code, code_hash=ck.code_hash(code),
            kind=gpb.SUBMISSION_KIND_SUBMIT))
        assert r.contest_counted == (s.t < ck.DURATION_S), (s.t, r)
        # ICPC submissions are judged to their first failure (the verdict is
        # its); IOI ones run every test (the groups passed are the score).
        assert r.stop_at_first_failure == (not self.slug.startswith("sim-ioi")), (self.slug, r)
        assert r.contest_team_id == self.team_ids[s.team]
        assert r.task_slug == ck.TASKS[s.problem] and r.task_version == 1
        s.seq, s.sub_id = r.contest_submission_id, r.submission_id
        s.seq_by = getattr(s, "seq_by", {})
        s.seq_by[self.slug] = s.seq
        if s.verdict is not None:
            tests = s.tests()
            req = gpb.RecordResultRequest(
                submission_id=s.sub_id, verdict=s.verdict, tests=tests,
                score=sum(t.weight for t in tests if t.verdict == ck.AC),
                max_score=sum(t.weight for t in tests), executor_id="sim")
            req.started_at.unix_micros = int((ck.START_S + s.t) * 1e6)
            req.finished_at.unix_micros = int((ck.START_S + s.t) * 1e6)
            self.gc.call("RecordResult", req)

    def board(self, **kw):
        return self.gc.call("GetScoreboard", gpb.GetScoreboardRequest(slug=self.slug, **kw),
                            **({"token": kw.pop("token")} if "token" in kw else {})).scoreboard

    def expected(self, subs, **kw):
        return ck.strip(ck.expected_board(subs, self.team_ids, self.names, **kw))


@pytest.fixture(scope="module")
def real_users(auth, cstack):
    """Two signed-in learners (with profiles in gamification) for team access."""
    out = []
    for i in range(2):
        acct, pair = auth.client.new_session()
        cstack["game"].client.profile(acct.user.id, display_name=acct.username)
        out.append({"id": acct.user.id, "token": pair.access_token, "name": acct.username})
    return out


@pytest.fixture(scope="module")
def icpc(cstack, cclock, real_users):
    gc = cstack["game"].client
    cclock.set(ck.START_S - 600)
    sim = Sim(gc, cclock, "sim-icpc", real_users)
    subs = ck.script(N_TEAMS)
    freeze = ck.DURATION_S - ck.FREEZE_MIN * 60
    mid = freeze + 1800
    done = [s for s in subs if s.t < mid]
    for s in done:
        sim.submit(s)
    cclock.set(ck.START_S + mid)
    sim.mid_public = sim.board(public_view=True)
    sim.mid_jury = sim.board()
    sim.mid_subs = list(done)
    for s in subs[len(done):]:
        sim.submit(s)
    sim.subs = subs
    sim.real_token = real_users[0]["token"]
    cclock.set(ck.START_S + ck.DURATION_S + 3600)
    return sim


def first_to_solve(subs, team_ids, hide_from=None):
    out = {}
    for p, label in enumerate(ck.LABELS):
        winner = []
        for s in sorted((s for s in subs if s.problem == p and s.t < ck.DURATION_S),
                        key=lambda s: (s.t, int(s.seq))):
            pending = s.verdict is None or (hide_from is not None and s.t >= hide_from)
            if pending:
                break
            if s.verdict == ck.AC:
                winner = [team_ids[s.team]]
                break
        out[f"first-to-solve-{label}"] = winner
    return out


def test_icpc_standings_equal_the_hand_computed_result(icpc):
    sb = icpc.board()
    assert sb.audience == JURY and not sb.frozen
    assert ck.board_rows(sb) == icpc.expected(icpc.subs)
    assert len(sb.rows) == N_TEAMS
    awards = {a.id: list(a.team_ids) for a in sb.awards}
    exp = ck.expected_board(icpc.subs, icpc.team_ids, icpc.names)
    assert awards["winner"] == [r["team"] for r in exp if r["rank"] == 1 and r["solved"]]
    assert awards["gold-medal"] == [r["team"] for r in exp if r["rank"] <= 4 and r["solved"]]
    assert awards["silver-medal"] == [r["team"] for r in exp if 4 < r["rank"] <= 8 and r["solved"]]
    for k, v in first_to_solve(icpc.subs, icpc.team_ids).items():
        assert awards[k] == v, k
    # First-to-solve marks on the cells agree with the awards.
    marked = {(r.team_id, c.problem_id) for r in sb.rows for c in r.problems if c.first_to_solve}
    assert marked == {(v[0], k.rsplit("-", 1)[1]) for k, v in awards.items()
                      if k.startswith("first-to-solve") and v}


def test_the_frozen_board_hides_exactly_the_freeze(icpc):
    freeze = ck.DURATION_S - ck.FREEZE_MIN * 60
    # Half an hour into the freeze: the public sees judged results up to the
    # freeze and the rest as pending; the jury sees everything.
    assert icpc.mid_public.frozen and icpc.mid_public.audience == PUBLIC
    assert ck.board_rows(icpc.mid_public) == icpc.expected(icpc.mid_subs, hide_from=freeze)
    assert ck.board_rows(icpc.mid_jury) == icpc.expected(icpc.mid_subs)
    frozen_results = [s for s in icpc.mid_subs if s.t >= freeze and s.verdict is not None]
    assert frozen_results, "the script must judge submissions during the freeze"
    assert ck.board_rows(icpc.mid_public) != ck.board_rows(icpc.mid_jury)
    # After the end, still frozen until the jury acts.
    pub = icpc.board(public_view=True)
    assert pub.frozen and pub.state.HasField("ended") and not pub.state.HasField("thawed")
    assert ck.board_rows(pub) == icpc.expected(icpc.subs, hide_from=freeze)
    # A team sees the public board; its own results it sees in its submissions.
    team_board = icpc.gc.call("GetScoreboard", gpb.GetScoreboardRequest(slug="sim-icpc"),
                              token=icpc.real_token).scoreboard
    assert team_board.frozen and team_board.audience == PUBLIC
    assert ck.board_rows(team_board) == ck.board_rows(pub)
    mine = icpc.gc.call("ListContestSubmissions", gpb.ListContestSubmissionsRequest(
        slug="sim-icpc", limit=5000), token=icpc.real_token).submissions
    own = [s for s in icpc.subs if s.team == 0 and s.verdict is not None]
    assert {x.id for x in mine} == {s.seq for s in icpc.subs if s.team == 0}
    by_id = {x.id: x for x in mine}
    for s in own:  # verdicts of the freeze included
        assert by_id[s.seq].judgement.verdict == s.verdict
    # The public sees no submissions at all.
    none = icpc.gc.call("ListContestSubmissions", gpb.ListContestSubmissionsRequest(
        slug="sim-icpc"), service=False)
    assert none.access == PUBLIC and not none.submissions


def test_the_jury_reveals_the_freeze_step_by_step_resolver_style(icpc):
    freeze = ck.DURATION_S - ck.FREEZE_MIN * 60
    revealed = set()
    steps = 0
    while True:
        order = ck.expected_board(icpc.subs, icpc.team_ids, icpc.names, hide_from=freeze,
                                  revealed=revealed)
        want = None
        for row in reversed(order):
            t = icpc.team_ids.index(row["team"])
            for p, label in enumerate(ck.LABELS):
                if (row["team"], label) in revealed:
                    continue
                if any(s.team == t and s.problem == p and freeze <= s.t < ck.DURATION_S
                       for s in icpc.subs):
                    want = (row["team"], label)
                    break
            if want:
                break
        if want is None:
            # The last reveal thawed the board: nothing is left to reveal.
            expect_status(Status.FAILED_PRECONDITION, icpc.gc.call, "RevealNext",
                          gpb.RevealNextRequest(slug="sim-icpc"))
            break
        r = icpc.gc.call("RevealNext", gpb.RevealNextRequest(slug="sim-icpc"))
        assert (r.team_id, r.problem_id) == want, f"step {steps}"
        revealed.add(want)
        steps += 1
        assert ck.board_rows(r.scoreboard) == icpc.expected(icpc.subs, hide_from=freeze,
                                                           revealed=revealed), f"step {steps}"
        assert steps < 400
    assert steps > 0
    pub = icpc.board(public_view=True)
    assert pub.state.HasField("thawed") and not pub.frozen
    assert ck.board_rows(pub) == ck.board_rows(icpc.board())
    expect_status(Status.FAILED_PRECONDITION, icpc.gc.call, "ThawContest",
                  gpb.ThawContestRequest(slug="sim-icpc"))
    audit = icpc.gc.call("ListContestAudit", gpb.ListContestAuditRequest(slug="sim-icpc")).entries
    assert sum(e.action == "reveal" for e in audit) == steps
    assert any(e.action == "thaw" for e in audit)


def test_ioi_standings_best_and_last_equal_the_hand_computed_result(cstack, cclock, real_users):
    gc = cstack["game"].client
    subs = ck.script(N_TEAMS, seed=5, ioi=True)
    sims = {}
    for slug in ("sim-ioi", "sim-ioi-last"):
        cclock.set(ck.START_S - 600)
        sims[slug] = Sim(gc, cclock, slug, [])
    for s in subs:
        for slug, sim in sims.items():
            sim.submit(s)
    cclock.set(ck.START_S + ck.DURATION_S + 60)
    best, last = sims["sim-ioi"], sims["sim-ioi-last"]
    b = best.board()
    assert b.scoring == 2 and ck.board_rows(b) == best.expected(subs, scoring="ioi")
    l = last.board()
    assert ck.board_rows(l) == last.expected(subs, scoring="ioi", ioi_mode="last")
    assert ck.board_rows(b) != ck.board_rows(l), "the script must tell best from last"
    # The judgements carry the points of the groups passed whole.
    j = gc.call("ListContestJudgements", gpb.ListContestJudgementsRequest(slug="sim-ioi"))
    got = {x.submission_id: round(x.score * 100) for x in j.judgements}
    want = {s.seq_by["sim-ioi"]: ck.ioi_score_c(s.tests_ok) for s in subs if s.verdict is not None}
    assert got == want


def test_time_rules_registration_and_the_pending_cap(cstack, cclock, auth):
    gc = cstack["game"].client
    users = []
    for _ in range(3):
        acct, pair = auth.client.new_session()
        uid = acct.user.id
        gc.profile(uid, display_name=acct.username)
        users.append((uid, pair.access_token))
    cclock.set(ck.START_S - 60)
    view = gc.call("GetContestView", gpb.GetContestViewRequest(slug="rules"),
                   token=users[0][1]).view
    assert view.can_register and view.access == PUBLIC and view.contest.invite_code_sha256 == ""
    assert not view.state.HasField("started")
    detail = expect_status(Status.PERMISSION_DENIED, gc.call, "RegisterContest",
                           gpb.RegisterContestRequest(slug="rules", invite_code="guess"),
                           token=users[0][1])
    assert "invitation code" in detail
    team = gc.call("RegisterContest", gpb.RegisterContestRequest(
        slug="rules", invite_code="open sesame", team_name="Owls"), token=users[0][1]).team
    assert team.name == "Owls" and len(team.members) == 1 and team.join_code
    joined = gc.call("RegisterContest", gpb.RegisterContestRequest(
        slug="rules", join_code=team.join_code), token=users[1][1]).team
    assert joined.id == team.id and len(joined.members) == 2
    expect_status(Status.RESOURCE_EXHAUSTED, gc.call, "RegisterContest",
                  gpb.RegisterContestRequest(slug="rules", join_code=team.join_code),
                  token=users[2][1])
    expect_status(Status.FAILED_PRECONDITION, gc.call, "RegisterContest",
                  gpb.RegisterContestRequest(slug="rules", invite_code="open sesame"),
                  token=users[0][1])
    expect_status(Status.NOT_FOUND, gc.call, "RegisterContest",
                  gpb.RegisterContestRequest(slug="rules", join_code="nosuchcode"),
                  token=users[2][1])

    def create(user, code="print(1)\n"):
        return gc.call("CreateSubmission", gpb.CreateSubmissionRequest(
            user_id=user, contest_slug="rules", problem_id="A", language="python3", code=code,
            code_hash=ck.code_hash(code), kind=gpb.SUBMISSION_KIND_SUBMIT))

    detail = expect_status(Status.FAILED_PRECONDITION, create, users[0][0])
    assert "not started" in detail
    cclock.set(ck.START_S + 10)
    # A learner who did not register may not take part.
    expect_status(Status.FAILED_PRECONDITION, create, users[2][0])
    expect_status(Status.INVALID_ARGUMENT, gc.call, "CreateSubmission", gpb.CreateSubmissionRequest(
        user_id=users[0][0], contest_slug="rules", problem_id="Z", language="python3",
        code="x", code_hash=ck.code_hash("x"), kind=gpb.SUBMISSION_KIND_SUBMIT))
    expect_status(Status.INVALID_ARGUMENT, gc.call, "CreateSubmission", gpb.CreateSubmissionRequest(
        user_id=users[0][0], contest_slug="rules", problem_id="A", language="cobol",
        code="x", code_hash=ck.code_hash("x"), kind=gpb.SUBMISSION_KIND_SUBMIT))
    # The team may hold three unjudged submissions, not four (either member).
    for i in range(3):
        assert create(users[i % 2][0], f"print({i})\n").contest_counted
    detail = expect_status(Status.RESOURCE_EXHAUSTED, create, users[1][0], "print(9)\n")
    assert "waiting for a verdict" in detail
    # After the end: no practice in this contest.
    cclock.set(ck.START_S + ck.DURATION_S)
    detail = expect_status(Status.FAILED_PRECONDITION, create, users[0][0])
    assert "over" in detail
    view = gc.call("GetContestView", gpb.GetContestViewRequest(slug="rules"),
                   token=users[0][1]).view
    assert view.access == TEAM and view.my_team.id == team.id and not view.can_register


def replay(events):
    """{(type, id): data} from an event list; deletions remove."""
    state = {}
    for e in events:
        key = (e.type, e.id)
        if e.WhichOneof("data") is None:
            state.pop(key, None)
        else:
            state[key] = getattr(e, e.WhichOneof("data"))
    return state


def all_events(gc, slug, **kw):
    out, token = [], ""
    while True:
        r = gc.call("ListContestEvents", gpb.ListContestEventsRequest(
            slug=slug, since_token=token, limit=500), **kw)
        out += list(r.events)
        if not r.events:
            return out, r
        token = r.last_token


def test_rejudge_override_and_the_audit_log(icpc, cstack):
    gc = icpc.gc
    s = next(s for s in icpc.subs if s.verdict == ck.WA and s.t < 3600)
    before = gc.call("GetContestSubmission", gpb.GetContestSubmissionRequest(
        slug="sim-icpc", id=s.seq)).submission
    assert before.judgement.verdict == ck.WA and len(before.judgements) == 1
    assert before.code  # the jury reads the code
    r = gc.call("RejudgeContest", gpb.RejudgeContestRequest(slug="sim-icpc", submission_id=s.seq,
                                                             reason="test data fixed"))
    assert r.queued == 1
    after = gc.call("GetContestSubmission", gpb.GetContestSubmissionRequest(
        slug="sim-icpc", id=s.seq)).submission
    assert len(after.judgements) == 2 and after.judgements[1].kind == "rejudge"
    assert after.judgement.id == before.judgement.id  # the old one counts until the new finishes
    # The job is on the executor's queue, named by the new judgement.
    import gwkit
    redis = gwkit.Redis(cstack["redis"])
    try:
        from dojo.executor.v1 import executor_pb2 as epb
        entries = redis.cmd("XREVRANGE", "dojo:jobs", "+", "-", "COUNT", "50")
        jobs = [epb.Job.FromString(dict(zip(e[1][::2], e[1][1::2]))[b"job"]) for e in entries]
    finally:
        redis.close()
    rejudge = gc.call("ListContestJudgements", gpb.ListContestJudgementsRequest(
        slug="sim-icpc", submission_id=s.seq)).judgements[-1]
    job = next(j for j in jobs if j.code == before.code and j.task_slug == ck.TASKS[s.problem])
    # The executor asks for the judgement's submission by the job's id ...
    pending = gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=job.submission_id))
    assert pending.submission.state == gpb.SUBMISSION_STATE_PENDING
    assert pending.submission.code == before.code
    # ... and records its result there; it becomes current, and the board moves.
    tests = ck.Sub(0, 0, 0, ck.AC).tests()
    gc.call("RecordResult", gpb.RecordResultRequest(submission_id=job.submission_id,
                                                    verdict=ck.AC, tests=tests, score=8,
                                                    max_score=8, executor_id="sim"))
    dup = gc.call("RecordResult", gpb.RecordResultRequest(submission_id=job.submission_id,
                                                          verdict=ck.AC, tests=tests, score=8,
                                                          max_score=8, executor_id="sim"))
    assert dup.duplicate
    now = gc.call("GetContestSubmission", gpb.GetContestSubmissionRequest(
        slug="sim-icpc", id=s.seq)).submission
    assert now.judgement.id == rejudge.id and now.judgement.verdict == ck.AC
    s.verdict = ck.AC
    assert ck.board_rows(icpc.board()) == icpc.expected(icpc.subs)
    # An override is a judgement too, with its reason in the audit log.
    o = gc.call("OverrideVerdict", gpb.OverrideVerdictRequest(
        slug="sim-icpc", submission_id=s.seq, verdict=ck.WA, reason="appeal rejected")).judgement
    assert o.kind == "override" and o.verdict == ck.WA and o.current and o.reason
    s.verdict = ck.WA
    assert ck.board_rows(icpc.board()) == icpc.expected(icpc.subs)
    expect_status(Status.INVALID_ARGUMENT, gc.call, "OverrideVerdict", gpb.OverrideVerdictRequest(
        slug="sim-icpc", submission_id=s.seq, verdict=ck.AC, reason=""))
    audit = gc.call("ListContestAudit", gpb.ListContestAuditRequest(slug="sim-icpc")).entries
    ov = next(e for e in audit if e.action == "override")
    assert (ov.from_verdict, ov.to_verdict, ov.reason) == (ck.AC, ck.WA, "appeal rejected")
    assert ov.target == f"submission {s.seq}"
    rj = next(e for e in audit if e.action == "rejudge")
    assert rj.reason == "test data fixed" and rj.target == f"submission {s.seq}"
    # Only the jury: a team may not rejudge, override or read the audit log.
    token = icpc.real_token
    for m, req in (("RejudgeContest", gpb.RejudgeContestRequest(slug="sim-icpc", all=True)),
                   ("OverrideVerdict", gpb.OverrideVerdictRequest(
                       slug="sim-icpc", submission_id=s.seq, verdict=ck.AC, reason="x")),
                   ("ListContestAudit", gpb.ListContestAuditRequest(slug="sim-icpc"))):
        expect_status(Status.PERMISSION_DENIED, gc.call, m, req, token=token)


def test_clarifications_reach_whom_they_are_for(icpc, real_users):
    gc = icpc.gc
    a, b = real_users[0]["token"], real_users[1]["token"]
    q = gc.call("CreateClarification", gpb.CreateClarificationRequest(
        slug="sim-icpc", text="Is the input sorted?", problem_id="B"), token=a).clarification
    assert q.from_team_id == icpc.team_ids[0] and q.to_team_id == ""
    private = gc.call("CreateClarification", gpb.CreateClarificationRequest(
        slug="sim-icpc", text="Read the statement again.", reply_to_id=q.id)).clarification
    assert private.to_team_id == icpc.team_ids[0]
    q2 = gc.call("CreateClarification", gpb.CreateClarificationRequest(
        slug="sim-icpc", text="May we use recursion?"), token=b).clarification
    to_all = gc.call("CreateClarification", gpb.CreateClarificationRequest(
        slug="sim-icpc", text="Yes, everyone may.", reply_to_id=q2.id, to_all=True)).clarification
    ann = gc.call("CreateClarification", gpb.CreateClarificationRequest(
        slug="sim-icpc", text="Ten minutes left.")).clarification
    assert ann.announcement
    expect_status(Status.PERMISSION_DENIED, gc.call, "CreateClarification",
                  gpb.CreateClarificationRequest(slug="sim-icpc", text="x", reply_to_id=q2.id),
                  token=a)

    def seen(**kw):
        r = gc.call("ListClarifications", gpb.ListClarificationsRequest(slug="sim-icpc"), **kw)
        return {c.id: c for c in r.clarifications}

    assert set(seen()) >= {q.id, private.id, q2.id, to_all.id, ann.id}
    team_a = seen(token=a)
    assert set(team_a) == {q.id, private.id, to_all.id, ann.id}
    assert team_a[to_all.id].reply_to_id == ""  # team A never saw the question
    team_b = seen(token=b)
    assert set(team_b) == {q2.id, to_all.id, ann.id} and team_b[to_all.id].reply_to_id == q2.id
    public = seen(service=False)
    assert set(public) == {to_all.id, ann.id}


def test_the_event_log_replays_to_what_the_reads_return(icpc, real_users):
    gc = icpc.gc
    for who, kw, access in (("jury", {}, JURY),
                            ("team", {"token": real_users[0]["token"]}, TEAM),
                            ("public", {"service": False}, PUBLIC)):
        events, last = all_events(gc, "sim-icpc", **kw)
        assert last.access == access, who
        tokens = [int(e.token) for e in events]
        assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens), who
        state = replay(events)
        teams = gc.call("ListContestTeams", gpb.ListContestTeamsRequest(slug="sim-icpc"),
                        **kw).teams
        got = {k[1]: v for k, v in state.items() if k[0] == "teams"}
        assert set(got) == {t.id for t in teams}, who
        for t in teams:
            assert got[t.id].name == t.name and got[t.id].organization_id == t.organization_id
        subs = gc.call("ListContestSubmissions", gpb.ListContestSubmissionsRequest(
            slug="sim-icpc", limit=5000), **kw).submissions
        got = {k[1] for k in state if k[0] == "submissions"}
        assert got == {s.id for s in subs}, who
        judgements = gc.call("ListContestJudgements", gpb.ListContestJudgementsRequest(
            slug="sim-icpc"), **kw).judgements
        got = {k[1]: v for k, v in state.items() if k[0] == "judgements"}
        assert set(got) == {j.id for j in judgements}, who
        for j in judgements:
            assert (got[j.id].verdict, got[j.id].current) == (j.verdict, j.current), (who, j.id)
        clars = gc.call("ListClarifications", gpb.ListClarificationsRequest(slug="sim-icpc"),
                        **kw).clarifications
        got = {k[1]: v for k, v in state.items() if k[0] == "clarifications"}
        assert set(got) == {c.id for c in clars}, who
        for c in clars:
            assert got[c.id].reply_to_id == c.reply_to_id, (who, c.id)
        view = gc.call("GetContestView", gpb.GetContestViewRequest(slug="sim-icpc"), **kw).view
        assert state[("state", "")] == view.state, who
        assert state[("contest", "")].slug == "sim-icpc"
        assert [p.label for p in state[("problems", "")].problems] == ck.LABELS
        # Awards are announced by the scoreboard publisher, a moment later.
        for _ in range(50):
            awards = icpc.gc.call("GetScoreboard", gpb.GetScoreboardRequest(slug="sim-icpc"),
                                  **kw).scoreboard.awards
            got = {k[1]: v for k, v in replay(all_events(gc, "sim-icpc", **kw)[0]).items()
                   if k[0] == "awards"}
            if {a.id: list(a.team_ids) for a in awards} == \
                    {k: list(v.team_ids) for k, v in got.items()}:
                break
            time.sleep(0.1)
        assert {a.id: list(a.team_ids) for a in awards} == \
            {k: list(v.team_ids) for k, v in got.items()}, who
        if access != JURY:
            assert not any(k[0] in ("persons", "accounts") for k in state), who
        if access == PUBLIC:
            assert not any(k[0] in ("submissions", "judgements") for k in state)
    # A token that is not one of the contest's is refused.
    expect_status(Status.INVALID_ARGUMENT, gc.call, "ListContestEvents",
                  gpb.ListContestEventsRequest(slug="sim-icpc", since_token="999999999"))
    expect_status(Status.INVALID_ARGUMENT, gc.call, "ListContestEvents",
                  gpb.ListContestEventsRequest(slug="sim-icpc", since_token="abc"))
    expect_status(Status.NOT_FOUND, gc.call, "ListContestEvents",
                  gpb.ListContestEventsRequest(slug="no-such-contest"))


def test_finalizing_ends_the_updates(icpc):
    gc = icpc.gc
    st = gc.call("FinalizeContest", gpb.FinalizeContestRequest(slug="sim-icpc")).state
    assert st.HasField("finalized") and st.HasField("end_of_updates")
    events, last = all_events(gc, "sim-icpc")
    assert last.end_of_updates
    assert events[-1].type == "state" and events[-1].state.HasField("end_of_updates")
