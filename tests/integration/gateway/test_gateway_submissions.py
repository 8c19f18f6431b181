"""Runs, submissions and the WebSocket relay. The executor's part is played
over Redis and gRPC (see conftest.py) unless the real one runs."""
import hashlib
import time

import pytest

import gwkit
TASK_SLUG = gwkit.TASK_SLUG
from dojo.common.v1 import common_pb2
from dojo.executor.v1 import executor_pb2 as epb
from dojo.gamification.v1 import gamification_pb2 as gpb

SECRET_OUT = "leaked-hidden-output-998877"
CODE = "a, b = map(int, input().split())\nprint(a + b)\n"


def submit(client, spec=None, kind="submissions", **body):
    payload = {"task_slug": TASK_SLUG, "language": "python3", "code": CODE}
    payload.update(body)
    r = client.post(f"/api/v1/{kind}", payload)
    if spec:
        spec.check("POST", f"/api/v1/{kind}", r)
    return r


def find_job(redis, sub_id):
    entries = redis.cmd("XRANGE", "dojo:jobs", "-", "+")
    for _, fields in entries:
        job = epb.Job.FromString(fields[1])
        if job.submission_id == sub_id:
            return job
    raise AssertionError(f"no job for {sub_id}")


def events_of(redis, sub_id):
    out = []
    for eid, fields in redis.cmd("XRANGE", f"dojo:sub:{sub_id}", "-", "+"):
        out.append((eid.decode(), epb.Event.FromString(fields[1])))
    return out


def add_event(redis, sub_id, seq, **kind):
    ev = epb.Event(submission_id=sub_id, seq=seq, attempt=1, **kind)
    ev.emitted_at.unix_micros = int(time.time() * 1e6)
    return redis.cmd("XADD", f"dojo:sub:{sub_id}", "*", "event", ev.SerializeToString()).decode()


def play_executor(redis, game_client, sub_id, verdict=common_pb2.VERDICT_WA):
    """What an executor does for a 2-test grading: events + RecordResult."""
    tests = [gpb.TestResult(index=0, name="sample-1", hidden=False, verdict=common_pb2.VERDICT_AC,
                            output_excerpt="3\n", weight=1),
             gpb.TestResult(index=1, name="hidden-1", hidden=True, verdict=verdict,
                            output_excerpt=SECRET_OUT, message="wrong answer", weight=1)]
    add_event(redis, sub_id, 2, started=epb.Started(executor_id="fake", runtime="crun",
                                                   test_count=2))
    add_event(redis, sub_id, 3, test_result=tests[0])
    add_event(redis, sub_id, 4, test_result=tests[1])
    rec = game_client.call("RecordResult", gpb.RecordResultRequest(
        submission_id=sub_id, verdict=verdict, score=1, max_score=2, tests=tests,
        executor_id="fake"))
    final = epb.FinalResult(verdict=verdict, score=1, max_score=2, tests_passed=1, tests_total=2,
                            message="1/2 tests passed", awards=rec.awards, recorded=True)
    add_event(redis, sub_id, 5, result=final)


def test_submit_answers_202_and_enqueues(gw, spec, learner, redis):
    r = submit(learner, spec)
    assert r.status == 202, r
    sub = r.json["id"]
    assert r.header("Location") == f"/api/v1/submissions/{sub}"
    assert r.header("RateLimit-Limit") and r.header("RateLimit-Remaining")
    job = find_job(redis, sub)
    assert job.kind == gpb.SUBMISSION_KIND_SUBMIT and job.code == CODE
    assert job.task_slug == TASK_SLUG and job.task_version >= 1 and job.attempt == 1
    evs = events_of(redis, sub)
    assert len(evs) == 1 and evs[0][1].WhichOneof("kind") == "queued" and evs[0][1].seq == 1
    g = learner.get(f"/api/v1/submissions/{sub}")
    spec.check("GET", f"/api/v1/submissions/{sub}", g)
    assert g.json["state"] == "pending" and g.json["verdict"] is None
    lst = learner.get("/api/v1/submissions?task=" + TASK_SLUG)
    spec.check("GET", "/api/v1/submissions", lst)
    assert sub in [s["id"] for s in lst.json["submissions"]]


def test_idempotency_key_returns_the_same_submission(learner, redis):
    a = submit(learner, idempotency_key="same-key-1")
    b = submit(learner, idempotency_key="same-key-1")
    assert a.status == b.status == 202 and a.json["id"] == b.json["id"]
    jobs = [f for _, f in redis.cmd("XRANGE", "dojo:jobs", "-", "+")
            if epb.Job.FromString(f[1]).submission_id == a.json["id"]]
    assert len(jobs) == 1


def test_run_with_stdin(gw, spec, learner, redis):
    r = submit(learner, spec, kind="runs", stdin="4 5\n", interactive=True)
    assert r.status == 202 and r.json["kind"] == "run"
    job = find_job(redis, r.json["id"])
    assert job.kind == gpb.SUBMISSION_KIND_RUN and job.stdin_data == b"4 5\n" and job.interactive


def test_submission_errors(gw, spec, learner):
    r = submit(learner, spec, task_slug="no-such-task")
    assert r.status == 404
    r = submit(learner, spec, language="cobol")
    assert r.status == 400 and r.json["error"]["field"] == "language"
    r = submit(learner, spec, code="x" * (64 * 1024 + 1))
    assert r.status == 413 and r.json["error"]["code"] == "payload_too_large"
    assert r.json["error"]["field"] == "code"
    r = submit(learner, spec, code="")
    assert r.status == 400 and r.json["error"]["field"] == "code"
    r = submit(learner, spec, code=12)
    assert r.status == 400
    r = submit(learner, spec, kind="runs", stdin=["no"])
    assert r.status == 400 and r.json["error"]["field"] == "stdin"
    r = learner.get("/api/v1/submissions/not-a-uuid")
    spec.check("GET", "/api/v1/submissions/not-a-uuid", r)
    assert r.status == 404
    r = learner.get("/api/v1/submissions?kind=both")
    assert r.status == 400


def test_archived_task_takes_no_submissions(gw, spec, author):
    import contentkit
    slug = contentkit.unique_slug("gwx")
    assert author.post("/api/v1/author/tasks", {"task": contentkit.task(slug)}).status == 201
    assert author.post(f"/api/v1/author/tasks/{slug}/archive", {}).status == 200
    r = submit(author, spec, task_slug=slug)
    assert r.status == 409 and r.json["error"]["code"] == "failed_precondition"


def test_other_learners_cannot_see_or_touch_a_submission(gw, spec, learner):
    sub = submit(learner).json["id"]
    other, _, _ = gwkit.register(gw.addr)
    r = other.get(f"/api/v1/submissions/{sub}")
    assert r.status == 404
    r = other.get(f"/api/v1/submissions/{sub}/events")
    assert r.status == 404
    r = other.post(f"/api/v1/submissions/{sub}/cancel")
    assert r.status == 404
    ws = gwkit.WebSocket(gw.addr, cookies=other.cookies)
    assert ws.status == 101
    ws.send({"type": "subscribe", "submission_id": sub})
    m = ws.recv()
    assert m["type"] == "error" and m["code"] == "not_found"
    ws.send({"type": "cancel", "submission_id": sub})
    assert ws.recv()["code"] == "not_found"
    ws.close()


def test_websocket_relays_resumes_and_hides_hidden_output(gw, spec, learner, redis, game_client,
                                                          hidden_markers):
    sub = submit(learner).json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies, origin=f"http://{gw.addr}")
    assert ws.status == 101, ws.head
    ws.send({"type": "subscribe", "submission_id": sub, "id": 7})
    m = ws.recv()
    assert m == {"type": "subscribed", "submission_id": sub, "state": "pending", "id": 7}
    first = ws.recv()
    assert first["type"] == "event" and first["kind"] == "queued" and first["seq"] == 1
    play_executor(redis, game_client, sub)
    done, seen = ws.recv_until(lambda x: x["type"] == "done")
    kinds = [x.get("kind") for x in seen if x["type"] == "event"]
    assert kinds == ["started", "test_result", "test_result", "result"]
    hidden = [x for x in seen if x.get("kind") == "test_result" and x["test"]["hidden"]]
    assert hidden and hidden[0]["test"]["output_excerpt"] == ""
    result = [x for x in seen if x.get("kind") == "result"][0]
    assert result["result"]["verdict"] == "wa"
    ws.close()
    text = repr(seen)
    assert SECRET_OUT not in text

    # Reconnect after the second event: exactly the rest, once.
    second_id = [x for x in seen if x.get("seq") == 2][0]["id"]
    ws2 = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws2.send({"type": "subscribe", "submission_id": sub, "after": second_id})
    _, seen2 = ws2.recv_until(lambda x: x["type"] == "done")
    assert [x["seq"] for x in seen2 if x["type"] == "event"] == [3, 4, 5]
    ws2.close()

    # Polling: the same events.
    p = learner.get(f"/api/v1/submissions/{sub}/events")
    spec.check("GET", f"/api/v1/submissions/{sub}/events", p)
    assert p.json["done"] and [e["seq"] for e in p.json["events"]] == [1, 2, 3, 4, 5]
    p = learner.get(f"/api/v1/submissions/{sub}/events?after={second_id}")
    assert [e["seq"] for e in p.json["events"]] == [3, 4, 5]
    assert learner.get(f"/api/v1/submissions/{sub}/events?after=bogus").status == 400

    # The stored submission: finished, hidden test without output.
    g = learner.get(f"/api/v1/submissions/{sub}")
    spec.check("GET", f"/api/v1/submissions/{sub}", g)
    assert g.json["state"] == "finished" and g.json["verdict"] == "wa"
    assert SECRET_OUT not in g.body.decode()
    for m in hidden_markers:
        assert m not in g.body.decode() and m not in p.body.decode()

    # An expired event stream: the stored submission is sent whole.
    redis.cmd("DEL", f"dojo:sub:{sub}")
    ws3 = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws3.send({"type": "subscribe", "submission_id": sub})
    _, seen3 = ws3.recv_until(lambda x: x["type"] == "done")
    snap = [x for x in seen3 if x["type"] == "submission"][0]
    assert snap["submission"]["verdict"] == "wa"
    assert SECRET_OUT not in repr(seen3)
    ws3.close()


def test_websocket_stdin_and_cancel_reach_the_control_stream(gw, learner, redis):
    sub = submit(learner, kind="runs", interactive=True).json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws.send({"type": "stdin", "submission_id": sub, "data": "hello\n", "id": 1})
    assert ws.recv()["type"] == "ok"
    ws.send({"type": "stdin_close", "submission_id": sub})
    assert ws.recv()["type"] == "ok"
    ws.send({"type": "cancel", "submission_id": sub})
    assert ws.recv()["type"] == "ok"
    ws.send({"type": "stdin", "submission_id": sub, "data": ""})
    assert ws.recv()["code"] == "invalid_argument"
    ws.send({"type": "ping"})
    assert ws.recv()["type"] == "pong"
    ws.send("this is not json")
    assert ws.recv()["code"] == "invalid_argument"
    ws.send({"type": "launch-missiles", "submission_id": sub})
    assert ws.recv()["code"] == "invalid_argument"
    ws.close()
    ctl = [epb.Control.FromString(f[1])
           for _, f in redis.cmd("XRANGE", f"dojo:ctl:{sub}", "-", "+")]
    assert [c.WhichOneof("action") for c in ctl] == ["stdin_data", "stdin_close", "cancel"]
    assert [c.seq for c in ctl] == [1, 2, 3]
    assert ctl[0].stdin_data.data == b"hello\n"
    r = learner.post(f"/api/v1/submissions/{sub}/cancel")
    assert r.status == 202


def test_websocket_handshake_rules(gw, learner):
    ws = gwkit.WebSocket(gw.addr)
    assert ws.status == 401
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies, origin="http://evil.example")
    assert ws.status == 403
    r = learner.get("/api/v1/ws")
    assert r.status == 400


@pytest.mark.skipif("os.environ.get('DOJO_TEST_GATEWAY_EXECUTOR') != '1'")
def test_real_executor_grades_a_submission(gw, learner):
    sub = submit(learner).json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws.send({"type": "subscribe", "submission_id": sub})
    _, seen = ws.recv_until(lambda x: x["type"] == "done", timeout=60)
    result = [x for x in seen if x.get("kind") == "result"][0]
    assert result["result"]["verdict"] == "ac"
