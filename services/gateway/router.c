/* router.c — the HTTP side's wiring: the libmicrohttpd daemon, a gw_req_t
 * for every request, bodies read under their limits, and the route table
 * that sends each /api/v1 request to its handler (the WebSocket and the web
 * app have their own doors).
 *
 * Every request gets a gw_req_t (arena, body buffer, response under
 * construction) at the first access-handler call; MHD's completion callback
 * frees it. Requests that break the rules before any handler runs (unknown
 * route, wrong method, body too large or not JSON, bad UTF-8) are answered
 * here. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

/* ------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------ */

static int h_health(gw_req_t *r, err_t **err)
{
    r->status = 200;
    r->out = json_pack("{s:s}", "status", "ok");
    return 0;
}

typedef struct route {
    const char *method;
    const char *pattern; /* segments after /api/v1/, ":" matches one */
    gw_handler_fn fn;
    bool author_body;    /* the larger body limit */
    bool signin;         /* hashes a password in auth: the sign-in workers (workers.c) */
} route_t;

static const route_t routes[] = {
    {"GET", "health", h_health, false, false},
    {"POST", "auth/register", gw_h_register, false, true},
    {"POST", "auth/login", gw_h_login, false, true},
    {"POST", "auth/refresh", gw_h_refresh, false, false},
    {"POST", "auth/logout", gw_h_logout, false, false},
    {"POST", "auth/forgot", gw_h_forgot, false, false},
    {"POST", "auth/reset", gw_h_reset, false, true},
    {"POST", "auth/password", gw_h_password, false, true},
    {"GET", "me", gw_h_me_get, false, false},
    {"PATCH", "me", gw_h_me_patch, false, false},
    {"GET", "me/progress", gw_h_progress, false, false},
    {"GET", "tasks", NULL, false, false}, /* gw_h_tasks_list answers from the cache itself */
    {"GET", "tasks/:", gw_h_task_get, false, false},
    {"GET", "tasks/:/solutions", gw_h_task_solutions, false, false},
    {"GET", "languages", gw_h_languages, false, false},
    {"GET", "achievements", gw_h_achievements, false, false},
    {"GET", "task-stats", gw_h_task_stats, false, false},
    {"GET", "tracks", gw_h_tracks, false, false},
    {"POST", "runs", gw_h_run, false, false},
    {"POST", "submissions", gw_h_submit, false, false},
    {"GET", "submissions", gw_h_submissions_list, false, false},
    {"GET", "submissions/:", gw_h_submission_get, false, false},
    {"GET", "submissions/:/events", gw_h_submission_events, false, false},
    {"POST", "submissions/:/cancel", gw_h_submission_cancel, false, false},
    {"GET", "leaderboards/:", gw_h_leaderboard, false, false},
    {"GET", "drafts/:", gw_h_draft_get, false, false},
    {"PUT", "drafts/:", gw_h_draft_put, false, false},
    {"GET", "author/tasks", gw_h_author_list, false, false},
    {"POST", "author/tasks", gw_h_author_create, true, false},
    {"POST", "author/tasks/validate", gw_h_author_validate, true, false},
    {"POST", "author/tasks/run-reference", gw_h_author_run_reference, true, false},
    {"GET", "author/tasks/:", gw_h_author_get, false, false},
    {"PUT", "author/tasks/:", gw_h_author_update, true, false},
    {"POST", "author/tasks/:/archive", gw_h_author_archive, false, false},
    {"GET", "author/tasks/:/export", gw_h_author_export, false, false},
    {"GET", "author/tasks/:/package", gw_h_author_package_export, false, false},
    {"POST", "author/packages", gw_h_author_package_import, true, false},
    {"GET", "author/tasks/:/analytics", gw_h_author_analytics, false, false},
    /* PUT author/blobs/: streams its body: on_request hands it to blobs.c
     * before any routing. */
    {"GET", "author/blobs/:", gw_h_author_blob_get, false, false},
    {"POST", "tasks/:/open", gw_h_task_open, false, false},
    {"GET", "me/assignments", gw_h_my_assignments, false, false},
    {"GET", "classes", gw_h_classes_list, false, false},
    {"POST", "classes", gw_h_class_create, false, false},
    {"POST", "classes/join", gw_h_class_join, false, false},
    {"GET", "classes/:", gw_h_class_get, false, false},
    {"PATCH", "classes/:", gw_h_class_update, false, false},
    {"DELETE", "classes/:", gw_h_class_delete, false, false},
    {"POST", "classes/:/archive", gw_h_class_archive, false, false},
    {"GET", "classes/:/members", gw_h_class_members, false, false},
    {"DELETE", "classes/:/members/:", gw_h_class_member_remove, false, false},
    {"POST", "classes/:/roster", gw_h_class_roster, false, false},
    {"GET", "classes/:/board", gw_h_class_board, false, false},
    {"GET", "classes/:/progress", gw_h_class_progress, false, false},
    {"GET", "classes/:/analytics", gw_h_class_analytics, false, false},
    {"GET", "classes/:/assignments", gw_h_assignments_list, false, false},
    {"POST", "classes/:/assignments", gw_h_assignment_create, false, false},
    {"GET", "classes/:/assignments/:", gw_h_assignment_get, false, false},
    {"PUT", "classes/:/assignments/:", gw_h_assignment_update, false, false},
    {"DELETE", "classes/:/assignments/:", gw_h_assignment_delete, false, false},
    {"GET", "classes/:/assignments/:/grades.csv", gw_h_assignment_grades, false, false},
    {"GET", "institutions", gw_h_institutions_list, false, false},
    {"POST", "institutions", gw_h_institution_create, false, false},
    {"GET", "institutions/:/members", gw_h_institution_members, false, false},
    {"PUT", "users/:/role", gw_h_user_role, false, false},
    {"PUT", "users/:/institution", gw_h_user_institution, false, false},
    {"GET", "contests", gw_h_contests_list, false, false},
    {"GET", "contests/:", gw_h_contest_get, false, false},
    {"POST", "contests/:/register", gw_h_contest_register, false, false},
    {"GET", "contests/:/problems", gw_h_contest_problems, false, false},
    {"GET", "contests/:/problems/:", gw_h_contest_problem, false, false},
    {"GET", "contests/:/teams", gw_h_contest_teams, false, false},
    {"POST", "contests/:/teams", gw_h_contest_team_create, false, false},
    {"PUT", "contests/:/teams/:", gw_h_contest_team_put, false, false},
    {"PUT", "contests/:/jury/:", gw_h_contest_jury_put, false, false},
    {"GET", "contests/:/submissions", gw_h_contest_submissions, false, false},
    {"POST", "contests/:/submissions", gw_h_contest_submit, false, false},
    {"GET", "contests/:/submissions/:", gw_h_contest_submission, false, false},
    {"POST", "contests/:/submissions/:/override", gw_h_contest_override, false, false},
    {"GET", "contests/:/judgements", gw_h_contest_judgements, false, false},
    {"POST", "contests/:/rejudge", gw_h_contest_rejudge, false, false},
    {"GET", "contests/:/audit", gw_h_contest_audit, false, false},
    {"GET", "contests/:/clarifications", gw_h_contest_clarifications, false, false},
    {"POST", "contests/:/clarifications", gw_h_contest_clarify, false, false},
    {"GET", "contests/:/scoreboard", gw_h_contest_scoreboard, false, false},
    {"POST", "contests/:/thaw", gw_h_contest_thaw, false, false},
    {"POST", "contests/:/reveal", gw_h_contest_reveal, false, false},
    {"POST", "contests/:/finalize", gw_h_contest_finalize, false, false},
    {"PUT", "author/contests/:", gw_h_author_contest_put, true, false},
    {"GET", "author/contests/:/export", gw_h_author_contest_export, false, false},
    {"PUT", "author/contests/:/package", gw_h_author_contest_package_put, true, false},
    {"GET", "author/contests/:/package", gw_h_author_contest_package_get, false, false},
    {NULL, NULL, NULL, false, false},
};

/* Finds the route; *allow lists methods when only the method differs. */
static const route_t *route_find(gw_req_t *r, bool *path_known)
{
    const char *m = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    *path_known = false;
    for (const route_t *rt = routes; rt->method; rt++) {
        if (!gw_route_match(rt->pattern, r->segs, r->nsegs))
            continue;
        *path_known = true;
        if (!strcmp(rt->method, m))
            return rt;
    }
    return NULL;
}

/* Splits the path after /api/v1/ into segments (in the arena). */
static bool split_path(gw_req_t *r)
{
    return gw_path_split(&r->arena, r->path + strlen("/api/v1/"), r->segs,
                         (int)(sizeof r->segs / sizeof r->segs[0]), &r->nsegs);
}

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    bool *ok = cls;
    if (!gw_text_ok(key, 64) || (value && !gw_text_ok(value, 1024))) {
        *ok = false;
        return MHD_NO;
    }
    return MHD_YES;
}


/* What a 413 adds for the one route whose large bodies have another way in. */
static const char *too_large_hint(const char *path)
{
    return path && !strcmp(path, "/api/v1/author/packages")
               ? " (a larger package, up to 256 MiB: PUT it to /api/v1/author/blobs/{sha256}, "
                 "then POST /api/v1/author/packages?blob={sha256} with an empty body)"
               : "";
}

/* An error answered before any handler ran. */
static enum MHD_Result respond_error(gw_req_t *r, int status, const char *code, const char *fmt,
                                     ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result respond_error(gw_req_t *r, int status, const char *code, const char *fmt,
                                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cleanup_err err_t *e = NULL;
    gw_err_http(&e, status, code, NULL, "%s", msg);
    return gw_respond(r, e);
}

/* ------------------------------------------------------------------------
 * The access handler
 * ------------------------------------------------------------------------ */

static void req_free(gw_req_t *r)
{
    if (r == NULL)
        return;
    free(r->body);
    gw_blob_free(r->blob);
    if (r->stream) /* made and never sent: its reader's owner learns it is gone */
        MHD_destroy_response(r->stream);
    json_decref(r->in);
    json_decref(r->out);
    err_free(r->async_err);
    arena_release(&r->arena);
    free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_free(*con_cls);
    *con_cls = NULL;
}

static bool is_api(const char *url) { return strncmp(url, "/api/", 5) == 0 || !strcmp(url, "/api"); }

static bool body_method(const char *m)
{
    return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH") || !strcmp(m, "DELETE");
}

static enum MHD_Result dispatch(gw_req_t *r)
{
    log_set_context("http", r->req_id, NULL);
    if (!is_api(r->path))
        return gw_static_serve(r);
    if (!strcmp(r->path, "/api/v1/ws"))
        return gw_ws_upgrade(r);
    if (!strncmp(r->path, "/api/clics", 10) && (r->path[10] == '\0' || r->path[10] == '/'))
        return gw_clics_serve(r);
    if (strncmp(r->path, "/api/v1/", 8) != 0 || !split_path(r))
        return respond_error(r, 404, "not_found", "no such route");
    bool args_ok = true;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &args_ok);
    if (!args_ok || !gw_text_ok(r->path, 2048))
        return respond_error(r, 400, "invalid_argument",
                             "query arguments and paths must be valid UTF-8 of reasonable size");
    bool known = false;
    const route_t *rt = route_find(r, &known);
    if (rt == NULL) {
        if (known)
            return respond_error(r, 405, "method_not_allowed", "method %s not allowed here",
                                 r->method);
        return respond_error(r, 404, "not_found", "no such route");
    }
    if (r->body_too_large)
        return respond_error(r, 413, "payload_too_large", "the request body is over %lld bytes%s",
                             (long long)r->body_limit, too_large_hint(r->path));
    /* The bodies that are not JSON: a problem package, a contest package. */
    if (r->body_len > 0 && (rt->fn == gw_h_author_package_import ||
                            rt->fn == gw_h_author_contest_package_put)) {
        const char *ct = gw_header(r, "Content-Type");
        if (ct == NULL || (strncasecmp(ct, "application/zip", 15) &&
                           strncasecmp(ct, "application/octet-stream", 24) &&
                           strncasecmp(ct, "application/x-zip-compressed", 28)))
            return respond_error(r, 415, "unsupported_media_type",
                                 "send the package as application/zip");
    } else if (r->body_len > 0) {
        if (!gw_json_content_type(gw_header(r, "Content-Type")))
            return respond_error(r, 415, "unsupported_media_type",
                                 "send the body as application/json");
    }
    if (rt->fn == NULL)
        return gw_h_tasks_list(r);
    cleanup_err err_t *e = NULL;
    if (rt->fn == h_health) /* no upstream: answered here */
        return gw_respond(r, h_health(r, &e) < 0 ? e : NULL);
    if (gw_workers_submit(r, rt->fn, rt->signin, &e) < 0)
        return gw_respond(r, e);
    return MHD_YES; /* suspended; answered when the worker resumes it */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    gw_t *gw = cls;
    gw_req_t *r = *con_cls;
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL)
            abort();
        r->gw = gw;
        r->conn = conn;
        r->method = method;
        r->path = arena_strdup(&r->arena, url);
        unsigned char rnd[8];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(r->req_id, sizeof r->req_id, rnd, sizeof rnd);
        gw_client_address(r);
        *con_cls = r;
        if (gw_admit_refused(r)) {
            r->started = true;
            return gw_admit_refuse(r);
        }
        if (gw_blob_route(url, method))
            return gw_blob_begin(r);
        r->body_limit = gw->cfg.max_body;
        if (!strncmp(url, "/api/v1/author/", 15))
            r->body_limit = gw->cfg.max_author_body;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strlen(cl) > 0 && (strlen(cl) > 15 || strtoll(cl, NULL, 10) > r->body_limit)) {
            /* Refuse before reading: MHD closes the connection afterwards. */
            r->started = true;
            return respond_error(r, 413, "payload_too_large", "the request body is over %lld bytes%s",
                                 (long long)r->body_limit, too_large_hint(url));
        }
        return MHD_YES;
    }
    if (r->blob)
        return gw_blob_access(r, upload_data, upload_data_size);
    if (r->deferred) {
        if (!__atomic_load_n(&r->job_done, __ATOMIC_ACQUIRE))
            return MHD_YES;
        err_t *e = r->async_err;
        r->async_err = NULL;
        r->async_fn = NULL;
        r->deferred = false;
        enum MHD_Result ret = gw_respond(r, e);
        err_free(e);
        return ret;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!body_method(method) || r->body_too_large)
            return MHD_YES;
        if ((int64_t)(r->body_len + n) > r->body_limit) {
            r->body_too_large = true;
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 1024;
            while (cap < r->body_len + n + 1)
                cap *= 2;
            r->body = realloc(r->body, cap);
            if (r->body == NULL)
                abort();
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    if (r->started)
        return MHD_YES;
    r->started = true;
    return dispatch(r);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    LOG_DEBUG("libmicrohttpd", "detail=\"%s\"", log_esc(buf));
}

int gw_http_start(gw_t *gw, err_t **err)
{
    /* "host:port" → sockaddr (IPv4, or [v6]). */
    char host[128];
    const char *a = gw->cfg.addr;
    const char *colon = strrchr(a, ':');
    if (colon == NULL || (size_t)(colon - a) >= sizeof host)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "bad address %s", a);
    memcpy(host, a, (size_t)(colon - a));
    host[colon - a] = '\0';
    int port = atoi(colon + 1);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_UPGRADE | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO | MHD_USE_ITC;
    if (host[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        size_t hl = strlen(host);
        if (hl < 2 || host[hl - 1] != ']')
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "bad address %s", a);
        host[hl - 1] = '\0';
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "bad address %s", a);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (host[0] == '\0' || !strcmp(host, "0.0.0.0"))
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "bad address %s (use an IP address)", a);
    }
    if (gw_admit_open(gw, err) < 0)
        return -1;
    /* Each connection's memory pool (request head, buffers) lives as long as
     * the connection, an upgraded one too: at 64 KiB (libmicrohttpd maps it,
     * and most of it ended up touched) 10,000 idle WebSockets held 430 MiB,
     * at 16 KiB 206 MiB. Heads are a few KiB; bodies stream through. */
    gw->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, gw, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)gw->cfg.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT,
        gw_admit_connection_limit(gw), MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw,
        MHD_OPTION_NOTIFY_CONNECTION, gw_admit_notify, gw,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024, MHD_OPTION_EXTERNAL_LOGGER, on_log,
        gw, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
    if (gw->daemon == NULL)
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "cannot listen on %s", a);
    return 0;
}

void gw_http_stop(gw_t *gw)
{
    if (gw->daemon) {
        MHD_stop_daemon(gw->daemon);
        gw->daemon = NULL;
    }
}
