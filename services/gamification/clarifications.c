/* clarifications.c — questions from teams to the jury, the jury's answers
 * (to the asking team or to everyone) and announcements. A team sees what
 * it sent, what was sent to it and what was sent to everyone; the public
 * sees what was sent to everyone; the jury sees all. Each one is an event
 * with that audience. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/text.h"

#define ACCESS_PUBLIC DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_PUBLIC
#define ACCESS_TEAM DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_TEAM
#define ACCESS_JURY DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_JURY

#define CLAR_COLUMNS                                                                               \
    "seq, coalesce(from_team, ''), coalesce(to_team, ''), coalesce(reply_to::text, ''), problem, " \
    "body, " GAM_US("created_at") ", contest_ms, announcement"

static const pg_stmt_t stmt_clar_insert = {
    .name = "game_contest_clar_insert",
    .sql = "INSERT INTO game.contest_clarifications (contest, from_team, to_team, reply_to, "
           "problem, body, announcement, author, created_at, contest_ms) VALUES ($1, "
           "NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, '')::bigint, $5, $6, $7::bool, $8, " GAM_TS(
               9) ", $10::bigint) RETURNING " CLAR_COLUMNS,
    .nparams = 10,
};

static const pg_stmt_t stmt_clar_get = {
    .name = "game_contest_clar_get",
    .sql = "SELECT " CLAR_COLUMNS " FROM game.contest_clarifications WHERE contest = $1 "
           "AND seq::text = $2",
    .nparams = 2,
};

static const pg_stmt_t stmt_clar_list = {
    .name = "game_contest_clar_list",
    .sql = "SELECT " CLAR_COLUMNS " FROM game.contest_clarifications WHERE contest = $1 "
           "AND ($2 = 'jury' OR (from_team IS NULL AND to_team IS NULL) "
           "  OR ($2 = 'team' AND (from_team = $3 OR to_team = $3))) ORDER BY seq",
    .nparams = 3,
};

static Dojo__Gamification__V1__Clarification *clar_of_row(ProtobufCAllocator *a, const PGresult *r,
                                                          int row)
{
    Dojo__Gamification__V1__Clarification *m = GAM_NEW(a, Dojo__Gamification__V1__Clarification,
                                                       DOJO__GAMIFICATION__V1__CLARIFICATION__INIT);
    m->id = gam_strdup(a, pg_get(r, row, 0));
    m->from_team_id = gam_strdup(a, pg_get(r, row, 1));
    m->to_team_id = gam_strdup(a, pg_get(r, row, 2));
    m->reply_to_id = gam_strdup(a, pg_get(r, row, 3));
    m->problem_id = gam_strdup(a, pg_get(r, row, 4));
    m->text = gam_strdup(a, pg_get(r, row, 5));
    m->time = GAM_NEW(a, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    m->time->unix_micros = pg_get_int64(r, row, 6);
    m->contest_time_ms = pg_get_int64(r, row, 7);
    m->announcement = pg_get_bool(r, row, 8);
    return m;
}

/* Where a clarification goes: from a team to the jury, or from the jury to
 * one team (answering its question), to everyone answering a question, or
 * as an announcement. */
typedef struct clar_route {
    const char *from, *to, *reply; /* team ids and the question's id; "" for none */
    const char *asker;             /* the team that asked the question answered, or "" */
    bool announcement;
} clar_route_t;

/* The route of `req` from the caller with `acc`; *asked (the caller frees)
 * holds the question answered, which `rt` points into. */
static int clar_route(pg_conn_t *conn, const char *slug,
                      const Dojo__Gamification__V1__CreateClarificationRequest *req,
                      const gam_access_t *acc, clar_route_t *rt, PGresult **asked, err_t **err)
{
    *rt = (clar_route_t){.from = "", .to = "", .reply = "", .asker = ""};
    if (acc->level == ACCESS_TEAM) {
        if (req->reply_to_id[0] || req->to_all)
            return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                           "teams ask the jury; only the jury answers");
        rt->from = acc->team_id;
        return 0;
    }
    if (acc->level != ACCESS_JURY)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "register for the contest to ask the jury");
    if (req->reply_to_id[0] == '\0') {
        rt->announcement = true; /* a jury message that answers nothing is for everyone */
        return 0;
    }
    const char *pg[] = {slug, req->reply_to_id};
    if (strlen(req->reply_to_id) > 20 || pg_exec(conn, &stmt_clar_get, pg, asked, err) < 0 ||
        PQntuples(*asked) == 0) {
        err_clear(err);
        return err_set(err, GRPC_STATUS_NOT_FOUND, "reply_to_id: no clarification \"%.20s\"",
                       req->reply_to_id);
    }
    rt->reply = pg_get(*asked, 0, 0);
    rt->asker = pg_get(*asked, 0, 1);
    /* An answer to one team goes to the team that asked. */
    if (!req->to_all)
        rt->to = rt->asker;
    return 0;
}

/* The clarification `m` in the event log, for whom its route says. */
static int clar_announce(pg_conn_t *conn, const char *slug,
                         Dojo__Gamification__V1__Clarification *m, const clar_route_t *rt,
                         int64_t now, err_t **err)
{
    Dojo__Gamification__V1__ContestEvent ev = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
    ev.type = "clarifications";
    ev.id = m->id;
    ev.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_CLARIFICATION;
    ev.clarification = m;
    bool to_everyone = rt->from[0] == '\0' && rt->to[0] == '\0';
    const char *team = rt->from[0] ? rt->from : rt->to;
    if (!to_everyone || rt->reply[0] == '\0')
        return gam_event_add(conn, slug, &ev, true, to_everyone, team, now, err);
    /* An answer to everyone: the public may not see the question, so its
     * copy names none; the asking team's copy (read after it) and the
     * jury's do. */
    Dojo__Gamification__V1__Clarification pub = *m;
    pub.reply_to_id = "";
    ev.clarification = &pub;
    if (gam_event_add(conn, slug, &ev, false, true, "", now, err) < 0)
        return -1;
    ev.clarification = m;
    return gam_event_add(conn, slug, &ev, true, false, rt->asker, now, err);
}

int gam_rpc_create_clarification(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                 ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__CreateClarificationRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    int64_t now = gam_now_us(g);
    gam_access_t acc;
    if (gam_contest_open(g, call, &id, req->slug, now, &c, &conn, NULL, &acc, err) < 0)
        return -1;
    long n = text_utf8_length(req->text);
    if (n < 1 || n > 4000)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "text: must be 1 to 4000 characters");
    if (req->problem_id[0] && gam_contest_problem(c, req->problem_id) < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "problem_id: no problem \"%.16s\"",
                       req->problem_id);
    clar_route_t rt;
    cleanup_pgresult PGresult *asked = NULL;
    if (clar_route(conn, c->slug, req, &acc, &rt, &asked, err) < 0)
        return -1;
    char nowbuf[24], ms[24];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    snprintf(ms, sizeof ms, "%lld",
             (long long)((now - (c->start ? c->start->unix_micros : now)) / 1000));
    const char *p[] = {c->slug,
                       rt.from,
                       rt.to,
                       rt.reply,
                       req->problem_id,
                       req->text,
                       rt.announcement ? "true" : "false",
                       acc.actor,
                       nowbuf,
                       ms};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_begin(conn, err) < 0)
        return err_wrap(err, "clarification");
    if (pg_exec(conn, &stmt_clar_insert, p, &r, err) < 0)
        goto fail;
    Dojo__Gamification__V1__Clarification *m = clar_of_row(&a, r, 0);
    bool to_everyone = rt.from[0] == '\0' && rt.to[0] == '\0';
    if (clar_announce(conn, c->slug, m, &rt, now, err) < 0)
        goto fail;
    if (acc.level == ACCESS_JURY && gam_audit_add(conn, c->slug, &acc, "clarification", m->id, 0, 0,
                                                  rt.announcement ? "announcement"
                                                  : to_everyone   ? "answer to all"
                                                                  : "answer",
                                                  now, err) < 0)
        goto fail;
    if (pg_commit(conn, err) < 0)
        goto fail;
    LOG_INFO("clarification", "contest=%s id=%s from=%s to=%s reply_to=%s", c->slug, m->id,
             rt.from[0] ? rt.from : "jury", rt.to[0] ? rt.to : (rt.from[0] ? "jury" : "all"),
             rt.reply[0] ? rt.reply : "-");
    gam_board_touch(g, c->slug); /* viewers hear of it with the next board */
    Dojo__Gamification__V1__CreateClarificationResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__CreateClarificationResponse,
                DOJO__GAMIFICATION__V1__CREATE_CLARIFICATION_RESPONSE__INIT);
    resp->clarification = m;
    *out = &resp->base;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "clarification");
}

int gam_rpc_list_clarifications(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListClarificationsRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_of_call(g->ids, call, &id, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    if (gam_contest_open(g, call, &id, req->slug, gam_now_us(g), &c, &conn, NULL, &acc, err) < 0)
        return -1;
    const char *who = acc.level == ACCESS_JURY   ? "jury"
                      : acc.level == ACCESS_TEAM ? "team"
                                                 : "public";
    const char *p[] = {c->slug, who, acc.team_id};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_clar_list, p, &r, err) < 0)
        return err_wrap(err, "clarifications");
    Dojo__Gamification__V1__ListClarificationsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListClarificationsResponse,
                DOJO__GAMIFICATION__V1__LIST_CLARIFICATIONS_RESPONSE__INIT);
    int n = PQntuples(r);
    resp->clarifications = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->clarifications);
    for (int i = 0; i < n; i++) {
        Dojo__Gamification__V1__Clarification *m = clar_of_row(&a, r, i);
        /* A reply to a question the reader cannot see names no question. */
        bool sees_question = acc.level == ACCESS_JURY;
        for (int k = 0; !sees_question && m->reply_to_id[0] && k < i; k++)
            sees_question = !strcmp(resp->clarifications[k]->id, m->reply_to_id);
        if (!sees_question)
            m->reply_to_id = "";
        resp->clarifications[resp->n_clarifications++] = m;
    }
    resp->access = acc.level;
    *out = &resp->base;
    return 0;
}
