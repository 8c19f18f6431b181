# attack: fill /tmp (and /dev/shm, /var/tmp) with many files of 256 KiB each
# until the kernel refuses; report how much was written.
# why: writable folders must be small and bounded (tmpfs size and/or memory
#      cgroup), never the host disk. Either the writes fail (ENOSPC / EFBIG /
#      EDQUOT) or the memory limit kills the test (MLE). Writing 1 GiB must be
#      impossible. The next test must start with an empty /tmp: what a test
#      left there must not affect the next one. (Test 1 also checks that.)
# tests: 2
# limits: memory-kib=131072 output-kib=256 cpu-ms=3000 wall-ms=6000
# expect@0: verdict=OK|MLE stdout-not-contains=UNBOUNDED
# expect@1: verdict=OK stdout-contains=ALIVE stdout-not-contains=LEFTOVER
import os
import sys

if sys.stdin.read().strip() == "1":
    print("ALIVE")
    for d in ("/tmp", "/dev/shm", "/var/tmp"):
        try:
            names = [n for n in os.listdir(d) if n.startswith("fill-")]
        except OSError:
            continue
        if names:
            print("LEFTOVER in", d, len(names))
    sys.exit(0)
chunk = b"x" * (256 << 10)
total = 0
for d in ("/tmp", "/dev/shm", "/var/tmp"):
    i = 0
    while total < (1 << 30):
        try:
            with open(f"{d}/fill-{i}", "wb") as f:
                f.write(chunk)
        except OSError as e:
            print(d, "STOPPED", e.errno, os.strerror(e.errno), "after", total >> 20, "MiB", flush=True)
            break
        total += len(chunk)
        i += 1
if total >= (1 << 30):
    print("UNBOUNDED: wrote", total >> 20, "MiB")
else:
    print("BOUNDED total", total >> 20, "MiB")
