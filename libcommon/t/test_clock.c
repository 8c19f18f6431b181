/* test_clock — the monotonic and wall clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "libcommon/clock.h"

static void test_monotonic_milliseconds_never_go_back(void **state)
{
    int64_t prev = mono_ms();
    for (int i = 0; i < 1000; i++) {
        int64_t now = mono_ms();
        assert_true(now >= prev);
        prev = now;
    }
}

static void test_monotonic_milliseconds_count_a_sleep_of_that_many(void **state)
{
    int64_t t0 = mono_ms();
    sleep_ms(20);
    /* At least the sleep; no upper bound (a busy machine may sleep longer). */
    assert_true(mono_ms() - t0 >= 20);
}

static void test_wall_microseconds_agree_with_time(void **state)
{
    int64_t before = (int64_t)time(NULL);
    int64_t us = wall_us();
    int64_t after = (int64_t)time(NULL);
    assert_true(us / 1000000 >= before);
    assert_true(us / 1000000 <= after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic_milliseconds_never_go_back),
        cmocka_unit_test(test_monotonic_milliseconds_count_a_sleep_of_that_many),
        cmocka_unit_test(test_wall_microseconds_agree_with_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
