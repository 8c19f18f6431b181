/* test_json — typed reads of request fields (the messages name the field),
 * times and bytes as the API writes them, enum names both ways, and the
 * learner-facing shapes: a hidden test never shows its name or output, an
 * event says what kind it is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "services/gateway/gateway.h"

static json_t *body(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (j == NULL)
        fail_msg("bad JSON in the test: %s", jerr.text);
    return j;
}

static void expect_invalid(err_t *err, const char *why)
{
    assert_non_null(err);
    assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->msg, why);
}

/* ------------------------------------------------------------------------ */

static void test_a_string_field_is_read_when_present(void **state)
{
    json_t *o = body("{\"title\":\"Two sum\"}");
    cleanup_err err_t *err = NULL;
    const char *s = NULL;
    assert_int_equal(gw_json_str(o, "title", true, 0, &s, &err), 0);
    assert_string_equal(s, "Two sum");
    json_decref(o);
}

static void test_an_absent_or_null_optional_string_reads_as_null(void **state)
{
    json_t *o = body("{\"title\":null}");
    cleanup_err err_t *err = NULL;
    const char *s = "untouched";
    assert_int_equal(gw_json_str(o, "title", false, 0, &s, &err), 0);
    assert_null(s);
    s = "untouched";
    assert_int_equal(gw_json_str(o, "other", false, 0, &s, &err), 0);
    assert_null(s);
    assert_null(err);
    json_decref(o);
}

static void test_a_required_string_must_be_present_and_not_empty(void **state)
{
    json_t *o = body("{\"empty\":\"\"}");
    const char *s = NULL;
    err_t *err = NULL;
    assert_int_equal(gw_json_str(o, "title", true, 0, &s, &err), -1);
    expect_invalid(err, "title: is required");
    err_clear(&err);
    assert_int_equal(gw_json_str(o, "empty", true, 0, &s, &err), -1);
    expect_invalid(err, "empty: must not be empty");
    err_clear(&err);
    json_decref(o);
}

static void test_a_string_field_of_another_type_or_too_long_is_refused(void **state)
{
    json_t *o = body("{\"n\":3,\"long\":\"abcdef\"}");
    const char *s = NULL;
    err_t *err = NULL;
    assert_int_equal(gw_json_str(o, "n", false, 0, &s, &err), -1);
    expect_invalid(err, "n: must be a string");
    err_clear(&err);
    assert_int_equal(gw_json_str(o, "long", false, 5, &s, &err), -1);
    expect_invalid(err, "long: must be at most 5 bytes");
    err_clear(&err);
    assert_int_equal(gw_json_str(o, "long", false, 6, &s, &err), 0);
    assert_string_equal(s, "abcdef");
    json_decref(o);
}

static void test_a_bool_field_is_true_or_false_and_absent_leaves_the_default(void **state)
{
    json_t *o = body("{\"yes\":true,\"no\":false,\"str\":\"true\"}");
    err_t *err = NULL;
    bool b = false;
    assert_int_equal(gw_json_bool(o, "yes", &b, &err), 0);
    assert_true(b);
    assert_int_equal(gw_json_bool(o, "no", &b, &err), 0);
    assert_false(b);
    b = true;
    assert_int_equal(gw_json_bool(o, "absent", &b, &err), 0);
    assert_true(b);
    assert_int_equal(gw_json_bool(o, "str", &b, &err), -1);
    expect_invalid(err, "str: must be true or false");
    err_clear(&err);
    json_decref(o);
}

static void test_an_int_field_is_an_integer_within_its_bounds(void **state)
{
    json_t *o = body("{\"n\":7,\"big\":101,\"f\":1.5,\"s\":\"7\"}");
    err_t *err = NULL;
    int64_t v = 42;
    assert_int_equal(gw_json_int(o, "absent", 0, 100, &v, &err), 0);
    assert_int_equal(v, 42);
    assert_int_equal(gw_json_int(o, "n", 0, 100, &v, &err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(gw_json_int(o, "big", 0, 100, &v, &err), -1);
    expect_invalid(err, "big: must be between 0 and 100");
    err_clear(&err);
    assert_int_equal(gw_json_int(o, "f", 0, 100, &v, &err), -1);
    expect_invalid(err, "f: must be an integer");
    err_clear(&err);
    assert_int_equal(gw_json_int(o, "s", 0, 100, &v, &err), -1);
    expect_invalid(err, "s: must be an integer");
    err_clear(&err);
    assert_int_equal(v, 7);
    json_decref(o);
}

/* ------------------------------------------------------------------------ */

static void expect_time(int64_t micros, const char *want)
{
    Dojo__Common__V1__Timestamp ts = DOJO__COMMON__V1__TIMESTAMP__INIT;
    ts.unix_micros = micros;
    json_t *j = gw_json_time(&ts);
    assert_true(json_is_string(j));
    assert_string_equal(json_string_value(j), want);
    json_decref(j);
}

static void test_a_time_is_rfc3339_utc_with_milliseconds(void **state)
{
    expect_time(1700000000123456, "2023-11-14T22:13:20.123Z");
    expect_time(1000, "1970-01-01T00:00:00.001Z");
    expect_time(-1000, "1969-12-31T23:59:59.999Z");
}

static void test_an_unset_time_is_null(void **state)
{
    Dojo__Common__V1__Timestamp ts = DOJO__COMMON__V1__TIMESTAMP__INIT;
    json_t *j = gw_json_time(&ts);
    assert_true(json_is_null(j));
    json_decref(j);
    j = gw_json_time(NULL);
    assert_true(json_is_null(j));
    json_decref(j);
}

static void test_bytes_that_are_not_utf8_become_replacement_characters(void **state)
{
    json_t *j = gw_json_bytes((const uint8_t *)"ok \xc3\xa9", 5);
    assert_string_equal(json_string_value(j), "ok \xc3\xa9");
    json_decref(j);
    j = gw_json_bytes((const uint8_t *)"a\xff" "b", 3);
    assert_string_equal(json_string_value(j), "a\xef\xbf\xbd" "b");
    json_decref(j);
    j = gw_json_bytes((const uint8_t *)"a\0b", 3);
    assert_int_equal(json_string_length(j), 5);
    assert_memory_equal(json_string_value(j), "a\xef\xbf\xbd" "b", 5);
    json_decref(j);
    j = gw_json_bytes((const uint8_t *)"", 0);
    assert_string_equal(json_string_value(j), "");
    json_decref(j);
}

static void test_difficulty_names_map_both_ways(void **state)
{
    const char *names[] = {"easy", "medium", "hard"};
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(gw_difficulty_name(gw_difficulty_parse(names[i])), names[i]);
    assert_int_equal(gw_difficulty_parse("extreme"), -1);
    assert_int_equal(gw_difficulty_parse("Easy"), -1);
}

static void test_verdict_names_are_short_and_unspecified_has_none(void **state)
{
    assert_string_equal(gw_verdict_name(DOJO__COMMON__V1__VERDICT__VERDICT_AC), "ac");
    assert_string_equal(gw_verdict_name(DOJO__COMMON__V1__VERDICT__VERDICT_WA), "wa");
    assert_string_equal(gw_verdict_name(DOJO__COMMON__V1__VERDICT__VERDICT_TLE), "tle");
    assert_string_equal(gw_verdict_name(DOJO__COMMON__V1__VERDICT__VERDICT_NOT_RUN), "not_run");
    assert_null(gw_verdict_name(DOJO__COMMON__V1__VERDICT__VERDICT_UNSPECIFIED));
    assert_null(gw_verdict_name(-1));
    assert_null(gw_verdict_name(1000));
}

/* ------------------------------------------------------------------------ */

static void test_a_hidden_test_shows_neither_its_name_nor_its_output(void **state)
{
    Dojo__Gamification__V1__TestResult t = DOJO__GAMIFICATION__V1__TEST_RESULT__INIT;
    t.index = 3;
    t.name = "the secret edge case";
    t.hidden = true;
    t.output_excerpt = "expected 42, the answer";
    t.verdict = DOJO__COMMON__V1__VERDICT__VERDICT_WA;
    json_t *j = gw_json_test_result(&t);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "hidden");
    assert_string_equal(json_string_value(json_object_get(j, "output_excerpt")), "");
    assert_true(json_is_true(json_object_get(j, "hidden")));
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "wa");
    assert_int_equal(json_integer_value(json_object_get(j, "index")), 3);
    json_decref(j);
}

static void test_a_hidden_test_keeps_a_generated_hidden_name(void **state)
{
    Dojo__Gamification__V1__TestResult t = DOJO__GAMIFICATION__V1__TEST_RESULT__INIT;
    t.name = "hidden-2";
    t.hidden = true;
    json_t *j = gw_json_test_result(&t);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "hidden-2");
    assert_true(json_is_null(json_object_get(j, "verdict")));
    json_decref(j);
}

static void test_a_visible_test_shows_its_name_and_output(void **state)
{
    Dojo__Gamification__V1__TestResult t = DOJO__GAMIFICATION__V1__TEST_RESULT__INIT;
    t.name = "sample 1";
    t.output_excerpt = "3\n";
    json_t *j = gw_json_test_result(&t);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "sample 1");
    assert_string_equal(json_string_value(json_object_get(j, "output_excerpt")), "3\n");
    assert_true(json_is_false(json_object_get(j, "hidden")));
    json_decref(j);
}

static void test_an_output_event_carries_its_kind_data_and_offset(void **state)
{
    Dojo__Executor__V1__OutputChunk chunk = DOJO__EXECUTOR__V1__OUTPUT_CHUNK__INIT;
    chunk.data.data = (uint8_t *)"hi\xff";
    chunk.data.len = 3;
    chunk.offset = 10;
    Dojo__Executor__V1__Event e = DOJO__EXECUTOR__V1__EVENT__INIT;
    e.submission_id = "s1";
    e.seq = 4;
    e.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_STDERR_CHUNK;
    e.stderr_chunk = &chunk;
    json_t *j = gw_json_event(&e, "1700000000000-0");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "stderr");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "1700000000000-0");
    assert_string_equal(json_string_value(json_object_get(j, "data")), "hi\xef\xbf\xbd");
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), 10);
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 4);
    assert_true(json_is_false(json_object_get(j, "truncated")));
    json_decref(j);
}

static void test_an_event_of_an_unknown_kind_says_so(void **state)
{
    Dojo__Executor__V1__Event e = DOJO__EXECUTOR__V1__EVENT__INIT;
    json_t *j = gw_json_event(&e, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "unknown");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "");
    assert_string_equal(json_string_value(json_object_get(j, "submission_id")), "");
    json_decref(j);
}

static void test_field_errors_name_their_path_and_file_when_known(void **state)
{
    Dojo__Common__V1__FieldError a = DOJO__COMMON__V1__FIELD_ERROR__INIT;
    a.path = "tests[0].input";
    a.message = "must be a string";
    Dojo__Common__V1__FieldError b = DOJO__COMMON__V1__FIELD_ERROR__INIT;
    b.path = "title";
    b.message = "is required";
    b.file = "content/tasks/two-sum.json";
    Dojo__Common__V1__FieldError *errs[] = {&a, &b};
    json_t *j = gw_json_field_errors(errs, 2);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "path")),
                        "tests[0].input");
    assert_null(json_object_get(json_array_get(j, 0), "file"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "file")),
                        "content/tasks/two-sum.json");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_string_field_is_read_when_present),
        cmocka_unit_test(test_an_absent_or_null_optional_string_reads_as_null),
        cmocka_unit_test(test_a_required_string_must_be_present_and_not_empty),
        cmocka_unit_test(test_a_string_field_of_another_type_or_too_long_is_refused),
        cmocka_unit_test(test_a_bool_field_is_true_or_false_and_absent_leaves_the_default),
        cmocka_unit_test(test_an_int_field_is_an_integer_within_its_bounds),
        cmocka_unit_test(test_a_time_is_rfc3339_utc_with_milliseconds),
        cmocka_unit_test(test_an_unset_time_is_null),
        cmocka_unit_test(test_bytes_that_are_not_utf8_become_replacement_characters),
        cmocka_unit_test(test_difficulty_names_map_both_ways),
        cmocka_unit_test(test_verdict_names_are_short_and_unspecified_has_none),
        cmocka_unit_test(test_a_hidden_test_shows_neither_its_name_nor_its_output),
        cmocka_unit_test(test_a_hidden_test_keeps_a_generated_hidden_name),
        cmocka_unit_test(test_a_visible_test_shows_its_name_and_output),
        cmocka_unit_test(test_an_output_event_carries_its_kind_data_and_offset),
        cmocka_unit_test(test_an_event_of_an_unknown_kind_says_so),
        cmocka_unit_test(test_field_errors_name_their_path_and_file_when_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
