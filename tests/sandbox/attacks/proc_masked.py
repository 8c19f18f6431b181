# attack: read kernel memory and kernel state through /proc and /sys
# (/proc/kcore, /proc/kmsg, /proc/keys, /proc/timer_list, /proc/sched_debug,
# /proc/kallsyms addresses, /sys/firmware, /sys/kernel/debug, /dev/kmsg) and
# write the dangerous knobs (/proc/sysrq-trigger, /proc/sys/kernel/core_pattern,
# /proc/sys/vm/drop_caches, /sys/kernel/uevent_helper, /proc/self/oom_score_adj
# lowering).
# why: masked paths read as empty or are refused; /proc/sys and /sys are
#      read-only; kallsyms shows zero addresses to the unprivileged; nothing
#      written; oom_score_adj cannot be lowered (CAP_SYS_RESOURCE). gVisor
#      emulates oom_score_adj inside its own kernel, where lowering it changes
#      nothing on the host: allowed there.
# expect: verdict=OK stdout-not-contains=LEAK stdout-not-contains=WROTE stdout-not-contains=LOWERED-OOM-SCORE stdout-contains=CHECKED
# expect[runsc]: verdict=OK stdout-not-contains=LEAK stdout-not-contains=WROTE stdout-contains=CHECKED
import os

for p in ["/proc/kcore", "/proc/kmsg", "/proc/keys", "/proc/key-users", "/proc/timer_list",
          "/proc/sched_debug", "/proc/latency_stats", "/proc/acpi", "/proc/scsi", "/dev/kmsg",
          "/sys/firmware", "/sys/kernel/debug", "/sys/kernel/security", "/proc/config.gz"]:
    try:
        if os.path.isdir(p):
            names = os.listdir(p)
            if names:
                print("LEAK dir", p, names[:5])
            else:
                print("empty dir", p)
            continue
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
        if data:
            print("LEAK", p, len(data), data[:60])
        else:
            print("empty", p)
    except OSError as e:
        print("denied", p, e)
try:
    with open("/proc/kallsyms") as f:
        lines = [l for l in f.read(1 << 20).splitlines()[:-1]
                 if len(l.split()) >= 3 and int(l.split()[0], 16) != 0]
    if lines:
        print("LEAK kallsyms addresses", lines[:2])
    else:
        print("kallsyms addresses hidden")
except OSError as e:
    print("denied /proc/kallsyms", e)
for p, data in [("/proc/sysrq-trigger", "h"), ("/proc/sys/kernel/core_pattern", "|/tmp/x"),
                ("/proc/sys/vm/drop_caches", "3"), ("/sys/kernel/uevent_helper", "/tmp/x"),
                ("/proc/sys/kernel/hostname", "pwned"), ("/proc/self/oom_score_adj", "-1000"),
                ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9999999999"),
                ("/sys/fs/cgroup/pids/pids.max", "max"), ("/sys/fs/cgroup/memory.max", "max"),
                ("/sys/fs/cgroup/pids.max", "max"), ("/sys/fs/cgroup/cgroup.procs", "1")]:
    try:
        with open(p, "w") as f:
            f.write(data)
        print("LOWERED-OOM-SCORE" if p.endswith("oom_score_adj") else "WROTE", p)
    except OSError as e:
        print("denied write", p, e)
print("CHECKED")
