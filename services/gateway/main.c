/* main.c — the gateway: configuration and wiring.
 *
 *   gateway [serve]     serve HTTP (API, WebSocket, web app) until SIGTERM
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"
#include "libcommon/service.h"

#define GW_DEFAULT_CSP                                                                             \
    "default-src 'self'; script-src 'self'; style-src 'self'; "                                    \
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "               \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

void gw_config_load(gw_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = service_setting(SERVICE_GATEWAY_ADDR);
    cfg->metrics_addr = service_setting(SERVICE_GATEWAY_METRICS_ADDR);
    cfg->auth_addr = service_setting(SERVICE_AUTH_ADDR);
    cfg->content_addr = service_setting(SERVICE_CONTENT_ADDR);
    cfg->gamification_addr = service_setting(SERVICE_GAMIFICATION_ADDR);
    cfg->executor_addr = service_setting(SERVICE_EXECUTOR_ADDR);
    cfg->redis_addr = service_setting(SERVICE_REDIS_ADDR);
    cfg->service_key = config_str("DOJO_SERVICE_KEY", "");
    cfg->web_dir = config_str("DOJO_GATEWAY_WEB_DIR", "web/dist");
    cfg->csp = config_str("DOJO_GATEWAY_CSP", GW_DEFAULT_CSP);
    cfg->secure_cookies = config_bool("DOJO_GATEWAY_SECURE_COOKIES", false);
    cfg->trust_proxy = config_bool("DOJO_GATEWAY_TRUST_PROXY", false);
    /* Behind a proxy you run, the client's address is in a header it sets;
     * DOJO_GATEWAY_TRUST_PROXY alone means X-Forwarded-For. */
    cfg->proxy_header = config_str("DOJO_GATEWAY_TRUSTED_PROXY_HEADER",
                                   cfg->trust_proxy ? "X-Forwarded-For" : "");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = (int)config_int("DOJO_GATEWAY_THREADS", ncpu > 2 ? ncpu : 2, 1, 256);
    /* Handlers mostly wait on upstream calls: many more workers than cores. */
    cfg->workers = (int)config_int("DOJO_GATEWAY_WORKERS", 16, 1, 512);
    cfg->signin_workers =
        (int)config_int("DOJO_GATEWAY_SIGNIN_WORKERS", cfg->workers > 8 ? cfg->workers / 4 : 2, 1,
                        cfg->workers);
    cfg->queue_max = config_int("DOJO_GATEWAY_QUEUE_MAX", 2048, 1, 1000000);
    cfg->queue_wait_ms = config_duration_ms("DOJO_GATEWAY_QUEUE_WAIT", "10s", 100, 600000);
    cfg->max_body = config_int("DOJO_GATEWAY_MAX_BODY", 256 * 1024, 1024, 64 << 20);
    cfg->max_author_body =
        config_int("DOJO_GATEWAY_MAX_AUTHOR_BODY", 8 << 20, 1024, 64 << 20);
    cfg->max_code = config_int("DOJO_GATEWAY_MAX_CODE", 64 * 1024, 1, 1 << 20);
    cfg->rate_limit = config_int("DOJO_GATEWAY_RATE_LIMIT", 20, 1, 1000000);
    cfg->rate_window_s =
        config_duration_ms("DOJO_GATEWAY_RATE_WINDOW", "60s", 1000, 86400000) / 1000;
    cfg->anon_rate_limit = config_int("DOJO_GATEWAY_ANON_RATE_LIMIT", 100, 1, 1000000);
    cfg->anon_rate_window_s =
        config_duration_ms("DOJO_GATEWAY_ANON_RATE_WINDOW", "60s", 1000, 86400000) / 1000;
    cfg->tasks_cache_ms = config_duration_ms("DOJO_GATEWAY_TASKS_CACHE_TTL", "2s", 0, 3600000);
    cfg->rpc_timeout_ms = config_duration_ms("DOJO_GATEWAY_RPC_TIMEOUT", "5s", 100, 60000);
    cfg->ws_max = config_int("DOJO_GATEWAY_WS_MAX", 16384, 1, 1000000);
    cfg->feed_keepalive_ms = config_int("DOJO_CLICS_FEED_KEEPALIVE_MS", 10000, 100, 120000);
    cfg->feed_poll_ms = config_int("DOJO_CLICS_FEED_POLL_MS", 1000, 50, 60000);
    cfg->feed_max_s = config_int("DOJO_CLICS_FEED_MAX_S", 6 * 3600, 1, 7 * 86400);
    cfg->feed_max_streams = config_int("DOJO_CLICS_FEED_MAX_STREAMS", 256, 1, 100000);
    cfg->event_ttl_s = config_duration_ms("DOJO_EVENT_TTL", "1h", 60000, 7 * 86400000LL) / 1000;
    /* The body limit must hold the largest code plus JSON quoting. */
    if (cfg->max_body < cfg->max_code * 2 + 4096)
        cfg->max_body = cfg->max_code * 2 + 4096;
}

static int gw_open(gw_t *gw, err_t **err)
{
    pthread_mutex_init(&gw->ws_lock, NULL);
    if (rpc_channel_open(&gw->auth, gw->cfg.auth_addr, err) < 0 ||
        rpc_channel_open(&gw->content, gw->cfg.content_addr, err) < 0 ||
        rpc_channel_open(&gw->game, gw->cfg.gamification_addr, err) < 0 ||
        rpc_channel_open(&gw->executor, gw->cfg.executor_addr, err) < 0)
        return err_wrap(err, "open channels");
    if (kv_pool_open(&gw->kv, gw->cfg.redis_addr, gw->cfg.workers + gw->cfg.threads + 4, 2000,
                     err) < 0)
        return err_wrap(err, "connect to Redis");
    if (identity_verifier_open(&gw->ids, gw->cfg.auth_addr, gw->cfg.service_key, err) < 0)
        return -1;
    if (gw_cache_open(&gw->cache, gw->cfg.tasks_cache_ms) < 0 ||
        gw_taskcache_open(&gw->taskcache, gw->cfg.tasks_cache_ms) < 0)
        return -1;
    if (gw_workers_open(gw, err) < 0)
        return err_wrap(err, "request workers");
    if (gw_feeds_open(gw, err) < 0)
        return -1;
    return gw_ws_open(gw, err);
}

static void gw_close(void *payload)
{
    gw_t *gw = payload;
    gw_ws_close(gw);
    gw_workers_close(gw);
    gw_feeds_close(gw);
    gw_taskcache_close(gw->taskcache);
    gw_cache_close(gw->cache);
    identity_verifier_close(gw->ids);
    kv_pool_close(gw->kv);
    rpc_channel_close(gw->executor);
    rpc_channel_close(gw->game);
    rpc_channel_close(gw->content);
    rpc_channel_close(gw->auth);
}

static int serve(gw_t *gw, err_t **err)
{
    if (metrics_start(gw->cfg.metrics_addr, err) < 0)
        return -1;
    if (gw_http_start(gw, err) < 0) {
        metrics_stop();
        return -1;
    }
    LOG_INFO("gateway serving", "addr=%s metrics=%s threads=%d workers=%d web_dir=\"%s\" auth=%s "
             "content=%s gamification=%s executor=%s",
             gw->cfg.addr, gw->cfg.metrics_addr, gw->cfg.threads, gw->cfg.workers,
             log_esc(gw->cfg.web_dir),
             gw->cfg.auth_addr, gw->cfg.content_addr, gw->cfg.gamification_addr,
             gw->cfg.executor_addr);
    /* rpc_init blocked SIGTERM and SIGINT in every thread: wait for them here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    LOG_INFO("gateway draining", "signal=%d", sig);
    /* Stops accepting, closes WebSockets (1001), finishes the requests in
     * flight. */
    atomic_store(&gw->stopping, true);
    MHD_quiesce_daemon(gw->daemon);
    gw_ws_shutdown(gw);
    gw_feeds_shutdown(gw);
    for (int i = 0; i < 50; i++) {
        pthread_mutex_lock(&gw->ws_lock);
        long left = gw->ws_count + gw->async_running + gw->downloads;
        pthread_mutex_unlock(&gw->ws_lock);
        if (left + gw_workers_pending(gw) == 0)
            break;
        usleep(100 * 1000);
    }
    gw_workers_stop(gw);
    gw_ws_close(gw);
    gw_http_stop(gw);
    metrics_stop();
    gw_workers_close(gw);
    LOG_INFO("gateway stopped", "%s", "");
    return 0;
}

/* The gateway serves HTTP, not gRPC: it waits for SIGTERM itself (serve). */
static int serve_command(void *payload, int argc, char **argv, err_t **err)
{
    gw_t *gw = payload;
    return gw_open(gw, err) < 0 ? -1 : serve(gw, err);
}

static const service_cmd_t gw_commands[] = {
    {.name = "serve", .run = serve_command},
    {0},
};

static void configure(void *payload, const char *argv0)
{
    gw_t *gw = payload;
    gw_config_load(&gw->cfg);
    if (gw->cfg.service_key[0] == '\0')
        LOG_WARN("DOJO_SERVICE_KEY is empty", "%s", "");
}

static gw_t gw_state;

static const service_def_t gw_service = {
    .name = "gateway",
    .usage = "usage: gateway [serve]\n",
    .commands = gw_commands,
    .payload = &gw_state,
    .configure = configure,
    .close = gw_close,
};

int main(int argc, char **argv) { return service_main(&gw_service, argc, argv); }
