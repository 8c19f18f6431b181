/* reset.c — password reset by mail: a random single-use token, stored
 * hashed, valid for an hour. The request answers the same whether or not an
 * account has the address. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

static const pg_stmt_t stmt_reset_user = {
    .name = "auth_reset_user",
    .sql = "SELECT id::text, display_name FROM auth.users WHERE email = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_reset_insert = {
    .name = "auth_reset_insert",
    .sql = "INSERT INTO auth.password_resets (token_hash, user_id, expires_at) "
           "VALUES ($1, $2::uuid, now() + make_interval(secs => $3::bigint))",
    .nparams = 3,
};

static const pg_stmt_t stmt_reset_consume = {
    .name = "auth_reset_consume",
    .sql = "UPDATE auth.password_resets SET used_at = now() "
           "WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() "
           "RETURNING user_id::text",
    .nparams = 1,
};

static const pg_stmt_t stmt_reset_others = {
    .name = "auth_reset_others",
    .sql = "UPDATE auth.password_resets SET used_at = now() "
           "WHERE user_id = $1::uuid AND used_at IS NULL",
    .nparams = 1,
};

static const pg_stmt_t stmt_reset_set_password = {
    .name = "auth_reset_set_password",
    .sql = "UPDATE auth.users SET password_hash = $2, updated_at = now() WHERE id = $1::uuid",
    .nparams = 2,
};

int auth_rpc_request_password_reset(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                    ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__RequestPasswordResetRequest *req = (const void *)req_msg;
    char email[256];
    if (auth_validate_email(req->email, email, sizeof email, err) < 0)
        return -1;
    char ip_key[128], mail_key[128];
    auth_throttle_key(ip_key, sizeof ip_key, "reset-ip", req->client_ip);
    auth_throttle_key(mail_key, sizeof mail_key, "reset-email", email);
    if (req->client_ip[0] && auth_throttle_take(auth, ip_key, auth->cfg.reset_max_per_ip,
                                                auth->cfg.reset_window_s, err) < 0)
        return -1;
    *out = &RPC_NEW(call, Dojo__Auth__V1__RequestPasswordResetResponse,
                    DOJO__AUTH__V1__REQUEST_PASSWORD_RESET_RESPONSE__INIT)
                ->base;

    /* Per address, extra requests are dropped silently: answering
     * differently would tell that the address is known. */
    if (auth_throttle_take(auth, mail_key, auth->cfg.reset_max_per_email, auth->cfg.reset_window_s,
                           err) < 0) {
        if ((*err)->code != GRPC_STATUS_RESOURCE_EXHAUSTED)
            return -1;
        err_clear(err);
        LOG_INFO("password reset not mailed: too many for this address", NULL);
        return 0;
    }

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {email};
    if (auth_conn(auth, call, &conn, err) < 0 || pg_exec(conn, &stmt_reset_user, p, &r, err) < 0)
        return err_wrap(err, "password reset");
    if (PQntuples(r) == 0) {
        LOG_INFO("password reset for unknown address", NULL);
        return 0;
    }
    cleanup_free char *token = auth_random_token();
    char hash[65], ttl[32];
    auth_token_hash(token, hash);
    snprintf(ttl, sizeof ttl, "%lld", (long long)auth->cfg.reset_ttl_s);
    const char *ip[] = {hash, pg_get(r, 0, 0), ttl};
    if (pg_exec(conn, &stmt_reset_insert, ip, NULL, err) < 0)
        return err_wrap(err, "password reset");

    cleanup_free char *body =
        xasprintf("Hello %s,\r\n\r\n"
                  "Someone asked to reset the password of your Dojo account.\r\n"
                  "To choose a new password, open this link within %lld minutes:\r\n\r\n"
                  "%s/reset-password?token=%s\r\n\r\n"
                  "The link works once. If you did not ask for this, ignore this mail:\r\n"
                  "your password stays as it is.\r\n",
                  pg_get(r, 0, 1), (long long)auth->cfg.reset_ttl_s / 60, auth->cfg.public_url,
                  token);
    auth_mailer_send(auth->mailer, email, "Reset your Dojo password", body);
    sodium_memzero(token, strlen(token));
    rpc_call_set_log_user(call, pg_get(r, 0, 0));
    LOG_INFO("password reset mailed", NULL);
    return 0;
}

int auth_rpc_reset_password(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__ResetPasswordRequest *req = (const void *)req_msg;
    if (req->token[0] == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "token: is required");
    if (auth_validate_password("new_password", req->new_password, err) < 0)
        return -1;
    if (strlen(req->token) > 128)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "token: this reset link is invalid, used or expired");
    char hash[65];
    auth_token_hash(req->token, hash);
    char pw_hash[crypto_pwhash_STRBYTES];
    if (auth_hash_password(auth, call, req->new_password, pw_hash, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {hash};
    if (auth_conn(auth, call, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        pg_exec(conn, &stmt_reset_consume, p, &r, err) < 0)
        return err_wrap(err, "reset password");
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "token: this reset link is invalid, used or expired");
    const char *user_id = pg_get(r, 0, 0);
    const char *sp[] = {user_id, pw_hash};
    const char *up[] = {user_id};
    if (pg_exec(conn, &stmt_reset_set_password, sp, NULL, err) < 0 ||
        pg_exec(conn, &stmt_reset_others, up, NULL, err) < 0 ||
        auth_revoke_all_sessions(conn, user_id, err) < 0 || pg_commit(conn, err) < 0)
        return err_wrap(err, "reset password");
    rpc_call_set_log_user(call, user_id);
    LOG_INFO("password reset done; sessions revoked", NULL);
    *out = &RPC_NEW(call, Dojo__Auth__V1__ResetPasswordResponse,
                    DOJO__AUTH__V1__RESET_PASSWORD_RESPONSE__INIT)
                ->base;
    return 0;
}
