/* test_check — the validation kit: readers report their own problem at
 * their own path, enum names make their own message, documents are read
 * section by section (a small kind of file defined here, as a new kind
 * would be), and the canonical text is stable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "libcommon/text.h"
#include "testkit.h"

/* A report and an object of `text` at "$.thing" to read from. */
typedef struct {
    content_report_t rep;
    json_t *doc;
    check_obj_t o;
} fixture_t;

static void open_fixture(fixture_t *f, const char *text)
{
    content_report_init(&f->rep, "file.json");
    f->doc = doc_of(text);
    assert_true(check_obj(&f->o, &f->rep, f->doc, "$.thing"));
}

static void close_fixture(fixture_t *f)
{
    content_report_free(&f->rep);
    json_decref(f->doc);
}

/* True when `s` is UTF-8 throughout. */
static bool is_utf8(const char *s)
{
    for (size_t i = 0, n, len = strlen(s); i < len; i += n)
        if ((n = text_utf8_seq((const unsigned char *)s + i, len - i)) == 0)
            return false;
    return true;
}

/* ---- reports ----------------------------------------------------------- */

static void test_a_report_is_utf8_even_when_what_it_quotes_is_not(void **state)
{
    content_report_t rep;
    content_report_init(&rep, "file.json");
    /* jansson quotes the text at fault, here the first byte of the "գ" after
     * a backslash. */
    static const char broken[] = "{\"a\": \"x\\\xd5\xa3\"}";
    json_t *doc = NULL;
    assert_int_equal(check_parse(broken, sizeof broken - 1, 1024, &rep, &doc), -1);
    assert_int_equal(rep.n_errors, 1);
    assert_true(is_utf8(rep.errors[0].message));
    assert_non_null(strstr(rep.errors[0].message, "\xef\xbf\xbd"));
    /* A path cuts a long key at 64 bytes, here inside an "é". */
    char key[96] = "k", path[CHECK_PATH_MAX];
    for (int i = 0; i < 40; i++)
        strcat(key, "\xc3\xa9");
    check_path_key(path, "$", key);
    content_report_warn(&rep, path, "unknown field %s", key + 60);
    assert_true(is_utf8(rep.warnings[0].path));
    assert_true(is_utf8(rep.warnings[0].message));
    content_report_free(&rep);
}

/* ---- paths ------------------------------------------------------------- */

static void test_paths_name_keys_and_indexes(void **state)
{
    char p[CHECK_PATH_MAX], q[CHECK_PATH_MAX];
    check_path_key(p, "$", "tests");
    check_path_index(q, p, 3);
    check_path_key(p, q, "expected");
    assert_string_equal(p, "$.tests[3].expected");
}

static void test_deep_paths_are_cut_not_overflowed(void **state)
{
    char key[200], p[CHECK_PATH_MAX], q[CHECK_PATH_MAX];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    check_path_key(p, "$", key);
    assert_int_equal(strlen(p), 2 + 64); /* a key counts 64 bytes at most */
    for (int i = 0; i < 5; i++) {
        check_path_key(q, p, key);
        memcpy(p, q, sizeof p);
    }
    assert_int_equal(strlen(p), CHECK_PATH_MAX - 1);
    assert_memory_equal(p, "$.kkkk", 6);
}

/* ---- field readers ------------------------------------------------------ */

static void test_absent_required_string_is_reported_at_its_path(void **state)
{
    fixture_t f;
    open_fixture(&f, "{}");
    assert_null(check_string(&f.o, "name", CHECK_REQUIRED, 0, 0));
    assert_one_error(&f.rep, "$.thing.name", "required");
    close_fixture(&f);
}

static void test_absent_optional_string_is_fine(void **state)
{
    fixture_t f;
    open_fixture(&f, "{}");
    assert_null(check_string(&f.o, "name", 0, 0, 0));
    assert_no_errors(&f.rep);
    close_fixture(&f);
}

static void test_string_problems_each_have_their_message(void **state)
{
    struct {
        const char *doc, *message;
        size_t min, max;
    } cases[] = {
        {"{\"s\": 5}", "must be a string", 0, 0},
        {"{\"s\": \"a\\u0000b\"}", "must not contain NUL characters", 0, 0},
        {"{\"s\": \"\"}", "must not be empty", 1, 0},
        {"{\"s\": \"abcdef\"}", "must be at most 5 bytes", 0, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture_t f;
        open_fixture(&f, cases[i].doc);
        assert_null(check_string(&f.o, "s", CHECK_REQUIRED, cases[i].min, cases[i].max));
        assert_one_error(&f.rep, "$.thing.s", cases[i].message);
        close_fixture(&f);
    }
}

static void test_kib_limits_are_told_in_kib(void **state)
{
    char text[2100] = "{\"s\": \"";
    memset(text + 7, 'x', 2048);
    strcpy(text + 7 + 2048, "\"}");
    fixture_t f;
    open_fixture(&f, text);
    assert_null(check_string(&f.o, "s", 0, 0, 1024));
    assert_one_error(&f.rep, "$.thing.s", "must be at most 1 KiB (is 2048 bytes)");
    close_fixture(&f);
}

static void test_text_counts_characters_not_bytes(void **state)
{
    fixture_t f;
    open_fixture(&f, "{\"t\": \"\\u00e9\\u00e9\\u00e9\", \"c\": \"a\\tb\", \"e\": \"\"}");
    assert_string_equal(check_text(&f.o, "t", CHECK_REQUIRED, 3), "\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_no_errors(&f.rep);
    assert_null(check_text(&f.o, "c", CHECK_REQUIRED, 3));
    assert_one_error(&f.rep, "$.thing.c", "must be 1-3 characters without control characters");
    assert_null(check_text(&f.o, "e", CHECK_REQUIRED, 3));
    assert_string_equal(f.rep.errors[1].message, "must not be empty");
    close_fixture(&f);
}

static void test_zero_passes_a_range_only_when_it_means_unset(void **state)
{
    fixture_t f;
    open_fixture(&f, "{\"n\": 0}");
    json_int_t v = 42;
    assert_true(check_int(&f.o, "n", CHECK_ZERO_UNSET, 100, 200, &v));
    assert_int_equal(v, 0);
    assert_no_errors(&f.rep);
    assert_false(check_int(&f.o, "n", 0, 100, 200, &v));
    assert_one_error(&f.rep, "$.thing.n", "must be at least 100");
    close_fixture(&f);
}

static void test_integers_must_be_integers_within_range(void **state)
{
    fixture_t f;
    open_fixture(&f, "{\"real\": 2.0, \"big\": 201, \"ok\": 150, \"text\": \"1\"}");
    json_int_t v = 0;
    assert_false(check_int(&f.o, "real", 0, 100, 200, &v));
    assert_false(check_int(&f.o, "big", 0, 100, 200, &v));
    assert_false(check_int(&f.o, "text", 0, 100, 200, &v));
    assert_true(check_int(&f.o, "ok", 0, 100, 200, &v));
    assert_int_equal(v, 150);
    assert_true(check_int(&f.o, "absent", 0, 100, 200, &v));
    assert_int_equal(v, 0);
    assert_int_equal(f.rep.n_errors, 3);
    assert_string_equal(f.rep.errors[0].message, "must be an integer");
    assert_string_equal(f.rep.errors[1].message, "must be at most 200");
    assert_string_equal(f.rep.errors[2].message, "must be an integer");
    close_fixture(&f);
}

static void test_booleans_and_nonnegative_numbers(void **state)
{
    fixture_t f;
    open_fixture(&f, "{\"b\": 1, \"yes\": true, \"neg\": -0.5, \"tol\": 0.25}");
    bool b = true;
    double d = 0;
    assert_false(check_bool(&f.o, "b", &b));
    assert_true(check_bool(&f.o, "yes", &b) && b);
    assert_true(check_bool(&f.o, "absent", &b) && !b);
    assert_false(check_nonnegative(&f.o, "neg", &d));
    assert_true(check_nonnegative(&f.o, "tol", &d));
    assert_true(d == 0.25);
    assert_int_equal(f.rep.n_errors, 2);
    assert_string_equal(f.rep.errors[0].message, "must be true or false");
    assert_string_equal(f.rep.errors[1].path, "$.thing.neg");
    assert_string_equal(f.rep.errors[1].message, "must be a number >= 0");
    close_fixture(&f);
}

static void test_arrays_out_of_count_are_reported_and_still_read(void **state)
{
    fixture_t f;
    open_fixture(&f, "{\"many\": [1, 2, 3], \"none\": [], \"obj\": {}}");
    json_t *a = check_array(&f.o, "many", 0, 0, 2, "tags");
    assert_non_null(a);
    assert_int_equal(json_array_size(a), 3);
    assert_one_error(&f.rep, "$.thing.many", "must have at most 2 tags");
    assert_non_null(check_array(&f.o, "none", 0, 1, 5, "tests"));
    assert_string_equal(f.rep.errors[1].message, "must not be empty");
    assert_non_null(check_array(&f.o, "none", 0, 2, 5, "tests"));
    assert_string_equal(f.rep.errors[2].message, "must have at least 2 tests");
    assert_null(check_array(&f.o, "obj", 0, 0, 5, "x"));
    assert_string_equal(f.rep.errors[3].message, "must be an array");
    assert_null(check_array(&f.o, "absent", CHECK_REQUIRED, 0, 5, "x"));
    assert_string_equal(f.rep.errors[4].message, "required");
    close_fixture(&f);
}

static void test_unknown_keys_are_errors_and_ignored_ones_warnings(void **state)
{
    fixture_t f;
    open_fixture(&f, "{\"a\": 1, \"b\": 2, \"version\": 3}");
    static const char *const known[] = {"a", NULL};
    static const char *const ignored[] = {"version", NULL};
    check_keys(&f.o, known, ignored);
    assert_one_error(&f.rep, "$.thing.b", "unknown field");
    assert_int_equal(f.rep.n_warnings, 1);
    assert_string_equal(f.rep.warnings[0].path, "$.thing.version");
    assert_string_equal(f.rep.warnings[0].message, "output-only field, ignored");
    close_fixture(&f);
}

static void test_members_and_items_open_as_objects_with_their_paths(void **state)
{
    fixture_t f;
    open_fixture(&f, "{\"limits\": {\"cpu_ms\": 1}, \"bad\": 3, \"list\": [{}, 7]}");
    check_obj_t m;
    assert_true(check_member(&m, &f.o, "limits"));
    assert_string_equal(m.path, "$.thing.limits");
    assert_false(check_member(&m, &f.o, "absent"));
    assert_no_errors(&f.rep);
    assert_false(check_member(&m, &f.o, "bad"));
    assert_one_error(&f.rep, "$.thing.bad", "must be an object");
    json_t *list = json_object_get(f.doc, "list");
    assert_true(check_item(&m, &f.o, "list", list, 0));
    assert_string_equal(m.path, "$.thing.list[0]");
    assert_false(check_item(&m, &f.o, "list", list, 1));
    assert_string_equal(f.rep.errors[1].path, "$.thing.list[1]");
    close_fixture(&f);
}

static void test_a_duplicate_name_points_at_the_first_one(void **state)
{
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *arr = doc_of("[{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"a\"}]");
    assert_true(check_unique(&rep, "$.x[1].name", arr, "$.x", 1, "name", "b"));
    assert_false(check_unique(&rep, "$.x[2].name", arr, "$.x", 2, "name", "a"));
    assert_one_error(&rep, "$.x[2].name", "duplicate name \"a\" (also $.x[0])");
    json_decref(arr);
    content_report_free(&rep);
}

/* ---- slugs, names, file names ------------------------------------------ */

static void test_slugs_are_lower_case_digits_and_dashes(void **state)
{
    assert_true(check_is_slug("two-sum-2", 64, CHECK_LETTER_FIRST));
    assert_true(check_is_slug("2-sum", 64, 0));
    assert_false(check_is_slug("2-sum", 64, CHECK_LETTER_FIRST));
    assert_false(check_is_slug("Two", 64, 0));
    assert_false(check_is_slug("a_b", 64, 0));
    assert_false(check_is_slug("", 64, 0));
    assert_false(check_is_slug("abcde", 4, 0));
}

static void test_slug_message_says_what_a_slug_is(void **state)
{
    fixture_t f;
    open_fixture(&f, "{\"s\": \"Bad\", \"n\": 1}");
    assert_null(check_slug(&f.o, "s", 64, CHECK_LETTER_FIRST));
    assert_null(check_slug(&f.o, "n", 32, 0));
    assert_null(check_slug(&f.o, "absent", 32, CHECK_REQUIRED));
    assert_int_equal(f.rep.n_errors, 3);
    assert_string_equal(f.rep.errors[0].message,
                        "must be 1-64 characters of [a-z0-9-], starting with a letter");
    assert_string_equal(f.rep.errors[1].message, "must be 1-32 characters of [a-z0-9-]");
    assert_string_equal(f.rep.errors[2].message, "required");
    close_fixture(&f);
}

static const char *const colours[] = {NULL, "red", "green", "blue"};

static void test_enum_names_make_their_own_message(void **state)
{
    check_names_t names = CHECK_NAMES(colours, 4);
    assert_int_equal(check_name_index(&names, "green"), 2);
    assert_int_equal(check_name_index(&names, "Green"), 0);
    assert_int_equal(check_name_index(&names, NULL), 0);
    assert_string_equal(check_name(&names, 3), "blue");
    assert_null(check_name(&names, 0));
    assert_null(check_name(&names, 4));
    fixture_t f;
    open_fixture(&f, "{\"c\": \"pink\", \"d\": 2, \"e\": \"red\"}");
    assert_int_equal(check_enum(&f.o, "c", &names, 0), -1);
    assert_one_error(&f.rep, "$.thing.c", "must be one of \"red\", \"green\", \"blue\"");
    assert_int_equal(check_enum(&f.o, "d", &names, 0), -1);
    assert_int_equal(check_enum(&f.o, "e", &names, 0), 1);
    assert_int_equal(check_enum(&f.o, "absent", &names, 0), 0);
    assert_int_equal(f.rep.n_errors, 2);
    assert_int_equal(check_enum(&f.o, "absent", &names, CHECK_REQUIRED), 0);
    assert_string_equal(f.rep.errors[2].message, "required");
    close_fixture(&f);
}

static void test_a_name_table_can_accept_fewer_values_than_it_names(void **state)
{
    check_names_t first_two = CHECK_NAMES(colours, 3);
    assert_int_equal(check_name_index(&first_two, "blue"), 0);
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *v = json_string("blue");
    assert_int_equal(check_enum_value(&rep, "$.c", v, &first_two), 0);
    assert_one_error(&rep, "$.c", "must be one of \"red\", \"green\"");
    json_decref(v);
    content_report_free(&rep);
}

static void test_the_file_name_must_be_the_slug(void **state)
{
    content_report_t rep;
    content_report_init(&rep, "tasks/two-sum.json");
    check_file_name(&rep, "two-sum");
    assert_no_errors(&rep);
    check_file_name(&rep, "three-sum");
    assert_one_error(&rep, "$.slug", "must equal the file name without .json (\"two-sum\")");
    content_report_free(&rep);
    content_report_init(&rep, "two-sum.txt");
    check_file_name(&rep, "two-sum");
    assert_one_error(&rep, "$.slug", "the file name must be \"two-sum.json\"");
    content_report_free(&rep);
    content_report_init(&rep, ""); /* not from a file: nothing to match */
    check_file_name(&rep, "two-sum");
    assert_no_errors(&rep);
    content_report_free(&rep);
}

/* ---- documents ---------------------------------------------------------- */

/* A kind of file as a new one would be written: a track, a slug and a list
 * of task slugs, with a default title. */
static json_t *read_track_slug(const check_obj_t *doc, void *state)
{
    const char *s = check_slug(doc, "slug", 64, CHECK_REQUIRED | CHECK_LETTER_FIRST);
    (*(int *)state)++;
    return json_string(s ? s : "");
}

static json_t *read_track_title(const check_obj_t *doc, void *state)
{
    const char *s = check_text(doc, "title", 0, 80);
    (*(int *)state)++;
    return json_string(s ? s : "Untitled");
}

static json_t *read_track_tasks(const check_obj_t *doc, void *state)
{
    json_t *out = json_array();
    json_t *tasks = check_array(doc, "tasks", CHECK_REQUIRED, 1, 50, "tasks");
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        char p[CHECK_PATH_MAX];
        check_path_index(p, "$.tasks", i);
        if (check_slug_value(doc->rep, p, t, 64, CHECK_LETTER_FIRST))
            json_array_append(out, t);
    }
    (*(int *)state)++;
    return out;
}

static const check_section_t track_sections[] = {
    {"slug", read_track_slug},
    {"title", read_track_title},
    {"tasks", read_track_tasks},
    {NULL, NULL},
};
static const char *const track_ignored[] = {"version", NULL};
static const check_kind_t track_kind = {.sections = track_sections, .ignored = track_ignored};

static void test_a_document_is_read_section_by_section_in_table_order(void **state)
{
    content_report_t rep;
    content_report_init(&rep, "basics.json");
    json_t *doc = doc_of("{\"tasks\": [\"two-sum\"], \"slug\": \"basics\", \"version\": 3}");
    json_t *norm = NULL;
    int sections_read = 0;
    assert_int_equal(check_document(doc, &track_kind, &sections_read, &rep, &norm), 0);
    assert_int_equal(sections_read, 3);
    assert_no_errors(&rep);
    assert_int_equal(rep.n_warnings, 1);
    cleanup_free char *text = json_dumps(norm, JSON_COMPACT);
    assert_string_equal(text,
                        "{\"slug\":\"basics\",\"title\":\"Untitled\",\"tasks\":[\"two-sum\"]}");
    json_decref(norm);
    json_decref(doc);
    content_report_free(&rep);
}

static void test_a_document_reports_unknown_keys_first_then_each_section(void **state)
{
    content_report_t rep;
    content_report_init(&rep, "basics.json");
    json_t *doc = doc_of("{\"tasks\": [\"Two\"], \"slug\": \"basics\", \"colour\": 1}");
    json_t *norm = NULL;
    int n = 0;
    assert_int_equal(check_document(doc, &track_kind, &n, &rep, &norm), -1);
    assert_null(norm);
    assert_int_equal(rep.n_errors, 2);
    assert_string_equal(rep.errors[0].path, "$.colour");
    assert_string_equal(rep.errors[1].path, "$.tasks[0]");
    json_decref(doc);
    doc = json_array();
    assert_int_equal(check_document(doc, &track_kind, &n, &rep, &norm), -1);
    assert_string_equal(rep.errors[2].path, "$");
    assert_string_equal(rep.errors[2].message, "must be a JSON object");
    json_decref(doc);
    content_report_free(&rep);
}

static void test_parsing_refuses_duplicate_keys_bad_json_and_big_files(void **state)
{
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *doc = NULL;
    const char *dup = "{\"a\": 1, \"a\": 2}";
    assert_int_equal(check_parse(dup, strlen(dup), 1024, &rep, &doc), -1);
    assert_null(doc);
    assert_string_equal(rep.errors[0].path, "$");
    assert_non_null(strstr(rep.errors[0].message, "duplicate object key"));
    assert_non_null(strstr(rep.errors[0].message, "invalid JSON at line 1, column"));
    assert_int_equal(check_parse("{", 1, 1024, &rep, &doc), -1);
    char big[2048];
    memset(big, ' ', sizeof big);
    assert_int_equal(check_parse(big, sizeof big, 1024, &rep, &doc), -1);
    assert_string_equal(rep.errors[2].message, "the file must be at most 1 KiB");
    assert_int_equal(check_parse(big, sizeof big, 1024 * 1024, &rep, &doc), -1); /* blank */
    assert_int_equal(check_parse("[1]", 3, 1024 * 1024, &rep, &doc), 0);
    json_decref(doc);
    content_report_free(&rep);
}

static void test_canonical_text_sorts_keys_and_keeps_15_digits(void **state)
{
    json_t *a = doc_of("{\"b\": 0.1, \"a\": [1, {\"y\": 1e-6, \"x\": 2}]}");
    json_t *b = doc_of("{\"a\": [1, {\"x\": 2, \"y\": 0.000001}], \"b\": 0.1}");
    cleanup_free char *text = check_canonical(a);
    assert_string_equal(text, "{\"a\":[1,{\"x\":2,\"y\":1e-6}],\"b\":0.1}");
    char ha[65], hb[65];
    check_hash(a, ha);
    check_hash(b, hb);
    assert_string_equal(ha, hb);
    assert_int_equal(strlen(ha), 64);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_report_is_utf8_even_when_what_it_quotes_is_not),
        cmocka_unit_test(test_paths_name_keys_and_indexes),
        cmocka_unit_test(test_deep_paths_are_cut_not_overflowed),
        cmocka_unit_test(test_absent_required_string_is_reported_at_its_path),
        cmocka_unit_test(test_absent_optional_string_is_fine),
        cmocka_unit_test(test_string_problems_each_have_their_message),
        cmocka_unit_test(test_kib_limits_are_told_in_kib),
        cmocka_unit_test(test_text_counts_characters_not_bytes),
        cmocka_unit_test(test_zero_passes_a_range_only_when_it_means_unset),
        cmocka_unit_test(test_integers_must_be_integers_within_range),
        cmocka_unit_test(test_booleans_and_nonnegative_numbers),
        cmocka_unit_test(test_arrays_out_of_count_are_reported_and_still_read),
        cmocka_unit_test(test_unknown_keys_are_errors_and_ignored_ones_warnings),
        cmocka_unit_test(test_members_and_items_open_as_objects_with_their_paths),
        cmocka_unit_test(test_a_duplicate_name_points_at_the_first_one),
        cmocka_unit_test(test_slugs_are_lower_case_digits_and_dashes),
        cmocka_unit_test(test_slug_message_says_what_a_slug_is),
        cmocka_unit_test(test_enum_names_make_their_own_message),
        cmocka_unit_test(test_a_name_table_can_accept_fewer_values_than_it_names),
        cmocka_unit_test(test_the_file_name_must_be_the_slug),
        cmocka_unit_test(test_a_document_is_read_section_by_section_in_table_order),
        cmocka_unit_test(test_a_document_reports_unknown_keys_first_then_each_section),
        cmocka_unit_test(test_parsing_refuses_duplicate_keys_bad_json_and_big_files),
        cmocka_unit_test(test_canonical_text_sorts_keys_and_keeps_15_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
