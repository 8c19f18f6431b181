# attack: fork bomb — every process forks forever (os.fork in a loop, errors ignored).
# why: the test must end with a clear verdict, the same on both runtimes: its
#      processes' resident memory together (10 MiB an interpreter) passes the
#      limit long before the process limit, so MLE; the driver cleans up every
#      child, the next test runs normally, the sandbox survives (gVisor needs
#      host threads for each process and crashed at the container's pids limit
#      when that was close), and nothing is left on the host.
# tests: 2
# limits: cpu-ms=1000 wall-ms=2000
# expect@0: verdict=MLE status=ML
# expect@1: verdict=OK stdout-contains=ALIVE
# expect-run: end=DONE
import os
import sys

if sys.stdin.read().strip() == "1":
    print("ALIVE")
    sys.exit(0)
while True:
    try:
        os.fork()
    except OSError:
        pass
