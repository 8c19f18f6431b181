"""SignUp: the new account, every validation rule, and duplicates."""
import secrets

import grpc
import pytest

from authkit import ROLE, expect_status, pb, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def fresh(**over):
    tag = secrets.token_hex(5)
    req = dict(email=f"su-{tag}@example.org", username=f"su_{tag}",
               password="correct horse battery", time_zone="", display_name="")
    req.update(over)
    return req


def test_sign_up_returns_the_new_learner_with_folded_names_and_defaults(client):
    tag = secrets.token_hex(5)
    resp = client.sign_up(f"Mixed.Case-{tag}@Example.ORG", f"New_User-{tag}".upper(),
                          "correct horse battery", time_zone="Europe/Berlin")
    u = resp.user
    assert len(u.id) == 36 and u.id.count("-") == 4
    assert u.username == f"new_user-{tag}"
    assert u.email == f"mixed.case-{tag}@example.org"
    assert u.display_name == u.username
    assert u.time_zone == "Europe/Berlin"
    assert u.role == ROLE.ROLE_LEARNER
    assert u.created_at.unix_micros > 0
    assert not u.HasField("time_zone_changed_at")


def test_sign_up_defaults_the_time_zone_to_utc_and_keeps_a_given_display_name(client):
    req = fresh(display_name="Ada Lovelace ✨")
    u = client.sign_up(**req).user
    assert u.time_zone == "UTC"
    assert u.display_name == "Ada Lovelace ✨"


@pytest.mark.parametrize("zone", ["Etc/UTC", "US/Pacific", "America/Argentina/Buenos_Aires",
                                  "Etc/GMT+5"])
def test_sign_up_accepts_iana_zones_including_links(client, zone):
    assert client.sign_up(**fresh(time_zone=zone)).user.time_zone == zone


def test_sign_up_accepts_a_display_name_of_64_multibyte_characters(client):
    name = "ü" * 64
    assert client.sign_up(**fresh(display_name=name)).user.display_name == name


@pytest.mark.parametrize("field,value", [
    ("email", ""),
    ("email", "not-an-address"),
    ("email", "two@@example.org"),
    ("email", "nodot@localhost"),
    ("email", "sp ace@example.org"),
    ("email", "x" * 250 + "@example.org"),
    ("username", ""),
    ("username", "ab"),
    ("username", "a" * 33),
    ("username", "bad name"),
    ("username", "bad.name"),
    ("username", "emoji😀x"),
    ("password", ""),
    ("password", "short-pw1"),
    ("password", "x" * 120 + "-too-long"),
    ("password", "aaaaaaaaaaaaaa"),
    ("time_zone", "Mars/Base"),
    ("time_zone", "../etc/passwd"),
    ("time_zone", "Europe"),
    ("display_name", "bell\x07name"),
    ("display_name", "d" * 65),
    ("display_name", " leading space"),
])
def test_sign_up_rejects_an_invalid_field_naming_it(client, field, value):
    req = fresh(**{field: value})
    err = expect_status(INVALID, client.sign_up, **req)
    assert err.details().startswith(f"{field}: "), err.details()


def test_sign_up_rejects_a_password_of_one_repeated_multibyte_character(client):
    # "10-128 characters (UTF-8), not all the same character": ten "é" are
    # ten characters, all the same.
    err = expect_status(INVALID, client.sign_up, **fresh(password="é" * 10))
    assert err.details().startswith("password: ")


def test_sign_up_rejects_a_display_name_with_a_c1_control_character(client):
    # U+0085 (NEXT LINE) is a control character (Unicode category Cc).
    err = expect_status(INVALID, client.sign_up, **fresh(display_name="line\u0085break"))
    assert err.details().startswith("display_name: ")


def test_sign_up_counts_password_length_in_characters_not_bytes(client):
    # 128 four-byte characters: 512 bytes, exactly at both limits.
    u = client.sign_up(**fresh(password="😀🎉" * 64)).user
    assert u.role == ROLE.ROLE_LEARNER
    err = expect_status(INVALID, client.sign_up, **fresh(password="😀🎉" * 64 + "x"))
    assert err.details().startswith("password: ")


def test_sign_up_with_a_taken_email_is_already_exists_naming_the_email(client):
    first = client.new_account()
    err = expect_status(grpc.StatusCode.ALREADY_EXISTS, client.sign_up,
                        **fresh(email=first.email.upper()))
    assert err.details().startswith("email: "), err.details()


def test_sign_up_with_a_taken_username_in_other_case_is_already_exists_naming_it(client):
    first = client.new_account()
    err = expect_status(grpc.StatusCode.ALREADY_EXISTS, client.sign_up,
                        **fresh(username=first.username.upper()))
    assert err.details().startswith("username: "), err.details()
    assert "email" not in err.details()


def test_a_refused_sign_up_creates_no_account(client):
    name = unique("ghost_")
    expect_status(INVALID, client.sign_up, **fresh(username=name, time_zone="Mars/Base"))
    # The same username is still free.
    assert client.sign_up(**fresh(username=name)).user.username == name
