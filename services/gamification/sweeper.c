/* sweeper.c — no submission stays pending for ever.
 *
 * The gateway creates a submission's row (CreateSubmission) and then queues
 * its job (kvc_job_enqueue: the job and its enqueued-once marker in one Redis
 * script). Between the two it can fail — Redis away (the learner gets a 503),
 * the gateway killed — and the row would wait for a job nobody queued. An
 * executor that gives up on a job (dojo:jobs:dead) records an internal error,
 * which fails too when PostgreSQL is away for longer than its retries.
 *
 * Every DOJO_GAMIFICATION_SWEEP_INTERVAL this thread settles such rows:
 *
 *  - pending for DOJO_GAMIFICATION_ORPHAN_AFTER and never queued (no marker):
 *    a SUBMIT whose code is stored is queued now, as the gateway would have
 *    (the marker arbitrates a race with a late gateway: one of them queues;
 *    a retry with the same idempotency key finds it queued); a RUN — its
 *    stdin and options are not stored — is finished as an internal error,
 *    after its marker is taken so that no late gateway queues it;
 *  - dead-lettered and still pending: finished as an internal error;
 *  - pending for DOJO_GAMIFICATION_PENDING_MAX, whatever the reason: finished
 *    as an internal error (the last resort that bounds "pending").
 *
 * An internal error awards nothing (no points, no streak day, no
 * achievement), so finishing one takes only the row: the UPDATE touches an
 * unfinished row only, and a RecordResult racing it either wins (the UPDATE
 * then changes nothing) or finds the row finished and answers as a duplicate.
 * Ages are measured on the service's clock (DOJO_CLOCK_FILE), like
 * created_at. Several gamification processes may sweep at once: every step
 * is idempotent. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dojo/executor/v1/executor.pb-c.h"
#include "gamification.h"
#include "libcommon/arena.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

#define KIND_SUBMIT DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT
#define SWEEP_BATCH 100

struct gam_sweeper {
    gam_t *g;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    int64_t seq_cursor;  /* candidates after this seq; 0 = from the start */
    char dead_after[48]; /* dead letters after this entry id */
};

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_candidates = {
    .name = "game_sweep_candidates",
    .sql = "SELECT id::text, kind, " GAM_US("created_at") ", seq FROM game.submissions "
           "WHERE NOT finished AND created_at <= " GAM_TS(1) " AND seq > $2::bigint "
           "ORDER BY seq LIMIT $3::int",
    .nparams = 3,
};

static const pg_stmt_t stmt_job_of = {
    .name = "game_sweep_job_of",
    .sql = "SELECT user_id::text, task_slug, task_version, language, code, "
           "COALESCE(contest, '') FROM game.submissions WHERE id = $1::uuid AND NOT finished",
    .nparams = 1,
};

static const pg_stmt_t stmt_pending_of = {
    .name = "game_sweep_pending_of",
    .sql = "SELECT id::text FROM game.submissions WHERE id = ANY($1::uuid[]) AND NOT finished",
    .nparams = 1,
};

static const pg_stmt_t stmt_fail = {
    .name = "game_sweep_fail",
    .sql = "UPDATE game.submissions SET finished = true, verdict = $2::smallint, score = 0, "
           "max_score = 0, result_pb = decode($3, 'hex'), awards_pb = NULL, points_awarded = 0, "
           "finished_at = " GAM_TS(4) ", executor_id = '' WHERE id = $1::uuid AND NOT finished",
    .nparams = 4,
};

/* ------------------------------------------------------------------------
 * Settling one submission
 * ------------------------------------------------------------------------ */

/* Finishes a pending submission as an internal error (nothing when it
 * finished meanwhile). */
/* The result event of a submission this sweeper finished, on its event
 * stream after whatever it holds (seq continues from the last event), so a
 * learner watching it gets the verdict and "done" as from an executor. Best
 * effort: the row is what counts, and a subscriber to a finished submission
 * whose stream has expired gets the stored row. */
static void publish_result(gam_t *g, const char *id, int64_t now)
{
    kvc_key_t key;
    const char *stream = kvc_key_events(&key, id);
    cleanup_err err_t *err = NULL;
    cleanup_redis_reply redisReply *last = NULL;
    if (kv_command(g->kv, &last, &err, "XREVRANGE %s + - COUNT 1", stream) < 0) {
        LOG_WARN("result event not written", "submission=%s error=\"%s\"", id,
                 log_esc(err->msg));
        return;
    }
    int64_t seq = 0;
    int32_t attempt = 0;
    kvc_entry_t le;
    if (kvc_entry_at(last, 0, KVC_FIELD_EVENT, &le) && le.value) {
        Dojo__Executor__V1__Event *prev =
            dojo__executor__v1__event__unpack(NULL, le.len, (const uint8_t *)le.value);
        if (prev) {
            seq = prev->seq;
            attempt = prev->attempt;
            dojo__executor__v1__event__free_unpacked(prev, NULL);
        }
    }
    Dojo__Common__V1__Timestamp at = DOJO__COMMON__V1__TIMESTAMP__INIT;
    at.unix_micros = now;
    Dojo__Executor__V1__FinalResult fr = DOJO__EXECUTOR__V1__FINAL_RESULT__INIT;
    fr.verdict = DOJO__COMMON__V1__VERDICT__VERDICT_IE;
    fr.message = "Internal error: the judge could not finish this submission; nothing was "
                 "counted, submit it again";
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.submission_id = (char *)id;
    ev.seq = seq + 1;
    ev.attempt = attempt;
    ev.emitted_at = &at;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
    ev.result = &fr;
    size_t len = protobuf_c_message_get_packed_size(&ev.base);
    cleanup_free uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(&ev.base, buf);
    if (kvc_append(g->kv, stream, KVC_FIELD_EVENT, buf, len, g->cfg.event_ttl_s, &err) < 0)
        LOG_WARN("result event not written", "submission=%s error=\"%s\"", id,
                 log_esc(err->msg));
}

static int fail_one(gam_t *g, pg_conn_t *conn, const char *id, const char *why, err_t **err)
{
    int64_t now = gam_now_us(g);
    Dojo__Common__V1__Timestamp at = DOJO__COMMON__V1__TIMESTAMP__INIT;
    at.unix_micros = now;
    Dojo__Gamification__V1__RecordResultRequest res =
        DOJO__GAMIFICATION__V1__RECORD_RESULT_REQUEST__INIT;
    res.submission_id = (char *)id;
    res.verdict = DOJO__COMMON__V1__VERDICT__VERDICT_IE;
    res.finished_at = &at;
    cleanup_free char *hex = gam_pack_hex(&res.base);
    char verdict[8], now_s[24];
    snprintf(verdict, sizeof verdict, "%d", (int)DOJO__COMMON__V1__VERDICT__VERDICT_IE);
    snprintf(now_s, sizeof now_s, "%" PRId64, now);
    const char *p[] = {id, verdict, hex, now_s};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_fail, p, &r, err) < 0)
        return err_wrap(err, "finish %s", id);
    if (atoi(PQcmdTuples(r)) == 1) {
        LOG_WARN("pending submission finished as internal error", "submission=%s reason=\"%s\"",
                 id, why);
        metrics_counter_add("dojo_gamification_swept_total", "action=\"failed\"", 1);
        publish_result(g, id, now);
    }
    return 0;
}

static void request_id(char out[33])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, 33, b, sizeof b);
}

/* Whether a submission to contest `slug` ("" for none) stops at its first
 * failure (gam_contest_stops_early). When the contest cannot be read every
 * test runs: the verdict is the same, the judging only longer. */
static bool contest_stops_early(gam_t *g, const char *slug)
{
    if (slug[0] == '\0')
        return false;
    arena_t ar = {0};
    ProtobufCAllocator a;
    arena_pb_allocator(&ar, &a);
    Dojo__Content__V1__Contest *c = NULL;
    err_t *err = NULL;
    bool stops = gam_contest_def(g, slug, &a, &c, &err) == 0 && gam_contest_stops_early(c);
    err_free(err);
    arena_release(&ar);
    return stops;
}

/* Queues a SUBMIT that was never queued, from its row. *done false when the
 * row cannot be queued (no code stored). */
static int requeue(gam_t *g, pg_conn_t *conn, const char *id, bool *done, err_t **err)
{
    *done = false;
    const char *p[] = {id};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_job_of, p, &r, err) < 0)
        return err_wrap(err, "read %s", id);
    if (PQntuples(r) == 0) {
        *done = true; /* finished meanwhile */
        return 0;
    }
    if (pg_get(r, 0, 4)[0] == '\0')
        return 0;
    char rid[33];
    request_id(rid);
    Dojo__Common__V1__Timestamp at = DOJO__COMMON__V1__TIMESTAMP__INIT;
    at.unix_micros = wall_us();
    Dojo__Executor__V1__Job job = DOJO__EXECUTOR__V1__JOB__INIT;
    job.submission_id = (char *)id;
    job.kind = KIND_SUBMIT;
    job.user_id = (char *)pg_get(r, 0, 0);
    job.task_slug = (char *)pg_get(r, 0, 1);
    job.task_version = (int32_t)pg_get_int64(r, 0, 2);
    job.language = (char *)pg_get(r, 0, 3);
    job.code = (char *)pg_get(r, 0, 4);
    job.enqueued_at = &at;
    job.attempt = 1;
    job.request_id = rid;
    job.stop_at_first_failure = contest_stops_early(g, pg_get(r, 0, 5));
    Dojo__Executor__V1__Queued q = DOJO__EXECUTOR__V1__QUEUED__INIT;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.submission_id = (char *)id;
    ev.seq = 1;
    ev.emitted_at = &at;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_QUEUED;
    ev.queued = &q;
    size_t jlen = protobuf_c_message_get_packed_size(&job.base);
    size_t elen = protobuf_c_message_get_packed_size(&ev.base);
    cleanup_free uint8_t *jbuf = xmalloc(jlen + 1), *ebuf = xmalloc(elen + 1);
    protobuf_c_message_pack(&job.base, jbuf);
    protobuf_c_message_pack(&ev.base, ebuf);
    bool queued = false;
    if (kvc_job_enqueue(g->kv, id, ebuf, elen, jbuf, jlen, g->cfg.event_ttl_s, &queued, err) < 0)
        return err_wrap(err, "queue %s", id);
    if (queued) {
        LOG_WARN("pending submission was never queued; queued it", "submission=%s user=%s task=%s",
                 id, job.user_id, job.task_slug);
        metrics_counter_add("dojo_gamification_swept_total", "action=\"queued\"", 1);
    }
    *done = true;
    return 0;
}

/* A submission never queued that cannot be queued from its row: take its
 * marker (so that no late gateway queues it), then finish it. */
static int forgo(gam_t *g, pg_conn_t *conn, const char *id, const char *why, err_t **err)
{
    bool won = false;
    if (kvc_job_forgo(g->kv, id, &won, err) < 0)
        return -1;
    return won ? fail_one(g, conn, id, why, err) : 0;
}

/* ------------------------------------------------------------------------
 * One sweep
 * ------------------------------------------------------------------------ */

/* Pending rows old enough to be orphans, a batch at a time by seq. */
static int sweep_pending(gam_sweeper_t *s, pg_conn_t *conn, err_t **err)
{
    gam_t *g = s->g;
    int64_t now = gam_now_us(g);
    char before[24], after[24], limit[8];
    snprintf(before, sizeof before, "%" PRId64, now - g->cfg.orphan_after_ms * 1000);
    snprintf(after, sizeof after, "%" PRId64, s->seq_cursor);
    snprintf(limit, sizeof limit, "%d", SWEEP_BATCH);
    const char *p[] = {before, after, limit};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_candidates, p, &r, err) < 0)
        return err_wrap(err, "pending submissions");
    int n = PQntuples(r);
    const char *ids[SWEEP_BATCH];
    bool marked[SWEEP_BATCH];
    for (int i = 0; i < n; i++)
        ids[i] = pg_get(r, i, 0);
    if (n > 0 && kvc_jobs_enqueued(g->kv, ids, (size_t)n, marked, err) < 0)
        return -1;
    int64_t too_old = now - g->cfg.pending_max_ms * 1000;
    for (int i = 0; i < n; i++) {
        bool submit = pg_get_int64(r, i, 1) == KIND_SUBMIT;
        int64_t created = pg_get_int64(r, i, 2);
        int rc = 0;
        if (created <= too_old) {
            rc = fail_one(g, conn, ids[i], "pending for longer than DOJO_GAMIFICATION_PENDING_MAX",
                          err);
        } else if (!marked[i] && !submit) {
            rc = forgo(g, conn, ids[i], "a run whose job was never queued", err);
        } else if (!marked[i]) {
            bool done = false;
            rc = requeue(g, conn, ids[i], &done, err);
            if (rc == 0 && !done)
                rc = forgo(g, conn, ids[i], "never queued, and its code was not stored", err);
        }
        if (rc < 0)
            return -1; /* the cursor stays: the next sweep starts here again */
        s->seq_cursor = pg_get_int64(r, i, 3);
    }
    if (n < SWEEP_BATCH)
        s->seq_cursor = 0;
    return 0;
}

/* Dead letters since the last sweep whose submissions are still pending. */
static int sweep_dead(gam_sweeper_t *s, pg_conn_t *conn, err_t **err)
{
    gam_t *g = s->g;
    char start[52];
    snprintf(start, sizeof start, "(%s", s->dead_after);
    cleanup_redis_reply redisReply *rep = NULL;
    if (kv_command(g->kv, &rep, err, "XRANGE %s %s + COUNT %d", KVC_JOBS_DEAD, start,
                   SWEEP_BATCH) < 0)
        return err_wrap(err, "dead letters");
    size_t n = kvc_entries_count(rep);
    if (n == 0)
        return 0;
    /* '{id,id,…}': a uuid[] parameter of ids that are UUIDs (checked). */
    char list[SWEEP_BATCH * 37 + 3];
    size_t len = 0, ids = 0;
    list[len++] = '{';
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        kvc_entry_t e;
        if (!kvc_entry_at(rep, i, KVC_FIELD_JOB, &e))
            continue;
        last = e.id;
        if (e.value == NULL)
            continue;
        Dojo__Executor__V1__Job *job =
            dojo__executor__v1__job__unpack(NULL, e.len, (const uint8_t *)e.value);
        if (job && gam_is_uuid(job->submission_id)) {
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", ids ? "," : "",
                                    job->submission_id);
            ids++;
        }
        if (job)
            dojo__executor__v1__job__free_unpacked(job, NULL);
    }
    list[len++] = '}';
    list[len] = '\0';
    if (ids > 0) {
        const char *p[] = {list};
        cleanup_pgresult PGresult *r = NULL;
        if (pg_exec(conn, &stmt_pending_of, p, &r, err) < 0)
            return err_wrap(err, "dead letters' submissions");
        for (int i = 0; i < PQntuples(r); i++)
            if (fail_one(g, conn, pg_get(r, i, 0), "its job was dead-lettered", err) < 0)
                return -1;
    }
    if (last)
        snprintf(s->dead_after, sizeof s->dead_after, "%s", last);
    return 0;
}

static void sweep(gam_sweeper_t *s)
{
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (gam_conn(s->g, &conn, &err) < 0 || sweep_pending(s, conn, &err) < 0 ||
        sweep_dead(s, conn, &err) < 0) {
        LOG_WARN("sweep failed; trying again at the next one", "error=\"%s\"", log_esc(err->msg));
        metrics_counter_add("dojo_gamification_sweep_failures_total", "", 1);
    }
}

/* ------------------------------------------------------------------------
 * The thread
 * ------------------------------------------------------------------------ */

static void *sweeper_main(void *arg)
{
    gam_sweeper_t *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        sweep(s);
        pthread_mutex_lock(&s->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + (s->g->cfg.sweep_interval_ms % 1000) * 1000000;
        until.tv_sec += s->g->cfg.sweep_interval_ms / 1000 + ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int gam_sweeper_start(gam_t *g, gam_sweeper_t **out, err_t **err)
{
    *out = NULL;
    if (g->cfg.sweep_interval_ms <= 0) {
        LOG_INFO("sweeper off", "reason=\"DOJO_GAMIFICATION_SWEEP_INTERVAL=0\"");
        return 0;
    }
    gam_sweeper_t *s = xcalloc(1, sizeof *s);
    s->g = g;
    /* Dead letters older than the pending bound are covered by it. */
    snprintf(s->dead_after, sizeof s->dead_after, "%" PRId64 "-0",
             wall_us() / 1000 - g->cfg.pending_max_ms);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&s->thread, NULL, sweeper_main, s);
    if (rc != 0) {
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return err_errno(err, rc, "start the sweeper");
    }
    LOG_INFO("sweeper started", "interval_ms=%" PRId64 " orphan_after_ms=%" PRId64
             " pending_max_ms=%" PRId64,
             g->cfg.sweep_interval_ms, g->cfg.orphan_after_ms, g->cfg.pending_max_ms);
    *out = s;
    return 0;
}

void gam_sweeper_stop(gam_sweeper_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
