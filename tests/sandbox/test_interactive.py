"""Interactive problems through the real sandbox (`executor sandbox-run
--interactive`, services/executor/validator.c): a guessing game whose
interactor (interactive/interactor.py, the problem package format's
`interactor input answer feedback_dir`) holds the number and answers
"lower"/"higher"/"correct", at most 10 guesses, each side in a sandbox of its
own, connected by pipes. The submissions:

- bisect.py: accepted (crun and runsc);
- linear.py: too many guesses for 737 — the interactor says WA first, the
  program is stopped; accepted for 2;
- spin.py: computes forever after one guess — TLE (the CPU limit);
- deaf.py: never reads its stdin, sleeps — TLE (the wall clock while waiting);
- crash.py: exits 3 before guessing — RE, though the interactor then sees no
  guess (the program ended first)."""
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sandboxkit as kit  # noqa: E402

HERE = Path(__file__).resolve().parent / "interactive"
SLOT = int(__import__("os").environ.get("DOJO_SANDBOX_SLOT_BASE", "16")) + 92
SECRETS = ["737\n", "2\n"]

_REASON = kit.skip_reason(("crun",))
if _REASON:
    pytestmark = pytest.mark.skip(reason=_REASON)


@pytest.fixture(scope="module")
def tmp():
    d = Path(tempfile.mkdtemp(prefix="dojo-interactive-"))
    d.chmod(0o755)  # gVisor's gofer must reach the bundles below it
    kit.snapshot_executor(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def play(tmp, program, runtime="crun", interactor=("python3", "interactor.py"), flags=()):
    extra = ["--interactive", "--validator-language", interactor[0]]
    for f in interactor[1:]:
        extra += ["--validator-file", str(HERE / f)]
    for flag in flags:
        extra += ["--validator-flag", flag]
    for i, a in enumerate(SECRETS):
        p = tmp / f"{program}-{runtime}-answer-{i}"
        p.write_text(a)
        extra += ["--answer", str(p)]
    wd = tmp / f"work-{program}-{runtime}-{interactor[0]}"
    wd.mkdir(exist_ok=True)
    r = kit.sandbox_run(HERE / f"{program}.py", SECRETS, runtime=runtime, language="python3",
                        workdir=wd, slot=SLOT, tmp=tmp / f"{program}-{runtime}-{interactor[0]}",
                        cpu_ms=1000,
                        wall_ms=2000, extra_args=extra, timeout_s=300)
    assert not r.problems, "the executor misbehaved:\n" + "\n".join(r.problems) + "\n" + r.describe()
    assert r.returncode == 0 and (r.end or {}).get("end") == "DONE", r.describe()
    assert len(r.interaction) == len(SECRETS), r.describe()
    return r


@pytest.mark.parametrize("runtime", ["crun", "runsc"])
def test_a_bisecting_program_is_accepted_by_the_interactor(tmp, runtime):
    if shutil.which(runtime) is None:
        pytest.skip(f"{runtime} is not installed")
    r = play(tmp, "bisect", runtime)
    for i in (0, 1):
        x = r.interaction[i]
        assert (x["verdict"], x["message"]) == ("AC", "guessed in 10"), r.describe()
        assert x["interactor_exit"] == 42 and x["program_status"] == "OK", r.describe()


@pytest.mark.parametrize("runtime", ["crun", "runsc"])
def test_a_cpp_interactor_in_two_files_gets_its_flags(tmp, runtime):
    if shutil.which(runtime) is None:
        pytest.skip(f"{runtime} is not installed")
    cpp = ("cpp", "interactor.cpp", "game.h")
    r = play(tmp, "bisect", runtime, interactor=cpp)
    assert [r.interaction[i]["verdict"] for i in (0, 1)] == ["AC", "AC"], r.describe()
    # Nine guesses are not enough to bisect 1..1000 down to 2 (it takes 10).
    r = play(tmp, "bisect", runtime, interactor=cpp, flags=["guesses", "9"])
    x = r.interaction[1]
    assert (x["verdict"], x["message"], x["first"]) == ("WA", "too many guesses", "interactor"), \
        r.describe()


def test_the_interactor_saying_wa_first_wins_and_stops_the_program(tmp):
    r = play(tmp, "linear")
    x = r.interaction[0]
    assert (x["verdict"], x["message"]) == ("WA", "too many guesses"), r.describe()
    assert x["first"] == "interactor", r.describe()
    assert r.interaction[1]["verdict"] == "AC", r.describe()


def test_a_program_computing_forever_is_tle(tmp):
    r = play(tmp, "spin")
    for i in (0, 1):
        x = r.interaction[i]
        assert (x["verdict"], x["program_status"], x["first"]) == ("TLE", "TC", "program"), \
            r.describe()


def test_a_program_that_never_reads_is_tle_by_the_wall_clock(tmp):
    r = play(tmp, "deaf")
    for i in (0, 1):
        x = r.interaction[i]
        assert (x["verdict"], x["program_status"]) == ("TLE", "TW"), r.describe()


def test_a_program_that_crashes_first_is_re_whatever_the_interactor_says(tmp):
    r = play(tmp, "crash")
    for i in (0, 1):
        x = r.interaction[i]
        assert (x["verdict"], x["message"], x["first"]) == ("RE", "exit code 3", "program"), \
            r.describe()
