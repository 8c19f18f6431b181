"""auth's password-hash gate (issue 12): at most DOJO_AUTH_HASH_CONCURRENCY
hashes at once, DOJO_AUTH_HASH_QUEUE callers waiting for one, and the next
refused at once — UNAVAILABLE with a retry-after, which the gateway answers
503 with Retry-After — before any account is written, so the learner sends
the same registration again and gets exactly one account.

Here auth runs one hash at a time with no queue, at a deliberately slow
argon2id cost, so that one registration visibly holds the only slot (auth's
dojo_auth_password_hashes_running gauge) while the next arrives. Nothing is
timed: should the first finish before the second reaches the gate, the
second is simply served and the round is tried again."""
import concurrent.futures
import secrets
import time

import pytest

import authkit
import gwkit

SLOW_HASH = {"DOJO_AUTH_ARGON2_OPS": "10", "DOJO_AUTH_ARGON2_MEM_KIB": "131072"}


def gauge(auth, name):
    for line in auth.metrics().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


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


def users_named(infra, auth, username):
    db = auth.env["DOJO_PG_URL"].rsplit("/", 1)[1]
    out = infra.psql(f"SELECT count(*) FROM auth.users WHERE username = '{username}'", dbname=db)
    return int(out.strip())


@pytest.fixture
def gated(start_auth, start_gateway):
    auth = start_auth("hash-gate", timeout=60, DOJO_AUTH_HASH_CONCURRENCY="1",
                      DOJO_AUTH_HASH_QUEUE="0", **SLOW_HASH)
    # The "serving" line comes after health turns SERVING (df8137f): wait for it.
    wait_for(lambda: "hash_concurrency=1 hash_queue=0" in auth.log_text(),
             "auth's serving line with the gate's settings")
    g = start_gateway(DOJO_AUTH_ADDR=auth.addr, DOJO_GATEWAY_RPC_TIMEOUT="30s")
    return auth, g


def test_a_registration_past_the_hash_queue_gets_503_and_its_retry_one_account(gated, infra):
    auth, g = gated
    refused = None
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        for _ in range(5):  # bounded: a round only fails if the first hash outran the second
            first = account(f"first_{secrets.token_hex(4)}")
            pending = pool.submit(gwkit.Client(g.addr).post, "/api/v1/auth/register", first)
            wait_for(lambda: gauge(auth, "dojo_auth_password_hashes_running") == 1,
                     "the first registration hashing")
            second = account(f"second_{secrets.token_hex(4)}")
            r = gwkit.Client(g.addr).post("/api/v1/auth/register", second)
            done = pending.result(timeout=300)
            assert done.status == 201 and done.json["user"]["username"] == first["username"], done
            if r.status == 201:
                continue  # the first had finished already: served in turn
            refused = (second, r)
            break
    finally:
        pool.shutdown(wait=True)
    assert refused is not None, "the second registration never met a busy slot"
    second, r = refused
    assert r.status == 503 and r.json["error"]["code"] == "unavailable", r
    assert 1 <= int(r.header("Retry-After")) <= 60, r
    assert users_named(infra, auth, second["username"]) == 0
    assert "reason=\"queue_full\"" in auth.metrics()

    # The same registration again, once the slot is free: one account, signed in.
    wait_for(lambda: gauge(auth, "dojo_auth_password_hashes_running") == 0, "the slot free")
    r = gwkit.Client(g.addr).post("/api/v1/auth/register", second)
    assert r.status == 201 and r.json["access_token"], r
    authkit.remember_secret(r.json["access_token"])
    authkit.remember_secret(r.json.get("refresh_token"))
    me = gwkit.Client(g.addr, bearer=r.json["access_token"]).get("/api/v1/me")
    assert me.status == 200 and me.json["user"]["username"] == second["username"], me
    assert users_named(infra, auth, second["username"]) == 1
    assert users_named(infra, auth, first["username"]) == 1


def test_a_login_refused_by_the_gate_costs_no_attempt_of_the_budget(gated, infra):
    """A refused login verified nothing: the account's failed-attempt budget
    (DOJO_AUTH_LOGIN_MAX_FAILS_ACCOUNT) must not shrink, or a sign-in wave
    would lock learners out."""
    auth, g = gated
    _, _, acct = gwkit.register(g.addr, session="token")
    login = {"login": acct["username"], "password": acct["password"], "session": "token"}
    refusals = 0
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        for _ in range(5):
            holder = account(f"holder_{secrets.token_hex(4)}")
            pending = pool.submit(gwkit.Client(g.addr).post, "/api/v1/auth/register", holder)
            wait_for(lambda: gauge(auth, "dojo_auth_password_hashes_running") == 1,
                     "a registration hashing")
            r = gwkit.Client(g.addr).post("/api/v1/auth/login", login)
            assert pending.result(timeout=300).status == 201
            if r.status == 503:
                assert r.header("Retry-After"), r
                refusals += 1
            else:
                assert r.status == 200, r
                authkit.remember_secret(r.json.get("access_token"))
                authkit.remember_secret(r.json.get("refresh_token"))
            if refusals >= 1:
                break
    finally:
        pool.shutdown(wait=True)
    assert refusals >= 1, "no login met a busy slot"
    # Five wrong passwords are the budget: were the refusal counted, the
    # fifth would already be refused as too many attempts (429).
    wait_for(lambda: gauge(auth, "dojo_auth_password_hashes_running") == 0, "the slot free")
    for i in range(4):
        r = gwkit.Client(g.addr).post("/api/v1/auth/login",
                                      dict(login, password=f"wrong-{i}-{secrets.token_hex(4)}"))
        assert r.status == 401, r
    r = gwkit.Client(g.addr).post("/api/v1/auth/login", login)
    assert r.status == 200, r
    authkit.remember_secret(r.json.get("access_token"))
    authkit.remember_secret(r.json.get("refresh_token"))
