"""Institutions and the teacher role: admins create institutions and name
their admins; an institution's admin makes its own members teachers, and
nothing else. Then what other services ask of auth: accounts in bulk,
accounts made for people (a class roster) and mail."""
import secrets

import grpc

from authkit import ROLE, expect_status, pb, remember_secret, reset_token_from_mail

DENIED = grpc.StatusCode.PERMISSION_DENIED
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def admin_token(client, auth):
    admin = client.new_account()
    assert auth.run_cli("set-role", admin.username, "admin").returncode == 0
    return client.login(admin.username, admin.password).access_token


def svc(base_env):
    return [("x-dojo-service-key", base_env["DOJO_SERVICE_KEY"])]


def test_an_institution_admin_makes_only_its_own_members_teachers(client, auth):
    tok = admin_token(client, auth)
    slug = f"school-{secrets.token_hex(4)}"
    inst = client.call("CreateInstitution", pb.CreateInstitutionRequest(
        slug=slug, name="Springfield High"), token=tok).institution
    expect_status(grpc.StatusCode.ALREADY_EXISTS, client.call, "CreateInstitution",
                  pb.CreateInstitutionRequest(slug=slug, name="Again"), token=tok)
    err = expect_status(INVALID, client.call, "CreateInstitution",
                        pb.CreateInstitutionRequest(slug="Bad Slug", name="x"), token=tok)
    assert err.details().startswith("slug: ")

    head, member, outsider = client.new_account(), client.new_account(), client.new_account()
    # The operator command line and the admin's rpc do the same.
    r = auth.run_cli("set-institution", head.username, slug, "--admin")
    assert r.returncode == 0, r.stderr
    u = client.call("SetInstitution", pb.SetInstitutionRequest(
        user_id=member.user.id, institution=inst.id), token=tok).user
    assert u.institution_id == inst.id and not u.institution_admin

    head_tok = client.login(head.username, head.password).access_token
    listed = client.call("ListInstitutions", pb.ListInstitutionsRequest(), token=head_tok)
    assert [i.slug for i in listed.institutions] == [slug]
    assert listed.institutions[0].member_count == 2
    members = client.call("ListInstitutionMembers", pb.ListInstitutionMembersRequest(
        institution_id=inst.id), token=head_tok).users
    assert sorted(m.username for m in members) == sorted([head.username, member.username])
    assert all(m.email for m in members)

    u = client.call("SetRole", pb.SetRoleRequest(user_id=member.user.id, role=ROLE.ROLE_TEACHER),
                    token=head_tok).user
    assert u.role == ROLE.ROLE_TEACHER
    assert client.login(member.username, member.password).user.role == ROLE.ROLE_TEACHER
    # Not an outsider, not another role, and a plain member cannot at all.
    expect_status(DENIED, client.call, "SetRole", pb.SetRoleRequest(
        user_id=outsider.user.id, role=ROLE.ROLE_TEACHER), token=head_tok)
    expect_status(DENIED, client.call, "SetRole", pb.SetRoleRequest(
        user_id=member.user.id, role=ROLE.ROLE_AUTHOR), token=head_tok)
    member_tok = client.login(member.username, member.password).access_token
    expect_status(DENIED, client.call, "SetRole", pb.SetRoleRequest(
        user_id=head.user.id, role=ROLE.ROLE_TEACHER), token=member_tok)
    expect_status(DENIED, client.call, "ListInstitutionMembers",
                  pb.ListInstitutionMembersRequest(institution_id=inst.id), token=member_tok)
    assert not client.call("ListInstitutions", pb.ListInstitutionsRequest(),
                           token=member_tok).institutions
    expect_status(DENIED, client.call, "CreateInstitution",
                  pb.CreateInstitutionRequest(slug="x" + slug, name="x"), token=head_tok)
    # Back to learner; then out of the institution, the head loses its say.
    client.call("SetRole", pb.SetRoleRequest(user_id=member.user.id, role=ROLE.ROLE_LEARNER),
                token=head_tok)
    assert auth.run_cli("set-institution", member.username, "-").returncode == 0
    expect_status(DENIED, client.call, "SetRole", pb.SetRoleRequest(
        user_id=member.user.id, role=ROLE.ROLE_TEACHER), token=head_tok)
    assert auth.run_cli("set-institution", member.username, "no-such-school").returncode != 0


def test_provisioned_accounts_choose_their_password_by_mail(client, auth, base_env):
    teacher = client.new_account()
    tag = secrets.token_hex(4)
    existing = client.new_account()
    seeds = [pb.AccountSeed(email=f"new-{tag}@example.org", username=f"new_{tag}",
                            display_name="New Learner", time_zone="Europe/Paris"),
             pb.AccountSeed(email=existing.email.upper(), username=f"other_{tag}"),
             pb.AccountSeed(email=f"clash-{tag}@example.org", username=existing.username)]
    res = client.call("ProvisionAccounts", pb.ProvisionAccountsRequest(
        accounts=seeds, on_behalf_of=teacher.user.id,
        mail_intro="Ms Krabappel added you to the class Maths 4B."), metadata=svc(base_env))
    outcomes = [r.outcome for r in res.results]
    assert outcomes == [pb.PROVISION_OUTCOME_CREATED, pb.PROVISION_OUTCOME_EXISTS,
                        pb.PROVISION_OUTCOME_REJECTED]
    assert res.results[0].user.time_zone == "Europe/Paris"
    assert res.results[1].user.id == existing.user.id
    assert res.results[2].error.path == "accounts[2].username"

    # No password works until the owner chooses one with the mailed link.
    expect_status(grpc.StatusCode.UNAUTHENTICATED, client.login, f"new_{tag}", "!")
    mail = auth.wait_mail_to(f"new-{tag}@example.org")[0]
    assert "Ms Krabappel added you to the class Maths 4B." in mail
    assert f"your username is new_{tag}" in mail
    token = reset_token_from_mail(mail)
    pw = remember_secret("chosen password " + tag)
    client.call("ResetPassword", pb.ResetPasswordRequest(token=token, new_password=pw))
    assert client.login(f"new_{tag}", pw).user.display_name == "New Learner"
    assert auth.mails_to(existing.email) == []

    # Malformed seeds make nothing; only services may ask.
    err = expect_status(INVALID, client.call, "ProvisionAccounts", pb.ProvisionAccountsRequest(
        accounts=[pb.AccountSeed(email=f"ok-{tag}@example.org", username=f"ok_{tag}"),
                  pb.AccountSeed(email="not-an-address", username=f"bad_{tag}")],
        on_behalf_of=teacher.user.id), metadata=svc(base_env))
    assert err.details().startswith("accounts[1].email: ")
    expect_status(grpc.StatusCode.UNAUTHENTICATED, client.login, f"ok_{tag}", "whatever")
    tok = client.login(teacher.username, teacher.password).access_token
    expect_status(DENIED, client.call, "ProvisionAccounts", pb.ProvisionAccountsRequest(
        accounts=seeds[:1], on_behalf_of=teacher.user.id), token=tok)


def test_services_send_mail_and_read_accounts_in_bulk(client, auth, base_env):
    a, b = client.new_account(), client.new_account()
    got = client.call("GetUsers", pb.GetUsersRequest(
        user_ids=[a.user.id, b.user.id, "00000000-0000-4000-8000-000000000000"]),
        metadata=svc(base_env)).users
    assert sorted(u.email for u in got) == sorted([a.email, b.email])
    addr = f"outside-{secrets.token_hex(4)}@example.org"
    res = client.call("SendMail", pb.SendMailRequest(messages=[
        pb.MailMessage(to_user_id=a.user.id, subject="Due tomorrow", body="Line one\nLine two"),
        pb.MailMessage(to_email=addr, subject="Join my class", body="Come along."),
        pb.MailMessage(to_user_id="00000000-0000-4000-8000-000000000000", subject="x", body="y"),
    ]), metadata=svc(base_env))
    assert res.queued == 2
    mail = auth.wait_mail_to(a.email)[0]
    assert "Subject: Due tomorrow" in mail and "Line one\nLine two" in mail
    assert auth.wait_mail_to(addr)
    # A subject cannot smuggle headers in; nothing of a bad batch is sent.
    err = expect_status(INVALID, client.call, "SendMail", pb.SendMailRequest(messages=[
        pb.MailMessage(to_user_id=b.user.id, subject="fine", body="fine"),
        pb.MailMessage(to_user_id=b.user.id, subject="x\r\nBcc: all@example.org", body="y")]),
        metadata=svc(base_env))
    assert err.details().startswith("messages[1].subject: ")
    assert auth.mails_to(b.email) == []
    tok = client.login(a.username, a.password).access_token
    expect_status(DENIED, client.call, "SendMail", pb.SendMailRequest(messages=[
        pb.MailMessage(to_email=addr, subject="x", body="y")]), token=tok)
    expect_status(DENIED, client.call, "GetUsers", pb.GetUsersRequest(user_ids=[a.user.id]),
                  token=tok)
