/* leaderboard.c — all-time, weekly and cohort boards as Redis sorted sets,
 * rebuilt from PostgreSQL (the truth) whenever they are missing or stale.
 *
 * Score: lower is better, read with ZRANGE ascending:
 *     (GAM_MAX_POINTS - points) * 1e10 + reached_at_seconds
 * so more points rank first, equal points rank by who reached them first,
 * and equal scores by member (user id) ascending, Redis' own tie order. The
 * largest score stays below 2^53, exact in a double.
 *
 * Staleness: next to each board key, "<key>:gen" holds the generation of
 * game.leaderboard_generation the board was built from, with a TTL
 * (DOJO_GAMIFICATION_BOARD_MAX_AGE) — "<gen>:empty" when it was built with
 * no member, since Redis keeps no key for an empty sorted set. A board whose
 * marker is missing, names another generation or expired, or whose key is
 * missing although it was built with members, is rebuilt on the next read;
 * an empty board is not rebuilt on every read (while nobody has points,
 * every sign-in used to rebuild it). Changes Redis cannot apply
 * incrementally (opt-out, cohort membership) bump the generation; awards move
 * one member in place, and only on a board that exists or was built empty (a
 * missing one is rebuilt instead). Rebuilds are one at a time per process,
 * and a reader that waited for another's rebuild looks again before its own,
 * so a wave of readers after a bump rebuilds a board once, not once each. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/page.h"

#define GAM_MAX_POINTS 900000LL
#define GAM_SCORE_SCALE 10000000000LL /* 1e10 */
#define GAM_WEEK_US ((int64_t)7 * 86400 * 1000000)
#define EMPTY_SUFFIX ":empty" /* a marker's suffix for a board built with no member */

typedef enum { BOARD_ALL = 1, BOARD_WEEK = 2, BOARD_COHORT = 3 } board_kind_t;

int64_t gam_week_start_us(int64_t us)
{
    int64_t day = us >= 0 ? us / 86400000000LL : (us - 86399999999LL) / 86400000000LL;
    int64_t weekday = ((day + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; Monday = 0 */
    return (day - weekday) * 86400000000LL;
}

static int64_t score_of(int64_t points, int64_t reached_us)
{
    if (points > GAM_MAX_POINTS)
        points = GAM_MAX_POINTS;
    int64_t s = reached_us / 1000000;
    if (s < 0)
        s = 0;
    if (s >= GAM_SCORE_SCALE)
        s = GAM_SCORE_SCALE - 1;
    return (GAM_MAX_POINTS - points) * GAM_SCORE_SCALE + s;
}

static void score_decode(const char *text, int64_t *points, int64_t *reached_us)
{
    int64_t score = (int64_t)strtod(text, NULL);
    *points = GAM_MAX_POINTS - score / GAM_SCORE_SCALE;
    *reached_us = (score % GAM_SCORE_SCALE) * 1000000;
}

static char *board_key(rpc_call_t *call, gam_t *g, board_kind_t kind, const char *cohort,
                       int64_t week_start_us)
{
    kvc_key_t k;
    switch (kind) {
    case BOARD_ALL:
        return rpc_strdup(call, kvc_key_board_all(&k, g->cfg.redis_prefix));
    case BOARD_WEEK:
        return rpc_strdup(call, kvc_key_board_week(&k, g->cfg.redis_prefix, week_start_us));
    default:
        return rpc_strdup(call, kvc_key_board_cohort(&k, g->cfg.redis_prefix, cohort));
    }
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_generation = {
    .name = "game_lb_generation",
    .sql = "SELECT generation FROM game.leaderboard_generation",
    .nparams = 0,
};

static const pg_stmt_t stmt_bump = {
    .name = "game_lb_bump",
    .sql = "UPDATE game.leaderboard_generation SET generation = generation + 1",
    .nparams = 0,
};

static const pg_stmt_t stmt_rows_all = {
    .name = "game_lb_rows_all",
    .sql = "SELECT s.user_id::text, s.total_points, " GAM_US(
        "s.points_reached_at") " "
                               "FROM game.stats s LEFT JOIN game.profiles p ON p.user_id = "
                               "s.user_id "
                               "WHERE s.total_points > 0 AND NOT coalesce(p.leaderboard_opt_out, "
                               "false)",
    .nparams = 0,
};

static const pg_stmt_t stmt_rows_week = {
    .name = "game_lb_rows_week",
    .sql = "SELECT v.user_id::text, sum(v.points), " GAM_US(
        "max(v.solved_at)") " "
                            "FROM game.solves v LEFT JOIN game.profiles p ON p.user_id = v.user_id "
                            "WHERE v.solved_at >= " GAM_TS(1) " AND v.solved_at < " GAM_TS(
                                2) " "
                                   "AND NOT coalesce(p.leaderboard_opt_out, false) "
                                   "GROUP BY v.user_id HAVING sum(v.points) > 0",
    .nparams = 2,
};

static const pg_stmt_t stmt_rows_cohort = {
    .name = "game_lb_rows_cohort",
    .sql = "SELECT s.user_id::text, s.total_points, " GAM_US(
        "s.points_reached_at") " "
                               "FROM game.cohort_members m JOIN game.stats s ON s.user_id = "
                               "m.user_id "
                               "LEFT JOIN game.profiles p ON p.user_id = m.user_id "
                               "WHERE m.cohort_slug = $1 AND s.total_points > 0 "
                               "AND NOT coalesce(p.leaderboard_opt_out, false)",
    .nparams = 1,
};

static const pg_stmt_t stmt_user_board_facts = {
    .name = "game_lb_user_facts",
    .sql = "SELECT coalesce((SELECT leaderboard_opt_out FROM game.profiles "
           "  WHERE user_id = $1::uuid), false), "
           "coalesce((SELECT sum(points) FROM game.solves WHERE user_id = $1::uuid "
           "  AND solved_at >= " GAM_TS(2) " AND solved_at < " GAM_TS(
               3) "), 0), "
                  "(SELECT " GAM_US(
                      "max(solved_at)") " FROM game.solves WHERE user_id = $1::uuid "
                                        "  AND solved_at >= " GAM_TS(2) " AND solved_at < " GAM_TS(
                                            3) "), "
                                               "coalesce((SELECT string_agg(cohort_slug, ',') FROM "
                                               "game.cohort_members "
                                               "  WHERE user_id = $1::uuid), '')",
    .nparams = 3,
};

static const pg_stmt_t stmt_names = {
    .name = "game_lb_names",
    .sql = "SELECT user_id::text, display_name, leaderboard_opt_out FROM game.profiles "
           "WHERE user_id = ANY($1::uuid[])",
    .nparams = 1,
};

int gam_boards_invalidate(pg_conn_t *conn, err_t **err)
{
    return pg_exec(conn, &stmt_bump, NULL, NULL, err);
}

/* ------------------------------------------------------------------------
 * Freshness and rebuilding
 * ------------------------------------------------------------------------ */

static int rebuild(gam_t *g, rpc_call_t *call, pg_conn_t *conn, board_kind_t kind, const char *key,
                   const char *cohort, int64_t week_start, const char *gen, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    int rc;
    if (kind == BOARD_ALL) {
        rc = pg_exec(conn, &stmt_rows_all, NULL, &r, err);
    } else if (kind == BOARD_WEEK) {
        const char *p[] = {gam_i64(call, week_start), gam_i64(call, week_start + GAM_WEEK_US)};
        rc = pg_exec(conn, &stmt_rows_week, p, &r, err);
    } else {
        const char *p[] = {cohort};
        rc = pg_exec(conn, &stmt_rows_cohort, p, &r, err);
    }
    if (rc < 0)
        return err_wrap(err, "board rows");
    int n = PQntuples(r);
    const char **zadd = rpc_alloc(call, (size_t)(2 + 2 * n) * sizeof(char *));
    zadd[0] = "ZADD";
    zadd[1] = key;
    for (int i = 0; i < n; i++) {
        zadd[2 + 2 * i] = gam_i64(call, score_of(pg_get_int64(r, i, 1), pg_get_int64(r, i, 2)));
        zadd[3 + 2 * i] = pg_get(r, i, 0);
    }
    kvc_key_t marker;
    kvc_key_board_marker(&marker, key);
    const char *ttl = gam_i64(call, g->cfg.board_max_age_s);
    const char *week_ttl = gam_i64(call, KVC_BOARD_WEEK_TTL_S);
    const char *multi[] = {"MULTI"};
    const char *del[] = {"DEL", key};
    const char *mark = n > 0 ? gen : rpc_sprintf(call, "%s" EMPTY_SUFFIX, gen);
    const char *set[] = {"SET", marker.s, mark, "EX", ttl};
    const char *expire[] = {"EXPIRE", key, week_ttl};
    const char *exec[] = {"EXEC"};
    kv_cmd_t cmds[6];
    size_t nc = 0;
    cmds[nc++] = (kv_cmd_t){1, multi, NULL};
    cmds[nc++] = (kv_cmd_t){2, del, NULL};
    if (n > 0)
        cmds[nc++] = (kv_cmd_t){2 + 2 * n, zadd, NULL};
    if (n > 0 && kind == BOARD_WEEK)
        cmds[nc++] = (kv_cmd_t){3, expire, NULL};
    cmds[nc++] = (kv_cmd_t){5, set, NULL};
    cmds[nc++] = (kv_cmd_t){1, exec, NULL};
    redisReply *replies[6] = {0};
    if (kv_pipeline(g->kv, cmds, nc, replies, err) < 0)
        return err_wrap(err, "rebuild board");
    for (size_t i = 0; i < nc; i++)
        freeReplyObject(replies[i]);
    LOG_INFO("leaderboard rebuilt", "board=\"%s\" entries=%d", log_esc(key), n);
    return 0;
}

/* Whether the board at `key` was built from generation `gen` and is whole. */
static int board_is_fresh(gam_t *g, const char *key, const char *gen, bool *out, err_t **err)
{
    kvc_key_t marker;
    const char *get[] = {"GET", kvc_key_board_marker(&marker, key)};
    const char *exists[] = {"EXISTS", key};
    kv_cmd_t cmds[] = {{2, get, NULL}, {2, exists, NULL}};
    redisReply *rep[2] = {0};
    if (kv_pipeline(g->kv, cmds, 2, rep, err) < 0)
        return err_wrap(err, "board marker");
    *out = false;
    if (rep[0]->type == REDIS_REPLY_STRING) {
        size_t gl = strlen(gen);
        bool same_gen = !strncmp(rep[0]->str, gen, gl);
        const char *rest = rep[0]->str + (same_gen ? gl : 0);
        bool has_key = rep[1]->type == REDIS_REPLY_INTEGER && rep[1]->integer == 1;
        *out = same_gen && ((*rest == '\0' && has_key) || !strcmp(rest, EMPTY_SUFFIX));
    }
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return 0;
}

/* One rebuild at a time in this process (see the top of the file). */
static pthread_mutex_t rebuild_lock = PTHREAD_MUTEX_INITIALIZER;

/* Makes sure the board at `key` reflects PostgreSQL; rebuilds it if not. */
static int ensure_fresh(gam_t *g, rpc_call_t *call, pg_conn_t *conn, board_kind_t kind,
                        const char *key, const char *cohort, int64_t week_start, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_generation, NULL, &r, err) < 0)
        return err_wrap(err, "board generation");
    const char *gen = pg_get(r, 0, 0);
    bool fresh = false;
    if (board_is_fresh(g, key, gen, &fresh, err) < 0)
        return -1;
    if (fresh)
        return 0;
    pthread_mutex_lock(&rebuild_lock);
    int rc = board_is_fresh(g, key, gen, &fresh, err);
    if (rc == 0 && !fresh)
        rc = rebuild(g, call, conn, kind, key, cohort, week_start, gen, err);
    pthread_mutex_unlock(&rebuild_lock);
    return rc;
}

/* ------------------------------------------------------------------------
 * Awards
 * ------------------------------------------------------------------------ */

/* Moves a member only on a board that exists or was built empty (its
 * marker then loses the suffix: the board has a member now). A missing board
 * is rebuilt from PostgreSQL on its next read instead of being started
 * half-empty. KEYS[1] the board, KEYS[2] its marker. */
static const char *const zadd_if_exists =
    "if redis.call('EXISTS', KEYS[1]) == 1 then "
    "  return redis.call('ZADD', KEYS[1], 'LT', ARGV[1], ARGV[2]) end "
    "local m = redis.call('GET', KEYS[2]) "
    "if m and string.sub(m, -#ARGV[3]) == ARGV[3] then "
    "  redis.call('SET', KEYS[2], string.sub(m, 1, #m - #ARGV[3]), 'KEEPTTL') "
    "  return redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) end "
    "return 0";

static void board_move(gam_t *g, const char *key, int64_t score, const char *user)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, score);
    kvc_key_t marker;
    const char *argv[] = {"EVAL", zadd_if_exists, "2", key, kvc_key_board_marker(&marker, key),
                          s, user, EMPTY_SUFFIX};
    cleanup_redis_reply redisReply *rep = NULL;
    cleanup_err err_t *err = NULL;
    if (kv_command_argv(g->kv, &rep, 8, argv, NULL, &err) < 0)
        LOG_WARN("leaderboard not updated; it will be rebuilt", "board=\"%s\" error=\"%s\"",
                 log_esc(key), log_esc(err->msg));
}

void gam_board_award(gam_t *g, pg_conn_t *conn, const char *user_id, int64_t total_points,
                     int64_t reached_us, int64_t at_us)
{
    int64_t ws = gam_week_start_us(at_us);
    char ws_s[32], we_s[32];
    snprintf(ws_s, sizeof ws_s, "%" PRId64, ws);
    snprintf(we_s, sizeof we_s, "%" PRId64, (int64_t)(ws + GAM_WEEK_US));
    cleanup_pgresult PGresult *r = NULL;
    cleanup_err err_t *err = NULL;
    const char *p[] = {user_id, ws_s, we_s};
    if (pg_exec(conn, &stmt_user_board_facts, p, &r, &err) < 0) {
        LOG_WARN("leaderboard not updated; it will be rebuilt", "error=\"%s\"", log_esc(err->msg));
        return;
    }
    if (pg_get_bool(r, 0, 0))
        return; /* opted out: on no board */
    int64_t all_score = score_of(total_points, reached_us);
    kvc_key_t key;
    board_move(g, kvc_key_board_all(&key, g->cfg.redis_prefix), all_score, user_id);
    board_move(g, kvc_key_board_week(&key, g->cfg.redis_prefix, ws),
               score_of(pg_get_int64(r, 0, 1), pg_get_int64(r, 0, 2)), user_id);

    char *cohorts = xstrdup(pg_get(r, 0, 3));
    char *save = NULL;
    for (char *c = strtok_r(cohorts, ",", &save); c; c = strtok_r(NULL, ",", &save))
        board_move(g, kvc_key_board_cohort(&key, g->cfg.redis_prefix, c), all_score, user_id);
    free(cohorts);
}

int gam_all_time_rank(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *user_id,
                      int64_t *out, err_t **err)
{
    const char *key = board_key(call, g, BOARD_ALL, NULL, 0);
    *out = 0;
    if (ensure_fresh(g, call, conn, BOARD_ALL, key, NULL, 0, err) < 0)
        return -1;
    cleanup_redis_reply redisReply *rep = NULL;
    if (kv_command(g->kv, &rep, err, "ZRANK %s %s", key, user_id) < 0)
        return -1;
    if (rep->type == REDIS_REPLY_INTEGER)
        *out = rep->integer + 1;
    return 0;
}

/* ------------------------------------------------------------------------
 * GetLeaderboard
 * ------------------------------------------------------------------------ */

static Dojo__Gamification__V1__LeaderboardEntry *entry_new(rpc_call_t *call, const char *user)
{
    Dojo__Gamification__V1__LeaderboardEntry *e =
        RPC_NEW(call, Dojo__Gamification__V1__LeaderboardEntry,
                DOJO__GAMIFICATION__V1__LEADERBOARD_ENTRY__INIT);
    e->user_id = rpc_strdup(call, user);
    e->display_name = e->user_id;
    return e;
}

int gam_rpc_get_leaderboard(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetLeaderboardRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    board_kind_t kind;
    switch (req->board) {
    case DOJO__GAMIFICATION__V1__BOARD__BOARD_ALL_TIME:
        kind = BOARD_ALL;
        break;
    case DOJO__GAMIFICATION__V1__BOARD__BOARD_WEEKLY:
        kind = BOARD_WEEK;
        break;
    case DOJO__GAMIFICATION__V1__BOARD__BOARD_COHORT:
        kind = BOARD_COHORT;
        break;
    default:
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "board: must be BOARD_ALL_TIME, BOARD_WEEKLY or BOARD_COHORT");
    }
    if (kind == BOARD_COHORT && gam_check_slug("cohort_slug", req->cohort_slug, true, err) < 0)
        return -1;
    const char *own_user = NULL;
    if (req->user_id[0]) {
        if (!gam_is_uuid(req->user_id))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
        own_user = req->user_id;
    } else if (id.kind == IDENTITY_USER) {
        own_user = id.claims.sub;
    }
    int64_t offset;
    int size;
    if (page_read(req->page, 50, 100, &offset, &size, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    if (gam_conn(g, &conn, err) < 0)
        return -1;
    if (kind == BOARD_COHORT) {
        bool exists = false, member = false;
        if (gam_cohort_membership(conn, req->cohort_slug,
                                  id.kind == IDENTITY_USER ? id.claims.sub : NULL, &exists, &member,
                                  err) < 0)
            return -1;
        if (!exists)
            return err_set(err, GRPC_STATUS_NOT_FOUND, "no such cohort");
        bool teaches = false;
        if (!member && id.kind == IDENTITY_USER &&
            gam_teaches_class(conn, req->cohort_slug, id.claims.sub, &teaches, err) < 0)
            return -1;
        if (!member && !teaches && !identity_is_author(&id))
            return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                           "only members of this cohort may read its board");
    }
    return gam_board_page(g, call, conn, kind, req->cohort_slug, offset, size, own_user,
                          (Dojo__Gamification__V1__GetLeaderboardResponse **)out, err);
}

int gam_board_page(gam_t *g, rpc_call_t *call, pg_conn_t *conn, int board, const char *cohort,
                   int64_t offset, int size, const char *own_user,
                   Dojo__Gamification__V1__GetLeaderboardResponse **out, err_t **err)
{
    board_kind_t kind = (board_kind_t)board;
    int64_t now = gam_now_us(g);
    int64_t ws = gam_week_start_us(now);
    const char *key = board_key(call, g, kind, cohort, ws);
    if (ensure_fresh(g, call, conn, kind, key, cohort, ws, err) < 0)
        return err_wrap(err, "leaderboard");

    const char *start = gam_i64(call, offset), *stop = gam_i64(call, offset + size - 1);
    const char *range[] = {"ZRANGE", key, start, stop, "WITHSCORES"};
    const char *card[] = {"ZCARD", key};
    const char *rank[] = {"ZRANK", key, own_user ? own_user : ""};
    const char *score[] = {"ZSCORE", key, own_user ? own_user : ""};
    kv_cmd_t cmds[] = {{5, range, NULL}, {2, card, NULL}, {3, rank, NULL}, {3, score, NULL}};
    redisReply *rep[4] = {0};
    if (kv_pipeline(g->kv, cmds, own_user ? 4 : 2, rep, err) < 0)
        return err_wrap(err, "leaderboard");

    Dojo__Gamification__V1__GetLeaderboardResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetLeaderboardResponse,
                DOJO__GAMIFICATION__V1__GET_LEADERBOARD_RESPONSE__INIT);
    size_t n = rep[0]->type == REDIS_REPLY_ARRAY ? rep[0]->elements / 2 : 0;
    resp->entries = rpc_alloc(call, (n + 1) * sizeof(void *));
    /* The ids of this page and the own learner, as a PostgreSQL array. */
    size_t idlen = (n + 1) * 40 + 3;
    char *ids = rpc_alloc(call, idlen);
    strcat(ids, "{");
    for (size_t i = 0; i < n; i++) {
        Dojo__Gamification__V1__LeaderboardEntry *e = entry_new(call, rep[0]->element[2 * i]->str);
        int64_t reached;
        score_decode(rep[0]->element[2 * i + 1]->str, &e->points, &reached);
        e->reached_at = gam_timestamp(call, reached);
        e->rank = offset + (int64_t)i + 1;
        resp->entries[resp->n_entries++] = e;
        if (gam_is_uuid(e->user_id)) {
            strcat(ids, e->user_id);
            strcat(ids, ",");
        }
    }
    int64_t total = rep[1]->type == REDIS_REPLY_INTEGER ? rep[1]->integer : 0;
    if (own_user) {
        resp->own = entry_new(call, own_user);
        if (rep[2]->type == REDIS_REPLY_INTEGER && rep[3]->type == REDIS_REPLY_STRING) {
            int64_t reached;
            resp->own->rank = rep[2]->integer + 1;
            score_decode(rep[3]->str, &resp->own->points, &reached);
            resp->own->reached_at = gam_timestamp(call, reached);
        }
        strcat(ids, own_user);
        strcat(ids, ",");
    }
    for (int i = 0; i < (own_user ? 4 : 2); i++)
        freeReplyObject(rep[i]);
    size_t l = strlen(ids);
    if (ids[l - 1] == ',')
        ids[l - 1] = '}';
    else
        strcat(ids, "}");

    cleanup_pgresult PGresult *names = NULL;
    const char *pn[] = {ids};
    if (pg_exec(conn, &stmt_names, pn, &names, err) < 0)
        return err_wrap(err, "leaderboard names");
    for (int j = 0; j < PQntuples(names); j++) {
        const char *uid = pg_get(names, j, 0);
        for (size_t i = 0; i < resp->n_entries; i++)
            if (!strcasecmp(resp->entries[i]->user_id, uid))
                resp->entries[i]->display_name = rpc_strdup(call, pg_get(names, j, 1));
        if (resp->own && !strcasecmp(resp->own->user_id, uid)) {
            resp->own->display_name = rpc_strdup(call, pg_get(names, j, 1));
            resp->own_opted_out = pg_get_bool(names, j, 2);
        }
    }
    resp->page = page_info(call, offset, size, offset + size < total, total);
    if (kind == BOARD_WEEK) {
        resp->week_start = gam_timestamp(call, ws);
        resp->week_end = gam_timestamp(call, ws + GAM_WEEK_US);
    }
    *out = resp;
    return 0;
}
