"""Integration tests of the auth service: real PostgreSQL and Redis, the real
binary on loopback ports, and a stock gRPC client (Debian's python3-grpcio).

Needs DOJO_TEST_PG_URL (a superuser URL, e.g. postgresql://postgres@127.0.0.1:55499/postgres)
and DOJO_TEST_REDIS_ADDR (host:port); `./dojo test` sets both. Without them
every test here is skipped, saying why. The binary is taken from
$DOJO_BIN_DIR/services/auth/auth (DOJO_BIN_DIR defaults to <repo>/bazel-bin)."""
import base64
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import protogen  # noqa: E402

protogen.generate()

import authkit  # noqa: E402  (needs the generated modules)

PG_URL = os.environ.get("DOJO_TEST_PG_URL", "")
REDIS_ADDR = os.environ.get("DOJO_TEST_REDIS_ADDR", "")
SKIP_REASON = ("DOJO_TEST_PG_URL and DOJO_TEST_REDIS_ADDR are not set: these tests need a "
               "throwaway PostgreSQL and Redis (`./dojo test` provides them)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes tens of seconds (still runs by default)")
    config.addinivalue_line("markers", "last: runs after every other test of the session")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    mine = [i for i in items if here in Path(str(i.fspath)).parents]
    if not (PG_URL and REDIS_ADDR):
        for item in mine:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
    # Tests marked `last` look at what the whole session left behind.
    items.sort(key=lambda i: 1 if i.get_closest_marker("last") else 0)


# ---------------------------------------------------------------------------
# Session: one database, one auth process


@pytest.fixture(scope="session")
def infra():
    if not (PG_URL and REDIS_ADDR):
        pytest.skip(SKIP_REASON)
    return authkit.Infra(PG_URL, REDIS_ADDR)


@pytest.fixture(scope="session")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="dojo-it-"))
    yield d
    if os.environ.get("DOJO_TEST_KEEP_TMP") != "1":
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def session_db(infra):
    name = infra.create_db()
    yield name
    infra.drop_db(name)


@pytest.fixture(scope="session")
def base_env(infra, session_db, workdir):
    """The environment every auth process of the session shares (same
    database, same master and service keys)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOJO_")}
    env.update({
        "DOJO_PG_URL": infra.db_url(session_db),
        "DOJO_REDIS_ADDR": infra.redis_addr,
        "DOJO_AUTH_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DOJO_SERVICE_KEY": "svc-" + secrets.token_hex(16),
        "DOJO_PUBLIC_URL": "http://dojo.test",
        "DOJO_LOG_LEVEL": "debug",
        "DOJO_MAIL_OUTBOX": str(workdir / "outbox-session"),
        # Every test sends its reset requests from the loopback address: the
        # per-IP budget (20/hour by default) would be spent by the suite, and
        # by earlier runs on a long-lived Redis. The per-IP limit has its own
        # test with its own settings.
        "DOJO_AUTH_RESET_MAX_PER_IP": "100000",
    })
    authkit.remember_secret(env["DOJO_SERVICE_KEY"])
    return env


def _report_log_on_failure(request, proc):
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(proc.log_tail(60))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def auth(base_env, workdir):
    """The session's auth process."""
    proc = authkit.AuthProcess(base_env, workdir / "session", "auth-session").start()
    yield proc
    rc = proc.stop()
    assert rc == 0, f"session auth exited with {rc}\n" + proc.log_tail()


@pytest.fixture
def client(auth, request):
    yield auth.client
    _report_log_on_failure(request, auth)


@pytest.fixture
def start_auth(base_env, workdir, request):
    """Starts an extra auth process: start_auth(DOJO_X="..."). Environment
    values of None remove a variable. Processes still running at teardown are
    stopped with SIGTERM and must exit 0."""
    started = []

    def start(name="extra", timeout=15, binary=None, **env):
        merged = dict(base_env)
        merged.pop("DOJO_MAIL_OUTBOX")
        for k, v in env.items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = v
        proc = authkit.AuthProcess(merged, workdir / f"{name}-{secrets.token_hex(3)}", name,
                                   binary=binary)
        started.append(proc)
        return proc.start(timeout=timeout)

    yield start
    for proc in started:
        _report_log_on_failure(request, proc)
    for proc in started:
        if proc.returncode is None:
            rc = proc.stop()
            assert rc == 0, f"auth {proc.name} exited with {rc}\n" + proc.log_tail()


@pytest.fixture
def fresh_db(infra):
    """A database of its own for a test that must not disturb the session's
    (key rotation)."""
    made = []

    def make():
        made.append(infra.create_db())
        return infra.db_url(made[-1])

    yield make
    for name in made:
        infra.drop_db(name)
