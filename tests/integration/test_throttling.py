"""Login throttling in Redis: per account and per client IP, with retry-after."""
import secrets
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from authkit import expect_status, throttle_key

EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
UNAUTH = grpc.StatusCode.UNAUTHENTICATED
THROTTLED_IP = "203.0.113.9"


@pytest.fixture
def throttled(start_auth, infra):
    # The per-IP counter for the fixed address may survive from an earlier
    # run within the window; this test owns that key.
    infra.redis("DEL", throttle_key("login-ip", THROTTLED_IP))
    proc = start_auth(name="throttled", DOJO_AUTH_LOGIN_MAX_FAILS_ACCOUNT="3",
                      DOJO_AUTH_LOGIN_MAX_FAILS_IP="5", DOJO_AUTH_LOGIN_WINDOW="60s")
    yield proc
    infra.redis("DEL", throttle_key("login-ip", THROTTLED_IP))


def retry_after(err):
    values = [v for k, v in (err.trailing_metadata() or ()) if k == "retry-after"]
    assert len(values) == 1, f"no retry-after trailer in {err.trailing_metadata()}"
    return values[0]


def test_three_wrong_passwords_lock_the_account_even_for_the_right_one(throttled, infra):
    c = throttled.client
    acct = c.new_account()
    ip = f"198.51.100.{secrets.randbelow(200) + 1}"
    for _ in range(3):
        expect_status(UNAUTH, c.login, acct.username, "wrong password 123", client_ip=ip)
    err = expect_status(EXHAUSTED, c.login, acct.username, acct.password, client_ip=ip)
    wait = retry_after(err)
    assert wait.isdigit() and 1 <= int(wait) <= 60, wait
    assert wait in err.details()
    # Redis holds the counter under a hash, never the login in clear.
    # Counted per account (its id), whichever name was typed; the refused
    # fourth attempt counts too.
    key = throttle_key("login-account", acct.user.id)
    assert infra.redis("GET", key) == "4"
    assert 1 <= int(infra.redis("TTL", key)) <= 60
    assert acct.username not in infra.redis("--scan", "--pattern", "dojo:auth:throttle:*")


def test_the_account_lock_holds_whichever_login_names_the_account(throttled):
    # Failures counted against the username must also lock logins by email,
    # or an attacker gets one budget per spelling of the account.
    c = throttled.client
    acct = c.new_account()
    for _ in range(3):
        expect_status(UNAUTH, c.login, acct.username, "wrong password 123")
    expect_status(EXHAUSTED, c.login, acct.email, acct.password)


def test_a_successful_login_resets_the_accounts_failure_count(throttled):
    c = throttled.client
    acct = c.new_account()
    for _ in range(2):
        expect_status(UNAUTH, c.login, acct.username, "wrong password 123")
    c.login(acct.username, acct.password)
    for _ in range(2):
        expect_status(UNAUTH, c.login, acct.username, "wrong password 123")
    assert c.login(acct.username, acct.password).user.id == acct.user.id


def test_five_failures_from_one_ip_block_that_ip_but_not_another(throttled):
    c = throttled.client
    acct = c.new_account()
    for _ in range(5):
        expect_status(UNAUTH, c.login, "ghost_" + secrets.token_hex(5), "wrong password 123",
                      client_ip=THROTTLED_IP)
    err = expect_status(EXHAUSTED, c.login, acct.username, acct.password,
                        client_ip=THROTTLED_IP)
    assert 1 <= int(retry_after(err)) <= 60
    assert c.login(acct.username, acct.password, client_ip="203.0.113.10").user.id == \
        acct.user.id


def test_parallel_wrong_passwords_get_no_more_guesses_than_the_limit(throttled):
    # The limit bounds password guesses per window. Checking the counter and
    # counting the failure are separate steps; a burst of parallel attempts
    # must not all slip between them.
    c = throttled.client
    acct = c.new_account()

    def attempt(i):
        try:
            c.login(acct.username, f"parallel guess {i:03d}")
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(attempt, range(16)))
    assert grpc.StatusCode.OK not in codes
    guessed = codes.count(UNAUTH)
    assert codes.count(EXHAUSTED) == 16 - guessed
    assert guessed <= 3, f"{guessed} of 16 parallel guesses were checked (limit 3)"
