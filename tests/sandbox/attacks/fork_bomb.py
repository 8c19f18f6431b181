# attack: fork bomb — every process forks forever (os.fork in a loop, errors ignored).
# why: the pids limit must stop it, the test must end with a clear verdict, the
#      driver must clean up every child, the next test must run normally, and
#      nothing may be left on the host. gVisor counts its own threads against the
#      pids limit and may crash on it (see DESIGN): the run may then end CRASHED,
#      but only with a learner-fault verdict (never OK, never IE) for this test.
# tests: 2
# limits: cpu-ms=1000 wall-ms=2000
# expect@0: verdict=TLE|RE|MLE
# expect@1: verdict=OK stdout-contains=ALIVE
# expect[runsc]@0: verdict=TLE|RE|MLE record=any
# expect[runsc]@1: verdict=OK stdout-contains=ALIVE record=any
# expect-run[runsc]: end=DONE|CRASHED
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
