/* pool.c — pre-started one-shot sandboxes; see pool.h.
 *
 * One lock guards the keys, their ready boxes and the slots. Each refill
 * thread starts one box at a time and never holds the lock while it does;
 * `starts` threads run (a start costs a CPU for tens of ms under crun,
 * hundreds under runsc; when every worker is busy one thread at a time
 * leaves a third to a half of the jobs to start cold, two fewer — which
 * helps where cores are idle, not where both are busy anyway). A key's
 * starting boxes count as its own, so threads never start more than its
 * target between them. Boxes leave the pool only through
 * sandbox_pool_take (to one job) or a discard (never used); their slot comes
 * back when their container is gone (on_gone, from the clean-up thread). */
#define _GNU_SOURCE
#include "services/executor/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/clock.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

#define POOL_MAX_KEYS 16
#define POOL_MAX_READY 16 /* per key */
#define POOL_MAX_STARTS 8
#define READY_TIMEOUT_MS 20000
#define ARRIVALS 128          /* arrival times kept per key */
#define GUESS_BOX_KIB (32 * 1024) /* a box's memory before one was measured */

typedef struct pool_key {
    sandbox_box_key_t key; /* job_kib: SANDBOX_POOL_JOB_KIB */
    bool used;
    int64_t last_use_ms;
    sandbox_box_t *ready[POOL_MAX_READY];
    long ready_kib[POOL_MAX_READY]; /* each one's memory, last measured */
    int nready;
    int starting;
    int64_t arrivals[ARRIVALS]; /* ring of the last jobs' times (mono ms) */
    int narrivals;
    long start_ms;  /* how long a start takes until ready (moving average) */
    long box_kib;   /* what a ready box of the key holds (last measured) */
    int target;     /* ready boxes wanted now (pool_target) */
} pool_key_t;

struct sandbox_pool {
    const sandbox_config_t *cfg;
    int64_t measured_ms; /* when the ready boxes' memory was last read */
    sandbox_pool_config_t pc;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* refill work, a box ready, a box gone */
    pool_key_t keys[POOL_MAX_KEYS];
    bool *slot_busy;
    int live;
    bool stopping;
    int64_t hits, misses, started;
    long seq;
    pthread_t refill[POOL_MAX_STARTS];
    int nrefill;
};

/* ------------------------------------------------------------------------
 * Keys and slots (under mu)
 * ------------------------------------------------------------------------ */

static void key_gauges(sandbox_pool_t *p, const struct pool_key *k, bool gone);

static bool key_matches(const sandbox_box_key_t *a, const sandbox_box_key_t *b)
{
    return a->runtime == b->runtime && !strcmp(a->lang->id, b->lang->id) &&
           a->memory_kib == b->memory_kib && a->compile == b->compile;
}

static pool_key_t *key_find(sandbox_pool_t *p, const sandbox_box_key_t *key)
{
    for (int i = 0; i < p->pc.max_keys; i++)
        if (p->keys[i].used && key_matches(&p->keys[i].key, key))
            return &p->keys[i];
    return NULL;
}

/* The key's entry, made if new (taking the least recently used one's place:
 * its ready boxes go to `drop`). */
static pool_key_t *key_get(sandbox_pool_t *p, const sandbox_box_key_t *key,
                           sandbox_box_t **drop, int *ndrop)
{
    pool_key_t *k = key_find(p, key);
    if (k)
        return k;
    pool_key_t *victim = NULL;
    for (int i = 0; i < p->pc.max_keys; i++) {
        pool_key_t *c = &p->keys[i];
        if (!c->used) {
            victim = c;
            break;
        }
        if (c->starting == 0 && (!victim || c->last_use_ms < victim->last_use_ms))
            victim = c;
    }
    if (victim == NULL)
        return NULL;
    for (int i = 0; i < victim->nready; i++)
        drop[(*ndrop)++] = victim->ready[i];
    if (victim->used)
        key_gauges(p, victim, true);
    memset(victim, 0, sizeof *victim);
    victim->used = true;
    victim->key = *key;
    victim->key.job_kib = SANDBOX_POOL_JOB_KIB;
    victim->last_use_ms = mono_ms();
    return victim;
}

static int slot_take(sandbox_pool_t *p)
{
    for (int s = 0; s < p->pc.slots; s++)
        if (!p->slot_busy[s]) {
            p->slot_busy[s] = true;
            return p->pc.first_slot + s;
        }
    return -1;
}

/* A box's container is gone (clean-up thread): its uid range is free. */
static void on_gone(void *payload, int slot)
{
    sandbox_pool_t *p = payload;
    pthread_mutex_lock(&p->mu);
    if (slot >= p->pc.first_slot && slot < p->pc.first_slot + p->pc.slots)
        p->slot_busy[slot - p->pc.first_slot] = false;
    p->live--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void key_labels(const sandbox_box_key_t *key, char *out, size_t cap)
{
    snprintf(out, cap, "language=\"%s\",runtime=\"%s\",memory_kib=\"%d\"%s", key->lang->id,
             key->runtime == SANDBOX_RUNSC ? "runsc" : "crun", key->memory_kib,
             key->compile ? ",phase=\"compile\"" : "");
}

/* The ready and starting gauges of one key (0 when it is let go). */
static void key_gauges(sandbox_pool_t *p, const pool_key_t *k, bool gone)
{
    if (!p->pc.metrics_prefix)
        return;
    char name[128], labels[200];
    key_labels(&k->key, labels, sizeof labels);
    snprintf(name, sizeof name, "%s_ready", p->pc.metrics_prefix);
    metrics_gauge_set(name, labels, gone ? 0 : k->nready);
    snprintf(name, sizeof name, "%s_starting", p->pc.metrics_prefix);
    metrics_gauge_set(name, labels, gone ? 0 : k->starting);
    snprintf(name, sizeof name, "%s_target", p->pc.metrics_prefix);
    metrics_gauge_set(name, labels, gone ? 0 : k->target);
    long kib = 0;
    for (int r = 0; !gone && r < k->nready; r++)
        kib += k->ready_kib[r] > 0 ? k->ready_kib[r] : 0;
    snprintf(name, sizeof name, "%s_memory_bytes", p->pc.metrics_prefix);
    metrics_gauge_set(name, labels, (double)kib * 1024);
}

static void gauges(sandbox_pool_t *p)
{
    for (int i = 0; i < p->pc.max_keys; i++)
        if (p->keys[i].used)
            key_gauges(p, &p->keys[i], false);
}

static void count(sandbox_pool_t *p, const char *what, const sandbox_box_key_t *key)
{
    if (!p->pc.metrics_prefix)
        return;
    char name[128], labels[200];
    snprintf(name, sizeof name, "%s_%s_total", p->pc.metrics_prefix, what);
    key_labels(key, labels, sizeof labels);
    metrics_counter_add(name, labels, 1);
}

/* ------------------------------------------------------------------------
 * How many to keep: the arrival rate, the start time, the memory budget
 * ------------------------------------------------------------------------ */

static void arrival(pool_key_t *k, int64_t now)
{
    k->arrivals[k->narrivals % ARRIVALS] = now;
    k->narrivals++;
}

/* Jobs of the key in the last `ms`. */
static int arrivals_within(const pool_key_t *k, int64_t now, int64_t ms)
{
    int n = 0, have = k->narrivals < ARRIVALS ? k->narrivals : ARRIVALS;
    for (int i = 0; i < have; i++)
        if (now - k->arrivals[i] <= ms)
            n++;
    return n;
}

/* The last 8 jobs' rate (over a second at least), for bursts. */
static double burst_rate(const pool_key_t *k, int64_t now)
{
    int have = k->narrivals < ARRIVALS ? k->narrivals : ARRIVALS;
    int m = have < 8 ? have : 8;
    if (m == 0)
        return 0;
    int64_t oldest = k->arrivals[(k->narrivals - m) % ARRIVALS];
    int64_t span = now - oldest;
    if (span > 10000)
        return 0;
    return m / (span > 1000 ? span / 1000.0 : 1.0);
}

/* Ready boxes to keep for `k`: enough to cover the jobs that arrive while
 * one box starts, twice over (the recent rate: the highest of the last
 * minute's, the last 10 s' and the last 8 jobs'), plus one; at least one for
 * a key in use, at most the configured size. */
static int pool_target(const sandbox_pool_t *p, const pool_key_t *k, int64_t now)
{
    double rate = arrivals_within(k, now, 10000) / 10.0;
    double minute = arrivals_within(k, now, 60000) / 60.0;
    double burst = burst_rate(k, now);
    if (minute > rate)
        rate = minute;
    if (burst > rate)
        rate = burst;
    double start_s = (k->start_ms > 0 ? k->start_ms : 100) / 1000.0;
    int want = 1 + (int)(2.0 * rate * start_s + 0.5);
    return want < p->pc.size ? want : p->pc.size;
}

/* What the ready (and starting) boxes hold, in KiB. */
static long held_kib(const sandbox_pool_t *p)
{
    long sum = 0;
    for (int i = 0; i < p->pc.max_keys; i++) {
        const pool_key_t *k = &p->keys[i];
        for (int r = 0; r < k->nready; r++)
            sum += k->ready_kib[r] > 0 ? k->ready_kib[r] : GUESS_BOX_KIB;
        sum += (long)k->starting * (k->box_kib > 0 ? k->box_kib : GUESS_BOX_KIB);
    }
    return sum;
}

/* Reads each ready box's memory again (it grows a little while it waits:
 * the zygote's first pages). Once a second at most. */
static void measure(sandbox_pool_t *p, int64_t now)
{
    if (now - p->measured_ms < 1000)
        return;
    p->measured_ms = now;
    for (int i = 0; i < p->pc.max_keys; i++) {
        pool_key_t *k = &p->keys[i];
        for (int r = 0; r < k->nready; r++) {
            long kib = sandbox_box_memory_kib(k->ready[r]);
            if (kib > 0)
                k->ready_kib[r] = kib;
        }
    }
}

/* ------------------------------------------------------------------------
 * The refill thread
 * ------------------------------------------------------------------------ */

/* The key most in need of a box, or NULL. Expired keys let their boxes go
 * (into `drop`). */
static pool_key_t *refill_pick(sandbox_pool_t *p, sandbox_box_t **drop, int *ndrop)
{
    int64_t now = mono_ms();
    measure(p, now);
    long held = held_kib(p);
    pool_key_t *best = NULL;
    for (int i = 0; i < p->pc.max_keys; i++) {
        pool_key_t *k = &p->keys[i];
        if (!k->used)
            continue;
        if (now - k->last_use_ms > p->pc.key_idle_ms) {
            for (int r = 0; r < k->nready; r++)
                drop[(*ndrop)++] = k->ready[r];
            k->nready = 0;
            key_gauges(p, k, k->starting == 0);
            if (k->starting == 0)
                k->used = false;
            continue;
        }
        k->target = pool_target(p, k, now);
        /* Fewer jobs than before: the newest surplus box goes (one a pass). */
        if (k->nready > k->target && *ndrop == 0) {
            k->nready--;
            drop[(*ndrop)++] = k->ready[k->nready];
            held -= k->ready_kib[k->nready];
            key_gauges(p, k, false);
            continue;
        }
        int have = k->nready + k->starting;
        long cost = k->box_kib > 0 ? k->box_kib : GUESS_BOX_KIB;
        if (have < k->target && held + cost <= p->pc.memory_budget_kib &&
            (!best || have < best->nready + best->starting))
            best = k;
    }
    return best;
}

static void discard_all(sandbox_box_t **drop, int n)
{
    for (int i = 0; i < n; i++)
        sandbox_box_discard(drop[i]);
}

static void *refill_main(void *arg)
{
    sandbox_pool_t *p = arg;
    sandbox_box_t *drop[POOL_MAX_KEYS * POOL_MAX_READY];
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        int ndrop = 0;
        pool_key_t *k = refill_pick(p, drop, &ndrop);
        int slot = k ? slot_take(p) : -1;
        if (ndrop) {
            pthread_mutex_unlock(&p->mu);
            discard_all(drop, ndrop);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (slot < 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&p->cv, &p->mu, &until);
            continue;
        }
        k->starting++;
        p->live++;
        p->started++;
        sandbox_box_key_t key = k->key;
        char name[64];
        snprintf(name, sizeof name, "pool%d-%ld-%x", (int)getpid(), ++p->seq,
                 (unsigned)random() & 0xffff);
        gauges(p);
        pthread_mutex_unlock(&p->mu);

        sandbox_box_t *b = NULL;
        err_t *err = NULL;
        int64_t t0 = mono_ms();
        bool ok = sandbox_box_start(p->cfg, &key,
                                    &(sandbox_box_opts_t){.slot = slot,
                                                          .name = name,
                                                          .on_gone = on_gone,
                                                          .gone_payload = p},
                                    &b, &err) == 0;
        if (ok && !sandbox_box_wait_ready(b, READY_TIMEOUT_MS)) {
            LOG_WARN("pool: a sandbox did not become ready", "box=%s", name);
            sandbox_box_discard(b);
            b = NULL;
            ok = false;
        } else if (!ok) {
            LOG_WARN("pool: a sandbox did not start", "error=\"%s\"", log_esc(err->msg));
            err_free(err);
        }

        pthread_mutex_lock(&p->mu);
        /* The key may have been let go meanwhile: k still points at its
         * entry, which keeps `starting` until here. */
        k->starting--;
        if (!ok) {
            if (b == NULL && slot >= 0 && err != NULL) {
                /* Never started: no clean-up will give the slot back. */
                p->slot_busy[slot - p->pc.first_slot] = false;
                p->live--;
            }
            /* Do not spin on a broken runtime: wait a little. */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&p->cv, &p->mu, &until);
        } else if (k->used && key_matches(&k->key, &key) && k->nready < POOL_MAX_READY &&
                   !p->stopping) {
            long took = (long)(mono_ms() - t0);
            k->start_ms = k->start_ms > 0 ? (3 * k->start_ms + took) / 4 : took;
            long kib = sandbox_box_memory_kib(b);
            if (kib > 0)
                k->box_kib = kib;
            k->ready_kib[k->nready] = kib;
            k->ready[k->nready++] = b;
            b = NULL;
        }
        if (!k->used && k->starting == 0)
            memset(k, 0, sizeof *k);
        gauges(p);
        pthread_cond_broadcast(&p->cv);
        if (b) {
            pthread_mutex_unlock(&p->mu);
            sandbox_box_discard(b);
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ------------------------------------------------------------------------
 * The API
 * ------------------------------------------------------------------------ */

int sandbox_pool_open(sandbox_pool_t **out, const sandbox_config_t *cfg,
                      const sandbox_pool_config_t *pc, err_t **err)
{
    sandbox_pool_t *p = xcalloc(1, sizeof *p);
    p->cfg = cfg;
    p->pc = *pc;
    if (p->pc.size > POOL_MAX_READY)
        p->pc.size = POOL_MAX_READY;
    if (p->pc.max_keys <= 0 || p->pc.max_keys > POOL_MAX_KEYS)
        p->pc.max_keys = POOL_MAX_KEYS;
    if (p->pc.slots < 1)
        p->pc.slots = 1;
    if (p->pc.starts < 1)
        p->pc.starts = 1;
    if (p->pc.starts > POOL_MAX_STARTS)
        p->pc.starts = POOL_MAX_STARTS;
    p->slot_busy = xcalloc((size_t)p->pc.slots, sizeof(bool));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < p->pc.starts; i++) {
        if (pthread_create(&p->refill[i], NULL, refill_main, p) != 0)
            break;
        p->nrefill++;
    }
    if (p->nrefill == 0) {
        free(p->slot_busy);
        free(p);
        return err_set(err, GRPC_STATUS_INTERNAL, "pool: no refill thread");
    }
    *out = p;
    return 0;
}

void sandbox_pool_want(sandbox_pool_t *p, const sandbox_box_key_t *key)
{
    sandbox_box_t *drop[POOL_MAX_READY];
    int ndrop = 0;
    pthread_mutex_lock(&p->mu);
    pool_key_t *k = key_get(p, key, drop, &ndrop);
    if (k)
        k->last_use_ms = mono_ms();
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    discard_all(drop, ndrop);
}

sandbox_box_t *sandbox_pool_take(sandbox_pool_t *p, const sandbox_box_key_t *key)
{
    if (key->job_kib > SANDBOX_POOL_JOB_KIB)
        return NULL;
    sandbox_box_t *drop[POOL_MAX_READY];
    int ndrop = 0;
    sandbox_box_t *got = NULL;
    pthread_mutex_lock(&p->mu);
    pool_key_t *k = key_get(p, key, drop, &ndrop);
    if (k) {
        k->last_use_ms = mono_ms();
        arrival(k, k->last_use_ms);
        /* Oldest first; a box that died while it waited is let go. */
        while (k->nready > 0 && got == NULL) {
            sandbox_box_t *b = k->ready[0];
            memmove(k->ready, k->ready + 1, (size_t)(k->nready - 1) * sizeof *k->ready);
            memmove(k->ready_kib, k->ready_kib + 1,
                    (size_t)(k->nready - 1) * sizeof *k->ready_kib);
            k->nready--;
            if (sandbox_box_usable(b))
                got = b;
            else
                drop[ndrop++] = b;
        }
    }
    if (got)
        p->hits++;
    else
        p->misses++;
    gauges(p);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    discard_all(drop, ndrop);
    count(p, got ? "hits" : "misses", key);
    return got;
}

bool sandbox_pool_wait_ready(sandbox_pool_t *p, const sandbox_box_key_t *key, int timeout_ms)
{
    int64_t until = mono_ms() + timeout_ms;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        pool_key_t *k = key_find(p, key);
        if (k && k->nready > 0)
            break;
        int64_t left = until - mono_ms();
        if (left <= 0) {
            pthread_mutex_unlock(&p->mu);
            return false;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ms = left < 200 ? (long)left : 200;
        ts.tv_nsec += ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return true;
}

void sandbox_pool_stats(sandbox_pool_t *p, sandbox_pool_stats_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->mu);
    out->hits = p->hits;
    out->misses = p->misses;
    out->live = p->live;
    out->started = p->started;
    for (int i = 0; i < p->pc.max_keys; i++) {
        out->ready += p->keys[i].nready;
        out->starting += p->keys[i].starting;
        for (int r = 0; r < p->keys[i].nready; r++)
            out->memory_kib += p->keys[i].ready_kib[r] > 0 ? p->keys[i].ready_kib[r] : 0;
    }
    pthread_mutex_unlock(&p->mu);
}

void sandbox_pool_close(sandbox_pool_t *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nrefill; i++)
        pthread_join(p->refill[i], NULL);
    sandbox_box_t *drop[POOL_MAX_KEYS * POOL_MAX_READY];
    int ndrop = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->pc.max_keys; i++) {
        for (int r = 0; r < p->keys[i].nready; r++)
            drop[ndrop++] = p->keys[i].ready[r];
        p->keys[i].nready = 0;
    }
    pthread_mutex_unlock(&p->mu);
    discard_all(drop, ndrop);
    /* on_gone still points here until the last box is gone. */
    int64_t until = mono_ms() + 30000;
    pthread_mutex_lock(&p->mu);
    while (p->live > 0 && mono_ms() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    bool gone = p->live == 0;
    pthread_mutex_unlock(&p->mu);
    if (!gone) {
        LOG_WARN("pool: sandboxes still going at close", "live=%d", p->live);
        return; /* leaked on purpose: a late on_gone must find it */
    }
    free(p->slot_busy);
    free(p);
}
