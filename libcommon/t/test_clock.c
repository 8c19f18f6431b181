/* test_clock — the monotonic and wall clocks, "now" from DOJO_CLOCK_FILE, and
 * RFC 3339 times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void test_rfc3339_times_parse_in_utc_and_with_offsets(void **state)
{
    int64_t us;
    assert_int_equal(clock_parse_rfc3339("2026-01-01T00:00:00Z", &us), 0);
    assert_int_equal(us, 1767225600LL * 1000000);
    assert_int_equal(clock_parse_rfc3339("2026-01-01T05:30:00.250+05:30", &us), 0);
    assert_int_equal(us, 1767225600LL * 1000000 + 250000);
    assert_int_equal(clock_parse_rfc3339("2026-01-01 00:00:00", &us), -1);
    assert_int_equal(clock_parse_rfc3339("yesterday", &us), -1);
    assert_int_equal(clock_parse_rfc3339("2026-13-01T00:00:00Z", &us), -1);
}

static void test_rfc3339_format_is_utc_with_milliseconds(void **state)
{
    char buf[40];
    clock_format_rfc3339(1767225600LL * 1000000 + 250999, buf, sizeof buf);
    assert_string_equal(buf, "2026-01-01T00:00:00.250Z");
    int64_t back;
    assert_int_equal(clock_parse_rfc3339(buf, &back), 0);
    assert_int_equal(back, 1767225600LL * 1000000 + 250000);
}

static void test_now_comes_from_the_clock_file_when_one_is_named(void **state)
{
    char path[] = "/tmp/dojo-clock-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "1767225600.5\n", 13), 13);
    close(fd);
    assert_int_equal(clock_now_us(path), 1767225600LL * 1000000 + 500000);
    FILE *f = fopen(path, "w");
    fputs("2026-03-08T09:30:00Z", f);
    fclose(f);
    int64_t want;
    assert_int_equal(clock_parse_rfc3339("2026-03-08T09:30:00Z", &want), 0);
    assert_int_equal(clock_now_us(path), want);
    unlink(path);
    /* Unreadable: real time, not a crash. */
    int64_t real = wall_us();
    assert_true(clock_now_us(path) >= real);
    assert_true(clock_now_us("") >= real);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic_milliseconds_never_go_back),
        cmocka_unit_test(test_monotonic_milliseconds_count_a_sleep_of_that_many),
        cmocka_unit_test(test_wall_microseconds_agree_with_time),
        cmocka_unit_test(test_rfc3339_times_parse_in_utc_and_with_offsets),
        cmocka_unit_test(test_rfc3339_format_is_utc_with_milliseconds),
        cmocka_unit_test(test_now_comes_from_the_clock_file_when_one_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
