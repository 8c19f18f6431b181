# attack: look for the judge's own processes in /proc — pid 1 (the driver)
# and the pre-warmed interpreter (the zygote) — and read what they expose:
# environ, cmdline, status, maps, auxv, mountinfo.
# why: test code must not learn anything of the judge's processes. Under crun
#      /proc is mounted hidepid=2 (gid 0: the driver sees all): a test sees
#      its own processes only. gVisor (20221219) ignores hidepid and makes
#      environ, cmdline and maps world-readable: there a test sees the
#      driver and the zygote (docs/sandbox.md, known differences), but their
#      environ cannot be read (each seals its own: proc_environ).
# expect: verdict=OK stdout-contains=CHECKED stdout-not-contains=SEEN stdout-not-contains=ENV-CONTENT stdout-not-contains=ENV-READABLE
# expect[runsc]: verdict=OK stdout-contains=CHECKED stdout-not-contains=ENV-CONTENT stdout-not-contains=ENV-READABLE
import os

me = os.getpid()
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    if pid == me:
        continue
    print("SEEN", pid)
    for what in ("environ", "cmdline", "status", "maps", "auxv", "mountinfo"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                data = f.read(65536)
        except OSError as e:
            print(pid, what, "denied:", e.strerror)
            continue
        print(pid, what, "read", len(data), "bytes")
        if what == "environ":
            print("ENV-READABLE", pid)
        # runsc gives a process with no environment HOME (from the rootfs's
        # /etc/passwd): nothing of the judge.
        extra = [v for v in data.split(b"\0") if v and not v.startswith(b"HOME=")]
        if what == "environ" and extra:
            print("ENV-CONTENT", pid, extra[:5])
for pid in (1, 2):
    try:
        os.stat(f"/proc/{pid}")
        print("SEEN", pid, "by stat")
    except OSError:
        pass
print("CHECKED")
