/* provision.c — what other services ask of auth about people: accounts in
 * bulk (GetUsers), accounts made for people who have none yet (a teacher's
 * roster: ProvisionAccounts), and mail (SendMail: class invitations,
 * due-date reminders). Services only: no end user reaches these directly.
 *
 * An account made for someone has no password (AUTH_NO_PASSWORD, which no
 * password verifies against) until its owner follows the mailed link, a
 * password-reset token with the longer DOJO_AUTH_INVITE_TTL. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/text.h"
#include "libcommon/mem.h"

#define MAX_USERS 1000
#define MAX_SEEDS 500
#define MAX_MAILS 1000
#define MAX_INTRO 2000
#define MAX_SUBJECT 200
#define MAX_BODY 20000

static const pg_stmt_t stmt_users_by_ids = {
    .name = "auth_users_by_ids",
    .sql = "SELECT " AUTH_USER_COLUMNS " FROM auth.users u WHERE u.id = ANY ($1::uuid[])",
    .nparams = 1,
};

static const pg_stmt_t stmt_user_by_email = {
    .name = "auth_user_by_email",
    .sql = "SELECT " AUTH_USER_COLUMNS " FROM auth.users u WHERE u.email = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_sponsor = {
    .name = "auth_sponsor",
    .sql = "SELECT display_name, institution_id::text FROM auth.users WHERE id = $1::uuid",
    .nparams = 1,
};

static const pg_stmt_t stmt_provision_insert = {
    .name = "auth_provision_insert",
    .sql = "INSERT INTO auth.users AS u (email, username, display_name, password_hash, "
           "time_zone, institution_id) VALUES ($1, $2, $3, '" AUTH_NO_PASSWORD
           "', $4, $5::uuid) ON CONFLICT DO NOTHING RETURNING " AUTH_USER_COLUMNS,
    .nparams = 5,
};

static const pg_stmt_t stmt_invite_insert = {
    .name = "auth_invite_insert",
    .sql = "INSERT INTO auth.password_resets (token_hash, user_id, expires_at, purpose) "
           "VALUES ($1, $2::uuid, now() + make_interval(secs => $3::bigint), 'invite')",
    .nparams = 3,
};

static int require_service(auth_t *auth, rpc_call_t *call, err_t **err)
{
    caller_t caller;
    if (auth_caller(auth, call, &caller, err) < 0)
        return -1;
    if (caller.kind != CALLER_SERVICE)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only services may call this");
    return 0;
}

/* Names the list element a field error is about: "email: ..." becomes
 * "accounts[3].email: ...". Returns -1. */
static int indexed(err_t **err, const char *list, size_t i)
{
    grpc_status_code code = (*err)->code;
    cleanup_free char *m = xstrdup(err_public_message(*err));
    err_clear(err);
    return err_set(err, code, "%s[%zu].%s", list, i, m);
}

/* A PostgreSQL array literal of UUIDs (validated) in the call's arena. */
static int uuid_array(rpc_call_t *call, const char *field, char **ids, size_t n, char **out,
                      err_t **err)
{
    char *a = rpc_alloc(call, n * 37 + 3);
    char *p = a;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (!auth_is_uuid(ids[i]))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s[%zu]: must be a UUID", field, i);
        if (i)
            *p++ = ',';
        memcpy(p, ids[i], 36);
        p += 36;
    }
    *p++ = '}';
    *p = '\0';
    *out = a;
    return 0;
}

/* ------------------------------------------------------------------------
 * GetUsers
 * ------------------------------------------------------------------------ */

int auth_rpc_get_users(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                       err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__GetUsersRequest *req = (const void *)req_msg;
    if (require_service(auth, call, err) < 0)
        return -1;
    if (req->n_user_ids < 1 || req->n_user_ids > MAX_USERS)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_ids: 1 to %d ids", MAX_USERS);
    char *ids = NULL;
    if (uuid_array(call, "user_ids", req->user_ids, req->n_user_ids, &ids, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {ids};
    if (auth_conn(auth, call, &conn, err) < 0 || pg_exec(conn, &stmt_users_by_ids, p, &r, err) < 0)
        return err_wrap(err, "get users");
    Dojo__Auth__V1__GetUsersResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__GetUsersResponse, DOJO__AUTH__V1__GET_USERS_RESPONSE__INIT);
    int rows = PQntuples(r);
    resp->users = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++)
        resp->users[resp->n_users++] = auth_user_from_row(call, r, i, true);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * ProvisionAccounts
 * ------------------------------------------------------------------------ */

typedef struct seed {
    char email[256];
    char username[64];
    const char *display_name;
    const char *time_zone;
} seed_t;

/* Validates every seed (with its index in the error's field) before
 * anything is written; duplicates within the request are errors too. */
static int seeds_check(rpc_call_t *call, const Dojo__Auth__V1__ProvisionAccountsRequest *req,
                       seed_t **out, err_t **err)
{
    seed_t *s = rpc_alloc(call, req->n_accounts * sizeof *s);
    for (size_t i = 0; i < req->n_accounts; i++) {
        const Dojo__Auth__V1__AccountSeed *a = req->accounts[i];
        s[i].time_zone = a->time_zone[0] ? a->time_zone : "UTC";
        if (auth_validate_email(a->email, s[i].email, sizeof s[i].email, err) < 0 ||
            auth_validate_username(a->username, s[i].username, sizeof s[i].username, err) < 0 ||
            text_check_time_zone("time_zone", s[i].time_zone, err) < 0)
            return indexed(err, "accounts", i);
        s[i].display_name = a->display_name[0] ? a->display_name : s[i].username;
        if (text_check_display_name(s[i].display_name, err) < 0)
            return indexed(err, "accounts", i);
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(s[j].email, s[i].email))
                return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                               "accounts[%zu].email: the same as accounts[%zu]", i, j);
            if (!strcmp(s[j].username, s[i].username))
                return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                               "accounts[%zu].username: the same as accounts[%zu]", i, j);
        }
    }
    *out = s;
    return 0;
}

static void mail_welcome(auth_t *auth, const seed_t *s, const char *intro, const char *token)
{
    cleanup_free char *body = xasprintf(
        "Hello %s,\r\n\r\n%s%s"
        "An account on Dojo was made for you; your username is %s.\r\n"
        "Choose your password within %lld days with this link (it works once):\r\n\r\n"
        "%s/reset-password?token=%s\r\n\r\n"
        "Then sign in at %s/login.\r\n",
        s->display_name, intro, intro[0] ? "\r\n\r\n" : "", s->username,
        (long long)(auth->cfg.invite_ttl_s / 86400 ? auth->cfg.invite_ttl_s / 86400 : 1),
        auth->cfg.public_url, token, auth->cfg.public_url);
    auth_mailer_send(auth->mailer, s->email, "Your Dojo account", body);
    sodium_memzero(body, strlen(body));
}

/* Makes one account, or says why not; mails the first-password link. */
static int provision_one(auth_t *auth, rpc_call_t *call, pg_conn_t *conn, const seed_t *s,
                         const char *institution, const char *intro,
                         Dojo__Auth__V1__ProvisionedAccount *res, err_t **err)
{
    cleanup_pgresult PGresult *found = NULL;
    cleanup_pgresult PGresult *made = NULL;
    const char *pe[] = {s->email};
    if (pg_exec(conn, &stmt_user_by_email, pe, &found, err) < 0)
        return -1;
    if (PQntuples(found) == 0) {
        const char *pi[] = {s->email, s->username, s->display_name, s->time_zone, institution};
        if (pg_exec(conn, &stmt_provision_insert, pi, &made, err) < 0)
            return -1;
        if (PQntuples(made) == 1) {
            res->outcome = DOJO__AUTH__V1__PROVISION_OUTCOME__PROVISION_OUTCOME_CREATED;
            res->user = auth_user_from_row(call, made, 0, true);
            cleanup_free char *token = auth_random_token();
            char hash[65], ttl[32];
            auth_token_hash(token, hash);
            snprintf(ttl, sizeof ttl, "%lld", (long long)auth->cfg.invite_ttl_s);
            const char *pt[] = {hash, res->user->id, ttl};
            if (pg_exec(conn, &stmt_invite_insert, pt, NULL, err) < 0)
                return -1;
            mail_welcome(auth, s, intro, token);
            sodium_memzero(token, strlen(token));
            LOG_INFO("account provisioned", "user=%s", res->user->id);
            return 0;
        }
        /* A conflict: the address arrived meanwhile, or the username is taken. */
        PQclear(found);
        found = NULL;
        if (pg_exec(conn, &stmt_user_by_email, pe, &found, err) < 0)
            return -1;
    }
    if (PQntuples(found) == 1) {
        res->outcome = DOJO__AUTH__V1__PROVISION_OUTCOME__PROVISION_OUTCOME_EXISTS;
        res->user = auth_user_from_row(call, found, 0, true);
        return 0;
    }
    res->outcome = DOJO__AUTH__V1__PROVISION_OUTCOME__PROVISION_OUTCOME_REJECTED;
    res->error = RPC_NEW(call, Dojo__Common__V1__FieldError, DOJO__COMMON__V1__FIELD_ERROR__INIT);
    res->error->path = rpc_sprintf(call, "accounts[%d].username", res->index);
    res->error->message = "this username is taken";
    return 0;
}

int auth_rpc_provision_accounts(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                ProtobufCMessage **out, err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__ProvisionAccountsRequest *req = (const void *)req_msg;
    if (require_service(auth, call, err) < 0)
        return -1;
    if (req->n_accounts < 1 || req->n_accounts > MAX_SEEDS)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "accounts: 1 to %d seeds", MAX_SEEDS);
    if (!auth_is_uuid(req->on_behalf_of))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "on_behalf_of: must be a UUID");
    long intro_len = text_utf8_length(req->mail_intro);
    if (intro_len < 0 || intro_len > MAX_INTRO)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "mail_intro: must be at most %d characters of UTF-8", MAX_INTRO);
    seed_t *seeds = NULL;
    if (seeds_check(call, req, &seeds, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *sp = NULL;
    const char *ps[] = {req->on_behalf_of};
    if (auth_conn(auth, call, &conn, err) < 0 || pg_exec(conn, &stmt_sponsor, ps, &sp, err) < 0)
        return err_wrap(err, "provision accounts");
    if (PQntuples(sp) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "on_behalf_of: no such user");
    const char *institution = pg_is_null(sp, 0, 1) ? NULL : pg_get(sp, 0, 1);

    Dojo__Auth__V1__ProvisionAccountsResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__ProvisionAccountsResponse,
                DOJO__AUTH__V1__PROVISION_ACCOUNTS_RESPONSE__INIT);
    resp->results = rpc_alloc(call, (req->n_accounts + 1) * sizeof(void *));
    int created = 0;
    for (size_t i = 0; i < req->n_accounts; i++) {
        Dojo__Auth__V1__ProvisionedAccount *res =
            RPC_NEW(call, Dojo__Auth__V1__ProvisionedAccount,
                    DOJO__AUTH__V1__PROVISIONED_ACCOUNT__INIT);
        res->index = (int32_t)i;
        if (provision_one(auth, call, conn, &seeds[i], institution, req->mail_intro, res, err) <
            0)
            return err_wrap(err, "provision accounts[%zu]", i);
        created += res->outcome == DOJO__AUTH__V1__PROVISION_OUTCOME__PROVISION_OUTCOME_CREATED;
        resp->results[resp->n_results++] = res;
    }
    LOG_INFO("accounts provisioned", "on_behalf_of=%s seeds=%zu created=%d", req->on_behalf_of,
             req->n_accounts, created);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * SendMail
 * ------------------------------------------------------------------------ */

static int check_mail(const Dojo__Auth__V1__MailMessage *m, size_t i, char *email, size_t cap,
                      err_t **err)
{
    email[0] = '\0';
    if (m->to_user_id[0]) {
        if (!auth_is_uuid(m->to_user_id))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "messages[%zu].to_user_id: must be a UUID", i);
    } else if (auth_validate_email(m->to_email, email, cap, err) < 0) {
        return indexed(err, "messages", i);
    }
    long sl = text_utf8_length(m->subject);
    if (sl < 1 || sl > MAX_SUBJECT)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "messages[%zu].subject: must be 1 to %d characters of UTF-8", i,
                       MAX_SUBJECT);
    /* One header line: CR or LF would let a subject add headers. */
    for (const unsigned char *p = (const unsigned char *)m->subject; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "messages[%zu].subject: must not contain control characters", i);
    size_t bl = strlen(m->body);
    if (bl < 1 || bl > MAX_BODY || text_utf8_length(m->body) < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "messages[%zu].body: must be 1 to %d bytes of UTF-8", i, MAX_BODY);
    return 0;
}

/* The body with every line ending as CRLF, as mail wants. New. */
static char *crlf(const char *body)
{
    size_t n = strlen(body), extra = 0;
    for (size_t i = 0; i < n; i++)
        extra += body[i] == '\n' && (i == 0 || body[i - 1] != '\r');
    char *out = xmalloc(n + extra + 1);
    char *p = out;
    for (size_t i = 0; i < n; i++) {
        if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r'))
            *p++ = '\r';
        *p++ = body[i];
    }
    *p = '\0';
    return out;
}

int auth_rpc_send_mail(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                       err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    const Dojo__Auth__V1__SendMailRequest *req = (const void *)req_msg;
    if (require_service(auth, call, err) < 0)
        return -1;
    if (req->n_messages < 1 || req->n_messages > MAX_MAILS)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "messages: 1 to %d mails", MAX_MAILS);
    char(*to)[256] = rpc_alloc(call, req->n_messages * sizeof *to);
    char **ids = rpc_alloc(call, (req->n_messages + 1) * sizeof *ids);
    size_t nids = 0;
    for (size_t i = 0; i < req->n_messages; i++) {
        if (check_mail(req->messages[i], i, to[i], sizeof to[i], err) < 0)
            return -1;
        if (req->messages[i]->to_user_id[0])
            ids[nids++] = req->messages[i]->to_user_id;
    }
    cleanup_pgresult PGresult *r = NULL;
    if (nids) {
        cleanup_pgconn pg_conn_t *conn = NULL;
        char *arr = NULL;
        if (uuid_array(call, "to_user_id", ids, nids, &arr, err) < 0)
            return -1;
        const char *p[] = {arr};
        if (auth_conn(auth, call, &conn, err) < 0 || pg_exec(conn, &stmt_users_by_ids, p, &r, err) < 0)
            return err_wrap(err, "send mail");
    }
    int queued = 0;
    for (size_t i = 0; i < req->n_messages; i++) {
        const Dojo__Auth__V1__MailMessage *m = req->messages[i];
        const char *addr = to[i];
        if (m->to_user_id[0]) {
            addr = NULL;
            for (int j = 0; r && j < PQntuples(r); j++)
                if (!strcasecmp(pg_get(r, j, 0), m->to_user_id))
                    addr = pg_get(r, j, 2);
            if (addr == NULL)
                continue;
        }
        cleanup_free char *body = crlf(m->body);
        auth_mailer_send(auth->mailer, addr, m->subject, body);
        queued++;
    }
    LOG_INFO("mail queued", "messages=%zu queued=%d", req->n_messages, queued);
    Dojo__Auth__V1__SendMailResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__SendMailResponse, DOJO__AUTH__V1__SEND_MAIL_RESPONSE__INIT);
    resp->queued = queued;
    *out = &resp->base;
    return 0;
}
