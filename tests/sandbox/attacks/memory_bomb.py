# attack: memory bomb — grow a list of touched 8 MiB blocks forever.
# why: the cgroup memory limit (no swap) must stop it and the verdict must be
#      MLE (not RE, not a crashed judge); the next test must run normally.
# tests: 2
# limits: memory-kib=65536 cpu-ms=2000 wall-ms=4000
# expect@0: verdict=MLE
# expect@1: verdict=OK stdout-contains=ALIVE
import sys

if sys.stdin.read().strip() == "1":
    print("ALIVE")
    sys.exit(0)
blocks = []
while True:
    blocks.append(bytearray(b"\x01") * (8 << 20))
