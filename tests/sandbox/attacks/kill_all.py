# attack: `kill -9 -1` (from the shell and from Python), then SIGKILL, SIGSTOP,
# SIGTERM to pid 1 (the driver) and to the whole process group 0.
# why: kill(-1) reaches only the sandbox's own processes (its pid namespace,
#      its uid that maps to no host user) — never the executor, another
#      submission or the host; pid 1 of a pid namespace ignores signals from
#      inside it, so the driver survives and test 1 runs normally.
# tests: 2
# expect@0: verdict=OK|RE stdout-contains=SENT
# expect@1: verdict=OK stdout-contains=ALIVE
# expect-run: end=DONE
import os
import signal
import subprocess
import sys

if sys.stdin.read().strip() == "1":
    print("ALIVE")
    sys.exit(0)
print("SENT", flush=True)
subprocess.run(["/bin/sh", "-c", "kill -9 -1"])
for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
    try:
        os.kill(1, sig)
        print("signalled pid 1 with", sig.name, flush=True)
    except OSError as e:
        print("pid 1", sig.name, e, flush=True)
try:
    os.kill(-1, signal.SIGKILL)
except OSError as e:
    print("kill -1:", e, flush=True)
