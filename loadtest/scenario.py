"""scenario.py — a load scenario: who arrives when, what they do, for how long.

A scenario is a TOML file (loadtest/scenarios/*.toml; Python's tomllib reads
it, so comments are welcome). Every field has a default, and every value is
checked: a typo in a key or a value out of range is an error naming the key,
never a silent default. `load()` returns a plain dict with every field filled
in; `apply_override()` changes one field from the command line
(`--set learners=700`). Pure functions: no I/O beyond reading the file.

The fields (defaults in DEFAULTS below):

    name, description
    seed             the learners' random choices (same seed, same choices)
    learners         simulated learners, each with an account of its own
    duration_s       length of the measured phase, from the first arrival
    drain_s          after it, at most this long for verdicts still owed
    [arrival]        mode "ramp" (evenly over over_s) or "at_once"
    [sign_in]        mode "login" (accounts made before the run; each learner
                     signs in on arrival, as the web app does) or "register"
                     (registering is the sign-in: one password hash a learner)
    [websocket]      hold: keep one WebSocket per learner (as the web app does)
    [browse]         every_s: mean gap between page views (0: none); pages:
                     weights of the page kinds (tasks, task, dashboard,
                     leaderboard)
    [submit]         schedule "periodic" (every_s apart, exponential gaps, the
                     first uniformly within first_within_s) or "window" (each
                     learner submits per_learner times at uniform instants in
                     [window_start_s, window_start_s + window_s]) or "none";
                     max_per_learner bounds the loop; run_first: probability
                     of a run with stdin before a submission; tasks: slugs
                     (shipped content/tasks); mix: weights of the program
                     kinds right, wrong, slow, tle, hostile (learner.py);
                     order "random" (each learner draws by weight) or "dealt"
                     (one deterministic sequence across learners, in
                     proportion: a short run still gets every kind);
                     hostile: the hostile programs to use (learner.HOSTILE)
    [timeouts]       request_s (one HTTP request), verdict_s (submit → verdict)
    [report]         bucket_s: width of the time-series buckets
    [stack]          env: settings of the stack `./dojo loadtest` starts
                     (strings, DOJO_* only)
    [expect]         max_errors: more errors than this make the exit status 1;
                     allow: error kinds (prefixes, e.g. "HTTP 503 WebSocket
                     open") that are the figure, not a failure: not counted
"""
import copy
import math
import tomllib

PAGE_KINDS = ("tasks", "task", "dashboard", "leaderboard")
PROGRAM_KINDS = ("right", "wrong", "slow", "tle", "hostile")
HOSTILE_KINDS = ("escape", "forkbomb", "memory", "output")  # learner.HOSTILE

DEFAULTS = {
    "name": "",
    "description": "",
    "seed": 1,
    "learners": 10,
    "duration_s": 30.0,
    "drain_s": 60.0,
    "arrival": {"mode": "ramp", "over_s": 10.0},
    "sign_in": {"mode": "login", "setup_concurrency": 8},
    "websocket": {"hold": True},
    "browse": {"every_s": 20.0,
               "pages": {"tasks": 3.0, "task": 5.0, "dashboard": 1.0, "leaderboard": 1.0}},
    "submit": {"schedule": "periodic", "every_s": 60.0, "first_within_s": 60.0,
               "window_start_s": 0.0, "window_s": 10.0, "per_learner": 1,
               "max_per_learner": 100, "run_first": 0.0, "order": "random",
               "hostile": ["escape", "forkbomb", "memory", "output"],
               "tasks": ["palindrome-check", "edit-distance", "course-order"],
               "mix": {"right": 80.0, "wrong": 20.0, "slow": 0.0, "tle": 0.0, "hostile": 0.0}},
    "timeouts": {"request_s": 30.0, "verdict_s": 120.0},
    "report": {"bucket_s": 5.0},
    "stack": {"env": {}},
    "expect": {"max_errors": 0, "allow": []},
}

# Bounds: every loop the scenario drives must stay finite, and nothing may
# ask for more than one 2-core machine can sensibly open.
MAX_LEARNERS = 20000
MAX_DURATION_S = 4 * 3600.0


class ScenarioError(ValueError):
    pass


def _check_keys(got, want, where):
    for k in got:
        if k not in want:
            raise ScenarioError(f"{where}{k}: unknown key (known: {', '.join(sorted(want))})")


def _merge(defaults, given, where=""):
    """defaults with given's values, recursively; unknown keys are errors.
    Tables of weights (pages, mix) and stack.env take the given table whole."""
    _check_keys(given, defaults, where)
    out = copy.deepcopy(defaults)
    for k, v in given.items():
        d = defaults[k]
        if isinstance(d, dict) and k not in ("pages", "mix", "env"):
            if not isinstance(v, dict):
                raise ScenarioError(f"{where}{k}: expected a table")
            out[k] = _merge(d, v, f"{where}{k}.")
        else:
            out[k] = copy.deepcopy(v)
    return out


def _num(s, path, lo, hi, integer=False):
    node = s
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    v = node[keys[-1]]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScenarioError(f"{path}: expected a number, got {v!r}")
    if integer and not isinstance(v, int):
        raise ScenarioError(f"{path}: expected an integer, got {v!r}")
    if not (lo <= v <= hi) or (isinstance(v, float) and math.isnan(v)):
        raise ScenarioError(f"{path}: {v!r} is outside [{lo}, {hi}]")
    node[keys[-1]] = int(v) if integer else float(v)


def _choice(s, path, allowed):
    node = s
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    v = node[keys[-1]]
    if v not in allowed:
        raise ScenarioError(f"{path}: {v!r} is not one of {', '.join(allowed)}")


def _weights(table, kinds, path):
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: expected a table of weights")
    _check_keys(table, kinds, f"{path}.")
    out = {}
    for k in kinds:
        w = table.get(k, 0)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 or math.isnan(w):
            raise ScenarioError(f"{path}.{k}: a weight is a number >= 0, got {w!r}")
        out[k] = float(w)
    return out


def validate(s):
    """Checks a merged scenario in place and returns it (ScenarioError on the
    first problem)."""
    if not isinstance(s["name"], str) or not isinstance(s["description"], str):
        raise ScenarioError("name, description: expected strings")
    _num(s, "seed", 0, 2 ** 31, integer=True)
    _num(s, "learners", 1, MAX_LEARNERS, integer=True)
    _num(s, "duration_s", 1, MAX_DURATION_S)
    _num(s, "drain_s", 0, 3600)
    _choice(s, "arrival.mode", ("ramp", "at_once"))
    _num(s, "arrival.over_s", 0, MAX_DURATION_S)
    _choice(s, "sign_in.mode", ("login", "register"))
    _num(s, "sign_in.setup_concurrency", 1, 256, integer=True)
    if not isinstance(s["websocket"]["hold"], bool):
        raise ScenarioError("websocket.hold: expected true or false")
    _num(s, "browse.every_s", 0, MAX_DURATION_S)
    s["browse"]["pages"] = _weights(s["browse"]["pages"], PAGE_KINDS, "browse.pages")
    sub = s["submit"]
    _choice(s, "submit.schedule", ("periodic", "window", "none"))
    _num(s, "submit.every_s", 0.1, MAX_DURATION_S)
    _num(s, "submit.first_within_s", 0, MAX_DURATION_S)
    _num(s, "submit.window_start_s", 0, MAX_DURATION_S)
    _num(s, "submit.window_s", 0, MAX_DURATION_S)
    _num(s, "submit.per_learner", 1, 1000, integer=True)
    _num(s, "submit.max_per_learner", 0, 100000, integer=True)
    _num(s, "submit.run_first", 0, 1)
    if (not isinstance(sub["tasks"], list) or not sub["tasks"]
            or not all(isinstance(t, str) and t for t in sub["tasks"])):
        raise ScenarioError("submit.tasks: expected a non-empty list of task slugs")
    sub["mix"] = _weights(sub["mix"], PROGRAM_KINDS, "submit.mix")
    _choice(s, "submit.order", ("random", "dealt"))
    if (not isinstance(sub["hostile"], list) or not sub["hostile"]
            or any(h not in HOSTILE_KINDS for h in sub["hostile"])):
        raise ScenarioError(f"submit.hostile: a non-empty list of {', '.join(HOSTILE_KINDS)}")
    if sub["schedule"] != "none" and sum(sub["mix"].values()) <= 0:
        raise ScenarioError("submit.mix: at least one weight must be > 0")
    if s["browse"]["every_s"] > 0 and sum(s["browse"]["pages"].values()) <= 0:
        raise ScenarioError("browse.pages: at least one weight must be > 0")
    _num(s, "timeouts.request_s", 0.1, 600)
    _num(s, "timeouts.verdict_s", 1, 3600)
    _num(s, "report.bucket_s", 0.5, 3600)
    env = s["stack"]["env"]
    if not isinstance(env, dict):
        raise ScenarioError("stack.env: expected a table")
    for k, v in env.items():
        if not k.startswith("DOJO_") or not k.replace("_", "").isalnum() or not k.isupper():
            raise ScenarioError(f"stack.env.{k}: only DOJO_* settings")
        if not isinstance(v, str):
            raise ScenarioError(f"stack.env.{k}: expected a string, got {v!r}")
    _num(s, "expect.max_errors", 0, 10 ** 9, integer=True)
    allow = s["expect"]["allow"]
    if not isinstance(allow, list) or not all(isinstance(a, str) and a for a in allow):
        raise ScenarioError("expect.allow: expected a list of error kinds")
    return s


def parse(text, name=""):
    """The scenario in TOML text, merged with DEFAULTS and validated."""
    try:
        given = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"not valid TOML: {e}") from None
    s = validate(_merge(DEFAULTS, given))
    if not s["name"]:
        s["name"] = name
    return s


def load(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    stem = str(path).rsplit("/", 1)[-1].removesuffix(".toml")
    return parse(text, stem)


def apply_override(s, assignment):
    """`key.path=value` (value in TOML syntax; a bare word is a string),
    applied to a validated scenario, which is validated again."""
    path, sep, raw = assignment.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ScenarioError(f"--set {assignment!r}: expected key.path=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    out = copy.deepcopy(s)
    node = out
    keys = path.split(".")
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            raise ScenarioError(f"--set {path}: {k!r} is not a table of the scenario")
        node = node[k]
    last = keys[-1]
    # Weight tables and stack.env take new keys (validate() still checks them).
    open_table = len(keys) >= 2 and keys[-2] in ("pages", "mix", "env")
    if last not in node and not open_table:
        raise ScenarioError(f"--set {path}: unknown key {last!r}")
    node[last] = value
    return validate(out)


def arrival_offset(s, i):
    """Seconds after the start at which learner i (0-based) arrives."""
    if s["arrival"]["mode"] == "at_once" or s["learners"] == 1:
        return 0.0
    return s["arrival"]["over_s"] * i / s["learners"]


def arrivals_end(s):
    return arrival_offset(s, s["learners"] - 1)


def expected_submissions(s):
    """Submissions the schedule asks for within duration_s (before 429s and
    slips): what a run's 'submitted' figure should come close to."""
    sub = s["submit"]
    n = s["learners"]
    if sub["schedule"] == "none" or sub["max_per_learner"] == 0:
        return 0
    if sub["schedule"] == "window":
        return n * min(sub["per_learner"], sub["max_per_learner"])
    total = 0.0
    for i in range(n):
        active = max(0.0, s["duration_s"] - arrival_offset(s, i))
        # first within first_within_s (mean half of it), then every_s apart
        first = sub["first_within_s"] / 2
        if active > first:
            total += min(1 + (active - first) / sub["every_s"], sub["max_per_learner"])
    return int(round(total))
