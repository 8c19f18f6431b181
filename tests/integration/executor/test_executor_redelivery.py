"""Redelivery: an executor killed in the middle of a job, a job that keeps
failing on the judge's side, and the group's upkeep (dead consumers taken
over and removed, markers, trimming of acknowledged jobs); contest jobs
ahead of practice ones."""
import os
import re
import subprocess
import tempfile
import time
import uuid

from execkit import new_submission
import execkit
from dojo.common.v1 import common_pb2 as V
from dojo.executor.v1 import executor_pb2 as epb
from dojo.gamification.v1 import gamification_pb2 as gpb

SLOW_ECHO = "import time\ntime.sleep(2)\nprint(input())\n"


def _wait_started(redis, sid, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "started" in execkit.kinds([e for _, e in execkit.read_events(redis, sid)]):
            return
        time.sleep(0.02)
    raise AssertionError("job never started")


def _sweep(env):
    subprocess.run([str(execkit.executor_binary()), "sweep"], env=env, capture_output=True,
                   timeout=60)


def test_killed_executor_job_is_reclaimed_and_recorded_once(start_executor, exec_stack, redis):
    a = start_executor("victim", DOJO_EXECUTOR_RECLAIM_IDLE="1s")
    sid, user = new_submission(exec_stack.gc, "x-echo", SLOW_ECHO)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", SLOW_ECHO))
    try:
        _wait_started(redis, sid)
        a.kill()  # SIGKILL in the middle of the job
        b = start_executor("rescuer", DOJO_EXECUTOR_RECLAIM_IDLE="1s")
        events = execkit.wait_final(redis, sid, 40)
    finally:
        _sweep(a.env)
    r = events[-1].result
    assert r.verdict == V.VERDICT_AC and r.recorded and r.awards.points_awarded == 10
    started = [e for e in events if e.WhichOneof("kind") == "started"]
    assert [s.started.executor_id for s in started] == [a.name, b.name]
    assert [s.attempt for s in started] == [1, 2]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    sub = exec_stack.gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=sid)).submission
    assert sub.state == gpb.SUBMISSION_STATE_FINISHED and sub.executor_id == b.name
    prog = exec_stack.gc.call("GetProgress", gpb.GetProgressRequest(user_id=user))
    assert prog.total_points == 10
    recorded = re.findall(rf"result recorded.*submission={sid}", exec_stack.game.log_path.read_text())
    assert len(recorded) == 1
    assert execkit.pending_count(redis) == 0


def test_job_that_keeps_failing_lands_in_dead_letters_with_ie(start_executor, exec_stack, redis):
    empty = tempfile.mkdtemp(prefix="dojo-no-rootfs-")
    start_executor("broken", DOJO_EXECUTOR_ROOTFS_DIR=empty, DOJO_EXECUTOR_RECLAIM_IDLE="1s",
                   DOJO_EXECUTOR_MAX_ATTEMPTS=2)
    code = "print(input())\n"
    sid, user = new_submission(exec_stack.gc, "x-echo", code)
    entry = execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", code)).decode()
    events = execkit.wait_final(redis, sid, 40)
    os.rmdir(empty)
    r = events[-1].result
    assert r.verdict == V.VERDICT_IE and r.recorded
    errors = [e.error for e in events if e.WhichOneof("kind") == "error"]
    assert errors and errors[0].will_retry and "sandbox" in errors[0].message
    assert "internal" not in r.message.lower() or len(r.message) <= 200
    dead = redis("XRANGE", "dojo:jobs:dead", "-", "+")
    mine = [dict(zip(f[::2], f[1::2])) for _, f in dead
            if dict(zip(f[::2], f[1::2])).get(b"entry") == entry.encode()]
    assert len(mine) == 1
    assert epb.Job.FromString(mine[0][b"job"]).submission_id == sid
    assert b"root filesystem" in mine[0][b"reason"]
    sub = exec_stack.gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=sid)).submission
    assert sub.verdict == V.VERDICT_IE
    assert execkit.pending_count(redis) == 0


# ---------------------------------------------------------------------------
# The group's upkeep: dead consumers, markers, trimming (issue 11.5).
# RECLAIM_IDLE is far above the waits below, so XAUTOCLAIM cannot be what
# brings a job back: only the dead consumer's missing marker can.

SLOW_GROUP = {"DOJO_EXECUTOR_HEARTBEAT_TTL": "2s", "DOJO_EXECUTOR_RECLAIM_IDLE": "300s"}


def _consumers(redis):
    try:
        rows = redis("XINFO", "CONSUMERS", "dojo:jobs", "executors")
    except RuntimeError:
        return {}
    out = {}
    for row in rows:
        d = dict(zip(row[::2], row[1::2]))
        out[d[b"name"].decode()] = d[b"pending"]
    return out


def _eventually(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def _marker(name):
    return f"dojo:executor:alive:{name}"


def _entry_ids(redis):
    return {e[0].decode() for e in redis("XRANGE", "dojo:jobs", "-", "+") or []}


def test_a_dead_executors_job_is_taken_over_within_seconds(start_executor, exec_stack, redis):
    a = start_executor("dead", **SLOW_GROUP)
    sid, user = new_submission(exec_stack.gc, "x-echo", SLOW_ECHO)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", SLOW_ECHO))
    try:
        _wait_started(redis, sid)
        assert redis("EXISTS", _marker(a.name)) == 1
        a.kill()  # SIGKILL in the middle of the job
        b = start_executor("heir", **SLOW_GROUP)
        # The old way waited for RECLAIM_IDLE (300 s) here.
        events = execkit.wait_final(redis, sid, 60)
    finally:
        _sweep(a.env)
    started = [e for e in events if e.WhichOneof("kind") == "started"]
    gap = (started[-1].emitted_at.unix_micros - started[0].emitted_at.unix_micros) / 1e6
    print(f"dead executor: started -> started again elsewhere in {gap:.2f} s (TTL 2 s)")
    r = events[-1].result
    assert r.verdict == V.VERDICT_AC and r.recorded and r.awards.points_awarded == 10
    assert [s.started.executor_id for s in started] == [a.name, b.name]
    assert [s.attempt for s in started] == [1, 2]
    assert "how=dead from=" + a.name in b.log_text()
    recorded = re.findall(rf"result recorded.*submission={sid}", exec_stack.game.log_path.read_text())
    assert len(recorded) == 1
    assert execkit.pending_count(redis) == 0
    # The dead consumer, now holding nothing, leaves the group; its marker
    # expired; the live one's marker lives for at most its TTL.
    _eventually(lambda: a.name not in _consumers(redis), 20, f"{a.name} removed from the group")
    assert b.name in _consumers(redis)
    assert redis("EXISTS", _marker(a.name)) == 0
    assert 0 < redis("PTTL", _marker(b.name)) <= 2000


def test_a_restarted_executor_takes_back_its_own_jobs_at_once(start_executor, exec_stack, redis):
    name = f"same-{uuid.uuid4().hex[:6]}"
    a = start_executor("same", DOJO_EXECUTOR_ID=name, **SLOW_GROUP)
    sid, user = new_submission(exec_stack.gc, "x-echo", SLOW_ECHO)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", SLOW_ECHO))
    _wait_started(redis, sid)
    a.kill()
    # Same id at once: its marker may still be there, so nobody else would
    # take the job for a while; the new process knows it runs nothing yet.
    b = start_executor("same", DOJO_EXECUTOR_ID=name, **SLOW_GROUP)
    events = execkit.wait_final(redis, sid, 60)
    r = events[-1].result
    assert r.verdict == V.VERDICT_AC and r.recorded
    started = [e for e in events if e.WhichOneof("kind") == "started"]
    assert [s.started.executor_id for s in started] == [name, name]
    assert [s.attempt for s in started] == [1, 2]
    assert "how=adopted" in b.log_text()
    assert execkit.pending_count(redis) == 0


def test_a_stopped_executor_leaves_the_group_and_removes_its_marker(start_executor, exec_stack,
                                                                    redis):
    a = start_executor("leaver", **SLOW_GROUP)
    assert redis("EXISTS", _marker(a.name)) == 1
    # A consumer joins the group with the first entry it is given.
    code = "print(input())\n"
    sid, user = new_submission(exec_stack.gc, "x-echo", code)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", code))
    execkit.wait_final(redis, sid, 40)
    _eventually(lambda: a.name in _consumers(redis), 10, f"{a.name} in the group")
    assert a.stop() == 0
    assert a.name not in _consumers(redis)
    assert redis("EXISTS", _marker(a.name)) == 0


def test_acknowledged_jobs_leave_the_stream_and_unread_ones_stay(start_executor, exec_stack,
                                                                 redis):
    a = start_executor("trimmer", DOJO_EXECUTOR_JOB_RETENTION="0s", **SLOW_GROUP)
    code = "print(input())\n"
    done = []
    for _ in range(3):
        sid, user = new_submission(exec_stack.gc, "x-echo", code)
        done.append((sid, execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo",
                                                                  code)).decode()))
    for sid, _ in done:
        assert execkit.wait_final(redis, sid, 40)[-1].result.verdict == V.VERDICT_AC
    _eventually(lambda: not _entry_ids(redis) & {e for _, e in done}, 15,
                "acknowledged entries trimmed")
    # Trimming keeps the group's lag exact (KEDA scales on it).
    group = [dict(zip(g[::2], g[1::2])) for g in redis("XINFO", "GROUPS", "dojo:jobs")]
    assert [g[b"lag"] for g in group if g[b"name"] == b"executors"] == [0]

    # A job nobody has read yet (the executor drains) stays through many trims.
    a.call("Drain", epb.DrainRequest(), epb.DrainResponse, service_key=exec_stack.service_key)
    time.sleep(2.2)  # a worker blocked in XREADGROUP may still take one entry before
    sid, user = new_submission(exec_stack.gc, "x-echo", code)
    waiting = execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", code)).decode()
    time.sleep(3)
    assert waiting in _entry_ids(redis)
    a.call("Drain", epb.DrainRequest(resume=True), epb.DrainResponse,
           service_key=exec_stack.service_key)
    assert execkit.wait_final(redis, sid, 40)[-1].result.verdict == V.VERDICT_AC
    _eventually(lambda: waiting not in _entry_ids(redis), 15, "the last entry trimmed")


def test_contest_jobs_go_ahead_of_the_practice_jobs_queued_before_them(start_executor, exec_stack,
                                                                      redis):
    a = start_executor("prio", DOJO_EXECUTOR_CONCURRENCY="1")
    # The one worker is busy with a slow job while the others queue up.
    first, user = new_submission(exec_stack.gc, "x-echo", SLOW_ECHO)
    execkit.enqueue(redis, execkit.make_job(first, user, "x-echo", SLOW_ECHO))
    _wait_started(redis, first)
    code = "print(input())\n"
    practice = []
    for _ in range(3):
        sid, u = new_submission(exec_stack.gc, "x-echo", code)
        execkit.enqueue(redis, execkit.make_job(sid, u, "x-echo", code))
        practice.append(sid)
    contest, u = new_submission(exec_stack.gc, "x-echo", code)
    execkit.enqueue(redis, execkit.make_job(contest, u, "x-echo", code), stream="dojo:jobs:contest")
    started = {}
    for sid in [first, contest] + practice:
        events = execkit.wait_final(redis, sid, 60)
        assert events[-1].result.verdict == V.VERDICT_AC and events[-1].result.recorded
        started[sid] = next(e.emitted_at.unix_micros for e in events
                            if e.WhichOneof("kind") == "started")
    order = sorted(started, key=started.get)
    assert order[:2] == [first, contest], "the contest job must run next, before older practice"
    assert sorted(order[2:]) == sorted(practice)
    assert "stream=dojo:jobs:contest" in a.log_text()
    assert execkit.pending_count(redis) == 0
