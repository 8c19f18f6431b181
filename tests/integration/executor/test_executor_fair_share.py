"""A learner's share of the executors: at most DOJO_EXECUTOR_LEARNER_MAX_RUNNING
(default 1) of one learner's jobs run at once, the rest wait without holding
up other learners' jobs, and a running place outlives neither the executor
that held it nor its lease."""
import time
import uuid

import execkit
from execkit import new_submission
from dojo.common.v1 import common_pb2 as V
from dojo.executor.v1 import executor_pb2 as epb

# An interactive run that holds its sandbox until the test closes its stdin.
HOLD = "import sys\nfor line in sys.stdin:\n    print('got ' + line.strip(), flush=True)\n"
ECHO = "print(input())\n"


def running_key(user):
    return f"dojo:exec:running:{user}"


def events_of(redis, sid):
    return [e for _, e in execkit.read_events(redis, sid)]


def first(events, kind):
    return next(e for e in events if e.WhichOneof("kind") == kind)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def hold(exec_stack, redis, user):
    """Queues an interactive run of `user` that waits for its stdin."""
    sid, _ = new_submission(exec_stack.gc, "x-hold", HOLD, kind=execkit.RUN, user=user)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-hold", HOLD, kind=execkit.RUN,
                                            interactive=True, stdin_data=b"one\n"))
    return sid


def submit(exec_stack, redis, user):
    sid, _ = new_submission(exec_stack.gc, "x-hold", ECHO, user=user)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-hold", ECHO))
    return sid


def release(redis, sid, seq=1):
    execkit.control(redis, sid, seq, stdin_close=epb.StdinClose())


def started(redis, sid):
    return "started" in execkit.kinds(events_of(redis, sid))


def test_a_learners_next_job_waits_for_the_running_one_while_others_go_ahead(
        start_executor, exec_stack, redis):
    ex = start_executor("fair", DOJO_EXECUTOR_CONCURRENCY="2")
    learner = str(uuid.uuid4())
    held = hold(exec_stack, redis, learner)
    wait_for(lambda: started(redis, held), 30, "the first job started")
    later = submit(exec_stack, redis, learner)
    others = [submit(exec_stack, redis, str(uuid.uuid4())) for _ in range(2)]
    for sid in others:
        r = execkit.wait_final(redis, sid, 60)[-1].result
        assert r.verdict == V.VERDICT_AC and r.recorded
    # Two other learners were judged on the one free worker; the learner's
    # own second job has waited all along: its first holds the one place.
    assert not started(redis, later)
    assert "waits for its learner's turn" in ex.log_text()
    # The learner is told why (after the gateway's own queued event).
    waits = [e.queued.waiting_for for e in events_of(redis, later) if e.WhichOneof("kind") == "queued"]
    assert waits[0] == "" and "earlier_job" in waits[1:]
    assert redis("ZRANGE", running_key(learner), 0, -1) == [held.encode()]
    release(redis, held)
    held_events = execkit.wait_final(redis, held, 30)
    assert held_events[-1].result.verdict == V.VERDICT_AC
    later_events = execkit.wait_final(redis, later, 60)
    assert later_events[-1].result.verdict == V.VERDICT_AC and later_events[-1].result.recorded
    assert (first(later_events, "started").emitted_at.unix_micros
            >= held_events[-1].emitted_at.unix_micros)
    wait_for(lambda: redis("EXISTS", running_key(learner)) == 0, 10, "the places given back")
    assert execkit.pending_count(redis) == 0


def test_more_places_when_configured(start_executor, exec_stack, redis):
    start_executor("fair2", DOJO_EXECUTOR_CONCURRENCY="3", DOJO_EXECUTOR_LEARNER_MAX_RUNNING="2")
    learner = str(uuid.uuid4())
    a, b = hold(exec_stack, redis, learner), hold(exec_stack, redis, learner)
    wait_for(lambda: started(redis, a) and started(redis, b), 30, "both jobs running at once")
    third = submit(exec_stack, redis, learner)
    other = submit(exec_stack, redis, str(uuid.uuid4()))
    assert execkit.wait_final(redis, other, 60)[-1].result.verdict == V.VERDICT_AC
    assert not started(redis, third)
    release(redis, a)
    execkit.wait_final(redis, a, 30)
    assert execkit.wait_final(redis, third, 60)[-1].result.verdict == V.VERDICT_AC
    release(redis, b)
    execkit.wait_final(redis, b, 30)
    assert execkit.pending_count(redis) == 0


def test_a_place_left_by_a_dead_executor_ends_with_its_lease(start_executor, exec_stack, redis):
    start_executor("lease", DOJO_EXECUTOR_CONCURRENCY="1")
    learner = str(uuid.uuid4())
    # What a dead executor leaves behind: a place nobody renews or gives back.
    now_s, now_us = (int(x) for x in redis("TIME"))
    ends_ms = now_s * 1000 + now_us // 1000 + 1500
    redis("ZADD", running_key(learner), ends_ms, "a-dead-executors-job")
    redis("PEXPIRE", running_key(learner), 60000)
    sid = submit(exec_stack, redis, learner)
    events = execkit.wait_final(redis, sid, 60)
    assert events[-1].result.verdict == V.VERDICT_AC and events[-1].result.recorded
    assert first(events, "started").emitted_at.unix_micros >= ends_ms * 1000
    # The worker gives its place back just after the job's final event.
    wait_for(lambda: redis("ZRANGE", running_key(learner), 0, -1) == [], 10,
             "the job's place given back")


def test_a_killed_executors_place_follows_its_job_to_the_heir(start_executor, exec_stack, redis):
    group = {"DOJO_EXECUTOR_HEARTBEAT_TTL": "2s", "DOJO_EXECUTOR_RECLAIM_IDLE": "300s"}
    a = start_executor("fair-dead", DOJO_EXECUTOR_CONCURRENCY="2", **group)
    learner = str(uuid.uuid4())
    held = hold(exec_stack, redis, learner)
    wait_for(lambda: started(redis, held), 30, "the first job started")
    later = submit(exec_stack, redis, learner)
    wait_for(lambda: any("learner's turn" in line and f"submission={later}" in line
                         for line in a.log_text().splitlines()), 30, "the second job waiting")
    a.kill()  # SIGKILL: its place is never given back
    try:
        b = start_executor("fair-heir", DOJO_EXECUTOR_CONCURRENCY="2", **group)
        # The heir takes both over; the running one takes its own place again.
        wait_for(lambda: [e.started.executor_id for e in events_of(redis, held)
                          if e.WhichOneof("kind") == "started"] == [a.name, b.name],
                 60, "the held job started again by the heir")
        assert not started(redis, later)
        release(redis, held)
        held_events = execkit.wait_final(redis, held, 30)
        later_events = execkit.wait_final(redis, later, 60)
    finally:
        import subprocess
        subprocess.run([str(execkit.executor_binary()), "sweep"], env=a.env, capture_output=True,
                       timeout=60)
    assert held_events[-1].result.verdict == V.VERDICT_AC
    assert later_events[-1].result.verdict == V.VERDICT_AC and later_events[-1].result.recorded
    assert first(later_events, "started").started.executor_id == b.name
    assert (first(later_events, "started").emitted_at.unix_micros
            >= held_events[-1].emitted_at.unix_micros)
    wait_for(lambda: redis("EXISTS", running_key(learner)) == 0, 10, "the places given back")
    assert execkit.pending_count(redis) == 0


# ---------------------------------------------------------------------------
# Sandbox time per learner

SLEEPY = "import time\ntime.sleep(1.5)\nprint(input())\n"


def redis_now_us(redis):
    s, us = (int(x) for x in redis("TIME"))
    return s * 1_000_000 + us


def test_a_learner_over_the_sandbox_time_waits_for_the_window_while_others_run(
        start_executor, exec_stack, redis):
    start_executor("budget", DOJO_EXECUTOR_CONCURRENCY="2",
                   DOJO_EXECUTOR_LEARNER_SANDBOX_SECONDS="1",
                   DOJO_EXECUTOR_LEARNER_SANDBOX_WINDOW="10s")
    learner = str(uuid.uuid4())
    budget = f"dojo:exec:sandbox:{learner}"
    sid, _ = new_submission(exec_stack.gc, "x-hold", SLEEPY, user=learner)
    execkit.enqueue(redis, execkit.make_job(sid, learner, "x-hold", SLEEPY))
    assert execkit.wait_final(redis, sid, 60)[-1].result.verdict == V.VERDICT_AC
    # Charged after the job: at least the 1.5 s its sandbox ran.
    wait_for(lambda: redis("EXISTS", budget) == 1, 10, "the job's sandbox time charged")
    assert int(redis("GET", budget)) >= 1500
    window_ends_us = redis_now_us(redis) + redis("PTTL", budget) * 1000
    later = submit(exec_stack, redis, learner)
    other = submit(exec_stack, redis, str(uuid.uuid4()))
    other_events = execkit.wait_final(redis, other, 60)
    assert other_events[-1].result.verdict == V.VERDICT_AC
    # Not refused, not lost: it runs once the learner's window is over.
    later_events = execkit.wait_final(redis, later, 60)
    assert later_events[-1].result.verdict == V.VERDICT_AC and later_events[-1].result.recorded
    assert "sandbox_time" in [e.queued.waiting_for for e in later_events
                              if e.WhichOneof("kind") == "queued"]
    assert [e.seq for e in later_events] == list(range(1, len(later_events) + 1))
    later_started = first(later_events, "started").emitted_at.unix_micros
    assert later_started >= window_ends_us - 10_000
    assert first(other_events, "started").emitted_at.unix_micros < later_started
    assert execkit.pending_count(redis) == 0
