/* testutil.h — small helpers shared by the libcommon tests: capturing
 * stderr, reading servers from the environment, random names, free ports.
 * Include after <cmocka.h>. */
#ifndef DOJO_TESTUTIL_H
#define DOJO_TESTUTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

#endif
