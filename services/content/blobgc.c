/* blobgc.c — the collector of blobs nothing uses: every
 * DOJO_CONTENT_BLOB_GC_INTERVAL a thread deletes, in transactions of at most
 * DOJO_CONTENT_BLOB_GC_BATCH blobs, the complete blobs no stored task
 * version names (content.blob_refs) whose last use (used_at) is older than
 * DOJO_CONTENT_BLOB_GC_GRACE and of which no upload is in progress, with
 * their owners, their upload and its chunks. migrations/006_blob_gc.sql says
 * what keeps a blob.
 *
 * Each batch holds the writers' lock (content_lock_writers), which every
 * task write holds while it checks its blobs and stores its version: a
 * write either finds a blob gone (and says "upload it first") or has named
 * it before the batch looks. Replicas collect in turn (the same lock, and
 * FOR UPDATE SKIP LOCKED). Uploads left incomplete for a day go in the same
 * pass, as a new upload's start already drops them: an abandoned upload
 * would otherwise keep its blob for ever. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

/* Batches in one pass at most: a backlog drains over a few passes rather
 * than holding the writers off in one long run. */
#define GC_MAX_BATCHES 100

/* $1: the grace in seconds; $2: the batch. Every statement of the chain
 * sees the same rows; the foreign keys are checked at its end. */
static const pg_stmt_t stmt_collect = {
    .name = "content_blob_gc_collect",
    .sql = "WITH gone AS ("
           "  SELECT b.sha256, b.size, b.upload_id FROM content.blobs b "
           "  WHERE b.used_at < now() - make_interval(secs => $1::double precision) "
           "  AND NOT EXISTS (SELECT 1 FROM content.blob_refs r WHERE r.sha256 = b.sha256) "
           "  AND NOT EXISTS (SELECT 1 FROM content.blob_uploads u "
           "                  WHERE u.sha256 = b.sha256 AND NOT u.complete) "
           "  ORDER BY b.used_at LIMIT $2::int FOR UPDATE OF b SKIP LOCKED), "
           "owners AS (DELETE FROM content.blob_owners o USING gone WHERE o.sha256 = gone.sha256), "
           "blobs AS (DELETE FROM content.blobs b USING gone WHERE b.sha256 = gone.sha256 "
           "          RETURNING b.upload_id), "
           "uploads AS (DELETE FROM content.blob_uploads u USING blobs "
           "            WHERE u.id = blobs.upload_id) "
           "SELECT sha256, size FROM gone",
    .nparams = 2,
};

static const pg_stmt_t stmt_stale_uploads = {
    .name = "content_blob_gc_stale_uploads",
    .sql = "DELETE FROM content.blob_uploads "
           "WHERE NOT complete AND updated_at < now() - interval '24 hours'",
    .nparams = 0,
};

struct content_blob_gc {
    content_t *c;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

/* One batch in its own transaction: *n blobs of *bytes collected. */
static int collect_batch(pg_conn_t *conn, const content_config_t *cfg, int *n, int64_t *bytes,
                         err_t **err)
{
    char grace[32], batch[24];
    snprintf(grace, sizeof grace, "%.3f", (double)cfg->blob_gc_grace_ms / 1000.0);
    snprintf(batch, sizeof batch, "%lld", (long long)cfg->blob_gc_batch);
    const char *p[] = {grace, batch};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_begin(conn, err) < 0)
        return -1;
    if (content_lock_writers(conn, err) < 0 || pg_exec(conn, &stmt_collect, p, &r, err) < 0) {
        pg_rollback(conn);
        return -1;
    }
    if (pg_commit(conn, err) < 0)
        return -1;
    *n = PQntuples(r);
    *bytes = 0;
    for (int i = 0; i < *n; i++) {
        *bytes += pg_get_int64(r, i, 1);
        LOG_DEBUG("blob collected", "sha256=%.16s size=%lld", pg_get(r, i, 0),
                  (long long)pg_get_int64(r, i, 1));
    }
    return 0;
}

int content_blob_gc_run_once(content_t *c, int *collected, int64_t *bytes, err_t **err)
{
    *collected = 0;
    *bytes = 0;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (content_conn(c, &conn, err) < 0)
        return -1;
    if (pg_exec(conn, &stmt_stale_uploads, NULL, NULL, err) < 0)
        return err_wrap(err, "drop stale blob uploads");
    for (int b = 0; b < GC_MAX_BATCHES; b++) {
        int n = 0;
        int64_t got = 0;
        if (collect_batch(conn, &c->cfg, &n, &got, err) < 0)
            return err_wrap(err, "collect unused blobs");
        *collected += n;
        *bytes += got;
        metrics_counter_add("dojo_content_blob_gc_collected_total", NULL, n);
        metrics_counter_add("dojo_content_blob_gc_collected_bytes_total", NULL, (double)got);
        if (n < c->cfg.blob_gc_batch)
            break;
    }
    return 0;
}

static void *gc_main(void *arg)
{
    content_blob_gc_t *gc = arg;
    log_set_context("blob-gc", NULL, NULL);
    pthread_mutex_lock(&gc->mu);
    while (!gc->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ms = gc->c->cfg.blob_gc_interval_ms;
        int64_t ns = until.tv_nsec + ms % 1000 * 1000000;
        until.tv_sec += ms / 1000 + ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        while (!gc->stopping && pthread_cond_timedwait(&gc->cv, &gc->mu, &until) != ETIMEDOUT)
            ;
        if (gc->stopping)
            break;
        pthread_mutex_unlock(&gc->mu);
        int n = 0;
        int64_t bytes = 0;
        cleanup_err err_t *err = NULL;
        if (content_blob_gc_run_once(gc->c, &n, &bytes, &err) < 0) {
            metrics_counter_add("dojo_content_blob_gc_runs_total", "result=\"failed\"", 1);
            LOG_WARN("blob collection failed; trying again later", "error=\"%s\"",
                     log_esc(err->msg));
        } else {
            metrics_counter_add("dojo_content_blob_gc_runs_total", "result=\"ok\"", 1);
            if (n > 0)
                LOG_INFO("unused blobs collected", "blobs=%d bytes=%lld", n, (long long)bytes);
        }
        pthread_mutex_lock(&gc->mu);
    }
    pthread_mutex_unlock(&gc->mu);
    return NULL;
}

int content_blob_gc_start(content_t *c, content_blob_gc_t **out, err_t **err)
{
    *out = NULL;
    if (c->cfg.blob_gc_interval_ms <= 0) {
        LOG_INFO("blob collection off", "%s", "DOJO_CONTENT_BLOB_GC_INTERVAL=0");
        return 0;
    }
    content_blob_gc_t *gc = xcalloc(1, sizeof *gc);
    gc->c = c;
    pthread_mutex_init(&gc->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&gc->cv, &attr);
    pthread_condattr_destroy(&attr);
    int rc = pthread_create(&gc->thread, NULL, gc_main, gc);
    if (rc != 0) {
        pthread_cond_destroy(&gc->cv);
        pthread_mutex_destroy(&gc->mu);
        free(gc);
        return err_errno(err, rc, "start the blob collector");
    }
    *out = gc;
    return 0;
}

void content_blob_gc_stop(content_blob_gc_t *gc)
{
    if (gc == NULL)
        return;
    pthread_mutex_lock(&gc->mu);
    gc->stopping = true;
    pthread_cond_signal(&gc->cv);
    pthread_mutex_unlock(&gc->mu);
    pthread_join(gc->thread, NULL);
    pthread_cond_destroy(&gc->cv);
    pthread_mutex_destroy(&gc->mu);
    free(gc);
}
