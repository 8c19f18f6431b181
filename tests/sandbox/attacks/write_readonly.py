# attack: write to read-only places: create files in /, /usr, /etc, /bin,
# /judge (where the plan and test inputs live), overwrite the program's own
# source, the plan, the next test's input and the driver; chmod/chown/utime
# them; remount / read-write.
# why: the root is read-only and /judge belongs to the judge: every attempt
#      fails with EROFS/EACCES/EPERM; test 1 sees its input unchanged ("1").
# tests: 2
# expect@0: verdict=OK stdout-not-contains=WROTE stdout-contains=CHECKED
# expect@1: verdict=OK stdout-contains=INPUT-INTACT
import os
import sys

data = sys.stdin.read()
if data.strip() == "1":
    print("INPUT-INTACT" if data == "1\n" else "INPUT-CHANGED %r" % data)
    sys.exit(0)
targets = ["/", "/usr", "/usr/bin", "/etc", "/bin", "/judge", "/judge/in", "/var", "/root", "/home",
           "/proc", "/sys", "/dev"]
for d in targets:
    p = os.path.join(d, "dojo-attack")
    try:
        with open(p, "w") as f:
            f.write("x")
        print("WROTE", p)
    except OSError as e:
        print("denied", p, e.strerror)
    try:
        os.mkdir(p + "-dir")
        print("WROTE dir", p)
    except OSError as e:
        pass
victims = ["/etc/passwd", "/usr/bin/python3", "/judge/plan", "/judge/in/1", "/judge/in/0",
           os.path.abspath(sys.argv[0]), "/proc/1/exe"]
try:
    victims += [os.path.join("/judge", n) for n in os.listdir("/judge")]
except OSError as e:
    print("cannot list /judge", e)
for p in victims:
    try:
        with open(p, "r+b") as f:
            f.write(b"PWNED")
        print("WROTE", p)
    except OSError as e:
        print("denied", p, e.strerror)
    for what, fn in [("chmod", lambda: os.chmod(p, 0o777)), ("chown", lambda: os.chown(p, os.getuid(), -1)),
                     ("utime", lambda: os.utime(p, (0, 0))), ("unlink", lambda: os.unlink(p)),
                     ("rename", lambda: os.rename(p, p + ".x"))]:
        try:
            fn()
            print("WROTE", what, p)
        except OSError as e:
            pass
print("program at", sys.argv[0], "cwd", os.getcwd())
print("CHECKED")
