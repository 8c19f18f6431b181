/* admit.c — admission: new connections against the descriptor budget.
 *
 * Every connection costs the gateway a descriptor, and a WebSocket costs it
 * GW_WS_EXTRA_FDS more. When the process runs out (EMFILE) nothing works:
 * accept fails in libmicrohttpd, in the metrics server and in gRPC, each of
 * them retrying at once, so /healthz and every request hang while the
 * process spins. So a connection is admitted only while the descriptors in
 * use stay a reserve below RLIMIT_NOFILE; a connection accepted past that
 * gets one 503 with Retry-After and is closed, which costs nothing it did not
 * already hold. libmicrohttpd's own connection limit sits half the reserve
 * higher, so even a flood of clients that never send a request cannot take
 * the last descriptors; the rest of the reserve is for the metrics server
 * (/healthz), Redis and gRPC reconnects and the files the web app serves.
 *
 * "In use" is the connections (counted exactly, from libmicrohttpd's
 * connection notifications), their WebSockets' extras, and everything else
 * the process holds, counted in /proc/self/fd at most once a second when a
 * connection arrives — never while the gateway is idle. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

#define ADMIT_RECOUNT_MS 1000

/* The socket context of a connection that was refused. */
static char shed_marker;

/* Descriptors open now, or -1. */
static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

/* Descriptors not accounted for by connections, counted anew when the last
 * count is older than ADMIT_RECOUNT_MS (one thread at a time does it). */
static long other_fds(gw_t *gw)
{
    gw_admit_t *a = &gw->admit;
    int64_t now = mono_ms();
    int64_t at = atomic_load(&a->counted_at_ms);
    if (now - at >= ADMIT_RECOUNT_MS && atomic_compare_exchange_strong(&a->counted_at_ms, &at, now)) {
        long conns = atomic_load(&a->conns);
        long ws = atomic_load(&a->websockets);
        long all = count_fds();
        if (all >= 0) {
            long other = all - conns - ws * GW_WS_EXTRA_FDS;
            atomic_store(&a->other_fds, other > 0 ? other : 0);
        }
    }
    return atomic_load(&a->other_fds);
}

int gw_admit_open(gw_t *gw, err_t **err)
{
    gw_admit_t *a = &gw->admit;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return err_errno(err, errno, "getrlimit RLIMIT_NOFILE");
    /* The soft limit is often far below the hard one (1024 by default):
     * take what the process may. */
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    long limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 24 ? 1 << 24 : (long)rl.rlim_cur;
    if (limit < 128)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "RLIMIT_NOFILE is %ld: the gateway needs at least 128 descriptors", limit);
    a->fd_limit = limit;
    a->reserve = 32 + limit / 32;
    atomic_store(&a->conns, 0);
    atomic_store(&a->websockets, 0);
    long now = count_fds();
    atomic_store(&a->other_fds, now > 0 ? now : 0);
    atomic_store(&a->counted_at_ms, mono_ms());
    return 0;
}

unsigned gw_admit_connection_limit(gw_t *gw)
{
    gw_admit_t *a = &gw->admit;
    long n = a->fd_limit - a->reserve / 2 - atomic_load(&a->other_fds);
    return n > 16 ? (unsigned)n : 16;
}

/* Whether one more connection still leaves the reserve free. */
static bool admit_one(gw_t *gw)
{
    gw_admit_t *a = &gw->admit;
    long in_use = atomic_load(&a->conns) + atomic_load(&a->websockets) * GW_WS_EXTRA_FDS +
                  other_fds(gw);
    return in_use + 1 <= a->fd_limit - a->reserve;
}

bool gw_admit_websocket(gw_t *gw)
{
    gw_admit_t *a = &gw->admit;
    long in_use = atomic_load(&a->conns) + atomic_load(&a->websockets) * GW_WS_EXTRA_FDS +
                  other_fds(gw);
    return in_use + GW_WS_EXTRA_FDS <= a->fd_limit - a->reserve;
}

void gw_admit_websocket_count(gw_t *gw, int delta)
{
    atomic_fetch_add(&gw->admit.websockets, delta);
}

void gw_admit_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe)
{
    gw_t *gw = cls;
    gw_admit_t *a = &gw->admit;
    long n;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        n = atomic_fetch_add(&a->conns, 1) + 1;
        if (!admit_one(gw)) {
            *socket_context = &shed_marker;
            atomic_fetch_add(&a->shed, 1);
        }
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        n = atomic_fetch_sub(&a->conns, 1) - 1;
    } else {
        return;
    }
    metrics_gauge_set("dojo_gateway_connections_open", "", (double)n);
}

bool gw_admit_refused(gw_req_t *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL && ci->socket_context == &shed_marker;
}

enum MHD_Result gw_admit_refuse(gw_req_t *r)
{
    static _Atomic int64_t last_log_ms;
    int64_t now = mono_ms();
    int64_t last = atomic_load(&last_log_ms);
    gw_admit_t *a = &r->gw->admit;
    if (now - last >= 10000 && atomic_compare_exchange_strong(&last_log_ms, &last, now))
        LOG_WARN("shedding connections", "connections=%ld websockets=%ld other_fds=%ld "
                 "fd_limit=%ld reserve=%ld shed_total=%ld",
                 (long)atomic_load(&a->conns), (long)atomic_load(&a->websockets),
                 (long)atomic_load(&a->other_fds), a->fd_limit, a->reserve,
                 (long)atomic_load(&a->shed));
    metrics_counter_add("dojo_gateway_connections_shed_total", "", 1);
    cleanup_err err_t *e = NULL;
    gw_err_http(&e, 503, "unavailable", NULL, "the gateway is at its connection limit, try again");
    gw_add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    return gw_respond(r, e);
}
