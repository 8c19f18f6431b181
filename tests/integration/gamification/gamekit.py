"""gamekit — helpers for the gamification integration tests: service
processes (gamification, content), the controllable clock, a stock-gRPC
client for dojo.gamification.v1.Gamification, and the test content folder."""
import datetime as dt
import hashlib
import json
import os
import secrets
import signal
import subprocess
import time
import uuid
from pathlib import Path

import grpc

from dojo.common.v1 import common_pb2
from dojo.gamification.v1 import gamification_pb2 as gpb
from dojo_health import health_pb2

REPO = Path(__file__).resolve().parents[3]
SERVICE = "dojo.gamification.v1.Gamification"
AC = common_pb2.VERDICT_AC
WA = common_pb2.VERDICT_WA
SUBMIT = gpb.SUBMISSION_KIND_SUBMIT
RUN = gpb.SUBMISSION_KIND_RUN

METHODS = {
    "CreateSubmission": gpb.CreateSubmissionResponse,
    "RecordResult": gpb.RecordResultResponse,
    "GetSubmission": gpb.GetSubmissionResponse,
    "ListSubmissions": gpb.ListSubmissionsResponse,
    "GetProgress": gpb.GetProgressResponse,
    "ListTaskStats": gpb.ListTaskStatsResponse,
    "GetLeaderboard": gpb.GetLeaderboardResponse,
    "SetLeaderboardOptOut": gpb.SetLeaderboardOptOutResponse,
    "CreateCohort": gpb.CreateCohortResponse,
    "AddCohortMember": gpb.AddCohortMemberResponse,
    "RemoveCohortMember": gpb.RemoveCohortMemberResponse,
    "ListCohorts": gpb.ListCohortsResponse,
    "ListCohortMembers": gpb.ListCohortMembersResponse,
    "SetUserProfile": gpb.SetUserProfileResponse,
    "SaveDraft": gpb.SaveDraftResponse,
    "GetDraft": gpb.GetDraftResponse,
    "ListContestViews": gpb.ListContestViewsResponse,
    "GetContestView": gpb.GetContestViewResponse,
    "RegisterContest": gpb.RegisterContestResponse,
    "PutContestTeam": gpb.PutContestTeamResponse,
    "ListContestTeams": gpb.ListContestTeamsResponse,
    "SetContestJury": gpb.SetContestJuryResponse,
    "ListContestSubmissions": gpb.ListContestSubmissionsResponse,
    "GetContestSubmission": gpb.GetContestSubmissionResponse,
    "ListContestJudgements": gpb.ListContestJudgementsResponse,
    "RejudgeContest": gpb.RejudgeContestResponse,
    "OverrideVerdict": gpb.OverrideVerdictResponse,
    "ListContestAudit": gpb.ListContestAuditResponse,
    "CreateClarification": gpb.CreateClarificationResponse,
    "ListClarifications": gpb.ListClarificationsResponse,
    "GetScoreboard": gpb.GetScoreboardResponse,
    "ThawContest": gpb.ThawContestResponse,
    "RevealNext": gpb.RevealNextResponse,
    "FinalizeContest": gpb.FinalizeContestResponse,
    "ListContestEvents": gpb.ListContestEventsResponse,
}


def bin_dir():
    return Path(os.environ.get("DOJO_BIN_DIR") or REPO / "bazel-bin")


def binary(name):
    return bin_dir() / "services" / name / name


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_user():
    return str(uuid.uuid4())


# ---------------------------------------------------------------------------
# The clock: DOJO_CLOCK_FILE holds unix seconds, rewritten atomically.


def ts(text):
    """Unix seconds of an ISO 8601 time with an offset ("2026-03-07T23:30:00-08:00")."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Clock:
    def __init__(self, path):
        self.path = Path(path)
        self.now = None

    def set(self, when):
        """`when`: unix seconds or an ISO 8601 time with an offset."""
        self.now = ts(when) if isinstance(when, str) else float(when)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{self.now:.6f}\n")
        os.replace(tmp, self.path)
        return self.now

    def advance(self, seconds):
        return self.set(self.now + seconds)


# ---------------------------------------------------------------------------
# Processes


class ServiceProcess:
    """One service binary on a free loopback port, logging to its own file."""

    def __init__(self, name, binary_path, env, workdir, addr_var, metrics_var):
        self.name = name
        self.binary = Path(binary_path)
        self.addr = f"127.0.0.1:{free_port()}"
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{name}.log"
        self.env = dict(env)
        self.env[addr_var] = self.addr
        self.env[metrics_var] = f"127.0.0.1:{free_port()}"
        self.proc = None
        self._channel = None

    def start(self, timeout=20):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([str(self.binary)], env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} while "
                                   f"starting\n{self.log_tail()}")
            ch = grpc.insecure_channel(self.addr)
            try:
                stub = ch.unary_unary("/grpc.health.v1.Health/Check",
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=health_pb2.HealthCheckResponse.FromString)
                if stub(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return self
            except grpc.RpcError:
                pass
            finally:
                ch.close()
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"{self.name} not SERVING within {timeout}s\n{self.log_tail()}")

    def log_tail(self, lines=60):
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except FileNotFoundError:
            text = []
        return f"--- last lines of {self.log_path} ---\n" + "\n".join(text)

    def stop(self, timeout=30):
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} did not exit after SIGTERM\n{self.log_tail()}")


# ---------------------------------------------------------------------------
# Client


class GameClient:
    def __init__(self, addr, service_key):
        self.channel = grpc.insecure_channel(addr)
        self.service_md = (("x-dojo-service-key", service_key),)

    def close(self):
        self.channel.close()

    def call(self, method, request, token=None, service=None, timeout=15):
        """As a service unless a user token is given (or service=False)."""
        stub = self.channel.unary_unary(
            f"/{SERVICE}/{method}", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=METHODS[method].FromString)
        md = []
        if token is not None:
            md.append(("authorization", f"Bearer {token}"))
        elif service is not False:
            md.extend(self.service_md)
        return stub(request, metadata=md, timeout=timeout)

    # --- conveniences (as a service) ---
    def profile(self, user, time_zone="", display_name="", initial=False):
        return self.call("SetUserProfile", gpb.SetUserProfileRequest(
            user_id=user, time_zone=time_zone, display_name=display_name, initial=initial))

    def create(self, user, slug, kind=SUBMIT, version=1, code="print(1)\n", key=""):
        return self.call("CreateSubmission", gpb.CreateSubmissionRequest(
            user_id=user, task_slug=slug, task_version=version, language="python3",
            code_hash=hashlib.sha256(code.encode()).hexdigest(), kind=kind, code=code,
            idempotency_key=key)).submission_id

    def record(self, sub_id, verdict=AC, tests=None, finished_at=None, score=None, max_score=None):
        tests = tests if tests is not None else [
            gpb.TestResult(index=0, name="t1", verdict=verdict, weight=1)]
        mx = max_score if max_score is not None else sum(t.weight for t in tests)
        sc = score if score is not None else sum(t.weight for t in tests
                                                 if t.verdict == AC)
        req = gpb.RecordResultRequest(submission_id=sub_id, verdict=verdict, score=sc,
                                      max_score=mx, tests=tests, executor_id="it-exec")
        if finished_at is not None:
            req.finished_at.unix_micros = int(finished_at * 1_000_000)
        return self.call("RecordResult", req)

    def solve(self, user, slug, verdict=AC, kind=SUBMIT):
        """CreateSubmission + RecordResult; returns the RecordResultResponse."""
        return self.record(self.create(user, slug, kind=kind), verdict=verdict)

    def progress(self, user, token=None):
        return self.call("GetProgress", gpb.GetProgressRequest(user_id=user), token=token)

    def board(self, board, user="", cohort="", page_size=0, page_token="", token=None):
        return self.call("GetLeaderboard", gpb.GetLeaderboardRequest(
            board=board, user_id=user, cohort_slug=cohort,
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token)),
            token=token)


# ---------------------------------------------------------------------------
# Test content: tasks and one achievement per rule kind


TASKS = [
    # slug, difficulty, points, tags
    ("g-hello", "easy", 10, ["basics", "strings"]),
    ("g-sum", "easy", 15, ["basics"]),
    ("g-sort", "medium", 40, ["sorting"]),
    ("g-graph", "hard", 80, ["graphs"]),
    ("g-prime", "hard", 70, ["number-theory"]),
]
POINTS = {slug: pts for slug, _, pts, _ in TASKS}

ACHIEVEMENTS = [
    ("first-solve", {"kind": "first_solve"}),
    ("three-solved", {"kind": "tasks_solved", "threshold": 3}),
    ("points-100", {"kind": "points", "threshold": 100}),
    ("streak-3", {"kind": "streak_days", "threshold": 3}),
    ("basics-done", {"kind": "tag_complete", "tag": "basics"}),
    ("easy-done", {"kind": "difficulty_complete", "difficulty": "easy"}),
    ("first-try-2", {"kind": "first_attempt", "threshold": 2}),
    ("hard-2", {"kind": "difficulty_solved", "difficulty": "hard", "threshold": 2}),
    ("everything", {"kind": "all_tasks"}),
]


def write_content(directory):
    d = Path(directory)
    (d / "tasks").mkdir(parents=True, exist_ok=True)
    (d / "achievements").mkdir(parents=True, exist_ok=True)
    for slug, diff, pts, tags in TASKS:
        task = {
            "slug": slug,
            "title": f"Task {slug}",
            "difficulty": diff,
            "points": pts,
            "description": f"Print the answer for {slug}.",
            "tags": tags,
            "languages": [{"language": "python3", "starter_code": ""}],
            "tests": [
                {"name": "sample", "input": "1\n", "expected": "1\n", "hidden": False,
                 "weight": 1},
                {"name": "secret", "input": "2\n", "expected": "2\n", "hidden": True,
                 "weight": 1},
            ],
            "hints": [],
            "reference_solutions": [
                {"name": "ref", "language": "python3", "code": "print(input())\n"}],
        }
        (d / "tasks" / f"{slug}.json").write_text(json.dumps(task, indent=2) + "\n")
    for i, (slug, rule) in enumerate(ACHIEVEMENTS):
        a = {"slug": slug, "title": f"Title {slug}", "description": f"Earn {slug}.",
             "icon": "star", "rule": rule, "sort_order": i + 1}
        (d / "achievements" / f"{slug}.json").write_text(json.dumps(a, indent=2) + "\n")
    return d


def unique_prefix():
    return f"dojo-it:{secrets.token_hex(4)}:game:"
