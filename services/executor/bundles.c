/* bundles.c — judge bundles (tests, limits, checker) from content, cached by
 * (slug, version): a pair never changes meaning, so entries never go stale;
 * the least recently used unreferenced ones go when the cache is full. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

typedef struct bundle_entry {
    char *slug;
    int version;
    Dojo__Content__V1__GetJudgeBundleResponse *resp;
    int refs;
    int64_t used_ms;
    struct bundle_entry *next;
} bundle_entry_t;

struct exec_bundle_cache {
    pthread_mutex_t lock;
    bundle_entry_t *head;
    int count, capacity;
};

int exec_bundles_open(exec_bundle_cache_t **out, int capacity)
{
    exec_bundle_cache_t *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity;
    *out = c;
    return 0;
}

static void bundle_entry_free(bundle_entry_t *e)
{
    free(e->slug);
    if (e->resp)
        protobuf_c_message_free_unpacked(&e->resp->base, NULL);
    free(e);
}

void exec_bundles_close(exec_bundle_cache_t *c)
{
    if (!c)
        return;
    for (bundle_entry_t *e = c->head, *n; e; e = n) {
        n = e->next;
        bundle_entry_free(e);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Drops least recently used unreferenced entries above capacity. */
static void bundles_trim(exec_bundle_cache_t *c)
{
    while (c->count > c->capacity) {
        bundle_entry_t **victim = NULL;
        for (bundle_entry_t **pp = &c->head; *pp; pp = &(*pp)->next)
            if ((*pp)->refs == 0 && (!victim || (*pp)->used_ms < (*victim)->used_ms))
                victim = pp;
        if (!victim)
            return;
        bundle_entry_t *e = *victim;
        *victim = e->next;
        bundle_entry_free(e);
        c->count--;
    }
}

/* A cached bundle, referenced; NULL on a miss. */
static const Dojo__Content__V1__JudgeBundle *bundles_lookup(exec_bundle_cache_t *c,
                                                            const char *slug, int version)
{
    const Dojo__Content__V1__JudgeBundle *found = NULL;
    pthread_mutex_lock(&c->lock);
    for (bundle_entry_t *e = c->head; e; e = e->next) {
        if (e->version == version && !strcmp(e->slug, slug)) {
            e->refs++;
            e->used_ms = mono_ms();
            found = e->resp->bundle;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* GetJudgeBundle from content. *out is new. */
static int bundle_fetch(exec_t *ex, const char *slug, int version,
                        Dojo__Content__V1__GetJudgeBundleResponse **out, err_t **err)
{
    Dojo__Content__V1__GetJudgeBundleRequest req = DOJO__CONTENT__V1__GET_JUDGE_BUNDLE_REQUEST__INIT;
    req.slug = (char *)slug;
    req.version = version;
    ProtobufCMessage *resp_msg = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 15000,
                            .idempotent = true,
                            .metadata = identity_service_metadata(ex->ids)};
    if (rpc_client_call(ex->content, &dojo__content__v1__content__descriptor, "GetJudgeBundle",
                        &req.base, &resp_msg, &opts, err) < 0)
        return err_wrap(err, "judge bundle %s v%d", slug, version);
    Dojo__Content__V1__GetJudgeBundleResponse *resp = (void *)resp_msg;
    if (!resp->bundle) {
        protobuf_c_message_free_unpacked(resp_msg, NULL);
        return err_set(err, GRPC_STATUS_INTERNAL, "judge bundle %s v%d: empty reply", slug,
                       version);
    }
    *out = resp;
    return 0;
}

int exec_bundle_get(exec_t *ex, const char *slug, int version,
                    const Dojo__Content__V1__JudgeBundle **out, err_t **err)
{
    exec_bundle_cache_t *c = ex->bundles;
    if ((*out = bundles_lookup(c, slug, version)) != NULL) {
        metrics_counter_add("dojo_executor_bundle_cache_total", "result=\"hit\"", 1);
        return 0;
    }
    metrics_counter_add("dojo_executor_bundle_cache_total", "result=\"miss\"", 1);
    Dojo__Content__V1__GetJudgeBundleResponse *resp = NULL;
    if (bundle_fetch(ex, slug, version, &resp, err) < 0)
        return -1;
    bundle_entry_t *e = xcalloc(1, sizeof *e);
    e->slug = xstrdup(slug);
    e->version = version;
    e->resp = resp;
    e->refs = 1;
    e->used_ms = mono_ms();
    pthread_mutex_lock(&c->lock);
    e->next = c->head;
    c->head = e;
    c->count++;
    bundles_trim(c);
    pthread_mutex_unlock(&c->lock);
    *out = resp->bundle;
    return 0;
}

void exec_bundle_release(exec_t *ex, const Dojo__Content__V1__JudgeBundle *b)
{
    if (!b)
        return;
    exec_bundle_cache_t *c = ex->bundles;
    pthread_mutex_lock(&c->lock);
    for (bundle_entry_t *e = c->head; e; e = e->next) {
        if (e->resp->bundle == b) {
            e->refs--;
            break;
        }
    }
    bundles_trim(c);
    pthread_mutex_unlock(&c->lock);
}
