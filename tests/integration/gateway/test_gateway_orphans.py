"""A submission whose row was written but whose job was never queued does not
stay pending (issue 11.3). The gateway writes the row (gamification's
CreateSubmission) and then queues the job (one Redis script: the job and its
enqueued-once marker). Here the step in between fails for real:

- Redis goes away exactly then: the gateway reaches Redis through a gwkit.Link
  that cuts every connection when the enqueue script passes it (the script
  never reaches Redis), which is what a Redis stopped at that moment looks
  like to the gateway;
- the gateway is SIGKILLed exactly then: the link holds the enqueue script
  back, the test kills the gateway and drops it.

Afterwards gamification's sweeper (the stack's: orphans after 3 s, a sweep
every 0.5 s) queues the submission itself, a retry with the same idempotency
key gives the same submission, and it is judged once; a run in that state
ends as an internal error."""
import secrets
import threading
import time

import pytest

import gwkit
from dojo.executor.v1 import executor_pb2 as epb
from dojo.gamification.v1 import gamification_pb2 as gpb

TASK_SLUG = gwkit.TASK_SLUG
CODE = "a, b = map(int, input().split())\nprint(a + b)\n"
ENQUEUE = b"dojo:gw:enq:"
# Generous: the sweeper acts within seconds, the executor may share the
# machine's cores with other stacks.
SETTLE_TIMEOUT = 120


@pytest.fixture
def redis_link(stack):
    host, port = stack["redis"].rsplit(":", 1)
    link = gwkit.Link((host, int(port)))
    yield link
    link.close()


def submit_body(key=None):
    body = {"task_slug": TASK_SLUG, "language": "python3", "code": CODE}
    if key:
        body["idempotency_key"] = key
    return body


def submissions_of(game_client, user_id, kind=gpb.SUBMISSION_KIND_SUBMIT):
    r = game_client.call("ListSubmissions", gpb.ListSubmissionsRequest(
        user_id=user_id, task_slug=TASK_SLUG, kind=kind))
    return list(r.submissions)


def get(game_client, sub_id):
    return game_client.call("GetSubmission",
                            gpb.GetSubmissionRequest(submission_id=sub_id)).submission


def jobs_for(redis, sub_id):
    """Entries of dojo:jobs for this submission (executors trim acknowledged
    ones only after DOJO_EXECUTOR_JOB_RETENTION, 60 s)."""
    n = 0
    for _, fields in redis.cmd("XRANGE", "dojo:jobs", "-", "+"):
        if epb.Job.FromString(fields[1]).submission_id == sub_id:
            n += 1
    return n


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def settled(stack, game_client, redis, sub_id):
    """Waits until the submission is queued (and, with the real executor,
    judged); asserts it was queued exactly once."""
    wait_for(lambda: redis.cmd("EXISTS", f"dojo:gw:enq:{sub_id}") == 1, SETTLE_TIMEOUT,
             "the sweeper to queue the submission")
    assert jobs_for(redis, sub_id) == 1
    if stack["executor"] is not None:
        s = wait_for(lambda: (lambda s: s if s.state == gpb.SUBMISSION_STATE_FINISHED else None)(
            get(game_client, sub_id)), SETTLE_TIMEOUT, "the verdict")
        assert s.verdict == 1, s  # AC

        def events():
            return [epb.Event.FromString(f[1]) for _, f in
                    redis.cmd("XRANGE", f"dojo:sub:{sub_id}", "-", "+")]

        def results():
            return sum(1 for e in events() if e.WhichOneof("kind") == "result")
        # The executor writes the result event once RecordResult has
        # answered: the row can be finished a moment before the event is there.
        wait_for(results, SETTLE_TIMEOUT, "the result event")
        assert results() == 1, events()
        assert jobs_for(redis, sub_id) == 1


def test_redis_gone_between_row_and_queue_503_then_the_sweeper_queues_it(
        stack, start_gateway, redis_link, redis, game_client):
    g = start_gateway(DOJO_REDIS_ADDR=redis_link.addr)
    c, reg, _ = gwkit.register(g.addr)
    uid = reg.json["user"]["id"]
    key = secrets.token_hex(8)

    redis_link.trip(ENQUEUE, "cut")
    r = c.post("/api/v1/submissions", submit_body(key))
    assert redis_link.tripped.is_set()
    assert r.status == 503, r
    assert r.json["error"]["code"] == "unavailable", r
    assert int(r.header("Retry-After")) > 0, r.headers
    # The row is there, pending; its job is not.
    subs = submissions_of(game_client, uid)
    assert len(subs) == 1 and subs[0].state == gpb.SUBMISSION_STATE_PENDING, subs
    sub_id = subs[0].id
    assert redis.cmd("EXISTS", f"dojo:gw:enq:{sub_id}") == 0
    assert jobs_for(redis, sub_id) == 0

    # Redis is back; nobody retries: the sweeper queues it.
    redis_link.restore()
    settled(stack, game_client, redis, sub_id)

    # The learner's late retry with the same key is the same submission.
    r = c.post("/api/v1/submissions", submit_body(key))
    assert r.status == 202, r
    assert r.json["id"] == sub_id
    assert len(submissions_of(game_client, uid)) == 1
    assert jobs_for(redis, sub_id) == 1


def test_a_retry_with_the_same_key_queues_what_the_503_left_behind(
        stack, start_gateway, redis_link, redis, game_client):
    g = start_gateway(DOJO_REDIS_ADDR=redis_link.addr)
    c, reg, _ = gwkit.register(g.addr)
    uid = reg.json["user"]["id"]
    key = secrets.token_hex(8)
    redis_link.trip(ENQUEUE, "cut")
    assert c.post("/api/v1/submissions", submit_body(key)).status == 503
    redis_link.restore()
    r = c.post("/api/v1/submissions", submit_body(key))
    assert r.status == 202, r
    sub_id = r.json["id"]
    assert [s.id for s in submissions_of(game_client, uid)] == [sub_id]
    settled(stack, game_client, redis, sub_id)


def test_a_run_whose_job_was_never_queued_ends_as_internal_error(
        start_gateway, redis_link, redis, game_client):
    g = start_gateway(DOJO_REDIS_ADDR=redis_link.addr)
    c, reg, _ = gwkit.register(g.addr)
    uid = reg.json["user"]["id"]
    redis_link.trip(ENQUEUE, "cut")
    r = c.post("/api/v1/runs", {"task_slug": TASK_SLUG, "language": "python3", "code": CODE,
                                "stdin": "1 2\n"})
    assert r.status == 503, r
    redis_link.restore()
    runs = submissions_of(game_client, uid, gpb.SUBMISSION_KIND_RUN)
    assert len(runs) == 1
    run_id = runs[0].id
    s = wait_for(lambda: (lambda s: s if s.state == gpb.SUBMISSION_STATE_FINISHED else None)(
        get(game_client, run_id)), SETTLE_TIMEOUT, "the sweeper to finish the run")
    assert s.verdict == 8, s  # IE: its stdin was never stored, it cannot be queued later
    assert s.awards.points_awarded == 0
    # Its marker is taken: a late gateway cannot queue it any more.
    assert redis.cmd("EXISTS", f"dojo:gw:enq:{run_id}") == 1
    assert jobs_for(redis, run_id) == 0


def test_gateway_killed_between_row_and_queue_the_submission_is_still_judged_once(
        stack, workdir, redis_link, redis, game_client):
    env = dict(stack["env"], DOJO_REDIS_ADDR=redis_link.addr)
    victim = gwkit.Gateway(env, workdir / f"gw-victim-{secrets.token_hex(3)}").start()
    try:
        c, reg, _ = gwkit.register(victim.addr)
        uid = reg.json["user"]["id"]
        key = secrets.token_hex(8)
        redis_link.trip(ENQUEUE, "hold")
        answer = {}

        def post():
            try:
                answer["r"] = c.post("/api/v1/submissions", submit_body(key))
            except OSError as e:
                answer["error"] = e

        t = threading.Thread(target=post, daemon=True)
        t.start()
        assert redis_link.tripped.wait(30), "the gateway never sent the enqueue script"
        victim.proc.kill()
        victim.proc.wait(10)
        redis_link.cut()  # the held script never reaches Redis
        t.join(30)
        assert "r" not in answer, answer  # the client got no answer at all
    finally:
        if victim.alive():
            victim.proc.kill()
            victim.proc.wait()

    subs = submissions_of(game_client, uid)
    assert len(subs) == 1 and subs[0].state == gpb.SUBMISSION_STATE_PENDING, subs
    sub_id = subs[0].id
    assert redis.cmd("EXISTS", f"dojo:gw:enq:{sub_id}") == 0
    settled(stack, game_client, redis, sub_id)

    # The client retries on the gateway that is left: the same submission.
    c2 = gwkit.Client(stack["gateway"].addr)
    c2.cookies = dict(c.cookies)
    r = c2.post("/api/v1/submissions", submit_body(key))
    assert r.status == 202, r
    assert r.json["id"] == sub_id
    assert len(submissions_of(game_client, uid)) == 1
    assert jobs_for(redis, sub_id) == 1
