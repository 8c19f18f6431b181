"""Shared helpers of the sandbox tests: finding the executor and a language
root filesystem, running `executor sandbox-run`, checking its event stream,
parsing the attack headers, and looking at the host before and after.

The executor's command line (services/executor):
  executor sandbox-run --runtime crun|runsc --language python3|c --code FILE
      [--input FILE]... [--cpu-ms N] [--wall-ms N] [--memory-kib N]
      [--output-kib N] [--slot N]
prints one JSON object per line: {"compile": {...}}, {"test": i, ...} per
test, then {"end": ..., "wall_ms": ...}.  `executor sweep` removes leftover
containers of a workdir.

Nothing here needs anything beyond the Python standard library."""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ATTACKS = HERE / "attacks"

RUNTIMES = ("crun", "runsc")
SANDBOX_UID_FLOOR = 200000  # every sandbox uid maps to a host uid at least this
EVENT_KEYS = ("compile", "test", "end", "validator", "interaction")
TEST_KEYS = {"test", "status", "verdict", "exit_code", "signal", "cpu_ms", "wall_ms", "rss_kib",
             "stdout", "stderr"}
STATUSES = {"OK", "SG", "TC", "ML", "PL", "TW", "TS", "OL", "XX"}
VERDICTS = {"OK", "TLE", "MLE", "RE", "OLE", "IE"}
ENDS = {"DONE", "COMPILE_ERROR", "WALL_KILLED", "CANCELLED", "CRASHED"}


# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------

def bin_dir() -> Path:
    return Path(os.environ.get("DOJO_BIN_DIR") or REPO / "bazel-bin")


_snapshot: Path | None = None


def executor_path() -> Path:
    if _snapshot is not None:
        return _snapshot
    return bin_dir() / "services" / "executor" / "executor"


def snapshot_executor(tmp: Path) -> Path:
    """Copies the executor and its driver (<dir>/driver/driver.bin, where the
    executor looks for it) below tmp and uses the copies from now on: a
    rebuild while the tests run must not pull the binaries from under them."""
    global _snapshot
    src = bin_dir() / "services" / "executor"
    dst = tmp / "bin"
    (dst / "driver").mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "executor", dst / "executor")
    for name in ("driver.bin", "driver"):
        if (src / "driver" / name).exists():
            shutil.copy2(src / "driver" / name, dst / "driver" / name)
    os.chmod(tmp, 0o755)
    _snapshot = dst / "executor"
    return _snapshot


def rootfs_dir() -> Path | None:
    """A folder holding language root filesystems (`debian` is the one the
    language files name): $DOJO_EXECUTOR_ROOTFS_DIR, else ./dojo rootfs's
    <repo>/.dojo/rootfs, else /tmp/rootfs-bat (built by hand, see README)."""
    cands = [os.environ.get("DOJO_EXECUTOR_ROOTFS_DIR", ""), str(REPO / ".dojo" / "rootfs"),
             "/tmp/rootfs-bat"]
    for c in cands:
        if c and (Path(c) / "debian" / "usr" / "bin" / "python3").exists() \
                and (Path(c) / "debian" / "judge").is_dir():
            return Path(c)
    return None


def executor_has_sandbox_run() -> bool:
    """The binary's usage (printed for an unknown command) names sandbox-run."""
    exe = executor_path()
    if not exe.exists():
        return False
    try:
        r = subprocess.run([str(exe), "no-such-command"], capture_output=True, text=True,
                           timeout=20, cwd=REPO, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "sandbox-run" in r.stdout + r.stderr


def skip_reason(runtimes=RUNTIMES) -> str | None:
    """Why the sandbox tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "the sandbox tests need root (crun/runsc with user namespaces, cgroups)"
    for rt in runtimes:
        if shutil.which(rt) is None:
            return f"{rt} is not installed (./dojo deps installs it)"
    if not executor_path().exists():
        return (f"no executor binary at {executor_path()} (bazel build "
                "//services/executor:executor; DOJO_BIN_DIR points elsewhere)")
    if not executor_has_sandbox_run():
        return f"{executor_path()} has no working `sandbox-run` command"
    if rootfs_dir() is None:
        return ("no language root filesystem (run ./dojo rootfs, or set "
                "DOJO_EXECUTOR_ROOTFS_DIR to a folder holding debian/)")
    return None


def uid_base() -> int:
    return int(os.environ.get("DOJO_EXECUTOR_UID_BASE", "0") or 0)


# ---------------------------------------------------------------------------
# Running the CLI
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Run:
    argv: list
    returncode: int
    events: list
    tests: dict          # index -> test event
    compile: dict | None
    end: dict | None
    stdout: str
    stderr: str
    elapsed_ms: int
    problems: list       # protocol problems found in the event stream
    timed_out: bool = False
    validator: dict = dataclasses.field(default_factory=dict)  # index -> a validator's verdict
    interaction: dict = dataclasses.field(default_factory=dict)  # index -> an interactive test

    def describe(self) -> str:
        lines = [f"exit {self.returncode} in {self.elapsed_ms} ms"
                 + (" (TIMED OUT: killed by the test)" if self.timed_out else "")]
        for e in self.events:
            e = dict(e)
            for k in ("stdout", "stderr"):
                if isinstance(e.get(k), str) and len(e[k]) > 600:
                    e[k] = e[k][:600] + f"...(+{len(e[k]) - 600} chars)"
            if isinstance(e.get("compile"), dict) and len(e["compile"].get("output", "")) > 600:
                e["compile"] = dict(e["compile"], output=e["compile"]["output"][:600] + "...")
            lines.append(json.dumps(e))
        if self.stderr.strip():
            lines.append("executor stderr: " + self.stderr.strip()[-1500:])
        return "\n".join(lines)


@dataclasses.dataclass
class LinkedFile:
    path: Path


def sandbox_run(code: Path, inputs: list, *, runtime: str, language: str, workdir: Path,
                slot: int, cpu_ms=None, wall_ms=None, memory_kib=None, output_kib=None,
                extra_env: dict | None = None, timeout_s: float = 120, tmp: Path,
                extra_args: list | None = None) -> Run:
    """Runs `executor sandbox-run` once; inputs are bytes (written to files
    below tmp), paths, or LinkedFile(path): a test whose input stays a file,
    linked into the box as the executor links test data blobs."""
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [str(executor_path()), "sandbox-run", "--runtime", runtime, "--language", language,
            "--code", str(code), "--slot", str(slot)]
    for i, data in enumerate(inputs):
        if isinstance(data, LinkedFile):
            argv += ["--input-file", str(data.path)]
            continue
        if isinstance(data, (bytes, str)):
            p = tmp / f"input-{i}"
            p.write_bytes(data.encode() if isinstance(data, str) else data)
        else:
            p = Path(data)
        argv += ["--input", str(p)]
    argv += [str(a) for a in (extra_args or [])]
    for flag, v in (("--cpu-ms", cpu_ms), ("--wall-ms", wall_ms), ("--memory-kib", memory_kib),
                    ("--output-kib", output_kib)):
        if v is not None:
            argv += [flag, str(v)]
    env = dict(os.environ)
    env["DOJO_EXECUTOR_WORKDIR"] = str(workdir)
    env["DOJO_EXECUTOR_ROOTFS_DIR"] = str(rootfs_dir())
    env.setdefault("DOJO_LOG_LEVEL", "warn")
    if extra_env:
        env.update(extra_env)
    t0 = time.monotonic()
    timed_out = False
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout_s, env=env, cwd=REPO,
                           stdin=subprocess.DEVNULL)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        timed_out = True
        rc, out, err = -9, e.stdout or b"", e.stderr or b""
    elapsed = int((time.monotonic() - t0) * 1000)
    return parse_run(argv, rc, out.decode(errors="replace"), err.decode(errors="replace"),
                     elapsed, len(inputs), timed_out)


# ---------------------------------------------------------------------------
# Output validators and interactors (test_validators.py, test_interactive.py)
# ---------------------------------------------------------------------------

def judge_tmp(prefix: str) -> Path:
    """A temporary folder for validator runs, with a snapshot of the executor
    (the caller removes it)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)  # gVisor's gofer must reach the bundles below it
    snapshot_executor(d)
    return d


def judged_run(code: Path, inputs: list, answers: list, *, tag: str, runtime: str, tmp: Path,
               slot: int, programs: Path, language: str, files, flags=(), interactive=False,
               **run_kw) -> Run:
    """`code` on `inputs` judged by the validator (or, `interactive`, run
    against the interactor) made of `files` below `programs` in `language`,
    with `flags` and one answer file per test; the run is asserted to have
    gone through (no executor misbehaviour, DONE). `tag` keeps the files of
    different runs apart below tmp."""
    extra = (["--interactive"] if interactive else []) + ["--validator-language", language]
    for f in files:
        extra += ["--validator-file", str(programs / f)]
    for flag in flags:
        extra += ["--validator-flag", flag]
    for i, a in enumerate(answers):
        p = tmp / f"{tag}-answer-{i}"
        p.write_text(a)
        extra += ["--answer", str(p)]
    wd = tmp / f"work-{tag}"
    wd.mkdir(exist_ok=True)
    r = sandbox_run(code, inputs, runtime=runtime, language="python3", workdir=wd, slot=slot,
                    tmp=tmp / tag, extra_args=extra, timeout_s=300, **run_kw)
    assert not r.problems, "the executor misbehaved:\n" + "\n".join(r.problems) + "\n" + r.describe()
    assert r.returncode == 0 and (r.end or {}).get("end") == "DONE", r.describe()
    return r


def parse_run(argv, rc, out, err, elapsed, ntests, timed_out=False) -> Run:
    problems, events, tests, validators, interactions = [], [], {}, {}, {}
    compile_ev = end = None
    for n, line in enumerate(out.splitlines()):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            problems.append(f"line {n + 1} is not JSON: {line[:200]!r}")
            continue
        if not isinstance(ev, dict):
            problems.append(f"line {n + 1} is not an object: {line[:200]!r}")
            continue
        events.append(ev)
        kinds = [k for k in EVENT_KEYS if k in ev]
        if len(kinds) != 1:
            problems.append(f"line {n + 1} has {kinds or 'none'} of compile/test/end: {line[:200]}")
            continue
        if end is not None:
            problems.append(f"event after the end line: {line[:200]}")
        kind = kinds[0]
        if kind == "compile":
            if compile_ev is not None:
                problems.append("two compile events")
            if tests:
                problems.append("compile event after a test event")
            compile_ev = ev["compile"]
        elif kind == "test":
            i = ev["test"]
            missing = TEST_KEYS - set(ev)
            if missing:
                problems.append(f"test event {i} lacks {sorted(missing)}")
            if not isinstance(i, int) or not 0 <= i < ntests:
                problems.append(f"test index {i!r} out of range 0..{ntests - 1}")
            elif i in tests:
                problems.append(f"test {i} reported twice")
            elif i != len(tests):
                problems.append(f"test {i} reported out of order (after {len(tests)} tests)")
            if ev.get("status") not in STATUSES:
                problems.append(f"test {i}: unknown status {ev.get('status')!r}")
            if ev.get("verdict") not in VERDICTS:
                problems.append(f"test {i}: unknown verdict {ev.get('verdict')!r}")
            tests.setdefault(i, ev)
        elif kind == "validator":
            v = ev["validator"]
            if v.get("test") in validators:
                problems.append(f"validator verdict of test {v.get('test')} twice")
            validators[v.get("test")] = v
        elif kind == "interaction":
            v = ev["interaction"]
            if v.get("test") != len(interactions):
                problems.append(f"interaction {v.get('test')} out of order")
            interactions[v.get("test")] = v
        else:
            end = ev
            if ev["end"] not in ENDS:
                problems.append(f"unknown end {ev['end']!r}")
    if end is None:
        problems.append("no end line")
    elif end["end"] == "DONE" and len(tests) != ntests and len(interactions) != ntests:
        problems.append(f"end DONE but {len(tests)} of {ntests} tests reported")
    return Run(argv, rc, events, tests, compile_ev, end, out, err, elapsed, problems, timed_out,
               validators, interactions)


def executor_sweep(workdir: Path) -> tuple[int, str]:
    """Runs `executor sweep` on a workdir; returns (containers removed, output).
    The count is the first integer in its output (0 when it prints none)."""
    env = dict(os.environ, DOJO_EXECUTOR_WORKDIR=str(workdir),
               DOJO_EXECUTOR_ROOTFS_DIR=str(rootfs_dir() or "/nonexistent"))
    p = subprocess.run([str(executor_path()), "sweep"], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=120, stdin=subprocess.DEVNULL)
    text = (p.stdout + p.stderr).strip()
    m = re.search(r"(?:removed|containers)\D{0,20}(\d+)|(\d+)\s+(?:container|leftover)", text)
    n = int(next(g for g in m.groups() if g is not None)) if m else 0
    if p.returncode != 0:
        return -1, text
    return n, text


# ---------------------------------------------------------------------------
# Attack files
# ---------------------------------------------------------------------------

DEFAULT_LIMITS = {"cpu-ms": 1000, "wall-ms": 3000, "memory-kib": 131072, "output-kib": 64}
TEST_CHECK_KEYS = {"verdict", "status", "exit-code", "signal", "stdout-contains",
                   "stdout-not-contains", "stderr-not-contains", "output-not-contains",
                   "stdout-regex", "stdout-max-bytes", "stderr-max-bytes", "wall-ms-max",
                   "wall-ms-min", "cpu-ms-min", "cpu-ms-max", "rss-kib-min", "rss-kib-max",
                   "record"}
RUN_CHECK_KEYS = {"end", "compile", "compile-output-not-contains", "total-wall-ms-max"}
HEADER_RE = re.compile(
    r"^(?P<key>expect-run|expect|input|limits|tests|role|partner|attack|why|language)"
    r"(?:\[(?P<rt>[a-z]+)\])?(?:@(?P<idx>\d+))?:\s?(?P<val>.*)$")


@dataclasses.dataclass
class Attack:
    name: str
    path: Path
    language: str
    description: str
    tests: int
    limits: dict
    inputs: dict          # index -> template text
    expects: list         # (runtime|None, index|None, [(key, value)])
    run_expects: list     # (runtime|None, [(key, value)])
    role: str
    partner: str | None

    def input_text(self, i: int, subst: dict) -> str:
        t = self.inputs.get(i)
        if t is None:
            return f"{i}\n"
        return expand(t, subst) + "\n"

    def checks_for_test(self, runtime: str, i: int) -> list:
        """The checks of test i under runtime: per-runtime lines replace the
        generic lines of the same scope (all tests, or one test)."""
        def pick(idx_match):
            rt_lines = [c for rt, idx, c in self.expects if rt == runtime and idx_match(idx)]
            if rt_lines:
                return [kv for c in rt_lines for kv in c]
            return [kv for rt, idx, c in self.expects if rt is None and idx_match(idx) for kv in c]
        own = pick(lambda idx: idx == i)
        if own:
            return own
        return pick(lambda idx: idx is None)

    def run_checks(self, runtime: str) -> list:
        rt_lines = [c for rt, c in self.run_expects if rt == runtime]
        if rt_lines:
            return [kv for c in rt_lines for kv in c]
        return [kv for rt, c in self.run_expects if rt is None for kv in c]


def _pairs(text: str, allowed: set, where: str) -> list:
    out = []
    for tok in shlex.split(text):
        if "=" not in tok:
            raise ValueError(f"{where}: expected key=value, got {tok!r}")
        k, v = tok.split("=", 1)
        if k not in allowed:
            raise ValueError(f"{where}: unknown key {k!r} (known: {sorted(allowed)})")
        out.append((k, v))
    return out


def parse_attack(path: Path) -> Attack:
    text = path.read_text()
    language = ATTACK_LANGUAGES[path.suffix]
    prefix = "#" if path.suffix == ".py" else "//"
    desc, tests, limits, inputs = [], 1, dict(DEFAULT_LIMITS), {}
    expects, run_expects, role, partner = [], [], "attack", None
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith(prefix):
            if s:
                break
            continue
        body = s[len(prefix):].strip()
        m = HEADER_RE.match(body)
        if not m:
            if desc and body:
                desc[-1] += " " + body
            continue
        key, rt, idx, val = m["key"], m["rt"], m["idx"], m["val"].strip()
        where = f"{path.name}: {key}"
        if rt is not None and rt not in RUNTIMES:
            raise ValueError(f"{where}: unknown runtime {rt!r}")
        if key in ("attack", "why"):
            desc.append(f"{key}: {val}")
        elif key == "tests":
            tests = int(val)
        elif key == "language":
            language = val
        elif key == "limits":
            limits.update((k, int(v)) for k, v in _pairs(val, set(DEFAULT_LIMITS), where))
        elif key == "input":
            inputs[int(idx or 0)] = val
        elif key == "role":
            role = val
        elif key == "partner":
            partner = val
        elif key == "expect":
            expects.append((rt, int(idx) if idx is not None else None,
                            _pairs(val, TEST_CHECK_KEYS, where)))
        elif key == "expect-run":
            run_expects.append((rt, _pairs(val, RUN_CHECK_KEYS, where)))
    if not expects and not run_expects:
        raise ValueError(f"{path.name}: no `expect` line")
    return Attack(path.stem, path, language, " ".join(desc), tests, limits, inputs, expects,
                  run_expects, role, partner)


# An attack's language, by its file's extension.
ATTACK_LANGUAGES = {".py": "python3", ".c": "c", ".cpp": "cpp", ".java": "java",
                    ".js": "javascript"}


def all_attacks() -> list:
    files = sorted(p for ext in ATTACK_LANGUAGES for p in ATTACKS.glob("*" + ext))
    return [parse_attack(p) for p in files]


def expand(text: str, subst: dict) -> str:
    return re.sub(r"\{([A-Z_]+)\}", lambda m: str(subst.get(m[1], m[0])), text)


def check_test(ev: dict | None, checks: list, subst: dict, end: str | None) -> list:
    """Failures of one test event against its checks."""
    fails = []
    record = dict(checks).get("record", "present")
    if ev is None:
        if record == "any" and end != "DONE":
            return []
        return ["no record for this test" + (f" (run ended {end})" if end else "")]
    out, err = ev.get("stdout") or "", ev.get("stderr") or ""
    for k, v in checks:
        v = expand(v, subst)
        if k == "record":
            continue
        if k == "verdict" and ev.get("verdict") not in v.split("|"):
            fails.append(f"verdict {ev.get('verdict')} (status {ev.get('status')}), expected {v}")
        elif k == "status" and ev.get("status") not in v.split("|"):
            fails.append(f"status {ev.get('status')}, expected {v}")
        elif k == "exit-code" and str(ev.get("exit_code")) not in v.split("|"):
            fails.append(f"exit code {ev.get('exit_code')}, expected {v}")
        elif k == "signal" and str(ev.get("signal")) not in v.split("|"):
            fails.append(f"signal {ev.get('signal')}, expected {v}")
        elif k == "stdout-contains" and v not in out:
            fails.append(f"stdout lacks {v!r}")
        elif k == "stdout-not-contains" and v in out:
            fails.append(f"stdout contains {v!r}: "
                         + " | ".join(l for l in out.splitlines() if v in l)[:800])
        elif k == "stderr-not-contains" and v in err:
            fails.append(f"stderr contains {v!r}")
        elif k == "output-not-contains" and (v in out or v in err):
            fails.append(f"output contains {v!r}")
        elif k == "stdout-regex" and not re.search(v, out, re.M):
            fails.append(f"stdout does not match /{v}/")
        elif k == "stdout-max-bytes" and len(out.encode()) > int(v):
            fails.append(f"stdout kept {len(out.encode())} bytes > {v}")
        elif k == "stderr-max-bytes" and len(err.encode()) > int(v):
            fails.append(f"stderr kept {len(err.encode())} bytes > {v}")
        elif k == "wall-ms-max" and (ev.get("wall_ms") or 0) > int(v):
            fails.append(f"wall_ms {ev.get('wall_ms')} > {v}")
        elif k == "wall-ms-min" and (ev.get("wall_ms") or 0) < int(v):
            fails.append(f"wall_ms {ev.get('wall_ms')} < {v}")
        elif k == "cpu-ms-min" and (ev.get("cpu_ms") or 0) < int(v):
            fails.append(f"cpu_ms {ev.get('cpu_ms')} < {v}")
        elif k == "cpu-ms-max" and (ev.get("cpu_ms") or 0) > int(v):
            fails.append(f"cpu_ms {ev.get('cpu_ms')} > {v}")
        elif k == "rss-kib-min" and (ev.get("rss_kib") or 0) < int(v):
            fails.append(f"rss_kib {ev.get('rss_kib')} < {v}")
        elif k == "rss-kib-max" and (ev.get("rss_kib") or 0) > int(v):
            fails.append(f"rss_kib {ev.get('rss_kib')} > {v}")
    return fails


def check_run(run: Run, checks: list, subst: dict) -> list:
    fails = []
    end = run.end["end"] if run.end else None
    compile_out = (run.compile or {}).get("output", "") or ""
    for k, v in checks:
        v = expand(v, subst)
        if k == "end" and end not in v.split("|"):
            fails.append(f"run ended {end}, expected {v}")
        elif k == "compile":
            ok = bool(run.compile and run.compile.get("ok"))
            if (v == "ok") != ok:
                fails.append(f"compile {'succeeded' if ok else 'failed'}, expected {v}"
                             + ("" if run.compile else " (no compile event)"))
        elif k == "compile-output-not-contains" and v in compile_out:
            fails.append(f"compile output contains {v!r}")
        elif k == "total-wall-ms-max" and run.elapsed_ms > int(v):
            fails.append(f"the whole run took {run.elapsed_ms} ms > {v}")
    return fails


def attack_subst(listeners, canary: str) -> dict:
    """The placeholders of attack headers that do not depend on the run."""
    return dict(host_secrets(), CANARY=canary, REPO=str(REPO), ROOTFS_DIR=str(rootfs_dir()),
                HOST_IPS=" ".join(host_ips()), TCP_PORT=listeners.tcp_port,
                UDP_PORT=listeners.udp_port, UNIX_PATH=listeners.unix_path,
                ABSTRACT_NAME=listeners.abstract_name)


def run_attack(attack: Attack, runtime: str, workdir: Path, slot: int, subst: dict, tmp: Path,
               extra_env: dict | None = None) -> Run:
    """One run of an attack with its limits and inputs."""
    lim = attack.limits
    inputs = [attack.input_text(i, subst) for i in range(attack.tests)]
    return sandbox_run(attack.path, inputs, runtime=runtime, language=attack.language,
                       workdir=workdir, slot=slot, cpu_ms=lim["cpu-ms"], wall_ms=lim["wall-ms"],
                       memory_kib=lim["memory-kib"], output_kib=lim["output-kib"],
                       extra_env=extra_env, tmp=tmp, timeout_s=150)


def verdict_summary(run: Run, ntests: int) -> str:
    """What must not depend on load: each test's verdict and how the run ended."""
    vs = " ".join(f"{i}={(run.tests.get(i) or {}).get('verdict', '-')}" for i in range(ntests))
    return f"{vs} end={(run.end or {}).get('end')}"


@dataclasses.dataclass
class Verdicts:
    """The verdicts of one run, test by test: (name, verdict, status, cpu_ms),
    and the CPU limit they ran with."""
    tests: list
    cpu_limit: int
    end: str | None = None

    def __str__(self):
        return " ".join(f"{n}={v}" for n, v, _, _ in self.tests) + (
            f" end={self.end}" if self.end else "")


def attack_verdicts(run: Run, attack: Attack) -> Verdicts:
    tests = []
    for i in range(attack.tests):
        ev = run.tests.get(i) or {}
        tests.append((str(i), ev.get("verdict", "-"), ev.get("status"), ev.get("cpu_ms") or 0))
    return Verdicts(tests, attack.limits["cpu-ms"], (run.end or {}).get("end"))


# The same program's CPU time is not a constant on shared hardware: with the
# other core busy (SMT siblings, caches) a run measured here took 1250 to
# 2050 ms. A test that needs this share of its limit or more may fall either
# side of it: a TLE by CPU time against another verdict is no load-dependence
# of the judge then, only of the machine.
BORDERLINE_CPU_SHARE = 0.5


def verdict_differences(quiet: Verdicts, loaded: Verdicts) -> tuple:
    """(differences, borderline): test verdicts that differ, and those that
    differ only as a program near its CPU limit may (TLE by CPU time in one
    run, at least BORDERLINE_CPU_SHARE of the limit used in the other)."""
    diff, borderline = [], []
    if quiet.end != loaded.end:
        diff.append(f"run ended {quiet.end} quietly, {loaded.end} under load")
    for q, l in zip(quiet.tests, loaded.tests):
        if q[1] == l[1]:
            continue
        tle = [t for t in (q, l) if t[1] == "TLE" and t[2] == "TC"]
        other = [t for t in (q, l) if t[1] != "TLE"]
        text = f"{q[0]}: {q[1]} ({q[2]}, {q[3]} ms) quietly, {l[1]} ({l[2]}, {l[3]} ms) under load"
        if len(tle) == 1 and len(other) == 1 and \
                other[0][3] >= BORDERLINE_CPU_SHARE * quiet.cpu_limit:
            borderline.append(text)
        else:
            diff.append(text)
    if len(quiet.tests) != len(loaded.tests):
        diff.append(f"{len(quiet.tests)} tests quietly, {len(loaded.tests)} under load")
    return diff, borderline


# Verdicts of the quiet runs of this session, by ("attack", name, runtime) or
# ("solution", slug, kind, name, runtime): test_attacks.py and
# test_reference_solutions.py fill it, test_under_load.py compares with it.
QUIET_VERDICTS: dict = {}


class CpuLoad:
    """CPU burners, `per_core` on every core, each pinned to its core and put
    in a cpu cgroup of its own where the host allows it (so that it weighs as
    much as a container does), for at most `seconds`; stopped on exit."""

    def __init__(self, seconds: float, per_core: int = 1):
        self.seconds = seconds
        self.per_core = per_core
        self.procs = []
        self.cgroups = []

    def _cgroup_for(self, n: int) -> Path | None:
        name = f"dojo-load-{os.getpid()}-{n}"
        for base in (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup/cpu,cpuacct")):
            if (base / "cgroup.procs").exists():
                d = base / name
                try:
                    d.mkdir()
                except OSError:
                    return None
                self.cgroups.append(d)
                return d
        base = Path("/sys/fs/cgroup")
        try:
            if "cpu" in (base / "cgroup.subtree_control").read_text().split():
                d = base / name
                d.mkdir()
                self.cgroups.append(d)
                return d
        except OSError:
            pass
        return None

    def __enter__(self):
        import sys
        burn = ("import time\nend = time.monotonic() + %f\n"
                "while time.monotonic() < end:\n    pass\n" % self.seconds)
        for core in sorted(os.sched_getaffinity(0)):
            for k in range(self.per_core):
                p = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.DEVNULL)
                self.procs.append(p)
                try:
                    os.sched_setaffinity(p.pid, {core})
                except OSError:
                    pass
                cg = self._cgroup_for(len(self.procs))
                if cg is not None:
                    try:
                        (cg / "cgroup.procs").write_text(str(p.pid))
                    except OSError:
                        pass
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        for d in self.cgroups:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)
        return False


# ---------------------------------------------------------------------------
# The host
# ---------------------------------------------------------------------------

def proc_uids(pid: str) -> list:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return [int(x) for x in line.split()[1:]]
    except OSError:
        pass
    return []


def proc_cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def sandbox_processes(uid_ranges: list | None = None, needles: tuple = ()) -> list:
    """Host processes running as a sandbox uid (in uid_ranges, or any uid
    >= 200000), or whose command line mentions one of `needles` (a workdir)."""
    found = []
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        uids = proc_uids(pid)
        hit = False
        for u in uids:
            if uid_ranges is None:
                hit |= u >= SANDBOX_UID_FLOOR
            else:
                hit |= any(lo <= u < hi for lo, hi in uid_ranges)
        cmd = proc_cmdline(pid)
        if needles and any(n in cmd for n in needles):
            hit = True
        if hit:
            found.append(f"pid {pid} uids {uids}: {cmd[:200]}")
    return found


def mounts() -> set:
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            out.add((parts[4], parts[3], parts[sep + 1], parts[sep + 2]))
    return out


def cgroups_named(needles: tuple) -> list:
    found = []
    for top in glob.glob("/sys/fs/cgroup/*"):
        for root, dirs, _ in os.walk(top):
            depth = root[len(top):].count("/")
            for d in dirs:
                if any(n in d for n in needles):
                    found.append(os.path.join(root, d))
            if depth >= 3:
                dirs[:] = []
    return sorted(found)


def runtime_containers(workdir: Path) -> list:
    """Containers the runtimes still know in the executor's state dirs
    (sandbox.c: <workdir>/state/crun and <workdir>/state/runsc)."""
    found = []
    for rt, quiet in (("crun", "-q"), ("runsc", "-quiet")):
        root = workdir / "state" / rt
        if not root.is_dir():
            continue
        argv = [rt, "--root", str(root), "list", quiet]
        try:
            if rt == "crun":
                # crun 1.8 refuses hybrid hosts: look from a private mount
                # namespace without the cgroup2 `unified` mount, as sandbox.c does.
                argv = ["unshare", "-m", "sh", "-c",
                        "umount -l /sys/fs/cgroup/unified 2>/dev/null; exec \"$@\"", "sh"] + argv
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as e:
            found.append(f"{rt} list failed: {e}")
            continue
        for line in p.stdout.split():
            if line.strip():
                found.append(f"{rt}: {line.strip()}")
    return found


def leftover_files(workdir: Path) -> list:
    """Files below the workdir other than the runtimes' (empty) state folders."""
    out = []
    for root, dirs, files in os.walk(workdir):
        rel = os.path.relpath(root, workdir)
        for f in files:
            out.append(os.path.join(rel, f))
        for d in dirs:
            p = os.path.join(root, d)
            if os.path.islink(p):
                out.append(os.path.join(rel, d) + " (symlink)")
    return sorted(out)


def host_file_hashes() -> dict:
    out = {}
    for p in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/hosts", "/etc/hostname",
              "/etc/resolv.conf", "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/hostname"):
        try:
            out[p] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
        except OSError:
            out[p] = None
    return out


def clock_offset() -> float:
    return time.time() - time.monotonic()


def tmp_entries() -> dict:
    out = {}
    for name in os.listdir("/tmp"):
        try:
            st = os.lstat(os.path.join("/tmp", name))
            out[name] = st.st_uid
        except OSError:
            pass
    return out


def host_secrets() -> dict:
    """Host values that must never show up inside a sandbox."""
    out = {}
    try:
        out["MACHINE_ID"] = Path("/etc/machine-id").read_text().strip() or "no-machine-id"
    except OSError:
        out["MACHINE_ID"] = "no-machine-id"
    h = "no-shadow-hash"
    try:
        for line in Path("/etc/shadow").read_text().splitlines():
            f = line.split(":")
            if f[0] == "root" and len(f[1]) > 8:
                h = f[1]
    except OSError:
        pass
    out["SHADOW_ROOT_HASH"] = h
    return out


def host_ips() -> list:
    ips = []
    try:
        p = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True, timeout=10)
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) > 3 and f[2] in ("inet", "inet6") and f[1] != "lo":
                ip = f[3].split("/")[0]
                if not ip.startswith("fe80"):
                    ips.append(ip)
    except OSError:
        pass
    return ips


class HostListeners:
    """A TCP listener on 0.0.0.0 (so also 127.0.0.1), a UDP socket, a unix
    socket and an abstract unix socket on the host, counting whoever reaches
    them: the network attacks aim at these."""

    def __init__(self, tmp: Path):
        import socket
        self.hits = []
        self._socks = []
        self._stop = False
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("0.0.0.0", 0))
        tcp.listen(16)
        self.tcp_port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("0.0.0.0", 0))
        self.udp_port = udp.getsockname()[1]
        tmp.mkdir(parents=True, exist_ok=True)
        self.unix_path = str(tmp / "host.sock")
        ux = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ux.bind(self.unix_path)
        os.chmod(self.unix_path, 0o777)
        ux.listen(16)
        self.abstract_name = f"dojo-battery-{os.getpid()}"
        ab = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ab.bind("\0" + self.abstract_name)
        ab.listen(16)
        self._socks = [("tcp", tcp), ("udp", udp), ("unix", ux), ("abstract", ab)]
        for s in (tcp, udp, ux, ab):
            s.settimeout(0.2)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        import select
        socks = {s.fileno(): (n, s) for n, s in self._socks}
        while not self._stop:
            try:
                r, _, _ = select.select(list(socks), [], [], 0.2)
            except (OSError, ValueError):
                return
            for fd in r:
                name, s = socks[fd]
                try:
                    if name == "udp":
                        data, addr = s.recvfrom(2048)
                        self.hits.append(f"udp datagram from {addr}: {data[:40]!r}")
                    else:
                        c, addr = s.accept()
                        self.hits.append(f"{name} connection from {addr!r}")
                        c.close()
                except OSError:
                    pass

    def close(self):
        self._stop = True
        self._thread.join(2)
        for _, s in self._socks:
            s.close()
        try:
            os.unlink(self.unix_path)
        except OSError:
            pass
