# attack: TCP connects to the host's loopback services: a listener the test
# harness opened on the host's 127.0.0.1 and 0.0.0.0 (port given on stdin),
# plus the usual service ports (PostgreSQL, Redis, Dojo's gRPC/HTTP, ssh).
# why: the sandbox has its own network namespace with only `lo`: nothing on the
#      host's loopback is reachable. A listener inside the sandbox on its own
#      lo is fine (that proves `lo` is up), but must not be the host's.
#      The harness also checks its host listener saw no connection.
# input@0: {TCP_PORT}
# expect: verdict=OK stdout-contains=ALL-BLOCKED stdout-not-contains=CONNECTED
import socket
import sys

port = int(sys.stdin.read().strip())
ports = [port, 22, 5432, 55432, 6379, 56379, 8080, 7001, 7002, 7003, 7004, 9101]
ok = True
for p in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", p))
        print("CONNECTED 127.0.0.1:%d" % p)
        ok = False
    except OSError as e:
        print("blocked 127.0.0.1:%d %s" % (p, e))
    finally:
        s.close()
for p in ports[:1]:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(("::1", p))
        print("CONNECTED [::1]:%d" % p)
        ok = False
    except OSError as e:
        print("blocked [::1]:%d %s" % (p, e))
    finally:
        s.close()
print("interfaces", socket.if_nameindex())
if ok:
    print("ALL-BLOCKED")
