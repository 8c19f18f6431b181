# attack: sleep far past the wall clock (uses no CPU, so no CPU limit helps).
# why: the wall clock must stop it: TLE, wall_ms near the wall limit.
# limits: cpu-ms=1000 wall-ms=1500
# expect: verdict=TLE wall-ms-min=1400 wall-ms-max=2500
# expect-run: total-wall-ms-max=15000
import time

time.sleep(3600)
