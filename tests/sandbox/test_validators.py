"""Output validators of the Kattis / ICPC problem package format through the
real sandbox (`executor sandbox-run --validator-file …`, services/executor/
validator.c), with the programs of validators/:

- validate.cpp + check.h: a C++ validator in two files, under crun and runsc;
- flags.py + feedback.py: a Python validator with validator_flags, a module of
  its own and both feedback files (the team message wins);
- crash.py and exit0.c: validators that fail — a judge error (IE), whose
  internals never reach the learner's message.

The submission is sum.py (wrong on "0 0")."""
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sandboxkit as kit  # noqa: E402

HERE = Path(__file__).resolve().parent / "validators"
SLOT = int(__import__("os").environ.get("DOJO_SANDBOX_SLOT_BASE", "16")) + 90

_REASON = kit.skip_reason(("crun",))
if _REASON:
    pytestmark = pytest.mark.skip(reason=_REASON)


@pytest.fixture(scope="module")
def tmp():
    d = kit.judge_tmp("dojo-validators-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def judge(tmp, name, runtime, inputs, answers, language, files, flags=()):
    """sum.py on `inputs`, then the validator over its outputs."""
    r = kit.judged_run(HERE / "sum.py", inputs, answers, tag=f"{name}-{runtime}",
                       runtime=runtime, tmp=tmp, slot=SLOT, programs=HERE, language=language,
                       files=files, flags=flags)
    assert len(r.validator) == len(inputs), r.describe()
    return r


@pytest.mark.parametrize("runtime", ["crun", "runsc"])
def test_a_cpp_validator_in_two_files_judges_with_its_judge_message(tmp, runtime):
    if shutil.which(runtime) is None:
        pytest.skip(f"{runtime} is not installed")
    r = judge(tmp, "cpp", runtime, ["1 2\n", "2 2\n", "0 0\n"], ["3\n", "5\n", "0\n"], "cpp",
              ["validate.cpp", "check.h"])
    v = r.validator
    assert (v[0]["verdict"], v[0]["message"]) == ("AC", ""), r.describe()
    assert (v[1]["verdict"], v[1]["message"]) == ("WA", "expected 5, got 4"), r.describe()
    assert (v[2]["verdict"], v[2]["message"]) == ("WA", "not a number"), r.describe()


def test_a_python_validator_gets_its_flags_and_its_team_message_wins(tmp):
    r = judge(tmp, "flags", "crun", ["1 2\n", "2 2\n", "0 0\n"], ["3.4\n", "5\n", "0\n"],
              "python3", ["flags.py", "feedback.py"], flags=["tolerance", "0.5"])
    v = r.validator
    # Accepted within the flag's tolerance; its judge message is all it wrote.
    assert (v[0]["verdict"], v[0]["message"]) == ("AC", "flags tolerance 0.5"), r.describe()
    assert (v[1]["verdict"], v[1]["message"]) == ("WA", "off by more than the tolerance"), \
        r.describe()
    assert (v[2]["verdict"], v[2]["message"]) == ("WA", "print a number"), r.describe()


@pytest.mark.parametrize("program,language", [("crash.py", "python3"), ("exit0.c", "c")])
def test_a_validator_that_fails_is_a_judge_error_that_hides_its_internals(tmp, program, language):
    r = judge(tmp, Path(program).stem, "crun", ["1 2\n", "2 2\n"], ["3\n", "5\n"], language,
              [program])
    for i in (0, 1):
        assert r.validator[i]["verdict"] == "IE", r.describe()
        assert r.validator[i]["message"] == "the output validator failed", r.describe()
    assert "secret validator internals" not in r.stdout
