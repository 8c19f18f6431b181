# attack: build a 200 MiB string, then a second one from it (400 MiB in all)
# under a 256 MiB limit.
# why: MLE exactly when the program's own peak passes the limit, on both
#      runtimes; the judge stops it near the limit (not at whatever the
#      runtime's headroom allows: the peak reported stays close to it).
# limits: memory-kib=262144 cpu-ms=3000 wall-ms=6000
# expect: verdict=MLE status=ML rss-kib-min=262144 rss-kib-max=393216
s = "x" * (200 << 20)
t = s + "y"
print("SURVIVED", len(t))
