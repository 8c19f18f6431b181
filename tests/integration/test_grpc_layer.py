"""The gRPC layer as a stock client sees it: health, unknown methods, bad
payloads, graceful drain on SIGTERM, and metrics."""
import re
import secrets
import threading
import time

import grpc

from authkit import Client, expect_status, health_pb2, pb

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_health_check_reports_the_server_and_the_auth_service_serving(client):
    assert client.health("") == SERVING
    assert client.health("dojo.auth.v1.Auth") == SERVING
    expect_status(grpc.StatusCode.NOT_FOUND, client.health, "nope")


def test_health_watch_of_an_unknown_service_says_service_unknown(client):
    stream = client.watch("nope", timeout=5)
    assert next(stream).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    stream.cancel()


def test_health_watch_sends_serving_then_not_serving_on_sigterm_and_ends(start_auth):
    proc = start_auth(name="watched")
    stream = proc.client.watch("dojo.auth.v1.Auth", timeout=30)
    assert next(stream).status == SERVING
    proc.terminate()
    assert next(stream).status == NOT_SERVING
    assert list(stream) == []
    assert stream.code() == grpc.StatusCode.OK
    proc.close_client()
    assert proc.wait(30) == 0


def test_an_unknown_method_is_unimplemented_promptly(client):
    # A server that let such a call hang would end it with DEADLINE_EXCEEDED
    # after the 5 s deadline: the status code is the test, not a stopwatch.
    for path in ("/dojo.auth.v1.Auth/Nope", "/no.such.Service/Call"):
        err = expect_status(grpc.StatusCode.UNIMPLEMENTED, client.raw, path, b"", timeout=5)
        assert path in err.details()


def test_garbage_bytes_as_a_request_are_invalid_argument(client):
    for payload in (b"\xff\xff\xff\xff", b"\x0a\x05ab"):
        err = expect_status(grpc.StatusCode.INVALID_ARGUMENT, client.raw,
                            "/dojo.auth.v1.Auth/Login", payload)
        assert "malformed" in err.details()


def test_unknown_methods_do_not_grow_the_metrics_without_bound(client, auth):
    # Method names come from the client; a label per name would let anyone
    # grow the registry (and the scrape) without limit.
    tag = secrets.token_hex(4)
    for i in range(20):
        expect_status(grpc.StatusCode.UNIMPLEMENTED, client.raw,
                      f"/x{tag}.Svc/M{i}", b"", timeout=5)
    assert f"x{tag}" not in auth.metrics()


def _login_count(text, code):
    m = re.search(r'^dojo_rpc_calls_total\{method="/dojo\.auth\.v1\.Auth/Login",code="%s"\} '
                  r'(\S+)$' % code, text, re.M)
    return float(m.group(1)) if m else 0.0


def test_metrics_count_calls_by_method_and_code(client, auth):
    acct = client.new_account()
    client.login(acct.username, acct.password)
    text = auth.metrics()
    assert 'dojo_rpc_calls_total{method="/dojo.auth.v1.Auth/Login"' in text
    assert "# TYPE dojo_rpc_calls_total counter" in text
    before = _login_count(text, "UNAUTHENTICATED")
    expect_status(grpc.StatusCode.UNAUTHENTICATED, client.login, acct.username, "wrong pw 12345")
    assert _login_count(auth.metrics(), "UNAUTHENTICATED") == before + 1


def test_sigterm_lets_a_call_in_flight_finish_and_refuses_new_connections(start_auth):
    # A hash slow enough (~0.5 s on a quiet machine) to observe a drain; on a
    # busy one it takes many times that, so deadlines and the drain grace are
    # generous: what is tested is the order of events, not their speed.
    proc = start_auth(name="slow-hash", timeout=60, DOJO_AUTH_ARGON2_OPS="10",
                      DOJO_AUTH_ARGON2_MEM_KIB="262144", DOJO_RPC_DRAIN_GRACE="120s")
    c = proc.client
    start = time.monotonic()
    c.new_account(timeout=120)
    took = time.monotonic() - start
    assert took > 0.4, f"SignUp took only {took:.3f}s: too fast to test a drain"

    result = {}

    def sign_up():
        try:
            result["user"] = c.new_account(timeout=120).user
        except grpc.RpcError as e:
            result["error"] = e
        result["done"] = time.monotonic()

    t = threading.Thread(target=sign_up)
    t.start()
    time.sleep(0.1)
    proc.terminate()
    sent = time.monotonic()
    # While the call drains, the listener is closed: a new connection fails.
    time.sleep(0.1)
    late = Client(proc.addr)
    try:
        expect_status(grpc.StatusCode.UNAVAILABLE, late.health, "", timeout=2)
    finally:
        late.close()
    assert "done" not in result, "the SignUp ended before the drain could be observed"
    t.join(150)
    assert not t.is_alive()
    assert "error" not in result, result.get("error")
    assert result["user"].id
    assert result["done"] > sent
    proc.close_client()
    assert proc.wait(30) == 0
    after = Client(proc.addr)
    try:
        expect_status(grpc.StatusCode.UNAVAILABLE, after.health, "", timeout=2)
    finally:
        after.close()
    assert "drained" in proc.log_text()
