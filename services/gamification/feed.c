/* feed.c — a contest's event log (game.contest_events), the CLICS event
 * feed's source: every change of an object the feed carries is appended
 * with who may see it, and ListContestEvents returns what the caller may
 * see after a token, oldest first. A token is the row's seq, so a client
 * that reconnects with the last token it got misses nothing. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

#define ACCESS_TEAM DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_TEAM
#define ACCESS_JURY DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_JURY

static const pg_stmt_t stmt_event_add = {
    .name = "game_contest_event_add",
    .sql = "INSERT INTO game.contest_events (contest, type, obj_id, data_pb, for_jury, for_public, "
           "for_team, created_at) VALUES ($1, $2, $3, decode($4, 'hex'), $5::bool, $6::bool, "
           "NULLIF($7, ''), " GAM_TS(8) ")",
    .nparams = 8,
};

int gam_event_add(pg_conn_t *conn, const char *slug, const Dojo__Gamification__V1__ContestEvent *ev,
                  bool for_jury, bool for_public, const char *for_team, int64_t now, err_t **err)
{
    cleanup_free char *hex = gam_pack_hex(&ev->base);
    char nowbuf[24];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    const char *p[] = {slug,
                       ev->type,
                       ev->id ? ev->id : "",
                       hex,
                       for_jury ? "true" : "false",
                       for_public ? "true" : "false",
                       for_team ? for_team : "",
                       nowbuf};
    if (pg_exec(conn, &stmt_event_add, p, NULL, err) < 0)
        return err_wrap(err, "event %s %s", ev->type, ev->id ? ev->id : "");
    return 0;
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/* Who may see an event: $W is "jury", "team" or "public", $T the team. */
#define VISIBLE_TO(W, T)                                                                           \
    "(($" #W " = 'jury' AND for_jury) OR ($" #W " <> 'jury' AND (for_public OR "                   \
    "(for_team IS NOT NULL AND for_team = $" #T "))))"

static const pg_stmt_t stmt_events_list = {
    .name = "game_contest_events_list",
    .sql = "SELECT seq, encode(data_pb, 'hex') FROM game.contest_events "
           "WHERE contest = $1 AND seq > $2::bigint AND " VISIBLE_TO(3, 4) " "
           "ORDER BY seq LIMIT $5::int",
    .nparams = 5,
};

/* The newest event the caller may see: one step down the index. */
static const pg_stmt_t stmt_event_last = {
    .name = "game_contest_event_last",
    .sql = "SELECT seq FROM game.contest_events WHERE contest = $1 AND " VISIBLE_TO(2, 3) " "
           "ORDER BY seq DESC LIMIT 1",
    .nparams = 3,
};

static const char *audience_name(const gam_access_t *acc)
{
    return acc->level == ACCESS_JURY   ? "jury"
           : acc->level == ACCESS_TEAM ? "team"
                                       : "public";
}

int gam_event_last(pg_conn_t *conn, const char *slug, const gam_access_t *acc, char out[24],
                   err_t **err)
{
    const char *p[] = {slug, audience_name(acc), acc->team_id};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_event_last, p, &r, err) < 0)
        return err_wrap(err, "last event");
    snprintf(out, 24, "%s", PQntuples(r) ? pg_get(r, 0, 0) : "");
    return 0;
}

static const pg_stmt_t stmt_event_exists = {
    .name = "game_contest_event_exists",
    .sql = "SELECT 1 FROM game.contest_events WHERE contest = $1 AND seq = $2::bigint",
    .nparams = 2,
};

static bool parse_token(const char *t, int64_t *out)
{
    size_t n = strlen(t);
    if (n == 0 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)t[i]))
            return false;
    *out = strtoll(t, NULL, 10);
    return true;
}

int gam_rpc_list_contest_events(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListContestEventsRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_of_call(g->ids, call, &id, err) < 0)
        return -1;
    if (req->limit < 0 || req->limit > 5000)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "limit: must be 0 to 5000");
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    gam_state_t st;
    if (gam_contest_open(g, call, &id, req->slug, gam_now_us(g), &c, &conn, &st, &acc, err) < 0)
        return -1;
    int64_t after = 0;
    if (req->since_token[0]) {
        char tok[24];
        if (!parse_token(req->since_token, &after))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "since_token: not a token of this contest's event feed");
        snprintf(tok, sizeof tok, "%lld", (long long)after);
        cleanup_pgresult PGresult *ex = NULL;
        const char *pe[] = {c->slug, tok};
        if (pg_exec(conn, &stmt_event_exists, pe, &ex, err) < 0)
            return err_wrap(err, "events");
        if (PQntuples(ex) == 0)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "since_token: not a token of this contest's event feed");
    }
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof after_s, "%lld", (long long)after);
    int limit = req->limit ? req->limit : 1000;
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    const char *p[] = {c->slug, after_s, audience_name(&acc), acc.team_id, limit_s};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_events_list, p, &r, err) < 0)
        return err_wrap(err, "events");
    int n = PQntuples(r);
    Dojo__Gamification__V1__ListContestEventsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListContestEventsResponse,
                DOJO__GAMIFICATION__V1__LIST_CONTEST_EVENTS_RESPONSE__INIT);
    resp->events = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->events);
    for (int i = 0; i < n; i++) {
        Dojo__Gamification__V1__ContestEvent *ev = (void *)gam_unpack_hex(
            call, &dojo__gamification__v1__contest_event__descriptor, pg_get(r, i, 1));
        if (ev == NULL)
            return err_set(err, GRPC_STATUS_INTERNAL, "event %s does not decode", pg_get(r, i, 0));
        ev->token = rpc_strdup(call, pg_get(r, i, 0));
        resp->events[resp->n_events++] = ev;
    }
    resp->last_token = n ? resp->events[n - 1]->token : rpc_strdup(call, req->since_token);
    resp->access = acc.level;
    resp->end_of_updates = st.end_of_updates != 0 && n < limit;
    *out = &resp->base;
    return 0;
}
