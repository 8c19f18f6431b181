"""protogen — the Python modules of every dojo proto (protoc --python_out into
tests/.gen, put on sys.path), and the health proto under a package name that
does not shadow the grpc module. The test suites' conftest files call
generate() before importing the kits, which import the generated modules."""
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GEN = REPO / "tests" / ".gen"


def generate():
    if str(GEN) in sys.path:
        return
    protos = REPO / "protos"
    shutil.rmtree(GEN, ignore_errors=True)
    (GEN / "src" / "dojo_health").mkdir(parents=True)
    dojo_files = sorted(str(p.relative_to(protos)) for p in (protos / "dojo").rglob("*.proto"))
    subprocess.run(["protoc", f"--proto_path={protos}", f"--python_out={GEN}", *dojo_files],
                   check=True)
    shutil.copy(protos / "grpc" / "health" / "v1" / "health.proto",
                GEN / "src" / "dojo_health" / "health.proto")
    subprocess.run(["protoc", f"--proto_path={GEN / 'src'}", f"--python_out={GEN}",
                    "dojo_health/health.proto"], check=True)
    sys.path.insert(0, str(GEN))
