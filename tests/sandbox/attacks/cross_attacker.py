# attack: read another submission's files while both run. The harness starts
# cross_victim.py in another slot first; this program then searches for
# the secret's marker for a few seconds: every writable folder, every file below
# / outside /usr, /proc and /sys, every /proc/<pid>/{cmdline,environ} it can see, and the
# abstract unix socket names in /proc/net/unix.
# why: each submission has its own mount, pid and network namespaces, its own
#      tmpfs folders and its own uid range: the victim's secret must not be
#      found. (The harness checks the attacker's output never contains it.)
# partner: cross_victim.py
# limits: cpu-ms=3000 wall-ms=8000
# expect: verdict=OK stdout-contains=SEARCHED stdout-not-contains={SECRET}
import os
import stat
import time

NEEDLE = b"DOJO-" + b"SECRET-"  # not spelled out: this file itself is readable
found = set()


def scan_file(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) and not path.startswith("/proc"):
            return
        data = os.read(fd, 1 << 16)
    except OSError:
        return
    finally:
        os.close(fd)
    i = data.find(NEEDLE)
    if i >= 0:
        found.add((path, data[i:i + 60].decode(errors="replace")))


def scan_tree(top, max_files=20000):
    n = 0
    for root, dirs, files in os.walk(top):
        if root.startswith(("/proc", "/sys", "/usr/lib", "/usr/share")):
            dirs[:] = []
            continue
        for name in files:
            scan_file(os.path.join(root, name))
            n += 1
            if n > max_files:
                return


deadline = time.time() + 2.5
rounds = 0
while time.time() < deadline:
    rounds += 1
    for d in ("/tmp", "/dev/shm", "/var/tmp", "/judge", "/run", "/home", "/root"):
        scan_tree(d)
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            for what in ("cmdline", "environ"):
                scan_file(f"/proc/{pid}/{what}")
    scan_file("/proc/net/unix")
    time.sleep(0.1)
for top in os.listdir("/"):
    if top not in ("usr", "proc", "sys", "dev", "lib", "lib64", "bin", "sbin", "boot"):
        scan_tree("/" + top, max_files=5000)
for path, text in sorted(found):
    print("FOUND", path, text)
print("SEARCHED", rounds, "rounds")
