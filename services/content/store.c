/* store.c — content in PostgreSQL: task versions by content hash, reading
 * a stored version, imports of task files, archiving, and achievement
 * definitions.
 *
 * Every write happens inside a transaction holding one advisory lock, so
 * two replicas loading the same files at once, or an author saving while a
 * replica starts, serialise: the second finds the hash already stored and
 * writes nothing. Writes are rare; one lock keeps the reasoning simple. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

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
           "tags, languages, restrict_languages) VALUES ($1, $2, 1, $3, $4::smallint, $5::int, "
           "ARRAY(SELECT json_array_elements_text($6::json)), "
           "ARRAY(SELECT json_array_elements_text($7::json)), $8::bool)",
    .nparams = 8,
};

static const pg_stmt_t stmt_task_set_current = {
    .name = "content_task_set_current",
    .sql = "UPDATE content.tasks SET current_version = $2::int, title = $3, "
           "difficulty = $4::smallint, points = $5::int, "
           "tags = ARRAY(SELECT json_array_elements_text($6::json)), "
           "languages = ARRAY(SELECT json_array_elements_text($7::json)), "
           "restrict_languages = $8::bool WHERE slug = $1",
    .nparams = 8,
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

static const pg_stmt_t stmt_task_version = {
    .name = "content_task_version",
    .sql = "SELECT v.version, v.content_hash, v.task, t.status, "
           "(extract(epoch from t.created_at) * 1000000)::bigint, "
           "(extract(epoch from CASE WHEN v.version = t.current_version "
           "  THEN greatest(v.created_at, t.status_changed_at) ELSE v.created_at END) "
           "  * 1000000)::bigint "
           "FROM content.tasks t JOIN content.task_versions v ON v.slug = t.slug "
           "WHERE t.slug = $1 AND v.version = CASE WHEN $2::int = 0 THEN t.current_version "
           "  ELSE $2::int END",
    .nparams = 2,
};

static const pg_stmt_t stmt_task_set_status = {
    .name = "content_task_set_status",
    .sql = "UPDATE content.tasks SET status = $2, archived_reason = $3, status_changed_at = now() "
           "WHERE slug = $1 AND status <> $2",
    .nparams = 3,
};

static const pg_stmt_t stmt_ach_upsert = {
    .name = "content_ach_upsert",
    .sql = "INSERT INTO content.achievements AS a (slug, def, content_hash, sort_order) "
           "VALUES ($1, $2, $3, $4::int) ON CONFLICT (slug) DO UPDATE SET def = EXCLUDED.def, "
           "content_hash = EXCLUDED.content_hash, sort_order = EXCLUDED.sort_order, "
           "active = true, updated_at = now() "
           "WHERE a.content_hash <> EXCLUDED.content_hash OR NOT a.active "
           "RETURNING (xmax = 0)",
    .nparams = 4,
};

static const pg_stmt_t stmt_ach_retire = {
    .name = "content_ach_retire",
    .sql = "UPDATE content.achievements SET active = false, updated_at = now() "
           "WHERE active AND NOT (slug = ANY (ARRAY(SELECT json_array_elements_text($1::json)))) "
           "RETURNING slug",
    .nparams = 1,
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
             check_name_index(&task_difficulties,
                              json_string_value(json_object_get(norm, "difficulty"))));
    snprintf(points, sizeof points, "%lld",
             (long long)json_integer_value(json_object_get(norm, "points")));
    cleanup_free char *tags = json_dumps(json_object_get(norm, "tags"), JSON_COMPACT);
    cleanup_free char *langs = languages_json(norm);
    const char *restrict_langs =
        json_is_true(json_object_get(norm, "restrict_languages")) ? "true" : "false";
    const char *p[] = {slug, second, json_string_value(json_object_get(norm, "title")),
                       diff,  points, tags, langs, restrict_langs};
    return pg_exec(conn, stmt, p, NULL, err);
}

int content_store_task(pg_conn_t *conn, json_t *norm, content_store_mode_t mode, bool from_file,
                       int expected_version, content_store_result_t *out, err_t **err)
{
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    memset(out, 0, sizeof *out);
    /* Every path stores through here: the blobs its tests name must exist
     * (whose they may be is the author handlers' to check). */
    cleanup_report content_report_t brep;
    content_report_init(&brep, "");
    if (content_blobs_check(conn, norm, NULL, NULL, &brep, err) < 0)
        return err_wrap(err, "store task %s", slug);
    if (brep.n_errors)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: %s", brep.errors[0].path,
                       brep.errors[0].message);
    check_hash(norm, out->content_hash);
    cleanup_free char *canonical = check_canonical(norm);
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

const char *content_change_name(int change)
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

/* ------------------------------------------------------------------------
 * Reading a stored task
 * ------------------------------------------------------------------------ */

int content_task_status(const char *s)
{
    return !strcmp(s, "archived") ? DOJO__CONTENT__V1__TASK_STATUS__TASK_STATUS_ARCHIVED
                                  : DOJO__CONTENT__V1__TASK_STATUS__TASK_STATUS_ACTIVE;
}

int content_load_task(pg_conn_t *conn, const char *slug, int version, json_t **norm,
                      content_task_row_t *row, err_t **err)
{
    if (version < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "version: must be 0 or positive");
    if (!check_is_slug(slug, 64, CHECK_LETTER_FIRST))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no task \"%.64s\"", slug);
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[] = {slug, v};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_task_version, p, &r, err) < 0)
        return err_wrap(err, "read task %s", slug);
    if (PQntuples(r) == 0) {
        if (version)
            return err_set(err, GRPC_STATUS_NOT_FOUND, "version: task \"%s\" has no version %d",
                           slug, version);
        return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no task \"%s\"", slug);
    }
    json_error_t jerr;
    *norm = json_loads(pg_get(r, 0, 2), 0, &jerr);
    if (*norm == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "task %s: stored JSON: %s", slug, jerr.text);
    if (row) {
        row->version = (int)pg_get_int64(r, 0, 0);
        snprintf(row->content_hash, sizeof row->content_hash, "%s", pg_get(r, 0, 1));
        row->status = content_task_status(pg_get(r, 0, 3));
        row->created_us = pg_get_int64(r, 0, 4);
        row->updated_us = pg_get_int64(r, 0, 5);
    }
    return 0;
}

int content_task_file_text(json_t *stored, const char *slug, char **out, err_t **err)
{
    cleanup_report content_report_t rep;
    cleanup_json json_t *norm = NULL;
    content_report_init(&rep, "");
    if (taskjson_normalize(stored, &rep, &norm) < 0)
        return err_set(err, GRPC_STATUS_INTERNAL,
                       "task %s: stored version fails validation: %s: %s", slug, rep.errors[0].path,
                       rep.errors[0].message);
    *out = check_pretty(norm);
    return 0;
}

int content_export_text(content_t *c, const char *slug, int version, char **out, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *stored = NULL;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0 ||
        content_load_task(conn, slug, version, &stored, NULL, err) < 0)
        return -1;
    return content_task_file_text(stored, slug, out, err);
}

static const pg_stmt_t stmt_task_set_owner = {
    .name = "content_task_set_owner",
    .sql = "UPDATE content.tasks SET owner_id = $2::uuid WHERE slug = $1",
    .nparams = 2,
};

int content_set_task_owner(pg_conn_t *conn, const char *slug, const char *owner_id, err_t **err)
{
    const char *p[] = {slug, owner_id};
    return pg_exec(conn, &stmt_task_set_owner, p, NULL, err);
}

int content_set_task_status(pg_conn_t *conn, const char *slug, bool archived, err_t **err)
{
    const char *p[] = {slug, archived ? "archived" : "active", archived ? "author" : ""};
    return pg_exec(conn, &stmt_task_set_status, p, NULL, err);
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

/* Validates every file of the batch: norms[i] new, or NULL for a rejected
 * one; `present` gets the slugs of the valid ones. */
static void import_parse(const content_import_file_t *files, size_t n, json_t **norms,
                         json_t *present, content_import_result_t *out)
{
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
}

/* The blobs file `i`'s tests name: complete, and `blob_owner`'s (or the
 * task's current version's) when not NULL. A file naming others' is
 * rejected with its report. */
static int import_blobs_ok(pg_conn_t *conn, json_t *norm, const char *blob_owner,
                           content_import_outcome_t *o, bool *ok, err_t **err)
{
    cleanup_json json_t *current = NULL;
    cleanup_err err_t *lerr = NULL;
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    if (blob_owner && content_load_task(conn, slug, 0, &current, NULL, &lerr) < 0 &&
        lerr->code != GRPC_STATUS_NOT_FOUND) {
        *err = DOJO_STEAL(lerr);
        return -1;
    }
    size_t before = o->rep.n_errors;
    if (content_blobs_check(conn, norm, blob_owner, current, &o->rep, err) < 0)
        return -1;
    *ok = o->rep.n_errors == before;
    return 0;
}

static int import_store(pg_conn_t *conn, const content_import_file_t *files, size_t n,
                        json_t **norms, const char *blob_owner, content_import_result_t *out,
                        err_t **err)
{
    for (size_t i = 0; i < n; i++) {
        if (norms[i] == NULL)
            continue;
        content_import_outcome_t *o = &out->files[i];
        bool ok = true;
        if (import_blobs_ok(conn, norms[i], blob_owner, o, &ok, err) < 0)
            return err_wrap(err, "import %s", files[i].name);
        if (!ok) {
            o->res.change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED;
            out->rejected++;
            continue;
        }
        if (content_store_task(conn, norms[i], STORE_IMPORT, true, 0, &o->res, err) < 0)
            return err_wrap(err, "import %s", files[i].name);
        out->created += o->res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED;
        out->new_versions +=
            o->res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_NEW_VERSION;
        out->unchanged += o->res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED;
    }
    return 0;
}

/* Archives active tasks whose slug is not in `present` (a JSON array). */
static int import_archive_missing(pg_conn_t *conn, json_t *present, bool only_file_tasks,
                                  content_import_result_t *out, err_t **err)
{
    cleanup_free char *slugs = json_dumps(present, JSON_COMPACT);
    cleanup_pgresult PGresult *archived = NULL;
    const char *p[] = {slugs, only_file_tasks ? "true" : "false"};
    if (pg_exec(conn, &stmt_archive_missing, p, &archived, err) < 0)
        return -1;
    out->n_archived = (size_t)PQntuples(archived);
    out->archived = xcalloc(out->n_archived + 1, sizeof *out->archived);
    for (size_t i = 0; i < out->n_archived; i++)
        out->archived[i] = xstrdup(pg_get(archived, (int)i, 0));
    return 0;
}

static void free_norms(json_t **norms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (norms[i])
            json_decref(norms[i]);
    free(norms);
}

int content_import_tasks(content_t *c, const content_import_file_t *files, size_t n, bool dry_run,
                         bool archive_missing, bool only_file_tasks, const char *blob_owner,
                         content_import_result_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    out->files = xcalloc(n + 1, sizeof *out->files);
    json_t **norms = xcalloc(n + 1, sizeof *norms);
    out->n = n;
    cleanup_json json_t *present = json_array();
    import_parse(files, n, norms, present, out);

    int rc = -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0 ||
        import_store(conn, files, n, norms, blob_owner, out, err) < 0)
        goto cleanup;
    /* A rejected file must never archive the task it was meant to update. */
    if (archive_missing && out->rejected == 0 &&
        import_archive_missing(conn, present, only_file_tasks, out, err) < 0)
        goto cleanup;
    if (dry_run)
        pg_rollback(conn);
    else if (pg_commit(conn, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    free_norms(norms, n);
    return rc;
}

/* ------------------------------------------------------------------------
 * Achievement definitions
 * ------------------------------------------------------------------------ */

static int store_achievement(pg_conn_t *conn, json_t *norm, content_ach_change_t *change,
                             err_t **err)
{
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    char hash[65], order[24];
    check_hash(norm, hash);
    cleanup_free char *canonical = check_canonical(norm);
    snprintf(order, sizeof order, "%lld",
             (long long)json_integer_value(json_object_get(norm, "sort_order")));
    const char *p[] = {slug, canonical, hash, order};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_ach_upsert, p, &r, err) < 0)
        return err_wrap(err, "store achievement %s", slug);
    *change = PQntuples(r) == 0 ? ACH_UNCHANGED : pg_get_bool(r, 0, 0) ? ACH_CREATED : ACH_UPDATED;
    return 0;
}

int content_store_achievements(content_t *c, json_t *const *norms, size_t n, bool retire_missing,
                               content_ach_change_t *changes, PGresult **retired, err_t **err)
{
    *retired = NULL;
    cleanup_json json_t *present = json_array();
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        changes[i] = ACH_UNCHANGED;
        if (norms[i] == NULL)
            continue;
        json_array_append(present, json_object_get(norms[i], "slug"));
        if (store_achievement(conn, norms[i], &changes[i], err) < 0)
            return -1;
    }
    if (retire_missing) {
        cleanup_free char *slugs = json_dumps(present, JSON_COMPACT);
        const char *p[] = {slugs};
        if (pg_exec(conn, &stmt_ach_retire, p, retired, err) < 0)
            return -1;
    }
    if (pg_commit(conn, err) < 0) {
        PQclear(*retired);
        *retired = NULL;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Contests: the current definition, and the tasks each hides
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_contest_current = {
    .name = "content_contest_current",
    .sql = "SELECT version, content_hash FROM content.contests WHERE slug = $1 FOR UPDATE",
    .nparams = 1,
};

static const pg_stmt_t stmt_contest_insert = {
    .name = "content_contest_insert",
    .sql = "INSERT INTO content.contests (slug, source, version, content_hash, def, start_at) "
           "VALUES ($1, $2, 1, $3, $4, $5::timestamptz)",
    .nparams = 5,
};

static const pg_stmt_t stmt_contest_update = {
    .name = "content_contest_update",
    .sql = "UPDATE content.contests SET version = version + 1, content_hash = $2, def = $3, "
           "start_at = $4::timestamptz, updated_at = now() WHERE slug = $1 RETURNING version",
    .nparams = 4,
};

static const pg_stmt_t stmt_contest_tasks_clear = {
    .name = "content_contest_tasks_clear",
    .sql = "DELETE FROM content.contest_tasks WHERE contest_slug = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_contest_tasks_add = {
    .name = "content_contest_tasks_add",
    .sql = "INSERT INTO content.contest_tasks (contest_slug, task_slug, hidden_until) "
           "SELECT $1, s, CASE WHEN $3::bool THEN $4::timestamptz END "
           "FROM json_array_elements_text($2::json) s",
    .nparams = 4,
};

/* The problems' tasks that are missing ("") or archived, in order. */
static const pg_stmt_t stmt_tasks_missing = {
    .name = "content_tasks_missing",
    .sql = "SELECT x.s, coalesce(t.status, '') "
           "FROM json_array_elements_text($1::json) WITH ORDINALITY AS x(s, i) "
           "LEFT JOIN content.tasks t ON t.slug = x.s "
           "WHERE t.slug IS NULL OR t.status <> 'active' ORDER BY x.i",
    .nparams = 1,
};

static const pg_stmt_t stmt_contest_get = {
    .name = "content_contest_get",
    .sql = "SELECT def, version, content_hash, "
           "(extract(epoch from created_at) * 1000000)::bigint, "
           "(extract(epoch from updated_at) * 1000000)::bigint "
           "FROM content.contests WHERE slug = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_contest_list = {
    .name = "content_contest_list",
    .sql = "SELECT def, version, content_hash, "
           "(extract(epoch from created_at) * 1000000)::bigint, "
           "(extract(epoch from updated_at) * 1000000)::bigint "
           "FROM content.contests ORDER BY start_at DESC, slug",
    .nparams = 0,
};

/* The problems' task slugs, as a JSON array text (new, free()). */
static char *problem_slugs_json(json_t *norm)
{
    cleanup_json json_t *a = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(norm, "problems"), i, p)
    {
        json_array_append(a, json_object_get(p, "task_slug"));
    }
    return json_dumps(a, JSON_COMPACT);
}

int content_store_contest(pg_conn_t *conn, json_t *norm, bool from_file, int expected_version,
                          content_report_t *rep, content_store_result_t *out, err_t **err)
{
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    memset(out, 0, sizeof *out);
    out->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED;
    cleanup_free char *slugs = problem_slugs_json(norm);
    cleanup_pgresult PGresult *missing = NULL;
    const char *pm[] = {slugs};
    if (pg_exec(conn, &stmt_tasks_missing, pm, &missing, err) < 0)
        return err_wrap(err, "store contest %s", slug);
    /* A file may keep naming a task archived since (its contest stays as it
     * was stored); through the API a contest takes active tasks only. */
    bool refused = false;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(norm, "problems"), i, p)
    {
        for (int k = 0; k < PQntuples(missing); k++) {
            const char *task = pg_get(missing, k, 0), *status = pg_get(missing, k, 1);
            if (strcmp(json_string_value(json_object_get(p, "task_slug")), task) != 0 ||
                (status[0] && from_file))
                continue;
            char path[CHECK_PATH_MAX];
            snprintf(path, sizeof path, "$.problems[%zu].task_slug", i);
            const char *label = json_string_value(json_object_get(p, "label"));
            if (status[0])
                content_report_error(rep, path,
                                     "problem %s: task \"%s\" is archived (restore it first)",
                                     label, task);
            else
                content_report_error(rep, path, "problem %s: no task \"%s\"", label, task);
            refused = true;
        }
    }
    if (refused)
        return 0;
    check_hash(norm, out->content_hash);
    cleanup_free char *canonical = check_canonical(norm);
    const char *start = json_string_value(json_object_get(norm, "start"));
    cleanup_pgresult PGresult *cur = NULL;
    const char *ps[] = {slug};
    if (pg_exec(conn, &stmt_contest_current, ps, &cur, err) < 0)
        return err_wrap(err, "store contest %s", slug);
    if (PQntuples(cur) == 0) {
        if (expected_version > 0)
            return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no contest \"%s\"", slug);
        const char *pi[] = {slug, from_file ? "file" : "api", out->content_hash, canonical, start};
        if (pg_exec(conn, &stmt_contest_insert, pi, NULL, err) < 0)
            return err_wrap(err, "store contest %s", slug);
        out->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED;
        out->version = 1;
    } else {
        int current = (int)pg_get_int64(cur, 0, 0);
        if (expected_version == 0)
            return err_set(err, GRPC_STATUS_ALREADY_EXISTS,
                           "slug: a contest \"%s\" already exists", slug);
        if (expected_version > 0 && expected_version != current)
            return err_set(err, GRPC_STATUS_ABORTED,
                           "expected_version: contest \"%s\" is at version %d, not %d", slug,
                           current, expected_version);
        out->version = current;
        out->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED;
        if (!strcmp(pg_get(cur, 0, 1), out->content_hash))
            return 0;
        cleanup_pgresult PGresult *up = NULL;
        const char *pu[] = {slug, out->content_hash, canonical, start};
        if (pg_exec(conn, &stmt_contest_update, pu, &up, err) < 0)
            return err_wrap(err, "store contest %s", slug);
        out->version = (int)pg_get_int64(up, 0, 0);
        out->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_NEW_VERSION;
    }
    bool hide = json_is_true(json_object_get(norm, "hide_tasks_until_start"));
    const char *pt[] = {slug, slugs, hide ? "true" : "false", start};
    if (pg_exec(conn, &stmt_contest_tasks_clear, ps, NULL, err) < 0 ||
        pg_exec(conn, &stmt_contest_tasks_add, pt, NULL, err) < 0)
        return err_wrap(err, "store contest %s", slug);
    return 0;
}

/* One row of stmt_contest_get / _list. */
static int contest_row(const PGresult *r, int row, content_contest_row_t *out, err_t **err)
{
    json_error_t jerr;
    out->norm = json_loads(pg_get(r, row, 0), 0, &jerr);
    if (out->norm == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "contest row %d: stored JSON: %s", row,
                       jerr.text);
    out->version = (int)pg_get_int64(r, row, 1);
    snprintf(out->content_hash, sizeof out->content_hash, "%s", pg_get(r, row, 2));
    out->created_us = pg_get_int64(r, row, 3);
    out->updated_us = pg_get_int64(r, row, 4);
    return 0;
}

int content_load_contest(pg_conn_t *conn, const char *slug, content_contest_row_t *out,
                         err_t **err)
{
    memset(out, 0, sizeof *out);
    if (!check_is_slug(slug, 36, CHECK_LETTER_FIRST))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no contest \"%.64s\"", slug);
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug};
    if (pg_exec(conn, &stmt_contest_get, p, &r, err) < 0)
        return err_wrap(err, "read contest %s", slug);
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no contest \"%s\"", slug);
    return contest_row(r, 0, out, err);
}

int content_list_contests(pg_conn_t *conn, content_contest_row_t **out, size_t *n, err_t **err)
{
    *out = NULL;
    *n = 0;
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_contest_list, NULL, &r, err) < 0)
        return err_wrap(err, "list contests");
    int rows = PQntuples(r);
    *out = calloc((size_t)rows + 1, sizeof **out);
    if (*out == NULL)
        abort();
    for (int i = 0; i < rows; i++) {
        if (contest_row(r, i, &(*out)[i], err) < 0) {
            content_contest_rows_free(*out, (size_t)i);
            *out = NULL;
            return -1;
        }
    }
    *n = (size_t)rows;
    return 0;
}

void content_contest_rows_free(content_contest_row_t *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        json_decref(rows[i].norm);
    free(rows);
}

/* ------------------------------------------------------------------------
 * Tracks: only ever loaded from files, so stored as a whole set
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_tracks_clear = {
    .name = "content_tracks_clear",
    .sql = "DELETE FROM content.tracks",
    .nparams = 0,
};

static const pg_stmt_t stmt_track_insert = {
    .name = "content_track_insert",
    .sql = "INSERT INTO content.tracks (slug, def, sort_order) VALUES ($1, $2, $3::int)",
    .nparams = 3,
};

static const pg_stmt_t stmt_active_slugs = {
    .name = "content_active_slugs",
    /* Tasks a contest hides (until its start) never go into a track. */
    .sql = "SELECT slug FROM content.tasks t WHERE status = 'active' AND NOT EXISTS "
           "(SELECT 1 FROM content.contest_tasks h WHERE h.task_slug = t.slug "
           "AND h.hidden_until IS NOT NULL)",
    .nparams = 0,
};

int content_store_tracks(content_t *c, json_t *const *norms, size_t n, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0 ||
        pg_exec(conn, &stmt_tracks_clear, NULL, NULL, err) < 0)
        return err_wrap(err, "store tracks");
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *def = check_canonical(norms[i]);
        char order[24];
        snprintf(order, sizeof order, "%lld",
                 (long long)json_integer_value(json_object_get(norms[i], "sort_order")));
        const char *p[] = {json_string_value(json_object_get(norms[i], "slug")), def, order};
        if (pg_exec(conn, &stmt_track_insert, p, NULL, err) < 0)
            return err_wrap(err, "store track %s", p[0]);
    }
    return pg_commit(conn, err) < 0 ? err_wrap(err, "store tracks") : 0;
}

int content_active_task_slugs(content_t *c, json_t **out, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0 ||
        pg_exec(conn, &stmt_active_slugs, NULL, &r, err) < 0)
        return err_wrap(err, "active tasks");
    *out = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(*out, pg_get(r, i, 0), json_true());
    return 0;
}
