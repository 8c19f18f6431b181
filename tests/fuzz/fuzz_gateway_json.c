/* fuzz_gateway_json — how the gateway reads a request body (services/gateway
 * request.c gw_body_json, json.c's typed field readers) and turns the errors
 * into the JSON error body (gw_error_json), on any bytes. Also json.c's
 * bytes-to-JSON-string (what relays a program's output) on the same bytes.
 *
 * Properties: a body is accepted only as a JSON object; each reader either
 * succeeds with a value of its type within its bounds or fails with an error
 * whose JSON body is {"error": {code, message, field}} and a 4xx status;
 * gw_json_bytes always gives a string, and valid UTF-8 without NUL comes
 * back unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "libcommon/log.h"
#include "libcommon/text.h"
#include "services/gateway/gateway.h"

static void fail(const char *what, const char *detail)
{
    fuzz_fail("fuzz_gateway_json: %s: %.600s", what, detail ? detail : "(null)");
}

/* The JSON error of `e` must be well formed, with a client status. */
static void check_error(err_t *e, int lo, int hi)
{
    if (e == NULL)
        fail("a reader failed without an error", "");
    int status = 0;
    json_t *j = gw_error_json(e, &status);
    json_t *inner = json_object_get(j, "error");
    if (!json_is_string(json_object_get(inner, "code")) ||
        !json_is_string(json_object_get(inner, "message")) ||
        json_object_get(inner, "field") == NULL)
        fail("a malformed error body", e->msg);
    if (status < lo || status > hi)
        fail("an unexpected status", e->msg);
    char *text = json_dumps(j, JSON_COMPACT);
    if (text == NULL)
        fail("an error body that does not serialise", e->msg);
    free(text);
    json_decref(j);
}

/* The readers of json.c on member `key` of `body`, with bounds from `b`. */
static void read_member(json_t *body, const char *key, uint8_t b)
{
    err_t *e = NULL;
    const char *s = NULL;
    size_t max = (size_t)(b & 0x3f) * 16;
    bool required = b & 0x40;
    if (gw_json_str(body, key, required, max, &s, &e) == 0) {
        json_t *v = json_object_get(body, key);
        if (s && (!json_is_string(v) || (max && strlen(s) > max) || (required && !*s)))
            fail("a string read out of its bounds", key);
        if (s == NULL && required)
            fail("a required string read as absent", key);
    } else {
        check_error(e, 400, 400);
        err_clear(&e);
    }
    bool flag = false;
    if (gw_json_bool(body, key, &flag, &e) < 0) {
        check_error(e, 400, 400);
        err_clear(&e);
    }
    int64_t lo = (int64_t)(int8_t)b * 1000, hi = lo + (int64_t)b * b, i = lo;
    if (gw_json_int(body, key, lo, hi, &i, &e) == 0) {
        if (i < lo || i > hi)
            fail("an integer read out of its bounds", key);
    } else {
        check_error(e, 400, 400);
        err_clear(&e);
    }
}

static bool utf8_valid(const uint8_t *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = text_utf8_seq(s + i, len - i)) == 0)
            return false;
    return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_min_level = LOG_LEVEL_DEBUG;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* As the router keeps it: a NUL-terminated copy of the body. */
    gw_req_t r;
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.path = "/api/v1/fuzz";
    r.body = malloc(size + 1);
    memcpy(r.body, data, size);
    r.body[size] = '\0';
    r.body_len = size;
    snprintf(r.req_id, sizeof r.req_id, "fuzz");

    json_t *body = NULL;
    err_t *e = NULL;
    if (gw_body_json(&r, size % 2 == 0, &body, &e) < 0) {
        check_error(e, 400, 400);
        err_clear(&e);
    } else {
        if (!json_is_object(body))
            fail("a body accepted that is not an object", r.body);
        static const char *const fixed[] = {"email", "password", "code", "language", "id", "", NULL};
        for (int k = 0; fixed[k]; k++)
            read_member(body, fixed[k], (uint8_t)(size + (size_t)k * 37));
        const char *key;
        json_t *v;
        uint8_t b = 0;
        json_object_foreach(body, key, v)
        {
            read_member(body, key, b);
            b = (uint8_t)(b * 31 + 7);
        }
        /* A second read returns the same document. */
        json_t *again = NULL;
        if (gw_body_json(&r, false, &again, &e) < 0 || again != body)
            fail("the body read twice differs", r.body);
    }
    json_decref(r.in);

    /* The services' "field: message" errors, with the input as the message. */
    static const grpc_status_code codes[] = {
        GRPC_STATUS_INVALID_ARGUMENT, GRPC_STATUS_ALREADY_EXISTS, GRPC_STATUS_FAILED_PRECONDITION,
        GRPC_STATUS_NOT_FOUND,        GRPC_STATUS_UNAVAILABLE,    GRPC_STATUS_INTERNAL};
    err_set(&e, codes[size % 6], "%s", r.body);
    check_error(e, 400, 599);
    err_clear(&e);
    gw_err_http(&e, 400 + (int)(size % 100), "fuzz_code", size % 3 ? r.body : NULL, "%s", r.body);
    check_error(e, 400, 499);
    err_clear(&e);

    json_t *s = gw_json_bytes(data, size);
    if (!json_is_string(s))
        fail("gw_json_bytes gave no string", "");
    if (memchr(data, 0, size) == NULL && utf8_valid(data, size) &&
        (json_string_length(s) != size || memcmp(json_string_value(s), data, size) != 0))
        fail("valid UTF-8 changed by gw_json_bytes", r.body);
    json_decref(s);

    arena_release(&r.arena);
    free(r.body);
    return 0;
}
