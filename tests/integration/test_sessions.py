"""Login, access-token format, refresh-token rotation and logout."""
import secrets
import time

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from authkit import ROLE, b64url_decode, expect_status, jwt_parts, pb

UNAUTH = grpc.StatusCode.UNAUTHENTICATED


# ---------------------------------------------------------------------------
# Login


def test_login_works_by_username_and_by_email_in_any_case(client):
    acct = client.new_account()
    for login in (acct.username, acct.username.upper(), acct.email, acct.email.upper()):
        pair = client.login(login, acct.password)
        assert pair.user.id == acct.user.id
        assert pair.user.email == acct.email
        assert pair.access_token and pair.refresh_token


def test_login_with_a_wrong_password_or_an_unknown_user_gives_the_same_answer(client):
    acct = client.new_account()
    wrong = expect_status(UNAUTH, client.login, acct.username, "not-the-password-1")
    unknown = expect_status(UNAUTH, client.login, "nobody_" + secrets.token_hex(5),
                            "not-the-password-1")
    assert wrong.details() == unknown.details()
    assert acct.username not in wrong.details()


def test_login_without_login_or_password_is_invalid_argument(client):
    err = expect_status(grpc.StatusCode.INVALID_ARGUMENT, client.login, "", "whatever-123")
    assert err.details().startswith("login: ")
    err = expect_status(grpc.StatusCode.INVALID_ARGUMENT, client.login, "someone", "")
    assert err.details().startswith("password: ")


def test_the_access_token_is_an_ed25519_jwt_verifiable_with_a_published_key(client):
    acct = client.new_account()
    before = int(time.time())
    pair = client.login(acct.email, acct.password)
    header, claims, sig = jwt_parts(pair.access_token)
    assert header["alg"] == "EdDSA"
    assert header.get("typ", "JWT") == "JWT"

    jwks = client.call("GetPublicKeys", pb.GetPublicKeysRequest())
    by_kid = {k.kid: k for k in jwks.keys}
    assert header["kid"] in by_kid, (header["kid"], list(by_kid))
    jwk = by_kid[header["kid"]]
    assert (jwk.kty, jwk.crv, jwk.alg, jwk.use) == ("OKP", "Ed25519", "EdDSA", "sig")
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk.x))
    signing_input = pair.access_token.rsplit(".", 1)[0].encode()
    public.verify(sig, signing_input)  # raises InvalidSignature when wrong
    try:
        public.verify(sig, signing_input + b"x")
        raise AssertionError("a changed signing input still verified")
    except InvalidSignature:
        pass

    assert claims["sub"] == acct.user.id
    assert claims["role"] == "learner"
    assert claims["name"] == acct.username
    assert claims["iss"] == jwks.issuer == "dojo-auth"
    assert claims["exp"] - claims["iat"] == 900 == jwks.access_token_ttl_seconds
    assert before - 2 <= claims["iat"] <= time.time() + 2
    assert pair.access_expires_at.unix_micros == claims["exp"] * 1_000_000
    assert pair.refresh_expires_at.unix_micros > (time.time() + 29 * 86400) * 1e6


def test_public_keys_need_no_caller_and_are_jwks_shaped(client):
    jwks = client.call("GetPublicKeys", pb.GetPublicKeysRequest())
    assert len(jwks.keys) >= 1
    for k in jwks.keys:
        assert len(b64url_decode(k.x)) == 32
        assert "=" not in k.x
        assert k.kid and k.created_at.unix_micros > 0


# ---------------------------------------------------------------------------
# Refresh


def test_refresh_returns_a_new_pair_with_a_different_refresh_token(client):
    acct, pair = client.new_session()
    fresh = client.refresh(pair.refresh_token)
    assert fresh.refresh_token != pair.refresh_token
    assert fresh.user.id == acct.user.id
    assert jwt_parts(fresh.access_token)[1]["sub"] == acct.user.id
    # The new one works in turn.
    assert client.refresh(fresh.refresh_token).refresh_token != fresh.refresh_token


def test_reusing_a_rotated_refresh_token_revokes_its_whole_family(client):
    acct, first = client.new_session()
    second = client.refresh(first.refresh_token)
    third = client.refresh(second.refresh_token)
    expect_status(UNAUTH, client.refresh, first.refresh_token)
    # Even the newest token of that login is refused now.
    expect_status(UNAUTH, client.refresh, third.refresh_token)
    # Another login of the same account is a separate family and still works.
    other = client.login(acct.username, acct.password)
    assert client.refresh(other.refresh_token).user.id == acct.user.id


def test_refresh_with_an_unknown_token_is_unauthenticated(client):
    expect_status(UNAUTH, client.refresh, secrets.token_urlsafe(32))
    expect_status(UNAUTH, client.refresh, "x" * 500)


def test_refresh_with_an_empty_token_is_invalid_argument(client):
    err = expect_status(grpc.StatusCode.INVALID_ARGUMENT, client.refresh, "")
    assert err.details().startswith("refresh_token: ")


# ---------------------------------------------------------------------------
# Logout


def test_logout_revokes_the_sessions_token_family(client):
    acct, pair = client.new_session()
    rotated = client.refresh(pair.refresh_token)
    client.call("Logout", pb.LogoutRequest(refresh_token=rotated.refresh_token))
    expect_status(UNAUTH, client.refresh, rotated.refresh_token)
    # Logging out with an older token of the family has the same effect.
    other = client.login(acct.username, acct.password)
    newer = client.refresh(other.refresh_token)
    client.call("Logout", pb.LogoutRequest(refresh_token=other.refresh_token))
    expect_status(UNAUTH, client.refresh, newer.refresh_token)


def test_logout_of_all_sessions_also_revokes_other_logins(client):
    acct, first = client.new_session()
    second = client.login(acct.email, acct.password)
    client.call("Logout", pb.LogoutRequest(refresh_token=first.refresh_token, all_sessions=True))
    expect_status(UNAUTH, client.refresh, second.refresh_token)
    expect_status(UNAUTH, client.refresh, first.refresh_token)


def test_logout_of_one_session_leaves_the_others_alone(client):
    acct, first = client.new_session()
    second = client.login(acct.email, acct.password)
    client.call("Logout", pb.LogoutRequest(refresh_token=first.refresh_token))
    assert client.refresh(second.refresh_token).user.id == acct.user.id


def test_logout_with_an_unknown_token_succeeds(client):
    resp = client.call("Logout", pb.LogoutRequest(refresh_token=secrets.token_urlsafe(32)))
    assert resp == pb.LogoutResponse()
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, client.call, "Logout", pb.LogoutRequest())
