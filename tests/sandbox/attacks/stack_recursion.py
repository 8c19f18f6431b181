# attack: unbounded recursion with the recursion limit lifted (Python frames
# on the C stack until it overflows).
# why: the stack is limited: the process dies by SIGSEGV (or raises
#      RecursionError / MemoryError) — a runtime error (RE), or MLE if the
#      memory limit is reached first; never a hung judge.
#      Python 3.11 keeps its frames on the heap (mmap'd in 16 KiB chunks): the
#      memory limit ends it, MLE, on both runtimes. Under gVisor each of those
#      mmaps is a trip to its kernel: it takes up to 3 s of CPU time to get
#      there (crun: 0.3 s), hence the generous CPU limit.
# limits: memory-kib=262144 cpu-ms=10000 wall-ms=15000
# expect: verdict=MLE status=ML
import sys

sys.setrecursionlimit(10 ** 9)


def f(n):
    return f(n + 1) + 1


f(0)
