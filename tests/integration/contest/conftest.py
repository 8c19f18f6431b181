"""Fixtures of the contest tests: real content and gamification on a
database of their own, sharing one clock file (DOJO_CLOCK_FILE) that the
tests move, with a content folder holding ten tasks and the simulated
contests. The parent conftest provides infra, base_env, workdir, auth and
fresh_db."""
import json
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
import gwkit  # noqa: E402

CONTESTS = [
    contestkit.contest_doc("sim-icpc"),
    contestkit.contest_doc("sim-ioi", scoring="ioi", medals={"gold": 0, "silver": 0, "bronze": 0},
                           freeze_minutes=0),
    contestkit.contest_doc("sim-ioi-last", scoring="ioi", ioi_mode="last", freeze_minutes=0,
                           medals={"gold": 0, "silver": 0, "bronze": 0}),
    # The gateway's contests (test_contest_gateway.py), a month after the
    # simulated ones: their own window, open registration, a hidden task.
    contestkit.contest_doc("gw-live", start=contestkit.GW_START, duration="2:00:00",
                           freeze_minutes=30, registration="open", max_team_size=2,
                           hide_tasks_until_start=True, organizations=[
                               {"id": "org-gw", "name": "Gateway U", "country": "NLD"}],
                           problems=[{"label": "A", "task_slug": "sim-a", "rgb": "#ff0000",
                                      "color": "red"},
                                     {"label": "B", "task_slug": contestkit.GW_SECRET_TASK}],
                           medals={"gold": 1, "silver": 0, "bronze": 0}),
    contestkit.contest_doc("gw-invite", start=contestkit.GW_START, duration="2:00:00",
                           registration="invite",
                           invite_code_sha256=contestkit.code_hash("gateway sesame"),
                           problems=[{"label": "A", "task_slug": "sim-a"}]),
    # The CLICS Contest API's (test_contest_clics.py), a month later again.
    contestkit.contest_doc("gw-clics", start=contestkit.CLICS_START, duration="2:00:00",
                           freeze_minutes=30, problems=[
                               {"label": "A", "task_slug": "sim-a", "rgb": "#f00", "color": "red"},
                               {"label": "B", "task_slug": "sim-b"},
                               {"label": "C", "task_slug": "sim-c"}]),
    # The scoreboard pushed to WebSocket viewers (test_contest_ws_board.py).
    contestkit.contest_doc("gw-board", start=contestkit.BOARD_START, duration="2:00:00",
                           freeze_minutes=30, problems=[
                               {"label": "A", "task_slug": "sim-a"},
                               {"label": "B", "task_slug": "sim-b"}]),
    contestkit.contest_doc("rules", registration="invite",
                           invite_code_sha256=contestkit.code_hash("open sesame"),
                           practice_after_end=False, max_team_size=2, hide_tasks_until_start=True,
                           problems=[{"label": "A", "task_slug": "sim-a"}]),
]


@pytest.fixture(scope="session")
def contest_content(workdir):
    d = contestkit.write_content(workdir / "contest-content", CONTESTS)
    doc = contestkit.task_doc(contestkit.GW_SECRET_TASK, "Secret problem")
    (d / "tasks" / f"{contestkit.GW_SECRET_TASK}.json").write_text(json.dumps(doc, indent=2) + "\n")
    return d


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


@pytest.fixture(scope="session")
def cgw(cstack, auth, workdir):
    """A gateway in front of the contest tests' content and gamification. No
    executor: the tests read the jobs it queues and record verdicts
    themselves, as the executor would."""
    web = workdir / "contest-web"
    web.mkdir(exist_ok=True)
    (web / "index.html").write_text("<!doctype html><title>dojo</title>\n")
    env = dict(cstack["env"])
    env.update({
        "DOJO_CONTENT_ADDR": cstack["content"].addr,
        "DOJO_GAMIFICATION_ADDR": cstack["game"].addr,
        "DOJO_EXECUTOR_ADDR": f"127.0.0.1:{gwkit.free_port()}",
        "DOJO_REDIS_ADDR": cstack["redis"],
        "DOJO_GATEWAY_WEB_DIR": str(web),
        "DOJO_GATEWAY_RATE_LIMIT": "1000",
        # The event feed's keep-alive and polling, short for the stream test.
        "DOJO_CLICS_FEED_KEEPALIVE_MS": "300",
        "DOJO_CLICS_FEED_POLL_MS": "100",
        "DOJO_GATEWAY_THREADS": "2",
    })
    g = gwkit.Gateway(env, workdir / "contest-gw-proc").start()
    yield g
    rc = g.stop()
    assert rc == 0, f"gateway exited with {rc}\n" + g.log_tail()
