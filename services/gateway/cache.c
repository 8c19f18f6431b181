/* cache.c — finished responses of public, shared reads (task lists and task
 * views) kept for a short TTL, keyed by route and query.
 *
 * A cached entry is a ready MHD response: libmicrohttpd reference-counts
 * responses and may queue one on many connections, so a hit costs a lookup
 * and no JSON work at all. That is what makes the ≥ 30k req/s budget. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/clock.h"
#include "libcommon/mem.h"

#define GW_CACHE_SLOTS 1024

typedef struct entry {
    char *key;
    struct MHD_Response *resp;
    int64_t expires_ms;
} entry_t;

struct gw_cache {
    pthread_mutex_t lock;
    int64_t ttl_ms;
    entry_t slots[GW_CACHE_SLOTS];
};

static size_t slot_of(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h % GW_CACHE_SLOTS);
}

int gw_cache_open(gw_cache_t **out, int64_t ttl_ms)
{
    gw_cache_t *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->ttl_ms = ttl_ms;
    *out = c;
    return 0;
}

void gw_cache_close(gw_cache_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < GW_CACHE_SLOTS; i++) {
        free(c->slots[i].key);
        if (c->slots[i].resp)
            MHD_destroy_response(c->slots[i].resp);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool gw_cache_queue(gw_cache_t *c, const char *key, struct MHD_Connection *conn,
                    enum MHD_Result *result)
{
    if (c->ttl_ms <= 0)
        return false;
    size_t i = slot_of(key);
    bool hit = false;
    pthread_mutex_lock(&c->lock);
    entry_t *e = &c->slots[i];
    if (e->key && !strcmp(e->key, key) && e->expires_ms > mono_ms()) {
        /* Queued under the lock: the connection takes its own reference
         * before gw_cache_put can drop ours. */
        *result = MHD_queue_response(conn, MHD_HTTP_OK, e->resp);
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

/* Takes over the caller's reference to `resp`. */
void gw_cache_put(gw_cache_t *c, const char *key, struct MHD_Response *resp)
{
    if (c->ttl_ms <= 0) {
        MHD_destroy_response(resp);
        return;
    }
    size_t i = slot_of(key);
    pthread_mutex_lock(&c->lock);
    entry_t *e = &c->slots[i];
    struct MHD_Response *old = e->resp;
    free(e->key);
    e->key = xstrdup(key);
    e->resp = resp;
    e->expires_ms = mono_ms() + c->ttl_ms;
    pthread_mutex_unlock(&c->lock);
    if (old)
        MHD_destroy_response(old);
}

/* Drops every entry: an author's write through this gateway shows at once in
 * its lists (other replicas catch up within the TTL). */
void gw_cache_clear(gw_cache_t *c)
{
    struct MHD_Response *old[GW_CACHE_SLOTS];
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < GW_CACHE_SLOTS; i++) {
        entry_t *e = &c->slots[i];
        if (e->resp)
            old[n++] = e->resp;
        free(e->key);
        e->key = NULL;
        e->resp = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        MHD_destroy_response(old[i]);
}
