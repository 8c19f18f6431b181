/* cohorts.c — named groups of learners (a class) with their own board. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/text.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/page.h"

#define COHORT_COLUMNS                                                                             \
    "c.slug, c.title, c.description, "                                                             \
    "(SELECT count(*) FROM game.cohort_members m WHERE m.cohort_slug = c.slug), "                  \
    "c.created_by, " GAM_US("c.created_at")

static const pg_stmt_t stmt_cohort_insert = {
    .name = "game_cohort_insert",
    .sql = "INSERT INTO game.cohorts AS c (slug, title, description, created_by, created_at) "
           "VALUES ($1, $2, $3, $4, " GAM_TS(5) ") RETURNING " COHORT_COLUMNS,
    .nparams = 5,
};

static const pg_stmt_t stmt_cohort_get = {
    .name = "game_cohort_get",
    .sql = "SELECT " COHORT_COLUMNS " FROM game.cohorts c WHERE c.slug = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_cohort_membership = {
    .name = "game_cohort_membership",
    .sql = "SELECT EXISTS (SELECT 1 FROM game.cohorts WHERE slug = $1), "
           "EXISTS (SELECT 1 FROM game.cohort_members WHERE cohort_slug = $1 "
           "  AND $2::uuid IS NOT NULL AND user_id = $2::uuid)",
    .nparams = 2,
};

static const pg_stmt_t stmt_profile_exists = {
    .name = "game_profile_exists",
    .sql = "SELECT 1 FROM game.profiles WHERE user_id = $1::uuid",
    .nparams = 1,
};


static const pg_stmt_t stmt_cohort_list = {
    .name = "game_cohort_list",
    .sql = "SELECT " COHORT_COLUMNS " FROM game.cohorts c "
           "WHERE $1::uuid IS NULL OR EXISTS (SELECT 1 FROM game.cohort_members m "
           "  WHERE m.cohort_slug = c.slug AND m.user_id = $1::uuid) "
           "ORDER BY c.title, c.slug LIMIT $2::int OFFSET $3::bigint",
    .nparams = 3,
};

static const pg_stmt_t stmt_member_list = {
    .name = "game_member_list",
    .sql = "SELECT m.user_id::text, coalesce(p.display_name, m.user_id::text), "
           "coalesce(s.total_points, 0), " GAM_US(
               "m.joined_at") " "
                              "FROM game.cohort_members m "
                              "LEFT JOIN game.profiles p ON p.user_id = m.user_id "
                              "LEFT JOIN game.stats s ON s.user_id = m.user_id "
                              "WHERE m.cohort_slug = $1 "
                              "ORDER BY coalesce(p.display_name, m.user_id::text), m.user_id "
                              "LIMIT $2::int OFFSET $3::bigint",
    .nparams = 3,
};

static Dojo__Gamification__V1__Cohort *cohort_from_row(rpc_call_t *call, const PGresult *r, int i)
{
    Dojo__Gamification__V1__Cohort *c =
        RPC_NEW(call, Dojo__Gamification__V1__Cohort, DOJO__GAMIFICATION__V1__COHORT__INIT);
    c->slug = rpc_strdup(call, pg_get(r, i, 0));
    c->title = rpc_strdup(call, pg_get(r, i, 1));
    c->description = rpc_strdup(call, pg_get(r, i, 2));
    c->member_count = (int32_t)pg_get_int64(r, i, 3);
    c->created_by = rpc_strdup(call, pg_get(r, i, 4));
    c->created_at = gam_timestamp(call, pg_get_int64(r, i, 5));
    return c;
}

int gam_cohort_membership(pg_conn_t *conn, const char *slug, const char *user_id, bool *exists,
                          bool *member, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug, user_id};
    if (pg_exec(conn, &stmt_cohort_membership, p, &r, err) < 0)
        return err_wrap(err, "cohort membership");
    *exists = pg_get_bool(r, 0, 0);
    *member = pg_get_bool(r, 0, 1);
    return 0;
}

static int require_author(gam_t *g, rpc_call_t *call, identity_t *id, err_t **err)
{
    if (identity_require_signed_in(g->ids, call, id, err) < 0)
        return -1;
    if (!identity_is_author(id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only authors manage cohorts");
    return 0;
}

int gam_rpc_create_cohort(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                          err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__CreateCohortRequest *req = (const void *)req_msg;
    identity_t id;
    if (require_author(g, call, &id, err) < 0 || gam_check_slug("slug", req->slug, true, err) < 0)
        return -1;
    long tl = text_utf8_length(req->title), dl = text_utf8_length(req->description);
    if (tl < 1 || tl > 120)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "title: must be 1 to 120 characters");
    for (const unsigned char *p = (const unsigned char *)req->title; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "title: must not contain control characters");
    if (dl < 0 || dl > 1000)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "description: must be at most 1000 characters of UTF-8");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {req->slug, req->title, req->description,
                       id.kind == IDENTITY_USER ? id.claims.sub : "", gam_i64(call, gam_now_us(g))};
    if (gam_conn(g, &conn, err) < 0)
        return -1;
    if (pg_exec(conn, &stmt_cohort_insert, p, &r, err) < 0) {
        if ((*err)->code == GRPC_STATUS_ALREADY_EXISTS) {
            err_clear(err);
            return err_set(err, GRPC_STATUS_ALREADY_EXISTS, "slug: a cohort with this slug exists");
        }
        return err_wrap(err, "create cohort");
    }
    Dojo__Gamification__V1__CreateCohortResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__CreateCohortResponse,
                DOJO__GAMIFICATION__V1__CREATE_COHORT_RESPONSE__INIT);
    resp->cohort = cohort_from_row(call, r, 0);
    LOG_INFO("cohort created", "cohort=%s", req->slug);
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Membership (cohorts, and the classes built on them)
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_member_add = {
    .name = "game_member_add",
    .sql = "INSERT INTO game.cohort_members (cohort_slug, user_id, joined_at) "
           "VALUES ($1, $2::uuid, " GAM_TS(3) ") ON CONFLICT DO NOTHING RETURNING 1",
    .nparams = 3,
};

static const pg_stmt_t stmt_member_remove = {
    .name = "game_member_remove",
    .sql = "DELETE FROM game.cohort_members WHERE cohort_slug = $1 AND user_id = $2::uuid "
           "RETURNING 1",
    .nparams = 2,
};

int gam_cohort_member_add(rpc_call_t *call, pg_conn_t *conn, const char *slug, const char *user_id,
                          int64_t now_us, bool *added, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug, user_id, gam_i64(call, now_us)};
    if (pg_exec(conn, &stmt_member_add, p, &r, err) < 0)
        return -1;
    *added = PQntuples(r) > 0;
    return *added ? gam_boards_invalidate(conn, err) : 0;
}

int gam_cohort_member_remove(pg_conn_t *conn, const char *slug, const char *user_id,
                             bool *removed, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug, user_id};
    if (pg_exec(conn, &stmt_member_remove, p, &r, err) < 0)
        return -1;
    *removed = PQntuples(r) > 0;
    return *removed ? gam_boards_invalidate(conn, err) : 0;
}

/* Adds (add = true) or removes a member, then reads the cohort back. */
static int change_member(rpc_call_t *call, const char *slug, const char *user_id, bool add,
                         bool *changed, Dojo__Gamification__V1__Cohort **cohort, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    identity_t id;
    if (require_author(g, call, &id, err) < 0 || gam_check_slug("cohort_slug", slug, true, err) < 0)
        return -1;
    if (!gam_is_uuid(user_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *c = NULL;
    cleanup_pgresult PGresult *prof = NULL;
    cleanup_pgresult PGresult *after = NULL;
    const char *ps[] = {slug};
    if (gam_conn(g, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        pg_exec(conn, &stmt_cohort_get, ps, &c, err) < 0)
        return err_wrap(err, "cohort member");
    if (PQntuples(c) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such cohort");
    if (add) {
        const char *pu[] = {user_id};
        if (pg_exec(conn, &stmt_profile_exists, pu, &prof, err) < 0)
            return err_wrap(err, "cohort member");
        if (PQntuples(prof) == 0)
            return err_set(err, GRPC_STATUS_NOT_FOUND, "no such learner");
        if (gam_cohort_member_add(call, conn, slug, user_id, gam_now_us(g), changed, err) < 0)
            return err_wrap(err, "add member");
    } else if (gam_cohort_member_remove(conn, slug, user_id, changed, err) < 0) {
        return err_wrap(err, "remove member");
    }
    if (pg_exec(conn, &stmt_cohort_get, ps, &after, err) < 0 || pg_commit(conn, err) < 0)
        return err_wrap(err, "cohort member");
    *cohort = cohort_from_row(call, after, 0);
    if (*changed)
        LOG_INFO(add ? "cohort member added" : "cohort member removed", "cohort=%s member=%s", slug,
                 user_id);
    return 0;
}

int gam_rpc_add_cohort_member(rpc_call_t *call, const ProtobufCMessage *req_msg,
                              ProtobufCMessage **out, err_t **err)
{
    const Dojo__Gamification__V1__AddCohortMemberRequest *req = (const void *)req_msg;
    Dojo__Gamification__V1__AddCohortMemberResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__AddCohortMemberResponse,
                DOJO__GAMIFICATION__V1__ADD_COHORT_MEMBER_RESPONSE__INIT);
    bool changed = false;
    if (change_member(call, req->cohort_slug, req->user_id, true, &changed, &resp->cohort, err) < 0)
        return -1;
    resp->added = changed;
    *out = &resp->base;
    return 0;
}

int gam_rpc_remove_cohort_member(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                 ProtobufCMessage **out, err_t **err)
{
    const Dojo__Gamification__V1__RemoveCohortMemberRequest *req = (const void *)req_msg;
    Dojo__Gamification__V1__RemoveCohortMemberResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RemoveCohortMemberResponse,
                DOJO__GAMIFICATION__V1__REMOVE_COHORT_MEMBER_RESPONSE__INIT);
    bool changed = false;
    if (change_member(call, req->cohort_slug, req->user_id, false, &changed, &resp->cohort, err) <
        0)
        return -1;
    resp->removed = changed;
    *out = &resp->base;
    return 0;
}

int gam_rpc_list_cohorts(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                         err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListCohortsRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    const char *member = NULL;
    if (req->member_user_id[0]) {
        if (gam_subject(&id, req->member_user_id, true, true, &member, err) < 0)
            return -1;
    } else if (!identity_is_author(&id)) {
        member = id.claims.sub;
    }
    int64_t offset;
    int size;
    if (page_read(req->page, 50, 200, &offset, &size, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {member, gam_i64(call, size + 1), gam_i64(call, offset)};
    if (gam_conn(g, &conn, err) < 0 || pg_exec(conn, &stmt_cohort_list, p, &r, err) < 0)
        return err_wrap(err, "list cohorts");
    int rows = PQntuples(r);
    bool more = rows > size;
    if (more)
        rows = size;
    Dojo__Gamification__V1__ListCohortsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListCohortsResponse,
                DOJO__GAMIFICATION__V1__LIST_COHORTS_RESPONSE__INIT);
    resp->cohorts = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++)
        resp->cohorts[resp->n_cohorts++] = cohort_from_row(call, r, i);
    resp->page = page_info(call, offset, size, more, -1);
    *out = &resp->base;
    return 0;
}

int gam_rpc_list_cohort_members(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListCohortMembersRequest *req = (const void *)req_msg;
    identity_t id;
    if (require_author(g, call, &id, err) < 0 ||
        gam_check_slug("cohort_slug", req->cohort_slug, true, err) < 0)
        return -1;
    int64_t offset;
    int size;
    if (page_read(req->page, 100, 500, &offset, &size, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *c = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *ps[] = {req->cohort_slug};
    const char *p[] = {req->cohort_slug, gam_i64(call, size + 1), gam_i64(call, offset)};
    if (gam_conn(g, &conn, err) < 0 || pg_exec(conn, &stmt_cohort_get, ps, &c, err) < 0)
        return err_wrap(err, "list members");
    if (PQntuples(c) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such cohort");
    if (pg_exec(conn, &stmt_member_list, p, &r, err) < 0)
        return err_wrap(err, "list members");
    int rows = PQntuples(r);
    bool more = rows > size;
    if (more)
        rows = size;
    Dojo__Gamification__V1__ListCohortMembersResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListCohortMembersResponse,
                DOJO__GAMIFICATION__V1__LIST_COHORT_MEMBERS_RESPONSE__INIT);
    resp->members = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++) {
        Dojo__Gamification__V1__CohortMember *m =
            RPC_NEW(call, Dojo__Gamification__V1__CohortMember,
                    DOJO__GAMIFICATION__V1__COHORT_MEMBER__INIT);
        m->user_id = rpc_strdup(call, pg_get(r, i, 0));
        m->display_name = rpc_strdup(call, pg_get(r, i, 1));
        m->points = pg_get_int64(r, i, 2);
        m->joined_at = gam_timestamp(call, pg_get_int64(r, i, 3));
        resp->members[resp->n_members++] = m;
    }
    resp->page = page_info(call, offset, size, more, pg_get_int64(c, 0, 3));
    *out = &resp->base;
    return 0;
}
