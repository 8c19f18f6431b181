/* http.c — the HTTP boundary: libmicrohttpd wiring, routing, request bodies,
 * authentication and CSRF, security headers, and the one place where an error
 * becomes a JSON body with an HTTP status.
 *
 * Every request gets a gw_req_t (arena, body buffer, response under
 * construction) at the first access-handler call; MHD's completion callback
 * frees it. Handlers never see MHD: they fill r->status / r->out or return an
 * error, and respond() turns either into a response. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

/* ------------------------------------------------------------------------
 * Errors at the boundary
 * ------------------------------------------------------------------------ */

int gw_err_http(err_t **err, int http_status, const char *code, const char *field,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    grpc_status_code gc = http_status == 403   ? GRPC_STATUS_PERMISSION_DENIED
                          : http_status == 404 ? GRPC_STATUS_NOT_FOUND
                          : http_status == 429 ? GRPC_STATUS_RESOURCE_EXHAUSTED
                          : http_status >= 500 ? GRPC_STATUS_UNAVAILABLE
                                               : GRPC_STATUS_INVALID_ARGUMENT;
    err_set(err, gc, "@http %d %s %s %s", http_status, code, field && *field ? field : "-", msg);
    if (*err) {
        free((*err)->public_msg);
        (*err)->public_msg = msg;
    } else {
        free(msg);
    }
    return -1;
}

/* "field: message" → field (when it looks like a name or a JSON path). */
static const char *split_field(const char *msg, char *field, size_t cap)
{
    const char *colon = strstr(msg, ": ");
    if (colon == NULL || colon == msg || (size_t)(colon - msg) >= cap)
        return NULL;
    for (const char *p = msg; p < colon; p++)
        if (*p == ' ')
            return NULL;
    memcpy(field, msg, (size_t)(colon - msg));
    field[colon - msg] = '\0';
    return colon + 2;
}

json_t *gw_error_json(const err_t *e, int *status)
{
    const char *at = e->msg ? strstr(e->msg, "@http ") : NULL;
    if (at) {
        int st = 400;
        char code[40] = "invalid_argument", field[128] = "-";
        if (sscanf(at, "@http %d %39s %127s", &st, code, field) >= 2) {
            *status = st;
            return json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message",
                             err_public_message(e), "field",
                             strcmp(field, "-") ? json_string(field) : json_null());
        }
    }
    const char *code;
    int st;
    bool generic = false, fieldy = false;
    switch (e->code) {
    case GRPC_STATUS_INVALID_ARGUMENT:
    case GRPC_STATUS_OUT_OF_RANGE: code = "invalid_argument"; st = 400; fieldy = true; break;
    case GRPC_STATUS_UNAUTHENTICATED: code = "unauthenticated"; st = 401; break;
    case GRPC_STATUS_PERMISSION_DENIED: code = "permission_denied"; st = 403; break;
    case GRPC_STATUS_NOT_FOUND: code = "not_found"; st = 404; break;
    case GRPC_STATUS_ALREADY_EXISTS: code = "already_exists"; st = 409; fieldy = true; break;
    case GRPC_STATUS_ABORTED: code = "aborted"; st = 409; break;
    case GRPC_STATUS_FAILED_PRECONDITION: code = "failed_precondition"; st = 409; fieldy = true; break;
    case GRPC_STATUS_RESOURCE_EXHAUSTED: code = "resource_exhausted"; st = 429; break;
    case GRPC_STATUS_UNAVAILABLE:
    case GRPC_STATUS_CANCELLED: code = "unavailable"; st = 503; generic = true; break;
    case GRPC_STATUS_DEADLINE_EXCEEDED: code = "deadline_exceeded"; st = 504; generic = true; break;
    default: code = "internal"; st = 500; generic = true; break;
    }
    const char *msg = generic ? (st == 503   ? "service unavailable, try again"
                                 : st == 504 ? "the request took too long, try again"
                                             : "internal error")
                              : err_public_message(e);
    char field[128];
    const char *rest = fieldy ? split_field(msg, field, sizeof field) : NULL;
    if (rest && e->code == GRPC_STATUS_FAILED_PRECONDITION)
        st = 422;
    *status = st;
    return json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message", rest ? rest : msg,
                     "field", rest ? json_string(field) : json_null());
}

/* ------------------------------------------------------------------------
 * Request accessors
 * ------------------------------------------------------------------------ */

const char *gw_header(gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *gw_query(gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *gw_cookie(gw_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

void gw_add_header(gw_req_t *r, const char *name, const char *value)
{
    if (r->nextra + 2 > (int)(sizeof r->extra_hdr / sizeof r->extra_hdr[0]))
        return;
    r->extra_hdr[r->nextra++] = arena_strdup(&r->arena, name);
    r->extra_hdr[r->nextra++] = arena_strdup(&r->arena, value);
}

void gw_set_cookie(gw_req_t *r, const char *value)
{
    if (r->ncookies < (int)(sizeof r->cookies / sizeof r->cookies[0]))
        r->cookies[r->ncookies++] = arena_strdup(&r->arena, value);
}

static bool unsafe_method(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

static int csrf_check(gw_req_t *r, err_t **err)
{
    const char *cookie = gw_cookie(r, "dojo_csrf");
    const char *header = gw_header(r, "X-CSRF-Token");
    if (cookie == NULL || header == NULL || *cookie == '\0' ||
        strlen(cookie) != strlen(header) ||
        sodium_memcmp(cookie, header, strlen(cookie)) != 0)
        return gw_err_http(err, 403, "csrf_failed", NULL,
                           "missing or wrong X-CSRF-Token header (send the dojo_csrf cookie's "
                           "value)");
    return 0;
}

int gw_req_csrf(gw_req_t *r, err_t **err)
{
    if (gw_header(r, "Authorization"))
        return 0;
    if (gw_cookie(r, "dojo_rt") || gw_cookie(r, "dojo_at") || gw_cookie(r, "dojo_csrf"))
        return csrf_check(r, err);
    return 0;
}

int gw_req_auth(gw_req_t *r, err_t **err)
{
    if (r->authed)
        return 0;
    const char *authz = gw_header(r, "Authorization");
    const char *tok = NULL;
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0 || authz[7] == '\0')
            return err_set(err, GRPC_STATUS_UNAUTHENTICATED,
                           "Authorization must be \"Bearer <access token>\"");
        tok = authz + 7;
        r->via_cookie = false;
    } else {
        tok = gw_cookie(r, "dojo_at");
        if (tok == NULL || *tok == '\0')
            return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "sign in first");
        r->via_cookie = true;
    }
    if (gw_keys_verify(r->gw->keys, tok, &r->claims, err) < 0)
        return -1;
    r->token = arena_strdup(&r->arena, tok);
    r->authed = true;
    log_set_context(NULL, r->req_id, r->claims.sub);
    if (r->via_cookie && unsafe_method(r->method))
        return csrf_check(r, err);
    return 0;
}

int gw_req_author(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    if (strcmp(r->claims.role, "author") != 0 && strcmp(r->claims.role, "admin") != 0)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "authors only");
    return 0;
}

int gw_body_json(gw_req_t *r, bool optional, json_t **out, err_t **err)
{
    *out = r->in;
    if (r->in)
        return 0;
    if (r->body_len == 0) {
        if (optional) {
            *out = r->in = json_object();
            return 0;
        }
        return gw_err_http(err, 400, "invalid_argument", NULL, "a JSON body is required");
    }
    json_error_t jerr;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        return gw_err_http(err, 400, "invalid_argument", NULL, "malformed JSON: %s",
                           jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return gw_err_http(err, 400, "invalid_argument", NULL, "the body must be a JSON object");
    }
    *out = r->in = j;
    return 0;
}

const char *const *gw_md_service(gw_req_t *r)
{
    const char **md = arena_alloc(&r->arena, 3 * sizeof *md);
    md[0] = "x-dojo-service-key";
    md[1] = r->gw->cfg.service_key;
    md[2] = NULL;
    return md;
}

const char *const *gw_md_user(gw_req_t *r)
{
    const char **md = arena_alloc(&r->arena, 3 * sizeof *md);
    md[0] = "authorization";
    size_t n = strlen(r->token ? r->token : "") + 8;
    char *v = arena_alloc(&r->arena, n);
    snprintf(v, n, "Bearer %s", r->token ? r->token : "");
    md[1] = v;
    md[2] = NULL;
    return md;
}

rpc_call_opts_t gw_opts(gw_req_t *r, const char *const *md, bool idempotent)
{
    rpc_call_opts_t o = {.timeout_ms = (int)r->gw->cfg.rpc_timeout_ms,
                         .idempotent = idempotent,
                         .request_id = r->req_id,
                         .metadata = md};
    return o;
}

/* ------------------------------------------------------------------------
 * Security headers
 * ------------------------------------------------------------------------ */

void gw_security_headers(gw_t *gw, struct MHD_Response *resp, bool api)
{
    MHD_add_response_header(resp, "Content-Security-Policy", gw->cfg.csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    (void)api;
}

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
} route_t;

static const route_t routes[] = {
    {"GET", "health", h_health, false},
    {"POST", "auth/register", gw_h_register, false},
    {"POST", "auth/login", gw_h_login, false},
    {"POST", "auth/refresh", gw_h_refresh, false},
    {"POST", "auth/logout", gw_h_logout, false},
    {"POST", "auth/forgot", gw_h_forgot, false},
    {"POST", "auth/reset", gw_h_reset, false},
    {"POST", "auth/password", gw_h_password, false},
    {"GET", "me", gw_h_me_get, false},
    {"PATCH", "me", gw_h_me_patch, false},
    {"GET", "me/progress", gw_h_progress, false},
    {"GET", "tasks", NULL, false}, /* gw_h_tasks_list answers from the cache itself */
    {"GET", "tasks/:", gw_h_task_get, false},
    {"GET", "languages", gw_h_languages, false},
    {"GET", "achievements", gw_h_achievements, false},
    {"POST", "runs", gw_h_run, false},
    {"POST", "submissions", gw_h_submit, false},
    {"GET", "submissions", gw_h_submissions_list, false},
    {"GET", "submissions/:", gw_h_submission_get, false},
    {"GET", "submissions/:/events", gw_h_submission_events, false},
    {"POST", "submissions/:/cancel", gw_h_submission_cancel, false},
    {"GET", "leaderboards/:", gw_h_leaderboard, false},
    {"GET", "drafts/:", gw_h_draft_get, false},
    {"PUT", "drafts/:", gw_h_draft_put, false},
    {"GET", "author/tasks", gw_h_author_list, false},
    {"POST", "author/tasks", gw_h_author_create, true},
    {"POST", "author/tasks/validate", gw_h_author_validate, true},
    {"POST", "author/tasks/run-reference", gw_h_author_run_reference, true},
    {"GET", "author/tasks/:", gw_h_author_get, false},
    {"PUT", "author/tasks/:", gw_h_author_update, true},
    {"POST", "author/tasks/:/archive", gw_h_author_archive, false},
    {"GET", "author/tasks/:/export", gw_h_author_export, false},
    {NULL, NULL, NULL, false},
};

static bool pattern_match(const char *pattern, gw_req_t *r)
{
    int i = 0;
    const char *p = pattern;
    while (*p) {
        if (i >= r->nsegs)
            return false;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!(len == 1 && p[0] == ':') &&
            (strlen(r->segs[i]) != len || strncmp(p, r->segs[i], len) != 0))
            return false;
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    return i == r->nsegs;
}

/* Finds the route; *allow lists methods when only the method differs. */
static const route_t *route_find(gw_req_t *r, bool *path_known)
{
    const char *m = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    *path_known = false;
    for (const route_t *rt = routes; rt->method; rt++) {
        if (!pattern_match(rt->pattern, r))
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
    const char *p = r->path + strlen("/api/v1/");
    r->nsegs = 0;
    if (*p == '\0')
        return true;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || r->nsegs >= (int)(sizeof r->segs / sizeof r->segs[0]))
            return false;
        r->segs[r->nsegs++] = arena_strndup(&r->arena, p, len);
        p += len;
        if (*p == '/') {
            p++;
            if (*p == '\0') /* a trailing slash */
                return false;
        }
    }
    return true;
}

static bool utf8_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return false;
    json_t *j = json_stringn(s, n); /* jansson validates UTF-8 */
    if (j == NULL)
        return false;
    json_decref(j);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return false;
    return true;
}

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    bool *ok = cls;
    if (!utf8_ok(key, 64) || (value && !utf8_ok(value, 1024))) {
        *ok = false;
        return MHD_NO;
    }
    return MHD_YES;
}

/* ------------------------------------------------------------------------
 * Responding
 * ------------------------------------------------------------------------ */

static enum MHD_Result respond(gw_req_t *r, err_t *e)
{
    gw_t *gw = r->gw;
    int status = r->status ? r->status : 200;
    json_t *body = r->out;
    r->out = NULL;
    int retry_after = 0;
    if (e) {
        json_decref(body);
        body = gw_error_json(e, &status);
        retry_after = e->retry_after_s;
        if (status >= 500)
            LOG_WARN("request failed", "method=%s path=\"%s\" status=%d error=\"%s\"", r->method,
                     log_esc(r->path), status, log_esc(e->msg));
        else
            LOG_DEBUG("request refused", "method=%s path=\"%s\" status=%d error=\"%s\"",
                      r->method, log_esc(r->path), status, log_esc(e->msg));
    }
    struct MHD_Response *resp;
    if (r->raw_body && !e) {
        resp = MHD_create_response_from_buffer(r->raw_len, (void *)r->raw_body,
                                               MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(resp, "Content-Type", r->raw_type);
    } else if (body) {
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (text == NULL)
            abort();
        resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL)
        return MHD_NO;
    gw_security_headers(gw, resp, true);
    bool has_cc = false;
    for (int i = 0; i + 1 < r->nextra; i += 2) {
        MHD_add_response_header(resp, r->extra_hdr[i], r->extra_hdr[i + 1]);
        if (!strcasecmp(r->extra_hdr[i], "Cache-Control"))
            has_cc = true;
    }
    if (!has_cc)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (int i = 0; i < r->ncookies; i++)
        MHD_add_response_header(resp, "Set-Cookie", r->cookies[i]);
    MHD_add_response_header(resp, "X-Request-Id", r->req_id);
    if (status == 429 || (status == 503 && retry_after > 0)) {
        char buf[24];
        snprintf(buf, sizeof buf, "%d", retry_after > 0 ? retry_after : 1);
        MHD_add_response_header(resp, "Retry-After", buf);
    }
    if (status == 405) {
        MHD_add_response_header(resp, "Allow", "GET, HEAD, POST, PUT, PATCH");
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result gw_respond(gw_req_t *r, err_t *e) { return respond(r, e); }

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
    return respond(r, e);
}

/* ------------------------------------------------------------------------
 * Async (suspended) requests
 * ------------------------------------------------------------------------ */

static void *async_main(void *arg)
{
    gw_req_t *r = arg;
    log_set_context("http", r->req_id, r->authed ? r->claims.sub : NULL);
    err_t *e = NULL;
    if (r->async_fn(r, &e) < 0)
        r->async_err = e;
    pthread_mutex_lock(&r->gw->ws_lock);
    r->gw->async_running--;
    pthread_mutex_unlock(&r->gw->ws_lock);
    __atomic_store_n(&r->async_done, true, __ATOMIC_RELEASE);
    MHD_resume_connection(r->conn);
    return NULL;
}

int gw_req_async(gw_req_t *r, gw_async_fn fn, err_t **err)
{
    pthread_mutex_lock(&r->gw->ws_lock);
    if (r->gw->async_running >= 8) {
        pthread_mutex_unlock(&r->gw->ws_lock);
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "too many runs in progress, try again");
    }
    r->gw->async_running++;
    pthread_mutex_unlock(&r->gw->ws_lock);
    r->async_fn = fn;
    MHD_suspend_connection(r->conn);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, async_main, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&r->gw->ws_lock);
        r->gw->async_running--;
        pthread_mutex_unlock(&r->gw->ws_lock);
        r->async_fn = NULL;
        MHD_resume_connection(r->conn);
        return err_errno(err, rc, "start a worker thread");
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The access handler
 * ------------------------------------------------------------------------ */

static void req_free(gw_req_t *r)
{
    if (r == NULL)
        return;
    free(r->body);
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

static void client_ip(gw_req_t *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    strcpy(r->client_ip, "unknown");
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->client_ip,
                      sizeof r->client_ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->client_ip,
                      sizeof r->client_ip);
    }
    if (r->gw->cfg.trust_proxy) {
        /* The proxy appends the address it saw: the last entry is the one we
         * can trust. */
        const char *xff = gw_header(r, "X-Forwarded-For");
        if (xff && *xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            while (*last == ' ')
                last++;
            size_t n = strcspn(last, " ");
            if (n > 0 && n < sizeof r->client_ip) {
                memcpy(r->client_ip, last, n);
                r->client_ip[n] = '\0';
            }
        }
    }
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
    if (strncmp(r->path, "/api/v1/", 8) != 0 || !split_path(r))
        return respond_error(r, 404, "not_found", "no such route");
    bool args_ok = true;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &args_ok);
    if (!args_ok || !utf8_ok(r->path, 2048))
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
        return respond_error(r, 413, "payload_too_large", "the request body is over %lld bytes",
                             (long long)r->body_limit);
    if (r->body_len > 0) {
        const char *ct = gw_header(r, "Content-Type");
        if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
            (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
            return respond_error(r, 415, "unsupported_media_type",
                                 "send the body as application/json");
    }
    if (rt->fn == NULL)
        return gw_h_tasks_list(r);
    cleanup_err err_t *e = NULL;
    if (rt->fn(r, &e) < 0)
        return respond(r, e);
    if (r->async_fn)
        return MHD_YES; /* suspended; answered when the worker resumes us */
    return respond(r, NULL);
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
        client_ip(r);
        *con_cls = r;
        r->body_limit = gw->cfg.max_body;
        if (!strncmp(url, "/api/v1/author/", 15))
            r->body_limit = gw->cfg.max_author_body;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strlen(cl) > 0 && (strlen(cl) > 15 || strtoll(cl, NULL, 10) > r->body_limit)) {
            /* Refuse before reading: MHD closes the connection afterwards. */
            r->started = true;
            return respond_error(r, 413, "payload_too_large", "the request body is over %lld bytes",
                                 (long long)r->body_limit);
        }
        return MHD_YES;
    }
    if (r->async_fn) {
        if (!__atomic_load_n(&r->async_done, __ATOMIC_ACQUIRE))
            return MHD_YES;
        err_t *e = r->async_err;
        r->async_err = NULL;
        r->async_fn = NULL;
        enum MHD_Result ret = respond(r, e);
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
    gw->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, gw, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)gw->cfg.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)10000, MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_EXTERNAL_LOGGER, on_log,
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
