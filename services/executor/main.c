/* main.c — the executor service: wiring, and the command line.
 *
 *   executor [serve]        take jobs from dojo:jobs and serve the admin gRPC service
 *   executor sweep          remove containers and bundles left by an earlier process
 *   executor sandbox-run --runtime crun|runsc --language ID --code FILE
 *                        [--input FILE | --input-file FILE]... [--cpu-ms N] [--wall-ms N]
 *                        [--memory-kib N] [--output-kib N] [--slot N]
 *                           run code in the sandbox, one JSON line per event (an
 *                           --input-file is linked in, as test data blobs are)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/service.h"

static int exec_open(exec_t *ex, err_t **err)
{
    pthread_mutex_init(&ex->lock, NULL);
    ex->started_us = wall_us();
    exec_sandbox_config(&ex->cfg, &ex->sandbox);
    if (mkdir(ex->cfg.workdir, 0700) < 0 && errno != EEXIST)
        return err_errno(err, errno, "create %s", ex->cfg.workdir);
    if (exec_langs_load(ex, err) < 0)
        return -1;
    ex->slot_busy = xcalloc((size_t)(ex->cfg.concurrency + ex->cfg.sync_slots), sizeof(bool));
    /* Blocking reads (workers' XREADGROUP, control threads' XREAD) have
     * connections of their own (kvc readers), made from this pool's address. */
    if (kv_pool_open(&ex->kv, ex->cfg.redis_addr, ex->cfg.concurrency + ex->cfg.sync_slots + 4,
                     5000, err) < 0)
        return err_wrap(err, "connect to Redis");
    if (identity_verifier_open(&ex->ids, ex->cfg.auth_addr, ex->cfg.service_key, err) < 0)
        return -1;
    if (rpc_channel_open(&ex->content, ex->cfg.content_addr, err) < 0)
        return err_wrap(err, "channel to content");
    if (rpc_channel_open(&ex->game, ex->cfg.gamification_addr, err) < 0)
        return err_wrap(err, "channel to gamification");
    exec_bundles_open(&ex->bundles, ex->cfg.bundle_cache_size);
    if (exec_blobs_open(&ex->blobs, ex->cfg.blob_dir, ex->cfg.blob_cache_bytes, err) < 0)
        return -1;
    return exec_queue_init(ex, err);
}

static void exec_close(void *payload)
{
    exec_t *ex = payload;
    exec_bundles_close(ex->bundles);
    exec_blobs_close(ex->blobs);
    rpc_channel_close(ex->game);
    rpc_channel_close(ex->content);
    identity_verifier_close(ex->ids);
    kv_pool_close(ex->kv);
    free(ex->slot_busy);
}

/* The job workers start once the admin server exists (they report to it)
 * and before it accepts calls. */
static int start_queue(rpc_server_t *server, void *payload, err_t **err)
{
    exec_t *ex = payload;
    ex->server = server;
    exec_queue_metrics(ex);
    if (exec_pool_open(ex, err) < 0) {
        ex->server = NULL;
        return -1;
    }
    if (exec_queue_start(ex, err) < 0) {
        exec_queue_stop(ex);
        exec_pool_close(ex);
        ex->server = NULL;
        return -1;
    }
    return 0;
}

/* SIGTERM: no new jobs (the workers see the drain); running ones finish. */
static void stop_queue(void *payload)
{
    exec_t *ex = payload;
    LOG_INFO("waiting for running jobs", "running=%d", atomic_load(&ex->jobs_running));
    exec_queue_stop(ex);
    exec_pool_close(ex);
    ex->server = NULL;
}

static void describe(void *payload, char *out, size_t cap)
{
    exec_t *ex = payload;
    snprintf(out, cap,
             "id=%s runtime=%s slots=%d languages=%d pool=%s pool_size=%d reclaim_idle_ms=%lld "
             "heartbeat_ttl_ms=%lld job_retention_ms=%lld driver=\"%s\"",
             ex->cfg.executor_id, ex->cfg.runtime_name, ex->cfg.concurrency, ex->nlangs,
             ex->cfg.pool ? "on" : "off", ex->cfg.pool_size,
             (long long)ex->cfg.reclaim_idle_ms, (long long)ex->cfg.heartbeat_ttl_ms,
             (long long)ex->cfg.job_retention_ms, log_esc(ex->cfg.driver_path));
}

static int serve(void *payload, int argc, char **argv, err_t **err)
{
    exec_t *ex = payload;
    if (exec_open(ex, err) < 0)
        return -1;
    int swept = sandbox_sweep(&ex->sandbox);
    if (swept > 0)
        LOG_INFO("removed leftover containers", "count=%d", swept);
    return service_serve(&(service_server_t){.name = "executor",
                                             .addr = ex->cfg.addr,
                                             .metrics_addr = ex->cfg.metrics_addr,
                                             .service = &dojo__executor__v1__executor__descriptor,
                                             .handlers = exec_admin_handlers,
                                             .payload = ex,
                                             .start = start_queue,
                                             .stop = stop_queue,
                                             .describe = describe},
                         err);
}

static int sweep(void *payload, int argc, char **argv, err_t **err)
{
    exec_t *ex = payload;
    sandbox_config_t cfg;
    exec_sandbox_config(&ex->cfg, &cfg);
    int n = sandbox_sweep(&cfg);
    printf("removed %d leftover container%s\n", n, n == 1 ? "" : "s");
    return 0;
}

static int run_in_sandbox(void *payload, int argc, char **argv, err_t **err)
{
    return exec_cli_sandbox_run(payload, argc, argv, err);
}

static const service_cmd_t exec_commands[] = {
    {.name = "serve", .run = serve},
    {.name = "sweep", .run = sweep},
    {.name = "sandbox-run", .max_args = -1, .run = run_in_sandbox},
    {0},
};

static void configure(void *payload, const char *argv0)
{
    exec_t *ex = payload;
    srandom((unsigned)(wall_us() ^ getpid()));
    exec_config_load(&ex->cfg, argv0);
}

static exec_t exec_state;

static const service_def_t exec_service = {
    .name = "executor",
    .usage = "usage: executor [serve]\n"
             "       executor sweep\n"
             "       executor sandbox-run --runtime crun|runsc --language ID --code FILE\n"
             "                [--input FILE | --input-file FILE]... [--cpu-ms N] [--wall-ms N]\n"
             "                [--memory-kib N] [--output-kib N] [--slot N]\n",
    .commands = exec_commands,
    .payload = &exec_state,
    .configure = configure,
    .close = exec_close,
};

int main(int argc, char **argv)
{
    return service_main(&exec_service, argc, argv);
}
