/* profile.c — what gamification knows of a learner besides results: the
 * display name on boards, the IANA zone that decides their days (a change
 * takes effect at most once per 24 h, so hopping zones cannot stretch or
 * repeat a day; the zone chosen at sign-up is not a change), and whether
 * they hide from boards. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/text.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

#define PROFILE_COLUMNS                                                                            \
    "user_id::text, display_name, time_zone, " GAM_US(                                             \
        "time_zone_changed_at") ", "                                                               \
                                "leaderboard_opt_out, " GAM_US("created_at")

/* A profile made implicitly starts in UTC under the user id; no zone change
 * has taken effect yet, so the first real one applies at once. */
static const pg_stmt_t stmt_profile_ensure = {
    .name = "game_profile_ensure",
    .sql = "INSERT INTO game.profiles (user_id, display_name, created_at) "
           "VALUES ($1::uuid, $1, " GAM_TS(2) ") ON CONFLICT DO NOTHING",
    .nparams = 2,
};

static const pg_stmt_t stmt_profile_lock = {
    .name = "game_profile_lock",
    .sql = "SELECT time_zone, time_zone_changed_at IS NULL OR "
           "time_zone_changed_at <= " GAM_TS(
               2) " - interval '24 hours', leaderboard_opt_out, time_zone_changed_at IS NULL "
                  "FROM game.profiles WHERE user_id = $1::uuid FOR UPDATE",
    .nparams = 2,
};

/* $5: the zone chosen at sign-up, which is set without starting the 24 h. */
static const pg_stmt_t stmt_profile_update = {
    .name = "game_profile_update",
    .sql = "UPDATE game.profiles SET "
           "display_name = CASE WHEN $2 = '' THEN display_name ELSE $2 END, "
           "time_zone_changed_at = CASE WHEN $3 = '' OR $5::boolean THEN time_zone_changed_at "
           "  ELSE " GAM_TS(4) " END, "
                               "time_zone = CASE WHEN $3 = '' THEN time_zone ELSE $3 END "
                               "WHERE user_id = $1::uuid RETURNING " PROFILE_COLUMNS,
    .nparams = 5,
};

static const pg_stmt_t stmt_profile_opt_out = {
    .name = "game_profile_opt_out",
    .sql = "UPDATE game.profiles SET leaderboard_opt_out = $2::boolean WHERE user_id = $1::uuid "
           "RETURNING " PROFILE_COLUMNS,
    .nparams = 2,
};

static Dojo__Gamification__V1__UserProfile *profile_from_row(rpc_call_t *call, const PGresult *r)
{
    Dojo__Gamification__V1__UserProfile *p = RPC_NEW(call, Dojo__Gamification__V1__UserProfile,
                                                     DOJO__GAMIFICATION__V1__USER_PROFILE__INIT);
    p->user_id = rpc_strdup(call, pg_get(r, 0, 0));
    p->display_name = rpc_strdup(call, pg_get(r, 0, 1));
    p->time_zone = rpc_strdup(call, pg_get(r, 0, 2));
    p->time_zone_changed_at = gam_timestamp(call, pg_get_int64(r, 0, 3));
    p->leaderboard_opt_out = pg_get_bool(r, 0, 4);
    p->created_at = gam_timestamp(call, pg_get_int64(r, 0, 5));
    return p;
}

int gam_rpc_set_user_profile(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__SetUserProfileRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_SERVICE)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only services set profiles");
    if (!gam_is_uuid(req->user_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    if (req->time_zone[0] && text_check_time_zone("time_zone", req->time_zone, err) < 0)
        return -1;
    if (req->display_name[0] && text_check_display_name(req->display_name, err) < 0)
        return -1;

    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *lock = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *now = gam_i64(call, gam_now_us(g));
    const char *pe[] = {req->user_id, now};
    if (gam_conn(g, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        pg_exec(conn, &stmt_profile_ensure, pe, NULL, err) < 0 ||
        pg_exec(conn, &stmt_profile_lock, pe, &lock, err) < 0)
        return err_wrap(err, "set profile");
    bool differs = req->time_zone[0] && strcmp(req->time_zone, pg_get(lock, 0, 0)) != 0;
    bool applied = differs && pg_get_bool(lock, 0, 1);
    /* Only before any change took effect: a replayed registration cannot reset the 24 h. */
    bool initial = req->initial && pg_get_bool(lock, 0, 3);
    const char *p[] = {req->user_id, req->display_name, applied ? req->time_zone : "", now,
                       initial ? "true" : "false"};
    if (pg_exec(conn, &stmt_profile_update, p, &r, err) < 0 || pg_commit(conn, err) < 0)
        return err_wrap(err, "set profile");
    if (differs)
        LOG_INFO(initial   ? "time zone set at sign-up"
                 : applied ? "time zone changed"
                           : "time zone change refused (24 h rule)",
                 "target=%s zone=\"%s\"", req->user_id, log_esc(req->time_zone));
    Dojo__Gamification__V1__SetUserProfileResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__SetUserProfileResponse,
                DOJO__GAMIFICATION__V1__SET_USER_PROFILE_RESPONSE__INIT);
    resp->profile = profile_from_row(call, r);
    resp->time_zone_applied = applied;
    *out = &resp->base;
    return 0;
}

int gam_rpc_set_leaderboard_opt_out(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                    ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__SetLeaderboardOptOutRequest *req = (const void *)req_msg;
    identity_t id;
    const char *user = NULL;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0 ||
        gam_subject(&id, req->user_id, false, true, &user, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *lock = NULL;
    cleanup_pgresult PGresult *r = NULL;
    const char *pe[] = {user, gam_i64(call, gam_now_us(g))};
    const char *p[] = {user, req->opt_out ? "true" : "false"};
    if (gam_conn(g, &conn, err) < 0 || pg_begin(conn, err) < 0 ||
        pg_exec(conn, &stmt_profile_ensure, pe, NULL, err) < 0 ||
        pg_exec(conn, &stmt_profile_lock, pe, &lock, err) < 0)
        return err_wrap(err, "opt out");
    bool changed = pg_get_bool(lock, 0, 2) != req->opt_out;
    if (pg_exec(conn, &stmt_profile_opt_out, p, &r, err) < 0 ||
        (changed && gam_boards_invalidate(conn, err) < 0) || pg_commit(conn, err) < 0)
        return err_wrap(err, "opt out");
    if (changed)
        LOG_INFO(req->opt_out ? "left leaderboards" : "back on leaderboards", "target=%s", user);
    Dojo__Gamification__V1__SetLeaderboardOptOutResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__SetLeaderboardOptOutResponse,
                DOJO__GAMIFICATION__V1__SET_LEADERBOARD_OPT_OUT_RESPONSE__INIT);
    resp->profile = profile_from_row(call, r);
    *out = &resp->base;
    return 0;
}
