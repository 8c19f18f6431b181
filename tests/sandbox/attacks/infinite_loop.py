# attack: an infinite busy loop.
# why: the CPU limit must stop it: TLE by CPU time (status TC), with cpu_ms at
#      least the limit, on a quiet machine and on a busy one alike (the wall
#      clock stops only a program that waits; past it a program still
#      computing is left to its CPU limit, up to the safety net).
# limits: cpu-ms=1000 wall-ms=3000
# expect: verdict=TLE status=TC cpu-ms-min=1000
while True:
    pass
