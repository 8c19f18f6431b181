/* test_contestpkg — CLICS contest packages: a contest written as a package
 * reads back to the same contest and teams; another system's package (the
 * spec's YAML examples: a "+01" start, penalty minutes as a number,
 * fractions of seconds) maps onto Dojo's fields; problems are reported at
 * their file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <zip.h>

#include <cmocka.h>

#include "testkit.h"

static const char *const contest_text =
    "{\"slug\": \"spring-cup\", \"title\": \"Spring cup\", \"start\": \"2026-03-08T09:00:00Z\","
    " \"duration\": \"5:00:00\", \"freeze_minutes\": 60, \"scoring\": \"ioi\","
    " \"registration\": \"invite\", \"invite_code_sha256\": "
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
    " \"medals\": {\"gold\": 1, \"silver\": 2, \"bronze\": 3},"
    " \"problems\": [{\"label\": \"A\", \"task_slug\": \"two-sum\", \"points\": 40},"
    " {\"label\": \"B\", \"task_slug\": \"knapsack\", \"rgb\": \"#f00\", \"color\": \"red\"}],"
    " \"organizations\": [{\"id\": \"kth\", \"name\": \"KTH\", \"country\": \"SWE\"}],"
    " \"groups\": [{\"id\": \"north\", \"name\": \"North\", \"type\": \"site\"}]}";

static json_t *normalized(json_t *doc)
{
    content_report_t rep;
    content_report_init(&rep, "");
    json_t *norm = NULL;
    int rc = contestjson_normalize(doc, &rep, &norm);
    assert_no_errors(&rep);
    assert_int_equal(rc, 0);
    content_report_free(&rep);
    return norm;
}

/* A zip of (name, text) pairs, NULL-terminated: new (free()). */
static char *zip_of(const char *const *files, size_t *len)
{
    pkg_writer_t *w = pkg_writer_new("pkg");
    assert_non_null(w);
    for (size_t i = 0; files[i]; i += 2)
        pkg_writer_add_text(w, files[i], files[i + 1]);
    char *zip = NULL;
    const char *why = NULL;
    assert_int_equal(pkg_writer_finish(w, &zip, len, &why), 0);
    return zip;
}

static void test_a_written_package_reads_back_to_the_same_contest(void **state)
{
    json_t *doc = doc_of(contest_text);
    json_t *norm = normalized(doc);
    json_t *names = doc_of("{\"two-sum\": \"Two sum\"}");
    json_t *teams = doc_of("[{\"id\": \"3\", \"name\": \"Lions\", \"organization_id\": \"kth\","
                           " \"group_ids\": [\"north\"], \"hidden\": false}]");
    char *zip = NULL;
    size_t len = 0;
    const char *why = NULL;
    assert_int_equal(contestpkg_write(norm, names, teams, &zip, &len, &why), 0);

    content_report_t rep;
    content_report_init(&rep, "");
    json_t *back = NULL, *back_teams = NULL;
    assert_int_equal(contestpkg_read(zip, len, "spring-cup", &rep, &back, &back_teams), 0);
    assert_no_errors(&rep);
    assert_int_equal(rep.n_warnings, 0);
    json_t *again = normalized(back);
    assert_true(json_equal(again, norm));
    assert_string_equal(json_string_value(json_object_get(json_array_get(back_teams, 0), "name")),
                        "Lions");
    assert_int_equal(json_array_size(back_teams), 1);
    content_report_free(&rep);
    free(zip);
    json_decref(again);
    json_decref(back);
    json_decref(back_teams);
    json_decref(names);
    json_decref(teams);
    json_decref(norm);
    json_decref(doc);
}

static void test_another_systems_package_maps_onto_dojos_fields(void **state)
{
    static const char *const files[] = {
        "contest.yaml",
        "id: wf2014\nname: 2014 World Finals\nstart_time: 2014-06-25T10:00:00+01\n"
        "duration: 5:00:00\nscoreboard_freeze_duration: 1:00:30.500\n"
        "scoreboard_type: pass-fail\npenalty_time: 20\n",
        "problems.yaml",
        "- id: knapsack\n  label: B\n  ordinal: 2\n- id: two-sum\n  label: 1\n  ordinal: 1\n"
        "  rgb: '#00f'\n",
        NULL};
    size_t len = 0;
    char *zip = zip_of(files, &len);
    content_report_t rep;
    content_report_init(&rep, "");
    json_t *doc = NULL, *teams = NULL;
    assert_int_equal(contestpkg_read(zip, len, "wf", &rep, &doc, &teams), 0);
    assert_no_errors(&rep);
    json_t *norm = normalized(doc);
    char buf[256];
    assert_string_equal(at(norm, "slug", buf, sizeof buf), "\"wf\"");
    assert_string_equal(at(norm, "start", buf, sizeof buf), "\"2014-06-25T09:00:00Z\"");
    assert_string_equal(at(norm, "freeze_minutes", buf, sizeof buf), "60");
    assert_string_equal(at(norm, "problems.0.task_slug", buf, sizeof buf), "\"two-sum\"");
    assert_string_equal(at(norm, "problems.0.label", buf, sizeof buf), "\"1\"");
    assert_string_equal(at(norm, "problems.1.label", buf, sizeof buf), "\"B\"");
    /* The id replaced, the half second and the 30 seconds dropped: said. */
    assert_int_equal(rep.n_warnings, 3);
    assert_int_equal(json_array_size(teams), 0);
    content_report_free(&rep);
    free(zip);
    json_decref(norm);
    json_decref(doc);
    json_decref(teams);
}

static void test_problems_are_reported_at_their_file(void **state)
{
    static const char *const files[] = {
        "contest.yaml", "name: X\nduration: five hours\nscoreboard_type: golf\n",
        "teams.json",   "[{\"id\": \"1\"}]",
        NULL};
    size_t len = 0;
    char *zip = zip_of(files, &len);
    content_report_t rep;
    content_report_init(&rep, "");
    json_t *doc = NULL, *teams = NULL;
    assert_int_equal(contestpkg_read(zip, len, "x", &rep, &doc, &teams), -1);
    assert_null(doc);
    assert_int_equal(rep.n_errors, 4);
    assert_string_equal(rep.errors[0].path, "contest.yaml");
    assert_string_equal(rep.errors[0].message,
                        "duration: must be a relative time h:mm:ss such as \"5:00:00\"");
    assert_string_equal(rep.errors[1].path, "contest.yaml");
    assert_string_equal(rep.errors[2].path, "problems.yaml");
    assert_string_equal(rep.errors[3].path, "teams.json[0].name");
    content_report_free(&rep);
    free(zip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_written_package_reads_back_to_the_same_contest),
        cmocka_unit_test(test_another_systems_package_maps_onto_dojos_fields),
        cmocka_unit_test(test_problems_are_reported_at_their_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
