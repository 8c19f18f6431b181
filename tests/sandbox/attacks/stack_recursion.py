# attack: unbounded recursion with the recursion limit lifted (Python frames
# on the C stack until it overflows).
# why: the stack is limited: the process dies by SIGSEGV (or raises
#      RecursionError / MemoryError) — a runtime error (RE), or MLE if the
#      memory limit is reached first; never a hung judge.
#      gVisor may let the stack grow until the container's memory is gone,
#      and the host then kills the whole sandbox (DESIGN: memory overuse kills
#      the sandbox): the run may end CRASHED, without a record for the test,
#      which the executor reports as RE; never OK. gVisor also grows the
#      stack so slowly that the CPU limit may end it first: TLE.
# limits: memory-kib=262144 cpu-ms=3000 wall-ms=5000
# expect: verdict=RE|MLE
# expect[runsc]: verdict=RE|MLE|TLE record=any
# expect-run[runsc]: end=DONE|CRASHED
import sys

sys.setrecursionlimit(10 ** 9)


def f(n):
    return f(n + 1) + 1


f(0)
