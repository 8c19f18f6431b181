/* pool.h — pre-started one-shot sandboxes.
 *
 * The pool keeps boxes (sandbox.h) started and ready per key — language,
 * runtime, memory limit — so a job finds its container up, the driver and
 * the warm interpreter waiting, instead of starting them. A box serves one
 * job and is destroyed: the pool never takes one back. Refill threads start
 * boxes off the jobs' critical path (`starts` at once); a job that finds none starts one cold
 * (sandbox_run). Boxes use uid ranges (slots) of the pool's own, so no two
 * live containers share one.
 *
 * Thread-safe. */
#ifndef DOJO_POOL_H
#define DOJO_POOL_H

#include <stdint.h>

#include "services/executor/sandbox.h"

/** Room for the code and inputs of a job in a pooled box; a bigger job
 * starts cold. */
#define SANDBOX_POOL_JOB_KIB (16L * 1024)

typedef struct sandbox_pool_config {
    int size;           /* ready boxes per key, at most (the arrival rate decides below) */
    long memory_budget_kib; /* what ready boxes may hold in all */
    int max_keys;       /* keys kept at once (the least recently used goes) */
    int first_slot;     /* the pool's uid ranges: [first_slot, first_slot + slots) */
    int slots;
    int64_t key_idle_ms; /* a key with no job this long keeps no box */
    int starts;         /* boxes started at once (refill threads; 0: one) */
    const char *metrics_prefix; /* "dojo_executor_pool", or NULL: no metrics */
} sandbox_pool_config_t;

/** Starts the refill threads. *out is new: sandbox_pool_close it. `cfg` is
 * borrowed for the pool's life. */
int sandbox_pool_open(sandbox_pool_t **out, const sandbox_config_t *cfg,
                      const sandbox_pool_config_t *pc, err_t **err);

/** Keeps boxes of `key` ready from now on, as if a job of it had come. */
void sandbox_pool_want(sandbox_pool_t *p, const sandbox_box_key_t *key);

/** A ready box for `key` (new: the caller's, for one job), or NULL (a miss:
 * the refill thread starts boxes of that key from now on). Counts the
 * arrival either way: how many boxes a key keeps follows its recent
 * arrival rate (enough for the jobs that come while one starts, twice
 * over, plus one; at most `size`), within the memory budget. */
sandbox_box_t *sandbox_pool_take(sandbox_pool_t *p, const sandbox_box_key_t *key);

/** Waits up to `timeout_ms` until `key` has a ready box; false if not. */
bool sandbox_pool_wait_ready(sandbox_pool_t *p, const sandbox_box_key_t *key, int timeout_ms);

typedef struct sandbox_pool_stats {
    int64_t hits, misses;
    int ready;      /* boxes waiting for a job */
    int starting;   /* boxes being started */
    int live;       /* every box of the pool not yet gone (also those given to jobs) */
    int64_t started; /* boxes started since the pool opened */
    long memory_kib; /* what the ready boxes hold (their cgroups) */
} sandbox_pool_stats_t;

void sandbox_pool_stats(sandbox_pool_t *p, sandbox_pool_stats_t *out);

/** Stops the refill threads, discards the ready boxes and waits (up to 30 s)
 * until every box of the pool is gone. NULL is fine. */
void sandbox_pool_close(sandbox_pool_t *p);

#endif
