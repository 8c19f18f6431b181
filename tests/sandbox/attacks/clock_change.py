# attack: change the clock: `date -s`, clock_settime(CLOCK_REALTIME),
# settimeofday via date, adjtimex via hwclock-like tools.
# why: needs CAP_SYS_TIME, which the sandbox lacks: EPERM everywhere, and the
#      host's clock is untouched (the harness compares realtime - monotonic
#      before and after).
# expect: verdict=OK stdout-contains=CLOCK-UNCHANGED stdout-not-contains=CLOCK-SET
import subprocess
import time

before = time.time()
try:
    time.clock_settime(time.CLOCK_REALTIME, 86400.0)
    print("CLOCK-SET by clock_settime")
except OSError as e:
    print("clock_settime:", e)
r = subprocess.run(["/bin/date", "-s", "@86400"], capture_output=True, text=True)
print("date -s ->", r.returncode, r.stdout.strip(), r.stderr.strip())
if r.returncode == 0:
    print("CLOCK-SET by date")
try:
    time.clock_settime(time.CLOCK_MONOTONIC, 0.0)
    print("CLOCK-SET monotonic")
except OSError as e:
    print("clock_settime monotonic:", e)
after = time.time()
if abs(after - before) < 5:
    print("CLOCK-UNCHANGED")
