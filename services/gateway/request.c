/* request.c — what a route handler uses of its request: headers, cookies and
 * query arguments, authentication and CSRF, the JSON body, metadata for the
 * calls it makes, suspending for slow work; and the one place where a
 * response is queued and an error becomes a JSON body with an HTTP status.
 *
 * Handlers never see MHD: they fill r->status / r->out or return an error,
 * and gw_respond turns either into a response. The router (router.c) owns
 * the request's life. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

/* ------------------------------------------------------------------------
 * Errors at the boundary
 * ------------------------------------------------------------------------ */

int gw_err_http(err_t **err, int http_status, const char *code, const char *field,
                const char *fmt, ...)
{
    if (err == NULL || *err != NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    /* The gRPC code is for code that tests it on the way up (and the log);
     * the client gets http_status and code. */
    grpc_status_code gc = http_status == 403   ? GRPC_STATUS_PERMISSION_DENIED
                          : http_status == 404 ? GRPC_STATUS_NOT_FOUND
                          : http_status == 429 ? GRPC_STATUS_RESOURCE_EXHAUSTED
                          : http_status >= 500 ? GRPC_STATUS_UNAVAILABLE
                                               : GRPC_STATUS_INVALID_ARGUMENT;
    err_set(err, gc, "%s", msg);
    free(msg);
    return err_set_http(err, http_status, code, field);
}

/* "field: message" → field (when it looks like a name or a JSON path): how
 * the services' INVALID_ARGUMENT / ALREADY_EXISTS / FAILED_PRECONDITION
 * status messages name the field at fault. */
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

/* A JSON string of an error's text: messages quote what they were given
 * (a service's, a parser's), which need not be UTF-8, and json_pack would
 * fail on it, leaving the response without a body. */
static json_t *text(const char *s)
{
    return gw_json_bytes((const uint8_t *)s, strlen(s));
}

json_t *gw_error_json(const err_t *e, int *status)
{
    if (e->http_status != 0) {
        *status = e->http_status;
        return json_pack("{s:{s:s,s:o,s:o}}", "error", "code",
                         e->http_code ? e->http_code : "invalid_argument", "message",
                         text(err_public_message(e)), "field",
                         e->field ? text(e->field) : json_null());
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
    return json_pack("{s:{s:s,s:o,s:o}}", "error", "code", code, "message", text(rest ? rest : msg),
                     "field", rest ? text(field) : json_null());
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

void gw_reply_zip(gw_req_t *r, const ProtobufCBinaryData *zip, const char *file_name)
{
    char *body = arena_alloc(&r->arena, zip->len + 1);
    memcpy(body, zip->data, zip->len);
    r->raw_body = body;
    r->raw_len = zip->len;
    r->raw_type = "application/zip";
    char cd[160];
    snprintf(cd, sizeof cd, "attachment; filename=\"%.100s\"", file_name);
    for (char *c = cd; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = '_';
    gw_add_header(r, "Content-Disposition", cd);
    r->status = 200;
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
    if (identity_verify_token(r->gw->ids, tok, &r->claims, err) < 0)
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

/* Writes to `out` the path of the first string in `v` that holds a NUL
 * character ("code", "task.tests[2].input"); false when none does. */
static bool nul_path(json_t *v, const char *base, char *out, size_t cap)
{
    char p[256];
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) == json_string_length(v))
            return false;
        snprintf(out, cap, "%s", base);
        return true;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m)
        {
            snprintf(p, sizeof p, "%s%s%s", base, *base ? "." : "", k);
            if (nul_path(m, p, out, cap))
                return true;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            snprintf(p, sizeof p, "%s[%zu]", base, i);
            if (nul_path(m, p, out, cap))
                return true;
        }
    }
    return false;
}

/* A body that is valid JSON but holds "\u0000" in a string: no field can
 * carry a NUL character (messages and the database keep text as C strings),
 * so the request is refused naming the field, not as malformed JSON. Fills
 * *err and returns -1 when that is the case; 0 when the body is malformed
 * for another reason. */
static int refuse_nul(const gw_req_t *r, err_t **err)
{
    json_error_t jerr;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (j == NULL)
        return 0;
    char path[256] = "";
    bool found = nul_path(j, "", path, sizeof path);
    json_decref(j);
    if (!found)
        return 0;
    return gw_err_http(err, 400, "invalid_argument", path,
                       "%s: contains a NUL character (\\u0000), which Dojo does not accept in "
                       "text (source code included); remove it",
                       path);
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
    if (j == NULL && refuse_nul(r, err) < 0)
        return -1;
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

const char *const *gw_md_service(gw_req_t *r) { return identity_service_metadata(r->gw->ids); }

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
 * Responding
 * ------------------------------------------------------------------------ */

enum MHD_Result gw_respond(gw_req_t *r, err_t *e)
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
    gw_limit_settle(r, status);
    struct MHD_Response *resp;
    if (r->stream && e) {
        MHD_destroy_response(r->stream);
        r->stream = NULL;
    }
    if (r->stream) {
        resp = r->stream;
        r->stream = NULL;
        MHD_add_response_header(resp, "Content-Type", r->raw_type);
    } else if (r->raw_body && !e) {
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
    /* A 503 is an outage behind the gateway: every one says when to retry. */
    if (status == 429 || status == 503) {
        char buf[24];
        snprintf(buf, sizeof buf, "%d",
                 retry_after > 0 ? retry_after : status == 503 ? GW_RETRY_AFTER_UNAVAILABLE_S : 1);
        MHD_add_response_header(resp, "Retry-After", buf);
    }
    if (status == 405) {
        MHD_add_response_header(resp, "Allow", "GET, HEAD, POST, PUT, PATCH");
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}


/* ------------------------------------------------------------------------
 * Async (suspended) requests
 * ------------------------------------------------------------------------ */

int gw_req_async(gw_req_t *r, gw_async_fn fn, err_t **err)
{
    pthread_mutex_lock(&r->gw->ws_lock);
    if (r->gw->async_running >= 8) {
        pthread_mutex_unlock(&r->gw->ws_lock);
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "too many runs in progress, try again");
    }
    r->gw->async_running++;
    pthread_mutex_unlock(&r->gw->ws_lock);
    r->async_fn = fn; /* the worker starts it (workers.c) */
    return 0;
}
