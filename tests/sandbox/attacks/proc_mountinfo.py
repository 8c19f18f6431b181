# attack: read /proc/self/mountinfo, /proc/self/mounts, /proc/1/mountinfo and
# /proc/self/cgroup looking for host paths (the bundle, the rootfs folder, the
# workdir, the repository) and host devices.
# why: the sandbox must not learn where it lives on the host: no host path in
#      its mount table (a bind-mounted rootfs shows its host path in field 4
#      of mountinfo unless the rootfs is a filesystem root of its own).
# input@0: {WORKDIR} {ROOTFS_DIR} {REPO}
# expect: verdict=OK stdout-contains=CHECKED stdout-not-contains=HOST-PATH
# Known limitation under crun (recorded in the executor's notes): the bind
# sources of the rootfs and /judge show in mountinfo's root field. Paths
# only — nothing there is readable — until the rootfs is a filesystem of its
# own (an image mount).
# expect[crun]: verdict=OK stdout-contains=CHECKED
import sys

needles = sys.stdin.read().split() + ["/var/lib/", "/work/", "/home/", "/root/", "bazel"]
for p in ["/proc/self/mountinfo", "/proc/self/mounts", "/proc/1/mountinfo", "/proc/self/cgroup",
          "/proc/1/cgroup"]:
    try:
        with open(p) as f:
            text = f.read()
    except OSError as e:
        print(p, "denied", e)
        continue
    print("==", p)
    print(text)
    for n in needles:
        if n in text:
            print("HOST-PATH", repr(n), "in", p)
print("CHECKED")
