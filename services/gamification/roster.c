/* roster.c — a class roster from CSV: accounts made for the addresses that
 * have none (auth's ProvisionAccounts; their owners choose a password by
 * mail), invitations mailed to the others (auth's SendMail). Someone who
 * already has an account is never put in a class without accepting. Checks
 * of addresses and usernames are auth's: its errors, which name the list
 * element, come back here naming the file's line. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/csv.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

#define ROSTER_MAX_ROWS 500
#define ROSTER_MAX_BYTES (512 * 1024)
#define INVITE_TTL_DAYS 14

static const pg_stmt_t stmt_invite_upsert = {
    .name = "game_roster_invite_upsert",
    .sql = "INSERT INTO game.class_invites (token_hash, class_slug, email, invited_by, "
           "created_at, expires_at) VALUES ($1, $2, $3, $4::uuid, " GAM_TS(5) ", " GAM_TS(5) " + "
           "make_interval(days => $6::int)) "
           "ON CONFLICT (class_slug, email) WHERE accepted_at IS NULL DO UPDATE SET "
           "token_hash = EXCLUDED.token_hash, invited_by = EXCLUDED.invited_by, "
           "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at",
    .nparams = 6,
};

static const pg_stmt_t stmt_is_member = {
    .name = "game_roster_is_member",
    .sql = "SELECT 1 FROM game.cohort_members WHERE cohort_slug = $1 AND user_id = $2::uuid",
    .nparams = 2,
};

static const pg_stmt_t stmt_teacher_name = {
    .name = "game_roster_teacher_name",
    .sql = "SELECT display_name FROM game.profiles WHERE user_id = $1::uuid",
    .nparams = 1,
};

/* One row of the file, trimmed. */
typedef struct roster_entry {
    int line;
    char *email; /* lower case */
    char *username;
    char *display_name;
    char *time_zone;
} roster_entry_t;

typedef struct roster {
    roster_entry_t *rows;
    size_t n;
} roster_t;

/* ------------------------------------------------------------------------
 * Reading the file
 * ------------------------------------------------------------------------ */

static char *trimmed(rpc_call_t *call, const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return rpc_sprintf(call, "%.*s", (int)n, s);
}

/* A column name as written ("Display Name") in its canonical form. */
static int column_of(const char *name)
{
    char c[32];
    size_t n = 0;
    for (const char *p = name; *p && n < sizeof c - 1; p++)
        c[n++] = *p == ' ' || *p == '-' ? '_' : (char)tolower((unsigned char)*p);
    c[n] = '\0';
    static const char *const known[] = {"email", "username", "display_name", "time_zone"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(c, known[i]))
            return i;
    if (!strcmp(c, "name"))
        return 2;
    return -1;
}

/* A username from an address's local part: "Ada.Lovelace+x@..." → "ada_lovelace_x". */
static char *username_from_email(rpc_call_t *call, const char *email)
{
    char u[33];
    size_t n = 0;
    for (const char *p = email; *p && *p != '@' && n < 32; p++) {
        unsigned char c = (unsigned char)*p;
        u[n++] = isalnum(c) || c == '_' || c == '-' ? (char)tolower(c) : '_';
    }
    while (n < 3)
        u[n++] = '0';
    u[n] = '\0';
    return rpc_strdup(call, u);
}

static int roster_read(rpc_call_t *call, const char *text, bool need_username, roster_t *out,
                       err_t **err)
{
    size_t len = strlen(text);
    if (len > ROSTER_MAX_BYTES)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "csv: must be at most %d KiB",
                       ROSTER_MAX_BYTES / 1024);
    csv_doc_t doc;
    if (csv_parse(text, len, ROSTER_MAX_ROWS + 1, &doc, err) < 0)
        return err_wrap(err, "csv");
    int rc = -1;
    if (doc.nrows < 2) {
        err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                "csv: needs a header line (email, username, display_name, time_zone) and at "
                "least one learner");
        goto done;
    }
    int col[4] = {-1, -1, -1, -1};
    const csv_row_t *head = &doc.rows[0];
    for (size_t i = 0; i < head->nfields; i++) {
        int c = column_of(head->fields[i]);
        if (c >= 0 && col[c] >= 0) {
            err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "line %d: column \"%s\" appears twice",
                    head->line, head->fields[i]);
            goto done;
        }
        if (c >= 0)
            col[c] = (int)i;
    }
    if (col[0] < 0) {
        err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                "line %d: no \"email\" column (columns: email, username, display_name, "
                "time_zone)",
                head->line);
        goto done;
    }
    out->rows = rpc_alloc(call, doc.nrows * sizeof *out->rows);
    out->n = 0;
    for (size_t r = 1; r < doc.nrows; r++) {
        const csv_row_t *row = &doc.rows[r];
        roster_entry_t *e = &out->rows[out->n++];
        e->line = row->line;
        const char *v[4];
        for (int c = 0; c < 4; c++)
            v[c] = col[c] >= 0 && (size_t)col[c] < row->nfields ? row->fields[col[c]] : "";
        e->email = trimmed(call, v[0]);
        for (char *p = e->email; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        e->username = trimmed(call, v[1]);
        e->display_name = trimmed(call, v[2]);
        e->time_zone = trimmed(call, v[3]);
        if (e->email[0] == '\0') {
            err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "line %d: email: is required", e->line);
            goto done;
        }
        if (e->username[0] == '\0' && need_username)
            e->username = username_from_email(call, e->email);
        for (size_t j = 0; j + 1 < out->n; j++) {
            if (!strcmp(out->rows[j].email, e->email)) {
                err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                        "line %d: email: the same address as line %d", e->line,
                        out->rows[j].line);
                goto done;
            }
        }
    }
    rc = 0;
done:
    csv_doc_free(&doc);
    return rc;
}

/* "accounts[3].email: ..." from auth → "line 5: email: ...". */
static int to_line(const roster_t *ro, const char *list, err_t **err)
{
    if (*err == NULL || (*err)->code != GRPC_STATUS_INVALID_ARGUMENT)
        return -1;
    const char *m = err_public_message(*err);
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%s[%%zu].%%n", list);
    size_t i = 0;
    int n = 0;
    if (sscanf(m, fmt, &i, &n) != 1 || n == 0 || i >= ro->n)
        return -1;
    cleanup_free char *rest = xstrdup(m + n);
    err_clear(err);
    return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "line %d: %s", ro->rows[i].line, rest);
}

/* ------------------------------------------------------------------------
 * Invitations
 * ------------------------------------------------------------------------ */

typedef struct mailbag {
    Dojo__Auth__V1__MailMessage **msgs;
    size_t n;
    size_t *row; /* the roster row of each mail */
} mailbag_t;

/* Records an invitation (a new token replaces an open one) and words its mail. */
static int invite(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const gam_class_t *cls,
                  const char *teacher, const char *teacher_name, const roster_t *ro, size_t i,
                  mailbag_t *bag, err_t **err)
{
    char token[64], hash[65];
    gam_token_new(token, sizeof token, hash);
    const char *p[] = {hash, cls->slug, ro->rows[i].email, teacher,
                       gam_i64(call, gam_now_us(g)), gam_i64(call, INVITE_TTL_DAYS)};
    if (pg_exec(conn, &stmt_invite_upsert, p, NULL, err) < 0)
        return err_wrap(err, "invite");
    Dojo__Auth__V1__MailMessage *m =
        RPC_NEW(call, Dojo__Auth__V1__MailMessage, DOJO__AUTH__V1__MAIL_MESSAGE__INIT);
    m->to_email = ro->rows[i].email;
    m->subject = rpc_sprintf(call, "Join the class %.150s on Dojo", cls->title);
    m->body = rpc_sprintf(call,
                          "Hello,\n\n%s invited you to the class \"%s\" on Dojo.\n\n"
                          "To join, sign in (or create an account first) and open this link "
                          "within %d days; it works once:\n\n%s/join?invite=%s\n",
                          teacher_name, cls->title, INVITE_TTL_DAYS, g->cfg.public_url, token);
    bag->row[bag->n] = i;
    bag->msgs[bag->n++] = m;
    return 0;
}

static int send_mails(gam_t *g, const roster_t *ro, mailbag_t *bag, err_t **err)
{
    if (bag->n == 0)
        return 0;
    Dojo__Auth__V1__SendMailRequest req = DOJO__AUTH__V1__SEND_MAIL_REQUEST__INIT;
    req.messages = bag->msgs;
    req.n_messages = bag->n;
    cleanup_pb ProtobufCMessage *resp = NULL;
    if (gam_auth_call(g, "SendMail", &req.base, &resp, 10000, err) < 0) {
        /* messages[k] is the k-th mail, not the k-th row. */
        if (*err && (*err)->code == GRPC_STATUS_INVALID_ARGUMENT) {
            roster_t mapped = {.rows = xcalloc(bag->n, sizeof(roster_entry_t)), .n = bag->n};
            for (size_t k = 0; k < bag->n; k++)
                mapped.rows[k] = ro->rows[bag->row[k]];
            to_line(&mapped, "messages", err);
            free(mapped.rows);
        }
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * ImportRoster
 * ------------------------------------------------------------------------ */

static Dojo__Gamification__V1__RosterRow *row_of(rpc_call_t *call, const roster_entry_t *e)
{
    Dojo__Gamification__V1__RosterRow *r =
        RPC_NEW(call, Dojo__Gamification__V1__RosterRow, DOJO__GAMIFICATION__V1__ROSTER_ROW__INIT);
    r->line = e->line;
    r->email = e->email;
    r->username = e->username;
    return r;
}

/* Accounts for those who have none (in one call to auth, before any
 * transaction here): *out gets one result per row. */
static int provision(gam_t *g, rpc_call_t *call, const identity_t *id, const gam_class_t *cls,
                     const char *teacher_name, const roster_t *ro,
                     Dojo__Auth__V1__ProvisionAccountsResponse **out, err_t **err)
{
    Dojo__Auth__V1__ProvisionAccountsRequest req =
        DOJO__AUTH__V1__PROVISION_ACCOUNTS_REQUEST__INIT;
    req.accounts = rpc_alloc(call, (ro->n + 1) * sizeof(void *));
    for (size_t i = 0; i < ro->n; i++) {
        Dojo__Auth__V1__AccountSeed *s =
            RPC_NEW(call, Dojo__Auth__V1__AccountSeed, DOJO__AUTH__V1__ACCOUNT_SEED__INIT);
        s->email = ro->rows[i].email;
        s->username = ro->rows[i].username;
        s->display_name = ro->rows[i].display_name;
        s->time_zone = ro->rows[i].time_zone;
        req.accounts[req.n_accounts++] = s;
    }
    req.on_behalf_of = (char *)id->claims.sub;
    req.mail_intro = rpc_sprintf(call, "%s added you to the class \"%s\" on Dojo.", teacher_name,
                                 cls->title);
    ProtobufCMessage *resp = NULL;
    if (gam_auth_call(g, "ProvisionAccounts", &req.base, &resp, 30000, err) < 0) {
        to_line(ro, "accounts", err);
        return -1;
    }
    if (((Dojo__Auth__V1__ProvisionAccountsResponse *)resp)->n_results != ro->n) {
        protobuf_c_message_free_unpacked(resp, NULL);
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "auth ProvisionAccounts: wrong answer");
    }
    *out = (void *)resp;
    return 0;
}

/* First the new accounts join, for good: a failed mail later must not leave
 * accounts made for this class outside it. Rows get the outcome auth's
 * answer `prov` (NULL: no accounts were made) decides; to_invite[i] marks
 * those still to invite (accounts that are not members yet). */
static int join_accounts(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const gam_class_t *cls,
                         const roster_t *ro, const Dojo__Auth__V1__ProvisionAccountsResponse *prov,
                         Dojo__Gamification__V1__ImportRosterResponse *resp, bool *to_invite,
                         err_t **err)
{
    if (pg_begin(conn, err) < 0)
        return -1;
    for (size_t i = 0; i < ro->n; i++) {
        Dojo__Gamification__V1__RosterRow *row = resp->rows[i];
        const Dojo__Auth__V1__ProvisionedAccount *pa = prov ? prov->results[i] : NULL;
        to_invite[i] = pa == NULL;
        if (pa == NULL)
            continue;
        if (pa->outcome == DOJO__AUTH__V1__PROVISION_OUTCOME__PROVISION_OUTCOME_REJECTED) {
            const char *dot = pa->error ? strchr(pa->error->path, '.') : NULL;
            row->outcome = DOJO__GAMIFICATION__V1__ROSTER_OUTCOME__ROSTER_OUTCOME_REJECTED;
            row->message = rpc_sprintf(call, "%s: %s", dot ? dot + 1 : "account",
                                       pa->error ? pa->error->message : "rejected");
            resp->rejected++;
            continue;
        }
        if (pa->user == NULL)
            continue;
        row->user_id = rpc_strdup(call, pa->user->id);
        if (pa->outcome == DOJO__AUTH__V1__PROVISION_OUTCOME__PROVISION_OUTCOME_CREATED) {
            bool added = false;
            if (gam_class_add_member(g, call, conn, cls->slug, pa->user->id, pa->user->display_name,
                                     pa->user->time_zone, &added, err) < 0)
                goto fail;
            row->outcome = DOJO__GAMIFICATION__V1__ROSTER_OUTCOME__ROSTER_OUTCOME_ADDED;
            resp->added++;
            continue;
        }
        cleanup_pgresult PGresult *m = NULL;
        const char *pm[] = {cls->slug, pa->user->id};
        if (pg_exec(conn, &stmt_is_member, pm, &m, err) < 0)
            goto fail;
        if (PQntuples(m) == 1) {
            row->outcome = DOJO__GAMIFICATION__V1__ROSTER_OUTCOME__ROSTER_OUTCOME_ALREADY_MEMBER;
            resp->already_members++;
        } else {
            to_invite[i] = true;
        }
    }
    if (pg_commit(conn, err) < 0)
        goto fail;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "import roster");
}

/* Then the invitations of the rows marked in to_invite, committed only once
 * their mails are queued: a failed send leaves none behind, and importing
 * again is safe. */
static int invite_rows(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const gam_class_t *cls,
                       const char *teacher, const char *teacher_name, const roster_t *ro,
                       const bool *to_invite, Dojo__Gamification__V1__ImportRosterResponse *resp,
                       err_t **err)
{
    mailbag_t bag = {.msgs = rpc_alloc(call, (ro->n + 1) * sizeof(void *)),
                     .row = rpc_alloc(call, (ro->n + 1) * sizeof(size_t))};
    if (pg_begin(conn, err) < 0)
        return -1;
    for (size_t i = 0; i < ro->n; i++) {
        if (!to_invite[i])
            continue;
        if (invite(g, call, conn, cls, teacher, teacher_name, ro, i, &bag, err) < 0)
            goto fail;
        resp->rows[i]->outcome = DOJO__GAMIFICATION__V1__ROSTER_OUTCOME__ROSTER_OUTCOME_INVITED;
        resp->invited++;
    }
    if (send_mails(g, ro, &bag, err) < 0 || pg_commit(conn, err) < 0)
        goto fail;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "import roster");
}

int gam_rpc_import_roster(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                          err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ImportRosterRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_USER)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "a roster is imported by a teacher, on whose behalf mails are sent");
    bool create = req->mode == DOJO__GAMIFICATION__V1__ROSTER_MODE__ROSTER_MODE_CREATE_ACCOUNTS;
    if (!create && req->mode != DOJO__GAMIFICATION__V1__ROSTER_MODE__ROSTER_MODE_INVITE)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "mode: must be ROSTER_MODE_CREATE_ACCOUNTS or ROSTER_MODE_INVITE");
    roster_t ro = {0};
    if (gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, true, true, &cls, err) < 0 ||
        roster_read(call, req->csv, create, &ro, err) < 0)
        return -1;
    cleanup_pgresult PGresult *tn = NULL;
    const char *pt[] = {id.claims.sub};
    if (pg_exec(conn, &stmt_teacher_name, pt, &tn, err) < 0)
        return err_wrap(err, "import roster");
    const char *teacher_name = PQntuples(tn) ? rpc_strdup(call, pg_get(tn, 0, 0)) : id.claims.name;

    cleanup_pb Dojo__Auth__V1__ProvisionAccountsResponse *prov = NULL;
    if (create && provision(g, call, &id, &cls, teacher_name, &ro, &prov, err) < 0)
        return err_wrap(err, "import roster");

    Dojo__Gamification__V1__ImportRosterResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ImportRosterResponse,
                DOJO__GAMIFICATION__V1__IMPORT_ROSTER_RESPONSE__INIT);
    resp->rows = rpc_alloc(call, (ro.n + 1) * sizeof(void *));
    for (size_t i = 0; i < ro.n; i++)
        resp->rows[resp->n_rows++] = row_of(call, &ro.rows[i]);
    bool *to_invite = rpc_alloc(call, ro.n + 1);
    if (join_accounts(g, call, conn, &cls, &ro, prov, resp, to_invite, err) < 0 ||
        invite_rows(g, call, conn, &cls, id.claims.sub, teacher_name, &ro, to_invite, resp, err) <
            0)
        return -1;
    LOG_INFO("roster imported", "class=%s rows=%zu added=%d invited=%d members=%d rejected=%d",
             cls.slug, ro.n, resp->added, resp->invited, resp->already_members, resp->rejected);
    *out = &resp->base;
    return 0;
}
