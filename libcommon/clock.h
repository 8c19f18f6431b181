/* clock.h — the clocks the services read: a monotonic one for timeouts,
 * ages and intervals, the wall clock for timestamps that leave the process,
 * and "now" for rules that depend on the date (streaks, weeks, contest
 * windows), which tests move with DOJO_CLOCK_FILE; RFC 3339 times; and a
 * short sleep. Thread-safe. */
#ifndef DOJO_CLOCK_H
#define DOJO_CLOCK_H

#include <stddef.h>
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

/** "Now" in microseconds since the epoch for rules that depend on the date:
 * the contents of `clock_file` when it is non-empty (DOJO_CLOCK_FILE, tests
 * only: unix seconds, possibly fractional, or RFC 3339), read on every call;
 * the wall clock otherwise, and, with a warning, when the file cannot be read
 * or parsed. Every service that honours DOJO_CLOCK_FILE reads it here. */
int64_t clock_now_us(const char *clock_file);

/** Parses an RFC 3339 time ("2026-03-08T09:30:00Z",
 * "2026-03-08T09:30:00.250+05:30") without consulting TZ. 0 with *out in
 * microseconds since the epoch, or -1. */
int clock_parse_rfc3339(const char *s, int64_t *out);

/** Formats `us` as RFC 3339 UTC with milliseconds ("2026-03-08T09:30:00.250Z")
 * into out (at least 32 bytes). */
void clock_format_rfc3339(int64_t us, char *out, size_t cap);

#endif