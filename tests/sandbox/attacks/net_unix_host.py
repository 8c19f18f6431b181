# attack: connect to host unix sockets: Docker/containerd/dbus/systemd/
# PostgreSQL/Redis sockets at their usual paths, a socket the harness listens
# on (its path given on stdin) and an abstract-namespace socket the harness
# listens on (abstract names are per network namespace).
# why: none of the host's sockets exist in the sandbox's filesystem, and the
#      abstract namespace is the sandbox's own: every connect fails, and the
#      harness's listeners see no connection.
# input@0: {UNIX_PATH} {ABSTRACT_NAME}
# expect: verdict=OK stdout-not-contains=CONNECTED stdout-contains=ALL-BLOCKED
import socket
import sys

path, abstract = sys.stdin.read().split()
paths = [path, "/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
         "/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket", "/run/systemd/private",
         "/run/systemd/journal/socket", "/run/systemd/notify", "/dev/log",
         "/run/postgresql/.s.PGSQL.5432", "/var/run/postgresql/.s.PGSQL.5432",
         "/run/redis/redis-server.sock", "/run/crun", "/run/runsc",
         "\0" + abstract, "\0/tmp/.X11-unix/X0", "\0/org/freedesktop/systemd1/notify"]
ok = True
for p in paths:
    for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_UNIX, typ)
        s.settimeout(0.5)
        try:
            s.connect(p)
            print("CONNECTED", repr(p), typ)
            ok = False
        except OSError as e:
            pass
        finally:
            s.close()
if ok:
    print("ALL-BLOCKED")
