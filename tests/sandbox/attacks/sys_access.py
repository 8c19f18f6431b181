# attack: explore /sys: network interfaces, cgroup controls, block devices'
# writable knobs, DMI serial numbers, and try to create a cgroup to escape the
# limits (mkdir in /sys/fs/cgroup/..., move self into the root cgroup).
# why: /sys is read-only and the cgroup tree is the container's own,
#      read-only: no cgroup created, no process moved, only `lo` visible.
# expect: verdict=OK stdout-not-contains=WROTE stdout-not-contains=CREATED stdout-not-contains=EXTRA-IFACE stdout-contains=CHECKED
import os

try:
    ifaces = os.listdir("/sys/class/net")
    print("interfaces", ifaces)
    if set(ifaces) - {"lo"}:
        print("EXTRA-IFACE", ifaces)
except OSError as e:
    print("no /sys/class/net", e)
for p in ["/sys/class/dmi/id/product_serial", "/sys/class/dmi/id/product_uuid",
          "/sys/class/dmi/id/board_serial"]:
    try:
        with open(p) as f:
            print("read", p, f.read().strip())
    except OSError as e:
        print("denied", p, e)
for root, dirs, files in os.walk("/sys/fs/cgroup"):
    for d in ("escape", "dojo-escape"):
        try:
            os.mkdir(os.path.join(root, d))
            print("CREATED", os.path.join(root, d))
        except OSError:
            pass
    for name in ("cgroup.procs", "tasks"):
        if name in files:
            try:
                with open(os.path.join(root, name), "w") as f:
                    f.write(str(os.getpid()))
                print("WROTE", os.path.join(root, name))
            except OSError:
                pass
    if root.count("/") > 6:
        dirs[:] = []
try:
    for dev in os.listdir("/sys/block"):
        p = f"/sys/block/{dev}/queue/scheduler"
        try:
            with open(p, "w") as f:
                f.write("none")
            print("WROTE", p)
        except OSError:
            pass
except OSError as e:
    print("no /sys/block", e)
print("CHECKED")
