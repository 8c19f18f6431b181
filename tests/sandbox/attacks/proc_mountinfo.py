# attack: read /proc/self/mountinfo, /proc/self/mounts, /proc/1/mountinfo and
# /proc/self/cgroup looking for host paths (the bundle, the rootfs folder, the
# workdir, the repository) and host devices.
# why: the sandbox must not learn where it lives on the host: no host path in
#      its mount table (a bind mount shows the path of its source inside the
#      source's filesystem; under crun each source is covered by an overlay
#      named after a file descriptor), and no mount of the host's devtmpfs
#      (crun binds device nodes from a tmpfs of the executor's).
# input@0: {WORKDIR} {ROOTFS_DIR} {REPO}
# expect: verdict=OK stdout-contains=CHECKED stdout-not-contains=HOST-PATH
import sys

needles = sys.stdin.read().split() + ["/var/lib/", "/work/", "/home/", "/root/", "bazel",
                                      "devtmpfs", "/tmp/"]
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
