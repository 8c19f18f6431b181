"""The CLICS Contest API (2026-01) at /api/clics through the real gateway,
content and gamification: a small contest played through gamification
(teams, a hidden one, wrong answers, a compile error, a pending submission,
solves in the freeze, practice after the end, clarifications), then every
endpoint's JSON checked against the schemas in clicskit (written from the
spec) for the public, a team and the jury; the event feed replayed into the
same objects the endpoints return, and into the same scoreboard; since_token
continuing exactly where a client left off; the spec's status codes."""
import base64
import http.client
import json

import pytest

import clicskit as ck2
import contestkit as ck
import gamekit
import gwkit
from dojo.gamification.v1 import gamification_pb2 as gpb

CID = "gw-clics"
BASE = f"/api/clics/contests/{CID}"
T0 = ck.CLICS_START_S
MIN = 60
DURATION_MS = 2 * 3600 * 1000
FREEZE_MS = DURATION_MS - 30 * 60 * 1000
ENDPOINTS = ["judgement-types", "languages", "problems", "groups", "organizations", "teams",
             "persons", "accounts", "submissions", "judgements", "runs", "clarifications",
             "awards"]

# (team, problem, minute, verdict or None for never judged)
SCRIPT = [(3, "A", 3, ck.AC),
          (0, "A", 5, ck.WA), (0, "A", 12, ck.AC), (0, "B", 20, ck.CE), (0, "B", 30, ck.AC),
          (1, "A", 40, ck.AC), (1, "C", 50, None),
          (2, "B", 95, ck.WA), (2, "B", 100, ck.AC), (0, "C", 110, ck.AC),
          (1, "A", 125, ck.AC)]


class Played:
    pass


@pytest.fixture(scope="module")
def played(cgw, cstack, cclock, auth):
    gc = cstack["game"].client
    p = Played()
    p.gw = cgw
    cclock.set(T0 - 600)
    p.tokens, p.users, p.teams, p.logins = [], [], [], []
    for i in range(4):
        acct, pair = auth.client.new_session()
        gc.profile(acct.user.id, display_name=acct.username)
        t = gc.call("PutContestTeam", gpb.PutContestTeamRequest(
            slug=CID, name=f"Clics {i}", organization_id=f"org-{i % 2}",
            group_ids=["site-north"], member_user_ids=[acct.user.id], hidden=(i == 3))).team
        p.tokens.append(pair.access_token)
        p.logins.append((acct.username, acct.password))
        p.users.append(acct.user.id)
        p.teams.append(t.id)
    for team, prob, minute, verdict in SCRIPT:
        cclock.set(T0 + minute * MIN)
        code = f"print({team}, {minute})\n"
        r = gc.call("CreateSubmission", gpb.CreateSubmissionRequest(
            user_id=p.users[team], contest_slug=CID, problem_id=prob, language="python3",
            code=code, code_hash=ck.code_hash(code), kind=gpb.SUBMISSION_KIND_SUBMIT))
        if verdict is None:
            continue
        tests = ck.Sub(0, 0, 0, verdict).tests()
        req = gpb.RecordResultRequest(submission_id=r.submission_id, verdict=verdict,
                                      tests=[] if verdict == ck.CE else tests,
                                      score=8 if verdict == ck.AC else 0, max_score=8,
                                      executor_id="test")
        req.started_at.unix_micros = int((T0 + minute * MIN + 1) * 1e6)
        req.finished_at.unix_micros = int((T0 + minute * MIN + 2) * 1e6)
        gc.call("RecordResult", req)
    cclock.set(T0 + 60 * MIN)
    q = gc.call("CreateClarification", gpb.CreateClarificationRequest(
        slug=CID, text="Is A about echoes?", problem_id="A"), token=p.tokens[0]).clarification
    gc.call("CreateClarification", gpb.CreateClarificationRequest(
        slug=CID, text="Yes.", reply_to_id=q.id, to_all=True))
    gc.call("CreateClarification", gpb.CreateClarificationRequest(slug=CID, text="Half time."))
    cclock.set(T0 + 130 * MIN)
    p.public = gwkit.Client(cgw.addr)
    p.team = gwkit.Client(cgw.addr, bearer=p.tokens[0])
    c, _, acct = gwkit.register(cgw.addr, session="token")
    assert auth.run_cli("set-role", acct["username"], "admin").returncode == 0
    login = gwkit.Client(cgw.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"], "session": "token"})
    p.jury = gwkit.Client(cgw.addr, bearer=login.json["access_token"])
    p.jury_login = (acct["username"], acct["password"])
    return p


def get(client, path):
    r = client.get(path)
    assert r.status == 200, r
    return r.json


def audiences(p):
    return [("public", p.public), ("team", p.team), ("jury", p.jury)]


def test_every_endpoint_matches_the_spec_schemas_for_each_audience(played):
    p = played
    for who, c in audiences(p):
        ck2.validate("api", get(c, "/api/clics"))
        contests = get(c, "/api/clics/contests")
        ck2.validate("contest", contests, many=True)
        assert CID in [x["id"] for x in contests]
        contest = get(c, BASE)
        ck2.validate("contest", contest)
        assert contest == next(x for x in contests if x["id"] == CID)
        assert contest["scoreboard_type"] == "pass-fail" and contest["penalty_time"] == "0:20:00.000"
        assert contest["duration"] == "2:00:00.000"
        assert contest["scoreboard_freeze_duration"] == "0:30:00.000"
        ck2.validate("access", get(c, f"{BASE}/access"))
        ck2.validate("state", get(c, f"{BASE}/state"))
        ck2.validate("scoreboard", get(c, f"{BASE}/scoreboard"))
        for ep in ENDPOINTS:
            items = get(c, f"{BASE}/{ep}")
            ck2.validate(ep, items, many=True)
            for item in items[:3]:
                assert get(c, f"{BASE}/{ep}/{item['id']}") == item, (who, ep)
        subs = get(c, f"{BASE}/submissions")
        teams = {t["id"] for t in get(c, f"{BASE}/teams")}
        if who == "public":
            assert subs == [] and get(c, f"{BASE}/judgements") == [] and get(c, f"{BASE}/runs") == []
            assert p.teams[3] not in teams and get(c, f"{BASE}/persons") == []
        elif who == "team":
            assert subs and {s["team_id"] for s in subs} == {p.teams[0]}
        else:
            assert len(subs) == len(SCRIPT) and p.teams[3] in teams
            assert len(get(c, f"{BASE}/persons")) == 4
    probs = get(p.public, f"{BASE}/problems")
    assert [(x["id"], x["ordinal"], x["test_data_count"]) for x in probs] == [
        ("A", 1, 4), ("B", 2, 4), ("C", 3, 4)]
    assert probs[0]["rgb"] == "#f00" and probs[0]["name"] == "Problem A"


def test_filters_on_id_properties(played):
    p = played
    mine = get(p.jury, f"{BASE}/submissions?team_id={p.teams[0]}")
    assert mine and all(s["team_id"] == p.teams[0] for s in mine)
    both = get(p.jury, f"{BASE}/submissions?team_id={p.teams[0]}&problem_id=B")
    assert [s["problem_id"] for s in both] == ["B", "B"]
    to_all = get(p.public, f"{BASE}/clarifications?to_team_id=")
    assert {c["text"] for c in to_all} >= {"Yes.", "Half time."}
    asked = get(p.jury, f"{BASE}/clarifications?from_team_id={p.teams[0]}")
    assert [c["text"] for c in asked] == ["Is A about echoes?"]


def test_the_spec_status_codes(played):
    p = played
    for path in ("/api/clics/contests/no-such-contest", f"{BASE}/teams/999999",
                 f"{BASE}/no-such-endpoint", f"{BASE}/state/1", "/api/clics/nothing"):
        r = p.public.get(path)
        assert r.status == 404, (path, r)
        assert r.json["code"] == 404 and r.json["message"], r
    r = p.jury.post(f"{BASE}/teams", {"name": "x"})
    assert r.status == 405 and r.json["code"] == 405
    for token in ("not-a-token", "99999999", "-1"):
        r = p.jury.get(f"{BASE}/event-feed?since_token={token}")
        assert r.status == 400 and r.json["code"] == 400, (token, r)
    assert p.public.get(BASE).header("Access-Control-Allow-Origin") == "*"


def feed(client, since=None):
    path = f"{BASE}/event-feed?stream=false" + (f"&since_token={since}" if since else "")
    r = client.get(path)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/x-ndjson")
    return ck2.parse_ndjson(r.body)


def rest_objects(client):
    out = {"contest": get(client, BASE), "state": get(client, f"{BASE}/state")}
    for ep in ENDPOINTS:
        out[ep] = {o["id"]: o for o in get(client, f"{BASE}/{ep}")}
    return out


def test_the_event_feed_replays_to_what_the_endpoints_return(played):
    for who, c in audiences(played):
        events = feed(c)
        for ev in events:
            ck2.validate_event(ev)
        assert events[-1].get("token"), "the last line carries a token"
        got = ck2.replay(events)
        want = rest_objects(c)
        for kind in want:
            assert got.get(kind, {} if kind not in ck2.SINGLETONS else None) == want[kind], (
                who, kind)


def test_the_replayed_feed_gives_the_jurys_scoreboard(played):
    objs = ck2.replay(feed(played.jury))
    mine = ck2.icpc_board(objs, 20, DURATION_MS)
    sb = get(played.jury, f"{BASE}/scoreboard")
    assert ck2.board_of_scoreboard(sb) == mine
    # Hand-checked: team 0 solved A (12 min + 20 for the WA), B (30, the CE
    # costs nothing) and C (110): 3 solved, 172 minutes.
    assert mine[played.teams[0]][:2] == (3, 12 + 20 + 30 + 110)
    assert mine[played.teams[1]][2]["C"] == (False, 0, 1, None)
    # The public board keeps the freeze's results pending.
    public = ck2.board_of_scoreboard(get(played.public, f"{BASE}/scoreboard"))
    assert public[played.teams[2]][2]["B"] == (False, 0, 2, None)
    assert played.teams[3] not in public
    assert public[played.teams[0]][:2] == (2, 62)


def test_the_scoreboards_event_id_is_the_last_token_of_the_callers_feed(played):
    for who, c in audiences(played):
        tokens = [ev["token"] for ev in feed(c) if ev.get("token")]
        sb = get(c, f"{BASE}/scoreboard")
        assert sb["event_id"] == tokens[-1], who
        # A token the caller can continue from: nothing after it yet.
        assert feed(c, sb["event_id"]) == [], who


def test_since_token_continues_exactly_where_the_client_left_off(played):
    events = feed(played.jury)
    tokens = [i for i, ev in enumerate(events) if ev.get("token")]
    assert len(tokens) > 4
    for i in (tokens[0], tokens[len(tokens) // 2], tokens[-1]):
        tail = feed(played.jury, events[i]["token"])
        assert tail == events[i + 1:]


def basic(login, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


def test_http_basic_authentication_as_the_tools_send_it(played):
    p = played
    c = gwkit.Client(p.gw.addr)
    for _ in range(3):  # logged in once, then the kept token
        r = c.get(f"{BASE}/submissions", headers=basic(*p.jury_login))
        assert r.status == 200 and len(r.json) == len(SCRIPT), r
    r = c.get(f"{BASE}/submissions", headers=basic(*p.logins[0]))
    assert r.status == 200 and {s["team_id"] for s in r.json} == {p.teams[0]}, r
    r = c.get(f"{BASE}/submissions", headers=basic(p.jury_login[0], "wrong password"))
    assert r.status == 401 and r.json["code"] == 401, r
    assert r.header("WWW-Authenticate").startswith("Basic")
    r = c.get(f"{BASE}/submissions", headers={"Authorization": "Basic !!!"})
    assert r.status == 401 and r.json["code"] == 401, r


def open_feed(addr, since, bearer=None):
    """A streamed event feed, its headers read (the socket times out in 20 s)."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    conn.request("GET", f"{BASE}/event-feed?since_token={since}", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200, resp.status
    assert resp.getheader("Content-Type").startswith("application/x-ndjson")
    return conn, resp


def next_event(resp, max_lines=200):
    """The next line that is not a keep-alive, and how many keep-alives came first."""
    keepalives = 0
    for _ in range(max_lines):
        line = resp.readline()
        assert line, "the stream ended"
        if line == b"\n":
            keepalives += 1
            continue
        return json.loads(line), keepalives
    raise AssertionError(f"{max_lines} keep-alives and no event")


def test_the_event_feed_stays_open_and_holds_no_gateway_thread(played, cstack):
    """More open feeds than the gateway has threads (DOJO_GATEWAY_THREADS, 2
    here): the REST endpoints still answer, every feed sends keep-alive
    newlines while nothing happens, and a new announcement reaches each of
    them with its token; a feed with stream=false ends at once."""
    p = played
    # Each audience has its own copies of events, with tokens of their own.
    last = {"public": feed(p.public)[-1]["token"], "jury": feed(p.jury)[-1]["token"]}
    feeds = [open_feed(p.gw.addr, last["public"]) for _ in range(4)]
    feeds.append(open_feed(p.gw.addr, last["jury"], bearer=p.jury.bearer))
    try:
        assert get(p.public, f"{BASE}/state")["ended"], "the endpoints answer meanwhile"
        assert feed(p.public, since=last["public"]) == [], "stream=false ends with nothing new"
        # A keep-alive newline first (DOJO_CLICS_FEED_KEEPALIVE_MS is short here).
        for _, resp in feeds:
            assert resp.readline() == b"\n"
        cstack["game"].client.call("CreateClarification", gpb.CreateClarificationRequest(
            slug=CID, text="Streamed news."))
        for _, resp in feeds:
            ev, _ = next_event(resp)
            assert ev["type"] == "clarifications" and ev["data"]["text"] == "Streamed news.", ev
            assert ev["token"] and ev["token"] not in last.values()
            ck2.validate_event(ev)
        # Where a client picks up after it left: the same event, with stream=false.
        again = feed(p.jury, since=last["jury"])
        assert [e["data"]["text"] for e in again] == ["Streamed news."]
    finally:
        # One is left open: at the end of the session the gateway must still
        # stop at SIGTERM (it ends open feeds first; gwkit.Gateway.stop fails
        # when it does not exit).
        LEFT_OPEN.append(feeds.pop())
        for conn, _ in feeds:
            conn.close()
    assert get(p.public, f"{BASE}/state")["ended"]


LEFT_OPEN = []
