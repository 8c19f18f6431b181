# attack: endless output on stderr (never judged) while stdout stays empty.
# why: stderr must be capped (64 KiB) without blocking the program or growing
#      memory anywhere; the program then runs into the time limit: TLE.
# limits: cpu-ms=1000 wall-ms=2000
# expect: verdict=TLE|OLE stderr-max-bytes=65536
import sys

block = "e" * (1 << 20)
while True:
    sys.stderr.write(block)
