"""serverkit — a Redis server and a PostgreSQL cluster of a test's own, on free
loopback ports, that the test may stop, kill and start again. The throwaway
ones of `./dojo test` are shared by every test of a run: a test that takes
its server away uses one of these instead.

Both are the Debian binaries `./dojo deps` installs (redis-server;
/usr/lib/postgresql/*/bin). PostgreSQL refuses to run as root: under root the
cluster belongs to the `postgres` OS user, in a directory of its own."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Redis:
    """A tiny RESP client: cmd(*args) sends one command and returns its reply
    (bytes for bulk strings, lists, ints, str for status; a Redis error
    raises RuntimeError)."""

    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.f = self.sock.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()

    def _reply(self):
        line = self.f.readline().rstrip(b"\r\n")
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._reply() for _ in range(n)]
        raise RuntimeError(f"bad reply {line!r}")

    def close(self):
        self.sock.close()


class RedisServer:
    """redis-server in the foreground, as our child. `persist` keeps an
    append-only file in its directory, so a restart keeps the data (the way a
    production Redis is run); without it a restart starts empty."""

    def __init__(self, workdir, persist=False, port=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.persist = persist
        self.log_path = self.dir / "redis.log"
        self.proc = None

    def start(self, timeout=20):
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.dir), "--save", "", "--logfile", str(self.log_path),
                "--appendonly", "yes" if self.persist else "no"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _wait(self.ping, timeout, f"redis-server on {self.addr}")
        return self

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM (a clean shutdown: the append-only file is flushed)."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()


class PostgresServer:
    """A cluster of its own (initdb, trust auth, superuser postgres)."""

    def __init__(self, port=None):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bindir = Path(bins[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="dojo-pg-"))
        os.chmod(self.root, 0o755)
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.log_path = self.root / "postgres.log"
        self.port = port or free_port()
        self.as_root = os.geteuid() == 0
        for d in (self.data, self.sock):
            d.mkdir()
        self.log_path.touch()
        if self.as_root:
            for p in (self.data, self.sock, self.log_path):
                shutil.chown(p, "postgres", "postgres")
        os.chmod(self.data, 0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C")

    def _run(self, tool, *args, check=True, timeout=120):
        cmd = [str(self.bindir / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, cwd="/", stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=check, timeout=timeout)

    def start(self):
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sock} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "60",
                  "-o", opts, "start")
        return self

    def stop(self, mode="fast"):
        """pg_ctl stop: `fast` ends every session (what an operator's restart
        does), `immediate` is a crash without a checkpoint."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop",
                  check=False)

    def running(self):
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def url(self, db="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="postgres"):
        r = subprocess.run([str(self.bindir / "psql"), "-X", "-q", "-t", "-A", "-v",
                            "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                            "postgres", "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr.strip()}")
        return r.stdout

    def destroy(self):
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
