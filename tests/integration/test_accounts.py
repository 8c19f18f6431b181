"""GetUser, UpdateProfile, SetRole, ChangePassword, and the operator command
line (create-admin, set-role)."""
import secrets

import grpc
import pytest

from authkit import ROLE, expect_status, jwt_parts, pb, remember_secret

UNAUTH = grpc.StatusCode.UNAUTHENTICATED
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def get_user(client, token=None, metadata=(), **req):
    return client.call("GetUser", pb.GetUserRequest(**req), token=token, metadata=metadata).user


# ---------------------------------------------------------------------------
# GetUser


def test_get_user_without_a_token_is_unauthenticated(client):
    acct = client.new_account()
    expect_status(UNAUTH, get_user, client, username=acct.username)
    expect_status(UNAUTH, get_user, client)


def test_get_user_with_a_garbage_bearer_is_unauthenticated(client):
    acct = client.new_account()
    for bad in ("garbage", "a.b.c", "Bearer", ""):
        expect_status(UNAUTH, get_user, client, token=bad, username=acct.username)
    expect_status(UNAUTH, get_user, client, metadata=[("authorization", "Basic Zm9vOmJhcg==")],
                  username=acct.username)


def test_get_user_shows_the_caller_their_own_email(client):
    acct, pair = client.new_session()
    me = get_user(client, token=pair.access_token)
    assert me.id == acct.user.id
    assert me.email == acct.email
    assert get_user(client, token=pair.access_token, user_id=acct.user.id).email == acct.email


def test_a_learner_sees_another_accounts_public_fields_only(client):
    other = client.new_account(display_name="Public Person")
    _, pair = client.new_session()
    seen = get_user(client, token=pair.access_token, username=other.username.upper())
    assert seen.id == other.user.id
    assert seen.display_name == "Public Person"
    assert seen.email == ""
    seen = get_user(client, token=pair.access_token, user_id=other.user.id)
    assert seen.email == ""


def test_get_user_of_an_unknown_account_is_not_found(client):
    _, pair = client.new_session()
    expect_status(grpc.StatusCode.NOT_FOUND, get_user, client, token=pair.access_token,
                  username="ghost_" + secrets.token_hex(5))
    expect_status(INVALID, get_user, client, token=pair.access_token, user_id="not-a-uuid")


def test_a_service_key_reads_any_account_with_its_email(client, base_env):
    acct = client.new_account()
    svc = [("x-dojo-service-key", base_env["DOJO_SERVICE_KEY"])]
    seen = get_user(client, metadata=svc, user_id=acct.user.id)
    assert seen.email == acct.email
    assert get_user(client, metadata=svc, username=acct.username).email == acct.email
    # A service has no account of its own.
    expect_status(INVALID, get_user, client, metadata=svc)
    expect_status(UNAUTH, get_user, client, metadata=[("x-dojo-service-key", "wrong-key")],
                  user_id=acct.user.id)


# ---------------------------------------------------------------------------
# UpdateProfile


def test_update_profile_changes_the_zone_at_most_once_a_day(client):
    acct, pair = client.new_session()
    tok = pair.access_token
    u = client.call("UpdateProfile", pb.UpdateProfileRequest(
        display_name="New Name", time_zone="Asia/Tokyo"), token=tok).user
    assert (u.display_name, u.time_zone) == ("New Name", "Asia/Tokyo")
    assert u.time_zone_changed_at.unix_micros > 0
    assert u.email == acct.email

    err = expect_status(grpc.StatusCode.FAILED_PRECONDITION, client.call, "UpdateProfile",
                        pb.UpdateProfileRequest(time_zone="Europe/Berlin"), token=tok)
    assert err.details().startswith("time_zone: ")
    # Naming the zone it already has is not a change.
    u = client.call("UpdateProfile", pb.UpdateProfileRequest(
        display_name="Third Name", time_zone="Asia/Tokyo"), token=tok).user
    assert (u.display_name, u.time_zone) == ("Third Name", "Asia/Tokyo")
    u = client.call("UpdateProfile", pb.UpdateProfileRequest(display_name="Only Name"),
                    token=tok).user
    assert (u.display_name, u.time_zone) == ("Only Name", "Asia/Tokyo")
    assert get_user(client, token=tok).display_name == "Only Name"


def test_update_profile_validates_its_fields_and_needs_a_caller(client):
    _, pair = client.new_session()
    err = expect_status(INVALID, client.call, "UpdateProfile",
                        pb.UpdateProfileRequest(display_name="tab\tname"),
                        token=pair.access_token)
    assert err.details().startswith("display_name: ")
    err = expect_status(INVALID, client.call, "UpdateProfile",
                        pb.UpdateProfileRequest(time_zone="Mars/Base"), token=pair.access_token)
    assert err.details().startswith("time_zone: ")
    expect_status(UNAUTH, client.call, "UpdateProfile",
                  pb.UpdateProfileRequest(display_name="Nobody"))


# ---------------------------------------------------------------------------
# Roles and the operator command line


def test_a_learner_cannot_set_roles(client):
    target = client.new_account()
    _, pair = client.new_session()
    expect_status(grpc.StatusCode.PERMISSION_DENIED, client.call, "SetRole",
                  pb.SetRoleRequest(user_id=target.user.id, role=ROLE.ROLE_AUTHOR),
                  token=pair.access_token)
    expect_status(UNAUTH, client.call, "SetRole",
                  pb.SetRoleRequest(user_id=target.user.id, role=ROLE.ROLE_AUTHOR))


def test_set_role_cli_makes_an_admin_who_can_promote_an_author(client, auth):
    admin = client.new_account()
    r = auth.run_cli("set-role", admin.username.upper(), "admin")
    assert r.returncode == 0, r.stderr
    pair = client.login(admin.username, admin.password)
    assert pair.user.role == ROLE.ROLE_ADMIN
    assert jwt_parts(pair.access_token)[1]["role"] == "admin"
    tok = pair.access_token

    learner, learner_pair = client.new_session()
    # An admin sees other accounts' emails.
    assert get_user(client, token=tok, user_id=learner.user.id).email == learner.email
    u = client.call("SetRole", pb.SetRoleRequest(user_id=learner.user.id,
                                                 role=ROLE.ROLE_AUTHOR), token=tok).user
    assert u.role == ROLE.ROLE_AUTHOR
    again = client.login(learner.username, learner.password)
    assert again.user.role == ROLE.ROLE_AUTHOR
    assert jwt_parts(again.access_token)[1]["role"] == "author"
    # A refresh also picks the new role up.
    refreshed = client.refresh(learner_pair.refresh_token)
    assert jwt_parts(refreshed.access_token)[1]["role"] == "author"

    expect_status(INVALID, client.call, "SetRole",
                  pb.SetRoleRequest(user_id=learner.user.id, role=ROLE.ROLE_UNSPECIFIED),
                  token=tok)
    expect_status(grpc.StatusCode.NOT_FOUND, client.call, "SetRole",
                  pb.SetRoleRequest(user_id="00000000-0000-4000-8000-000000000000",
                                    role=ROLE.ROLE_AUTHOR), token=tok)
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, client.call, "SetRole",
                  pb.SetRoleRequest(user_id=admin.user.id, role=ROLE.ROLE_LEARNER), token=tok)


def test_set_role_cli_refuses_an_unknown_account_or_role(auth):
    r = auth.run_cli("set-role", "ghost_" + secrets.token_hex(5), "admin")
    assert r.returncode != 0
    assert "no account" in r.stderr
    r = auth.run_cli("set-role", "whoever", "emperor")
    assert r.returncode == 2


def test_create_admin_cli_reads_the_password_from_stdin(client, auth):
    tag = secrets.token_hex(5)
    email, username = f"Admin-{tag}@Example.org", f"admin_{tag}"
    password = remember_secret("admin password " + secrets.token_hex(6))
    r = auth.run_cli("create-admin", email, username, input=password + "\n")
    assert r.returncode == 0, r.stderr
    assert f"username={username}" in r.stdout
    assert password not in r.stdout + r.stderr
    pair = client.login(email.lower(), password)
    assert pair.user.role == ROLE.ROLE_ADMIN
    assert pair.user.email == email.lower()
    assert jwt_parts(pair.access_token)[1]["role"] == "admin"
    # The same rules as SignUp apply.
    r = auth.run_cli("create-admin", f"x-{tag}@example.org", f"adm2_{tag}", input="short\n")
    assert r.returncode != 0
    assert "password" in r.stderr


# ---------------------------------------------------------------------------
# ChangePassword


def change_password(client, token, current, new):
    remember_secret(current)
    remember_secret(new)
    return client.call("ChangePassword", pb.ChangePasswordRequest(
        current_password=current, new_password=new), token=token)


def test_change_password_needs_the_current_one_and_signs_out_other_sessions(client):
    acct, pair = client.new_session()
    other = client.login(acct.email, acct.password)
    err = expect_status(INVALID, change_password, client, pair.access_token,
                        "not my password", "a new password 99")
    assert err.details().startswith("current_password: ")
    err = expect_status(INVALID, change_password, client, pair.access_token,
                        acct.password, "weak")
    assert err.details().startswith("new_password: ")

    new = "a new password " + secrets.token_hex(4)
    assert change_password(client, pair.access_token, acct.password, new) == \
        pb.ChangePasswordResponse()
    # Other sessions are signed out. (Whether the caller's own refresh token
    # survives is not asserted: the proto says "every other session", the
    # service revokes all, and an access token names no session.)
    expect_status(UNAUTH, client.refresh, other.refresh_token)
    expect_status(UNAUTH, client.login, acct.username, acct.password)
    assert client.login(acct.username, new).user.id == acct.user.id


def test_change_password_needs_a_signed_in_caller(client):
    expect_status(UNAUTH, change_password, client, None, "whatever pw 1", "whatever pw 2")


@pytest.mark.parametrize("role", ["learner", "author"])
def test_non_admins_never_see_other_emails(client, auth, role):
    other = client.new_account()
    viewer = client.new_account()
    assert auth.run_cli("set-role", viewer.username, role).returncode == 0
    tok = client.login(viewer.username, viewer.password).access_token
    assert get_user(client, token=tok, user_id=other.user.id).email == ""


def test_an_admin_makes_a_teacher_whose_token_says_so(client, auth):
    admin = client.new_account()
    assert auth.run_cli("set-role", admin.username, "admin").returncode == 0
    tok = client.login(admin.username, admin.password).access_token
    target = client.new_account()
    u = client.call("SetRole", pb.SetRoleRequest(user_id=target.user.id,
                                                 role=ROLE.ROLE_TEACHER), token=tok).user
    assert u.role == ROLE.ROLE_TEACHER
    pair = client.login(target.username, target.password)
    assert pair.user.role == ROLE.ROLE_TEACHER
    assert jwt_parts(pair.access_token)[1]["role"] == "teacher"
    # The operator command line knows the role too, and a teacher grants nothing.
    other = client.new_account()
    r = auth.run_cli("set-role", other.username, "teacher")
    assert r.returncode == 0, r.stderr
    assert client.login(other.username, other.password).user.role == ROLE.ROLE_TEACHER
    expect_status(grpc.StatusCode.PERMISSION_DENIED, client.call, "SetRole",
                  pb.SetRoleRequest(user_id=target.user.id, role=ROLE.ROLE_TEACHER),
                  token=pair.access_token)
