"""CreateSubmission and RecordResult: idempotency under concurrent
duplicates, points once per task, RUN and wrong answers earning nothing."""
import concurrent.futures as cf

import grpc
import pytest

from gamekit import AC, POINTS, RUN, SUBMIT, WA, new_user
from dojo.gamification.v1 import gamification_pb2 as gpb


def test_record_result_is_idempotent_under_ten_concurrent_duplicates(gc, clock):
    clock.set("2026-02-02T10:00:00Z")
    user = new_user()
    sub = gc.create(user, "g-sort")
    with cf.ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda _: gc.record(sub), range(10)))
    fresh = [r for r in replies if not r.duplicate]
    assert len(fresh) == 1, "exactly one call records the result"
    awards = {r.awards.SerializeToString(deterministic=True) for r in replies}
    assert len(awards) == 1, "every duplicate gets the same stored awards"
    assert fresh[0].awards.points_awarded == POINTS["g-sort"]
    assert fresh[0].awards.first_solve
    again = gc.record(sub, verdict=WA)
    assert again.duplicate and again.awards == fresh[0].awards
    p = gc.progress(user)
    assert p.total_points == POINTS["g-sort"]
    assert list(p.solved) == ["g-sort"]
    assert p.calendar[-1].count == 1, "the day was counted once"
    assert p.streak.current_days == 1


def test_points_are_awarded_once_per_task(gc, clock):
    clock.set("2026-02-03T10:00:00Z")
    user = new_user()
    wrong = gc.solve(user, "g-hello", verdict=WA)
    assert wrong.awards.points_awarded == 0 and not wrong.awards.first_solve
    run = gc.solve(user, "g-hello", kind=RUN)
    assert run.awards.points_awarded == 0 and run.awards.total_points == 0
    first = gc.solve(user, "g-hello")
    assert first.awards.points_awarded == POINTS["g-hello"] and first.awards.first_solve
    second = gc.solve(user, "g-hello")
    assert second.awards.points_awarded == 0 and not second.awards.first_solve
    assert second.awards.total_points == POINTS["g-hello"]
    other = gc.solve(user, "g-sum")
    assert other.awards.total_points == POINTS["g-hello"] + POINTS["g-sum"]
    p = gc.progress(user)
    assert p.total_points == POINTS["g-hello"] + POINTS["g-sum"]
    assert list(p.solved) == ["g-hello", "g-sum"]
    assert list(p.attempted) == []
    gc.solve(user, "g-sort", verdict=WA)
    p = gc.progress(user)
    assert list(p.attempted) == ["g-sort"]
    easy = [d for d in p.by_difficulty if d.difficulty == 1][0]
    medium = [d for d in p.by_difficulty if d.difficulty == 2][0]
    assert (easy.solved, easy.total) == (2, 2)
    assert (medium.solved, medium.attempted, medium.total) == (0, 1, 1)


def test_create_submission_checks_input_and_honours_idempotency_key(gc, clock):
    clock.set("2026-02-04T10:00:00Z")
    user = new_user()
    a = gc.create(user, "g-hello", key="k1")
    assert gc.create(user, "g-hello", key="k1") == a
    clock.advance(25 * 3600)
    assert gc.create(user, "g-hello", key="k1") != a, "a key is remembered for 24 h only"
    bad = gpb.CreateSubmissionRequest(user_id=user, task_slug="g-hello", task_version=1,
                                      language="python3", code_hash="0" * 64, kind=SUBMIT,
                                      code="print(2)")
    with pytest.raises(grpc.RpcError) as e:
        gc.call("CreateSubmission", bad)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "code_hash" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        gc.record(a, verdict=0)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        gc.record(new_user())
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        gc.call("CreateSubmission", bad, service=False)
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
