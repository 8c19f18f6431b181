/* assignments.c — a class's assignments: tasks with an open and a due
 * date, written in the class's zone and kept as instants, and a late
 * policy; and the learner's own view of what is due (ListDue). Grades are
 * computed when read (grades.c). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "grading.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/text.h"

#define ASG_MAX_TASKS 50
#define ASG_MAX_PER_CLASS 500
#define LOCAL_FMT "'YYYY-MM-DD\"T\"HH24:MI:SS'"

#define ASG_COLUMNS                                                                                \
    "a.id::text, a.class_slug, a.title, a.description, array_to_string(a.task_slugs, ','), "     \
    GAM_US("a.opens_at") ", " GAM_US("a.due_at") ", c.time_zone, "                                \
    "to_char(a.opens_at AT TIME ZONE c.time_zone, " LOCAL_FMT "), "                               \
    "to_char(a.due_at AT TIME ZONE c.time_zone, " LOCAL_FMT "), "                                 \
    "a.late_policy, a.late_penalty, a.remind_hours, " GAM_US("a.created_at") ", " GAM_US(         \
        "a.updated_at")
#define ASG_FROM " FROM game.assignments a JOIN game.classes c ON c.slug = a.class_slug "

static const pg_stmt_t stmt_time_local = {
    .name = "game_asg_time_local",
    .sql = "SELECT " GAM_US("t") ", to_char(t AT TIME ZONE $2, " LOCAL_FMT ") "
           "FROM (SELECT $1::timestamp AT TIME ZONE $2 AS t) x",
    .nparams = 2,
};

static const pg_stmt_t stmt_time_abs = {
    .name = "game_asg_time_abs",
    .sql = "SELECT " GAM_US("$1::timestamptz"),
    .nparams = 1,
};

static const pg_stmt_t stmt_asg_get = {
    .name = "game_asg_get",
    .sql = "SELECT " ASG_COLUMNS ASG_FROM "WHERE a.class_slug = $1 AND a.id = $2::uuid",
    .nparams = 2,
};

/* $2: NULL for every assignment, else only those open by then. */
static const pg_stmt_t stmt_asg_list = {
    .name = "game_asg_list",
    .sql = "SELECT " ASG_COLUMNS ASG_FROM "WHERE a.class_slug = $1 "
           "AND ($2::bigint IS NULL OR a.opens_at <= " GAM_TS(2) ") ORDER BY a.due_at, a.id",
    .nparams = 2,
};

static const pg_stmt_t stmt_asg_count = {
    .name = "game_asg_count",
    .sql = "SELECT count(*) FROM game.assignments WHERE class_slug = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_asg_insert = {
    .name = "game_asg_insert",
    .sql = "INSERT INTO game.assignments (class_slug, title, description, task_slugs, opens_at, "
           "due_at, late_policy, late_penalty, remind_hours, created_by, created_at, updated_at) "
           "VALUES ($1, $2, $3, string_to_array($4, ','), " GAM_TS(5) ", " GAM_TS(6) ", "
           "$7::smallint, $8::int, $9::int, $10::uuid, " GAM_TS(11) ", " GAM_TS(11) ") "
           "RETURNING id::text",
    .nparams = 11,
};

static const pg_stmt_t stmt_asg_update = {
    .name = "game_asg_update",
    .sql = "UPDATE game.assignments SET title = $3, description = $4, "
           "task_slugs = string_to_array($5, ','), opens_at = " GAM_TS(6) ", due_at = " GAM_TS(
               7) ", "
                  "late_policy = $8::smallint, late_penalty = $9::int, remind_hours = $10::int, "
                  "updated_at = " GAM_TS(11) " WHERE class_slug = $1 AND id = $2::uuid "
                                             "RETURNING id::text",
    .nparams = 11,
};

static const pg_stmt_t stmt_asg_delete = {
    .name = "game_asg_delete",
    .sql = "DELETE FROM game.assignments WHERE class_slug = $1 AND id = $2::uuid RETURNING 1",
    .nparams = 2,
};

/* Every assignment open for a learner in their classes that are not
 * archived, with the class's title. */
static const pg_stmt_t stmt_asg_due = {
    .name = "game_asg_due",
    .sql = "SELECT " ASG_COLUMNS ", h.title" ASG_FROM "JOIN game.cohorts h ON h.slug = c.slug "
           "JOIN game.cohort_members m ON m.cohort_slug = c.slug AND m.user_id = $1::uuid "
           "WHERE c.archived_at IS NULL AND a.opens_at <= " GAM_TS(2) " "
                                                                       "ORDER BY a.due_at, a.id",
    .nparams = 2,
};

/* ------------------------------------------------------------------------
 * Times in the class's zone
 * ------------------------------------------------------------------------ */

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

int gam_parse_class_time(pg_conn_t *conn, const char *field, const char *text, const char *zone,
                         int64_t *out, err_t **err)
{
    /* YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM] */
    const char *s = text;
    size_t n = strlen(s);
    bool ok = n >= 16 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
              digits(s + 8, 2) && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') &&
              digits(s + 11, 2) && s[13] == ':' && digits(s + 14, 2);
    const char *p = s + 16;
    int sec = 0;
    if (ok && *p == ':') {
        ok = digits(p + 1, 2);
        sec = ok ? atoi(p + 1) : 0;
        p += 3;
        if (ok && *p == '.') {
            for (p++; isdigit((unsigned char)*p); p++)
                ;
        }
    }
    bool absolute = false;
    if (ok && (*p == 'Z' || *p == 'z')) {
        absolute = true;
        ok = p[1] == '\0';
    } else if (ok && (*p == '+' || *p == '-')) {
        absolute = true;
        ok = digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2) && p[6] == '\0';
    } else if (ok) {
        ok = *p == '\0';
    }
    int y = 0, mo = 0, d = 0, h = 0, mi = 0;
    if (ok)
        sscanf(s, "%4d-%2d-%2d%*c%2d:%2d", &y, &mo, &d, &h, &mi);
    if (!ok || y < 2000 || y > 2200 || mo < 1 || mo > 12 || d < 1 ||
        d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s: must be a local time like 2026-03-10T23:59 (in the class's zone, %s) "
                       "or RFC 3339 with an offset",
                       field, zone);
    cleanup_pgresult PGresult *r = NULL;
    if (absolute) {
        const char *pa[] = {text};
        if (pg_exec(conn, &stmt_time_abs, pa, &r, err) < 0)
            return err_wrap(err, "%s", field);
        *out = pg_get_int64(r, 0, 0);
        return 0;
    }
    char local[64];
    snprintf(local, sizeof local, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, sec);
    const char *pl[] = {local, zone};
    if (pg_exec(conn, &stmt_time_local, pl, &r, err) < 0)
        return err_wrap(err, "%s", field);
    /* A time the clocks skip reads back as another one. */
    if (strcmp(pg_get(r, 0, 1), local) != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s: %s does not exist in %s (the clocks skip it); pick another time",
                       field, local, zone);
    *out = pg_get_int64(r, 0, 0);
    return 0;
}

/* ------------------------------------------------------------------------
 * Rows and input
 * ------------------------------------------------------------------------ */

static Dojo__Gamification__V1__Assignment *assignment_from_row(rpc_call_t *call,
                                                               const gam_snapshot_t *snap,
                                                               const PGresult *r, int i)
{
    Dojo__Gamification__V1__Assignment *a = RPC_NEW(call, Dojo__Gamification__V1__Assignment,
                                                    DOJO__GAMIFICATION__V1__ASSIGNMENT__INIT);
    a->id = rpc_strdup(call, pg_get(r, i, 0));
    a->class_id = rpc_strdup(call, pg_get(r, i, 1));
    a->title = rpc_strdup(call, pg_get(r, i, 2));
    a->description = rpc_strdup(call, pg_get(r, i, 3));
    char *slugs = rpc_strdup(call, pg_get(r, i, 4));
    size_t n = 1;
    for (const char *q = slugs; *q; q++)
        n += *q == ',';
    a->tasks = rpc_alloc(call, (n + 1) * sizeof(void *));
    char *save = NULL;
    for (char *t = strtok_r(slugs, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        Dojo__Gamification__V1__AssignmentTask *at =
            RPC_NEW(call, Dojo__Gamification__V1__AssignmentTask,
                    DOJO__GAMIFICATION__V1__ASSIGNMENT_TASK__INIT);
        at->slug = t;
        const gam_task_t *task = snap ? gam_snapshot_task(snap, t) : NULL;
        at->title = task ? rpc_strdup(call, task->title) : t;
        at->points = task ? task->points : 0;
        a->tasks[a->n_tasks++] = at;
    }
    a->opens_at = gam_timestamp(call, pg_get_int64(r, i, 5));
    a->due_at = gam_timestamp(call, pg_get_int64(r, i, 6));
    a->time_zone = rpc_strdup(call, pg_get(r, i, 7));
    a->opens_at_local = rpc_strdup(call, pg_get(r, i, 8));
    a->due_at_local = rpc_strdup(call, pg_get(r, i, 9));
    a->late_policy = (int)pg_get_int64(r, i, 10);
    a->late_penalty_percent = (int32_t)pg_get_int64(r, i, 11);
    a->remind_hours_before = (int32_t)pg_get_int64(r, i, 12);
    a->created_at = gam_timestamp(call, pg_get_int64(r, i, 13));
    a->updated_at = gam_timestamp(call, pg_get_int64(r, i, 14));
    return a;
}

/* An AssignmentInput checked and turned into statement parameters. */
typedef struct asg_params {
    char *slugs; /* comma-separated */
    int64_t opens_us, due_us;
    int policy, penalty, remind;
} asg_params_t;

static int input_check(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const gam_class_t *cls,
                       const gam_snapshot_t *snap,
                       const Dojo__Gamification__V1__AssignmentInput *in, asg_params_t *out,
                       err_t **err)
{
    if (in == NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "assignment: required");
    long tl = text_utf8_length(in->title), dl = text_utf8_length(in->description);
    if (tl < 1 || tl > 120)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "title: must be 1 to 120 characters");
    if (text_has_control(in->title))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "title: must not contain control characters");
    if (dl < 0 || dl > 4000)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "description: must be at most 4000 characters of UTF-8");
    if (in->n_task_slugs < 1 || in->n_task_slugs > ASG_MAX_TASKS)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task_slugs: 1 to %d tasks",
                       ASG_MAX_TASKS);
    size_t cap = in->n_task_slugs * 66 + 1, len = 0;
    out->slugs = rpc_alloc(call, cap);
    for (size_t i = 0; i < in->n_task_slugs; i++) {
        const char *slug = in->task_slugs[i];
        char field[48];
        snprintf(field, sizeof field, "task_slugs[%zu]", i);
        if (gam_check_slug(field, slug, true, err) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(in->task_slugs[j], slug))
                return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                               "%s: \"%s\" is already task_slugs[%zu]", field, slug, j);
        if (gam_snapshot_task(snap, slug) == NULL)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: no active task \"%s\"", field,
                           slug);
        len += (size_t)snprintf(out->slugs + len, cap - len, "%s%s", i ? "," : "", slug);
    }
    if (in->opens_at[0] == '\0')
        out->opens_us = gam_now_us(g);
    else if (gam_parse_class_time(conn, "opens_at", in->opens_at, cls->time_zone, &out->opens_us,
                                  err) < 0)
        return -1;
    if (in->due_at[0] == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "due_at: is required");
    if (gam_parse_class_time(conn, "due_at", in->due_at, cls->time_zone, &out->due_us, err) < 0)
        return -1;
    if (out->due_us <= out->opens_us)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "due_at: must be after opens_at");
    out->policy = in->late_policy ? in->late_policy : GRADING_ACCEPT;
    if (out->policy < GRADING_ACCEPT || out->policy > GRADING_REFUSE)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "late_policy: must be LATE_POLICY_ACCEPT, LATE_POLICY_PENALTY or "
                       "LATE_POLICY_REFUSE");
    out->penalty = in->late_penalty_percent;
    if (out->policy == GRADING_PENALTY && (out->penalty < 1 || out->penalty > 100))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "late_penalty_percent: must be 1 to 100 with LATE_POLICY_PENALTY");
    if (out->policy != GRADING_PENALTY && out->penalty != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "late_penalty_percent: only with LATE_POLICY_PENALTY");
    out->remind = in->remind_hours_before;
    if (out->remind < 0 || out->remind > 336)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "remind_hours_before: must be 0 to 336 (two weeks)");
    return 0;
}

static int read_one(rpc_call_t *call, pg_conn_t *conn, const gam_snapshot_t *snap,
                    const char *slug, const char *id, Dojo__Gamification__V1__Assignment **out,
                    err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug, id};
    if (pg_exec(conn, &stmt_asg_get, p, &r, err) < 0)
        return err_wrap(err, "read assignment");
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    *out = assignment_from_row(call, snap, r, 0);
    return 0;
}

static int check_id(const char *id, err_t **err)
{
    if (!gam_is_uuid(id))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    return 0;
}

/* ------------------------------------------------------------------------
 * Handlers
 * ------------------------------------------------------------------------ */

/* Create (id NULL) or replace an assignment; *out is what was stored. */
static int write_assignment(rpc_call_t *call, const char *class_id, const char *id,
                            const Dojo__Gamification__V1__AssignmentInput *in,
                            Dojo__Gamification__V1__Assignment **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    identity_t who;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &who, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &who, class_id, true, true, &cls, err) < 0 ||
        (id && check_id(id, err) < 0))
        return -1;
    gam_snapshot_t *snap = NULL;
    if (gam_snapshot_get_with(g, in->task_slugs, in->n_task_slugs, &snap, err) < 0)
        return err_wrap(err, "assignment");
    asg_params_t ap;
    int rc = -1;
    cleanup_pgresult PGresult *r = NULL;
    cleanup_pgresult PGresult *count = NULL;
    if (input_check(g, call, conn, &cls, snap, in, &ap, err) < 0)
        goto done;
    const char *now = gam_i64(call, gam_now_us(g));
    const char *by = who.kind == IDENTITY_USER ? who.claims.sub : NULL;
    if (id == NULL) {
        const char *pc[] = {cls.slug};
        if (pg_exec(conn, &stmt_asg_count, pc, &count, err) < 0)
            goto done;
        if (pg_get_int64(count, 0, 0) >= ASG_MAX_PER_CLASS) {
            err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                    "this class has %d assignments, the most it may have", ASG_MAX_PER_CLASS);
            goto done;
        }
        const char *p[] = {cls.slug,
                           in->title,
                           in->description,
                           ap.slugs,
                           gam_i64(call, ap.opens_us),
                           gam_i64(call, ap.due_us),
                           gam_i64(call, ap.policy),
                           gam_i64(call, ap.penalty),
                           gam_i64(call, ap.remind),
                           by,
                           now};
        if (pg_exec(conn, &stmt_asg_insert, p, &r, err) < 0)
            goto done;
    } else {
        const char *p[] = {cls.slug,
                           id,
                           in->title,
                           in->description,
                           ap.slugs,
                           gam_i64(call, ap.opens_us),
                           gam_i64(call, ap.due_us),
                           gam_i64(call, ap.policy),
                           gam_i64(call, ap.penalty),
                           gam_i64(call, ap.remind),
                           now};
        if (pg_exec(conn, &stmt_asg_update, p, &r, err) < 0)
            goto done;
        if (PQntuples(r) == 0) {
            err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
            goto done;
        }
    }
    const char *stored = rpc_strdup(call, pg_get(r, 0, 0));
    if (read_one(call, conn, snap, cls.slug, stored, out, err) < 0)
        goto done;
    LOG_INFO(id ? "assignment updated" : "assignment created",
             "class=%s assignment=%s tasks=%zu policy=%d", cls.slug, stored, in->n_task_slugs,
             ap.policy);
    rc = 0;
done:
    gam_snapshot_release(snap);
    return rc;
}

int gam_rpc_create_assignment(rpc_call_t *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **out, err_t **err)
{
    const Dojo__Gamification__V1__CreateAssignmentRequest *req = (const void *)req_msg;
    Dojo__Gamification__V1__CreateAssignmentResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__CreateAssignmentResponse,
                DOJO__GAMIFICATION__V1__CREATE_ASSIGNMENT_RESPONSE__INIT);
    if (write_assignment(call, req->class_id, NULL, req->assignment, &resp->assignment, err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
}

int gam_rpc_update_assignment(rpc_call_t *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **out, err_t **err)
{
    const Dojo__Gamification__V1__UpdateAssignmentRequest *req = (const void *)req_msg;
    Dojo__Gamification__V1__UpdateAssignmentResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__UpdateAssignmentResponse,
                DOJO__GAMIFICATION__V1__UPDATE_ASSIGNMENT_RESPONSE__INIT);
    if (write_assignment(call, req->class_id, req->assignment_id, req->assignment,
                         &resp->assignment, err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
}

int gam_rpc_delete_assignment(rpc_call_t *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__DeleteAssignmentRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, true, true, &cls, err) < 0 ||
        check_id(req->assignment_id, err) < 0)
        return -1;
    const char *p[] = {cls.slug, req->assignment_id};
    if (pg_exec(conn, &stmt_asg_delete, p, &r, err) < 0)
        return err_wrap(err, "delete assignment");
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    LOG_INFO("assignment deleted", "class=%s assignment=%s", cls.slug, req->assignment_id);
    *out = &RPC_NEW(call, Dojo__Gamification__V1__DeleteAssignmentResponse,
                    DOJO__GAMIFICATION__V1__DELETE_ASSIGNMENT_RESPONSE__INIT)
                ->base;
    return 0;
}

int gam_rpc_get_assignment(rpc_call_t *call, const ProtobufCMessage *req_msg,
                           ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetAssignmentRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, false, false, &cls, err) < 0 ||
        check_id(req->assignment_id, err) < 0)
        return -1;
    gam_snapshot_t *snap = NULL;
    cleanup_err err_t *stale = NULL;
    if (gam_snapshot_get(g, &snap, &stale) < 0)
        LOG_WARN("task titles unavailable", "error=\"%s\"", log_esc(stale->msg));
    Dojo__Gamification__V1__GetAssignmentResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetAssignmentResponse,
                DOJO__GAMIFICATION__V1__GET_ASSIGNMENT_RESPONSE__INIT);
    int rc = read_one(call, conn, snap, cls.slug, req->assignment_id, &resp->assignment, err);
    gam_snapshot_release(snap);
    if (rc < 0)
        return -1;
    /* Members do not learn of an assignment before it opens. */
    if (cls.role != GAM_CLASS_TEACHER && resp->assignment->opens_at->unix_micros > gam_now_us(g))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    *out = &resp->base;
    return 0;
}

int gam_rpc_list_assignments(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListAssignmentsRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, false, false, &cls, err) < 0)
        return -1;
    const char *p[] = {cls.slug,
                       cls.role == GAM_CLASS_TEACHER ? NULL : gam_i64(call, gam_now_us(g))};
    if (pg_exec(conn, &stmt_asg_list, p, &r, err) < 0)
        return err_wrap(err, "list assignments");
    gam_snapshot_t *snap = NULL;
    cleanup_err err_t *stale = NULL;
    if (gam_snapshot_get(g, &snap, &stale) < 0)
        LOG_WARN("task titles unavailable", "error=\"%s\"", log_esc(stale->msg));
    Dojo__Gamification__V1__ListAssignmentsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListAssignmentsResponse,
                DOJO__GAMIFICATION__V1__LIST_ASSIGNMENTS_RESPONSE__INIT);
    int rows = PQntuples(r);
    resp->assignments = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++)
        resp->assignments[resp->n_assignments++] = assignment_from_row(call, snap, r, i);
    gam_snapshot_release(snap);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * ListDue
 * ------------------------------------------------------------------------ */

static Dojo__Gamification__V1__DueAssignment *
due_of(rpc_call_t *call, pg_conn_t *conn, const char *user, int64_t now,
       Dojo__Gamification__V1__Assignment *a, const char *class_title, err_t **err)
{
    gam_gradebook_t gb;
    if (gam_gradebook_load(call, conn, a->class_id, a->id, user, now, &gb, err) < 0)
        return NULL;
    Dojo__Gamification__V1__DueAssignment *d = RPC_NEW(
        call, Dojo__Gamification__V1__DueAssignment, DOJO__GAMIFICATION__V1__DUE_ASSIGNMENT__INIT);
    d->assignment = a;
    d->class_title = rpc_strdup(call, class_title);
    d->state = grading_state(now, a->opens_at->unix_micros, a->due_at->unix_micros,
                             a->late_policy);
    d->tasks = rpc_alloc(call, (a->n_tasks + 1) * sizeof(void *));
    d->complete = true;
    double sum = 0;
    for (size_t j = 0; j < a->n_tasks; j++) {
        Dojo__Gamification__V1__TaskStanding *t = RPC_NEW(
            call, Dojo__Gamification__V1__TaskStanding, DOJO__GAMIFICATION__V1__TASK_STANDING__INIT);
        t->slug = a->tasks[j]->slug;
        t->title = a->tasks[j]->title;
        const Dojo__Gamification__V1__ProgressCell *c =
            gb.nrows == 1 && j < gb.ncolumns ? gb.cells[j] : NULL;
        if (c) {
            t->solved = c->solved;
            t->attempts = c->attempts;
            t->grade_percent = c->grade_percent;
            t->late = c->late;
            t->last_verdict = c->last_verdict;
        }
        d->complete = d->complete && t->solved;
        sum += t->grade_percent;
        d->tasks[d->n_tasks++] = t;
    }
    d->grade_percent = a->n_tasks ? sum / (double)a->n_tasks : 0;
    return d;
}

int gam_rpc_list_due(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                     err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListDueRequest *req = (const void *)req_msg;
    identity_t id;
    const char *user = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 ||
        gam_subject(&id, req->user_id, false, false, &user, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    int64_t now = gam_now_us(g);
    const char *p[] = {user, gam_i64(call, now)};
    Dojo__Gamification__V1__ListDueResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListDueResponse,
                DOJO__GAMIFICATION__V1__LIST_DUE_RESPONSE__INIT);
    char zone[80];
    if (gam_conn(g, &conn, err) < 0 || gam_user_zone(conn, user, zone, sizeof zone, err) < 0 ||
        pg_exec(conn, &stmt_asg_due, p, &r, err) < 0)
        return err_wrap(err, "list due");
    resp->time_zone = rpc_strdup(call, zone);
    gam_snapshot_t *snap = NULL;
    cleanup_err err_t *stale = NULL;
    if (gam_snapshot_get(g, &snap, &stale) < 0)
        LOG_WARN("task titles unavailable", "error=\"%s\"", log_esc(stale->msg));
    int rows = PQntuples(r);
    resp->assignments = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    int rc = 0;
    for (int i = 0; i < rows && rc == 0; i++) {
        Dojo__Gamification__V1__Assignment *a = assignment_from_row(call, snap, r, i);
        Dojo__Gamification__V1__DueAssignment *d =
            due_of(call, conn, user, now, a, pg_get(r, i, 15), err);
        if (d == NULL) {
            rc = -1;
            break;
        }
        bool current = d->state == DOJO__GAMIFICATION__V1__ASSIGNMENT_STATE__ASSIGNMENT_STATE_OPEN ||
                       (d->state == DOJO__GAMIFICATION__V1__ASSIGNMENT_STATE__ASSIGNMENT_STATE_LATE &&
                        !d->complete);
        if (current || req->include_past)
            resp->assignments[resp->n_assignments++] = d;
    }
    gam_snapshot_release(snap);
    if (rc < 0)
        return err_wrap(err, "list due");
    *out = &resp->base;
    return 0;
}
