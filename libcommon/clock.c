/* clock.c — "now" for date rules (DOJO_CLOCK_FILE in tests) and RFC 3339
 * times, none of which consults TZ. */
#define _GNU_SOURCE
#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int clock_parse_rfc3339(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n == 0)
        return -1;
    const char *p = s + n;
    int64_t frac_us = 0;
    if (*p == '.') {
        int64_t scale = 100000;
        for (p++; isdigit((unsigned char)*p); p++) {
            frac_us += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return -1;
        offset_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm); /* timegm is UTC-only: no TZ involved */
    *out = ((int64_t)t - offset_s) * 1000000 + frac_us;
    return 0;
}

void clock_format_rfc3339(int64_t us, char *out, size_t cap)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int ms = (int)((us - secs * 1000000) / 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

int64_t clock_now_us(const char *clock_file)
{
    if (clock_file == NULL || clock_file[0] == '\0')
        return wall_us();
    char buf[128];
    FILE *f = fopen(clock_file, "re");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    char *end = NULL;
    errno = 0;
    double secs = strtod(buf, &end);
    if (f && end != buf && errno == 0) {
        while (isspace((unsigned char)*end))
            end++;
        if (*end == '\0')
            return (int64_t)(secs * 1e6 + (secs >= 0 ? 0.5 : -0.5));
    }
    int64_t us;
    if (f && clock_parse_rfc3339(buf, &us) == 0)
        return us;
    LOG_WARN("clock file unreadable; using real time", "file=\"%s\"", log_esc(clock_file));
    return wall_us();
}
