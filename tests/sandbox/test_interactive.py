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
    d = kit.judge_tmp("dojo-interactive-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def play(tmp, program, runtime="crun", interactor=("python3", "interactor.py"), flags=()):
    r = kit.judged_run(HERE / f"{program}.py", SECRETS, SECRETS,
                       tag=f"{program}-{runtime}-{interactor[0]}", runtime=runtime, tmp=tmp,
                       slot=SLOT, programs=HERE, language=interactor[0], files=interactor[1:],
                       flags=flags, interactive=True, cpu_ms=1000, wall_ms=2000)
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
