/* test_taskjson — the rules of task files, section by section: a small
 * valid task, changed in one place per test, through taskjson_normalize
 * (the one way in for files and both TaskInput forms). Each test checks the
 * one problem reported, or the normalised value of the section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testkit.h"

static const char *const base_task =
    "{\"slug\": \"sum-two\", \"title\": \"Sum of two\", \"difficulty\": \"easy\","
    " \"description\": \"Add two numbers.\","
    " \"languages\": [{\"language\": \"python3\"}],"
    " \"tests\": [{\"name\": \"s1\", \"input\": \"1 2\\n\", \"expected\": \"3\\n\"},"
    "             {\"name\": \"h1\", \"input\": \"2 2\\n\", \"expected\": \"4\\n\","
    "              \"hidden\": true, \"weight\": 3}],"
    " \"reference_solutions\": [{\"name\": \"direct\", \"language\": \"python3\","
    "                            \"code\": \"print(sum(map(int, input().split())))\"}]}";

/* The base task with the top-level keys of `patch` set (a key whose value
 * is the string "-" is removed instead). New. */
static json_t *task_with(const char *patch)
{
    json_t *doc = doc_of(base_task);
    json_t *p = doc_of(patch);
    const char *key;
    json_t *v;
    json_object_foreach(p, key, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), "-"))
            json_object_del(doc, key);
        else
            json_object_set(doc, key, v);
    }
    json_decref(p);
    return doc;
}

typedef struct {
    content_report_t rep;
    json_t *norm; /* NULL when refused */
    int rc;
} result_t;

/* Normalises `doc` (taken) as the file `file`. */
static void normalize_as(result_t *r, json_t *doc, const char *file)
{
    content_report_init(&r->rep, file);
    r->norm = NULL;
    r->rc = taskjson_normalize(doc, &r->rep, &r->norm);
    json_decref(doc);
}

static void normalize(result_t *r, json_t *doc)
{
    normalize_as(r, doc, "sum-two.json");
}

static void result_free(result_t *r)
{
    content_report_free(&r->rep);
    if (r->norm)
        json_decref(r->norm);
}

/* Refused, with exactly this one error. */
static void expect_one_error(const char *patch, const char *path, const char *message)
{
    result_t r;
    normalize(&r, task_with(patch));
    assert_int_equal(r.rc, -1);
    assert_null(r.norm);
    assert_one_error(&r.rep, path, message);
    result_free(&r);
}

/* ---- the whole document ------------------------------------------------- */

static void test_the_base_task_is_valid_with_no_warning(void **state)
{
    result_t r;
    normalize(&r, task_with("{}"));
    assert_int_equal(r.rc, 0);
    assert_no_errors(&r.rep);
    assert_int_equal(r.rep.n_warnings, 0);
    result_free(&r);
}

static void test_every_key_comes_in_task_field_order_with_defaults(void **state)
{
    result_t r;
    normalize(&r, task_with("{}"));
    const char *want[] = {"slug",           "title", "difficulty", "points",
                          "description",    "tags",  "languages",  "limits",
                          "checker",        "tests", "hints",      "reference_solutions",
                          "wrong_solutions"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(r.norm, key, v)
    {
        assert_true(i < sizeof want / sizeof want[0]);
        assert_string_equal(key, want[i++]);
    }
    assert_int_equal(i, sizeof want / sizeof want[0]);
    assert_at(r.norm, "tags", "[]");
    assert_at(r.norm, "hints", "[]");
    assert_at(r.norm, "wrong_solutions", "[]");
    result_free(&r);
}

static void test_unknown_fields_are_refused_and_output_only_ones_ignored(void **state)
{
    expect_one_error("{\"diffculty\": \"easy\"}", "$.diffculty", "unknown field");
    result_t r;
    normalize(&r, task_with("{\"version\": 4, \"content_hash\": \"x\"}"));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.n_warnings, 2);
    assert_string_equal(r.rep.warnings[0].message, "output-only field, ignored");
    assert_at(r.norm, "version", "null");
    result_free(&r);
}

static void test_errors_come_in_document_order(void **state)
{
    result_t r;
    json_t *doc = task_with("{\"title\": \"\", \"difficulty\": \"extreme\","
                            " \"limits\": {\"cpu_ms\": 50}, \"hints\": [\"\"]}");
    json_object_del(json_array_get(json_object_get(doc, "tests"), 1), "expected");
    normalize(&r, doc);
    assert_int_equal(r.rep.n_errors, 5);
    const char *paths[] = {"$.title", "$.difficulty", "$.limits.cpu_ms", "$.tests[1].expected",
                           "$.hints[0]"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(r.rep.errors[i].path, paths[i]);
    result_free(&r);
}

static void test_a_document_must_be_an_object(void **state)
{
    result_t r;
    normalize(&r, json_array());
    assert_one_error(&r.rep, "$", "must be a JSON object");
    result_free(&r);
}

static void test_normalising_the_normalised_form_changes_nothing(void **state)
{
    result_t a, b;
    normalize(&a, task_with("{\"checker\": {\"kind\": \"float\", \"rel_tol\": 0.001},"
                            " \"limits\": {\"cpu_ms\": 7000}, \"tags\": [\"math\"]}"));
    assert_int_equal(a.rc, 0);
    normalize(&b, json_deep_copy(a.norm));
    assert_int_equal(b.rc, 0);
    cleanup_free char *ta = check_canonical(a.norm);
    cleanup_free char *tb = check_canonical(b.norm);
    assert_string_equal(ta, tb);
    result_free(&a);
    result_free(&b);
}

static void test_parsing_reports_bad_json_at_the_root(void **state)
{
    content_report_t rep;
    content_report_init(&rep, "x.json");
    json_t *norm = NULL;
    assert_int_equal(taskjson_parse("{\"slug\": ", 9, &rep, &norm), -1);
    assert_int_equal(rep.n_errors, 1);
    assert_string_equal(rep.errors[0].path, "$");
    assert_non_null(strstr(rep.errors[0].message, "invalid JSON at line 1"));
    content_report_free(&rep);
}

/* ---- slug, title, difficulty, points, description ------------------------ */

static void test_the_slug_must_match_the_file_name(void **state)
{
    result_t r;
    normalize_as(&r, task_with("{}"), "tasks/other.json");
    assert_one_error(&r.rep, "$.slug", "must equal the file name without .json (\"other\")");
    result_free(&r);
    normalize_as(&r, task_with("{}"), "");
    assert_int_equal(r.rc, 0);
    result_free(&r);
}

static void test_the_slug_starts_with_a_letter(void **state)
{
    expect_one_error("{\"slug\": \"2sum\"}", "$.slug",
                     "must be 1-64 characters of [a-z0-9-], starting with a letter");
    expect_one_error("{\"slug\": 2}", "$.slug", "must be a string");
    expect_one_error("{\"slug\": \"-\"}", "$.slug", "required");
}

static void test_titles_are_short_and_printable(void **state)
{
    char title[200] = "{\"title\": \"";
    memset(title + 11, 'x', 121);
    strcpy(title + 11 + 121, "\"}");
    expect_one_error(title, "$.title", "must be at most 120 characters");
    expect_one_error("{\"title\": \"a\\nb\"}", "$.title", "must not contain control characters");
    expect_one_error("{\"title\": \"\"}", "$.title", "must not be empty");
}

static void test_difficulty_is_required_and_named(void **state)
{
    expect_one_error("{\"difficulty\": \"-\"}", "$.difficulty", "required");
    expect_one_error("{\"difficulty\": \"Easy\"}", "$.difficulty",
                     "must be one of \"easy\", \"medium\", \"hard\"");
}

static void test_points_default_by_difficulty(void **state)
{
    const char *cases[][2] = {{"{\"difficulty\": \"easy\"}", "10"},
                              {"{\"difficulty\": \"medium\"}", "30"},
                              {"{\"difficulty\": \"hard\"}", "60"},
                              {"{\"difficulty\": \"hard\", \"points\": 0}", "60"},
                              {"{\"difficulty\": \"hard\", \"points\": 75}", "75"}};
    for (size_t i = 0; i < 5; i++) {
        result_t r;
        normalize(&r, task_with(cases[i][0]));
        assert_int_equal(r.rc, 0);
        assert_at(r.norm, "points", cases[i][1]);
        result_free(&r);
    }
    expect_one_error("{\"points\": 1001}", "$.points", "must be at most 1000");
    expect_one_error("{\"points\": 10.5}", "$.points", "must be an integer");
}

static void test_descriptions_are_required_and_at_most_64_kib(void **state)
{
    expect_one_error("{\"description\": \"-\"}", "$.description", "required");
    json_t *doc = task_with("{}");
    char *big = malloc(64 * 1024 + 2);
    memset(big, 'd', 64 * 1024 + 1);
    big[64 * 1024 + 1] = '\0';
    json_object_set_new(doc, "description", json_string(big));
    free(big);
    result_t r;
    normalize(&r, doc);
    assert_one_error(&r.rep, "$.description", "must be at most 64 KiB (is 65537 bytes)");
    result_free(&r);
}

/* ---- tags ---------------------------------------------------------------- */

static void test_tags_are_slugs_without_duplicates(void **state)
{
    expect_one_error("{\"tags\": [\"math\", \"Math\"]}", "$.tags[1]",
                     "must be 1-32 characters of [a-z0-9-]");
    expect_one_error("{\"tags\": [\"math\", \"math\"]}", "$.tags[1]", "duplicate tag \"math\"");
    expect_one_error("{\"tags\": null}", "$.tags", "must be an array");
    expect_one_error(
        "{\"tags\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]}", "$.tags",
        "must have at most 10 tags");
}

/* ---- languages and limits ------------------------------------------------ */

static void test_limits_default_and_languages_inherit_them_field_by_field(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"limits\": {\"cpu_ms\": 1000, \"memory_kib\": 65536},"
                            " \"languages\": [{\"language\": \"python3\","
                            "  \"limits\": {\"memory_kib\": 131072}}, {\"language\": \"c\"}]}"));
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "limits",
              "{\"cpu_ms\":1000,\"wall_ms\":5000,\"memory_kib\":65536,\"output_kib\":1024}");
    assert_at(r.norm, "languages.0.limits",
              "{\"cpu_ms\":1000,\"wall_ms\":5000,\"memory_kib\":131072,\"output_kib\":1024}");
    assert_at(r.norm, "languages.1",
              "{\"language\":\"c\",\"starter_code\":\"\",\"limits\":{\"cpu_ms\":1000,"
              "\"wall_ms\":5000,\"memory_kib\":65536,\"output_kib\":1024}}");
    result_free(&r);
}

static void test_the_wall_clock_default_grows_with_a_large_cpu_limit(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"limits\": {\"cpu_ms\": 8000}}"));
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "limits.wall_ms", "8000");
    result_free(&r);
}

static void test_the_wall_clock_may_not_be_below_the_cpu_limit(void **state)
{
    expect_one_error("{\"limits\": {\"cpu_ms\": 3000, \"wall_ms\": 2000}}", "$.limits.wall_ms",
                     "must be at least cpu_ms (3000)");
    /* A language's own wall clock is checked against its inherited CPU limit. */
    expect_one_error(
        "{\"limits\": {\"cpu_ms\": 3000},"
        " \"languages\": [{\"language\": \"python3\", \"limits\": {\"wall_ms\": 2000}}]}",
        "$.languages[0].limits.wall_ms", "must be at least cpu_ms (3000)");
}

static void test_limits_have_ranges_and_known_fields(void **state)
{
    expect_one_error("{\"limits\": {\"cpu_ms\": 99}}", "$.limits.cpu_ms", "must be at least 100");
    expect_one_error("{\"limits\": {\"memory_kib\": 2000000}}", "$.limits.memory_kib",
                     "must be at most 1048576");
    expect_one_error("{\"limits\": {\"cpu\": 1000}}", "$.limits.cpu", "unknown field");
    expect_one_error("{\"limits\": []}", "$.limits", "must be an object");
}

static void test_languages_are_known_and_listed_once(void **state)
{
    expect_one_error("{\"languages\": [{\"language\": \"cobol\"}]}", "$.languages[0].language",
                     "unknown language \"cobol\"");
    expect_one_error("{\"languages\": [{\"language\": \"python3\"}, {\"language\": \"python3\"}]}",
                     "$.languages[1].language", "duplicate language \"python3\"");
    expect_one_error("{\"languages\": []}", "$.languages", "must not be empty");
    expect_one_error("{\"languages\": \"-\"}", "$.languages", "required");
    expect_one_error("{\"languages\": [{\"language\": \"python3\", \"starter_code\": 1}]}",
                     "$.languages[0].starter_code", "must be a string");
}

/* ---- checker --------------------------------------------------------------- */

static void test_the_default_checker_ignores_trailing_whitespace(void **state)
{
    result_t r;
    normalize(&r, task_with("{}"));
    assert_at(r.norm, "checker", "{\"kind\":\"ignore_trailing_ws\"}");
    result_free(&r);
}

static void test_the_float_checker_gets_default_tolerances(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"checker\": {\"kind\": \"float\"}}"));
    assert_at(r.norm, "checker", "{\"kind\":\"float\",\"abs_tol\":1e-6,\"rel_tol\":1e-6}");
    result_free(&r);
    normalize(&r, task_with("{\"checker\": {\"kind\": \"float\", \"abs_tol\": 0.01}}"));
    assert_at(r.norm, "checker", "{\"kind\":\"float\",\"abs_tol\":0.01,\"rel_tol\":0.0}");
    result_free(&r);
}

static void test_a_tolerance_for_another_checker_only_warns(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"checker\": {\"kind\": \"exact\", \"abs_tol\": 0.5}}"));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.n_warnings, 1);
    assert_string_equal(r.rep.warnings[0].path, "$.checker.abs_tol");
    assert_at(r.norm, "checker", "{\"kind\":\"exact\"}");
    result_free(&r);
    expect_one_error("{\"checker\": {\"kind\": \"float\", \"rel_tol\": -1}}", "$.checker.rel_tol",
                     "must be a number >= 0");
}

static void test_the_custom_checker_needs_its_program(void **state)
{
    expect_one_error("{\"checker\": {\"kind\": \"custom\"}}", "$.checker.custom",
                     "required for the \"custom\" kind");
    expect_one_error("{\"checker\": {\"kind\": \"custom\", \"custom\": {\"language\": \"python3\","
                     " \"source\": \"\"}}}",
                     "$.checker.custom.source", "must not be empty");
    expect_one_error("{\"checker\": {\"kind\": \"custom\", \"custom\": {\"language\": \"lua\","
                     " \"source\": \"x\"}}}",
                     "$.checker.custom.language", "unknown language \"lua\"");
    result_t r;
    normalize(&r, task_with("{\"checker\": {\"custom\": {\"language\": \"python3\"}}}"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.rep.warnings[0].message, "ignored: only the \"custom\" kind uses it");
    result_free(&r);
}

static void test_checker_kinds_are_named(void **state)
{
    expect_one_error("{\"checker\": {\"kind\": \"regex\"}}", "$.checker.kind",
                     "must be one of \"exact\", \"ignore_trailing_ws\", \"tokens\", \"float\", "
                     "\"custom\", \"default_validator\", \"package_validator\"");
}

static void test_a_package_validator_keeps_its_files_flags_and_interactive(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"checker\": {\"kind\": \"package_validator\", \"language\": \"cpp\","
                            " \"files\": [{\"name\": \"validate.cpp\", \"content\": \"int main(){}\"},"
                            " {\"name\": \"testlib.h\", \"content\": \"\"}],"
                            " \"flags\": [\"float_tolerance\", \"1e-6\"], \"interactive\": true}}"));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.n_warnings, 0);
    assert_at(r.norm, "checker",
              "{\"kind\":\"package_validator\",\"language\":\"cpp\",\"files\":[{\"name\":"
              "\"validate.cpp\",\"content\":\"int main(){}\"},{\"name\":\"testlib.h\","
              "\"content\":\"\"}],\"flags\":[\"float_tolerance\",\"1e-6\"],\"interactive\":true}");
    result_free(&r);
    /* Without flags or interactive the normal form leaves them out. */
    normalize(&r, task_with("{\"checker\": {\"kind\": \"package_validator\", \"language\":"
                            " \"python3\", \"files\": [{\"name\": \"v.py\", \"content\": \"x\"}]}}"));
    assert_at(r.norm, "checker",
              "{\"kind\":\"package_validator\",\"language\":\"python3\",\"files\":[{\"name\":"
              "\"v.py\",\"content\":\"x\"}]}");
    result_free(&r);
    /* Its fields on another kind only warn. */
    normalize(&r, task_with("{\"checker\": {\"kind\": \"tokens\", \"flags\": [\"x\"]}}"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.rep.warnings[0].path, "$.checker.flags");
    assert_string_equal(r.rep.warnings[0].message,
                        "ignored: only the \"package_validator\" kind uses it");
    result_free(&r);
}

static void test_a_package_validator_is_refused_naming_the_wrong_part(void **state)
{
    expect_one_error("{\"checker\": {\"kind\": \"package_validator\", \"language\": \"cpp\"}}",
                     "$.checker.files", "required");
    expect_one_error("{\"checker\": {\"kind\": \"package_validator\", \"files\":"
                     " [{\"name\": \"v.py\", \"content\": \"x\"}]}}",
                     "$.checker.language", "required");
    expect_one_error("{\"checker\": {\"kind\": \"package_validator\", \"language\": \"lua\","
                     " \"files\": [{\"name\": \"v.lua\", \"content\": \"x\"}]}}",
                     "$.checker.language", "unknown language \"lua\"");
    expect_one_error("{\"checker\": {\"kind\": \"package_validator\", \"language\": \"cpp\","
                     " \"files\": [{\"name\": \"../v.cpp\", \"content\": \"x\"}]}}",
                     "$.checker.files[0].name",
                     "must be 1-64 characters of [A-Za-z0-9_.-], beginning with a letter, digit "
                     "or _ and ending with a letter or digit");
    expect_one_error("{\"checker\": {\"kind\": \"package_validator\", \"language\": \"cpp\","
                     " \"files\": [{\"name\": \"v.cpp\", \"content\": \"x\"},"
                     " {\"name\": \"v.cpp\", \"content\": \"y\"}]}}",
                     "$.checker.files[1].name", "duplicate name \"v.cpp\" (also $.checker.files[0])");
    expect_one_error("{\"checker\": {\"kind\": \"package_validator\", \"language\": \"cpp\","
                     " \"files\": [{\"name\": \"v.cpp\", \"content\": \"x\"}],"
                     " \"flags\": [\"a\\nb\"]}}",
                     "$.checker.flags[0]", "must be a string of 1-256 bytes without NUL or line breaks");
    expect_one_error("{\"checker\": {\"kind\": \"package_validator\", \"language\": \"cpp\","
                     " \"files\": [{\"name\": \"v.cpp\", \"content\": \"x\"}],"
                     " \"interactive\": \"yes\"}}",
                     "$.checker.interactive", "must be true or false");
}

static void test_input_validators_are_refused_naming_the_wrong_part(void **state)
{
    expect_one_error("{\"input_validators\": [{\"path\": \"validators/x\", \"language\": \"c\","
                     " \"files\": [{\"name\": \"x.c\", \"content\": \"x\"}]}]}",
                     "$.input_validators[0].path",
                     "must be input_validator, or input_format_validators/<name> or "
                     "input_validators/<name> (1-64 characters of [A-Za-z0-9_.-])");
    expect_one_error("{\"input_validators\": [{\"path\": \"input_validators/x\", \"language\": \"c\","
                     " \"files\": [{\"name\": \"x.c\", \"content\": \"x\"}]},"
                     " {\"path\": \"input_validators/x\", \"language\": \"c\","
                     " \"files\": [{\"name\": \"y.c\", \"content\": \"y\"}]}]}",
                     "$.input_validators[1].path",
                     "duplicate path \"input_validators/x\" (also $.input_validators[0])");
    expect_one_error("{\"input_validators\": [{\"path\": \"input_validator\", \"language\": \"lua\","
                     " \"files\": [{\"name\": \"v.lua\", \"content\": \"x\"}]}]}",
                     "$.input_validators[0].language", "unknown language \"lua\"");
    expect_one_error("{\"input_validators\": [{\"path\": \"input_validator\", \"language\": \"c\","
                     " \"files\": [{\"name\": \"v.c\", \"content\": \"x\"}], \"interactive\": true}]}",
                     "$.input_validators[0].interactive", "unknown field");
    expect_one_error("{\"input_validators\": [{\"path\": \"input_validator\", \"language\": \"c\","
                     " \"files\": []}]}",
                     "$.input_validators[0].files", "must not be empty");
    /* None: the key is left out, so the task keeps its hash. */
    result_t r;
    normalize(&r, task_with("{\"input_validators\": []}"));
    assert_int_equal(r.rc, 0);
    assert_null(json_object_get(r.norm, "input_validators"));
    result_free(&r);
}

static void test_the_default_validator_keeps_its_flags_and_optional_tolerances(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"checker\": {\"kind\": \"default_validator\"}}"));
    assert_at(r.norm, "checker", "{\"kind\":\"default_validator\"}");
    result_free(&r);
    normalize(&r, task_with("{\"checker\": {\"kind\": \"default_validator\", \"rel_tol\": 1e-6,"
                            " \"case_sensitive\": true, \"space_change_sensitive\": false}}"));
    assert_int_equal(r.rep.n_warnings, 0);
    assert_at(r.norm, "checker",
              "{\"kind\":\"default_validator\",\"case_sensitive\":true,\"abs_tol\":0.0,"
              "\"rel_tol\":1e-6}");
    result_free(&r);
    normalize(&r, task_with("{\"checker\": {\"kind\": \"tokens\", \"case_sensitive\": true}}"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.rep.warnings[0].path, "$.checker.case_sensitive");
    assert_at(r.norm, "checker", "{\"kind\":\"tokens\"}");
    result_free(&r);
    expect_one_error("{\"checker\": {\"kind\": \"default_validator\", \"case_sensitive\": 1}}",
                     "$.checker.case_sensitive", "must be true or false");
}

/* ---- tests ----------------------------------------------------------------- */

/* A task of `checker` whose first test has `flags` of its own. New. */
static json_t *task_with_test_flags(const char *checker, const char *flags)
{
    json_t *doc = task_with(checker);
    json_t *t = json_array_get(json_object_get(doc, "tests"), 0);
    json_object_set_new(t, "validator_flags", doc_of(flags));
    return doc;
}

static void test_a_test_keeps_its_own_validator_flags_for_the_checkers_that_take_them(void **state)
{
    static const char *const dv = "{\"checker\": {\"kind\": \"default_validator\"}}";
    static const char *const pv =
        "{\"checker\": {\"kind\": \"package_validator\", \"language\": \"cpp\","
        " \"files\": [{\"name\": \"v.cpp\", \"content\": \"x\"}], \"flags\": [\"a\"]}}";
    result_t r;
    normalize(&r, task_with_test_flags(dv, "[\"float_tolerance\", \"1e-3\", \"case_sensitive\"]"));
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "tests.0.validator_flags", "[\"float_tolerance\",\"1e-3\",\"case_sensitive\"]");
    assert_at(r.norm, "tests.1.validator_flags", "null"); /* absent: the checker's */
    result_free(&r);
    /* Empty is kept: no flags at all, not the checker's. */
    normalize(&r, task_with_test_flags(pv, "[]"));
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "tests.0.validator_flags", "[]");
    result_free(&r);
    normalize(&r, task_with_test_flags(pv, "[\"anything goes\", \"-x\"]"));
    assert_at(r.norm, "tests.0.validator_flags", "[\"anything goes\",\"-x\"]");
    result_free(&r);
    /* Other checkers take none: a warning, and they are dropped. */
    normalize(&r, task_with_test_flags("{\"checker\": {\"kind\": \"exact\"}}", "[\"case_sensitive\"]"));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.n_warnings, 1);
    assert_string_equal(r.rep.warnings[0].path, "$.tests[0].validator_flags");
    assert_at(r.norm, "tests.0.validator_flags", "null");
    result_free(&r);
    /* The default validator's words only, each tolerance with its number. */
    static const struct {
        const char *flags, *path, *message;
    } bad[] = {
        {"[\"case_insensitive\"]", "$.tests[0].validator_flags[0]",
         "\"case_insensitive\" is not a flag of the default output validator (case_sensitive, "
         "space_change_sensitive, float_tolerance E, float_absolute_tolerance E, "
         "float_relative_tolerance E)"},
        {"[\"float_tolerance\"]", "$.tests[0].validator_flags[0]",
         "float_tolerance: must be followed by a number >= 0"},
        {"[\"case_sensitive\", \"float_relative_tolerance\", \"-1\"]",
         "$.tests[0].validator_flags[1]",
         "float_relative_tolerance: must be followed by a number >= 0"},
        {"[\"\"]", "$.tests[0].validator_flags[0]",
         "must be a string of 1-256 bytes without NUL or line breaks"},
        {"{\"case_sensitive\": true}", "$.tests[0].validator_flags", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        normalize(&r, task_with_test_flags(dv, bad[i].flags));
        assert_int_equal(r.rc, -1);
        if (bad[i].message) {
            assert_one_error(&r.rep, bad[i].path, bad[i].message);
        } else {
            assert_int_equal(r.rep.n_errors, 1);
            assert_string_equal(r.rep.errors[0].path, bad[i].path);
        }
        result_free(&r);
    }
}

static void test_tests_get_their_defaults(void **state)
{
    result_t r;
    normalize(&r, task_with("{}"));
    assert_at(r.norm, "tests.0",
              "{\"name\":\"s1\",\"input\":\"1 2\\n\",\"expected\":\"3\\n\",\"hidden\":false,"
              "\"weight\":1}");
    assert_at(r.norm, "tests.1.weight", "3");
    result_free(&r);
    json_t *doc = task_with("{}");
    json_object_del(json_array_get(json_object_get(doc, "tests"), 0), "input");
    normalize(&r, doc);
    assert_at(r.norm, "tests.0.input", "\"\"");
    result_free(&r);
}

static void test_at_least_one_test_is_visible(void **state)
{
    expect_one_error("{\"tests\": [{\"name\": \"h\", \"expected\": \"1\", \"hidden\": true}]}",
                     "$.tests",
                     "at least one test must be visible (\"hidden\": false), or "
                     "\"no_visible_tests\": true when learners get none");
}

static void test_no_visible_tests_says_a_task_has_none(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"no_visible_tests\": true, \"tests\": [{\"name\": \"h\", "
                            "\"expected\": \"1\", \"hidden\": true}]}"));
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "no_visible_tests", "true");
    result_free(&r);
    expect_one_error("{\"no_visible_tests\": true}", "$.no_visible_tests",
                     "must be false or absent: a test is visible");
    normalize(&r, task_with("{\"no_visible_tests\": false}"));
    assert_int_equal(r.rc, 0);
    assert_null(json_object_get(r.norm, "no_visible_tests"));
    result_free(&r);
}

static void test_test_names_are_unique_identifiers(void **state)
{
    expect_one_error("{\"tests\": [{\"name\": \"a\", \"expected\": \"1\"},"
                     " {\"name\": \"a\", \"expected\": \"2\"}]}",
                     "$.tests[1].name", "duplicate name \"a\" (also $.tests[0])");
    expect_one_error("{\"tests\": [{\"name\": \"a b\", \"expected\": \"1\"}]}", "$.tests[0].name",
                     "must be 1-64 characters of [A-Za-z0-9_.-]");
}

static void test_each_test_field_is_checked(void **state)
{
    expect_one_error("{\"tests\": [{\"name\": \"a\"}]}", "$.tests[0].expected", "required");
    /* An unusable "hidden" makes no test visible: a second test is. */
    expect_one_error("{\"tests\": [{\"name\": \"a\", \"expected\": \"1\", \"hidden\": 0},"
                     " {\"name\": \"b\", \"expected\": \"1\"}]}",
                     "$.tests[0].hidden", "must be true or false");
    expect_one_error("{\"tests\": [{\"name\": \"a\", \"expected\": \"1\", \"weight\": 101}]}",
                     "$.tests[0].weight", "must be at most 100");
    expect_one_error("{\"tests\": [{\"name\": \"a\", \"expected\": \"1\", \"output\": \"1\"}]}",
                     "$.tests[0].output", "unknown field");
    expect_one_error("{\"tests\": [7, {\"name\": \"b\", \"expected\": \"1\"}]}", "$.tests[0]",
                     "must be an object");
    expect_one_error("{\"tests\": []}", "$.tests", "must not be empty");
}

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void test_hidden_tests_may_keep_their_data_in_blobs(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"tests\": [{\"name\": \"s\", \"expected\": \"1\"},"
                            " {\"name\": \"h\", \"hidden\": true, \"input_sha256\": \"" SHA_A "\","
                            " \"expected_sha256\": \"" SHA_A "\"}]}"));
    assert_int_equal(r.rc, 0);
    /* The blob replaces its key: no "input" or "expected" of "" beside it. */
    assert_at(r.norm, "tests.1",
              "{\"name\":\"h\",\"hidden\":true,\"weight\":1,\"input_sha256\":\"" SHA_A
              "\",\"expected_sha256\":\"" SHA_A "\"}");
    result_free(&r);
}

static void test_blob_references_are_checked(void **state)
{
    expect_one_error("{\"tests\": [{\"name\": \"s\", \"expected_sha256\": \"" SHA_A "\"}]}",
                     "$.tests[0].expected_sha256",
                     "only hidden tests may keep their data in blobs (a visible test is shown "
                     "to learners: give its expected inline, at most 1 MiB)");
    expect_one_error("{\"tests\": [{\"name\": \"s\", \"expected\": \"1\"}, {\"name\": \"h\","
                     " \"hidden\": true, \"input\": \"x\", \"input_sha256\": \"" SHA_A "\","
                     " \"expected\": \"1\"}]}",
                     "$.tests[1].input_sha256", "give either input or input_sha256, not both");
    expect_one_error("{\"tests\": [{\"name\": \"s\", \"expected\": \"1\"}, {\"name\": \"h\","
                     " \"hidden\": true, \"expected_sha256\": \"ABC\"}]}",
                     "$.tests[1].expected_sha256", "must be a SHA-256: 64 lower-case hex digits");
}

static void test_a_task_has_at_most_2000_tests(void **state)
{
    json_t *doc = task_with("{}");
    json_t *tests = json_object_get(doc, "tests");
    for (int i = (int)json_array_size(tests); i <= CONTENT_MAX_TESTS; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        json_array_append_new(tests, json_pack("{s:s,s:s,s:b}", "name", name, "expected", "1",
                                               "hidden", 1));
    }
    result_t r;
    normalize(&r, doc);
    assert_int_equal(r.rc, -1);
    assert_one_error(&r.rep, "$.tests", "must have at most 2000 tests");
    result_free(&r);
    doc = task_with("{}");
    tests = json_object_get(doc, "tests");
    json_array_remove(tests, 0);
    for (int i = (int)json_array_size(tests); i < CONTENT_MAX_TESTS; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        json_array_append_new(tests, json_pack("{s:s,s:s}", "name", name, "expected", "1"));
    }
    normalize(&r, doc);
    assert_int_equal(r.rc, 0);
    result_free(&r);
}

/* ---- hints ----------------------------------------------------------------- */

static void test_hints_are_short_strings(void **state)
{
    expect_one_error("{\"hints\": [\"ok\", 3]}", "$.hints[1]",
                     "must be a string of 1 byte to 4 KiB");
    result_t r;
    normalize(&r, task_with("{\"hints\": [\"first\", \"second\"]}"));
    assert_at(r.norm, "hints", "[\"first\",\"second\"]");
    result_free(&r);
}

/* ---- editorial ---------------------------------------------------------- */

static void test_an_editorial_is_kept_last_and_an_empty_one_left_out(void **state)
{
    expect_one_error("{\"editorial\": 7}", "$.editorial", "must be a string");
    result_t r;
    normalize(&r, task_with("{\"editorial\": \"## Idea\\nUse a set.\"}"));
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "editorial", "\"## Idea\\nUse a set.\"");
    const char *last = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(r.norm, key, v) last = key;
    assert_string_equal(last, "editorial");
    result_free(&r);
    /* None, or "": no key, so tasks without one keep their content hash. */
    normalize(&r, task_with("{\"editorial\": \"\"}"));
    assert_int_equal(r.rc, 0);
    assert_null(json_object_get(r.norm, "editorial"));
    result_free(&r);
}

static void test_an_editorial_is_at_most_64_kib(void **state)
{
    char *big = malloc(64 * 1024 + 40);
    assert_non_null(big);
    int n = snprintf(big, 40, "{\"editorial\": \"");
    memset(big + n, 'x', 64 * 1024 + 1);
    strcpy(big + n + 64 * 1024 + 1, "\"}");
    expect_one_error(big, "$.editorial", "must be at most 64 KiB (is 65537 bytes)");
    free(big);
}

/* ---- stop_at_first_failure --------------------------------------------- */

static void test_stopping_at_the_first_failure_is_kept_when_true_and_left_out_when_false(
    void **state)
{
    expect_one_error("{\"stop_at_first_failure\": \"yes\"}", "$.stop_at_first_failure",
                     "must be true or false");
    result_t r;
    normalize(&r, task_with("{\"stop_at_first_failure\": true}"));
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "stop_at_first_failure", "true");
    result_free(&r);
    /* false is the default: no key, so tasks without one keep their content hash. */
    normalize(&r, task_with("{\"stop_at_first_failure\": false}"));
    assert_int_equal(r.rc, 0);
    assert_null(json_object_get(r.norm, "stop_at_first_failure"));
    result_free(&r);
}

/* ---- solutions ------------------------------------------------------------- */

static void test_a_reference_solution_expects_ac(void **state)
{
    result_t r;
    normalize(&r, task_with("{}"));
    assert_at(r.norm, "reference_solutions.0.expected_verdict", "\"ac\"");
    result_free(&r);
    expect_one_error("{\"reference_solutions\": [{\"name\": \"r\", \"language\": \"python3\","
                     " \"code\": \"x\", \"expected_verdict\": \"wa\"}]}",
                     "$.reference_solutions[0].expected_verdict",
                     "must be \"ac\" for a reference solution");
}

static void test_a_known_wrong_solution_may_not_expect_ac(void **state)
{
    expect_one_error("{\"wrong_solutions\": [{\"name\": \"w\", \"language\": \"python3\","
                     " \"code\": \"x\", \"expected_verdict\": \"ac\"}]}",
                     "$.wrong_solutions[0].expected_verdict",
                     "must not be \"ac\" for a known-wrong solution");
    expect_one_error("{\"wrong_solutions\": [{\"name\": \"w\", \"language\": \"python3\","
                     " \"code\": \"x\", \"expected_verdict\": \"ie\"}]}",
                     "$.wrong_solutions[0].expected_verdict",
                     "must be one of \"ac\", \"wa\", \"tle\", \"mle\", \"re\", \"ole\", \"ce\"");
    result_t r;
    normalize(&r, task_with("{\"wrong_solutions\": [{\"name\": \"w\", \"language\": \"python3\","
                            " \"code\": \"x\"}]}"));
    assert_at(r.norm, "wrong_solutions.0",
              "{\"name\":\"w\",\"language\":\"python3\",\"code\":\"x\"}");
    result_free(&r);
}

static void test_solutions_of_a_restricted_task_are_in_its_languages(void **state)
{
    expect_one_error("{\"restrict_languages\": true, \"reference_solutions\": [{\"name\": \"r\","
                     " \"language\": \"c\", \"code\": \"x\"}]}",
                     "$.reference_solutions[0].language",
                     "\"c\" is not one of the task's languages");
    expect_one_error("{\"restrict_languages\": \"yes\"}", "$.restrict_languages",
                     "must be true or false");
}

static void test_a_task_accepts_solutions_in_every_language_unless_restricted(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"reference_solutions\": [{\"name\": \"r\", \"language\": \"c\","
                            " \"code\": \"x\"}]}"));
    assert_int_equal(r.rc, 0);
    /* false is the default and stays out of the normalised form (and hash) */
    assert_null(json_object_get(r.norm, "restrict_languages"));
    result_free(&r);
    normalize(&r, task_with("{\"restrict_languages\": false}"));
    assert_int_equal(r.rc, 0);
    assert_null(json_object_get(r.norm, "restrict_languages"));
    result_free(&r);
    normalize(&r, task_with("{\"restrict_languages\": true}"));
    assert_int_equal(r.rc, 0);
    assert_at(r.norm, "restrict_languages", "true");
    result_free(&r);
}

static void test_one_language_mistake_is_reported_once(void **state)
{
    /* With the languages wrong, solutions are not checked against them. */
    expect_one_error("{\"languages\": [{\"language\": \"cobol\"}]}", "$.languages[0].language",
                     "unknown language \"cobol\"");
}

static void test_solution_names_are_unique_and_printable(void **state)
{
    expect_one_error(
        "{\"wrong_solutions\": [{\"name\": \"w\", \"language\": \"python3\", \"code\": \"x\"},"
        " {\"name\": \"w\", \"language\": \"python3\", \"code\": \"y\"}]}",
        "$.wrong_solutions[1].name", "duplicate name \"w\" (also $.wrong_solutions[0])");
    expect_one_error("{\"wrong_solutions\": [{\"name\": \"a\\u0007\", \"language\": \"python3\","
                     " \"code\": \"x\"}]}",
                     "$.wrong_solutions[0].name",
                     "must be 1-64 characters without control characters");
}

static void test_no_reference_solution_only_warns(void **state)
{
    result_t r;
    normalize(&r, task_with("{\"reference_solutions\": \"-\"}"));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.n_warnings, 1);
    assert_string_equal(r.rep.warnings[0].path, "$.reference_solutions");
    assert_string_equal(r.rep.warnings[0].message,
                        "no reference solution: nothing proves the tests right");
    result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_base_task_is_valid_with_no_warning),
        cmocka_unit_test(test_hidden_tests_may_keep_their_data_in_blobs),
        cmocka_unit_test(test_blob_references_are_checked),
        cmocka_unit_test(test_a_task_has_at_most_2000_tests),
        cmocka_unit_test(test_every_key_comes_in_task_field_order_with_defaults),
        cmocka_unit_test(test_unknown_fields_are_refused_and_output_only_ones_ignored),
        cmocka_unit_test(test_errors_come_in_document_order),
        cmocka_unit_test(test_a_document_must_be_an_object),
        cmocka_unit_test(test_normalising_the_normalised_form_changes_nothing),
        cmocka_unit_test(test_parsing_reports_bad_json_at_the_root),
        cmocka_unit_test(test_the_slug_must_match_the_file_name),
        cmocka_unit_test(test_the_slug_starts_with_a_letter),
        cmocka_unit_test(test_titles_are_short_and_printable),
        cmocka_unit_test(test_difficulty_is_required_and_named),
        cmocka_unit_test(test_points_default_by_difficulty),
        cmocka_unit_test(test_descriptions_are_required_and_at_most_64_kib),
        cmocka_unit_test(test_tags_are_slugs_without_duplicates),
        cmocka_unit_test(test_limits_default_and_languages_inherit_them_field_by_field),
        cmocka_unit_test(test_the_wall_clock_default_grows_with_a_large_cpu_limit),
        cmocka_unit_test(test_the_wall_clock_may_not_be_below_the_cpu_limit),
        cmocka_unit_test(test_limits_have_ranges_and_known_fields),
        cmocka_unit_test(test_languages_are_known_and_listed_once),
        cmocka_unit_test(test_the_default_checker_ignores_trailing_whitespace),
        cmocka_unit_test(test_the_float_checker_gets_default_tolerances),
        cmocka_unit_test(test_a_tolerance_for_another_checker_only_warns),
        cmocka_unit_test(test_the_custom_checker_needs_its_program),
        cmocka_unit_test(test_checker_kinds_are_named),
        cmocka_unit_test(test_the_default_validator_keeps_its_flags_and_optional_tolerances),
        cmocka_unit_test(test_tests_get_their_defaults),
        cmocka_unit_test(test_a_test_keeps_its_own_validator_flags_for_the_checkers_that_take_them),
        cmocka_unit_test(test_at_least_one_test_is_visible),
        cmocka_unit_test(test_no_visible_tests_says_a_task_has_none),
        cmocka_unit_test(test_test_names_are_unique_identifiers),
        cmocka_unit_test(test_each_test_field_is_checked),
        cmocka_unit_test(test_hints_are_short_strings),
        cmocka_unit_test(test_an_editorial_is_kept_last_and_an_empty_one_left_out),
        cmocka_unit_test(test_an_editorial_is_at_most_64_kib),
        cmocka_unit_test(
            test_stopping_at_the_first_failure_is_kept_when_true_and_left_out_when_false),
        cmocka_unit_test(test_a_reference_solution_expects_ac),
        cmocka_unit_test(test_a_known_wrong_solution_may_not_expect_ac),
        cmocka_unit_test(test_solutions_of_a_restricted_task_are_in_its_languages),
        cmocka_unit_test(test_a_task_accepts_solutions_in_every_language_unless_restricted),
        cmocka_unit_test(test_one_language_mistake_is_reported_once),
        cmocka_unit_test(test_solution_names_are_unique_and_printable),
        cmocka_unit_test(test_no_reference_solution_only_warns),
        cmocka_unit_test(test_a_package_validator_keeps_its_files_flags_and_interactive),
        cmocka_unit_test(test_a_package_validator_is_refused_naming_the_wrong_part),
        cmocka_unit_test(test_input_validators_are_refused_naming_the_wrong_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
