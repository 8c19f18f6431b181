/* test_trackjson — the rules of track files: slugs, titles, the tasks in
 * order (distinct, and known when the caller knows the catalogue), and the
 * normalised form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "testkit.h"

static const char *const base_track =
    "{\"slug\": \"python-basics\", \"title\": \"Python basics\","
    " \"description\": \"First steps.\", \"tasks\": [\"reverse-words\", \"fizz-buzz\"]}";

typedef struct {
    content_report_t rep;
    json_t *norm;
    int rc;
} result_t;

/* The base track with the top-level keys of `patch` set, read as the file
 * python-basics.json, against `known` (may be NULL). */
static void normalize_with(result_t *r, const char *patch, json_t *known)
{
    json_t *doc = doc_of(base_track);
    json_t *p = doc_of(patch);
    json_object_update(doc, p);
    json_decref(p);
    content_report_init(&r->rep, "python-basics.json");
    r->norm = NULL;
    r->rc = track_normalize(doc, known, &r->rep, &r->norm);
    json_decref(doc);
}

static void result_free(result_t *r)
{
    content_report_free(&r->rep);
    if (r->norm)
        json_decref(r->norm);
}

static void expect_one_error(const char *patch, json_t *known, const char *path,
                             const char *message)
{
    result_t r;
    normalize_with(&r, patch, known);
    assert_int_equal(r.rc, -1);
    assert_one_error(&r.rep, path, message);
    result_free(&r);
}

static void test_the_base_track_normalises_in_track_field_order(void **state)
{
    result_t r;
    normalize_with(&r, "{}", NULL);
    assert_int_equal(r.rc, 0);
    assert_no_errors(&r.rep);
    const char *want[] = {"slug", "title", "description", "tasks", "sort_order"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(r.norm, key, v)
    {
        assert_true(i < 5);
        assert_string_equal(key, want[i++]);
    }
    assert_int_equal(i, 5);
    assert_at(r.norm, "tasks", "[\"reverse-words\",\"fizz-buzz\"]");
    assert_at(r.norm, "sort_order", "0");
    result_free(&r);
}

static void test_the_slug_is_the_file_name(void **state)
{
    expect_one_error("{\"slug\": \"other\"}", NULL, "$.slug",
                     "must equal the file name without .json (\"python-basics\")");
}

static void test_a_track_has_one_to_100_distinct_tasks(void **state)
{
    expect_one_error("{\"tasks\": []}", NULL, "$.tasks", "must not be empty");
    expect_one_error("{\"tasks\": [\"a-task\", \"a-task\"]}", NULL, "$.tasks[1]",
                     "task \"a-task\" is already in the track");
    expect_one_error("{\"tasks\": [\"Bad\"]}", NULL, "$.tasks[0]",
                     "must be 1-64 characters of [a-z0-9-], starting with a letter");
    expect_one_error("{\"tasks\": \"-\"}", NULL, "$.tasks", "must be an array");
}

static void test_tasks_must_be_in_the_catalogue_when_it_is_known(void **state)
{
    json_t *known = doc_of("{\"reverse-words\": true}");
    expect_one_error("{}", known, "$.tasks[1]", "no active task \"fizz-buzz\" in the catalogue");
    json_object_set_new(known, "fizz-buzz", json_true());
    result_t r;
    normalize_with(&r, "{}", known);
    assert_int_equal(r.rc, 0);
    result_free(&r);
    json_decref(known);
}

static void test_titles_and_descriptions_are_required(void **state)
{
    json_t *doc = doc_of("{\"slug\": \"python-basics\", \"tasks\": [\"x\"]}");
    content_report_t rep;
    content_report_init(&rep, "python-basics.json");
    json_t *norm = NULL;
    assert_int_equal(track_normalize(doc, NULL, &rep, &norm), -1);
    assert_int_equal(rep.n_errors, 2);
    assert_string_equal(rep.errors[0].path, "$.title");
    assert_string_equal(rep.errors[1].path, "$.description");
    content_report_free(&rep);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_base_track_normalises_in_track_field_order),
        cmocka_unit_test(test_the_slug_is_the_file_name),
        cmocka_unit_test(test_a_track_has_one_to_100_distinct_tasks),
        cmocka_unit_test(test_tasks_must_be_in_the_catalogue_when_it_is_known),
        cmocka_unit_test(test_titles_and_descriptions_are_required),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
