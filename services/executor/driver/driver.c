/* driver.c — runs inside the sandbox as its first process (pid 1).
 *
 * It reads the plan the executor wrote to /judge/plan, runs every test as its
 * own child process (stdin from /judge/in/<n>, stdout and stderr to pipes it
 * reads with caps), measures CPU, wall time and peak memory, kills whatever
 * the test left behind, and reports one record per test on its stdout, which
 * is a pipe to the executor. It never judges: output is compared outside.
 *
 * Record format (text header, then raw bytes), isolate-style and easy to log:
 *   T <index> <status> <exit> <signal> <cpu_ms> <wall_ms> <rss_kib> <out_len> <err_len>\n
 *   <out_len bytes of stdout><err_len bytes of stderr>
 * status: OK (exited by itself), SG (killed by a signal), TC (CPU limit),
 * TW (wall limit), OL (output limit), XX (could not start).
 * In interactive mode stdout/stderr are streamed while the program runs:
 *   O <len>\n<bytes>   E <len>\n<bytes>
 * and the driver's own stdin is the program's stdin. The last line is "D\n".
 *
 * Static, no allocation beyond a few buffers, no dependencies: it must run
 * in any language's root filesystem. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 32
#define CHUNK 65536

typedef struct plan {
    int tests;
    bool interactive;
    long cpu_ms;
    long wall_ms;
    long memory_kib;
    long output_kib;
    long stderr_kib;
    long nofile;
    long as_extra_mib; /* address space allowed beyond memory_kib */
    char *argv[MAX_ARGS + 1];
    int argc;
    char *zargv[MAX_ARGS + 1]; /* a pre-warmed interpreter that forks per test */
    int zargc;
    char *workdir;
} plan_t;

/* The zygote, when the language has one: its pid and our end of its socket. */
static pid_t zygote_pid = -1;
static int zygote_sock = -1;

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

static void read_plan(plan_t *p)
{
    static char text[16384];
    int fd = open("/judge/plan", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open /judge/plan");
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        die("read /judge/plan");
    text[n] = '\0';
    memset(p, 0, sizeof *p);
    p->cpu_ms = 2000;
    p->wall_ms = 5000;
    p->memory_kib = 262144;
    p->output_kib = 1024;
    p->stderr_kib = 64;
    p->nofile = 64;
    p->as_extra_mib = 256;
    p->workdir = "/tmp";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
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
        else if (!strcmp(line, "memory_kib"))
            p->memory_kib = atol(v);
        else if (!strcmp(line, "output_kib"))
            p->output_kib = atol(v);
        else if (!strcmp(line, "stderr_kib"))
            p->stderr_kib = atol(v);
        else if (!strcmp(line, "nofile"))
            p->nofile = atol(v);
        else if (!strcmp(line, "as_extra_mib"))
            p->as_extra_mib = atol(v);
        else if (!strcmp(line, "workdir"))
            p->workdir = v;
    }
    p->argv[p->argc] = NULL;
    p->zargv[p->zargc] = NULL;
    if (p->argc == 0)
        die("plan has no arg= lines");
}

/* Kills every process of the sandbox but this one: what a test started in
 * the background must not outlive it. As pid 1 we are the reaper of all. */
static void kill_leftovers(void)
{
    for (int round = 0; round < 50; round++) {
        bool any = false;
        if (zygote_pid < 0) {
            kill(-1, SIGKILL); /* every process we may signal, except ourselves */
        } else {
            /* Everything but us and the zygote. */
            DIR *d = opendir("/proc");
            struct dirent *e;
            while (d && (e = readdir(d)) != NULL) {
                pid_t pid = (pid_t)atoi(e->d_name);
                if (pid > 1 && pid != zygote_pid && kill(pid, SIGKILL) == 0)
                    any = true;
            }
            if (d)
                closedir(d);
        }
        int status;
        pid_t r;
        while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
            any = true;
            if (r == zygote_pid) {
                zygote_pid = -1;
                close(zygote_sock);
                zygote_sock = -1;
            }
        }
        if (!any) {
            if (zygote_pid < 0 && waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD)
                return;
            if (zygote_pid >= 0)
                return;
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

static void child_limits(const plan_t *p);

static rlim_t as_limit_bytes(const plan_t *p)
{
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

static void wipe_scratch(void)
{
    pid_t pid = fork();
    if (pid == 0) {
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
}

/* CPU time of a running process from /proc (user + system), or -1. The
 * rlimit works in whole seconds; this lets us stop at the exact limit. */
static long proc_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (p == NULL)
        return -1;
    unsigned long utime = 0, stime = 0;
    /* After ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15). */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    long ticks = sysconf(_SC_CLK_TCK);
    return (long)((utime + stime) * 1000 / (unsigned long)(ticks > 0 ? ticks : 100));
}

static void child_exec(const plan_t *p, int in_fd, int out_fd, int err_fd)
{
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    /* Nothing of ours stays open in the test's process. */
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    setpgid(0, 0);
    drop_to_test_user();
    child_limits(p);
    if (chdir(p->workdir) < 0)
        _exit(127);
    /* MALLOC_ARENA_MAX: glibc reserves 64 MiB of address space per thread
     * arena, which the address-space limit would otherwise spend on a
     * dozen threads. */
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                    "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "MALLOC_ARENA_MAX=2",
                    NULL};
    execve(p->argv[0], p->argv, envp);
    _exit(127);
}

static void child_limits(const plan_t *p)
{
    /* Whole seconds only: SIGXCPU at the first second past the limit; the
     * exact check against cpu_ms happens after the test. */
    struct rlimit cpu = {(rlim_t)(p->cpu_ms + 999) / 1000, (rlim_t)(p->cpu_ms + 999) / 1000 + 1};
    /* Address space, not memory: room for thread stacks (8 MiB each) and
     * allocator reservations; the cgroup and the peak-RSS check judge memory. */
    struct rlimit as = {as_limit_bytes(p), as_limit_bytes(p)};
    struct rlimit fsize = {(rlim_t)p->output_kib * 1024, (rlim_t)p->output_kib * 1024};
    struct rlimit nofile = {(rlim_t)p->nofile, (rlim_t)p->nofile};
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CPU, &cpu);
    setrlimit(RLIMIT_AS, &as);
    setrlimit(RLIMIT_FSIZE, &fsize);
    setrlimit(RLIMIT_NOFILE, &nofile);
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
        /* The zygote stays container root: tests (uid 1000) can neither
         * stop it nor touch its memory. Its forks drop to the test user. */
        struct rlimit core = {0, 0};
        setrlimit(RLIMIT_CORE, &core);
        char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                        "PYTHONDONTWRITEBYTECODE=1", "MALLOC_ARENA_MAX=2", NULL};
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
    char msg[128];
    int len = snprintf(msg, sizeof msg, "%ld %lu %ld %ld", (p->cpu_ms + 999) / 1000,
                       (unsigned long)as_limit_bytes(p), p->output_kib * 1024, p->nofile);
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

static void run_test(const plan_t *p, int index)
{
    int in_fd;
    if (p->interactive) {
        in_fd = dup(STDIN_FILENO);
    } else {
        char path[64];
        snprintf(path, sizeof path, "/judge/in/%d", index);
        in_fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    int out_pipe[2], err_pipe[2];
    if (in_fd < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0)
        die("prepare test");

    long start = now_ms();
    bool via_zygote = !p->interactive && zygote_sock >= 0;
    pid_t pid = via_zygote ? zygote_launch(p, in_fd, out_pipe[1], err_pipe[1]) : -1;
    if (pid < 0) {
        via_zygote = false;
        pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            child_exec(p, in_fd, out_pipe[1], err_pipe[1]);
    }
    close(in_fd);
    close(out_pipe[1]);
    close(err_pipe[1]);

    static char outbuf[64 << 20];
    static char errbuf[1 << 20];
    stream_t out = {out_pipe[0], outbuf, 0, (size_t)p->output_kib * 1024, false, 'O'};
    stream_t err = {err_pipe[0], errbuf, 0, (size_t)p->stderr_kib * 1024, false, 'E'};
    if (out.cap > sizeof outbuf)
        out.cap = sizeof outbuf;
    if (err.cap > sizeof errbuf)
        err.cap = sizeof errbuf;

    const char *status = NULL;
    long cpu_seen = 0; /* the highest CPU time read from /proc while it ran */
    bool out_open = true, err_open = true, exited = false;
    int wstatus = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (!exited || out_open || err_open) {
        long left = p->wall_ms - (now_ms() - start);
        if (left <= 0) {
            status = "TW";
            break;
        }
        struct pollfd fds[3] = {{out_open ? out.fd : -1, POLLIN, 0},
                                {err_open ? err.fd : -1, POLLIN, 0},
                                {via_zygote && !exited ? zygote_sock : -1, POLLIN, 0}};
        /* With both pipes closed only the exit is left to see: look often. */
        int step = (out_open || err_open) ? 20 : 1;
        int timeout = (int)(left < step ? left : step);
        poll(fds, 3, timeout);
        if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
            out_open = pump(&out, p->interactive);
        if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            err_open = pump(&err, p->interactive);
        if (out.over) {
            status = "OL";
            break;
        }
        if (via_zygote) {
            if (!exited && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
                if (!zygote_result(&wstatus, &ru)) {
                    /* The zygote died or hangs (the test may have hit it). */
                    wstatus = SIGKILL;
                    zygote_forget();
                }
                exited = true;
            }
        } else if (!exited && wait4(pid, &wstatus, WNOHANG, &ru) == pid) {
            exited = true;
        }
        if (!exited) {
            long seen = proc_cpu_ms(pid);
            if (seen > cpu_seen)
                cpu_seen = seen;
            if (seen > p->cpu_ms) {
                status = "TC";
                break;
            }
        }
        /* A background process may hold the pipes open after the test's
         * process ended: give it a moment, then stop reading. */
        if (exited && (out_open || err_open) && now_ms() - start > p->wall_ms / 2)
            break;
    }
    long wall = now_ms() - start;
    if (!exited) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        if (via_zygote) {
            if (zygote_sock < 0 || !zygote_result(&wstatus, &ru)) {
                wstatus = SIGKILL;
                zygote_forget();
            }
        } else {
            wait4(pid, &wstatus, 0, &ru);
        }
    }
    kill_leftovers();
    wipe_scratch();
    close(out.fd);
    close(err.fd);

    long cpu = ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 + ru.ru_stime.tv_sec * 1000 +
               ru.ru_stime.tv_usec / 1000;
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    /* rusage is sampled by ticks and can read ~10% low; the kernel's own
     * accounting (RLIMIT_CPU's SIGXCPU, /proc) is what stopped it. */
    if (cpu_seen > cpu)
        cpu = cpu_seen;
    if (sig == SIGXCPU && cpu < p->cpu_ms)
        cpu = p->cpu_ms;
    if (status == NULL) {
        if (cpu > p->cpu_ms || sig == SIGXCPU)
            status = "TC";
        else if (WIFEXITED(wstatus) && code == 127 && wall < 5 && out.len == 0)
            status = "XX";
        else if (sig)
            status = "SG";
        else
            status = "OK";
    }
    char head[160];
    size_t out_len = p->interactive ? 0 : out.len, err_len = p->interactive ? 0 : err.len;
    int h = snprintf(head, sizeof head, "T %d %s %d %d %ld %ld %ld %zu %zu\n", index, status, code,
                     sig, cpu, wall, ru.ru_maxrss, out_len, err_len);
    write_all(STDOUT_FILENO, head, (size_t)h);
    write_all(STDOUT_FILENO, out.buf, out_len);
    write_all(STDOUT_FILENO, err.buf, err_len);
}

int main(void)
{
    /* Tests run as our uid: make our memory and fds unreadable to them. */
    prctl(PR_SET_DUMPABLE, 0);
    signal(SIGPIPE, SIG_IGN);
    plan_t plan;
    read_plan(&plan);
    if (plan.interactive)
        plan.tests = 1;
    else if (plan.zargc > 0)
        zygote_start(&plan);
    for (int i = 0; i < plan.tests; i++)
        run_test(&plan, i);
    write_all(STDOUT_FILENO, "D\n", 2);
    return 0;
}
