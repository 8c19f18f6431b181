"""The password-hash gate benchmark (issue 12). Not a test: it prints figures.

A sign-up burst straight at auth over gRPC: DOJO_BENCH_HASH_BURST learners
(default 200) send SignUp at the same moment, each on its own thread, with
the gateway's deadline for calls that hash (15 s). A learner refused with
UNAVAILABLE waits its retry-after (plus up to a second, as people and the
load generator do) and sends the same sign-up again; one whose deadline
passed sends it again too (the gateway would have answered 504), and
ALREADY_EXISTS then means auth made the account after the caller gave up.
Meanwhile one prober calls GetPublicKeys (no hash) every 50 ms: what the
burst does to auth's other callers.

Three settings of the same auth binary, same machine, same run, alternated
(DOJO_BENCH_HASH_ROUNDS rounds, default 2) so that the machine's load falls
on both:
  bounded    the shipped defaults: DOJO_AUTH_HASH_CONCURRENCY = cores, the
             queue = DOJO_RPC_WORKERS (128) - cores - 2;
  unbounded  DOJO_AUTH_HASH_CONCURRENCY = DOJO_RPC_WORKERS (128), no queue:
             every worker hashes at once;
  before     auth as it was: 8 RPC workers, all hashing at once, the rest of
             the burst in the RPC layer's queue, unbounded as it was then
             (DOJO_RPC_WORKERS=8, DOJO_AUTH_HASH_CONCURRENCY=8, no hash queue,
             DOJO_RPC_QUEUE_MAX=100000).
The reference of each round is one learner signing up alone (median of 10,
the same auth): burst latencies are also given as multiples of it.

With DOJO_BENCH_AUTH_BEFORE=<an auth binary built before the database pool
change> three more, each beside its setting with this tree's binary:
  slots8, slots8@before   8 hashes at once (an 8-core pod), the queue as
                          shipped: 16 connections waiting until the deadline
                          less 200 ms, against 8 waiting a fixed 3 s;
  unbounded@before        every worker hashes at once (where the 13
                          UNAVAILABLEs of the first run came from the pool).
Refusals are told apart by their message: the hash gate's, the pool's
("no database connection free"; the earlier binary's generic "service
unavailable"), the RPC queue's ("every worker taken").

    ./dojo bench hash
or, with a PostgreSQL and a Redis of your own:
    DOJO_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres \\
    DOJO_TEST_REDIS_ADDR=127.0.0.1:PORT \\
    /usr/bin/python3 -m pytest -s -q -p no:cacheprovider --rootdir=bench bench/hash_gate_bench.py
"""
import os
import random
import secrets
import statistics
import threading
import time

import grpc

import authkit
from dojo.auth.v1 import auth_pb2 as pb

BURST = int(os.environ.get("DOJO_BENCH_HASH_BURST", "200"))
ROUNDS = int(os.environ.get("DOJO_BENCH_HASH_ROUNDS", "2"))
DEADLINE_S = 15.0  # the gateway's deadline for calls that hash (3 x 5 s)
GIVE_UP_S = 300.0  # a learner stops trying after this long (counted as failed)
WORKERS = 128  # auth's default DOJO_RPC_WORKERS
CORES = os.cpu_count() or 1
SETTINGS = {
    "bounded": {},
    "unbounded": {"DOJO_AUTH_HASH_CONCURRENCY": str(WORKERS), "DOJO_AUTH_HASH_QUEUE": "0"},
    "before": {"DOJO_RPC_WORKERS": "8", "DOJO_AUTH_HASH_CONCURRENCY": "8",
               "DOJO_AUTH_HASH_QUEUE": "0", "DOJO_RPC_QUEUE_MAX": "100000"},
}
BEFORE_BIN = os.environ.get("DOJO_BENCH_AUTH_BEFORE", "")
PAIRS = []  # (this tree's setting, the same with the earlier binary)
if BEFORE_BIN:
    SETTINGS["slots8"] = {"DOJO_AUTH_HASH_CONCURRENCY": "8"}
    SETTINGS["slots8@before"] = dict(SETTINGS["slots8"])
    SETTINGS["unbounded@before"] = dict(SETTINGS["unbounded"])
    PAIRS = [("slots8", "slots8@before"), ("unbounded", "unbounded@before")]


def refusal_kind(err):
    d = err.details() or ""
    if "too many sign-ins" in d:
        return "gate"
    if "no database connection" in d or d == "service unavailable, try again":
        return "pool"
    if "every worker taken" in d:
        return "queue"
    return "other"


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def retry_after(err):
    for k, v in err.trailing_metadata() or ():
        if k == "retry-after":
            return int(v)
    return 1


def sign_up_request(tag, i):
    password = f"pw-{secrets.token_hex(8)}"
    authkit.remember_secret(password)
    return pb.SignUpRequest(email=f"{tag}-{i}@example.org", username=f"{tag}_{i}",
                            password=password, open_session=True, client_ip="127.0.0.1")


def learner(client, req, start, out, rng):
    """Signs up until it is done: out gets (total_ms, served_call_ms, tries,
    refused, timed_out, made_late)."""
    tries = refused = timed_out = 0
    kinds = {}
    made_late = False
    start.wait()
    t0 = time.monotonic()
    while time.monotonic() - t0 < GIVE_UP_S:
        tries += 1
        t = time.monotonic()
        try:
            resp = client.call("SignUp", req, timeout=DEADLINE_S)
            authkit.remember_secret(resp.session.access_token)
            authkit.remember_secret(resp.session.refresh_token)
            now = time.monotonic()
            out.append(((now - t0) * 1000, (now - t) * 1000, tries, refused, timed_out, False,
                        kinds))
            return
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                refused += 1
                kinds[refusal_kind(e)] = kinds.get(refusal_kind(e), 0) + 1
                time.sleep(retry_after(e) + rng.uniform(0, 1))
            elif e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                timed_out += 1
            elif e.code() == grpc.StatusCode.ALREADY_EXISTS and timed_out:
                made_late = True  # auth finished it after the caller had given up
                now = time.monotonic()
                out.append(((now - t0) * 1000, float("nan"), tries, refused, timed_out, True,
                            kinds))
                return
            else:
                raise
    out.append((float("nan"), float("nan"), tries, refused, timed_out, made_late, kinds))


def prober(client, stop, out):
    while not stop.is_set():
        t = time.monotonic()
        try:
            client.call("GetPublicKeys", pb.GetPublicKeysRequest(), timeout=DEADLINE_S)
            out.append((time.monotonic() - t) * 1000)
        except grpc.RpcError as e:
            # Refused at once (the RPC queue) is not a slow answer: counted apart.
            out.append(None if e.code() == grpc.StatusCode.UNAVAILABLE else DEADLINE_S * 1000)
        stop.wait(0.05)


def alone_ms(client, tag, n=10):
    times = []
    for i in range(n):
        req = sign_up_request(f"{tag}a", i)
        t = time.monotonic()
        client.call("SignUp", req, timeout=DEADLINE_S)
        times.append((time.monotonic() - t) * 1000)
    return statistics.median(times)


def burst(start_auth, infra, name, env):
    binary = BEFORE_BIN if name.endswith("@before") else None
    auth = start_auth(f"hash-{name.replace('@', '-')}", timeout=60, binary=binary,
                      DOJO_LOG_LEVEL="warn", **env)
    tag = f"hb{secrets.token_hex(3)}"
    clients = [authkit.Client(auth.addr) for _ in range(8)]
    try:
        ref = alone_ms(clients[0], tag)
        start, stop = threading.Event(), threading.Event()
        results, probes = [], []
        rng = random.Random(12)
        threads = [threading.Thread(target=learner, args=(
            clients[i % len(clients)], sign_up_request(tag, i), start, results,
            random.Random(rng.random()))) for i in range(BURST)]
        for t in threads:
            t.start()
        probe = threading.Thread(target=prober, args=(authkit.Client(auth.addr), stop, probes))
        t0 = time.monotonic()
        start.set()
        probe.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        stop.set()
        probe.join()
        db = auth.env["DOJO_PG_URL"].rsplit("/", 1)[1]
        made = int(infra.psql(
            f"SELECT count(*) FROM auth.users WHERE username LIKE '{tag}\\_%' "
            f"AND username NOT LIKE '{tag}a\\_%'", dbname=db).strip())
    finally:
        for c in clients:
            c.close()
    done = [r for r in results if r[0] == r[0]]
    served = [r[1] for r in results if r[1] == r[1]]
    return {
        "ref": ref, "wall": wall, "rate": len(done) / wall if wall else 0.0,
        "p50": pct([r[0] for r in done], 0.5), "p99": pct([r[0] for r in done], 0.99),
        "call_p50": pct(served, 0.5), "call_p99": pct(served, 0.99),
        "refused": sum(r[3] for r in results), "timed_out": sum(r[4] for r in results),
        "kinds": {k: sum(r[6].get(k, 0) for r in results)
                  for k in ("gate", "pool", "queue", "other")},
        "made_late": sum(1 for r in results if r[5]), "failed": BURST - len(done),
        "accounts": made, "probe_p50": pct([p for p in probes if p is not None], 0.5),
        "probe_p99": pct([p for p in probes if p is not None], 0.99),
        "probe_refused": sum(1 for p in probes if p is None),
    }


def test_hash_gate_benchmark(start_auth, infra):
    runs = {name: [] for name in SETTINGS}
    for _ in range(ROUNDS):
        for name, env in SETTINGS.items():
            runs[name].append(burst(start_auth, infra, name, env))

    print()
    print(f"hash gate: bursts of {BURST} sign-ups at once straight at auth (gRPC, "
          f"{DEADLINE_S:g} s deadline, retry on UNAVAILABLE after retry-after), "
          f"{WORKERS} RPC workers (before: 8), {CORES} cores, argon2id at the shipped cost; "
          f"{ROUNDS} rounds, alternated")
    for name, fs in runs.items():
        for k, f in enumerate(fs):
            print(f"  {name:<16} #{k + 1}: {f['rate']:6.1f} sign-ups/s ({BURST} in "
                  f"{f['wall']:5.1f} s); sign-up p50 {f['p50']:7.0f} ms p99 {f['p99']:7.0f} ms "
                  f"({f['p50'] / f['ref']:5.1f}x / {f['p99'] / f['ref']:5.1f}x alone = "
                  f"{f['ref']:.0f} ms); served call p50 {f['call_p50']:6.0f} p99 "
                  f"{f['call_p99']:6.0f} ms; refused {f['refused']} "
                  f"({', '.join(f'{k} {v}' for k, v in f['kinds'].items() if v) or 'none'}), "
                  f"deadline {f['timed_out']}, "
                  f"made after the deadline {f['made_late']}, failed {f['failed']}; accounts "
                  f"{f['accounts']} of {BURST}; GetPublicKeys p50 {f['probe_p50']:5.1f} p99 "
                  f"{f['probe_p99']:6.1f} ms, refused {f['probe_refused']}")

    def mean(name, key):
        return statistics.mean(f[key] for f in runs[name])

    for ref in ("unbounded", "before"):
        print(f"  bounded / {ref} (means of the rounds):")
        for key, label in (("rate", "throughput"), ("p50", "sign-up p50"),
                           ("p99", "sign-up p99"), ("call_p99", "served call p99"),
                           ("probe_p99", "GetPublicKeys p99")):
            u = mean(ref, key)
            print(f"    {label:<18} {mean('bounded', key) / u if u else float('nan'):6.2f}x")
    for after, before in PAIRS:
        print(f"  {after} / {before} (this tree's database pool / the earlier one; means):")
        for key, label in (("rate", "throughput"), ("p50", "sign-up p50"),
                           ("p99", "sign-up p99"), ("call_p99", "served call p99"),
                           ("probe_p99", "GetPublicKeys p99")):
            u = mean(before, key)
            print(f"    {label:<18} {mean(after, key) / u if u else float('nan'):6.2f}x")
        for k in ("pool", "gate", "queue"):
            print(f"    refused ({k})     {statistics.mean(f['kinds'][k] for f in runs[after]):6.1f}"
                  f" vs {statistics.mean(f['kinds'][k] for f in runs[before]):6.1f}")
    for name, fs in runs.items():
        for f in fs:
            assert f["accounts"] == BURST, (name, f)
