/* clock.h — the two clocks the services read: a monotonic one for timeouts,
 * ages and intervals, and the wall clock for timestamps that leave the
 * process; and a short sleep. Thread-safe. */
#ifndef DOJO_CLOCK_H
#define DOJO_CLOCK_H

#include <stdint.h>
#include <time.h>

/** Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
static inline int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** Microseconds since the Unix epoch on CLOCK_REALTIME (may jump). */
static inline int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/** Sleeps about `ms` milliseconds (a signal may end it early). */
static inline void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
