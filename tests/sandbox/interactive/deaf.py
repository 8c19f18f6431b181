# Never reads: prints one guess and then waits on nothing (the wall clock),
# its stdin left unread.
import time

print(1, flush=True)
time.sleep(60)
