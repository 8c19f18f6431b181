# attack: inspect its own privileges: uid/gid (root inside?), capability sets,
# no_new_privs, seccomp mode, the uid map (which host uid it is), the
# cgroup it is in, its rlimits.
# why: the sandbox must run as a non-root uid with every capability set empty
#      (effective, permitted, inheritable, bounding, ambient), NoNewPrivs: 1,
#      and under crun a seccomp filter (Seccomp: 2). The host uid behind it
#      (uid_map) must be >= 200000 (a uid that maps to no host user). Core
#      dumps off (RLIMIT_CORE 0), a file-size limit set. gVisor has its own
#      kernel: it does not show the host's seccomp state, its uid map is its
#      own, so only the identity and capabilities are checked there.
# expect: verdict=OK stdout-contains=NONROOT stdout-contains=NO-CAPS stdout-contains=NNP stdout-contains=SECCOMP stdout-contains=HOSTUID-HIGH stdout-contains=CORE-0 stdout-contains=FSIZE-SET
# expect[runsc]: verdict=OK stdout-contains=NONROOT stdout-contains=NO-CAPS stdout-contains=CORE-0 stdout-contains=FSIZE-SET
import os

status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
status = {k: v.strip() for k, v in status.items()}
print({k: status.get(k) for k in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                                  "NoNewPrivs", "Seccomp")})
if os.getuid() != 0 and os.geteuid() != 0:
    print("NONROOT")
if all(int(status.get(k, "0"), 16) == 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")):
    print("NO-CAPS")
if status.get("NoNewPrivs") == "1":
    print("NNP")
if status.get("Seccomp") == "2":
    print("SECCOMP")
try:
    umap = open("/proc/self/uid_map").read().split()
    print("uid_map", umap)
    inside, outside, count = map(int, umap[:3])
    if outside + (os.getuid() - inside) >= 200000:
        print("HOSTUID-HIGH")
except (OSError, ValueError) as e:
    print("uid_map", e)
try:
    limits = open("/proc/self/limits").read()
except OSError as e:  # gVisor has no /proc/<pid>/limits: ask the shell
    import subprocess
    limits = "Max core file size 0 0 blocks\n" if subprocess.run(
        ["/bin/sh", "-c", "test $(ulimit -c) = 0 && test $(ulimit -H -c) = 0"]).returncode == 0 else ""
    fs = subprocess.run(["/bin/sh", "-c", "ulimit -f"], capture_output=True, text=True).stdout.strip()
    limits += "Max file size %s %s bytes\n" % (fs, fs)
print(limits)
for line in limits.splitlines():
    if line.startswith("Max core file size") and line.split()[4] == "0":
        print("CORE-0")
    if line.startswith("Max file size") and line.split()[3] != "unlimited":
        print("FSIZE-SET")
print(open("/proc/self/cgroup").read())
