# attack: (control, not hostile) build a 200 MiB string under a 256 MiB
# limit, and report its length.
# why: the memory limit is the program's own: what the runtime needs (the
#      driver, the zygote, gVisor's kernel) is provisioned outside it, so a
#      program that stays under the limit is accepted on both runtimes, and
#      its reported peak is its own (200 MiB and the interpreter).
# limits: memory-kib=262144 cpu-ms=3000 wall-ms=6000
# expect: verdict=OK stdout-contains=LEN=209715200 rss-kib-min=204800 rss-kib-max=262144
s = "x" * (200 << 20)
print(f"LEN={len(s)}")
