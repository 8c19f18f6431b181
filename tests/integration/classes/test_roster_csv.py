"""Rosters in, grades out: a CSV roster makes accounts (chosen passwords by
mail) and invites those who have one; the grades come back as CSV that
spreadsheets cannot be tricked by, and that imports again as the same
roster."""
import csv
import io
import re
import secrets

from authkit import remember_secret, reset_token_from_mail
from classkit import AC, TASKS, WA, assign, call, new_class, person, submit
import gwkit


def invite_token(mail):
    m = re.search(r"http://dojo\.test/join\?invite=([A-Za-z0-9_\-]+)", mail)
    assert m, mail
    return remember_secret(m.group(1))


def test_roster_import_and_grades_export_round_trip(st, spec):
    st.clock.set("2026-03-02T09:00:00Z")
    teacher = person(st, "teacher", display_name="Ms Krabappel")
    tag = secrets.token_hex(3)
    old = person(st, email=f"old-{tag}@example.org", display_name="Old Timer")
    cls = new_class(spec, teacher, title="Grade 4")
    roster = ("\ufeffEmail,Display Name,username,student_id\r\n"
              f'new1-{tag}@example.org,"Lovelace, Ada",ada_{tag},S1\r\n'
              f"NEW2-{tag}@example.org,=1+1,,S2\r\n"
              f"old-{tag}@example.org,Whoever,whatever_{tag},S3\r\n")
    base = f"/api/v1/classes/{cls['id']}"

    # A malformed row stops everything: no account is made.
    bad = roster + "not-an-address,X,x_bad,S4\r\n"
    r = call(spec, teacher, "POST", f"{base}/roster", {"csv": bad, "mode": "create_accounts"}, 400)
    assert r.json["error"]["message"].startswith("line 5: email: "), r
    again = roster + f"new1-{tag}@EXAMPLE.org,Twice,twice_{tag},S5\r\n"
    r = call(spec, teacher, "POST", f"{base}/roster", {"csv": again, "mode": "create_accounts"},
             400)
    assert r.json["error"]["message"] == "line 5: email: the same address as line 2"
    r = call(spec, teacher, "POST", f"{base}/roster", {"csv": "name\nAda\n", "mode": "invite"},
             400)
    assert "no \"email\" column" in r.json["error"]["message"]
    assert st.auth.mails_to(f"new1-{tag}@example.org") == []

    rep = call(spec, teacher, "POST", f"{base}/roster",
               {"csv": roster, "mode": "create_accounts"}, 200).json
    assert [(row["line"], row["outcome"]) for row in rep["rows"]] == \
        [(2, "added"), (3, "added"), (4, "invited")]
    assert rep["rows"][1]["username"] == f"new2-{tag}"
    assert (rep["added"], rep["invited"], rep["rejected"]) == (2, 1, 0)

    # The new accounts choose a password with the mailed link, and are in the class.
    ada = gwkit.Client(st.gw.addr)
    mail = st.auth.wait_mail_to(f"new1-{tag}@example.org")[0]
    assert "Ms Krabappel added you to the class \"Grade 4\"" in mail
    pw = remember_secret(f"ada's own password {tag}")
    r = ada.post("/api/v1/auth/reset", {"token": reset_token_from_mail(mail), "new_password": pw})
    assert r.status == 204, r
    r = ada.post("/api/v1/auth/login", {"login": f"ada_{tag}", "password": pw})
    assert r.status == 200, r
    ada_id = r.json["user"]["id"]
    assert [c["id"] for c in ada.get("/api/v1/classes").json["classes"]] == [cls["id"]]
    # The one who had an account joins only by accepting the invitation, once.
    token = invite_token(st.auth.wait_mail_to(f"old-{tag}@example.org")[0])
    assert call(spec, old, "GET", base).status == 404
    assert call(spec, old, "POST", "/api/v1/classes/join", {"invite": token}, 200).json["joined"]
    assert call(spec, person(st), "POST", "/api/v1/classes/join", {"invite": token}).status == 404

    members = call(spec, teacher, "GET", f"{base}/members", expect=200).json
    by_name = {m["display_name"]: m for m in members["members"]}
    assert sorted(by_name) == ["=1+1", "Lovelace, Ada", "Old Timer"]
    assert by_name["Lovelace, Ada"]["email"] == f"new1-{tag}@example.org"
    assert by_name["=1+1"]["username"] == f"new2-{tag}" and members["invites"] == []

    # Work, then the grades of one assignment as CSV.
    a = assign(spec, teacher, cls["id"], tasks=TASKS[:2], due_at="2026-03-09T18:00")
    formula_id = by_name["=1+1"]["user_id"]
    submit(st, ada_id, TASKS[0], "2026-03-03T10:00:00Z")
    submit(st, ada_id, TASKS[1], "2026-03-03T10:30:00Z", verdict=WA)
    submit(st, formula_id, TASKS[1], "2026-03-10T08:00:00Z")
    r = old.c.get(f"{base}/assignments/{a['id']}/grades.csv")
    assert r.status == 403
    r = teacher.c.get(f"{base}/assignments/{a['id']}/grades.csv")
    assert r.status == 200 and r.header("Content-Type").startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="grade-4-[a-z0-9]+-week-1\.csv"',
                        r.header("Content-Disposition")), r.header("Content-Disposition")
    text = r.body.decode()
    assert text.endswith("\r\n") and "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == ["username", "display_name", "email", TASKS[0], TASKS[1], "grade",
                             "solved", "late"]
    got = {row["email"]: row for row in rows}
    assert got[f"new1-{tag}@example.org"] == {
        "username": f"ada_{tag}", "display_name": "Lovelace, Ada",
        "email": f"new1-{tag}@example.org", TASKS[0]: "100", TASKS[1]: "33.3", "grade": "66.7",
        "solved": "1", "late": "0"}
    # A display name a spreadsheet would run is written as text.
    assert got[f"new2-{tag}@example.org"]["display_name"] == "'=1+1"
    assert (got[f"new2-{tag}@example.org"][TASKS[1]], got[f"new2-{tag}@example.org"]["late"]) == \
        ("100", "1")
    assert got[f"old-{tag}@example.org"]["grade"] == "0"
    # The same numbers as the dashboard.
    m = call(spec, teacher, "GET", f"{base}/progress?assignment={a['id']}", expect=200).json
    for i, row in enumerate(m["rows"]):
        line = got[row["member"]["email"]]
        for j, col in enumerate(m["columns"]):
            assert float(line[col["task_slug"]]) == round(m["cells"][i][j]["grade_percent"], 1)

    # The export is a roster: importing it again changes nothing and mails nobody.
    before = len(st.auth.mails())
    rep = call(spec, teacher, "POST", f"{base}/roster", {"csv": text, "mode": "create_accounts"},
               200).json
    assert [row["outcome"] for row in rep["rows"]] == ["already_member"] * 3
    assert len(st.auth.mails()) == before


def test_invite_mode_only_mails_links(st, spec):
    teacher = person(st, "teacher")
    cls = new_class(spec, teacher, title="Invites only")
    tag = secrets.token_hex(3)
    addrs = [f"inv{i}-{tag}@example.org" for i in range(2)]
    rep = call(spec, teacher, "POST", f"/api/v1/classes/{cls['id']}/roster",
               {"csv": "email\n" + "\n".join(addrs) + "\n", "mode": "invite"}, 200).json
    assert rep["invited"] == 2 and rep["added"] == 0
    listed = call(spec, teacher, "GET", f"/api/v1/classes/{cls['id']}/members", expect=200).json
    assert sorted(i["email"] for i in listed["invites"]) == addrs
    assert listed["members"] == []
    for a in addrs:
        mail = st.auth.wait_mail_to(a)[0]
        assert "Subject: Join the class Invites only on Dojo" in mail
        invite_token(mail)
