"""auth's PostgreSQL pool under a burst (issue 12): a call waits for a
connection until shortly before its deadline, and one that cannot get one is
answered UNAVAILABLE "busy: no database connection free" with a retry-after —
the gateway's 503 with Retry-After, as for the hash gate — before anything
is written, so the learner sends the same registration again and gets exactly
one account.

Here auth has a pool of one connection. A sign-up sent straight to auth (a
long deadline) takes it and stays inside its INSERT while another session
holds a lock on auth.users; PostgreSQL's pg_stat_activity shows it waiting.
Everything else then finds no connection free. Nothing is timed: the waits
are observed, and a refusal needs no clock."""
import secrets
import subprocess
import threading
import time

import grpc
import pytest

import authkit
import gwkit

CHEAP_HASH = {"DOJO_AUTH_ARGON2_OPS": "1", "DOJO_AUTH_ARGON2_MEM_KIB": "8192"}
LOCKER = "dojo_it_users_locker"


def wait_for(pred, what, tries=600):
    for _ in range(tries):  # bounded: 600 × 50 ms
        if pred():
            return
        time.sleep(0.05)
    pytest.fail(f"never: {what}")


def account(tag):
    acct = {"email": f"{tag}@example.org", "username": tag,
            "password": f"pw-{secrets.token_hex(8)}", "session": "token"}
    authkit.remember_secret(acct["password"])
    return acct


def db_of(auth):
    return auth.env["DOJO_PG_URL"].rsplit("/", 1)[1]


def users_named(infra, auth, username):
    out = infra.psql(f"SELECT count(*) FROM auth.users WHERE username = '{username}'",
                     dbname=db_of(auth))
    return int(out.strip())


def counter(auth, name):
    total = 0.0
    for line in auth.metrics().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.split()[-1])
    return total


class UsersLock:
    """A session of its own that holds ACCESS EXCLUSIVE on auth.users (for
    at most 120 s: bounded even if the test dies) until released."""

    def __init__(self, infra, auth):
        self.infra, self.db = infra, db_of(auth)
        url = infra.db_url(self.db)
        sep = "&" if "?" in url else "?"
        self.proc = subprocess.Popen(
            ["psql", f"{url}{sep}application_name={LOCKER}", "-qAtX", "-v", "ON_ERROR_STOP=1",
             "-c", "BEGIN; LOCK TABLE auth.users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._count(f"application_name = '{LOCKER}' AND "
                                     "wait_event = 'PgSleep'") == 1, "the lock taken")

    def _count(self, where):
        return int(self.infra.psql(f"SELECT count(*) FROM pg_stat_activity WHERE {where}",
                                   dbname=self.db).strip())

    def waiters(self):
        """Sessions waiting for a lock on auth.users (auth's INSERT)."""
        return self._count("wait_event_type = 'Lock' AND query LIKE 'INSERT INTO auth.users%'")

    def release(self):
        self.infra.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE application_name = '{LOCKER}'", dbname=self.db)
        self.proc.wait(timeout=30)


@pytest.fixture
def one_connection(start_auth, start_gateway):
    auth = start_auth("db-busy", timeout=60, DOJO_PG_POOL="1", **CHEAP_HASH)
    wait_for(lambda: "pg_pool=1" in auth.log_text(), "auth's serving line with its pool")
    g = start_gateway(DOJO_AUTH_ADDR=auth.addr, DOJO_GATEWAY_RPC_TIMEOUT="1s")
    return auth, g


def test_the_pool_is_sized_for_the_hash_slots_by_default(start_auth):
    auth = start_auth("db-default", DOJO_AUTH_HASH_CONCURRENCY="3", DOJO_PG_POOL=None)
    wait_for(lambda: "hash_concurrency=3" in auth.log_text(), "auth's serving line")
    assert "pg_pool=11" in auth.log_text()  # 8 + 3
    many = start_auth("db-many", DOJO_AUTH_HASH_CONCURRENCY="40", DOJO_PG_POOL=None)
    wait_for(lambda: "hash_concurrency=40" in many.log_text(), "auth's serving line")
    assert "pg_pool=32" in many.log_text()  # at most 32


def test_no_connection_free_is_busy_503_with_retry_after_and_the_retry_makes_one_account(
        one_connection, infra):
    auth, g = one_connection
    holder = account(f"holder_{secrets.token_hex(4)}")
    held = {}

    def hold():
        # Straight to auth with a long deadline: it takes the only connection
        # and waits inside its INSERT until the lock goes.
        try:
            held["reply"] = authkit.Client(auth.addr).sign_up(
                holder["email"], holder["username"], holder["password"], timeout=120)
        except grpc.RpcError as e:  # reported by the assertion below
            held["error"] = e

    lock = UsersLock(infra, auth)
    t = threading.Thread(target=hold)
    try:
        t.start()
        wait_for(lambda: lock.waiters() == 1, "the holder's INSERT waiting for the lock")

        # Over gRPC: told busy, with a retry-after, well before the deadline
        # (3 s here: the pool's old fixed wait would have outlived it).
        late = account(f"late_{secrets.token_hex(4)}")
        err = authkit.expect_status(
            grpc.StatusCode.UNAVAILABLE, authkit.Client(auth.addr).sign_up,
            late["email"], late["username"], late["password"], timeout=3)
        assert err.details() == "busy: no database connection free", err.details()
        trailers = dict(err.trailing_metadata() or ())
        assert int(trailers["retry-after"]) >= 1, trailers

        # Through the gateway: 503 with Retry-After, as the hash gate's.
        second = account(f"second_{secrets.token_hex(4)}")
        r = gwkit.Client(g.addr).post("/api/v1/auth/register", second)
        assert r.status == 503 and r.json["error"]["code"] == "unavailable", r
        assert int(r.header("Retry-After")) >= 1, r
        assert counter(auth, "dojo_auth_db_busy_total") >= 2
    finally:
        lock.release()
        t.join(timeout=120)
    assert "reply" in held, held.get("error")
    assert held["reply"].user.username == holder["username"]

    # Nothing was written for the refused ones; sent again, one account each.
    assert users_named(infra, auth, late["username"]) == 0
    assert users_named(infra, auth, second["username"]) == 0
    r = gwkit.Client(g.addr).post("/api/v1/auth/register", second)
    assert r.status == 201 and r.json["access_token"], r
    authkit.remember_secret(r.json["access_token"])
    authkit.remember_secret(r.json.get("refresh_token"))
    assert users_named(infra, auth, second["username"]) == 1
    assert users_named(infra, auth, holder["username"]) == 1
