"""Every language of the catalogue (services/executor/languages/*.json) through
the real sandbox, with the programs of languages/<id>/:

- sum.<ext> reads two integers and prints their sum: accepted on two tests
  under crun and runsc, with the default limits; sum-<what>.<ext> does the
  same the way a language's programs may also be written (Java: a public
  class Solution with more class files than a few, main in a class that is
  neither public nor Main; Python and PyPy: sum-zygote, only from a fork of
  the zygote, so a zygote that fails unnoticed fails here), under crun and,
  for the first, runsc;
- probe.<ext> prints what the catalogue's `version` tells learners (compiler
  or runtime version, language standard), computed by the program itself
  (e.g. from __STDC_VERSION__), so a label that lies fails here; the JVM and
  Node.js also print the heap they were given, which must follow the memory
  limit; for a language with no way to know its version at run time the
  compiler is asked in its root filesystem instead;
- broken.<ext> is a compile error (end COMPILE_ERROR, no test run) whose
  output is the compiler's message naming the mistake.

Knob: DOJO_SANDBOX_JOBS_CRUN (parallel runs, default 2)."""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sandboxkit as kit  # noqa: E402

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "languages"
CATALOGUE = {json.loads(p.read_text())["id"]: json.loads(p.read_text())
             for p in sorted((kit.REPO / "services" / "executor" / "languages").glob("*.json"))}
JOBS = max(1, int(os.environ.get("DOJO_SANDBOX_JOBS_CRUN", "2")))
SLOT_BASE = int(os.environ.get("DOJO_SANDBOX_SLOT_BASE", "16")) + 60
MEMORY_KIB = 196608  # the probe's limit: the heaps must follow it (192 MiB)
# What the compiler says about broken.<ext>: the undeclared name, or Python's
# and Node's syntax error.
BROKEN_SAYS = {"python3": "SyntaxError", "pypy3": "SyntaxError", "javascript": "SyntaxError"}
# Languages whose programs cannot know their own version: the command that
# prints it, run in the language's root filesystem.
VERSION_COMMAND = {"rust": ["/usr/bin/rustc", "--version"]}

_REASON = kit.skip_reason(("crun",))
if _REASON:
    pytestmark = pytest.mark.skip(reason=_REASON)


def program(lang, name):
    return PROGRAMS / lang / f"{name}.{CATALOGUE[lang]['file_extension']}"


def cases():
    out = []
    for lang in CATALOGUE:
        out += [(lang, "sum", "crun"), (lang, "sum", "runsc")]
        ext = CATALOGUE[lang]["file_extension"]
        for k, p in enumerate(sorted((PROGRAMS / lang).glob(f"sum-*.{ext}"))):
            out.append((lang, p.name[:-len(ext) - 1], "crun"))
            if k == 0:
                out.append((lang, p.name[:-len(ext) - 1], "runsc"))
        if program(lang, "probe").exists():
            out.append((lang, "probe", "crun"))
        if CATALOGUE[lang].get("compile") or lang in BROKEN_SAYS:
            out.append((lang, "broken", "crun"))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def runs(request):
    me = Path(__file__).resolve()
    selected = [item.callspec.params["case"] for item in request.session.items
                if Path(str(item.fspath)).resolve() == me and hasattr(item, "callspec")
                and "case" in item.callspec.params and not item.get_closest_marker("skip")]
    runsc_ok = shutil.which("runsc") is not None
    tmp = Path(tempfile.mkdtemp(prefix="dojo-langs-"))
    tmp.chmod(0o755)  # gVisor's gofer must reach the bundles below it
    kit.snapshot_executor(tmp)
    queue = [c for c in selected if c[2] == "crun" or runsc_ok]
    # slow starters first (runsc, then the compiled languages)
    queue.sort(key=lambda c: (c[2] == "runsc", bool(CATALOGUE[c[0]].get("compile"))), reverse=True)
    results, lock = {}, threading.Lock()

    def worker(k):
        wd = tmp / f"work-{k}"
        wd.mkdir()
        while True:
            with lock:
                if not queue:
                    return
                c = queue.pop(0)
            lang, name, rt = c
            inputs = ["1 2\n", "40 2\n"] if name.startswith("sum") else [""]
            try:
                r = kit.sandbox_run(program(lang, name), inputs, runtime=rt, language=lang,
                                    workdir=wd, slot=SLOT_BASE + k, tmp=tmp / f"{lang}-{name}-{rt}",
                                    memory_kib=MEMORY_KIB if name == "probe" else None,
                                    cpu_ms=5000, wall_ms=20000, timeout_s=300)
            except Exception as e:  # reported by the test, not the fixture
                r = e
            with lock:
                results[c] = r

    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        for f in [pool.submit(worker, k) for k in range(JOBS)]:
            f.result()
    yield results
    shutil.rmtree(tmp, ignore_errors=True)


def test_every_language_has_its_programs():
    """A new language in the catalogue comes with its sum program (and a broken
    one when it compiles)."""
    missing = [str(program(lang, n).relative_to(HERE)) for lang, n, _ in CASES
               if not program(lang, n).exists()]
    assert not missing, f"no test programs: {missing}"
    assert len(CATALOGUE) >= 8, sorted(CATALOGUE)


@pytest.mark.parametrize("case", [pytest.param(c, id="-".join(c)) for c in CASES])
def test_language(runs, case):
    lang, name, rt = case
    if rt == "runsc" and shutil.which("runsc") is None:
        pytest.skip("runsc is not installed")
    if not (kit.rootfs_dir() / CATALOGUE[lang]["rootfs"]).is_dir():
        pytest.fail(f"no root filesystem {CATALOGUE[lang]['rootfs']} in {kit.rootfs_dir()}: "
                    "run ./dojo rootfs")
    r = runs.get(case)
    assert r is not None, "not run"
    if isinstance(r, Exception):
        pytest.fail(f"harness error: {type(r).__name__}: {r}")
    assert not r.problems, "the executor misbehaved:\n" + "\n".join(r.problems) + "\n" + r.describe()
    end = (r.end or {}).get("end")
    if name == "broken":
        assert end == "COMPILE_ERROR", f"a broken {lang} program is not a compile error:\n{r.describe()}"
        assert not r.tests, "tests ran after a compile error"
        said = (r.compile or {}).get("output", "")
        want = BROKEN_SAYS.get(lang, "undeclared")
        assert want.lower() in said.lower() or "undeclaredVariable".lower() in said.lower() \
            or "undeclared_variable" in said, f"the compiler's message is not passed on: {said!r}"
        return
    assert end == "DONE", f"{lang} {name} under {rt}:\n{r.describe()}"
    if CATALOGUE[lang].get("compile"):
        assert r.compile and r.compile.get("ok"), f"compilation failed:\n{r.describe()}"
    for i, ev in r.tests.items():
        assert ev["verdict"] == "OK", f"test {i} of {lang} {name} under {rt}:\n{r.describe()}"
    if name.startswith("sum"):
        assert [r.tests[i]["stdout"] for i in (0, 1)] == ["3\n", "42\n"], r.describe()
        return
    lines = r.tests[0]["stdout"].splitlines()
    assert lines and lines[0] == CATALOGUE[lang]["version"], (
        f"{lang}: the catalogue shows learners {CATALOGUE[lang]['version']!r}, "
        f"the program says {lines[:1]}")
    heap = [int(l.split()[1]) for l in lines[1:] if l.startswith("max-heap-mib ")]
    if heap:  # the heap follows the memory limit: most of it, and about it at most
        # (V8 counts its young generation, up to 48 MiB, on top of the old
        # space it is given; the driver holds the process to the limit anyway)
        limit_mib = MEMORY_KIB // 1024
        assert limit_mib // 2 <= heap[0] <= limit_mib + 64, (
            f"{lang}: heap {heap[0]} MiB for a {limit_mib} MiB memory limit")


@pytest.mark.parametrize("lang", sorted(VERSION_COMMAND))
def test_version_asked_of_the_compiler_matches_the_catalogue(lang):
    root = kit.rootfs_dir() / CATALOGUE[lang]["rootfs"]
    out = subprocess.run(["/usr/sbin/chroot", str(root), *VERSION_COMMAND[lang]], capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}).stdout
    m = re.search(r"\d+\.\d+\.\d+", out)
    assert m and m.group(0) in CATALOGUE[lang]["version"], (
        f"{lang}: {VERSION_COMMAND[lang]} says {out.strip()!r}, the catalogue "
        f"{CATALOGUE[lang]['version']!r}")
