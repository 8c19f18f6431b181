/* test_achjson — the rules of achievement files: the parameters each rule
 * kind uses, and the kit's wording shared with task files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "testkit.h"

static const char *const base_achievement =
    "{\"slug\": \"ten-solved\", \"title\": \"Ten down\", \"description\": \"Solve ten tasks.\","
    " \"icon\": \"star\", \"rule\": {\"kind\": \"tasks_solved\", \"threshold\": 10}}";

typedef struct {
    content_report_t rep;
    json_t *norm;
    int rc;
} result_t;

/* The base definition with the top-level keys of `patch` set, read as the
 * file ten-solved.json. */
static void normalize_with(result_t *r, const char *patch)
{
    json_t *doc = doc_of(base_achievement);
    json_t *p = doc_of(patch);
    json_object_update(doc, p);
    json_decref(p);
    content_report_init(&r->rep, "ten-solved.json");
    r->norm = NULL;
    r->rc = achievement_normalize(doc, &r->rep, &r->norm);
    json_decref(doc);
}

static void result_free(result_t *r)
{
    content_report_free(&r->rep);
    if (r->norm)
        json_decref(r->norm);
}

static void expect_one_error(const char *patch, const char *path, const char *message)
{
    result_t r;
    normalize_with(&r, patch);
    assert_int_equal(r.rc, -1);
    assert_one_error(&r.rep, path, message);
    result_free(&r);
}

static void expect_rule(const char *rule, const char *normalised)
{
    char patch[256];
    snprintf(patch, sizeof patch, "{\"rule\": %s}", rule);
    result_t r;
    normalize_with(&r, patch);
    assert_no_errors(&r.rep);
    assert_at(r.norm, "rule", normalised);
    result_free(&r);
}

static void test_a_definition_is_normalised_with_its_defaults(void **state)
{
    result_t r;
    normalize_with(&r, "{}");
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "sort_order", "0");
    assert_at(r.norm, "rule", "{\"kind\":\"tasks_solved\",\"threshold\":10}");
    cleanup_free char *text = check_canonical(r.norm);
    assert_string_equal(text, "{\"description\":\"Solve ten tasks.\",\"icon\":\"star\","
                              "\"rule\":{\"kind\":\"tasks_solved\",\"threshold\":10},"
                              "\"slug\":\"ten-solved\",\"sort_order\":0,\"title\":\"Ten down\"}");
    result_free(&r);
}

static void test_each_kind_takes_only_its_parameters(void **state)
{
    expect_rule("{\"kind\": \"first_solve\"}", "{\"kind\":\"first_solve\"}");
    expect_rule("{\"kind\": \"first_attempt\"}", "{\"kind\":\"first_attempt\",\"threshold\":1}");
    expect_rule("{\"kind\": \"first_attempt\", \"threshold\": 0}",
                "{\"kind\":\"first_attempt\",\"threshold\":1}");
    expect_rule("{\"kind\": \"tag_complete\", \"tag\": \"graphs\"}",
                "{\"kind\":\"tag_complete\",\"tag\":\"graphs\"}");
    expect_rule("{\"kind\": \"difficulty_solved\", \"threshold\": 3, \"difficulty\": \"hard\"}",
                "{\"kind\":\"difficulty_solved\",\"threshold\":3,\"difficulty\":\"hard\"}");
}

static void test_a_parameter_the_kind_does_not_use_is_refused(void **state)
{
    expect_one_error("{\"rule\": {\"kind\": \"first_solve\", \"tag\": \"x\"}}", "$.rule.tag",
                     "not used by kind \"first_solve\": remove it");
    expect_one_error("{\"rule\": {\"kind\": \"all_tasks\", \"threshold\": 1}}", "$.rule.threshold",
                     "not used by kind \"all_tasks\": remove it");
}

static void test_a_parameter_the_kind_needs_is_required(void **state)
{
    expect_one_error("{\"rule\": {\"kind\": \"points\"}}", "$.rule.threshold",
                     "required for kind \"points\"");
    expect_one_error("{\"rule\": {\"kind\": \"difficulty_complete\"}}", "$.rule.difficulty",
                     "required for kind \"difficulty_complete\"");
    expect_one_error("{\"rule\": {\"kind\": \"streak_days\", \"threshold\": 0}}",
                     "$.rule.threshold", "must be at least 1");
    expect_one_error("{\"rule\": {\"kind\": \"points\", \"threshold\": 1000001}}",
                     "$.rule.threshold", "must be at most 1000000");
}

static void test_rule_parameters_have_the_task_files_wording(void **state)
{
    expect_one_error("{\"rule\": {\"kind\": \"tag_complete\", \"tag\": \"Graphs\"}}", "$.rule.tag",
                     "must be 1-32 characters of [a-z0-9-]");
    expect_one_error("{\"rule\": {\"kind\": \"difficulty_complete\", \"difficulty\": \"brutal\"}}",
                     "$.rule.difficulty", "must be one of \"easy\", \"medium\", \"hard\"");
    expect_one_error("{\"rule\": {\"kind\": \"be_nice\"}}", "$.rule.kind",
                     "must be one of \"first_solve\", \"tasks_solved\", \"points\", "
                     "\"streak_days\", \"tag_complete\", \"difficulty_complete\", "
                     "\"first_attempt\", \"difficulty_solved\", \"all_tasks\"");
    expect_one_error("{\"rule\": {\"kind\": \"points\", \"threshold\": 5, \"bonus\": 1}}",
                     "$.rule.bonus", "unknown field");
    expect_one_error("{\"rule\": 3}", "$.rule", "must be an object");
    expect_one_error("{\"rule\": {}}", "$.rule.kind", "required");
}

static void test_the_fields_of_a_definition_are_checked(void **state)
{
    expect_one_error("{\"slug\": \"nine-solved\"}", "$.slug",
                     "must equal the file name without .json (\"ten-solved\")");
    expect_one_error("{\"slug\": \"Ten\"}", "$.slug", "must be 1-64 characters of [a-z0-9-]");
    expect_one_error("{\"title\": \"\"}", "$.title", "must not be empty");
    expect_one_error("{\"description\": \"a\\u0001\"}", "$.description",
                     "must be 1-300 characters without control characters");
    expect_one_error("{\"icon\": \"a star\"}", "$.icon", "must be 1-32 characters of [a-z0-9-]");
    expect_one_error("{\"sort_order\": 1.5}", "$.sort_order", "must be an integer");
    expect_one_error("{\"sort_order\": -1000001}", "$.sort_order", "must be at least -1000000");
    expect_one_error("{\"badge\": 1}", "$.badge", "unknown field");
}

static void test_titles_count_characters(void **state)
{
    char patch[400] = "{\"title\": \"";
    size_t n = strlen(patch);
    for (int i = 0; i < 80; i++, n += 2)
        memcpy(patch + n, "\xc3\xa9", 2); /* 80 characters, 160 bytes */
    strcpy(patch + n, "\"}");
    result_t r;
    normalize_with(&r, patch);
    assert_no_errors(&r.rep);
    result_free(&r);
    strcpy(patch + n, "x\"}");
    expect_one_error(patch, "$.title", "must be 1-80 characters without control characters");
}

static void test_an_achievement_file_is_at_most_64_kib(void **state)
{
    size_t len = 64 * 1024 + 1;
    char *text = malloc(len);
    memset(text, ' ', len);
    content_report_t rep;
    content_report_init(&rep, "big.json");
    json_t *norm = NULL;
    assert_int_equal(achievement_parse(text, len, &rep, &norm), -1);
    assert_one_error(&rep, "$", "the file must be at most 64 KiB");
    content_report_free(&rep);
    free(text);
}

static void test_rule_kind_names_are_the_proto_values(void **state)
{
    expect_proto_names(&achievement_rule_kinds,
                       &dojo__content__v1__achievement_rule_kind__descriptor,
                       "ACHIEVEMENT_RULE_KIND_");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_definition_is_normalised_with_its_defaults),
        cmocka_unit_test(test_each_kind_takes_only_its_parameters),
        cmocka_unit_test(test_a_parameter_the_kind_does_not_use_is_refused),
        cmocka_unit_test(test_a_parameter_the_kind_needs_is_required),
        cmocka_unit_test(test_rule_parameters_have_the_task_files_wording),
        cmocka_unit_test(test_the_fields_of_a_definition_are_checked),
        cmocka_unit_test(test_titles_count_characters),
        cmocka_unit_test(test_an_achievement_file_is_at_most_64_kib),
        cmocka_unit_test(test_rule_kind_names_are_the_proto_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
