"""contestkit — helpers of the contest tests: a content folder with ten
tasks and the contests of the simulation, the scripted submissions, a
scoreboard computed here independently of the service (ICPC and IOI, what
the freeze hides), and replaying an event feed into objects."""
import hashlib
import json
import random
from pathlib import Path

from dojo.common.v1 import common_pb2
from dojo.gamification.v1 import gamification_pb2 as gpb

AC, WA, TLE, RE, CE, IE = (common_pb2.VERDICT_AC, common_pb2.VERDICT_WA, common_pb2.VERDICT_TLE,
                           common_pb2.VERDICT_RE, common_pb2.VERDICT_CE, common_pb2.VERDICT_IE)
NO_ATTEMPT = {CE, IE, common_pb2.VERDICT_CANCELLED}

START = "2026-06-01T09:00:00Z"
START_S = 1780304400
DURATION_S = 5 * 3600
FREEZE_MIN = 60
# The gateway's contests (test_contest_gateway.py) start a month later.
GW_START = "2026-07-01T09:00:00Z"
GW_START_S = START_S + 30 * 86400
GW_SECRET_TASK = "gw-contest-secret"
# The CLICS tests' contest (test_contest_clics.py), another month later.
CLICS_START = "2026-07-31T09:00:00Z"
CLICS_START_S = GW_START_S + 30 * 86400
# The WebSocket scoreboard's (test_contest_ws_board.py), another month later.
BOARD_START = "2026-08-30T09:00:00Z"
BOARD_START_S = CLICS_START_S + 30 * 86400
LABELS = [chr(ord("A") + i) for i in range(10)]
TASKS = [f"sim-{l.lower()}" for l in LABELS]
# Per task: four tests, two groups ("easy" tests 0-1, "hard" 2-3), weights 1,1,3,3.
WEIGHTS = [1, 1, 3, 3]
GROUPS = ["easy", "easy", "hard", "hard"]


def task_doc(slug, title):
    return {
        "slug": slug, "title": title, "difficulty": "easy",
        "description": f"Echo the number ({slug}).", "tags": ["contest"],
        "languages": [{"language": "python3", "starter_code": ""}],
        "tests": [{"name": f"t{i}", "input": f"{i}\n", "expected": f"{i}\n", "hidden": i > 0,
                   "weight": WEIGHTS[i], "group": GROUPS[i]} for i in range(4)],
        "reference_solutions": [{"name": "ref", "language": "python3",
                                 "code": "print(input())\n"}],
    }


def contest_doc(slug, scoring="icpc", **kw):
    doc = {"slug": slug, "title": f"Simulated {scoring.upper()} contest", "start": START,
           "duration": "5:00:00", "freeze_minutes": FREEZE_MIN, "scoring": scoring,
           "penalty_minutes": 20, "registration": "closed", "max_team_size": 3,
           "problems": [{"label": l, "task_slug": t, "rgb": "#%02x%02x%02x" % (20 * i, 100, 200),
                         "color": f"colour {l}", "points": 100}
                        for i, (l, t) in enumerate(zip(LABELS, TASKS))],
           "organizations": [{"id": f"org-{i}", "name": f"University {i}", "country": "NLD"}
                             for i in range(5)],
           "groups": [{"id": "site-north", "name": "North", "type": "site"},
                      {"id": "site-south", "name": "South", "type": "site"}],
           "medals": {"gold": 4, "silver": 4, "bronze": 4}}
    doc.update(kw)
    return doc


def write_content(directory, contests):
    d = Path(directory)
    for sub in ("tasks", "achievements", "contests"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    for label, slug in zip(LABELS, TASKS):
        (d / "tasks" / f"{slug}.json").write_text(
            json.dumps(task_doc(slug, f"Problem {label}"), indent=2) + "\n")
    for doc in contests:
        (d / "contests" / f"{doc['slug']}.json").write_text(json.dumps(doc, indent=2) + "\n")
    return d


def code_hash(code):
    return hashlib.sha256(code.encode()).hexdigest()


# ---------------------------------------------------------------------------
# The script: who submits what, when, and what the judges say

class Sub:
    def __init__(self, team, problem, t, verdict, tests_ok=None):
        self.team, self.problem, self.t = team, problem, t  # t: seconds since the start
        self.verdict = verdict            # None: never judged (pending)
        self.tests_ok = tests_ok          # IOI: which of the 4 tests passed
        self.seq = None                   # CLICS id once created
        self.sub_id = None

    def tests(self):
        ok = self.tests_ok if self.tests_ok is not None else [self.verdict == AC] * 4
        return [gpb.TestResult(index=i, name=f"t{i}" if i == 0 else f"hidden-{i}",
                               hidden=i > 0, weight=WEIGHTS[i], group=GROUPS[i],
                               verdict=AC if ok[i] else WA, cpu_ms=10 + i)
                for i in range(4)]


def script(n_teams=50, seed=17, ioi=False):
    """A deterministic contest: every team tries some problems, a few times
    each, with wrong answers, compile errors, pending ones, submissions during
    the freeze and after the end. Sorted by time."""
    rng = random.Random(seed)
    subs = []
    for team in range(n_teams):
        skill = rng.random()
        for p in range(len(LABELS)):
            if rng.random() > 0.25 + 0.6 * skill:
                continue
            t = rng.randrange(60, DURATION_S - 60)
            for attempt in range(rng.randrange(1, 4)):
                t += rng.randrange(30, 1500)
                if t >= DURATION_S + 600:
                    break
                if ioi:
                    ok = [rng.random() < 0.3 + 0.6 * skill for _ in range(4)]
                    verdict = AC if all(ok) else WA
                    subs.append(Sub(team, p, t, verdict, ok))
                else:
                    r = rng.random()
                    verdict = (CE if r < 0.1 else WA if r < 0.45 - 0.3 * skill
                               else TLE if r < 0.5 - 0.3 * skill else AC)
                    subs.append(Sub(team, p, t, verdict))
                    if verdict == AC:
                        break
    # A few never judged, inside the contest and before the freeze.
    for s in rng.sample([s for s in subs if s.t < DURATION_S - FREEZE_MIN * 60], 4):
        s.verdict = None
    subs.sort(key=lambda s: (s.t, s.team, s.problem))
    return subs


# ---------------------------------------------------------------------------
# The scoreboard, computed here

def ioi_score_c(ok, points_c=10000):
    total = sum(WEIGHTS)
    earned = 0
    for g in ("easy", "hard"):
        idx = [i for i in range(4) if GROUPS[i] == g]
        if all(ok[i] for i in idx):
            earned += sum(WEIGHTS[i] for i in idx)
    return (points_c * earned * 2 + total) // (total * 2)


def expected_board(subs, team_ids, team_names, scoring="icpc", ioi_mode="best", hide_from=None,
                   revealed=()):
    """{team_id: row}, rows as dicts like the service's (times in ms, scores
    in hundredths). Counted submissions only (t < duration). With hide_from
    (seconds), judged submissions at or after it are pending unless their
    (team, label) was revealed."""
    rows = {}
    for team in range(len(team_ids)):
        cells = []
        for p, label in enumerate(LABELS):
            mine = sorted((s for s in subs if s.team == team and s.problem == p
                           and s.t < DURATION_S), key=lambda s: (s.t, s.seq))
            c = {"judged": 0, "pending": 0, "solved": False, "score_c": 0, "time_ms": -1}
            for s in mine:
                frozen = (hide_from is not None and s.t >= hide_from
                          and (team_ids[team], label) not in revealed)
                pending = s.verdict is None or frozen
                if scoring == "icpc":
                    if c["solved"]:
                        continue
                    if pending or c["pending"]:
                        if not pending and s.verdict in NO_ATTEMPT:
                            continue
                        c["pending"] += 1
                        continue
                    if s.verdict in NO_ATTEMPT:
                        continue
                    c["judged"] += 1
                    if s.verdict == AC:
                        c["solved"], c["time_ms"] = True, s.t * 1000
                else:
                    if pending:
                        c["pending"] += 1
                        continue
                    if s.verdict in NO_ATTEMPT:
                        continue
                    c["judged"] += 1
                    score = ioi_score_c(s.tests_ok)
                    if ioi_mode == "last":
                        c["score_c"] = score
                        c["time_ms"] = s.t * 1000 if score > 0 else -1
                    elif score > c["score_c"]:
                        c["score_c"], c["time_ms"] = score, s.t * 1000
                    c["solved"] = c["score_c"] >= 10000
            cells.append(c)
        if scoring == "icpc":
            solved = sum(c["solved"] for c in cells)
            minutes = sum(c["time_ms"] // 60000 + 20 * (c["judged"] - 1)
                          for c in cells if c["solved"])
            last = max([c["time_ms"] for c in cells if c["solved"]], default=-1)
            key = (-solved, minutes, last)
        else:
            solved = sum(c["solved"] for c in cells)
            total = sum(c["score_c"] for c in cells)
            minutes = 0
            last = max([c["time_ms"] for c in cells if c["score_c"] > 0], default=-1)
            key = (-total,)
        rows[team_ids[team]] = {"team": team_ids[team], "name": team_names[team],
                                "solved": solved, "minutes": minutes,
                                "score_c": sum(c["score_c"] for c in cells), "last": last,
                                "cells": cells, "key": key}
    order = sorted(rows.values(), key=lambda r: (r["key"], r["name"].lower(), r["name"]))
    for i, r in enumerate(order):
        r["rank"] = order[i - 1]["rank"] if i and order[i - 1]["key"] == r["key"] else i + 1
    return order


def board_rows(sb):
    """The service's board in the shape of expected_board."""
    out = []
    for r in sb.rows:
        out.append({"team": r.team_id, "rank": r.rank, "solved": r.num_solved,
                    "minutes": r.total_minutes, "score_c": round(r.score * 100),
                    "last": r.last_time_ms,
                    "cells": [{"judged": c.num_judged, "pending": c.num_pending,
                               "solved": c.solved, "score_c": round(c.score * 100),
                               "time_ms": c.time_ms} for c in r.problems]})
    return out


def strip(rows):
    return [{k: v for k, v in r.items() if k not in ("name", "key")} for r in rows]
