"""What clients see while a service behind the gateway loses its database:
a retryable 503, never an error about their own request (issue 11.1: an
idempotent gRPC retry used to go out empty, and gamification answered the
empty request with 400 "submission_id: must be a UUID").

A gamification process of the test's own reaches the real PostgreSQL through
a TCP forwarder the test can cut (every connection closed, new ones refused),
which is what a stopped or unreachable PostgreSQL looks like to it."""
import secrets
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

import gamekit
import gwkit


class CuttableLink:
    """A TCP forwarder from a loopback port to `target` (host, port)."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.socks = set()
        self.is_cut = False
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            with self.lock:
                refuse = self.is_cut or self.closed
            if refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.socks.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s):
        with self.lock:
            self.socks.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self):
        """Closes every forwarded connection and refuses new ones."""
        with self.lock:
            self.is_cut = True
            socks = list(self.socks)
        for s in socks:
            self._drop(s)

    def restore(self):
        with self.lock:
            self.is_cut = False

    def close(self):
        self.closed = True
        self.cut()
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def game_behind_link(stack, infra, workdir):
    """(gamification process, link to its PostgreSQL) on a database of its own."""
    db = infra.create_db()
    url = urlsplit(infra.db_url(db))
    link = CuttableLink((url.hostname, url.port))
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
