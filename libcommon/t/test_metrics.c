/* test_metrics — the registry rendered in the Prometheus text format, served
 * over HTTP on a loopback port. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "libcommon/metrics.h"
#include "testutil.h"

static int port;

/* Sends `request` raw and returns the whole response (new: free it). */
static char *http_raw(const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t n;
    while ((n = read(fd, buf + len, cap - 1 - len)) > 0) {
        len += (size_t)n;
        if (len == cap - 1) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

static char *http_get(const char *path)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n",
             path);
    return http_raw(req);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

static int start(void **state)
{
    char addr[32];
    port = free_port();
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    cleanup_err err_t *err = NULL;
    if (metrics_start(addr, &err) < 0)
        fail_msg("metrics_start: %s", err->msg);
    return 0;
}

static int stop(void **state)
{
    metrics_stop();
    return 0;
}

static void test_healthz_answers_ok(void **state)
{
    cleanup_free char *r = http_get("/healthz");
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_contains(r, "Connection: close\r\n");
    assert_contains(r, "\r\n\r\nok\n");
}

static void test_unknown_path_is_404(void **state)
{
    cleanup_free char *r = http_get("/nope");
    assert_true(strncmp(r, "HTTP/1.1 404 ", 13) == 0);
}

static void test_metrics_have_prometheus_content_type_and_process_metrics(void **state)
{
    cleanup_free char *r = http_get("/metrics?x=1");
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_contains(r, "Content-Type: text/plain; version=0.0.4");
    assert_contains(r, "# TYPE dojo_process_start_time_seconds gauge\n");
    assert_contains(r, "\ndojo_build_info{version=\"dev\"} 1\n");
    /* The start time is the process's, so within the last minute. */
    const char *p = strstr(r, "\ndojo_process_start_time_seconds ");
    assert_non_null(p);
    double t = strtod(p + strlen("\ndojo_process_start_time_seconds "), NULL);
    assert_true(t > (double)time(NULL) - 60 && t <= (double)time(NULL) + 1);
}

static void test_rpc_histogram_has_cumulative_buckets_sum_and_count(void **state)
{
    metrics_rpc_observe("/dojo.t.v1.T/A", "OK", 0.00004);  /* ≤ 0.00005 */
    metrics_rpc_observe("/dojo.t.v1.T/A", "OK", 0.003);    /* ≤ 0.005 */
    metrics_rpc_observe("/dojo.t.v1.T/A", "NOT_FOUND", 0.2); /* ≤ 0.25 */
    metrics_rpc_observe("/dojo.t.v1.T/A", "OK", 99);       /* only +Inf */
    cleanup_free char *r = http_get("/metrics");

    assert_contains(r, "# HELP dojo_rpc_duration_seconds ");
    assert_contains(r, "# TYPE dojo_rpc_duration_seconds histogram\n");
    assert_contains(r, "# TYPE dojo_rpc_calls_total counter\n");
    assert_contains(r, "\ndojo_rpc_calls_total{method=\"/dojo.t.v1.T/A\",code=\"OK\"} 3\n");
    assert_contains(r, "\ndojo_rpc_calls_total{method=\"/dojo.t.v1.T/A\",code=\"NOT_FOUND\"} 1\n");

    const char *m = "dojo_rpc_duration_seconds_bucket{method=\"/dojo.t.v1.T/A\",le=";
    static const struct {
        const char *le;
        int count;
    } want[] = {
        {"0.00005", 1}, {"0.0001", 1}, {"0.00025", 1}, {"0.0005", 1}, {"0.001", 1},
        {"0.0025", 1},  {"0.005", 2},  {"0.01", 2},    {"0.025", 2},  {"0.05", 2},
        {"0.1", 2},     {"0.25", 3},   {"0.5", 3},     {"1", 3},      {"2.5", 3},
        {"5", 3},       {"10", 3},     {"+Inf", 4},
    };
    const char *prev = r;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char line[256];
        snprintf(line, sizeof line, "\n%s\"%s\"} %d\n", m, want[i].le, want[i].count);
        const char *at = strstr(r, line);
        if (at == NULL)
            fail_msg("missing %s in:\n%s", line + 1, r);
        assert_true(at > prev); /* buckets in ascending order */
        prev = at;
    }
    assert_contains(r, "\ndojo_rpc_duration_seconds_sum{method=\"/dojo.t.v1.T/A\"} 99.2030");
    assert_contains(r, "\ndojo_rpc_duration_seconds_count{method=\"/dojo.t.v1.T/A\"} 4\n");
}

static void test_label_values_are_escaped(void **state)
{
    metrics_rpc_observe("/odd\"name\\", "OK", 0.001);
    cleanup_free char *r = http_get("/metrics");
    assert_contains(r, "dojo_rpc_calls_total{method=\"/odd\\\"name\\\\\",code=\"OK\"} 1\n");
}

static void test_counters_and_gauges_by_label_set(void **state)
{
    metrics_counter_add("dojo_t_jobs_total", "kind=\"submit\"", 2);
    metrics_counter_add("dojo_t_jobs_total", "kind=\"submit\"", 1.5);
    metrics_counter_add("dojo_t_jobs_total", "", 1);
    metrics_gauge_set("dojo_t_depth", "", 7);
    metrics_gauge_set("dojo_t_depth", "", 5);
    metrics_gauge_set("dojo_t_jobs_total", "", 100); /* kind conflict: ignored */
    cleanup_free char *r = http_get("/metrics");
    assert_contains(r, "# TYPE dojo_t_jobs_total counter\n");
    assert_contains(r, "\ndojo_t_jobs_total{kind=\"submit\"} 3.5\n");
    assert_contains(r, "\ndojo_t_jobs_total 1\n");
    assert_contains(r, "# TYPE dojo_t_depth gauge\n");
    assert_contains(r, "\ndojo_t_depth 5\n");
    assert_null(strstr(r, " 100\n"));
}

static void bump_on_scrape(void *payload)
{
    int *calls = payload;
    (*calls)++;
    metrics_gauge_set("dojo_t_scrapes", "", *calls);
}

static void test_scrape_callbacks_refresh_gauges(void **state)
{
    static int calls;
    metrics_on_scrape(bump_on_scrape, &calls);
    free(http_get("/metrics"));
    cleanup_free char *r = http_get("/metrics");
    assert_contains(r, "\ndojo_t_scrapes 2\n");
}

static void test_slow_client_does_not_block_stop(void **state)
{
    /* Connect and say nothing; stop must still return promptly. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    usleep(50 * 1000); /* let the server accept it and wait for the request */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    metrics_stop();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* A stop that waited for the silent client would take its whole 5 s read
     * timeout whatever the load; a prompt one stays far below it even on a
     * busy machine. */
    assert_true(s < 4.5);
    /* The port is closed after stop. */
    int fd2 = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_not_equal(connect(fd2, (struct sockaddr *)&a, sizeof a), 0);
    close(fd2);
}

static void test_busy_port_is_unavailable(void **state)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(a.sin_port));
    cleanup_err err_t *err = NULL;
    assert_int_equal(metrics_start(addr, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    close(fd);
}

int main(void)
{
    unsetenv("DOJO_VERSION");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_answers_ok),
        cmocka_unit_test(test_unknown_path_is_404),
        cmocka_unit_test(test_metrics_have_prometheus_content_type_and_process_metrics),
        cmocka_unit_test(test_rpc_histogram_has_cumulative_buckets_sum_and_count),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_counters_and_gauges_by_label_set),
        cmocka_unit_test(test_scrape_callbacks_refresh_gauges),
        cmocka_unit_test(test_slow_client_does_not_block_stop),
        cmocka_unit_test(test_busy_port_is_unavailable),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
