# attack: TCP to public addresses (1.1.1.1:80, 8.8.8.8:53, [2606:4700::1111]:80),
# to the host's own non-loopback addresses (given on stdin, with the harness's
# port), to the cloud metadata address 169.254.169.254, and a DNS lookup.
# why: no network at all: every connect fails at once (no route / unreachable),
#      the lookup fails, and only `lo` exists.
# input@0: {TCP_PORT} {HOST_IPS}
# expect: verdict=OK stdout-contains=ALL-BLOCKED stdout-not-contains=CONNECTED stdout-not-contains=RESOLVED
import socket
import sys

words = sys.stdin.read().split()
port, host_ips = int(words[0]), words[1:]
targets = [("1.1.1.1", 80), ("8.8.8.8", 53), ("169.254.169.254", 80), ("2606:4700::1111", 80)]
targets += [(ip, port) for ip in host_ips] + [(ip, 22) for ip in host_ips]
ok = True
for host, p in targets:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect((host, p))
        print("CONNECTED", host, p)
        ok = False
    except OSError as e:
        print("blocked", host, p, e)
    finally:
        s.close()
try:
    print("RESOLVED", socket.gethostbyname("example.com"))
    ok = False
except OSError as e:
    print("lookup failed", e)
names = [n for _, n in socket.if_nameindex()]
print("interfaces", names)
if names != ["lo"]:
    print("EXTRA-INTERFACES")
    ok = False
if ok:
    print("ALL-BLOCKED")
