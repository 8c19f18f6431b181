/* test_contestjson — the rules of contest files: defaults resolved, times
 * and durations in their canonical form, the problem set, organisations and
 * groups, invitation hashes, and contests <-> messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "testkit.h"

static const char *const base_contest =
    "{\"slug\": \"spring-cup\", \"title\": \"Spring cup\", \"start\": \"2026-03-08T09:00:00Z\","
    " \"duration\": \"5:00:00\", \"problems\": [{\"label\": \"A\", \"task_slug\": \"two-sum\"},"
    " {\"label\": \"B\", \"task_slug\": \"knapsack\", \"rgb\": \"#f00\", \"color\": \"red\"}]}";

typedef struct {
    content_report_t rep;
    json_t *norm;
    int rc;
} result_t;

/* The base contest with the top-level keys of `patch` set (null removes
 * one), read as the file spring-cup.json. */
static void normalize_with(result_t *r, const char *patch)
{
    json_t *doc = doc_of(base_contest);
    json_t *p = doc_of(patch);
    const char *key;
    json_t *v;
    json_object_foreach(p, key, v)
    {
        if (json_is_null(v) && strcmp(key, "duration") != 0)
            json_object_del(doc, key);
        else
            json_object_set(doc, key, v);
    }
    json_decref(p);
    content_report_init(&r->rep, "spring-cup.json");
    r->norm = NULL;
    r->rc = contestjson_normalize(doc, &r->rep, &r->norm);
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

static void test_defaults_are_resolved(void **state)
{
    result_t r;
    normalize_with(&r, "{}");
    assert_no_errors(&r.rep);
    assert_at(r.norm, "scoring", "\"icpc\"");
    assert_at(r.norm, "ioi_mode", "\"best\"");
    assert_at(r.norm, "penalty_minutes", "20");
    assert_at(r.norm, "registration", "\"open\"");
    assert_at(r.norm, "practice_after_end", "true");
    assert_at(r.norm, "hide_tasks_until_start", "false");
    assert_at(r.norm, "max_team_size", "1");
    assert_at(r.norm, "freeze_minutes", "0");
    assert_at(r.norm, "problems.0.points", "100");
    assert_at(r.norm, "problems.0.rgb", "\"\"");
    assert_at(r.norm, "medals", "{\"gold\":0,\"silver\":0,\"bronze\":0}");
    result_free(&r);
}

static void test_times_take_their_canonical_form(void **state)
{
    result_t r;
    normalize_with(&r, "{\"start\": \"2026-03-08T10:30:00+01:30\", \"duration\": \"120:00:00\"}");
    assert_no_errors(&r.rep);
    assert_at(r.norm, "start", "\"2026-03-08T09:00:00Z\"");
    assert_at(r.norm, "duration", "\"120:00:00\"");
    result_free(&r);
}

static void test_a_null_duration_is_an_open_ended_contest(void **state)
{
    result_t r;
    normalize_with(&r, "{\"duration\": null}");
    assert_no_errors(&r.rep);
    assert_at(r.norm, "duration", "null");
    result_free(&r);
    expect_one_error("{\"duration\": null, \"freeze_minutes\": 10}", "$.freeze_minutes",
                     "an open-ended contest never freezes: remove it");
}

static void test_bad_times_are_reported_at_their_field(void **state)
{
    expect_one_error("{\"start\": \"next monday\"}", "$.start",
                     "must be an RFC 3339 time such as \"2026-03-08T09:00:00Z\"");
    expect_one_error("{\"start\": null}", "$.start", "required");
    expect_one_error("{\"duration\": \"5h\"}", "$.duration",
                     "must be a relative time h:mm:ss such as \"5:00:00\", or null for an "
                     "open-ended contest");
    expect_one_error("{\"duration\": \"0:00:30\"}", "$.duration",
                     "must be from 0:01:00 to 720:00:00");
    expect_one_error("{\"freeze_minutes\": 301}", "$.freeze_minutes",
                     "must not exceed the duration");
}

static void test_problem_labels_and_tasks_are_unique(void **state)
{
    expect_one_error("{\"problems\": [{\"label\": \"A\", \"task_slug\": \"x\"}, {\"label\": \"A\","
                     " \"task_slug\": \"y\"}]}",
                     "$.problems[1].label", "duplicate label \"A\" (also $.problems[0])");
    expect_one_error("{\"problems\": [{\"label\": \"A\", \"task_slug\": \"x\"}, {\"label\": \"B\","
                     " \"task_slug\": \"x\"}]}",
                     "$.problems[1].task_slug", "duplicate task_slug \"x\" (also $.problems[0])");
    expect_one_error("{\"problems\": [{\"label\": \"A-1\", \"task_slug\": \"x\"}]}",
                     "$.problems[0].label", "must be 1-8 characters of [A-Za-z0-9]");
    expect_one_error("{\"problems\": [{\"label\": \"A\", \"task_slug\": \"x\", \"rgb\": \"red\"}]}",
                     "$.problems[0].rgb", "must be \"#rgb\" or \"#rrggbb\"");
    expect_one_error("{\"problems\": []}", "$.problems", "must not be empty");
}

static void test_invitation_hash_goes_with_invite_registration(void **state)
{
    expect_one_error("{\"registration\": \"invite\"}", "$.invite_code_sha256",
                     "required when registration is \"invite\"");
    expect_one_error("{\"registration\": \"invite\", \"invite_code_sha256\": \"abc\"}",
                     "$.invite_code_sha256",
                     "must be 64 lower-case hex digits (the SHA-256 of the code)");
    char patch[200];
    snprintf(patch, sizeof patch, "{\"invite_code_sha256\": \"%064d\"}", 0);
    expect_one_error(patch, "$.invite_code_sha256", "only for registration \"invite\": remove it");
    expect_one_error("{\"registration\": \"lottery\"}", "$.registration",
                     "must be one of \"open\", \"closed\", \"invite\"");
}

static void test_organizations_and_groups_have_unique_ids(void **state)
{
    expect_one_error("{\"organizations\": [{\"id\": \"uni\", \"name\": \"U\"}, {\"id\": \"uni\","
                     " \"name\": \"V\"}]}",
                     "$.organizations[1].id", "duplicate id \"uni\" (also $.organizations[0])");
    expect_one_error("{\"organizations\": [{\"id\": \"uni\", \"name\": \"U\", \"country\": "
                     "\"nl\"}]}",
                     "$.organizations[0].country",
                     "must be an ISO 3166-1 alpha-3 code such as \"NLD\"");
    expect_one_error("{\"groups\": [{\"id\": \"Site 1\", \"name\": \"S\"}]}", "$.groups[0].id",
                     "must be 1-36 characters of [a-z0-9_-]");
    expect_one_error("{\"colour\": \"blue\"}", "$.colour", "unknown field");
}

static void test_reltimes_read_and_write_the_clics_form(void **state)
{
    int64_t s;
    assert_int_equal(contest_parse_reltime("5:00:00", &s), 0);
    assert_int_equal(s, 5 * 3600);
    assert_int_equal(contest_parse_reltime("123:04:05", &s), 0);
    assert_int_equal(s, 123 * 3600 + 4 * 60 + 5);
    assert_int_equal(contest_parse_reltime("5:0:00", &s), -1);
    assert_int_equal(contest_parse_reltime("-1:00:00", &s), -1);
    assert_int_equal(contest_parse_reltime("1:60:00", &s), -1);
    char buf[32];
    contest_format_reltime(123 * 3600 + 4 * 60 + 5, buf, sizeof buf);
    assert_string_equal(buf, "123:04:05");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_resolved),
        cmocka_unit_test(test_times_take_their_canonical_form),
        cmocka_unit_test(test_a_null_duration_is_an_open_ended_contest),
        cmocka_unit_test(test_bad_times_are_reported_at_their_field),
        cmocka_unit_test(test_problem_labels_and_tasks_are_unique),
        cmocka_unit_test(test_invitation_hash_goes_with_invite_registration),
        cmocka_unit_test(test_organizations_and_groups_have_unique_ids),
        cmocka_unit_test(test_reltimes_read_and_write_the_clics_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
