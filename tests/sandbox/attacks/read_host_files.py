# attack: read host files by their host paths and the usual secrets:
# /etc/shadow, /root/.ssh, /work (this repository on the host), the host's
# machine id, /etc/hostname, /home, /var/lib, the executor's workdir and
# rootfs folder (their host paths given on stdin).
# why: the sandbox sees only its own read-only language root: /etc/shadow is
#      the rootfs's copy and unreadable (no capabilities, not root), host-only
#      paths do not exist. The harness also checks no byte of the host's
#      machine id or shadow hash and no environment canary appears anywhere.
# input@0: {WORKDIR} {ROOTFS_DIR} {REPO}
# expect: verdict=OK stdout-contains=SHADOW-DENIED stdout-not-contains=HOST-PATH-VISIBLE stdout-not-contains={MACHINE_ID} stdout-not-contains={SHADOW_ROOT_HASH}
import os
import sys

workdir, rootfs, repo = sys.stdin.read().split()
try:
    with open("/etc/shadow") as f:
        print("SHADOW-READ", f.read())
except OSError as e:
    print("SHADOW-DENIED", e)
for p in ["/etc/gshadow", "/etc/machine-id", "/var/lib/dbus/machine-id", "/etc/hostname",
          "/root/.ssh/id_rsa", "/root/.bash_history", "/etc/ssh/ssh_host_ed25519_key"]:
    try:
        with open(p, "rb") as f:
            print("read", p, f.read(200))
    except OSError as e:
        print("denied", p, e)
for p in [repo, repo + "/dojo", "/work", "/work/shared", workdir, rootfs, "/root", "/home",
          "/var/lib/postgresql", "/var/lib/redis", "/srv", "/opt", "/mnt"]:
    if not os.path.exists(p):
        continue
    try:
        names = os.listdir(p) if os.path.isdir(p) else [p]
    except OSError as e:
        print("exists but unreadable", p, e)
        continue
    if p.startswith(("/work", workdir, rootfs)) or names:
        print("HOST-PATH-VISIBLE", p, names[:10])
print("hostname", os.uname().nodename)
