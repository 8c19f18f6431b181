/* tasks.c — the public catalogue: task lists and task views (cached), the
 * languages and the achievement definitions.
 *
 * These reads are the same for everyone, so the gateway asks content as
 * itself (service key) and may share one answer between all callers for a
 * short TTL. Learner views come from Content.GetTask, whose TaskView has no
 * field that could hold hidden tests or solutions, kept by version and
 * content hash (taskcache.c). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

#define CONTENT_SVC (&dojo__content__v1__content__descriptor)

/* Builds a ready response for JSON `body` (stolen) with the API's headers. */
static struct MHD_Response *cached_response(gw_req_t *r, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        abort();
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        abort();
    gw_security_headers(r->gw, resp, true);
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%lld",
             (long long)(r->gw->cfg.tasks_cache_ms / 1000 > 0 ? r->gw->cfg.tasks_cache_ms / 1000
                                                             : 0));
    MHD_add_response_header(resp, "Cache-Control", cc);
    MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    return resp;
}

static enum MHD_Result send_error(gw_req_t *r, err_t *e)
{
    int status = 500;
    json_t *body = gw_error_json(e, &status);
    if (status >= 500)
        LOG_WARN("request failed", "path=\"%s\" status=%d error=\"%s\"", log_esc(r->path), status,
                 log_esc(e->msg));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    gw_security_headers(r->gw, resp, true);
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Request-Id", r->req_id);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static int list_tasks(gw_req_t *r, bool include_archived, const char *const *md, json_t **out,
                      char *key, size_t keycap, err_t **err)
{
    const char *diff = gw_query(r, "difficulty");
    const char *tag = gw_query(r, "tag");
    const char *q = gw_query(r, "q");
    const char *tok = gw_query(r, "page_token");
    int64_t size = 0;
    if (gw_query_int(r, "page_size", 0, 500, &size, err) < 0)
        return -1;
    Dojo__Content__V1__ListTasksRequest req = DOJO__CONTENT__V1__LIST_TASKS_REQUEST__INIT;
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    if (diff && *diff) {
        int d = gw_difficulty_parse(diff);
        if (d < 0)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "difficulty: must be easy, medium or hard");
        req.difficulty = d;
    }
    if (tag && strlen(tag) > 32)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "tag: must be at most 32 characters");
    if (q && strlen(q) > 100)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "q: must be at most 100 characters");
    if (tok && strlen(tok) > 512)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "page_token: too long");
    req.tag = (char *)(tag ? tag : "");
    req.query = (char *)(q ? q : "");
    req.include_archived = include_archived;
    page.page_size = (int32_t)size;
    page.page_token = (char *)(tok ? tok : "");
    req.page = &page;
    if (key)
        snprintf(key, keycap, "tasks|%d|%s|%s|%d|%s", req.difficulty, req.tag, req.query,
                 page.page_size, page.page_token);
    cleanup_pb ProtobufCMessage *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, md, true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ListTasks", &req.base, &resp, &o, err) < 0)
        return -1;
    const Dojo__Content__V1__ListTasksResponse *lr = (Dojo__Content__V1__ListTasksResponse *)resp;
    json_t *tasks = json_array();
    for (size_t i = 0; i < lr->n_tasks; i++)
        json_array_append_new(tasks, gw_json_task_summary(lr->tasks[i]));
    *out = json_pack("{s:o,s:s,s:I}", "tasks", tasks, "next_page_token",
                     lr->page ? lr->page->next_page_token : "", "total",
                     (json_int_t)(lr->page ? lr->page->total : -1));
    return 0;
}

enum MHD_Result gw_h_tasks_list(gw_req_t *r)
{
    /* The cache key is the raw query string's arguments we understand, so a
     * hit costs no parsing beyond MHD's own. */
    char key[1024];
    const char *d = gw_query(r, "difficulty"), *t = gw_query(r, "tag"), *q = gw_query(r, "q"),
               *s = gw_query(r, "page_size"), *p = gw_query(r, "page_token");
    snprintf(key, sizeof key, "raw|%s|%s|%s|%s|%s", d ? d : "", t ? t : "", q ? q : "",
             s ? s : "", p ? p : "");
    enum MHD_Result res;
    if (gw_cache_queue(r->gw->cache, key, r->conn, &res))
        return res;
    cleanup_err err_t *e = NULL;
    json_t *out = NULL;
    if (list_tasks(r, false, gw_md_service(r), &out, NULL, 0, &e) < 0)
        return send_error(r, e);
    struct MHD_Response *resp = cached_response(r, out);
    res = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    gw_cache_put(r->gw->cache, key, resp);
    return res;
}

int gw_h_task_get(gw_req_t *r, err_t **err)
{
    int64_t version = 0;
    if (gw_query_int(r, "version", 1, INT32_MAX, &version, err) < 0)
        return -1;
    cleanup_pb Dojo__Content__V1__GetTaskResponse *t = NULL;
    if (gw_task_view(r, r->segs[1], (int)version, &t, err) < 0)
        return -1;
    r->out = gw_json_task_view(t->task);
    r->status = 200;
    char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%lld", (long long)(r->gw->cfg.tasks_cache_ms / 1000));
    gw_add_header(r, "Cache-Control", cc);
    return 0;
}

int gw_h_languages(gw_req_t *r, err_t **err)
{
    Dojo__Content__V1__ListLanguagesRequest req = DOJO__CONTENT__V1__LIST_LANGUAGES_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ListLanguages", &req.base, &resp, &o, err) <
        0)
        return -1;
    const Dojo__Content__V1__ListLanguagesResponse *lr =
        (Dojo__Content__V1__ListLanguagesResponse *)resp;
    json_t *a = json_array();
    for (size_t i = 0; i < lr->n_languages; i++) {
        const Dojo__Content__V1__Language *l = lr->languages[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "id", l->id,
                                           "display_name", l->display_name, "file_extension",
                                           l->file_extension, "editor_mode", l->editor_mode,
                                           "version", l->version, "compiled", l->compiled));
    }
    r->out = json_pack("{s:o}", "languages", a);
    r->status = 200;
    /* The catalogue changes only with a deployment: cached like the tasks. */
    char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%lld", (long long)(r->gw->cfg.tasks_cache_ms / 1000));
    gw_add_header(r, "Cache-Control", cc);
    return 0;
}

int gw_h_achievements(gw_req_t *r, err_t **err)
{
    Dojo__Content__V1__ListAchievementsRequest req =
        DOJO__CONTENT__V1__LIST_ACHIEVEMENTS_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ListAchievements", &req.base, &resp, &o,
                        err) < 0)
        return -1;
    const Dojo__Content__V1__ListAchievementsResponse *lr =
        (Dojo__Content__V1__ListAchievementsResponse *)resp;
    json_t *a = json_array();
    for (size_t i = 0; i < lr->n_achievements; i++) {
        const Dojo__Content__V1__AchievementDef *d = lr->achievements[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:i}", "slug", d->slug, "title",
                                           d->title, "description", d->description, "icon",
                                           d->icon, "sort_order", d->sort_order));
    }
    r->out = json_pack("{s:o}", "achievements", a);
    r->status = 200;
    return 0;
}

/* Solve counts, acceptance and attempts of every task: public, like the list. */
int gw_h_task_stats(gw_req_t *r, err_t **err)
{
    Dojo__Gamification__V1__ListTaskStatsRequest req =
        DOJO__GAMIFICATION__V1__LIST_TASK_STATS_REQUEST__INIT;
    cleanup_pb Dojo__Gamification__V1__ListTaskStatsResponse *lr = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->game, &dojo__gamification__v1__gamification__descriptor,
                        "ListTaskStats", &req.base, (ProtobufCMessage **)&lr, &o, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < lr->n_stats; i++) {
        const Dojo__Gamification__V1__TaskStats *t = lr->stats[i];
        json_array_append_new(
            a, json_pack("{s:s,s:i,s:i,s:i,s:i,s:o,s:f}", "task_slug", t->task_slug, "solvers",
                         t->solvers, "attempters", t->attempters, "submissions", t->submissions,
                         "accepted", t->accepted, "acceptance_rate",
                         t->submissions ? json_real((double)t->accepted / t->submissions)
                                        : json_null(),
                         "median_attempts", t->median_attempts));
    }
    r->out = json_pack("{s:o}", "stats", a);
    r->status = 200;
    char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%lld", (long long)(r->gw->cfg.tasks_cache_ms / 1000));
    gw_add_header(r, "Cache-Control", cc);
    return 0;
}

/* The tracks (ordered sets of tasks to follow): public, cached like the list.
 * Progress through them is the learner's solved list (/me/progress). */
int gw_h_tracks(gw_req_t *r, err_t **err)
{
    Dojo__Content__V1__ListTracksRequest req = DOJO__CONTENT__V1__LIST_TRACKS_REQUEST__INIT;
    cleanup_pb Dojo__Content__V1__ListTracksResponse *lr = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ListTracks", &req.base,
                        (ProtobufCMessage **)&lr, &o, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < lr->n_tracks; i++) {
        const Dojo__Content__V1__Track *t = lr->tracks[i];
        json_t *slugs = json_array();
        for (size_t k = 0; k < t->n_task_slugs; k++)
            json_array_append_new(slugs, json_string(t->task_slugs[k]));
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:o,s:i}", "slug", t->slug, "title",
                                           t->title, "description", t->description, "tasks", slugs,
                                           "sort_order", t->sort_order));
    }
    r->out = json_pack("{s:o}", "tracks", a);
    r->status = 200;
    char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%lld", (long long)(r->gw->cfg.tasks_cache_ms / 1000));
    gw_add_header(r, "Cache-Control", cc);
    return 0;
}

/* Whether the caller solved `slug` (an accepted submission of their own). */
static int has_solved(gw_req_t *r, const char *slug, bool *out, err_t **err)
{
    Dojo__Gamification__V1__GetProgressRequest req =
        DOJO__GAMIFICATION__V1__GET_PROGRESS_REQUEST__INIT;
    cleanup_pb Dojo__Gamification__V1__GetProgressResponse *p = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->game, &dojo__gamification__v1__gamification__descriptor,
                        "GetProgress", &req.base, (ProtobufCMessage **)&p, &o, err) < 0)
        return -1;
    *out = false;
    for (size_t i = 0; i < p->n_solved && !*out; i++)
        *out = !strcmp(p->solved[i], slug);
    return 0;
}

/* The editorial and reference solutions: only for a learner who solved the
 * task (authors and admins always). */
int gw_h_task_solutions(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    const char *slug = r->segs[1];
    if (strlen(slug) > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "slug: too long");
    bool author = !strcmp(r->claims.role, "author") || !strcmp(r->claims.role, "admin");
    bool solved = author;
    if (!author && has_solved(r, slug, &solved, err) < 0)
        return -1;
    if (!solved)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "the editorial and the reference solutions open after your own accepted "
                       "submission of this task");
    Dojo__Content__V1__GetTaskSolutionsRequest req =
        DOJO__CONTENT__V1__GET_TASK_SOLUTIONS_REQUEST__INIT;
    req.slug = (char *)slug;
    cleanup_pb Dojo__Content__V1__GetTaskSolutionsResponse *s = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "GetTaskSolutions", &req.base,
                        (ProtobufCMessage **)&s, &o, err) < 0)
        return -1;
    json_t *refs = json_array();
    for (size_t i = 0; i < s->n_reference_solutions; i++) {
        const Dojo__Content__V1__Solution *x = s->reference_solutions[i];
        json_array_append_new(refs, json_pack("{s:s,s:s,s:s}", "name", x->name, "language",
                                              x->language, "code", x->code));
    }
    r->out = json_pack("{s:s,s:i,s:s,s:o}", "slug", s->slug, "version", s->version, "editorial",
                       s->editorial, "reference_solutions", refs);
    r->status = 200;
    return 0;
}

/* Used by author.c: the same list including archived tasks, as the author. */
int gw_tasks_list_json(gw_req_t *r, json_t **out, err_t **err)
{
    return list_tasks(r, true, gw_md_user(r), out, NULL, 0, err);
}
