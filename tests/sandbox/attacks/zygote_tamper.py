# attack: sabotage the driver's pre-warmed interpreter (the "zygote" that
# forks every Python test): test 0 finds it, tries to open its memory for
# writing (/proc/<pid>/mem: code injection into every later test), then stops
# it with SIGSTOP; test 1 must still be run and reported.
# why: what one test does must not decide how the next one runs: the driver
#      notices a stopped or dead zygote and starts the test itself, and the
#      run ends normally (DONE) within its time. (Only the learner's own
#      submission is at stake; the zygote holds no other secret.)
# tests: 2
# limits: cpu-ms=1000 wall-ms=2000
#      Best of all, the zygote runs as another uid than the tests (the
#      sandbox's root, tests are uid 1000): under crun /proc (hidepid) does not
#      even show it (test 0 finds nothing: OK); gVisor shows it, and opening
#      its memory and stopping it are refused outright (test 0 ends with the
#      PermissionError: RE) and the memory stays closed (docs/sandbox.md:
#      what /proc shows of the judge).
# expect@0: verdict=OK stdout-not-contains=writable stdout-not-contains=stopped
# expect[runsc]@0: verdict=RE stdout-not-contains=writable stdout-not-contains=stopped
# expect@1: verdict=OK stdout-contains=ALIVE
# expect-run: end=DONE
import os
import signal
import sys

if sys.stdin.read().strip() == "1":
    print("ALIVE")
    sys.exit(0)
for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]:
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if b"zygote" not in cmd:
        continue
    try:
        fd = os.open(f"/proc/{pid}/mem", os.O_RDWR)
        print("zygote memory writable (same uid, dumpable)", pid)
        os.close(fd)
    except OSError as e:
        print("zygote memory closed:", e)
    os.kill(int(pid), signal.SIGSTOP)
    print("stopped zygote", pid)
print("TAMPERED")
