/* slots.c — slot leases with a timed wait; see slots.h. */
#include "slots.h"

#include <errno.h>
#include <stdlib.h>

#include "mem.h"

struct timespec timespec_in_ms(clockid_t clock, int64_t ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

void slots_init(slots_t *s, int size)
{
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &attr);
    pthread_condattr_destroy(&attr);
    s->size = size;
    s->in_use = xcalloc((size_t)size, sizeof *s->in_use);
}

void slots_destroy(slots_t *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->in_use);
    s->in_use = NULL;
}

/* Called with s->mu held. */
static int take_free(slots_t *s, bool (*connected)(int, void *), void *payload)
{
    int unconnected = -1;
    for (int i = 0; i < s->size; i++) {
        if (s->in_use[i])
            continue;
        if (connected(i, payload)) {
            s->in_use[i] = true;
            return i;
        }
        if (unconnected < 0)
            unconnected = i;
    }
    if (unconnected >= 0)
        s->in_use[unconnected] = true;
    return unconnected;
}

int slots_take(slots_t *s, int timeout_ms, bool (*connected)(int index, void *payload),
               void *payload)
{
    struct timespec deadline = timespec_in_ms(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&s->mu);
    int i;
    while ((i = take_free(s, connected, payload)) < 0) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT) {
            i = take_free(s, connected, payload);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return i;
}

void slots_put(slots_t *s, int index)
{
    pthread_mutex_lock(&s->mu);
    s->in_use[index] = false;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}
