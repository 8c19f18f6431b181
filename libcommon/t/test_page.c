/* test_page — a page request read the one way every list RPC reads it: the
 * default and the maximum size, and tokens that are row offsets in decimal
 * (anything else refused, naming the field). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "libcommon/page.h"

static void test_no_page_is_the_first_page_of_the_default_size(void **state)
{
    int64_t offset = -1;
    int size = -1;
    cleanup_err err_t *err = NULL;
    assert_int_equal(page_read(NULL, 50, 200, &offset, &size, &err), 0);
    assert_int_equal(offset, 0);
    assert_int_equal(size, 50);
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    assert_int_equal(page_read(&page, 50, 200, &offset, &size, &err), 0);
    assert_int_equal(offset, 0);
    assert_int_equal(size, 50);
}

static void test_a_token_is_the_offset_of_the_next_row(void **state)
{
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    page.page_size = 20;
    page.page_token = "40";
    int64_t offset = 0;
    int size = 0;
    cleanup_err err_t *err = NULL;
    assert_int_equal(page_read(&page, 50, 200, &offset, &size, &err), 0);
    assert_int_equal(offset, 40);
    assert_int_equal(size, 20);
}

static void test_a_size_over_the_maximum_or_negative_is_refused(void **state)
{
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    int64_t offset;
    int size;
    int sizes[] = {201, -1};
    for (size_t i = 0; i < 2; i++) {
        page.page_size = sizes[i];
        cleanup_err err_t *err = NULL;
        assert_int_equal(page_read(&page, 50, 200, &offset, &size, &err), -1);
        assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
        assert_string_equal(err->msg, "page.page_size: must be 0 to 200");
    }
    page.page_size = 200;
    cleanup_err err_t *err = NULL;
    assert_int_equal(page_read(&page, 50, 200, &offset, &size, &err), 0);
    assert_int_equal(size, 200);
}

static void test_a_token_that_is_not_a_decimal_offset_is_refused(void **state)
{
    const char *bad[] = {"-1", "+3", " 3", "3 ", "abc", "0x10", "1e3", "100000001",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
        page.page_token = (char *)bad[i];
        int64_t offset;
        int size;
        cleanup_err err_t *err = NULL;
        if (page_read(&page, 50, 200, &offset, &size, &err) != -1)
            fail_msg("token \"%s\" accepted", bad[i]);
        assert_string_equal(err->msg, "page.page_token: is not valid");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_page_is_the_first_page_of_the_default_size),
        cmocka_unit_test(test_a_token_is_the_offset_of_the_next_row),
        cmocka_unit_test(test_a_size_over_the_maximum_or_negative_is_refused),
        cmocka_unit_test(test_a_token_that_is_not_a_decimal_offset_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
