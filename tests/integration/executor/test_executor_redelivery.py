"""Redelivery: an executor killed in the middle of a job, and a job that keeps
failing on the judge's side."""
import os
import re
import subprocess
import tempfile
import time

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
