/* author.c — the author API: create, update, validate, archive, export and
 * import tasks. Every handler requires an author (or admin, or a service);
 * validation is the model's (taskjson_normalize), storage is store.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

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

/* The blobs `norm`'s tests reference, checked for the caller `id` (an
 * author: blobs of theirs or of the task's current version; a service: any
 * complete blob) into `rep`. */
static int blobs_report(pg_conn_t *conn, json_t *norm, const identity_t *id,
                        content_report_t *rep, err_t **err)
{
    bool any = false;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    any = any || json_object_get(t, "input_sha256") || json_object_get(t, "expected_sha256");
    if (!any)
        return 0;
    const char *owner = id->kind == IDENTITY_USER ? id->claims.sub : NULL;
    cleanup_json json_t *current = NULL;
    cleanup_err err_t *lerr = NULL;
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    if (owner && content_load_task(conn, slug, 0, &current, NULL, &lerr) < 0 &&
        lerr->code != GRPC_STATUS_NOT_FOUND) {
        *err = DOJO_STEAL(lerr);
        return -1;
    }
    return content_blobs_check(conn, norm, owner, current, rep, err);
}

/* blobs_report as an error: INVALID_ARGUMENT naming the first problem. */
static int blobs_ok(pg_conn_t *conn, json_t *norm, const identity_t *id, err_t **err)
{
    cleanup_report content_report_t rep;
    content_report_init(&rep, "");
    if (blobs_report(conn, norm, id, &rep, err) < 0)
        return -1;
    return rep.n_errors ? report_error(&rep, err) : 0;
}

/* `owner`: the author a created task belongs to (NULL: nobody); `id` the
 * caller (whose blobs the tests may use). */
static int store_one(content_t *c, rpc_call_t *call, json_t *norm, content_store_mode_t mode,
                     int expected_version, const char *owner, const identity_t *id,
                     content_store_result_t *res, Dojo__Content__V1__Task **task, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    if (content_conn(c, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0 || blobs_ok(conn, norm, id, err) < 0 ||
        content_store_task(conn, norm, mode, false, expected_version, res, err) < 0 ||
        (owner && res->change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED &&
         content_set_task_owner(conn, slug, owner, err) < 0) ||
        pg_commit(conn, err) < 0)
        return -1;
    LOG_INFO("task stored", "slug=%s version=%d change=%s hash=%.12s", slug, res->version,
             content_change_name(res->change), res->content_hash);
    return task_reply(call, conn, slug, res->version, task, NULL, err);
}

/* The start of CreateTask and UpdateTask: the caller is an author and the
 * input a valid task; *norm is new. */
static int author_input(content_t *c, rpc_call_t *call, const Dojo__Content__V1__TaskInput *in,
                        identity_t *id, json_t **norm, err_t **err)
{
    if (content_require_author(c, call, id, err) < 0)
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
    identity_t id;
    if (author_input(c, call, req->input, &id, &norm, err) < 0)
        return -1;
    Dojo__Content__V1__CreateTaskResponse *resp = RPC_NEW(
        call, Dojo__Content__V1__CreateTaskResponse, DOJO__CONTENT__V1__CREATE_TASK_RESPONSE__INIT);
    content_store_result_t res;
    const char *owner = id.kind == IDENTITY_USER ? id.claims.sub : NULL;
    if (store_one(c, call, norm, STORE_CREATE, 0, owner, &id, &res, &resp->task, err) < 0)
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
    identity_t id;
    if (author_input(c, call, req->input, &id, &norm, err) < 0)
        return -1;
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    if (strcmp(slug, req->slug) != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "slug: \"%.64s\" differs from the task's slug \"%s\" (slugs never change)",
                       req->slug, slug);
    Dojo__Content__V1__UpdateTaskResponse *resp = RPC_NEW(
        call, Dojo__Content__V1__UpdateTaskResponse, DOJO__CONTENT__V1__UPDATE_TASK_RESPONSE__INIT);
    content_store_result_t res;
    if (store_one(c, call, norm, STORE_UPDATE, req->expected_version, NULL, &id, &res,
                  &resp->task, err) < 0)
        return -1;
    resp->change = res.change;
    *out = &resp->base;
    return 0;
}

/* What storing `norm` (of content hash `hash`) would do now, and the
 * version it would have. */
static int preview_store(content_t *c, json_t *norm, const char *hash,
                         Dojo__Content__V1__TaskChange *change, int *version, err_t **err)
{
    const char *slug = json_string_value(json_object_get(norm, "slug"));
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *cur = NULL;
    cleanup_err err_t *lerr = NULL;
    content_task_row_t row;
    if (content_conn(c, &conn, err) < 0)
        return -1;
    if (content_load_task(conn, slug, 0, &cur, &row, &lerr) < 0) {
        if (lerr->code != GRPC_STATUS_NOT_FOUND) {
            *err = DOJO_STEAL(lerr);
            return err_wrap(err, "validate task");
        }
        *change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED;
        *version = 1;
    } else if (!strcmp(row.content_hash, hash)) {
        *change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED;
        *version = row.version;
    } else {
        *change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_NEW_VERSION;
        *version = row.version + 1;
    }
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
    if (req->input == NULL ||
        req->input->format_case == DOJO__CONTENT__V1__TASK_INPUT__FORMAT__NOT_SET)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "input: required");
    cleanup_report content_report_t rep;
    content_report_init(&rep, req->input->file);
    cleanup_json json_t *norm = NULL;
    int rc = input_normalize(req->input, &rep, &norm);
    if (rc == 0) {
        cleanup_pgconn pg_conn_t *conn = NULL;
        if (content_conn(c, &conn, err) < 0 || blobs_report(conn, norm, &id, &rep, err) < 0)
            return -1;
        rc = rep.n_errors ? -1 : 0;
    }
    Dojo__Content__V1__ValidateTaskResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ValidateTaskResponse,
                DOJO__CONTENT__V1__VALIDATE_TASK_RESPONSE__INIT);
    content_field_errors(call, &rep, false, &resp->errors, &resp->n_errors);
    content_field_errors(call, &rep, true, &resp->warnings, &resp->n_warnings);
    resp->ok = rc == 0;
    if (rc == 0) {
        char hash[65];
        check_hash(norm, hash);
        resp->content_hash = rpc_strdup(call, hash);
        int version = 0;
        if (preview_store(c, norm, hash, &resp->change, &version, err) < 0)
            return -1;
        resp->bundle = taskjson_to_bundle(call, norm);
        resp->bundle->version = version;
        resp->bundle->content_hash = resp->content_hash;
        taskjson_to_input_validators(call, norm, &resp->input_validators,
                                     &resp->n_input_validators);
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
    if (!check_is_slug(req->slug, 64, CHECK_LETTER_FIRST))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no task \"%.64s\"", req->slug);
    cleanup_pgconn pg_conn_t *conn = NULL;
    Dojo__Content__V1__ArchiveTaskResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ArchiveTaskResponse,
                DOJO__CONTENT__V1__ARCHIVE_TASK_RESPONSE__INIT);
    if (content_conn(c, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0 ||
        content_set_task_status(conn, req->slug, !req->restore, err) < 0 ||
        content_summary(call, conn, req->slug, &resp->task, err) < 0 || pg_commit(conn, err) < 0)
        return -1;
    LOG_INFO(req->restore ? "task restored" : "task archived", "slug=%s", req->slug);
    *out = &resp->base;
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
    Dojo__Content__V1__ExportTaskResponse *resp = RPC_NEW(
        call, Dojo__Content__V1__ExportTaskResponse, DOJO__CONTENT__V1__EXPORT_TASK_RESPONSE__INIT);
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *stored = NULL;
    cleanup_free char *text = NULL;
    if (content_conn(c, &conn, err) < 0 ||
        task_reply(call, conn, req->slug, req->version, &resp->task, &stored, err) < 0 ||
        content_task_file_text(stored, req->slug, &text, err) < 0)
        return -1;
    resp->json = rpc_strdup(call, text);
    resp->file_name = rpc_sprintf(call, "%s.json", req->slug);
    *out = &resp->base;
    return 0;
}

static Dojo__Content__V1__ImportResult *import_result(rpc_call_t *call, const char *file,
                                                      const content_import_outcome_t *o)
{
    Dojo__Content__V1__ImportResult *r =
        RPC_NEW(call, Dojo__Content__V1__ImportResult, DOJO__CONTENT__V1__IMPORT_RESULT__INIT);
    r->file = rpc_strdup(call, file);
    r->slug = rpc_strdup(call, o->slug);
    r->change = o->res.change;
    if (o->res.change != DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED) {
        r->version = o->res.version;
        r->content_hash = rpc_strdup(call, o->res.content_hash);
    } else {
        r->content_hash = "";
    }
    content_field_errors(call, &o->rep, false, &r->errors, &r->n_errors);
    content_field_errors(call, &o->rep, true, &r->warnings, &r->n_warnings);
    return r;
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
    const char *blob_owner = id.kind == IDENTITY_USER ? id.claims.sub : NULL;
    if (content_import_tasks(c, files, req->n_files, req->dry_run, req->archive_missing, false,
                             blob_owner, &res, err) < 0) {
        content_import_result_free(&res);
        return err_wrap(err, "import tasks");
    }
    Dojo__Content__V1__ImportTasksResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ImportTasksResponse,
                DOJO__CONTENT__V1__IMPORT_TASKS_RESPONSE__INIT);
    resp->results = rpc_alloc(call, res.n * sizeof *resp->results);
    for (size_t i = 0; i < res.n; i++)
        resp->results[resp->n_results++] = import_result(call, req->files[i]->name, &res.files[i]);
    resp->archived = rpc_alloc(call, (res.n_archived + 1) * sizeof *resp->archived);
    for (size_t i = 0; i < res.n_archived; i++)
        resp->archived[resp->n_archived++] = rpc_strdup(call, res.archived[i]);
    resp->created = res.created;
    resp->new_versions = res.new_versions;
    resp->unchanged = res.unchanged;
    resp->rejected = res.rejected;
    LOG_INFO("tasks imported",
             "files=%zu created=%d new_versions=%d unchanged=%d rejected=%d "
             "archived=%zu dry_run=%d",
             res.n, res.created, res.new_versions, res.unchanged, res.rejected, res.n_archived,
             req->dry_run);
    content_import_result_free(&res);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Problem packages: read into a task (nothing stored: the gateway runs the
 * package's submissions first), or written from one
 * ------------------------------------------------------------------------ */

/* Where a package's large test data goes: blobs of the caller's, inside the
 * parse's transaction (kept only when the package reads). */
typedef struct pkg_blobs {
    pg_conn_t *conn;
    const char *owner; /* NULL: a service */
    size_t n;
    int64_t bytes;
} pkg_blobs_t;

static int pkg_store_blob(void *payload, const void *data, size_t len, char sha256_out[65],
                          err_t **err)
{
    pkg_blobs_t *b = payload;
    if (content_blob_put(b->conn, b->owner, data, len, sha256_out, err) < 0)
        return err_wrap(err, "store package test data");
    b->n++;
    b->bytes += (int64_t)len;
    return 0;
}

/* The package blob `sha256` of the caller's in an unlinked temporary file:
 * *fd (close it) read from its start. */
static int package_file(pg_conn_t *conn, const char *sha256, const char *owner, int *fd,
                        err_t **err)
{
    if (!task_is_sha256(sha256))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "zip_sha256: must be 64 lower-case hex digits");
    const char *dir = getenv("TMPDIR");
    cleanup_free char *path = xasprintf("%s/dojo-package-XXXXXX", dir && *dir ? dir : "/tmp");
    int f = mkostemp(path, O_CLOEXEC);
    if (f < 0)
        return err_errno(err, errno, "temporary file for a package");
    unlink(path);
    int64_t size = 0;
    if (content_blob_to_file(conn, sha256, owner, f, &size, err) < 0 ||
        lseek(f, 0, SEEK_SET) < 0) {
        if (*err == NULL)
            err_errno(err, errno, "temporary file for a package");
        close(f);
        return -1;
    }
    *fd = f;
    return 0;
}

/* What a package holds beside its task, for the gateway: each test's input
 * file (in the task's order) and the input validators (the task's own) it
 * runs before storing the task. */
static void package_side(rpc_call_t *call, json_t *norm, json_t *side,
                         Dojo__Content__V1__ParsePackageResponse *resp)
{
    json_t *tests = json_object_get(norm, "tests");
    resp->test_inputs = rpc_alloc(call, (json_array_size(tests) + 1) * sizeof *resp->test_inputs);
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *path =
            json_string_value(json_object_get(json_object_get(side, "tests"), name ? name : ""));
        if (!name || !path)
            continue;
        Dojo__Content__V1__PackageTestFile *tf = RPC_NEW(
            call, Dojo__Content__V1__PackageTestFile, DOJO__CONTENT__V1__PACKAGE_TEST_FILE__INIT);
        tf->name = rpc_strdup(call, name);
        tf->path = rpc_strdup(call, path);
        resp->test_inputs[resp->n_test_inputs++] = tf;
    }
    taskjson_to_input_validators(call, norm, &resp->input_validators,
                                 &resp->n_input_validators);
}

int content_rpc_parse_package(rpc_call_t *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ParsePackageRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    Dojo__Content__V1__ParsePackageResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ParsePackageResponse,
                DOJO__CONTENT__V1__PARSE_PACKAGE_RESPONSE__INIT);
    cleanup_report content_report_t rep;
    content_report_init(&rep, req->file_name);
    cleanup_json json_t *doc = NULL, *paths = NULL, *norm = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_close int fd = -1;
    pkg_blobs_t blobs = {.owner = id.kind == IDENTITY_USER ? id.claims.sub : NULL};
    if (content_conn(c, &conn, err) < 0)
        return -1;
    blobs.conn = conn;
    const char *zip_sha = req->zip_sha256 ? req->zip_sha256 : "";
    if (*zip_sha && req->zip.len)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "zip_sha256: send the package as zip or as a blob, not both");
    if (*zip_sha &&
        package_file(conn, zip_sha, blobs.owner ? blobs.owner : "", &fd, err) < 0)
        return -1;
    pkg_source_t src = {.zip = req->zip.data,
                        .len = req->zip.len,
                        .fd = fd,
                        .blob = pkg_store_blob,
                        .blob_payload = &blobs};
    if (pg_begin(conn, err) < 0)
        return -1;
    int rc = pkg_read_task(&src, req->file_name, req->slug, &rep, &doc, &paths, err);
    if (*err) {
        pg_rollback(conn);
        return -1;
    }
    if (rc == 0)
        rc = pkg_normalize(doc, &rep, &norm);
    if (rc == 0) {
        if (pg_commit(conn, err) < 0)
            return -1;
    } else {
        pg_rollback(conn);
    }
    if (rc == 0) {
        cleanup_free char *text = check_pretty(norm);
        resp->json = rpc_strdup(call, text);
        static const char *const lists[] = {"reference_solutions", "wrong_solutions"};
        size_t n = json_array_size(json_object_get(norm, lists[0])) +
                   json_array_size(json_object_get(norm, lists[1]));
        resp->solutions = rpc_alloc(call, (n + 1) * sizeof *resp->solutions);
        for (int l = 0; l < 2; l++) {
            size_t i;
            json_t *s;
            json_array_foreach(json_object_get(norm, lists[l]), i, s)
            {
                const char *name = json_string_value(json_object_get(s, "name"));
                const char *path =
                    json_string_value(json_object_get(json_object_get(paths, "solutions"), name));
                Dojo__Content__V1__PackageSolution *ps =
                    RPC_NEW(call, Dojo__Content__V1__PackageSolution,
                            DOJO__CONTENT__V1__PACKAGE_SOLUTION__INIT);
                ps->name = rpc_strdup(call, name);
                ps->path = rpc_strdup(call, path ? path : "");
                resp->solutions[resp->n_solutions++] = ps;
            }
        }
        package_side(call, norm, paths, resp);
    } else {
        resp->json = "";
    }
    resp->ok = rc == 0;
    content_field_errors(call, &rep, false, &resp->errors, &resp->n_errors);
    content_field_errors(call, &rep, true, &resp->warnings, &resp->n_warnings);
    LOG_INFO("package read",
             "file=\"%s\" bytes=%zu blob=%.16s ok=%d errors=%zu warnings=%zu test_blobs=%zu "
             "test_blob_bytes=%lld",
             log_esc(req->file_name), req->zip.len, zip_sha, resp->ok, rep.n_errors,
             rep.n_warnings, rc == 0 ? blobs.n : 0, rc == 0 ? (long long)blobs.bytes : 0LL);
    *out = &resp->base;
    return 0;
}

/* The package's pieces: as ReadBlob's, far below the 16 MiB a message may
 * hold. */
#define EXPORT_PIECE (1024 * 1024)

static int blob_copy(void *payload, const char *sha256, int fd, int64_t *size, err_t **err)
{
    return content_blob_copy(payload, sha256, fd, size, err);
}

/* A temporary file of the caller's, already unlinked: *fd. */
static int scratch_file(const char *what, int *fd, err_t **err)
{
    const char *dir = getenv("TMPDIR");
    cleanup_free char *path = xasprintf("%s/dojo-%s-XXXXXX", dir && *dir ? dir : "/tmp", what);
    int f = mkostemp(path, O_CLOEXEC);
    if (f < 0)
        return err_errno(err, errno, "temporary file for %s", what);
    unlink(path);
    *fd = f;
    return 0;
}

/* The task `slug` (at `version`, 0 the current) written as a package into
 * a temporary file: *fd (open, unlinked) of *size bytes. The blobs its tests
 * name are copied through a scratch file, never into memory; the database
 * connection is held only for this. */
static int export_to_file(content_t *c, const char *slug, int version, int *fd, int64_t *size,
                          err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_json json_t *stored = NULL, *norm = NULL;
    content_task_row_t row;
    if (content_conn(c, &conn, err) < 0 ||
        content_load_task(conn, slug, version, &stored, &row, err) < 0)
        return -1;
    cleanup_report content_report_t rep;
    content_report_init(&rep, "");
    if (taskjson_normalize(stored, &rep, &norm) < 0)
        return err_set(err, GRPC_STATUS_INTERNAL, "task %s: stored version fails validation",
                       slug);
    cleanup_close int scratch = -1;
    if (scratch_file("export-blobs", &scratch, err) < 0)
        return -1;
    /* libzip writes the archive beside `path` and renames it there, so the
     * name stays until the archive is open again. */
    const char *dir = getenv("TMPDIR");
    cleanup_free char *path = xasprintf("%s/dojo-export-XXXXXX", dir && *dir ? dir : "/tmp");
    int tmp = mkostemp(path, O_CLOEXEC);
    if (tmp < 0)
        return err_errno(err, errno, "temporary file for a package");
    close(tmp);
    const char *why = NULL;
    int rc = pkg_write_task(norm, path, scratch, blob_copy, conn, &why, err);
    int f = rc < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    int open_errno = errno;
    unlink(path);
    if (rc < 0) {
        if (*err)
            return err_wrap(err, "task %s as a package", slug);
        return err_set(err, GRPC_STATUS_INTERNAL, "task %s as a package: %s", slug, why);
    }
    if (f < 0)
        return err_errno(err, open_errno, "open the package of %s", slug);
    off_t end = lseek(f, 0, SEEK_END);
    if (end < 0 || lseek(f, 0, SEEK_SET) < 0) {
        close(f);
        return err_errno(err, errno, "read the package of %s", slug);
    }
    *fd = f;
    *size = (int64_t)end;
    return 0;
}

int content_rpc_export_package(rpc_call_t *call, const ProtobufCMessage *req_msg, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ExportPackageRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    if (!check_is_slug(req->slug, 64, CHECK_LETTER_FIRST))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "slug: no task \"%.64s\"", req->slug);
    cleanup_close int fd = -1;
    int64_t size = 0;
    if (export_to_file(c, req->slug, req->version, &fd, &size, err) < 0)
        return -1;
    cleanup_free char *file_name = xasprintf("%s.zip", req->slug);
    cleanup_free uint8_t *buf = xcalloc(1, EXPORT_PIECE);
    int64_t at = 0;
    /* Bounded by the file's size: every turn sends at least a byte. */
    while (at < size) {
        size_t want = size - at > EXPORT_PIECE ? EXPORT_PIECE : (size_t)(size - at);
        ssize_t n = pread(fd, buf, want, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_errno(err, n < 0 ? errno : EIO, "read the package of %s", req->slug);
        Dojo__Content__V1__ExportPackageResponse piece =
            DOJO__CONTENT__V1__EXPORT_PACKAGE_RESPONSE__INIT;
        piece.file_name = file_name;
        piece.zip.data = buf;
        piece.zip.len = (size_t)n;
        piece.offset = at;
        piece.total_size = size;
        if (rpc_stream_send(call, &piece.base, err) < 0)
            return -1;
        at += n;
    }
    LOG_INFO("package exported", "task=%s version=%d bytes=%lld", req->slug, req->version,
             (long long)size);
    return 0;
}
