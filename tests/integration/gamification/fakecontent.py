"""A stand-in for the content service, for developing gamification before the
real one exists: serves GetTask, ListTasks and ListAchievements of
dojo.content.v1.Content from the same folder of JSON files the real binary
reads (DIR/tasks/*.json, DIR/achievements/*.json), in the file form documented
in content.proto. Used only when DOJO_TEST_FAKE_CONTENT=1 and the real binary
is missing; never a substitute for testing against the real service."""
import json
from concurrent import futures
from pathlib import Path

import grpc

from dojo.common.v1 import common_pb2
from dojo.content.v1 import content_pb2 as cpb

DIFF = {"easy": 1, "medium": 2, "hard": 3}
DEFAULT_POINTS = {1: 10, 2: 30, 3: 60}
RULES = {
    "first_solve": 1, "tasks_solved": 2, "points": 3, "streak_days": 4, "tag_complete": 5,
    "difficulty_complete": 6, "first_attempt": 7, "difficulty_solved": 8, "all_tasks": 9,
}


class FakeContent:
    def __init__(self, directory, key):
        self.dir = Path(directory)
        self.key = key
        self.server = None
        self.port = None

    def _tasks(self):
        out = []
        for p in sorted((self.dir / "tasks").glob("*.json")):
            t = json.loads(p.read_text())
            d = DIFF[t["difficulty"]]
            out.append(cpb.TaskSummary(
                slug=t["slug"], title=t["title"], difficulty=d,
                points=t.get("points") or DEFAULT_POINTS[d], tags=t.get("tags", []),
                languages=[lang["language"] for lang in t.get("languages", [])],
                status=cpb.TASK_STATUS_ACTIVE, version=1))
        return out

    def _check(self, context):
        md = dict(context.invocation_metadata())
        if md.get("x-dojo-service-key") != self.key:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "service key required")

    def get_task(self, req, context):
        self._check(context)
        for t in self._tasks():
            if t.slug == req.slug:
                return cpb.GetTaskResponse(task=cpb.TaskView(
                    slug=t.slug, title=t.title, difficulty=t.difficulty, points=t.points,
                    tags=t.tags, version=req.version or 1, status=t.status))
        context.abort(grpc.StatusCode.NOT_FOUND, "no such task")

    def list_tasks(self, req, context):
        self._check(context)
        return cpb.ListTasksResponse(tasks=self._tasks(),
                                     page=common_pb2.PageInfo(next_page_token="", total=-1))

    def list_achievements(self, req, context):
        self._check(context)
        defs = []
        for p in sorted((self.dir / "achievements").glob("*.json")):
            a = json.loads(p.read_text())
            r = a.get("rule", {})
            defs.append(cpb.AchievementDef(
                slug=a["slug"], title=a["title"], description=a["description"],
                icon=a.get("icon", "star"), sort_order=a.get("sort_order", 0),
                rule=cpb.AchievementRule(kind=RULES[r["kind"]], threshold=r.get("threshold", 0),
                                         tag=r.get("tag", ""),
                                         difficulty=DIFF.get(r.get("difficulty", ""), 0))))
        defs.sort(key=lambda d: (d.sort_order, d.slug))
        return cpb.ListAchievementsResponse(achievements=defs, content_hash="fake")

    def start(self):
        handlers = {
            "GetTask": grpc.unary_unary_rpc_method_handler(
                self.get_task, cpb.GetTaskRequest.FromString,
                cpb.GetTaskResponse.SerializeToString),
            "ListTasks": grpc.unary_unary_rpc_method_handler(
                self.list_tasks, cpb.ListTasksRequest.FromString,
                cpb.ListTasksResponse.SerializeToString),
            "ListAchievements": grpc.unary_unary_rpc_method_handler(
                self.list_achievements, cpb.ListAchievementsRequest.FromString,
                cpb.ListAchievementsResponse.SerializeToString),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("dojo.content.v1.Content", handlers),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.addr = f"127.0.0.1:{self.port}"
        return self

    def stop(self):
        if self.server:
            self.server.stop(0)
