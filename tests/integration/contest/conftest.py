"""Fixtures of the contest tests: real content and gamification on a
database of their own, sharing one clock file (DOJO_CLOCK_FILE) that the
tests move, with a content folder holding ten tasks and the simulated
contests. The parent conftest provides infra, base_env, workdir, auth and
fresh_db."""
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _d in (HERE, HERE.parent / "gamification", HERE.parent / "gateway", HERE.parent / "executor",
           HERE.parent / "content"):
    if str(_d) not in sys.path:
        sys.path.append(str(_d))

import contestkit  # noqa: E402
import gamekit  # noqa: E402

CONTESTS = [
    contestkit.contest_doc("sim-icpc"),
    contestkit.contest_doc("sim-ioi", scoring="ioi", medals={"gold": 0, "silver": 0, "bronze": 0},
                           freeze_minutes=0),
    contestkit.contest_doc("sim-ioi-last", scoring="ioi", ioi_mode="last", freeze_minutes=0,
                           medals={"gold": 0, "silver": 0, "bronze": 0}),
    contestkit.contest_doc("rules", registration="invite",
                           invite_code_sha256=contestkit.code_hash("open sesame"),
                           practice_after_end=False, max_team_size=2, hide_tasks_until_start=True,
                           problems=[{"label": "A", "task_slug": "sim-a"}]),
]


@pytest.fixture(scope="session")
def contest_content(workdir):
    return contestkit.write_content(workdir / "contest-content", CONTESTS)


@pytest.fixture(scope="session")
def cclock(workdir):
    c = gamekit.Clock(workdir / "contest-clock")
    c.set(contestkit.START_S - 3600)
    return c


@pytest.fixture(scope="session")
def cstack(base_env, auth, workdir, contest_content, cclock, infra):
    """content + gamification of the contest tests."""
    db = infra.create_db()
    env = dict(base_env)
    env.pop("DOJO_MAIL_OUTBOX", None)
    env.pop("DOJO_AUTH_MASTER_KEY", None)
    env["DOJO_PG_URL"] = infra.db_url(db)
    env["DOJO_AUTH_ADDR"] = auth.addr
    env["DOJO_CLOCK_FILE"] = str(cclock.path)
    procs = []
    try:
        content = gamekit.ServiceProcess(
            "content", gamekit.binary("content"), dict(env, DOJO_CONTENT_DIR=str(contest_content)),
            workdir / "contest-content-proc", "DOJO_CONTENT_ADDR",
            "DOJO_CONTENT_METRICS_ADDR").start()
        procs.append(content)
        prefix = gamekit.unique_prefix()
        genv = dict(env, DOJO_CONTENT_ADDR=content.addr, DOJO_GAMIFICATION_REDIS_PREFIX=prefix,
                    DOJO_GAMIFICATION_CONTENT_TTL="0", DOJO_GAMIFICATION_SWEEP_INTERVAL="0",
                    DOJO_CONTEST_MAX_PENDING="3")
        game = gamekit.ServiceProcess("gamification", gamekit.binary("gamification"), genv,
                                      workdir / "contest-game-proc", "DOJO_GAMIFICATION_ADDR",
                                      "DOJO_GAMIFICATION_METRICS_ADDR").start()
        procs.append(game)
        game.client = gamekit.GameClient(game.addr, base_env["DOJO_SERVICE_KEY"])
        yield {"content": content, "game": game, "env": env, "redis": infra.redis_addr,
               "service_key": base_env["DOJO_SERVICE_KEY"]}
        game.client.close()
    finally:
        rcs = [(p, p.stop()) for p in reversed(procs)]
        infra.drop_db(db)
        for p, rc in rcs:
            assert rc == 0, f"{p.name} exited with {rc}\n" + p.log_tail()


@pytest.fixture
def gc(cstack, request):
    yield cstack["game"].client
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(cstack["game"].log_tail(80))
