/* tasks.c — learner-facing reads (ListTasks, GetTask, GetTasks, ListLanguages), the
 * executor's GetJudgeBundle, and the helpers every handler shares.
 *
 * Learner reads are built as TaskView/TaskSummary from the stored task:
 * those messages have no field that could carry a hidden test or a
 * solution, so leaking one would need a proto change, not a slip here. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/log.h"

/* ------------------------------------------------------------------------
 * Shared helpers
 * ------------------------------------------------------------------------ */

int content_conn(content_t *c, pg_conn_t **out, err_t **err)
{
    return pg_pool_acquire(c->pg, out, 3000, err);
}

int content_require_signed_in(content_t *c, rpc_call_t *call, identity_t *id, err_t **err)
{
    return identity_require_signed_in(c->idv, call, id, err);
}

int content_require_author(content_t *c, rpc_call_t *call, identity_t *id, err_t **err)
{
    if (identity_require_signed_in(c->idv, call, id, err) < 0)
        return -1;
    if (!identity_is_author(id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "this needs the author or admin role");
    return 0;
}

Dojo__Common__V1__Timestamp *content_timestamp(rpc_call_t *call, int64_t us)
{
    Dojo__Common__V1__Timestamp *t =
        RPC_NEW(call, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    t->unix_micros = us;
    return t;
}

void content_field_errors(rpc_call_t *call, const content_report_t *rep, bool warnings,
                          Dojo__Common__V1__FieldError ***out, size_t *n)
{
    const content_issue_t *v = warnings ? rep->warnings : rep->errors;
    size_t count = warnings ? rep->n_warnings : rep->n_errors;
    *out = rpc_alloc(call, (count + 1) * sizeof **out);
    *n = count;
    for (size_t i = 0; i < count; i++) {
        Dojo__Common__V1__FieldError *f =
            RPC_NEW(call, Dojo__Common__V1__FieldError, DOJO__COMMON__V1__FIELD_ERROR__INIT);
        f->path = rpc_strdup(call, v[i].path);
        f->message = rpc_strdup(call, v[i].message);
        f->file = rpc_strdup(call, rep->file);
        (*out)[i] = f;
    }
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

/* A timestamptz from a parameter of microseconds since the epoch (the
 * service's clock, DOJO_CLOCK_FILE in tests). */
#define CONTENT_TS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond')"

#define SUMMARY_COLUMNS                                                                            \
    "t.slug, t.title, t.difficulty, t.points, array_to_json(t.tags)::text, "                       \
    "array_to_json(t.languages)::text, t.status, t.current_version, v.content_hash, "              \
    "(extract(epoch from greatest(v.created_at, t.status_changed_at)) * 1000000)::bigint, "        \
    "coalesce(t.owner_id::text, ''), t.restrict_languages"
#define SUMMARY_FROM                                                                               \
    " FROM content.tasks t JOIN content.task_versions v "                                          \
    "ON v.slug = t.slug AND v.version = t.current_version "

static const pg_stmt_t stmt_task_list = {
    .name = "content_task_list",
    .sql = "SELECT " SUMMARY_COLUMNS ", count(*) OVER () " SUMMARY_FROM
           "WHERE ($1::int = 0 OR t.difficulty = $1::int) "
           "AND ($2 = '' OR $2 = ANY (t.tags)) "
           "AND ($3 = '' OR strpos(lower(t.slug), lower($3)) > 0 "
           "  OR strpos(lower(t.title), lower($3)) > 0 "
           "  OR EXISTS (SELECT 1 FROM unnest(t.tags) g WHERE strpos(g, lower($3)) > 0)) "
           "AND (t.status = 'active' OR $4::bool) "
           "AND ($7::bool OR NOT EXISTS (SELECT 1 FROM content.contest_tasks h "
           "  WHERE h.task_slug = t.slug AND h.hidden_until > " CONTENT_TS(8) ")) "
           "ORDER BY t.difficulty, t.title, t.slug LIMIT $5::int OFFSET $6::int",
    .nparams = 8,
};

/* Whether a contest that has not started yet hides the task. */
static const pg_stmt_t stmt_task_hidden = {
    .name = "content_task_hidden",
    .sql = "SELECT EXISTS (SELECT 1 FROM content.contest_tasks "
           "WHERE task_slug = $1 AND hidden_until > " CONTENT_TS(2) ")",
    .nparams = 2,
};

static const pg_stmt_t stmt_task_summary = {
    .name = "content_task_summary",
    .sql = "SELECT " SUMMARY_COLUMNS SUMMARY_FROM "WHERE t.slug = $1",
    .nparams = 1,
};

/* A JSON array of strings (from array_to_json) into the call's arena. */
static void strings_from_json_text(rpc_call_t *call, const char *text, char ***out, size_t *n)
{
    cleanup_json json_t *a = json_loads(text, 0, NULL);
    *n = 0;
    *out = rpc_alloc(call, (json_array_size(a) + 1) * sizeof **out);
    for (size_t i = 0; i < json_array_size(a); i++)
        if (json_is_string(json_array_get(a, i)))
            (*out)[(*n)++] = rpc_strdup(call, json_string_value(json_array_get(a, i)));
}

/* A task that does not restrict its languages accepts every language of the
 * catalogue: the listed ids (*v), then the others. */
static void add_catalogue_languages(rpc_call_t *call, char ***v, size_t *n)
{
    size_t n_all;
    const content_language_t *all = content_languages(&n_all);
    char **out = rpc_alloc(call, (*n + n_all + 1) * sizeof *out);
    memcpy(out, *v, *n * sizeof *out);
    size_t k = *n;
    for (size_t i = 0; i < n_all; i++) {
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++)
            seen = !strcmp(out[j], all[i].id);
        if (!seen)
            out[k++] = (char *)all[i].id;
    }
    *v = out;
    *n = k;
}

static Dojo__Content__V1__TaskSummary *summary_from_row(rpc_call_t *call, const PGresult *r,
                                                        int row)
{
    Dojo__Content__V1__TaskSummary *s =
        RPC_NEW(call, Dojo__Content__V1__TaskSummary, DOJO__CONTENT__V1__TASK_SUMMARY__INIT);
    s->slug = rpc_strdup(call, pg_get(r, row, 0));
    s->title = rpc_strdup(call, pg_get(r, row, 1));
    s->difficulty = (int)pg_get_int64(r, row, 2);
    s->points = (int32_t)pg_get_int64(r, row, 3);
    strings_from_json_text(call, pg_get(r, row, 4), &s->tags, &s->n_tags);
    strings_from_json_text(call, pg_get(r, row, 5), &s->languages, &s->n_languages);
    if (strcmp(pg_get(r, row, 11), "t") != 0)
        add_catalogue_languages(call, &s->languages, &s->n_languages);
    s->status = content_task_status(pg_get(r, row, 6));
    s->version = (int32_t)pg_get_int64(r, row, 7);
    s->content_hash = rpc_strdup(call, pg_get(r, row, 8));
    s->updated_at = content_timestamp(call, pg_get_int64(r, row, 9));
    s->owner_id = rpc_strdup(call, pg_get(r, row, 10));
    return s;
}

int content_summary(rpc_call_t *call, pg_conn_t *conn, const char *slug,
                    Dojo__Content__V1__TaskSummary **out, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug};
    if (pg_exec(conn, &stmt_task_summary, p, &r, err) < 0)
        return err_wrap(err, "read task %s", slug);
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no task \"%s\"", slug);
    *out = summary_from_row(call, r, 0);
    return 0;
}

/* ------------------------------------------------------------------------
 * ListTasks
 * ------------------------------------------------------------------------ */

#define LIST_DEFAULT_PAGE 50
#define LIST_MAX_PAGE 500

static int parse_page_token(const char *tok, long *offset, err_t **err)
{
    *offset = 0;
    if (tok[0] == '\0')
        return 0;
    size_t n = strlen(tok);
    if (n > 9 || strspn(tok, "0123456789") != n)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "page.page_token: not a valid token");
    *offset = strtol(tok, NULL, 10);
    return 0;
}

int content_rpc_list_tasks(rpc_call_t *call, const ProtobufCMessage *req_msg,
                           ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ListTasksRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_signed_in(c, call, &id, err) < 0)
        return -1;
    if (req->include_archived && !identity_is_author(&id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "include_archived: only authors may list archived tasks");
    if (req->include_hidden && !identity_is_author(&id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "include_hidden: only authors may list contest tasks before the start");
    if (req->difficulty < 0 || req->difficulty > 3)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "difficulty: unknown value");
    if (strlen(req->tag) > 32)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "tag: must be at most 32 characters");
    if (strlen(req->query) > 100)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "query: must be at most 100 characters");
    long offset = 0;
    int size = LIST_DEFAULT_PAGE;
    if (req->page) {
        if (req->page->page_size < 0 || req->page->page_size > LIST_MAX_PAGE)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "page.page_size: must be between 0 and %d", LIST_MAX_PAGE);
        if (req->page->page_size)
            size = req->page->page_size;
        if (parse_page_token(req->page->page_token, &offset, err) < 0)
            return -1;
    }
    char diff[8], lim[16], off[16];
    snprintf(diff, sizeof diff, "%d", req->difficulty);
    snprintf(lim, sizeof lim, "%d", size);
    snprintf(off, sizeof off, "%ld", offset);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_us(c->cfg.clock_file));
    const char *p[] = {diff, req->tag, req->query, req->include_archived ? "true" : "false",
                       lim,  off,       req->include_hidden ? "true" : "false", now};
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (content_conn(c, &conn, err) < 0 || pg_exec(conn, &stmt_task_list, p, &r, err) < 0)
        return err_wrap(err, "list tasks");

    Dojo__Content__V1__ListTasksResponse *resp = RPC_NEW(
        call, Dojo__Content__V1__ListTasksResponse, DOJO__CONTENT__V1__LIST_TASKS_RESPONSE__INIT);
    int n = PQntuples(r);
    resp->tasks = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->tasks);
    for (int i = 0; i < n; i++) {
        Dojo__Content__V1__TaskSummary *t = summary_from_row(call, r, i);
        if (!identity_is_author(&id))
            t->owner_id = "";
        resp->tasks[resp->n_tasks++] = t;
    }
    resp->page = RPC_NEW(call, Dojo__Common__V1__PageInfo, DOJO__COMMON__V1__PAGE_INFO__INIT);
    int64_t total = n > 0 ? pg_get_int64(r, 0, 12) : (offset == 0 ? 0 : -1);
    resp->page->total = total;
    resp->page->next_page_token = total > offset + n ? rpc_sprintf(call, "%ld", offset + n) : "";
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * GetTask, GetJudgeBundle
 * ------------------------------------------------------------------------ */

int content_rpc_get_task(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                         err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__GetTaskRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_signed_in(c, call, &id, err) < 0)
        return -1;
    if (req->include_hidden && !identity_is_author(&id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "include_hidden: only authors may read contest tasks before the start");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *norm = NULL;
    content_task_row_t row;
    if (content_conn(c, &conn, err) < 0 ||
        content_load_task(conn, req->slug, req->version, &norm, &row, err) < 0)
        return -1;
    if (!req->include_hidden) {
        char now[24];
        snprintf(now, sizeof now, "%lld", (long long)clock_now_us(c->cfg.clock_file));
        const char *ph[] = {req->slug, now};
        cleanup_pgresult PGresult *h = NULL;
        if (pg_exec(conn, &stmt_task_hidden, ph, &h, err) < 0)
            return err_wrap(err, "read task %s", req->slug);
        if (pg_get_bool(h, 0, 0))
            return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no task \"%s\"", req->slug);
    }
    Dojo__Content__V1__GetTaskResponse *resp = RPC_NEW(call, Dojo__Content__V1__GetTaskResponse,
                                                       DOJO__CONTENT__V1__GET_TASK_RESPONSE__INIT);
    resp->task = taskjson_to_view(call, norm);
    resp->task->status = row.status;
    resp->task->version = row.version;
    resp->task->content_hash = rpc_strdup(call, row.content_hash);
    resp->task->updated_at = content_timestamp(call, row.updated_us);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * GetTasks: several current versions in one query (a contest's problem
 * set), hidden ones left out unless asked for, in the order asked.
 * ------------------------------------------------------------------------ */

#define GET_TASKS_MAX 100

static const pg_stmt_t stmt_tasks_current = {
    .name = "content_tasks_current",
    .sql = "SELECT v.version, v.content_hash, v.task, t.status, "
           "(extract(epoch from greatest(v.created_at, t.status_changed_at)) * 1000000)::bigint "
           "FROM json_array_elements_text($1::json) WITH ORDINALITY AS x(s, i) "
           "JOIN content.tasks t ON t.slug = x.s "
           "JOIN content.task_versions v ON v.slug = t.slug AND v.version = t.current_version "
           "WHERE $2::bool OR NOT EXISTS (SELECT 1 FROM content.contest_tasks h "
           "  WHERE h.task_slug = t.slug AND h.hidden_until > " CONTENT_TS(3) ") "
           "ORDER BY x.i",
    .nparams = 3,
};

int content_rpc_get_tasks(rpc_call_t *call, const ProtobufCMessage *req_msg,
                          ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__GetTasksRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_signed_in(c, call, &id, err) < 0)
        return -1;
    if (req->include_hidden && !identity_is_author(&id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "include_hidden: only authors may read contest tasks before the start");
    if (req->n_slugs == 0 || req->n_slugs > GET_TASKS_MAX)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "slugs: 1 to %d slugs",
                       GET_TASKS_MAX);
    cleanup_json json_t *slugs = json_array();
    for (size_t i = 0; i < req->n_slugs; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !strcmp(req->slugs[k], req->slugs[i]);
        /* A malformed slug names no task, like GetTask's NOT_FOUND. */
        if (!seen && check_is_slug(req->slugs[i], 64, CHECK_LETTER_FIRST))
            json_array_append_new(slugs, json_string(req->slugs[i]));
    }
    Dojo__Content__V1__GetTasksResponse *resp = RPC_NEW(
        call, Dojo__Content__V1__GetTasksResponse, DOJO__CONTENT__V1__GET_TASKS_RESPONSE__INIT);
    resp->tasks = rpc_alloc(call, (json_array_size(slugs) + 1) * sizeof *resp->tasks);
    *out = &resp->base;
    if (json_array_size(slugs) == 0)
        return 0;
    cleanup_free char *text = json_dumps(slugs, JSON_COMPACT);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_us(c->cfg.clock_file));
    const char *p[] = {text, req->include_hidden ? "true" : "false", now};
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (content_conn(c, &conn, err) < 0 || pg_exec(conn, &stmt_tasks_current, p, &r, err) < 0)
        return err_wrap(err, "read tasks");
    for (int i = 0; i < PQntuples(r); i++) {
        json_error_t jerr;
        cleanup_json json_t *norm = json_loads(pg_get(r, i, 2), 0, &jerr);
        if (norm == NULL)
            return err_set(err, GRPC_STATUS_INTERNAL, "stored task JSON: %s", jerr.text);
        Dojo__Content__V1__TaskView *t = taskjson_to_view(call, norm);
        t->version = (int)pg_get_int64(r, i, 0);
        t->content_hash = rpc_strdup(call, pg_get(r, i, 1));
        t->status = content_task_status(pg_get(r, i, 3));
        t->updated_at = content_timestamp(call, pg_get_int64(r, i, 4));
        resp->tasks[resp->n_tasks++] = t;
    }
    return 0;
}

int content_rpc_get_judge_bundle(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                 ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__GetJudgeBundleRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_of_call(c->idv, call, &id, err) < 0)
        return -1;
    if (id.kind == IDENTITY_ANONYMOUS)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED,
                       "judge bundles are for Dojo services: send the service key");
    if (id.kind != IDENTITY_SERVICE) {
        LOG_WARN("judge bundle refused to a user", "role=%s slug=\"%s\"", id.claims.role,
                 log_esc(req->slug));
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "judge bundles are for Dojo services only, not user tokens");
    }
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *norm = NULL;
    content_task_row_t row;
    if (content_conn(c, &conn, err) < 0 ||
        content_load_task(conn, req->slug, req->version, &norm, &row, err) < 0)
        return -1;
    Dojo__Content__V1__GetJudgeBundleResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__GetJudgeBundleResponse,
                DOJO__CONTENT__V1__GET_JUDGE_BUNDLE_RESPONSE__INIT);
    resp->bundle = taskjson_to_bundle(call, norm);
    resp->bundle->version = row.version;
    resp->bundle->content_hash = rpc_strdup(call, row.content_hash);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * GetTaskSolutions: what a learner reads after solving. The gateway decides
 * who has solved; here only services and authors are served.
 * ------------------------------------------------------------------------ */

int content_rpc_get_task_solutions(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                   ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__GetTaskSolutionsRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *norm = NULL;
    content_task_row_t row;
    if (content_conn(c, &conn, err) < 0 ||
        content_load_task(conn, req->slug, 0, &norm, &row, err) < 0)
        return -1;
    Dojo__Content__V1__GetTaskSolutionsResponse *resp = taskjson_to_solutions(call, norm);
    resp->version = row.version;
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * ListLanguages
 * ------------------------------------------------------------------------ */

int content_rpc_list_languages(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    identity_t id;
    if (content_require_signed_in(c, call, &id, err) < 0)
        return -1;
    Dojo__Content__V1__ListLanguagesResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ListLanguagesResponse,
                DOJO__CONTENT__V1__LIST_LANGUAGES_RESPONSE__INIT);
    size_t n = 0;
    const content_language_t *languages = content_languages(&n);
    resp->languages = rpc_alloc(call, n * sizeof *resp->languages);
    for (size_t i = 0; i < n; i++) {
        Dojo__Content__V1__Language *l =
            RPC_NEW(call, Dojo__Content__V1__Language, DOJO__CONTENT__V1__LANGUAGE__INIT);
        l->id = (char *)languages[i].id;
        l->display_name = (char *)languages[i].display_name;
        l->file_extension = (char *)languages[i].file_extension;
        l->editor_mode = (char *)languages[i].editor_mode;
        l->version = (char *)languages[i].version;
        l->compiled = languages[i].compiled;
        resp->languages[resp->n_languages++] = l;
    }
    *out = &resp->base;
    return 0;
}
