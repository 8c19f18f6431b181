# attack: fork bomb — every process forks forever (os.fork in a loop, errors ignored).
# why: the test must end with a clear verdict, the same on both runtimes: its
#      processes' resident memory together (10 MiB an interpreter) passes the
#      limit long before the process limit, so MLE; the driver cleans up every
#      child, the next test runs normally, the sandbox survives (gVisor needs
#      host threads for each process and crashed at the container's pids limit
#      when that was close), and nothing is left on the host. Test 1 starts
#      only when every process of test 0 is gone, not even a zombie left: one
#      still dying was charged to test 1 (its CPU time since it began), and
#      under load test 1 (30 ms) came out TLE.
# tests: 2
# limits: cpu-ms=1000 wall-ms=2000
# expect@0: verdict=MLE status=ML
# expect@1: verdict=OK stdout-contains=ALIVE stdout-not-contains=LEFTOVERS
# expect-run: end=DONE
import os
import sys

if sys.stdin.read().strip() == "1":
    def judge_process(p):  # the driver (pid 1) and its pre-warmed interpreter (a child of it)
        try:
            stat = open(f"/proc/{p}/stat").read()
            cmd = open(f"/proc/{p}/cmdline", "rb").read()
        except OSError:
            return True  # gone meanwhile
        return p == "1" or (stat.rsplit(")", 1)[1].split()[1] == "1"
                            and cmd.endswith(b"/judge/zygote.py\0"))

    left = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()
            and not judge_process(p)]
    if left:
        print("LEFTOVERS", len(left))
    print("ALIVE")
    sys.exit(0)
while True:
    try:
        os.fork()
    except OSError:
        pass
