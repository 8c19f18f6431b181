"""What a WebSocket costs the gateway (issue 12.2): a socket, not threads —
a fixed set of threads whatever the number of connections, one descriptor
each, a bounded number of Redis connections — and the frames it takes:
fragments, pings, and the protocol errors it closes on. Many subscribers of
one submission, each resuming from its own event, get exactly what follows
it."""
import os
import socket
import struct
import time

import gwkit
import test_gateway_submissions as subs


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line")


def fds_of(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def redis_clients(redis):
    info = redis.cmd("INFO", "clients").decode()
    for line in info.splitlines():
        if line.startswith("connected_clients:"):
            return int(line.split(":")[1])
    raise AssertionError(info)


def open_ws(g, learner):
    ws = gwkit.WebSocket(g.addr, cookies=learner.cookies)
    assert ws.status == 101, ws.head
    ws.send({"type": "ping"})
    assert ws.recv()["type"] == "pong"
    return ws


def test_websockets_cost_a_socket_not_threads_nor_redis_connections(start_gateway, learner,
                                                                    redis):
    g = start_gateway()
    pid = g.proc.pid
    first = open_ws(g, learner)
    time.sleep(0.5)
    threads0, fds0, clients0 = threads_of(pid), fds_of(pid), redis_clients(redis)
    socks = []
    try:
        for _ in range(300):
            socks.append(open_ws(g, learner))
        threads1, fds1, clients1 = threads_of(pid), fds_of(pid), redis_clients(redis)
        assert threads1 <= threads0 + 2, (threads0, threads1)
        assert fds1 - fds0 <= 300 + 8, (fds0, fds1)
        assert clients1 - clients0 <= 4, (clients0, clients1)
        # Every one of them still answers.
        for ws in socks[::50]:
            ws.send({"type": "ping", "id": 1})
            assert ws.recv() == {"type": "pong", "id": 1}
    finally:
        for ws in socks:
            ws.close()
        first.close()
    deadline = time.monotonic() + 20
    while fds_of(pid) > fds0 - 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fds_of(pid) <= fds0, "descriptors kept after the WebSockets closed"


def raw_frame(first, payload, masked=True):
    n = len(payload)
    hdr = bytes([first])
    mbit = 0x80 if masked else 0
    if n < 126:
        hdr += bytes([mbit | n])
    elif n < 65536:
        hdr += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        hdr += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not masked:
        return hdr + payload
    mask = os.urandom(4)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def close_code(ws, timeout=10):
    """The code of the server's close frame."""
    ws.sock.settimeout(timeout)
    while True:
        op, data = ws.recv_frame()
        if op == 8:
            return struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None


def test_websocket_frames_fragments_pings_and_protocol_errors(gw, learner):
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    # A message in three fragments with a ping between them, sent in pieces.
    data = (raw_frame(0x01, b'{"type":') + raw_frame(0x89, b"abc") + raw_frame(0x00, b'"pi')
            + raw_frame(0x80, b'ng","id":5}'))
    for i in range(0, len(data), 3):
        ws.sock.sendall(data[i:i + 3])
        time.sleep(0.002)
    op, payload = ws.recv_frame()
    assert (op, payload) == (10, b"abc")
    assert ws.recv() == {"type": "pong", "id": 5}
    # A large message (64 KiB is the limit) in one frame.
    big = b'{"type":"ping","pad":"' + b"x" * 60000 + b'"}'
    ws.sock.sendall(raw_frame(0x81, big))
    assert ws.recv()["type"] == "pong"
    ws.close()

    cases = [
        (raw_frame(0x81, b'{"type":"ping"}', masked=False), 1002),  # unmasked
        (raw_frame(0x82, b"\x00\x01"), 1003),                       # binary
        (raw_frame(0x81, b"x" * (64 * 1024 + 1)), 1009),           # too big
        (raw_frame(0x80, b"x"), 1002),                              # continuation of nothing
        (raw_frame(0xC1, b"{}"), 1002),                             # reserved bit
    ]
    for frame, code in cases:
        ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
        assert ws.status == 101
        ws.sock.sendall(frame)
        assert close_code(ws) == code, frame[:4]
        ws.sock.close()

    # The client's close is answered with the same code.
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws.sock.sendall(raw_frame(0x88, struct.pack("!H", 1000) + b"bye"))
    assert close_code(ws) == 1000
    ws.sock.settimeout(10)
    assert ws.sock.recv(1) == b""  # and the server closes
    ws.sock.close()


def test_many_subscribers_of_one_submission_resume_each_from_their_own_event(gw, learner,
                                                                            executor):
    r = subs.submit(learner)
    assert r.status == 202, r
    sub = r.json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws.send({"type": "subscribe", "submission_id": sub})
    _, seen = ws.recv_until(lambda x: x["type"] == "done", timeout=subs.GRADE_TIMEOUT)
    events = [x for x in seen if x["type"] == "event"]
    assert events and events[-1]["kind"] == "result"
    ws.close()

    # Twenty connections at once, each from a different place in the stream
    # (some from the start), all read by the one relay.
    socks = []
    for i in range(20):
        w = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
        k = i % (len(events) + 1)
        msg = {"type": "subscribe", "submission_id": sub, "id": i}
        if k:
            msg["after"] = events[k - 1]["id"]
        w.send(msg)
        socks.append((w, k))
    for w, k in socks:
        _, got = w.recv_until(lambda x: x["type"] == "done", timeout=30)
        mine = [x for x in got if x["type"] == "event"]
        assert [x["id"] for x in mine] == [x["id"] for x in events[k:]], k
        assert mine == events[k:], k
        assert [x["type"] for x in got].count("done") == 1
        w.close()


def test_a_final_submission_whose_result_event_is_not_on_its_stream_gets_the_stored_one(
        gw, learner, executor, redis):
    """The row is final but the stream lacks the result event (the executor
    died, or Redis was away, between recording and publishing: a redelivery
    writes it later). A subscriber — new, or resuming after the last event it
    saw — gets the stored submission and "done" at once, not "done" alone
    nor a wait for the redelivery."""
    r = subs.submit(learner)
    assert r.status == 202, r
    sub = r.json["id"]
    ws = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
    ws.send({"type": "subscribe", "submission_id": sub})
    _, seen = ws.recv_until(lambda x: x["type"] == "done", timeout=subs.GRADE_TIMEOUT)
    ws.close()
    events = [x for x in seen if x["type"] == "event"]
    assert events[-1]["kind"] == "result" and len(events) >= 2, events
    assert redis.cmd("XDEL", f"dojo:sub:{sub}", events[-1]["id"]) == 1
    for after in (None, events[-2]["id"]):
        w = gwkit.WebSocket(gw.addr, cookies=learner.cookies)
        msg = {"type": "subscribe", "submission_id": sub}
        if after:
            msg["after"] = after
        w.send(msg)
        _, got = w.recv_until(lambda x: x["type"] == "done", timeout=30)
        w.close()
        assert [x["type"] for x in got] == ["subscribed", "submission", "done"], (after, got)
        assert got[0]["state"] == "finished"
        assert got[1]["submission"]["verdict"] == events[-1]["result"]["verdict"], got
