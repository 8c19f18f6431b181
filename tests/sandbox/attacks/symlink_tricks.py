# attack: symlinks toward host paths from every writable place: into
# /proc/1/root, /proc/1/cwd, /proc/self/root/.., "../../../../etc/shadow", the
# host's workdir and rootfs paths (given on stdin); then read and write through
# them; leave them behind pointing at host files, hoping the executor follows
# them when it cleans up or collects files (test 1 checks they are gone).
# why: symlinks resolve inside the sandbox's own root: nothing of the host is
#      reached; the harness checks the host files it hashed are unchanged and
#      the workdir holds nothing afterwards.
# tests: 2
# input@0: {WORKDIR} {ROOTFS_DIR} {REPO}
# expect@0: verdict=OK stdout-not-contains=HOST-REACHED stdout-not-contains=WROTE stdout-contains=CHECKED
# expect@1: verdict=OK stdout-contains=CHECKED
import os
import sys

words = sys.stdin.read().split()
if words == ["1"]:
    for d in ("/tmp", "/dev/shm", "/var/tmp"):
        try:
            print(d, "now holds", os.listdir(d))
        except OSError:
            pass
    print("CHECKED")
    sys.exit(0)
workdir, rootfs, repo = words
targets = ["/proc/1/root/etc/shadow", "/proc/1/root/../../../../etc/hostname", "/proc/1/cwd",
           "/proc/self/root/../../../../../work", "../../../../../../../etc/shadow", workdir, rootfs,
           repo + "/dojo", "/proc/1/root" + repo, "/etc/passwd", "/judge/plan", "/proc/1/fd/1"]
for d in ("/tmp", "/dev/shm", "/var/tmp"):
    for i, t in enumerate(targets):
        link = f"{d}/link{i}"
        try:
            os.symlink(t, link)
        except OSError as e:
            print("no symlink in", d, e.strerror)
            break
        try:
            if os.path.exists(link):
                real = os.path.realpath(link)
                if real.startswith(("/work", workdir, rootfs)) or \
                        os.path.isdir(link) and "dojo" in os.listdir(link):
                    print("HOST-REACHED", link, "->", real)
        except OSError:
            pass
        try:
            with open(link, "rb") as f:
                data = f.read(100)
            print("read through", link, "->", t, data[:40])
        except OSError as e:
            pass
        try:
            with open(link, "ab") as f:
                f.write(b"PWNED")
            print("WROTE through", link, "->", t)
        except OSError:
            pass
    # a directory symlink loop to trap a naive recursive cleanup
    try:
        os.symlink(".", f"{d}/loop")
        os.symlink("/", f"{d}/rootlink")
    except OSError:
        pass
print("CHECKED")
