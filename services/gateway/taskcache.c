/* taskcache.c — learner task views kept by version and content hash.
 *
 * Every task page and every submit asked content for the task (GetTask, a
 * PostgreSQL round trip). A version of a task never changes, so its view is
 * kept here under (slug, version, content hash), packed, and unpacked for
 * each caller. What "current" means is the part that changes: the heads —
 * each listed task's current version and hash — come from one ListTasks
 * (the learner-visible tasks: no archived and no not-yet-started contest
 * task) and are used for at most the cache TTL, and only while the
 * generation in Redis (kvc_key_tasks_gen) is the one they were read at. A
 * gateway that forwards an author's change bumps that generation, so every
 * replica stops trusting its heads at once. A task that is not among the
 * heads (archived, hidden, unknown) and an old version are asked of content
 * every time, as before: their answers depend on more than the version.
 * Redis away or a failed list: content is asked, as before. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

#define CONTENT_SVC (&dojo__content__v1__content__descriptor)
#define TC_BUCKETS 512
#define TC_MAX_VIEWS 4096
#define TC_MAX_PAGES 20

typedef struct tc_head {
    struct tc_head *next;
    char *slug;
    int32_t version;
    char *hash;
} tc_head_t;

typedef struct tc_view {
    struct tc_view *next;
    char *slug;
    int32_t version;
    char *hash;
    uint8_t *packed; /* a GetTaskResponse */
    size_t len;
} tc_view_t;

struct gw_taskcache {
    int64_t ttl_ms;
    pthread_mutex_t lock;
    tc_head_t *heads[TC_BUCKETS]; /* NULL table: none read yet */
    bool have_heads;
    long long heads_gen;
    int64_t heads_at_ms;
    bool refreshing;
    tc_view_t *views[TC_BUCKETS];
    size_t nviews;
};

static uint32_t slot_of(const char *slug, int32_t version)
{
    uint32_t h = 2166136261u ^ (uint32_t)version;
    for (const char *p = slug; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h % TC_BUCKETS;
}

static void heads_free(tc_head_t **table)
{
    for (size_t b = 0; b < TC_BUCKETS; b++) {
        for (tc_head_t *h = table[b], *n; h; h = n) {
            n = h->next;
            free(h->slug);
            free(h->hash);
            free(h);
        }
        table[b] = NULL;
    }
}

static void views_free(gw_taskcache_t *c)
{
    for (size_t b = 0; b < TC_BUCKETS; b++) {
        for (tc_view_t *v = c->views[b], *n; v; v = n) {
            n = v->next;
            free(v->slug);
            free(v->hash);
            free(v->packed);
            free(v);
        }
        c->views[b] = NULL;
    }
    c->nviews = 0;
}

static char *xstrdup_or_abort(const char *s)
{
    char *d = strdup(s ? s : "");
    if (d == NULL)
        abort();
    return d;
}

int gw_taskcache_open(gw_taskcache_t **out, int64_t ttl_ms)
{
    gw_taskcache_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->ttl_ms = ttl_ms;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void gw_taskcache_close(gw_taskcache_t *c)
{
    if (c == NULL)
        return;
    heads_free(c->heads);
    views_free(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The generation in Redis; -1 when Redis cannot say. */
static long long tasks_gen(gw_t *gw)
{
    kvc_key_t k;
    cleanup_err err_t *e = NULL;
    cleanup_redis_reply redisReply *rep = NULL;
    if (kv_command(gw->kv, &rep, &e, "GET %s", kvc_key_tasks_gen(&k)) < 0)
        return -1;
    if (rep->type == REDIS_REPLY_NIL)
        return 0;
    if (rep->type != REDIS_REPLY_STRING)
        return -1;
    return strtoll(rep->str, NULL, 10);
}

void gw_taskcache_changed(gw_t *gw)
{
    gw_taskcache_t *c = gw->taskcache;
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->have_heads = false;
    pthread_mutex_unlock(&c->lock);
    kvc_key_t k;
    cleanup_err err_t *e = NULL;
    if (kv_command(gw->kv, NULL, &e, "INCR %s", kvc_key_tasks_gen(&k)) < 0)
        LOG_WARN("task cache generation not bumped", "error=\"%s\"", log_esc(e->msg));
}

/* Reads every listed task's head into `table` (new entries). */
static int heads_read(gw_req_t *r, tc_head_t **table, err_t **err)
{
    char token[512] = "";
    for (int page_no = 0; page_no < TC_MAX_PAGES; page_no++) {
        Dojo__Content__V1__ListTasksRequest req = DOJO__CONTENT__V1__LIST_TASKS_REQUEST__INIT;
        Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
        page.page_size = 500;
        page.page_token = token;
        req.tag = "";
        req.query = "";
        req.page = &page;
        cleanup_pb Dojo__Content__V1__ListTasksResponse *lr = NULL;
        rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
        if (rpc_client_call(r->gw->content, CONTENT_SVC, "ListTasks", &req.base,
                            (ProtobufCMessage **)&lr, &o, err) < 0)
            return -1;
        for (size_t i = 0; i < lr->n_tasks; i++) {
            const Dojo__Content__V1__TaskSummary *t = lr->tasks[i];
            tc_head_t *h = calloc(1, sizeof *h);
            if (h == NULL)
                abort();
            h->slug = xstrdup_or_abort(t->slug);
            h->hash = xstrdup_or_abort(t->content_hash);
            h->version = t->version;
            uint32_t b = slot_of(h->slug, 0);
            h->next = table[b];
            table[b] = h;
        }
        const char *next = lr->page ? lr->page->next_page_token : "";
        if (next == NULL || *next == '\0' || strlen(next) >= sizeof token)
            return 0;
        snprintf(token, sizeof token, "%s", next);
    }
    return 0;
}

/* The current head of `slug` into *version and hash (hash_cap bytes):
 * true when the heads are fresh and list it. */
static bool head_of(gw_req_t *r, gw_taskcache_t *c, const char *slug, int32_t *version,
                    char *hash, size_t hash_cap)
{
    long long gen = tasks_gen(r->gw);
    if (gen < 0)
        return false;
    int64_t now = mono_ms();
    pthread_mutex_lock(&c->lock);
    bool fresh = c->have_heads && c->heads_gen == gen && now - c->heads_at_ms < c->ttl_ms;
    if (!fresh) {
        if (c->refreshing) {
            /* Another request reads them: ask content directly meanwhile. */
            pthread_mutex_unlock(&c->lock);
            return false;
        }
        c->refreshing = true;
        pthread_mutex_unlock(&c->lock);
        tc_head_t *table[TC_BUCKETS] = {0};
        cleanup_err err_t *e = NULL;
        int rc = heads_read(r, table, &e);
        pthread_mutex_lock(&c->lock);
        c->refreshing = false;
        if (rc < 0) {
            heads_free(table);
            pthread_mutex_unlock(&c->lock);
            LOG_DEBUG("task heads not read", "error=\"%s\"", log_esc(e->msg));
            return false;
        }
        heads_free(c->heads);
        memcpy(c->heads, table, sizeof table);
        c->have_heads = true;
        c->heads_gen = gen;
        c->heads_at_ms = now;
    }
    bool found = false;
    for (tc_head_t *h = c->heads[slot_of(slug, 0)]; h && !found; h = h->next)
        if (!strcmp(h->slug, slug)) {
            *version = h->version;
            snprintf(hash, hash_cap, "%s", h->hash);
            found = true;
        }
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* The kept view of (slug, version, hash), unpacked (new), or NULL. */
static Dojo__Content__V1__GetTaskResponse *view_get(gw_taskcache_t *c, const char *slug,
                                                   int32_t version, const char *hash)
{
    Dojo__Content__V1__GetTaskResponse *out = NULL;
    pthread_mutex_lock(&c->lock);
    for (tc_view_t *v = c->views[slot_of(slug, version)]; v && !out; v = v->next)
        if (v->version == version && !strcmp(v->slug, slug) && !strcmp(v->hash, hash))
            out = dojo__content__v1__get_task_response__unpack(NULL, v->len, v->packed);
    pthread_mutex_unlock(&c->lock);
    return out;
}

static void view_put(gw_taskcache_t *c, const Dojo__Content__V1__GetTaskResponse *resp)
{
    const Dojo__Content__V1__TaskView *t = resp->task;
    size_t len = dojo__content__v1__get_task_response__get_packed_size(resp);
    uint8_t *packed = malloc(len ? len : 1);
    if (packed == NULL)
        abort();
    dojo__content__v1__get_task_response__pack(resp, packed);
    pthread_mutex_lock(&c->lock);
    if (c->nviews >= TC_MAX_VIEWS)
        views_free(c); /* many more versions than tasks: start over */
    uint32_t b = slot_of(t->slug, t->version);
    for (tc_view_t *v = c->views[b]; v; v = v->next)
        if (v->version == t->version && !strcmp(v->slug, t->slug) &&
            !strcmp(v->hash, t->content_hash ? t->content_hash : "")) {
            pthread_mutex_unlock(&c->lock);
            free(packed);
            return;
        }
    tc_view_t *v = calloc(1, sizeof *v);
    if (v == NULL)
        abort();
    v->slug = xstrdup_or_abort(t->slug);
    v->hash = xstrdup_or_abort(t->content_hash);
    v->version = t->version;
    v->packed = packed;
    v->len = len;
    v->next = c->views[b];
    c->views[b] = v;
    c->nviews++;
    pthread_mutex_unlock(&c->lock);
}

static int get_task(gw_req_t *r, const char *slug, int version,
                    Dojo__Content__V1__GetTaskResponse **out, err_t **err)
{
    Dojo__Content__V1__GetTaskRequest req = DOJO__CONTENT__V1__GET_TASK_REQUEST__INIT;
    req.slug = (char *)slug;
    req.version = version;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "GetTask", &req.base,
                        (ProtobufCMessage **)out, &o, err) < 0)
        return -1;
    if ((*out)->task == NULL) {
        protobuf_c_message_free_unpacked(&(*out)->base, NULL);
        *out = NULL;
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no task %s", slug);
    }
    return 0;
}

int gw_task_view(gw_req_t *r, const char *slug, int version,
                 Dojo__Content__V1__GetTaskResponse **out, err_t **err)
{
    if (strlen(slug) > 64)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no task %.64s", slug);
    gw_taskcache_t *c = r->gw->taskcache;
    int32_t head = 0;
    char hash[128];
    if (c == NULL || c->ttl_ms <= 0 || !head_of(r, c, slug, &head, hash, sizeof hash) ||
        (version != 0 && version != head))
        return get_task(r, slug, version, out, err);
    *out = view_get(c, slug, head, hash);
    if (*out != NULL) {
        metrics_counter_add("dojo_gateway_task_views_total", "source=\"cache\"", 1);
        return 0;
    }
    if (get_task(r, slug, head, out, err) < 0)
        return -1;
    metrics_counter_add("dojo_gateway_task_views_total", "source=\"content\"", 1);
    /* Kept only when it is the head the list named. */
    const Dojo__Content__V1__TaskView *t = (*out)->task;
    if (t->version == head && t->content_hash && !strcmp(t->content_hash, hash) && t->slug &&
        !strcmp(t->slug, slug))
        view_put(c, *out);
    return 0;
}
