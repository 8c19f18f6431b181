"""classkit — helpers of the classroom tests: people (teachers, learners,
an admin) with clients on the gateway, checked API calls (every answer
validated against docs/openapi.yaml), and submissions recorded at a given
instant of the stack's clock."""
import hashlib
import secrets
from dataclasses import dataclass

import contentkit
import gamekit
import gwkit
from dojo.gamification.v1 import gamification_pb2 as gpb

AC = gamekit.AC
WA = gamekit.WA

TASKS = ["cls-add", "cls-echo", "cls-max"]


def task_docs():
    docs = []
    for slug in TASKS:
        docs.append(contentkit.task(slug, title=f"Task {slug}", tests=[
            {"name": "sample", "input": "1\n", "expected": "1\n"},
            {"name": "second", "input": "2\n", "expected": "2\n"},
            {"name": "secret", "input": "3\n", "expected": "3\n", "hidden": True}]))
    return docs


@dataclass
class Stack:
    gw: object
    game: object
    game_client: object
    clock: object
    auth: object
    content: object


class Person:
    def __init__(self, client, account, user_id):
        self.c = client
        self.account = account
        self.id = user_id

    @property
    def username(self):
        return self.account["username"]


def person(st, role=None, **overrides):
    """A new account signed in through the gateway (cookies, like a browser),
    with `role` given by the operator command line."""
    c, r, acct = gwkit.register(st.gw.addr, **overrides)
    p = Person(c, acct, r.json["user"]["id"])
    if role:
        res = st.auth.run_cli("set-role", acct["username"], role)
        assert res.returncode == 0, res.stderr
        login = c.post("/api/v1/auth/login", {"login": acct["username"],
                                              "password": acct["password"]})
        assert login.status == 200, login
    return p


def call(spec, who, method, path, body=None, expect=None):
    """One call, checked against the OpenAPI document; `expect` the status."""
    r = who.c.call(method, path, body)
    spec.check(method, path, r)
    if expect is not None:
        assert r.status == expect, (method, path, r)
    return r


def new_class(spec, teacher, title="Maths 4B", zone="Europe/Berlin"):
    return call(spec, teacher, "POST", "/api/v1/classes",
                {"title": title, "time_zone": zone}, 201).json


def join(spec, learner, code):
    return call(spec, learner, "POST", "/api/v1/classes/join", {"code": code}, 200).json


def assign(spec, teacher, class_id, tasks=TASKS, expect=201, **fields):
    body = {"title": fields.pop("title", "Week 1"), "task_slugs": list(tasks)}
    body.update(fields)
    return call(spec, teacher, "POST", f"/api/v1/classes/{class_id}/assignments", body, expect).json


def submit(st, user_id, slug, at, verdict=AC, score=None, tests=None):
    """A SUBMIT made at `at` (the clock is set there) and its result."""
    st.clock.set(at)
    code = f"print({secrets.token_hex(3)!r})\n"
    sub = st.game_client.create(user_id, slug, code=code)
    if tests is None:
        tests = [gpb.TestResult(index=0, name="sample", verdict=AC, weight=1),
                 gpb.TestResult(index=1, name="second", verdict=verdict, weight=1),
                 gpb.TestResult(index=2, name="hidden-1", hidden=True, verdict=verdict, weight=1)]
    st.game_client.record(sub, verdict=verdict, tests=tests, score=score)
    return sub


def code_hash(code):
    return hashlib.sha256(code.encode()).hexdigest()
