# attack: look for other processes: every /proc/<pid> (host processes, other
# submissions, the executor), and signal whatever is found.
# why: a private pid namespace: only pid 1 (the driver), its pre-warmed
#      interpreter (a child of pid 1 running /judge/zygote.py) and the test's
#      own processes are visible; nothing of the host.
# expect: verdict=OK stdout-contains=ONLY-OWN stdout-not-contains=FOREIGN
import os

me = os.getpid()
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print("pids", pids)
foreign = []
for pid in pids:
    if pid in (1, me):
        continue
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        continue
    ppid = int(stat.rsplit(")", 1)[1].split()[1])
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        cmd = b""
    if ppid == 1 and cmd.endswith(b"/judge/zygote.py\0"):
        print("zygote", pid)  # the driver's pre-warmed interpreter
        continue
    if ppid != me:
        foreign.append((pid, stat[:80]))
for pid, stat in foreign:
    print("FOREIGN", pid, stat)
if not foreign:
    print("ONLY-OWN")
