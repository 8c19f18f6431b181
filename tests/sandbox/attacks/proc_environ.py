# attack: read the environment and command line of pid 1 (the driver), of
# the zygote (pid 2 where there is one) and of itself, and every
# /proc/<pid>/environ visible.
# why: nothing of the executor's environment (the harness puts a canary
#      variable into the executor's environment) may reach the sandbox, and
#      the judge's processes' environ must be unreadable on both runtimes.
#      Under crun /proc is hidepid=2 and the driver is not dumpable (EACCES
#      or ENOENT); gVisor (20221219) lets every process read every other's
#      environ, but copies it from the process's memory with that memory's
#      permissions: the driver and the zygote each get one long variable and
#      make its pages inaccessible at their start, so the read fails (EFAULT).
# expect: verdict=OK stdout-not-contains={CANARY} stdout-not-contains=DOJO_ stdout-not-contains=READABLE stdout-contains=CHECKED
import os

me = os.getpid()
pids = sorted({int(p) for p in os.listdir("/proc") if p.isdigit()} | {1, 2})
for pid in pids:
    for what in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                data = f.read(4000)
        except OSError as e:
            print(pid, what, "denied", e)
            continue
        print(pid, what, data.replace(b"\0", b" ").decode(errors="replace"))
        if what == "environ" and pid != me:
            print("READABLE", pid)
print("own env keys", sorted(os.environ))
print("CHECKED")
