/* test_path — /api/v1 paths cut into segments (no empty ones, no trailing
 * slash, at most the router's eight), route patterns with ":" for one
 * segment, the text rules of paths and query arguments, and which
 * Content-Type headers name a JSON body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "services/gateway/gateway.h"

#define CAP 8

static int split(arena_t *a, const char *rest, const char **segs)
{
    int n = -1;
    if (!gw_path_split(a, rest, segs, CAP, &n))
        return -1;
    return n;
}

static void test_a_path_is_cut_at_each_slash(void **state)
{
    arena_t a = {0};
    const char *segs[CAP];
    assert_int_equal(split(&a, "submissions/1234/events", segs), 3);
    assert_string_equal(segs[0], "submissions");
    assert_string_equal(segs[1], "1234");
    assert_string_equal(segs[2], "events");
    assert_int_equal(split(&a, "health", segs), 1);
    assert_string_equal(segs[0], "health");
    arena_release(&a);
}

static void test_the_bare_api_prefix_has_no_segments(void **state)
{
    arena_t a = {0};
    const char *segs[CAP];
    assert_int_equal(split(&a, "", segs), 0);
    arena_release(&a);
}

static void test_empty_segments_and_a_trailing_slash_are_refused(void **state)
{
    arena_t a = {0};
    const char *segs[CAP];
    assert_int_equal(split(&a, "tasks//two-sum", segs), -1);
    assert_int_equal(split(&a, "tasks/", segs), -1);
    assert_int_equal(split(&a, "/tasks", segs), -1);
    arena_release(&a);
}

static void test_a_path_holds_at_most_cap_segments(void **state)
{
    arena_t a = {0};
    const char *segs[CAP];
    assert_int_equal(split(&a, "1/2/3/4/5/6/7/8", segs), 8);
    assert_string_equal(segs[7], "8");
    assert_int_equal(split(&a, "1/2/3/4/5/6/7/8/9", segs), -1);
    arena_release(&a);
}

static bool matches(const char *pattern, const char *path)
{
    arena_t a = {0};
    const char *segs[CAP];
    int n = split(&a, path, segs);
    assert_true(n >= 0);
    bool ok = gw_route_match(pattern, segs, n);
    arena_release(&a);
    return ok;
}

static void test_a_literal_pattern_matches_only_its_own_segments(void **state)
{
    assert_true(matches("auth/login", "auth/login"));
    assert_false(matches("auth/login", "auth/logout"));
    assert_false(matches("auth/login", "auth/logi"));
    assert_false(matches("auth/login", "auth/loginx"));
    assert_false(matches("tasks", "task"));
    assert_false(matches("tasks", "Tasks"));
}

static void test_a_colon_matches_exactly_one_segment(void **state)
{
    assert_true(matches("tasks/:", "tasks/two-sum"));
    assert_true(matches("submissions/:/events", "submissions/abc/events"));
    assert_true(matches("classes/:/assignments/:/grades.csv", "classes/c1/assignments/a2/grades.csv"));
    assert_false(matches("tasks/:", "tasks"));
    assert_false(matches("submissions/:/events", "submissions/abc/cancel"));
}

static void test_a_pattern_matches_only_the_same_number_of_segments(void **state)
{
    assert_false(matches("tasks", "tasks/two-sum"));
    assert_false(matches("tasks/:", "tasks/two-sum/solutions"));
    assert_false(matches("me/progress", "me"));
    assert_true(matches("me", "me"));
    assert_false(matches("health", ""));
}

static void test_paths_and_arguments_are_utf8_without_control_characters(void **state)
{
    assert_true(gw_text_ok("tasks/two-sum", 64));
    assert_true(gw_text_ok("caf\xc3\xa9", 64));
    assert_true(gw_text_ok("", 64));
    assert_false(gw_text_ok("caf\xc3", 64));
    assert_false(gw_text_ok("\xff", 64));
    assert_false(gw_text_ok("a\tb", 64));
    assert_false(gw_text_ok("a\nb", 64));
    assert_false(gw_text_ok("\x1b[31m", 64));
}

static void test_paths_and_arguments_have_a_length_limit_in_bytes(void **state)
{
    char s[70];
    memset(s, 'a', 64);
    s[64] = '\0';
    assert_true(gw_text_ok(s, 64));
    s[64] = 'a';
    s[65] = '\0';
    assert_false(gw_text_ok(s, 64));
}

static void test_a_json_body_is_sent_as_application_json(void **state)
{
    assert_true(gw_json_content_type("application/json"));
    assert_true(gw_json_content_type("application/json; charset=utf-8"));
    assert_true(gw_json_content_type("application/json;charset=UTF-8"));
    assert_true(gw_json_content_type("Application/JSON"));
    assert_false(gw_json_content_type(NULL));
    assert_false(gw_json_content_type(""));
    assert_false(gw_json_content_type("text/plain"));
    assert_false(gw_json_content_type("application/jsonp"));
    assert_false(gw_json_content_type("application/x-www-form-urlencoded"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_path_is_cut_at_each_slash),
        cmocka_unit_test(test_the_bare_api_prefix_has_no_segments),
        cmocka_unit_test(test_empty_segments_and_a_trailing_slash_are_refused),
        cmocka_unit_test(test_a_path_holds_at_most_cap_segments),
        cmocka_unit_test(test_a_literal_pattern_matches_only_its_own_segments),
        cmocka_unit_test(test_a_colon_matches_exactly_one_segment),
        cmocka_unit_test(test_a_pattern_matches_only_the_same_number_of_segments),
        cmocka_unit_test(test_paths_and_arguments_are_utf8_without_control_characters),
        cmocka_unit_test(test_paths_and_arguments_have_a_length_limit_in_bytes),
        cmocka_unit_test(test_a_json_body_is_sent_as_application_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
