# attack: read the environment and command line of pid 1 (the driver) and of
# itself, and every /proc/<pid>/environ visible.
# why: nothing of the executor's environment (the harness puts a canary
#      variable into the executor's environment) may reach the sandbox; the
#      driver is not dumpable, so its environ is unreadable or harmless.
# expect: verdict=OK stdout-not-contains={CANARY} stdout-not-contains=DOJO_
import os

for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    for what in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                print(pid, what, f.read(4000).replace(b"\0", b" ").decode(errors="replace"))
        except OSError as e:
            print(pid, what, "denied", e)
print("own env keys", sorted(os.environ))
