# attack: UDP datagrams to the harness's host UDP listener (127.0.0.1 and the
# host's own addresses), to 8.8.8.8:53 (a DNS query) and to the broadcast
# address.
# why: no datagram may leave the sandbox. sendto on an isolated loopback
#      "succeeds" silently, so the proof is on the host side: the harness's
#      UDP listener must receive nothing, and no DNS answer may arrive here.
# input@0: {UDP_PORT} {HOST_IPS}
# expect: verdict=OK stdout-not-contains=ANSWERED
import socket
import sys

words = sys.stdin.read().split()
port, host_ips = int(words[0]), words[1:]
query = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
for host, p, data in [("127.0.0.1", port, b"DOJO-UDP-ESCAPE"), ("8.8.8.8", 53, query),
                      ("255.255.255.255", port, b"DOJO-UDP-ESCAPE")] + \
                     [(ip, port, b"DOJO-UDP-ESCAPE") for ip in host_ips]:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.settimeout(0.3)
    try:
        s.sendto(data, (host, p))
        print("sent", host, p)
        try:
            reply = s.recv(512)
            print("ANSWERED", host, p, reply[:20])
        except OSError as e:
            print("no answer", host, p, e)
    except OSError as e:
        print("send failed", host, p, e)
    finally:
        s.close()
