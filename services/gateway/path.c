/* path.c — a request's path and query as the router reads them: /api/v1
 * paths cut into segments, segments matched against the route table's
 * patterns, the text rules every path and query argument obeys, and what
 * counts as a JSON body's Content-Type.
 *
 * Pure functions of their arguments (no connection, no daemon): the router
 * calls them, t/test_path.c checks them. */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "gateway.h"

bool gw_path_split(arena_t *a, const char *rest, const char **segs, int cap, int *nsegs)
{
    const char *p = rest;
    *nsegs = 0;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || *nsegs >= cap)
            return false;
        segs[(*nsegs)++] = arena_strndup(a, p, len);
        p += len;
        if (*p == '/') {
            p++;
            if (*p == '\0') /* a trailing slash */
                return false;
        }
    }
    return true;
}

bool gw_route_match(const char *pattern, const char *const *segs, int nsegs)
{
    int i = 0;
    const char *p = pattern;
    while (*p) {
        if (i >= nsegs)
            return false;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!(len == 1 && p[0] == ':') &&
            (strlen(segs[i]) != len || strncmp(p, segs[i], len) != 0))
            return false;
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    return i == nsegs;
}

bool gw_text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return false;
    json_t *j = json_stringn(s, n); /* jansson validates UTF-8 */
    if (j == NULL)
        return false;
    json_decref(j);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return false;
    return true;
}

bool gw_json_content_type(const char *ct)
{
    return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
           (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}
