/* testutil.h — small helpers shared by the libcommon tests: capturing
 * stderr, reading servers from the environment, random names, free ports,
 * a Redis server of the test's own (to restart it), a real gRPC server on
 * loopback. Include after <cmocka.h>. */
#ifndef DOJO_TESTUTIL_H
#define DOJO_TESTUTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/cleanup.h"
#include "libcommon/rpc.h"

/* ---- stderr capture: everything written between begin and end. */

typedef struct {
    int saved_fd;
    int pipe_rd;
} capture_t;

static inline void capture_begin(capture_t *c)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    /* Big enough for a test's few log lines without a reader thread. */
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    fflush(stderr);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(p[1], STDERR_FILENO) >= 0);
    close(p[1]);
    c->pipe_rd = p[0];
}

/* Returns what was written (new: free it). */
static inline char *capture_end(capture_t *c)
{
    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t n;
    while ((n = read(c->pipe_rd, buf + len, cap - 1 - len)) > 0) {
        len += (size_t)n;
        if (len == cap - 1) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    close(c->pipe_rd);
    buf[len] = '\0';
    return buf;
}

/* ---- servers from the environment. */

/* The variable's value, or NULL after printing why the caller will skip. */
static inline const char *test_env_or_null(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        printf("skipped: %s not set (pass --test_env=%s=... to bazel test)\n", name, name);
        fflush(stdout);
        return NULL;
    }
    return v;
}

/* ---- randomness and ports. */

/* Writes `n` random lowercase hex digits and a NUL into out[n + 1]. */
static inline void random_hex(char *out, size_t n)
{
    unsigned char b[32];
    assert_true(n / 2 + 1 <= sizeof b);
    assert_int_equal(getrandom(b, sizeof b, 0), (ssize_t)sizeof b);
    for (size_t i = 0; i < n; i++)
        out[i] = "0123456789abcdef"[(b[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    out[n] = '\0';
}

/* A loopback port that was free a moment ago (bind port 0, read it, close). */
static inline int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- a Redis server of the test's own, for restarting it. */

static inline void test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* True once something accepts TCP connections on 127.0.0.1:port. */
static inline int test_port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Starts `redis-server` (from PATH) on 127.0.0.1:port without persistence,
 * working in `dir`, and waits (at most 10 s) until it accepts connections.
 * Returns its pid, or -1 after printing why (no redis-server: skip). */
static inline pid_t test_redis_start(int port, const char *dir)
{
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execlp("redis-server", "redis-server", "--port", port_s, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (test_port_accepts(port))
            return pid;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            printf("redis-server did not start (status %d)\n", status);
            return -1;
        }
        test_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    printf("redis-server did not accept connections within 10 s\n");
    return -1;
}

/* Stops a server of test_redis_start (SIGTERM, SIGKILL after 10 s) and reaps
 * it. Harmless for pid <= 0. */
static inline void test_redis_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        test_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* A fresh directory for a test server (new: the caller owns its name). */
static inline char *test_tmpdir(void)
{
    const char *base = getenv("TEST_TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/redis-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

/* ---- a real gRPC server (rpc_server.c) on a free loopback port, run on a
 * thread of its own. */

typedef struct test_server {
    rpc_server_t *server;
    pthread_t runner;
    bool running;
    char target[64]; /* "127.0.0.1:port" */
} test_server_t;

static inline void *test_server_run_(void *server)
{
    rpc_server_run(server);
    return NULL;
}

/* Serves `service` with `handlers` (rpc_call_payload gives `payload`). */
static inline void test_server_start(test_server_t *t, const ProtobufCServiceDescriptor *service,
                                     const rpc_handler_t *handlers, void *payload)
{
    cleanup_err err_t *err = NULL;
    memset(t, 0, sizeof *t);
    assert_int_equal(rpc_server_new(&t->server, "test", "127.0.0.1:0", &err), 0);
    assert_int_equal(rpc_server_add_service(t->server, service, handlers, payload, &err), 0);
    assert_int_equal(rpc_server_start(t->server, &err), 0);
    assert_int_equal(pthread_create(&t->runner, NULL, test_server_run_, t->server), 0);
    t->running = true;
    snprintf(t->target, sizeof t->target, "127.0.0.1:%d", rpc_server_port(t->server));
}

/* Drains the server (in-flight calls finish) and waits for rpc_server_run. */
static inline void test_server_stop(test_server_t *t)
{
    if (!t->running)
        return;
    rpc_server_stop(t->server);
    pthread_join(t->runner, NULL);
    t->running = false;
}

static inline void test_server_free(test_server_t *t)
{
    test_server_stop(t);
    rpc_server_free(t->server);
    t->server = NULL;
}

#endif
