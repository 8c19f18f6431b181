/* drafts.c — the editor's autosaved buffer: one per learner, task and
 * language. */
#define _GNU_SOURCE
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"

static const pg_stmt_t stmt_draft_save = {
    .name = "game_draft_save",
    .sql = "INSERT INTO game.drafts (user_id, task_slug, language, code, updated_at) "
           "VALUES ($1::uuid, $2, $3, $4, " GAM_TS(
               5) ") "
                  "ON CONFLICT (user_id, task_slug, language) DO UPDATE "
                  "SET code = excluded.code, updated_at = excluded.updated_at",
    .nparams = 5,
};

static const pg_stmt_t stmt_draft_delete = {
    .name = "game_draft_delete",
    .sql = "DELETE FROM game.drafts WHERE user_id = $1::uuid AND task_slug = $2 "
           "AND language = $3",
    .nparams = 3,
};

static const pg_stmt_t stmt_draft_get = {
    .name = "game_draft_get",
    .sql = "SELECT language, code, " GAM_US(
        "updated_at") " FROM game.drafts "
                      "WHERE user_id = $1::uuid AND task_slug = $2 AND ($3 = '' OR language = $3) "
                      "ORDER BY updated_at DESC, language LIMIT 1",
    .nparams = 3,
};

/* The owner and services; nobody else, not even admins, reads a draft. */
static int draft_subject(gam_t *g, rpc_call_t *call, const char *user_id, const char **out,
                         err_t **err)
{
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    const char *user = NULL;
    if (gam_subject(&id, user_id, false, false, &user, err) < 0)
        return -1;
    *out = rpc_strdup(call, user);
    return 0;
}

int gam_rpc_save_draft(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                       err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__SaveDraftRequest *req = (const void *)req_msg;
    const char *user = NULL;
    if (draft_subject(g, call, req->user_id, &user, err) < 0 ||
        gam_check_slug("task_slug", req->task_slug, true, err) < 0 ||
        gam_check_language("language", req->language, err) < 0)
        return -1;
    if (strlen(req->code) > 64 * 1024)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "code: must be at most 64 KiB");
    int64_t now = gam_now_us(g);
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (gam_conn(g, &conn, err) < 0)
        return -1;
    int rc;
    if (req->code[0]) {
        const char *p[] = {user, req->task_slug, req->language, req->code, gam_i64(call, now)};
        rc = pg_exec(conn, &stmt_draft_save, p, NULL, err);
    } else {
        const char *p[] = {user, req->task_slug, req->language};
        rc = pg_exec(conn, &stmt_draft_delete, p, NULL, err);
    }
    if (rc < 0)
        return err_wrap(err, "save draft");
    Dojo__Gamification__V1__SaveDraftResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__SaveDraftResponse,
                DOJO__GAMIFICATION__V1__SAVE_DRAFT_RESPONSE__INIT);
    resp->updated_at = gam_timestamp(call, now);
    *out = &resp->base;
    return 0;
}

int gam_rpc_get_draft(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                      err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetDraftRequest *req = (const void *)req_msg;
    const char *user = NULL;
    if (draft_subject(g, call, req->user_id, &user, err) < 0 ||
        gam_check_slug("task_slug", req->task_slug, true, err) < 0)
        return -1;
    if (req->language[0] && gam_check_language("language", req->language, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {user, req->task_slug, req->language};
    if (gam_conn(g, &conn, err) < 0 || pg_exec(conn, &stmt_draft_get, p, &r, err) < 0)
        return err_wrap(err, "get draft");
    Dojo__Gamification__V1__GetDraftResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetDraftResponse,
                DOJO__GAMIFICATION__V1__GET_DRAFT_RESPONSE__INIT);
    if (PQntuples(r) == 1) {
        resp->found = true;
        Dojo__Gamification__V1__Draft *d =
            RPC_NEW(call, Dojo__Gamification__V1__Draft, DOJO__GAMIFICATION__V1__DRAFT__INIT);
        d->user_id = rpc_strdup(call, user);
        d->task_slug = rpc_strdup(call, req->task_slug);
        d->language = rpc_strdup(call, pg_get(r, 0, 0));
        d->code = rpc_strdup(call, pg_get(r, 0, 1));
        d->updated_at = gam_timestamp(call, pg_get_int64(r, 0, 2));
        resp->draft = d;
    }
    *out = &resp->base;
    return 0;
}
