/* test_config — environment variables with defaults; bad values exit(2)
 * naming the variable (checked in a forked child). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "libcommon/config.h"
#include "testutil.h"

static void test_str_returns_default_when_unset_or_empty(void **state)
{
    unsetenv("DOJO_T_STR");
    assert_string_equal(config_str("DOJO_T_STR", "dflt"), "dflt");
    setenv("DOJO_T_STR", "", 1);
    assert_string_equal(config_str("DOJO_T_STR", "dflt"), "dflt");
    setenv("DOJO_T_STR", "value", 1);
    assert_string_equal(config_str("DOJO_T_STR", "dflt"), "value");
}

static void test_int_parses_and_defaults(void **state)
{
    unsetenv("DOJO_T_INT");
    assert_int_equal(config_int("DOJO_T_INT", 8, 1, 64), 8);
    setenv("DOJO_T_INT", "16", 1);
    assert_int_equal(config_int("DOJO_T_INT", 8, 1, 64), 16);
    setenv("DOJO_T_INT", "-3", 1);
    assert_int_equal(config_int("DOJO_T_INT", 0, -5, 5), -3);
}

static void test_bool_accepts_common_spellings(void **state)
{
    const char *yes[] = {"1", "true", "TRUE", "yes", "on"};
    const char *no[] = {"0", "false", "No", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        setenv("DOJO_T_BOOL", yes[i], 1);
        assert_true(config_bool("DOJO_T_BOOL", false));
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        setenv("DOJO_T_BOOL", no[i], 1);
        assert_false(config_bool("DOJO_T_BOOL", true));
    }
    unsetenv("DOJO_T_BOOL");
    assert_true(config_bool("DOJO_T_BOOL", true));
}

static void test_duration_units_convert_to_milliseconds(void **state)
{
    int64_t ms = 0;
    assert_int_equal(config_parse_duration_ms("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(config_parse_duration_ms("30s", &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(config_parse_duration_ms("15m", &ms), 0);
    assert_int_equal(ms, 900000);
    assert_int_equal(config_parse_duration_ms("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(config_parse_duration_ms("7d", &ms), 0);
    assert_int_equal(ms, 7LL * 86400 * 1000);
    assert_int_equal(config_parse_duration_ms("12", &ms), 0);
    assert_int_equal(ms, 12000);
    assert_int_equal(config_parse_duration_ms("5 weeks", &ms), -1);
    assert_int_equal(config_parse_duration_ms("-1s", &ms), -1);
    assert_int_equal(config_parse_duration_ms("", &ms), -1);
    assert_int_equal(config_parse_duration_ms("99999999999999999d", &ms), -1);

    unsetenv("DOJO_T_DUR");
    assert_int_equal(config_duration_ms("DOJO_T_DUR", "15m", 1, INT64_MAX), 900000);
}

static void test_addr_and_enum_accept_good_values(void **state)
{
    setenv("DOJO_T_ADDR", "127.0.0.1:7001", 1);
    assert_string_equal(config_addr("DOJO_T_ADDR", "x:1"), "127.0.0.1:7001");
    static const char *const choices[] = {"crun", "runsc", NULL};
    setenv("DOJO_T_ENUM", "RUNSC", 1);
    assert_int_equal(config_enum("DOJO_T_ENUM", "crun", choices), 1);
    unsetenv("DOJO_T_ENUM");
    assert_int_equal(config_enum("DOJO_T_ENUM", "crun", choices), 0);
}

/* Runs fn in a child with NAME=VALUE set; checks it exits 2 and that its
 * stderr names the variable and says `why`. */
static void expect_exit_2(void (*fn)(void), const char *name, const char *value, const char *why)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], STDERR_FILENO);
        if (value)
            setenv(name, value, 1);
        else
            unsetenv(name);
        fn();
        _exit(0); /* fn should not return */
    }
    close(p[1]);
    char buf[1024] = {0};
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(p[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    if (strstr(buf, name) == NULL || strstr(buf, why) == NULL)
        fail_msg("stderr \"%s\" does not name %s / say \"%s\"", buf, name, why);
}

static void bad_int(void) { config_int("DOJO_T_BAD", 1, 0, 10); }
static void int_out_of_range(void) { config_int("DOJO_T_BAD", 1, 0, 10); }
static void bad_bool(void) { config_bool("DOJO_T_BAD", false); }
static void bad_duration(void) { config_duration_ms("DOJO_T_BAD", "1s", 0, INT64_MAX); }
static void duration_out_of_range(void) { config_duration_ms("DOJO_T_BAD", "1s", 0, 60000); }
static void bad_addr(void) { config_addr("DOJO_T_BAD", "x:1"); }
static void bad_enum(void)
{
    static const char *const choices[] = {"text", "json", NULL};
    config_enum("DOJO_T_BAD", "text", choices);
}
static void missing_required(void) { config_str_required("DOJO_T_BAD"); }

static void test_garbage_int_exits_2_naming_the_variable(void **state)
{
    expect_exit_2(bad_int, "DOJO_T_BAD", "12abc", "whole number");
}

static void test_int_out_of_range_exits_2_naming_the_variable(void **state)
{
    expect_exit_2(int_out_of_range, "DOJO_T_BAD", "11", "between 0 and 10");
}

static void test_garbage_bool_exits_2_naming_the_variable(void **state)
{
    expect_exit_2(bad_bool, "DOJO_T_BAD", "maybe", "true or false");
}

static void test_garbage_duration_exits_2_naming_the_variable(void **state)
{
    expect_exit_2(bad_duration, "DOJO_T_BAD", "5 weeks", "duration");
}

static void test_duration_out_of_range_exits_2_naming_the_variable(void **state)
{
    expect_exit_2(duration_out_of_range, "DOJO_T_BAD", "2m", "between");
}

static void test_addr_without_port_exits_2_naming_the_variable(void **state)
{
    expect_exit_2(bad_addr, "DOJO_T_BAD", "localhost", "host:port");
    expect_exit_2(bad_addr, "DOJO_T_BAD", "localhost:99999", "port");
}

static void test_unknown_enum_value_exits_2_listing_choices(void **state)
{
    expect_exit_2(bad_enum, "DOJO_T_BAD", "xml", "one of: text json");
}

static void test_missing_required_variable_exits_2_naming_it(void **state)
{
    expect_exit_2(missing_required, "DOJO_T_BAD", NULL, "must be set");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_returns_default_when_unset_or_empty),
        cmocka_unit_test(test_int_parses_and_defaults),
        cmocka_unit_test(test_bool_accepts_common_spellings),
        cmocka_unit_test(test_duration_units_convert_to_milliseconds),
        cmocka_unit_test(test_addr_and_enum_accept_good_values),
        cmocka_unit_test(test_garbage_int_exits_2_naming_the_variable),
        cmocka_unit_test(test_int_out_of_range_exits_2_naming_the_variable),
        cmocka_unit_test(test_garbage_bool_exits_2_naming_the_variable),
        cmocka_unit_test(test_garbage_duration_exits_2_naming_the_variable),
        cmocka_unit_test(test_duration_out_of_range_exits_2_naming_the_variable),
        cmocka_unit_test(test_addr_without_port_exits_2_naming_the_variable),
        cmocka_unit_test(test_unknown_enum_value_exits_2_listing_choices),
        cmocka_unit_test(test_missing_required_variable_exits_2_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
