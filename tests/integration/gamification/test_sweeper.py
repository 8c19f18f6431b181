"""The sweeper of pending submissions (services/gamification/sweeper.c): a
gamification process of its own with the sweeper on, against a Redis server
of the test's own (whatever it queues reaches no executor of another test).

The clock is the service's (DOJO_CLOCK_FILE): a submission ages when the
test moves the clock, not while it waits."""
import time

import pytest

import gamekit
import serverkit
from dojo.executor.v1 import executor_pb2 as epb
from dojo.gamification.v1 import gamification_pb2 as gpb

IE = 8
SWEEP = {"DOJO_GAMIFICATION_SWEEP_INTERVAL": "200ms", "DOJO_GAMIFICATION_ORPHAN_AFTER": "5s",
         "DOJO_GAMIFICATION_PENDING_MAX": "10m"}
# Generous bounds for a busy machine; a sweep runs every 200 ms.
WAIT = 30


@pytest.fixture
def own_redis(workdir):
    r = serverkit.RedisServer(workdir / f"sweeper-redis-{time.monotonic_ns()}").start()
    yield r
    r.kill()


@pytest.fixture
def swept(fresh_game, own_redis, clock):
    """(gamification client, RESP client of its Redis, clock)."""
    before = clock.now
    clock.set("2026-04-01T10:00:00Z")
    game = fresh_game(DOJO_REDIS_ADDR=own_redis.addr, **SWEEP)
    r = serverkit.Redis(own_redis.addr)
    yield game.client, r, clock
    r.close()
    clock.set(before)


def get(gc, sid):
    return gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=sid)).submission


def jobs(r):
    return [epb.Job.FromString(f[1]) for _, f in r.cmd("XRANGE", "dojo:jobs", "-", "+")]


def eventually(pred, what):
    deadline = time.monotonic() + WAIT
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def finished(gc, sid):
    return get(gc, sid).state == gpb.SUBMISSION_STATE_FINISHED


def events(r, sid):
    return [epb.Event.FromString(f[1]) for _, f in r.cmd("XRANGE", f"dojo:sub:{sid}", "-", "+")]


def assert_ie_result_published(r, sid, seq):
    """The sweeper's verdict reached the submission's event stream, so a
    learner watching it on the WebSocket gets it (and "done")."""
    ev = events(r, sid)[-1]
    assert ev.WhichOneof("kind") == "result" and ev.seq == seq, ev
    assert ev.result.verdict == IE and "submit it again" in ev.result.message, ev
    assert r.cmd("TTL", f"dojo:sub:{sid}") > 0


def test_a_submit_never_queued_is_queued_from_its_row_once(swept):
    gc, r, clock = swept
    user = gamekit.new_user()
    code = "print(sum(map(int, input().split())))\n"
    sid = gc.create(user, "g-sum", code=code, key="k-1")
    time.sleep(1)  # several sweeps: too young to be an orphan
    assert jobs(r) == []
    clock.advance(6)
    eventually(lambda: any(j.submission_id == sid for j in jobs(r)), "the job")
    (job,) = [j for j in jobs(r) if j.submission_id == sid]
    assert (job.user_id, job.task_slug, job.task_version, job.language, job.code, job.kind) == (
        user, "g-sum", 1, "python3", code, gamekit.SUBMIT)
    assert job.attempt == 1 and job.request_id
    (ev,) = [epb.Event.FromString(f[1]) for _, f in r.cmd("XRANGE", f"dojo:sub:{sid}", "-", "+")]
    assert ev.WhichOneof("kind") == "queued" and ev.seq == 1
    assert r.cmd("TTL", f"dojo:sub:{sid}") > 0
    assert r.cmd("EXISTS", f"dojo:gw:enq:{sid}") == 1
    time.sleep(1)  # more sweeps: queued once
    assert [j.submission_id for j in jobs(r)].count(sid) == 1
    assert get(gc, sid).state == gpb.SUBMISSION_STATE_PENDING  # the executor's to judge
    # The gateway's repeat with the same key: the same submission, still queued once.
    assert gc.create(user, "g-sum", code=code, key="k-1") == sid


def test_a_queued_submission_is_left_to_its_executor(swept):
    gc, r, clock = swept
    sid = gc.create(gamekit.new_user(), "g-sum")
    r.cmd("SET", f"dojo:gw:enq:{sid}", "1", "EX", "86400")
    clock.advance(60)
    time.sleep(1)
    assert get(gc, sid).state == gpb.SUBMISSION_STATE_PENDING
    assert jobs(r) == []


def test_a_run_or_a_submit_without_code_never_queued_ends_as_internal_error(swept):
    gc, r, clock = swept
    user = gamekit.new_user()
    run = gc.create(user, "g-sum", kind=gamekit.RUN)
    bare = gc.call("CreateSubmission", gpb.CreateSubmissionRequest(
        user_id=user, task_slug="g-sum", task_version=1, language="python3",
        code_hash="0" * 64, kind=gamekit.SUBMIT)).submission_id
    clock.advance(6)
    eventually(lambda: finished(gc, run) and finished(gc, bare), "both finished")
    for sid in (run, bare):
        s = get(gc, sid)
        assert s.verdict == IE and s.score == 0 and s.awards.points_awarded == 0, s
        # Its marker is taken: a late gateway does not queue it any more.
        assert r.cmd("GET", f"dojo:gw:enq:{sid}") == b"0"
    assert jobs(r) == []
    # Nothing was awarded: no points, no streak.
    p = gc.progress(user)
    assert p.total_points == 0 and p.streak.current_days == 0


def dead_letter(r, sid):
    job = epb.Job(submission_id=sid, kind=gamekit.SUBMIT, task_slug="g-sum")
    r.cmd("XADD", "dojo:jobs:dead", "*", "job", job.SerializeToString(), "reason",
          "delivered 4 times (limit 3)", "entry", "1-1", "executor", "exec-x", "deliveries", "4")


def test_a_dead_lettered_pending_submission_ends_as_internal_error(swept):
    gc, r, clock = swept
    user = gamekit.new_user()
    dead = gc.create(user, "g-sum")
    judged = gc.create(user, "g-hello")
    for sid in (dead, judged):
        r.cmd("SET", f"dojo:gw:enq:{sid}", "1", "EX", "86400")
    gc.record(judged)  # AC, before its (late, stray) dead letter
    dead_letter(r, dead)
    dead_letter(r, judged)
    eventually(lambda: finished(gc, dead), "the dead-lettered one finished")
    assert get(gc, dead).verdict == IE
    eventually(lambda: events(r, dead), "its result event")
    assert_ie_result_published(r, dead, seq=1)
    assert events(r, judged) == []  # recorded by its executor: nothing of the sweeper's
    s = get(gc, judged)
    assert s.verdict == gamekit.AC and s.awards.points_awarded == gamekit.POINTS["g-hello"]
    assert gc.progress(user).total_points == gamekit.POINTS["g-hello"]


def test_pending_longer_than_the_bound_ends_as_internal_error(swept):
    gc, r, clock = swept
    sid = gc.create(gamekit.new_user(), "g-sum")
    r.cmd("SET", f"dojo:gw:enq:{sid}", "1", "EX", "86400")
    # What its executor wrote before it went quiet: queued, started.
    for seq, kind in ((1, "queued"), (2, "started")):
        ev = epb.Event(submission_id=sid, seq=seq, attempt=seq - 1)
        getattr(ev, kind).SetInParent()
        r.cmd("XADD", f"dojo:sub:{sid}", "*", "event", ev.SerializeToString())
    clock.advance(9 * 60)
    time.sleep(1)
    assert get(gc, sid).state == gpb.SUBMISSION_STATE_PENDING
    clock.advance(2 * 60)
    eventually(lambda: finished(gc, sid), "the old one finished")
    assert get(gc, sid).verdict == IE
    eventually(lambda: len(events(r, sid)) == 3, "its result event")
    assert_ie_result_published(r, sid, seq=3)
    assert events(r, sid)[-1].attempt == 1
    # A late result of its executor changes nothing.
    assert gc.record(sid).duplicate
    assert get(gc, sid).verdict == IE


def test_the_sweeper_waits_out_a_redis_outage(swept, own_redis):
    gc, r, clock = swept
    own_redis.kill()
    sid = gc.create(gamekit.new_user(), "g-sum")
    clock.advance(6)
    time.sleep(1)  # sweeps fail: nothing is decided without Redis
    assert get(gc, sid).state == gpb.SUBMISSION_STATE_PENDING
    own_redis.start()
    r2 = serverkit.Redis(own_redis.addr)
    try:
        eventually(lambda: any(j.submission_id == sid for j in jobs(r2)), "the job")
    finally:
        r2.close()
