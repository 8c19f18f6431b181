# attack: (partner) the victim of cross_attacker.py. Runs at the same time, in
# another slot; writes its secret (from stdin) into /tmp, /dev/shm, /var/tmp,
# next to its own source, into its environment and command line (a child
# process holding the secret in argv), then waits so the attacker can search.
# why: it only plants; cross_attacker.py's expectations say what must not
#      be found. It must itself run normally (OK) next to the attacker.
# role: partner
# input@0: {SECRET}
# limits: cpu-ms=2000 wall-ms=8000
# expect: verdict=OK stdout-contains=PLANTED
import os
import subprocess
import sys
import time

secret = sys.stdin.read().strip()
planted = []
for d in ("/tmp", "/dev/shm", "/var/tmp", os.path.dirname(os.path.abspath(sys.argv[0])), os.getcwd()):
    try:
        with open(os.path.join(d, "secret.txt"), "w") as f:
            f.write(secret)
        os.chmod(os.path.join(d, "secret.txt"), 0o644)
        planted.append(d)
    except OSError:
        pass
os.environ["DOJO_VICTIM_SECRET"] = secret
child = subprocess.Popen(["/bin/sleep", "5", secret])
print("PLANTED in", planted, flush=True)
time.sleep(5)
child.kill()
