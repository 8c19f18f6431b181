# attack: raw and packet sockets (ICMP raw, IPPROTO_RAW, AF_PACKET), netlink
# route changes (an interface up), which need CAP_NET_RAW / CAP_NET_ADMIN.
# why: no capabilities: every raw/packet socket is refused (EPERM/EACCES, or
#      unsupported under gVisor), nothing sniffed or spoofed.
# expect: verdict=OK stdout-not-contains=OPENED stdout-contains=RAW-DENIED
import socket

ok = True
for fam, typ, proto, name in [
        (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP, "raw-icmp"),
        (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW, "raw-ip"),
        (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6, "raw-icmp6"),
        (getattr(socket, "AF_PACKET", 17), socket.SOCK_RAW, 0x0300, "packet-raw"),
        (getattr(socket, "AF_PACKET", 17), socket.SOCK_DGRAM, 0x0300, "packet-dgram")]:
    try:
        s = socket.socket(fam, typ, proto)
        print("OPENED", name)
        ok = False
        try:
            s.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", ("8.8.8.8", 0))
            print("OPENED-AND-SENT", name)
        except Exception as e:
            print(name, "send failed", e)
        s.close()
    except OSError as e:
        print("denied", name, e)
if ok:
    print("RAW-DENIED")
