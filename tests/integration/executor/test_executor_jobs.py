"""The executor end to end: jobs enqueued on dojo:jobs as the gateway would,
judged in real crun sandboxes, recorded with gamification, events read back
from dojo:sub:{id}."""
import time
import uuid

import grpc
import pytest

import execkit
from execkit import new_submission
from dojo.common.v1 import common_pb2 as V
from dojo.executor.v1 import executor_pb2 as epb
from dojo.gamification.v1 import gamification_pb2 as gpb
from dojo_health import health_pb2

SUM_OK = "a, b = map(int, input().split())\nprint(a + b)\n"
SUM_C = '#include <stdio.h>\nint main(void){long a,b;scanf("%ld %ld",&a,&b);printf("%ld\\n",a+b);}\n'


@pytest.fixture(scope="module")
def ex(exec_stack, workdir):
    env = dict(exec_stack.env, DOJO_EXECUTOR_ID=f"jobs-{uuid.uuid4().hex[:6]}")
    p = execkit.ExecutorProcess(env, workdir / env["DOJO_EXECUTOR_ID"], env["DOJO_EXECUTOR_ID"],
                                __import__("authkit").free_port).start()
    yield p
    rc = p.stop()
    assert rc == 0, f"executor exited with {rc}\n" + p.log_tail()


@pytest.fixture
def judge(ex, exec_stack, redis, request):
    """judge(slug, code, kind=..., language=..., **job fields) → (events, sid, user)."""

    def run(slug, code, kind=execkit.SUBMIT, language="python3", timeout=40, **kw):
        sid, user = new_submission(exec_stack.gc, slug, code, kind=kind, language=language)
        execkit.enqueue(redis, execkit.make_job(sid, user, slug, code, kind=kind,
                                                language=language, **kw))
        return execkit.wait_final(redis, sid, timeout), sid, user

    yield run
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(ex.log_tail())


def final(events):
    return events[-1].result


def results_of(events):
    return [e.test_result for e in events if e.WhichOneof("kind") == "test_result"]


# ---------------------------------------------------------------------------
# SUBMIT: verdicts


def test_accepted_submission_is_recorded_and_points_are_awarded_once(judge, exec_stack, redis):
    events, sid, user = judge("x-sum", SUM_OK)
    assert execkit.kinds(events) == ["queued", "started"] + ["test_result"] * 4 + ["result"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.attempt == 1 for e in events[1:])
    assert events[1].started.test_count == 4 and events[1].started.runtime == "crun"
    r = final(events)
    assert r.verdict == V.VERDICT_AC and r.score == 5 and r.max_score == 5
    assert (r.tests_passed, r.tests_total) == (4, 4)
    assert r.recorded and r.awards.points_awarded == 10 and r.awards.first_solve
    tr = results_of(events)
    assert [t.name for t in tr] == ["sample-1", "sample-2", "hidden-1", "hidden-2"]
    assert tr[0].output_excerpt == "3\n" and all(t.output_excerpt == "" for t in tr[2:])
    assert [t.weight for t in tr] == [1, 1, 2, 1]
    sub = exec_stack.gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=sid)).submission
    assert sub.state == gpb.SUBMISSION_STATE_FINISHED and sub.verdict == V.VERDICT_AC
    assert sub.executor_id.startswith("jobs-")

    # A redelivered job (same message again) re-publishes the stored result
    # without running, and nothing is awarded twice.
    job = execkit.make_job(sid, user, "x-sum", SUM_OK)
    redis("XADD", "dojo:jobs", "*", "job", job.SerializeToString())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        evs = [e for _, e in execkit.read_events(redis, sid)]
        if len(evs) > len(events) and evs[-1].WhichOneof("kind") == "result":
            break
        time.sleep(0.05)
    again = evs[len(events):]
    assert execkit.kinds(again) == ["result"], execkit.kinds(again)
    assert again[0].seq == events[-1].seq + 1
    assert again[0].result.verdict == V.VERDICT_AC and again[0].result.recorded
    assert again[0].result.awards.points_awarded == 10
    prog = exec_stack.gc.call("GetProgress", gpb.GetProgressRequest(user_id=user))
    assert prog.total_points == 10


def test_hidden_tests_reveal_nothing_of_their_data(judge):
    events, _, _ = judge("x-sum", "print(input())\n")
    blob = b"".join(e.SerializeToString() for e in events)
    for secret in (b"1998244360", b"998244353", b"31337", b"58519", b"big", b"neg"):
        assert secret not in blob


def test_wrong_answer_names_the_first_failing_line(judge):
    events, _, _ = judge("x-sum", "a, b = map(int, input().split())\nprint(a - b)\n")
    r = final(events)
    assert r.verdict == V.VERDICT_WA and r.score == 0
    t0 = results_of(events)[0]
    assert t0.verdict == V.VERDICT_WA and 'expected "3", got "-1"' in t0.message
    assert "sample-1: wrong answer" in r.message


def test_endless_loop_is_time_limit_exceeded(judge):
    events, _, _ = judge("x-sum", "while True:\n    pass\n")
    assert final(events).verdict == V.VERDICT_TLE
    assert results_of(events)[0].verdict == V.VERDICT_TLE


def test_crash_is_runtime_error_with_exit_code_and_last_stderr_line(judge):
    events, _, _ = judge("x-sum", "print(1 // 0)\n")
    t0 = results_of(events)[0]
    assert final(events).verdict == V.VERDICT_RE
    assert "exit code 1" in t0.message and "ZeroDivisionError" in t0.message


def test_endless_output_is_output_limit_exceeded(judge):
    events, _, _ = judge("x-sum", "while True:\n    print('x' * 1000)\n")
    assert final(events).verdict == V.VERDICT_OLE


def test_memory_bomb_is_memory_limit_exceeded(judge):
    events, _, _ = judge("x-sum", "x = []\nwhile True:\n    x.append(bytearray(10 ** 7))\n")
    assert final(events).verdict == V.VERDICT_MLE


# Right on 1, wrong on 2, and from 3 on it would sleep past the wall clock.
STOP_EARLY = ("import time\nn = int(input())\nif n >= 3:\n    time.sleep(60)\n"
              "print(0 if n == 2 else n)\n")


def test_a_task_that_stops_at_the_first_failure_runs_nothing_after_it(judge, exec_stack):
    events, sid, _ = judge("x-stop", STOP_EARLY)
    got = [(t.name, t.verdict) for t in results_of(events)]
    assert got == [("s1", V.VERDICT_AC), ("s2", V.VERDICT_WA),
                   ("hidden-1", V.VERDICT_NOT_RUN), ("hidden-2", V.VERDICT_NOT_RUN)]
    r = final(events)
    assert r.verdict == V.VERDICT_WA and r.recorded
    assert r.score == 1 and r.max_score == 4
    assert r.message.endswith("; 2 not run")
    not_run = results_of(events)[2]
    assert not_run.cpu_ms == 0 and not_run.output_excerpt == ""
    sub = exec_stack.gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=sid)).submission
    assert [t.verdict for t in sub.tests][2:] == [V.VERDICT_NOT_RUN] * 2
    assert sub.verdict == V.VERDICT_WA


def test_a_task_that_stops_at_the_first_failure_still_runs_everything_when_all_pass(judge):
    events, _, _ = judge("x-stop", "print(input())\n")
    assert [t.verdict for t in results_of(events)] == [V.VERDICT_AC] * 4
    assert final(events).verdict == V.VERDICT_AC


def test_c_submission_compiles_and_passes(judge):
    events, _, _ = judge("x-sum", SUM_C, language="c")
    assert execkit.kinds(events)[:3] == ["queued", "started", "compile_output"]
    assert events[2].compile_output.ok
    assert final(events).verdict == V.VERDICT_AC


def test_c_that_does_not_compile_is_compilation_error(judge):
    events, _, _ = judge("x-sum", "int main(void) { return x; }\n", language="c")
    co = [e.compile_output for e in events if e.WhichOneof("kind") == "compile_output"]
    assert len(co) == 1 and not co[0].ok and "undeclared" in co[0].text
    r = final(events)
    assert r.verdict == V.VERDICT_CE and r.recorded
    assert results_of(events) == []


# ---------------------------------------------------------------------------
# Checkers


@pytest.mark.parametrize("slug,code,verdict", [
    ("x-exact", "s = input()\nprint(s + ' ' if s == 'x' else s)\n", V.VERDICT_AC),
    ("x-exact", "print(input())\n", V.VERDICT_WA),
    ("x-tokens", "print('1')\nprint(' 2  3 ')\n", V.VERDICT_AC),
    ("x-tokens", "print('1 2')\n", V.VERDICT_WA),
    ("x-float", "a, b = map(int, input().split())\nprint(a / b)\n", V.VERDICT_AC),
    ("x-float", "a, b = map(int, input().split())\nprint(round(a / b, 1))\n", V.VERDICT_WA),
    ("x-custom", "n = int(input())\nprint(next(d for d in range(2, n) if n % d == 0))\n",
     V.VERDICT_AC),
    ("x-custom", "print(1)\n", V.VERDICT_WA),
    ("x-package", "n = int(input())\nprint(next(d for d in range(2, n) if n % d == 0))\n",
     V.VERDICT_AC),
    ("x-package", "print(1)\n", V.VERDICT_WA),
])
def test_each_checker_kind(judge, slug, code, verdict):
    events, _, _ = judge(slug, code)
    assert final(events).verdict == verdict, [(t.name, t.verdict, t.message)
                                              for t in results_of(events)]


def test_custom_checker_message_reaches_visible_tests_only(judge):
    events, _, _ = judge("x-custom", "print(1)\n")
    tr = results_of(events)
    assert "does not divide" in tr[0].message
    assert tr[1].hidden and "divide" not in tr[1].message


def test_package_validator_team_message_reaches_visible_tests_only(judge):
    events, _, _ = judge("x-package", "print(1)\n")
    tr = results_of(events)
    assert tr[0].verdict == V.VERDICT_WA and tr[0].message == "1 is not a proper divisor of 12"
    assert tr[1].hidden and tr[1].verdict == V.VERDICT_WA and "divisor" not in tr[1].message


def test_an_interactive_task_is_judged_against_its_interactor(judge):
    events, _, _ = judge("x-guess", execkit.BISECT)
    assert final(events).verdict == V.VERDICT_AC, [(t.name, t.verdict, t.message)
                                                   for t in results_of(events)]
    # Guessing upwards from 1 takes 37 guesses for the visible test: the
    # interactor says WA first (its team message shown); the hidden test
    # keeps its message to itself.
    linear = "for g in range(1, 101):\n    print(g, flush=True)\n    if input() == 'correct':\n        break\n"
    events, _, _ = judge("x-guess", linear)
    tr = results_of(events)
    assert tr[0].verdict == V.VERDICT_WA and tr[0].message == "more than 7 guesses"
    assert tr[1].hidden and tr[1].verdict == V.VERDICT_WA and "guesses" not in tr[1].message
    events, _, _ = judge("x-guess", "while True:\n    pass\n")
    assert {t.verdict for t in results_of(events)} == {V.VERDICT_TLE}


# ---------------------------------------------------------------------------
# RUN


def test_run_on_stdin_streams_output_and_earns_nothing(judge):
    code = "import sys\nprint('out:' + input())\nprint('err!', file=sys.stderr)\n"
    events, _, _ = judge("x-echo", code, kind=execkit.RUN, stdin_data=b"hello\n")
    out = b"".join(e.stdout_chunk.data for e in events if e.WhichOneof("kind") == "stdout_chunk")
    err = b"".join(e.stderr_chunk.data for e in events if e.WhichOneof("kind") == "stderr_chunk")
    assert out == b"out:hello\n" and err == b"err!\n"
    r = final(events)
    assert r.verdict == V.VERDICT_AC and r.exit_code == 0 and r.term_signal == 0
    assert r.recorded and r.awards.points_awarded == 0
    assert "test_result" not in execkit.kinds(events)


def test_run_exit_status_is_reported(judge):
    events, _, _ = judge("x-echo", "import sys\nsys.exit(4)\n", kind=execkit.RUN)
    r = final(events)
    assert r.verdict == V.VERDICT_RE and r.exit_code == 4


@pytest.mark.parametrize("interactive", [False, True], ids=["stdin", "interactive"])
def test_run_with_a_python_syntax_error_is_a_compile_error_naming_the_line(judge, interactive):
    code = "print('never')\nprint(1 +* 2)\n"
    events, _, _ = judge("x-echo", code, kind=execkit.RUN, stdin_data=b"x\n",
                         interactive=interactive)
    co = [e.compile_output for e in events if e.WhichOneof("kind") == "compile_output"]
    assert len(co) == 1 and not co[0].ok, execkit.kinds(events)
    assert "SyntaxError" in co[0].text and "line 2" in co[0].text, co[0].text
    assert stdout_of(events) == b"", "the program ran after its syntax error"
    r = final(events)
    assert r.verdict == V.VERDICT_CE and r.recorded


def test_run_of_a_program_that_compiles_still_runs_and_fails_at_run_time(judge):
    events, _, _ = judge("x-echo", "print('so far')\nraise SystemExit(input())\n",
                         kind=execkit.RUN, stdin_data=b"bad\n")
    assert "compile_output" not in execkit.kinds(events)
    assert stdout_of(events) == b"so far\n"
    r = final(events)
    assert r.verdict == V.VERDICT_RE and r.exit_code == 1


def test_sample_tests_run_only_the_visible_tests(judge):
    events, _, _ = judge("x-sum", SUM_OK, kind=execkit.RUN, sample_tests=True)
    assert events[1].started.test_count == 2
    assert [t.name for t in results_of(events)] == ["sample-1", "sample-2"]
    assert final(events).verdict == V.VERDICT_AC and final(events).awards.points_awarded == 0


def wait_for(redis, sid, pred, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        evs = [e for _, e in execkit.read_events(redis, sid)]
        if pred(evs):
            return evs
        time.sleep(0.01)
    raise AssertionError(f"timed out; events: {execkit.kinds(evs)}")


def stdout_of(evs):
    return b"".join(e.stdout_chunk.data for e in evs if e.WhichOneof("kind") == "stdout_chunk")


def test_interactive_run_gets_stdin_from_control_messages(ex, exec_stack, redis):
    code = ("import sys\nfor line in sys.stdin:\n    print('got ' + line.strip(), flush=True)\n"
            "print('bye')\n")
    sid, user = new_submission(exec_stack.gc, "x-echo", code, kind=execkit.RUN)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", code, kind=execkit.RUN,
                                            interactive=True, stdin_data=b"first\n"))
    wait_for(redis, sid, lambda evs: b"got first\n" in stdout_of(evs))
    execkit.control(redis, sid, 1, stdin_data=epb.StdinData(data=b"second\n"))
    wait_for(redis, sid, lambda evs: b"got second\n" in stdout_of(evs))
    execkit.control(redis, sid, 2, stdin_data=epb.StdinData(data=b"second\n"))  # a repeat: seq 2 new
    execkit.control(redis, sid, 2, stdin_data=epb.StdinData(data=b"ignored\n"))  # seq 2 again
    execkit.control(redis, sid, 3, stdin_close=epb.StdinClose())
    evs = execkit.wait_final(redis, sid, 15)
    assert stdout_of(evs) == b"got first\ngot second\ngot second\nbye\n"
    assert final(evs).verdict == V.VERDICT_AC


def test_cancel_kills_a_running_job(ex, exec_stack, redis):
    code = "while True:\n    pass\n"
    sid, user = new_submission(exec_stack.gc, "x-echo", code, kind=execkit.RUN)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", code, kind=execkit.RUN))
    wait_for(redis, sid, lambda evs: "started" in execkit.kinds(evs))
    time.sleep(0.3)
    t0 = time.monotonic()
    execkit.control(redis, sid, 1, cancel=epb.Cancel(reason="learner"))
    evs = execkit.wait_final(redis, sid, 10)
    elapsed = time.monotonic() - t0
    # How fast is a figure for the benchmarks, not an assertion: a busy
    # machine may take longer. A CANCELLED verdict (not a CPU or wall-clock
    # limit) on a loop that never ends is the behaviour under test.
    print(f"cancel: Control written -> final event read in {elapsed * 1000:.1f} ms")
    assert final(evs).verdict == V.VERDICT_CANCELLED
    sub = exec_stack.gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=sid)).submission
    assert sub.verdict == V.VERDICT_CANCELLED


def test_cancel_sent_while_queued_stops_the_job_before_it_runs(ex, exec_stack, redis):
    code = "import time\ntime.sleep(5)\n"
    sid, user = new_submission(exec_stack.gc, "x-echo", code, kind=execkit.RUN)
    execkit.control(redis, sid, 1, cancel=epb.Cancel(reason="superseded"))
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", code, kind=execkit.RUN))
    evs = execkit.wait_final(redis, sid, 10)
    assert final(evs).verdict == V.VERDICT_CANCELLED
    # The program never ran: no CPU was spent on it, and no sandbox reported
    # the 5 s it would have slept.
    assert final(evs).cpu_ms == 0 and final(evs).wall_ms < 5000


# ---------------------------------------------------------------------------
# Admin service


def test_get_stats_and_list_running(ex, exec_stack, redis):
    code = "import time\ntime.sleep(1.5)\nprint(input())\n"
    sid, user = new_submission(exec_stack.gc, "x-echo", code)
    execkit.enqueue(redis, execkit.make_job(sid, user, "x-echo", code))
    wait_for(redis, sid, lambda evs: "started" in execkit.kinds(evs))
    running = ex.call("ListRunning", epb.ListRunningRequest(), epb.ListRunningResponse,
                      service_key=exec_stack.service_key)
    mine = [j for j in running.jobs if j.submission_id == sid]
    assert len(mine) == 1 and mine[0].task_slug == "x-echo" and not mine[0].synchronous
    assert mine[0].tests_total == 2 and mine[0].attempt == 1
    stats = ex.call("GetStats", epb.GetStatsRequest(), epb.GetStatsResponse,
                    service_key=exec_stack.service_key)
    assert stats.executor_id == ex.name and stats.runtime == "crun" and stats.slots == 2
    assert stats.jobs_running >= 1 and stats.queue_pending >= 1 and not stats.draining
    assert stats.queue_depth == stats.queue_pending + max(stats.queue_lag, 0)
    execkit.wait_final(redis, sid, 20)
    with pytest.raises(grpc.RpcError) as e:
        ex.call("GetStats", epb.GetStatsRequest(), epb.GetStatsResponse)
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_drain_stops_taking_jobs_until_resumed(ex, exec_stack, redis):
    key = exec_stack.service_key
    d = ex.call("Drain", epb.DrainRequest(), epb.DrainResponse, service_key=key)
    assert d.draining
    ch = grpc.insecure_channel(ex.addr)
    health = ch.unary_unary("/grpc.health.v1.Health/Check",
                            request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=health_pb2.HealthCheckResponse.FromString)
    assert health(health_pb2.HealthCheckRequest(), timeout=2).status == \
        health_pb2.HealthCheckResponse.NOT_SERVING
    try:
        time.sleep(2.2)  # a worker blocked in XREADGROUP may still take one entry before
        sid, user = new_submission(exec_stack.gc, "x-sum", SUM_OK)
        execkit.enqueue(redis, execkit.make_job(sid, user, "x-sum", SUM_OK))
        time.sleep(1.5)
        assert execkit.kinds([e for _, e in execkit.read_events(redis, sid)]) == ["queued"]
        stats = ex.call("GetStats", epb.GetStatsRequest(), epb.GetStatsResponse, service_key=key)
        assert stats.draining and stats.queue_lag >= 1
    finally:
        d = ex.call("Drain", epb.DrainRequest(resume=True), epb.DrainResponse, service_key=key)
    assert not d.draining
    assert final(execkit.wait_final(redis, sid, 20)).verdict == V.VERDICT_AC
    assert health(health_pb2.HealthCheckRequest(), timeout=2).status == \
        health_pb2.HealthCheckResponse.SERVING
    ch.close()


def test_run_job_streams_events_to_the_caller_without_recording(ex, exec_stack, redis):
    job = execkit.make_job("", "", "x-sum", SUM_OK)
    events = ex.run_job(epb.RunJobRequest(job=job), service_key=exec_stack.service_key)
    assert execkit.kinds(events) == ["started"] + ["test_result"] * 4 + ["result"]
    assert [e.seq for e in events] == list(range(1, 7))
    r = final(events)
    assert r.verdict == V.VERDICT_AC and not r.recorded and not r.HasField("awards")
    sid = events[0].submission_id
    assert len(sid) == 36 and execkit.read_events(redis, sid) == []


def test_run_job_needs_an_author_or_a_service(ex):
    job = execkit.make_job("", "", "x-sum", SUM_OK)
    with pytest.raises(grpc.RpcError) as e:
        ex.run_job(epb.RunJobRequest(job=job))
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_run_job_with_an_unknown_task_version_is_not_found(ex, exec_stack):
    job = execkit.make_job("", "", "x-sum", SUM_OK, version=99)
    with pytest.raises(grpc.RpcError) as e:
        ex.run_job(epb.RunJobRequest(job=job), service_key=exec_stack.service_key)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_queue_depth_is_exported_as_a_metric(ex):
    import urllib.request
    text = urllib.request.urlopen(
        f"http://{ex.env['DOJO_EXECUTOR_METRICS_ADDR']}/metrics", timeout=5).read().decode()
    assert "dojo_executor_queue_depth " in text
    assert 'dojo_executor_jobs_total{kind="submit",verdict="AC"}' in text
