/* accounts.c — register, login, refresh, logout, password reset and change,
 * and the caller's own account (GET/PATCH /api/v1/me).
 *
 * Register, login and forgot spend the client address's anonymous budget
 * (limits.c) once their body is well-formed; auth keeps its own throttles
 * of failed logins and reset mails besides.
 *
 * Browser sessions live in cookies the page's scripts cannot read (dojo_at,
 * dojo_rt) plus a readable CSRF token (dojo_csrf) for the double-submit check;
 * API clients ask for "session":"token" and get the tokens in the body. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

#define AUTH_SVC (&dojo__auth__v1__auth__descriptor)
#define GAME_SVC (&dojo__gamification__v1__gamification__descriptor)

static int64_t max_age_s(const Dojo__Common__V1__Timestamp *ts)
{
    if (ts == NULL)
        return 0;
    int64_t left = ts->unix_micros / 1000000 - (int64_t)time(NULL);
    return left > 0 ? left : 0;
}

static bool secure(gw_req_t *r)
{
    if (r->gw->cfg.secure_cookies)
        return true;
    const char *proto = r->gw->cfg.trust_proxy ? gw_header(r, "X-Forwarded-Proto") : NULL;
    return proto && !strcasecmp(proto, "https");
}

static void cookie(gw_req_t *r, const char *name, const char *value, const char *path,
                   int64_t max_age, bool http_only)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s=%s; Path=%s; Max-Age=%lld; SameSite=Strict%s%s", name, value,
             path, (long long)max_age, http_only ? "; HttpOnly" : "",
             secure(r) ? "; Secure" : "");
    gw_set_cookie(r, buf);
}

static void clear_cookies(gw_req_t *r)
{
    cookie(r, "dojo_at", "", "/api", 0, true);
    cookie(r, "dojo_rt", "", "/api/v1/auth", 0, true);
    cookie(r, "dojo_csrf", "", "/", 0, false);
}

/* Reads "session": "cookie" (default) or "token". */
static int session_mode(json_t *body, bool *token_mode, err_t **err)
{
    const char *mode = NULL;
    if (gw_json_str(body, "session", false, 16, &mode, err) < 0)
        return -1;
    *token_mode = false;
    if (mode == NULL || !strcmp(mode, "cookie"))
        return 0;
    if (!strcmp(mode, "token")) {
        *token_mode = true;
        return 0;
    }
    return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "session: must be \"cookie\" or \"token\"");
}

/* The answer to a successful login, register or refresh. */
static void session_reply(gw_req_t *r, const Dojo__Auth__V1__TokenPair *pair, bool token_mode,
                          int status)
{
    json_t *o = json_pack("{s:o,s:o,s:o}", "user", gw_json_user(pair->user, true),
                          "access_expires_at", gw_json_time(pair->access_expires_at),
                          "refresh_expires_at", gw_json_time(pair->refresh_expires_at));
    if (token_mode) {
        json_object_set_new(o, "access_token", json_string(pair->access_token));
        json_object_set_new(o, "refresh_token", json_string(pair->refresh_token));
    } else {
        unsigned char rnd[24];
        char csrf[sizeof rnd * 2 + 1];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(csrf, sizeof csrf, rnd, sizeof rnd);
        int64_t rt_age = max_age_s(pair->refresh_expires_at);
        cookie(r, "dojo_at", pair->access_token, "/api", max_age_s(pair->access_expires_at), true);
        cookie(r, "dojo_rt", pair->refresh_token, "/api/v1/auth", rt_age, true);
        cookie(r, "dojo_csrf", csrf, "/", rt_age, false);
        json_object_set_new(o, "csrf_token", json_string(csrf));
    }
    r->status = status;
    r->out = o;
}

/* The User-Agent kept with a session: at most 255 bytes of valid UTF-8, in
 * buf (cap bytes), or "". */
static const char *session_user_agent(gw_req_t *r, char *buf, size_t cap)
{
    const char *ua = gw_header(r, "User-Agent");
    snprintf(buf, cap, "%s", ua ? ua : "");
    json_t *check = json_string(buf); /* a cut may split a UTF-8 sequence */
    const char *out = check ? buf : "";
    json_decref(check);
    return out;
}

/* Options for a call that hashes a password in auth: three times the usual
 * deadline. These calls are few at a time (the sign-in workers), and a hash
 * on a starved auth outlasted 5 s: auth finished it, the gateway had
 * answered 504 already, and the learner was not signed in. */
static rpc_call_opts_t hashing_opts(gw_req_t *r, const char *const *md)
{
    rpc_call_opts_t o = gw_opts(r, md, false);
    o.timeout_ms = o.timeout_ms > 20000 ? 60000 : o.timeout_ms * 3;
    return o;
}

static int login_call(gw_req_t *r, const char *login, const char *password,
                      Dojo__Auth__V1__TokenPair **out, err_t **err)
{
    Dojo__Auth__V1__LoginRequest req = DOJO__AUTH__V1__LOGIN_REQUEST__INIT;
    req.login = (char *)login;
    req.password = (char *)password;
    req.client_ip = r->client_ip;
    char uabuf[256];
    req.user_agent = (char *)session_user_agent(r, uabuf, sizeof uabuf);
    rpc_call_opts_t o = hashing_opts(r, NULL);
    return rpc_client_call(r->gw->auth, AUTH_SVC, "Login", &req.base, (ProtobufCMessage **)out,
                           &o, err);
}

int gw_h_register(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    const char *email, *username, *password, *tz, *name;
    bool token_mode = false;
    if (gw_json_str(body, "email", true, 254, &email, err) < 0 ||
        gw_json_str(body, "username", true, 32, &username, err) < 0 ||
        gw_json_str(body, "password", true, 1024, &password, err) < 0 ||
        gw_json_str(body, "time_zone", false, 64, &tz, err) < 0 ||
        gw_json_str(body, "display_name", false, 256, &name, err) < 0 ||
        session_mode(body, &token_mode, err) < 0 ||
        gw_limit_take(r, GW_LIMIT_ANONYMOUS, err) < 0)
        return -1;
    {
        Dojo__Auth__V1__SignUpRequest req = DOJO__AUTH__V1__SIGN_UP_REQUEST__INIT;
        req.email = (char *)email;
        req.username = (char *)username;
        req.password = (char *)password;
        req.time_zone = (char *)(tz ? tz : "");
        req.display_name = (char *)(name ? name : "");
        /* Signed in by the same call: one password hash per registration. */
        req.open_session = true;
        req.client_ip = r->client_ip;
        char uabuf[256];
        req.user_agent = (char *)session_user_agent(r, uabuf, sizeof uabuf);
        cleanup_pb ProtobufCMessage *resp = NULL;
        rpc_call_opts_t o = hashing_opts(r, NULL);
        if (rpc_client_call(r->gw->auth, AUTH_SVC, "SignUp", &req.base, &resp, &o, err) < 0)
            return -1;
        Dojo__Auth__V1__SignUpResponse *sr = (Dojo__Auth__V1__SignUpResponse *)resp;
        const Dojo__Auth__V1__User *u = sr->user;
        /* Gamification learns about the learner now (zone, leaderboard name). */
        Dojo__Gamification__V1__SetUserProfileRequest preq =
            DOJO__GAMIFICATION__V1__SET_USER_PROFILE_REQUEST__INIT;
        preq.user_id = u ? u->id : "";
        preq.time_zone = u ? u->time_zone : "";
        preq.display_name = u ? u->display_name : "";
        preq.initial = true; /* the zone chosen at sign-up does not start the 24 h */
        cleanup_pb ProtobufCMessage *presp = NULL;
        rpc_call_opts_t po = gw_opts(r, gw_md_service(r), true);
        cleanup_err err_t *perr = NULL;
        if (rpc_client_call(r->gw->game, GAME_SVC, "SetUserProfile", &preq.base, &presp, &po,
                            &perr) < 0)
            LOG_WARN("profile not created at registration", "user=%s error=\"%s\"",
                     u ? u->id : "?", log_esc(perr->msg));
        if (sr->session) {
            session_reply(r, sr->session, token_mode, 201);
            return 0;
        }
        cleanup_pb Dojo__Auth__V1__TokenPair *pair = NULL;
        if (login_call(r, username, password, &pair, err) < 0)
            return -1;
        session_reply(r, pair, token_mode, 201);
    }
    return 0;
}

int gw_h_login(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    const char *login, *password;
    bool token_mode = false;
    if (gw_json_str(body, "login", true, 254, &login, err) < 0 ||
        gw_json_str(body, "password", true, 1024, &password, err) < 0 ||
        session_mode(body, &token_mode, err) < 0 ||
        gw_limit_take(r, GW_LIMIT_ANONYMOUS, err) < 0)
        return -1;
    {
        cleanup_pb Dojo__Auth__V1__TokenPair *pair = NULL;
        if (login_call(r, login, password, &pair, err) < 0)
            return -1;
        session_reply(r, pair, token_mode, 200);
    }
    return 0;
}

int gw_h_refresh(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    if (gw_body_json(r, true, &body, err) < 0)
        return -1;
    const char *tok = NULL;
    if (gw_json_str(body, "refresh_token", false, 1024, &tok, err) < 0)
        return -1;
    bool token_mode = tok != NULL;
    if (!token_mode) {
        if (gw_req_csrf(r, err) < 0)
            return -1;
        tok = gw_cookie(r, "dojo_rt");
    }
    if (tok == NULL || *tok == '\0' || strlen(tok) > 1024) {
        err_set(err, GRPC_STATUS_UNAUTHENTICATED, "no session to refresh; sign in");
        return -1;
    }
    {
        Dojo__Auth__V1__RefreshRequest req = DOJO__AUTH__V1__REFRESH_REQUEST__INIT;
        req.refresh_token = (char *)tok;
        req.client_ip = r->client_ip;
        cleanup_pb Dojo__Auth__V1__TokenPair *pair = NULL;
        rpc_call_opts_t o = gw_opts(r, NULL, false);
        if (rpc_client_call(r->gw->auth, AUTH_SVC, "Refresh", &req.base,
                            (ProtobufCMessage **)&pair, &o, err) < 0) {
            if (*err && (*err)->code == GRPC_STATUS_UNAUTHENTICATED && !token_mode)
                clear_cookies(r);
            return -1;
        }
        session_reply(r, pair, token_mode, 200);
    }
    return 0;
}

int gw_h_logout(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    if (gw_body_json(r, true, &body, err) < 0)
        return -1;
    const char *tok = NULL;
    bool all = false;
    if (gw_json_str(body, "refresh_token", false, 1024, &tok, err) < 0 ||
        gw_json_bool(body, "all_sessions", &all, err) < 0)
        return -1;
    if (tok == NULL) {
        if (gw_req_csrf(r, err) < 0)
            return -1;
        tok = gw_cookie(r, "dojo_rt");
    }
    if (tok && *tok && strlen(tok) <= 1024) {
        Dojo__Auth__V1__LogoutRequest req = DOJO__AUTH__V1__LOGOUT_REQUEST__INIT;
        req.refresh_token = (char *)tok;
        req.all_sessions = all;
        cleanup_pb ProtobufCMessage *resp = NULL;
        rpc_call_opts_t o = gw_opts(r, NULL, true);
        if (rpc_client_call(r->gw->auth, AUTH_SVC, "Logout", &req.base, &resp, &o, err) < 0)
            return -1;
    }
    clear_cookies(r);
    r->status = 204;
    return 0;
}

int gw_h_forgot(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    const char *email;
    if (gw_json_str(body, "email", true, 254, &email, err) < 0 ||
        gw_limit_take(r, GW_LIMIT_ANONYMOUS, err) < 0)
        return -1;
    {
        Dojo__Auth__V1__RequestPasswordResetRequest req =
            DOJO__AUTH__V1__REQUEST_PASSWORD_RESET_REQUEST__INIT;
        req.email = (char *)email;
        req.client_ip = r->client_ip;
        cleanup_pb ProtobufCMessage *resp = NULL;
        rpc_call_opts_t o = gw_opts(r, NULL, false);
        if (rpc_client_call(r->gw->auth, AUTH_SVC, "RequestPasswordReset", &req.base, &resp, &o,
                            err) < 0)
            return -1;
        r->status = 202;
    }
    return 0;
}

int gw_h_reset(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    const char *tok, *pw;
    if (gw_json_str(body, "token", true, 1024, &tok, err) < 0 ||
        gw_json_str(body, "new_password", true, 1024, &pw, err) < 0)
        return -1;
    {
        Dojo__Auth__V1__ResetPasswordRequest req = DOJO__AUTH__V1__RESET_PASSWORD_REQUEST__INIT;
        req.token = (char *)tok;
        req.new_password = (char *)pw;
        cleanup_pb ProtobufCMessage *resp = NULL;
        rpc_call_opts_t o = hashing_opts(r, NULL);
        if (rpc_client_call(r->gw->auth, AUTH_SVC, "ResetPassword", &req.base, &resp, &o, err) <
            0)
            return -1;
        r->status = 204;
    }
    return 0;
}

int gw_h_password(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    const char *cur, *pw;
    if (gw_json_str(body, "current_password", true, 1024, &cur, err) < 0 ||
        gw_json_str(body, "new_password", true, 1024, &pw, err) < 0)
        return -1;
    {
        Dojo__Auth__V1__ChangePasswordRequest req = DOJO__AUTH__V1__CHANGE_PASSWORD_REQUEST__INIT;
        req.current_password = (char *)cur;
        req.new_password = (char *)pw;
        cleanup_pb ProtobufCMessage *resp = NULL;
        rpc_call_opts_t o = hashing_opts(r, gw_md_user(r));
        if (rpc_client_call(r->gw->auth, AUTH_SVC, "ChangePassword", &req.base, &resp, &o, err) <
            0)
            return -1;
        if (r->via_cookie)
            clear_cookies(r);
        r->status = 204;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The caller's own account
 * ------------------------------------------------------------------------ */

/* Whether the caller is hidden from leaderboards: gamification tells it with
 * the caller's own leaderboard entry. */
static int opted_out(gw_req_t *r, bool *out, err_t **err)
{
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    page.page_size = 1;
    Dojo__Gamification__V1__GetLeaderboardRequest req =
        DOJO__GAMIFICATION__V1__GET_LEADERBOARD_REQUEST__INIT;
    req.board = DOJO__GAMIFICATION__V1__BOARD__BOARD_ALL_TIME;
    req.page = &page;
    cleanup_pb ProtobufCMessage *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->game, GAME_SVC, "GetLeaderboard", &req.base, &resp, &o, err) < 0)
        return -1;
    *out = ((Dojo__Gamification__V1__GetLeaderboardResponse *)resp)->own_opted_out;
    return 0;
}

static int get_user(gw_req_t *r, Dojo__Auth__V1__GetUserResponse **out, err_t **err)
{
    Dojo__Auth__V1__GetUserRequest req = DOJO__AUTH__V1__GET_USER_REQUEST__INIT;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    return rpc_client_call(r->gw->auth, AUTH_SVC, "GetUser", &req.base, (ProtobufCMessage **)out,
                           &o, err);
}

int gw_h_me_get(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    cleanup_pb Dojo__Auth__V1__GetUserResponse *u = NULL;
    if (get_user(r, &u, err) < 0)
        return -1;
    bool out = false;
    cleanup_err err_t *oerr = NULL;
    if (opted_out(r, &out, &oerr) < 0)
        LOG_WARN("opt-out unknown", "error=\"%s\"", log_esc(oerr->msg));
    r->out = json_pack("{s:o,s:b}", "user", gw_json_user(u->user, true), "leaderboard_opt_out",
                       out);
    r->status = 200;
    return 0;
}

int gw_h_me_patch(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    const char *name, *tz;
    bool opt = false, have_opt = json_object_get(body, "leaderboard_opt_out") != NULL;
    bool applied = false;
    cleanup_pb Dojo__Auth__V1__UpdateProfileResponse *up = NULL;
    cleanup_pb Dojo__Auth__V1__GetUserResponse *cur = NULL;
    if (gw_json_str(body, "display_name", false, 256, &name, err) < 0 ||
        gw_json_str(body, "time_zone", false, 64, &tz, err) < 0 ||
        gw_json_bool(body, "leaderboard_opt_out", &opt, err) < 0)
        return -1;
    if (name && *name == '\0') {
        err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "display_name: must not be empty");
        return -1;
    }
    if (tz && *tz == '\0') {
        err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "time_zone: must not be empty");
        return -1;
    }
    const Dojo__Auth__V1__User *user = NULL;
    if (name || tz) {
        Dojo__Auth__V1__UpdateProfileRequest req = DOJO__AUTH__V1__UPDATE_PROFILE_REQUEST__INIT;
        req.display_name = (char *)(name ? name : "");
        req.time_zone = (char *)(tz ? tz : "");
        rpc_call_opts_t o = gw_opts(r, gw_md_user(r), false);
        if (rpc_client_call(r->gw->auth, AUTH_SVC, "UpdateProfile", &req.base,
                            (ProtobufCMessage **)&up, &o, err) < 0)
            return -1;
        user = up->user;
        Dojo__Gamification__V1__SetUserProfileRequest preq =
            DOJO__GAMIFICATION__V1__SET_USER_PROFILE_REQUEST__INIT;
        preq.user_id = r->claims.sub;
        preq.time_zone = (char *)(tz ? tz : "");
        preq.display_name = (char *)(name ? name : "");
        cleanup_pb ProtobufCMessage *presp = NULL;
        rpc_call_opts_t po = gw_opts(r, gw_md_service(r), true);
        if (rpc_client_call(r->gw->game, GAME_SVC, "SetUserProfile", &preq.base, &presp, &po,
                            err) < 0)
            return -1;
        applied = ((Dojo__Gamification__V1__SetUserProfileResponse *)presp)->time_zone_applied;
    }
    if (have_opt) {
        Dojo__Gamification__V1__SetLeaderboardOptOutRequest oreq =
            DOJO__GAMIFICATION__V1__SET_LEADERBOARD_OPT_OUT_REQUEST__INIT;
        oreq.opt_out = opt;
        cleanup_pb ProtobufCMessage *oresp = NULL;
        rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
        if (rpc_client_call(r->gw->game, GAME_SVC, "SetLeaderboardOptOut", &oreq.base, &oresp, &o,
                            err) < 0)
            return -1;
    }
    if (user == NULL) {
        if (get_user(r, &cur, err) < 0)
            return -1;
        user = cur->user;
    }
    if (!have_opt) {
        cleanup_err err_t *oerr = NULL;
        if (opted_out(r, &opt, &oerr) < 0)
            LOG_WARN("opt-out unknown", "error=\"%s\"", log_esc(oerr->msg));
    }
    r->out = json_pack("{s:o,s:b,s:b}", "user", gw_json_user(user, true), "leaderboard_opt_out",
                       opt, "time_zone_applied", applied);
    r->status = 200;
    return 0;
}
