"""Fixtures of the gamification integration tests: the real content service
(serving a small folder of test tasks and achievements), a gamification
process on the session's database with a clock file, and fresh gamification
processes (own database, own Redis key prefix) for leaderboard tests.

The parent conftest provides infra, base_env, workdir, auth and fresh_db."""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import gamekit  # noqa: E402
from fakecontent import FakeContent  # noqa: E402

CONTENT_MISSING = ("the content service binary is not built yet ({}): gamification needs it for "
                   "task facts and achievement definitions (set DOJO_TEST_FAKE_CONTENT=1 to run "
                   "against the stand-in in fakecontent.py while developing)")


@pytest.fixture(scope="session")
def content_dir(workdir):
    return gamekit.write_content(workdir / "content")


@pytest.fixture(scope="session")
def content(base_env, auth, workdir, content_dir):
    """The content service: the real binary when it exists."""
    path = gamekit.binary("content")
    if path.exists():
        env = dict(base_env)
        env["DOJO_AUTH_ADDR"] = auth.addr
        env["DOJO_CONTENT_DIR"] = str(content_dir)
        proc = gamekit.ServiceProcess("content", path, env, workdir / "content-proc",
                                      "DOJO_CONTENT_ADDR", "DOJO_CONTENT_METRICS_ADDR").start()
        yield proc.addr
        assert proc.stop() == 0, "content exited badly\n" + proc.log_tail()
    elif os.environ.get("DOJO_TEST_FAKE_CONTENT") == "1":
        fake = FakeContent(content_dir, base_env["DOJO_SERVICE_KEY"]).start()
        yield fake.addr
        fake.stop()
    else:
        pytest.skip(CONTENT_MISSING.format(path))


@pytest.fixture(scope="session")
def clock(workdir):
    c = gamekit.Clock(workdir / "clock")
    c.set("2026-01-05T12:00:00Z")
    return c


def _game_env(base_env, auth, content, clock, db_url=None, prefix=None):
    env = dict(base_env)
    env.pop("DOJO_MAIL_OUTBOX", None)
    env.update({
        "DOJO_AUTH_ADDR": auth.addr,
        "DOJO_CONTENT_ADDR": content,
        "DOJO_CLOCK_FILE": str(clock.path),
        "DOJO_GAMIFICATION_REDIS_PREFIX": prefix or gamekit.unique_prefix(),
        "DOJO_GAMIFICATION_CONTENT_TTL": "0",
        # These tests create submissions and record their results themselves,
        # moving the clock in between: no job is ever queued, and a sweeper
        # would queue or fail the pending ones (test_sweeper.py has its own).
        "DOJO_GAMIFICATION_SWEEP_INTERVAL": "0",
    })
    if db_url:
        env["DOJO_PG_URL"] = db_url
    return env


def _delete_prefix(infra, prefix):
    keys = infra.redis("--scan", "--pattern", prefix + "*").split()
    if keys:
        infra.redis("DEL", *keys)


@pytest.fixture(scope="session")
def game(base_env, auth, content, clock, workdir, infra):
    env = _game_env(base_env, auth, content, clock)
    proc = gamekit.ServiceProcess("gamification", gamekit.binary("gamification"), env,
                                  workdir / "game-session", "DOJO_GAMIFICATION_ADDR",
                                  "DOJO_GAMIFICATION_METRICS_ADDR")
    if not proc.binary.exists():
        pytest.fail(f"gamification binary not found at {proc.binary}: "
                    "run `bazel build //services/gamification`")
    proc.start()
    proc.prefix = env["DOJO_GAMIFICATION_REDIS_PREFIX"]
    proc.client = gamekit.GameClient(proc.addr, base_env["DOJO_SERVICE_KEY"])
    yield proc
    proc.client.close()
    rc = proc.stop()
    _delete_prefix(infra, proc.prefix)
    assert rc == 0, f"gamification exited with {rc}\n" + proc.log_tail()


@pytest.fixture
def gc(game, request):
    yield game.client
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(game.log_tail())


@pytest.fixture
def fresh_game(base_env, auth, content, clock, workdir, infra, fresh_db, request):
    """start(**env): a gamification process of its own (own database and
    Redis prefix): leaderboards with no one else on them."""
    procs = []

    def start(**overrides):
        env = _game_env(base_env, auth, content, clock, db_url=fresh_db())
        env.update(overrides)
        proc = gamekit.ServiceProcess("gamification-fresh", gamekit.binary("gamification"), env,
                                      workdir / f"game-fresh-{len(procs)}",
                                      "DOJO_GAMIFICATION_ADDR", "DOJO_GAMIFICATION_METRICS_ADDR")
        proc.start()
        proc.prefix = env["DOJO_GAMIFICATION_REDIS_PREFIX"]
        proc.client = gamekit.GameClient(proc.addr, base_env["DOJO_SERVICE_KEY"])
        procs.append(proc)
        return proc

    yield start
    rep = getattr(request.node, "rep_call", None)
    for proc in procs:
        if rep is not None and rep.failed:
            print(proc.log_tail())
        proc.client.close()
        rc = proc.stop()
        _delete_prefix(infra, proc.prefix)
        assert rc == 0, f"gamification exited with {rc}\n" + proc.log_tail()
