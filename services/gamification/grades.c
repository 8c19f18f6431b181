/* grades.c — the gradebook of a class: its learners × its assignments'
 * tasks, from game.submissions, computed when read (so a changed due date
 * or policy applies to every submission). PostgreSQL sums up each cell's
 * submissions, split at the due date; grading.c applies the late policy.
 *
 * Judge errors and cancelled submissions are no attempts: they are not the
 * learner's doing. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "grading.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

/* $1 class, $2 one assignment or NULL, $3 visible by (micros) or NULL. */
static const pg_stmt_t stmt_columns = {
    .name = "game_grd_columns",
    .sql = "SELECT a.id::text, a.title, t.slug, a.late_policy, a.late_penalty, " GAM_US(
        "a.opens_at") ", " GAM_US("a.due_at") " "
                      "FROM game.assignments a CROSS JOIN LATERAL unnest(a.task_slugs) "
                      "  WITH ORDINALITY AS t(slug, ord) "
                      "WHERE a.class_slug = $1 AND ($2::uuid IS NULL OR a.id = $2::uuid) "
                      "AND ($3::bigint IS NULL OR a.opens_at <= " GAM_TS(
                          3) ") "
                             "ORDER BY a.due_at, a.id, t.ord",
    .nparams = 3,
};

/* $1 class, $2 one learner or NULL. */
static const pg_stmt_t stmt_rows = {
    .name = "game_grd_rows",
    .sql = "SELECT m.user_id::text, coalesce(p.display_name, m.user_id::text), " GAM_US(
        "m.joined_at") ", "
                       "(SELECT " GAM_US("max(x.created_at)") " FROM game.submissions x "
                       "  WHERE x.user_id = m.user_id), coalesce(s.total_points, 0), "
                       "coalesce(p.leaderboard_opt_out, false) "
                       "FROM game.cohort_members m "
                       "LEFT JOIN game.profiles p ON p.user_id = m.user_id "
                       "LEFT JOIN game.stats s ON s.user_id = m.user_id "
                       "WHERE m.cohort_slug = $1 AND ($2::uuid IS NULL OR m.user_id = $2::uuid) "
                       "ORDER BY coalesce(p.display_name, m.user_id::text), m.user_id",
    .nparams = 2,
};

/* Per learner, assignment and task: attempts, the latest verdict, the best
 * score fraction (and when it was first reached) on time and late, whether
 * an accepted one is among them, the first accepted result, the first
 * submission, the first opening. $1 class, $2 assignment or NULL, $3
 * learner or NULL. */
#define FRAC "CASE WHEN s.max_score > 0 THEN s.score::float8 / s.max_score ELSE 0 END"
static const pg_stmt_t stmt_cells = {
    .name = "game_grd_cells",
    .sql = "SELECT x.user_id::text, x.aid::text, x.slug, count(x.sid), "
           "coalesce((array_agg(x.verdict ORDER BY x.created_at DESC, x.seq DESC) "
           "  FILTER (WHERE x.sid IS NOT NULL))[1], 0), "
           "coalesce(max(x.frac) FILTER (WHERE x.created_at <= x.due_at), -1), "
           "coalesce((array_agg(" GAM_US("x.created_at") " ORDER BY x.frac DESC, x.created_at) "
           "  FILTER (WHERE x.created_at <= x.due_at))[1], 0), "
           "coalesce(max(x.frac) FILTER (WHERE x.created_at > x.due_at), -1), "
           "coalesce((array_agg(" GAM_US("x.created_at") " ORDER BY x.frac DESC, x.created_at) "
           "  FILTER (WHERE x.created_at > x.due_at))[1], 0), "
           "coalesce(bool_or(x.verdict = 1 AND x.created_at <= x.due_at), false), "
           "coalesce(bool_or(x.verdict = 1 AND x.created_at > x.due_at), false), "
           GAM_US("min(x.finished_at) FILTER (WHERE x.verdict = 1)") ", "
           GAM_US("min(x.created_at)") ", " GAM_US("o.first_opened_at") " "
           "FROM (SELECT m.user_id, a.id AS aid, t.slug, a.due_at, s.id AS sid, s.created_at, "
           "  s.seq, s.verdict, s.finished_at, " FRAC " AS frac "
           "  FROM game.assignments a CROSS JOIN LATERAL unnest(a.task_slugs) AS t(slug) "
           "  JOIN game.cohort_members m ON m.cohort_slug = a.class_slug "
           "    AND ($3::uuid IS NULL OR m.user_id = $3::uuid) "
           "  LEFT JOIN game.submissions s ON s.user_id = m.user_id AND s.task_slug = t.slug "
           "    AND s.kind = 2 AND s.finished AND s.verdict NOT IN (8, 9) "
           "  WHERE a.class_slug = $1 AND ($2::uuid IS NULL OR a.id = $2::uuid)) x "
           "LEFT JOIN game.task_opens o ON o.user_id = x.user_id AND o.task_slug = x.slug "
           "GROUP BY x.user_id, x.aid, x.slug, o.first_opened_at",
    .nparams = 3,
};

static double get_double(const PGresult *r, int row, int col)
{
    return strtod(pg_get(r, row, col), NULL);
}

typedef struct row_index {
    const char *user_id;
    size_t row;
} row_index_t;

static int cmp_index(const void *a, const void *b)
{
    return strcasecmp(((const row_index_t *)a)->user_id, ((const row_index_t *)b)->user_id);
}

int gam_gradebook_load(rpc_call_t *call, pg_conn_t *conn, const char *slug,
                       const char *assignment_id, const char *user_id, int64_t visible_at_us,
                       gam_gradebook_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    cleanup_pgresult PGresult *cols = NULL;
    cleanup_pgresult PGresult *rows = NULL;
    cleanup_pgresult PGresult *cells = NULL;
    const char *pc[] = {slug, assignment_id,
                        visible_at_us > 0 ? gam_i64(call, visible_at_us) : NULL};
    const char *pr[] = {slug, user_id};
    const char *px[] = {slug, assignment_id, user_id};
    if (pg_exec(conn, &stmt_columns, pc, &cols, err) < 0 ||
        pg_exec(conn, &stmt_rows, pr, &rows, err) < 0 ||
        pg_exec(conn, &stmt_cells, px, &cells, err) < 0)
        return err_wrap(err, "gradebook");

    out->ncolumns = (size_t)PQntuples(cols);
    out->columns = rpc_alloc(call, (out->ncolumns + 1) * sizeof *out->columns);
    for (size_t j = 0; j < out->ncolumns; j++) {
        gam_grade_column_t *c = &out->columns[j];
        c->assignment_id = rpc_strdup(call, pg_get(cols, (int)j, 0));
        c->assignment_title = rpc_strdup(call, pg_get(cols, (int)j, 1));
        c->task_slug = rpc_strdup(call, pg_get(cols, (int)j, 2));
        c->late_policy = (int)pg_get_int64(cols, (int)j, 3);
        c->late_penalty = (int)pg_get_int64(cols, (int)j, 4);
        c->opens_us = pg_get_int64(cols, (int)j, 5);
        c->due_us = pg_get_int64(cols, (int)j, 6);
    }
    out->nrows = (size_t)PQntuples(rows);
    out->rows = rpc_alloc(call, (out->nrows + 1) * sizeof *out->rows);
    row_index_t *index = rpc_alloc(call, (out->nrows + 1) * sizeof *index);
    for (size_t i = 0; i < out->nrows; i++) {
        Dojo__Gamification__V1__ClassMember *m = RPC_NEW(
            call, Dojo__Gamification__V1__ClassMember, DOJO__GAMIFICATION__V1__CLASS_MEMBER__INIT);
        m->user_id = rpc_strdup(call, pg_get(rows, (int)i, 0));
        m->display_name = rpc_strdup(call, pg_get(rows, (int)i, 1));
        m->joined_at = gam_timestamp(call, pg_get_int64(rows, (int)i, 2));
        m->last_active_at = gam_timestamp(call, pg_get_int64(rows, (int)i, 3));
        m->total_points = pg_get_int64(rows, (int)i, 4);
        out->rows[i].member = m;
        out->rows[i].opted_out = pg_get_bool(rows, (int)i, 5);
        index[i] = (row_index_t){m->user_id, i};
    }
    qsort(index, out->nrows, sizeof *index, cmp_index);

    size_t ncells = out->nrows * out->ncolumns;
    out->cells = rpc_alloc(call, (ncells + 1) * sizeof *out->cells);
    out->cell_at_us = rpc_alloc(call, (ncells + 1) * sizeof *out->cell_at_us);
    for (size_t k = 0; k < ncells; k++) {
        Dojo__Gamification__V1__ProgressCell *c = RPC_NEW(
            call, Dojo__Gamification__V1__ProgressCell, DOJO__GAMIFICATION__V1__PROGRESS_CELL__INIT);
        c->seconds_to_solve = -1;
        out->cells[k] = c;
    }
    for (int k = 0; k < PQntuples(cells); k++) {
        row_index_t key = {pg_get(cells, k, 0), 0};
        row_index_t *hit = bsearch(&key, index, out->nrows, sizeof *index, cmp_index);
        size_t col = out->ncolumns;
        for (size_t j = 0; j < out->ncolumns && hit; j++)
            if (!strcasecmp(out->columns[j].assignment_id, pg_get(cells, k, 1)) &&
                !strcmp(out->columns[j].task_slug, pg_get(cells, k, 2)))
                col = j;
        if (hit == NULL || col == out->ncolumns)
            continue; /* an assignment not visible, or a member who left meanwhile */
        const gam_grade_column_t *gc = &out->columns[col];
        grading_facts_t f = {
            .best_on_time = get_double(cells, k, 5),
            .best_on_time_at_us = pg_get_int64(cells, k, 6),
            .best_late = get_double(cells, k, 7),
            .best_late_at_us = pg_get_int64(cells, k, 8),
            .accepted_on_time = pg_get_bool(cells, k, 9),
            .accepted_late = pg_get_bool(cells, k, 10),
        };
        grading_result_t g;
        grading_grade(&f, gc->late_policy, gc->late_penalty, &g);
        size_t at = hit->row * out->ncolumns + col;
        Dojo__Gamification__V1__ProgressCell *c = out->cells[at];
        c->attempts = (int32_t)pg_get_int64(cells, k, 3);
        c->last_verdict = (int)pg_get_int64(cells, k, 4);
        c->solved = g.solved;
        c->grade_percent = g.percent;
        c->late = g.late;
        int64_t opened = pg_get_int64(cells, k, 13);
        c->opened = opened > 0;
        c->seconds_to_solve = grading_seconds_to_solve(opened, pg_get_int64(cells, k, 12),
                                                       pg_get_int64(cells, k, 11));
        out->cell_at_us[at] = g.at_us;
    }
    for (size_t i = 0; i < out->nrows; i++) {
        double sum = 0;
        for (size_t j = 0; j < out->ncolumns; j++) {
            const Dojo__Gamification__V1__ProgressCell *c = out->cells[i * out->ncolumns + j];
            sum += c->grade_percent;
            out->rows[i].solved += c->solved;
        }
        out->rows[i].grade_percent = out->ncolumns ? sum / (double)out->ncolumns : 0;
    }
    return 0;
}
