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
    err->code = GRPC_STATUS_UNAVAILABLE;
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
        cmocka_unit_test(test_code_names_match_grpc),
        cmocka_unit_test(test_clear_frees_and_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
