"""Dojo's pre-warmed Python interpreter, run by the sandbox driver.

Starting CPython costs more than most test cases. The driver starts this
script once per submission and waits for its "R" (ready); for each test it sends the test's stdin, stdout
and stderr (as file descriptors, over the socket on fd 3) and its limits, and
the script runs the learner's code in a fresh fork of itself. It reports the
child's pid at once ("P <pid>") and, when it ends, its wait status, CPU time
and peak memory ("X <status> <user_ms> <sys_ms> <maxrss_kib>"). The driver
keeps the wall clock and the CPU limit itself, so nothing here is trusted
for limits; the output never passes through this process."""
import ctypes
import os
import resource
import socket
import sys
import traceback

PATH = "/judge/code/main.py"


def load():
    with open(PATH, "rb") as f:
        source = f.read()
    try:
        return compile(source, PATH, "exec"), None
    except (SyntaxError, ValueError) as e:
        return None, "".join(traceback.format_exception_only(type(e), e))


TEST_UID = 1000
PR_CAPBSET_DROP = 24


def drop_to_test_user():
    """The zygote runs as the sandbox's root (with CAP_SETUID, CAP_SETGID and
    CAP_SETPCAP only), so no test can stop it or write its memory; each test
    drops to uid 1000 with every capability set empty, as the driver's own
    children do."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        for cap in range(64):
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    except OSError:
        pass
    os.setgroups([])
    os.setresgid(TEST_UID, TEST_UID, TEST_UID)
    os.setresuid(TEST_UID, TEST_UID, TEST_UID)


def run_child(code, error, fds, limits):
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, 1 << 16)
    os.setpgid(0, 0)
    drop_to_test_user()
    cpu_s, as_bytes, fsize, nofile = limits
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.chdir("/tmp")
    status = 0
    try:
        if error is not None:
            sys.stderr.write(error)
            status = 1
        else:
            sys.argv = [PATH]
            exec(code, {"__name__": "__main__", "__file__": PATH, "__builtins__": __builtins__})
    except SystemExit as e:
        if e.code is None:
            status = 0
        elif isinstance(e.code, int):
            status = e.code & 0xFF
        else:
            sys.stderr.write(str(e.code) + "\n")
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    try:
        sys.stdout.flush()
    except BaseException:
        status = status or 1
    try:
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(status)


def main():
    sock = socket.socket(fileno=3)
    code, error = load()
    sock.sendall(b"R\n")  # warm: the driver starts its first test's clock now
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, 256, 3)
        if not msg:
            return
        limits = [int(x) for x in msg.split()]
        pid = os.fork()
        if pid == 0:
            run_child(code, error, fds, limits)
        for fd in fds:
            os.close(fd)
        sock.sendall(b"P %d\n" % pid)
        _, status, ru = os.wait4(pid, 0)
        sock.sendall(b"X %d %d %d %d\n" % (status, int(ru.ru_utime * 1000),
                                           int(ru.ru_stime * 1000), ru.ru_maxrss))


main()
