# attack: endless output on stdout, 1 MiB at a time.
# why: must be OLE as soon as the cap is passed, with the kept output capped at
#      the limit (output-kib), never buffered without bound by driver or executor.
# limits: output-kib=64 cpu-ms=2000 wall-ms=4000
# expect: verdict=OLE stdout-max-bytes=65536
import sys

block = "y" * (1 << 20)
while True:
    sys.stdout.write(block)
