/* contests.c — contest definitions: ListContests and GetContest (anyone),
 * PutContest and ExportContest (authors), and DIR/contests/ *.json loaded at
 * start; CLICS contest packages in and out (ParseContestPackage,
 * ExportContestPackage; contestpkg.c). What a contest file may contain is
 * contestjson.c's; storage is store.c's. Invitation codes are stored as
 * their SHA-256 only, and the hash goes to authors and services alone. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

static const pg_stmt_t stmt_titles = {
    .name = "content_contest_titles",
    .sql = "SELECT slug, title FROM content.tasks "
           "WHERE slug = ANY (ARRAY(SELECT json_array_elements_text($1::json)))",
    .nparams = 1,
};

/* The caller, who may be nobody: contests are public. */
static int caller(content_t *c, rpc_call_t *call, identity_t *id, err_t **err)
{
    return identity_of_call(c->idv, call, id, err);
}

/* A Contest message of a stored row, with problem names from the tasks'
 * titles; the invitation hash only for `privileged` callers. */
static int contest_reply(rpc_call_t *call, pg_conn_t *conn, const content_contest_row_t *row,
                         bool privileged, Dojo__Content__V1__Contest **out, err_t **err)
{
    Dojo__Content__V1__Contest *m = contestjson_to_message(call, row->norm);
    m->version = row->version;
    m->content_hash = rpc_strdup(call, row->content_hash);
    m->created_at = content_timestamp(call, row->created_us);
    m->updated_at = content_timestamp(call, row->updated_us);
    if (!privileged)
        m->invite_code_sha256 = "";
    cleanup_json json_t *slugs = json_array();
    for (size_t i = 0; i < m->n_problems; i++)
        json_array_append_new(slugs, json_string(m->problems[i]->task_slug));
    cleanup_free char *text = json_dumps(slugs, JSON_COMPACT);
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {text};
    if (pg_exec(conn, &stmt_titles, p, &r, err) < 0)
        return err_wrap(err, "contest %s: task titles", m->slug);
    for (size_t i = 0; i < m->n_problems; i++)
        for (int k = 0; k < PQntuples(r); k++)
            if (!strcmp(pg_get(r, k, 0), m->problems[i]->task_slug))
                m->problems[i]->name = rpc_strdup(call, pg_get(r, k, 1));
    *out = m;
    return 0;
}

int content_rpc_list_contests(rpc_call_t *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    identity_t id;
    if (caller(c, call, &id, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    content_contest_row_t *rows = NULL;
    size_t n = 0;
    if (content_conn(c, &conn, err) < 0 || content_list_contests(conn, &rows, &n, err) < 0)
        return -1;
    Dojo__Content__V1__ListContestsResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ListContestsResponse,
                DOJO__CONTENT__V1__LIST_CONTESTS_RESPONSE__INIT);
    resp->contests = rpc_alloc(call, (n + 1) * sizeof *resp->contests);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = contest_reply(call, conn, &rows[i], identity_is_author(&id),
                           &resp->contests[resp->n_contests], err);
        if (rc == 0)
            resp->n_contests++;
    }
    content_contest_rows_free(rows, n);
    if (rc < 0)
        return -1;
    *out = &resp->base;
    return 0;
}

int content_rpc_get_contest(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__GetContestRequest *req = (const void *)req_msg;
    identity_t id;
    if (caller(c, call, &id, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    content_contest_row_t row;
    memset(&row, 0, sizeof row);
    if (content_conn(c, &conn, err) < 0 || content_load_contest(conn, req->slug, &row, err) < 0)
        return -1;
    Dojo__Content__V1__GetContestResponse *resp = RPC_NEW(
        call, Dojo__Content__V1__GetContestResponse, DOJO__CONTENT__V1__GET_CONTEST_RESPONSE__INIT);
    int rc = contest_reply(call, conn, &row, identity_is_author(&id), &resp->contest, err);
    json_decref(row.norm);
    if (rc < 0)
        return -1;
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * PutContest
 * ------------------------------------------------------------------------ */


/* The input as a document in the file form: new, or NULL (reported). */
static json_t *input_document(const Dojo__Content__V1__ContestInput *in, content_report_t *rep)
{
    if (in == NULL) {
        content_report_error(rep, "input", "required: a contest or the text of a contest file");
        return NULL;
    }
    json_t *doc = NULL;
    switch (in->format_case) {
    case DOJO__CONTENT__V1__CONTEST_INPUT__FORMAT_JSON:
        if (check_parse(in->json, strlen(in->json), CONTENT_MAX_CONTEST_BYTES, rep, &doc) < 0)
            return NULL;
        return doc;
    case DOJO__CONTENT__V1__CONTEST_INPUT__FORMAT_CONTEST:
        return contestjson_from_message(in->contest);
    default:
        content_report_error(rep, "input", "required: a contest or the text of a contest file");
        return NULL;
    }
}

int content_rpc_put_contest(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__PutContestRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    if (req->input == NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "input: required");
    if (req->expected_version < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "expected_version: must be 0 or more");
    size_t code_len = strlen(req->invite_code);
    if (code_len && (code_len < 6 || code_len > 64))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "invite_code: must be 6 to 64 characters");
    cleanup_report content_report_t rep;
    content_report_init(&rep, req->input->file);
    cleanup_json json_t *doc = input_document(req->input, &rep);
    if (doc && code_len) {
        unsigned char h[crypto_hash_sha256_BYTES];
        char hex[crypto_hash_sha256_BYTES * 2 + 1];
        crypto_hash_sha256(h, (const unsigned char *)req->invite_code, code_len);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        json_object_set_new(doc, "invite_code_sha256", json_string(hex));
    }
    cleanup_json json_t *norm = NULL;
    if (doc)
        contestjson_normalize(doc, &rep, &norm);
    Dojo__Content__V1__PutContestResponse *resp = RPC_NEW(
        call, Dojo__Content__V1__PutContestResponse, DOJO__CONTENT__V1__PUT_CONTEST_RESPONSE__INIT);
    resp->change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED;
    if (norm) {
        cleanup_pgconn pg_conn_t *conn = NULL;
        content_store_result_t res;
        if (content_conn(c, &conn, err) < 0 || pg_begin(conn, err) < 0)
            return -1;
        int expected = req->expected_version;
        if (content_lock_writers(conn, err) < 0 ||
            content_store_contest(conn, norm, false, expected, &rep, &res, err) < 0) {
            pg_rollback(conn);
            return err_wrap(err, "put contest");
        }
        resp->change = res.change;
        if (res.change != DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED) {
            content_contest_row_t row;
            memset(&row, 0, sizeof row);
            const char *slug = json_string_value(json_object_get(norm, "slug"));
            int rc = content_load_contest(conn, slug, &row, err);
            if (rc == 0)
                rc = contest_reply(call, conn, &row, true, &resp->contest, err);
            json_decref(row.norm);
            if (rc < 0) {
                pg_rollback(conn);
                return -1;
            }
        }
        if (req->dry_run || res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED)
            pg_rollback(conn);
        else if (pg_commit(conn, err) < 0)
            return err_wrap(err, "put contest");
        if (!req->dry_run && res.change != DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED)
            LOG_INFO("contest stored", "slug=%s version=%d change=%s by=%s", resp->contest->slug,
                     res.version, content_change_name(res.change),
                     id.kind == IDENTITY_USER ? id.claims.sub : "service");
    }
    content_field_errors(call, &rep, false, &resp->errors, &resp->n_errors);
    content_field_errors(call, &rep, true, &resp->warnings, &resp->n_warnings);
    *out = &resp->base;
    return 0;
}

/* An author's read of the stored contest `slug`: *conn and *row (row->norm
 * new) for the exports. */
static int author_load(rpc_call_t *call, const char *slug, pg_conn_t **conn,
                       content_contest_row_t *row, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    identity_t id;
    memset(row, 0, sizeof *row);
    if (content_require_author(c, call, &id, err) < 0 || content_conn(c, conn, err) < 0)
        return -1;
    return content_load_contest(*conn, slug, row, err);
}

int content_rpc_export_contest(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    const Dojo__Content__V1__ExportContestRequest *req = (const void *)req_msg;
    cleanup_pgconn pg_conn_t *conn = NULL;
    content_contest_row_t row;
    if (author_load(call, req->slug, &conn, &row, err) < 0)
        return -1;
    char *text = check_pretty(row.norm);
    json_decref(row.norm);
    int version = row.version;
    Dojo__Content__V1__ExportContestResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ExportContestResponse,
                DOJO__CONTENT__V1__EXPORT_CONTEST_RESPONSE__INIT);
    resp->file_name = rpc_sprintf(call, "%s.json", req->slug);
    resp->json = rpc_strdup(call, text);
    resp->version = version;
    free(text);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * CLICS contest packages (contestpkg.c reads and writes them)
 * ------------------------------------------------------------------------ */

int content_rpc_parse_contest_package(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                      ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ParseContestPackageRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0)
        return -1;
    Dojo__Content__V1__ParseContestPackageResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ParseContestPackageResponse,
                DOJO__CONTENT__V1__PARSE_CONTEST_PACKAGE_RESPONSE__INIT);
    cleanup_report content_report_t rep;
    content_report_init(&rep, "");
    cleanup_json json_t *doc = NULL, *teams = NULL, *norm = NULL;
    if (contestpkg_read(req->zip.data, req->zip.len, req->slug, &rep, &doc, &teams) == 0 &&
        contestjson_normalize(doc, &rep, &norm) == 0) {
        cleanup_free char *text = check_pretty(norm);
        resp->json = rpc_strdup(call, text);
        resp->teams = rpc_alloc(call, (json_array_size(teams) + 1) * sizeof *resp->teams);
        size_t i;
        json_t *t;
        json_array_foreach(teams, i, t)
        {
            Dojo__Content__V1__ContestPackageTeam *m =
                RPC_NEW(call, Dojo__Content__V1__ContestPackageTeam,
                        DOJO__CONTENT__V1__CONTEST_PACKAGE_TEAM__INIT);
            m->id = rpc_strdup(call, json_string_value(json_object_get(t, "id")));
            m->name = rpc_strdup(call, json_string_value(json_object_get(t, "name")));
            const char *org = json_string_value(json_object_get(t, "organization_id"));
            m->organization_id = rpc_strdup(call, org ? org : "");
            json_t *g = json_object_get(t, "group_ids");
            m->group_ids = rpc_alloc(call, (json_array_size(g) + 1) * sizeof *m->group_ids);
            size_t k;
            json_t *gid;
            json_array_foreach(g, k, gid)
                if (json_is_string(gid))
                    m->group_ids[m->n_group_ids++] = rpc_strdup(call, json_string_value(gid));
            m->hidden = json_is_true(json_object_get(t, "hidden"));
            resp->teams[resp->n_teams++] = m;
        }
    }
    resp->ok = rep.n_errors == 0;
    content_field_errors(call, &rep, false, &resp->errors, &resp->n_errors);
    content_field_errors(call, &rep, true, &resp->warnings, &resp->n_warnings);
    *out = &resp->base;
    return 0;
}

int content_rpc_export_contest_package(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                       ProtobufCMessage **out, err_t **err)
{
    const Dojo__Content__V1__ExportContestPackageRequest *req = (const void *)req_msg;
    cleanup_pgconn pg_conn_t *conn = NULL;
    content_contest_row_t row;
    if (author_load(call, req->slug, &conn, &row, err) < 0)
        return -1;
    cleanup_json json_t *norm = row.norm;
    Dojo__Content__V1__Contest *m = NULL;
    if (contest_reply(call, conn, &row, true, &m, err) < 0)
        return -1;
    cleanup_json json_t *names = json_object();
    for (size_t i = 0; i < m->n_problems; i++)
        if (m->problems[i]->name && *m->problems[i]->name)
            json_object_set_new(names, m->problems[i]->task_slug,
                                json_string(m->problems[i]->name));
    cleanup_json json_t *teams = json_array();
    for (size_t i = 0; i < req->n_teams; i++) {
        const Dojo__Content__V1__ContestPackageTeam *t = req->teams[i];
        json_t *groups = json_array();
        for (size_t k = 0; k < t->n_group_ids; k++)
            json_array_append_new(groups, json_string(t->group_ids[k]));
        json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:b}", "id", t->id, "label", t->id, "name",
                              t->name, "group_ids", groups, "hidden", t->hidden);
        json_object_set_new(o, "organization_id",
                            *t->organization_id ? json_string(t->organization_id) : json_null());
        json_array_append_new(teams, o);
    }
    char *zip = NULL;
    size_t len = 0;
    const char *why = NULL;
    if (contestpkg_write(norm, names, teams, &zip, &len, &why) < 0)
        return err_set(err, GRPC_STATUS_INTERNAL, "contest %s as a package: %s", req->slug, why);
    Dojo__Content__V1__ExportContestPackageResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ExportContestPackageResponse,
                DOJO__CONTENT__V1__EXPORT_CONTEST_PACKAGE_RESPONSE__INIT);
    resp->file_name = rpc_sprintf(call, "%s.zip", req->slug);
    resp->zip.data = rpc_alloc(call, len + 1);
    memcpy(resp->zip.data, zip, len);
    resp->zip.len = len;
    resp->version = row.version;
    free(zip);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * DIR/contests
 * ------------------------------------------------------------------------ */

/* One file: parsed, checked and stored in its own transaction. */
static int load_one(content_t *c, pg_conn_t *conn, const char *dir, const char *name, bool print,
                    int *rejected, err_t **err)
{
    char path[4096];
    if (!content_join(path, sizeof path, dir, name))
        return 0;
    cleanup_report content_report_t rep;
    content_report_init(&rep, name);
    cleanup_free char *text = NULL;
    size_t len = 0;
    cleanup_err err_t *rerr = NULL;
    cleanup_json json_t *norm = NULL;
    if (content_read_file(path, &text, &len, &rerr) < 0)
        content_report_error(&rep, "$", "cannot read the file");
    else
        contestjson_parse(text, len, &rep, &norm);
    content_store_result_t res = {.change = DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED};
    if (norm) {
        if (pg_begin(conn, err) < 0)
            return -1;
        if (content_lock_writers(conn, err) < 0 ||
            content_store_contest(conn, norm, true, -1, &rep, &res, err) < 0 ||
            (res.change != DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED &&
             pg_commit(conn, err) < 0)) {
            pg_rollback(conn);
            return err_wrap(err, "load contest %s", name);
        }
        if (res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED)
            pg_rollback(conn);
    }
    for (size_t k = 0; k < rep.n_errors; k++) {
        LOG_ERROR("contest file rejected", "file=\"%s\" path=\"%s\" error=\"%s\"", log_esc(path),
                  log_esc(rep.errors[k].path), log_esc(rep.errors[k].message));
        if (print)
            printf("%s:%s: %s\n", path, rep.errors[k].path, rep.errors[k].message);
    }
    if (res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED) {
        (*rejected)++;
    } else {
        DOJO_LOG(res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED
                     ? LOG_LEVEL_DEBUG
                     : LOG_LEVEL_INFO,
                 "contest loaded", "file=\"%s\" version=%d change=%s", log_esc(name), res.version,
                 content_change_name(res.change));
    }
    if (print)
        printf("%s %s version=%d\n", content_change_name(res.change), name, res.version);
    return 0;
}

int content_load_contests(content_t *c, const char *dir, bool print, int *rejected, err_t **err)
{
    char **names = NULL;
    size_t n = 0;
    if (content_list_json(dir, &names, &n, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    int bad = 0, rc = 0;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = load_one(c, conn, dir, names[i], print, &bad, err);
    if (rc == 0)
        LOG_INFO("contests loaded", "dir=\"%s\" files=%zu rejected=%d", log_esc(dir), n, bad);
    if (rejected)
        *rejected += bad;
    content_free_list(names, n);
    return rc;
}
