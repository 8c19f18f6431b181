# attack: change identity: setuid(0), setgid(0), setresuid(0,0,0), setgroups,
# setuid to another user (1000, 65534) and setfsuid.
# why: no CAP_SETUID/CAP_SETGID: every call fails and the identity stays the
#      one the sandbox gave (which is not root).
# expect: verdict=OK stdout-contains=IDENTITY-KEPT stdout-not-contains=GAINED-BY
import os

uid, gid = os.getuid(), os.getgid()
print("uid", uid, "gid", gid, "groups", os.getgroups())
for name, fn in [("setuid0", lambda: os.setuid(0)), ("setgid0", lambda: os.setgid(0)),
                 ("setresuid0", lambda: os.setresuid(0, 0, 0)), ("setgroups", lambda: os.setgroups([0])),
                 ("setuid1000", lambda: os.setuid(1000 if uid != 1000 else 1001)),
                 ("setuid65534", lambda: os.setuid(65534 if uid != 65534 else 65533)),
                 ("seteuid0", lambda: os.seteuid(0)), ("setregid0", lambda: os.setregid(0, 0))]:
    try:
        fn()
        print("GAINED-BY", name, os.getresuid(), os.getresgid())
    except OSError as e:
        print(name, e.strerror)
if (os.getuid(), os.geteuid(), os.getgid()) == (uid, uid, gid) and uid != 0:
    print("IDENTITY-KEPT")
