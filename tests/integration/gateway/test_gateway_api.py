"""The gateway's JSON API against the live stack, every answer checked
against docs/openapi.yaml."""
import json
import secrets
import time

import pytest

import gwkit
TASK_SLUG = gwkit.TASK_SLUG


def checked(spec, client, method, path, body=None, **kw):
    r = client.call(method, path, body, **kw)
    spec.check(method, path, r)
    return r


# ---------------------------------------------------------------------------
# The document itself


def test_openapi_document_references_resolve(spec):
    def walk(o):
        if isinstance(o, dict):
            if "$ref" in o:
                spec.resolve(o)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(spec.doc)
    assert spec.doc["openapi"].startswith("3.")


def test_every_documented_operation_is_routed(gw, spec):
    """No documented path answers "no such route" (404 not_found with that
    message) or 405 for its documented method."""
    c = gwkit.Client(gw.addr)
    for tmpl, item in spec.paths.items():
        path = tmpl.replace("{slug}", TASK_SLUG).replace(
            "{id}", "00000000-0000-4000-8000-000000000000").replace("{board}", "weekly")
        for method in item:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            if path == "/api/v1/ws":
                continue
            r = c.call(method.upper(), path, {} if method != "get" else None)
            assert r.status != 405, (method, path, r)
            if r.status == 404:
                assert r.json["error"]["message"] != "no such route", (method, path)
            assert r.status < 500 or r.status == 503, (method, path, r)


# ---------------------------------------------------------------------------
# Accounts


def test_register_sets_http_only_strict_cookies_and_csrf(gw, spec):
    c = gwkit.Client(gw.addr)
    tag = secrets.token_hex(4)
    r = checked(spec, c, "POST", "/api/v1/auth/register",
                {"email": f"r-{tag}@example.org", "username": f"r_{tag}",
                 "password": "correct horse battery", "time_zone": "Europe/Berlin",
                 "display_name": "Reg Tester"})
    assert r.status == 201
    cookies = {v.split("=", 1)[0]: v for v in r.headers_all("Set-Cookie")}
    assert set(cookies) == {"dojo_at", "dojo_rt", "dojo_csrf"}
    for name in ("dojo_at", "dojo_rt"):
        assert "HttpOnly" in cookies[name] and "SameSite=Strict" in cookies[name]
    assert "HttpOnly" not in cookies["dojo_csrf"] and "SameSite=Strict" in cookies["dojo_csrf"]
    assert "Secure" not in cookies["dojo_at"]  # plain HTTP here
    assert "access_token" not in r.json and "refresh_token" not in r.json
    assert r.json["csrf_token"] == c.cookies["dojo_csrf"]
    assert r.json["user"]["time_zone"] == "Europe/Berlin"
    me = checked(spec, c, "GET", "/api/v1/me")
    assert me.status == 200 and me.json["user"]["username"] == f"r_{tag}"
    assert me.json["leaderboard_opt_out"] is False


def test_secure_cookies_when_configured(start_gateway, spec):
    g = start_gateway(DOJO_GATEWAY_SECURE_COOKIES="true")
    c, r, _ = gwkit.register(g.addr)
    for v in r.headers_all("Set-Cookie"):
        assert "; Secure" in v


def test_register_errors(gw, spec, learner):
    c = gwkit.Client(gw.addr)
    r = checked(spec, c, "POST", "/api/v1/auth/register", {"email": "x@example.org"})
    assert r.status == 400 and r.json["error"]["field"] == "username"
    r = checked(spec, c, "POST", "/api/v1/auth/register",
                {"email": "not-an-address", "username": "valid_name",
                 "password": "long enough password"})
    assert r.status == 400 and r.json["error"]["field"] == "email"
    r = checked(spec, c, "POST", "/api/v1/auth/register",
                {"email": f"other-{secrets.token_hex(3)}@example.org",
                 "username": learner.account["username"], "password": "long enough password"})
    assert r.status == 409 and r.json["error"]["code"] == "already_exists"
    r = checked(spec, c, "POST", "/api/v1/auth/register",
                {"email": 5, "username": "x", "password": "y"})
    assert r.status == 400 and r.json["error"]["field"] == "email"


def test_login_refresh_logout_cycle(gw, spec, learner):
    acct = learner.account
    c = gwkit.Client(gw.addr)
    r = checked(spec, c, "POST", "/api/v1/auth/login",
                {"login": acct["username"], "password": "wrong password!!"})
    assert r.status == 401 and r.json["error"]["code"] == "unauthenticated"
    r = checked(spec, c, "POST", "/api/v1/auth/login",
                {"login": acct["email"], "password": acct["password"]})
    assert r.status == 200
    old_rt = c.cookies["dojo_rt"]
    r = checked(spec, c, "POST", "/api/v1/auth/refresh")
    assert r.status == 200 and c.cookies["dojo_rt"] != old_rt
    r = checked(spec, c, "POST", "/api/v1/auth/logout")
    assert r.status == 204
    assert "dojo_at" not in c.cookies and "dojo_rt" not in c.cookies
    r = checked(spec, c, "GET", "/api/v1/me")
    assert r.status == 401


def test_token_sessions_for_api_clients(gw, spec):
    c, r, acct = gwkit.register(gw.addr, session="token")
    assert "Set-Cookie" not in dict(r.headers)
    assert r.json["access_token"] and r.json["refresh_token"]
    me = checked(spec, c, "GET", "/api/v1/me")
    assert me.status == 200
    bare = gwkit.Client(gw.addr)
    r2 = checked(spec, bare, "POST", "/api/v1/auth/refresh",
                 {"refresh_token": r.json["refresh_token"]})
    assert r2.status == 200 and r2.json["refresh_token"] != r.json["refresh_token"]
    # the rotated token is dead now (reuse revokes the family)
    r3 = checked(spec, bare, "POST", "/api/v1/auth/refresh",
                 {"refresh_token": r.json["refresh_token"]})
    assert r3.status == 401


def test_bad_bearer_tokens_are_401(gw, spec):
    for tok in ("garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x", "x" * 5000):
        c = gwkit.Client(gw.addr, bearer=tok)
        r = checked(spec, c, "GET", "/api/v1/me")
        assert r.status == 401, (tok[:20], r)
    c = gwkit.Client(gw.addr)
    r = c.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status == 401


def test_forgot_and_reset_password(gw, spec, learner, auth):
    c = gwkit.Client(gw.addr)
    r = checked(spec, c, "POST", "/api/v1/auth/forgot", {"email": learner.account["email"]})
    assert r.status == 202
    r = checked(spec, c, "POST", "/api/v1/auth/forgot", {"email": "nobody@example.org"})
    assert r.status == 202
    r = checked(spec, c, "POST", "/api/v1/auth/reset",
                {"token": "not-a-real-token", "new_password": "brand new password"})
    assert r.status == 400
    mails = auth.wait_mail_to(learner.account["email"])
    if not mails:
        pytest.skip("the session's auth writes mail elsewhere")
    import authkit
    token = authkit.reset_token_from_mail(mails[-1])
    r = checked(spec, c, "POST", "/api/v1/auth/reset",
                {"token": token, "new_password": "brand new password"})
    assert r.status == 204
    r = c.post("/api/v1/auth/login", {"login": learner.account["username"],
                                      "password": "brand new password"})
    assert r.status == 200


def test_change_password_signs_out(gw, spec):
    c, _, acct = gwkit.register(gw.addr)
    r = checked(spec, c, "POST", "/api/v1/auth/password",
                {"current_password": "wrong-wrong-wrong", "new_password": "another password"})
    assert r.status in (400, 401)
    r = checked(spec, c, "POST", "/api/v1/auth/password",
                {"current_password": acct["password"], "new_password": "another password 2"})
    assert r.status == 204
    assert "dojo_at" not in c.cookies


def test_profile_update(gw, spec, learner):
    r = checked(spec, learner, "PATCH", "/api/v1/me",
                {"display_name": "New Name", "leaderboard_opt_out": True})
    assert r.status == 200
    assert r.json["user"]["display_name"] == "New Name"
    assert r.json["leaderboard_opt_out"] is True
    r = checked(spec, learner, "PATCH", "/api/v1/me", {"time_zone": "Not/AZone"})
    assert r.status == 400 and r.json["error"]["field"] == "time_zone"
    r = checked(spec, learner, "PATCH", "/api/v1/me", {"display_name": ""})
    assert r.status == 400
    r = checked(spec, learner, "PATCH", "/api/v1/me", {"leaderboard_opt_out": "yes"})
    assert r.status == 400 and r.json["error"]["field"] == "leaderboard_opt_out"
    r = checked(spec, learner, "PATCH", "/api/v1/me", {"time_zone": "Asia/Tokyo"})
    assert r.status == 200
    r = checked(spec, learner, "PATCH", "/api/v1/me", {"time_zone": "America/Lima"})
    assert r.status == 422 and r.json["error"]["code"] == "failed_precondition"


def test_zone_chosen_at_sign_up_is_not_a_change(gw, spec):
    """A newcomer who picked the wrong zone fixes it at once; the 24 h rule starts then."""
    c, r, _ = gwkit.register(gw.addr, time_zone="Europe/Berlin")
    assert r.json["user"]["time_zone"] == "Europe/Berlin"
    assert checked(spec, c, "GET", "/api/v1/me/progress").json["time_zone"] == "Europe/Berlin"
    r = checked(spec, c, "PATCH", "/api/v1/me", {"time_zone": "Asia/Tokyo"})
    assert r.status == 200, r
    assert r.json["user"]["time_zone"] == "Asia/Tokyo" and r.json["time_zone_applied"] is True
    # Auth and gamification agree: the streak days follow the new zone.
    assert checked(spec, c, "GET", "/api/v1/me/progress").json["time_zone"] == "Asia/Tokyo"
    r = checked(spec, c, "PATCH", "/api/v1/me", {"time_zone": "America/Lima"})
    assert r.status == 422 and r.json["error"]["field"] == "time_zone"
    assert checked(spec, c, "GET", "/api/v1/me").json["user"]["time_zone"] == "Asia/Tokyo"
    assert checked(spec, c, "GET", "/api/v1/me/progress").json["time_zone"] == "Asia/Tokyo"


# ---------------------------------------------------------------------------
# Tasks


def test_task_list_is_public_cached_and_filterable(gw, spec):
    c = gwkit.Client(gw.addr)
    r = checked(spec, c, "GET", "/api/v1/tasks")
    assert r.status == 200
    slugs = [t["slug"] for t in r.json["tasks"]]
    assert TASK_SLUG in slugs and "gw-echo" in slugs
    assert "max-age" in r.header("Cache-Control")
    r = checked(spec, c, "GET", "/api/v1/tasks?difficulty=medium")
    assert [t["slug"] for t in r.json["tasks"]] == ["gw-echo"]
    r = checked(spec, c, "GET", "/api/v1/tasks?q=gateway")
    assert [t["slug"] for t in r.json["tasks"]] == [TASK_SLUG]
    for bad in ("difficulty=extreme", "page_size=-1", "page_size=99999999999999999999",
                "page_size=abc", "q=" + "x" * 200):
        r = checked(spec, c, "GET", "/api/v1/tasks?" + bad)
        assert r.status == 400, (bad, r)


def test_task_view_has_no_hidden_data(gw, spec, hidden_markers):
    c = gwkit.Client(gw.addr)
    r = checked(spec, c, "GET", f"/api/v1/tasks/{TASK_SLUG}")
    assert r.status == 200
    assert r.json["hidden_test_count"] == 2
    assert [t["name"] for t in r.json["sample_tests"]] == ["sample-1", "sample-2"]
    text = r.body.decode()
    for m in hidden_markers:
        assert m not in text
    assert "reference_solutions" not in r.json and "tests" not in r.json
    r = checked(spec, c, "GET", "/api/v1/tasks/no-such-task")
    assert r.status == 404
    r = checked(spec, c, "GET", f"/api/v1/tasks/{TASK_SLUG}?version=0")
    assert r.status == 400
    r = checked(spec, c, "GET", f"/api/v1/tasks/{TASK_SLUG}?version=99")
    assert r.status == 404


def test_tracks_are_public_and_in_order(gw, spec):
    r = checked(spec, gwkit.Client(gw.addr), "GET", "/api/v1/tracks")
    assert r.status == 200 and "max-age" in r.header("Cache-Control")
    assert r.json["tracks"] == [{"slug": "gw-start", "title": "Start here",
                                 "description": "Sum, then echo.",
                                 "tasks": [TASK_SLUG, "gw-echo"], "sort_order": 1}]


def test_languages_and_achievements(gw, spec):
    c = gwkit.Client(gw.addr)
    r = checked(spec, c, "GET", "/api/v1/languages")
    assert r.status == 200 and "max-age" in r.header("Cache-Control")
    # The catalogue's files (what the executor runs) are what learners are
    # shown, ordered by display name.
    files = [json.loads(p.read_text()) for p in gwkit.LANGUAGES_DIR.glob("*.json")]
    want = sorted(({"id": f["id"], "display_name": f["display_name"],
                    "file_extension": f["file_extension"], "editor_mode": f["editor_mode"],
                    "version": f["version"], "compiled": bool(f.get("compile"))} for f in files),
                  key=lambda l: (l["display_name"], l["id"]))
    assert r.json["languages"] == want
    assert any(l["id"] == "python3" for l in r.json["languages"])
    r = checked(spec, c, "GET", "/api/v1/achievements")
    assert r.status == 200 and r.json["achievements"][0]["slug"] == "first-solve"


# ---------------------------------------------------------------------------
# Progress, leaderboards, drafts


def test_progress_leaderboards_drafts(gw, spec, learner):
    r = checked(spec, learner, "GET", "/api/v1/me/progress")
    assert r.status == 200 and r.json["total_points"] == 0 and len(r.json["calendar"]) == 365
    for board in ("all-time", "weekly"):
        r = checked(spec, learner, "GET", f"/api/v1/leaderboards/{board}?page_size=10")
        assert r.status == 200 and r.json["board"] == board
    r = checked(spec, learner, "GET", "/api/v1/leaderboards/cohort")
    assert r.status == 400
    r = checked(spec, learner, "GET", "/api/v1/leaderboards/cohort?cohort=nope")
    assert r.status in (403, 404)
    r = learner.get("/api/v1/leaderboards/monthly")
    assert r.status == 404
    r = checked(spec, learner, "GET", f"/api/v1/drafts/{TASK_SLUG}")
    assert r.status == 200 and r.json["found"] is False
    r = checked(spec, learner, "PUT", f"/api/v1/drafts/{TASK_SLUG}",
                {"language": "python3", "code": "print('draft')\n"})
    assert r.status == 200
    r = checked(spec, learner, "GET", f"/api/v1/drafts/{TASK_SLUG}?language=python3")
    assert r.json["found"] and r.json["draft"]["code"] == "print('draft')\n"
    r = checked(spec, learner, "PUT", f"/api/v1/drafts/{TASK_SLUG}",
                {"language": "python3", "code": "x" * (64 * 1024 + 1)})
    assert r.status == 413 and r.json["error"]["field"] == "code"


def test_anonymous_is_401_everywhere_it_should_be(gw, spec):
    c = gwkit.Client(gw.addr)
    for method, path in [("GET", "/api/v1/me"), ("GET", "/api/v1/me/progress"),
                         ("GET", "/api/v1/leaderboards/weekly"),
                         ("GET", f"/api/v1/drafts/{TASK_SLUG}"),
                         ("GET", "/api/v1/submissions"),
                         ("POST", "/api/v1/runs"), ("POST", "/api/v1/submissions"),
                         ("GET", "/api/v1/author/tasks")]:
        body = {"task_slug": TASK_SLUG, "language": "python3", "code": "print(1)"} \
            if method == "POST" else None
        r = checked(spec, c, method, path, body)
        assert r.status == 401, (method, path, r)


# ---------------------------------------------------------------------------
# Author


def test_learners_cannot_use_the_designer(gw, spec, learner):
    r = checked(spec, learner, "GET", "/api/v1/author/tasks")
    assert r.status == 403 and r.json["error"]["code"] == "permission_denied"
    r = checked(spec, learner, "GET", f"/api/v1/author/tasks/{TASK_SLUG}")
    assert r.status == 403


def test_author_designer_flow(gw, spec, author):
    import contentkit
    slug = contentkit.unique_slug("gwa")
    doc = contentkit.task(slug, title="Designed task")
    r = checked(spec, author, "POST", "/api/v1/author/tasks/validate", {"task": doc})
    assert r.status == 200 and r.json["ok"] is True and r.json["change"] == "created"
    bad = dict(doc, difficulty="impossible")
    r = checked(spec, author, "POST", "/api/v1/author/tasks/validate", {"task": bad})
    assert r.status == 200 and r.json["ok"] is False
    assert any("difficulty" in e["path"] for e in r.json["errors"])
    r = checked(spec, author, "POST", "/api/v1/author/tasks", {"task": doc})
    assert r.status == 201 and r.json["version"] == 1 and r.json["change"] == "created"
    r = checked(spec, author, "POST", "/api/v1/author/tasks", {"task": doc})
    assert r.status == 409
    r = checked(spec, author, "GET", f"/api/v1/author/tasks/{slug}")
    assert r.status == 200
    assert any(t.get("hidden") for t in r.json["task"]["tests"])  # authors see everything
    doc2 = dict(doc, title="Designed task, v2")
    r = checked(spec, author, "PUT", f"/api/v1/author/tasks/{slug}",
                {"task": doc2, "expected_version": 1})
    assert r.status == 200 and r.json["version"] == 2 and r.json["change"] == "new_version"
    r = checked(spec, author, "PUT", f"/api/v1/author/tasks/{slug}",
                {"task": doc2, "expected_version": 1})
    assert r.status == 409 and r.json["error"]["code"] == "aborted"
    r = checked(spec, author, "GET", f"/api/v1/author/tasks/{slug}/export")
    assert r.status == 200 and slug in r.header("Content-Disposition")
    assert json.loads(r.body)["title"] == "Designed task, v2"
    # the learner list shows it (after the cache TTL)
    time.sleep(1.2)
    lst = gwkit.Client(gw.addr).get("/api/v1/tasks?q=" + slug)
    assert [t["slug"] for t in lst.json["tasks"]] == [slug]
    r = checked(spec, author, "POST", f"/api/v1/author/tasks/{slug}/archive", {})
    assert r.status == 200 and r.json["status"] == "archived"
    r = checked(spec, author, "GET", "/api/v1/author/tasks?q=" + slug)
    assert r.status == 200 and r.json["tasks"][0]["status"] == "archived"
    r = checked(spec, author, "POST", "/api/v1/author/tasks/no-such-task-x/archive", {})
    assert r.status == 404
    r = checked(spec, author, "POST", "/api/v1/author/tasks", {"task": "not an object"})
    assert r.status == 400


def test_run_reference_needs_a_valid_task(gw, spec, author, stack):
    import contentkit
    bad = contentkit.task("gw-bad-ref", difficulty="impossible")
    r = checked(spec, author, "POST", "/api/v1/author/tasks/run-reference", {"task": bad})
    assert r.status == 422 and r.json["error"]["field"]
    r = checked(spec, author, "POST", "/api/v1/author/tasks/run-reference", {"nope": 1})
    assert r.status == 400
    if stack["executor"] is None:
        good = contentkit.task("gw-good-ref")
        r = checked(spec, author, "POST", "/api/v1/author/tasks/run-reference", {"task": good})
        assert r.status == 503  # no executor listening


def test_run_reference_on_the_real_executor(gw, spec, author, executor):
    import contentkit
    good = contentkit.task(contentkit.unique_slug("gwr"))
    r = checked(spec, author, "POST", "/api/v1/author/tasks/run-reference", {"task": good})
    assert r.status == 200, r
    assert r.json["ok"] is True
    roles = {x["name"]: x for x in r.json["results"]}
    assert roles["direct"]["verdict"] == "ac" and roles["difference"]["verdict"] == "wa"
