"""Fixtures of the executor's integration tests: the real stack (auth from the
parent conftest, content serving execkit's test tasks, gamification, and
executors) on a database of their own, talking through the session's Redis.

Every test here needs root, crun and a language rootfs; without them each is
skipped with the reason (see execkit.sandbox_skip_reason)."""
import os
import sys
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "gamification"))

import authkit  # noqa: E402
import execkit  # noqa: E402
import gamekit  # noqa: E402


def pytest_collection_modifyitems(config, items):
    reason = execkit.sandbox_skip_reason()
    if reason:
        for item in items:
            if HERE in Path(str(item.fspath)).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def exec_db(infra):
    name = infra.create_db()
    yield infra.db_url(name)
    infra.drop_db(name)


@pytest.fixture(scope="session")
def exec_stack(base_env, auth, workdir, exec_db, infra):
    """content + gamification on the executor tests' own database."""
    env = dict(base_env)
    env.pop("DOJO_MAIL_OUTBOX", None)
    env.pop("DOJO_AUTH_MASTER_KEY", None)
    env["DOJO_PG_URL"] = exec_db
    env["DOJO_AUTH_ADDR"] = auth.addr
    content_dir = execkit.write_content(workdir / "exec-content")
    cenv = dict(env, DOJO_CONTENT_DIR=str(content_dir))
    content = gamekit.ServiceProcess("content", gamekit.binary("content"), cenv,
                                     workdir / "exec-content-proc", "DOJO_CONTENT_ADDR",
                                     "DOJO_CONTENT_METRICS_ADDR").start()
    genv = dict(env, DOJO_CONTENT_ADDR=content.addr,
                DOJO_GAMIFICATION_REDIS_PREFIX=gamekit.unique_prefix(),
                # Tests change achievements under a running service; the
                # benchmark runs with the production default instead.
                DOJO_GAMIFICATION_CONTENT_TTL=os.environ.get(
                    "DOJO_TEST_GAMIFICATION_CONTENT_TTL", "0"),
                # The tests queue jobs by hand, without the gateway's enqueued
                # marker: a sweeper would queue those submissions again.
                DOJO_GAMIFICATION_SWEEP_INTERVAL="0")
    game = gamekit.ServiceProcess("gamification", gamekit.binary("gamification"), genv,
                                  workdir / "exec-game-proc", "DOJO_GAMIFICATION_ADDR",
                                  "DOJO_GAMIFICATION_METRICS_ADDR").start()
    game.client = gamekit.GameClient(game.addr, base_env["DOJO_SERVICE_KEY"])
    exec_env = dict(env)
    exec_env.update({
        "DOJO_CONTENT_ADDR": content.addr,
        "DOJO_GAMIFICATION_ADDR": game.addr,
        "DOJO_EXECUTOR_ROOTFS_DIR": str(execkit.rootfs_dir()),
        "DOJO_EXECUTOR_LANGUAGES_DIR": str(execkit.LANGUAGES_DIR),
        "DOJO_EXECUTOR_CONCURRENCY": "2",
        "DOJO_RPC_DRAIN_GRACE": "5s",
    })

    class Stack:
        pass

    s = Stack()
    s.content, s.game, s.env, s.gc = content, game, exec_env, game.client
    s.service_key = base_env["DOJO_SERVICE_KEY"]
    yield s
    game.client.close()
    rc_g = game.stop()
    rc_c = content.stop()
    assert rc_g == 0, "gamification exited badly\n" + game.log_tail()
    assert rc_c == 0, "content exited badly\n" + content.log_tail()


@pytest.fixture(scope="session")
def redis(infra):
    r = execkit.Redis(infra.redis_addr)
    yield r
    r.close()


@pytest.fixture
def start_executor(exec_stack, workdir, request):
    """start_executor(name, **env) starts an executor; at teardown the ones
    still running get SIGTERM and must exit 0."""
    started = []

    def start(name="exec", **env):
        merged = dict(exec_stack.env)
        merged["DOJO_EXECUTOR_ID"] = f"{name}-{uuid.uuid4().hex[:6]}"
        merged.update({k: str(v) for k, v in env.items()})
        p = execkit.ExecutorProcess(merged, workdir / merged["DOJO_EXECUTOR_ID"],
                                    merged["DOJO_EXECUTOR_ID"], authkit.free_port)
        started.append(p)
        return p.start()

    yield start
    rep = getattr(request.node, "rep_call", None)
    for p in started:
        if rep is not None and rep.failed:
            print(p.log_tail())
    for p in started:
        if p.proc and p.proc.poll() is None:
            rc = p.stop()
            assert rc == 0, f"executor {p.name} exited with {rc}\n" + p.log_tail()


# new_submission lives in execkit (test modules import it from there: a
# `from conftest import` would find another folder's conftest).
new_submission = execkit.new_submission
