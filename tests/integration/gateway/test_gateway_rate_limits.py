"""The gateway's rate limits: a budget per account for runs and submissions
(learners behind one address each get their own), a budget per client address
for the anonymous calls (register, login, forgot), the address taken from a
trusted proxy's header only when one is configured, and refused requests spend
nothing. Each test connects from a loopback address of its own, so no other
test's requests share its per-address windows."""
import secrets

import gwkit

TASK_SLUG = gwkit.TASK_SLUG
RUN = {"task_slug": TASK_SLUG, "language": "python3", "code": "print(1)"}


def assert_limited(spec, method, path, r, limit):
    spec.check(method, path, r)
    assert r.status == 429 and r.json["error"]["code"] == "resource_exhausted", r
    assert 0 < int(r.header("Retry-After")) <= 60
    assert r.header("RateLimit-Limit") == str(limit)
    assert r.header("RateLimit-Remaining") == "0"


# ---------------------------------------------------------------------------
# Signed-in calls: per account


def test_two_accounts_on_one_address_each_get_their_own_budget(start_gateway, spec):
    g = start_gateway(DOJO_GATEWAY_RATE_LIMIT="3")
    source = gwkit.loopback_address()
    first, _, _ = gwkit.register(g.addr, source=source)
    second, _, _ = gwkit.register(g.addr, source=source)
    remaining = []
    for path in ("/api/v1/runs", "/api/v1/submissions", "/api/v1/runs"):
        r = first.post(path, RUN)
        assert r.status == 202, r
        assert r.header("RateLimit-Limit") == "3"
        assert r.header("RateLimit-Policy") == "3;w=60"
        assert 0 < int(r.header("RateLimit-Reset")) <= 60
        remaining.append(int(r.header("RateLimit-Remaining")))
    assert remaining == [2, 1, 0]
    assert_limited(spec, "POST", "/api/v1/submissions", first.post("/api/v1/submissions", RUN), 3)
    # The classmate at the next desk (same address) has a whole budget.
    remaining = []
    for path in ("/api/v1/submissions", "/api/v1/runs", "/api/v1/runs"):
        r = second.post(path, RUN)
        assert r.status == 202, r
        remaining.append(int(r.header("RateLimit-Remaining")))
    assert remaining == [2, 1, 0]
    assert_limited(spec, "POST", "/api/v1/runs", second.post("/api/v1/runs", RUN), 3)
    # And the first stays limited.
    assert first.post("/api/v1/runs", RUN).status == 429


def test_refused_runs_and_submissions_spend_nothing(start_gateway, spec):
    g = start_gateway(DOJO_GATEWAY_RATE_LIMIT="2")
    c, _, _ = gwkit.register(g.addr, source=gwkit.loopback_address())
    refused = [
        (dict(RUN, code=None), 400),                 # no code
        (dict(RUN, code=""), 400),                   # empty code
        (dict(RUN, language="cobol"), 400),          # a language the task does not take
        (dict(RUN, task_slug="no-such-task"), 404),  # no such task
        (dict(RUN, task_slug=5), 400),               # not even a string
    ]
    for path in ("/api/v1/runs", "/api/v1/submissions"):
        for body, status in refused:
            body = {k: v for k, v in body.items() if v is not None}
            for _ in range(3):  # more often than the whole budget
                r = c.post(path, body)
                spec.check("POST", path, r)
                assert r.status == status, (body, r)
    # The whole budget is still there.
    assert c.post("/api/v1/runs", RUN).header("RateLimit-Remaining") == "1"
    assert c.post("/api/v1/submissions", RUN).header("RateLimit-Remaining") == "0"
    assert_limited(spec, "POST", "/api/v1/runs", c.post("/api/v1/runs", RUN), 2)


# ---------------------------------------------------------------------------
# Anonymous calls: per address


def test_anonymous_calls_share_a_budget_per_address(start_gateway, spec):
    g = start_gateway(DOJO_GATEWAY_ANON_RATE_LIMIT="3")
    source = gwkit.loopback_address()
    c, r, acct = gwkit.register(g.addr, source=source)
    assert r.header("RateLimit-Limit") == "3" and r.header("RateLimit-Remaining") == "2"
    anon = gwkit.Client(g.addr, source=source)
    r = anon.post("/api/v1/auth/login", {"login": acct["username"], "password": acct["password"]})
    assert r.status == 200 and r.header("RateLimit-Remaining") == "1"
    r = anon.post("/api/v1/auth/forgot", {"email": acct["email"]})
    assert r.status == 202 and r.header("RateLimit-Remaining") == "0"
    for path, body in (("/api/v1/auth/login", {"login": acct["username"],
                                               "password": acct["password"]}),
                       ("/api/v1/auth/forgot", {"email": acct["email"]}),
                       ("/api/v1/auth/register", {"email": "n@example.org", "username": "n_n",
                                                  "password": "long enough password"})):
        assert_limited(spec, "POST", path, anon.post(path, body), 3)
    # Another address has its own budget.
    _, r, _ = gwkit.register(g.addr, source=gwkit.loopback_address())
    assert r.header("RateLimit-Remaining") == "2"
    # Signed-in work from the exhausted address is the account's business.
    assert c.post("/api/v1/runs", RUN).status == 202


def test_refused_anonymous_calls_spend_nothing(start_gateway, spec):
    g = start_gateway(DOJO_GATEWAY_ANON_RATE_LIMIT="2")
    c = gwkit.Client(g.addr, source=gwkit.loopback_address())
    refused = [
        {"email": "x@example.org"},                            # the gateway: no username
        {"email": "not-an-address", "username": "valid_name",  # auth: no address
         "password": "long enough password"},
        {"email": f"ok-{secrets.token_hex(3)}@example.org",    # auth: bad username
         "username": "no spaces allowed", "password": "long enough password"},
    ]
    for body in refused:
        for _ in range(3):
            r = c.post("/api/v1/auth/register", body)
            spec.check("POST", "/api/v1/auth/register", r)
            assert r.status == 400, (body, r)
    for _ in range(3):
        assert c.post("/api/v1/auth/login", {"login": "x"}).status == 400
        assert c.post("/api/v1/auth/forgot", {}).status == 400
    tag = secrets.token_hex(4)
    acct = {"email": f"rl-{tag}@example.org", "username": f"rl_{tag}",
            "password": "long enough password"}
    r = c.post("/api/v1/auth/register", acct)
    assert r.status == 201 and r.header("RateLimit-Remaining") == "1", r
    r = c.post("/api/v1/auth/login", {"login": acct["username"], "password": acct["password"]})
    assert r.status == 200 and r.header("RateLimit-Remaining") == "0", r
    assert_limited(spec, "POST", "/api/v1/auth/forgot",
                   c.post("/api/v1/auth/forgot", {"email": acct["email"]}), 2)


def documentation_address():
    return f"203.0.113.{secrets.randbelow(254) + 1}"


def test_the_address_comes_from_the_trusted_proxy_header_only_when_configured(gw, start_gateway):
    _, _, acct = gwkit.register(gw.addr, source=gwkit.loopback_address())
    login = {"login": acct["username"], "password": acct["password"]}

    g = start_gateway(DOJO_GATEWAY_ANON_RATE_LIMIT="2",
                      DOJO_GATEWAY_TRUSTED_PROXY_HEADER="X-Forwarded-For")
    proxy = gwkit.Client(g.addr, source=gwkit.loopback_address())
    client = documentation_address()
    other = client
    while other == client:
        other = documentation_address()

    def via(entries):
        return proxy.post("/api/v1/auth/login", login, headers={"X-Forwarded-For": entries})

    # The proxy appends the address it saw: that last entry is the client;
    # what the client wrote before it proves nothing.
    assert via(f"198.51.100.1, {client}").status == 200
    assert via(f"198.51.100.2, {client}").status == 200
    assert via(f"198.51.100.3, {client}").status == 429
    assert via(client).status == 429
    assert via(f"{client}, {other}").status == 200
    # A header that holds no address, or none, leaves the socket's peer.
    assert proxy.post("/api/v1/auth/login", login,
                      headers={"X-Forwarded-For": "not-an-address"}).status == 200
    assert proxy.post("/api/v1/auth/login", login).status == 200
    assert proxy.post("/api/v1/auth/login", login).status == 429

    # Unset (the default), the header is nobody's word: the peer it is.
    g = start_gateway(DOJO_GATEWAY_ANON_RATE_LIMIT="2")
    c = gwkit.Client(g.addr, source=gwkit.loopback_address())
    for i, expect in enumerate((200, 200, 429)):
        r = c.post("/api/v1/auth/login", login,
                   headers={"X-Forwarded-For": documentation_address()})
        assert r.status == expect, (i, r)
