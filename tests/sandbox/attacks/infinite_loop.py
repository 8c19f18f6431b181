# attack: an infinite busy loop.
# why: the CPU limit must stop it: TLE, with cpu_ms at least the limit and the
#      wall time bounded by the wall limit.
# limits: cpu-ms=1000 wall-ms=3000
# expect: verdict=TLE cpu-ms-min=900 wall-ms-max=3600
while True:
    pass
