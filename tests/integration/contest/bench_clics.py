"""The CLICS Contest API's reads that used to grow with the contest (issue 17).
Not a test: it prints figures, each as a ratio to a reference measured in the
same run on the same stack (real gateway, content and gamification).

- problems: the problem set's tasks in one Content.GetTasks against one
  GetTask per problem (what /problems did before), ten problems, as gRPC
  calls to content; and GET …/problems against GET …/{id} (the contest
  object: one GetContestView), the reference of every HTTP figure.
- scoreboard: GET …/scoreboard, whose event_id is now read in one step down
  the event log's index, with a short log and after SUBMISSIONS more judged
  submissions, beside /api/v1/contests/{id}/scoreboard (the same board,
  without event_id); and the whole log as a client reads it
  (event-feed?stream=false), which is what the scoreboard paged through
  before, to show which of the two grows with the log.

    DOJO_TEST_PG_URL=… DOJO_TEST_REDIS_ADDR=… DOJO_BIN_DIR=bazel-bin \\
    /usr/bin/python3 -m pytest -s -q -p no:cacheprovider \\
        tests/integration/contest/bench_clics.py
(on `./dojo test`'s throwaway servers; DOJO_BENCH_CLICS_SUBMISSIONS, default
1500; DOJO_BENCH_CLICS_REPEAT, default 40)."""
import http.client
import os
import statistics
import time

import grpc

import contestkit as ck
import gwkit
from dojo.content.v1 import content_pb2 as cpb
from dojo.gamification.v1 import gamification_pb2 as gpb

CID = "sim-icpc"
BASE = f"/api/clics/contests/{CID}"
SUBMISSIONS = int(os.environ.get("DOJO_BENCH_CLICS_SUBMISSIONS", "1500"))
REPEAT = int(os.environ.get("DOJO_BENCH_CLICS_REPEAT", "40"))
TEAMS = 20


def median_ms(fn, n=REPEAT):
    fn()  # warm
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def http_get(addr, path, token):
    host, port = addr.rsplit(":", 1)

    def run():
        c = http.client.HTTPConnection(host, int(port), timeout=60)
        c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        body = r.read()
        c.close()
        assert r.status == 200, (path, r.status, body[:200])
    return run


def content_call(addr, key, method, req, resp_type):
    ch = grpc.insecure_channel(addr)
    stub = ch.unary_unary(f"/dojo.content.v1.Content/{method}",
                          request_serializer=lambda m: m.SerializeToString(),
                          response_deserializer=resp_type.FromString)
    md = (("x-dojo-service-key", key),)
    return lambda: stub(req, metadata=md, timeout=30), ch


def http_figures(addr, token):
    ref = median_ms(http_get(addr, BASE, token))
    return {"contest (reference)": ref,
            "problems": median_ms(http_get(addr, f"{BASE}/problems", token)),
            "scoreboard": median_ms(http_get(addr, f"{BASE}/scoreboard", token)),
            "/api/v1 contest scoreboard": median_ms(
                http_get(addr, f"/api/v1/contests/{CID}/scoreboard", token)),
            "event-feed, the whole log": median_ms(
                http_get(addr, f"{BASE}/event-feed?stream=false", token), n=max(5, REPEAT // 8))}


def show(title, figs, events):
    ref = figs["contest (reference)"]
    print(f"\n{title} ({events} lines in the jury's feed)")
    for k, v in figs.items():
        print(f"  {k:<28} {v:8.2f} ms  {v / ref:6.2f}x the contest object")


def test_bench_clics_reads(cgw, cstack, cclock, auth):
    gc = cstack["game"].client
    cclock.set(ck.START_S - 600)
    users = []
    for i in range(TEAMS):
        acct, _ = auth.client.new_session()
        gc.profile(acct.user.id, display_name=acct.username)
        gc.call("PutContestTeam", gpb.PutContestTeamRequest(
            slug=CID, name=f"Bench {i}", member_user_ids=[acct.user.id]))
        users.append(acct.user.id)
    cclock.set(ck.START_S + 600)

    # Problems: one GetTasks against a GetTask per problem, at content.
    key = cstack["service_key"]
    caddr = cstack["content"].addr
    one, ch1 = content_call(caddr, key, "GetTasks", cpb.GetTasksRequest(
        slugs=ck.TASKS, include_hidden=True), cpb.GetTasksResponse)
    single = [content_call(caddr, key, "GetTask", cpb.GetTaskRequest(
        slug=s, include_hidden=True), cpb.GetTaskResponse) for s in ck.TASKS]
    batch_ms = median_ms(one)
    each_ms = median_ms(lambda: [f() for f, _ in single])
    print(f"\nproblems at content, {len(ck.TASKS)} tasks: GetTasks {batch_ms:.2f} ms, "
          f"{len(ck.TASKS)} x GetTask {each_ms:.2f} ms: {batch_ms / each_ms:.2f}x")
    ch1.close()
    for _, ch in single:
        ch.close()

    # The jury reads everything (the feed a shadowing CCS reads).
    _, _, acct = gwkit.register(cgw.addr, session="token")
    assert auth.run_cli("set-role", acct["username"], "admin").returncode == 0
    token = gwkit.Client(cgw.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"],
        "session": "token"}).json["access_token"]

    def events():
        r = gwkit.Client(cgw.addr, bearer=token).get(f"{BASE}/event-feed?stream=false")
        return r.body.count(b"\n")

    show("short log", http_figures(cgw.addr, token), events())
    t = ck.START_S + 600
    for n in range(SUBMISSIONS):
        t += 1
        cclock.set(t)
        code = f"print({n})\n"
        r = gc.call("CreateSubmission", gpb.CreateSubmissionRequest(
            user_id=users[n % TEAMS], contest_slug=CID, problem_id=ck.LABELS[n % 10],
            language="python3", code=code, code_hash=ck.code_hash(code),
            kind=gpb.SUBMISSION_KIND_SUBMIT))
        verdict = ck.WA if n % 3 else ck.AC
        req = gpb.RecordResultRequest(submission_id=r.submission_id, verdict=verdict,
                                      tests=ck.Sub(0, 0, 0, verdict).tests(),
                                      score=8 if verdict == ck.AC else 0, max_score=8,
                                      executor_id="bench")
        req.started_at.unix_micros = int(t * 1e6)
        req.finished_at.unix_micros = int(t * 1e6) + 1000
        gc.call("RecordResult", req)
    show(f"after {SUBMISSIONS} more judged submissions", http_figures(cgw.addr, token), events())
