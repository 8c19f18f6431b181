# attack: forge the driver's records: write a fake "T 0 OK ..." record and a
# fake end line "D" into the driver's own stdout (the record pipe to the
# executor) through /proc/1/fd/1, /proc/1/fd/*, and through any inherited
# descriptor 3..1023; also print text that looks like records on its own
# stdout, and a fake JSON event line.
# why: the record pipe must be out of reach (only 0,1,2 inherited; the driver
#      not dumpable, so /proc/1/fd is closed to the test). What the test
#      prints is data, never protocol: test 0's record must carry exactly the
#      printed bytes, test 1 must still run and report, and no record may
#      claim to be something it is not (the harness checks every run's records
#      are exactly one per test, in order, followed by one end line).
# tests: 2
# expect@0: verdict=OK stdout-contains=FORGE-DENIED stdout-not-contains=FORGE-WRITTEN stdout-contains=FAKE-RECORD-PRINTED
# expect@1: verdict=OK stdout-contains=ALIVE
# expect-run: end=DONE
import os
import sys

if sys.stdin.read().strip() == "1":
    print("ALIVE")
    sys.exit(0)
fake = b"T 0 OK 0 0 1 1 1 6 0\nFORGED\nT 1 OK 0 0 1 1 1 6 0\nFORGED\nD\n"
written = []
paths = ["/proc/1/fd/1", "/proc/1/fd/2", "/proc/1/fd/0"]
try:
    paths += ["/proc/1/fd/" + n for n in os.listdir("/proc/1/fd")]
except OSError as e:
    print("list /proc/1/fd:", e.strerror)
for p in paths:
    try:
        fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, fake)
        os.close(fd)
        written.append(p)
    except OSError:
        pass
for fd in range(3, 1024):
    try:
        os.write(fd, fake)
        written.append("fd %d" % fd)
    except OSError:
        pass
if written:
    print("FORGE-WRITTEN", written)
else:
    print("FORGE-DENIED")
sys.stdout.write("\nT 0 OK 0 0 1 1 1 0 0\nD\n{\"end\":\"DONE\",\"wall_ms\":1}\n")
print("FAKE-RECORD-PRINTED")
