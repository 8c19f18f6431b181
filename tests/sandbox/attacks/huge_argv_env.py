# attack: exec with a huge argv and environment (64 MiB each, then just under
# the kernel's limits: 100k args of 100 bytes, a 128 KiB single string), to
# exhaust memory through the kernel's argument copying or crash the driver.
# why: the kernel refuses (E2BIG) or the memory limit applies; the test ends
#      cleanly, the driver keeps working (test 1), the run completes.
# tests: 2
# limits: memory-kib=131072
# expect@0: verdict=OK|RE|MLE stdout-contains=TRIED
# expect@1: verdict=OK stdout-contains=ALIVE
# expect-run: end=DONE
import os
import subprocess
import sys

if sys.stdin.read().strip() == "1":
    print("ALIVE")
    sys.exit(0)
print("TRIED", flush=True)
for name, argv, env in [
        ("64MiB argv", ["/bin/true", "a" * (64 << 20)], {}),
        ("64MiB env", ["/bin/true"], {"X": "b" * (64 << 20)}),
        ("100k args", ["/bin/true"] + ["c" * 100] * 100000, {}),
        ("128KiB arg", ["/bin/true", "d" * (128 << 10)], {}),
        ("1.9 MiB of small args", ["/bin/true"] + ["e" * 1000] * 1900, {})]:
    try:
        r = subprocess.run(argv, env=env)
        print(name, "ran, exit", r.returncode, flush=True)
    except OSError as e:
        print(name, "refused:", e.strerror, flush=True)
