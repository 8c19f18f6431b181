/* author.c — storing tasks: versions by content hash, the author API
 * (create, update, validate, archive, export, import), and loading the
 * content directory at start and from the command line.
 *
 * Every write happens inside a transaction holding one advisory lock, so
 * two replicas loading the same files at once, or an author saving while a
 * replica starts, serialise: the second finds the hash already stored and
 * writes nothing. Writes are rare; one lock keeps the reasoning simple. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_lock_writers = {
    .name = "content_lock_writers",
    .sql = "SELECT pg_advisory_xact_lock(hashtextextended('dojo.content.writers', 0))",
    .nparams = 0,
};

static const pg_stmt_t stmt_task_current = {
    .name = "content_task_current",
    .sql = "SELECT t.current_version, v.content_hash, t.status, t.archived_reason "
           "FROM content.tasks t JOIN content.task_versions v "
           "ON v.slug = t.slug AND v.version = t.current_version "
           "WHERE t.slug = $1 FOR UPDATE OF t",
    .nparams = 1,
};

static const pg_stmt_t stmt_task_insert = {
    .name = "content_task_insert",
    .sql = "INSERT INTO content.tasks (slug, source, current_version, title, difficulty, points, "
           "tags, languages) VALUES ($1, $2, 1, $3, $4::smallint, $5::int, "
           "ARRAY(SELECT json_array_elements_text($6::json)), "
           "ARRAY(SELECT json_array_elements_text($7::json)))",
    .nparams = 7,
};

static const pg_stmt_t stmt_task_set_current = {
    .name = "content_task_set_current",
    .sql = "UPDATE content.tasks SET current_version = $2::int, title = $3, "
           "difficulty = $4::smallint, points = $5::int, "
           "tags = ARRAY(SELECT json_array_elements_text($6::json)), "
           "languages = ARRAY(SELECT json_array_elements_text($7::json)) WHERE slug = $1",
    .nparams = 7,
};

static const pg_stmt_t stmt_version_insert = {
    .name = "content_version_insert",
    .sql = "INSERT INTO content.task_versions (slug, version, content_hash, task) "
           "VALUES ($1, $2::int, $3, $4)",
    .nparams = 4,
};

static const pg_stmt_t stmt_task_from_file = {
    .name = "content_task_from_file",
    .sql = "UPDATE content.tasks SET source = 'file', "
           "status = CASE WHEN archived_reason = 'missing' THEN 'active' ELSE status END, "
           "status_changed_at = CASE WHEN archived_reason = 'missing' THEN now() "
           "  ELSE status_changed_at END, "
           "archived_reason = CASE WHEN archived_reason = 'missing' THEN '' "
           "  ELSE archived_reason END "
           "WHERE slug = $1 AND (source <> 'file' OR archived_reason = 'missing')",
    .nparams = 1,
};

static const pg_stmt_t stmt_archive_missing = {
    .name = "content_archive_missing",
    .sql = "UPDATE content.tasks SET status = 'archived', archived_reason = 'missing', "
           "status_changed_at = now() "
           "WHERE status = 'active' AND ($2::bool = false OR source = 'file') "
           "AND NOT (slug = ANY (ARRAY(SELECT json_array_elements_text($1::json)))) "
           "RETURNING slug",
    .nparams = 2,
};

static const pg_stmt_t stmt_task_set_status = {
    .name = "content_task_set_status",
    .sql = "UPDATE content.tasks SET status = $2, archived_reason = $3, status_changed_at = now() "
           "WHERE slug = $1 AND status <> $2",
    .nparams = 3,
};

int content_lock_writers(pg_conn_t *conn, err_t **err)
{
    return pg_exec(conn, &stmt_lock_writers, NULL, NULL, err);
}

/* ------------------------------------------------------------------------
 * Storing one task
 * ------------------------------------------------------------------------ */

static char *languages_json(json_t *norm)
{
    cleanup_json json_t *a = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(norm, "languages"), i, l)
    {
        json_array_append(a, json_object_get(l, "language"));
    }
    return json_dumps(a, JSON_COMPACT);
}

static int write_current(pg_conn_t *conn, const pg_stmt_t *stmt, const char *slug,
                         const char *second, json_t *norm, err_t **err)
{
    char diff[4], points[16];
    snprintf(diff, sizeof diff, "%d",
             content_difficulty_from_name(json_string_value(json_object_get(norm, "difficulty"))));
    snprintf(points, sizeof points, "%lld",
             (long long)json_integer_value(json_object_get(norm, "points")));
    cleanup_free char *tags = json_dumps(json_object_get(norm, "tags"), JSON_COMPACT);
    cleanup_free char *langs = languages_json(norm);
    const char *p[] = {slug, second, json_string_value(json_object_get(norm, "title")),
                       diff, points, tags, langs};
    return pg_exec(conn, stmt, p, NULL, err);
}

int content_store_task(pg_conn_t *conn, json_t *norm, content_store_mode_t mode, bool from_file,
                       int expected_version, content_store_result_t *out, err_t **err)
{
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    memset(out, 0, sizeof *out);
    taskjson_hash(norm, out->content_hash);
    cleanup_free char *canonical = taskjson_canonical(norm);
    cleanup_pgresult PGresult *cur = NULL;
    const char *ps[] = {slug};
    if (pg_exec(conn, &stmt_task_current, ps, &cur, err) < 0)
        return err_wrap(err, "store task %s", slug);

    if (PQntuples(cur) == 0) {
        if (mode == STORE_UPDATE)
            return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no task \"%s\"", slug);
        const char *pv[] = {slug, "1", out->content_hash, canonical};
        if (write_current(conn, &stmt_task_insert, slug, from_file ? "file" : "api", norm, err) <
                0 ||
            pg_exec(conn, &stmt_version_insert, pv, NULL, err) < 0)
            return err_wrap(err, "store task %s", slug);
        out->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED;
        out->version = 1;
        return 0;
    }
    if (mode == STORE_CREATE)
        return err_set(err, GRPC_STATUS_ALREADY_EXISTS,
                       "slug: a task \"%s\" already exists (archived tasks included)", slug);
    int current = (int)pg_get_int64(cur, 0, 0);
    if (mode == STORE_UPDATE && expected_version && expected_version != current)
        return err_set(err, GRPC_STATUS_ABORTED,
                       "expected_version: task \"%s\" is at version %d, not %d", slug, current,
                       expected_version);
    if (from_file && pg_exec(conn, &stmt_task_from_file, ps, NULL, err) < 0)
        return err_wrap(err, "store task %s", slug);
    if (!strcmp(pg_get(cur, 0, 1), out->content_hash)) {
        out->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED;
        out->version = current;
        return 0;
    }
    char next[16];
    snprintf(next, sizeof next, "%d", current + 1);
    const char *pv[] = {slug, next, out->content_hash, canonical};
    if (pg_exec(conn, &stmt_version_insert, pv, NULL, err) < 0 ||
        write_current(conn, &stmt_task_set_current, slug, next, norm, err) < 0)
        return err_wrap(err, "store task %s", slug);
    out->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_NEW_VERSION;
    out->version = current + 1;
    return 0;
}

/* ------------------------------------------------------------------------
 * Importing a batch of files
 * ------------------------------------------------------------------------ */

void content_import_result_free(content_import_result_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        content_report_free(&r->files[i].rep);
    free(r->files);
    for (size_t i = 0; i < r->n_archived; i++)
        free(r->archived[i]);
    free(r->archived);
    memset(r, 0, sizeof *r);
}

/* The slug a file names itself with, even when the file is invalid. */
static void peek_slug(const char *text, size_t len, char out[80])
{
    out[0] = '\0';
    cleanup_json json_t *doc = json_loadb(text, len, 0, NULL);
    const char *s = json_string_value(json_object_get(doc, "slug"));
    if (s)
        snprintf(out, 80, "%.64s", s);
}

int content_import_tasks(content_t *c, const content_import_file_t *files, size_t n, bool dry_run,
                         bool archive_missing, bool only_file_tasks,
                         content_import_result_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    out->files = calloc(n + 1, sizeof *out->files);
    if (out->files == NULL)
        abort();
    out->n = n;
    json_t **norms = calloc(n + 1, sizeof *norms);
    if (norms == NULL)
        abort();
    cleanup_json json_t *present = json_array();
    for (size_t i = 0; i < n; i++) {
        content_import_outcome_t *o = &out->files[i];
        content_report_init(&o->rep, files[i].name);
        peek_slug(files[i].text, files[i].len, o->slug);
        if (taskjson_parse(files[i].text, files[i].len, &o->rep, &norms[i]) < 0) {
            o->res.change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED;
            out->rejected++;
        } else {
            json_array_append(present, json_object_get(norms[i], "slug"));
        }
    }

    int rc = -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *archived = NULL;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if (norms[i] == NULL)
            continue;
        content_import_outcome_t *o = &out->files[i];
        if (content_store_task(conn, norms[i], STORE_IMPORT, true, 0, &o->res, err) < 0) {
            err_wrap(err, "import %s", files[i].name);
            goto cleanup;
        }
        out->created += o->res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED;
        out->new_versions += o->res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_NEW_VERSION;
        out->unchanged += o->res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED;
    }
    /* A rejected file must never archive the task it was meant to update. */
    if (archive_missing && out->rejected == 0) {
        cleanup_free char *slugs = json_dumps(present, JSON_COMPACT);
        const char *p[] = {slugs, only_file_tasks ? "true" : "false"};
        if (pg_exec(conn, &stmt_archive_missing, p, &archived, err) < 0)
            goto cleanup;
        out->n_archived = (size_t)PQntuples(archived);
        out->archived = calloc(out->n_archived + 1, sizeof *out->archived);
        if (out->archived == NULL)
            abort();
        for (size_t i = 0; i < out->n_archived; i++)
            if ((out->archived[i] = strdup(pg_get(archived, (int)i, 0))) == NULL)
                abort();
    }
    if (dry_run)
        pg_rollback(conn);
    else if (pg_commit(conn, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    for (size_t i = 0; i < n; i++)
        if (norms[i])
            json_decref(norms[i]);
    free(norms);
    return rc;
}

/* ------------------------------------------------------------------------
 * Loading the content directory
 * ------------------------------------------------------------------------ */

void content_free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int content_list_json(const char *dir, char ***out, size_t *n, err_t **err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? err_set(err, GRPC_STATUS_NOT_FOUND, "%s: no such directory", dir)
                               : err_errno(err, errno, "open directory %s", dir);
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            *out = realloc(*out, cap * sizeof **out);
            if (*out == NULL)
                abort();
        }
        if (((*out)[(*n)++] = strdup(e->d_name)) == NULL)
            abort();
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_str);
    return 0;
}

static const char *change_name(int change)
{
    switch (change) {
    case DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED:
        return "created";
    case DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_NEW_VERSION:
        return "new_version";
    case DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED:
        return "unchanged";
    default:
        return "rejected";
    }
}

static int load_tasks(content_t *c, const char *dir, bool print, int *rejected, err_t **err)
{
    char **names = NULL;
    size_t n = 0;
    if (content_list_json(dir, &names, &n, err) < 0)
        return -1;
    content_import_file_t *files = calloc(n + 1, sizeof *files);
    char **texts = calloc(n + 1, sizeof *texts);
    if (files == NULL || texts == NULL)
        abort();
    int rc = -1, unreadable = 0;
    content_import_result_t res;
    memset(&res, 0, sizeof res);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (!content_join(path, sizeof path, dir, names[i]))
            continue;
        size_t len = 0;
        cleanup_err err_t *rerr = NULL;
        if (content_read_file(path, &texts[m], &len, &rerr) < 0) {
            LOG_ERROR("task file unreadable", "file=\"%s\" error=\"%s\"", log_esc(path),
                      log_esc(rerr->msg));
            unreadable++;
            continue;
        }
        files[m].name = names[i];
        files[m].text = texts[m];
        files[m].len = len;
        m++;
    }
    /* An unreadable file counts as rejected: nothing gets archived then. */
    if (content_import_tasks(c, files, m, false, unreadable == 0, true, &res, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < res.n; i++) {
        content_import_outcome_t *o = &res.files[i];
        for (size_t k = 0; k < o->rep.n_errors; k++) {
            LOG_ERROR("task file rejected", "file=\"%s\" path=\"%s\" error=\"%s\"",
                      log_esc(o->rep.file), log_esc(o->rep.errors[k].path),
                      log_esc(o->rep.errors[k].message));
            if (print)
                printf("%s/%s:%s: %s\n", dir, o->rep.file, o->rep.errors[k].path,
                       o->rep.errors[k].message);
        }
        if (o->res.change != DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED) {
            DOJO_LOG(o->res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED
                         ? LOG_LEVEL_DEBUG
                         : LOG_LEVEL_INFO,
                     "task loaded", "file=\"%s\" slug=%s version=%d change=%s hash=%.12s",
                     log_esc(o->rep.file), o->slug, o->res.version, change_name(o->res.change),
                     o->res.content_hash);
        }
        if (print)
            printf("%s %s version=%d\n", change_name(o->res.change), o->rep.file, o->res.version);
    }
    for (size_t i = 0; i < res.n_archived; i++) {
        LOG_INFO("task archived: its file is gone", "slug=%s", res.archived[i]);
        if (print)
            printf("archived %s\n", res.archived[i]);
    }
    LOG_INFO("tasks loaded", "dir=\"%s\" files=%zu created=%d new_versions=%d unchanged=%d "
             "rejected=%d archived=%zu",
             log_esc(dir), n, res.created, res.new_versions, res.unchanged,
             res.rejected + unreadable, res.n_archived);
    if (rejected)
        *rejected += res.rejected + unreadable;
    rc = 0;
cleanup:
    content_import_result_free(&res);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(files);
    content_free_list(names, n);
    return rc;
}

int content_load_dir(content_t *c, const char *dir, bool print, int *rejected, err_t **err)
{
    char sub[4096];
    if (rejected)
        *rejected = 0;
    if (!content_join(sub, sizeof sub, dir, "tasks"))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%.64s...: path too long", dir);
    cleanup_err err_t *lerr = NULL;
    if (load_tasks(c, sub, print, rejected, &lerr) < 0) {
        if (lerr->code != GRPC_STATUS_NOT_FOUND) {
            *err = DOJO_STEAL(lerr);
            return err_wrap(err, "load tasks");
        }
        LOG_WARN("no task directory: tasks left as they are", "dir=\"%s\"", log_esc(sub));
        err_clear(&lerr);
    }
    if (!content_join(sub, sizeof sub, dir, "achievements"))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%.64s...: path too long", dir);
    if (content_load_achievements(c, sub, print, rejected, &lerr) < 0) {
        if (lerr->code != GRPC_STATUS_NOT_FOUND) {
            *err = DOJO_STEAL(lerr);
            return err_wrap(err, "load achievements");
        }
        LOG_WARN("no achievement directory: definitions left as they are", "dir=\"%s\"",
                 log_esc(sub));
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The author API
 * ------------------------------------------------------------------------ */

/* Validates a TaskInput: 0 with *norm new, or -1 with problems in rep. */
static int input_normalize(const Dojo__Content__V1__TaskInput *in, content_report_t *rep,
                           json_t **norm)
{
    *norm = NULL;
    switch (in->format_case) {
    case DOJO__CONTENT__V1__TASK_INPUT__FORMAT_JSON:
        return taskjson_parse(in->json, strlen(in->json), rep, norm);
    case DOJO__CONTENT__V1__TASK_INPUT__FORMAT_TASK: {
        cleanup_json json_t *doc = taskjson_from_message(in->task);
        return taskjson_normalize(doc, rep, norm);
    }
    default:
        content_report_error(rep, "input", "required: a task or the text of a task file");
        return -1;
    }
}

static int first_error(const content_report_t *rep, err_t **err)
{
    return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: %s (and %zu more)", rep->errors[0].path,
                   rep->errors[0].message, rep->n_errors - 1);
}

static int report_error(const content_report_t *rep, err_t **err)
{
    if (rep->n_errors == 1)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: %s", rep->errors[0].path,
                       rep->errors[0].message);
    return first_error(rep, err);
}

static void field_errors(rpc_call_t *call, const content_report_t *rep, bool warnings,
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

/* The stored task `slug` at `version` as a Task with its output-only fields. */
static int task_reply(rpc_call_t *call, pg_conn_t *conn, const char *slug, int version,
                      Dojo__Content__V1__Task **out, json_t **norm_out, err_t **err)
{
    cleanup_json json_t *norm = NULL;
    content_task_row_t row;
    if (content_load_task(conn, slug, version, &norm, &row, err) < 0)
        return -1;
    Dojo__Content__V1__Task *t = taskjson_to_task(call, norm);
    t->status = row.status;
    t->version = row.version;
    t->content_hash = rpc_strdup(call, row.content_hash);
    t->created_at = content_timestamp(call, row.created_us);
    t->updated_at = content_timestamp(call, row.updated_us);
    *out = t;
    if (norm_out)
        *norm_out = DOJO_STEAL(norm);
    return 0;
}

static int store_one(content_t *c, rpc_call_t *call, json_t *norm, content_store_mode_t mode,
                     int expected_version, content_store_result_t *res,
                     Dojo__Content__V1__Task **task, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    if (content_conn(c, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0 ||
        content_store_task(conn, norm, mode, false, expected_version, res, err) < 0 ||
        pg_commit(conn, err) < 0)
        return -1;
    LOG_INFO("task stored", "slug=%s version=%d change=%s hash=%.12s", slug, res->version,
             change_name(res->change), res->content_hash);
    return task_reply(call, conn, slug, res->version, task, NULL, err);
}

/* The start of CreateTask and UpdateTask: the caller is an author and the
 * input a valid task; *norm is new. */
static int author_input(content_t *c, rpc_call_t *call, const Dojo__Content__V1__TaskInput *in,
                        json_t **norm, err_t **err)
{
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    if (in == NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "input: required");
    cleanup_report content_report_t rep;
    content_report_init(&rep, in->file);
    if (input_normalize(in, &rep, norm) < 0)
        return report_error(&rep, err);
    return 0;
}

int content_rpc_create_task(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__CreateTaskRequest *req = (const void *)req_msg;
    cleanup_json json_t *norm = NULL;
    if (author_input(c, call, req->input, &norm, err) < 0)
        return -1;
    Dojo__Content__V1__CreateTaskResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__CreateTaskResponse,
                DOJO__CONTENT__V1__CREATE_TASK_RESPONSE__INIT);
    content_store_result_t res;
    if (store_one(c, call, norm, STORE_CREATE, 0, &res, &resp->task, err) < 0)
        return -1;
    resp->change = res.change;
    *out = &resp->base;
    return 0;
}

int content_rpc_update_task(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__UpdateTaskRequest *req = (const void *)req_msg;
    cleanup_json json_t *norm = NULL;
    if (author_input(c, call, req->input, &norm, err) < 0)
        return -1;
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    if (strcmp(slug, req->slug) != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "slug: \"%.64s\" differs from the task's slug \"%s\" (slugs never change)",
                       req->slug, slug);
    Dojo__Content__V1__UpdateTaskResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__UpdateTaskResponse,
                DOJO__CONTENT__V1__UPDATE_TASK_RESPONSE__INIT);
    content_store_result_t res;
    if (store_one(c, call, norm, STORE_UPDATE, req->expected_version, &res, &resp->task, err) < 0)
        return -1;
    resp->change = res.change;
    *out = &resp->base;
    return 0;
}

int content_rpc_validate_task(rpc_call_t *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ValidateTaskRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    if (req->input == NULL || req->input->format_case == DOJO__CONTENT__V1__TASK_INPUT__FORMAT__NOT_SET)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "input: required");
    cleanup_report content_report_t rep;
    content_report_init(&rep, req->input->file);
    cleanup_json json_t *norm = NULL;
    int rc = input_normalize(req->input, &rep, &norm);
    Dojo__Content__V1__ValidateTaskResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ValidateTaskResponse,
                DOJO__CONTENT__V1__VALIDATE_TASK_RESPONSE__INIT);
    field_errors(call, &rep, false, &resp->errors, &resp->n_errors);
    field_errors(call, &rep, true, &resp->warnings, &resp->n_warnings);
    resp->ok = rc == 0;
    if (rc == 0) {
        char hash[65];
        taskjson_hash(norm, hash);
        resp->content_hash = rpc_strdup(call, hash);
        const char *slug = json_string_value(json_object_get(norm, "slug"));
        cleanup_pgconn pg_conn_t *conn = NULL;
        cleanup_json json_t *cur = NULL;
        cleanup_err err_t *lerr = NULL;
        content_task_row_t row;
        if (content_conn(c, &conn, err) < 0)
            return -1;
        int version;
        if (content_load_task(conn, slug, 0, &cur, &row, &lerr) < 0) {
            if (lerr->code != GRPC_STATUS_NOT_FOUND) {
                *err = DOJO_STEAL(lerr);
                return err_wrap(err, "validate task");
            }
            resp->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED;
            version = 1;
        } else if (!strcmp(row.content_hash, hash)) {
            resp->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED;
            version = row.version;
        } else {
            resp->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_NEW_VERSION;
            version = row.version + 1;
        }
        resp->bundle = taskjson_to_bundle(call, norm);
        resp->bundle->version = version;
        resp->bundle->content_hash = resp->content_hash;
    }
    *out = &resp->base;
    return 0;
}

int content_rpc_archive_task(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ArchiveTaskRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    if (!content_is_slug(req->slug, 64, true))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no task \"%.64s\"", req->slug);
    cleanup_pgconn pg_conn_t *conn = NULL;
    const char *p[] = {req->slug, req->restore ? "active" : "archived",
                       req->restore ? "" : "author"};
    Dojo__Content__V1__ArchiveTaskResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ArchiveTaskResponse,
                DOJO__CONTENT__V1__ARCHIVE_TASK_RESPONSE__INIT);
    if (content_conn(c, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0 ||
        pg_exec(conn, &stmt_task_set_status, p, NULL, err) < 0 ||
        content_summary(call, conn, req->slug, &resp->task, err) < 0 || pg_commit(conn, err) < 0)
        return -1;
    LOG_INFO(req->restore ? "task restored" : "task archived", "slug=%s", req->slug);
    *out = &resp->base;
    return 0;
}

int content_export_text(content_t *c, const char *slug, int version, char **out, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *stored = NULL;
    cleanup_json json_t *norm = NULL;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0 ||
        content_load_task(conn, slug, version, &stored, NULL, err) < 0)
        return -1;
    /* Normalising again puts the keys back in Task's order. */
    cleanup_report content_report_t rep;
    content_report_init(&rep, "");
    if (taskjson_normalize(stored, &rep, &norm) < 0)
        return err_set(err, GRPC_STATUS_INTERNAL, "task %s: stored version fails validation: %s: %s",
                       slug, rep.errors[0].path, rep.errors[0].message);
    *out = taskjson_pretty(norm);
    return 0;
}

int content_rpc_export_task(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ExportTaskRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    Dojo__Content__V1__ExportTaskResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ExportTaskResponse,
                DOJO__CONTENT__V1__EXPORT_TASK_RESPONSE__INIT);
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *stored = NULL;
    cleanup_json json_t *norm = NULL;
    if (content_conn(c, &conn, err) < 0 ||
        task_reply(call, conn, req->slug, req->version, &resp->task, &stored, err) < 0)
        return -1;
    cleanup_report content_report_t rep;
    content_report_init(&rep, "");
    if (taskjson_normalize(stored, &rep, &norm) < 0)
        return err_set(err, GRPC_STATUS_INTERNAL, "task %s: stored version fails validation: %s: %s",
                       req->slug, rep.errors[0].path, rep.errors[0].message);
    cleanup_free char *text = taskjson_pretty(norm);
    resp->json = rpc_strdup(call, text);
    resp->file_name = rpc_sprintf(call, "%s.json", req->slug);
    *out = &resp->base;
    return 0;
}

int content_rpc_import_tasks(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ImportTasksRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    if (req->n_files == 0 || req->n_files > 500)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "files: must have 1 to 500 files");
    content_import_file_t *files = rpc_alloc(call, req->n_files * sizeof *files);
    for (size_t i = 0; i < req->n_files; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(req->files[i]->name, req->files[j]->name))
                return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                               "files[%zu].name: duplicate of files[%zu].name", i, j);
        files[i].name = req->files[i]->name;
        files[i].text = req->files[i]->json;
        files[i].len = strlen(req->files[i]->json);
    }
    content_import_result_t res;
    if (content_import_tasks(c, files, req->n_files, req->dry_run, req->archive_missing, false,
                             &res, err) < 0) {
        content_import_result_free(&res);
        return err_wrap(err, "import tasks");
    }
    Dojo__Content__V1__ImportTasksResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ImportTasksResponse,
                DOJO__CONTENT__V1__IMPORT_TASKS_RESPONSE__INIT);
    resp->results = rpc_alloc(call, res.n * sizeof *resp->results);
    for (size_t i = 0; i < res.n; i++) {
        content_import_outcome_t *o = &res.files[i];
        Dojo__Content__V1__ImportResult *r = RPC_NEW(call, Dojo__Content__V1__ImportResult,
                                                     DOJO__CONTENT__V1__IMPORT_RESULT__INIT);
        r->file = rpc_strdup(call, req->files[i]->name);
        r->slug = rpc_strdup(call, o->slug);
        r->change = o->res.change;
        if (o->res.change != DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED) {
            r->version = o->res.version;
            r->content_hash = rpc_strdup(call, o->res.content_hash);
        } else {
            r->content_hash = "";
        }
        field_errors(call, &o->rep, false, &r->errors, &r->n_errors);
        field_errors(call, &o->rep, true, &r->warnings, &r->n_warnings);
        resp->results[resp->n_results++] = r;
    }
    resp->archived = rpc_alloc(call, (res.n_archived + 1) * sizeof *resp->archived);
    for (size_t i = 0; i < res.n_archived; i++)
        resp->archived[resp->n_archived++] = rpc_strdup(call, res.archived[i]);
    resp->created = res.created;
    resp->new_versions = res.new_versions;
    resp->unchanged = res.unchanged;
    resp->rejected = res.rejected;
    LOG_INFO("tasks imported", "files=%zu created=%d new_versions=%d unchanged=%d rejected=%d "
             "archived=%zu dry_run=%d",
             res.n, res.created, res.new_versions, res.unchanged, res.rejected, res.n_archived,
             req->dry_run);
    content_import_result_free(&res);
    *out = &resp->base;
    return 0;
}
