"""clicskit — JSON schemas of the CLICS Contest API 2026-01 objects as Dojo
serves them (written here from the spec's property tables: types,
required properties, ID/TIME/RELTIME formats, nullability), a validator, and
replaying an event feed into the objects it describes."""
import copy
import json

import jsonschema

ID = {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,35}$"}
ID_NULL = {"anyOf": [ID, {"type": "null"}]}
TIME = {"type": "string",
        "pattern": r"^[12][0-9]{3}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]"
                   r"(\.[0-9]{3})?([+-][0-1][0-9](:[0-5][0-9])?|Z)$"}
TIME_NULL = {"anyOf": [TIME, {"type": "null"}]}
RELTIME = {"type": "string", "pattern": r"^-?([1-9][0-9]*)?[0-9]:[0-5][0-9]:[0-5][0-9](\.[0-9]{3})?$"}
RELTIME_NULL = {"anyOf": [RELTIME, {"type": "null"}]}
POS_RELTIME = {"type": "string", "pattern": r"^([1-9][0-9]*)?[0-9]:[0-5][0-9]:[0-5][0-9](\.[0-9]{3})?$"}
JUDGEMENT_TYPE = {"enum": ["AC", "RE", "WA", "TLE", "RTE", "CE", "APE", "OLE", "PE", "EO", "IO",
                           "NO", "WTL", "ILE", "TCO", "TWA", "TPE", "TEO", "TIO", "TNO", "MLE",
                           "SV", "IF", "RCO", "RWA", "RPE", "REO", "RIO", "RNO", "CTL", "JE", "SE",
                           "CS"]}
FILE = {"type": "object", "required": ["filename", "mime"],
        "properties": {"href": {"type": ["string", "null"]}, "filename": {"type": "string"},
                       "hash": {"type": ["string", "null"]}, "mime": {"type": "string"}}}


def obj(required, **props):
    return {"type": "object", "required": list(required), "properties": props}


STATE = obj(["started", "ended", "frozen", "thawed", "finalized", "end_of_updates"],
            started=TIME_NULL, ended=TIME_NULL, frozen=TIME_NULL, thawed=TIME_NULL,
            finalized=TIME_NULL, end_of_updates=TIME_NULL)

SCHEMAS = {
    "api": obj(["version", "version_url"], version={"const": "2026-01"},
               version_url={"type": "string"}, name={"type": ["string", "null"]}),
    "contest": {
        **obj(["id", "name", "duration", "scoreboard_type"], id=ID, name={"type": "string"},
              formal_name={"type": ["string", "null"]}, start_time=TIME_NULL,
              countdown_pause_time=RELTIME_NULL, duration=POS_RELTIME,
              scoreboard_freeze_duration={"anyOf": [POS_RELTIME, {"type": "null"}]},
              scoreboard_type={"enum": ["pass-fail", "score"]}, penalty_time=POS_RELTIME),
        "if": {"properties": {"scoreboard_type": {"const": "pass-fail"}}},
        "then": {"required": ["penalty_time"]},
        "else": {"not": {"required": ["penalty_time"]}},
    },
    "access": obj(["capabilities", "endpoints"], capabilities={"type": "array"},
                  endpoints={"type": "array", "items": obj(
                      ["type", "properties"], type={"type": "string"},
                      properties={"type": "array", "minItems": 1,
                                  "items": {"type": "string"}})}),
    "judgement-types": obj(["id", "name", "solved"], id=JUDGEMENT_TYPE, name={"type": "string"},
                           penalty={"type": "boolean"}, solved={"type": "boolean"}),
    "languages": obj(["id", "name", "entry_point_required", "extensions"], id=ID,
                     name={"type": "string"}, entry_point_required={"type": "boolean"},
                     extensions={"type": "array", "items": {"type": "string"}}),
    "problems": obj(["id", "label", "name", "ordinal", "test_data_count"], id=ID,
                    label={"type": "string"}, name={"type": "string"},
                    ordinal={"type": "integer"},
                    rgb={"type": "string", "pattern": r"^#[A-Fa-f0-9]{3}([A-Fa-f0-9]{3})?$"},
                    color={"type": "string"},
                    time_limit={"type": "number", "minimum": 0},
                    test_data_count={"type": "integer", "minimum": 0},
                    max_score={"type": "number"}),
    "groups": obj(["id", "name"], id=ID, name={"type": "string"},
                  type={"type": ["string", "null"]}),
    "organizations": obj(["id", "name"], id=ID, name={"type": "string"},
                         formal_name={"type": ["string", "null"]},
                         country={"anyOf": [{"type": "string", "pattern": "^[A-Z]{3}$"},
                                            {"type": "null"}]},
                         url={"type": ["string", "null"]}),
    "teams": obj(["id", "name"], id=ID, label={"type": "string"}, name={"type": "string"},
                 display_name={"type": ["string", "null"]}, organization_id=ID_NULL,
                 group_ids={"anyOf": [{"type": "array", "items": ID, "uniqueItems": True},
                                      {"type": "null"}]},
                 hidden={"type": ["boolean", "null"]}),
    "persons": obj(["id", "name"], id=ID, name={"type": "string"},
                   team_ids={"type": "array", "items": ID},
                   role={"type": "string"}),
    "accounts": obj(["id", "username", "type"], id=ID, username={"type": "string"},
                    type={"enum": ["team", "judge", "admin", "analyst", "staff"]},
                    team_id=ID_NULL, person_id=ID_NULL, name={"type": ["string", "null"]}),
    "state": STATE,
    "submissions": obj(["id", "language_id", "problem_id", "team_id", "time", "contest_time",
                        "files"], id=ID, language_id=ID, problem_id=ID, team_id=ID, time=TIME,
                       contest_time=RELTIME, files={"type": "array", "items": FILE}),
    "judgements": obj(["id", "submission_id", "start_time", "start_contest_time"],
                      id=ID, submission_id=ID,
                      judgement_type_id={"anyOf": [JUDGEMENT_TYPE, {"type": "null"}]},
                      current={"type": "boolean"},
                      start_time=TIME, start_contest_time=RELTIME, end_time=TIME_NULL,
                      end_contest_time=RELTIME_NULL,
                      max_run_time={"type": ["number", "null"], "minimum": 0},
                      score={"type": "number", "minimum": 0}),
    "runs": obj(["id", "judgement_id", "ordinal", "judgement_type_id", "time", "contest_time"],
                id=ID, judgement_id=ID, ordinal={"type": "integer", "minimum": 1},
                judgement_type_id=JUDGEMENT_TYPE, time=TIME, contest_time=RELTIME,
                run_time={"type": "number", "minimum": 0}),
    "clarifications": {
        **obj(["id", "text", "time", "contest_time"], id=ID, from_team_id=ID_NULL,
              to_team_id=ID_NULL, reply_to_id=ID_NULL, problem_id=ID_NULL,
              text={"type": "string"}, time=TIME, contest_time=RELTIME),
        # A clarification is from a team or to one, never both.
        "not": {"properties": {"from_team_id": ID, "to_team_id": ID},
                "required": ["from_team_id", "to_team_id"]},
    },
    "awards": obj(["id", "citation"], id=ID, citation={"type": "string"},
                  team_ids={"anyOf": [{"type": "array", "items": ID}, {"type": "null"}]}),
}

_CELL = {
    **obj(["problem_id", "num_judged", "num_pending"], problem_id=ID,
          num_judged={"type": "integer", "minimum": 0},
          num_pending={"type": "integer", "minimum": 0}, solved={"type": "boolean"},
          score={"type": "number", "minimum": 0}, time=RELTIME),
    "oneOf": [{"required": ["solved"]}, {"required": ["score"]}],
    # A time exactly when solved (or scored).
    "if": {"anyOf": [{"properties": {"solved": {"const": True}}, "required": ["solved"]},
                     {"properties": {"score": {"exclusiveMinimum": 0}}, "required": ["score"]}]},
    "then": {"required": ["time"]},
    "else": {"not": {"required": ["time"]}},
}
SCHEMAS["scoreboard"] = obj(
    ["event_id", "time", "contest_time", "state", "rows"], event_id=ID, time=TIME,
    contest_time=RELTIME, state=STATE,
    rows={"type": "array", "items": obj(
        ["rank", "team_id", "score"], rank={"type": "integer", "minimum": 1}, team_id=ID,
        score={**obj([], num_solved={"type": "integer", "minimum": 0}, total_time=RELTIME,
                     score={"type": "number"}, time=RELTIME),
               "oneOf": [{"required": ["num_solved", "total_time"],
                          "not": {"required": ["score"]}},
                         {"required": ["score"],
                          "not": {"required": ["num_solved", "total_time"]}}]},
        problems={"type": "array", "items": _CELL})})

TYPES = {"contest", "judgement-types", "languages", "problems", "groups", "organizations",
         "teams", "persons", "accounts", "state", "submissions", "judgements", "runs",
         "clarifications", "awards"}
EVENT = obj(["type", "id", "data"], type={"enum": sorted(TYPES)}, id=ID_NULL,
            data={"type": ["object", "array", "null"]},
            token={"type": ["string", "null"]})


def validate(kind, value, many=False):
    """Validates one object of `kind` (or, with many, an array of them)."""
    schema = SCHEMAS[kind]
    if many:
        schema = {"type": "array", "items": schema}
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(value)


def validate_event(ev):
    jsonschema.Draft202012Validator(EVENT).validate(ev)
    kind, data = ev["type"], ev["data"]
    if data is None:
        return
    if isinstance(data, list):
        assert ev["id"] is None, ev
        validate(kind, data, many=True)
    else:
        validate(kind, data)
        if kind not in ("contest", "state"):
            assert ev["id"] == data["id"], ev


def parse_ndjson(body):
    text = body.decode()
    assert text == "" or text.endswith("\n"), "NDJSON lines end with a newline"
    return [json.loads(l) for l in text.splitlines() if l.strip()]


SINGLETONS = {"contest", "state"}


def replay(events):
    """The objects the events describe: {"contest": obj, "state": obj,
    <type>: {id: obj}}, the later event of an object winning."""
    out = {}
    for ev in events:
        kind, oid, data = ev["type"], ev["id"], copy.deepcopy(ev["data"])
        if kind in SINGLETONS:
            out[kind] = data
        elif oid is None:
            out[kind] = {o["id"]: o for o in (data or [])}
        elif data is None:
            out.setdefault(kind, {}).pop(oid, None)
        else:
            out.setdefault(kind, {})[oid] = data
    return out


def reltime_ms(t):
    neg = t.startswith("-")
    h, m, s = t.lstrip("-").split(":")
    ms = (int(h) * 3600 + int(m) * 60) * 1000 + round(float(s) * 1000)
    return -ms if neg else ms


def icpc_board(objs, penalty_min, duration_ms, freeze_ms=None):
    """An ICPC scoreboard computed from CLICS objects alone (what a
    resolver does with the feed): {team_id: (num_solved, total_minutes,
    {problem_id: (solved, num_judged, num_pending, minute)})}."""
    types = objs.get("judgement-types", {})
    current = {}
    for j in objs.get("judgements", {}).values():
        if j.get("current"):
            current[j["submission_id"]] = j
    rows = {}
    teams = [t for t in objs.get("teams", {}).values() if not t.get("hidden")]
    problems = sorted(objs.get("problems", {}).values(), key=lambda p: p["ordinal"])
    subs = sorted(objs.get("submissions", {}).values(),
                  key=lambda s: (reltime_ms(s["contest_time"]), int(s["id"])))
    for t in teams:
        cells, solved, total = {}, 0, 0
        for p in problems:
            judged = pending = 0
            done, minute = False, None
            for s in subs:
                if s["team_id"] != t["id"] or s["problem_id"] != p["id"]:
                    continue
                ct = reltime_ms(s["contest_time"])
                if ct >= duration_ms or done:
                    continue
                j = current.get(s["id"])
                jt = j and j.get("judgement_type_id")
                frozen = freeze_ms is not None and ct >= freeze_ms
                if jt is None or frozen or pending:
                    no_attempt = jt and not types[jt].get("penalty", True) and not types[jt]["solved"]
                    if not frozen and no_attempt:
                        continue
                    pending += 1
                    continue
                if types[jt]["solved"]:
                    judged += 1
                    done, minute = True, ct // 60000
                elif types[jt].get("penalty", True):
                    judged += 1
            if done:
                solved += 1
                total += minute + penalty_min * (judged - 1)
            cells[p["id"]] = (done, judged, pending, minute)
        rows[t["id"]] = (solved, total, cells)
    return rows


def board_of_scoreboard(sb):
    """The CLICS scoreboard endpoint in icpc_board's shape."""
    rows = {}
    for r in sb["rows"]:
        cells = {c["problem_id"]: (c["solved"], c["num_judged"], c["num_pending"],
                                   reltime_ms(c["time"]) // 60000 if "time" in c else None)
                 for c in r["problems"]}
        rows[r["team_id"]] = (r["score"]["num_solved"],
                              reltime_ms(r["score"]["total_time"]) // 60000, cells)
    return rows
