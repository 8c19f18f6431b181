"""Test data at real size (issue 15 part 4): blobs uploaded through the
author API with their bodies streamed, a task of 1,000 hidden tests and
about 260 MiB of data referencing them, judged by the real executor, which
fetches the blobs once (streamed, cached on disk by hash) and feeds them to
the sandbox as files. The limits' errors; ownership (nobody references a blob
they did not upload; no learner reads one); the executor's cache (hits on the
second run, eviction under a small bound, kept over a restart) and its
memory (peak RSS well under the problem's size).

Sizes are bounded (DOJO_TEST_TESTDATA_TESTS, default 1000 tests of 256 KiB);
everything stays on loopback."""
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import socket
import time
import urllib.request

import grpc
import pytest

import authkit
import execkit
import gwkit
from dojo.content.v1 import content_pb2 as cpb
from dojo.executor.v1 import executor_pb2 as epb
from dojo.gamification.v1 import gamification_pb2 as gpb
from test_gateway_submissions import GRADE_TIMEOUT, wait_finished

MIB = 1024 * 1024
LIMIT = 256 * MIB
NTESTS = int(os.environ.get("DOJO_TEST_TESTDATA_TESTS", "1000"))
TEST_BYTES = 256 * 1024
ECHO_BYTES = 4 * MIB  # a few tests whose expected output is a blob too
NECHO = 3

# Counts a test's input, or (first line "echo") prints it back.
COUNT = ("import sys\nd = sys.stdin.buffer.read()\n"
         "if d.startswith(b'echo'):\n    sys.stdout.buffer.write(d)\n"
         "else:\n    print(len(d), d.count(b'\\n'))\n")
# The same, one off on the last test.
WRONG_LAST = COUNT.replace("print(len(d)", "print(len(d) + (b'LAST' in d[:8])")


def counted(data):
    """What COUNT prints for `data`."""
    return "%d %d\n" % (len(data), data.count(b"\n"))


def sha(data):
    return hashlib.sha256(data).hexdigest()


def put_blob(client, data, digest=None, headers=None):
    hdrs = {"Content-Type": "application/octet-stream"}
    hdrs.update(headers or {})
    return client.call("PUT", f"/api/v1/author/blobs/{digest or sha(data)}", raw=data,
                       headers=hdrs)


def raw_request(addr, head):
    """Sends only a request head (no body) and reads the answer."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(head.encode())
        buf = b""
        while b"\r\n\r\n" not in buf or len(buf) < buf.find(b"\r\n\r\n") + 4 + int(
                re.search(rb"Content-Length: (\d+)", buf, re.I).group(1)
                if re.search(rb"Content-Length: (\d+)", buf, re.I) else 0):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    status = int(buf.split(b" ", 2)[1])
    return status, buf.split(b"\r\n\r\n", 1)[1].decode(errors="replace")


def blob_task(slug, tests, **kw):
    doc = {"slug": slug, "title": f"Large data {slug}", "difficulty": "hard",
           "description": "Count the bytes and lines of the input.",
           "languages": [{"language": "python3"}],
           "limits": {"cpu_ms": 2000, "wall_ms": 10000, "memory_kib": 262144,
                      "output_kib": 16384},
           "tests": tests,
           "reference_solutions": [{"name": "ref", "language": "python3", "code": COUNT}]}
    doc.update(kw)
    return doc


def sample():
    return {"name": "sample", "input": "ab\ncd\n", "expected": "6 2\n"}


@pytest.fixture
def other_author(gw, auth):
    c, _, acct = gwkit.register(gw.addr, session="token")
    assert auth.run_cli("set-role", acct["username"], "author").returncode == 0
    login = gwkit.Client(gw.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"], "session": "token"})
    c.bearer = login.json["access_token"]
    return c


# ---------------------------------------------------------------------------
# Uploads and their limits


def test_blob_upload_is_content_addressed_and_resumable(gw, spec, author):
    data = secrets.token_bytes(3 * MIB + 17)
    digest = sha(data)
    half = 2 * MIB + 5
    r = put_blob(author, data[:half], digest,
                 {"Content-Range": f"bytes 0-{half - 1}/{len(data)}"})
    assert r.status == 200, r
    assert r.json == {"sha256": digest, "size": len(data), "received": half, "complete": False}
    spec.check("PUT", f"/api/v1/author/blobs/{digest}", r)
    g = author.get(f"/api/v1/author/blobs/{digest}")
    assert g.status == 200 and g.json["received"] == half and not g.json["complete"], g
    spec.check("GET", f"/api/v1/author/blobs/{digest}", g)
    # A part that does not start where the upload stands.
    r = put_blob(author, data[half + 1:], digest,
                 {"Content-Range": f"bytes {half + 1}-{len(data) - 1}/{len(data)}"})
    assert r.status == 409, r
    assert f"continues at byte {half}" in r.json["error"]["message"], r
    r = put_blob(author, data[half:], digest,
                 {"Content-Range": f"bytes {half}-{len(data) - 1}/{len(data)}"})
    assert r.status == 200 and r.json["complete"] and r.json["received"] == len(data), r
    # Again: already complete, nothing more stored.
    r = put_blob(author, data)
    assert r.status == 200 and r.json["complete"], r


def proc_rss_kib(pid):
    status = open(f"/proc/{pid}/status").read()
    return {k: int(re.search(rf"{k}:\s+(\d+)", status).group(1)) for k in ("VmRSS", "VmHWM")}


def sanitized(pid):
    """An ASan build (./dojo test integration-asan): its quarantine keeps
    hundreds of MiB of freed memory, so its RSS says nothing about ours."""
    return "libasan" in open(f"/proc/{pid}/maps").read()


class Stream:
    """A request body of `n` pseudo-random bytes, generated as it is sent
    (the test holds 1 MiB at a time), hashed on the way."""

    def __init__(self, n, seed):
        self.left, self.rng, self.hash = n, random.Random(seed), hashlib.sha256()

    def read(self, size=-1):
        size = min(self.left, 1 << 20 if size is None or size < 0 else size)
        data = self.rng.randbytes(size)
        self.left -= size
        self.hash.update(data)
        return data


def test_a_blob_of_256_mib_streams_through_gateway_and_content(stack, gw, author):
    """The largest blob, in one request: neither the gateway nor content
    holds it (their peak RSS stays far below its size)."""
    n = LIMIT
    first = Stream(n, 7)
    digest = hashlib.sha256()
    probe = random.Random(7)
    for _ in range(n >> 20):
        digest.update(probe.randbytes(1 << 20))
    name = digest.hexdigest()
    # Both peaks from here on: the processes serve the whole session, and an
    # earlier test (the package tests import and export 50 MiB) may have
    # raised content's (164 MiB in the fresh-clone CI of 496c978).
    for pid in (gw.proc.pid, stack["content"].proc.pid):
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    host, port = gw.addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=600)
    conn.putrequest("PUT", f"/api/v1/author/blobs/{name}")
    conn.putheader("Authorization", f"Bearer {author.bearer}")
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(n))
    conn.endheaders()
    while first.left:
        conn.send(first.read(1 << 20))
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    assert resp.status == 200, body
    assert '"complete":true' in body and f'"size":{n}' in body, body
    gw_rss = proc_rss_kib(gw.proc.pid)
    content_rss = proc_rss_kib(stack["content"].proc.pid)
    print(f"\n256 MiB blob: gateway VmHWM {gw_rss['VmHWM'] / 1024:.0f} MiB, content VmHWM "
          f"{content_rss['VmHWM'] / 1024:.0f} MiB")
    if not sanitized(gw.proc.pid):
        assert gw_rss["VmHWM"] < 128 * 1024, gw_rss
        assert content_rss["VmHWM"] < 160 * 1024, content_rss


# Blob names no upload has: digests of labels, not runs of one letter (a
# run like "aaaa…" holds the invalid password test_signup.py sends, which the
# log check then finds in the gateway's log).
NAME_A, NAME_B, NAME_C, NAME_E, NAME_F = (
    hashlib.sha256(f"no such blob {c}".encode()).hexdigest() for c in "abcef")


def test_blob_upload_limits_are_stated(gw, author, learner):
    too_big = LIMIT + 1
    # Content-Length over the limit: refused before a byte is read.
    status, body = raw_request(
        gw.addr, f"PUT /api/v1/author/blobs/{NAME_A} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {author.bearer}\r\nContent-Length: {too_big}\r\n\r\n")
    assert status == 413, body
    assert "268435456 bytes (256 MiB)" in body, body
    # A Content-Range announcing more than the limit.
    r = put_blob(author, b"x", NAME_B, {"Content-Range": f"bytes 0-0/{too_big}"})
    assert r.status == 413 and "at most 268435456 bytes (256 MiB)" in r.json["error"]["message"]
    # No Content-Length (chunked).
    status, body = raw_request(
        gw.addr, f"PUT /api/v1/author/blobs/{NAME_C} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {author.bearer}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert status == 411, body
    assert put_blob(author, b"abc", "ABC").status == 400
    assert put_blob(author, b"abc", "d" * 63).status == 400
    # The data does not hash to its name: refused, and forgotten.
    r = put_blob(author, b"not what the name says", NAME_E)
    assert r.status == 422 and r.json["error"]["code"] == "hash_mismatch", r
    assert f"not {NAME_E}" in r.json["error"]["message"], r
    assert author.get(f"/api/v1/author/blobs/{NAME_E}").status == 404
    # Learners and strangers.
    assert put_blob(learner, b"abc").status == 403
    assert gwkit.Client(gw.addr).call("PUT", f"/api/v1/author/blobs/{sha(b'abc')}", raw=b"abc",
                                      headers={"Content-Type": "text/plain"}).status == 401
    assert learner.get(f"/api/v1/author/blobs/{sha(b'abc')}").status == 403


# ---------------------------------------------------------------------------
# Tasks referencing blobs


def test_only_owned_blobs_of_hidden_tests_can_be_referenced(stack, gw, author, other_author,
                                                            learner):
    data = b"1 2\n" * 1000
    assert put_blob(author, data).json["complete"]
    expected = b"4000 1000\n"
    assert put_blob(author, expected).json["complete"]
    slug = f"blob-rules-{secrets.token_hex(3)}"
    hidden = {"name": "big", "hidden": True, "input_sha256": sha(data),
              "expected_sha256": sha(expected)}
    # Visible tests stay inline.
    r = author.post("/api/v1/author/tasks", {"task": blob_task(
        slug, [dict(hidden, hidden=False)])})
    assert r.status == 400, r
    assert "only hidden tests may keep their data in blobs" in r.json["error"]["message"]
    # Inline and a blob at once.
    r = author.post("/api/v1/author/tasks", {"task": blob_task(
        slug, [sample(), dict(hidden, input="x")])})
    assert r.status == 400 and "either input or input_sha256" in r.json["error"]["message"], r
    # A blob nobody uploaded; and one of someone else's, known by its hash.
    r = author.post("/api/v1/author/tasks", {"task": blob_task(
        slug, [sample(), dict(hidden, input_sha256=NAME_F)])})
    assert r.status == 400 and r.json["error"]["field"] == "$.tests[1].input_sha256", r
    r = other_author.post("/api/v1/author/tasks", {"task": blob_task(slug, [sample(), hidden])})
    assert r.status == 400 and "no blob of yours" in r.json["error"]["message"], r
    v = other_author.post("/api/v1/author/tasks/validate", {"task": blob_task(slug,
                                                                             [sample(), hidden])})
    assert v.status == 200 and not v.json["ok"], v
    # Nor through ImportTasks.
    ch = grpc.insecure_channel(stack["content"].addr)
    try:
        imp = ch.unary_unary("/dojo.content.v1.Content/ImportTasks",
                             request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=cpb.ImportTasksResponse.FromString)
        res = imp(cpb.ImportTasksRequest(files=[cpb.TaskFile(
            name=f"{slug}.json", json=json.dumps(blob_task(slug, [sample(), hidden])))]),
            metadata=[("authorization", f"Bearer {other_author.bearer}")], timeout=30)
    finally:
        ch.close()
    assert res.rejected == 1, res
    assert res.results[0].errors[0].path == "$.tests[1].input_sha256", res
    assert "no blob of yours" in res.results[0].errors[0].message, res
    # Uploading the same bytes makes them theirs too (stored once).
    assert put_blob(other_author, data).json["complete"]
    assert put_blob(other_author, expected).json["complete"]
    r = other_author.post("/api/v1/author/tasks", {"task": blob_task(slug, [sample(), hidden])})
    assert r.status == 201, r
    assert r.json["task"]["tests"][1] == {**hidden, "weight": 1}
    # The learner's view: the hidden test is counted, its data is nowhere.
    t = learner.get(f"/api/v1/tasks/{slug}")
    assert t.status == 200 and t.json["hidden_test_count"] == 1, t
    assert sha(data) not in t.body.decode() and "1 2\n1 2" not in t.body.decode()


def test_blob_data_is_for_services_only(stack, author):
    data = b"secret-blob-" + secrets.token_bytes(32)
    assert put_blob(author, data).json["complete"]
    ch = grpc.insecure_channel(stack["content"].addr)
    try:
        read = ch.unary_stream("/dojo.content.v1.Content/ReadBlob",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=cpb.BlobChunk.FromString)
        req = cpb.ReadBlobRequest(sha256=sha(data))
        with pytest.raises(grpc.RpcError) as e:
            list(read(req, metadata=[("authorization", f"Bearer {author.bearer}")], timeout=10))
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        got = list(read(req, metadata=[("x-dojo-service-key", stack["service_key"])],
                        timeout=10))
        assert b"".join(c.data for c in got) == data and got[0].total_size == len(data)
    finally:
        ch.close()


# ---------------------------------------------------------------------------
# A problem at real size


def executor_rss_kib(executor):
    return proc_rss_kib(executor.proc.pid)


def metric(executor, name, labels=""):
    port = executor.env["DOJO_EXECUTOR_METRICS_ADDR"].rsplit(":", 1)[1]
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and labels in line and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def make_problem(c, ntests, seed):
    """`ntests` hidden tests of 256 KiB each (the first NECHO echo 4 MiB:
    their expected outputs are blobs too), uploaded and stored as one task."""
    rng = random.Random(seed)
    tests, total = [sample()], 0
    t0 = time.monotonic()
    for i in range(ntests):
        echo = i < NECHO
        head = b"echo\n" if echo else (b"LAST\n" if i == ntests - 1 else b"test\n")
        data = head + rng.randbytes((ECHO_BYTES if echo else TEST_BYTES) - len(head))
        r = put_blob(c, data)
        assert r.status == 200 and r.json["complete"], r
        total += len(data)
        test = {"name": f"secret-{i:04d}", "hidden": True, "input_sha256": sha(data)}
        if echo:
            test["expected_sha256"] = sha(data)
        else:
            test["expected"] = counted(data)
        tests.append(test)
    upload_s = time.monotonic() - t0
    slug = f"large-{secrets.token_hex(3)}"
    r = c.post("/api/v1/author/tasks", {"task": blob_task(slug, tests)})
    assert r.status == 201, r
    print(f"\nuploaded {ntests} blobs, {total / MIB:.1f} MiB, in {upload_s:.1f} s")
    return {"slug": slug, "bytes": total, "author": c}


@pytest.fixture(scope="module")
def large_problem(gw, auth):
    c, _, acct = gwkit.register(gw.addr, session="token")
    assert auth.run_cli("set-role", acct["username"], "author").returncode == 0
    c.bearer = gwkit.Client(gw.addr).post("/api/v1/auth/login", {
        "login": acct["username"], "password": acct["password"],
        "session": "token"}).json["access_token"]
    return {"large": make_problem(c, NTESTS, 15), "small": make_problem(c, 10, 16)}


def submit_and_wait(learner, slug, code):
    r = learner.post("/api/v1/submissions", {"task_slug": slug, "language": "python3",
                                             "code": code})
    assert r.status == 202, r
    t0 = time.monotonic()
    done = wait_finished(learner, r.json["id"], timeout=max(GRADE_TIMEOUT, 3 * NTESTS))
    return done, time.monotonic() - t0


def test_problem_of_1000_tests_and_256_mib_is_judged(stack, executor, large_problem, learner):
    small, large_problem = large_problem["small"], large_problem["large"]
    assert large_problem["bytes"] >= 256 * MIB or NTESTS < 1000
    # The reference of the same run: a 10-test problem of the same shape.
    _, small_first_s = submit_and_wait(learner, small["slug"], COUNT)
    done, small_second_s = submit_and_wait(learner, small["slug"], COUNT)
    assert done.json["verdict"] == "ac", done.json
    misses0 = metric(executor, "dojo_executor_blob_cache_total", 'result="miss"')
    done, first_s = submit_and_wait(learner, large_problem["slug"], COUNT)
    res = done.json
    assert res["verdict"] == "ac", res
    assert res["max_score"] == NTESTS + 1 and res["score"] == NTESTS + 1, res
    assert len(res["tests"]) == NTESTS + 1 and all(t["verdict"] == "ac" for t in res["tests"])
    misses = metric(executor, "dojo_executor_blob_cache_total", 'result="miss"') - misses0
    assert misses == NTESTS, misses  # each blob fetched once (the echo tests' twice-named)
    rss = executor_rss_kib(executor)
    # Streamed to disk and into the sandbox: the executor never held the data.
    assert sanitized(executor.proc.pid) or rss["VmHWM"] < 160 * 1024, rss
    # Cached: the second run fetches nothing.
    hits0 = metric(executor, "dojo_executor_blob_cache_total", 'result="hit"')
    done, second_s = submit_and_wait(learner, large_problem["slug"], WRONG_LAST)
    res = done.json
    assert res["verdict"] == "wa" and res["score"] == NTESTS, res
    assert metric(executor, "dojo_executor_blob_cache_total", 'result="miss"') - misses0 == NTESTS
    assert metric(executor, "dojo_executor_blob_cache_total", 'result="hit"') - hits0 >= NTESTS
    print(f"\nBENCH {NTESTS} tests, {large_problem['bytes'] / MIB:.0f} MiB: submit -> finished "
          f"{first_s:.2f} s uncached (fetching), {second_s:.2f} s cached; 10 tests, "
          f"{small['bytes'] / MIB:.1f} MiB: {small_first_s:.2f} s uncached, "
          f"{small_second_s:.2f} s cached; ratio cached {second_s / small_second_s:.1f}x, "
          f"uncached {first_s / small_first_s:.1f}x; executor VmHWM {rss['VmHWM'] / 1024:.0f} MiB,"
          f" VmRSS {rss['VmRSS'] / 1024:.0f} MiB")


# ---------------------------------------------------------------------------
# The executor's cache under a small bound


def test_executor_blob_cache_evicts_and_survives_restart(stack, executor, author, workdir):
    """An executor of its own with a 16 MiB cache, driven by RunJob: three
    blobs of 9 MiB fit only one at a time once the job is done."""
    blobs = [secrets.token_bytes(9 * MIB) for _ in range(3)]
    for b in blobs:
        assert put_blob(author, b).json["complete"]
    slug = f"evict-{secrets.token_hex(3)}"
    tests = [sample()] + [{"name": f"h{i}", "hidden": True, "input_sha256": sha(b),
                           "expected": counted(b)}
                          for i, b in enumerate(blobs)]
    r = author.post("/api/v1/author/tasks", {"task": blob_task(slug, tests)})
    assert r.status == 201, r
    name = f"evict-exec-{secrets.token_hex(3)}"
    env = dict(executor.env)
    env.update({"DOJO_EXECUTOR_ID": name, "DOJO_EXECUTOR_BLOB_CACHE_MIB": "16",
                "DOJO_EXECUTOR_CONCURRENCY": "1"})
    env.pop("DOJO_EXECUTOR_ADDR", None)
    env.pop("DOJO_EXECUTOR_METRICS_ADDR", None)
    env.pop("DOJO_EXECUTOR_WORKDIR", None)
    ex = execkit.ExecutorProcess(env, workdir / name, name, authkit.free_port)
    cache = ex.workdir / "work" / "blobs"

    def run():
        job = epb.Job(submission_id="", kind=gpb.SUBMISSION_KIND_SUBMIT, task_slug=slug,
                      task_version=1, language="python3", code=COUNT)
        evs = ex.run_job(epb.RunJobRequest(job=job), service_key=stack["service_key"],
                         timeout=GRADE_TIMEOUT)
        return evs[-1].result

    try:
        ex.start(timeout=60)
        res = run()
        assert res.verdict == 1 and res.tests_passed == 4, res  # VERDICT_AC
        files = [p for p in cache.iterdir() if not p.name.startswith(".")]
        assert sum(p.stat().st_size for p in files) <= 16 * MIB, files
        assert len(files) == 1, files
        assert metric(ex, "dojo_executor_blob_cache_evictions_total") == 2
        kept = files[0].name
        assert ex.stop() == 0
        ex.start(timeout=60)
        assert "blob cache opened" in ex.log_text() and "blobs=1" in ex.log_text()
        misses0 = metric(ex, "dojo_executor_blob_cache_total", 'result="miss"')
        res = run()
        assert res.verdict == 1, res
        # The kept blob was a hit; the other two came again.
        assert metric(ex, "dojo_executor_blob_cache_total", 'result="miss"') - misses0 == 2
        assert metric(ex, "dojo_executor_blob_cache_total", 'result="hit"') >= 1
        assert kept in {sha(b) for b in blobs}
    finally:
        ex.stop()
