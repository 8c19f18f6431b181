/* slots.h — who holds which of N connections: the lease bookkeeping shared
 * by the PostgreSQL and Redis pools (pg.c, kv.c). The pools keep their own
 * connection arrays; a slot is an index into them. */
#ifndef DOJO_SLOTS_H
#define DOJO_SLOTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef struct slots {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    int size;
    bool *in_use;
} slots_t;

/** Prepares `size` free slots. */
void slots_init(slots_t *s, int size);

void slots_destroy(slots_t *s);

/** Takes a free slot and returns its index, waiting up to `timeout_ms`;
 * -1 when none came free in time. Prefers a slot for which
 * `connected(index, payload)` is true, so connections are only made when
 * the load needs them (called with the lock held: it must only look). */
int slots_take(slots_t *s, int timeout_ms, bool (*connected)(int index, void *payload),
               void *payload);

/** Gives slot `index` back and wakes one waiter. */
void slots_put(slots_t *s, int index);

/** The time `ms` milliseconds from now on `clock`, for timed waits. */
struct timespec timespec_in_ms(clockid_t clock, int64_t ms);

#endif
