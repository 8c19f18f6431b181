"""What clients see while a service behind the gateway loses its database:
a retryable 503, never an error about their own request (issue 11.1: an
idempotent gRPC retry used to go out empty, and gamification answered the
empty request with 400 "submission_id: must be a UUID").

A gamification process of the test's own reaches the real PostgreSQL through
a TCP forwarder the test can cut (gwkit.Link: every connection closed, new
ones refused), which is what a stopped or unreachable PostgreSQL looks like
to it."""
import secrets
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

import gamekit
import gwkit


@pytest.fixture
def game_behind_link(stack, infra, workdir):
    """(gamification process, link to its PostgreSQL) on a database of its own."""
    db = infra.create_db()
    url = urlsplit(infra.db_url(db))
    link = gwkit.Link((url.hostname, url.port))
    netloc = url.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{link.port}"
    netloc = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    env = dict(stack["env"])
    env.update({
        "DOJO_PG_URL": urlunsplit(url._replace(netloc=netloc)),
        "DOJO_CONTENT_ADDR": stack["content"].addr,
        "DOJO_GAMIFICATION_REDIS_PREFIX": gamekit.unique_prefix(),
        "DOJO_GAMIFICATION_CONTENT_TTL": "0",
    })
    game = gamekit.ServiceProcess(
        "gamification", gwkit.binary("gamification"), env,
        workdir / f"game-behind-link-{secrets.token_hex(3)}", "DOJO_GAMIFICATION_ADDR",
        "DOJO_GAMIFICATION_METRICS_ADDR").start()
    try:
        yield game, link
    finally:
        link.restore()
        game.stop()
        link.close()
        infra.drop_db(db)


def test_reads_answer_503_not_400_while_gamification_cannot_reach_postgres(
        game_behind_link, start_gateway):
    game, link = game_behind_link
    g = start_gateway(DOJO_GAMIFICATION_ADDR=game.addr)
    c, _, _ = gwkit.register(g.addr, session="token")
    path = f"/api/v1/submissions/{uuid.uuid4()}"
    r = c.get(path)
    assert r.status == 404, r

    link.cut()
    r = c.get(path)
    assert r.status == 503, (r, game.log_tail())
    assert r.json["error"]["code"] == "unavailable", r
    assert int(r.header("Retry-After")) > 0, r.headers
    log = game.log_path.read_text(errors="replace")
    assert "code=UNAVAILABLE" in log, game.log_tail()
    assert "must be a UUID" not in log, game.log_tail()

    # Back again: the same request works (bounded wait for the pool to reconnect).
    link.restore()
    deadline = time.monotonic() + 30
    while True:
        r = c.get(path)
        if r.status != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status == 404, r
