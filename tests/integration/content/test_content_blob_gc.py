"""The collector of unused blobs (services/content/blobgc.c): a content
process of its own database, with a grace of a second and batches of two,
collects the complete blobs nothing names — their owners, upload and chunks —
and keeps the ones a task version (the current one or an older one) names and
the one another author is uploading again. Real PostgreSQL, gRPC from Python."""
import hashlib
import json
import secrets
import time
import urllib.request

import grpc
import pytest

import contentkit
from dojo.content.v1 import content_pb2 as cpb

Status = grpc.StatusCode
contentkit.METHODS.setdefault("PutBlobChunk", cpb.BlobStatus)
contentkit.METHODS.setdefault("GetBlobStatus", cpb.BlobStatus)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def put(c, token, data, upto=None):
    """Uploads `data` in one chunk (only its first `upto` bytes when given)."""
    part = data if upto is None else data[:upto]
    return c.client.call("PutBlobChunk", cpb.PutBlobChunkRequest(
        sha256=sha(data), total_size=len(data), offset=0, data=part), token=token)


def status(c, token, data):
    """The blob's status for `token`'s owner, or None when there is none."""
    try:
        return c.client.call("GetBlobStatus", cpb.GetBlobStatusRequest(sha256=sha(data)),
                             token=token)
    except grpc.RpcError as e:
        assert e.code() == Status.NOT_FOUND, e
        return None


def read_blob(c, data):
    call = c.client.channel.unary_stream(
        "/dojo.content.v1.Content/ReadBlob",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=cpb.BlobChunk.FromString)
    out = b""
    for ch in call(cpb.ReadBlobRequest(sha256=sha(data)),
                   metadata=[("x-dojo-service-key", c.client.service_key)], timeout=30):
        out += ch.data
    return out


def metric(c, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{c.metrics_port}/metrics",
                                  timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + " ") or line.startswith(name + "{"))


def blob_task(slug, *blobs):
    tests = [{"name": "sample", "input": "1 2\n", "expected": "3\n"}]
    for i, b in enumerate(blobs):
        tests.append({"name": f"big-{i}", "hidden": True, "input_sha256": sha(b),
                      "expected": "x\n"})
    return contentkit.task(slug, tests=tests)


def store(c, token, doc, create):
    req = cpb.TaskInput(json=json.dumps(doc))
    if create:
        return c.client.call("CreateTask", cpb.CreateTaskRequest(input=req), token=token)
    return c.client.call("UpdateTask", cpb.UpdateTaskRequest(slug=doc["slug"], input=req),
                         token=token)


def test_unused_blobs_are_collected_and_used_ones_kept(start_content, tokens):
    c = start_content(DOJO_CONTENT_BLOB_GC_INTERVAL="200ms", DOJO_CONTENT_BLOB_GC_GRACE="1s",
                      DOJO_CONTENT_BLOB_GC_BATCH="2")
    author, other = tokens["author"], tokens["admin"]
    blob = lambda: secrets.token_bytes(3000 + secrets.randbelow(5000))  # noqa: E731
    # The kept ones first: they are older than every collected one, so the
    # pass that takes the last orphan has seen each of them past its grace.
    old_ref, cur_ref, again = blob(), blob(), blob()
    for b in (old_ref, cur_ref, again):
        assert put(c, author, b).complete
    # Version 1 names old_ref; version 2 only cur_ref: both stay.
    store(c, author, blob_task("gc-kept", old_ref), create=True)
    v2 = store(c, author, blob_task("gc-kept", cur_ref), create=False)
    assert v2.task.version == 2
    # Another author uploading `again` (theirs stays incomplete for now).
    part = put(c, other, again, upto=100)
    assert not part.complete and part.received == 100
    # Unused: five blobs, collected over three batches.
    orphans = [blob() for _ in range(5)]
    for b in orphans:
        assert put(c, author, b).complete

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(status(c, author, b) for b in orphans):
        time.sleep(0.2)
    left = [sha(b)[:12] for b in orphans if status(c, author, b)]
    assert left == [], f"not collected: {left}\n" + c.log_tail()
    assert metric(c, "dojo_content_blob_gc_collected_total") == len(orphans)
    assert metric(c, "dojo_content_blob_gc_collected_bytes_total") == sum(map(len, orphans))
    assert "unused blobs collected" in c.log_text()

    # Still there, whole: what a version names, and what an upload finishes.
    for b in (old_ref, cur_ref, again):
        st = status(c, author, b)
        assert st is not None and st.complete and st.size == len(b), sha(b)[:12]
        assert read_blob(c, b) == b
    done = c.client.call("PutBlobChunk", cpb.PutBlobChunkRequest(
        sha256=sha(again), total_size=len(again), offset=100, data=again[100:]), token=other)
    assert done.complete and done.size == len(again)
    # A collected blob is gone for the executor too, and can come back (a
    # new upload: every byte again).
    with pytest.raises(grpc.RpcError) as ei:
        read_blob(c, orphans[0])
    assert ei.value.code() == Status.NOT_FOUND
    back = put(c, author, orphans[0])
    assert back.complete and back.received == len(orphans[0])
    # A task may not name a collected blob.
    with pytest.raises(grpc.RpcError) as ei:
        store(c, author, blob_task("gc-gone", orphans[1]), create=True)
    assert "upload it first" in ei.value.details(), ei.value.details()
    # The operator's one pass, beside the serving one.
    r = c.run_cli("gc-blobs")
    assert r.returncode == 0 and r.stdout.startswith("collected "), r.stdout + r.stderr


def test_blob_status_answers_while_a_chunk_of_the_upload_is_being_written(start_content,
                                                                           content_env, tokens):
    """GetBlobStatus is a read: it neither waits for the row lock a chunk's
    write holds (PutBlobChunk's transaction, here a psql session's) nor
    leaves a transaction open (it used to BEGIN, lock the upload and never
    commit)."""
    import subprocess
    c = start_content()
    author = tokens["author"]
    data = secrets.token_bytes(4000)
    assert put(c, author, data, upto=100).received == 100
    holder = subprocess.Popen(["psql", content_env["DOJO_PG_URL"], "-qAtX", "-v",
                               "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        holder.stdin.write("BEGIN;\nSELECT received FROM content.blob_uploads "
                           f"WHERE sha256 = '{sha(data)}' FOR UPDATE;\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "100"
        # Generous: the lock is held until the session ends, so a call that
        # waits for it never answers.
        st = c.client.call("GetBlobStatus", cpb.GetBlobStatusRequest(sha256=sha(data)),
                           token=author, timeout=30)
        assert (st.complete, st.size, st.received) == (False, len(data), 100), st
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    for _ in range(3):
        st = status(c, author, data)
        assert st.received == 100 and not st.complete
    # The upload goes on where it stood.
    done = c.client.call("PutBlobChunk", cpb.PutBlobChunkRequest(
        sha256=sha(data), total_size=len(data), offset=100, data=data[100:]), token=author)
    assert done.complete and done.size == len(data)
