/* limits.c — the gateway's rate limits and the client address they key on.
 *
 * Two budgets, both fixed windows in Redis through libcommon/kvc's one
 * limiter (kvc_limit_take; the keys are kvc.h's):
 *
 *   account    signed-in calls that start sandbox work (runs, submissions,
 *              reference runs), per account id: a class behind one NAT has
 *              one budget per learner, not one between them.
 *   anonymous  calls made before there is an account (register, login,
 *              forgot password), per client address, with a higher ceiling
 *              since many people may share one address.
 *
 * Handlers check their input before they take from a budget, and a request
 * refused anyway further down (a service's validation: 400, 404, 422) gives
 * its unit back when its response is queued (gw_limit_settle): only requests
 * that were let do their work spend. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gateway.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

/* ------------------------------------------------------------------------
 * The client address
 * ------------------------------------------------------------------------ */

/* The last entry of a comma-separated header: the one our own proxy added
 * (anything before it came from the client and proves nothing). Copies it
 * into out when it is an IP address. */
static bool header_address(const char *value, char *out, size_t cap)
{
    const char *last = strrchr(value, ',');
    last = last ? last + 1 : value;
    last += strspn(last, " \t");
    size_t n = strcspn(last, " \t");
    char buf[INET6_ADDRSTRLEN];
    if (n == 0 || n >= sizeof buf || n >= cap)
        return false;
    memcpy(buf, last, n);
    buf[n] = '\0';
    unsigned char bin[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, buf, bin) != 1 && inet_pton(AF_INET6, buf, bin) != 1)
        return false;
    memcpy(out, buf, n + 1);
    return true;
}

void gw_client_address(gw_req_t *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    strcpy(r->client_ip, "unknown");
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->client_ip,
                      sizeof r->client_ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->client_ip,
                      sizeof r->client_ip);
    }
    const char *name = r->gw->cfg.proxy_header;
    if (name == NULL || *name == '\0')
        return;
    /* A header that is missing or holds no address leaves the peer's: a
     * request that did not come through the proxy is judged by its socket. */
    const char *v = gw_header(r, name);
    if (v && *v && !header_address(v, r->client_ip, sizeof r->client_ip))
        LOG_DEBUG("proxy header ignored", "header=%s", name);
}

/* ------------------------------------------------------------------------
 * Budgets
 * ------------------------------------------------------------------------ */

int gw_limit_take(gw_req_t *r, gw_limit_kind_t kind, err_t **err)
{
    gw_t *gw = r->gw;
    kvc_key_t k;
    kvc_limit_t lim;
    if (kind == GW_LIMIT_ACCOUNT)
        lim = (kvc_limit_t){kvc_key_rate_user(&k, r->claims.sub), gw->cfg.rate_limit,
                            gw->cfg.rate_window_s};
    else
        lim = (kvc_limit_t){kvc_key_rate_ip(&k, r->client_ip), gw->cfg.anon_rate_limit,
                            gw->cfg.anon_rate_window_s};
    kvc_limit_state_t st;
    if (kvc_limit_take(gw->kv, &lim, 1, &st, err) < 0)
        return err_wrap(err, "rate limit");
    char buf[64];
    snprintf(buf, sizeof buf, "%lld", st.limit);
    gw_add_header(r, "RateLimit-Limit", buf);
    snprintf(buf, sizeof buf, "%lld", st.remaining);
    gw_add_header(r, "RateLimit-Remaining", buf);
    snprintf(buf, sizeof buf, "%lld", st.reset_s);
    gw_add_header(r, "RateLimit-Reset", buf);
    snprintf(buf, sizeof buf, "%lld;w=%" PRId64, st.limit, lim.window_s);
    gw_add_header(r, "RateLimit-Policy", buf);
    if (st.exceeded) {
        metrics_counter_add("dojo_gateway_rate_limited_total",
                            kind == GW_LIMIT_ACCOUNT ? "budget=\"account\"" : "budget=\"anonymous\"",
                            1);
        gw_err_http(err, 429, "resource_exhausted", NULL,
                    kind == GW_LIMIT_ACCOUNT
                        ? "too many runs and submissions; try again in %lld s"
                        : "too many requests from this address; try again in %lld s",
                    st.reset_s);
        (*err)->retry_after_s = (int)(st.reset_s > 0 ? st.reset_s : 1);
        return -1;
    }
    r->limit_key = arena_strdup(&r->arena, lim.key);
    return 0;
}

/* The statuses of a request refused for what it asked, before any work. */
static bool refused(int status)
{
    return status == 400 || status == 404 || status == 413 || status == 415 || status == 422;
}

void gw_limit_settle(gw_req_t *r, int status)
{
    if (r->limit_key == NULL || !refused(status))
        return;
    err_t *e = NULL;
    if (kvc_limit_give_back(r->gw->kv, r->limit_key, &e) < 0) {
        LOG_WARN("rate limit not given back", "error=\"%s\"", log_esc(e->msg));
        err_free(e);
    }
    r->limit_key = NULL;
}
