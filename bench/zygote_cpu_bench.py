#!/usr/bin/python3
"""zygote_cpu_bench.py — the CPU one submission costs in the Python zygote.

    sudo /usr/bin/python3 bench/zygote_cpu_bench.py OLD.py NEW.py ...
    ROUNDS=30 NTESTS=10 CODE='print(1)' ... (environment; defaults below)

Each zygote script given is run as the sandbox runs it, without the
sandbox: /usr/bin/python3 -I -S /judge/zygote.py in the language rootfs
(DOJO_EXECUTOR_ROOTFS_DIR/debian, chrooted, in a private mount namespace
where a scratch folder is bound on /judge and /proc is mounted; the rootfs
itself is not written), its bounding set cut to CAP_SETGID, CAP_SETUID and
CAP_SETPCAP and DOJO_SEALED set, as the driver gives them. It is driven over
its socket on fd 3 as the driver does: its "R", "L" (the code is in
place), then NTESTS tests, each with its stdin, stdout and stderr, checking
every answer. The figure is the CPU of the zygote's whole life and all its
children (RUSAGE_CHILDREN: the start, the imports, the compile, the forks,
the tests), scripts interleaved round by round, medians. NTESTS=0 gives the
start alone. Root only; the host's kernel, so crun's costs, not gVisor's."""
import ctypes
import os
import resource
import shutil
import socket
import statistics
import sys
import tempfile

ROOT = os.path.join(os.environ.get("DOJO_EXECUTOR_ROOTFS_DIR", ".dojo/rootfs"), "debian")
CODE = os.environ.get("CODE", "a, b = map(int, input().split())\nprint(a + b)\n")
LIMITS = b"-1 1048576 64 64"  # address space (none), file size, files, processes
ZYGOTE_CAPS = (6, 7, 8)  # CAP_SETGID, CAP_SETUID, CAP_SETPCAP
libc = ctypes.CDLL(None, use_errno=True)


def child_setup(judge, sock):
    """In the forked child, before exec: the sandbox's view of the rootfs."""
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        os._exit(90)
    if libc.mount(b"none", b"/", None, 0x40000 | 0x4000, None) != 0:  # MS_PRIVATE | MS_REC
        os._exit(91)
    if libc.mount(judge.encode(), (ROOT + "/judge").encode(), None, 0x1000, None) != 0:  # MS_BIND
        os._exit(92)
    if libc.mount(b"proc", (ROOT + "/proc").encode(), b"proc", 0, None) != 0:
        os._exit(93)
    for cap in range(64):
        if cap not in ZYGOTE_CAPS:
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP
    os.chroot(ROOT)
    os.chdir("/")
    os.dup2(sock, 3)


def run_once(zygote, ntests, work):
    judge = os.path.join(work, "judge")
    os.makedirs(os.path.join(judge, "code"), exist_ok=True)
    with open(zygote, "rb") as src, open(os.path.join(judge, "zygote.py"), "wb") as dst:
        dst.write(src.read())
    with open(os.path.join(judge, "code", "main.py"), "w") as f:
        f.write(CODE)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pid = os.fork()
    if pid == 0:
        try:
            child_setup(judge, theirs.fileno())
            os.execve("/usr/bin/python3", ["/usr/bin/python3", "-I", "-S", "/judge/zygote.py"],
                      {"DOJO_SEALED": "x" * 12288})
        finally:
            os._exit(99)
    theirs.close()

    def answer():
        m = ours.recv(65536)
        assert m, "the zygote closed its socket"
        return m

    assert answer() == b"R\n"
    ours.sendmsg([b"L"])
    assert answer() == b"R\n"
    paths = [os.path.join(work, n) for n in ("in", "out", "err")]
    for i in range(ntests):
        with open(paths[0], "w") as f:
            f.write(f"{i} {i * 7}\n")
        fds = [os.open(paths[0], os.O_RDONLY)] + [
            os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666) for p in paths[1:]]
        socket.send_fds(ours, [LIMITS], fds)
        for fd in fds:
            os.close(fd)
        assert answer().startswith(b"P ")
        x = answer()
        with open(paths[2]) as f:
            assert x.startswith(b"X 0 "), (x, f.read())
    ours.close()
    os.waitpid(pid, 0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def main():
    zygotes = sys.argv[1:]
    if not zygotes or os.geteuid() != 0:
        sys.exit(__doc__)
    rounds = int(os.environ.get("ROUNDS", "20"))
    ntests = int(os.environ.get("NTESTS", "10"))
    work = tempfile.mkdtemp(prefix="zygote-bench-")
    os.chmod(work, 0o777)  # the tests run as uid 1000
    try:
        for z in zygotes:
            run_once(z, ntests, work)  # warm the page cache
        cpu = {z: [] for z in zygotes}
        for r in range(rounds):
            for z in (zygotes if r % 2 == 0 else zygotes[::-1]):
                cpu[z].append(run_once(z, ntests, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for z in zygotes:
        print(f"{z}: {ntests} tests, {rounds} rounds: CPU p50 {statistics.median(cpu[z]):6.1f} ms, "
              f"mean {statistics.mean(cpu[z]):6.1f} ms")


if __name__ == "__main__":
    main()
