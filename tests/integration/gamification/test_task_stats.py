"""ListTaskStats: solve counts, acceptance and attempts until solved, over
graded submissions only (runs, cancelled ones and internal errors left out)."""
from gamekit import AC, RUN, WA, new_user
from dojo.common.v1 import common_pb2
from dojo.gamification.v1 import gamification_pb2 as gpb

TLE = common_pb2.VERDICT_TLE
IE = common_pb2.VERDICT_IE
CANCELLED = common_pb2.VERDICT_CANCELLED


def stats(client):
    return {s.task_slug: s for s in client.call("ListTaskStats", gpb.ListTaskStatsRequest()).stats}


def test_task_stats_count_solvers_acceptance_and_median_attempts(fresh_game, clock):
    game = fresh_game()
    gc = game.client
    clock.set("2026-05-04T10:00:00Z")
    assert stats(gc) == {}
    a, b, c, d, e = (new_user() for _ in range(5))
    for v in (WA, TLE, AC, WA, AC):   # a: solved on the 3rd; later submissions count as submissions only
        gc.solve(a, "g-sum", verdict=v)
    gc.solve(b, "g-sum", verdict=AC)  # b: the 1st
    gc.solve(c, "g-sum", verdict=WA)  # c: tried, never solved
    for v in (WA, WA, WA, WA, AC):    # e: the 5th
        gc.solve(e, "g-sum", verdict=v)
    # Not graded work: runs, a cancelled submission, a judge failure, one still pending.
    gc.solve(d, "g-sum", kind=RUN)
    gc.solve(d, "g-sum", verdict=CANCELLED)
    gc.solve(d, "g-sum", verdict=IE)
    gc.create(d, "g-sum")
    gc.solve(c, "g-hello", verdict=WA)

    s = stats(gc)
    assert set(s) == {"g-sum", "g-hello"}
    t = s["g-sum"]
    assert (t.solvers, t.attempters, t.submissions, t.accepted) == (3, 4, 12, 4)
    assert t.median_attempts == 3.0  # of 3, 1 and 5
    h = s["g-hello"]
    assert (h.solvers, h.attempters, h.submissions, h.accepted, h.median_attempts) == (0, 1, 1, 0, 0.0)


def test_task_stats_need_a_signed_in_caller(fresh_game):
    import grpc
    import pytest
    game = fresh_game()
    with pytest.raises(grpc.RpcError) as e:
        game.client.call("ListTaskStats", gpb.ListTaskStatsRequest(), service=False)
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
