"""A registration while Redis goes away (issue 12): the account is never lost
nor made twice, and the client is told precisely what happened.

What a registration touches: the gateway takes the address's budget in Redis
(rate limits) before anything else; auth writes the account and the first
session (the refresh token) in PostgreSQL — a session is a signed access
token plus that row, nothing in Redis; gamification gets the learner's
profile (PostgreSQL). So once the budget is taken, Redis can go without the
registration noticing, and before that, the registration is refused with a
503 that makes no account. Redis holds auth's login throttles too, and a
throttle that cannot be counted refuses (limits hold rather than open).

A gateway, auth and gamification of the test's own use a Redis of the
test's own (serverkit.RedisServer) that the test stops and starts; the
gateway reaches auth through a gwkit.Link held on the registration's bytes,
so Redis stops exactly between the gateway's budget and auth's INSERT."""
import concurrent.futures
import secrets
import time

import pytest

import authkit
import gamekit
import gwkit
import serverkit


@pytest.fixture
def own_redis(workdir):
    server = serverkit.RedisServer(workdir / f"redis-signup-{secrets.token_hex(3)}",
                                   persist=True).start()
    yield server
    server.stop()


@pytest.fixture
def redis_stack(stack, infra, own_redis, start_auth, start_gateway, workdir):
    auth = start_auth("signup-redis", DOJO_REDIS_ADDR=own_redis.addr)
    host, port = auth.addr.rsplit(":", 1)
    link = gwkit.Link((host, int(port)))
    db = infra.create_db()
    env = dict(stack["env"])
    env.update({
        "DOJO_PG_URL": infra.db_url(db),
        "DOJO_REDIS_ADDR": own_redis.addr,
        "DOJO_CONTENT_ADDR": stack["content"].addr,
        "DOJO_GAMIFICATION_REDIS_PREFIX": gamekit.unique_prefix(),
    })
    game = gamekit.ServiceProcess(
        "gamification", gwkit.binary("gamification"), env,
        workdir / f"game-signup-redis-{secrets.token_hex(3)}", "DOJO_GAMIFICATION_ADDR",
        "DOJO_GAMIFICATION_METRICS_ADDR").start()
    g = start_gateway(DOJO_AUTH_ADDR=link.addr, DOJO_GAMIFICATION_ADDR=game.addr,
                      DOJO_REDIS_ADDR=own_redis.addr)
    try:
        yield {"auth": auth, "link": link, "game": game, "gateway": g, "db": db}
    finally:
        link.release()
        link.close()
        game.stop()
        infra.drop_db(db)


def account(tag):
    acct = {"email": f"{tag}@example.org", "username": tag,
            "password": f"pw-{secrets.token_hex(8)}", "session": "token"}
    authkit.remember_secret(acct["password"])
    return acct


def accounts_named(infra, auth, username):
    db = auth.env["DOJO_PG_URL"].rsplit("/", 1)[1]
    return int(infra.psql(f"SELECT count(*) FROM auth.users WHERE username = '{username}'",
                          dbname=db).strip())


def remember_session(r):
    if r.json:
        authkit.remember_secret(r.json.get("access_token"))
        authkit.remember_secret(r.json.get("refresh_token"))


def until_served(fn, what, tries=150):
    """fn() until it answers something other than 503 (bounded: 150 × 0.2 s),
    for the pools to reconnect to a Redis that is back."""
    for _ in range(tries):
        r = fn()
        if r.status != 503:
            return r
        time.sleep(0.2)
    pytest.fail(f"still 503: {what}: {r}")


def test_a_registration_whose_redis_stops_before_the_account_is_written_keeps_one_account(
        redis_stack, own_redis, infra):
    s = redis_stack
    auth, g, link = s["auth"], s["gateway"], s["link"]
    acct = account(f"redis_{secrets.token_hex(4)}")
    link.trip(acct["username"].encode(), "hold")
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        pending = pool.submit(gwkit.Client(g.addr).post, "/api/v1/auth/register", acct)
        assert link.tripped.wait(30), "the registration never reached auth"
        # The gateway took the address's budget; the account is not written yet.
        assert accounts_named(infra, auth, acct["username"]) == 0
        own_redis.stop()
        link.release()
        r = pending.result(timeout=60)
    finally:
        link.release()
        pool.shutdown(wait=True)
    remember_session(r)
    # Signed up and signed in: the session is PostgreSQL's and a signed token.
    assert r.status == 201, (r, g.log_tail(), auth.log_tail())
    assert r.json["user"]["username"] == acct["username"] and r.json["access_token"], r
    assert accounts_named(infra, auth, acct["username"]) == 1
    bearer = r.json["access_token"]
    refresh = r.json["refresh_token"]

    # While Redis is away: what needs its budget answers a retryable 503 and
    # writes nothing — a client sending the registration again makes no
    # second account, a login is not let through unthrottled.
    again = gwkit.Client(g.addr).post("/api/v1/auth/register", acct)
    assert again.status == 503 and again.json["error"]["code"] == "unavailable", again
    assert int(again.header("Retry-After")) > 0, again
    login = gwkit.Client(g.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"], "session": "token"})
    assert login.status == 503 and int(login.header("Retry-After")) > 0, login
    # The session is usable meanwhile: refreshing it is PostgreSQL's alone.
    fresh = gwkit.Client(g.addr).post("/api/v1/auth/refresh", {"refresh_token": refresh})
    remember_session(fresh)
    assert fresh.status == 200 and fresh.json["access_token"], fresh
    assert accounts_named(infra, auth, acct["username"]) == 1

    own_redis.start()
    # Back: the same registration again is the account that exists (409), not
    # a second one; the learner signs in and sees themself.
    again = until_served(lambda: gwkit.Client(g.addr).post("/api/v1/auth/register", acct),
                         "registration with Redis back")
    assert again.status == 409 and again.json["error"]["code"] == "already_exists", again
    login = until_served(lambda: gwkit.Client(g.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"], "session": "token"}),
        "login with Redis back")
    remember_session(login)
    assert login.status == 200, login
    me = gwkit.Client(g.addr, bearer=login.json["access_token"]).get("/api/v1/me")
    assert me.status == 200 and me.json["user"]["username"] == acct["username"], me
    me = gwkit.Client(g.addr, bearer=bearer).get("/api/v1/me")
    assert me.status == 200, me
    assert accounts_named(infra, auth, acct["username"]) == 1


def test_a_registration_while_redis_is_down_is_503_and_makes_no_account(
        redis_stack, own_redis, infra):
    s = redis_stack
    auth, g = s["auth"], s["gateway"]
    acct = account(f"down_{secrets.token_hex(4)}")
    own_redis.stop()
    r = gwkit.Client(g.addr).post("/api/v1/auth/register", acct)
    assert r.status == 503 and r.json["error"]["code"] == "unavailable", r
    assert int(r.header("Retry-After")) > 0, r
    assert accounts_named(infra, auth, acct["username"]) == 0
    own_redis.start()
    r = until_served(lambda: gwkit.Client(g.addr).post("/api/v1/auth/register", acct),
                     "registration with Redis back")
    remember_session(r)
    assert r.status == 201 and r.json["access_token"], r
    assert accounts_named(infra, auth, acct["username"]) == 1
