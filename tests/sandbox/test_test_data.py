"""Test data kept in files (the executor's cached blobs) through the real
sandbox, under crun and runsc: each such input is hard-linked into the box
(judge/data/<n>) when the job is sent — after the container started, as a
pooled box's job is — and becomes the test's stdin. The data never sits in
the box's tmpfs (so an input larger than the tmpfs and the container's
memory headroom runs), and a test cannot open the folder or another test's
data, only its own stdin."""
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sandboxkit as kit  # noqa: E402

_REASON = kit.skip_reason(("crun",))
if _REASON:
    pytestmark = pytest.mark.skip(reason=_REASON)

SLOT = int(os.environ.get("DOJO_SANDBOX_SLOT_BASE", "16")) + 40
BIG = 96 * 1024 * 1024  # more than the box's /tmp and its memory headroom

PROBE = """import hashlib, os, sys
d = sys.stdin.buffer.read()
def attempt(f):
    try:
        f()
        return "open"
    except PermissionError:
        return "denied"
    except FileNotFoundError:
        return "absent"
folder = attempt(lambda: os.listdir("/judge/data"))
other = attempt(lambda: open("/judge/data/0", "rb").read(1))
print(len(d), hashlib.sha256(d).hexdigest(), folder, other)
"""


@pytest.mark.parametrize("runtime", kit.RUNTIMES)
def test_file_inputs_are_linked_in_and_only_the_driver_reads_them(runtime):
    if runtime == "runsc" and not shutil.which("runsc"):
        pytest.skip("runsc is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="dojo-testdata-"))
    tmp.chmod(0o755)  # gVisor's gofer must reach the bundles below it
    try:
        kit.snapshot_executor(tmp)
        big = tmp / "big"
        with open(big, "wb") as f:
            for _ in range(BIG // (1 << 20)):
                f.write(secrets.token_bytes(1 << 20))
        small = tmp / "small"
        small.write_bytes(b"3 4\n")
        code = tmp / "probe.py"
        code.write_text(PROBE)
        inline = b"inline input\n"
        wd = tmp / "work"
        wd.mkdir()
        run = kit.sandbox_run(code, [kit.LinkedFile(big), inline, kit.LinkedFile(small)],
                              runtime=runtime, language="python3", workdir=wd, slot=SLOT,
                              memory_kib=262144, cpu_ms=10000, wall_ms=30000, timeout_s=300,
                              tmp=tmp / "in")
        assert not run.problems, run.describe()
        assert run.end and run.end["end"] == "DONE", run.describe()
        want = {0: big.read_bytes(), 1: inline, 2: small.read_bytes()}
        for i, data in want.items():
            t = run.tests[i]
            assert t["status"] == "OK" and t["exit_code"] == 0, run.describe()
            n, digest, folder, other = t["stdout"].split()
            assert int(n) == len(data) and digest == hashlib.sha256(data).hexdigest(), t
            assert folder == "denied" and other == "denied", t
        # The links went with the box; the originals stay.
        assert big.stat().st_nlink == 1 and small.stat().st_nlink == 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
