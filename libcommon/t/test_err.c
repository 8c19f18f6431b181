/* test_err — the error type: creation, wrapping, public messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "libcommon/err.h"

static void test_err_set_stores_code_and_message(void **state)
{
    cleanup_err err_t *err = NULL;
    assert_int_equal(err_set(&err, GRPC_STATUS_NOT_FOUND, "task %d not found", 7), -1);
    assert_non_null(err);
    assert_int_equal(err->code, GRPC_STATUS_NOT_FOUND);
    assert_int_equal(err->errno_value, 0);
    assert_string_equal(err->msg, "task 7 not found");
}

static void test_non_internal_message_is_public(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set(&err, GRPC_STATUS_INVALID_ARGUMENT, "email is not valid");
    assert_string_equal(err_public_message(err), "email is not valid");
}

static void test_internal_message_stays_private(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set(&err, GRPC_STATUS_INTERNAL, "pg: relation users does not exist");
    assert_string_equal(err_public_message(err), "internal error");
}

static void test_set_private_keeps_the_message_for_the_log(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set_private(&err, GRPC_STATUS_ALREADY_EXISTS, "already exists",
                    "insert: duplicate key on users_email_key");
    assert_int_equal(err->code, GRPC_STATUS_ALREADY_EXISTS);
    assert_string_equal(err->msg, "insert: duplicate key on users_email_key");
    assert_string_equal(err_public_message(err), "already exists");
    cleanup_err err_t *err2 = NULL;
    err_set_private(&err2, GRPC_STATUS_UNAVAILABLE, NULL, "redis 10.0.0.5:6379: timed out");
    assert_string_equal(err_public_message(err2), "service unavailable, try again");
}

static void test_unavailable_without_public_message_reads_try_again(void **state)
{
    cleanup_err err_t *err = NULL;
    err_errno(&err, ECONNREFUSED, "connect");
    err_recode(&err, GRPC_STATUS_UNAVAILABLE, NULL);
    assert_string_equal(err_public_message(err), "service unavailable, try again");
}

static void test_err_errno_appends_strerror_and_is_internal(void **state)
{
    cleanup_err err_t *err = NULL;
    assert_int_equal(err_errno(&err, ENOENT, "open %s", "config.json"), -1);
    assert_int_equal(err->code, GRPC_STATUS_INTERNAL);
    assert_int_equal(err->errno_value, ENOENT);
    assert_string_equal(err->msg, "open config.json: No such file or directory");
    assert_string_equal(err_public_message(err), "internal error");
}

static void test_wrap_prefixes_context_and_keeps_public_message(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set(&err, GRPC_STATUS_ALREADY_EXISTS, "email taken");
    assert_int_equal(err_wrap(&err, "register %s", "ann"), -1);
    assert_int_equal(err_wrap(&err, "rpc"), -1);
    assert_string_equal(err->msg, "rpc: register ann: email taken");
    assert_string_equal(err_public_message(err), "email taken");
}

static void test_first_error_wins(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set(&err, GRPC_STATUS_NOT_FOUND, "first");
    err_set(&err, GRPC_STATUS_INTERNAL, "second");
    assert_int_equal(err->code, GRPC_STATUS_NOT_FOUND);
    assert_string_equal(err->msg, "first");
}

static void test_null_err_pointer_is_accepted(void **state)
{
    assert_int_equal(err_set(NULL, GRPC_STATUS_INTERNAL, "ignored"), -1);
    assert_int_equal(err_wrap(NULL, "ctx"), -1);
    err_t *none = NULL;
    assert_int_equal(err_wrap(&none, "ctx"), -1);
    assert_null(none);
}

static void test_recode_changes_the_code_and_keeps_the_message_unless_told(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set(&err, GRPC_STATUS_FAILED_PRECONDITION, "task archived");
    assert_int_equal(err_recode(&err, GRPC_STATUS_NOT_FOUND, NULL), -1);
    assert_int_equal(err->code, GRPC_STATUS_NOT_FOUND);
    assert_string_equal(err->msg, "task archived");
    assert_string_equal(err_public_message(err), "task archived");

    err_recode(&err, GRPC_STATUS_UNAVAILABLE, "content service unavailable, try again");
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_string_equal(err->msg, "task archived");
    assert_string_equal(err_public_message(err), "content service unavailable, try again");
}

static void test_recode_of_an_internal_error_keeps_its_detail_private(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set(&err, GRPC_STATUS_INTERNAL, "redis 10.0.0.5:6379: connection reset");
    err_recode(&err, GRPC_STATUS_UNAVAILABLE, NULL);
    assert_string_equal(err_public_message(err), "service unavailable, try again");
}

static void test_retry_after_is_kept_and_never_negative(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set(&err, GRPC_STATUS_RESOURCE_EXHAUSTED, "slow down");
    assert_int_equal(err->retry_after_s, 0);
    assert_int_equal(err_set_retry_after(&err, 7), -1);
    assert_int_equal(err->retry_after_s, 7);
    err_wrap(&err, "login");
    assert_int_equal(err->retry_after_s, 7);
    err_set_retry_after(&err, -3);
    assert_int_equal(err->retry_after_s, 0);
}

static void test_http_status_code_and_field_travel_with_the_error(void **state)
{
    cleanup_err err_t *err = NULL;
    err_set(&err, GRPC_STATUS_INVALID_ARGUMENT, "code: must be at most 65536 bytes");
    assert_int_equal(err->http_status, 0);
    assert_null(err->http_code);
    assert_null(err->field);
    char field[] = "code";
    assert_int_equal(err_set_http(&err, 413, "payload_too_large", field), -1);
    field[0] = 'X'; /* the error holds its own copy */
    err_wrap(&err, "submit");
    assert_int_equal(err->http_status, 413);
    assert_string_equal(err->http_code, "payload_too_large");
    assert_string_equal(err->field, "code");
    assert_string_equal(err->msg, "submit: code: must be at most 65536 bytes");

    err_set_http(&err, 403, "csrf_failed", NULL);
    assert_int_equal(err->http_status, 403);
    assert_string_equal(err->http_code, "csrf_failed");
    assert_null(err->field);
    err_set_http(&err, 400, "invalid_argument", "");
    assert_null(err->field);
}

static void test_hints_on_no_error_are_ignored(void **state)
{
    err_t *none = NULL;
    assert_int_equal(err_recode(&none, GRPC_STATUS_UNAVAILABLE, "x"), -1);
    assert_int_equal(err_set_retry_after(&none, 5), -1);
    assert_int_equal(err_set_http(&none, 400, "invalid_argument", "f"), -1);
    assert_null(none);
    assert_int_equal(err_recode(NULL, GRPC_STATUS_UNAVAILABLE, NULL), -1);
    assert_int_equal(err_set_retry_after(NULL, 5), -1);
    assert_int_equal(err_set_http(NULL, 400, "invalid_argument", NULL), -1);
}

static void test_code_names_match_grpc(void **state)
{
    assert_string_equal(err_code_name(GRPC_STATUS_OK), "OK");
    assert_string_equal(err_code_name(GRPC_STATUS_ALREADY_EXISTS), "ALREADY_EXISTS");
    assert_string_equal(err_code_name(GRPC_STATUS_UNAUTHENTICATED), "UNAUTHENTICATED");
    assert_string_equal(err_code_name((grpc_status_code)99), "UNKNOWN");
}

static void test_clear_frees_and_resets(void **state)
{
    err_t *err = NULL;
    err_set(&err, GRPC_STATUS_INTERNAL, "x");
    err_clear(&err);
    assert_null(err);
    err_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_stores_code_and_message),
        cmocka_unit_test(test_non_internal_message_is_public),
        cmocka_unit_test(test_internal_message_stays_private),
        cmocka_unit_test(test_set_private_keeps_the_message_for_the_log),
        cmocka_unit_test(test_unavailable_without_public_message_reads_try_again),
        cmocka_unit_test(test_err_errno_appends_strerror_and_is_internal),
        cmocka_unit_test(test_wrap_prefixes_context_and_keeps_public_message),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_null_err_pointer_is_accepted),
        cmocka_unit_test(test_recode_changes_the_code_and_keeps_the_message_unless_told),
        cmocka_unit_test(test_recode_of_an_internal_error_keeps_its_detail_private),
        cmocka_unit_test(test_retry_after_is_kept_and_never_negative),
        cmocka_unit_test(test_http_status_code_and_field_travel_with_the_error),
        cmocka_unit_test(test_hints_on_no_error_are_ignored),
        cmocka_unit_test(test_code_names_match_grpc),
        cmocka_unit_test(test_clear_frees_and_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
