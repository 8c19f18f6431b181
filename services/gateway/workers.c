/* workers.c — the API handlers' threads: libmicrohttpd's threads route a
 * request, suspend its connection and queue it here; a fixed pool of workers
 * runs the handler (its gRPC and Redis calls block) and resumes the
 * connection, whose thread then sends the answer.
 *
 * Why: with the handlers on libmicrohttpd's few threads (DOJO_GATEWAY_THREADS,
 * each owning its share of the connections), one slow upstream call stalled
 * every connection of that thread — WebSocket upgrades and cached reads that
 * need no upstream at all waited behind registrations hashing passwords in
 * auth, and a ramp of sign-ups faster than auth could hash them collapsed:
 * each request waited longer than its client would, so the gateway spent
 * its time on answers nobody read.
 *
 * Admission: a request waits at most DOJO_GATEWAY_QUEUE_WAIT for a worker
 * and the queue holds at most DOJO_GATEWAY_QUEUE_MAX; past either it is
 * answered 503 with Retry-After at once, without running (work nobody would
 * wait for is not done). The routes that hash a password in auth (sign-up,
 * sign-in, password change and reset) take at most DOJO_GATEWAY_SIGNIN_WORKERS
 * workers at a time, so a wave of sign-ins cannot take every worker from the
 * learners already signed in. Within that, first come first served. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>

#include "gateway.h"
#include "libcommon/clock.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

typedef struct lane {
    gw_req_t *head, *tail;
    long queued;
} lane_t;

struct gw_workers {
    gw_t *gw;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    lane_t lanes[2]; /* [0] everything else, [1] password hashing */
    int signin_running;
    int running;
    bool stopping;
    pthread_t *threads;
    int nthreads;
};

static void lane_push(lane_t *l, gw_req_t *r)
{
    r->job_next = NULL;
    if (l->tail)
        l->tail->job_next = r;
    else
        l->head = r;
    l->tail = r;
    l->queued++;
}

static gw_req_t *lane_pop(lane_t *l)
{
    gw_req_t *r = l->head;
    l->head = r->job_next;
    if (l->head == NULL)
        l->tail = NULL;
    l->queued--;
    r->job_next = NULL;
    return r;
}

/* The next request to run (the older head of the lanes that may run), or
 * NULL. Called with the lock held. */
static gw_req_t *pick(gw_workers_t *w)
{
    lane_t *any = &w->lanes[0], *hash = &w->lanes[1];
    bool hash_ok = hash->head && w->signin_running < w->gw->cfg.signin_workers;
    if (any->head && (!hash_ok || any->head->job_queued_ms <= hash->head->job_queued_ms))
        return lane_pop(any);
    if (hash_ok) {
        w->signin_running++;
        return lane_pop(hash);
    }
    return NULL;
}

/* A second or a few, spread so that shed clients do not return together. */
static int retry_after_s(void) { return 1 + (int)randombytes_uniform(4); }

static void *async_main(void *arg)
{
    gw_req_t *r = arg;
    log_set_context("http", r->req_id, r->authed ? r->claims.sub : NULL);
    err_t *e = NULL;
    if (r->async_fn(r, &e) < 0)
        r->async_err = e;
    pthread_mutex_lock(&r->gw->ws_lock);
    r->gw->async_running--;
    pthread_mutex_unlock(&r->gw->ws_lock);
    __atomic_store_n(&r->job_done, true, __ATOMIC_RELEASE);
    MHD_resume_connection(r->conn);
    return NULL;
}

/* Hands the long part a handler asked for (gw_req_async) to a thread of its
 * own, so it does not hold a worker; runs it here if no thread starts. */
static void run_async(gw_req_t *r)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, async_main, r);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        async_main(r);
}

static void run(gw_workers_t *w, gw_req_t *r)
{
    gw_t *gw = w->gw;
    log_set_context("http", r->req_id, NULL);
    err_t *e = NULL;
    int64_t waited = mono_ms() - r->job_queued_ms;
    metrics_counter_add("dojo_gateway_queue_wait_seconds_total", NULL, (double)waited / 1000.0);
    if (waited > gw->cfg.queue_wait_ms) {
        metrics_counter_add("dojo_gateway_shed_total", "reason=\"queue_wait\"", 1);
        err_set(&e, GRPC_STATUS_UNAVAILABLE, "the gateway is busy: try again in a moment");
        err_set_retry_after(&e, retry_after_s());
    } else if (r->job_fn(r, &e) == 0 && r->async_fn) {
        run_async(r); /* it answers */
        return;
    }
    r->async_err = e;
    __atomic_store_n(&r->job_done, true, __ATOMIC_RELEASE);
    MHD_resume_connection(r->conn);
}

static void *worker_main(void *arg)
{
    gw_workers_t *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        gw_req_t *r = pick(w);
        if (r == NULL) {
            if (w->stopping)
                break;
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        bool signin = r->job_signin;
        w->running++;
        pthread_mutex_unlock(&w->lock);
        run(w, r); /* r may be gone from here on */
        pthread_mutex_lock(&w->lock);
        w->running--;
        if (signin) {
            w->signin_running--;
            pthread_cond_signal(&w->wake); /* a sign-in may have waited for the slot */
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void scrape(void *payload)
{
    gw_workers_t *w = payload;
    pthread_mutex_lock(&w->lock);
    double any = (double)w->lanes[0].queued, hash = (double)w->lanes[1].queued;
    double running = (double)w->running;
    pthread_mutex_unlock(&w->lock);
    metrics_gauge_set("dojo_gateway_queued_requests", "lane=\"default\"", any);
    metrics_gauge_set("dojo_gateway_queued_requests", "lane=\"signin\"", hash);
    metrics_gauge_set("dojo_gateway_running_requests", NULL, running);
}

int gw_workers_open(gw_t *gw, err_t **err)
{
    gw_workers_t *w = xcalloc(1, sizeof *w);
    w->gw = gw;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    w->threads = xcalloc((size_t)gw->cfg.workers, sizeof *w->threads);
    gw->workers = w;
    metrics_on_scrape(scrape, w);
    for (int i = 0; i < gw->cfg.workers; i++) {
        int rc = pthread_create(&w->threads[i], NULL, worker_main, w);
        if (rc != 0)
            return err_errno(err, rc, "start a request worker");
        w->nthreads++;
    }
    return 0;
}

int gw_workers_submit(gw_req_t *r, gw_handler_fn fn, bool signin, err_t **err)
{
    gw_workers_t *w = r->gw->workers;
    pthread_mutex_lock(&w->lock);
    long queued = w->lanes[0].queued + w->lanes[1].queued;
    if (w->stopping || queued >= r->gw->cfg.queue_max) {
        pthread_mutex_unlock(&w->lock);
        metrics_counter_add("dojo_gateway_shed_total", "reason=\"queue_full\"", 1);
        err_set(err, GRPC_STATUS_UNAVAILABLE, "the gateway is busy: try again in a moment");
        return err_set_retry_after(err, retry_after_s());
    }
    r->job_fn = fn;
    r->job_signin = signin;
    r->job_queued_ms = mono_ms();
    r->job_done = false;
    r->deferred = true;
    /* Suspended before any worker can see it: a worker's resume always
     * follows this suspend. */
    MHD_suspend_connection(r->conn);
    lane_push(&w->lanes[signin ? 1 : 0], r);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

long gw_workers_pending(gw_t *gw)
{
    gw_workers_t *w = gw->workers;
    if (w == NULL)
        return 0;
    pthread_mutex_lock(&w->lock);
    long n = w->lanes[0].queued + w->lanes[1].queued + w->running;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void gw_workers_stop(gw_t *gw)
{
    gw_workers_t *w = gw->workers;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    w->nthreads = 0;
}

void gw_workers_close(gw_t *gw)
{
    gw_workers_t *w = gw->workers;
    if (w == NULL)
        return;
    gw_workers_stop(gw);
    free(w->threads);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    gw->workers = NULL;
}
