/* accounts.c — sign-up, profiles, roles and password changes. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"
#include "libcommon/text.h"

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------ */

Dojo__Common__V1__Timestamp *auth_timestamp(rpc_call_t *call, int64_t us)
{
    Dojo__Common__V1__Timestamp *t =
        RPC_NEW(call, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    t->unix_micros = us;
    return t;
}

Dojo__Auth__V1__User *auth_user_from_row(rpc_call_t *call, const PGresult *r, int row,
                                         bool with_email)
{
    Dojo__Auth__V1__User *u = RPC_NEW(call, Dojo__Auth__V1__User, DOJO__AUTH__V1__USER__INIT);
    u->id = rpc_strdup(call, pg_get(r, row, 0));
    u->username = rpc_strdup(call, pg_get(r, row, 1));
    u->email = with_email ? rpc_strdup(call, pg_get(r, row, 2)) : "";
    u->display_name = rpc_strdup(call, pg_get(r, row, 3));
    u->time_zone = rpc_strdup(call, pg_get(r, row, 4));
    u->role = auth_role_from_text(pg_get(r, row, 5));
    u->created_at = auth_timestamp(call, pg_get_int64(r, row, 6));
    int64_t tz_changed = pg_get_int64(r, row, 7);
    if (tz_changed)
        u->time_zone_changed_at = auth_timestamp(call, tz_changed);
    if (with_email) {
        u->institution_id = rpc_strdup(call, pg_get(r, row, 8));
        u->institution_admin = pg_get_bool(r, row, 9);
    }
    return u;
}

/* A call waits for a connection until shortly before its deadline, which
 * leaves it the time to use one and answer: when a burst of sign-ups
 * finishes its hashes, every slot wants a connection at once. */
#define AUTH_CONN_MARGIN_MS 200

int auth_conn(auth_t *auth, rpc_call_t *call, pg_conn_t **out, err_t **err)
{
    int64_t wait_ms = 5000;
    if (call != NULL) {
        int64_t left = rpc_call_deadline_left_ms(call) - AUTH_CONN_MARGIN_MS;
        wait_ms = left < 0 ? 0 : left > 60000 ? 60000 : left;
    }
    if (pg_pool_acquire(auth->pg, out, (int)wait_ms, err) < 0) {
        if ((*err)->retry_after_s > 0)
            metrics_counter_add("dojo_auth_db_busy_total", "", 1);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_user_insert = {
    .name = "auth_user_insert",
    .sql = "INSERT INTO auth.users AS u (email, username, display_name, password_hash, time_zone, "
           "role) VALUES ($1, $2, $3, $4, $5, $6) RETURNING " AUTH_USER_COLUMNS,
    .nparams = 6,
};

static const pg_stmt_t stmt_user_by_id = {
    .name = "auth_user_by_id",
    .sql = "SELECT " AUTH_USER_COLUMNS " FROM auth.users u WHERE u.id = $1::uuid",
    .nparams = 1,
};

static const pg_stmt_t stmt_user_by_username = {
    .name = "auth_user_by_username",
    .sql = "SELECT " AUTH_USER_COLUMNS " FROM auth.users u WHERE u.username = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_user_update_profile = {
    .name = "auth_user_update_profile",
    .sql = "UPDATE auth.users u SET "
           "display_name = CASE WHEN $2 = '' THEN u.display_name ELSE $2 END, "
           "time_zone_changed_at = CASE WHEN $3 = '' OR $3 = u.time_zone "
           "  THEN u.time_zone_changed_at ELSE now() END, "
           "time_zone = CASE WHEN $3 = '' THEN u.time_zone ELSE $3 END, "
           "updated_at = now() "
           "WHERE u.id = $1::uuid RETURNING " AUTH_USER_COLUMNS,
    .nparams = 3,
};

static const pg_stmt_t stmt_user_tz_locked = {
    .name = "auth_user_tz_locked",
    .sql = "SELECT time_zone, coalesce(time_zone_changed_at > now() - interval '24 hours', false) "
           "FROM auth.users WHERE id = $1::uuid FOR UPDATE",
    .nparams = 1,
};

static const pg_stmt_t stmt_user_set_role = {
    .name = "auth_user_set_role",
    .sql = "UPDATE auth.users u SET role = $2, updated_at = now() WHERE u.id = $1::uuid "
           "RETURNING " AUTH_USER_COLUMNS,
    .nparams = 2,
};

static const pg_stmt_t stmt_user_set_role_by_login = {
    .name = "auth_user_set_role_by_login",
    .sql = "UPDATE auth.users SET role = $2, updated_at = now() "
           "WHERE username = lower($1) OR email = lower($1) RETURNING id::text",
    .nparams = 2,
};

static const pg_stmt_t stmt_user_password_hash = {
    .name = "auth_user_password_hash",
    .sql = "SELECT password_hash FROM auth.users WHERE id = $1::uuid",
    .nparams = 1,
};

static const pg_stmt_t stmt_user_set_password = {
    .name = "auth_user_set_password",
    .sql = "UPDATE auth.users SET password_hash = $2, updated_at = now() WHERE id = $1::uuid",
    .nparams = 2,
};

bool auth_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                                (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Creating accounts
 * ------------------------------------------------------------------------ */

int auth_create_user(auth_t *auth, rpc_call_t *call, pg_conn_t **conn, const char *email,
                     const char *username, const char *password, const char *time_zone,
                     const char *display_name, const char *role, PGresult **out, err_t **err)
{
    char email_n[256], username_n[64];
    const char *tz = time_zone[0] ? time_zone : "UTC";
    if (auth_validate_email(email, email_n, sizeof email_n, err) < 0 ||
        auth_validate_username(username, username_n, sizeof username_n, err) < 0 ||
        auth_validate_password("password", password, err) < 0 ||
        text_check_time_zone("time_zone", tz, err) < 0)
        return -1;
    const char *shown = display_name[0] ? display_name : username_n;
    if (text_check_display_name(shown, err) < 0)
        return -1;
    char hash[crypto_pwhash_STRBYTES];
    /* Hashed before a connection is taken: waiting for a hash slot holds none. */
    if (auth_hash_password(auth, call, password, hash, err) < 0)
        return -1;
    if (*conn == NULL && auth_conn(auth, call, conn, err) < 0)
        return -1;
    const char *params[] = {email_n, username_n, shown, hash, tz, role};
    if (pg_exec(*conn, &stmt_user_insert, params, out, err) < 0) {
        if ((*err)->code == GRPC_STATUS_ALREADY_EXISTS) {
            bool email_taken = strstr(pg_last_constraint(*conn), "email") != NULL;
            err_clear(err);
            return err_set(err, GRPC_STATUS_ALREADY_EXISTS,
                           email_taken ? "email: an account with this address already exists"
                                       : "username: this username is taken");
        }
        return err_wrap(err, "create user");
    }
    return 0;
}

int auth_rpc_sign_up(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                     err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__SignUpRequest *req = (const void *)req_msg;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (auth_create_user(auth, call, &conn, req->email, req->username, req->password,
                         req->time_zone, req->display_name, "learner", &r, err) < 0)
        return -1;
    Dojo__Auth__V1__SignUpResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__SignUpResponse, DOJO__AUTH__V1__SIGN_UP_RESPONSE__INIT);
    resp->user = auth_user_from_row(call, r, 0, true);
    LOG_INFO("account created", "user=%s", resp->user->id);
    if (req->open_session) {
        /* The password was just hashed: a session now costs no second hash
         * (a Login would verify it again). */
        cleanup_err err_t *serr = NULL;
        if (auth_issue_pair(auth, call, conn, r, NULL, req->client_ip, req->user_agent,
                            &resp->session, &serr) < 0) {
            resp->session = NULL;
            LOG_WARN("no session at sign-up; Login will open one", "user=%s error=\"%s\"",
                     resp->user->id, log_esc(serr->msg));
        } else {
            rpc_call_set_log_user(call, resp->user->id);
        }
    }
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Reading and changing accounts
 * ------------------------------------------------------------------------ */

int auth_rpc_get_user(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                      err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__GetUserRequest *req = (const void *)req_msg;
    caller_t caller;
    if (auth_caller(auth, call, &caller, err) < 0)
        return -1;
    if (caller.kind == CALLER_ANONYMOUS)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "sign in first: no access token sent");

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (auth_conn(auth, call, &conn, err) < 0)
        return -1;
    if (req->user_id[0]) {
        if (!auth_is_uuid(req->user_id))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
        const char *p[] = {req->user_id};
        if (pg_exec(conn, &stmt_user_by_id, p, &r, err) < 0)
            return -1;
    } else if (req->username[0]) {
        char name[64];
        if (auth_validate_username(req->username, name, sizeof name, err) < 0)
            return -1;
        const char *p[] = {name};
        if (pg_exec(conn, &stmt_user_by_username, p, &r, err) < 0)
            return -1;
    } else {
        if (caller.kind != CALLER_USER)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "user_id: required when calling as a service");
        const char *p[] = {caller.claims.sub};
        if (pg_exec(conn, &stmt_user_by_id, p, &r, err) < 0)
            return -1;
    }
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such user");
    bool privileged = caller.kind == CALLER_SERVICE || !strcmp(caller.claims.role, "admin") ||
                      !strcmp(caller.claims.sub, pg_get(r, 0, 0));
    Dojo__Auth__V1__GetUserResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__GetUserResponse, DOJO__AUTH__V1__GET_USER_RESPONSE__INIT);
    resp->user = auth_user_from_row(call, r, 0, privileged);
    if (!privileged)
        resp->user->time_zone_changed_at = NULL;
    *out = &resp->base;
    return 0;
}

int auth_rpc_update_profile(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__UpdateProfileRequest *req = (const void *)req_msg;
    caller_t caller;
    if (auth_require_user(auth, call, &caller, err) < 0)
        return -1;
    if (req->display_name[0] && text_check_display_name(req->display_name, err) < 0)
        return -1;
    if (req->time_zone[0] && text_check_time_zone("time_zone", req->time_zone, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    cleanup_pgresult PGresult *lock = NULL;
    if (auth_conn(auth, call, &conn, err) < 0 || pg_begin(conn, err) < 0)
        return -1;
    const char *id[] = {caller.claims.sub};
    if (pg_exec(conn, &stmt_user_tz_locked, id, &lock, err) < 0)
        return -1;
    if (PQntuples(lock) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such user");
    bool changes_zone = req->time_zone[0] && strcmp(req->time_zone, pg_get(lock, 0, 0)) != 0;
    if (changes_zone && pg_get_bool(lock, 0, 1))
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "time_zone: can change at most once every 24 hours");
    const char *p[] = {caller.claims.sub, req->display_name, req->time_zone};
    if (pg_exec(conn, &stmt_user_update_profile, p, &r, err) < 0 || pg_commit(conn, err) < 0)
        return err_wrap(err, "update profile");
    Dojo__Auth__V1__UpdateProfileResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__UpdateProfileResponse,
                DOJO__AUTH__V1__UPDATE_PROFILE_RESPONSE__INIT);
    resp->user = auth_user_from_row(call, r, 0, true);
    *out = &resp->base;
    return 0;
}

int auth_rpc_set_role(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                      err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__SetRoleRequest *req = (const void *)req_msg;
    caller_t caller;
    if (auth_require_user(auth, call, &caller, err) < 0)
        return -1;
    if (!auth_is_uuid(req->user_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    const char *role = auth_role_text(req->role);
    if (role == NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "role: must be ROLE_LEARNER, ROLE_TEACHER, ROLE_AUTHOR or ROLE_ADMIN");
    bool admin = !strcmp(caller.claims.role, "admin");
    if (admin && !strcasecmp(req->user_id, caller.claims.sub) && strcmp(role, "admin") != 0)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "role: admins cannot demote themselves; ask another admin");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {req->user_id, role};
    if (auth_conn(auth, call, &conn, err) < 0 ||
        (!admin && auth_institution_may_set_role(conn, &caller, req->user_id, role, err) < 0) ||
        pg_exec(conn, &stmt_user_set_role, p, &r, err) < 0)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such user");
    LOG_INFO("role changed", "target=%s role=%s", req->user_id, role);
    Dojo__Auth__V1__SetRoleResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__SetRoleResponse, DOJO__AUTH__V1__SET_ROLE_RESPONSE__INIT);
    resp->user = auth_user_from_row(call, r, 0, true);
    *out = &resp->base;
    return 0;
}

int auth_set_role_by_login(auth_t *auth, const char *login, const char *role, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {login, role};
    if (auth_conn(auth, NULL, &conn, err) < 0 ||
        pg_exec(conn, &stmt_user_set_role_by_login, p, &r, err) < 0)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no account with username or email \"%s\"",
                       login);
    return 0;
}

int auth_rpc_change_password(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__ChangePasswordRequest *req = (const void *)req_msg;
    caller_t caller;
    if (auth_require_user(auth, call, &caller, err) < 0)
        return -1;
    if (auth_validate_password("new_password", req->new_password, err) < 0)
        return -1;
    if (strlen(req->current_password) > 512)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "current_password: is wrong");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *id[] = {caller.claims.sub};
    if (auth_conn(auth, call, &conn, err) < 0 ||
        pg_exec(conn, &stmt_user_password_hash, id, &r, err) < 0)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such user");
    /* No connection is held while waiting for hash slots. */
    pg_conn_release(conn);
    conn = NULL;
    bool ok = false;
    if (auth_verify_password(auth, call, pg_get(r, 0, 0), req->current_password, &ok, err) < 0)
        return -1;
    if (!ok)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "current_password: is wrong");
    char hash[crypto_pwhash_STRBYTES];
    if (auth_hash_password(auth, call, req->new_password, hash, err) < 0)
        return -1;
    const char *p[] = {caller.claims.sub, hash};
    if (auth_conn(auth, call, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        pg_exec(conn, &stmt_user_set_password, p, NULL, err) < 0 ||
        auth_revoke_all_sessions(conn, caller.claims.sub, err) < 0 || pg_commit(conn, err) < 0)
        return err_wrap(err, "change password");
    LOG_INFO("password changed", NULL);
    *out = &RPC_NEW(call, Dojo__Auth__V1__ChangePasswordResponse,
                    DOJO__AUTH__V1__CHANGE_PASSWORD_RESPONSE__INIT)
                ->base;
    return 0;
}
