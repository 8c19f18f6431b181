"""Fixtures of the gateway's API tests: the real auth (from the parent
conftest), content, gamification, executor and gateway binaries on free
loopback ports, against the throwaway PostgreSQL and Redis of `./dojo test`.

The real executor (crun) grades every submission whenever it can run: as root,
with crun and the language root filesystem at DOJO_EXECUTOR_ROOTFS_DIR
(default .dojo/rootfs), as under `./dojo test`. Where it cannot, the tests
that need it skip and say why; nothing stands in for it.
DOJO_TEST_GATEWAY_EXECUTOR=0 turns it off, =1 makes its absence a failure."""
import json
import os
import secrets
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _d in (HERE, HERE.parent / "content", HERE.parent / "gamification", HERE.parent / "executor"):
    if str(_d) not in sys.path:
        sys.path.append(str(_d))

import authkit  # noqa: E402
import contentkit  # noqa: E402
import execkit  # noqa: E402
import gamekit  # noqa: E402
import gwkit  # noqa: E402

TASK_SLUG = gwkit.TASK_SLUG


def _task_docs():
    main = contentkit.task(TASK_SLUG, title="Gateway sum",
                           editorial="GW-EDITORIAL: read both numbers, print their sum.")
    # Interactive runs on gw-echo wait for the test's input: a roomy wall limit.
    other = contentkit.task("gw-echo", title="Echo", difficulty="medium",
                            tags=["strings"], limits={"cpu_ms": 1000, "wall_ms": 20000},
                            tests=[{"name": "sample", "input": "hi\n", "expected": "hi\n"},
                                   {"name": "secret", "input": "zebra-quokka-31\n",
                                    "expected": "zebra-quokka-31\n", "hidden": True}],
                            reference_solutions=[{"name": "ref", "language": "python3",
                                                  "code": "print(input())\n"}],
                            wrong_solutions=[])
    return [main, other]


@pytest.fixture(scope="session")
def gw_content_dir(workdir):
    d = workdir / "gw-content"
    (d / "tasks").mkdir(parents=True, exist_ok=True)
    (d / "achievements").mkdir(parents=True, exist_ok=True)
    for doc in _task_docs():
        contentkit.write_task(d / "tasks", doc)
    (d / "tracks").mkdir(exist_ok=True)
    (d / "tracks" / "gw-start.json").write_text(json.dumps(
        {"slug": "gw-start", "title": "Start here", "description": "Sum, then echo.",
         "tasks": [TASK_SLUG, "gw-echo"], "sort_order": 1}) + "\n")
    for i, (slug, rule) in enumerate(gamekit.ACHIEVEMENTS[:2]):
        a = {"slug": slug, "title": f"Title {slug}", "description": f"Earn {slug}.",
             "icon": "star", "rule": rule, "sort_order": i + 1}
        (d / "achievements" / f"{slug}.json").write_text(json.dumps(a) + "\n")
    return d


@pytest.fixture(scope="session")
def hidden_markers():
    marks = []
    for doc in _task_docs():
        marks += contentkit.hidden_markers(doc)
    return [m for m in marks if len(m) >= 6]


@pytest.fixture(scope="session")
def web_dir(workdir):
    d = workdir / "web-dist"
    (d / "assets").mkdir(parents=True, exist_ok=True)
    (d / "index.html").write_text(
        '<!doctype html><html><head><script type="module" src="/assets/app-1a2b3c.js">'
        "</script></head><body><div id=app></div></body></html>\n")
    js = b"console.log('dojo');\n" * 50
    (d / "assets" / "app-1a2b3c.js").write_bytes(js)
    import gzip
    (d / "assets" / "app-1a2b3c.js.gz").write_bytes(gzip.compress(js))
    return d


# The session's gateway, once started: a test after which it is no longer
# running fails there with its log, rather than every later test failing to
# connect with the cause out of sight.
_SESSION_GATEWAYS = []


@pytest.fixture(autouse=True)
def session_gateway_survives():
    yield
    for g in _SESSION_GATEWAYS:
        if not g.alive():
            _SESSION_GATEWAYS.clear()  # said once, by the test it died in
            pytest.fail(f"the session's gateway exited with {g.proc.returncode} during this "
                        f"test\n" + g.log_tail(150), pytrace=False)


@pytest.fixture(scope="session")
def stack(infra, base_env, auth, workdir, gw_content_dir, web_dir):
    """content + gamification + executor (when it can run) + gateway."""
    for name in ("content", "gamification", "gateway"):
        if not gwkit.binary(name).exists():
            pytest.fail(f"{gwkit.binary(name)} not built: run `bazel build //services/...`")
    no_executor = gwkit.executor_skip_reason()
    if no_executor and os.environ.get("DOJO_TEST_GATEWAY_EXECUTOR") == "1":
        pytest.fail(f"DOJO_TEST_GATEWAY_EXECUTOR=1, but {no_executor}")
    db = infra.create_db()
    env = dict(base_env)
    env.pop("DOJO_MAIL_OUTBOX", None)
    env.pop("DOJO_AUTH_MASTER_KEY", None)
    env["DOJO_PG_URL"] = infra.db_url(db)
    env["DOJO_AUTH_ADDR"] = auth.addr
    procs = []
    executor = executor_rc = None
    try:
        cenv = dict(env, DOJO_CONTENT_DIR=str(gw_content_dir))
        content = gamekit.ServiceProcess("content", gwkit.binary("content"), cenv,
                                         workdir / "gw-content-proc", "DOJO_CONTENT_ADDR",
                                         "DOJO_CONTENT_METRICS_ADDR").start()
        procs.append(content)
        prefix = gamekit.unique_prefix()
        # A quick sweeper: test_gateway_orphans.py waits for it.
        genv = dict(env, DOJO_CONTENT_ADDR=content.addr, DOJO_GAMIFICATION_REDIS_PREFIX=prefix,
                    DOJO_GAMIFICATION_CONTENT_TTL="0", DOJO_GAMIFICATION_SWEEP_INTERVAL="500ms",
                    DOJO_GAMIFICATION_ORPHAN_AFTER="3s")
        game = gamekit.ServiceProcess("gamification", gwkit.binary("gamification"), genv,
                                      workdir / "gw-game-proc", "DOJO_GAMIFICATION_ADDR",
                                      "DOJO_GAMIFICATION_METRICS_ADDR").start()
        procs.append(game)
        # Without an executor the gateway still needs an address: nobody
        # listens there (run-reference answers 503).
        executor_addr = f"127.0.0.1:{gwkit.free_port()}"
        if no_executor is None:
            eid = f"gw-exec-{secrets.token_hex(3)}"
            eenv = dict(env)
            eenv.update({
                "DOJO_CONTENT_ADDR": content.addr,
                "DOJO_GAMIFICATION_ADDR": game.addr,
                "DOJO_REDIS_ADDR": infra.redis_addr,
                "DOJO_EXECUTOR_ID": eid,
                "DOJO_EXECUTOR_ROOTFS_DIR": str(gwkit.rootfs_dir()),
                "DOJO_EXECUTOR_LANGUAGES_DIR": str(gwkit.LANGUAGES_DIR),
                "DOJO_EXECUTOR_CONCURRENCY": "2",
                "DOJO_RPC_DRAIN_GRACE": "5s",
            })
            executor = execkit.ExecutorProcess(eenv, workdir / eid, eid, authkit.free_port)
            procs.append(executor)
            executor.start(timeout=60)
            executor_addr = executor.addr
        gateway_env = dict(env)
        gateway_env.update({
            "DOJO_CONTENT_ADDR": content.addr,
            "DOJO_GAMIFICATION_ADDR": game.addr,
            "DOJO_EXECUTOR_ADDR": executor_addr,
            "DOJO_REDIS_ADDR": infra.redis_addr,
            "DOJO_GATEWAY_WEB_DIR": str(web_dir),
            "DOJO_GATEWAY_RATE_LIMIT": "1000",
            "DOJO_GATEWAY_ANON_RATE_LIMIT": "100000",
            "DOJO_GATEWAY_TASKS_CACHE_TTL": "1s",
        })
        gw = gwkit.Gateway(gateway_env, workdir / "gw-proc").start()
        _SESSION_GATEWAYS.append(gw)
        yield {"gateway": gw, "content": content, "game": game, "executor": executor,
               "no_executor": no_executor, "env": gateway_env, "redis": infra.redis_addr,
               "service_key": env["DOJO_SERVICE_KEY"]}
        rc = gw.stop()
        assert rc == 0, f"gateway exited with {rc}\n" + gw.log_tail()
    finally:
        for p in reversed(procs):
            rc = p.stop()
            if p is executor:
                executor_rc = rc
        infra.drop_db(db)
    if executor is not None:
        assert executor_rc == 0, f"executor exited with {executor_rc}\n" + executor.log_tail()


@pytest.fixture(scope="session")
def gw(stack):
    return stack["gateway"]


@pytest.fixture
def executor(stack):
    """The real executor; the test skips, saying why, when it cannot run."""
    if stack["executor"] is None:
        pytest.skip(f"needs the real executor: {stack['no_executor']}")
    return stack["executor"]


@pytest.fixture(autouse=True)
def _gateway_log_on_failure(request):
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed and "stack" in request.fixturenames:
        s = request.getfixturevalue("stack")
        print(s["gateway"].log_tail())
        if s["executor"] is not None:
            print(s["executor"].log_tail())


@pytest.fixture(scope="session")
def spec():
    return gwkit.Spec()


@pytest.fixture
def learner(gw):
    """A fresh learner signed in with cookies (a browser)."""
    c, _, acct = gwkit.register(gw.addr)
    c.account = acct
    return c


@pytest.fixture(scope="session")
def author(gw, auth):
    """An author signed in with a bearer token (an API client)."""
    c, r, acct = gwkit.register(gw.addr, session="token")
    res = auth.run_cli("set-role", acct["username"], "author")
    assert res.returncode == 0, res.stderr
    login = gwkit.Client(gw.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"], "session": "token"})
    assert login.status == 200, login
    c.bearer = login.json["access_token"]
    c.account = acct
    return c


@pytest.fixture(scope="session")
def game_client(stack):
    c = gamekit.GameClient(stack["game"].addr, stack["service_key"])
    yield c
    c.close()


@pytest.fixture
def redis(stack):
    r = gwkit.Redis(stack["redis"])
    yield r
    r.close()


@pytest.fixture
def start_gateway(stack, workdir):
    """start_gateway(**env): an extra gateway with changed settings."""
    started = []

    def start(**env):
        e = dict(stack["env"])
        e.update(env)
        g = gwkit.Gateway(e, workdir / f"gw-extra-{secrets.token_hex(3)}").start()
        started.append(g)
        return g

    yield start
    for g in started:
        assert g.stop() == 0, g.log_tail()
