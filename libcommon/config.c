/* config.c — environment variables with defaults; a bad value stops the
 * service with a message naming the variable. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void die(const char *name, const char *value, const char *why)
{
    fprintf(stderr, "configuration error: %s=\"%s\": %s\n", name, value ? value : "", why);
    exit(2);
}

const char *config_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v == NULL || v[0] == '\0') ? def : v;
}

const char *config_str_required(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        die(name, v, "must be set");
    return v;
}

int64_t config_int(const char *name, int64_t def, int64_t min, int64_t max)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        return def;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0')
        die(name, v, "must be a whole number");
    if (n < min || n > max) {
        char why[128];
        snprintf(why, sizeof why, "must be between %lld and %lld", (long long)min,
                 (long long)max);
        die(name, v, why);
    }
    return n;
}

bool config_bool(const char *name, bool def)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        return def;
    if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on"))
        return true;
    if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
        !strcasecmp(v, "off"))
        return false;
    die(name, v, "must be true or false");
    return def;
}

int config_parse_duration_ms(const char *text, int64_t *out_ms)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || n < 0)
        return -1;
    int64_t mult;
    if (*end == '\0' || !strcmp(end, "s"))
        mult = 1000;
    else if (!strcmp(end, "ms"))
        mult = 1;
    else if (!strcmp(end, "m"))
        mult = 60 * 1000;
    else if (!strcmp(end, "h"))
        mult = 3600 * 1000;
    else if (!strcmp(end, "d"))
        mult = 86400LL * 1000;
    else
        return -1;
    if (n > INT64_MAX / mult)
        return -1;
    *out_ms = n * mult;
    return 0;
}

int64_t config_duration_ms(const char *name, const char *def, int64_t min_ms, int64_t max_ms)
{
    const char *v = config_str(name, def);
    int64_t ms = 0;
    if (config_parse_duration_ms(v, &ms) < 0)
        die(name, v, "must be a duration such as 500ms, 30s, 15m, 1h or 7d");
    if (ms < min_ms || ms > max_ms) {
        char why[128];
        snprintf(why, sizeof why, "must be between %lld ms and %lld ms", (long long)min_ms,
                 (long long)max_ms);
        die(name, v, why);
    }
    return ms;
}

const char *config_addr(const char *name, const char *def)
{
    const char *v = config_str(name, def);
    const char *colon = strrchr(v, ':');
    if (colon == NULL || colon == v)
        die(name, v, "must be host:port");
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
        die(name, v, "must be host:port with a port from 0 to 65535");
    return v;
}

int config_enum(const char *name, const char *def, const char *const *choices)
{
    const char *v = config_str(name, def);
    for (int i = 0; choices[i]; i++)
        if (!strcasecmp(v, choices[i]))
            return i;
    char why[256] = "must be one of:";
    for (int i = 0; choices[i]; i++) {
        strncat(why, " ", sizeof why - strlen(why) - 1);
        strncat(why, choices[i], sizeof why - strlen(why) - 1);
    }
    die(name, v, why);
    return 0;
}
