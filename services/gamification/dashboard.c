/* dashboard.c — what a teacher sees of a class, and an author of their own
 * tasks: the class boards (all-time: the cohort board; per assignment: the
 * grades), the student × task matrix, where learners fail on a task, the
 * grades as CSV, and the first opening of a task (where "time to solve"
 * starts). A teacher sees the learners of their own classes and nobody
 * else; classmates see each other only on the board, by display name. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "grading.h"
#include "libcommon/cleanup.h"
#include "libcommon/csv.h"
#include "libcommon/log.h"
#include "libcommon/page.h"

#define ANALYTICS_SAMPLE 2000
#define ANALYTICS_MAX_TASKS 50
#define WRONG_OUTPUTS_SHOWN 10

static const pg_stmt_t stmt_teaches_class = {
    .name = "game_dash_teaches_class",
    .sql = "SELECT 1 FROM game.class_teachers WHERE class_slug = $1 AND user_id = $2::uuid",
    .nparams = 2,
};

static const pg_stmt_t stmt_teaches = {
    .name = "game_dash_teaches",
    .sql = "SELECT EXISTS (SELECT 1 FROM game.class_teachers t "
           "JOIN game.cohort_members m ON m.cohort_slug = t.class_slug AND m.user_id = $2::uuid "
           "WHERE t.user_id = $1::uuid AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM "
           "game.assignments a WHERE a.class_slug = t.class_slug AND $3 = ANY (a.task_slugs))))",
    .nparams = 3,
};

static const pg_stmt_t stmt_task_open = {
    .name = "game_dash_task_open",
    .sql = "WITH ins AS (INSERT INTO game.task_opens (user_id, task_slug, first_opened_at) "
           "  VALUES ($1::uuid, $2, " GAM_TS(3) ") ON CONFLICT DO NOTHING RETURNING first_opened_at) "
           "SELECT " GAM_US("first_opened_at") " FROM ins UNION ALL "
           "SELECT " GAM_US("first_opened_at") " FROM game.task_opens "
           "WHERE user_id = $1::uuid AND task_slug = $2 LIMIT 1",
    .nparams = 3,
};

/* Submissions of a task by the learners in scope: $2 a class, or NULL for
 * everybody. */
#define SCOPE                                                                                      \
    " FROM game.submissions s WHERE s.task_slug = $1 AND s.kind = 2 AND s.finished "              \
    "AND s.verdict NOT IN (8, 9) AND ($2::text IS NULL OR s.user_id IN "                           \
    "(SELECT user_id FROM game.cohort_members WHERE cohort_slug = $2))"

static const pg_stmt_t stmt_verdicts = {
    .name = "game_dash_verdicts",
    .sql = "SELECT s.verdict, count(*)" SCOPE " GROUP BY s.verdict ORDER BY count(*) DESC, s.verdict",
    .nparams = 2,
};

static const pg_stmt_t stmt_learners = {
    .name = "game_dash_learners",
    .sql = "WITH s AS (SELECT s.user_id, s.created_at, s.verdict, s.finished_at" SCOPE "), "
           "f AS (SELECT user_id, min(created_at) FILTER (WHERE verdict = 1) AS ac_at, "
           "  min(finished_at) FILTER (WHERE verdict = 1) AS ac_fin, min(created_at) AS first "
           "  FROM s GROUP BY user_id) "
           "SELECT (SELECT count(*) FROM s x WHERE x.user_id = f.user_id "
           "  AND (f.ac_at IS NULL OR x.created_at <= f.ac_at)), f.ac_at IS NOT NULL, " GAM_US(
               "f.ac_fin") ", " GAM_US("f.first") ", " GAM_US(
               "o.first_opened_at") " FROM f LEFT JOIN game.task_opens o "
                                    "ON o.user_id = f.user_id AND o.task_slug = $1",
    .nparams = 2,
};

static const pg_stmt_t stmt_results = {
    .name = "game_dash_results",
    .sql = "SELECT s.user_id::text, coalesce(encode(s.result_pb, 'hex'), '')" SCOPE
           " ORDER BY s.created_at DESC, s.seq DESC LIMIT $3::int",
    .nparams = 3,
};

/* ------------------------------------------------------------------------
 * Who teaches whom
 * ------------------------------------------------------------------------ */

int gam_teaches_class(pg_conn_t *conn, const char *slug, const char *user_id, bool *out,
                      err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug, user_id};
    if (pg_exec(conn, &stmt_teaches_class, p, &r, err) < 0)
        return err_wrap(err, "teaches class");
    *out = PQntuples(r) == 1;
    return 0;
}

int gam_teaches(pg_conn_t *conn, const char *teacher, const char *learner, const char *task_slug,
                bool *out, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {teacher, learner, task_slug};
    if (pg_exec(conn, &stmt_teaches, p, &r, err) < 0)
        return err_wrap(err, "teaches");
    *out = pg_get_bool(r, 0, 0);
    return 0;
}

/* ------------------------------------------------------------------------
 * Class boards
 * ------------------------------------------------------------------------ */

static Dojo__Gamification__V1__ClassBoardEntry *entry_new(rpc_call_t *call)
{
    return RPC_NEW(call, Dojo__Gamification__V1__ClassBoardEntry,
                   DOJO__GAMIFICATION__V1__CLASS_BOARD_ENTRY__INIT);
}

/* Classmates appear by display name only; teachers see ids. */
static void entry_identify(Dojo__Gamification__V1__ClassBoardEntry *e, const char *user_id,
                           const gam_class_t *cls, const char *me)
{
    e->you = me && !strcasecmp(user_id, me);
    e->user_id = cls->role == GAM_CLASS_TEACHER || e->you ? (char *)user_id : "";
}

static int board_all_time(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const gam_class_t *cls,
                          const char *me, int64_t offset, int size,
                          Dojo__Gamification__V1__GetClassBoardResponse *resp, err_t **err)
{
    Dojo__Gamification__V1__GetLeaderboardResponse *lb = NULL;
    const char *own = cls->role == GAM_CLASS_MEMBER ? me : NULL;
    if (gam_board_page(g, call, conn, DOJO__GAMIFICATION__V1__BOARD__BOARD_COHORT, cls->slug,
                       offset, size, own, &lb, err) < 0)
        return -1;
    resp->entries = rpc_alloc(call, (lb->n_entries + 1) * sizeof(void *));
    for (size_t i = 0; i < lb->n_entries; i++) {
        const Dojo__Gamification__V1__LeaderboardEntry *le = lb->entries[i];
        Dojo__Gamification__V1__ClassBoardEntry *e = entry_new(call);
        e->rank = le->rank;
        e->display_name = le->display_name;
        e->points = (double)le->points;
        e->reached_at = le->reached_at;
        entry_identify(e, le->user_id, cls, me);
        resp->entries[resp->n_entries++] = e;
    }
    if (lb->own) {
        resp->own = entry_new(call);
        resp->own->rank = lb->own->rank;
        resp->own->display_name = lb->own->display_name;
        resp->own->points = (double)lb->own->points;
        resp->own->reached_at = lb->own->reached_at;
        entry_identify(resp->own, lb->own->user_id, cls, me);
    }
    resp->own_opted_out = lb->own_opted_out;
    resp->page = lb->page;
    return 0;
}

typedef struct ranked {
    size_t row;
    double points;
    int64_t at_us;
} ranked_t;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->points != y->points)
        return x->points > y->points ? -1 : 1;
    if (x->at_us != y->at_us)
        return x->at_us < y->at_us ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int board_assignment(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const gam_class_t *cls,
                            const char *me, const char *assignment_id, int64_t offset, int size,
                            Dojo__Gamification__V1__GetClassBoardResponse *resp, err_t **err)
{
    if (!gam_is_uuid(assignment_id))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    gam_gradebook_t gb;
    int64_t visible = cls->role == GAM_CLASS_TEACHER ? 0 : gam_now_us(g);
    if (gam_gradebook_load(call, conn, cls->slug, assignment_id, NULL, visible, &gb, err) < 0)
        return -1;
    if (gb.ncolumns == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    ranked_t *r = rpc_alloc(call, (gb.nrows + 1) * sizeof *r);
    size_t n = 0;
    ssize_t mine = -1;
    for (size_t i = 0; i < gb.nrows; i++) {
        ranked_t x = {.row = i};
        for (size_t j = 0; j < gb.ncolumns; j++) {
            x.points += gb.cells[i * gb.ncolumns + j]->grade_percent;
            int64_t at = gb.cell_at_us[i * gb.ncolumns + j];
            if (at > x.at_us)
                x.at_us = at;
        }
        bool is_me = me && !strcasecmp(gb.rows[i].member->user_id, me);
        if (is_me)
            resp->own_opted_out = gb.rows[i].opted_out;
        if (gb.rows[i].opted_out || x.points <= 0) {
            if (is_me && cls->role == GAM_CLASS_MEMBER) {
                resp->own = entry_new(call);
                resp->own->display_name = gb.rows[i].member->display_name;
                entry_identify(resp->own, gb.rows[i].member->user_id, cls, me);
            }
            continue;
        }
        if (is_me)
            mine = (ssize_t)i;
        r[n++] = x;
    }
    qsort(r, n, sizeof *r, cmp_ranked);
    resp->entries = rpc_alloc(call, ((size_t)size + 1) * sizeof(void *));
    for (size_t k = 0; k < n; k++) {
        const gam_grade_row_t *row = &gb.rows[r[k].row];
        Dojo__Gamification__V1__ClassBoardEntry *e = entry_new(call);
        e->rank = (int64_t)k + 1;
        e->display_name = row->member->display_name;
        e->points = r[k].points;
        e->reached_at = gam_timestamp(call, r[k].at_us);
        entry_identify(e, row->member->user_id, cls, me);
        if ((ssize_t)r[k].row == mine && cls->role == GAM_CLASS_MEMBER)
            resp->own = e;
        if ((int64_t)k >= offset && (int64_t)k < offset + size)
            resp->entries[resp->n_entries++] = e;
    }
    resp->page = page_info(call, offset, size, offset + size < (int64_t)n, (int64_t)n);
    resp->max_points = 100.0 * (double)gb.ncolumns;
    return 0;
}

int gam_rpc_get_class_board(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetClassBoardRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    int64_t offset;
    int size;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 ||
        page_read(req->page, 50, 100, &offset, &size, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, false, false, &cls, err) < 0)
        return -1;
    const char *me = id.kind == IDENTITY_USER ? id.claims.sub : NULL;
    Dojo__Gamification__V1__GetClassBoardResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetClassBoardResponse,
                DOJO__GAMIFICATION__V1__GET_CLASS_BOARD_RESPONSE__INIT);
    int rc = req->assignment_id[0]
                 ? board_assignment(g, call, conn, &cls, me, req->assignment_id, offset, size,
                                    resp, err)
                 : board_all_time(g, call, conn, &cls, me, offset, size, resp, err);
    if (rc < 0)
        return err_wrap(err, "class board");
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * The student x task matrix
 * ------------------------------------------------------------------------ */

/* The gradebook with usernames and emails, for teachers. */
static int teacher_gradebook(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const gam_class_t *cls,
                             const char *assignment_id, gam_gradebook_t *gb, err_t **err)
{
    if (assignment_id && !gam_is_uuid(assignment_id))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    if (gam_gradebook_load(call, conn, cls->slug, assignment_id, NULL, 0, gb, err) < 0)
        return -1;
    if (assignment_id && gb->ncolumns == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    if (gb->nrows == 0)
        return 0;
    Dojo__Gamification__V1__ClassMember **members =
        rpc_alloc(call, gb->nrows * sizeof *members);
    for (size_t i = 0; i < gb->nrows; i++)
        members[i] = gb->rows[i].member;
    return gam_members_from_auth(g, call, members, gb->nrows, err);
}

int gam_rpc_get_class_progress(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetClassProgressRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (req->inactive_days < 0 || req->inactive_days > 365)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "inactive_days: must be 0 to 365");
    int days = req->inactive_days ? req->inactive_days : 7;
    gam_gradebook_t gb;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, true, false, &cls, err) < 0 ||
        teacher_gradebook(g, call, conn, &cls, req->assignment_id[0] ? req->assignment_id : NULL,
                          &gb, err) < 0)
        return err_wrap(err, "class progress");
    gam_snapshot_t *snap = NULL;
    cleanup_err err_t *stale = NULL;
    if (gam_snapshot_get(g, &snap, &stale) < 0)
        LOG_WARN("task titles unavailable", "error=\"%s\"", log_esc(stale->msg));
    int64_t now = gam_now_us(g);
    Dojo__Gamification__V1__GetClassProgressResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetClassProgressResponse,
                DOJO__GAMIFICATION__V1__GET_CLASS_PROGRESS_RESPONSE__INIT);
    resp->columns = rpc_alloc(call, (gb.ncolumns + 1) * sizeof(void *));
    for (size_t j = 0; j < gb.ncolumns; j++) {
        Dojo__Gamification__V1__ProgressColumn *c =
            RPC_NEW(call, Dojo__Gamification__V1__ProgressColumn,
                    DOJO__GAMIFICATION__V1__PROGRESS_COLUMN__INIT);
        c->assignment_id = gb.columns[j].assignment_id;
        c->assignment_title = gb.columns[j].assignment_title;
        c->task_slug = gb.columns[j].task_slug;
        c->task_title = rpc_strdup(call, gam_task_title(snap, c->task_slug));
        resp->columns[resp->n_columns++] = c;
    }
    gam_snapshot_release(snap);
    resp->rows = rpc_alloc(call, (gb.nrows + 1) * sizeof(void *));
    for (size_t i = 0; i < gb.nrows; i++) {
        Dojo__Gamification__V1__ProgressRow *r = RPC_NEW(
            call, Dojo__Gamification__V1__ProgressRow, DOJO__GAMIFICATION__V1__PROGRESS_ROW__INIT);
        r->member = gb.rows[i].member;
        r->grade_percent = gb.rows[i].grade_percent;
        r->solved = gb.rows[i].solved;
        const Dojo__Common__V1__Timestamp *last = r->member->last_active_at;
        r->inactive = last == NULL || last->unix_micros < now - (int64_t)days * 86400 * 1000000;
        resp->rows[resp->n_rows++] = r;
    }
    resp->cells = gb.cells;
    resp->n_cells = gb.nrows * gb.ncolumns;
    resp->inactive_days = days;
    resp->as_of = gam_timestamp(call, now);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Grades as CSV
 * ------------------------------------------------------------------------ */

static char *percent_text(rpc_call_t *call, double v)
{
    char *s = rpc_sprintf(call, "%.1f", v);
    size_t n = strlen(s);
    if (n > 2 && !strcmp(s + n - 2, ".0"))
        s[n - 2] = '\0';
    return s;
}

/* "<class>-<title>.csv" with only [a-z0-9-]. */
static char *file_name(rpc_call_t *call, const char *slug, const char *title)
{
    char *out = rpc_alloc(call, strlen(slug) + 64);
    size_t n = (size_t)sprintf(out, "%s-", slug);
    bool dash = true;
    for (const unsigned char *p = (const unsigned char *)title; *p && n < strlen(slug) + 50; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) {
            out[n++] = (char)*p;
            dash = false;
        } else if (*p >= 'A' && *p <= 'Z') {
            out[n++] = (char)(*p - 'A' + 'a');
            dash = false;
        } else if (!dash) {
            out[n++] = '-';
            dash = true;
        }
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    strcpy(out + n, ".csv");
    return out;
}

int gam_rpc_export_grades(rpc_call_t *call, const ProtobufCMessage *req_msg,
                          ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ExportGradesRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_gradebook_t gb;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, true, false, &cls, err) < 0 ||
        teacher_gradebook(g, call, conn, &cls, req->assignment_id, &gb, err) < 0)
        return err_wrap(err, "export grades");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        abort();
    const char *fixed[] = {"username", "display_name", "email"};
    for (int k = 0; k < 3; k++)
        csv_write_field(f, fixed[k], k == 0);
    for (size_t j = 0; j < gb.ncolumns; j++)
        csv_write_field(f, gb.columns[j].task_slug, false);
    csv_write_field(f, "grade", false);
    csv_write_field(f, "solved", false);
    csv_write_field(f, "late", false);
    csv_end_record(f);
    for (size_t i = 0; i < gb.nrows; i++) {
        const gam_grade_row_t *row = &gb.rows[i];
        csv_write_field(f, row->member->username, true);
        csv_write_field(f, row->member->display_name, false);
        csv_write_field(f, row->member->email, false);
        int late = 0;
        for (size_t j = 0; j < gb.ncolumns; j++) {
            const Dojo__Gamification__V1__ProgressCell *c = gb.cells[i * gb.ncolumns + j];
            csv_write_field(f, percent_text(call, c->grade_percent), false);
            late += c->late;
        }
        csv_write_field(f, percent_text(call, row->grade_percent), false);
        csv_write_field(f, gam_i64(call, row->solved), false);
        csv_write_field(f, gam_i64(call, late), false);
        csv_end_record(f);
    }
    fclose(f);
    Dojo__Gamification__V1__ExportGradesResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ExportGradesResponse,
                DOJO__GAMIFICATION__V1__EXPORT_GRADES_RESPONSE__INIT);
    resp->csv = rpc_strdup(call, text);
    free(text);
    resp->file_name = file_name(call, cls.slug, gb.columns[0].assignment_title);
    LOG_INFO("grades exported", "class=%s assignment=%s learners=%zu", cls.slug,
             req->assignment_id, gb.nrows);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Where learners fail on a task
 * ------------------------------------------------------------------------ */

typedef struct wrong {
    int test;
    char *name, *excerpt;
    int submissions;
    char **learners; /* distinct user ids (arena) */
    int nlearners, caplearners;
    struct wrong *next;
} wrong_t;

#define WRONG_BUCKETS 1024

static unsigned wrong_hash(int test, const char *excerpt)
{
    unsigned h = 2166136261u ^ (unsigned)test;
    for (const unsigned char *p = (const unsigned char *)excerpt; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % WRONG_BUCKETS;
}

static void wrong_count(rpc_call_t *call, wrong_t **buckets, int test, const char *name,
                        const char *excerpt, const char *user)
{
    unsigned h = wrong_hash(test, excerpt);
    wrong_t *w = buckets[h];
    while (w && (w->test != test || strcmp(w->excerpt, excerpt) != 0))
        w = w->next;
    if (w == NULL) {
        w = rpc_alloc(call, sizeof *w);
        w->test = test;
        w->name = rpc_strdup(call, name);
        w->excerpt = rpc_strdup(call, excerpt);
        w->next = buckets[h];
        buckets[h] = w;
    }
    w->submissions++;
    for (int i = 0; i < w->nlearners; i++)
        if (!strcmp(w->learners[i], user))
            return;
    if (w->nlearners == w->caplearners) {
        int cap = w->caplearners ? w->caplearners * 2 : 4;
        char **grown = rpc_alloc(call, (size_t)cap * sizeof *grown);
        if (w->nlearners)
            memcpy(grown, w->learners, (size_t)w->nlearners * sizeof *grown);
        w->learners = grown;
        w->caplearners = cap;
    }
    w->learners[w->nlearners++] = rpc_strdup(call, user);
}

static int cmp_wrong(const void *a, const void *b)
{
    const wrong_t *x = *(wrong_t *const *)a, *y = *(wrong_t *const *)b;
    if (x->submissions != y->submissions)
        return y->submissions - x->submissions;
    return x->test - y->test;
}

static int cmp_failure(const void *a, const void *b)
{
    const Dojo__Gamification__V1__TestFailure *x = *(Dojo__Gamification__V1__TestFailure *const *)a,
                                              *y = *(Dojo__Gamification__V1__TestFailure *const *)b;
    if (x->failed != y->failed)
        return y->failed - x->failed;
    return x->index - y->index;
}

/* Tests and wrong outputs from the latest submissions' per-test results. */
static int tests_of(rpc_call_t *call, pg_conn_t *conn, const char *slug, const char *scope,
                    Dojo__Gamification__V1__TaskAnalytics *t, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug, scope, gam_i64(call, ANALYTICS_SAMPLE)};
    if (pg_exec(conn, &stmt_results, p, &r, err) < 0)
        return err_wrap(err, "task results");
    t->sampled = PQntuples(r);
    Dojo__Gamification__V1__TestFailure **tests = NULL;
    size_t ntests = 0;
    wrong_t **buckets = rpc_alloc(call, WRONG_BUCKETS * sizeof *buckets);
    size_t nwrong = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const Dojo__Gamification__V1__RecordResultRequest *res = (const void *)gam_unpack_hex(
            call, &dojo__gamification__v1__record_result_request__descriptor, pg_get(r, i, 1));
        if (res == NULL)
            continue;
        for (size_t k = 0; k < res->n_tests; k++) {
            const Dojo__Gamification__V1__TestResult *tr = res->tests[k];
            if (tr->index < 0 || tr->index >= 1000)
                continue;
            /* Not run (an earlier test failed): neither passed nor failed. */
            if (tr->verdict == DOJO__COMMON__V1__VERDICT__VERDICT_NOT_RUN)
                continue;
            if ((size_t)tr->index >= ntests) {
                size_t grown_n = (size_t)tr->index + 1;
                Dojo__Gamification__V1__TestFailure **grown =
                    rpc_alloc(call, (grown_n + 1) * sizeof *grown);
                if (ntests)
                    memcpy(grown, tests, ntests * sizeof *grown);
                tests = grown;
                ntests = grown_n;
            }
            Dojo__Gamification__V1__TestFailure *f = tests[tr->index];
            if (f == NULL) {
                f = RPC_NEW(call, Dojo__Gamification__V1__TestFailure,
                            DOJO__GAMIFICATION__V1__TEST_FAILURE__INIT);
                f->index = tr->index;
                f->name = tr->name;
                f->hidden = tr->hidden;
                tests[tr->index] = f;
            }
            f->ran++;
            if (tr->verdict != DOJO__COMMON__V1__VERDICT__VERDICT_AC)
                f->failed++;
            /* Hidden tests' output is never stored; visible wrong answers are. */
            if (!tr->hidden && tr->verdict == DOJO__COMMON__V1__VERDICT__VERDICT_WA &&
                tr->output_excerpt[0])
                wrong_count(call, buckets, tr->index, tr->name, tr->output_excerpt,
                            pg_get(r, i, 0));
        }
    }
    t->tests = rpc_alloc(call, (ntests + 1) * sizeof(void *));
    for (size_t k = 0; k < ntests; k++)
        if (tests[k])
            t->tests[t->n_tests++] = tests[k];
    qsort(t->tests, t->n_tests, sizeof *t->tests, cmp_failure);
    for (size_t b = 0; b < WRONG_BUCKETS; b++)
        for (wrong_t *w = buckets[b]; w; w = w->next)
            nwrong++;
    wrong_t **all = rpc_alloc(call, (nwrong + 1) * sizeof *all);
    size_t n = 0;
    for (size_t b = 0; b < WRONG_BUCKETS; b++)
        for (wrong_t *w = buckets[b]; w; w = w->next)
            all[n++] = w;
    qsort(all, n, sizeof *all, cmp_wrong);
    size_t shown = n < WRONG_OUTPUTS_SHOWN ? n : WRONG_OUTPUTS_SHOWN;
    t->wrong_outputs = rpc_alloc(call, (shown + 1) * sizeof(void *));
    for (size_t k = 0; k < shown; k++) {
        Dojo__Gamification__V1__WrongOutput *w = RPC_NEW(
            call, Dojo__Gamification__V1__WrongOutput, DOJO__GAMIFICATION__V1__WRONG_OUTPUT__INIT);
        w->test_name = all[k]->name;
        w->output_excerpt = all[k]->excerpt;
        w->submissions = all[k]->submissions;
        w->learners = all[k]->nlearners;
        t->wrong_outputs[t->n_wrong_outputs++] = w;
    }
    return 0;
}

static int analyse(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const gam_snapshot_t *snap,
                   const char *slug, const char *scope, Dojo__Gamification__V1__TaskAnalytics **out,
                   err_t **err)
{
    (void)g;
    Dojo__Gamification__V1__TaskAnalytics *t = RPC_NEW(
        call, Dojo__Gamification__V1__TaskAnalytics, DOJO__GAMIFICATION__V1__TASK_ANALYTICS__INIT);
    t->task_slug = rpc_strdup(call, slug);
    t->title = rpc_strdup(call, gam_task_title(snap, slug));
    cleanup_pgresult PGresult *v = NULL;
    cleanup_pgresult PGresult *l = NULL;
    const char *p[] = {slug, scope};
    if (pg_exec(conn, &stmt_verdicts, p, &v, err) < 0 ||
        pg_exec(conn, &stmt_learners, p, &l, err) < 0)
        return err_wrap(err, "task analytics");
    for (int i = 0; i < PQntuples(v); i++)
        t->submissions += (int32_t)pg_get_int64(v, i, 1);
    t->verdicts = rpc_alloc(call, ((size_t)PQntuples(v) + 1) * sizeof(void *));
    for (int i = 0; i < PQntuples(v); i++) {
        Dojo__Gamification__V1__VerdictShare *s = RPC_NEW(
            call, Dojo__Gamification__V1__VerdictShare, DOJO__GAMIFICATION__V1__VERDICT_SHARE__INIT);
        s->verdict = (int)pg_get_int64(v, i, 0);
        s->submissions = (int32_t)pg_get_int64(v, i, 1);
        s->share = t->submissions ? (double)s->submissions / t->submissions : 0;
        t->verdicts[t->n_verdicts++] = s;
    }
    int n = PQntuples(l);
    t->learners = n;
    double *attempts = rpc_alloc(call, ((size_t)n + 1) * sizeof *attempts);
    double *seconds = rpc_alloc(call, ((size_t)n + 1) * sizeof *seconds);
    size_t nattempts = 0, nseconds = 0;
    int buckets[16] = {0};
    for (int i = 0; i < n; i++) {
        int a = (int)pg_get_int64(l, i, 0);
        bool solved = pg_get_bool(l, i, 1);
        const char *label = grading_retries_label(a, solved);
        for (size_t b = 0; b < grading_retries_nlabels; b++)
            if (!strcmp(grading_retries_labels[b], label))
                buckets[b]++;
        if (!solved)
            continue;
        t->solvers++;
        attempts[nattempts++] = a;
        int64_t s = grading_seconds_to_solve(pg_get_int64(l, i, 4), pg_get_int64(l, i, 3),
                                             pg_get_int64(l, i, 2));
        if (s >= 0)
            seconds[nseconds++] = (double)s;
    }
    t->median_attempts = grading_median(attempts, nattempts);
    t->median_seconds_to_solve = grading_median(seconds, nseconds);
    t->retries = rpc_alloc(call, (grading_retries_nlabels + 1) * sizeof(void *));
    for (size_t b = 0; b < grading_retries_nlabels; b++) {
        Dojo__Gamification__V1__RetriesBucket *rb =
            RPC_NEW(call, Dojo__Gamification__V1__RetriesBucket,
                    DOJO__GAMIFICATION__V1__RETRIES_BUCKET__INIT);
        rb->label = (char *)grading_retries_labels[b];
        rb->learners = buckets[b];
        t->retries[t->n_retries++] = rb;
    }
    if (tests_of(call, conn, slug, scope, t, err) < 0)
        return -1;
    *out = t;
    return 0;
}

int gam_rpc_get_task_analytics(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetTaskAnalyticsRequest *req = (const void *)req_msg;
    identity_t id;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (req->n_task_slugs < 1 || req->n_task_slugs > ANALYTICS_MAX_TASKS)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task_slugs: 1 to %d tasks",
                       ANALYTICS_MAX_TASKS);
    for (size_t i = 0; i < req->n_task_slugs; i++) {
        char field[48];
        snprintf(field, sizeof field, "task_slugs[%zu]", i);
        if (gam_check_slug(field, req->task_slugs[i], true, err) < 0)
            return -1;
    }
    if (gam_conn(g, &conn, err) < 0)
        return -1;
    const char *scope = NULL;
    gam_class_t cls;
    if (req->class_id[0]) {
        if (gam_class_open(conn, &id, req->class_id, true, false, &cls, err) < 0)
            return -1;
        scope = cls.slug;
    }
    gam_snapshot_t *snap = NULL;
    if (gam_snapshot_get_with(g, req->task_slugs, req->n_task_slugs, &snap, err) < 0)
        return err_wrap(err, "task analytics");
    int rc = -1;
    /* Every learner: the task's own author, or admins and services. */
    for (size_t i = 0; scope == NULL && i < req->n_task_slugs; i++) {
        const gam_task_t *t = gam_snapshot_task(snap, req->task_slugs[i]);
        bool owner = t && id.kind == IDENTITY_USER && identity_is_author(&id) &&
                     !strcasecmp(t->owner_id, id.claims.sub);
        if (!owner && !identity_is_admin(&id) && id.kind != IDENTITY_SERVICE) {
            err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                    "task_slugs[%zu]: only the task's author sees how every learner does on it",
                    i);
            goto done;
        }
    }
    Dojo__Gamification__V1__GetTaskAnalyticsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetTaskAnalyticsResponse,
                DOJO__GAMIFICATION__V1__GET_TASK_ANALYTICS_RESPONSE__INIT);
    resp->tasks = rpc_alloc(call, (req->n_task_slugs + 1) * sizeof(void *));
    for (size_t i = 0; i < req->n_task_slugs; i++) {
        Dojo__Gamification__V1__TaskAnalytics *t = NULL;
        if (analyse(g, call, conn, snap, req->task_slugs[i], scope, &t, err) < 0)
            goto done;
        resp->tasks[resp->n_tasks++] = t;
    }
    *out = &resp->base;
    rc = 0;
done:
    gam_snapshot_release(snap);
    return rc;
}

/* ------------------------------------------------------------------------
 * RecordTaskOpen
 * ------------------------------------------------------------------------ */

int gam_rpc_record_task_open(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__RecordTaskOpenRequest *req = (const void *)req_msg;
    identity_t id;
    const char *user = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 ||
        gam_subject(&id, req->user_id, false, false, &user, err) < 0 ||
        gam_check_slug("task_slug", req->task_slug, true, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {user, req->task_slug, gam_i64(call, gam_now_us(g))};
    if (gam_conn(g, &conn, err) < 0 || pg_exec(conn, &stmt_task_open, p, &r, err) < 0)
        return err_wrap(err, "record task open");
    Dojo__Gamification__V1__RecordTaskOpenResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RecordTaskOpenResponse,
                DOJO__GAMIFICATION__V1__RECORD_TASK_OPEN_RESPONSE__INIT);
    resp->first_opened_at = gam_timestamp(call, PQntuples(r) ? pg_get_int64(r, 0, 0) : 0);
    *out = &resp->base;
    return 0;
}
