/* rpc_bench.c — what one gRPC hop through libcommon's layer costs, and what
 * a login's password hashing costs.
 *
 *   bazel build //bench:rpc_bench && ./bazel-bin/bench/rpc_bench [seconds-per-run]
 *
 * Part 1 starts a real server (rpc_server.c) on loopback in this process and
 * calls grpc.health.v1.Health/Check through the real client (rpc_client.c)
 * from 1, 2 and 4 threads, each for a few seconds after a warm-up; it prints
 * p50/p99 latency and calls per second. Client and server share the
 * machine's cores, as they do on one node.
 *
 * Part 2 times argon2id hashing and verification with auth's parameters
 * (DOJO_AUTH_ARGON2_OPS, DOJO_AUTH_ARGON2_MEM_KIB; defaults 2 and 19456). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grpc/health/v1/health.pb-c.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/rpc.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct worker {
    rpc_channel_t *channel;
    double seconds;
    double *lat; /* microseconds */
    size_t n, cap;
    int errors;
} worker_t;

static void *client_main(void *arg)
{
    worker_t *w = arg;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    rpc_call_opts_t opts = {.timeout_ms = 2000};
    double end = now_s() + w->seconds;
    while (now_s() < end) {
        double t0 = now_s();
        cleanup_pb ProtobufCMessage *out = NULL;
        cleanup_err err_t *err = NULL;
        if (rpc_client_call(w->channel, &grpc__health__v1__health__descriptor, "Check", &req.base,
                            &out, &opts, &err) < 0) {
            w->errors++;
            continue;
        }
        double us = (now_s() - t0) * 1e6;
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 65536;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            if (w->lat == NULL)
                abort();
        }
        w->lat[w->n++] = us;
    }
    return NULL;
}

static void run(const char *target, int threads, double seconds, bool print)
{
    worker_t w[8];
    pthread_t th[8];
    memset(w, 0, sizeof w);
    for (int i = 0; i < threads; i++) {
        cleanup_err err_t *err = NULL;
        /* One channel per client thread, as separate services would have. */
        if (rpc_channel_open(&w[i].channel, target, &err) < 0)
            abort();
        w[i].seconds = seconds;
    }
    double t0 = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, client_main, &w[i]);
    size_t total = 0;
    int errors = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += w[i].n;
        errors += w[i].errors;
    }
    double elapsed = now_s() - t0;
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof *all);
        k += w[i].n;
        free(w[i].lat);
        rpc_channel_close(w[i].channel);
    }
    qsort(all, total, sizeof *all, cmp_double);
    if (print && total > 0)
        printf("  %d client thread%s  calls=%-8zu errors=%-3d p50=%7.1f us  p99=%7.1f us  "
               "%8.0f calls/s\n",
               threads, threads == 1 ? " " : "s", total, errors, all[total / 2],
               all[(size_t)((double)total * 0.99)], (double)total / elapsed);
    free(all);
}

static void bench_argon(void)
{
    unsigned long long ops = (unsigned long long)config_int("DOJO_AUTH_ARGON2_OPS", 2, 1, 10);
    size_t mem = (size_t)config_int("DOJO_AUTH_ARGON2_MEM_KIB", 19456, 8192, 1048576) * 1024;
    const char *pw = "correct horse battery staple";
    char hash[crypto_pwhash_STRBYTES];
    enum { N = 15 };
    double h[N], v[N];
    for (int i = 0; i < N; i++) {
        double t0 = now_s();
        if (crypto_pwhash_str(hash, pw, strlen(pw), ops, mem) != 0)
            abort();
        h[i] = (now_s() - t0) * 1e3;
        t0 = now_s();
        if (crypto_pwhash_str_verify(hash, pw, strlen(pw)) != 0)
            abort();
        v[i] = (now_s() - t0) * 1e3;
    }
    qsort(h, N, sizeof *h, cmp_double);
    qsort(v, N, sizeof *v, cmp_double);
    printf("argon2id (ops=%llu, mem=%zu KiB, 1 lane), median of %d:\n", ops, mem / 1024, N);
    printf("  hash (sign-up, reset)   %6.1f ms\n", h[N / 2]);
    printf("  verify (each login)     %6.1f ms  -> at most ~%.0f logins/s per core\n", v[N / 2],
           1000.0 / v[N / 2]);
}

static void *serve(void *server)
{
    rpc_server_run(server);
    return NULL;
}

int main(int argc, char **argv)
{
    rpc_init();
    setenv("DOJO_LOG_LEVEL", "warn", 0);
    log_init("rpc_bench");
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    if (seconds <= 0)
        seconds = 3.0;

    rpc_server_t *server = NULL;
    cleanup_err err_t *err = NULL;
    if (rpc_server_new(&server, "bench", "127.0.0.1:0", &err) < 0 ||
        rpc_server_start(server, &err) < 0) {
        fprintf(stderr, "server: %s\n", err->msg);
        return 1;
    }
    pthread_t runner;
    pthread_create(&runner, NULL, serve, server);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", rpc_server_port(server));

    printf("unary RPC through libcommon (grpc.health.v1.Health/Check, loopback, %.0f s each):\n",
           seconds);
    run(target, 1, 1.0, false); /* warm-up: connections, allocator, caches */
    int counts[] = {1, 2, 4};
    for (int i = 0; i < 3; i++)
        run(target, counts[i], seconds, true);
    rpc_server_stop(server);
    pthread_join(runner, NULL);
    rpc_server_free(server);

    bench_argon();
    return 0;
}
