"""Streaks and the activity calendar in the learner's own zone: across
midnight in several zones, across a DST change, with a zone change (at most
once per 24 h), and with freezes earned and spent. The clock moves through
DOJO_CLOCK_FILE; results carry no finished_at, so they count at "now"."""
import pytest

from gamekit import new_user


def solve_at(gc, clock, user, when, slug="g-hello"):
    clock.set(when)
    return gc.solve(user, slug).awards


def days(progress):
    return {d.date: d.count for d in progress.calendar if d.count}


@pytest.mark.parametrize("zone,before,after,day1,day2", [
    # 23:50 and 00:10 local on consecutive days, whatever the UTC date says.
    ("Pacific/Auckland", "2026-01-10T23:50:00+13:00", "2026-01-11T00:10:00+13:00",
     "2026-01-10", "2026-01-11"),
    ("America/Los_Angeles", "2026-01-10T23:50:00-08:00", "2026-01-11T00:10:00-08:00",
     "2026-01-10", "2026-01-11"),
    ("Asia/Kolkata", "2026-01-10T23:50:00+05:30", "2026-01-11T00:10:00+05:30",
     "2026-01-10", "2026-01-11"),
])
def test_streak_grows_across_midnight_in_learner_zone(gc, clock, zone, before, after, day1, day2):
    user = new_user()
    clock.set("2026-01-01T00:00:00Z")
    assert gc.profile(user, time_zone=zone).time_zone_applied
    a = solve_at(gc, clock, user, before)
    assert a.streak.current_days == 1 and a.streak.extended_today
    assert a.streak.last_active_date == day1
    b = solve_at(gc, clock, user, after, "g-sum")
    assert b.streak.current_days == 2 and b.streak.last_active_date == day2
    # Twenty minutes later, same local day: still 2.
    c = solve_at(gc, clock, user, after.replace("00:10", "00:30"), "g-sort")
    assert c.streak.current_days == 2
    p = gc.progress(user)
    assert p.time_zone == zone
    assert days(p) == {day1: 1, day2: 2}
    assert len(p.calendar) == 365 and p.calendar[-1].date == day2
    # The next local day without activity: the streak is still alive (not
    # extended today); the day after that it is broken.
    clock.advance(24 * 3600)
    p = gc.progress(user)
    assert p.streak.current_days == 2 and not p.streak.extended_today
    clock.advance(24 * 3600)
    assert gc.progress(user).streak.current_days == 0
    assert gc.progress(user).streak.longest_days == 2



def test_streak_across_dst_end_uses_local_days(gc, clock):
    # Los Angeles leaves DST on 2026-11-01 (a 25-hour day). 23:30 PST on
    # Nov 1 is 07:30Z on Nov 2: with the pre-change offset it would look
    # like 00:30 on Nov 2.
    user = new_user()
    clock.set("2026-10-01T00:00:00Z")
    gc.profile(user, time_zone="America/Los_Angeles")
    a = solve_at(gc, clock, user, "2026-10-31T23:30:00-07:00")
    assert a.streak.last_active_date == "2026-10-31"
    b = solve_at(gc, clock, user, "2026-11-01T23:30:00-08:00")
    assert b.streak.last_active_date == "2026-11-01" and b.streak.current_days == 2
    c = solve_at(gc, clock, user, "2026-11-02T00:30:00-08:00")
    assert c.streak.last_active_date == "2026-11-02" and c.streak.current_days == 3
    assert days(gc.progress(user)) == {"2026-10-31": 1, "2026-11-01": 1, "2026-11-02": 1}


def test_streak_across_dst_start(gc, clock):
    # Los Angeles enters DST on 2026-03-08 (a 23-hour day).
    user = new_user()
    clock.set("2026-03-01T00:00:00Z")
    gc.profile(user, time_zone="America/Los_Angeles")
    solve_at(gc, clock, user, "2026-03-07T23:30:00-08:00")
    b = solve_at(gc, clock, user, "2026-03-08T23:30:00-07:00")
    assert b.streak.last_active_date == "2026-03-08" and b.streak.current_days == 2


def test_zone_change_takes_effect_at_most_once_per_24_hours(gc, clock):
    user = new_user()
    clock.set("2026-04-01T12:00:00Z")
    r = gc.profile(user, display_name="Zoe")
    assert r.profile.time_zone == "UTC" and not r.time_zone_applied
    solve_at(gc, clock, user, "2026-04-01T20:00:00Z")
    clock.set("2026-04-01T21:00:00Z")
    r = gc.profile(user, time_zone="Pacific/Auckland")
    assert r.time_zone_applied and r.profile.time_zone == "Pacific/Auckland"
    # 09:30 on Apr 2 in Auckland (UTC+13): the next local day.
    b = solve_at(gc, clock, user, "2026-04-01T20:30:00Z")
    assert b.streak.last_active_date == "2026-04-02" and b.streak.current_days == 2
    # Hopping back within 24 h is refused; the zone stays.
    clock.set("2026-04-02T08:00:00Z")
    r = gc.profile(user, time_zone="America/Los_Angeles")
    assert not r.time_zone_applied and r.profile.time_zone == "Pacific/Auckland"
    assert r.profile.display_name == "Zoe"
    clock.set("2026-04-02T21:00:01Z")
    r = gc.profile(user, time_zone="America/Los_Angeles")
    assert r.time_zone_applied and r.profile.time_zone == "America/Los_Angeles"
    assert gc.progress(user).time_zone == "America/Los_Angeles"


def test_zone_set_at_sign_up_does_not_start_the_24_hours(gc, clock):
    user = new_user()
    clock.set("2026-04-01T12:00:00Z")
    r = gc.profile(user, time_zone="Europe/Berlin", display_name="Neo", initial=True)
    assert r.time_zone_applied and r.profile.time_zone == "Europe/Berlin"
    assert not r.profile.HasField("time_zone_changed_at")
    # The newcomer's first correction takes effect at once and starts the 24 h.
    clock.set("2026-04-01T12:05:00Z")
    r = gc.profile(user, time_zone="Asia/Tokyo")
    assert r.time_zone_applied and r.profile.time_zone == "Asia/Tokyo"
    clock.set("2026-04-01T13:00:00Z")
    r = gc.profile(user, time_zone="America/Lima")
    assert not r.time_zone_applied and r.profile.time_zone == "Asia/Tokyo"
    # A replayed sign-up after a change cannot reset the 24 h.
    r = gc.profile(user, time_zone="America/Lima", initial=True)
    assert not r.time_zone_applied and r.profile.time_zone == "Asia/Tokyo"


def test_unknown_zone_is_invalid_argument(gc):
    import grpc
    with pytest.raises(grpc.RpcError) as e:
        gc.profile(new_user(), time_zone="Mars/Olympus_Mons")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_freezes_are_earned_every_7_days_held_at_most_2_and_spent_automatically(gc, clock):
    user = new_user()
    gc.profile(user, time_zone="Asia/Kolkata")
    day = 86400
    start = clock.set("2026-05-01T12:00:00+05:30")
    for i in range(7):
        a = solve_at(gc, clock, user, start + i * day)
    assert a.streak.current_days == 7 and a.streak.freezes == 1
    # Miss May 8: on May 9 the streak holds, the freeze is spent.
    clock.set(start + 8 * day)
    p = gc.progress(user)
    assert p.streak.current_days == 7 and p.streak.freezes == 0
    a = solve_at(gc, clock, user, start + 8 * day)
    assert a.streak.current_days == 8 and a.streak.freezes == 0
    # Days 9..21 of activity: freezes at 14 and 21, capped at 2.
    for i in range(9, 9 + 13):
        a = solve_at(gc, clock, user, start + i * day)
    assert a.streak.current_days == 21 and a.streak.freezes == 2
    for i in range(22, 22 + 7):
        a = solve_at(gc, clock, user, start + i * day)
    assert a.streak.current_days == 28 and a.streak.freezes == 2, "at most 2 held"
    # Miss two days: both freezes go, the streak survives.
    clock.set(start + 31 * day)
    p = gc.progress(user)
    assert p.streak.current_days == 28 and p.streak.freezes == 0
    a = solve_at(gc, clock, user, start + 31 * day)
    assert a.streak.current_days == 29 and a.streak.longest_days == 29
    # Miss two more with no freeze left: broken, and a new streak starts.
    clock.set(start + 34 * day)
    assert gc.progress(user).streak.current_days == 0
    a = solve_at(gc, clock, user, start + 34 * day)
    assert a.streak.current_days == 1 and a.streak.longest_days == 29
    p = gc.progress(user)
    assert sum(d.count for d in p.calendar) == 30
