/* driver.c — runs inside the sandbox as its first process (pid 1).
 *
 * It reads the plan the executor wrote to /judge/plan, runs every test as its
 * own child process (stdin from /judge/in/<n>, stdout and stderr to pipes it
 * reads with caps), measures and limits the test's CPU time, wall time and
 * memory, kills whatever the test left behind, and reports one record per
 * test on its stdout, which is a pipe to the executor. It never judges:
 * output is compared outside.
 *
 * What a test is charged for is its own process tree: every process of the
 * sandbox but this one and the zygote. Each tick (20 ms, 2 ms near a
 * limit) the driver reads /proc/<pid>/stat of each: CPU time (with what they
 * reaped of their children), resident memory, and whether any is running or
 * waiting for a CPU. Processes the driver reaps itself (orphans) add their
 * rusage. So the limits are the program's own, whatever the runtime needs
 * besides (this driver, the zygote, gVisor's kernel) — the executor
 * provisions that outside them:
 *   memory: the sum of the tree's resident sets; past memory_kib the test is
 *           stopped (ML). The peak is reported, the highest of the sums seen
 *           and of each process's own peak (rusage).
 *   CPU:    past cpu_ms the test is stopped (TC). The executor also feeds the
 *           container's CPU time as the host counts it (stdin, below): the
 *           test is charged the lower of the two, since gVisor's own clock
 *           counts an application that waits for a host CPU as running.
 *           A test starts only once every process of the one before is gone
 *           (kill_leftovers) and, after one that had to be killed, once the
 *           container's CPU use has settled (host_settle): no test is charged
 *           for another's processes, however slowly they die.
 *   tasks:  a tree of more than nproc processes and threads is stopped (PL).
 *   wall:   past wall_ms a test that is neither running nor waiting for a CPU
 *           (asleep, blocked) is stopped (TW); one that is still computing is
 *           left to its CPU limit, up to the safety net safety_ms (TS), so a
 *           busy machine does not turn "CPU time limit" into "wall clock".
 *
 * Record format (text header, then raw bytes), isolate-style and easy to log:
 *   T <index> <status> <exit> <signal> <cpu_ms> <wall_ms> <rss_kib> <out_len> <err_len>\n
 *   <out_len bytes of stdout><err_len bytes of stderr>
 * status: OK (exited by itself), SG (killed by a signal), TC (CPU limit),
 * ML (memory limit), PL (process and thread limit, nproc), TW (wall limit
 * while waiting), TS (wall-clock safety net), OL (output limit), XX (could
 * not start).
 * In interactive mode stdout/stderr are streamed while the program runs:
 *   O <len>\n<bytes>   E <len>\n<bytes>
 * With judge_files (an output validator or interactor of the problem package
 * format), before a test's T record, what it left in its feedback directory:
 *   M <index> j <len>\n<bytes>   judgemessage.txt     M <index> t ...  teammessage.txt
 * When the zygote finds the program does not compile (Python's syntax check;
 * in interactive mode only with the plan's syntax_check=1), its message
 * instead of any test:
 *   C <len>\n<bytes>
 * Between tests the driver asks for the container's CPU time as it is now:
 *   S\n
 * The last line is "D\n".
 *
 * The driver's stdin is the executor's control channel, one message a line:
 *   C <usec>[ R]\n      the container's CPU time so far, as the host counts it;
 *                       "R": a thread of it has been waiting for a host CPU (so
 *                       the test is computing, however still it looks here)
 *   C <usec> S\n        the answer to our "S" (S alone: no count to give)
 *   I <len>\n<bytes>    interactive mode: bytes for the program's stdin
 *                       ("I 0" closes it)
 *
 * Static, no allocation beyond a few buffers, no dependencies: it must run
 * in any language's root filesystem. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 96 /* a validator: its language's command, 3 paths, 64 flags */
#define CHUNK 65536
#define TICK_MS 20
#define TICK_NEAR_LIMIT_MS 2
/* CPU time grew this recently: still computing. Long enough that a program
 * waiting for its own I/O (under gVisor: its kernel and gofer, on a busy
 * machine slow) between bursts of work is not taken for one that sleeps. */
#define RUNNING_WINDOW_MS 500
#define INPUT_CAP (4 << 20)   /* interactive input held for a program that does not read */

typedef struct plan {
    int tests;
    bool interactive;
    long cpu_ms;
    long wall_ms;
    long safety_ms;
    long memory_kib;
    long output_kib;
    long stderr_kib;
    long fsize_kib; /* largest file a test may write; 0 = output_kib */
    long nofile;
    long nproc;
    long as_extra_mib; /* address space allowed beyond memory_kib; 0 = no limit */
    char *argv[MAX_ARGS + 1];
    int argc;
    char *zargv[MAX_ARGS + 1]; /* a pre-warmed interpreter that forks per test */
    int zargc;
    char *workdir;
    bool judge_files; /* an output validator or interactor: see stage_judge_files */
    bool syntax_check; /* interactive: the zygote's syntax check first, as for tests */
} plan_t;

/* The zygote, when the language has one: its pid and our end of its socket. */
static pid_t zygote_pid = -1;
static int zygote_sock = -1;
/* The zygote found the program does not compile ("C" record sent): no test
 * runs. */
static bool syntax_error;

/* SIGCHLD, blocked and read from here: poll wakes when a child ends. */
static int sigchld_fd = -1;

/* What children start with: no signal blocked (the mask survives exec). */
static void unblock_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void die(const char *what)
{
    dprintf(STDOUT_FILENO, "X driver: %s: %s\nD\n", what, strerror(errno));
    _exit(1);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(3); /* the executor went away */
        p += n;
        len -= (size_t)n;
    }
}

static long tv_ms(struct timeval tv) { return tv.tv_sec * 1000 + tv.tv_usec / 1000; }

static long rusage_cpu_ms(const struct rusage *ru) { return tv_ms(ru->ru_utime) + tv_ms(ru->ru_stime); }

static void plan_defaults(plan_t *p)
{
    memset(p, 0, sizeof *p);
    p->cpu_ms = 2000;
    p->wall_ms = 5000;
    p->memory_kib = 262144;
    p->output_kib = 1024;
    p->stderr_kib = 64;
    p->nofile = 64;
    p->nproc = 64;
    p->as_extra_mib = 1024;
    p->workdir = "/tmp";
}

/* Parses key=value lines of `text` (kept: argv points into it) over `p`. */
static void plan_parse(plan_t *p, char *text)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        char *v = eq + 1;
        if (!strcmp(line, "arg") && p->argc < MAX_ARGS)
            p->argv[p->argc++] = v;
        else if (!strcmp(line, "zarg") && p->zargc < MAX_ARGS)
            p->zargv[p->zargc++] = v;
        else if (!strcmp(line, "tests"))
            p->tests = atoi(v);
        else if (!strcmp(line, "interactive"))
            p->interactive = atoi(v) != 0;
        else if (!strcmp(line, "cpu_ms"))
            p->cpu_ms = atol(v);
        else if (!strcmp(line, "wall_ms"))
            p->wall_ms = atol(v);
        else if (!strcmp(line, "safety_ms"))
            p->safety_ms = atol(v);
        else if (!strcmp(line, "memory_kib"))
            p->memory_kib = atol(v);
        else if (!strcmp(line, "output_kib"))
            p->output_kib = atol(v);
        else if (!strcmp(line, "stderr_kib"))
            p->stderr_kib = atol(v);
        else if (!strcmp(line, "fsize_kib"))
            p->fsize_kib = atol(v);
        else if (!strcmp(line, "nofile"))
            p->nofile = atol(v);
        else if (!strcmp(line, "nproc"))
            p->nproc = atol(v);
        else if (!strcmp(line, "as_extra_mib"))
            p->as_extra_mib = atol(v);
        else if (!strcmp(line, "workdir"))
            p->workdir = v;
        else if (!strcmp(line, "judge_files"))
            p->judge_files = atoi(v) != 0;
        else if (!strcmp(line, "syntax_check"))
            p->syntax_check = atoi(v) != 0;
    }
    p->argv[p->argc] = NULL;
    p->zargv[p->zargc] = NULL;
}

/* The sandbox's part of the plan, written before it started: the zygote. */
static void read_plan(plan_t *p)
{
    static char text[16384];
    int fd = open("/judge/plan", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open /judge/plan");
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0)
        die("read /judge/plan");
    text[n] = '\0';
    plan_defaults(p);
    plan_parse(p, text);
}

/* ------------------------------------------------------------------------
 * The control channel (stdin)
 * ------------------------------------------------------------------------ */

static struct {
    bool open;
    char buf[CHUNK];
    size_t len;
    size_t input_left; /* bytes of an I message still to come */
    long host_cpu_ms;  /* last C message */
    long host_cpu_at;  /* when it came (now_ms), 0 = never */
    long host_busy_at; /* last "C <usec> R" (a thread waits for a host CPU), 0 = never */
    int synced;        /* answers to our "S" (host_sync) so far */
    /* The job, before "G": files (F) written as they arrive, the plan (P). */
    int file_fd;       /* the F message's file, -1 = none */
    size_t file_left;  /* its bytes still to come */
    char plan[65536];
    size_t plan_len, plan_left;
    bool go;           /* "G" came: the job is complete */
} ctl = {.open = true, .file_fd = -1};

/* Interactive mode: what the program has yet to read, and its stdin pipe. */
static struct {
    char *buf;
    size_t len;
    bool eof; /* "I 0" came: close the pipe once buf is written */
    int fd;   /* our end, -1 when closed */
} input = {.fd = -1};

/* Input may come before the program's stdin exists (with the job, before
 * its test started): it is held until then. */
static void input_add(const char *data, size_t n)
{
    if (input.eof)
        return;
    if (input.buf == NULL) {
        input.buf = malloc(INPUT_CAP);
        if (input.buf == NULL)
            die("malloc");
    }
    if (n > INPUT_CAP - input.len)
        n = INPUT_CAP - input.len; /* the program does not read: the rest is dropped */
    memcpy(input.buf + input.len, data, n);
    input.len += n;
}

static void input_flush(void)
{
    while (input.fd >= 0 && input.len > 0) {
        ssize_t n = write(input.fd, input.buf, input.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* the program closed its stdin */
            close(input.fd);
            input.fd = -1;
            input.len = 0;
            return;
        }
        memmove(input.buf, input.buf + n, input.len - (size_t)n);
        input.len -= (size_t)n;
    }
    if (input.fd >= 0 && input.eof && input.len == 0) {
        close(input.fd);
        input.fd = -1;
    }
}

/* A file of the job (an F message), below /judge: code/NAME, in/NAME or
 * build/NAME. These folders are tmpfs mounts of the sandbox's root (the
 * driver): code/ and build/ mode 0755, in/ mode 0700, so a test reads the
 * code and runs the build but never reads another test's input. The
 * sandbox was started before its job was known (a pool); nothing of an
 * earlier job was ever in it. */
static int file_write(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int job_file_open(const char *name, unsigned mode)
{
    const char *slash = strchr(name, '/');
    bool dir_ok = slash && ((slash - name == 4 && !strncmp(name, "code", 4)) ||
                            (slash - name == 2 && !strncmp(name, "in", 2)) ||
                            (slash - name == 5 && !strncmp(name, "build", 5)));
    const char *base = slash ? slash + 1 : "";
    if (!dir_ok || base[0] == '\0' || base[0] == '.' || strchr(base, '/'))
        die("F message names a file outside the job's folders");
    char path[160];
    snprintf(path, sizeof path, "/judge/%s", name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0755);
    if (fd < 0 || fchmod(fd, mode & 0755) < 0)
        die(path);
    return fd;
}

/* Reads what the executor sent; handles every complete message. */
static void ctl_read(void)
{
    if (!ctl.open)
        return;
    ssize_t n = read(STDIN_FILENO, ctl.buf + ctl.len, sizeof ctl.buf - ctl.len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        ctl.open = false;
        input.eof = true;
        return;
    }
    ctl.len += (size_t)n;
    size_t off = 0;
    while (off < ctl.len) {
        if (ctl.file_left > 0 || ctl.plan_left > 0) {
            size_t want = ctl.file_left > 0 ? ctl.file_left : ctl.plan_left;
            size_t take = ctl.len - off < want ? ctl.len - off : want;
            if (ctl.file_left > 0) {
                if (ctl.file_fd >= 0 && file_write(ctl.file_fd, ctl.buf + off, take) < 0)
                    die("write a file of the job");
                ctl.file_left -= take;
                if (ctl.file_left == 0 && ctl.file_fd >= 0) {
                    close(ctl.file_fd);
                    ctl.file_fd = -1;
                }
            } else {
                if (ctl.plan_len + take < sizeof ctl.plan) {
                    memcpy(ctl.plan + ctl.plan_len, ctl.buf + off, take);
                    ctl.plan_len += take;
                }
                ctl.plan_left -= take;
            }
            off += take;
            continue;
        }
        if (ctl.input_left > 0) {
            size_t take = ctl.len - off < ctl.input_left ? ctl.len - off : ctl.input_left;
            input_add(ctl.buf + off, take);
            ctl.input_left -= take;
            off += take;
            continue;
        }
        char *nl = memchr(ctl.buf + off, '\n', ctl.len - off);
        if (nl == NULL)
            break;
        *nl = '\0';
        const char *line = ctl.buf + off;
        off = (size_t)(nl - ctl.buf) + 1;
        if (line[0] == 'C' && line[1] == ' ') {
            char *rest = NULL;
            ctl.host_cpu_ms = strtol(line + 2, &rest, 10) / 1000;
            ctl.host_cpu_at = now_ms();
            if (rest && rest[0] == ' ' && rest[1] == 'R')
                ctl.host_busy_at = ctl.host_cpu_at;
            else if (rest && rest[0] == ' ' && rest[1] == 'S')
                ctl.synced++;
        } else if (line[0] == 'S' && line[1] == '\0') { /* our "S", no count to give */
            ctl.synced++;
        } else if (line[0] == 'I' && line[1] == ' ') {
            ctl.input_left = strtoul(line + 2, NULL, 10);
            if (ctl.input_left == 0)
                input.eof = true;
        } else if (line[0] == 'F' && line[1] == ' ' && !ctl.go) {
            char name[128];
            unsigned mode = 0;
            size_t len = 0;
            if (sscanf(line + 2, "%127s %o %zu", name, &mode, &len) != 3)
                die("malformed F message");
            ctl.file_fd = job_file_open(name, mode);
            ctl.file_left = len;
            if (len == 0 && ctl.file_fd >= 0) {
                close(ctl.file_fd);
                ctl.file_fd = -1;
            }
        } else if (line[0] == 'P' && line[1] == ' ' && !ctl.go) {
            ctl.plan_left = strtoul(line + 2, NULL, 10);
        } else if (line[0] == 'G' && !ctl.go) {
            ctl.go = true;
        }
    }
    memmove(ctl.buf, ctl.buf + off, ctl.len - off);
    ctl.len -= off;
    if (ctl.len == sizeof ctl.buf) /* a line longer than the buffer: not ours */
        ctl.len = 0;
    input_flush();
}

/* The host's CPU time of the container as last fed, or -1 before the
 * first feed. A feed that lags (the driver waits for a CPU too, as under a
 * fork storm) only charges less for a while, since the host's count never
 * goes back; falling back to the driver's own count instead would charge a
 * gVisor test for all the time its threads waited. */
static long host_cpu_now(void)
{
    return ctl.host_cpu_at == 0 ? -1 : ctl.host_cpu_ms;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Asks the executor for the container's CPU time now ("S" on stdout; it
 * answers at once, "C <usec> S") and waits for the answer, at most
 * SYNC_MS: the feed's last line may be older than the test before. */
#define SYNC_MS 1000
static void host_sync(void)
{
    if (!ctl.open)
        return;
    int want = ctl.synced + 1;
    write_all(STDOUT_FILENO, "S\n", 2);
    long until = now_ms() + SYNC_MS;
    for (long left = SYNC_MS; ctl.open && ctl.synced < want && left > 0; left = until - now_ms()) {
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        if (poll(&pfd, 1, (int)left) > 0)
            ctl_read();
    }
}

/* After a test whose processes had to be killed: waits until the
 * container's CPU time as the host counts it grows by less than a quarter
 * of a CPU (SETTLE_STEP_MS apart), at most SETTLE_MS. gVisor's kernel goes
 * on tearing a fork storm's processes down after the driver reaped them,
 * and that is no part of the next test. */
#define SETTLE_STEP_MS 20
#define SETTLE_MS 1000
static void host_settle(void)
{
    long until = now_ms() + SETTLE_MS;
    host_sync();
    while (host_cpu_now() >= 0 && now_ms() < until) {
        long before = host_cpu_now(), at = now_ms();
        nap_ms(SETTLE_STEP_MS);
        host_sync();
        if ((host_cpu_now() - before) * 4 <= now_ms() - at)
            return;
    }
}

/* ------------------------------------------------------------------------
 * The test's process tree
 * ------------------------------------------------------------------------ */

/* What the processes of the running test use right now. */
typedef struct tree {
    long cpu_ms;  /* user + system, with what they reaped of their children */
    long rss_kib; /* the sum of their resident sets */
    bool running; /* one of them is on a CPU or waiting for one */
    int procs;
    int tasks; /* processes and threads */
} tree_t;

/* Totals of the test's processes the driver reaped itself. */
static struct {
    long cpu_ms;
    long maxrss_kib;
} reaped;

static void reaped_add(const struct rusage *ru)
{
    reaped.cpu_ms += rusage_cpu_ms(ru);
    if (ru->ru_maxrss > reaped.maxrss_kib)
        reaped.maxrss_kib = ru->ru_maxrss;
}

/* Processes that would not die within LEFTOVER_MS of kill_leftovers: set
 * aside, counted for no test (tree_sample, reap_some) until reaped. */
#define LEFTOVER_MS 5000
#define STALE_MAX 256
static pid_t stale[STALE_MAX];
static int nstale;

static bool is_stale(pid_t pid)
{
    for (int i = 0; i < nstale; i++)
        if (stale[i] == pid)
            return true;
    return false;
}

/* A process the driver reaped: what it used is the test's, unless it is a
 * stale one (then it is forgotten; its pid may be reused from now on). */
static void reaped_one(pid_t pid, const struct rusage *ru)
{
    for (int i = 0; i < nstale; i++) {
        if (stale[i] == pid) {
            stale[i] = stale[--nstale];
            return;
        }
    }
    reaped_add(ru);
}

static long page_kib;
static long clock_ticks;

/* The /proc/<pid>/stat files of the tree, kept open between ticks: one
 * pread a process a tick (under gVisor each system call is a trip to its
 * kernel, and the driver's ticks would cost the container a third of a CPU). */
#define STAT_FDS 256
static struct {
    pid_t pid; /* 0: free */
    int fd;
    bool seen;
} stat_fds[STAT_FDS];
static DIR *proc_dir;

static void stat_fd_drop(int i)
{
    close(stat_fds[i].fd);
    stat_fds[i].pid = 0;
}

/* Reads /proc/<pid>/stat into buf; false when the process is gone. */
static bool stat_read(pid_t pid, char *buf, size_t cap)
{
    int slot = -1, free_slot = -1;
    for (int i = 0; i < STAT_FDS && slot < 0; i++) {
        if (stat_fds[i].pid == pid)
            slot = i;
        else if (stat_fds[i].pid == 0 && free_slot < 0)
            free_slot = i;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (slot < 0) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                return false;
            if (free_slot < 0) { /* a tree this big: read without keeping it */
                ssize_t n = read(fd, buf, cap - 1);
                close(fd);
                if (n <= 0)
                    return false;
                buf[n] = '\0';
                return true;
            }
            slot = free_slot;
            stat_fds[slot].pid = pid;
            stat_fds[slot].fd = fd;
        }
        stat_fds[slot].seen = true;
        ssize_t n = pread(stat_fds[slot].fd, buf, cap - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            return true;
        }
        /* Gone, or its pid reused since: open it again once. */
        stat_fd_drop(slot);
        free_slot = slot;
        slot = -1;
    }
    return false;
}

static void tree_sample(tree_t *t)
{
    memset(t, 0, sizeof *t);
    if (proc_dir == NULL && (proc_dir = opendir("/proc")) == NULL)
        return;
    rewinddir(proc_dir);
    for (int i = 0; i < STAT_FDS; i++)
        stat_fds[i].seen = false;
    struct dirent *e;
    while ((e = readdir(proc_dir)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 1 || pid == zygote_pid || is_stale(pid))
            continue;
        char buf[1024];
        if (!stat_read(pid, buf, sizeof buf))
            continue;
        char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        if (p == NULL)
            continue;
        char state = 0;
        unsigned long ut = 0, st = 0;
        long cut = 0, cst = 0, threads = 0, rss = 0;
        /* After ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt
         * majflt cmajflt utime(14) stime cutime cstime priority nice
         * num_threads(20) itrealvalue starttime vsize rss(24). */
        if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld %*d %*d %ld %*d "
                          "%*u %*u %ld",
                   &state, &ut, &st, &cut, &cst, &threads, &rss) != 7)
            continue;
        t->cpu_ms += (long)(ut + st) * 1000 / clock_ticks + (cut + cst) * 1000 / clock_ticks;
        t->rss_kib += rss * page_kib;
        t->running |= state == 'R';
        t->procs++;
        t->tasks += threads > 0 ? (int)threads : 1;
    }
    for (int i = 0; i < STAT_FDS; i++)
        if (stat_fds[i].pid != 0 && !stat_fds[i].seen)
            stat_fd_drop(i);
}

/* Calls fn(pid) for each process of the sandbox but this one and the
 * zygote; returns how many. */
static int for_each_other(void (*fn)(pid_t))
{
    DIR *d = opendir("/proc");
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid > 1 && pid != zygote_pid) {
            fn(pid);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void kill_one(pid_t pid) { kill(pid, SIGKILL); }

static void set_aside(pid_t pid)
{
    if (nstale < STALE_MAX && !is_stale(pid))
        stale[nstale++] = pid;
}

/* Reaps what has ended; false when we have no child left at all. */
static bool reap_leftovers(void)
{
    int status;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(-1, &status, WNOHANG, &ru)) > 0) {
        if (r == zygote_pid) {
            zygote_pid = -1;
            close(zygote_sock);
            zygote_sock = -1;
        } else {
            reaped_one(r, &ru);
        }
    }
    return !(r < 0 && errno == ECHILD);
}

/* Kills every process of the sandbox but this one and the zygote, and waits
 * until they are gone: reaped (what they used counts for the test that
 * started them; as pid 1 we are the reaper of all). A process still there
 * when the next test starts would be charged to that test — its CPU time
 * since it began, its memory: under gVisor on a busy machine a fork storm's
 * processes take a while to die, and test 1 after a fork bomb (30 ms
 * quietly) came out TLE with 1291 ms. What is not gone within LEFTOVER_MS
 * is set aside (stale). Returns whether there was anything to kill. */
static bool kill_leftovers(void)
{
    long until = now_ms() + LEFTOVER_MS;
    long nap_us = 100;
    bool any = false;
    for (int round = 0; round < 100000; round++) {
        bool left;
        if (zygote_pid < 0) {
            /* Every process we may signal, except ourselves; all are our
             * children or will be (orphans come to pid 1). */
            if (kill(-1, SIGKILL) == 0)
                any = true;
            left = reap_leftovers();
        } else {
            int n = for_each_other(kill_one);
            left = reap_leftovers() && n > 0;
            any |= n > 0;
        }
        if (!left)
            return any;
        if (now_ms() >= until)
            break;
        struct timespec ts = {0, nap_us * 1000};
        nanosleep(&ts, NULL);
        if (nap_us < 5000)
            nap_us *= 2;
    }
    for_each_other(set_aside);
    return true;
}

static void child_limits(const plan_t *p);

static rlim_t as_limit_bytes(const plan_t *p)
{
    if (p->as_extra_mib <= 0)
        return RLIM_INFINITY;
    return (rlim_t)p->memory_kib * 1024 + ((rlim_t)p->as_extra_mib << 20);
}

/* Tests run as this uid; the driver stays container root (with only
 * CAP_SETUID, CAP_SETGID and CAP_KILL), so no test can reach the driver's
 * memory or its file descriptors, not even under gVisor. */
#define TEST_UID 1000

static void drop_to_test_user(void)
{
    /* Empty the bounding set too (needs CAP_SETPCAP, which we hold until
     * here), so the test's every capability set is empty. */
    for (int cap = 0; cap <= 63; cap++)
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    if (setgroups(0, NULL) < 0 || setresgid(TEST_UID, TEST_UID, TEST_UID) < 0 ||
        setresuid(TEST_UID, TEST_UID, TEST_UID) < 0)
        _exit(126);
}

/* Reads one line from the zygote, waiting at most `ms`. */
static bool read_line_timeout(int fd, char *buf, size_t cap, int ms)
{
    size_t n = 0;
    long until = now_ms() + ms;
    while (n < cap - 1) {
        long left = until - now_ms();
        struct pollfd pfd = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
            return false;
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return false;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = '\0';
    return true;
}

static void zygote_forget(void)
{
    if (zygote_pid > 0) {
        kill(zygote_pid, SIGKILL);
        waitpid(zygote_pid, NULL, 0);
    }
    if (zygote_sock >= 0)
        close(zygote_sock);
    zygote_pid = -1;
    zygote_sock = -1;
}

/* Empties /tmp and /dev/shm between tests, so no test sees what an earlier
 * one (a hidden one, say) left there. Runs as the test user, who owns
 * everything there is to remove. */
static int rm_tree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (ftw->level == 0)
        return 0;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static int open_dirs_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_D || flag == FTW_DNR)
        chmod(path, 0700);
    return 0;
}

/* True when `path` holds nothing: the driver (root of the sandbox, no
 * CAP_DAC_OVERRIDE) can list /tmp and /dev/shm (mode 1777), and a test that
 * left anything there, however deep, left an entry at the top. */
static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = false;
    closedir(d);
    return empty;
}

/* Returns whether it had anything to do (it forked). */
static bool wipe_scratch(void)
{
    /* Most tests leave nothing: no fork then (under gVisor a fork is the
     * dearest thing a test costs). */
    if (dir_is_empty("/tmp") && dir_is_empty("/dev/shm"))
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        unblock_signals();
        drop_to_test_user();
        const char *dirs[] = {"/tmp", "/dev/shm"};
        for (int i = 0; i < 2; i++) {
            nftw(dirs[i], open_dirs_entry, 16, FTW_PHYS | FTW_MOUNT);
            nftw(dirs[i], rm_tree_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        }
        _exit(0);
    }
    if (pid > 0) {
        long until = now_ms() + 2000;
        while (waitpid(pid, NULL, WNOHANG) == 0) {
            if (now_ms() > until) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                break;
            }
            struct timespec ts = {0, 200 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return true;
}

/* The OOM killer of the container's cgroup (the host's backstop past the
 * limit) must pick a test, never the driver or the zygote. */
static void prefer_for_oom_kill(void)
{
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "1000", 4) < 0) {
            /* gVisor has no OOM killer of its own: nothing to prefer */
        }
        close(fd);
    }
}

/* ------------------------------------------------------------------------
 * Output validators and interactors (plan judge_files=1)
 *
 * The package format calls them as `prog input_file answer_file feedback_dir`:
 * the executor sends each test's input and answer as in/<n>.in and
 * in/<n>.ans (in/ is the driver's alone), and the test's process, once it is
 * the test user, copies them to /tmp/judge/input and /tmp/judge/answer and
 * makes /tmp/judge/feedback/ (the paths the plan's arguments name). /tmp is
 * emptied after every test, so no test sees another's files. After the test
 * the driver passes judgemessage.txt and teammessage.txt on ("M" records).
 * ------------------------------------------------------------------------ */

#define FEEDBACK_MAX 4096

static int judge_file_open(int index, const char *ext)
{
    char path[64];
    snprintf(path, sizeof path, "/judge/in/%d.%s", index, ext);
    return open(path, O_RDONLY | O_CLOEXEC);
}

static int copy_fd_to(int from, const char *path)
{
    int to = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (to < 0)
        return -1;
    char buf[CHUNK];
    ssize_t n;
    while ((n = read(from, buf, sizeof buf)) > 0)
        if (file_write(to, buf, (size_t)n) < 0)
            n = -1;
    close(to);
    close(from);
    return n < 0 ? -1 : 0;
}

/* In the test's process, as the test user. */
static int stage_judge_files(int input, int answer)
{
    umask(022);
    if (input < 0 || answer < 0 || mkdir("/tmp/judge", 0755) < 0 ||
        copy_fd_to(input, "/tmp/judge/input") < 0 || copy_fd_to(answer, "/tmp/judge/answer") < 0 ||
        mkdir("/tmp/judge/feedback", 0755) < 0)
        return -1;
    return 0;
}

/* One feedback file, read without following links (the test made them). */
static size_t feedback_read(int dir, const char *name, char *buf, size_t cap)
{
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    size_t n = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        ssize_t r;
        while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
            n += (size_t)r;
    }
    close(fd);
    return n;
}

static void report_feedback(int index)
{
    int top = open("/tmp/judge", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int dir = top < 0 ? -1 : openat(top, "feedback", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    static const struct {
        const char *name;
        char tag;
    } files[] = {{"judgemessage.txt", 'j'}, {"teammessage.txt", 't'}};
    for (size_t i = 0; dir >= 0 && i < sizeof files / sizeof *files; i++) {
        char buf[FEEDBACK_MAX];
        size_t n = feedback_read(dir, files[i].name, buf, sizeof buf);
        if (n == 0)
            continue;
        char head[64];
        int h = snprintf(head, sizeof head, "M %d %c %zu\n", index, files[i].tag, n);
        write_all(STDOUT_FILENO, head, (size_t)h);
        write_all(STDOUT_FILENO, buf, n);
    }
    if (dir >= 0)
        close(dir);
    if (top >= 0)
        close(top);
}

static void child_exec(const plan_t *p, int index, int in_fd, int out_fd, int err_fd)
{
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    /* Opened while we may (in/ is the driver's), copied once we are the test
     * user; closed at exec. */
    int judge_in = p->judge_files ? judge_file_open(index, "in") : -1;
    int judge_ans = p->judge_files ? judge_file_open(index, "ans") : -1;
    /* Nothing of ours stays open in the test's process. */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != judge_in && fd != judge_ans)
            close(fd);
    setpgid(0, 0);
    unblock_signals();
    prefer_for_oom_kill();
    drop_to_test_user();
    if (p->judge_files && stage_judge_files(judge_in, judge_ans) < 0)
        _exit(125);
    child_limits(p);
    if (chdir(p->workdir) < 0)
        _exit(127);
    /* MALLOC_ARENA_MAX: glibc reserves 64 MiB of address space per thread
     * arena, which the address-space limit would otherwise spend on a
     * dozen threads. The zygote gives its tests the same environment. */
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                    "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "MALLOC_ARENA_MAX=2",
                    NULL};
    execve(p->argv[0], p->argv, envp);
    _exit(127);
}

/* No RLIMIT_CPU: the driver holds the whole tree to cpu_ms, and under gVisor
 * the rlimit would count each thread's wait for a host CPU as CPU time. */
static void child_limits(const plan_t *p)
{
    /* Address space, not memory: room for thread stacks (8 MiB each) and
     * allocator reservations; the driver judges memory by resident sets. The
     * same on both runtimes, so an absurd allocation fails the same way. */
    struct rlimit as = {as_limit_bytes(p), as_limit_bytes(p)};
    long fsize_kib = p->fsize_kib > 0 ? p->fsize_kib : p->output_kib;
    struct rlimit fsize = {(rlim_t)fsize_kib * 1024, (rlim_t)fsize_kib * 1024};
    struct rlimit nofile = {(rlim_t)p->nofile, (rlim_t)p->nofile};
    /* Processes and threads of the test user: the one past nproc is the
     * last a fork storm gets (the driver stops the test there), well before
     * the container's pids limit. */
    struct rlimit nproc = {(rlim_t)p->nproc + 1, (rlim_t)p->nproc + 1};
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_AS, &as);
    setrlimit(RLIMIT_FSIZE, &fsize);
    setrlimit(RLIMIT_NOFILE, &nofile);
    setrlimit(RLIMIT_NPROC, &nproc);
    setrlimit(RLIMIT_CORE, &core);
}

/* Starts the zygote with one end of a socket pair as its fd 3. */
static void zygote_start(const plan_t *p)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    if (pid == 0) {
        int devnull_in[2];
        if (pipe(devnull_in) == 0) { /* stdin at EOF until a test's is given */
            close(devnull_in[1]);
            dup2(devnull_in[0], 0);
        }
        dup2(sv[1], 3);
        for (int fd = 4; fd < 1024; fd++)
            close(fd);
        unblock_signals();
        /* The zygote stays container root: tests (uid 1000) can neither
         * stop it nor touch its memory. Its forks drop to the test user and
         * set the tests' environment; its own is one long variable it seals
         * at once, as we do ours (environ_seal): where /proc lets tests read
         * it (gVisor) the read fails. */
        struct rlimit core = {0, 0};
        setrlimit(RLIMIT_CORE, &core);
        static char seal[3 * 4096 + 1];
        memset(seal, '-', sizeof seal - 1);
        memcpy(seal, "DOJO_SEALED=", 12);
        char *envp[] = {seal, NULL};
        execve(p->zargv[0], p->zargv, envp);
        _exit(127);
    }
    close(sv[1]);
    zygote_pid = pid;
    zygote_sock = sv[0];
    /* Wait for "R": the interpreter's start must not count as a test's time. */
    struct pollfd pfd = {zygote_sock, POLLIN, 0};
    char r[2];
    if (poll(&pfd, 1, 10000) != 1 || read(zygote_sock, r, 2) != 2 || r[0] != 'R') {
        kill(zygote_pid, SIGKILL);
        waitpid(zygote_pid, NULL, 0);
        close(zygote_sock);
        zygote_pid = -1;
        zygote_sock = -1;
    }
}

/* Hands one test to the zygote; returns the test's pid, or -1 when the
 * zygote is gone (the caller then starts the test itself). */
static pid_t zygote_launch(const plan_t *p, int in_fd, int out_fd, int err_fd)
{
    if (zygote_sock < 0)
        return -1;
    char msg[160];
    long as = as_limit_bytes(p) == RLIM_INFINITY ? -1 : (long)as_limit_bytes(p);
    int len = snprintf(msg, sizeof msg, "%ld %ld %ld %ld", as, p->output_kib * 1024, p->nofile,
                       p->nproc + 1);
    int fds[3] = {in_fd, out_fd, err_fd};
    char ctrl[CMSG_SPACE(sizeof fds)];
    memset(ctrl, 0, sizeof ctrl);
    struct iovec iov = {msg, (size_t)len};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl;
    mh.msg_controllen = sizeof ctrl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);
    if (sendmsg(zygote_sock, &mh, MSG_NOSIGNAL) != len)
        return -1;
    char line[64];
    if (!read_line_timeout(zygote_sock, line, sizeof line, 2000)) { /* "P <pid>" */
        zygote_forget();
        return -1;
    }
    int pid = 0;
    return sscanf(line, "P %d", &pid) == 1 && pid > 1 ? (pid_t)pid : -1;
}

/* Reads the zygote's "X status user_ms sys_ms maxrss" for the test. */
static bool zygote_result(int *wstatus, struct rusage *ru)
{
    char line[128];
    /* A stopped or tampered zygote must not hang the run. */
    if (!read_line_timeout(zygote_sock, line, sizeof line, 1000))
        return false;
    long user = 0, sys = 0, rss = 0;
    if (sscanf(line, "X %d %ld %ld %ld", wstatus, &user, &sys, &rss) != 4)
        return false;
    memset(ru, 0, sizeof *ru);
    ru->ru_utime.tv_sec = user / 1000;
    ru->ru_utime.tv_usec = (user % 1000) * 1000;
    ru->ru_stime.tv_sec = sys / 1000;
    ru->ru_stime.tv_usec = (sys % 1000) * 1000;
    ru->ru_maxrss = rss;
    return true;
}

/* Tells the zygote the code is there ("L"); it compiles it and says "R"
 * again, or "C" when it does not compile. A zygote that does not answer is
 * dropped: tests then start the interpreter themselves. */
static void zygote_load(void)
{
    if (zygote_sock < 0)
        return;
    char line[64];
    if (send(zygote_sock, "L", 1, MSG_NOSIGNAL) != 1 ||
        !read_line_timeout(zygote_sock, line, sizeof line, 10000)) {
        zygote_forget();
        return;
    }
    /* "C <len>" instead of "R": the program does not compile, and the
     * compiler's message follows; it is passed on as a "C" record and no
     * test runs. */
    if (line[0] == 'C' && line[1] == ' ') {
        static char msg[64 << 10];
        long want = atol(line + 2);
        size_t n = 0;
        long until = now_ms() + 5000;
        if (want < 0)
            want = 0;
        while (n < (size_t)want && n < sizeof msg && now_ms() < until) {
            struct pollfd pfd = {zygote_sock, POLLIN, 0};
            if (poll(&pfd, 1, (int)(until - now_ms())) != 1)
                break;
            size_t room = sizeof msg - n < (size_t)want - n ? sizeof msg - n : (size_t)want - n;
            ssize_t r = read(zygote_sock, msg + n, room);
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        char head[32];
        int h = snprintf(head, sizeof head, "C %zu\n", n);
        write_all(STDOUT_FILENO, head, (size_t)h);
        write_all(STDOUT_FILENO, msg, n);
        syntax_error = true;
    }
    if (line[0] != 'R')
        zygote_forget();
}

/* ------------------------------------------------------------------------
 * The job
 *
 * The sandbox starts before its job is known (the executor keeps a pool of
 * them) and serves exactly one: after "R" on stdout the driver reads the job
 * from the control channel — its files ("F <name> <mode> <len>"), its plan
 * ("P <len>", the key=value lines of /judge/plan) and "G" — and then runs it.
 * ------------------------------------------------------------------------ */

/* False when the executor closed the channel before "G". */
static bool job_receive(void)
{
    while (!ctl.go && ctl.open) {
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            die("poll");
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
            ctl_read();
    }
    if (ctl.file_fd >= 0)
        die("the job ended inside a file");
    ctl.plan[ctl.plan_len] = '\0';
    return ctl.go;
}

/* ------------------------------------------------------------------------
 * One test
 * ------------------------------------------------------------------------ */

typedef struct stream {
    int fd;
    char *buf;
    size_t len, cap;
    bool over;
    char tag; /* 'O' or 'E' when streaming */
} stream_t;

/* Reads what is available; returns false at EOF. */
static bool pump(stream_t *s, bool streaming)
{
    char tmp[CHUNK];
    ssize_t n = read(s->fd, tmp, sizeof tmp);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    size_t room = s->cap > s->len ? s->cap - s->len : 0;
    size_t keep = (size_t)n < room ? (size_t)n : room;
    if ((size_t)n > room)
        s->over = true;
    if (streaming) {
        if (keep > 0) {
            char head[32];
            int h = snprintf(head, sizeof head, "%c %zu\n", s->tag, keep);
            write_all(STDOUT_FILENO, head, (size_t)h);
            write_all(STDOUT_FILENO, tmp, keep);
        }
        s->len += keep;
    } else {
        memcpy(s->buf + s->len, tmp, keep);
        s->len += keep;
    }
    return true;
}

/* The test's charge so far: its own CPU time, or the host's count of the
 * container's since the test started when that is lower (see the top). */
static long charged_cpu_ms(long own, long host_start, long host)
{
    if (host < 0 || host_start < 0)
        return own;
    long delta = host - host_start;
    return delta < own ? delta : own;
}

/* Reaps what has ended without waiting: the test's main process (when it is
 * our child, or became ours because the zygote died) and orphans. */
static void reap_some(pid_t pid, bool *exited, int *wstatus, struct rusage *ru)
{
    int st;
    struct rusage r;
    pid_t got;
    while ((got = wait4(-1, &st, WNOHANG, &r)) > 0) {
        if (got == pid && !*exited) {
            *exited = true;
            *wstatus = st;
            *ru = r;
        } else if (got == zygote_pid) {
            zygote_pid = -1;
        } else {
            reaped_one(got, &r);
        }
    }
}

/* One test while the driver watches it: its process, its pipes, and what it
 * has been charged so far. */
typedef struct test_run {
    const plan_t *p;
    pid_t pid;
    bool via_zygote;
    stream_t out, err;
    bool out_open, err_open, exited;
    int wstatus;
    struct rusage ru;
    long start;         /* now_ms() at the start */
    long host_start;    /* host_cpu_now() at the start; -1: set from the first feed */
    long host_end;      /* host_cpu_now() once its processes were gone */
    long cpu, peak_kib; /* the highest charge and memory seen */
    long next_tick, last_growth, exited_at;
} test_run_t;

/* The test's stdin: its input file — sent with the job (in/<n>), or for
 * large test data linked in by the executor (data/<n>, a folder only we may
 * enter) — or in interactive mode a pipe the executor's I messages fill
 * (input.fd, our end). */
static int test_stdin(const plan_t *p, int index)
{
    if (!p->interactive) {
        char path[64];
        snprintf(path, sizeof path, "/judge/in/%d", index);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            snprintf(path, sizeof path, "/judge/data/%d", index);
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        }
        return fd;
    }
    int ip[2];
    if (pipe2(ip, O_CLOEXEC) < 0)
        die("pipe");
    input.fd = ip[1];
    fcntl(input.fd, F_SETFL, O_NONBLOCK);
    input_flush(); /* what came with the job */
    return ip[0];
}

/* Starts test `index`: through the zygote when there is one (and the test
 * is not interactive), else as a child of ours. */
static void test_start(test_run_t *r, const plan_t *p, int index)
{
    static char outbuf[64 << 20];
    static char errbuf[1 << 20];
    int in_fd = test_stdin(p, index);
    int out_pipe[2], err_pipe[2];
    if (in_fd < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0)
        die("prepare test");

    memset(r, 0, sizeof *r);
    memset(&reaped, 0, sizeof reaped);
    r->p = p;
    if (index == 0) /* later ones: synced as the one before ended */
        host_sync();
    r->host_start = host_cpu_now();
    r->start = now_ms();
    r->via_zygote = !p->interactive && !p->judge_files && zygote_sock >= 0;
    r->pid = r->via_zygote ? zygote_launch(p, in_fd, out_pipe[1], err_pipe[1]) : -1;
    if (r->pid < 0) {
        r->via_zygote = false;
        r->pid = fork();
        if (r->pid < 0)
            die("fork");
        if (r->pid == 0)
            child_exec(p, index, in_fd, out_pipe[1], err_pipe[1]);
    }
    close(in_fd);
    close(out_pipe[1]);
    close(err_pipe[1]);

    r->out = (stream_t){out_pipe[0], outbuf, 0, (size_t)p->output_kib * 1024, false, 'O'};
    r->err = (stream_t){err_pipe[0], errbuf, 0, (size_t)p->stderr_kib * 1024, false, 'E'};
    if (r->out.cap > sizeof outbuf)
        r->out.cap = sizeof outbuf;
    if (r->err.cap > sizeof errbuf)
        r->err.cap = sizeof errbuf;
    r->out_open = r->err_open = true;
    r->next_tick = r->start + TICK_MS;
    r->last_growth = r->start;
}

/* A tick: samples the test's process tree and holds it to its limits.
 * Returns the status that stops it, or NULL (and schedules the next tick). */
static const char *test_tick(test_run_t *r, long now)
{
    const plan_t *p = r->p;
    tree_t t;
    tree_sample(&t);
    long own = reaped.cpu_ms + t.cpu_ms;
    if (own > r->cpu) {
        r->cpu = own;
        r->last_growth = now;
    }
    if (t.rss_kib > r->peak_kib)
        r->peak_kib = t.rss_kib;
    /* A test that started before the first feed: it cannot have used more
     * than its own count, nor more than one CPU (the container's quota) for
     * the time it ran. */
    if (r->host_start < 0 && host_cpu_now() >= 0)
        r->host_start = host_cpu_now() - (r->cpu < now - r->start ? r->cpu : now - r->start);
    long charge = charged_cpu_ms(r->cpu, r->host_start, host_cpu_now());
    bool running = t.running || now - r->last_growth < RUNNING_WINDOW_MS ||
                   (ctl.host_busy_at && now - ctl.host_busy_at < RUNNING_WINDOW_MS);
    if (t.rss_kib > p->memory_kib)
        return "ML";
    /* More than nproc processes and threads: stopped. RLIMIT_NPROC
     * (nproc + 1) makes Linux refuse the next one anyway; gVisor lets a fork
     * storm past it (and would crash at the host's pids limit), so the
     * driver's count is the limit on both. */
    if (t.tasks > p->nproc)
        return "PL";
    if (charge > p->cpu_ms)
        return "TC";
    if (now - r->start >= p->safety_ms)
        return "TS";
    if (now - r->start >= p->wall_ms && !running)
        return "TW";
    bool near = t.rss_kib * 2 > p->memory_kib || t.tasks * 2 > p->nproc;
    r->next_tick = now + (near ? TICK_NEAR_LIMIT_MS : TICK_MS);
    return NULL;
}

/* Waits until the next tick for output, the control channel, room in the
 * program's stdin or a child's end, and serves what came. Returns the
 * events of the zygote's socket (its report that the test ended). */
static short test_poll(test_run_t *r, long now)
{
    struct pollfd fds[6] = {
        {r->out_open ? r->out.fd : -1, POLLIN, 0},
        {r->err_open ? r->err.fd : -1, POLLIN, 0},
        {r->via_zygote && !r->exited ? zygote_sock : -1, POLLIN, 0},
        {ctl.open ? STDIN_FILENO : -1, POLLIN, 0},
        {input.fd >= 0 && input.len > 0 ? input.fd : -1, POLLOUT, 0},
        {sigchld_fd, POLLIN, 0},
    };
    long wait = r->exited ? 20 : r->next_tick - now;
    poll(fds, 6, (int)(wait < 0 ? 0 : wait));
    if (fds[5].revents & POLLIN) {
        struct signalfd_siginfo si[8];
        while (read(sigchld_fd, si, sizeof si) > 0) {
        }
    }
    if (r->out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        r->out_open = pump(&r->out, r->p->interactive);
    if (r->err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
        r->err_open = pump(&r->err, r->p->interactive);
    if (fds[3].revents & (POLLIN | POLLHUP | POLLERR))
        ctl_read();
    if (fds[4].revents)
        input_flush();
    return fds[2].revents;
}

/* Notices the test's end (the zygote's report, or our child reaped) and
 * reaps orphans; at the end, charges what the test used in all. */
static void test_reap(test_run_t *r, short zygote_events)
{
    bool was_exited = r->exited;
    if (r->via_zygote) {
        if (!r->exited && (zygote_events & (POLLIN | POLLHUP | POLLERR))) {
            if (!zygote_result(&r->wstatus, &r->ru)) {
                /* The zygote died or hangs (the test may have hit it). */
                r->wstatus = SIGKILL;
                zygote_forget();
            }
            r->exited = true;
        }
        reap_some(-1, &r->exited, &r->wstatus, &r->ru); /* orphans */
    } else {
        reap_some(r->pid, &r->exited, &r->wstatus, &r->ru);
    }
    if (r->exited && !was_exited) {
        r->exited_at = now_ms();
        /* The charge at the end: the process's own rusage (with its reaped
         * children), orphans, and what else still runs. */
        tree_t t;
        tree_sample(&t);
        long own = rusage_cpu_ms(&r->ru) + reaped.cpu_ms + t.cpu_ms;
        if (own > r->cpu)
            r->cpu = own;
        if (t.rss_kib > r->peak_kib)
            r->peak_kib = t.rss_kib;
    }
}

/* Stops a test that has not ended by itself and collects its status. */
static void test_kill(test_run_t *r)
{
    kill(-r->pid, SIGKILL);
    kill(r->pid, SIGKILL);
    if (r->via_zygote) {
        if (zygote_sock < 0 || !zygote_result(&r->wstatus, &r->ru)) {
            r->wstatus = SIGKILL;
            zygote_forget();
        }
    } else {
        wait4(r->pid, &r->wstatus, 0, &r->ru);
    }
    long own = rusage_cpu_ms(&r->ru) + reaped.cpu_ms;
    if (own > r->cpu)
        r->cpu = own;
}

/* Leaves nothing of the test for the next: processes, scratch files, pipes,
 * unread interactive input. Returns whether processes had to be killed. */
static bool test_cleanup(test_run_t *r)
{
    bool killed = kill_leftovers();
    /* The host's count now, with all of the test's processes gone (for its
     * record), and again after the scratch wipe's fork (for the next test's
     * start): that fork is the judge's, no test's. */
    host_sync();
    r->host_end = host_cpu_now();
    if (wipe_scratch())
        host_sync();
    close(r->out.fd);
    close(r->err.fd);
    if (input.fd >= 0)
        close(input.fd);
    input.fd = -1;
    input.len = 0;
    input.eof = false;
    return killed;
}

/* Writes the test's record (see the top): `status` is what stopped it, or
 * NULL when it ended by itself. */
static void test_report(test_run_t *r, int index, const char *status, long wall)
{
    const plan_t *p = r->p;
    long peak_kib = r->peak_kib;
    if (r->ru.ru_maxrss > peak_kib)
        peak_kib = r->ru.ru_maxrss;
    if (reaped.maxrss_kib > peak_kib)
        peak_kib = reaped.maxrss_kib;
    long charge = charged_cpu_ms(r->cpu, r->host_start, r->host_end);
    int code = WIFEXITED(r->wstatus) ? WEXITSTATUS(r->wstatus) : -1;
    int sig = WIFSIGNALED(r->wstatus) ? WTERMSIG(r->wstatus) : 0;
    if (status != NULL && !strcmp(status, "TC") && charge < p->cpu_ms)
        charge = p->cpu_ms; /* stopped at the limit; rusage lags by a tick */
    if (status == NULL) {
        if (charge > p->cpu_ms)
            status = "TC";
        else if (peak_kib > p->memory_kib)
            status = "ML";
        else if (WIFEXITED(r->wstatus) && code == 127 && wall < 5 && r->out.len == 0)
            status = "XX";
        else if (sig)
            status = "SG";
        else
            status = "OK";
    }
    char head[160];
    size_t out_len = p->interactive ? 0 : r->out.len, err_len = p->interactive ? 0 : r->err.len;
    int h = snprintf(head, sizeof head, "T %d %s %d %d %ld %ld %ld %zu %zu\n", index, status, code,
                     sig, charge, wall, peak_kib, out_len, err_len);
    write_all(STDOUT_FILENO, head, (size_t)h);
    write_all(STDOUT_FILENO, r->out.buf, out_len);
    write_all(STDOUT_FILENO, r->err.buf, err_len);
}

/* Runs test `index`; `settle`: the one before left processes to kill (its
 * CPU use must settle first). Returns whether this one did. */
static bool run_test(const plan_t *p, int index, bool settle)
{
    test_run_t r;
    if (settle)
        host_settle();
    test_start(&r, p, index);
    const char *status = NULL;
    while (!r.exited || r.out_open || r.err_open) {
        long now = now_ms();
        /* Once the test's process ended, what is still running is only
         * given a moment to close the pipes; it no longer counts. */
        if (r.exited && now - r.exited_at > p->wall_ms / 2)
            break;
        if (!r.exited && now >= r.next_tick && (status = test_tick(&r, now)) != NULL)
            break;
        short zygote_events = test_poll(&r, now);
        if (r.out.over) {
            status = "OL";
            break;
        }
        test_reap(&r, zygote_events);
    }
    long wall = now_ms() - r.start;
    bool killed = !r.exited;
    if (!r.exited)
        test_kill(&r);
    if (p->judge_files)
        report_feedback(index);
    killed |= test_cleanup(&r);
    test_report(&r, index, status, wall);
    return killed;
}

/* ------------------------------------------------------------------------
 * Our environment, sealed
 *
 * gVisor (20221219) makes /proc/<pid>/environ readable by all (mode 0444,
 * no ptrace check; Linux has 0400 and a ptrace check that our being
 * undumpable fails for tests). It copies the bytes from the process's memory
 * with that memory's permissions, though: the executor gives the driver one
 * long variable and nothing else (build_config), and the driver makes the
 * whole pages of it inaccessible first thing, so that reading its environ
 * fails (EFAULT) there as well. The zygote seals its own the same way
 * (python3_zygote.py).
 * ------------------------------------------------------------------------ */

extern char **environ;

static void environ_seal(void)
{
    static char *none[] = {NULL};
    char **env = environ;
    environ = none; /* nothing reads the sealed strings again */
    if (env == NULL || env[0] == NULL)
        return;
    uintptr_t lo = 0, hi = 0;
    for (int i = 0; env[i] != NULL && i < 64; i++) {
        if (!strncmp(env[i], "DOJO_SEALED=", 12)) {
            lo = (uintptr_t)env[i];
            hi = lo + strlen(env[i]) + 1;
        }
    }
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (lo + pg - 1) & ~(pg - 1), b = hi & ~(pg - 1);
    if (b > a)
        mprotect((void *)a, b - a, PROT_NONE);
}

int main(void)
{
    environ_seal();
    /* Tests run as another uid: make our memory and fds unreadable to them. */
    prctl(PR_SET_DUMPABLE, 0);
    signal(SIGPIPE, SIG_IGN);
    page_kib = sysconf(_SC_PAGESIZE) / 1024;
    clock_ticks = sysconf(_SC_CLK_TCK);
    if (page_kib <= 0)
        page_kib = 4;
    if (clock_ticks <= 0)
        clock_ticks = 100;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    sigchld_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigchld_fd < 0)
        die("signalfd");
    plan_t plan;
    read_plan(&plan);
    /* Warm before the job is known: the zygote is up when it comes. */
    if (plan.zargc > 0)
        zygote_start(&plan);
    write_all(STDOUT_FILENO, "R\n", 2);
    if (!job_receive())
        return 0; /* the executor let this sandbox go unused */
    plan_parse(&plan, ctl.plan);
    if (plan.argc == 0)
        die("plan has no arg= lines");
    if (plan.safety_ms < plan.wall_ms)
        plan.safety_ms = plan.wall_ms;
    if (plan.interactive) {
        plan.tests = 1;
        /* The program runs by itself (its stdin is the executor's stream),
         * but a syntax error is still the compile error it is for tests. */
        if (plan.syntax_check)
            zygote_load();
        zygote_forget();
    } else {
        zygote_load();
    }
    bool settle = false;
    for (int i = 0; i < plan.tests && !syntax_error; i++)
        settle = run_test(&plan, i, settle);
    write_all(STDOUT_FILENO, "D\n", 2);
    return 0;
}
