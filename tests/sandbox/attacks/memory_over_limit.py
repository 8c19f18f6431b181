# attack: use more memory than the limit, but not absurdly more: touch 1.5x
# the memory limit (64 MiB limit, 96 MiB used), then exit 0 cleanly.
# why: the limit is the limit: a test whose peak memory passed it is MLE even
#      if nothing killed it (a judge that only catches allocations far beyond
#      the limit lets solutions use more memory than the task allows).
# limits: memory-kib=65536 cpu-ms=2000 wall-ms=4000
# expect: verdict=MLE
blocks = []
for _ in range(12):
    blocks.append(bytearray(b"\x01") * (8 << 20))
print("USED", sum(len(b) for b in blocks) >> 20, "MiB")
