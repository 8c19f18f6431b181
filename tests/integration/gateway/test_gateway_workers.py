"""The handlers' workers (issue 12): a request that waits on a slow upstream
holds a worker, not one of libmicrohttpd's threads, so while auth does not
answer at all, learners already signed in still view tasks, open their
WebSocket and reach /health; sign-ins take only their own workers; and what
cannot be served in time is answered 503 with Retry-After instead of waiting
without end — the queue full at once, a request that waited past
DOJO_GATEWAY_QUEUE_WAIT without running.

auth sits behind a gwkit.Link held on one registration's bytes: every call
to auth on that connection waits until the test releases it."""
import concurrent.futures
import secrets
import time
import urllib.request

import pytest

import gwkit


def metric(g, name, labels=""):
    url = f"http://{g.env['DOJO_GATEWAY_METRICS_ADDR']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(f"{name}{labels} "):
                return float(line.split()[1])
    return 0.0


def wait_for(pred, what, tries=200):
    for _ in range(tries):  # bounded: 200 × 50 ms
        if pred():
            return
        time.sleep(0.05)
    pytest.fail(f"never: {what}")


def account(tag):
    return {"email": f"{tag}@example.org", "username": tag,
            "password": f"pw-{secrets.token_hex(8)}", "session": "token"}


@pytest.fixture
def auth_link(auth):
    host, port = auth.addr.rsplit(":", 1)
    link = gwkit.Link((host, int(port)))
    yield link
    link.release()
    link.close()


def test_a_stalled_auth_holds_sign_ins_only_and_what_cannot_wait_gets_503(
        start_gateway, auth_link):
    g = start_gateway(DOJO_AUTH_ADDR=auth_link.addr, DOJO_GATEWAY_WORKERS="4",
                      DOJO_GATEWAY_SIGNIN_WORKERS="1", DOJO_GATEWAY_QUEUE_MAX="2",
                      DOJO_GATEWAY_QUEUE_WAIT="1s", DOJO_GATEWAY_RPC_TIMEOUT="30s")
    learner, _, _ = gwkit.register(g.addr)
    slug = learner.get("/api/v1/tasks").json["tasks"][0]["slug"]
    assert learner.get("/api/v1/me/progress").status == 200
    queued = lambda n: metric(g, "dojo_gateway_queued_requests", '{lane="signin"}') == n

    held = f"held_{secrets.token_hex(4)}"
    auth_link.trip(held.encode(), "hold")
    pool = concurrent.futures.ThreadPoolExecutor(4)
    try:
        first = pool.submit(gwkit.Client(g.addr).post, "/api/v1/auth/register", account(held))
        assert auth_link.tripped.wait(20), "the registration never reached auth"
        second = pool.submit(gwkit.Client(g.addr).post, "/api/v1/auth/register",
                             account(f"second_{secrets.token_hex(4)}"))
        wait_for(lambda: queued(1), "the second registration queued behind the first")

        # Nothing of this needs auth: answered while both registrations wait.
        r = learner.get(f"/api/v1/tasks/{slug}")
        assert r.status == 200 and r.json["slug"] == slug, r
        r = learner.get("/api/v1/me/progress")
        assert r.status == 200, (r, g.log_tail())
        assert gwkit.Client(g.addr).get("/api/v1/health").status == 200
        ws = gwkit.WebSocket(g.addr, cookies=learner.cookies)
        assert ws.status == 101, ws.head
        ws.close()
        assert not first.done() and not second.done()

        third = pool.submit(gwkit.Client(g.addr).post, "/api/v1/auth/register",
                            account(f"third_{secrets.token_hex(4)}"))
        wait_for(lambda: queued(2), "the third registration queued")
        # The queue is full: refused at once, with when to come back.
        r = gwkit.Client(g.addr).post("/api/v1/auth/register",
                                      account(f"fourth_{secrets.token_hex(4)}"))
        assert r.status == 503 and r.json["error"]["code"] == "unavailable", r
        assert 1 <= int(r.header("Retry-After")) <= 5, r
        assert metric(g, "dojo_gateway_shed_total", '{reason="queue_full"}') >= 1

        time.sleep(1.2)  # past DOJO_GATEWAY_QUEUE_WAIT for the two queued
        auth_link.release()
        r = first.result(timeout=60)
        assert r.status == 201 and r.json["user"]["username"] == held, r
        assert r.json["access_token"], r
        for late in (second, third):
            r = late.result(timeout=60)
            assert r.status == 503 and r.header("Retry-After"), r
        assert metric(g, "dojo_gateway_shed_total", '{reason="queue_wait"}') >= 2
    finally:
        auth_link.release()
        pool.shutdown(wait=True)

    # Served again once auth answers; the shed registrations made no account.
    again = account(f"again_{secrets.token_hex(4)}")
    r = gwkit.Client(g.addr).post("/api/v1/auth/register", again)
    assert r.status == 201, r
    c = gwkit.Client(g.addr, bearer=r.json["access_token"])
    assert c.get("/api/v1/me").json["user"]["username"] == again["username"]


def test_a_sign_in_outlasting_the_usual_deadline_still_signs_in(start_gateway, auth_link):
    """Calls that hash a password get three times DOJO_GATEWAY_RPC_TIMEOUT: a
    starved auth finished such logins after the gateway had answered 504, and
    the learner was not signed in although the work was done."""
    g = start_gateway(DOJO_AUTH_ADDR=auth_link.addr, DOJO_GATEWAY_RPC_TIMEOUT="2s")
    _, _, acct = gwkit.register(g.addr)
    auth_link.trip(acct["username"].encode(), "hold")
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        login = pool.submit(gwkit.Client(g.addr).post, "/api/v1/auth/login",
                            {"login": acct["username"], "password": acct["password"],
                             "session": "token"})
        assert auth_link.tripped.wait(20), "the login never reached auth"
        time.sleep(3)  # past the usual 2 s, within the 6 s of a hashing call
        auth_link.release()
        r = login.result(timeout=60)
        assert r.status == 200 and r.json["access_token"], r
    finally:
        auth_link.release()
        pool.shutdown(wait=True)
