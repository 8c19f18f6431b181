/* main.c — the executor service: wiring, and the command line.
 *
 *   executor [serve]        take jobs from dojo:jobs and serve the admin gRPC service
 *   executor sweep          remove containers and bundles left by an earlier process
 *   executor sandbox-run --runtime crun|runsc --language ID --code FILE
 *                        [--input FILE]... [--cpu-ms N] [--wall-ms N] [--memory-kib N]
 *                        [--output-kib N] [--slot N]
 *                           run code in the sandbox, one JSON line per event
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
#include "libcommon/metrics.h"

static int exec_open(exec_t *ex, err_t **err)
{
    pthread_mutex_init(&ex->lock, NULL);
    ex->started_us = wall_us();
    exec_sandbox_config(&ex->cfg, &ex->sandbox);
    if (mkdir(ex->cfg.workdir, 0700) < 0 && errno != EEXIST)
        return err_errno(err, errno, "create %s", ex->cfg.workdir);
    if (exec_langs_load(ex, err) < 0)
        return -1;
    ex->slot_busy = calloc((size_t)(ex->cfg.concurrency + ex->cfg.sync_slots), sizeof(bool));
    if (!ex->slot_busy)
        abort();
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
    return exec_queue_init(ex, err);
}

static void exec_close(exec_t *ex)
{
    exec_bundles_close(ex->bundles);
    rpc_channel_close(ex->game);
    rpc_channel_close(ex->content);
    identity_verifier_close(ex->ids);
    kv_pool_close(ex->kv);
    free(ex->slot_busy);
}

static int serve(exec_t *ex, err_t **err)
{
    int swept = sandbox_sweep(&ex->sandbox);
    if (swept > 0)
        LOG_INFO("removed leftover containers", "count=%d", swept);
    rpc_server_t *server = NULL;
    if (metrics_start(ex->cfg.metrics_addr, err) < 0 ||
        rpc_server_new(&server, "executor", ex->cfg.addr, err) < 0 ||
        rpc_server_add_service(server, &dojo__executor__v1__executor__descriptor,
                               exec_admin_handlers, ex, err) < 0) {
        rpc_server_free(server);
        return -1;
    }
    ex->server = server;
    exec_queue_metrics(ex);
    if (exec_queue_start(ex, err) < 0 || rpc_server_start(server, err) < 0) {
        exec_queue_stop(ex);
        ex->server = NULL;
        rpc_server_free(server);
        return -1;
    }
    LOG_INFO("executor serving",
             "addr=%s port=%d metrics=%s id=%s runtime=%s slots=%d languages=%d reclaim_idle_ms=%lld "
             "heartbeat_ttl_ms=%lld job_retention_ms=%lld driver=\"%s\"",
             ex->cfg.addr, rpc_server_port(server), ex->cfg.metrics_addr, ex->cfg.executor_id,
             ex->cfg.runtime_name, ex->cfg.concurrency, ex->nlangs,
             (long long)ex->cfg.reclaim_idle_ms, (long long)ex->cfg.heartbeat_ttl_ms,
             (long long)ex->cfg.job_retention_ms, log_esc(ex->cfg.driver_path));
    rpc_server_run(server);
    /* SIGTERM: no new jobs (the workers see the drain); running ones finish. */
    LOG_INFO("waiting for running jobs", "running=%d", atomic_load(&ex->jobs_running));
    exec_queue_stop(ex);
    ex->server = NULL;
    rpc_server_free(server);
    metrics_stop();
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: executor [serve]\n"
            "       executor sweep\n"
            "       executor sandbox-run --runtime crun|runsc --language ID --code FILE\n"
            "                [--input FILE]... [--cpu-ms N] [--wall-ms N] [--memory-kib N]\n"
            "                [--output-kib N] [--slot N]\n");
}

int main(int argc, char **argv)
{
    rpc_init();
    log_init("executor");
    srandom((unsigned)(wall_us() ^ getpid()));
    const char *cmd = argc > 1 ? argv[1] : "serve";
    static exec_t ex;
    exec_config_load(&ex.cfg, argv[0]);
    cleanup_err err_t *err = NULL;
    int rc = 0;

    if (!strcmp(cmd, "serve") && argc <= 2) {
        rc = exec_open(&ex, &err) < 0 ? -1 : serve(&ex, &err);
        exec_close(&ex);
    } else if (!strcmp(cmd, "sweep") && argc == 2) {
        sandbox_config_t cfg;
        exec_sandbox_config(&ex.cfg, &cfg);
        int n = sandbox_sweep(&cfg);
        printf("removed %d leftover container%s\n", n, n == 1 ? "" : "s");
    } else if (!strcmp(cmd, "sandbox-run")) {
        rc = exec_cli_sandbox_run(&ex, argc, argv, &err);
    } else {
        usage();
        return 2;
    }
    if (rc < 0) {
        LOG_ERROR("executor failed", "command=%s error=\"%s\"", log_esc(cmd),
                  err ? log_esc(err->msg) : "?");
        fprintf(stderr, "executor %s: %s\n", cmd, err ? err->msg : "failed");
        return 1;
    }
    return 0;
}
