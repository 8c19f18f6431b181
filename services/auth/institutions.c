/* institutions.c — institutions (a school, a company) and their members.
 *
 * Admins create institutions and put accounts in them, naming some of those
 * accounts the institution's admins. An institution's admin may then make
 * the institution's members teachers, and learners again — nothing more:
 * no other role, nobody outside the institution. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/page.h"
#include "libcommon/text.h"

#define INSTITUTION_COLUMNS                                                                        \
    "i.id::text, i.slug, i.name, "                                                                 \
    "(SELECT count(*) FROM auth.users m WHERE m.institution_id = i.id), "                          \
    "(extract(epoch from i.created_at) * 1000000)::bigint"

static const pg_stmt_t stmt_institution_insert = {
    .name = "auth_institution_insert",
    .sql = "INSERT INTO auth.institutions AS i (slug, name) VALUES ($1, $2) "
           "RETURNING " INSTITUTION_COLUMNS,
    .nparams = 2,
};

static const pg_stmt_t stmt_institution_find = {
    .name = "auth_institution_find",
    .sql = "SELECT i.id::text FROM auth.institutions i "
           "WHERE i.slug = $1 OR i.id::text = lower($1)",
    .nparams = 1,
};

/* $1: NULL for every institution, else only this one. */
static const pg_stmt_t stmt_institution_list = {
    .name = "auth_institution_list",
    .sql = "SELECT " INSTITUTION_COLUMNS " FROM auth.institutions i "
           "WHERE $1::uuid IS NULL OR i.id = $1::uuid "
           "ORDER BY i.name, i.slug LIMIT $2::int OFFSET $3::bigint",
    .nparams = 3,
};

static const pg_stmt_t stmt_user_membership = {
    .name = "auth_user_membership",
    .sql = "SELECT coalesce(institution_id::text, ''), institution_admin FROM auth.users "
           "WHERE id = $1::uuid",
    .nparams = 1,
};

static const pg_stmt_t stmt_user_set_institution = {
    .name = "auth_user_set_institution",
    .sql = "UPDATE auth.users u SET institution_id = $2::uuid, "
           "institution_admin = $2::uuid IS NOT NULL AND $3::bool, updated_at = now() "
           "WHERE u.id = $1::uuid RETURNING " AUTH_USER_COLUMNS,
    .nparams = 3,
};

static const pg_stmt_t stmt_user_set_institution_by_login = {
    .name = "auth_user_set_institution_by_login",
    .sql = "UPDATE auth.users SET institution_id = $2::uuid, "
           "institution_admin = $2::uuid IS NOT NULL AND $3::bool, updated_at = now() "
           "WHERE username = lower($1) OR email = lower($1) RETURNING id::text",
    .nparams = 3,
};

static const pg_stmt_t stmt_institution_members = {
    .name = "auth_institution_members",
    .sql = "SELECT " AUTH_USER_COLUMNS " FROM auth.users u WHERE u.institution_id = $1::uuid "
           "ORDER BY u.username LIMIT $2::int OFFSET $3::bigint",
    .nparams = 3,
};

/* ------------------------------------------------------------------------
 * Checks and small helpers
 * ------------------------------------------------------------------------ */

static int check_slug(const char *s, err_t **err)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "slug: must be 1 to 64 characters");
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "slug: may contain only a-z, 0-9 and '-'");
    return 0;
}

static int check_name(const char *s, err_t **err)
{
    long n = text_utf8_length(s);
    if (n < 1 || n > 120)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "name: must be 1 to 120 characters");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "name: must not contain control characters");
    return 0;
}

static Dojo__Auth__V1__Institution *institution_from_row(rpc_call_t *call, const PGresult *r,
                                                         int i)
{
    Dojo__Auth__V1__Institution *in =
        RPC_NEW(call, Dojo__Auth__V1__Institution, DOJO__AUTH__V1__INSTITUTION__INIT);
    in->id = rpc_strdup(call, pg_get(r, i, 0));
    in->slug = rpc_strdup(call, pg_get(r, i, 1));
    in->name = rpc_strdup(call, pg_get(r, i, 2));
    in->member_count = (int32_t)pg_get_int64(r, i, 3);
    in->created_at = auth_timestamp(call, pg_get_int64(r, i, 4));
    return in;
}

/* The caller's institution (id text, "" for none) and whether it administers it. */
static int membership(pg_conn_t *conn, const char *user_id, char *inst, size_t cap, bool *admin,
                      err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {user_id};
    if (pg_exec(conn, &stmt_user_membership, p, &r, err) < 0)
        return err_wrap(err, "institution membership");
    inst[0] = '\0';
    *admin = false;
    if (PQntuples(r) == 1) {
        snprintf(inst, cap, "%s", pg_get(r, 0, 0));
        *admin = pg_get_bool(r, 0, 1);
    }
    return 0;
}

/* The id of the institution named by slug or id; NOT_FOUND otherwise. */
static int find_institution(pg_conn_t *conn, const char *name, char *out, size_t cap,
                            err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {name};
    if (strlen(name) > 64)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such institution");
    if (pg_exec(conn, &stmt_institution_find, p, &r, err) < 0)
        return err_wrap(err, "find institution");
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such institution \"%s\"", name);
    snprintf(out, cap, "%s", pg_get(r, 0, 0));
    return 0;
}

int auth_institution_may_set_role(pg_conn_t *conn, const caller_t *caller, const char *target_id,
                                  const char *role, err_t **err)
{
    char mine[40], theirs[40];
    bool admin = false, target_admin = false;
    if (membership(conn, caller->claims.sub, mine, sizeof mine, &admin, err) < 0)
        return -1;
    if (!admin || mine[0] == '\0')
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "only admins and institution admins can change roles");
    if (strcmp(role, "learner") != 0 && strcmp(role, "teacher") != 0)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "role: institution admins may grant only ROLE_TEACHER or ROLE_LEARNER");
    if (membership(conn, target_id, theirs, sizeof theirs, &target_admin, err) < 0)
        return -1;
    if (strcmp(mine, theirs) != 0)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "user_id: not a member of your institution");
    return 0;
}

/* ------------------------------------------------------------------------
 * Handlers
 * ------------------------------------------------------------------------ */

static int require_admin(auth_t *auth, rpc_call_t *call, caller_t *caller, err_t **err)
{
    if (auth_require_user(auth, call, caller, err) < 0)
        return -1;
    if (strcmp(caller->claims.role, "admin") != 0)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only admins manage institutions");
    return 0;
}

static int insert_institution(pg_conn_t *conn, const char *slug, const char *name, PGresult **r,
                              err_t **err)
{
    if (check_slug(slug, err) < 0 || check_name(name, err) < 0)
        return -1;
    const char *p[] = {slug, name};
    if (pg_exec(conn, &stmt_institution_insert, p, r, err) < 0) {
        if ((*err)->code == GRPC_STATUS_ALREADY_EXISTS) {
            err_clear(err);
            return err_set(err, GRPC_STATUS_ALREADY_EXISTS,
                           "slug: an institution with this slug exists");
        }
        return err_wrap(err, "create institution");
    }
    return 0;
}

int auth_rpc_create_institution(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__CreateInstitutionRequest *req = (const void *)req_msg;
    caller_t caller;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (require_admin(auth, call, &caller, err) < 0 || auth_conn(auth, call, &conn, err) < 0 ||
        insert_institution(conn, req->slug, req->name, &r, err) < 0)
        return -1;
    Dojo__Auth__V1__CreateInstitutionResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__CreateInstitutionResponse,
                DOJO__AUTH__V1__CREATE_INSTITUTION_RESPONSE__INIT);
    resp->institution = institution_from_row(call, r, 0);
    LOG_INFO("institution created", "institution=%s", resp->institution->id);
    *out = &resp->base;
    return 0;
}

int auth_rpc_list_institutions(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__ListInstitutionsRequest *req = (const void *)req_msg;
    caller_t caller;
    int64_t offset;
    int size;
    if (auth_require_user(auth, call, &caller, err) < 0 ||
        page_read(req->page, 50, 200, &offset, &size, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (auth_conn(auth, call, &conn, err) < 0)
        return -1;
    Dojo__Auth__V1__ListInstitutionsResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__ListInstitutionsResponse,
                DOJO__AUTH__V1__LIST_INSTITUTIONS_RESPONSE__INIT);
    const char *only = NULL;
    char mine[40];
    if (strcmp(caller.claims.role, "admin") != 0) {
        bool admin = false;
        if (membership(conn, caller.claims.sub, mine, sizeof mine, &admin, err) < 0)
            return -1;
        if (!admin || mine[0] == '\0') {
            resp->page = page_info(call, offset, size, false, -1);
            *out = &resp->base;
            return 0;
        }
        only = mine;
    }
    char lim[16], off[24];
    snprintf(lim, sizeof lim, "%d", size + 1);
    snprintf(off, sizeof off, "%lld", (long long)offset);
    const char *p[] = {only, lim, off};
    if (pg_exec(conn, &stmt_institution_list, p, &r, err) < 0)
        return err_wrap(err, "list institutions");
    int rows = PQntuples(r);
    bool more = rows > size;
    if (more)
        rows = size;
    resp->institutions = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++)
        resp->institutions[resp->n_institutions++] = institution_from_row(call, r, i);
    resp->page = page_info(call, offset, size, more, -1);
    *out = &resp->base;
    return 0;
}

int auth_rpc_set_institution(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__SetInstitutionRequest *req = (const void *)req_msg;
    caller_t caller;
    if (require_admin(auth, call, &caller, err) < 0)
        return -1;
    if (!auth_is_uuid(req->user_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    char inst[40];
    if (auth_conn(auth, call, &conn, err) < 0 ||
        (req->institution[0] && find_institution(conn, req->institution, inst, sizeof inst, err) < 0))
        return -1;
    const char *p[] = {req->user_id, req->institution[0] ? inst : NULL,
                       req->institution_admin ? "true" : "false"};
    if (pg_exec(conn, &stmt_user_set_institution, p, &r, err) < 0)
        return err_wrap(err, "set institution");
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such user");
    LOG_INFO("institution membership changed", "target=%s institution=%s admin=%d",
             req->user_id, req->institution[0] ? inst : "-", req->institution_admin);
    Dojo__Auth__V1__SetInstitutionResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__SetInstitutionResponse,
                DOJO__AUTH__V1__SET_INSTITUTION_RESPONSE__INIT);
    resp->user = auth_user_from_row(call, r, 0, true);
    *out = &resp->base;
    return 0;
}

int auth_rpc_list_institution_members(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                      ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__ListInstitutionMembersRequest *req = (const void *)req_msg;
    caller_t caller;
    int64_t offset;
    int size;
    if (auth_require_user(auth, call, &caller, err) < 0 ||
        page_read(req->page, 100, 500, &offset, &size, err) < 0)
        return -1;
    if (!auth_is_uuid(req->institution_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "institution_id: must be a UUID");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (auth_conn(auth, call, &conn, err) < 0)
        return -1;
    if (strcmp(caller.claims.role, "admin") != 0) {
        char mine[40];
        bool admin = false;
        if (membership(conn, caller.claims.sub, mine, sizeof mine, &admin, err) < 0)
            return -1;
        if (!admin || strcasecmp(mine, req->institution_id) != 0)
            return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                           "only admins of this institution may list its members");
    }
    char lim[16], off[24];
    snprintf(lim, sizeof lim, "%d", size + 1);
    snprintf(off, sizeof off, "%lld", (long long)offset);
    const char *p[] = {req->institution_id, lim, off};
    if (pg_exec(conn, &stmt_institution_members, p, &r, err) < 0)
        return err_wrap(err, "list institution members");
    int rows = PQntuples(r);
    bool more = rows > size;
    if (more)
        rows = size;
    Dojo__Auth__V1__ListInstitutionMembersResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__ListInstitutionMembersResponse,
                DOJO__AUTH__V1__LIST_INSTITUTION_MEMBERS_RESPONSE__INIT);
    resp->users = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++)
        resp->users[resp->n_users++] = auth_user_from_row(call, r, i, true);
    resp->page = page_info(call, offset, size, more, -1);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Operators
 * ------------------------------------------------------------------------ */

int auth_create_institution(auth_t *auth, const char *slug, const char *name, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (auth_conn(auth, NULL, &conn, err) < 0)
        return -1;
    return insert_institution(conn, slug, name, &r, err);
}

int auth_set_institution_by_login(auth_t *auth, const char *login, const char *slug, bool admin,
                                  err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    char inst[40];
    bool none = !strcmp(slug, "-");
    if (auth_conn(auth, NULL, &conn, err) < 0 ||
        (!none && find_institution(conn, slug, inst, sizeof inst, err) < 0))
        return -1;
    const char *p[] = {login, none ? NULL : inst, admin ? "true" : "false"};
    if (pg_exec(conn, &stmt_user_set_institution_by_login, p, &r, err) < 0)
        return err_wrap(err, "set institution");
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no account with username or email \"%s\"",
                       login);
    return 0;
}
