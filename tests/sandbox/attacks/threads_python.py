# attack: (control, not hostile) a Python program that starts 16 threads,
# each summing a range, under the default 256 MiB of a task.
# why: threads are ordinary Python; they must work the same under crun and
#      runsc (gVisor once refused them: it answers the clone3 rule of the
#      seccomp profile with EPERM, so glibc never fell back to clone).
# limits: memory-kib=262144
# expect: verdict=OK stdout-contains=THREADS-OK
import threading

results = [0] * 16


def work(i):
    results[i] = sum(range(i * 1000, (i + 1) * 1000))


threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert results[3] == sum(range(3000, 4000))
print("THREADS-OK", len(threads))
