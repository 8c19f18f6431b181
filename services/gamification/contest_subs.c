/* contest_subs.c — submissions to contests and their judgements: the
 * contest's time rules, registration and pending cap at CreateSubmission,
 * the first judgement at RecordResult, rejudges (jobs on the executor's
 * queue whose submission id names the judgement, so RecordResult and
 * GetSubmission find them), the jury's overrides with the audit log, and
 * what the jury and teams read. A submission's current judgement is its
 * newest finished one. */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dojo/executor/v1/executor.pb-c.h"
#include "gamification.h"
#include "libcommon/arena.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/text.h"
#include "services/gamification/board.h"

#define ACCESS_PUBLIC DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_PUBLIC
#define ACCESS_TEAM DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_TEAM
#define ACCESS_JURY DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_JURY
#define KIND_SUBMIT DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT
#define IOI DOJO__CONTENT__V1__SCORING_KIND__SCORING_KIND_IOI

static const char *now_text(char buf[24], int64_t now)
{
    snprintf(buf, 24, "%lld", (long long)now);
    return buf;
}

/* ------------------------------------------------------------------------
 * Scores
 * ------------------------------------------------------------------------ */

/* The problem's IOI points, in hundredths (100 when unset). */
static int64_t problem_points_c(const Dojo__Content__V1__Contest *c, int p)
{
    int points = p >= 0 && c->problems[p]->points > 0 ? c->problems[p]->points : 100;
    return (int64_t)points * 100;
}

/* The IOI points of a result for problem `p` (0 for ICPC contests). */
static int64_t result_score_c(const Dojo__Content__V1__Contest *c, int p,
                              const Dojo__Gamification__V1__RecordResultRequest *res)
{
    if (c->scoring != IOI || res == NULL || res->n_tests == 0)
        return 0;
    size_t n = res->n_tests;
    const char **groups = calloc(n, sizeof *groups);
    int *weights = calloc(n, sizeof *weights);
    bool *ok = calloc(n, sizeof *ok);
    if (!groups || !weights || !ok)
        abort();
    for (size_t i = 0; i < n; i++) {
        groups[i] = res->tests[i]->group;
        weights[i] = res->tests[i]->weight;
        ok[i] = res->tests[i]->verdict == DOJO__COMMON__V1__VERDICT__VERDICT_AC;
    }
    int64_t s = board_ioi_score_c(problem_points_c(c, p), n, groups, weights, ok);
    free(groups);
    free(weights);
    free(ok);
    return s;
}

static int32_t max_run_ms(const Dojo__Gamification__V1__RecordResultRequest *res)
{
    int32_t m = 0;
    for (size_t i = 0; res && i < res->n_tests; i++)
        if (res->tests[i]->cpu_ms > m)
            m = res->tests[i]->cpu_ms;
    return m;
}

/* ------------------------------------------------------------------------
 * Reading submissions and judgements
 * ------------------------------------------------------------------------ */

#define SUB_COLUMNS                                                                                \
    "s.seq, s.id::text, coalesce(s.contest_team, ''), s.user_id::text, s.contest_problem, "        \
    "s.language, " GAM_US("s.created_at") ", s.contest_ms, s.contest_counted, s.code, "            \
                                          "s.task_slug, s.task_version"

#define JUDGEMENT_COLUMNS                                                                          \
    "j.seq, j.submission_id::text, j.verdict, j.score_c, j.kind, " GAM_US(                         \
        "j.started_at") ", " GAM_US("j.finished_at") ", j.max_run_ms, "                            \
                                                     "coalesce(encode(j.result_pb, 'hex'), ''), "  \
                                                     "j.actor, j.reason, (SELECT s2.seq FROM "     \
                                                     "game.submissions s2 WHERE s2.id = "          \
                                                     "j.submission_id), "                          \
                                                     "(j.finished_at IS NOT NULL AND j.seq = "     \
                                                     "(SELECT max(k.seq) FROM "                    \
                                                     "game.contest_judgements k "                  \
                                                     "  WHERE k.submission_id = j.submission_id "  \
                                                     "AND k.finished_at IS NOT NULL))"

static const pg_stmt_t stmt_subs_list = {
    .name = "game_contest_subs_list",
    .sql = "SELECT " SUB_COLUMNS " FROM game.submissions s WHERE s.contest = $1 "
           "AND ($2 = '' OR s.contest_team = $2) AND ($3 = '' OR s.contest_problem = $3) "
           "AND ($5::bool OR s.contest_team IS NOT NULL) "
           "ORDER BY s.seq DESC LIMIT $4::int",
    .nparams = 5,
};

static const pg_stmt_t stmt_sub_one = {
    .name = "game_contest_sub_one",
    .sql = "SELECT " SUB_COLUMNS " FROM game.submissions s WHERE s.contest = $1 "
           "AND (s.seq::text = $2 OR s.id::text = lower($2))",
    .nparams = 2,
};

static const pg_stmt_t stmt_judgements_of = {
    .name = "game_contest_judgements_of",
    .sql = "SELECT " JUDGEMENT_COLUMNS " FROM game.contest_judgements j "
           "WHERE j.submission_id = $1::uuid ORDER BY j.seq",
    .nparams = 1,
};

static const pg_stmt_t stmt_judgements_list = {
    .name = "game_contest_judgements_list",
    .sql =
        "SELECT " JUDGEMENT_COLUMNS " FROM game.contest_judgements j "
        "JOIN game.submissions s ON s.id = j.submission_id "
        "WHERE j.contest = $1 AND s.contest_team IS NOT NULL AND ($2 = '' OR s.contest_team = $2) "
        "AND ($3 = '' OR s.seq::text = $3) ORDER BY j.seq",
    .nparams = 3,
};

static const pg_stmt_t stmt_judgement_by_seq = {
    .name = "game_contest_judgement_by_seq",
    .sql = "SELECT " JUDGEMENT_COLUMNS " FROM game.contest_judgements j WHERE j.seq = $1::bigint",
    .nparams = 1,
};

/* A judgement of a row of JUDGEMENT_COLUMNS; hidden tests lose their text
 * unless `jury`. */
static Dojo__Gamification__V1__ContestJudgement *
judgement_of_row(rpc_call_t *call, ProtobufCAllocator *a, const PGresult *r, int row, bool jury)
{
    Dojo__Gamification__V1__ContestJudgement *j =
        GAM_NEW(a, Dojo__Gamification__V1__ContestJudgement,
                DOJO__GAMIFICATION__V1__CONTEST_JUDGEMENT__INIT);
    j->id = gam_strdup(a, pg_get(r, row, 0));
    j->submission_id = gam_strdup(a, pg_get(r, row, 11));
    j->verdict = (int)pg_get_int64(r, row, 2);
    j->score = (double)pg_get_int64(r, row, 3) / 100.0;
    j->kind = gam_strdup(a, pg_get(r, row, 4));
    int64_t start = pg_get_int64(r, row, 5), end = pg_get_int64(r, row, 6);
    j->start_time = GAM_NEW(a, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    j->start_time->unix_micros = start;
    if (end) {
        j->end_time = GAM_NEW(a, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
        j->end_time->unix_micros = end;
    }
    j->max_run_ms = (int32_t)pg_get_int64(r, row, 7);
    j->actor_id = gam_strdup(a, pg_get(r, row, 9));
    j->reason = gam_strdup(a, pg_get(r, row, 10));
    j->current = pg_get_bool(r, row, 12);
    const char *hex = pg_get(r, row, 8);
    if (hex[0] && call) {
        Dojo__Gamification__V1__RecordResultRequest *res = (void *)gam_unpack_hex(
            call, &dojo__gamification__v1__record_result_request__descriptor, hex);
        if (res) {
            j->n_tests = res->n_tests;
            j->tests = res->tests;
            j->compile_output = res->compile_output;
            for (size_t i = 0; !jury && i < j->n_tests; i++)
                if (j->tests[i]->hidden) {
                    j->tests[i]->message = "";
                    j->tests[i]->output_excerpt = "";
                }
        }
    }
    return j;
}

static Dojo__Gamification__V1__ContestSubmission *
sub_of_row(ProtobufCAllocator *a, const PGresult *r, int row, bool with_code)
{
    Dojo__Gamification__V1__ContestSubmission *s =
        GAM_NEW(a, Dojo__Gamification__V1__ContestSubmission,
                DOJO__GAMIFICATION__V1__CONTEST_SUBMISSION__INIT);
    s->id = gam_strdup(a, pg_get(r, row, 0));
    s->submission_id = gam_strdup(a, pg_get(r, row, 1));
    s->team_id = gam_strdup(a, pg_get(r, row, 2));
    s->user_id = gam_strdup(a, pg_get(r, row, 3));
    s->problem_id = gam_strdup(a, pg_get(r, row, 4));
    s->language = gam_strdup(a, pg_get(r, row, 5));
    s->time = GAM_NEW(a, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    s->time->unix_micros = pg_get_int64(r, row, 6);
    s->contest_time_ms = pg_get_int64(r, row, 7);
    s->counted = pg_get_bool(r, row, 8);
    s->code = with_code ? gam_strdup(a, pg_get(r, row, 9)) : "";
    s->task_slug = gam_strdup(a, pg_get(r, row, 10));
    s->task_version = (int32_t)pg_get_int64(r, row, 11);
    return s;
}

/* The judgements of submission `uuid`; *current the newest finished one. */
static int judgements_of(rpc_call_t *call, ProtobufCAllocator *a, pg_conn_t *conn, const char *uuid,
                         bool jury, Dojo__Gamification__V1__ContestSubmission *s, bool all,
                         err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {uuid};
    if (pg_exec(conn, &stmt_judgements_of, p, &r, err) < 0)
        return err_wrap(err, "judgements of %s", uuid);
    int n = PQntuples(r);
    if (all)
        s->judgements = gam_new(a, ((size_t)n + 1) * sizeof *s->judgements);
    for (int i = 0; i < n; i++) {
        bool current = pg_get_bool(r, i, 12);
        if (!all && !current)
            continue;
        Dojo__Gamification__V1__ContestJudgement *j =
            judgement_of_row(all || current ? call : NULL, a, r, i, jury);
        if (current)
            s->judgement = j;
        if (all)
            s->judgements[s->n_judgements++] = j;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------ */

/* The judgement with CLICS id `seq` announced to the jury and its team. */
static int announce_judgement(rpc_call_t *call, pg_conn_t *conn, const char *slug, int64_t seq,
                              const char *team, int64_t now, err_t **err)
{
    arena_t ar = {0};
    ProtobufCAllocator a;
    arena_pb_allocator(&ar, &a);
    cleanup_pgresult PGresult *r = NULL;
    char s[24];
    const char *p[] = {now_text(s, seq)};
    int rc = -1;
    if (pg_exec(conn, &stmt_judgement_by_seq, p, &r, err) < 0 || PQntuples(r) == 0)
        goto done;
    Dojo__Gamification__V1__ContestEvent ev = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
    ev.type = "judgements";
    ev.judgement = judgement_of_row(call, &a, r, 0, true);
    ev.id = ev.judgement->id;
    ev.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_JUDGEMENT;
    rc = gam_event_add(conn, slug, &ev, true, false, team, now, err);
done:
    arena_release(&ar);
    return rc;
}

/* After judgement `seq` of submission `uuid` finished: it and the one it
 * made no longer current, announced. */
static const pg_stmt_t stmt_prev_current = {
    .name = "game_contest_prev_current",
    .sql = "SELECT max(seq) FROM game.contest_judgements WHERE submission_id = $1::uuid "
           "AND finished_at IS NOT NULL AND seq < $2::bigint",
    .nparams = 2,
};

static int announce_finished(rpc_call_t *call, pg_conn_t *conn, const char *slug, const char *uuid,
                             int64_t seq, const char *team, int64_t now, err_t **err)
{
    cleanup_pgresult PGresult *prev = NULL;
    char s[24];
    const char *p[] = {uuid, now_text(s, seq)};
    if (pg_exec(conn, &stmt_prev_current, p, &prev, err) < 0)
        return -1;
    if (!pg_is_null(prev, 0, 0) &&
        announce_judgement(call, conn, slug, pg_get_int64(prev, 0, 0), team, now, err) < 0)
        return -1;
    return announce_judgement(call, conn, slug, seq, team, now, err);
}

static int announce_submission(pg_conn_t *conn, const char *slug, const PGresult *r, int row,
                               int64_t now, err_t **err)
{
    arena_t ar = {0};
    ProtobufCAllocator a;
    arena_pb_allocator(&ar, &a);
    Dojo__Gamification__V1__ContestEvent ev = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
    ev.type = "submissions";
    ev.submission = sub_of_row(&a, r, row, false);
    ev.id = ev.submission->id;
    ev.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_SUBMISSION;
    int rc = gam_event_add(conn, slug, &ev, true, false, ev.submission->team_id, now, err);
    arena_release(&ar);
    return rc;
}

/* ------------------------------------------------------------------------
 * CreateSubmission for a contest
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_pending_of_team = {
    .name = "game_contest_pending_of_team",
    .sql = "SELECT count(*) FROM game.submissions WHERE contest = $1 AND contest_team = $2 "
           "AND contest_counted AND NOT finished",
    .nparams = 2,
};

static const pg_stmt_t stmt_contest_sub_insert = {
    .name = "game_contest_sub_insert",
    .sql = "INSERT INTO game.submissions (user_id, task_slug, task_version, language, code_hash, "
           "code, kind, idempotency_key, created_at, contest, contest_team, contest_problem, "
           "contest_ms, contest_counted) VALUES ($1::uuid, $2, $3::int, $4, $5, $6, 2, "
           "NULLIF($7, ''), " GAM_TS(8) ", $9, NULLIF($10, ''), $11, $12::bigint, $13::bool) "
                                        "ON CONFLICT (user_id, idempotency_key) WHERE "
                                        "idempotency_key IS NOT NULL DO NOTHING "
                                        "RETURNING id::text",
    .nparams = 13,
};

static const pg_stmt_t stmt_sub_by_key = {
    .name = "game_contest_sub_by_key",
    .sql = "SELECT " SUB_COLUMNS " FROM game.submissions s "
           "WHERE s.user_id = $1::uuid AND s.idempotency_key = $2",
    .nparams = 2,
};

static const pg_stmt_t stmt_sub_by_id = {
    .name = "game_contest_sub_by_id",
    .sql = "SELECT " SUB_COLUMNS " FROM game.submissions s WHERE s.id = $1::uuid",
    .nparams = 1,
};

/* The task's current version from content (contest tasks may be hidden yet),
 * checking that it takes `language`. */
static int task_version(gam_t *g, const char *slug, const char *language, int32_t *out, err_t **err)
{
    Dojo__Content__V1__GetTaskRequest req = DOJO__CONTENT__V1__GET_TASK_REQUEST__INIT;
    req.slug = (char *)slug;
    req.include_hidden = true;
    rpc_call_opts_t o = {
        .timeout_ms = 3000, .idempotent = true, .metadata = identity_service_metadata(g->ids)};
    cleanup_pb ProtobufCMessage *resp_msg = NULL;
    if (rpc_client_call(g->content, &dojo__content__v1__content__descriptor, "GetTask", &req.base,
                        &resp_msg, &o, err) < 0)
        return err_wrap(err, "task %s", slug);
    const Dojo__Content__V1__GetTaskResponse *resp = (const void *)resp_msg;
    if (resp->task == NULL)
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "content GetTask: empty reply");
    bool ok = language == NULL;
    for (size_t i = 0; !ok && i < resp->task->n_languages; i++)
        ok = !strcmp(resp->task->languages[i]->language, language);
    if (!ok)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "language: the task does not accept %s",
                       language);
    *out = resp->task->version;
    return 0;
}

static void reply_created(rpc_call_t *call, const PGresult *r,
                          Dojo__Gamification__V1__CreateSubmissionResponse *resp)
{
    resp->contest_submission_id = rpc_strdup(call, pg_get(r, 0, 0));
    resp->submission_id = rpc_strdup(call, pg_get(r, 0, 1));
    resp->contest_team_id = rpc_strdup(call, pg_get(r, 0, 2));
    resp->created_at = gam_timestamp(call, pg_get_int64(r, 0, 6));
    resp->contest_counted = pg_get_bool(r, 0, 8);
    resp->task_slug = rpc_strdup(call, pg_get(r, 0, 10));
    resp->task_version = (int32_t)pg_get_int64(r, 0, 11);
}

/* The problem of `req` in `c` (its index), checking the task and the kind. */
static int submission_problem(const Dojo__Content__V1__Contest *c,
                              const Dojo__Gamification__V1__CreateSubmissionRequest *req, int *out,
                              err_t **err)
{
    int p = gam_contest_problem(c, req->problem_id);
    if (p < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "problem_id: no problem \"%.16s\"",
                       req->problem_id);
    const char *task = c->problems[p]->task_slug;
    if (req->task_slug[0] && strcmp(req->task_slug, task) != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task_slug: problem %s is task %s",
                       req->problem_id, task);
    if (req->kind != KIND_SUBMIT)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "kind: contests take SUBMIT only");
    *out = p;
    return 0;
}

/* Whether `user` may submit to `c` now, and as whom: a team member (*team,
 * copied into `acc`; counted while the contest runs, within the team's cap
 * of unjudged submissions), or the jury (testing, never counted; *team ""). */
static int submission_admit(gam_t *g, pg_conn_t *conn, const Dojo__Content__V1__Contest *c,
                            const char *user, int64_t now, gam_access_t *acc, const char **team,
                            bool *counted, err_t **err)
{
    identity_t as_user = {.kind = IDENTITY_USER};
    snprintf(as_user.claims.sub, sizeof as_user.claims.sub, "%s", user);
    snprintf(as_user.claims.role, sizeof as_user.claims.role, "learner");
    if (gam_contest_access(g, conn, &as_user, c->slug, acc, err) < 0)
        return -1;
    bool jury = acc->level == ACCESS_JURY;
    *team = acc->level == ACCESS_TEAM ? acc->team_id : "";
    int64_t start = c->start ? c->start->unix_micros : 0, end = gam_contest_end_us(c);
    bool running = now >= start && (end == 0 || now < end);
    if (now < start && !jury) {
        char when[40];
        clock_format_rfc3339(start, when, sizeof when);
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "the contest has not started yet: it starts at %s", when);
    }
    if (end && now >= end && !c->practice_after_end && !jury)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "the contest is over and takes no more submissions");
    if (running && !jury && (*team)[0] == '\0')
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "register for the contest to submit to it");
    *counted = running && (*team)[0] != '\0';
    if (!*counted)
        return 0;
    cleanup_pgresult PGresult *pend = NULL;
    const char *pp[] = {c->slug, *team};
    if (pg_exec(conn, &stmt_pending_of_team, pp, &pend, err) < 0)
        return err_wrap(err, "create submission");
    if (pg_get_int64(pend, 0, 0) >= g->cfg.contest_max_pending)
        return err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED,
                       "your team has %lld submissions waiting for a verdict: wait for one "
                       "before submitting again",
                       (long long)pg_get_int64(pend, 0, 0));
    return 0;
}

/* Stores the submission and announces it in the event log, the reply in
 * `resp`: 0, or 1 for an idempotent repeat (answered with the first one,
 * nothing stored), or -1. */
static int submission_insert(rpc_call_t *call, pg_conn_t *conn, const Dojo__Content__V1__Contest *c,
                             int p, const Dojo__Gamification__V1__CreateSubmissionRequest *req,
                             int32_t version, const char *team, bool counted, int64_t now,
                             Dojo__Gamification__V1__CreateSubmissionResponse *resp, err_t **err)
{
    int64_t start = c->start ? c->start->unix_micros : 0;
    char nowbuf[24], ver[16], ms[24];
    snprintf(ver, sizeof ver, "%d", version);
    snprintf(ms, sizeof ms, "%lld", (long long)((now - start) / 1000));
    const char *pi[] = {req->user_id,
                        c->problems[p]->task_slug,
                        ver,
                        req->language,
                        req->code_hash,
                        req->code,
                        req->idempotency_key,
                        now_text(nowbuf, now),
                        c->slug,
                        team,
                        c->problems[p]->label,
                        ms,
                        counted ? "true" : "false"};
    cleanup_pgresult PGresult *ins = NULL, *row = NULL;
    if (pg_begin(conn, err) < 0)
        return err_wrap(err, "create submission");
    if (pg_exec(conn, &stmt_contest_sub_insert, pi, &ins, err) < 0)
        goto fail;
    if (PQntuples(ins) == 0) {
        /* An idempotent repeat: the first one stands. */
        pg_rollback(conn);
        const char *pk[] = {req->user_id, req->idempotency_key};
        if (pg_exec(conn, &stmt_sub_by_key, pk, &row, err) < 0)
            return err_wrap(err, "create submission");
        if (PQntuples(row) == 0)
            return err_set(err, GRPC_STATUS_ABORTED, "concurrent submission, try again");
        reply_created(call, row, resp);
        return 1;
    }
    const char *pid[] = {pg_get(ins, 0, 0)};
    if (pg_exec(conn, &stmt_sub_by_id, pid, &row, err) < 0)
        goto fail;
    if (team[0] && announce_submission(conn, c->slug, row, 0, now, err) < 0)
        goto fail;
    if (pg_commit(conn, err) < 0)
        goto fail;
    reply_created(call, row, resp);
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "create submission");
}

int gam_contest_create_submission(gam_t *g, rpc_call_t *call, pg_conn_t *conn,
                                  const Dojo__Gamification__V1__CreateSubmissionRequest *req,
                                  int64_t now,
                                  Dojo__Gamification__V1__CreateSubmissionResponse *resp,
                                  err_t **err)
{
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    gam_state_t st;
    int p = -1;
    if (gam_contest_def(g, req->contest_slug, &a, &c, err) < 0 ||
        gam_contest_sync(g, conn, c, now, &st, err) < 0 || submission_problem(c, req, &p, err) < 0)
        return -1;
    gam_access_t acc;
    const char *team = "";
    bool counted = false;
    if (submission_admit(g, conn, c, req->user_id, now, &acc, &team, &counted, err) < 0)
        return -1;
    int32_t version = 0;
    if (task_version(g, c->problems[p]->task_slug, req->language, &version, err) < 0)
        return -1;
    int rc = submission_insert(call, conn, c, p, req, version, team, counted, now, resp, err);
    resp->stop_at_first_failure = gam_contest_stops_early(c);
    if (rc != 0) /* an error, or a repeat answered with the first one */
        return rc < 0 ? -1 : 0;
    LOG_INFO("contest submission",
             "contest=%s submission=%s clics_id=%s team=%s problem=%s "
             "counted=%d",
             c->slug, resp->submission_id, resp->contest_submission_id, team[0] ? team : "-",
             c->problems[p]->label, counted);
    if (counted)
        gam_board_touch(g, c->slug);
    return 0;
}

/* ------------------------------------------------------------------------
 * Judgements from RecordResult
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_judgement_insert = {
    .name = "game_contest_judgement_insert",
    .sql = "INSERT INTO game.contest_judgements (id, contest, submission_id, kind, task_version, "
           "verdict, score_c, max_run_ms, result_pb, started_at, finished_at) "
           "VALUES ($1::uuid, $2, $1::uuid, 'judge', $3::int, $4::smallint, $5::bigint, $6::int, "
           "decode($7, 'hex'), " GAM_TS(8) ", " GAM_TS(9) ") ON CONFLICT (id) DO NOTHING "
                                                          "RETURNING seq",
    .nparams = 9,
};

static const pg_stmt_t stmt_sub_contest = {
    .name = "game_contest_sub_contest",
    .sql =
        "SELECT coalesce(contest, ''), coalesce(contest_team, ''), coalesce(contest_problem, ''), "
        "task_version FROM game.submissions WHERE id = $1::uuid",
    .nparams = 1,
};

int gam_contest_judged(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *submission_id,
                       const Dojo__Gamification__V1__RecordResultRequest *req, int64_t now,
                       char *slug_out, size_t slug_cap, err_t **err)
{
    slug_out[0] = '\0';
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {submission_id};
    if (pg_exec(conn, &stmt_sub_contest, p, &r, err) < 0)
        return err_wrap(err, "contest judgement");
    if (PQntuples(r) == 0 || pg_get(r, 0, 0)[0] == '\0')
        return 0;
    const char *slug = pg_get(r, 0, 0), *team = pg_get(r, 0, 1), *label = pg_get(r, 0, 2);
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    if (gam_contest_def(g, slug, &a, &c, err) < 0)
        return -1;
    int64_t started =
        req->started_at && req->started_at->unix_micros > 0 ? req->started_at->unix_micros : now;
    if (started > now)
        started = now;
    cleanup_free char *hex = gam_pack_hex(&req->base);
    char score[24], run[16], verdict[8], s1[24], s2[24];
    snprintf(score, sizeof score, "%lld",
             (long long)result_score_c(c, gam_contest_problem(c, label), req));
    snprintf(run, sizeof run, "%d", max_run_ms(req));
    snprintf(verdict, sizeof verdict, "%d", req->verdict);
    const char *pi[] = {submission_id, slug, pg_get(r, 0, 3),       verdict,          score,
                        run,           hex,  now_text(s1, started), now_text(s2, now)};
    cleanup_pgresult PGresult *ins = NULL;
    if (pg_exec(conn, &stmt_judgement_insert, pi, &ins, err) < 0)
        return err_wrap(err, "contest judgement");
    if (PQntuples(ins) == 1 && team[0] &&
        announce_judgement(call, conn, slug, pg_get_int64(ins, 0, 0), team, now, err) < 0)
        return -1;
    snprintf(slug_out, slug_cap, "%s", slug);
    return 0;
}

static const pg_stmt_t stmt_rejudge_lock = {
    .name = "game_contest_rejudge_lock",
    .sql =
        "SELECT j.seq, j.contest, coalesce(s.contest_team, ''), coalesce(s.contest_problem, ''), "
        "j.finished_at IS NOT NULL, j.submission_id::text FROM game.contest_judgements j "
        "JOIN game.submissions s ON s.id = j.submission_id WHERE j.id = $1::uuid "
        "FOR UPDATE OF j",
    .nparams = 1,
};

static const pg_stmt_t stmt_rejudge_finish = {
    .name = "game_contest_rejudge_finish",
    .sql = "UPDATE game.contest_judgements SET verdict = $2::smallint, score_c = $3::bigint, "
           "max_run_ms = $4::int, result_pb = decode($5, 'hex'), finished_at = " GAM_TS(
               6) " "
                  "WHERE id = $1::uuid",
    .nparams = 6,
};

int gam_contest_record_rejudge(gam_t *g, rpc_call_t *call,
                               const Dojo__Gamification__V1__RecordResultRequest *req,
                               bool *handled, ProtobufCMessage **out, err_t **err)
{
    *handled = false;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_free char *hex = NULL;
    if (gam_conn(g, &conn, err) < 0 || pg_begin(conn, err) < 0)
        return err_wrap(err, "record rejudge");
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {req->submission_id};
    if (pg_exec(conn, &stmt_rejudge_lock, p, &r, err) < 0)
        goto fail;
    if (PQntuples(r) == 0) {
        pg_rollback(conn);
        return 0;
    }
    *handled = true;
    Dojo__Gamification__V1__RecordResultResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RecordResultResponse,
                DOJO__GAMIFICATION__V1__RECORD_RESULT_RESPONSE__INIT);
    resp->awards =
        RPC_NEW(call, Dojo__Gamification__V1__Awards, DOJO__GAMIFICATION__V1__AWARDS__INIT);
    if (pg_get_bool(r, 0, 4)) {
        pg_rollback(conn);
        resp->duplicate = true;
        *out = &resp->base;
        return 0;
    }
    int64_t seq = pg_get_int64(r, 0, 0);
    const char *slug = rpc_strdup(call, pg_get(r, 0, 1));
    const char *team = rpc_strdup(call, pg_get(r, 0, 2));
    const char *label = rpc_strdup(call, pg_get(r, 0, 3));
    const char *uuid = rpc_strdup(call, pg_get(r, 0, 5));
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    if (gam_contest_def(g, slug, &a, &c, err) < 0)
        goto fail;
    int64_t now = gam_now_us(g);
    hex = gam_pack_hex(&req->base);
    char score[24], run[16], verdict[8], s1[24];
    snprintf(score, sizeof score, "%lld",
             (long long)result_score_c(c, gam_contest_problem(c, label), req));
    snprintf(run, sizeof run, "%d", max_run_ms(req));
    snprintf(verdict, sizeof verdict, "%d", req->verdict);
    const char *pf[] = {req->submission_id, verdict, score, run, hex, now_text(s1, now)};
    if (pg_exec(conn, &stmt_rejudge_finish, pf, NULL, err) < 0 ||
        (team[0] && announce_finished(call, conn, slug, uuid, seq, team, now, err) < 0) ||
        pg_commit(conn, err) < 0)
        goto fail;
    LOG_INFO("rejudge recorded", "contest=%s judgement=%lld verdict=%d", slug, (long long)seq,
             req->verdict);
    gam_board_touch(g, slug);
    *out = &resp->base;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "record rejudge");
}

static const pg_stmt_t stmt_judgement_job = {
    .name = "game_contest_judgement_job",
    .sql = "SELECT s.user_id::text, s.task_slug, j.task_version, s.language, s.code_hash, s.code, "
           "j.finished_at IS NOT NULL, j.verdict, coalesce(encode(j.result_pb, 'hex'), "
           "''), " GAM_US("s.created_at") ", " GAM_US("j.started_at") ", " GAM_US(
               "j.finished_at") " "
                                "FROM game.contest_judgements j JOIN game.submissions s ON s.id = "
                                "j.submission_id "
                                "WHERE j.id = $1::uuid",
    .nparams = 1,
};

int gam_contest_judgement_submission(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *id,
                                     bool *found, Dojo__Gamification__V1__Submission **out,
                                     err_t **err)
{
    *found = false;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {id};
    if (pg_exec(conn, &stmt_judgement_job, p, &r, err) < 0)
        return err_wrap(err, "get judgement");
    if (PQntuples(r) == 0)
        return 0;
    *found = true;
    Dojo__Gamification__V1__Submission *s =
        RPC_NEW(call, Dojo__Gamification__V1__Submission, DOJO__GAMIFICATION__V1__SUBMISSION__INIT);
    s->id = rpc_strdup(call, id);
    s->user_id = rpc_strdup(call, pg_get(r, 0, 0));
    s->task_slug = rpc_strdup(call, pg_get(r, 0, 1));
    s->task_version = (int32_t)pg_get_int64(r, 0, 2);
    s->language = rpc_strdup(call, pg_get(r, 0, 3));
    s->code_hash = rpc_strdup(call, pg_get(r, 0, 4));
    s->code = rpc_strdup(call, pg_get(r, 0, 5));
    s->kind = KIND_SUBMIT;
    bool finished = pg_get_bool(r, 0, 6);
    s->state = finished ? DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED
                        : DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_PENDING;
    s->verdict = (int)pg_get_int64(r, 0, 7);
    s->created_at = gam_timestamp(call, pg_get_int64(r, 0, 9));
    s->started_at = gam_timestamp(call, pg_get_int64(r, 0, 10));
    s->finished_at = gam_timestamp(call, pg_get_int64(r, 0, 11));
    const Dojo__Gamification__V1__RecordResultRequest *res = (const void *)gam_unpack_hex(
        call, &dojo__gamification__v1__record_result_request__descriptor, pg_get(r, 0, 8));
    if (res) {
        s->n_tests = res->n_tests;
        s->tests = res->tests;
        s->compile_output = res->compile_output;
        s->score = res->score;
        s->max_score = res->max_score;
        s->cpu_ms = res->cpu_ms;
        s->wall_ms = res->wall_ms;
        s->memory_kib = res->memory_kib;
    }
    if (finished)
        s->awards =
            RPC_NEW(call, Dojo__Gamification__V1__Awards, DOJO__GAMIFICATION__V1__AWARDS__INIT);
    *out = s;
    return 0;
}

/* ------------------------------------------------------------------------
 * Reads for the jury and the teams
 * ------------------------------------------------------------------------ */

int gam_rpc_list_contest_submissions(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                     ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListContestSubmissionsRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, NULL, &acc, err) < 0)
        return -1;
    if (req->limit < 0 || req->limit > 5000)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "limit: must be 0 to 5000");
    Dojo__Gamification__V1__ListContestSubmissionsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListContestSubmissionsResponse,
                DOJO__GAMIFICATION__V1__LIST_CONTEST_SUBMISSIONS_RESPONSE__INIT);
    resp->access = acc.level;
    *out = &resp->base;
    if (acc.level == ACCESS_PUBLIC)
        return 0;
    bool jury = acc.level == ACCESS_JURY;
    const char *team = jury ? req->team_id : acc.team_id;
    if (!jury && req->team_id[0] && strcmp(req->team_id, acc.team_id) != 0)
        return 0; /* another team's: none visible */
    char lim[16];
    snprintf(lim, sizeof lim, "%d", req->limit ? req->limit : 500);
    const char *p[] = {c->slug, team, req->problem_id, lim, jury ? "true" : "false"};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_subs_list, p, &r, err) < 0)
        return err_wrap(err, "list contest submissions");
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    int n = PQntuples(r);
    resp->submissions = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->submissions);
    for (int i = 0; i < n; i++) {
        Dojo__Gamification__V1__ContestSubmission *s = sub_of_row(&a, r, i, true);
        if (judgements_of(call, &a, conn, s->submission_id, jury, s, false, err) < 0)
            return -1;
        resp->submissions[resp->n_submissions++] = s;
    }
    return 0;
}

/* The submission `id` (CLICS id or uuid) if the caller may see it. */
static int visible_submission(rpc_call_t *call, pg_conn_t *conn, const char *slug,
                              const gam_access_t *acc, const char *id, PGresult **out, err_t **err)
{
    if (strlen(id) > 40)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    const char *p[] = {slug, id};
    if (pg_exec(conn, &stmt_sub_one, p, out, err) < 0)
        return err_wrap(err, "contest submission");
    bool visible = PQntuples(*out) == 1 &&
                   (acc->level == ACCESS_JURY ||
                    (acc->level == ACCESS_TEAM && !strcmp(pg_get(*out, 0, 2), acc->team_id)));
    if (!visible)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    return 0;
}

int gam_rpc_get_contest_submission(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                   ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetContestSubmissionRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    cleanup_pgresult PGresult *r = NULL;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, NULL, &acc, err) < 0 ||
        visible_submission(call, conn, c->slug, &acc, req->id, &r, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Gamification__V1__GetContestSubmissionResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetContestSubmissionResponse,
                DOJO__GAMIFICATION__V1__GET_CONTEST_SUBMISSION_RESPONSE__INIT);
    resp->submission = sub_of_row(&a, r, 0, true);
    if (judgements_of(call, &a, conn, resp->submission->submission_id, acc.level == ACCESS_JURY,
                      resp->submission, true, err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
}

int gam_rpc_list_contest_judgements(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                    ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListContestJudgementsRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, NULL, &acc, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListContestJudgementsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListContestJudgementsResponse,
                DOJO__GAMIFICATION__V1__LIST_CONTEST_JUDGEMENTS_RESPONSE__INIT);
    resp->access = acc.level;
    *out = &resp->base;
    if (acc.level == ACCESS_PUBLIC)
        return 0;
    bool jury = acc.level == ACCESS_JURY;
    const char *p[] = {c->slug, jury ? "" : acc.team_id, req->submission_id};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_judgements_list, p, &r, err) < 0)
        return err_wrap(err, "list judgements");
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    int n = PQntuples(r);
    resp->judgements = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->judgements);
    for (int i = 0; i < n; i++)
        resp->judgements[resp->n_judgements++] = judgement_of_row(call, &a, r, i, jury);
    return 0;
}

/* ------------------------------------------------------------------------
 * Rejudging
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_rejudge_targets = {
    .name = "game_contest_rejudge_targets",
    .sql = "SELECT s.id::text, s.seq, s.user_id::text, s.task_slug, s.language, s.code, "
           "coalesce(s.contest_team, ''), s.contest_problem FROM game.submissions s "
           "WHERE s.contest = $1 AND s.finished "
           "AND (($2 <> '' AND (s.seq::text = $2 OR s.id::text = lower($2))) "
           "  OR ($2 = '' AND s.contest_counted AND ($3 = '' OR s.contest_problem = $3))) "
           "ORDER BY s.seq",
    .nparams = 3,
};

static const pg_stmt_t stmt_rejudge_insert = {
    .name = "game_contest_rejudge_insert",
    .sql = "INSERT INTO game.contest_judgements (id, contest, submission_id, kind, task_version, "
           "actor, reason, started_at) VALUES (gen_random_uuid(), $1, $2::uuid, 'rejudge', "
           "$3::int, $4, $5, " GAM_TS(6) ") RETURNING id::text, seq",
    .nparams = 6,
};

static int pack_to(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    *out = malloc(*len ? *len : 1);
    if (*out == NULL)
        abort();
    protobuf_c_message_pack(m, *out);
    return 0;
}

/* The job of one rejudge, onto the practice stream (behind the contest's
 * live submissions). */
static int enqueue_rejudge(gam_t *g, rpc_call_t *call, const Dojo__Content__V1__Contest *c,
                           const char *judgement_id, const PGresult *t, int row, int32_t version,
                           int64_t now, err_t **err)
{
    Dojo__Common__V1__Timestamp at = DOJO__COMMON__V1__TIMESTAMP__INIT;
    at.unix_micros = wall_us();
    Dojo__Executor__V1__Job job = DOJO__EXECUTOR__V1__JOB__INIT;
    job.submission_id = (char *)judgement_id;
    job.kind = KIND_SUBMIT;
    job.user_id = (char *)pg_get(t, row, 2);
    job.task_slug = (char *)pg_get(t, row, 3);
    job.task_version = version;
    job.language = (char *)pg_get(t, row, 4);
    job.code = (char *)pg_get(t, row, 5);
    job.enqueued_at = &at;
    job.attempt = 1;
    job.request_id = (char *)rpc_call_request_id(call);
    job.stop_at_first_failure = gam_contest_stops_early(c);
    Dojo__Executor__V1__Queued q = DOJO__EXECUTOR__V1__QUEUED__INIT;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.submission_id = (char *)judgement_id;
    ev.seq = 1;
    ev.emitted_at = &at;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_QUEUED;
    ev.queued = &q;
    cleanup_free uint8_t *evbuf = NULL, *jobbuf = NULL;
    size_t evlen, joblen;
    pack_to(&ev.base, &evbuf, &evlen);
    pack_to(&job.base, &jobbuf, &joblen);
    return kvc_job_enqueue_on(g->kv, KVC_JOBS, judgement_id, evbuf, evlen, jobbuf, joblen,
                              g->cfg.event_ttl_s, NULL, err);
}

static int check_reason(const char *reason, bool required, err_t **err)
{
    long n = text_utf8_length(reason);
    if ((required && n < 1) || n < 0 || n > 500)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "reason: must be %s500 characters",
                       required ? "1 to " : "at most ");
    return 0;
}

int gam_rpc_rejudge_contest(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__RejudgeContestRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, NULL, &acc, err) < 0 ||
        gam_require_jury(&acc, err) < 0)
        return -1;
    int targets = (req->submission_id[0] != 0) + (req->problem_id[0] != 0) + req->all;
    if (targets != 1)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "name exactly one of submission_id, problem_id and all");
    if (req->problem_id[0] && gam_contest_problem(c, req->problem_id) < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "problem_id: no problem \"%.16s\"",
                       req->problem_id);
    if (strlen(req->submission_id) > 40)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "submission_id: too long");
    if (check_reason(req->reason, false, err) < 0)
        return -1;
    const char *pt[] = {c->slug, req->submission_id, req->problem_id};
    cleanup_pgresult PGresult *t = NULL;
    if (pg_exec(conn, &stmt_rejudge_targets, pt, &t, err) < 0)
        return err_wrap(err, "rejudge");
    int n = PQntuples(t);
    if (n == 0 && req->submission_id[0])
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no judged submission \"%s\"",
                       req->submission_id);
    /* One current version per task: test data fixed is why one rejudges. */
    int64_t now = gam_now_us(g);
    int queued = 0;
    for (int i = 0; i < n; i++) {
        int32_t version = 0;
        if (task_version(g, pg_get(t, i, 3), NULL, &version, err) < 0)
            return -1;
        char ver[16], nowbuf[24];
        snprintf(ver, sizeof ver, "%d", version);
        const char *pi[] = {c->slug,   pg_get(t, i, 0), ver,
                            acc.actor, req->reason,     now_text(nowbuf, now)};
        cleanup_pgresult PGresult *j = NULL;
        if (pg_begin(conn, err) < 0)
            return err_wrap(err, "rejudge");
        if (pg_exec(conn, &stmt_rejudge_insert, pi, &j, err) < 0 ||
            (pg_get(t, i, 6)[0] && announce_judgement(call, conn, c->slug, pg_get_int64(j, 0, 1),
                                                      pg_get(t, i, 6), now, err) < 0) ||
            pg_commit(conn, err) < 0) {
            pg_rollback(conn);
            return err_wrap(err, "rejudge");
        }
        /* After the commit: a job never names a judgement that is not there. */
        if (enqueue_rejudge(g, call, c, pg_get(j, 0, 0), t, i, version, now, err) < 0)
            return err_wrap(err, "rejudge: enqueue");
        queued++;
    }
    char target[64];
    if (req->submission_id[0])
        snprintf(target, sizeof target, "submission %s", req->submission_id);
    else if (req->problem_id[0])
        snprintf(target, sizeof target, "problem %s", req->problem_id);
    else
        snprintf(target, sizeof target, "the contest");
    if (gam_audit_add(conn, c->slug, &acc, "rejudge", target, 0, 0, req->reason, now, err) < 0)
        return err_wrap(err, "rejudge");
    LOG_INFO("rejudge queued", "contest=%s target=\"%s\" jobs=%d by=%s", c->slug, target, queued,
             acc.actor);
    Dojo__Gamification__V1__RejudgeContestResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RejudgeContestResponse,
                DOJO__GAMIFICATION__V1__REJUDGE_CONTEST_RESPONSE__INIT);
    resp->queued = queued;
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Overrides and the audit log
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_override_insert = {
    .name = "game_contest_override_insert",
    .sql = "INSERT INTO game.contest_judgements (id, contest, submission_id, kind, task_version, "
           "verdict, score_c, actor, reason, started_at, finished_at) VALUES (gen_random_uuid(), "
           "$1, $2::uuid, 'override', $3::int, $4::smallint, $5::bigint, $6, $7, " GAM_TS(
               8) ", " GAM_TS(8) ") RETURNING seq",
    .nparams = 8,
};

static const pg_stmt_t stmt_current_verdict = {
    .name = "game_contest_current_verdict",
    .sql = "SELECT verdict FROM game.contest_judgements WHERE submission_id = $1::uuid "
           "AND finished_at IS NOT NULL ORDER BY seq DESC LIMIT 1",
    .nparams = 1,
};

int gam_rpc_override_verdict(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__OverrideVerdictRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    cleanup_pgresult PGresult *s = NULL;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, NULL, &acc, err) < 0 ||
        gam_require_jury(&acc, err) < 0)
        return -1;
    if (req->verdict < DOJO__COMMON__V1__VERDICT__VERDICT_AC ||
        req->verdict > DOJO__COMMON__V1__VERDICT__VERDICT_CANCELLED)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "verdict: must be a judged verdict");
    if (check_reason(req->reason, true, err) < 0)
        return -1;
    if (visible_submission(call, conn, c->slug, &acc, req->submission_id, &s, err) < 0)
        return -1;
    const char *uuid = pg_get(s, 0, 1), *team = pg_get(s, 0, 2);
    int p = gam_contest_problem(c, pg_get(s, 0, 4));
    int64_t score = 0;
    if (c->scoring == IOI) {
        int64_t max = problem_points_c(c, p);
        if (!isfinite(req->score) || req->score < 0 || req->score * 100 > (double)max)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "score: must be 0 to %lld",
                           (long long)(max / 100));
        score = (int64_t)llround(req->score * 100);
    }
    cleanup_pgresult PGresult *cur = NULL;
    const char *pc[] = {uuid};
    if (pg_exec(conn, &stmt_current_verdict, pc, &cur, err) < 0)
        return err_wrap(err, "override");
    int from = PQntuples(cur) ? (int)pg_get_int64(cur, 0, 0) : 0;
    int64_t now = gam_now_us(g);
    char verdict[8], sc[24], nowbuf[24];
    snprintf(verdict, sizeof verdict, "%d", req->verdict);
    snprintf(sc, sizeof sc, "%lld", (long long)score);
    const char *pi[] = {c->slug, uuid,      pg_get(s, 0, 11), verdict,
                        sc,      acc.actor, req->reason,      now_text(nowbuf, now)};
    cleanup_pgresult PGresult *ins = NULL;
    char target[64];
    snprintf(target, sizeof target, "submission %s", pg_get(s, 0, 0));
    if (pg_begin(conn, err) < 0)
        return err_wrap(err, "override");
    if (pg_exec(conn, &stmt_override_insert, pi, &ins, err) < 0 ||
        (team[0] && announce_finished(call, conn, c->slug, uuid, pg_get_int64(ins, 0, 0), team, now,
                                      err) < 0) ||
        gam_audit_add(conn, c->slug, &acc, "override", target, from, req->verdict, req->reason, now,
                      err) < 0 ||
        pg_commit(conn, err) < 0) {
        pg_rollback(conn);
        return err_wrap(err, "override");
    }
    LOG_INFO("verdict overridden", "contest=%s %s from=%d to=%d by=%s", c->slug, target, from,
             req->verdict, acc.actor);
    gam_board_touch(g, c->slug);
    cleanup_pgresult PGresult *r = NULL;
    char seq[24];
    const char *pj[] = {now_text(seq, pg_get_int64(ins, 0, 0))};
    if (pg_exec(conn, &stmt_judgement_by_seq, pj, &r, err) < 0)
        return err_wrap(err, "override");
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Gamification__V1__OverrideVerdictResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__OverrideVerdictResponse,
                DOJO__GAMIFICATION__V1__OVERRIDE_VERDICT_RESPONSE__INIT);
    resp->judgement = judgement_of_row(call, &a, r, 0, true);
    *out = &resp->base;
    return 0;
}

static const pg_stmt_t stmt_audit_list = {
    .name = "game_contest_audit_list",
    .sql = "SELECT id, " GAM_US(
        "at") ", actor, actor_name, action, target, from_verdict, "
              "to_verdict, reason FROM game.contest_audit WHERE contest = $1 ORDER BY id DESC "
              "LIMIT 1000",
    .nparams = 1,
};

int gam_rpc_list_contest_audit(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListContestAuditRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, NULL, &acc, err) < 0 ||
        gam_require_jury(&acc, err) < 0)
        return -1;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {c->slug};
    if (pg_exec(conn, &stmt_audit_list, p, &r, err) < 0)
        return err_wrap(err, "audit");
    Dojo__Gamification__V1__ListContestAuditResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListContestAuditResponse,
                DOJO__GAMIFICATION__V1__LIST_CONTEST_AUDIT_RESPONSE__INIT);
    int n = PQntuples(r);
    resp->entries = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->entries);
    for (int i = 0; i < n; i++) {
        Dojo__Gamification__V1__AuditEntry *e = RPC_NEW(call, Dojo__Gamification__V1__AuditEntry,
                                                        DOJO__GAMIFICATION__V1__AUDIT_ENTRY__INIT);
        e->id = pg_get_int64(r, i, 0);
        e->at = gam_timestamp(call, pg_get_int64(r, i, 1));
        e->actor_id = rpc_strdup(call, pg_get(r, i, 2));
        e->actor_name = rpc_strdup(call, pg_get(r, i, 3));
        e->action = rpc_strdup(call, pg_get(r, i, 4));
        e->target = rpc_strdup(call, pg_get(r, i, 5));
        e->from_verdict = (int)pg_get_int64(r, i, 6);
        e->to_verdict = (int)pg_get_int64(r, i, 7);
        e->reason = rpc_strdup(call, pg_get(r, i, 8));
        resp->entries[resp->n_entries++] = e;
    }
    *out = &resp->base;
    return 0;
}
