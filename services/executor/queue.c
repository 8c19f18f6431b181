/* queue.c — the job streams and their consumer group "executors":
 * dojo:jobs:contest (counted contest submissions) ahead of dojo:jobs
 * (practice, runs, rejudges).
 *
 * N worker threads, each with a sandbox slot of its own, read both streams
 * at once (XREADGROUP ... COUNT 1 BLOCK 2000 STREAMS contest jobs > >) and
 * run the contest entry first; a practice entry that came with it waits
 * among the taken-over entries for the next free worker, which first looks
 * for a new contest entry: no practice entry starts while a contest entry
 * waits. An entry is acknowledged only once the result is recorded and the
 * final event written. Entries the reclaimer
 * (reclaim.c) took over from dead or stalled executors wait in a FIFO here
 * and go first. An entry delivered more than DOJO_EXECUTOR_MAX_ATTEMPTS times
 * goes to dojo:jobs:dead, its learner gets an internal-error verdict, and it
 * is acknowledged: a submission is never stuck "in queue".
 *
 * A learner's share (fair.c): an entry whose learner already has
 * DOJO_EXECUTOR_LEARNER_MAX_RUNNING jobs running (here or elsewhere), or
 * used up the window's DOJO_EXECUTOR_LEARNER_SANDBOX_SECONDS, waits
 * in the `waiting` list — still pending under this consumer, heartbeated
 * like a running entry — and the worker goes on to the next entry, so one
 * learner's backlog never holds the workers. Workers look at the waiting
 * list before reading new entries: at once after a place was given back
 * here, otherwise every EXEC_WAIT_RECHECK_MS (places freed by other
 * executors). The first waiting entry of each learner goes first, so a
 * learner's jobs keep their order on this executor. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

const char *const exec_streams[EXEC_NSTREAMS] = {KVC_JOBS_CONTEST, KVC_JOBS};

/* How often waiting entries are looked at when no place was given back here. */
#define EXEC_WAIT_RECHECK_MS 250
/* Learners whose first waiting entry one look considers. */
#define EXEC_WAIT_SCAN_MAX 64
/* Waiting entries beyond which workers read no new ones (memory stays
 * bounded; they run the waiting ones as places free). */
#define EXEC_WAIT_MAX 4096

/* An entry taken over by the reclaimer, waiting for a worker; or one
 * waiting for its learner's running place (user and submission set). */
typedef struct claimed {
    int stream;
    char id[64];
    char *payload;
    size_t len;
    int deliveries;
    char user[64];
    char submission[64];
    struct claimed *next;
} claimed_t;

typedef struct worker {
    exec_t *ex;
    int slot;
    kvc_reader_t *reader; /* XREADGROUP BLOCK */
    pthread_t thread;
    atomic_bool busy;
    exec_entry_t entry; /* being processed (heartbeat); id "" when none */
    pthread_mutex_t entry_lock;
} worker_t;

struct exec_queue {
    worker_t *workers;
    int nworkers;
    pthread_t reclaimer;
    bool reclaimer_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    claimed_t *claimed; /* FIFO */
    int nclaimed;
    claimed_t *waiting; /* FIFO: entries waiting for their learner's place */
    int nwaiting;
    atomic_bool wait_scan;     /* a worker is looking at the waiting list */
    atomic_llong wait_gen;     /* places given back here */
    atomic_llong wait_due_ms;  /* next look (mono_ms) unless wait_gen moved */
    atomic_llong wait_seen_gen; /* wait_gen at the last fruitless look */
};

bool exec_queue_stopping(exec_t *ex)
{
    return atomic_load(&ex->stopping) || (ex->server && rpc_server_draining(ex->server));
}

int exec_queue_init(exec_t *ex, err_t **err)
{
    for (int s = 0; s < EXEC_NSTREAMS; s++) {
        cleanup_redis_reply redisReply *r = NULL;
        if (kv_command(ex->kv, &r, err, "XGROUP CREATE %s %s $ MKSTREAM", exec_streams[s],
                       KVC_JOBS_GROUP) < 0) {
            if ((*err)->code != GRPC_STATUS_ALREADY_EXISTS)
                return err_wrap(err, "create consumer group on %s", exec_streams[s]);
            err_clear(err);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * One entry
 * ------------------------------------------------------------------------ */

int exec_queue_ack(exec_t *ex, int stream, const char *id, err_t **err)
{
    cleanup_redis_reply redisReply *r = NULL;
    if (kv_command(ex->kv, &r, err, "XACK %s %s %s", exec_streams[stream], KVC_JOBS_GROUP, id) < 0)
        return err_wrap(err, "ack %s", id);
    return 0;
}

static int dead_letter(exec_t *ex, const char *id, const char *payload, size_t len,
                       const char *reason, int deliveries, err_t **err)
{
    if (kvc_dead_letter(ex->kv, payload, len, reason, id, ex->cfg.executor_id, deliveries, err) <
        0)
        return -1;
    metrics_counter_add("dojo_executor_dead_letters_total", "", 1);
    return 0;
}

/* Gives up on an entry: dead letter, IE for the learner, ack. */
static void give_up(exec_t *ex, exec_job_t *j, int stream, const char *id, const char *payload,
                    size_t len, int deliveries, const char *reason, const char *public_msg)
{
    cleanup_err err_t *err = NULL;
    LOG_WARN("giving up on a job", "entry=%s submission=%s deliveries=%d reason=\"%s\"", id,
             j ? j->submission_id : "?", deliveries, log_esc(reason));
    if (dead_letter(ex, id, payload, len, reason, deliveries, &err) < 0) {
        LOG_ERROR("dead letter failed; leaving the entry pending", "entry=%s error=\"%s\"", id,
                  log_esc(err->msg));
        return;
    }
    if (j) {
        if (j->seq == 0) {
            err_t *e2 = NULL;
            if (exec_events_resume(j, &e2) < 0)
                err_free(e2);
        }
        exec_job_fail(j, public_msg);
    }
    if (exec_queue_ack(ex, stream, id, &err) < 0)
        LOG_ERROR("ack failed", "entry=%s error=\"%s\"", id, log_esc(err->msg));
}

/* Keeps an entry whose learner has no free place (copied) until one frees. */
static void wait_for_place(exec_queue_t *q, int stream, const char *id, const char *payload,
                           size_t len, int deliveries, const char *user, const char *submission)
{
    claimed_t *c = xcalloc(1, sizeof *c);
    c->payload = xmalloc(len + 1);
    memcpy(c->payload, payload ? payload : "", len);
    c->len = len;
    c->stream = stream;
    c->deliveries = deliveries;
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->user, sizeof c->user, "%s", user);
    snprintf(c->submission, sizeof c->submission, "%s", submission);
    pthread_mutex_lock(&q->lock);
    claimed_t **tail = &q->waiting;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    int n = ++q->nwaiting;
    pthread_mutex_unlock(&q->lock);
    metrics_counter_add("dojo_executor_jobs_waited_total", "", 1);
    LOG_INFO("job waits for its learner's turn", "entry=%s submission=%s waiting=%d", id,
             submission, n);
}

static void process_entry(worker_t *w, int stream, const char *id, const char *payload,
                          size_t len, int deliveries)
{
    exec_t *ex = w->ex;
    Dojo__Executor__V1__Job *job =
        dojo__executor__v1__job__unpack(NULL, len, (const uint8_t *)payload);
    if (!job || !job->submission_id || !job->submission_id[0]) {
        give_up(ex, NULL, stream, id, payload, len, deliveries, "the job does not decode", "");
        if (job)
            dojo__executor__v1__job__free_unpacked(job, NULL);
        return;
    }
    exec_job_t j;
    exec_job_init(&j, ex, job);
    snprintf(j.entry_id, sizeof j.entry_id, "%s", id);
    j.entry_stream = stream;
    if (deliveries > j.attempt)
        j.attempt = deliveries;
    j.slot = w->slot;
    log_set_context("job", job->request_id, job->user_id);
    kvc_share_wait_t why = KVC_SHARE_ADMITTED;

    if (j.attempt > ex->cfg.max_attempts) {
        char reason[128];
        snprintf(reason, sizeof reason, "delivered %d times (limit %d)", j.attempt,
                 ex->cfg.max_attempts);
        give_up(ex, &j, stream, id, payload, len, deliveries, reason,
                "the judge failed repeatedly on this submission");
    } else if (!exec_fair_admit(ex, job->user_id, j.submission_id, &why)) {
        exec_fair_tell_waiting(&j, why);
        wait_for_place(ex->queue, stream, id, payload, len, deliveries, job->user_id,
                       j.submission_id);
    } else {
        j.placed = true;
        pthread_mutex_lock(&w->entry_lock);
        w->entry.stream = stream;
        snprintf(w->entry.id, sizeof w->entry.id, "%s", id);
        pthread_mutex_unlock(&w->entry_lock);
        exec_running_add(ex, &j);
        LOG_INFO("job started", "entry=%s stream=%s submission=%s kind=%d attempt=%d slot=%d", id,
                 exec_streams[stream], j.submission_id, (int)job->kind, j.attempt, j.slot);
        char reason[256];
        exec_job_end_t end = exec_job_run(&j, reason, sizeof reason);
        exec_running_remove(ex, &j);
        exec_fair_charge(ex, job->user_id, j.sandbox_ms);
        exec_fair_release(ex, job->user_id, j.submission_id);
        atomic_fetch_add(&ex->queue->wait_gen, 1);
        pthread_mutex_lock(&w->entry_lock);
        w->entry.id[0] = '\0'; /* no more heartbeats: a RETRY entry goes idle */
        pthread_mutex_unlock(&w->entry_lock);
        cleanup_err err_t *err = NULL;
        switch (end) {
        case EXEC_JOB_FINISHED:
            if (exec_queue_ack(ex, stream, id, &err) < 0)
                LOG_ERROR("ack failed; the job will be re-published", "entry=%s error=\"%s\"", id,
                          log_esc(err->msg));
            break;
        case EXEC_JOB_GIVE_UP:
            give_up(ex, &j, stream, id, payload, len, deliveries, reason,
                    "this submission cannot be judged");
            break;
        case EXEC_JOB_RETRY:
            if (j.attempt >= ex->cfg.max_attempts) {
                char why[300];
                snprintf(why, sizeof why, "attempt %d failed: %s", j.attempt, reason);
                give_up(ex, &j, stream, id, payload, len, deliveries, why,
                        "the judge failed repeatedly on this submission");
            } else {
                LOG_WARN("job failed on the judge's side; left for another attempt",
                         "entry=%s submission=%s attempt=%d reason=\"%s\"", id, j.submission_id,
                         j.attempt, log_esc(reason));
                metrics_counter_add("dojo_executor_job_retries_total", "", 1);
            }
            break;
        }
    }
    log_set_context(NULL, NULL, NULL);
    exec_job_destroy(&j);
    dojo__executor__v1__job__free_unpacked(job, NULL);
}

/* ------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------ */

/* A worker runs entry `id` of `stream` now. */
static bool running(exec_queue_t *q, int stream, const char *id)
{
    bool found = false;
    for (int i = 0; i < q->nworkers && !found; i++) {
        pthread_mutex_lock(&q->workers[i].entry_lock);
        found = q->workers[i].entry.stream == stream && !strcmp(q->workers[i].entry.id, id);
        pthread_mutex_unlock(&q->workers[i].entry_lock);
    }
    return found;
}

bool exec_queue_push_claimed(exec_t *ex, int stream, const char *id, const char *payload,
                             size_t len, int deliveries)
{
    exec_queue_t *q = ex->queue;
    if (running(q, stream, id))
        return false;
    pthread_mutex_lock(&q->lock);
    claimed_t **tail = &q->claimed;
    for (; *tail; tail = &(*tail)->next) {
        if ((*tail)->stream == stream && !strcmp((*tail)->id, id)) {
            pthread_mutex_unlock(&q->lock);
            return false;
        }
    }
    for (claimed_t *c = q->waiting; c; c = c->next) {
        if (c->stream == stream && !strcmp(c->id, id)) {
            pthread_mutex_unlock(&q->lock);
            return false;
        }
    }
    claimed_t *c = xcalloc(1, sizeof *c);
    c->payload = xmalloc(len + 1);
    c->stream = stream;
    snprintf(c->id, sizeof c->id, "%s", id);
    memcpy(c->payload, payload ? payload : "", len);
    c->len = len;
    c->deliveries = deliveries;
    *tail = c;
    q->nclaimed++;
    pthread_mutex_unlock(&q->lock);
    /* Idle workers wait in XREADGROUP BLOCK (up to 2 s): one of them is to
     * take this entry now, before its idle time grows again. */
    for (int i = 0; i < q->nworkers; i++)
        if (!atomic_load(&q->workers[i].busy))
            kvc_reader_wake(q->workers[i].reader);
    return true;
}

int exec_queue_idle_workers(exec_t *ex)
{
    exec_queue_t *q = ex->queue;
    int idle = 0;
    for (int i = 0; i < q->nworkers; i++)
        if (!atomic_load(&q->workers[i].busy))
            idle++;
    pthread_mutex_lock(&q->lock);
    idle -= q->nclaimed;
    pthread_mutex_unlock(&q->lock);
    return idle;
}

bool exec_queue_busy(exec_t *ex)
{
    exec_queue_t *q = ex->queue;
    for (int i = 0; i < q->nworkers; i++)
        if (atomic_load(&q->workers[i].busy))
            return true;
    return false;
}

int exec_queue_held_entries(exec_t *ex, exec_entry_t **outp)
{
    exec_queue_t *q = ex->queue;
    pthread_mutex_lock(&q->lock);
    int cap = q->nworkers + q->nclaimed + q->nwaiting;
    pthread_mutex_unlock(&q->lock);
    cap += 64; /* entries that came in since */
    exec_entry_t *out = xcalloc((size_t)cap, sizeof *out);
    *outp = out;
    int n = 0;
    for (int i = 0; i < q->nworkers && n < cap; i++) {
        pthread_mutex_lock(&q->workers[i].entry_lock);
        out[n] = q->workers[i].entry;
        pthread_mutex_unlock(&q->workers[i].entry_lock);
        if (out[n].id[0])
            n++;
    }
    pthread_mutex_lock(&q->lock);
    for (claimed_t *c = q->claimed; c && n < cap; c = c->next, n++) {
        out[n].stream = c->stream;
        snprintf(out[n].id, sizeof out[n].id, "%s", c->id);
    }
    for (claimed_t *c = q->waiting; c && n < cap; c = c->next, n++) {
        out[n].stream = c->stream;
        snprintf(out[n].id, sizeof out[n].id, "%s", c->id);
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

int exec_queue_waiting(exec_t *ex)
{
    exec_queue_t *q = ex->queue;
    if (q == NULL)
        return 0;
    pthread_mutex_lock(&q->lock);
    int n = q->nwaiting;
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* A waiting entry whose learner has a place now (taken), or NULL. One worker
 * looks at a time; the others go on reading new entries. Only the looking
 * worker removes waiting entries, so the candidates stay valid unlocked. */
static claimed_t *take_waiting(exec_t *ex)
{
    exec_queue_t *q = ex->queue;
    long long gen = atomic_load(&q->wait_gen);
    if (gen == atomic_load(&q->wait_seen_gen) && mono_ms() < atomic_load(&q->wait_due_ms))
        return NULL;
    if (atomic_exchange(&q->wait_scan, true))
        return NULL;
    claimed_t *cand[EXEC_WAIT_SCAN_MAX];
    int n = 0;
    pthread_mutex_lock(&q->lock);
    for (claimed_t *c = q->waiting; c && n < EXEC_WAIT_SCAN_MAX; c = c->next) {
        bool seen = false;
        for (int i = 0; i < n && !seen; i++)
            seen = !strcmp(cand[i]->user, c->user);
        if (!seen)
            cand[n++] = c;
    }
    pthread_mutex_unlock(&q->lock);
    claimed_t *got = NULL;
    for (int i = 0; i < n && !got; i++)
        if (exec_fair_admit(ex, cand[i]->user, cand[i]->submission, NULL))
            got = cand[i];
    if (got) {
        pthread_mutex_lock(&q->lock);
        for (claimed_t **p = &q->waiting; *p; p = &(*p)->next) {
            if (*p == got) {
                *p = got->next;
                q->nwaiting--;
                break;
            }
        }
        pthread_mutex_unlock(&q->lock);
    } else {
        atomic_store(&q->wait_seen_gen, gen);
        atomic_store(&q->wait_due_ms, mono_ms() + EXEC_WAIT_RECHECK_MS);
    }
    atomic_store(&q->wait_scan, false);
    return got;
}

/* The next taken-over entry of a stream up to `max_stream` (0: contest
 * entries only), lower streams first, each stream in FIFO order. */
static claimed_t *take_claimed(exec_queue_t *q, int max_stream)
{
    pthread_mutex_lock(&q->lock);
    claimed_t **pick = NULL;
    for (claimed_t **p = &q->claimed; *p; p = &(*p)->next)
        if ((*p)->stream <= max_stream && (pick == NULL || (*p)->stream < (*pick)->stream))
            pick = p;
    claimed_t *c = pick ? *pick : NULL;
    if (c) {
        *pick = c->next;
        q->nclaimed--;
    }
    pthread_mutex_unlock(&q->lock);
    return c;
}

static bool any_claimed(exec_queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    bool any = q->claimed != NULL;
    pthread_mutex_unlock(&q->lock);
    return any;
}

static void run_claimed(worker_t *w, claimed_t *c)
{
    atomic_store(&w->busy, true);
    process_entry(w, c->stream, c->id, c->payload, c->len, c->deliveries);
    atomic_store(&w->busy, false);
    free(c->payload);
    free(c);
}

/* XREADGROUP of new entries on the first `n` streams, waiting up to
 * block_ms. Of what came (at most one entry per stream), the entry of the
 * lowest stream runs now; the others wait among the taken-over entries for
 * the next free worker. True when an entry ran. */
static bool read_and_run(worker_t *w, int n, int block_ms)
{
    exec_t *ex = w->ex;
    cleanup_redis_reply redisReply *r = NULL;
    cleanup_err err_t *err = NULL;
    const char *fresh[EXEC_NSTREAMS] = {">", ">"};
    if (kvc_reader_read_group(w->reader, KVC_JOBS_GROUP, ex->cfg.executor_id, (size_t)n,
                              exec_streams, fresh, 1, block_ms, &r, &err) < 0) {
        if (strstr(err->msg, "NOGROUP")) {
            cleanup_err err_t *e2 = NULL;
            if (exec_queue_init(ex, &e2) < 0)
                LOG_WARN("recreate group failed", "error=\"%s\"", log_esc(e2->msg));
        } else {
            LOG_WARN("reading jobs failed", "error=\"%s\"", log_esc(err->msg));
        }
        sleep_ms(500);
        return false;
    }
    kvc_entry_t got[EXEC_NSTREAMS];
    bool have[EXEC_NSTREAMS] = {false};
    for (size_t k = 0; r && k < kvc_streams_count(r); k++) {
        const char *key;
        const redisReply *entries;
        if (!kvc_stream_at(r, k, &key, &entries))
            continue;
        for (int s = 0; s < n; s++)
            if (!strcmp(key, exec_streams[s]) && kvc_entries_count(entries) > 0 &&
                kvc_entry_at(entries, 0, KVC_FIELD_JOB, &got[s]))
                have[s] = true;
    }
    int first = -1;
    for (int s = 0; s < n; s++) {
        if (!have[s])
            continue;
        if (first < 0)
            first = s;
        else
            exec_queue_push_claimed(ex, s, got[s].id, got[s].value ? got[s].value : "",
                                    got[s].value ? got[s].len : 0, 1);
    }
    if (first < 0)
        return false; /* nothing came (or a wake) */
    atomic_store(&w->busy, true);
    process_entry(w, first, got[first].id, got[first].value ? got[first].value : "",
                  got[first].value ? got[first].len : 0, 1);
    atomic_store(&w->busy, false);
    return true;
}

/* A worker's order: a taken-over contest entry; a waiting entry whose
 * learner has a place now; while practice entries wait taken over, a new
 * contest entry (a read that hardly waits), else the oldest of them; else a
 * read of both streams. So no practice entry runs while a contest entry
 * waits unread, except one that waited for its learner's place. */
static void *worker_main(void *arg)
{
    worker_t *w = arg;
    exec_t *ex = w->ex;
    exec_queue_t *q = ex->queue;
    while (!exec_queue_stopping(ex)) {
        if (atomic_load(&ex->draining)) {
            sleep_ms(200);
            continue;
        }
        claimed_t *c = take_claimed(q, 0);
        if (c) {
            run_claimed(w, c);
            continue;
        }
        if ((c = take_waiting(ex)) != NULL) {
            run_claimed(w, c);
            continue;
        }
        if (any_claimed(q)) {
            if (!read_and_run(w, 1, 1) && (c = take_claimed(q, EXEC_NSTREAMS - 1)) != NULL)
                run_claimed(w, c);
            continue;
        }
        int waiting = exec_queue_waiting(ex);
        if (waiting >= EXEC_WAIT_MAX) {
            sleep_ms(EXEC_WAIT_RECHECK_MS);
            continue;
        }
        /* With entries waiting, read in short turns so that a place given
         * back elsewhere is seen soon. */
        read_and_run(w, EXEC_NSTREAMS, waiting > 0 ? EXEC_WAIT_RECHECK_MS : 2000);
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * Start, stop, depth
 * ------------------------------------------------------------------------ */

int exec_queue_start(exec_t *ex, err_t **err)
{
    exec_queue_t *q = xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    q->nworkers = ex->cfg.concurrency;
    atomic_init(&q->wait_scan, false);
    atomic_init(&q->wait_gen, 0);
    atomic_init(&q->wait_due_ms, 0);
    atomic_init(&q->wait_seen_gen, -1);
    q->workers = xcalloc((size_t)q->nworkers, sizeof *q->workers);
    ex->queue = q;
    for (int i = 0; i < q->nworkers; i++) {
        worker_t *w = &q->workers[i];
        w->ex = ex;
        w->slot = i;
        atomic_init(&w->busy, false);
        pthread_mutex_init(&w->entry_lock, NULL);
        kvc_reader_open(&w->reader, ex->kv);
        ex->slot_busy[i] = true; /* worker slots are never lent to RunJob */
    }
    exec_reclaim_start(ex);
    for (int i = 0; i < q->nworkers; i++) {
        if (pthread_create(&q->workers[i].thread, NULL, worker_main, &q->workers[i]) != 0) {
            for (int k = i; k < q->nworkers; k++)
                kvc_reader_close(q->workers[k].reader);
            q->nworkers = i;
            return err_errno(err, errno, "start worker %d", i);
        }
    }
    if (pthread_create(&q->reclaimer, NULL, exec_reclaimer_main, ex) != 0)
        return err_errno(err, errno, "start reclaimer");
    q->reclaimer_started = true;
    return 0;
}

void exec_queue_stop(exec_t *ex)
{
    exec_queue_t *q = ex->queue;
    if (!q)
        return;
    atomic_store(&ex->stopping, true);
    /* Idle workers wait in XREADGROUP BLOCK: end the wait now. */
    for (int i = 0; i < q->nworkers; i++)
        kvc_reader_wake(q->workers[i].reader);
    for (int i = 0; i < q->nworkers; i++)
        pthread_join(q->workers[i].thread, NULL);
    if (q->reclaimer_started)
        pthread_join(q->reclaimer, NULL);
    /* Claimed but not started: leave them pending; another executor (or our
     * next start) reclaims them. */
    for (claimed_t *c = q->claimed, *n; c; c = n) {
        n = c->next;
        free(c->payload);
        free(c);
    }
    for (claimed_t *c = q->waiting, *n; c; c = n) {
        n = c->next;
        free(c->payload);
        free(c);
    }
    for (int i = 0; i < q->nworkers; i++) {
        pthread_mutex_destroy(&q->workers[i].entry_lock);
        kvc_reader_close(q->workers[i].reader);
    }
    free(q->workers);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
    ex->queue = NULL;
}

/* The group's pending and lag on one stream. */
static int stream_depth(exec_t *ex, const char *stream, int64_t *pending, int64_t *lag,
                        err_t **err)
{
    *pending = 0;
    *lag = -1;
    cleanup_redis_reply redisReply *r = NULL;
    if (kv_command(ex->kv, &r, err, "XINFO GROUPS %s", stream) < 0) {
        if (strstr((*err)->msg, "no such key")) {
            err_clear(err);
            *lag = 0;
            return 0;
        }
        return err_wrap(err, "queue depth of %s", stream);
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *g = r->element[i];
        bool ours = false;
        int64_t p = 0, l = -1;
        for (size_t k = 0; g->type == REDIS_REPLY_ARRAY && k + 1 < g->elements; k += 2) {
            const char *name = g->element[k]->str;
            redisReply *v = g->element[k + 1];
            if (!name)
                continue;
            if (!strcmp(name, "name") && v->type == REDIS_REPLY_STRING && !strcmp(v->str, KVC_JOBS_GROUP))
                ours = true;
            else if (!strcmp(name, "pending") && v->type == REDIS_REPLY_INTEGER)
                p = v->integer;
            else if (!strcmp(name, "lag") && v->type == REDIS_REPLY_INTEGER)
                l = v->integer;
        }
        if (ours) {
            *pending = p;
            *lag = l;
        }
    }
    return 0;
}

int exec_queue_depth(exec_t *ex, int64_t *pending, int64_t *lag, err_t **err)
{
    *pending = 0;
    *lag = 0;
    for (int s = 0; s < EXEC_NSTREAMS; s++) {
        int64_t p, l;
        if (stream_depth(ex, exec_streams[s], &p, &l, err) < 0)
            return -1;
        *pending += p;
        if (l < 0 || *lag < 0)
            *lag = -1;
        else
            *lag += l;
    }
    return 0;
}

static void depth_on_scrape(void *payload)
{
    exec_t *ex = payload;
    int64_t pending, lag;
    cleanup_err err_t *err = NULL;
    if (exec_queue_depth(ex, &pending, &lag, &err) < 0) {
        LOG_WARN("queue depth not read", "error=\"%s\"", log_esc(err->msg));
        return;
    }
    metrics_gauge_set("dojo_executor_queue_pending", "", (double)pending);
    metrics_gauge_set("dojo_executor_queue_lag", "", (double)lag);
    metrics_gauge_set("dojo_executor_queue_depth", "", (double)(pending + (lag > 0 ? lag : 0)));
    metrics_gauge_set("dojo_executor_jobs_running", "", atomic_load(&ex->jobs_running));
    metrics_gauge_set("dojo_executor_jobs_waiting", "", exec_queue_waiting(ex));
    metrics_gauge_set("dojo_executor_draining", "", atomic_load(&ex->draining) ? 1 : 0);
}

void exec_queue_metrics(exec_t *ex) { metrics_on_scrape(depth_on_scrape, ex); }
