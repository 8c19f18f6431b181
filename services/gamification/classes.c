/* classes.c — classes: a cohort that teachers run (classes.proto). The
 * cohort holds the members and the all-time board; game.classes adds the
 * time zone, the join code and the archive mark, game.class_teachers who
 * runs it. Who may see what is decided here, once, by gam_class_open. */
#define _GNU_SOURCE
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/text.h"
#include "libcommon/mem.h"
#include "libcommon/page.h"

#define CLASS_MAX_MEMBERS 2000
/* Join codes: no 0/O, 1/I/L, so they read aloud and type well. */
static const char code_alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
#define CODE_LEN 8

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

/* $1 the caller (NULL for services), $2 now, $3 the caller teaches
 * everything (admins, services). */
#define CLASS_COLUMNS                                                                              \
    "c.slug, h.title, h.description, c.time_zone, c.join_code, " GAM_US("c.archived_at") ", "     \
    "(SELECT count(*) FROM game.cohort_members m WHERE m.cohort_slug = c.slug), " GAM_US(          \
        "h.created_at") ", "                                                                       \
    "($3::bool OR EXISTS (SELECT 1 FROM game.class_teachers t WHERE t.class_slug = c.slug "        \
    "  AND t.user_id = $1::uuid)) AS teaching, "                                                   \
    "EXISTS (SELECT 1 FROM game.cohort_members m WHERE m.cohort_slug = c.slug "                    \
    "  AND m.user_id = $1::uuid), "                                                                \
    "coalesce((SELECT string_agg(t.user_id::text || ':' || coalesce(p.display_name, "              \
    "  t.user_id::text), E'\\n' ORDER BY t.added_at) FROM game.class_teachers t "                  \
    "  LEFT JOIN game.profiles p ON p.user_id = t.user_id WHERE t.class_slug = c.slug), '')"
/* Assignments count for teachers; for members only once open. */
#define CLASS_ASSIGNMENTS                                                                          \
    "(SELECT count(*) FROM game.assignments a WHERE a.class_slug = c.slug AND ($3::bool OR "       \
    "EXISTS (SELECT 1 FROM game.class_teachers t WHERE t.class_slug = c.slug AND t.user_id = "     \
    "$1::uuid) OR a.opens_at <= " GAM_TS(2) "))"
#define CLASS_FROM " FROM game.classes c JOIN game.cohorts h ON h.slug = c.slug "

static const pg_stmt_t stmt_class_read = {
    .name = "game_cls_read",
    .sql = "SELECT " CLASS_COLUMNS ", " CLASS_ASSIGNMENTS CLASS_FROM "WHERE c.slug = $4",
    .nparams = 4,
};

/* $4 include archived, $5 every class (admins), $6 limit, $7 offset. */
static const pg_stmt_t stmt_class_list = {
    .name = "game_cls_list",
    .sql = "SELECT " CLASS_COLUMNS ", " CLASS_ASSIGNMENTS CLASS_FROM
           "WHERE ($4::bool OR c.archived_at IS NULL) AND ($5::bool "
           "  OR EXISTS (SELECT 1 FROM game.class_teachers t WHERE t.class_slug = c.slug "
           "    AND t.user_id = $1::uuid) "
           "  OR EXISTS (SELECT 1 FROM game.cohort_members m WHERE m.cohort_slug = c.slug "
           "    AND m.user_id = $1::uuid)) "
           "ORDER BY h.created_at DESC, c.slug LIMIT $6::int OFFSET $7::bigint",
    .nparams = 7,
};

static const pg_stmt_t stmt_class_access = {
    .name = "game_cls_access",
    .sql = "SELECT c.time_zone, c.archived_at IS NOT NULL, "
           "EXISTS (SELECT 1 FROM game.class_teachers t WHERE t.class_slug = c.slug "
           "  AND t.user_id = $2::uuid), "
           "EXISTS (SELECT 1 FROM game.cohort_members m WHERE m.cohort_slug = c.slug "
           "  AND m.user_id = $2::uuid), h.title " CLASS_FROM "WHERE c.slug = $1",
    .nparams = 2,
};

static const pg_stmt_t stmt_cohort_insert = {
    .name = "game_cls_cohort_insert",
    .sql = "INSERT INTO game.cohorts (slug, title, description, created_by, created_at) "
           "VALUES ($1, $2, $3, $4, " GAM_TS(5) ") ON CONFLICT DO NOTHING RETURNING 1",
    .nparams = 5,
};

static const pg_stmt_t stmt_class_insert = {
    .name = "game_cls_insert",
    .sql = "INSERT INTO game.classes (slug, time_zone, join_code) VALUES ($1, $2, $3) "
           "ON CONFLICT (join_code) DO NOTHING RETURNING 1",
    .nparams = 3,
};

static const pg_stmt_t stmt_teacher_insert = {
    .name = "game_cls_teacher_insert",
    .sql = "INSERT INTO game.class_teachers (class_slug, user_id, added_at) "
           "VALUES ($1, $2::uuid, " GAM_TS(3) ") ON CONFLICT DO NOTHING",
    .nparams = 3,
};

static const pg_stmt_t stmt_class_update = {
    .name = "game_cls_update",
    .sql = "WITH h AS (UPDATE game.cohorts SET "
           "  title = CASE WHEN $2 = '' THEN title ELSE $2 END, "
           "  description = CASE WHEN $4::bool THEN $3 ELSE description END "
           "  WHERE slug = $1) "
           "UPDATE game.classes SET time_zone = CASE WHEN $5 = '' THEN time_zone ELSE $5 END "
           "WHERE slug = $1",
    .nparams = 5,
};

static const pg_stmt_t stmt_class_new_code = {
    .name = "game_cls_new_code",
    .sql = "UPDATE game.classes SET join_code = $2 WHERE slug = $1 "
           "AND NOT EXISTS (SELECT 1 FROM game.classes o WHERE o.join_code = $2) RETURNING 1",
    .nparams = 2,
};

static const pg_stmt_t stmt_class_archive = {
    .name = "game_cls_archive",
    .sql = "UPDATE game.classes SET archived_at = CASE WHEN $2::bool THEN NULL "
           "  ELSE coalesce(archived_at, " GAM_TS(3) ") END WHERE slug = $1",
    .nparams = 3,
};

static const pg_stmt_t stmt_class_delete = {
    .name = "game_cls_delete",
    .sql = "DELETE FROM game.cohorts WHERE slug = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_class_by_code = {
    .name = "game_cls_by_code",
    .sql = "SELECT slug FROM game.classes WHERE join_code = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_invite_take = {
    .name = "game_cls_invite_take",
    .sql = "UPDATE game.class_invites SET accepted_by = $2::uuid, accepted_at = " GAM_TS(3) " "
           "WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > " GAM_TS(
               3) " RETURNING class_slug",
    .nparams = 3,
};

static const pg_stmt_t stmt_profile_make = {
    .name = "game_cls_profile_make",
    .sql = "INSERT INTO game.profiles (user_id, display_name, time_zone, created_at) "
           "VALUES ($1::uuid, $2, $3, " GAM_TS(4) ") ON CONFLICT DO NOTHING",
    .nparams = 4,
};

static const pg_stmt_t stmt_member_count = {
    .name = "game_cls_member_count",
    .sql = "SELECT count(*) FROM game.cohort_members WHERE cohort_slug = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_members = {
    .name = "game_cls_members",
    .sql = "SELECT m.user_id::text, coalesce(p.display_name, m.user_id::text), " GAM_US(
        "m.joined_at") ", "
                       "(SELECT " GAM_US("max(x.created_at)") " FROM game.submissions x "
                       "  WHERE x.user_id = m.user_id), coalesce(s.total_points, 0) "
                       "FROM game.cohort_members m "
                       "LEFT JOIN game.profiles p ON p.user_id = m.user_id "
                       "LEFT JOIN game.stats s ON s.user_id = m.user_id "
                       "WHERE m.cohort_slug = $1 "
                       "ORDER BY coalesce(p.display_name, m.user_id::text), m.user_id "
                       "LIMIT $2::int OFFSET $3::bigint",
    .nparams = 3,
};

static const pg_stmt_t stmt_invites = {
    .name = "game_cls_invites",
    .sql = "SELECT email, " GAM_US("created_at") ", " GAM_US(
        "expires_at") " FROM game.class_invites "
                      "WHERE class_slug = $1 AND accepted_at IS NULL AND expires_at > " GAM_TS(
                          2) " ORDER BY created_at DESC LIMIT 500",
    .nparams = 2,
};

/* ------------------------------------------------------------------------
 * Access
 * ------------------------------------------------------------------------ */

int gam_class_open(pg_conn_t *conn, const identity_t *id, const char *class_id, bool need_teacher,
                   bool writable, gam_class_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    if (gam_check_slug("class_id", class_id, true, err) < 0)
        return -1;
    cleanup_pgresult PGresult *r = NULL;
    const char *caller = id->kind == IDENTITY_USER ? id->claims.sub : NULL;
    const char *p[] = {class_id, caller};
    if (pg_exec(conn, &stmt_class_access, p, &r, err) < 0)
        return err_wrap(err, "class access");
    if (PQntuples(r) == 1) {
        bool teacher = pg_get_bool(r, 0, 2) || id->kind == IDENTITY_SERVICE || identity_is_admin(id);
        out->role = teacher ? GAM_CLASS_TEACHER : pg_get_bool(r, 0, 3) ? GAM_CLASS_MEMBER
                                                                        : GAM_CLASS_NONE;
    }
    if (out->role == GAM_CLASS_NONE)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such class");
    snprintf(out->slug, sizeof out->slug, "%s", class_id);
    snprintf(out->time_zone, sizeof out->time_zone, "%s", pg_get(r, 0, 0));
    snprintf(out->title, sizeof out->title, "%s", pg_get(r, 0, 4));
    out->archived = pg_get_bool(r, 0, 1);
    if (need_teacher && out->role != GAM_CLASS_TEACHER)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "only the teachers of this class may do this");
    if (writable && out->archived)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "this class is archived; restore it first");
    return 0;
}

static bool teaches_all(const identity_t *id)
{
    return id->kind == IDENTITY_SERVICE || identity_is_admin(id);
}

static Dojo__Gamification__V1__Classroom *classroom_from_row(rpc_call_t *call, const PGresult *r,
                                                             int i)
{
    Dojo__Gamification__V1__Classroom *c =
        RPC_NEW(call, Dojo__Gamification__V1__Classroom, DOJO__GAMIFICATION__V1__CLASSROOM__INIT);
    c->id = rpc_strdup(call, pg_get(r, i, 0));
    c->title = rpc_strdup(call, pg_get(r, i, 1));
    c->description = rpc_strdup(call, pg_get(r, i, 2));
    c->time_zone = rpc_strdup(call, pg_get(r, i, 3));
    c->teaching = pg_get_bool(r, i, 8);
    c->member = pg_get_bool(r, i, 9);
    c->join_code = c->teaching ? rpc_strdup(call, pg_get(r, i, 4)) : "";
    int64_t archived = pg_get_int64(r, i, 5);
    c->archived = !pg_is_null(r, i, 5) && archived != 0;
    c->archived_at = gam_timestamp(call, archived);
    c->member_count = (int32_t)pg_get_int64(r, i, 6);
    c->created_at = gam_timestamp(call, pg_get_int64(r, i, 7));
    c->assignment_count = (int32_t)pg_get_int64(r, i, 11);
    /* "uuid:name" lines, names without control characters. */
    const char *t = pg_get(r, i, 10);
    size_t n = 0;
    for (const char *q = t; *q; q++)
        n += *q == '\n';
    c->teachers = rpc_alloc(call, (n + 2) * sizeof(void *));
    while (*t && strlen(t) > 37) {
        const char *nl = strchr(t, '\n');
        size_t len = nl ? (size_t)(nl - t) : strlen(t);
        Dojo__Gamification__V1__ClassTeacher *ct = RPC_NEW(
            call, Dojo__Gamification__V1__ClassTeacher, DOJO__GAMIFICATION__V1__CLASS_TEACHER__INIT);
        ct->user_id = rpc_sprintf(call, "%.36s", t);
        ct->display_name = rpc_sprintf(call, "%.*s", (int)(len - 37), t + 37);
        c->teachers[c->n_teachers++] = ct;
        if (nl == NULL)
            break;
        t = nl + 1;
    }
    return c;
}

int gam_classroom_read(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const identity_t *id,
                       const char *slug, Dojo__Gamification__V1__Classroom **out, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {id->kind == IDENTITY_USER ? id->claims.sub : NULL,
                       gam_i64(call, gam_now_us(g)), teaches_all(id) ? "true" : "false", slug};
    if (pg_exec(conn, &stmt_class_read, p, &r, err) < 0)
        return err_wrap(err, "read class");
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such class");
    *out = classroom_from_row(call, r, 0);
    return 0;
}

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

static int check_title(const char *s, err_t **err)
{
    long n = text_utf8_length(s);
    if (n < 1 || n > 120)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "title: must be 1 to 120 characters");
    if (text_has_control(s))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "title: must not contain control characters");
    return 0;
}

static int check_description(const char *s, err_t **err)
{
    long n = text_utf8_length(s);
    if (n < 0 || n > 1000)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "description: must be at most 1000 characters of UTF-8");
    return 0;
}

static void new_code(char out[CODE_LEN + 1])
{
    for (int i = 0; i < CODE_LEN; i++)
        out[i] = code_alphabet[randombytes_uniform(sizeof code_alphabet - 1)];
    out[CODE_LEN] = '\0';
}

/* A slug from the title ("Intro to Python" → "intro-to-python-") and six
 * random characters, so two classes of the same name never collide. */
static void new_slug(const char *title, char out[65])
{
    size_t n = 0;
    bool dash = true;
    for (const unsigned char *p = (const unsigned char *)title; *p && n < 40; p++) {
        if (isalnum(*p) && *p < 0x80) {
            out[n++] = (char)tolower(*p);
            dash = false;
        } else if (!dash) {
            out[n++] = '-';
            dash = true;
        }
    }
    if (n == 0) {
        memcpy(out, "class-", 6);
        n = 6;
    } else if (!dash) {
        out[n++] = '-';
    }
    static const char alnum[] = "abcdefghijkmnpqrstuvwxyz23456789";
    for (int i = 0; i < 6; i++)
        out[n++] = alnum[randombytes_uniform(sizeof alnum - 1)];
    out[n] = '\0';
}

void gam_token_hash(const char *token, char hash[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(hash, 65, h, sizeof h);
}

void gam_token_new(char *out, size_t cap, char hash[65])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, cap, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    gam_token_hash(out, hash);
}

int gam_class_add_member(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *slug,
                         const char *user_id, const char *display_name, const char *zone,
                         bool *added, err_t **err)
{
    int64_t now = gam_now_us(g);
    cleanup_pgresult PGresult *count = NULL;
    const char *pp[] = {user_id, display_name ? display_name : user_id, zone ? zone : "UTC",
                        gam_i64(call, now)};
    const char *pc[] = {slug};
    if (pg_exec(conn, &stmt_profile_make, pp, NULL, err) < 0 ||
        pg_exec(conn, &stmt_member_count, pc, &count, err) < 0)
        return err_wrap(err, "add member");
    if (pg_get_int64(count, 0, 0) >= CLASS_MAX_MEMBERS)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "this class is full (%d learners)", CLASS_MAX_MEMBERS);
    if (gam_cohort_member_add(call, conn, slug, user_id, now, added, err) < 0)
        return err_wrap(err, "add member");
    return 0;
}

int gam_auth_call(gam_t *g, const char *method, const ProtobufCMessage *req,
                  ProtobufCMessage **out, int64_t timeout_ms, err_t **err)
{
    rpc_call_opts_t opts = {
        .timeout_ms = timeout_ms,
        .idempotent = false,
        .metadata = identity_service_metadata(g->ids),
    };
    if (rpc_client_call(g->auth, &dojo__auth__v1__auth__descriptor, method, req, out, &opts,
                        err) < 0) {
        if ((*err)->code != GRPC_STATUS_INVALID_ARGUMENT && (*err)->code != GRPC_STATUS_NOT_FOUND)
            err_recode(err, GRPC_STATUS_UNAVAILABLE, "the account service is unavailable, try again");
        return err_wrap(err, "auth %s", method);
    }
    return 0;
}

int gam_members_from_auth(gam_t *g, rpc_call_t *call, Dojo__Gamification__V1__ClassMember **members,
                          size_t n, err_t **err)
{
    for (size_t start = 0; start < n; start += 1000) {
        size_t count = n - start < 1000 ? n - start : 1000;
        Dojo__Auth__V1__GetUsersRequest req = DOJO__AUTH__V1__GET_USERS_REQUEST__INIT;
        cleanup_free char **ids = xcalloc(count + 1, sizeof *ids);
        for (size_t i = 0; i < count; i++)
            ids[i] = members[start + i]->user_id;
        req.user_ids = ids;
        req.n_user_ids = count;
        cleanup_pb ProtobufCMessage *resp_msg = NULL;
        if (gam_auth_call(g, "GetUsers", &req.base, &resp_msg, 5000, err) < 0)
            return -1;
        const Dojo__Auth__V1__GetUsersResponse *resp = (const void *)resp_msg;
        for (size_t j = 0; j < resp->n_users; j++) {
            const Dojo__Auth__V1__User *u = resp->users[j];
            for (size_t i = 0; i < count; i++) {
                Dojo__Gamification__V1__ClassMember *m = members[start + i];
                if (!strcasecmp(m->user_id, u->id)) {
                    m->username = rpc_strdup(call, u->username);
                    m->email = rpc_strdup(call, u->email);
                }
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Handlers
 * ------------------------------------------------------------------------ */

int gam_rpc_create_class(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                         err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__CreateClassRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_USER || !identity_is_teacher(&id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only teachers create classes");
    if (check_title(req->title, err) < 0 || check_description(req->description, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (gam_conn(g, &conn, err) < 0)
        return -1;
    char zone[80];
    if (req->time_zone[0]) {
        if (text_check_time_zone("time_zone", req->time_zone, err) < 0)
            return -1;
        snprintf(zone, sizeof zone, "%s", req->time_zone);
    } else if (gam_user_zone(conn, id.claims.sub, zone, sizeof zone, err) < 0) {
        return -1;
    }
    const char *now = gam_i64(call, gam_now_us(g));
    char slug[65];
    bool made = false;
    if (pg_begin(conn, err) < 0)
        return -1;
    for (int attempt = 0; attempt < 5 && !made; attempt++) {
        cleanup_pgresult PGresult *h = NULL;
        cleanup_pgresult PGresult *c = NULL;
        char code[CODE_LEN + 1];
        new_slug(req->title, slug);
        new_code(code);
        const char *ph[] = {slug, req->title, req->description, id.claims.sub, now};
        const char *pc[] = {slug, zone, code};
        if (pg_exec(conn, &stmt_cohort_insert, ph, &h, err) < 0)
            goto fail;
        if (PQntuples(h) == 0)
            continue;
        if (pg_exec(conn, &stmt_class_insert, pc, &c, err) < 0)
            goto fail;
        if (PQntuples(c) == 0) {
            /* The code was taken: the cohort row goes with the retry's slug. */
            const char *pd[] = {slug};
            if (pg_exec(conn, &stmt_class_delete, pd, NULL, err) < 0)
                goto fail;
            continue;
        }
        made = true;
    }
    if (!made) {
        pg_rollback(conn);
        return err_set(err, GRPC_STATUS_ABORTED, "could not pick a free class id; try again");
    }
    const char *pt[] = {slug, id.claims.sub, now};
    if (pg_exec(conn, &stmt_teacher_insert, pt, NULL, err) < 0 || pg_commit(conn, err) < 0)
        goto fail;
    Dojo__Gamification__V1__CreateClassResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__CreateClassResponse,
                DOJO__GAMIFICATION__V1__CREATE_CLASS_RESPONSE__INIT);
    if (gam_classroom_read(g, call, conn, &id, slug, &resp->classroom, err) < 0)
        return -1;
    LOG_INFO("class created", "class=%s", slug);
    *out = &resp->base;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "create class");
}

int gam_rpc_get_class(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                      err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetClassRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    Dojo__Gamification__V1__GetClassResponse *resp = RPC_NEW(
        call, Dojo__Gamification__V1__GetClassResponse, DOJO__GAMIFICATION__V1__GET_CLASS_RESPONSE__INIT);
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, false, false, &cls, err) < 0 ||
        gam_classroom_read(g, call, conn, &id, cls.slug, &resp->classroom, err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
}

int gam_rpc_list_classes(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                         err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListClassesRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (req->all && !teaches_all(&id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "all: only admins list every class");
    if (id.kind != IDENTITY_USER && !req->all)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "all: services list every class");
    int64_t offset;
    int size;
    if (page_read(req->page, 50, 200, &offset, &size, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {id.kind == IDENTITY_USER ? id.claims.sub : NULL,
                       gam_i64(call, gam_now_us(g)),
                       teaches_all(&id) ? "true" : "false",
                       req->include_archived ? "true" : "false",
                       req->all ? "true" : "false",
                       gam_i64(call, size + 1),
                       gam_i64(call, offset)};
    if (gam_conn(g, &conn, err) < 0 || pg_exec(conn, &stmt_class_list, p, &r, err) < 0)
        return err_wrap(err, "list classes");
    int rows = PQntuples(r);
    bool more = rows > size;
    if (more)
        rows = size;
    Dojo__Gamification__V1__ListClassesResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListClassesResponse,
                DOJO__GAMIFICATION__V1__LIST_CLASSES_RESPONSE__INIT);
    resp->classes = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++)
        resp->classes[resp->n_classes++] = classroom_from_row(call, r, i);
    resp->page = page_info(call, offset, size, more, -1);
    *out = &resp->base;
    return 0;
}

int gam_rpc_update_class(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                         err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__UpdateClassRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, true, true, &cls, err) < 0)
        return -1;
    if ((req->title[0] && check_title(req->title, err) < 0) ||
        (req->update_description && check_description(req->description, err) < 0) ||
        (req->time_zone[0] && text_check_time_zone("time_zone", req->time_zone, err) < 0))
        return -1;
    const char *p[] = {cls.slug, req->title, req->description,
                       req->update_description ? "true" : "false", req->time_zone};
    if (pg_begin(conn, err) < 0 || pg_exec(conn, &stmt_class_update, p, NULL, err) < 0)
        goto fail;
    for (int attempt = 0; req->rotate_join_code; attempt++) {
        cleanup_pgresult PGresult *r = NULL;
        char code[CODE_LEN + 1];
        new_code(code);
        const char *pc[] = {cls.slug, code};
        if (pg_exec(conn, &stmt_class_new_code, pc, &r, err) < 0)
            goto fail;
        if (PQntuples(r) == 1)
            break;
        if (attempt == 5) {
            pg_rollback(conn);
            return err_set(err, GRPC_STATUS_ABORTED, "could not pick a free join code; try again");
        }
    }
    if (pg_commit(conn, err) < 0)
        goto fail;
    Dojo__Gamification__V1__UpdateClassResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__UpdateClassResponse,
                DOJO__GAMIFICATION__V1__UPDATE_CLASS_RESPONSE__INIT);
    if (gam_classroom_read(g, call, conn, &id, cls.slug, &resp->classroom, err) < 0)
        return -1;
    LOG_INFO("class updated", "class=%s new_code=%d", cls.slug, req->rotate_join_code);
    *out = &resp->base;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "update class");
}

int gam_rpc_archive_class(rpc_call_t *call, const ProtobufCMessage *req_msg,
                          ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ArchiveClassRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, true, false, &cls, err) < 0)
        return -1;
    const char *p[] = {cls.slug, req->restore ? "true" : "false", gam_i64(call, gam_now_us(g))};
    Dojo__Gamification__V1__ArchiveClassResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ArchiveClassResponse,
                DOJO__GAMIFICATION__V1__ARCHIVE_CLASS_RESPONSE__INIT);
    if (pg_exec(conn, &stmt_class_archive, p, NULL, err) < 0 ||
        gam_classroom_read(g, call, conn, &id, cls.slug, &resp->classroom, err) < 0)
        return err_wrap(err, "archive class");
    LOG_INFO(req->restore ? "class restored" : "class archived", "class=%s", cls.slug);
    *out = &resp->base;
    return 0;
}

int gam_rpc_delete_class(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                         err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__DeleteClassRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, true, false, &cls, err) < 0)
        return -1;
    if (!cls.archived)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "archive the class before deleting it");
    const char *p[] = {cls.slug};
    if (pg_begin(conn, err) < 0 || pg_exec(conn, &stmt_class_delete, p, NULL, err) < 0 ||
        gam_boards_invalidate(conn, err) < 0 || pg_commit(conn, err) < 0) {
        pg_rollback(conn);
        return err_wrap(err, "delete class");
    }
    LOG_INFO("class deleted", "class=%s", cls.slug);
    *out = &RPC_NEW(call, Dojo__Gamification__V1__DeleteClassResponse,
                    DOJO__GAMIFICATION__V1__DELETE_CLASS_RESPONSE__INIT)
                ->base;
    return 0;
}

/* "abcd-efgh", " ABCD EFGH " → "ABCDEFGH"; false when it cannot be a code. */
static bool normalise_code(const char *in, char out[CODE_LEN + 1])
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (n == CODE_LEN || !isalnum((unsigned char)*p))
            return false;
        out[n++] = (char)toupper((unsigned char)*p);
    }
    out[n] = '\0';
    return n == CODE_LEN;
}

int gam_rpc_join_class(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                       err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__JoinClassRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_USER)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only learners join classes");
    bool by_code = req->code[0] != '\0';
    if (by_code == (req->invite_token[0] != '\0'))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "code: give either a join code or an invitation token");
    char code[CODE_LEN + 1];
    if (by_code && !normalise_code(req->code, code))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no class has this code");
    if (!by_code && strlen(req->invite_token) > 128)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "this invitation is unknown, used or expired");

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (gam_conn(g, &conn, err) < 0 || pg_begin(conn, err) < 0)
        return -1;
    const char *now = gam_i64(call, gam_now_us(g));
    if (by_code) {
        const char *p[] = {code};
        if (pg_exec(conn, &stmt_class_by_code, p, &r, err) < 0)
            goto fail;
        if (PQntuples(r) == 0) {
            pg_rollback(conn);
            return err_set(err, GRPC_STATUS_NOT_FOUND, "no class has this code");
        }
    } else {
        char hash[65];
        gam_token_hash(req->invite_token, hash);
        const char *p[] = {hash, id.claims.sub, now};
        if (pg_exec(conn, &stmt_invite_take, p, &r, err) < 0)
            goto fail;
        if (PQntuples(r) == 0) {
            pg_rollback(conn);
            return err_set(err, GRPC_STATUS_NOT_FOUND,
                           "this invitation is unknown, used or expired");
        }
    }
    char slug[65];
    snprintf(slug, sizeof slug, "%s", pg_get(r, 0, 0));
    /* Joining needs no access yet: only the code or the invitation. */
    identity_t service = {.kind = IDENTITY_SERVICE};
    gam_class_t cls;
    if (gam_class_open(conn, &service, slug, false, false, &cls, err) < 0)
        goto fail;
    if (cls.archived) {
        pg_rollback(conn);
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "this class is archived");
    }
    gam_class_t mine;
    cleanup_err err_t *none = NULL;
    if (gam_class_open(conn, &id, slug, false, false, &mine, &none) == 0 &&
        mine.role == GAM_CLASS_TEACHER) {
        pg_rollback(conn);
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "you teach this class");
    }
    bool added = false;
    if (gam_class_add_member(g, call, conn, slug, id.claims.sub, id.claims.name, NULL, &added,
                             err) < 0 ||
        pg_commit(conn, err) < 0)
        goto fail;
    Dojo__Gamification__V1__JoinClassResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__JoinClassResponse,
                DOJO__GAMIFICATION__V1__JOIN_CLASS_RESPONSE__INIT);
    resp->joined = added;
    if (gam_classroom_read(g, call, conn, &id, slug, &resp->classroom, err) < 0)
        return -1;
    if (added)
        LOG_INFO("class joined", "class=%s by=%s", slug, by_code ? "code" : "invitation");
    *out = &resp->base;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "join class");
}

int gam_rpc_remove_class_member(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__RemoveClassMemberRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, false, false, &cls, err) < 0)
        return -1;
    const char *user = NULL;
    if (gam_subject(&id, req->user_id, false, false, &user, err) < 0) {
        /* Someone else: only the class's teachers may. */
        if ((*err)->code != GRPC_STATUS_PERMISSION_DENIED || cls.role != GAM_CLASS_TEACHER)
            return -1;
        err_clear(err);
        user = req->user_id;
    }
    bool removed = false;
    if (pg_begin(conn, err) < 0 || gam_cohort_member_remove(conn, cls.slug, user, &removed, err) < 0 ||
        pg_commit(conn, err) < 0) {
        pg_rollback(conn);
        return err_wrap(err, "remove member");
    }
    Dojo__Gamification__V1__RemoveClassMemberResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RemoveClassMemberResponse,
                DOJO__GAMIFICATION__V1__REMOVE_CLASS_MEMBER_RESPONSE__INIT);
    resp->removed = removed;
    if (resp->removed)
        LOG_INFO("class member removed", "class=%s member=%s", cls.slug, user);
    *out = &resp->base;
    return 0;
}

int gam_rpc_list_class_members(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListClassMembersRequest *req = (const void *)req_msg;
    identity_t id;
    gam_class_t cls;
    int64_t offset;
    int size;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 ||
        page_read(req->page, 100, 500, &offset, &size, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_class_open(conn, &id, req->class_id, true, false, &cls, err) < 0)
        return -1;
    cleanup_pgresult PGresult *r = NULL;
    cleanup_pgresult PGresult *inv = NULL;
    const char *p[] = {cls.slug, gam_i64(call, size + 1), gam_i64(call, offset)};
    const char *pi[] = {cls.slug, gam_i64(call, gam_now_us(g))};
    if (pg_exec(conn, &stmt_members, p, &r, err) < 0 ||
        (offset == 0 && pg_exec(conn, &stmt_invites, pi, &inv, err) < 0))
        return err_wrap(err, "list members");
    int rows = PQntuples(r);
    bool more = rows > size;
    if (more)
        rows = size;
    Dojo__Gamification__V1__ListClassMembersResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListClassMembersResponse,
                DOJO__GAMIFICATION__V1__LIST_CLASS_MEMBERS_RESPONSE__INIT);
    resp->members = rpc_alloc(call, ((size_t)rows + 1) * sizeof(void *));
    for (int i = 0; i < rows; i++) {
        Dojo__Gamification__V1__ClassMember *m = RPC_NEW(
            call, Dojo__Gamification__V1__ClassMember, DOJO__GAMIFICATION__V1__CLASS_MEMBER__INIT);
        m->user_id = rpc_strdup(call, pg_get(r, i, 0));
        m->display_name = rpc_strdup(call, pg_get(r, i, 1));
        m->joined_at = gam_timestamp(call, pg_get_int64(r, i, 2));
        m->last_active_at = gam_timestamp(call, pg_get_int64(r, i, 3));
        m->total_points = pg_get_int64(r, i, 4);
        resp->members[resp->n_members++] = m;
    }
    if (rows > 0 && gam_members_from_auth(g, call, resp->members, resp->n_members, err) < 0)
        return err_wrap(err, "list members");
    int ninv = inv ? PQntuples(inv) : 0;
    resp->invites = rpc_alloc(call, ((size_t)ninv + 1) * sizeof(void *));
    for (int i = 0; i < ninv; i++) {
        Dojo__Gamification__V1__ClassInvite *c = RPC_NEW(
            call, Dojo__Gamification__V1__ClassInvite, DOJO__GAMIFICATION__V1__CLASS_INVITE__INIT);
        c->email = rpc_strdup(call, pg_get(inv, i, 0));
        c->invited_at = gam_timestamp(call, pg_get_int64(inv, i, 1));
        c->expires_at = gam_timestamp(call, pg_get_int64(inv, i, 2));
        resp->invites[resp->n_invites++] = c;
    }
    resp->page = page_info(call, offset, size, more, -1);
    *out = &resp->base;
    return 0;
}
