# attack: (control, not hostile) touch a 100 MiB bytearray and exit.
# why: the peak memory reported is the program's own resident memory, the
#      same way on both runtimes (not the container's, not the address
#      space): about 100 MiB plus the interpreter (gVisor allocates memory in
#      larger units and reports a few MiB more, docs/sandbox.md).
# limits: memory-kib=262144
# expect: verdict=OK stdout-contains=TOUCHED rss-kib-min=102400 rss-kib-max=135168
b = bytearray(100 << 20)
for i in range(0, len(b), 4096):
    b[i] = 1
print("TOUCHED", len(b) >> 20)
