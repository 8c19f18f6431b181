"""Access-token verification: forged and tampered tokens, key rotation across
replicas, and real expiry."""
import json
import time

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from authkit import b64url_decode, b64url_encode, expect_status, jwt_parts, jwt_sign, pb

UNAUTH = grpc.StatusCode.UNAUTHENTICATED


def whoami(client, token):
    return client.call("GetUser", pb.GetUserRequest(), token=token).user


def test_a_token_with_a_tampered_payload_is_refused(client):
    acct, pair = client.new_session()
    assert whoami(client, pair.access_token).id == acct.user.id
    h, p, s = pair.access_token.split(".")
    # Flip one character of the payload.
    i = len(p) // 2
    flipped = p[:i] + ("A" if p[i] != "A" else "B") + p[i + 1:]
    expect_status(UNAUTH, whoami, client, f"{h}.{flipped}.{s}")
    # A payload that claims admin, with the original signature.
    claims = jwt_parts(pair.access_token)[1]
    claims["role"] = "admin"
    forged = b64url_encode(json.dumps(claims).encode())
    expect_status(UNAUTH, whoami, client, f"{h}.{forged}.{s}")
    # Signature flipped, or cut.
    expect_status(UNAUTH, whoami, client, f"{h}.{p}.{s[:-2]}{'AA' if s[-2:] != 'AA' else 'BB'}")
    expect_status(UNAUTH, whoami, client, f"{h}.{p}.")


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(client):
    acct, pair = client.new_session()
    header, claims, _ = jwt_parts(pair.access_token)
    forged = jwt_sign(header, claims, Ed25519PrivateKey.generate())
    expect_status(UNAUTH, whoami, client, forged)


def test_tokens_with_alg_none_or_an_unknown_kid_are_refused(client):
    acct, pair = client.new_session()
    header, claims, _ = jwt_parts(pair.access_token)
    none_header = dict(header, alg="none")
    h = b64url_encode(json.dumps(none_header).encode())
    p = pair.access_token.split(".")[1]
    expect_status(UNAUTH, whoami, client, f"{h}.{p}.")
    forged = jwt_sign(dict(header, kid="no-such-kid"), claims, Ed25519PrivateKey.generate())
    expect_status(UNAUTH, whoami, client, forged)


def test_key_rotation_keeps_old_tokens_valid_and_new_kids_accepted_at_once(start_auth,
                                                                           fresh_db):
    # A database of its own: rotating the session's keys would change what
    # other tests see.
    db = fresh_db()
    a = start_auth(name="replica-a", DOJO_PG_URL=db)
    acct = a.client.new_account()
    old = a.client.login(acct.username, acct.password)
    old_kid = jwt_parts(old.access_token)[0]["kid"]
    keys = a.client.call("GetPublicKeys", pb.GetPublicKeysRequest()).keys
    assert [k.kid for k in keys] == [old_kid]

    r = a.run_cli("rotate-keys")
    assert r.returncode == 0, r.stderr

    # A replica started after the rotation signs with the new key at once.
    b = start_auth(name="replica-b", DOJO_PG_URL=db)
    keys = b.client.call("GetPublicKeys", pb.GetPublicKeysRequest()).keys
    assert len(keys) == 2
    new_kid = keys[0].kid
    assert new_kid != old_kid and keys[1].kid == old_kid
    assert keys[0].created_at.unix_micros > keys[1].created_at.unix_micros
    new = b.client.login(acct.username, acct.password)
    assert jwt_parts(new.access_token)[0]["kid"] == new_kid
    assert whoami(b.client, old.access_token).id == acct.user.id

    # Replica A has not reloaded yet, but accepts the new kid on first sight.
    assert whoami(a.client, new.access_token).id == acct.user.id
    assert whoami(a.client, old.access_token).id == acct.user.id
    keys = a.client.call("GetPublicKeys", pb.GetPublicKeysRequest()).keys
    assert [k.kid for k in keys] == [new_kid, old_kid]
    after = a.client.login(acct.username, acct.password)
    assert jwt_parts(after.access_token)[0]["kid"] == new_kid

    # Both kinds of token verify with the published keys.
    by_kid = {k.kid: Ed25519PublicKey.from_public_bytes(b64url_decode(k.x)) for k in keys}
    for tok in (old.access_token, new.access_token):
        kid = jwt_parts(tok)[0]["kid"]
        by_kid[kid].verify(jwt_parts(tok)[2], tok.rsplit(".", 1)[0].encode())


@pytest.mark.slow
def test_an_access_token_is_refused_once_past_expiry_and_leeway(start_auth):
    proc = start_auth(name="short-ttl", DOJO_AUTH_ACCESS_TTL="10s")
    c = proc.client
    assert c.call("GetPublicKeys", pb.GetPublicKeysRequest()).access_token_ttl_seconds == 10
    acct, pair = c.new_session()
    claims = jwt_parts(pair.access_token)[1]
    assert claims["exp"] - claims["iat"] == 10
    assert whoami(c, pair.access_token).id == acct.user.id
    # Still inside the 30 s leeway after exp.
    time.sleep(max(0, claims["exp"] + 25 - time.time()))
    assert whoami(c, pair.access_token).id == acct.user.id
    time.sleep(max(0, claims["exp"] + 31.5 - time.time()))
    err = expect_status(UNAUTH, whoami, c, pair.access_token)
    assert "expired" in err.details()
    # The refresh token still gets a fresh access token.
    fresh = c.refresh(pair.refresh_token)
    assert whoami(c, fresh.access_token).id == acct.user.id
