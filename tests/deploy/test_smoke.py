"""The chart's workloads as real containers: `podman kube play` of the rendered
Deployments (built images, host network, loopback only) against the test run's
throwaway PostgreSQL and Redis.

- Through that gateway a learner registers and gets a graded submission.
- A second executor pod takes jobs from the same consumer group.
- An executor pod killed mid-job has its job finished by the other, recorded once.
- An executor pod stopped (SIGTERM) mid-job finishes that job and exits 0.
- The probes the chart declares answer on the ports they name.

Run by ./dojo test's deploy stage (tests/deploy/stage.sh), which builds the
images and exports DOJO_DEPLOY_* and DOJO_TEST_*.
"""
import copy
import http.client
import json
import os
import secrets
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TMP = Path(os.environ.get("DOJO_DEPLOY_TMP", "/tmp"))
IMAGES = Path(os.environ.get("DOJO_DEPLOY_IMAGES", ""))
HELM = os.environ.get("DOJO_DEPLOY_HELM", "")
PG_URL = os.environ.get("DOJO_DEPLOY_PG_URL", "")
REDIS = os.environ.get("DOJO_TEST_REDIS_ADDR", "")
TASK = "second-largest"
TASK_POINTS = 15
# Slow enough to be caught in the middle; each test sleeps without using CPU.
SLOW = "import time\ntime.sleep(0.6)\n"
WAIT = 120  # generous: other test runs may share this machine's cores

if not (IMAGES.is_dir() and HELM and PG_URL and REDIS):
    pytest.skip("run by ./dojo test deploy (needs the images, helm and the throwaway servers)",
                allow_module_level=True)


def podman(*args, check=True, timeout=300, **kw):
    # Everything of this run under TMP, per-boot state (--tmpdir, default the
    # machine-wide /run/libpod) included: other runs may use podman meanwhile.
    cmd = ["podman", "--root", str(TMP / "storage"), "--runroot", str(TMP / "run"),
           "--tmpdir", str(TMP / "tmp"), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[7:])}: exit {r.returncode}\n{r.stderr[-2000:]}")
    return r


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def reference_solution():
    task = json.loads((REPO / "content/tasks" / f"{TASK}.json").read_text())
    return next(s["code"] for s in task["reference_solutions"] if s["expected_verdict"] == "ac")


# ---------------------------------------------------------------------------
# HTTP against the gateway


class Api:
    def __init__(self, addr):
        self.host, self.port = addr.split(":")
        self.bearer = None

    def call(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if self.bearer:
            hdrs["Authorization"] = f"Bearer {self.bearer}"
        c.request(method, path, body=data, headers=hdrs)
        r = c.getresponse()
        payload = r.read()
        c.close()
        return r.status, (json.loads(payload) if payload else None)


def register(api):
    tag = secrets.token_hex(5)
    st, doc = api.call("POST", "/api/v1/auth/register", {
        "email": f"k3s-{tag}@example.org", "username": f"k3s_{tag}",
        "password": f"pw-{secrets.token_hex(8)}", "session": "token"})
    assert st == 201, (st, doc)
    api.bearer = doc["access_token"]
    return doc


def submit(api, code):
    st, doc = api.call("POST", "/api/v1/submissions",
                       {"task_slug": TASK, "language": "python3", "code": code})
    assert st == 202, (st, doc)
    return doc["id"] if "id" in doc else doc["submission_id"]


def events(api, sid):
    st, doc = api.call("GET", f"/api/v1/submissions/{sid}/events")
    assert st == 200, (st, doc)
    return doc


def wait_done(api, sid, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        doc = events(api, sid)
        if doc["done"]:
            return doc
        assert time.monotonic() < deadline, f"{sid}: no result within {timeout}s: {doc}"
        time.sleep(0.2)


def wait_started(api, sid, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        started = [e for e in events(api, sid)["events"] if e["kind"] == "started"]
        if started:
            return started[-1]
        assert time.monotonic() < deadline, f"{sid} never started"
        time.sleep(0.05)


def final(doc):
    """The FinalResult of a finished submission's events (exactly one `result` event)."""
    results = [e for e in doc["events"] if e["kind"] == "result"]
    assert len(results) == 1, results
    return results[0]["result"]


def assert_accepted(doc):
    r = final(doc)
    assert r["verdict"] == "ac" and r["tests_passed"] == r["tests_total"] > 0 and r["recorded"], r


def metric(addr, name, labels=""):
    text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{" if labels else name) and labels in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


# ---------------------------------------------------------------------------
# The stack: rendered by helm, played by podman


class Stack:
    def __init__(self):
        names = ["gateway", "auth", "content", "gamification", "executor"]
        ports = free_ports(2 * len(names) + 2)
        self.port = {n: ports[2 * i] for i, n in enumerate(names)}
        self.metrics = {n: ports[2 * i + 1] for i, n in enumerate(names)}
        self.port_b, self.metrics_b = ports[-2], ports[-1]
        self.tag = (IMAGES / "images.txt").read_text().split()[1].rsplit(":", 1)[1]
        sets = [f"image.tag={self.tag}", f"postgresql.external.url={PG_URL}",
                f"redis.external.url={REDIS}", f"secrets.serviceKey={secrets.token_hex(32)}",
                f"secrets.authMasterKey={__import__('base64').b64encode(os.urandom(32)).decode()}"]
        for n in names:
            sets += [f"{n}.port={self.port[n]}", f"{n}.metricsPort={self.metrics[n]}"]
        out = subprocess.run(
            [HELM, "template", "dojo", str(REPO / "charts/dojo"), "-n", "dojo",
             "-f", str(HERE / "smoke-values.yaml"), *sum((["--set", s] for s in sets), [])],
            capture_output=True, text=True, check=True).stdout
        self.docs = [d for d in yaml.safe_load_all(out) if d]
        self.deploy = {d["metadata"]["name"].removeprefix("dojo-"): d
                       for d in self.docs if d["kind"] == "Deployment"}
        assert sorted(self.deploy) == sorted(names), sorted(self.deploy)
        self.secrets_made = set()

    def second_executor(self):
        """The executor Deployment again, as a second pod on this one host (its own ports)."""
        d = copy.deepcopy(self.deploy["executor"])
        d["metadata"]["name"] += "-b"
        c = d["spec"]["template"]["spec"]["containers"][0]
        swap = {str(self.port["executor"]): str(self.port_b),
                str(self.metrics["executor"]): str(self.metrics_b)}
        for e in c["env"]:
            if "value" in e:
                for a, b in swap.items():
                    e["value"] = e["value"].replace(":" + a, ":" + b)
        for p in c["ports"]:
            p["containerPort"] = int(swap.get(str(p["containerPort"]), p["containerPort"]))
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            for kind in ("grpc", "httpGet"):
                if kind in c.get(probe, {}):
                    c[probe][kind]["port"] = int(swap[str(c[probe][kind]["port"])])
        return d

    def play(self, docs, name):
        # On the host network containerPort only documents the port (Kubernetes
        # maps nothing); podman 4.3 refuses it there ("PortMappings can only be
        # used with Bridge or slirp4netns networking").
        docs = copy.deepcopy(docs)
        for d in docs:
            if d["kind"] == "Deployment":
                for c in d["spec"]["template"]["spec"]["containers"]:
                    c.pop("ports", None)
        path = TMP / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        podman("kube", "play", str(path), timeout=600)

    def config_docs(self):
        """The ConfigMaps, and the Secrets as podman secrets: podman 4.3's kube play
        resolves secretRef from a podman secret holding the Secret's `data` as
        JSON (it fails on the Secret documents themselves)."""
        for d in self.docs:
            if d["kind"] == "Secret" and d["metadata"]["name"] not in self.secrets_made:
                path = TMP / f"secret-{d['metadata']['name']}.json"
                path.write_text(json.dumps(d["data"]))
                path.chmod(0o600)
                podman("secret", "create", d["metadata"]["name"], str(path))
                path.unlink()
                self.secrets_made.add(d["metadata"]["name"])
        return [d for d in self.docs if d["kind"] == "ConfigMap"]

    def wait_healthy(self, addr, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"http://{addr}/healthz", timeout=2).read()
                return
            except OSError:
                assert time.monotonic() < deadline, f"http://{addr}/healthz not up in {timeout}s"
                time.sleep(0.2)

    def logs(self, deployment, container):
        r = podman("logs", "--tail", "40", f"{deployment}-pod-0-{container}", check=False)
        return r.stdout + r.stderr


@pytest.fixture(scope="module")
def stack():
    for f in sorted(IMAGES.glob("*.oci.tar")):
        if f.stem.split(".")[0] in ("postgres", "redis"):
            continue  # the test run's own servers stand in for them
        podman("load", "-i", str(f), timeout=600)
    s = Stack()
    order = ["auth", "content", "gamification", "executor", "gateway"]
    s.play(s.config_docs() + [s.deploy[n] for n in order], "dojo")
    try:
        for n in order:
            s.wait_healthy(f"127.0.0.1:{s.metrics[n]}")
        yield s
    except BaseException:
        for n in order:
            print(f"--- {n}\n" + s.logs(f"dojo-{n}", n))
        raise
    finally:
        podman("pod", "rm", "-f", "-a", "-t", "5", check=False)


@pytest.fixture(scope="module")
def learner(stack):
    api = Api(f"127.0.0.1:{stack.port['gateway']}")
    register(api)
    return api


def grpc_health(addr):
    """grpc.health.v1.Health/Check for the server (service ""), as raw bytes:
    the request is empty, SERVING is field 1 = 1 (b"\\x08\\x01")."""
    import grpc
    with grpc.insecure_channel(addr) as ch:
        check = ch.unary_unary("/grpc.health.v1.Health/Check",
                               request_serializer=lambda b: b, response_deserializer=lambda b: b)
        return check(b"", timeout=5)


def test_probes_of_the_chart_answer(stack):
    for name, d in stack.deploy.items():
        c = d["spec"]["template"]["spec"]["containers"][0]
        for probe in ("livenessProbe", "startupProbe"):
            get = c[probe]["httpGet"]
            urllib.request.urlopen(f"http://127.0.0.1:{get['port']}{get['path']}", timeout=5).read()
        ready = c["readinessProbe"]
        if "grpc" in ready:
            assert grpc_health(f"127.0.0.1:{ready['grpc']['port']}") == b"\x08\x01", name
        else:
            get = ready["httpGet"]
            urllib.request.urlopen(f"http://127.0.0.1:{get['port']}{get['path']}", timeout=5).read()


def test_learner_registers_and_gets_a_graded_submission(stack, learner):
    sid = submit(learner, reference_solution())
    doc = wait_done(learner, sid)
    assert_accepted(doc)
    started = [e for e in doc["events"] if e["kind"] == "started"]
    # DOJO_EXECUTOR_ID is the pod's name (downward API).
    assert started[-1]["executor_id"] == "dojo-executor-pod-0", started
    st, prog = learner.call("GET", "/api/v1/me/progress")
    assert st == 200 and prog["total_points"] == TASK_POINTS, prog


def test_second_executor_pod_takes_jobs_from_the_same_group(stack, learner):
    stack.play(stack.config_docs() + [stack.second_executor()], "executor-b")
    stack.wait_healthy(f"127.0.0.1:{stack.metrics_b}")
    # Both executors run one job at a time: slow jobs in a row must spread over the two.
    sids = [submit(learner, SLOW + reference_solution()) for _ in range(4)]
    ids = set()
    for sid in sids:
        doc = wait_done(learner, sid)
        ids |= {e["executor_id"] for e in doc["events"] if e["kind"] == "started"}
    assert len(ids) == 2, ids


def _executor_pods():
    out = podman("pod", "ps", "--format", "{{.Name}}").stdout.split()
    return sorted(p for p in out if "executor" in p)


def test_killed_executor_pod_has_its_job_finished_by_the_other_recorded_once(stack):
    game = f"127.0.0.1:{stack.metrics['gamification']}"
    recorded_before = metric(game, "dojo_gamification_results_total", 'outcome="recorded"')
    learner = Api(f"127.0.0.1:{stack.port['gateway']}")
    register(learner)  # a first solve: its points must be awarded exactly once
    sid = submit(learner, SLOW + SLOW + reference_solution())
    victim = wait_started(learner, sid)["executor_id"]
    assert victim in _executor_pods(), (victim, _executor_pods())
    pod = victim
    podman("pod", "kill", "-s", "KILL", pod)
    doc = wait_done(learner, sid)
    started = [e for e in doc["events"] if e["kind"] == "started"]
    assert [e["attempt"] for e in started] == [1, 2], started
    assert started[0]["executor_id"] != started[1]["executor_id"]
    assert_accepted(doc)
    assert metric(game, "dojo_gamification_results_total", 'outcome="recorded"') == recorded_before + 1
    _, after = learner.call("GET", "/api/v1/me/progress")
    assert after["total_points"] == TASK_POINTS, after
    podman("pod", "rm", "-f", pod, check=False)


def test_executor_pod_stopped_mid_job_drains_it_and_exits_0(stack, learner):
    """What Kubernetes does on scale-down, rollout or node drain: SIGTERM, then
    terminationGracePeriodSeconds before SIGKILL."""
    (pod,) = _executor_pods()  # the survivor of the test above
    grace = stack.deploy["executor"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    sid = submit(learner, SLOW + SLOW + reference_solution())
    assert wait_started(learner, sid)["executor_id"] == pod
    podman("pod", "stop", "-t", str(grace), pod, timeout=grace + 30)
    doc = wait_done(learner, sid, timeout=10)
    assert [e["attempt"] for e in doc["events"] if e["kind"] == "started"] == [1]
    assert_accepted(doc)
    code = podman("inspect", "--format", "{{.State.ExitCode}}", f"{pod}-executor").stdout.strip()
    assert code == "0", (code, stack.logs(pod.removesuffix("-pod-0"), "executor"))
