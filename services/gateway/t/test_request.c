/* test_request — the HTTP boundary: an error becomes a JSON body and a
 * status (the field named in "field: message", generic text for outages and
 * internal errors, the status a gateway error chose), and a request body is
 * read once as a JSON object or refused with a 400. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "services/gateway/gateway.h"

/* The error body of `e`: status in *status, {"error": {...}} in *code /
 * *message / *field (NULL for a JSON null). Borrowed from *out. */
typedef struct answer {
    json_t *out;
    int status;
    const char *code;
    const char *message;
    const char *field;
} answer_t;

static answer_t answer(const err_t *e)
{
    answer_t a = {0};
    a.out = gw_error_json(e, &a.status);
    json_t *inner = json_object_get(a.out, "error");
    assert_non_null(inner);
    a.code = json_string_value(json_object_get(inner, "code"));
    a.message = json_string_value(json_object_get(inner, "message"));
    json_t *f = json_object_get(inner, "field");
    assert_non_null(f);
    a.field = json_is_null(f) ? NULL : json_string_value(f);
    return a;
}

static answer_t answer_for(grpc_status_code code, const char *msg)
{
    cleanup_err err_t *e = NULL;
    err_set(&e, code, "%s", msg);
    return answer(e);
}

static void test_a_field_error_names_the_field_apart_from_the_message(void **state)
{
    answer_t a = answer_for(GRPC_STATUS_INVALID_ARGUMENT, "title: must not be empty");
    assert_int_equal(a.status, 400);
    assert_string_equal(a.code, "invalid_argument");
    assert_string_equal(a.field, "title");
    assert_string_equal(a.message, "must not be empty");
    json_decref(a.out);
    a = answer_for(GRPC_STATUS_INVALID_ARGUMENT, "tests[2].input: must be a string");
    assert_string_equal(a.field, "tests[2].input");
    json_decref(a.out);
}

static void test_a_message_without_a_field_name_is_kept_whole(void **state)
{
    answer_t a = answer_for(GRPC_STATUS_INVALID_ARGUMENT, "the code is too long: 70000 bytes");
    assert_int_equal(a.status, 400);
    assert_null(a.field);
    assert_string_equal(a.message, "the code is too long: 70000 bytes");
    json_decref(a.out);
    a = answer_for(GRPC_STATUS_NOT_FOUND, "task: no such task");
    assert_int_equal(a.status, 404);
    assert_string_equal(a.code, "not_found");
    assert_null(a.field);
    assert_string_equal(a.message, "task: no such task");
    json_decref(a.out);
}

static void test_an_error_quoting_bytes_that_are_not_utf8_still_has_a_body(void **state)
{
    /* A service's message may quote a cut or broken text. */
    answer_t a = answer_for(GRPC_STATUS_INVALID_ARGUMENT, "tests[0].na\xc3: unknown \xff" " field");
    assert_int_equal(a.status, 400);
    assert_string_equal(a.field, "tests[0].na\xef\xbf\xbd");
    assert_string_equal(a.message, "unknown \xef\xbf\xbd" " field");
    json_decref(a.out);
    cleanup_err err_t *e = NULL;
    gw_err_http(&e, 413, "too_large", "co\xe2\x82" "de", "body of \xfe" " bytes");
    a = answer(e);
    assert_int_equal(a.status, 413);
    assert_string_equal(a.field, "co\xef\xbf\xbd\xef\xbf\xbd" "de");
    assert_string_equal(a.message, "body of \xef\xbf\xbd" " bytes");
    json_decref(a.out);
}

static void test_grpc_codes_become_their_http_statuses(void **state)
{
    static const struct {
        grpc_status_code code;
        int status;
        const char *name;
    } cases[] = {
        {GRPC_STATUS_OUT_OF_RANGE, 400, "invalid_argument"},
        {GRPC_STATUS_UNAUTHENTICATED, 401, "unauthenticated"},
        {GRPC_STATUS_PERMISSION_DENIED, 403, "permission_denied"},
        {GRPC_STATUS_NOT_FOUND, 404, "not_found"},
        {GRPC_STATUS_ALREADY_EXISTS, 409, "already_exists"},
        {GRPC_STATUS_ABORTED, 409, "aborted"},
        {GRPC_STATUS_FAILED_PRECONDITION, 409, "failed_precondition"},
        {GRPC_STATUS_RESOURCE_EXHAUSTED, 429, "resource_exhausted"},
        {GRPC_STATUS_UNAVAILABLE, 503, "unavailable"},
        {GRPC_STATUS_CANCELLED, 503, "unavailable"},
        {GRPC_STATUS_DEADLINE_EXCEEDED, 504, "deadline_exceeded"},
        {GRPC_STATUS_INTERNAL, 500, "internal"},
        {GRPC_STATUS_UNKNOWN, 500, "internal"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        answer_t a = answer_for(cases[i].code, "something went wrong");
        assert_int_equal(a.status, cases[i].status);
        assert_string_equal(a.code, cases[i].name);
        json_decref(a.out);
    }
}

static void test_a_failed_precondition_on_a_field_is_unprocessable(void **state)
{
    answer_t a = answer_for(GRPC_STATUS_FAILED_PRECONDITION, "language: not offered by this task");
    assert_int_equal(a.status, 422);
    assert_string_equal(a.code, "failed_precondition");
    assert_string_equal(a.field, "language");
    json_decref(a.out);
}

static void test_outages_and_internal_errors_hide_their_detail(void **state)
{
    answer_t a = answer_for(GRPC_STATUS_INTERNAL, "pg: relation auth.users: password=hunter2");
    assert_string_equal(a.message, "internal error");
    assert_null(a.field);
    json_decref(a.out);
    a = answer_for(GRPC_STATUS_UNAVAILABLE, "redis: connect 127.0.0.1:56379: refused");
    assert_string_equal(a.message, "service unavailable, try again");
    assert_null(a.field);
    json_decref(a.out);
    a = answer_for(GRPC_STATUS_DEADLINE_EXCEEDED, "content: GetTask: deadline");
    assert_string_equal(a.message, "the request took too long, try again");
    json_decref(a.out);
}

static void test_a_private_message_reaches_the_client_as_its_public_text(void **state)
{
    cleanup_err err_t *e = NULL;
    err_set_private(&e, GRPC_STATUS_INVALID_ARGUMENT, "code: not valid UTF-8",
                    "code: byte 0xff at offset 17 of user 42's upload");
    answer_t a = answer(e);
    assert_string_equal(a.field, "code");
    assert_string_equal(a.message, "not valid UTF-8");
    json_decref(a.out);
}

static void test_a_gateway_error_answers_with_the_status_code_and_field_it_chose(void **state)
{
    cleanup_err err_t *e = NULL;
    assert_int_equal(gw_err_http(&e, 413, "payload_too_large", "code", "over %d bytes", 65536),
                     -1);
    assert_int_equal(e->code, GRPC_STATUS_INVALID_ARGUMENT);
    answer_t a = answer(e);
    assert_int_equal(a.status, 413);
    assert_string_equal(a.code, "payload_too_large");
    assert_string_equal(a.field, "code");
    assert_string_equal(a.message, "over 65536 bytes");
    json_decref(a.out);
}

static void test_a_gateway_error_carries_a_grpc_code_for_the_log(void **state)
{
    static const struct {
        int http;
        grpc_status_code code;
    } cases[] = {
        {400, GRPC_STATUS_INVALID_ARGUMENT}, {403, GRPC_STATUS_PERMISSION_DENIED},
        {404, GRPC_STATUS_NOT_FOUND},        {429, GRPC_STATUS_RESOURCE_EXHAUSTED},
        {503, GRPC_STATUS_UNAVAILABLE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cleanup_err err_t *e = NULL;
        gw_err_http(&e, cases[i].http, "x", NULL, "refused");
        assert_int_equal(e->code, cases[i].code);
        assert_int_equal(e->http_status, cases[i].http);
        assert_null(e->field);
    }
}

static void test_a_gateway_error_keeps_an_earlier_error(void **state)
{
    cleanup_err err_t *e = NULL;
    err_set(&e, GRPC_STATUS_NOT_FOUND, "first");
    assert_int_equal(gw_err_http(&e, 413, "payload_too_large", NULL, "second"), -1);
    assert_string_equal(e->msg, "first");
    assert_int_equal(e->http_status, 0);
}

/* ------------------------------------------------------------------------ */

/* A request with `text` as its body and nothing else. */
static gw_req_t *with_body(const char *text)
{
    gw_req_t *r = test_calloc(1, sizeof *r);
    if (text) {
        r->body = test_malloc(strlen(text) + 1);
        strcpy(r->body, text);
        r->body_len = strlen(text);
    }
    return r;
}

static void req_free(gw_req_t *r)
{
    json_decref(r->in);
    test_free(r->body);
    arena_release(&r->arena);
    test_free(r);
}

static void expect_bad_body(const char *text, bool optional, const char *why)
{
    gw_req_t *r = with_body(text);
    cleanup_err err_t *err = NULL;
    json_t *out = (json_t *)1;
    assert_int_equal(gw_body_json(r, optional, &out, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->http_status, 400);
    assert_string_equal(err->http_code, "invalid_argument");
    if (strncmp(err->msg, why, strlen(why)) != 0)
        fail_msg("\"%s\": got \"%s\", wanted \"%s...\"", text ? text : "(none)", err->msg, why);
    req_free(r);
}

static void test_a_body_is_parsed_once_as_a_json_object(void **state)
{
    gw_req_t *r = with_body("{\"slug\":\"two-sum\"}");
    cleanup_err err_t *err = NULL;
    json_t *first = NULL, *second = NULL;
    assert_int_equal(gw_body_json(r, false, &first, &err), 0);
    assert_string_equal(json_string_value(json_object_get(first, "slug")), "two-sum");
    assert_int_equal(gw_body_json(r, false, &second, &err), 0);
    assert_ptr_equal(first, second);
    req_free(r);
}

static void test_an_absent_body_is_an_empty_object_only_when_optional(void **state)
{
    gw_req_t *r = with_body(NULL);
    cleanup_err err_t *err = NULL;
    json_t *out = NULL;
    assert_int_equal(gw_body_json(r, true, &out, &err), 0);
    assert_true(json_is_object(out));
    assert_int_equal(json_object_size(out), 0);
    req_free(r);
    expect_bad_body(NULL, false, "a JSON body is required");
}

static void test_a_body_that_is_not_one_json_object_is_refused(void **state)
{
    expect_bad_body("{\"slug\":", false, "malformed JSON");
    expect_bad_body("[1,2]", true, "the body must be a JSON object");
    expect_bad_body("\"text\"", true, "malformed JSON");
    expect_bad_body("{\"a\":1} {\"b\":2}", false, "malformed JSON");
}

static void test_a_body_with_a_repeated_key_is_refused(void **state)
{
    expect_bad_body("{\"role\":\"learner\",\"role\":\"admin\"}", false, "malformed JSON");
}

static void test_a_body_of_invalid_utf8_is_refused(void **state)
{
    expect_bad_body("{\"name\":\"\xff\"}", false, "malformed JSON");
}

static void test_a_nul_character_in_valid_json_is_refused_naming_the_field(void **state)
{
    gw_req_t *r = with_body("{\"language\":\"c\",\"code\":\"int main;\\u0000\"}");
    cleanup_err err_t *err = NULL;
    json_t *out = NULL;
    assert_int_equal(gw_body_json(r, false, &out, &err), -1);
    assert_int_equal(err->http_status, 400);
    assert_string_equal(err->field, "code");
    assert_string_equal(err->msg, "code: contains a NUL character (\\u0000), which Dojo does "
                                  "not accept in text (source code included); remove it");
    req_free(r);
    expect_bad_body("{\"task\":{\"tests\":[{\"input\":\"a\"},{\"input\":\"\\u0000\"}]}}", false,
                    "task.tests[1].input: contains a NUL character");
    /* Still malformed when it is malformed besides. */
    expect_bad_body("{\"code\":\"\\u0000\"", false, "malformed JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_field_error_names_the_field_apart_from_the_message),
        cmocka_unit_test(test_a_message_without_a_field_name_is_kept_whole),
        cmocka_unit_test(test_an_error_quoting_bytes_that_are_not_utf8_still_has_a_body),
        cmocka_unit_test(test_grpc_codes_become_their_http_statuses),
        cmocka_unit_test(test_a_failed_precondition_on_a_field_is_unprocessable),
        cmocka_unit_test(test_outages_and_internal_errors_hide_their_detail),
        cmocka_unit_test(test_a_private_message_reaches_the_client_as_its_public_text),
        cmocka_unit_test(test_a_gateway_error_answers_with_the_status_code_and_field_it_chose),
        cmocka_unit_test(test_a_gateway_error_carries_a_grpc_code_for_the_log),
        cmocka_unit_test(test_a_gateway_error_keeps_an_earlier_error),
        cmocka_unit_test(test_a_body_is_parsed_once_as_a_json_object),
        cmocka_unit_test(test_an_absent_body_is_an_empty_object_only_when_optional),
        cmocka_unit_test(test_a_body_that_is_not_one_json_object_is_refused),
        cmocka_unit_test(test_a_body_with_a_repeated_key_is_refused),
        cmocka_unit_test(test_a_body_of_invalid_utf8_is_refused),
        cmocka_unit_test(test_a_nul_character_in_valid_json_is_refused_naming_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
