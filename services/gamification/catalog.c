/* catalog.c — what gamification needs from the content service: the facts
 * of a task version (cached for good: a slug and version never change
 * meaning), and a snapshot of the active tasks and achievement definitions
 * (cached for DOJO_GAMIFICATION_CONTENT_TTL, shared by reference). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

typedef struct facts_entry {
    char *slug;
    int version;
    gam_task_facts_t facts;
} facts_entry_t;

struct gam_catalog {
    pthread_mutex_t mu;
    facts_entry_t *facts;
    size_t nfacts, capfacts;
    gam_snapshot_t *snap;       /* one reference held here */
    pthread_mutex_t refresh_mu; /* one refresh at a time */
    int64_t miss_window_ms;     /* refreshes for a missing task: this second's start */
    int miss_refreshes;         /* and how many it has had */
};

int gam_catalog_open(gam_catalog_t **out, err_t **err)
{
    (void)err;
    gam_catalog_t *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->refresh_mu, NULL);
    *out = c;
    return 0;
}

static void snapshot_free(gam_snapshot_t *s)
{
    for (size_t i = 0; i < s->ntasks; i++) {
        free(s->tasks[i].slug);
        free(s->tasks[i].title);
        free(s->tasks[i].owner_id);
        for (size_t j = 0; j < s->tasks[i].ntags; j++)
            free(s->tasks[i].tags[j]);
        free(s->tasks[i].tags);
    }
    free(s->tasks);
    for (size_t i = 0; i < s->nachievements; i++) {
        gam_achievement_t *a = &s->achievements[i];
        free(a->slug);
        free(a->title);
        free(a->description);
        free(a->icon);
        free(a->tag);
    }
    free(s->achievements);
    free(s);
}

void gam_catalog_close(gam_catalog_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nfacts; i++)
        free(c->facts[i].slug);
    free(c->facts);
    if (c->snap)
        snapshot_free(c->snap);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->refresh_mu);
    free(c);
}

/* ------------------------------------------------------------------------
 * Task facts
 * ------------------------------------------------------------------------ */

static int content_call(gam_t *g, const char *method, const ProtobufCMessage *req,
                        ProtobufCMessage **out, err_t **err)
{
    rpc_call_opts_t opts = {
        .timeout_ms = 3000,
        .idempotent = true,
        .metadata = identity_service_metadata(g->ids),
    };
    if (rpc_client_call(g->content, &dojo__content__v1__content__descriptor, method, req, out,
                        &opts, err) < 0) {
        if ((*err)->code == GRPC_STATUS_NOT_FOUND)
            return err_wrap(err, "content %s", method);
        /* Whatever went wrong over there, to our callers content is away:
         * UNAVAILABLE tells the executor to retry RecordResult later. */
        err_recode(err, GRPC_STATUS_UNAVAILABLE, "content service unavailable, try again");
        return err_wrap(err, "content %s", method);
    }
    return 0;
}

int gam_task_facts(gam_t *g, const char *slug, int version, gam_task_facts_t *out, err_t **err)
{
    gam_catalog_t *c = g->catalog;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nfacts; i++) {
        if (c->facts[i].version == version && !strcmp(c->facts[i].slug, slug)) {
            *out = c->facts[i].facts;
            pthread_mutex_unlock(&c->mu);
            return 0;
        }
    }
    pthread_mutex_unlock(&c->mu);

    Dojo__Content__V1__GetTaskRequest req = DOJO__CONTENT__V1__GET_TASK_REQUEST__INIT;
    req.slug = (char *)slug;
    req.version = version;
    req.include_hidden = true; /* results of contest tasks count before any start */
    cleanup_pb ProtobufCMessage *resp_msg = NULL;
    if (content_call(g, "GetTask", &req.base, &resp_msg, err) < 0)
        return err_wrap(err, "facts of %s v%d", slug, version);
    const Dojo__Content__V1__GetTaskResponse *resp = (const void *)resp_msg;
    if (resp->task == NULL)
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "content GetTask: empty reply");
    gam_task_facts_t f = {.difficulty = resp->task->difficulty, .points = resp->task->points};

    pthread_mutex_lock(&c->mu);
    if (c->nfacts == c->capfacts) {
        c->capfacts = c->capfacts ? c->capfacts * 2 : 64;
        c->facts = xreallocarray(c->facts, c->capfacts, sizeof *c->facts);
    }
    c->facts[c->nfacts++] = (facts_entry_t){.slug = xstrdup(slug), .version = version, .facts = f};
    pthread_mutex_unlock(&c->mu);
    *out = f;
    return 0;
}

/* ------------------------------------------------------------------------
 * Snapshots of the task list and achievement definitions
 * ------------------------------------------------------------------------ */

static int fetch_snapshot(gam_t *g, gam_snapshot_t **out, err_t **err)
{
    gam_snapshot_t *s = xcalloc(1, sizeof *s);
    /* Its age counts from the first request: what it holds is at least that new. */
    s->fetched_ms = mono_ms();
    size_t cap = 0;
    char token[64] = "";
    for (int pages = 0; pages < 100; pages++) {
        Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
        page.page_size = 500;
        page.page_token = token;
        Dojo__Content__V1__ListTasksRequest req = DOJO__CONTENT__V1__LIST_TASKS_REQUEST__INIT;
        req.page = &page;
        cleanup_pb ProtobufCMessage *resp_msg = NULL;
        if (content_call(g, "ListTasks", &req.base, &resp_msg, err) < 0) {
            snapshot_free(s);
            return -1;
        }
        const Dojo__Content__V1__ListTasksResponse *resp = (const void *)resp_msg;
        for (size_t i = 0; i < resp->n_tasks; i++) {
            const Dojo__Content__V1__TaskSummary *t = resp->tasks[i];
            if (t->status == DOJO__CONTENT__V1__TASK_STATUS__TASK_STATUS_ARCHIVED)
                continue;
            if (s->ntasks == cap) {
                cap = cap ? cap * 2 : 64;
                s->tasks = xreallocarray(s->tasks, cap, sizeof *s->tasks);
            }
            gam_task_t *dst = &s->tasks[s->ntasks++];
            dst->slug = xstrdup(t->slug);
            dst->title = xstrdup(t->title);
            dst->owner_id = xstrdup(t->owner_id);
            dst->points = t->points;
            dst->difficulty = t->difficulty;
            dst->ntags = t->n_tags;
            dst->tags = xcalloc(t->n_tags + 1, sizeof *dst->tags);
            for (size_t j = 0; j < t->n_tags; j++)
                dst->tags[j] = xstrdup(t->tags[j]);
        }
        const char *next = resp->page ? resp->page->next_page_token : "";
        if (next == NULL || next[0] == '\0' || strlen(next) >= sizeof token)
            break;
        snprintf(token, sizeof token, "%s", next);
    }

    Dojo__Content__V1__ListAchievementsRequest areq =
        DOJO__CONTENT__V1__LIST_ACHIEVEMENTS_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *aresp_msg = NULL;
    if (content_call(g, "ListAchievements", &areq.base, &aresp_msg, err) < 0) {
        snapshot_free(s);
        return -1;
    }
    const Dojo__Content__V1__ListAchievementsResponse *aresp = (const void *)aresp_msg;
    s->achievements = xcalloc(aresp->n_achievements + 1, sizeof *s->achievements);
    for (size_t i = 0; i < aresp->n_achievements; i++) {
        const Dojo__Content__V1__AchievementDef *d = aresp->achievements[i];
        gam_achievement_t *a = &s->achievements[s->nachievements++];
        a->slug = xstrdup(d->slug);
        a->title = xstrdup(d->title);
        a->description = xstrdup(d->description);
        a->icon = xstrdup(d->icon);
        if (d->rule) {
            a->kind = d->rule->kind;
            a->threshold = d->rule->threshold;
            a->tag = xstrdup(d->rule->tag);
            a->difficulty = d->rule->difficulty;
        } else {
            a->tag = xstrdup("");
        }
    }
    s->refs = 1;
    *out = s;
    return 0;
}

/* The snapshot, fetched again first when older than max_age_ms. */
static int snapshot_get(gam_t *g, int64_t max_age_ms, gam_snapshot_t **out, err_t **err)
{
    gam_catalog_t *c = g->catalog;
    pthread_mutex_lock(&c->mu);
    gam_snapshot_t *s = c->snap;
    bool fresh = s && mono_ms() - s->fetched_ms < max_age_ms;
    if (fresh) {
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&c->mu);
        *out = s;
        return 0;
    }
    pthread_mutex_unlock(&c->mu);

    pthread_mutex_lock(&c->refresh_mu);
    /* Someone else may have refreshed while we waited. */
    pthread_mutex_lock(&c->mu);
    s = c->snap;
    if (s && mono_ms() - s->fetched_ms < max_age_ms) {
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&c->refresh_mu);
        *out = s;
        return 0;
    }
    pthread_mutex_unlock(&c->mu);

    gam_snapshot_t *fetched = NULL;
    cleanup_err err_t *ferr = NULL;
    int rc = fetch_snapshot(g, &fetched, &ferr);
    pthread_mutex_lock(&c->mu);
    if (rc == 0) {
        gam_snapshot_release(c->snap);
        c->snap = fetched;
    } else if (c->snap) {
        LOG_WARN("content unreachable; using cached tasks and achievements", "error=\"%s\"",
                 log_esc(ferr->msg));
    }
    s = c->snap;
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&c->refresh_mu);
    if (s == NULL) {
        *err = DOJO_STEAL(ferr);
        return -1;
    }
    *out = s;
    return 0;
}

int gam_snapshot_get(gam_t *g, gam_snapshot_t **out, err_t **err)
{
    return snapshot_get(g, g->cfg.content_ttl_ms, out, err);
}

/* A task created a moment ago is in content but not yet in a snapshot that
 * may be a TTL old: an author reading its analytics, a teacher assigning it.
 * A few refreshes a second at most bound what slugs that name no task can
 * cost (each refresh lists every task). */
#define SNAPSHOT_MISS_REFRESHES_PER_S 5

static bool miss_refresh_allowed(gam_catalog_t *c)
{
    pthread_mutex_lock(&c->mu);
    int64_t now = mono_ms();
    if (now - c->miss_window_ms >= 1000) {
        c->miss_window_ms = now;
        c->miss_refreshes = 0;
    }
    bool ok = c->miss_refreshes < SNAPSHOT_MISS_REFRESHES_PER_S;
    if (ok)
        c->miss_refreshes++;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

int gam_snapshot_get_with(gam_t *g, char *const *slugs, size_t n, gam_snapshot_t **out, err_t **err)
{
    gam_snapshot_t *s = NULL;
    if (snapshot_get(g, g->cfg.content_ttl_ms, &s, err) < 0)
        return -1;
    bool missing = false;
    for (size_t i = 0; i < n && !missing; i++)
        missing = gam_snapshot_task(s, slugs[i]) == NULL;
    if (!missing || !miss_refresh_allowed(g->catalog)) {
        *out = s;
        return 0;
    }
    int64_t had = s->fetched_ms;
    gam_snapshot_release(s);
    /* Newer than the one that missed: someone else's refresh may already do. */
    return snapshot_get(g, mono_ms() - had, out, err);
}

void gam_snapshot_release(gam_snapshot_t *s)
{
    if (s == NULL)
        return;
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        snapshot_free(s);
}

const gam_task_t *gam_snapshot_task(const gam_snapshot_t *s, const char *slug)
{
    for (size_t i = 0; i < s->ntasks; i++)
        if (!strcmp(s->tasks[i].slug, slug))
            return &s->tasks[i];
    return NULL;
}

const char *gam_task_title(const gam_snapshot_t *s, const char *slug)
{
    const gam_task_t *t = s ? gam_snapshot_task(s, slug) : NULL;
    return t ? t->title : slug;
}
