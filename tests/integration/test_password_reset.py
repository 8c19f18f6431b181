"""Password reset by mail: same answer for known and unknown addresses, one
single-use token per mail, sessions revoked."""
import secrets
import time

import grpc

from authkit import expect_status, pb, remember_secret, reset_token_from_mail

UNAUTH = grpc.StatusCode.UNAUTHENTICATED
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def request_reset(client, email):
    return client.call_with("RequestPasswordReset",
                            pb.RequestPasswordResetRequest(email=email, client_ip="192.0.2.44"))


def reset(client, token, new_password):
    remember_secret(token)
    remember_secret(new_password)
    return client.call("ResetPassword", pb.ResetPasswordRequest(token=token,
                                                                new_password=new_password))


def test_password_reset_mails_a_single_use_link_and_signs_out_every_session(client, auth):
    acct, pair = client.new_session()
    unknown = f"nobody-{secrets.token_hex(5)}@example.org"

    resp_unknown, call_unknown = request_reset(client, unknown)
    resp_known, call_known = request_reset(client, acct.email.upper())
    assert call_unknown.code() == call_known.code() == grpc.StatusCode.OK
    assert resp_unknown.SerializeToString() == resp_known.SerializeToString() == b""

    mails = auth.wait_mail_to(acct.email, timeout=5)
    assert len(mails) == 1, f"expected one mail to {acct.email}, got {len(mails)}"
    mail = mails[0]
    assert "Subject: Reset your Dojo password" in mail
    # The mailer delivers in order: the unknown address was asked first.
    assert auth.mails_to(unknown) == []
    assert not list(auth.outbox.glob("*.tmp"))
    token = reset_token_from_mail(mail)

    new_password = "brand new secret " + secrets.token_hex(4)
    assert reset(client, token, new_password) == pb.ResetPasswordResponse()

    expect_status(UNAUTH, client.login, acct.username, acct.password)
    assert client.login(acct.username, new_password).user.id == acct.user.id
    # Refresh tokens from before the reset are revoked.
    expect_status(UNAUTH, client.refresh, pair.refresh_token)
    # The link works once.
    err = expect_status(INVALID, reset, client, token, "yet another secret 42")
    assert err.details().startswith("token: ")
    assert client.login(acct.username, new_password)


def test_reset_password_with_a_bogus_token_is_invalid_argument(client):
    err = expect_status(INVALID, reset, client, secrets.token_urlsafe(32), "a fine new password")
    assert err.details().startswith("token: ")
    err = expect_status(INVALID, reset, client, "", "a fine new password")
    assert err.details().startswith("token: ")


def test_reset_password_with_a_weak_new_password_names_new_password_and_keeps_the_token(
        client, auth):
    acct = client.new_account()
    request_reset(client, acct.email)
    mails = auth.wait_mail_to(acct.email)
    assert len(mails) == 1
    token = reset_token_from_mail(mails[0])
    err = expect_status(INVALID, reset, client, token, "short")
    assert err.details().startswith("new_password: "), err.details()
    err = expect_status(INVALID, reset, client, token, "zzzzzzzzzzzz")
    assert err.details().startswith("new_password: "), err.details()
    # A refused attempt does not use the token up.
    reset(client, token, "a better password 7")
    assert client.login(acct.email, "a better password 7").user.id == acct.user.id


def test_a_newer_reset_voids_older_links_once_one_is_used(client, auth):
    acct = client.new_account()
    request_reset(client, acct.email)
    deadline = time.monotonic() + 5
    request_reset(client, acct.email)
    mails = []
    while len(mails) < 2 and time.monotonic() < deadline:
        mails = auth.mails_to(acct.email)
        time.sleep(0.05)
    assert len(mails) == 2
    first, second = (reset_token_from_mail(m) for m in mails)
    assert first != second
    reset(client, second, "the newest password 1")
    expect_status(INVALID, reset, client, first, "an older link password")


def test_request_password_reset_rejects_a_malformed_address(client):
    err = expect_status(INVALID, client.call, "RequestPasswordReset",
                        pb.RequestPasswordResetRequest(email="not an address"))
    assert err.details().startswith("email: ")
