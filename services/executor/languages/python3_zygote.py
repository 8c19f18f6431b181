"""Dojo's pre-warmed Python interpreter, run by the sandbox driver.

Starting CPython costs more than most test cases. The driver starts this
script once per sandbox, before the submission is known, and waits for its
"R" (warm); once the code is in /judge/code it sends "L", and the script
compiles it and says "R" again, or "C <len>" and the compiler's message when
the program does not compile (a syntax error: no test runs, the verdict is a
compile error). For each test it sends the test's stdin, stdout
and stderr (as file descriptors, over the socket on fd 3) and its limits, and
the script runs the learner's code in a fresh fork of itself. It reports the
child's pid at once ("P <pid>") and, when it ends, its wait status, CPU time
and peak memory ("X <status> <user_ms> <sys_ms> <maxrss_kib>"). The driver
keeps every limit itself (CPU, memory, wall clock; the rlimits set here are
the ones it sets on its own children), so nothing here is trusted for
limits; the output never passes through this process.

The driver starts it with one long variable and nothing else, and the
script seals it first thing: gVisor lets every process read every other's
/proc/<pid>/environ, but copies it from the process's memory with that
memory's permissions, so whole pages of it made inaccessible make the read
fail (as the driver does with its own: driver.c, environ_seal). Each test
gets the environment the driver gives its own children."""
# Only what every test needs, and the small modules: each module imported
# here is CPU every sandbox spends before its job and memory every test's
# fork copies (under gVisor one page fault at a time). `socket` (enum,
# selectors) and `traceback` (linecache, tokenize, re) cost more than the
# interpreter's own start; `_socket` and the interpreter's own error display
# do what they did here; `_ctypes` and the four C types below, not
# `ctypes` (struct, os.path's helpers and dozens of classes), for the few
# libc calls.
import _ctypes
import _socket
import gc
import os
import resource
import sys

PATH = "/judge/code/main.py"


if sys.implementation.name == "cpython":
    class c_void_p(_ctypes._SimpleCData):
        _type_ = "P"

    class c_size_t(_ctypes._SimpleCData):
        _type_ = "L"

    class c_int(_ctypes._SimpleCData):
        _type_ = "i"

    class c_char(_ctypes._SimpleCData):
        _type_ = "c"

    class LibcFunction(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = c_int

    class Libc:
        """The process's own symbols (dlopen(NULL)), as the ctypes
        package's CDLL(None, use_errno=True): a function returns an int
        unless its restype says otherwise."""
        def __init__(self):
            self._handle = _ctypes.dlopen(None, 0)

        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            f = LibcFunction((name, self))
            setattr(self, name, f)
            return f
else:  # PyPy runs this script too (pypy3.json): its _ctypes is not CPython's
    from ctypes import CDLL, c_char, c_size_t, c_void_p

    def Libc():
        return CDLL(None, use_errno=True)


def load():
    with open(PATH, "rb") as f:
        source = f.read()
    try:
        return compile(source, PATH, "exec"), None
    except (SyntaxError, ValueError) as e:
        import traceback  # only for a program that does not compile
        return None, "".join(traceback.format_exception_only(type(e), e))


def recv_fds(sock, bufsize, maxfds):
    """socket.recv_fds without the socket module: the message and the file
    descriptors that came with it."""
    msg, ancdata, _, _ = sock.recvmsg(bufsize, _socket.CMSG_LEN(maxfds * 4))
    fds = []
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += memoryview(data[:len(data) - len(data) % 4]).cast("i").tolist()
    return msg, fds


TEST_UID = 1000
PR_CAPBSET_DROP = 24
M_ARENA_MAX = -8
# As driver.c's child_exec gives its children.
TEST_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "MALLOC_ARENA_MAX": "2"}


def bounding_set():
    """The capabilities of the zygote's bounding set (CapBnd): each test
    drops these, one system call each (under gVisor a trip to its kernel),
    rather than all 64 numbers."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"CapBnd:"):
                    mask = int(line.split()[1], 16)
                    return [cap for cap in range(64) if mask >> cap & 1]
    except (OSError, ValueError, IndexError):
        pass
    return list(range(64))


BOUNDING = bounding_set()
try:
    LIBC = Libc()
    PRCTL = LIBC.prctl
except (OSError, AttributeError):
    LIBC = PRCTL = None


def drop_bounding_set():
    """Empties the zygote's bounding set, once, before any test: it only
    limits what an execve could gain (the zygote never execs; its effective
    CAP_SETUID, CAP_SETGID and CAP_SETPCAP stay), and every test's fork
    inherits it empty, as the driver's own children have it — rather than
    each test dropping it again (a system call a capability, under gVisor a
    trip to its kernel)."""
    for cap in BOUNDING if PRCTL else ():
        PRCTL(PR_CAPBSET_DROP, cap, 0, 0, 0)


def drop_to_test_user():
    """The zygote runs as the sandbox's root (with CAP_SETUID, CAP_SETGID and
    CAP_SETPCAP only), so no test can stop it or write its memory; each test
    drops to uid 1000 with every capability set empty (the bounding set
    already is, drop_bounding_set), as the driver's own children do."""
    os.setgroups([])
    os.setresgid(TEST_UID, TEST_UID, TEST_UID)
    os.setresuid(TEST_UID, TEST_UID, TEST_UID)


def run_child(code, error, fds, limits):
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, 1 << 16)
    os.setpgid(0, 0)
    try:  # the cgroup's OOM killer, past the limit, must pick the test
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        try:
            os.write(fd, b"1000")
        finally:
            os.close(fd)
    except OSError:
        pass
    drop_to_test_user()
    as_bytes, fsize, nofile, nproc = limits
    if as_bytes >= 0:
        resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.chdir("/tmp")
    os.environ.clear()
    os.environ.update(TEST_ENV)
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
        # The interpreter's own display (what traceback.print_exc prints).
        sys.__excepthook__(*sys.exc_info())
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


def seal_environ():
    """libc's environ becomes an empty list and the whole pages of the
    strings it pointed to inaccessible (PROT_NONE); os.environ keeps its
    copy, which the tests replace."""
    try:
        libc = LIBC
        env = _ctypes.POINTER(c_void_p).in_dll(libc, "environ")
        libc.strlen.restype = c_size_t
        # Only the driver's variable: CPython may have added one of its own
        # (LC_CTYPE, PEP 538), elsewhere in memory.
        lo = hi = None
        for i in range(64):
            s = env[i]
            if not s:
                break
            if (c_char * 12).from_address(s).raw == b"DOJO_SEALED=":
                lo, hi = s, s + libc.strlen(c_void_p(s)) + 1
        global _NO_ENV
        _NO_ENV = (c_void_p * 1)()
        c_void_p.in_dll(libc, "environ").value = _ctypes.addressof(_NO_ENV)
        os.environ.pop("DOJO_SEALED", None)
        if lo is None:
            return
        page = os.sysconf("SC_PAGE_SIZE")
        a, b = (lo + page - 1) // page * page, hi // page * page
        if b > a:
            libc.mprotect(c_void_p(a), c_size_t(b - a), 0)  # PROT_NONE
    except (OSError, AttributeError, ValueError):
        pass


def main():
    seal_environ()
    try:  # glibc read no MALLOC_ARENA_MAX from our (empty) environment
        LIBC.mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        pass
    drop_bounding_set()
    sock = _socket.socket(fileno=3)
    sock.sendall(b"R\n")  # warm; the sandbox may wait in a pool for its job now
    code = error = None
    loaded = frozen = False
    while True:
        msg, fds = recv_fds(sock, 256, 3)
        if not msg:
            return
        if msg == b"L" and not fds:  # the job's code is in place
            code, error = load()
            loaded = True
            if error is not None:
                # A syntax error is the program's compile error: the driver
                # reports it (with the line) instead of running any test.
                text = error.encode("utf-8", "replace")[:65536]
                sock.sendall(b"C %d\n" % len(text) + text)
                return
            sock.sendall(b"R\n")  # the driver starts its first test's clock now
            continue
        if not loaded:
            code, error = load()
            loaded = True
        if not frozen:
            # Before the first fork: the imports' and the compile's garbage
            # collected, and what is left moved out of the collector's
            # generations, so that a test's collections (a long test's full
            # ones) never walk — and write, a copy-on-write fault a page —
            # the zygote's objects. The tests' own objects are collected as
            # in a plain interpreter. (CPython's; PyPy, which runs this
            # script too, has no gc.freeze and a moving collector.)
            if hasattr(gc, "freeze"):
                gc.collect()
                gc.freeze()
            frozen = True
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
