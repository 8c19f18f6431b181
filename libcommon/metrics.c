/* metrics.c — a process-wide metrics registry and the tiny HTTP server that
 * exposes it in the Prometheus text format (version 0.0.4). */
#define _GNU_SOURCE
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "log.h"
#include "mem.h"

/* ---------------------------------------------------------------------------
 * Registry
 *
 * A few hundred series at most, so families and series are plain lists
 * searched linearly under one mutex; rendering happens under the same mutex
 * so a scrape sees a consistent snapshot. */

#define RPC_BUCKETS 17

static const double bucket_bounds[RPC_BUCKETS] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10,
};
/* Written as text so the `le` labels read like the bounds above, not 5e-05. */
static const char *const bucket_labels[RPC_BUCKETS] = {
    "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",    "0.1",    "0.25",    "0.5",    "1",     "2.5",    "5",     "10",
};

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

typedef struct series {
    char *labels; /* without braces; "" for none */
    double value;
    uint64_t buckets[RPC_BUCKETS]; /* histograms: not cumulative */
    uint64_t count;
    double sum;
    struct series *next;
} series_t;

typedef struct family {
    char *name;
    kind_t kind;
    const char *help; /* static text or NULL */
    series_t *series;
    series_t **tail;
    struct family *next;
} family_t;

typedef struct scrape_hook {
    void (*fn)(void *payload);
    void *payload;
    struct scrape_hook *next;
} scrape_hook_t;

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static family_t *families;
static family_t **families_tail = &families;
static scrape_hook_t *hooks;

static const char *kind_name(kind_t k)
{
    return k == KIND_COUNTER ? "counter" : k == KIND_GAUGE ? "gauge" : "histogram";
}

/* Called with registry_mu held. NULL when `name` exists with another kind. */
static family_t *family_get(const char *name, kind_t kind, const char *help)
{
    for (family_t *f = families; f; f = f->next) {
        if (!strcmp(f->name, name)) {
            if (f->kind != kind) {
                /* Registering one name twice is a programming error; the
                 * first kind wins and the metric keeps its meaning. */
                LOG_WARN("metric kind conflict", "metric=%s kind=%s wanted=%s", name,
                         kind_name(f->kind), kind_name(kind));
                return NULL;
            }
            return f;
        }
    }
    family_t *f = xcalloc(1, sizeof *f);
    f->name = xstrdup(name);
    f->kind = kind;
    f->help = help;
    f->tail = &f->series;
    *families_tail = f;
    families_tail = &f->next;
    return f;
}

static series_t *series_get(family_t *f, const char *labels)
{
    for (series_t *s = f->series; s; s = s->next)
        if (!strcmp(s->labels, labels))
            return s;
    series_t *s = xcalloc(1, sizeof *s);
    s->labels = xstrdup(labels);
    *f->tail = s;
    f->tail = &s->next;
    return s;
}

/* Label values from the RPC layer come from method paths; escape anyway so
 * one odd name can not break the whole exposition. */
static void label_escape(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    for (; *src && o + 2 < cap; src++) {
        if (*src == '\\' || *src == '"') {
            dst[o++] = '\\';
            dst[o++] = *src;
        } else if (*src == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else {
            dst[o++] = *src;
        }
    }
    dst[o] = '\0';
}

void metrics_counter_add(const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&registry_mu);
    family_t *f = family_get(name, KIND_COUNTER, NULL);
    if (f != NULL)
        series_get(f, labels ? labels : "")->value += value;
    pthread_mutex_unlock(&registry_mu);
}

void metrics_gauge_set(const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&registry_mu);
    family_t *f = family_get(name, KIND_GAUGE, NULL);
    if (f != NULL)
        series_get(f, labels ? labels : "")->value = value;
    pthread_mutex_unlock(&registry_mu);
}

void metrics_rpc_observe(const char *method, const char *code_name, double seconds)
{
    char m[256], c[64], labels[400];
    label_escape(m, sizeof m, method);
    label_escape(c, sizeof c, code_name);

    pthread_mutex_lock(&registry_mu);
    family_t *calls = family_get("dojo_rpc_calls_total", KIND_COUNTER,
                                 "Finished RPCs by method and status code.");
    if (calls != NULL) {
        snprintf(labels, sizeof labels, "method=\"%s\",code=\"%s\"", m, c);
        series_get(calls, labels)->value += 1;
    }
    family_t *dur = family_get("dojo_rpc_duration_seconds", KIND_HISTOGRAM,
                               "Time from receiving an RPC to sending its status.");
    if (dur != NULL) {
        snprintf(labels, sizeof labels, "method=\"%s\"", m);
        series_t *s = series_get(dur, labels);
        for (int i = 0; i < RPC_BUCKETS; i++) {
            if (seconds <= bucket_bounds[i]) {
                s->buckets[i]++;
                break;
            }
        }
        s->count++;
        s->sum += seconds;
    }
    pthread_mutex_unlock(&registry_mu);
}

void metrics_on_scrape(void (*fn)(void *payload), void *payload)
{
    scrape_hook_t *h = xcalloc(1, sizeof *h);
    h->fn = fn;
    h->payload = payload;
    pthread_mutex_lock(&registry_mu);
    h->next = hooks;
    hooks = h;
    pthread_mutex_unlock(&registry_mu);
}

/* ---------------------------------------------------------------------------
 * Rendering */

static void write_value(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", f);
    /* Integers (counters, counts) print without an exponent or decimals. */
    else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v)
        fprintf(f, "%lld", (long long)v);
    else
        fprintf(f, "%.17g", v);
}

static void write_sample(FILE *f, const char *name, const char *suffix, const char *labels,
                         const char *extra, double v)
{
    fprintf(f, "%s%s", name, suffix);
    bool has = labels && labels[0];
    if (has || extra) {
        fprintf(f, "{%s%s%s}", has ? labels : "", has && extra ? "," : "", extra ? extra : "");
    }
    fputc(' ', f);
    write_value(f, v);
    fputc('\n', f);
}

/* Process start time from /proc (clock ticks after boot + boot time), so it
 * is right even when metrics start long after the process. */
static double process_start_time(void)
{
    double fallback = (double)time(NULL);
    FILE *stat = fopen("/proc/self/stat", "re");
    if (stat == NULL)
        return fallback;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, stat);
    fclose(stat);
    buf[n] = '\0';
    /* The command name may contain spaces; fields resume after its ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return fallback;
    unsigned long long start_ticks = 0;
    /* After ')': state is field 3; starttime is field 22. */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                      "%*d %llu",
               &start_ticks) != 1)
        return fallback;
    FILE *ps = fopen("/proc/stat", "re");
    if (ps == NULL)
        return fallback;
    char line[256];
    unsigned long long btime = 0;
    while (fgets(line, sizeof line, ps))
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    fclose(ps);
    long hz = sysconf(_SC_CLK_TCK);
    if (btime == 0 || hz <= 0)
        return fallback;
    return (double)btime + (double)start_ticks / (double)hz;
}

static double start_time_s;

/* Returns a new buffer (free it) with the whole exposition. */
static char *render(size_t *len)
{
    /* Hooks set gauges, which takes the lock: run them first, unlocked. */
    pthread_mutex_lock(&registry_mu);
    scrape_hook_t *h = hooks;
    pthread_mutex_unlock(&registry_mu);
    for (; h; h = h->next) /* hooks are only prepended, so this list is stable */
        h->fn(h->payload);

    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (f == NULL)
        abort();

    fputs("# HELP dojo_process_start_time_seconds Start time of the process since the Unix "
          "epoch in seconds.\n"
          "# TYPE dojo_process_start_time_seconds gauge\n",
          f);
    write_sample(f, "dojo_process_start_time_seconds", "", "", NULL, start_time_s);
    char version[128], labels[160];
    label_escape(version, sizeof version, config_str("DOJO_VERSION", "dev"));
    snprintf(labels, sizeof labels, "version=\"%s\"", version);
    fputs("# HELP dojo_build_info Build of the running binary (DOJO_VERSION); always 1.\n"
          "# TYPE dojo_build_info gauge\n",
          f);
    write_sample(f, "dojo_build_info", "", labels, NULL, 1);

    pthread_mutex_lock(&registry_mu);
    for (family_t *fam = families; fam; fam = fam->next) {
        if (fam->help)
            fprintf(f, "# HELP %s %s\n", fam->name, fam->help);
        fprintf(f, "# TYPE %s %s\n", fam->name, kind_name(fam->kind));
        for (series_t *s = fam->series; s; s = s->next) {
            if (fam->kind != KIND_HISTOGRAM) {
                write_sample(f, fam->name, "", s->labels, NULL, s->value);
                continue;
            }
            uint64_t cumulative = 0;
            char le[32];
            for (int i = 0; i < RPC_BUCKETS; i++) {
                cumulative += s->buckets[i];
                snprintf(le, sizeof le, "le=\"%s\"", bucket_labels[i]);
                write_sample(f, fam->name, "_bucket", s->labels, le, (double)cumulative);
            }
            write_sample(f, fam->name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count);
            write_sample(f, fam->name, "_sum", s->labels, NULL, s->sum);
            write_sample(f, fam->name, "_count", s->labels, NULL, (double)s->count);
        }
    }
    pthread_mutex_unlock(&registry_mu);
    fclose(f);
    return buf;
}

/* ---------------------------------------------------------------------------
 * HTTP
 *
 * One thread, one client at a time: Prometheus scrapes every few seconds and
 * probes hit /healthz; a client gets 5 s to send its request head. The
 * thread polls the listening socket and a self-pipe, so metrics_stop wakes it
 * at once, even in the middle of a slow client. */

#define CLIENT_TIMEOUT_MS 5000
#define MAX_REQUEST_HEAD 8192

static pthread_t server_thread;
static int listen_fd = -1;
static int stop_pipe[2] = {-1, -1};
static bool running;

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, CLIENT_TIMEOUT_MS) > 0)
                continue;
        }
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static void respond(int fd, int status, const char *reason, const char *type, const char *body,
                    size_t body_len, bool head_only)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, type, body_len);
    send_all(fd, head, (size_t)n);
    if (!head_only)
        send_all(fd, body, body_len);
}

/* Reads until the end of the request head. false when the client was too
 * slow, sent too much, or metrics_stop was called. */
static bool read_head(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= CLIENT_TIMEOUT_MS)
            return false;
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_pipe[0], .events = POLLIN}};
        int rc = poll(p, 2, (int)(CLIENT_TIMEOUT_MS - elapsed));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0 || p[1].revents)
            return false;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
            return true;
        if (len >= cap - 1)
            return false;
    }
}

static void serve_client(int fd)
{
    char req[MAX_REQUEST_HEAD];
    if (!read_head(fd, req, sizeof req))
        return;
    char method[16], target[512];
    if (sscanf(req, "%15s %511s", method, target) != 2) {
        respond(fd, 400, "Bad Request", "text/plain", "bad request\n", 12, false);
        return;
    }
    target[strcspn(target, "?")] = '\0';
    bool head_only = !strcmp(method, "HEAD");
    if (strcmp(method, "GET") != 0 && !head_only) {
        respond(fd, 405, "Method Not Allowed", "text/plain", "method not allowed\n", 19, false);
        return;
    }
    if (!strcmp(target, "/metrics")) {
        size_t len = 0;
        cleanup_free char *body = render(&len);
        respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len, head_only);
    } else if (!strcmp(target, "/healthz")) {
        respond(fd, 200, "OK", "text/plain", "ok\n", 3, head_only);
    } else {
        respond(fd, 404, "Not Found", "text/plain", "not found\n", 10, head_only);
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
                              {.fd = stop_pipe[0], .events = POLLIN}};
        int rc = poll(p, 2, -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 || p[1].revents)
            break;
        cleanup_close int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            /* Out of descriptors the client stays in the backlog, and the
             * listening socket stays readable: wait a little rather than
             * spin on it. (The client went away: try the next one.) */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                poll(&p[1], 1, 100);
            continue;
        }
        serve_client(fd);
    }
    return NULL;
}

static int listen_on(const char *addr, int *out_fd, err_t **err)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "metrics address \"%s\" is not host:port",
                       addr);
    cleanup_free char *host = xstrndup(addr, (size_t)(colon - addr));
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0)
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "metrics: resolve %s: %s", addr,
                       gai_strerror(gai));
    int saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        cleanup_close int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
            saved = errno;
            continue;
        }
        freeaddrinfo(res);
        *out_fd = fd;
        fd = -1;
        return 0;
    }
    freeaddrinfo(res);
    err_errno(err, saved, "metrics: listen on %s", addr);
    return err_recode(err, GRPC_STATUS_UNAVAILABLE, NULL); /* a taken port: the operator's to fix */
}

int metrics_start(const char *addr, err_t **err)
{
    if (running)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "metrics server already running");
    if (start_time_s == 0)
        start_time_s = process_start_time();
    if (listen_on(addr, &listen_fd, err) < 0)
        return -1;
    if (pipe2(stop_pipe, O_CLOEXEC) < 0) {
        int e = errno;
        close(listen_fd);
        listen_fd = -1;
        return err_errno(err, e, "metrics: pipe");
    }
    int rc = pthread_create(&server_thread, NULL, server_main, NULL);
    if (rc != 0) {
        close(listen_fd);
        close(stop_pipe[0]);
        close(stop_pipe[1]);
        listen_fd = stop_pipe[0] = stop_pipe[1] = -1;
        return err_errno(err, rc, "metrics: start thread");
    }
    running = true;
    LOG_INFO("metrics listening", "addr=%s", addr);
    return 0;
}

void metrics_stop(void)
{
    if (!running)
        return;
    char b = 1;
    while (write(stop_pipe[1], &b, 1) < 0 && errno == EINTR)
        ;
    pthread_join(server_thread, NULL);
    close(listen_fd);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    listen_fd = stop_pipe[0] = stop_pipe[1] = -1;
    running = false;
}
