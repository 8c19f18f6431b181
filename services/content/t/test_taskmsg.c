/* test_taskmsg — a normalised task and the messages: what a learner's
 * TaskView may carry (no hidden test, no solution, no checker program), the
 * judge bundle, the round trip Task -> file form -> Task, the export text,
 * and the enum names against the .proto.
 *
 * The messages are built in an RPC call's arena; this test stands in for
 * the RPC layer with a call that is only an arena. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "libcommon/arena.h"
#include "testkit.h"

struct rpc_call {
    arena_t arena;
};

void *rpc_alloc(rpc_call_t *call, size_t size)
{
    return arena_alloc(&call->arena, size);
}
char *rpc_strdup(rpc_call_t *call, const char *s)
{
    return arena_strdup(&call->arena, s);
}

static const char *const secret_task =
    "{\"slug\": \"sum-two\", \"title\": \"Sum of two\", \"difficulty\": \"medium\","
    " \"description\": \"Add two numbers.\", \"tags\": [\"math\"], \"hints\": [\"Add.\"],"
    " \"languages\": [{\"language\": \"python3\", \"starter_code\": \"# start\"}],"
    " \"checker\": {\"kind\": \"custom\","
    "   \"custom\": {\"language\": \"python3\", \"source\": \"SECRET-CHECKER\"}},"
    " \"tests\": [{\"name\": \"s1\", \"input\": \"1 2\\n\", \"expected\": \"3\\n\"},"
    "   {\"name\": \"hidden-big\", \"input\": \"SECRET-INPUT\", \"expected\": \"SECRET-OUTPUT\","
    "    \"hidden\": true, \"weight\": 4}],"
    " \"reference_solutions\": [{\"name\": \"direct\", \"language\": \"python3\","
    "   \"code\": \"SECRET-REFERENCE\"}],"
    " \"wrong_solutions\": [{\"name\": \"SECRET-NAME\", \"language\": \"python3\","
    "   \"code\": \"SECRET-WRONG\", \"expected_verdict\": \"wa\"}]}";

/* The normalised form of `text` (a valid task). New. */
static json_t *norm_of(const char *text)
{
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *doc = doc_of(text), *norm = NULL;
    int rc = taskjson_normalize(doc, &rep, &norm);
    if (rc < 0)
        report_print(&rep);
    assert_int_equal(rc, 0);
    json_decref(doc);
    content_report_free(&rep);
    return norm;
}

/* The packed bytes of `m` contain `s`. */
static bool packed_contains(const ProtobufCMessage *m, const char *s)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n + 1);
    protobuf_c_message_pack(m, buf);
    bool found = memmem(buf, n, s, strlen(s)) != NULL;
    free(buf);
    return found;
}

static void test_a_view_carries_no_hidden_test_solution_or_checker(void **state)
{
    struct rpc_call call = {{0}};
    json_t *norm = norm_of(secret_task);
    Dojo__Content__V1__TaskView *v = taskjson_to_view(&call, norm);
    assert_false(packed_contains(&v->base, "SECRET"));
    assert_int_equal(v->n_sample_tests, 1);
    assert_string_equal(v->sample_tests[0]->name, "s1");
    assert_int_equal(v->hidden_test_count, 1);
    assert_int_equal(v->max_score, 1 + 4);
    assert_int_equal(v->checker_kind, DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM);
    assert_int_equal(v->points, 30);
    assert_string_equal(v->languages[0]->starter_code, "# start");
    assert_int_equal(v->languages[0]->limits->cpu_ms, 2000);
    json_decref(norm);
    arena_release(&call.arena);
}

static void test_a_view_shows_float_tolerances_only(void **state)
{
    struct rpc_call call = {{0}};
    json_t *norm = norm_of(
        "{\"slug\": \"f\", \"title\": \"F\", \"difficulty\": \"easy\", \"description\": \"d\","
        " \"languages\": [{\"language\": \"python3\"}], \"checker\": {\"kind\": \"float\","
        " \"abs_tol\": 0.5}, \"tests\": [{\"name\": \"a\", \"expected\": \"1\"}]}");
    Dojo__Content__V1__TaskView *v = taskjson_to_view(&call, norm);
    assert_true(v->abs_tol == 0.5 && v->rel_tol == 0);
    json_decref(norm);
    arena_release(&call.arena);
}

static void test_a_bundle_has_every_test_in_order_and_the_checker(void **state)
{
    struct rpc_call call = {{0}};
    json_t *norm = norm_of(secret_task);
    Dojo__Content__V1__JudgeBundle *b = taskjson_to_bundle(&call, norm);
    assert_int_equal(b->n_tests, 2);
    assert_string_equal(b->tests[1]->input, "SECRET-INPUT");
    assert_true(b->tests[1]->hidden);
    assert_int_equal(b->tests[1]->weight, 4);
    assert_string_equal(b->checker->custom->source, "SECRET-CHECKER");
    assert_int_equal(b->max_score, 5);
    assert_int_equal(b->difficulty, DOJO__COMMON__V1__DIFFICULTY__DIFFICULTY_MEDIUM);
    /* A bundle is for judging: solutions stay out of it too. */
    assert_false(packed_contains(&b->base, "SECRET-REFERENCE"));
    json_decref(norm);
    arena_release(&call.arena);
}

static void test_stopping_at_the_first_failure_reaches_the_bundle_the_view_and_the_task(
    void **state)
{
    struct rpc_call call = {{0}};
    json_t *norm = norm_of(
        "{\"slug\": \"s\", \"title\": \"S\", \"difficulty\": \"easy\", \"description\": \"d\","
        " \"languages\": [{\"language\": \"python3\"}], \"tests\": [{\"name\": \"a\","
        " \"expected\": \"1\"}], \"stop_at_first_failure\": true}");
    assert_true(taskjson_to_bundle(&call, norm)->stop_at_first_failure);
    assert_true(taskjson_to_view(&call, norm)->stop_at_first_failure);
    Dojo__Content__V1__Task *t = taskjson_to_task(&call, norm);
    assert_true(t->stop_at_first_failure);
    json_t *back = taskjson_from_message(t);
    assert_true(json_is_true(json_object_get(back, "stop_at_first_failure")));
    json_decref(back);
    json_decref(norm);
    norm = norm_of(secret_task);
    assert_false(taskjson_to_bundle(&call, norm)->stop_at_first_failure);
    json_decref(norm);
    arena_release(&call.arena);
}

static void test_a_task_accepts_every_language_listed_first_unless_restricted(void **state)
{
    struct rpc_call call = {{0}};
    size_t n_all;
    content_languages(&n_all);
    json_t *norm = norm_of(secret_task);
    Dojo__Content__V1__TaskView *v = taskjson_to_view(&call, norm);
    Dojo__Content__V1__JudgeBundle *b = taskjson_to_bundle(&call, norm);
    assert_int_equal(v->n_languages, n_all);
    assert_int_equal(b->n_languages, n_all);
    /* the listed language first, with its starter code; the others empty,
     * with the task's limits */
    assert_string_equal(v->languages[0]->language, "python3");
    assert_string_equal(v->languages[0]->starter_code, "# start");
    bool c_seen = false;
    for (size_t i = 1; i < v->n_languages; i++) {
        assert_string_not_equal(v->languages[i]->language, "python3");
        assert_string_equal(v->languages[i]->starter_code, "");
        assert_int_equal(v->languages[i]->limits->cpu_ms, v->limits->cpu_ms);
        assert_int_equal(v->languages[i]->limits->memory_kib, v->limits->memory_kib);
        assert_int_equal(b->languages[i]->limits->wall_ms, b->limits->wall_ms);
        c_seen |= !strcmp(b->languages[i]->language, "c");
    }
    assert_true(c_seen);
    /* the author's form lists what the file lists */
    Dojo__Content__V1__Task *t = taskjson_to_task(&call, norm);
    assert_int_equal(t->n_languages, 1);
    assert_false(t->restrict_languages);
    json_decref(norm);

    json_t *doc = doc_of(secret_task);
    json_object_set_new(doc, "restrict_languages", json_true());
    cleanup_free char *text = json_dumps(doc, 0);
    json_decref(doc);
    norm = norm_of(text);
    v = taskjson_to_view(&call, norm);
    b = taskjson_to_bundle(&call, norm);
    assert_int_equal(v->n_languages, 1);
    assert_int_equal(b->n_languages, 1);
    t = taskjson_to_task(&call, norm);
    assert_true(t->restrict_languages);
    json_t *file = taskjson_from_message(t);
    assert_true(json_is_true(json_object_get(file, "restrict_languages")));
    json_decref(file);
    json_decref(norm);
    arena_release(&call.arena);
}

static void test_a_task_message_round_trips_through_the_file_form(void **state)
{
    struct rpc_call call = {{0}};
    json_t *norm = norm_of(secret_task);
    Dojo__Content__V1__Task *t = taskjson_to_task(&call, norm);
    assert_int_equal(t->wrong_solutions[0]->expected_verdict,
                     DOJO__COMMON__V1__VERDICT__VERDICT_WA);
    json_t *file = taskjson_from_message(t);
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *again = NULL;
    assert_int_equal(taskjson_normalize(file, &rep, &again), 0);
    char h1[65], h2[65];
    check_hash(norm, h1);
    check_hash(again, h2);
    assert_string_equal(h1, h2);
    content_report_free(&rep);
    json_decref(again);
    json_decref(file);
    json_decref(norm);
    arena_release(&call.arena);
}

static const char *const validator_task =
    "{\"slug\": \"guess\", \"title\": \"Guess\", \"difficulty\": \"easy\","
    " \"description\": \"Guess the number.\", \"languages\": [{\"language\": \"cpp\"}],"
    " \"checker\": {\"kind\": \"package_validator\", \"language\": \"cpp\","
    "   \"files\": [{\"name\": \"interactor.cpp\", \"content\": \"SECRET-VALIDATOR\"},"
    "             {\"name\": \"testlib.h\", \"content\": \"// h\"}],"
    "   \"flags\": [\"strict\"], \"interactive\": true},"
    " \"tests\": [{\"name\": \"s1\", \"input\": \"7\\n\", \"expected\": \"7\\n\"}]}";

static void test_a_package_validator_reaches_the_bundle_and_round_trips(void **state)
{
    struct rpc_call call = {{0}};
    json_t *norm = norm_of(validator_task);
    Dojo__Content__V1__JudgeBundle *b = taskjson_to_bundle(&call, norm);
    assert_int_equal(b->checker->kind,
                     DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_PACKAGE_VALIDATOR);
    const Dojo__Content__V1__PackageValidator *v = b->checker->validator;
    assert_non_null(v);
    assert_string_equal(v->language, "cpp");
    assert_int_equal(v->n_files, 2);
    assert_string_equal(v->files[0]->name, "interactor.cpp");
    assert_string_equal(v->files[0]->content, "SECRET-VALIDATOR");
    assert_int_equal(v->n_flags, 1);
    assert_string_equal(v->flags[0], "strict");
    assert_true(v->interactive);
    /* The learner is told it is interactive, never shown the program. */
    Dojo__Content__V1__TaskView *view = taskjson_to_view(&call, norm);
    assert_true(view->interactive);
    assert_false(packed_contains(&view->base, "SECRET-VALIDATOR"));
    /* Task -> file form -> the same task. */
    Dojo__Content__V1__Task *t = taskjson_to_task(&call, norm);
    json_t *file = taskjson_from_message(t);
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *again = NULL;
    assert_int_equal(taskjson_normalize(file, &rep, &again), 0);
    char h1[65], h2[65];
    check_hash(norm, h1);
    check_hash(again, h2);
    assert_string_equal(h1, h2);
    content_report_free(&rep);
    json_decref(again);
    json_decref(file);
    json_decref(norm);
    arena_release(&call.arena);
}

/* A test's own validator flags reach the bundle (empty is not absent) and
 * the task message round-trips with the same hash. */
static void test_a_tests_own_flags_reach_the_bundle_and_round_trip(void **state)
{
    struct rpc_call call = {{0}};
    json_t *norm = norm_of(
        "{\"slug\": \"groups\", \"title\": \"Groups\", \"difficulty\": \"easy\","
        " \"description\": \"Print it.\", \"languages\": [{\"language\": \"python3\"}],"
        " \"checker\": {\"kind\": \"default_validator\", \"case_sensitive\": true},"
        " \"tests\": [{\"name\": \"s1\", \"input\": \"1\\n\", \"expected\": \"1\\n\"},"
        "   {\"name\": \"loose\", \"input\": \"1\\n\", \"expected\": \"0.5\\n\", \"hidden\": true,"
        "    \"validator_flags\": [\"float_tolerance\", \"1e-3\"]},"
        "   {\"name\": \"none\", \"input\": \"1\\n\", \"expected\": \"0.5\\n\", \"hidden\": true,"
        "    \"validator_flags\": []}]}");
    Dojo__Content__V1__JudgeBundle *b = taskjson_to_bundle(&call, norm);
    assert_int_equal(b->n_tests, 3);
    assert_null(b->tests[0]->validator_flags);
    assert_non_null(b->tests[1]->validator_flags);
    assert_int_equal(b->tests[1]->validator_flags->n_flags, 2);
    assert_string_equal(b->tests[1]->validator_flags->flags[1], "1e-3");
    assert_non_null(b->tests[2]->validator_flags);
    assert_int_equal(b->tests[2]->validator_flags->n_flags, 0);
    Dojo__Content__V1__Task *t = taskjson_to_task(&call, norm);
    json_t *file = taskjson_from_message(t);
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *again = NULL;
    assert_int_equal(taskjson_normalize(file, &rep, &again), 0);
    assert_true(json_equal(norm, again));
    content_report_free(&rep);
    json_decref(again);
    json_decref(file);
    json_decref(norm);
    arena_release(&call.arena);
}

/* A task's input validators (in path order, whatever order they came in)
 * are in the Task message and round-trip with the same hash; neither the
 * bundle nor the view carries them. */
static void test_input_validators_stay_with_the_task_and_out_of_the_bundle(void **state)
{
    struct rpc_call call = {{0}};
    json_t *norm = norm_of(
        "{\"slug\": \"checked\", \"title\": \"Checked\", \"difficulty\": \"easy\","
        " \"description\": \"Print it.\", \"languages\": [{\"language\": \"python3\"}],"
        " \"tests\": [{\"name\": \"s1\", \"input\": \"1\\n\", \"expected\": \"1\\n\"}],"
        " \"input_validators\": ["
        "   {\"path\": \"input_validators/z.py\", \"language\": \"python3\","
        "    \"files\": [{\"name\": \"z.py\", \"content\": \"SECRET-IV-Z\"}]},"
        "   {\"path\": \"input_format_validators/range\", \"language\": \"cpp\","
        "    \"files\": [{\"name\": \"range.cpp\", \"content\": \"SECRET-IV-RANGE\"},"
        "               {\"name\": \"testlib.h\", \"content\": \"// h\"}],"
        "    \"flags\": [\"--max\", \"100\"]}]}");
    char buf[128];
    assert_string_equal(at(norm, "input_validators.0.path", buf, sizeof buf),
                        "\"input_format_validators/range\"");
    Dojo__Content__V1__Task *t = taskjson_to_task(&call, norm);
    assert_int_equal(t->n_input_validators, 2);
    assert_string_equal(t->input_validators[0]->path, "input_format_validators/range");
    assert_string_equal(t->input_validators[0]->validator->language, "cpp");
    assert_int_equal(t->input_validators[0]->validator->n_files, 2);
    assert_int_equal(t->input_validators[0]->validator->n_flags, 2);
    assert_string_equal(t->input_validators[1]->validator->files[0]->content, "SECRET-IV-Z");
    Dojo__Content__V1__JudgeBundle *b = taskjson_to_bundle(&call, norm);
    assert_false(packed_contains(&b->base, "SECRET-IV-RANGE"));
    Dojo__Content__V1__TaskView *view = taskjson_to_view(&call, norm);
    assert_false(packed_contains(&view->base, "SECRET-IV-Z"));
    json_t *file = taskjson_from_message(t);
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *again = NULL;
    assert_int_equal(taskjson_normalize(file, &rep, &again), 0);
    assert_true(json_equal(norm, again));
    content_report_free(&rep);
    json_decref(again);
    json_decref(file);
    json_decref(norm);
    arena_release(&call.arena);
}

static void test_a_message_leaves_zero_values_out_of_the_file_form(void **state)
{
    Dojo__Content__V1__Task t = DOJO__CONTENT__V1__TASK__INIT;
    t.slug = "s";
    json_t *file = taskjson_from_message(&t);
    cleanup_free char *text = json_dumps(file, JSON_COMPACT);
    assert_string_equal(text, "{\"slug\":\"s\",\"tags\":[],\"languages\":[],\"tests\":[],"
                              "\"hints\":[],\"reference_solutions\":[],\"wrong_solutions\":[]}");
    json_decref(file);
}

static void test_an_unknown_enum_value_in_a_message_is_reported(void **state)
{
    Dojo__Content__V1__Task t = DOJO__CONTENT__V1__TASK__INIT;
    t.difficulty = 7;
    json_t *file = taskjson_from_message(&t);
    assert_at(file, "difficulty", "7");
    content_report_t rep;
    content_report_init(&rep, NULL);
    json_t *norm = NULL;
    assert_int_equal(taskjson_normalize(file, &rep, &norm), -1);
    bool found = false;
    for (size_t i = 0; i < rep.n_errors; i++)
        found |= !strcmp(rep.errors[i].path, "$.difficulty") &&
                 !strcmp(rep.errors[i].message, "must be one of \"easy\", \"medium\", \"hard\"");
    assert_true(found);
    content_report_free(&rep);
    json_decref(file);
}

static void test_the_export_text_is_indented_in_field_order_with_a_newline(void **state)
{
    json_t *norm = norm_of(secret_task);
    cleanup_free char *text = check_pretty(norm);
    assert_memory_equal(text, "{\n  \"slug\": \"sum-two\",\n  \"title\": \"Sum of two\",\n", 47);
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_int_equal(text[strlen(text) - 2], '}');
    json_decref(norm);
}

static void test_enum_names_are_the_proto_values_in_lower_case(void **state)
{
    expect_proto_names(&task_difficulties, &dojo__common__v1__difficulty__descriptor,
                       "DIFFICULTY_");
    expect_proto_names(&task_checker_kinds, &dojo__content__v1__checker_kind__descriptor,
                       "CHECKER_KIND_");
    expect_proto_names(&task_verdicts, &dojo__common__v1__verdict__descriptor, "VERDICT_");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_view_carries_no_hidden_test_solution_or_checker),
        cmocka_unit_test(test_a_view_shows_float_tolerances_only),
        cmocka_unit_test(test_a_bundle_has_every_test_in_order_and_the_checker),
        cmocka_unit_test(
            test_stopping_at_the_first_failure_reaches_the_bundle_the_view_and_the_task),
        cmocka_unit_test(test_a_task_accepts_every_language_listed_first_unless_restricted),
        cmocka_unit_test(test_a_task_message_round_trips_through_the_file_form),
        cmocka_unit_test(test_a_package_validator_reaches_the_bundle_and_round_trips),
        cmocka_unit_test(test_a_tests_own_flags_reach_the_bundle_and_round_trip),
        cmocka_unit_test(test_input_validators_stay_with_the_task_and_out_of_the_bundle),
        cmocka_unit_test(test_a_message_leaves_zero_values_out_of_the_file_form),
        cmocka_unit_test(test_an_unknown_enum_value_in_a_message_is_reported),
        cmocka_unit_test(test_the_export_text_is_indented_in_field_order_with_a_newline),
        cmocka_unit_test(test_enum_names_are_the_proto_values_in_lower_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
