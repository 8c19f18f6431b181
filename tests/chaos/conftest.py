"""The chaos suite: the whole stack on a PostgreSQL and a Redis of its own, on
free loopback ports, under steady submissions while the suite kills and
restarts its parts (test_chaos.py says which and what must hold afterwards).

It needs the real executor (root, crun, the language root filesystem at
DOJO_EXECUTOR_ROOTFS_DIR, as `./dojo test` provides): without it nothing is
ever judged, and the suite skips, saying why. Binaries come from
$DOJO_BIN_DIR (default bazel-bin)."""
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for d in ("integration", "integration/gateway", "integration/gamification",
          "integration/executor", "integration/content", "chaos"):
    p = str(TESTS / d)
    if p not in sys.path:
        sys.path.insert(0, p)

import protogen  # noqa: E402

protogen.generate()

import gwkit  # noqa: E402


@pytest.fixture(scope="session")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="dojo-chaos-"))
    d.chmod(0o755)  # the executor's sandboxes and PostgreSQL's user look inside
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(workdir):
    why = gwkit.executor_skip_reason()
    if why:
        pytest.skip(f"the chaos suite needs the real executor: {why}")
    for name in ("auth", "content", "gamification", "executor", "gateway"):
        if not gwkit.binary(name).exists():
            pytest.fail(f"{gwkit.binary(name)} not built: run `bazel build //services/...`")
    import chaoskit
    s = chaoskit.Stack(workdir)
    try:
        s.start()
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


def pytest_terminal_summary(terminalreporter):
    import chaoskit
    for line in chaoskit.REPORT:
        terminalreporter.write_line(line)
