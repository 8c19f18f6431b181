# attack: host devices: open disks (/dev/sda, vda, nvme0n1, xvda, loop0),
# /dev/mem, /dev/kmem, /dev/port, /dev/kmsg, /dev/tty, /dev/console,
# /dev/net/tun, /dev/fuse, /dev/kvm; mknod a block and a char device in /tmp.
# why: /dev holds only the harmless standard nodes (null, zero, full, random,
#      urandom, tty/ptmx/pts at most); creating device nodes is refused.
#      gVisor's /dev is its own kernel's: it also offers /dev/net/tun and
#      /dev/fuse (emulated, no host device behind them) and lets mknod create
#      a node that leads nowhere; host devices must still be unreachable.
# expect: verdict=OK stdout-not-contains=OPENED stdout-not-contains=MKNOD-OK stdout-contains=CHECKED
# expect[runsc]: verdict=OK stdout-not-contains=OPENED-HOST-DEVICE stdout-not-contains=MADE-NODE-OPENED stdout-contains=CHECKED
import os
import stat

print("dev", sorted(os.listdir("/dev")))
for p in ["/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/xvda", "/dev/loop0", "/dev/mem", "/dev/kmem",
          "/dev/port", "/dev/kmsg", "/dev/console", "/dev/net/tun", "/dev/fuse", "/dev/kvm",
          "/dev/dri/card0", "/dev/vsock", "/dev/vhost-net", "/dev/tty"]:
    try:
        fd = os.open(p, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
        extra = p in ("/dev/net/tun", "/dev/fuse", "/dev/tty", "/dev/console")
        print("OPENED-EXTRA" if extra else "OPENED-HOST-DEVICE", p)
        os.close(fd)
    except OSError as e:
        print("denied", p, e.strerror)
for name, mode, dev in [("sda", stat.S_IFBLK, os.makedev(8, 0)), ("mem", stat.S_IFCHR, os.makedev(1, 1)),
                        ("vda", stat.S_IFBLK, os.makedev(253, 0))]:
    try:
        os.mknod("/tmp/" + name, mode | 0o600, dev)
        print("MKNOD-OK", name)
        try:
            fd = os.open("/tmp/" + name, os.O_RDONLY)
            print("MADE-NODE-OPENED", name, os.read(fd, 16))
        except OSError as e:
            print("cannot open made node", name, e.strerror)
    except OSError as e:
        print("mknod", name, e.strerror)
print("CHECKED")
