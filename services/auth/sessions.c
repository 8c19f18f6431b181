/* sessions.c — login, refresh-token rotation with reuse detection, logout,
 * and login throttling in Redis. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"

/* ------------------------------------------------------------------------
 * Throttling: fixed windows counted in Redis by libcommon's limiter (kvc.h),
 * each attempt before the work it guards.
 * ------------------------------------------------------------------------ */

int auth_throttle_take(auth_t *auth, const char *key, int limit, int64_t window_s, err_t **err)
{
    kvc_limit_t l = {.key = key, .limit = limit, .window_s = window_s};
    kvc_limit_state_t st;
    if (kvc_limit_take(auth->kv, &l, 1, &st, err) < 0)
        return err_wrap(err, "throttle");
    if (!st.exceeded)
        return 0;
    int wait = st.reset_s > 0 ? (int)st.reset_s : 1;
    err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "too many attempts, try again in %d seconds",
            wait);
    (*err)->retry_after_s = wait;
    return -1;
}

void auth_throttle_give_back(auth_t *auth, const char *key)
{
    cleanup_err err_t *err = NULL;
    if (kvc_limit_give_back(auth->kv, key, &err) < 0)
        LOG_WARN("throttle update failed", "error=\"%s\"", log_esc(err->msg));
}

void auth_throttle_forget(auth_t *auth, const char *key)
{
    cleanup_err err_t *err = NULL;
    if (kvc_limit_forget(auth->kv, key, &err) < 0)
        LOG_WARN("throttle update failed", "error=\"%s\"", log_esc(err->msg));
}

void auth_throttle_key(char *out, size_t cap, const char *kind, const char *value)
{
    kvc_key_t k;
    snprintf(out, cap, "%s", kvc_key_throttle(&k, kind, value));
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_login_lookup = {
    .name = "auth_login_lookup",
    .sql = "SELECT " AUTH_USER_COLUMNS ", u.password_hash FROM auth.users u "
           "WHERE u.email = lower($1) OR u.username = lower($1) LIMIT 1",
    .nparams = 1,
};

static const pg_stmt_t stmt_rehash = {
    .name = "auth_rehash",
    .sql = "UPDATE auth.users SET password_hash = $2 WHERE id = $1::uuid",
    .nparams = 2,
};

static const pg_stmt_t stmt_refresh_insert = {
    .name = "auth_refresh_insert",
    .sql = "INSERT INTO auth.refresh_tokens (user_id, family_id, token_hash, expires_at, "
           "client_ip, user_agent) VALUES ($1::uuid, coalesce($2::uuid, gen_random_uuid()), $3, "
           "now() + make_interval(secs => $4::bigint), $5, $6) "
           "RETURNING (extract(epoch from expires_at) * 1000000)::bigint",
    .nparams = 6,
};

static const pg_stmt_t stmt_refresh_lookup = {
    .name = "auth_refresh_lookup",
    /* The account first (columns 0..AUTH_USER_NCOLS-1, as auth_issue_pair reads
     * them), then the token's state. */
    .sql = "SELECT " AUTH_USER_COLUMNS ", t.id, t.family_id::text, t.rotated_at IS NOT NULL, "
           "t.revoked_at IS NOT NULL, t.expires_at < now() FROM auth.refresh_tokens t "
           "JOIN auth.users u ON u.id = t.user_id WHERE t.token_hash = $1 FOR UPDATE OF t",
    .nparams = 1,
};

enum { TOK_ID = AUTH_USER_NCOLS, TOK_FAMILY, TOK_ROTATED, TOK_REVOKED, TOK_EXPIRED };

static const pg_stmt_t stmt_refresh_rotate = {
    .name = "auth_refresh_rotate",
    .sql = "UPDATE auth.refresh_tokens SET rotated_at = now() WHERE id = $1::bigint",
    .nparams = 1,
};

static const pg_stmt_t stmt_family_revoke = {
    .name = "auth_family_revoke",
    .sql = "UPDATE auth.refresh_tokens SET revoked_at = now() "
           "WHERE family_id = $1::uuid AND revoked_at IS NULL",
    .nparams = 1,
};

static const pg_stmt_t stmt_family_of = {
    .name = "auth_family_of",
    .sql = "SELECT family_id::text, user_id::text FROM auth.refresh_tokens WHERE token_hash = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_user_revoke = {
    .name = "auth_user_revoke",
    .sql = "UPDATE auth.refresh_tokens SET revoked_at = now() "
           "WHERE user_id = $1::uuid AND revoked_at IS NULL",
    .nparams = 1,
};

int auth_revoke_all_sessions(pg_conn_t *conn, const char *user_id, err_t **err)
{
    const char *p[] = {user_id};
    return pg_exec(conn, &stmt_user_revoke, p, NULL, err);
}

/* ------------------------------------------------------------------------
 * Token pairs
 * ------------------------------------------------------------------------ */

/* Issues an access token and a new refresh token (in `family`, or a new
 * family when NULL) for the user in row 0 of `user_row` (AUTH_USER_COLUMNS). */
int auth_issue_pair(auth_t *auth, rpc_call_t *call, pg_conn_t *conn, const PGresult *user_row,
                    const char *family, const char *client_ip, const char *user_agent,
                    Dojo__Auth__V1__TokenPair **out, err_t **err)
{
    Dojo__Auth__V1__TokenPair *pair =
        RPC_NEW(call, Dojo__Auth__V1__TokenPair, DOJO__AUTH__V1__TOKEN_PAIR__INIT);
    pair->user = auth_user_from_row(call, user_row, 0, true);

    cleanup_free char *refresh = auth_random_token();
    char hash[65], ttl[32];
    auth_token_hash(refresh, hash);
    snprintf(ttl, sizeof ttl, "%lld", (long long)auth->cfg.refresh_ttl_s);
    char ip[64], ua[256];
    snprintf(ip, sizeof ip, "%s", client_ip ? client_ip : "");
    snprintf(ua, sizeof ua, "%s", user_agent ? user_agent : "");
    const char *p[] = {pair->user->id, family, hash, ttl, ip, ua};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_refresh_insert, p, &r, err) < 0)
        return err_wrap(err, "store refresh token");

    cleanup_free char *access = NULL;
    int64_t exp = 0;
    const char *role = auth_role_text(pair->user->role);
    if (auth_issue_access_token(auth, pair->user->id, pair->user->username, role, &access, &exp,
                                err) < 0)
        return err_wrap(err, "issue access token");
    pair->access_token = rpc_strdup(call, access);
    pair->access_expires_at = auth_timestamp(call, exp * 1000000);
    pair->refresh_token = rpc_strdup(call, refresh);
    pair->refresh_expires_at = auth_timestamp(call, pg_get_int64(r, 0, 0));
    *out = pair;
    return 0;
}

/* ------------------------------------------------------------------------
 * Handlers
 * ------------------------------------------------------------------------ */

int auth_rpc_login(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                   err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__LoginRequest *req = (const void *)req_msg;
    if (req->login[0] == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "login: is required");
    if (strlen(req->login) > 254)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "login: must be at most 254 characters");
    if (req->password[0] == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "password: is required");
    if (strlen(req->password) > 512)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "password: must be at most 128 characters");

    char login[256];
    size_t n = strlen(req->login);
    for (size_t i = 0; i <= n; i++)
        login[i] = (char)((req->login[i] >= 'A' && req->login[i] <= 'Z') ? req->login[i] + 32
                                                                            : req->login[i]);
    /* The IP's budget counts every attempt; a good login gives its attempt
     * back, so a classroom behind one address is only slowed by failures. */
    char ip_key[128], acct_key[128];
    auth_throttle_key(ip_key, sizeof ip_key, "login-ip", req->client_ip);
    if (req->client_ip[0] && auth_throttle_take(auth, ip_key, auth->cfg.login_max_fails_ip,
                                                auth->cfg.login_window_s, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {login};
    if (auth_conn(auth, call, &conn, err) < 0 || pg_exec(conn, &stmt_login_lookup, p, &r, err) < 0)
        return -1;
    bool found = PQntuples(r) == 1;

    /* One budget per account, whichever name (email or username) is typed. */
    auth_throttle_key(acct_key, sizeof acct_key, "login-account", found ? pg_get(r, 0, 0) : login);
    if (auth_throttle_take(auth, acct_key, auth->cfg.login_max_fails_account,
                           auth->cfg.login_window_s, err) < 0)
        return -1;

    /* Unknown logins verify against a dummy hash, so both answers take the
     * same time and do not reveal which accounts exist. */
    /* So do accounts whose owner has not chosen a password yet. */
    bool has_password = found && strcmp(pg_get(r, 0, AUTH_USER_NCOLS), AUTH_NO_PASSWORD) != 0;
    const char *hash = has_password ? pg_get(r, 0, AUTH_USER_NCOLS) : auth->dummy_hash;
    /* No connection is held while waiting for a hash slot (r stays valid). */
    pg_conn_release(conn);
    conn = NULL;
    bool ok = false;
    if (auth_verify_password(auth, call, hash, req->password, &ok, err) < 0) {
        /* Refused before verifying: not an attempt, so it costs no budget. */
        auth_throttle_give_back(auth, acct_key);
        if (req->client_ip[0])
            auth_throttle_give_back(auth, ip_key);
        return -1;
    }
    ok = ok && has_password;
    if (!ok) {
        LOG_INFO("login failed", "known=%s", found ? "yes" : "no");
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "wrong login or password");
    }
    auth_throttle_forget(auth, acct_key);
    if (req->client_ip[0])
        auth_throttle_give_back(auth, ip_key);

    bool rehash =
        crypto_pwhash_str_needs_rehash(hash, auth->cfg.argon_ops, auth->cfg.argon_mem_bytes) == 1;
    char fresh[crypto_pwhash_STRBYTES];
    cleanup_err err_t *rehash_err = NULL;
    if (rehash && auth_hash_password(auth, call, req->password, fresh, &rehash_err) < 0) {
        LOG_WARN("password rehash failed", "error=\"%s\"", log_esc(rehash_err->msg));
        rehash = false;
    }
    if (auth_conn(auth, call, &conn, err) < 0)
        return -1;
    const char *rp[] = {pg_get(r, 0, 0), fresh};
    if (rehash && pg_exec(conn, &stmt_rehash, rp, NULL, &rehash_err) < 0)
        LOG_WARN("password rehash failed", "error=\"%s\"", log_esc(rehash_err->msg));

    Dojo__Auth__V1__TokenPair *pair = NULL;
    if (auth_issue_pair(auth, call, conn, r, NULL, req->client_ip, req->user_agent, &pair, err) < 0)
        return -1;
    rpc_call_set_log_user(call, pair->user->id);
    LOG_INFO("login ok", NULL);
    *out = &pair->base;
    return 0;
}

static int refresh_unauthenticated(err_t **err)
{
    return err_set(err, GRPC_STATUS_UNAUTHENTICATED,
                   "refresh token is invalid, expired or revoked: sign in again");
}

int auth_rpc_refresh(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                     err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__RefreshRequest *req = (const void *)req_msg;
    if (req->refresh_token[0] == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "refresh_token: is required");
    if (strlen(req->refresh_token) > 128)
        return refresh_unauthenticated(err);
    char hash[65];
    auth_token_hash(req->refresh_token, hash);

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {hash};
    if (auth_conn(auth, call, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        pg_exec(conn, &stmt_refresh_lookup, p, &r, err) < 0)
        return err_wrap(err, "refresh");
    if (PQntuples(r) == 0)
        return refresh_unauthenticated(err);
    const char *family = pg_get(r, 0, TOK_FAMILY);
    bool rotated = pg_get_bool(r, 0, TOK_ROTATED), revoked = pg_get_bool(r, 0, TOK_REVOKED),
         expired = pg_get_bool(r, 0, TOK_EXPIRED);
    if (rotated && !revoked) {
        /* A token that was already exchanged came back: someone holds a
         * copy. End every session of this login. */
        const char *fp[] = {family};
        if (pg_exec(conn, &stmt_family_revoke, fp, NULL, err) < 0 || pg_commit(conn, err) < 0)
            return err_wrap(err, "revoke token family");
        LOG_WARN("refresh token reuse: family revoked", "user=%s family=%s", pg_get(r, 0, 0),
                 family);
        return refresh_unauthenticated(err);
    }
    if (rotated || revoked || expired)
        return refresh_unauthenticated(err);

    const char *rp[] = {pg_get(r, 0, TOK_ID)};
    if (pg_exec(conn, &stmt_refresh_rotate, rp, NULL, err) < 0)
        return err_wrap(err, "rotate refresh token");

    Dojo__Auth__V1__TokenPair *pair = NULL;
    if (auth_issue_pair(auth, call, conn, r, family, req->client_ip, "", &pair, err) < 0 ||
        pg_commit(conn, err) < 0)
        return err_wrap(err, "refresh");
    rpc_call_set_log_user(call, pair->user->id);
    *out = &pair->base;
    return 0;
}

int auth_rpc_logout(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                    err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__LogoutRequest *req = (const void *)req_msg;
    if (req->refresh_token[0] == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "refresh_token: is required");
    *out = &RPC_NEW(call, Dojo__Auth__V1__LogoutResponse, DOJO__AUTH__V1__LOGOUT_RESPONSE__INIT)
                ->base;
    if (strlen(req->refresh_token) > 128)
        return 0;
    char hash[65];
    auth_token_hash(req->refresh_token, hash);
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {hash};
    if (auth_conn(auth, call, &conn, err) < 0 || pg_exec(conn, &stmt_family_of, p, &r, err) < 0)
        return err_wrap(err, "logout");
    if (PQntuples(r) == 0)
        return 0;
    const char *fp[] = {pg_get(r, 0, 0)};
    const char *up[] = {pg_get(r, 0, 1)};
    if (pg_exec(conn, &stmt_family_revoke, fp, NULL, err) < 0)
        return err_wrap(err, "logout");
    if (req->all_sessions && pg_exec(conn, &stmt_user_revoke, up, NULL, err) < 0)
        return err_wrap(err, "logout everywhere");
    rpc_call_set_log_user(call, pg_get(r, 0, 1));
    LOG_INFO("logout", "all_sessions=%s", req->all_sessions ? "yes" : "no");
    return 0;
}
