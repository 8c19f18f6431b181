"""The live scoreboard pushed over the WebSocket to many viewers at once:
1,000 viewers (DOJO_TEST_BOARD_VIEWERS) watch one contest through the real
gateway; a judgement reaches every one of them as the same frame, computed
once by gamification and serialised once by the gateway (the boards stream
grows by one entry per audience, whatever the number of viewers); the
public viewers' board keeps the freeze while the jury's shows it. How long
the updates took is printed, never asserted (the machine is shared).
Some viewers are signed out: they watch the public board too."""
import json
import os
import resource
import selectors
import socket
import struct
import time

import pytest

import contestkit as ck
import gwkit
from dojo.gamification.v1 import gamification_pb2 as gpb

SLUG = "gw-board"
T0 = ck.BOARD_START_S
N = int(os.environ.get("DOJO_TEST_BOARD_VIEWERS", "1000"))
N_JURY = 10
N_ANON = 10
WAIT_S = 120  # a bound on waiting, not a figure under test


class Viewer:
    """A WebSocket viewer read without blocking: frames parsed from what the
    socket has."""

    def __init__(self, addr, bearer):
        self.ws = gwkit.WebSocket(addr, bearer=bearer, timeout=30)
        assert self.ws.status == 101, self.ws.head
        self.ws.sock.setblocking(False)
        self.frames = []  # (monotonic time, text)

    def pump(self):
        try:
            while True:
                chunk = self.ws.sock.recv(65536)
                if not chunk:
                    break
                self.ws.buf += chunk
        except BlockingIOError:
            pass
        now = time.monotonic()
        buf = self.ws.buf
        while len(buf) >= 2:
            op, n, hdr = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, hdr = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, hdr = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < hdr + n:
                break
            data, buf = buf[hdr:hdr + n], buf[hdr + n:]
            if op == 1:
                self.frames.append((now, data.decode()))
            elif op == 9:
                self.ws.sock.setblocking(True)
                self.ws.send_frame(10, data)
                self.ws.sock.setblocking(False)
        self.ws.buf = buf

    def messages(self, kind):
        return [(t, json.loads(x), x) for t, x in self.frames if json.loads(x).get("type") == kind]


def pump_until(viewers, done, what):
    sel = selectors.DefaultSelector()
    for v in viewers:
        sel.register(v.ws.sock, selectors.EVENT_READ, v)
    deadline = time.monotonic() + WAIT_S
    try:
        while not all(done(v) for v in viewers):
            assert time.monotonic() < deadline, (
                f"{what}: {sum(not done(v) for v in viewers)} of {len(viewers)} viewers waiting")
            for key, _ in sel.select(timeout=0.5):
                key.data.pump()
    finally:
        sel.close()


def solved(board, team, label):
    row = next((r for r in board["rows"] if r["team_id"] == team), None)
    cell = row and next(c for c in row["problems"] if c["problem_id"] == label)
    return bool(cell and cell["solved"])


def judge(gc, clock, user, label, at_s):
    clock.set(T0 + at_s)
    code = f"print({at_s})\n"
    r = gc.call("CreateSubmission", gpb.CreateSubmissionRequest(
        user_id=user, contest_slug=SLUG, problem_id=label, language="python3", code=code,
        code_hash=ck.code_hash(code), kind=gpb.SUBMISSION_KIND_SUBMIT))
    tests = ck.Sub(0, 0, 0, ck.AC).tests()
    req = gpb.RecordResultRequest(submission_id=r.submission_id, verdict=ck.AC, tests=tests,
                                  score=8, max_score=8, executor_id="test")
    req.finished_at.unix_micros = int((T0 + at_s) * 1e6)
    gc.call("RecordResult", req)


def board_entries(redis):
    out = []
    for _, fields in redis.cmd("XRANGE", "dojo:contest:boards", "-", "+"):
        f = dict(zip(fields[::2], fields[1::2]))
        u = gpb.ScoreboardUpdate.FromString(f[b"board"])
        if u.scoreboard.contest_slug == SLUG:
            out.append(u.scoreboard)
    return out


@pytest.fixture(scope="module")
def viewers(cgw, cstack, cclock, auth):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < N + 200:
        pytest.skip(f"RLIMIT_NOFILE {hard} is too low for {N} viewers")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gc = cstack["game"].client
    cclock.set(T0 - 600)
    users, teams = [], []
    for i in range(3):
        acct, _ = auth.client.new_session()
        gc.profile(acct.user.id, display_name=acct.username)
        teams.append(gc.call("PutContestTeam", gpb.PutContestTeamRequest(
            slug=SLUG, name=f"Board {i}", member_user_ids=[acct.user.id])).team.id)
        users.append(acct.user.id)
    judge(gc, cclock, users[0], "A", 300)
    redis = gwkit.Redis(cstack["redis"])
    deadline = time.monotonic() + WAIT_S
    while redis.cmd("EXISTS", f"dojo:contest:{SLUG}:board:public") != 1:
        assert time.monotonic() < deadline, "gamification published no board"
        time.sleep(0.1)
    _, _, learner = gwkit.register(cgw.addr, session="token")
    learner_token = gwkit.Client(cgw.addr).post("/api/v1/auth/login", {
        "login": learner["username"], "password": learner["password"],
        "session": "token"}).json["access_token"]
    _, _, admin = gwkit.register(cgw.addr, session="token")
    assert auth.run_cli("set-role", admin["username"], "admin").returncode == 0
    admin_token = gwkit.Client(cgw.addr).post("/api/v1/auth/login", {
        "login": admin["username"], "password": admin["password"],
        "session": "token"}).json["access_token"]
    vs = []
    try:
        for i in range(N):
            # The last N_ANON are signed out: public viewers without an account.
            v = Viewer(cgw.addr, admin_token if i < N_JURY
                       else None if i >= N - N_ANON else learner_token)
            v.jury = i < N_JURY
            v.ws.sock.setblocking(True)
            v.ws.send({"type": "watch_scoreboard", "contest": SLUG})
            v.ws.sock.setblocking(False)
            vs.append(v)
        yield {"viewers": vs, "gc": gc, "clock": cclock, "users": users, "teams": teams,
               "redis": redis}
    finally:
        for v in vs:
            try:
                v.ws.sock.close()
            except OSError:
                pass
        redis.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_judgement_reaches_every_viewer_as_one_shared_frame(viewers):
    vs, redis = viewers["viewers"], viewers["redis"]
    # Every viewer has the latest board at once, with its audience.
    pump_until(vs, lambda v: v.messages("scoreboard"), "the first board")
    for v in vs:
        w = v.messages("watching")
        assert w and w[0][1]["audience"] == ("jury" if v.jury else "public")
        assert solved(v.messages("scoreboard")[-1][1]["scoreboard"], viewers["teams"][0], "A")
    before = len(board_entries(redis))
    seen = {id(v): len(v.frames) for v in vs}

    t0 = time.monotonic()
    judge(viewers["gc"], viewers["clock"], viewers["users"][1], "B", 900)
    team = viewers["teams"][1]

    def got(v):
        return any(solved(m["scoreboard"], team, "B") for _, m, _ in v.messages("scoreboard"))
    pump_until(vs, got, "the update")
    lat = sorted(next(t for t, m, _ in v.messages("scoreboard") if solved(m["scoreboard"], team, "B"))
                 - t0 for v in vs)
    print(f"\n{N} viewers: judgement -> frame p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
          f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")

    # One frame, the same bytes for every viewer of an audience.
    texts = {True: set(), False: set()}
    for v in vs:
        first = next(x for _, m, x in v.messages("scoreboard") if solved(m["scoreboard"], team, "B"))
        texts[v.jury].add(first)
        assert len(v.frames) - seen[id(v)] <= 3, "a handful of frames per change, not one per viewer"
    assert len(texts[False]) == 1 and len(texts[True]) == 1
    # Computed once: the stream holds one board per audience and change,
    # however many viewers there are.
    assert 1 <= len(board_entries(redis)) - before <= 4


def test_public_viewers_keep_the_freeze_the_jurys_show_it(viewers):
    vs = viewers["viewers"]
    team = viewers["teams"][2]
    judge(viewers["gc"], viewers["clock"], viewers["users"][2], "A", 2 * 3600 - 600)

    def frame(v):
        for _, m, _ in reversed(v.messages("scoreboard")):
            row = next(r for r in m["scoreboard"]["rows"] if r["team_id"] == team)
            cell = row["problems"][0]
            if cell["solved"] or cell["num_pending"]:
                return m["scoreboard"], cell
        return None
    pump_until(vs, frame, "the frozen update")
    for v in vs:
        board, cell = frame(v)
        if v.jury:
            assert cell["solved"] and board["frozen"] is False
        else:
            assert not cell["solved"] and cell["num_pending"] == 1 and board["frozen"] is True
