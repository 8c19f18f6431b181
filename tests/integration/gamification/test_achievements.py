"""Achievements: each rule kind unlocks once, at the result's time, in
definition order, and GetProgress shows progress towards the others."""
from gamekit import AC, WA, new_user


def unlocked(resp):
    return [a.slug for a in resp.awards.achievements_unlocked]


def test_every_rule_kind_unlocks_once(gc, clock):
    user = new_user()
    day = 86400
    t0 = clock.set("2026-06-01T09:00:00Z")
    r = gc.solve(user, "g-hello")                     # first try, 10 points
    assert unlocked(r) == ["first-solve"]
    assert r.awards.achievements_unlocked[0].unlocked_at.unix_micros == int(t0 * 1e6)
    assert r.awards.achievements_unlocked[0].title == "Title first-solve"
    clock.set(t0 + 60)
    assert unlocked(gc.solve(user, "g-sum", verdict=WA)) == []
    r = gc.solve(user, "g-sum")                       # second try: not first attempt
    # Both basics tasks and both easy tasks are done now.
    assert unlocked(r) == ["basics-done", "easy-done"]
    clock.set(t0 + day)
    sub = gc.create(user, "g-sort")                   # first try, 40 points
    r = gc.record(sub)
    assert unlocked(r) == ["three-solved", "first-try-2"]
    assert gc.record(sub).awards == r.awards, "a duplicate unlocks nothing new"
    p = gc.progress(user)
    progress = {a.slug: (a.current, a.target) for a in p.achievement_progress}
    assert progress == {"points-100": (65, 100), "streak-3": (2, 3), "hard-2": (0, 2),
                        "everything": (3, 5)}
    clock.set(t0 + 2 * day)
    r = gc.solve(user, "g-graph")                     # 145 points, 3-day streak, 1 hard
    assert unlocked(r) == ["points-100", "streak-3"]
    r = gc.solve(user, "g-prime")                     # second hard, every task
    assert unlocked(r) == ["hard-2", "everything"]
    assert unlocked(gc.solve(user, "g-prime")) == []
    p = gc.progress(user)
    slugs = [a.slug for a in p.achievements]
    assert sorted(slugs) == sorted(["first-solve", "basics-done", "easy-done", "three-solved",
                                    "first-try-2", "points-100", "streak-3", "hard-2",
                                    "everything"])
    assert slugs[0] == "first-solve", "oldest first"
    assert list(p.achievement_progress) == []
