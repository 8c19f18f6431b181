"""Fixtures of the content service's integration tests. They build on
tests/integration/conftest.py (infra, base_env, workdir, auth, fresh_db)."""
import secrets

import pytest

import authkit
import contentkit


@pytest.fixture(scope="session")
def tokens(auth):
    """Access tokens of a learner, an author and an admin (roles set with the
    auth operator command line, then a fresh login so the token carries it)."""
    out = {}
    for role in ("learner", "author", "admin"):
        acct, pair = auth.client.new_session()
        if role != "learner":
            r = auth.run_cli("set-role", acct.username, role)
            assert r.returncode == 0, r.stderr
            pair = auth.client.login(acct.username, acct.password)
        out[role] = pair.access_token
    return out


@pytest.fixture
def content_env(base_env, auth, fresh_db, tmp_path):
    """An environment for a content process: its own database (a content
    folder is synced into it: tasks missing from the folder get archived) and
    an empty content folder (tmp_path/content)."""
    env = dict(base_env)
    env.pop("DOJO_MAIL_OUTBOX", None)
    env.pop("DOJO_AUTH_MASTER_KEY", None)
    env["DOJO_PG_URL"] = fresh_db()
    env["DOJO_AUTH_ADDR"] = auth.addr
    env["DOJO_CONTENT_DIR"] = str(tmp_path / "content")
    (tmp_path / "content" / "tasks").mkdir(parents=True)
    (tmp_path / "content" / "achievements").mkdir(parents=True)
    return env


@pytest.fixture
def start_content(content_env, tmp_path, request):
    """start_content(**env) starts a content process with content_env plus
    changes; processes still running at teardown get SIGTERM and must exit 0."""
    started = []

    def start(name="content", **env):
        merged = dict(content_env)
        merged.update(env)
        proc = contentkit.ContentProcess(merged, tmp_path / f"{name}-{secrets.token_hex(3)}",
                                         name)
        started.append(proc)
        return proc.start()

    yield start
    rep = getattr(request.node, "rep_call", None)
    for proc in started:
        if rep is not None and rep.failed:
            print(proc.log_tail(60))
    for proc in started:
        if proc.returncode is None:
            rc = proc.stop()
            assert rc == 0, f"content {proc.name} exited with {rc}\n" + proc.log_tail()


@pytest.fixture
def tasks_dir(content_env):
    from pathlib import Path
    return Path(content_env["DOJO_CONTENT_DIR"]) / "tasks"
