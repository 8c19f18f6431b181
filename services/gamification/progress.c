/* progress.c — streaks in the learner's zone, and GetProgress.
 *
 * Days are calendar days in the learner's IANA zone. The zone arithmetic is
 * PostgreSQL's (`instant AT TIME ZONE zone`), fed with instants from the
 * service clock as parameters: no process-wide TZ, no now() in SQL.
 *
 * The stored streak (game.stats) is as of the last active day. Reading it
 * "as of today" applies the days missed since then: each spends a held
 * freeze; once none is left, the streak is broken. Writing applies the same
 * rule, so what a reader saw yesterday is what the next result builds on. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

#define GAM_MAX_FREEZES 2
#define GAM_DAYS_PER_FREEZE 7

/* ------------------------------------------------------------------------
 * Streak arithmetic
 * ------------------------------------------------------------------------ */

void gam_streak_apply(gam_streak_state_t *st, bool has_last, int64_t diff)
{
    if (has_last && diff <= 0)
        return; /* the same day (or an older result arriving late) */
    if (!has_last || st->current == 0) {
        st->current = 1;
    } else {
        int64_t missed = diff - 1;
        if (missed <= st->freezes) {
            st->freezes -= (int)missed;
            st->current++;
        } else {
            st->freezes = 0;
            st->current = 1;
        }
    }
    if (st->current % GAM_DAYS_PER_FREEZE == 0 && st->freezes < GAM_MAX_FREEZES)
        st->freezes++;
    if (st->current > st->longest)
        st->longest = st->current;
}

Dojo__Gamification__V1__Streak *gam_streak_view(rpc_call_t *call, const gam_streak_state_t *st,
                                                int64_t today_diff)
{
    Dojo__Gamification__V1__Streak *v =
        RPC_NEW(call, Dojo__Gamification__V1__Streak, DOJO__GAMIFICATION__V1__STREAK__INIT);
    v->longest_days = st->longest;
    v->last_active_date = rpc_strdup(call, st->last_active);
    if (st->last_active[0] == '\0') {
        v->freezes = st->freezes;
        return v;
    }
    v->extended_today = today_diff <= 0;
    int64_t missed = today_diff - 1; /* full days gone by without activity */
    if (missed <= 0) {
        v->current_days = st->current;
        v->freezes = st->freezes;
    } else if (missed <= st->freezes) {
        v->current_days = st->current;
        v->freezes = st->freezes - (int)missed;
    } else {
        v->current_days = 0;
        v->freezes = 0;
    }
    return v;
}

/* ------------------------------------------------------------------------
 * Reading state
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_zone = {
    .name = "game_user_zone",
    .sql = "SELECT time_zone FROM game.profiles WHERE user_id = $1::uuid",
    .nparams = 1,
};

static const pg_stmt_t stmt_stats = {
    .name = "game_stats_read",
    .sql = "SELECT total_points, streak_current, streak_longest, freezes, "
           "coalesce(last_active_date::text, ''), "
           "((" GAM_TS(2) " AT TIME ZONE $3)::date - last_active_date) "
                          "FROM game.stats WHERE user_id = $1::uuid",
    .nparams = 3,
};

int gam_user_zone(pg_conn_t *conn, const char *user_id, char *out, size_t cap, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {user_id};
    if (pg_exec(conn, &stmt_zone, p, &r, err) < 0)
        return err_wrap(err, "read zone");
    snprintf(out, cap, "%s", PQntuples(r) ? pg_get(r, 0, 0) : "UTC");
    return 0;
}

int gam_read_streak(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *user_id,
                    const char *zone, int64_t now_us, gam_streak_state_t *st,
                    Dojo__Gamification__V1__Streak **view, int64_t *total_points, err_t **err)
{
    (void)g;
    memset(st, 0, sizeof *st);
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {user_id, gam_i64(call, now_us), zone};
    if (pg_exec(conn, &stmt_stats, p, &r, err) < 0)
        return err_wrap(err, "read stats");
    int64_t today_diff = 0;
    *total_points = 0;
    if (PQntuples(r)) {
        *total_points = pg_get_int64(r, 0, 0);
        st->current = (int)pg_get_int64(r, 0, 1);
        st->longest = (int)pg_get_int64(r, 0, 2);
        st->freezes = (int)pg_get_int64(r, 0, 3);
        snprintf(st->last_active, sizeof st->last_active, "%s", pg_get(r, 0, 4));
        today_diff = pg_get_int64(r, 0, 5);
    }
    *view = gam_streak_view(call, st, today_diff);
    return 0;
}

/* ------------------------------------------------------------------------
 * GetProgress
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_solved = {
    .name = "game_progress_solved",
    .sql = "SELECT task_slug, difficulty FROM game.solves WHERE user_id = $1::uuid "
           "ORDER BY task_slug",
    .nparams = 1,
};

static const pg_stmt_t stmt_attempted = {
    .name = "game_progress_attempted",
    .sql = "SELECT DISTINCT s.task_slug FROM game.submissions s WHERE s.user_id = $1::uuid "
           "AND s.kind = 2 AND NOT EXISTS (SELECT 1 FROM game.solves v "
           "WHERE v.user_id = s.user_id AND v.task_slug = s.task_slug) ORDER BY 1",
    .nparams = 1,
};

static const pg_stmt_t stmt_unlocked = {
    .name = "game_progress_unlocked",
    .sql = "SELECT slug, title, description, icon, " GAM_US(
        "unlocked_at") " "
                       "FROM game.achievements WHERE user_id = $1::uuid ORDER BY unlocked_at, slug",
    .nparams = 1,
};

static const pg_stmt_t stmt_calendar = {
    .name = "game_progress_calendar",
    .sql = "WITH today AS (SELECT (" GAM_TS(
        2) " AT TIME ZONE $3)::date AS d) "
           "SELECT g.day::date::text, coalesce(a.count, 0) "
           "FROM today, generate_series(today.d - 364, today.d, interval '1 day') AS g(day) "
           "LEFT JOIN game.active_days a ON a.user_id = $1::uuid AND a.day = g.day::date "
           "ORDER BY g.day",
    .nparams = 3,
};

/* Solved and attempted slugs, and both counted per difficulty against the
 * catalogue's totals (all zero without a catalogue). */
static void fill_counts(rpc_call_t *call, const PGresult *solved, const PGresult *attempted,
                        const gam_snapshot_t *snap,
                        Dojo__Gamification__V1__GetProgressResponse *resp)
{
    int64_t solved_by[4] = {0}, attempted_by[4] = {0}, total_by[4] = {0};
    resp->n_solved = (size_t)PQntuples(solved);
    resp->solved = rpc_alloc(call, (resp->n_solved + 1) * sizeof(char *));
    for (int i = 0; i < PQntuples(solved); i++) {
        resp->solved[i] = rpc_strdup(call, pg_get(solved, i, 0));
        int64_t d = pg_get_int64(solved, i, 1);
        if (d >= 1 && d <= 3)
            solved_by[d]++;
    }
    resp->n_attempted = (size_t)PQntuples(attempted);
    resp->attempted = rpc_alloc(call, (resp->n_attempted + 1) * sizeof(char *));
    for (int i = 0; i < PQntuples(attempted); i++) {
        resp->attempted[i] = rpc_strdup(call, pg_get(attempted, i, 0));
        const gam_task_t *t = snap ? gam_snapshot_task(snap, resp->attempted[i]) : NULL;
        if (t && t->difficulty >= 1 && t->difficulty <= 3)
            attempted_by[t->difficulty]++;
    }
    for (size_t i = 0; snap && i < snap->ntasks; i++)
        if (snap->tasks[i].difficulty >= 1 && snap->tasks[i].difficulty <= 3)
            total_by[snap->tasks[i].difficulty]++;
    resp->n_by_difficulty = 3;
    resp->by_difficulty = rpc_alloc(call, 3 * sizeof *resp->by_difficulty);
    for (int d = 1; d <= 3; d++) {
        Dojo__Gamification__V1__DifficultyCount *dc =
            RPC_NEW(call, Dojo__Gamification__V1__DifficultyCount,
                    DOJO__GAMIFICATION__V1__DIFFICULTY_COUNT__INIT);
        dc->difficulty = d;
        dc->solved = (int32_t)solved_by[d];
        dc->attempted = (int32_t)attempted_by[d];
        dc->total = (int32_t)total_by[d];
        resp->by_difficulty[d - 1] = dc;
    }
}

static void fill_unlocked(rpc_call_t *call, const PGresult *unlocked,
                          Dojo__Gamification__V1__GetProgressResponse *resp)
{
    resp->n_achievements = (size_t)PQntuples(unlocked);
    resp->achievements = rpc_alloc(call, (resp->n_achievements + 1) * sizeof(void *));
    for (int i = 0; i < PQntuples(unlocked); i++) {
        Dojo__Gamification__V1__UnlockedAchievement *a =
            RPC_NEW(call, Dojo__Gamification__V1__UnlockedAchievement,
                    DOJO__GAMIFICATION__V1__UNLOCKED_ACHIEVEMENT__INIT);
        a->slug = rpc_strdup(call, pg_get(unlocked, i, 0));
        a->title = rpc_strdup(call, pg_get(unlocked, i, 1));
        a->description = rpc_strdup(call, pg_get(unlocked, i, 2));
        a->icon = rpc_strdup(call, pg_get(unlocked, i, 3));
        a->unlocked_at = gam_timestamp(call, pg_get_int64(unlocked, i, 4));
        resp->achievements[i] = a;
    }
}

/* How far the learner is towards each achievement not yet unlocked. */
static int fill_achievement_progress(rpc_call_t *call, pg_conn_t *conn, const char *user,
                                     const gam_snapshot_t *snap, const PGresult *unlocked,
                                     Dojo__Gamification__V1__GetProgressResponse *resp, err_t **err)
{
    gam_user_facts_t facts;
    if (gam_user_facts_load(call, conn, user, &facts, err) < 0)
        return -1;
    facts.total_points = resp->total_points;
    facts.streak_current = resp->streak->current_days;
    resp->achievement_progress = rpc_alloc(call, (snap->nachievements + 1) * sizeof(void *));
    for (size_t i = 0; i < snap->nachievements; i++) {
        const gam_achievement_t *a = &snap->achievements[i];
        bool have = false;
        for (int j = 0; j < PQntuples(unlocked) && !have; j++)
            have = !strcmp(pg_get(unlocked, j, 0), a->slug);
        if (have)
            continue;
        Dojo__Gamification__V1__AchievementProgress *ap =
            RPC_NEW(call, Dojo__Gamification__V1__AchievementProgress,
                    DOJO__GAMIFICATION__V1__ACHIEVEMENT_PROGRESS__INIT);
        ap->slug = rpc_strdup(call, a->slug);
        gam_achievement_measure(snap, a, &facts, &ap->current, &ap->target);
        resp->achievement_progress[resp->n_achievement_progress++] = ap;
    }
    return 0;
}

static void fill_calendar(rpc_call_t *call, const PGresult *cal,
                          Dojo__Gamification__V1__GetProgressResponse *resp)
{
    resp->n_calendar = (size_t)PQntuples(cal);
    resp->calendar = rpc_alloc(call, (resp->n_calendar + 1) * sizeof(void *));
    for (int i = 0; i < PQntuples(cal); i++) {
        Dojo__Gamification__V1__CalendarDay *d = RPC_NEW(
            call, Dojo__Gamification__V1__CalendarDay, DOJO__GAMIFICATION__V1__CALENDAR_DAY__INIT);
        d->date = rpc_strdup(call, pg_get(cal, i, 0));
        d->count = (int32_t)pg_get_int64(cal, i, 1);
        resp->calendar[i] = d;
    }
}

/* Everything but the streak and the rank, from the four progress queries;
 * `snap` may be NULL (content away). */
static int fill_progress(rpc_call_t *call, pg_conn_t *conn, const char *user, const char *zone,
                         int64_t now, const gam_snapshot_t *snap,
                         Dojo__Gamification__V1__GetProgressResponse *resp, err_t **err)
{
    cleanup_pgresult PGresult *solved = NULL;
    cleanup_pgresult PGresult *attempted = NULL;
    cleanup_pgresult PGresult *unlocked = NULL;
    cleanup_pgresult PGresult *cal = NULL;
    const char *pu[] = {user};
    const char *pc[] = {user, gam_i64(call, now), zone};
    if (pg_exec(conn, &stmt_solved, pu, &solved, err) < 0 ||
        pg_exec(conn, &stmt_attempted, pu, &attempted, err) < 0 ||
        pg_exec(conn, &stmt_unlocked, pu, &unlocked, err) < 0 ||
        pg_exec(conn, &stmt_calendar, pc, &cal, err) < 0)
        return err_wrap(err, "read progress");
    fill_counts(call, solved, attempted, snap, resp);
    fill_unlocked(call, unlocked, resp);
    if (snap && fill_achievement_progress(call, conn, user, snap, unlocked, resp, err) < 0)
        return -1;
    fill_calendar(call, cal, resp);
    return 0;
}

int gam_rpc_get_progress(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                         err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetProgressRequest *req = (const void *)req_msg;
    identity_t id;
    const char *user = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 ||
        gam_subject(&id, req->user_id, true, true, &user, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    if (gam_conn(g, &conn, err) < 0)
        return -1;
    int64_t now = gam_now_us(g);
    char zone[80];
    gam_streak_state_t st;
    Dojo__Gamification__V1__GetProgressResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetProgressResponse,
                DOJO__GAMIFICATION__V1__GET_PROGRESS_RESPONSE__INIT);
    resp->user_id = rpc_strdup(call, user);
    if (gam_user_zone(conn, user, zone, sizeof zone, err) < 0 ||
        gam_read_streak(g, call, conn, user, zone, now, &st, &resp->streak, &resp->total_points,
                        err) < 0)
        return -1;
    resp->time_zone = rpc_strdup(call, zone);

    /* Content may be away: progress still shows what we know. */
    gam_snapshot_t *snap = NULL;
    cleanup_err err_t *snap_err = NULL;
    if (gam_snapshot_get(g, &snap, &snap_err) < 0)
        LOG_WARN("progress without task list", "error=\"%s\"", log_esc(snap_err->msg));
    int rc = fill_progress(call, conn, user, zone, now, snap, resp, err);
    gam_snapshot_release(snap);
    if (rc < 0)
        return -1;
    if (gam_all_time_rank(g, call, conn, user, &resp->all_time_rank, err) < 0)
        return err_wrap(err, "all-time rank");
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Task statistics: solve counts, acceptance, attempts until solved
 * ------------------------------------------------------------------------ */

/* Graded SUBMITs only (kind 2; not pending, VERDICT_UNSPECIFIED 0,
 * VERDICT_IE 8 or VERDICT_CANCELLED 9), in creation order (seq). */
static const pg_stmt_t stmt_task_stats = {
    .name = "game_task_stats",
    .sql =
        "WITH s AS (SELECT task_slug, user_id, seq, verdict = 1 AS ok FROM game.submissions "
        "  WHERE kind = 2 AND finished AND verdict NOT IN (0, 8, 9)), "
        "per_user AS (SELECT task_slug, user_id, count(*) AS n, "
        "  count(*) FILTER (WHERE ok) AS acc, min(seq) FILTER (WHERE ok) AS first_ok "
        "  FROM s GROUP BY task_slug, user_id), "
        "tries AS (SELECT p.task_slug, count(*) AS n FROM per_user p "
        "  JOIN s ON s.task_slug = p.task_slug AND s.user_id = p.user_id AND s.seq <= p.first_ok "
        "  GROUP BY p.task_slug, p.user_id) "
        "SELECT p.task_slug, count(p.first_ok), count(*), sum(p.n), sum(p.acc), "
        "  coalesce((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t.n) FROM tries t "
        "    WHERE t.task_slug = p.task_slug), 0) "
        "FROM per_user p GROUP BY p.task_slug ORDER BY p.task_slug",
    .nparams = 0,
};

int gam_rpc_list_task_stats(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    (void)req_msg;
    gam_t *g = rpc_call_payload(call);
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (gam_conn(g, &conn, err) < 0 || pg_exec(conn, &stmt_task_stats, NULL, &r, err) < 0)
        return err_wrap(err, "task stats");
    Dojo__Gamification__V1__ListTaskStatsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListTaskStatsResponse,
                DOJO__GAMIFICATION__V1__LIST_TASK_STATS_RESPONSE__INIT);
    int n = PQntuples(r);
    resp->n_stats = (size_t)n;
    resp->stats = rpc_alloc(call, (size_t)(n ? n : 1) * sizeof *resp->stats);
    for (int i = 0; i < n; i++) {
        Dojo__Gamification__V1__TaskStats *t = RPC_NEW(call, Dojo__Gamification__V1__TaskStats,
                                                       DOJO__GAMIFICATION__V1__TASK_STATS__INIT);
        t->task_slug = rpc_strdup(call, pg_get(r, i, 0));
        t->solvers = (int32_t)pg_get_int64(r, i, 1);
        t->attempters = (int32_t)pg_get_int64(r, i, 2);
        t->submissions = (int32_t)pg_get_int64(r, i, 3);
        t->accepted = (int32_t)pg_get_int64(r, i, 4);
        t->median_attempts = strtod(pg_get(r, i, 5), NULL);
        resp->stats[i] = t;
    }
    *out = &resp->base;
    return 0;
}
