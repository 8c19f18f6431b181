"""Fixtures of the classroom tests: the session's auth (parent conftest), and
content, gamification (with a clock file and a fast reminder loop) and the
gateway on free loopback ports, against the throwaway PostgreSQL and Redis.

Results are recorded as the executor records them (gamification's
RecordResult with the service key), at instants the test sets with the clock:
what these tests check is who sees what and how dates and policies grade,
not the sandbox (the browser journey grades with the real executor)."""
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _d in (HERE, HERE.parent / "content", HERE.parent / "gamification", HERE.parent / "gateway"):
    if str(_d) not in sys.path:
        sys.path.append(str(_d))

import classkit  # noqa: E402
import contentkit  # noqa: E402
import gamekit  # noqa: E402
import gwkit  # noqa: E402


@pytest.fixture(scope="session")
def class_stack(infra, base_env, auth, workdir):
    for name in ("content", "gamification", "gateway"):
        if not gwkit.binary(name).exists():
            pytest.fail(f"{gwkit.binary(name)} not built: run `bazel build //services/...`")
    content_dir = workdir / "cls-content"
    for doc in classkit.task_docs():
        contentkit.write_task(content_dir / "tasks", doc)
    (content_dir / "achievements").mkdir(parents=True, exist_ok=True)
    web_dir = workdir / "cls-web"
    web_dir.mkdir(parents=True, exist_ok=True)
    (web_dir / "index.html").write_text("<!doctype html><title>Dojo</title>\n")
    clock = gamekit.Clock(workdir / "cls-clock")
    clock.set("2026-03-01T12:00:00Z")
    db = infra.create_db()
    env = dict(base_env)
    env.pop("DOJO_MAIL_OUTBOX", None)
    env.pop("DOJO_AUTH_MASTER_KEY", None)
    env["DOJO_PG_URL"] = infra.db_url(db)
    env["DOJO_AUTH_ADDR"] = auth.addr
    procs = []
    try:
        content = gamekit.ServiceProcess("content", gwkit.binary("content"),
                                         dict(env, DOJO_CONTENT_DIR=str(content_dir)),
                                         workdir / "cls-content-proc", "DOJO_CONTENT_ADDR",
                                         "DOJO_CONTENT_METRICS_ADDR").start()
        procs.append(content)
        game = gamekit.ServiceProcess(
            "gamification", gwkit.binary("gamification"),
            dict(env, DOJO_CONTENT_ADDR=content.addr, DOJO_CLOCK_FILE=str(clock.path),
                 DOJO_GAMIFICATION_REDIS_PREFIX=gamekit.unique_prefix(),
                 # The default TTL, as in production: a task an author has just
                 # created must be assignable and analysable at once all the same.
                 DOJO_GAMIFICATION_CONTENT_TTL="60s",
                 DOJO_GAMIFICATION_REMINDER_INTERVAL="300ms"),
            workdir / "cls-game-proc", "DOJO_GAMIFICATION_ADDR",
            "DOJO_GAMIFICATION_METRICS_ADDR").start()
        procs.append(game)
        gw = gwkit.Gateway(dict(env, DOJO_CONTENT_ADDR=content.addr,
                                DOJO_GAMIFICATION_ADDR=game.addr,
                                DOJO_EXECUTOR_ADDR=f"127.0.0.1:{gwkit.free_port()}",
                                DOJO_REDIS_ADDR=infra.redis_addr,
                                DOJO_GATEWAY_WEB_DIR=str(web_dir),
                                DOJO_GATEWAY_RATE_LIMIT="1000",
                                DOJO_GATEWAY_ANON_RATE_LIMIT="100000"),
                           workdir / "cls-gw-proc").start()
        game_client = gamekit.GameClient(game.addr, env["DOJO_SERVICE_KEY"])
        yield classkit.Stack(gw=gw, game=game, game_client=game_client, clock=clock, auth=auth,
                             content=content)
        game_client.close()
        assert gw.stop() == 0, gw.log_tail()
    finally:
        for p in reversed(procs):
            rc = p.stop()
            assert rc == 0, f"{p.name} exited with {rc}\n" + p.log_tail()
        infra.drop_db(db)


@pytest.fixture
def st(class_stack, request):
    yield class_stack
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(class_stack.game.log_tail())
        print(class_stack.gw.log_tail())


@pytest.fixture(scope="session")
def spec():
    return gwkit.Spec()
