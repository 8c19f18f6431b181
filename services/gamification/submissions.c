/* submissions.c — CreateSubmission, RecordResult (idempotent by submission
 * id), GetSubmission and ListSubmissions.
 *
 * RecordResult locks the submission row, then the learner's stats row, in
 * one transaction: concurrent duplicates queue on the first lock and, once
 * the first has committed, find the result recorded and return its stored
 * awards; concurrent results of one learner queue on the second, so points,
 * streak and achievements are granted one result at a time. */
#define _GNU_SOURCE
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"
#include "libcommon/page.h"

#define GAM_MAX_CODE (64 * 1024)
/* A task's tests at most (content.proto Task.tests): one result each. */
#define GAM_MAX_TESTS 2000
#define KIND_SUBMIT DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT
#define KIND_RUN DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN

/* ------------------------------------------------------------------------
 * CreateSubmission
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_idem_expire = {
    .name = "game_sub_idem_expire",
    .sql = "UPDATE game.submissions SET idempotency_key = NULL "
           "WHERE user_id = $1::uuid AND idempotency_key = $2 "
           "AND created_at <= " GAM_TS(3) " - interval '24 hours'",
    .nparams = 3,
};

static const pg_stmt_t stmt_sub_insert = {
    .name = "game_sub_insert",
    .sql = "INSERT INTO game.submissions (user_id, task_slug, task_version, language, code_hash, "
           "code, kind, idempotency_key, created_at) "
           "VALUES ($1::uuid, $2, $3::int, $4, $5, $6, $7::smallint, NULLIF($8, ''), " GAM_TS(
               9) ") "
                  "ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO "
                  "NOTHING "
                  "RETURNING id::text, " GAM_US("created_at"),
    .nparams = 9,
};

static const pg_stmt_t stmt_sub_by_key = {
    .name = "game_sub_by_key",
    .sql = "SELECT id::text, " GAM_US(
        "created_at") " FROM game.submissions "
                      "WHERE user_id = $1::uuid AND idempotency_key = $2",
    .nparams = 2,
};

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int gam_rpc_create_submission(rpc_call_t *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__CreateSubmissionRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_SERVICE)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only services create submissions");
    if (!gam_is_uuid(req->user_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    bool contest = req->contest_slug[0] != '\0';
    if (gam_check_slug("task_slug", req->task_slug, !contest, err) < 0 ||
        gam_check_language("language", req->language, err) < 0)
        return -1;
    if (!contest && req->task_version <= 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task_version: must be > 0");
    if (!is_hex64(req->code_hash))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "code_hash: must be 64 lower-case hex digits");
    if (req->kind != KIND_RUN && req->kind != KIND_SUBMIT)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "kind: must be SUBMISSION_KIND_RUN or SUBMISSION_KIND_SUBMIT");
    size_t code_len = strlen(req->code);
    if (code_len > GAM_MAX_CODE)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "code: must be at most 64 KiB");
    if (code_len > 0) {
        unsigned char h[crypto_hash_sha256_BYTES];
        char hex[crypto_hash_sha256_BYTES * 2 + 1];
        crypto_hash_sha256(h, (const unsigned char *)req->code, code_len);
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        if (strcmp(hex, req->code_hash) != 0)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "code_hash: does not match the SHA-256 of code");
    }
    if (strlen(req->idempotency_key) > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "idempotency_key: must be at most 64 characters");

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (contest) {
        /* A contest's rules decide the task, its version and whether it
         * counts (contest_subs.c). */
        Dojo__Gamification__V1__CreateSubmissionResponse *resp =
            RPC_NEW(call, Dojo__Gamification__V1__CreateSubmissionResponse,
                    DOJO__GAMIFICATION__V1__CREATE_SUBMISSION_RESPONSE__INIT);
        if (gam_conn(g, &conn, err) < 0 ||
            gam_contest_create_submission(g, call, conn, req, gam_now_us(g), resp, err) < 0)
            return -1;
        *out = &resp->base;
        return 0;
    }
    const char *now = gam_i64(call, gam_now_us(g));
    if (gam_conn(g, &conn, err) < 0 || pg_begin(conn, err) < 0)
        return -1;
    if (req->idempotency_key[0]) {
        const char *p[] = {req->user_id, req->idempotency_key, now};
        if (pg_exec(conn, &stmt_idem_expire, p, NULL, err) < 0)
            return err_wrap(err, "create submission");
    }
    const char *p[] = {req->user_id,
                       req->task_slug,
                       gam_i64(call, req->task_version),
                       req->language,
                       req->code_hash,
                       req->code,
                       gam_i64(call, req->kind),
                       req->idempotency_key,
                       now};
    if (pg_exec(conn, &stmt_sub_insert, p, &r, err) < 0)
        return err_wrap(err, "create submission");
    if (PQntuples(r) == 0) {
        PQclear(r);
        r = NULL;
        const char *pk[] = {req->user_id, req->idempotency_key};
        if (pg_exec(conn, &stmt_sub_by_key, pk, &r, err) < 0)
            return err_wrap(err, "create submission: find by key");
        if (PQntuples(r) == 0)
            return err_set(err, GRPC_STATUS_ABORTED, "concurrent submission, try again");
    }
    if (pg_commit(conn, err) < 0)
        return err_wrap(err, "create submission");
    Dojo__Gamification__V1__CreateSubmissionResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__CreateSubmissionResponse,
                DOJO__GAMIFICATION__V1__CREATE_SUBMISSION_RESPONSE__INIT);
    resp->submission_id = rpc_strdup(call, pg_get(r, 0, 0));
    resp->created_at = gam_timestamp(call, pg_get_int64(r, 0, 1));
    resp->task_slug = (char *)req->task_slug;
    resp->task_version = req->task_version;
    LOG_INFO("submission created", "submission=%s user=%s task=%s kind=%d", resp->submission_id,
             req->user_id, req->task_slug, req->kind);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * RecordResult
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_sub_peek = {
    .name = "game_sub_peek",
    .sql = "SELECT user_id::text, task_slug, task_version, kind, finished, "
           "coalesce(encode(awards_pb, 'hex'), '') FROM game.submissions WHERE id = $1::uuid",
    .nparams = 1,
};

static const pg_stmt_t stmt_sub_lock = {
    .name = "game_sub_lock",
    .sql = "SELECT finished, coalesce(encode(awards_pb, 'hex'), '') FROM game.submissions "
           "WHERE id = $1::uuid FOR UPDATE",
    .nparams = 1,
};

static const pg_stmt_t stmt_stats_ensure = {
    .name = "game_stats_ensure",
    .sql = "INSERT INTO game.stats (user_id) VALUES ($1::uuid) ON CONFLICT DO NOTHING",
    .nparams = 1,
};

static const pg_stmt_t stmt_stats_lock = {
    .name = "game_stats_lock",
    .sql = "SELECT total_points, streak_current, streak_longest, freezes, "
           "coalesce(last_active_date::text, '') FROM game.stats WHERE user_id = $1::uuid "
           "FOR UPDATE",
    .nparams = 1,
};

/* The local day of the result's instant, and how many days it is after the
 * last active day (NULL without one). */
static const pg_stmt_t stmt_result_day = {
    .name = "game_result_day",
    .sql = "SELECT (" GAM_TS(1) " AT TIME ZONE $2)::date::text, "
                                "((" GAM_TS(1) " AT TIME ZONE $2)::date - NULLIF($3, '')::date)",
    .nparams = 3,
};

static const pg_stmt_t stmt_solve_insert = {
    .name = "game_solve_insert",
    .sql = "INSERT INTO game.solves (user_id, task_slug, task_version, difficulty, points, "
           "submission_id, first_attempt, solved_at) "
           "SELECT $1::uuid, $2, $3::int, $4::smallint, $5::int, $6::uuid, "
           "NOT EXISTS (SELECT 1 FROM game.submissions o WHERE o.user_id = $1::uuid "
           "  AND o.task_slug = $2 AND o.kind = 2 AND (o.created_at, o.seq) < "
           "  (SELECT s.created_at, s.seq FROM game.submissions s WHERE s.id = $6::uuid)), " GAM_TS(
               7) " ON CONFLICT DO NOTHING RETURNING points",
    .nparams = 7,
};

static const pg_stmt_t stmt_day_bump = {
    .name = "game_day_bump",
    .sql = "INSERT INTO game.active_days (user_id, day, count) VALUES ($1::uuid, $2::date, 1) "
           "ON CONFLICT (user_id, day) DO UPDATE SET count = game.active_days.count + 1",
    .nparams = 2,
};

static const pg_stmt_t stmt_stats_update = {
    .name = "game_stats_update",
    .sql = "UPDATE game.stats SET total_points = total_points + $2::int, "
           "points_reached_at = CASE WHEN $2::int > 0 THEN " GAM_TS(
               3) " "
                  "  ELSE points_reached_at END, "
                  "streak_current = $4::int, streak_longest = $5::int, freezes = $6::int, "
                  "last_active_date = NULLIF($7, '')::date WHERE user_id = $1::uuid",
    .nparams = 7,
};

static const pg_stmt_t stmt_sub_finish = {
    .name = "game_sub_finish",
    .sql = "UPDATE game.submissions SET finished = true, verdict = $2::smallint, "
           "score = $3::int, max_score = $4::int, result_pb = decode($5, 'hex'), "
           "awards_pb = decode($6, 'hex'), points_awarded = $7::int, "
           "started_at = CASE WHEN $8::bigint > 0 THEN " GAM_TS(
               8) " END, "
                  "finished_at = " GAM_TS(9) ", executor_id = $10 WHERE id = $1::uuid",
    .nparams = 10,
};

/* Hidden tests never carry a name or output: whatever the executor sent,
 * they are stored as "hidden-<k>" without an excerpt. */
static Dojo__Gamification__V1__RecordResultRequest *
normalised_result(rpc_call_t *call, const Dojo__Gamification__V1__RecordResultRequest *req)
{
    Dojo__Gamification__V1__RecordResultRequest *copy = rpc_alloc(call, sizeof *copy);
    *copy = *req;
    copy->tests = rpc_alloc(call, (req->n_tests + 1) * sizeof *copy->tests);
    int hidden = 0;
    for (size_t i = 0; i < req->n_tests; i++) {
        Dojo__Gamification__V1__TestResult *t = rpc_alloc(call, sizeof *t);
        *t = *req->tests[i];
        if (t->hidden) {
            t->name = rpc_sprintf(call, "hidden-%d", ++hidden);
            t->output_excerpt = "";
        }
        copy->tests[i] = t;
    }
    return copy;
}

static int validate_result(const Dojo__Gamification__V1__RecordResultRequest *req, err_t **err)
{
    if (!gam_is_uuid(req->submission_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "submission_id: must be a UUID");
    if (req->verdict <= DOJO__COMMON__V1__VERDICT__VERDICT_UNSPECIFIED ||
        req->verdict > DOJO__COMMON__V1__VERDICT__VERDICT_CANCELLED)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "verdict: must be a judged verdict");
    if (req->score < 0 || req->max_score < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "score: must not be negative");
    if (req->score > req->max_score)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "score: must not exceed max_score");
    if (strlen(req->compile_output) > GAM_MAX_CODE)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "compile_output: must be at most 64 KiB");
    if (req->n_tests > GAM_MAX_TESTS)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "tests: at most %d", GAM_MAX_TESTS);
    for (size_t i = 0; i < req->n_tests; i++)
        if (strlen(req->tests[i]->output_excerpt) > 4096 || strlen(req->tests[i]->message) > 1024)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "tests[%zu]: output_excerpt or message too long", i);
    if (strlen(req->executor_id) > 128)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "executor_id: at most 128 characters");
    return 0;
}

static int duplicate_reply(rpc_call_t *call, const char *awards_hex, ProtobufCMessage **out)
{
    Dojo__Gamification__V1__RecordResultResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RecordResultResponse,
                DOJO__GAMIFICATION__V1__RECORD_RESULT_RESPONSE__INIT);
    resp->awards =
        (void *)gam_unpack_hex(call, &dojo__gamification__v1__awards__descriptor, awards_hex);
    resp->duplicate = true;
    metrics_counter_add("dojo_gamification_results_total", "outcome=\"duplicate\"", 1);
    *out = &resp->base;
    return 0;
}

/* What RecordResult learns of the submission before it takes any lock. */
typedef struct result_job {
    const Dojo__Gamification__V1__RecordResultRequest *req;
    const char *user;
    const char *slug;
    int version;
    bool accepted;          /* a SUBMIT judged AC: points, streak, achievements */
    gam_task_facts_t facts; /* when accepted */
    gam_snapshot_t *snap;   /* when accepted; a reference to release */
    int64_t now;
    int64_t at; /* the result's instant */
    const char *at_s;
} result_job_t;

/* The learner's stats row, locked (created first when missing). */
static int lock_stats(pg_conn_t *conn, const char *user, gam_streak_state_t *st, err_t **err)
{
    cleanup_pgresult PGresult *stats = NULL;
    const char *puser[] = {user};
    if (pg_exec(conn, &stmt_stats_ensure, puser, NULL, err) < 0 ||
        pg_exec(conn, &stmt_stats_lock, puser, &stats, err) < 0)
        return -1;
    *st = (gam_streak_state_t){
        .current = (int)pg_get_int64(stats, 0, 1),
        .longest = (int)pg_get_int64(stats, 0, 2),
        .freezes = (int)pg_get_int64(stats, 0, 3),
    };
    snprintf(st->last_active, sizeof st->last_active, "%s", pg_get(stats, 0, 4));
    return 0;
}

/* An accepted SUBMIT: the first solve's points, the active day in the
 * learner's zone, the streak, and the stats row. */
static int award_solve(rpc_call_t *call, pg_conn_t *conn, const result_job_t *job,
                       gam_streak_state_t *st, Dojo__Gamification__V1__Awards *awards, err_t **err)
{
    char zone[80];
    cleanup_pgresult PGresult *day = NULL;
    cleanup_pgresult PGresult *solve = NULL;
    if (gam_user_zone(conn, job->user, zone, sizeof zone, err) < 0)
        return -1;
    const char *pd[] = {job->at_s, zone, st->last_active};
    if (pg_exec(conn, &stmt_result_day, pd, &day, err) < 0)
        return -1;
    const char *local_day = pg_get(day, 0, 0);
    bool has_last = !pg_is_null(day, 0, 1);
    int64_t diff = pg_get_int64(day, 0, 1);

    const char *ps[] = {job->user,
                        job->slug,
                        gam_i64(call, job->version),
                        gam_i64(call, job->facts.difficulty),
                        gam_i64(call, job->facts.points),
                        job->req->submission_id,
                        job->at_s};
    if (pg_exec(conn, &stmt_solve_insert, ps, &solve, err) < 0)
        return -1;
    if (PQntuples(solve) == 1) {
        awards->first_solve = true;
        awards->points_awarded = (int32_t)pg_get_int64(solve, 0, 0);
    }
    const char *pday[] = {job->user, local_day};
    if (pg_exec(conn, &stmt_day_bump, pday, NULL, err) < 0)
        return -1;
    gam_streak_apply(st, has_last, diff);
    if (!has_last || diff > 0)
        snprintf(st->last_active, sizeof st->last_active, "%s", local_day);
    const char *pu[] = {job->user,
                        gam_i64(call, awards->points_awarded),
                        job->at_s,
                        gam_i64(call, st->current),
                        gam_i64(call, st->longest),
                        gam_i64(call, st->freezes),
                        st->last_active};
    return pg_exec(conn, &stmt_stats_update, pu, NULL, err);
}

/* Achievements whose rule now holds, for an accepted SUBMIT. */
static int unlock_achievements(rpc_call_t *call, pg_conn_t *conn, const result_job_t *job,
                               Dojo__Gamification__V1__Awards *awards, err_t **err)
{
    gam_user_facts_t uf;
    if (gam_user_facts_load(call, conn, job->user, &uf, err) < 0)
        return -1;
    uf.total_points = awards->total_points;
    uf.streak_current = awards->streak->current_days;
    return gam_achievements_evaluate(call, conn, job->snap, job->user, &uf, job->at,
                                     &awards->achievements_unlocked,
                                     &awards->n_achievements_unlocked, err);
}

/* The submission row gets the (normalised) result and its awards, a
 * contest its judgement (contest_slug: the contest's slug, "" for none), and
 * the transaction commits. */
static int finish_submission(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const result_job_t *job,
                             const Dojo__Gamification__V1__Awards *awards, char *contest_slug,
                             size_t cap, err_t **err)
{
    const Dojo__Gamification__V1__RecordResultRequest *req = job->req;
    cleanup_free char *result_hex = gam_pack_hex(&normalised_result(call, req)->base);
    cleanup_free char *awards_hex = gam_pack_hex(&awards->base);
    const char *pf[] = {req->submission_id,
                        gam_i64(call, req->verdict),
                        gam_i64(call, req->score),
                        gam_i64(call, req->max_score),
                        result_hex,
                        awards_hex,
                        gam_i64(call, awards->points_awarded),
                        gam_i64(call, req->started_at ? req->started_at->unix_micros : 0),
                        job->at_s,
                        req->executor_id};
    if (pg_exec(conn, &stmt_sub_finish, pf, NULL, err) < 0 ||
        gam_contest_judged(g, call, conn, req->submission_id, req, job->now, contest_slug, cap,
                           err) < 0 ||
        pg_commit(conn, err) < 0)
        return -1;
    return 0;
}

/* Inside the transaction: the duplicate check under the row lock, then
 * points, streak and achievements. Returns 1 when a concurrent duplicate
 * won (*out is its reply), 0 when recorded, -1 on error (not rolled back). */
static int record_locked(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const result_job_t *job,
                         Dojo__Gamification__V1__Awards *awards, ProtobufCMessage **out,
                         char *contest_slug, size_t cap, err_t **err)
{
    cleanup_pgresult PGresult *lock = NULL;
    const char *pid[] = {job->req->submission_id};
    if (pg_begin(conn, err) < 0 || pg_exec(conn, &stmt_sub_lock, pid, &lock, err) < 0)
        return -1;
    if (pg_get_bool(lock, 0, 0)) {
        /* A concurrent duplicate won the race while we waited for the row. */
        const char *stored = rpc_strdup(call, pg_get(lock, 0, 1));
        pg_rollback(conn);
        duplicate_reply(call, stored, out);
        return 1;
    }
    gam_streak_state_t st;
    if (lock_stats(conn, job->user, &st, err) < 0 ||
        (job->accepted && award_solve(call, conn, job, &st, awards, err) < 0))
        return -1;
    gam_streak_state_t now_st;
    char zone[80];
    if (gam_user_zone(conn, job->user, zone, sizeof zone, err) < 0 ||
        gam_read_streak(g, call, conn, job->user, zone, job->now, &now_st, &awards->streak,
                        &awards->total_points, err) < 0)
        return -1;
    if (job->accepted && unlock_achievements(call, conn, job, awards, err) < 0)
        return -1;
    return finish_submission(g, call, conn, job, awards, contest_slug, cap, err);
}

int gam_rpc_record_result(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                          err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__RecordResultRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_SERVICE)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only services record results");
    if (validate_result(req, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *peek = NULL;
    const char *pid[] = {req->submission_id};
    if (gam_conn(g, &conn, err) < 0 || pg_exec(conn, &stmt_sub_peek, pid, &peek, err) < 0)
        return err_wrap(err, "record result");
    if (PQntuples(peek) == 0) {
        /* A rejudge's job names its judgement. */
        bool handled = false;
        if (gam_contest_record_rejudge(g, call, req, &handled, out, err) < 0)
            return -1;
        if (handled)
            return 0;
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    }
    if (pg_get_bool(peek, 0, 4))
        return duplicate_reply(call, pg_get(peek, 0, 5), out);
    result_job_t job = {
        .req = req,
        .user = rpc_strdup(call, pg_get(peek, 0, 0)),
        .slug = rpc_strdup(call, pg_get(peek, 0, 1)),
        .version = (int)pg_get_int64(peek, 0, 2),
        .accepted = pg_get_int64(peek, 0, 3) == KIND_SUBMIT &&
                    req->verdict == DOJO__COMMON__V1__VERDICT__VERDICT_AC,
    };

    /* Ask content before taking any lock: a slow content service must not
     * hold the learner's row. */
    if (job.accepted && (gam_task_facts(g, job.slug, job.version, &job.facts, err) < 0 ||
                         gam_snapshot_get(g, &job.snap, err) < 0))
        return err_wrap(err, "record result");

    job.now = gam_now_us(g);
    job.at = req->finished_at ? req->finished_at->unix_micros : 0;
    if (job.at <= 0 || job.at > job.now + 300 * 1000000LL)
        job.at = job.now; /* no instant, or one from a clock running ahead */
    job.at_s = gam_i64(call, job.at);

    Dojo__Gamification__V1__Awards *awards =
        RPC_NEW(call, Dojo__Gamification__V1__Awards, DOJO__GAMIFICATION__V1__AWARDS__INIT);
    char contest_slug[64] = "";
    int rc =
        record_locked(g, call, conn, &job, awards, out, contest_slug, sizeof contest_slug, err);
    gam_snapshot_release(job.snap);
    if (rc < 0) {
        pg_rollback(conn);
        return err_wrap(err, "record result");
    }
    if (rc > 0)
        return 0; /* a duplicate: *out is the stored reply */
    if (contest_slug[0])
        gam_board_touch(g, contest_slug);

    if (awards->points_awarded > 0)
        gam_board_award(g, conn, job.user, awards->total_points, job.at, job.at);
    LOG_INFO("result recorded", "submission=%s user=%s verdict=%d points=%d achievements=%zu",
             req->submission_id, job.user, req->verdict, awards->points_awarded,
             awards->n_achievements_unlocked);
    metrics_counter_add("dojo_gamification_results_total", "outcome=\"recorded\"", 1);
    if (awards->points_awarded > 0)
        metrics_counter_add("dojo_gamification_points_awarded_total", "", awards->points_awarded);

    Dojo__Gamification__V1__RecordResultResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RecordResultResponse,
                DOJO__GAMIFICATION__V1__RECORD_RESULT_RESPONSE__INIT);
    resp->awards = awards;
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Reading submissions
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_sub_get = {
    .name = "game_sub_get",
    .sql = "SELECT id::text, user_id::text, task_slug, task_version, language, code_hash, code, "
           "kind, finished, verdict, score, max_score, coalesce(encode(result_pb, 'hex'), ''), "
           "coalesce(encode(awards_pb, 'hex'), ''), " GAM_US("created_at") ", " GAM_US(
               "started_at") ", " GAM_US("finished_at") ", executor_id "
                                                        "FROM game.submissions WHERE id = $1::uuid",
    .nparams = 1,
};

static const pg_stmt_t stmt_sub_list = {
    .name = "game_sub_list",
    .sql = "SELECT id::text, user_id::text, task_slug, task_version, language, kind, finished, "
           "verdict, score, max_score, points_awarded, " GAM_US("created_at") ", " GAM_US(
               "finished_at") " FROM game.submissions "
                              "WHERE ($1::uuid IS NULL OR user_id = $1::uuid) AND ($2 = '' OR "
                              "task_slug = $2) "
                              "AND ($3::int = 0 OR kind = $3::int) "
                              /* A teacher ($6) sees only the tasks of their classes. */
                              "AND ($6::uuid IS NULL OR task_slug IN (SELECT unnest(a.task_slugs) "
                              "  FROM game.assignments a JOIN game.class_teachers t "
                              "  ON t.class_slug = a.class_slug JOIN game.cohort_members m "
                              "  ON m.cohort_slug = a.class_slug "
                              "  WHERE t.user_id = $6::uuid AND m.user_id = $1::uuid)) "
                              "ORDER BY created_at DESC, seq DESC LIMIT $4::int OFFSET $5::bigint",
    .nparams = 6,
};

int gam_rpc_get_submission(rpc_call_t *call, const ProtobufCMessage *req_msg,
                           ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetSubmissionRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (!gam_is_uuid(req->submission_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "submission_id: must be a UUID");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {req->submission_id};
    if (gam_conn(g, &conn, err) < 0 || pg_exec(conn, &stmt_sub_get, p, &r, err) < 0)
        return err_wrap(err, "get submission");
    bool privileged = identity_is_author(&id);
    if (PQntuples(r) == 0 && id.kind == IDENTITY_SERVICE) {
        /* The executor judging a rejudge asks by the judgement's id. */
        bool found = false;
        Dojo__Gamification__V1__GetSubmissionResponse *resp =
            RPC_NEW(call, Dojo__Gamification__V1__GetSubmissionResponse,
                    DOJO__GAMIFICATION__V1__GET_SUBMISSION_RESPONSE__INIT);
        if (gam_contest_judgement_submission(g, call, conn, req->submission_id, &found,
                                             &resp->submission, err) < 0)
            return -1;
        if (found) {
            *out = &resp->base;
            return 0;
        }
    }
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    if (!privileged && strcasecmp(pg_get(r, 0, 1), id.claims.sub) != 0) {
        /* A teacher of a class the submitter is in, where the task is assigned. */
        bool teaches = false;
        if (identity_is_teacher(&id) &&
            gam_teaches(conn, id.claims.sub, pg_get(r, 0, 1), pg_get(r, 0, 2), &teaches, err) < 0)
            return err_wrap(err, "get submission");
        if (!teaches)
            return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    }

    Dojo__Gamification__V1__Submission *s =
        RPC_NEW(call, Dojo__Gamification__V1__Submission, DOJO__GAMIFICATION__V1__SUBMISSION__INIT);
    s->id = rpc_strdup(call, pg_get(r, 0, 0));
    s->user_id = rpc_strdup(call, pg_get(r, 0, 1));
    s->task_slug = rpc_strdup(call, pg_get(r, 0, 2));
    s->task_version = (int32_t)pg_get_int64(r, 0, 3);
    s->language = rpc_strdup(call, pg_get(r, 0, 4));
    s->code_hash = rpc_strdup(call, pg_get(r, 0, 5));
    s->code = rpc_strdup(call, pg_get(r, 0, 6));
    s->kind = (int)pg_get_int64(r, 0, 7);
    bool finished = pg_get_bool(r, 0, 8);
    s->state = finished ? DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED
                        : DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_PENDING;
    s->verdict = (int)pg_get_int64(r, 0, 9);
    s->score = (int32_t)pg_get_int64(r, 0, 10);
    s->max_score = (int32_t)pg_get_int64(r, 0, 11);
    s->created_at = gam_timestamp(call, pg_get_int64(r, 0, 14));
    s->started_at = gam_timestamp(call, pg_get_int64(r, 0, 15));
    s->finished_at = gam_timestamp(call, pg_get_int64(r, 0, 16));
    s->executor_id = rpc_strdup(call, pg_get(r, 0, 17));
    const Dojo__Gamification__V1__RecordResultRequest *res = (const void *)gam_unpack_hex(
        call, &dojo__gamification__v1__record_result_request__descriptor, pg_get(r, 0, 12));
    if (res) {
        s->n_tests = res->n_tests;
        s->tests = res->tests;
        s->compile_output = res->compile_output;
        s->cpu_ms = res->cpu_ms;
        s->wall_ms = res->wall_ms;
        s->memory_kib = res->memory_kib;
        /* Learners see a hidden test's verdict and costs, never its text. */
        for (size_t i = 0; !privileged && i < s->n_tests; i++) {
            if (s->tests[i]->hidden) {
                s->tests[i]->message = "";
                s->tests[i]->output_excerpt = "";
            }
        }
    }
    if (finished)
        s->awards = (void *)gam_unpack_hex(call, &dojo__gamification__v1__awards__descriptor,
                                           pg_get(r, 0, 13));
    Dojo__Gamification__V1__GetSubmissionResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetSubmissionResponse,
                DOJO__GAMIFICATION__V1__GET_SUBMISSION_RESPONSE__INIT);
    resp->submission = s;
    *out = &resp->base;
    return 0;
}

int gam_rpc_list_submissions(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListSubmissionsRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    bool privileged = identity_is_author(&id);
    const char *user = NULL;    /* NULL = every learner */
    const char *teacher = NULL; /* a teacher looking at a learner of their classes */
    if (req->user_id[0]) {
        if (gam_subject(&id, req->user_id, true, true, &user, err) < 0) {
            if ((*err)->code != GRPC_STATUS_PERMISSION_DENIED || !identity_is_teacher(&id))
                return -1;
            err_clear(err);
            teacher = id.claims.sub;
            user = req->user_id;
        }
    } else if (!privileged) {
        user = id.claims.sub;
    } else if (req->task_slug[0] == '\0') {
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "task_slug: required when listing every learner's submissions");
    }
    if (gam_check_slug("task_slug", req->task_slug, false, err) < 0)
        return -1;
    if (req->kind < 0 || req->kind > KIND_SUBMIT)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "kind: unknown");
    int64_t offset;
    int size;
    if (page_read(req->page, 50, 100, &offset, &size, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {user, req->task_slug, gam_i64(call, req->kind), gam_i64(call, size + 1),
                       gam_i64(call, offset), teacher};
    if (gam_conn(g, &conn, err) < 0)
        return -1;
    if (teacher) {
        bool teaches = false;
        if (gam_teaches(conn, teacher, user, NULL, &teaches, err) < 0)
            return err_wrap(err, "list submissions");
        if (!teaches)
            return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                           "you may only see the learners of your own classes");
    }
    if (pg_exec(conn, &stmt_sub_list, p, &r, err) < 0)
        return err_wrap(err, "list submissions");
    int rows = PQntuples(r);
    bool more = rows > size;
    if (more)
        rows = size;
    Dojo__Gamification__V1__ListSubmissionsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListSubmissionsResponse,
                DOJO__GAMIFICATION__V1__LIST_SUBMISSIONS_RESPONSE__INIT);
    resp->submissions = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++) {
        Dojo__Gamification__V1__SubmissionSummary *s =
            RPC_NEW(call, Dojo__Gamification__V1__SubmissionSummary,
                    DOJO__GAMIFICATION__V1__SUBMISSION_SUMMARY__INIT);
        s->id = rpc_strdup(call, pg_get(r, i, 0));
        s->user_id = rpc_strdup(call, pg_get(r, i, 1));
        s->task_slug = rpc_strdup(call, pg_get(r, i, 2));
        s->task_version = (int32_t)pg_get_int64(r, i, 3);
        s->language = rpc_strdup(call, pg_get(r, i, 4));
        s->kind = (int)pg_get_int64(r, i, 5);
        s->state = pg_get_bool(r, i, 6)
                       ? DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED
                       : DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_PENDING;
        s->verdict = (int)pg_get_int64(r, i, 7);
        s->score = (int32_t)pg_get_int64(r, i, 8);
        s->max_score = (int32_t)pg_get_int64(r, i, 9);
        s->points_awarded = (int32_t)pg_get_int64(r, i, 10);
        s->created_at = gam_timestamp(call, pg_get_int64(r, i, 11));
        s->finished_at = gam_timestamp(call, pg_get_int64(r, i, 12));
        resp->submissions[resp->n_submissions++] = s;
    }
    resp->page = page_info(call, offset, size, more, -1);
    *out = &resp->base;
    return 0;
}
