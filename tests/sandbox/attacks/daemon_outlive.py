# attack: a background process that tries to outlive its test: double fork,
# setsid, ignore SIGTERM/SIGHUP, close stdio, keep writing a heartbeat file in
# /tmp; test 1 looks for it (heartbeat still moving, any process besides pid 1
# and itself).
# why: every process a test started must die when the test ends (the driver
#      kills what is left; its own pre-warmed interpreter, a child of pid 1
#      running /judge/zygote.py, may stay); after the whole run the harness checks nothing of
#      the sandbox's uid is left on the host.
# tests: 2
# expect@0: verdict=OK stdout-contains=DAEMONIZED
# expect@1: verdict=OK stdout-contains=GONE stdout-not-contains=SURVIVED
import os
import signal
import sys
import time

if sys.stdin.read().strip() == "1":
    time.sleep(0.3)
    def is_zygote(p):  # the driver's pre-warmed interpreter (a child of pid 1) may stay
        try:
            stat = open(f"/proc/{p}/stat").read()
            cmd = open(f"/proc/{p}/cmdline", "rb").read()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[1] == "1" and cmd.endswith(b"/judge/zygote.py\0")

    def is_zombie(p):  # dead, only not reaped yet: it cannot run any more
        try:
            return open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())
              and not is_zygote(p) and not is_zombie(p)]
    moving = False
    try:
        a = os.stat("/tmp/heartbeat").st_mtime_ns
        time.sleep(0.3)
        moving = os.stat("/tmp/heartbeat").st_mtime_ns != a
    except OSError:
        pass
    if others or moving:
        print("SURVIVED", others, "heartbeat moving:", moving)
    else:
        print("GONE")
    sys.exit(0)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):
            signal.signal(s, signal.SIG_IGN)
        os.close(0)
        os.close(1)
        os.close(2)
        while True:
            with open("/tmp/heartbeat", "w") as f:
                f.write(str(time.time()))
            time.sleep(0.05)
    os._exit(0)
os.wait()
print("DAEMONIZED")
