"""Runs, submissions and the WebSocket relay. The real executor grades them
(see conftest.py); tests that need its verdicts skip, saying why, where it
cannot run."""
import json
import time

import gwkit
TASK_SLUG = gwkit.TASK_SLUG
from dojo.executor.v1 import executor_pb2 as epb
from dojo.gamification.v1 import gamification_pb2 as gpb

CODE = "a, b = map(int, input().split())\nprint(a + b)\n"

# gw-echo (conftest.py): the visible test's input is "hi", the hidden one's
# HIDDEN_INPUT. This program passes the first and fails the second while
# printing the hidden input: a wrong answer whose output would give the
# hidden test away.
ECHO_TASK = "gw-echo"
HIDDEN_INPUT = "zebra-quokka-31"
LEAKY_CODE = 's = input()\nprint(s if s == "hi" else s + "x")\n'
LEAKY_OUTPUT = HIDDEN_INPUT + "x"

# Generous: other test stacks may share this machine's cores.
GRADE_TIMEOUT = 120


def submit(client, spec=None, kind="submissions", **body):
    payload = {"task_slug": TASK_SLUG, "language": "python3", "code": CODE}
    payload.update(body)
    r = client.post(f"/api/v1/{kind}", payload)
    if spec:
        spec.check("POST", f"/api/v1/{kind}", r)
    return r


def find_job(redis, sub_id):
    """The job the gateway enqueued. Executors trim acknowledged entries only
    after DOJO_EXECUTOR_JOB_RETENTION (60 s), so it is there whether or not it
    was already taken."""
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


def wait_finished(client, sub_id, timeout=GRADE_TIMEOUT):
    """GET /submissions/{id} once the submission is finished."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/v1/submissions/{sub_id}")
        assert r.status == 200, r
        if r.json["state"] == "finished":
            return r
        assert time.monotonic() < deadline, f"{sub_id} not finished within {timeout}s: {r}"
        time.sleep(0.1)


def poll_events(client, sub_id, timeout=GRADE_TIMEOUT):
    """GET /submissions/{id}/events once the result is among them."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/v1/submissions/{sub_id}/events")
        assert r.status == 200, r
        if r.json["done"]:
            return r
        assert time.monotonic() < deadline, f"{sub_id}: no result within {timeout}s: {r}"
        time.sleep(0.1)


def strings_in(value):
    """Every string in a decoded JSON value (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def assert_reveals_nothing(where, texts, markers):
    """No marker in any of `texts` (raw JSON documents as the learner gets
    them), whether escaped there or not."""
    for text in texts:
        decoded = "\n".join(strings_in(json.loads(text)))
        for m in markers:
            assert m not in text and m not in decoded, f"{where} shows hidden {m!r}: {text[:300]}"


def test_submit_answers_202_and_enqueues(gw, spec, learner, redis, stack):
    r = submit(learner, spec)
    assert r.status == 202, r
    sub = r.json["id"]
    assert r.header("Location") == f"/api/v1/submissions/{sub}"
    assert r.header("RateLimit-Limit") and r.header("RateLimit-Remaining")
    job = find_job(redis, sub)
    assert job.kind == gpb.SUBMISSION_KIND_SUBMIT and job.code == CODE
    assert job.task_slug == TASK_SLUG and job.task_version >= 1 and job.attempt == 1
    # The gateway's `queued` comes first; the executor may have added more.
    evs = events_of(redis, sub)
    assert evs and evs[0][1].WhichOneof("kind") == "queued"
    assert evs[0][1].seq == 1 and evs[0][1].attempt == 0
    g = learner.get(f"/api/v1/submissions/{sub}")
    spec.check("GET", f"/api/v1/submissions/{sub}", g)
    if stack["executor"] is None:
        assert g.json["state"] == "pending" and g.json["verdict"] is None
    else:
        assert g.json["state"] in ("pending", "finished")
        if g.json["state"] == "pending":
            assert g.json["verdict"] is None
        g = wait_finished(learner, sub)
        spec.check("GET", f"/api/v1/submissions/{sub}", g)
        assert g.json["verdict"] == "ac" and g.json["score"] == g.json["max_score"] > 0
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


def test_run_with_stdin(gw, spec, learner, redis, stack):
    r = submit(learner, spec, kind="runs", stdin="4 5\n", interactive=True)
    assert r.status == 202 and r.json["kind"] == "run"
    job = find_job(redis, r.json["id"])
    assert job.kind == gpb.SUBMISSION_KIND_RUN and job.stdin_data == b"4 5\n" and job.interactive
    if stack["executor"] is not None:  # and the program read it
        p = poll_events(learner, r.json["id"])
        out = "".join(e["data"] for e in p.json["events"] if e["kind"] == "stdout")
        assert out == "9\n", p.json["events"]


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
    # Valid JSON with a NUL character in the code: refused naming the field,
    # not as malformed JSON.
    r = submit(learner, spec, code="print(1)\u0000\n")
    assert r.status == 400 and r.json["error"]["field"] == "code"
    assert "NUL character" in r.json["error"]["message"]
    assert "malformed" not in r.json["error"]["message"]
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


def test_websocket_relays_resumes_and_hides_hidden_output(gw, spec, learner, redis, executor,
                                                          hidden_markers):
    markers = sorted(set(hidden_markers) | {HIDDEN_INPUT, LEAKY_OUTPUT})
    r = submit(learner, task_slug=ECHO_TASK, code=LEAKY_CODE)
    assert r.status == 202, r
    sub = r.json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies, origin=f"http://{gw.addr}")
    assert ws.status == 101, ws.head
    ws.send({"type": "subscribe", "submission_id": sub, "id": 7})
    m = ws.recv()
    # The executor may have finished before we asked.
    assert m["type"] == "subscribed" and m["submission_id"] == sub and m["id"] == 7, m
    assert m["state"] in ("pending", "finished")
    done, seen = ws.recv_until(lambda x: x["type"] == "done", timeout=GRADE_TIMEOUT)
    assert done["submission_id"] == sub
    events = [x for x in seen if x["type"] == "event"]
    assert [x["seq"] for x in events] == list(range(1, len(events) + 1)), seen
    kinds = [x["kind"] for x in events]
    assert kinds[:2] == ["queued", "started"] and kinds[-1] == "result", kinds
    assert kinds.count("result") == 1 and "error" not in kinds, kinds
    assert events[1]["test_count"] == 2 and events[1]["runtime"] == "crun"
    tests = [x["test"] for x in events if x["kind"] == "test_result"]
    assert [(t["hidden"], t["verdict"]) for t in tests] == [(False, "ac"), (True, "wa")], tests
    assert tests[0]["output_excerpt"] == "hi\n"
    assert tests[1]["output_excerpt"] == ""
    result = events[-1]["result"]
    assert result["verdict"] == "wa" and result["recorded"]
    assert (result["tests_passed"], result["tests_total"]) == (1, 2)
    ws.close()

    # Reconnect after the second event: exactly the rest, once.
    second_id = events[1]["id"]
    ws2 = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws2.send({"type": "subscribe", "submission_id": sub, "after": second_id})
    _, seen2 = ws2.recv_until(lambda x: x["type"] == "done", timeout=GRADE_TIMEOUT)
    rest = [x for x in seen2 if x["type"] == "event"]
    assert rest == events[2:]
    ws2.close()

    # Polling: the same events.
    polled = [{k: v for k, v in x.items() if k != "type"} for x in events]
    p = learner.get(f"/api/v1/submissions/{sub}/events")
    spec.check("GET", f"/api/v1/submissions/{sub}/events", p)
    assert p.json["done"] and p.json["events"] == polled
    p2 = learner.get(f"/api/v1/submissions/{sub}/events?after={second_id}")
    assert p2.json["events"] == polled[2:]
    assert learner.get(f"/api/v1/submissions/{sub}/events?after=bogus").status == 400

    # The stored submission: finished, hidden test without output.
    g = learner.get(f"/api/v1/submissions/{sub}")
    spec.check("GET", f"/api/v1/submissions/{sub}", g)
    assert g.json["state"] == "finished" and g.json["verdict"] == "wa"
    assert [t["output_excerpt"] for t in g.json["tests"]] == ["hi\n", ""]

    # An expired event stream: the stored submission is sent whole.
    redis.cmd("DEL", f"dojo:sub:{sub}")
    ws3 = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws3.send({"type": "subscribe", "submission_id": sub})
    _, seen3 = ws3.recv_until(lambda x: x["type"] == "done")
    snap = [x for x in seen3 if x["type"] == "submission"][0]
    assert snap["submission"]["verdict"] == "wa"
    assert [t["output_excerpt"] for t in snap["submission"]["tests"]] == ["hi\n", ""]
    ws3.close()

    # Nothing the learner saw gives the hidden test away.
    assert_reveals_nothing("the WebSocket", ws.texts + ws2.texts + ws3.texts, markers)
    assert_reveals_nothing("GET /submissions/{id}", [g.body.decode()], markers)
    assert_reveals_nothing("GET /submissions/{id}/events", [p.body.decode(), p2.body.decode()],
                           markers)


def test_websocket_stdin_and_cancel_reach_the_control_stream(gw, learner, redis, stack):
    code = "import sys\nfor line in sys.stdin:\n    print('got ' + line.strip(), flush=True)\n"
    sub = submit(learner, kind="runs", interactive=True, task_slug=ECHO_TASK,
                 code=code).json["id"]
    live = None
    if stack["executor"] is not None:  # watch the run itself too
        live = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
        live.send({"type": "subscribe", "submission_id": sub})
        assert live.recv()["type"] == "subscribed"
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws.send({"type": "stdin", "submission_id": sub, "data": "hello\n", "id": 1})
    assert ws.recv()["type"] == "ok"
    if live:
        out = ""
        while "got hello\n" not in out:
            _, seen = live.recv_until(lambda x: x.get("kind") == "stdout", timeout=GRADE_TIMEOUT)
            out += "".join(x["data"] for x in seen if x.get("kind") == "stdout")
    ws.send({"type": "cancel", "submission_id": sub})
    assert ws.recv()["type"] == "ok"
    if live:  # the program was still waiting for input: cancelled
        _, seen = live.recv_until(lambda x: x["type"] == "done", timeout=GRADE_TIMEOUT)
        result = [x for x in seen if x.get("kind") == "result"][0]["result"]
        assert result["verdict"] == "cancelled", result
        live.close()
    ws.send({"type": "stdin_close", "submission_id": sub})
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
    # What the gateway wrote: the executor adds an empty Control (no action)
    # to wake its own reader when the job ends.
    ctl = [c for c in (epb.Control.FromString(f[1])
                       for _, f in redis.cmd("XRANGE", f"dojo:ctl:{sub}", "-", "+"))
           if c.WhichOneof("action")]
    assert [c.WhichOneof("action") for c in ctl] == ["stdin_data", "cancel", "stdin_close"]
    assert [c.seq for c in ctl] == [1, 2, 3]
    assert ctl[0].stdin_data.data == b"hello\n"
    r = learner.post(f"/api/v1/submissions/{sub}/cancel")
    if live:
        assert r.status == 409 and r.json["error"]["code"] == "failed_precondition"
    else:
        assert r.status == 202


def test_websocket_handshake_rules(gw, learner):
    # Signed out: a public viewer, who may only ping and watch scoreboards.
    ws = gwkit.WebSocket(gw.addr)
    assert ws.status == 101
    ws.send({"type": "subscribe", "submission_id": "00000000-0000-0000-0000-000000000000",
             "id": 1})
    m = ws.recv()
    assert m["type"] == "error" and m["code"] == "unauthenticated", m
    ws.send({"type": "ping", "id": 2})
    assert ws.recv()["type"] == "pong"
    ws.close()
    ws = gwkit.WebSocket(gw.addr, bearer="not-a-token")
    assert ws.status == 401
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies, origin="http://evil.example")
    assert ws.status == 403
    r = learner.get("/api/v1/ws")
    assert r.status == 400


def open_websockets(gw):
    """The dojo_gateway_websockets_open gauge (0 before the first one)."""
    import urllib.request
    url = f"http://{gw.env['DOJO_GATEWAY_METRICS_ADDR']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("dojo_gateway_websockets_open "):
                return float(line.split()[1])
    return 0.0


def test_failed_upgrades_give_their_connection_slot_back(start_gateway, learner):
    """Handshakes whose connection is reset before the 101 goes out must not
    hold on to one of the DOJO_GATEWAY_WS_MAX slots (nor to memory, an
    eventfd or threads with them)."""
    g = start_gateway(DOJO_GATEWAY_WS_MAX="2")
    for _ in range(200):
        gwkit.ws_abort(g.addr, cookies=learner.cookies)
    # Upgrades that did happen end as soon as their reader sees the reset.
    deadline = time.monotonic() + 30
    while open_websockets(g) != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_websockets(g) == 0
    socks = [gwkit.WebSocket(g.addr, cookies=learner.cookies) for _ in range(2)]
    assert [ws.status for ws in socks] == [101, 101], "slots leaked\n" + g.log_tail()
    for ws in socks:
        ws.send({"type": "ping"})
        assert ws.recv()["type"] == "pong"
    assert open_websockets(g) == 2
    assert gwkit.WebSocket(g.addr, cookies=learner.cookies).status == 503
    for ws in socks:
        ws.close()
    while open_websockets(g) != 0 and time.monotonic() < deadline + 30:
        time.sleep(0.1)
    assert open_websockets(g) == 0
    assert g.alive()


def test_real_executor_grades_a_submission(gw, learner, executor):
    sub = submit(learner).json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws.send({"type": "subscribe", "submission_id": sub})
    _, seen = ws.recv_until(lambda x: x["type"] == "done", timeout=GRADE_TIMEOUT)
    result = [x for x in seen if x.get("kind") == "result"][0]
    assert result["result"]["verdict"] == "ac"
    assert result["result"]["recorded"] and result["result"]["awards"]["points_awarded"] > 0
    ws.close()


def graded(client, gw, **body):
    """The result event and the compile_output events of one submission."""
    r = submit(client, **body)
    assert r.status == 202, r.json
    ws = gwkit.WebSocket(gw.addr, cookies=client.cookies)
    ws.send({"type": "subscribe", "submission_id": r.json["id"]})
    _, seen = ws.recv_until(lambda x: x["type"] == "done", timeout=GRADE_TIMEOUT)
    ws.close()
    return ([x for x in seen if x.get("kind") == "result"][0]["result"],
            [x for x in seen if x.get("kind") == "compile_output"])


def test_a_task_listing_only_python_accepts_c_and_a_syntax_error_is_a_compile_error(
        gw, learner, executor):
    # TASK_SLUG lists python3 alone and does not restrict its languages.
    view = learner.get(f"/api/v1/tasks/{TASK_SLUG}").json
    assert [l["language"] for l in view["languages"]][0] == "python3"
    assert {"c", "cpp", "java"} <= {l["language"] for l in view["languages"]}
    c_code = ('#include <stdio.h>\nint main(void) { long a, b; scanf("%ld %ld", &a, &b);'
              ' printf("%ld\\n", a + b); return 0; }\n')
    result, _ = graded(learner, gw, language="c", code=c_code)
    assert result["verdict"] == "ac", result
    result, compiled = graded(learner, gw, code="a, b = map(int, input().split())\nprint(a +* b)\n")
    assert result["verdict"] == "ce", result
    assert compiled and not compiled[0]["ok"]
    assert "SyntaxError" in compiled[0]["text"] and "line 2" in compiled[0]["text"]


def test_task_stats_are_public_and_count_a_graded_submission(gw, spec, learner, executor):
    anon = gwkit.Client(gw.addr)

    def stats():
        r = anon.call("GET", "/api/v1/task-stats", None)
        spec.check("GET", "/api/v1/task-stats", r)
        assert r.status == 200 and "max-age" in r.header("Cache-Control")
        return {s["task_slug"]: s for s in r.json["stats"]}

    before = stats().get(TASK_SLUG, {"solvers": 0, "submissions": 0, "accepted": 0})
    sub = submit(learner).json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws.send({"type": "subscribe", "submission_id": sub})
    ws.recv_until(lambda x: x["type"] == "done", timeout=GRADE_TIMEOUT)
    ws.close()
    # The cache lives DOJO_GATEWAY_TASKS_CACHE_TTL; look again until it has passed.
    deadline = time.monotonic() + 15
    while True:
        after = stats().get(TASK_SLUG)
        if (after and after["submissions"] > before["submissions"]) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert after["submissions"] == before["submissions"] + 1
    assert after["accepted"] == before["accepted"] + 1
    assert after["solvers"] >= 1 and after["median_attempts"] >= 1
    assert 0 < after["acceptance_rate"] <= 1


def test_solutions_open_only_after_the_learners_own_accepted_submission(gw, spec, executor):
    c, _, _ = gwkit.register(gw.addr)
    path = f"/api/v1/tasks/{TASK_SLUG}/solutions"

    def get(client):
        r = client.call("GET", path, None)
        spec.check("GET", path, r)
        return r

    assert get(gwkit.Client(gw.addr)).status == 401
    r = get(c)
    assert r.status == 403 and r.json["error"]["code"] == "permission_denied"
    assert "GW-EDITORIAL" not in r.body.decode()
    wrong = submit(c, code="print(0)\n").json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=c.cookies)
    ws.send({"type": "subscribe", "submission_id": wrong})
    ws.recv_until(lambda x: x["type"] == "done", timeout=GRADE_TIMEOUT)
    assert get(c).status == 403, "a wrong answer opens nothing"
    right = submit(c).json["id"]
    ws.send({"type": "subscribe", "submission_id": right})
    ws.recv_until(lambda x: x["type"] == "done", timeout=GRADE_TIMEOUT)
    ws.close()
    r = get(c)
    assert r.status == 200, r
    assert r.json["slug"] == TASK_SLUG and r.json["editorial"].startswith("GW-EDITORIAL")
    assert r.json["reference_solutions"] and all(s["code"] for s in r.json["reference_solutions"])
    assert "no-store" in r.header("Cache-Control")
