"""Leaderboards: order, ties to whoever got there first, opt-out, the weekly
reset, cohorts, and rebuilding from PostgreSQL after the Redis keys are
deleted (only this process's keys: the Redis server is shared)."""
import grpc
import pytest

from gamekit import POINTS, new_user
from dojo.gamification.v1 import gamification_pb2 as gpb

ALL, WEEK, COHORT = gpb.BOARD_ALL_TIME, gpb.BOARD_WEEKLY, gpb.BOARD_COHORT


def names(board):
    return [(e.rank, e.display_name, e.points) for e in board.entries]


def people(c, *names_):
    users = {}
    for n in names_:
        users[n] = new_user()
        c.profile(users[n], display_name=n)
    return users


def test_order_ties_opt_out_and_rebuild(fresh_game, clock, infra):
    g = fresh_game()
    c = g.client
    t0 = clock.set("2026-07-01T10:00:00Z")   # a Wednesday
    u = people(c, "ann", "bob", "cy", "dee")
    c.solve(u["bob"], "g-sort")               # 40 at t0
    clock.set(t0 + 60)
    c.solve(u["cy"], "g-sort")                # 40 later: ranks after bob
    clock.set(t0 + 120)
    c.solve(u["ann"], "g-graph")              # 80
    b = c.board(ALL, user=u["cy"])
    assert names(b) == [(1, "ann", 80), (2, "bob", 40), (3, "cy", 40)]
    assert b.entries[1].reached_at.unix_micros == int(t0 * 1e6)
    assert b.own.rank == 3 and b.own.points == 40 and not b.own_opted_out
    assert b.page.total == 3
    # dee, with no points, is on no board but gets an own entry of rank 0.
    d = c.board(ALL, user=u["dee"])
    assert d.own.rank == 0 and d.own.display_name == "dee"
    # Paging.
    p1 = c.board(ALL, page_size=2)
    assert names(p1) == [(1, "ann", 80), (2, "bob", 40)] and p1.page.next_page_token
    p2 = c.board(ALL, page_size=2, page_token=p1.page.next_page_token)
    assert names(p2) == [(3, "cy", 40)] and p2.page.next_page_token == ""
    # Opt-out hides; points still count; opting in shows again.
    r = c.call("SetLeaderboardOptOut", gpb.SetLeaderboardOptOutRequest(user_id=u["ann"],
                                                                       opt_out=True))
    assert r.profile.leaderboard_opt_out
    b = c.board(ALL, user=u["ann"])
    assert names(b) == [(1, "bob", 40), (2, "cy", 40)]
    assert b.own_opted_out and b.own.rank == 0
    assert c.progress(u["ann"]).all_time_rank == 0
    assert c.progress(u["ann"]).total_points == 80
    c.call("SetLeaderboardOptOut", gpb.SetLeaderboardOptOutRequest(user_id=u["ann"],
                                                                   opt_out=False))
    assert c.progress(u["ann"]).all_time_rank == 1
    before = names(c.board(ALL))
    # Redis loses the boards (our keys only): they come back from PostgreSQL.
    keys = infra.redis("--scan", "--pattern", g.prefix + "*").split()
    assert any(k.endswith("lb:all") for k in keys)
    infra.redis("DEL", *keys)
    assert names(c.board(ALL)) == before
    assert names(c.board(WEEK)) == before
    # Only the board key gone (marker left behind): still rebuilt.
    infra.redis("DEL", g.prefix + "lb:all")
    c.solve(u["dee"], "g-hello")              # an award while the board is missing
    assert names(c.board(ALL)) == before + [(4, "dee", 10)]


def test_an_empty_board_is_built_once_not_on_every_read(fresh_game, clock, infra):
    """While nobody has points a board has no Redis key; it used to be
    rebuilt from PostgreSQL on every read (every sign-in's GET /me)."""
    g = fresh_game()
    c = g.client
    clock.set("2026-07-01T10:00:00Z")
    u = people(c, "eve", "fay")
    for _ in range(5):
        assert c.board(ALL, user=u["eve"]).page.total == 0
        assert c.progress(u["fay"]).all_time_rank == 0
    marker = infra.redis("GET", g.prefix + "lb:all:gen").strip()
    assert marker.endswith(":empty"), marker
    def built():  # this process's log file may hold earlier tests' processes too
        return [ln for ln in g.log_path.read_text(errors="replace").splitlines()
                if "leaderboard rebuilt" in ln and f'board="{g.prefix}lb:all"' in ln]

    assert len(built()) == 1, built()
    # The first award lands on the board built empty, without a rebuild.
    c.solve(u["fay"], "g-hello")
    assert names(c.board(ALL)) == [(1, "fay", 10)]
    assert infra.redis("GET", g.prefix + "lb:all:gen").strip() == marker[:-len(":empty")]
    assert len(built()) == 1, built()
    # Its key gone, the marker no longer says empty: rebuilt from PostgreSQL.
    infra.redis("DEL", g.prefix + "lb:all")
    assert names(c.board(ALL)) == [(1, "fay", 10)]
    assert len(built()) == 2, built()


def test_equal_points_at_the_same_second_order_by_user_id(fresh_game, clock):
    c = fresh_game().client
    clock.set("2026-07-02T10:00:00Z")
    users = sorted([new_user() for _ in range(3)])
    for user in reversed(users):
        c.solve(user, "g-hello")
    assert [e.user_id for e in c.board(ALL).entries] == users


def test_weekly_board_resets_on_monday_utc(fresh_game, clock):
    c = fresh_game().client
    u = people(c, "eve", "fay")
    clock.set("2026-07-05T23:00:00Z")          # Sunday
    c.solve(u["eve"], "g-graph")
    c.solve(u["fay"], "g-hello")
    w = c.board(WEEK)
    assert names(w) == [(1, "eve", 80), (2, "fay", 10)]
    assert w.week_start.unix_micros == int(1782691200 * 1e6)     # 2026-06-29T00:00Z
    assert w.week_end.unix_micros == int(1783296000 * 1e6)       # 2026-07-06T00:00Z
    clock.set("2026-07-06T00:00:01Z")          # Monday: a new week
    assert names(c.board(WEEK)) == []
    c.solve(u["fay"], "g-sort")
    assert names(c.board(WEEK)) == [(1, "fay", 40)]
    assert names(c.board(ALL)) == [(1, "eve", 80), (2, "fay", 50)]


def test_cohort_board_lists_members_only(fresh_game, clock):
    c = fresh_game().client
    clock.set("2026-07-08T10:00:00Z")
    u = people(c, "gil", "hal", "ivy")
    for name, slug in (("gil", "g-hello"), ("hal", "g-sort"), ("ivy", "g-graph")):
        c.solve(u[name], slug)
    made = c.call("CreateCohort", gpb.CreateCohortRequest(slug="class-a", title="Class A"))
    assert made.cohort.member_count == 0
    with pytest.raises(grpc.RpcError) as e:
        c.call("CreateCohort", gpb.CreateCohortRequest(slug="class-a", title="Again"))
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    for name in ("gil", "hal"):
        r = c.call("AddCohortMember", gpb.AddCohortMemberRequest(cohort_slug="class-a",
                                                                  user_id=u[name]))
        assert r.added
    r = c.call("AddCohortMember", gpb.AddCohortMemberRequest(cohort_slug="class-a",
                                                              user_id=u["gil"]))
    assert not r.added and r.cohort.member_count == 2
    with pytest.raises(grpc.RpcError) as e:
        c.call("AddCohortMember", gpb.AddCohortMemberRequest(cohort_slug="class-a",
                                                              user_id=new_user()))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert names(c.board(COHORT, cohort="class-a")) == [(1, "hal", 40), (2, "gil", 10)]
    c.solve(u["gil"], "g-prime")
    assert names(c.board(COHORT, cohort="class-a")) == [(1, "gil", 80), (2, "hal", 40)]
    r = c.call("RemoveCohortMember", gpb.RemoveCohortMemberRequest(cohort_slug="class-a",
                                                                    user_id=u["hal"]))
    assert r.removed and r.cohort.member_count == 1
    assert names(c.board(COHORT, cohort="class-a")) == [(1, "gil", 80)]
    members = c.call("ListCohortMembers", gpb.ListCohortMembersRequest(cohort_slug="class-a"))
    assert [(m.display_name, m.points) for m in members.members] == [("gil", 80)]
    with pytest.raises(grpc.RpcError) as e:
        c.board(COHORT, cohort="no-such")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
