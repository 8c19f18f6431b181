# attack: open pipes until the kernel refuses (nofile).
# why: RLIMIT_NOFILE stops it at a small number (EMFILE): no host-wide file
#      table exhaustion.
# expect: verdict=OK stdout-contains=EMFILE stdout-not-contains=UNLIMITED
import os

fds = []
err = None
try:
    while len(fds) < 100000:
        r, w = os.pipe()
        fds += [r, w]
except OSError as e:
    err = e
print("opened", len(fds), "then", err)
if len(fds) >= 100000:
    print("UNLIMITED")
elif err is not None and err.errno == 24:
    print("EMFILE")
