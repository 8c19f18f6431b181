/* test_judge — from driver records to verdicts, score, summary and the
 * result messages: which tests run, what a hidden test may say, how the end
 * of a run judges the tests that never reported, the custom checker's pass,
 * and a RUN on stdin. No sandbox: records are made up here. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/executor/judge.h"

#define V(x) DOJO__COMMON__V1__VERDICT__VERDICT_##x
#define KIND(x) DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_##x

/* checker.c's custom checker calls it; the judge never does. */
int sandbox_run(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_outcome_t *out,
                err_t **err)
{
    fail_msg("the judge ran a sandbox");
    return -1;
}

/* ---- a task made up for the tests -------------------------------------- */

typedef struct fixture {
    Dojo__Content__V1__TestCase tc[4];
    Dojo__Content__V1__TestCase *tcp[4];
    Dojo__Content__V1__Checker checker;
    Dojo__Content__V1__Limits limits;
    Dojo__Content__V1__JudgeBundle bundle;
    Dojo__Executor__V1__Job job;
    arena_t arena;
    judge_t jd;
} fixture_t;

/* Four tests: a (visible, weight 1), hidden, b (visible, weight 2), hidden. */
static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    static const struct {
        const char *name, *in, *exp;
        bool hidden;
        int weight;
    } t[4] = {{"a", "1\n", "1\n", false, 1},
              {"h1", "2\n", "2\n", true, 1},
              {"b", "3\n", "3\n", false, 2},
              {"h2", "4\n", "4\n", true, 1}};
    for (int i = 0; i < 4; i++) {
        dojo__content__v1__test_case__init(&f->tc[i]);
        f->tc[i].name = (char *)t[i].name;
        f->tc[i].input = (char *)t[i].in;
        f->tc[i].expected = (char *)t[i].exp;
        f->tc[i].hidden = t[i].hidden;
        f->tc[i].weight = t[i].weight;
        f->tcp[i] = &f->tc[i];
    }
    dojo__content__v1__checker__init(&f->checker);
    dojo__content__v1__limits__init(&f->limits);
    f->limits.cpu_ms = 1000;
    f->limits.wall_ms = 3000;
    f->limits.memory_kib = 65536;
    f->limits.output_kib = 64;
    dojo__content__v1__judge_bundle__init(&f->bundle);
    f->bundle.n_tests = 4;
    f->bundle.tests = f->tcp;
    f->bundle.checker = &f->checker;
    f->bundle.limits = &f->limits;
    dojo__executor__v1__job__init(&f->job);
    f->job.kind = KIND(SUBMIT);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    arena_release(&f->arena);
    free(f);
    return 0;
}

static judge_t *judge(fixture_t *f)
{
    judge_init(&f->jd, &f->arena, &f->job, &f->bundle, NULL);
    return &f->jd;
}

static sandbox_record_t record(int index, const char *status, int exit_code, const char *out,
                               const char *err)
{
    sandbox_record_t r = {.index = index, .exit_code = exit_code, .cpu_ms = 10 + index,
                          .wall_ms = 20, .rss_kib = 1000 + index, .out = out,
                          .out_len = strlen(out), .err = err, .err_len = strlen(err)};
    snprintf(r.status, sizeof r.status, "%s", status);
    return r;
}

/* Every test's record, each printing its own expected output. */
static void all_pass(judge_t *jd)
{
    for (int i = 0; i < jd->ntests; i++) {
        sandbox_record_t r = record(i, "OK", 0, jd->tests[i].tc->expected, "");
        assert_non_null(judge_record(jd, &r));
    }
}

/* ---- the plan ---------------------------------------------------------- */

static void test_a_submit_runs_every_test_in_bundle_order(void **state)
{
    judge_t *jd = judge(*state);
    assert_int_equal(jd->ntests, 4);
    assert_false(jd->is_run);
    for (int i = 0; i < 4; i++)
        assert_int_equal(jd->tests[i].bundle_index, i);
    assert_int_equal(jd->tests[1].hidden_k, 1);
    assert_int_equal(jd->tests[3].hidden_k, 2);
    const char **in;
    size_t *lens;
    judge_inputs(jd, &in, &lens, NULL);
    assert_string_equal(in[2], "3\n");
    assert_int_equal(lens[2], 2);
}

static void test_a_run_on_sample_tests_runs_only_the_visible_ones(void **state)
{
    fixture_t *f = *state;
    f->job.kind = KIND(RUN);
    f->job.sample_tests = true;
    judge_t *jd = judge(f);
    assert_int_equal(jd->ntests, 2);
    assert_int_equal(jd->tests[0].bundle_index, 0);
    assert_int_equal(jd->tests[1].bundle_index, 2);
    assert_false(jd->stdin_run);
}

static void test_a_run_on_stdin_has_no_tests(void **state)
{
    fixture_t *f = *state;
    f->job.kind = KIND(RUN);
    judge_t *jd = judge(f);
    assert_true(jd->stdin_run);
    assert_int_equal(jd->ntests, 0);
}

static void test_limits_come_from_the_language_then_the_bundle_then_defaults(void **state)
{
    fixture_t *f = *state;
    sandbox_limits_t l;
    judge_limits(&f->job, &f->bundle, NULL, &l);
    assert_int_equal(l.cpu_ms, 1000);
    assert_int_equal(l.memory_kib, 65536);
    Dojo__Content__V1__Limits lang = DOJO__CONTENT__V1__LIMITS__INIT;
    lang.cpu_ms = 4000;
    Dojo__Content__V1__LanguageOption opt = DOJO__CONTENT__V1__LANGUAGE_OPTION__INIT;
    opt.limits = &lang;
    judge_limits(&f->job, &f->bundle, &opt, &l);
    assert_int_equal(l.cpu_ms, 4000);
    assert_int_equal(l.wall_ms, 5000); /* the language option's, defaulted */
    f->bundle.limits = NULL;
    judge_limits(&f->job, &f->bundle, NULL, &l);
    assert_int_equal(l.cpu_ms, 2000);
    assert_int_equal(l.memory_kib, 262144);
    assert_int_equal(l.output_kib, 1024);
}

static void test_a_runs_own_limits_are_clamped_and_wall_is_never_below_cpu(void **state)
{
    fixture_t *f = *state;
    Dojo__Content__V1__Limits own = DOJO__CONTENT__V1__LIMITS__INIT;
    own.cpu_ms = 60000;
    own.wall_ms = 50;
    own.memory_kib = 1;
    f->job.limits = &own;
    sandbox_limits_t l;
    judge_limits(&f->job, &f->bundle, NULL, &l);
    assert_int_equal(l.cpu_ms, 1000); /* a SUBMIT ignores them */
    f->job.kind = KIND(RUN);
    judge_limits(&f->job, &f->bundle, NULL, &l);
    assert_int_equal(l.cpu_ms, 10000);
    assert_int_equal(l.wall_ms, 10000);
    assert_int_equal(l.memory_kib, 16384);
}

static void test_the_task_language_is_found_by_id(void **state)
{
    fixture_t *f = *state;
    Dojo__Content__V1__LanguageOption py = DOJO__CONTENT__V1__LANGUAGE_OPTION__INIT;
    py.language = "python3";
    Dojo__Content__V1__LanguageOption *opts[] = {&py};
    f->bundle.languages = opts;
    f->bundle.n_languages = 1;
    assert_ptr_equal(judge_task_language(&f->bundle, "python3"), &py);
    assert_null(judge_task_language(&f->bundle, "c"));
}

/* ---- records ----------------------------------------------------------- */

static void test_expected_output_is_accepted_and_other_output_is_wrong(void **state)
{
    judge_t *jd = judge(*state);
    sandbox_record_t ok = record(0, "OK", 0, "1\n", "");
    sandbox_record_t wrong = record(2, "OK", 0, "4\n", "");
    judge_test_t *t = judge_record(jd, &ok);
    assert_int_equal(t->verdict, V(AC));
    assert_string_equal(t->message, "");
    assert_string_equal(t->excerpt, "1\n");
    t = judge_record(jd, &wrong);
    assert_int_equal(t->verdict, V(WA));
    assert_true(t->message[0] != '\0');
    assert_true(t->reported && !t->deferred);
}

/* A package's test group with its own flags: the default validator
 * compares that test's output with them, the others with the task's. */
static void test_a_test_with_its_own_flags_is_compared_with_them(void **state)
{
    fixture_t *f = *state;
    f->checker.kind = DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_DEFAULT_VALIDATOR;
    char *loose[] = {"float_tolerance", "1e-3"};
    Dojo__Content__V1__ValidatorFlags lf = DOJO__CONTENT__V1__VALIDATOR_FLAGS__INIT;
    lf.flags = loose;
    lf.n_flags = 2;
    f->tc[1].validator_flags = &lf;
    char *bad[] = {"ignore_case"};
    Dojo__Content__V1__ValidatorFlags bf = DOJO__CONTENT__V1__VALIDATOR_FLAGS__INIT;
    bf.flags = bad;
    bf.n_flags = 1;
    f->tc[3].validator_flags = &bf;
    judge_t *jd = judge(f);
    sandbox_record_t close_a = record(0, "OK", 0, "1.0004\n", "");
    sandbox_record_t close_h1 = record(1, "OK", 0, "2.0004\n", "");
    sandbox_record_t far_h1 = record(1, "OK", 0, "2.01\n", "");
    sandbox_record_t h2 = record(3, "OK", 0, "4\n", "");
    assert_int_equal(judge_record(jd, &close_a)->verdict, V(WA)); /* the task's: exact numbers */
    assert_int_equal(judge_record(jd, &close_h1)->verdict, V(AC));
    assert_int_equal(judge_record(jd, &far_h1)->verdict, V(WA));
    judge_test_t *t = judge_record(jd, &h2);
    assert_int_equal(t->verdict, V(IE));
    assert_string_equal(t->message, "the test's validator flags are not the default validator's");
    /* A package validator gets the test's flags with its case. */
    f->checker.kind = DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_PACKAGE_VALIDATOR;
    jd = judge(f);
    sandbox_record_t recs[] = {record(0, "OK", 0, "x", ""), record(1, "OK", 0, "y", "")};
    judge_record(jd, &recs[0]);
    judge_record(jd, &recs[1]);
    checker_case_t *cases;
    assert_int_equal(judge_checker_cases(jd, &cases), 2);
    assert_null(cases[0].flags);
    assert_ptr_equal(cases[1].flags, &lf);
}

static void test_a_record_for_no_test_is_ignored(void **state)
{
    judge_t *jd = judge(*state);
    sandbox_record_t r = record(9, "OK", 0, "", "");
    assert_null(judge_record(jd, &r));
    r.index = -1;
    assert_null(judge_record(jd, &r));
}

static void test_a_visible_runtime_error_ends_with_the_last_stderr_line(void **state)
{
    judge_t *jd = judge(*state);
    sandbox_record_t r = record(0, "OK", 1, "", "Traceback:\n  x\nValueError: bad\n\n");
    judge_test_t *t = judge_record(jd, &r);
    assert_int_equal(t->verdict, V(RE));
    assert_string_equal(t->message, "exit code 1: ValueError: bad");
}

static void test_a_hidden_test_never_quotes_output(void **state)
{
    judge_t *jd = judge(*state);
    sandbox_record_t wrong = record(1, "OK", 0, "secret\n", "");
    sandbox_record_t crash = record(3, "OK", 1, "", "Error: the input was 4\n");
    judge_test_t *t = judge_record(jd, &wrong);
    assert_null(t->excerpt);
    Dojo__Gamification__V1__TestResult *tr = judge_test_result(t);
    assert_string_equal(tr->name, "hidden-1");
    assert_string_equal(tr->message, "wrong answer");
    assert_string_equal(tr->output_excerpt, "");
    assert_true(tr->hidden);
    t = judge_record(jd, &crash);
    tr = judge_test_result(t);
    assert_string_equal(tr->name, "hidden-2");
    assert_string_equal(tr->message, "exit code 1"); /* no stderr */
}

static void test_a_visible_test_result_names_the_test_and_quotes_its_output(void **state)
{
    judge_t *jd = judge(*state);
    sandbox_record_t r = record(2, "OK", 0, "3\n", "");
    Dojo__Gamification__V1__TestResult *tr = judge_test_result(judge_record(jd, &r));
    assert_string_equal(tr->name, "b");
    assert_string_equal(tr->message, "accepted");
    assert_string_equal(tr->output_excerpt, "3\n");
    assert_int_equal(tr->index, 2);
    assert_int_equal(tr->weight, 2);
    assert_int_equal(tr->cpu_ms, 12);
}

/* ---- the end of a run -------------------------------------------------- */

static void test_tests_that_never_reported_get_the_verdict_of_the_run_end(void **state)
{
    static const struct {
        sandbox_end_t end;
        exec_verdict_t verdict;
        const char *message;
    } cases[] = {
        {SANDBOX_WALL_KILLED, V(TLE), "the time limit of the whole run was exceeded"},
        {SANDBOX_CRASHED, V(RE), "the sandbox was killed (resource limits)"},
        {SANDBOX_CANCELLED, V(CANCELLED), "cancelled"},
        {SANDBOX_DONE, V(IE), "not run"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        judge_t *jd = judge(*state);
        sandbox_record_t r = record(0, "OK", 0, "1\n", "");
        judge_record(jd, &r);
        judge_finish(jd, cases[c].end, false);
        assert_int_equal(jd->tests[0].verdict, V(AC));
        for (int i = 1; i < 4; i++) {
            assert_int_equal(jd->tests[i].verdict, cases[c].verdict);
            assert_string_equal(jd->tests[i].message, cases[c].message);
        }
    }
}

static void test_the_first_failing_test_decides_and_score_counts_weights(void **state)
{
    judge_t *jd = judge(*state);
    sandbox_record_t recs[] = {record(0, "OK", 0, "1\n", ""), record(1, "TC", -1, "", ""),
                               record(2, "OK", 0, "3\n", ""), record(3, "OK", 0, "x\n", "")};
    for (int i = 0; i < 4; i++)
        judge_record(jd, &recs[i]);
    judge_finish(jd, SANDBOX_DONE, false);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    assert_int_equal(res.verdict, V(TLE));
    assert_int_equal(res.passed, 2);
    assert_int_equal(res.total, 4);
    assert_int_equal(res.score, 3);
    assert_int_equal(res.max_score, 5);
    assert_int_equal(res.cpu_ms, 10 + 11 + 12 + 13);
    assert_int_equal(res.memory_kib, 1003);
    assert_int_equal(res.ntests, 4);
    assert_string_equal(res.message, "2/4 tests passed; hidden-1: time limit exceeded");
}

static void test_all_passed_is_accepted_with_full_score(void **state)
{
    judge_t *jd = judge(*state);
    all_pass(jd);
    judge_finish(jd, SANDBOX_DONE, false);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    assert_int_equal(res.verdict, V(AC));
    assert_int_equal(res.score, 5);
    assert_string_equal(res.message, "all 4 tests passed");
}

static void test_the_bundles_max_score_applies_to_a_submit_only(void **state)
{
    fixture_t *f = *state;
    f->bundle.max_score = 100;
    judge_t *jd = judge(f);
    all_pass(jd);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    assert_int_equal(res.max_score, 100);
    assert_int_equal(res.score, 5);
    arena_release(&f->arena);
    f->job.kind = KIND(RUN);
    f->job.sample_tests = true;
    jd = judge(f);
    all_pass(jd);
    judge_result(jd, SANDBOX_DONE, &res);
    assert_int_equal(res.max_score, 3);
}

static void test_a_compile_error_is_ce_without_test_results(void **state)
{
    judge_t *jd = judge(*state);
    judge_compile(jd, false, "main.c:1: error\xff", 16);
    judge_finish(jd, SANDBOX_COMPILE_ERROR, false);
    judge_result_t res;
    judge_result(jd, SANDBOX_COMPILE_ERROR, &res);
    assert_int_equal(res.verdict, V(CE));
    assert_int_equal(res.ntests, 0);
    assert_int_equal(res.total, 4);
    assert_string_equal(res.message, "compilation failed");
    assert_string_equal(jd->compile_output, "main.c:1: error\xef\xbf\xbd");
}

static void test_a_compile_error_without_output_says_so(void **state)
{
    judge_t *jd = judge(*state);
    judge_result_t res;
    judge_result(jd, SANDBOX_COMPILE_ERROR, &res);
    assert_string_equal(jd->compile_output, "compilation failed");
}

static void test_a_cancel_before_every_test_reported_is_cancelled(void **state)
{
    judge_t *jd = judge(*state);
    sandbox_outcome_t o = {.end = SANDBOX_DONE, .tests_reported = 2};
    assert_int_equal(judge_run_end(jd, &o, false), SANDBOX_DONE);
    assert_int_equal(judge_run_end(jd, &o, true), SANDBOX_CANCELLED);
    o.tests_reported = 4;
    assert_int_equal(judge_run_end(jd, &o, true), SANDBOX_DONE); /* too late: judged */
    o.end = SANDBOX_WALL_KILLED;
    o.tests_reported = 1;
    assert_int_equal(judge_run_end(jd, &o, true), SANDBOX_CANCELLED);
    judge_finish(jd, SANDBOX_CANCELLED, false);
    judge_result_t res;
    judge_result(jd, SANDBOX_CANCELLED, &res);
    assert_int_equal(res.verdict, V(CANCELLED));
    assert_string_equal(res.message, "cancelled");
}

/* ---- the custom checker ------------------------------------------------ */

static void test_clean_runs_wait_for_the_custom_checker_in_order(void **state)
{
    fixture_t *f = *state;
    f->checker.kind = DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM;
    Dojo__Content__V1__CustomChecker custom = DOJO__CONTENT__V1__CUSTOM_CHECKER__INIT;
    custom.language = "python3";
    custom.source = "import sys";
    f->checker.custom = &custom;
    judge_t *jd = judge(f);
    assert_string_equal(jd->checker.custom_source, "import sys");
    assert_true(jd->custom);
    sandbox_record_t recs[] = {record(0, "OK", 0, "anything", ""), record(1, "OK", 2, "", ""),
                               record(2, "OK", 0, "x", ""), record(3, "OK", 0, "", "")};
    for (int i = 0; i < 4; i++)
        judge_record(jd, &recs[i]);
    assert_true(jd->tests[0].deferred);
    assert_false(jd->tests[1].deferred);
    checker_case_t *cases;
    int n = judge_checker_cases(jd, &cases);
    assert_int_equal(n, 3);
    assert_memory_equal(cases[0].actual, "anything", 8);
    assert_string_equal(cases[1].input, "3\n");
    assert_string_equal(cases[1].expected, "3\n");
    cases[0].verdict = V(AC);
    cases[1].verdict = V(WA);
    snprintf(cases[1].message, sizeof cases[1].message, "off by one");
    cases[2].verdict = V(AC);
    judge_checked(jd, cases, n);
    judge_finish(jd, SANDBOX_DONE, true);
    assert_int_equal(jd->tests[0].verdict, V(AC));
    assert_int_equal(jd->tests[1].verdict, V(RE));
    assert_int_equal(jd->tests[2].verdict, V(WA));
    assert_string_equal(jd->tests[2].message, "off by one");
    assert_int_equal(jd->tests[3].verdict, V(AC));
}

static void test_deferred_tests_without_the_checker_get_the_run_end_verdict(void **state)
{
    fixture_t *f = *state;
    f->checker.kind = DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM;
    judge_t *jd = judge(f);
    all_pass(jd);
    judge_finish(jd, SANDBOX_CANCELLED, false);
    assert_int_equal(jd->tests[0].verdict, V(CANCELLED));
}

/* ---- a RUN on stdin ---------------------------------------------------- */

static void test_a_run_on_stdin_takes_its_records_verdict(void **state)
{
    fixture_t *f = *state;
    f->job.kind = KIND(RUN);
    judge_t *jd = judge(f);
    sandbox_record_t r = record(0, "SG", -1, "partial", "");
    r.term_signal = SIGSEGV;
    assert_null(judge_record(jd, &r));
    assert_true(jd->have_record);
    assert_null(jd->rec.out);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    assert_int_equal(res.verdict, V(RE));
    assert_int_equal(res.exit_code, -1);
    assert_int_equal(res.term_signal, SIGSEGV);
    assert_int_equal(res.cpu_ms, 10);
    assert_string_equal(res.message, "runtime error: killed by signal 11 (SIGSEGV)");
}

static void test_a_clean_run_on_stdin_says_how_long_it_took(void **state)
{
    fixture_t *f = *state;
    f->job.kind = KIND(RUN);
    judge_t *jd = judge(f);
    sandbox_record_t r = record(0, "OK", 0, "", "");
    judge_record(jd, &r);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    assert_int_equal(res.verdict, V(AC));
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(res.message, "exited with code 0 in 20 ms");
}

static void test_a_run_on_stdin_killed_by_the_wall_clock_is_tle_by_signal_9(void **state)
{
    fixture_t *f = *state;
    f->job.kind = KIND(RUN);
    judge_t *jd = judge(f);
    sandbox_outcome_t o = {.end = SANDBOX_WALL_KILLED};
    assert_int_equal(judge_run_end(jd, &o, false), SANDBOX_WALL_KILLED);
    judge_result_t res;
    judge_result(jd, SANDBOX_WALL_KILLED, &res);
    assert_int_equal(res.verdict, V(TLE));
    assert_int_equal(res.exit_code, -1);
    assert_int_equal(res.term_signal, 9);
    assert_string_equal(res.message, "time limit exceeded");
}

static void test_a_cancelled_run_on_stdin_without_a_record_is_cancelled(void **state)
{
    fixture_t *f = *state;
    f->job.kind = KIND(RUN);
    judge_t *jd = judge(f);
    sandbox_outcome_t o = {.end = SANDBOX_DONE};
    assert_int_equal(judge_run_end(jd, &o, true), SANDBOX_CANCELLED);
}

/* ---- messages ---------------------------------------------------------- */

static void test_the_record_request_carries_the_result(void **state)
{
    judge_t *jd = judge(*state);
    all_pass(jd);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    Dojo__Gamification__V1__RecordResultRequest req;
    judge_record_request(jd, &res, "sub-1", "ex-1", 1000, 2000, 77, &req);
    assert_string_equal(req.submission_id, "sub-1");
    assert_string_equal(req.executor_id, "ex-1");
    assert_int_equal(req.verdict, V(AC));
    assert_int_equal(req.score, 5);
    assert_int_equal(req.n_tests, 4);
    assert_string_equal(req.tests[1]->name, "hidden-1");
    assert_string_equal(req.compile_output, "");
    assert_int_equal(req.wall_ms, 77);
    assert_int_equal(req.started_at->unix_micros, 1000);
    assert_int_equal(req.finished_at->unix_micros, 2000);
}

static void test_the_final_result_says_whether_it_was_recorded(void **state)
{
    judge_t *jd = judge(*state);
    all_pass(jd);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    Dojo__Executor__V1__FinalResult fr;
    judge_final_result(&res, 50, NULL, &fr);
    assert_false(fr.recorded);
    assert_null(fr.awards);
    assert_int_equal(fr.tests_passed, 4);
    assert_int_equal(fr.wall_ms, 50);
    assert_string_equal(fr.message, "all 4 tests passed");
    Dojo__Gamification__V1__Awards aw = DOJO__GAMIFICATION__V1__AWARDS__INIT;
    Dojo__Gamification__V1__RecordResultResponse rr =
        DOJO__GAMIFICATION__V1__RECORD_RESULT_RESPONSE__INIT;
    rr.awards = &aw;
    judge_final_result(&res, 50, &rr, &fr);
    assert_true(fr.recorded);
    assert_ptr_equal(fr.awards, &aw);
}

static void test_a_stored_result_counts_passed_tests_and_says_already_judged(void **state)
{
    Dojo__Gamification__V1__TestResult a = DOJO__GAMIFICATION__V1__TEST_RESULT__INIT,
                                       b = DOJO__GAMIFICATION__V1__TEST_RESULT__INIT;
    a.verdict = V(AC);
    b.verdict = V(WA);
    Dojo__Gamification__V1__TestResult *tests[] = {&a, &b};
    Dojo__Gamification__V1__Submission s = DOJO__GAMIFICATION__V1__SUBMISSION__INIT;
    s.verdict = V(WA);
    s.n_tests = 2;
    s.tests = tests;
    s.score = 1;
    Dojo__Executor__V1__FinalResult fr;
    char msg[EXEC_MESSAGE_MAX + 1];
    judge_stored_result(&s, &fr, msg, sizeof msg);
    assert_int_equal(fr.tests_passed, 1);
    assert_int_equal(fr.tests_total, 2);
    assert_true(fr.recorded);
    assert_string_equal(fr.message, "1/2 tests passed; wrong answer (already judged)");
    s.n_tests = 0;
    judge_stored_result(&s, &fr, msg, sizeof msg);
    assert_string_equal(fr.message, "wrong answer (already judged)");
}

/* ---- stopping at the first failure ------------------------------------ */

static void test_a_task_that_stops_at_the_first_failure_reports_the_rest_not_run(void **state)
{
    fixture_t *f = *state;
    f->bundle.stop_at_first_failure = true;
    judge_t *jd = judge(f);
    sandbox_record_t pass = record(0, "OK", 0, "1\n", "");
    judge_record(jd, &pass);
    assert_false(judge_stopped(jd));
    sandbox_record_t wrong = record(1, "OK", 0, "nope\n", "");
    judge_record(jd, &wrong);
    assert_true(judge_stopped(jd));
    /* The orchestrator halts the sandbox: tests 2 and 3 never report. */
    judge_finish(jd, SANDBOX_DONE, false);
    assert_int_equal(jd->tests[2].verdict, V(NOT_RUN));
    assert_int_equal(jd->tests[3].verdict, V(NOT_RUN));
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    assert_int_equal(res.verdict, V(WA));
    assert_int_equal(res.passed, 1);
    assert_int_equal(res.total, 4);
    assert_int_equal(res.score, 1);
    assert_int_equal(res.max_score, 5);
    assert_string_equal(res.message, "1/4 tests passed; hidden-1: wrong answer; 2 not run");
    /* What the learner sees of a test that did not run: that, and nothing else. */
    const Dojo__Gamification__V1__TestResult *b = res.tests[2];
    assert_int_equal(b->verdict, V(NOT_RUN));
    assert_string_equal(b->name, "b");
    assert_string_equal(b->message, "not run: an earlier test failed");
    assert_string_equal(b->output_excerpt, "");
    assert_int_equal(b->cpu_ms, 0);
    assert_string_equal(res.tests[3]->name, "hidden-2");
    assert_string_equal(res.tests[3]->message, "not run");
}

static void test_a_failure_of_the_run_itself_stops_it_too(void **state)
{
    fixture_t *f = *state;
    f->bundle.stop_at_first_failure = true;
    judge_t *jd = judge(f);
    sandbox_record_t tle = record(0, "TC", -1, "", "");
    judge_record(jd, &tle);
    assert_true(judge_stopped(jd));
    judge_finish(jd, SANDBOX_DONE, false);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    assert_int_equal(res.verdict, V(TLE));
    assert_string_equal(res.message, "0/4 tests passed; a: time limit exceeded; 3 not run");
}

static void test_a_contest_job_stops_at_the_first_failure_whatever_the_task_says(void **state)
{
    fixture_t *f = *state;
    f->bundle.stop_at_first_failure = false;
    f->job.stop_at_first_failure = true; /* an ICPC contest's submission */
    judge_t *jd = judge(f);
    sandbox_record_t wrong = record(0, "OK", 0, "nope\n", "");
    judge_record(jd, &wrong);
    assert_true(judge_stopped(jd));
    judge_finish(jd, SANDBOX_DONE, false);
    for (int i = 1; i < 4; i++)
        assert_int_equal(jd->tests[i].verdict, V(NOT_RUN));
}

static void test_a_run_with_the_jobs_setting_still_shows_every_sample(void **state)
{
    fixture_t *f = *state;
    f->job.stop_at_first_failure = true;
    f->job.kind = KIND(RUN);
    f->job.sample_tests = true;
    judge_t *jd = judge(f);
    sandbox_record_t wrong = record(0, "OK", 0, "nope\n", "");
    judge_record(jd, &wrong);
    assert_false(judge_stopped(jd));
}

static void test_without_the_setting_every_test_runs_after_a_failure(void **state)
{
    judge_t *jd = judge(*state);
    sandbox_record_t wrong = record(0, "OK", 0, "nope\n", "");
    judge_record(jd, &wrong);
    assert_false(judge_stopped(jd));
    for (int i = 1; i < 4; i++) {
        sandbox_record_t r = record(i, "OK", 0, jd->tests[i].tc->expected, "");
        judge_record(jd, &r);
    }
    judge_finish(jd, SANDBOX_DONE, false);
    judge_result_t res;
    judge_result(jd, SANDBOX_DONE, &res);
    for (int i = 0; i < 4; i++)
        assert_int_not_equal(jd->tests[i].verdict, V(NOT_RUN));
    assert_int_equal(res.passed, 3);
}

static void test_runs_on_sample_tests_never_stop_early(void **state)
{
    fixture_t *f = *state;
    f->bundle.stop_at_first_failure = true;
    f->job.kind = KIND(RUN);
    f->job.sample_tests = true;
    judge_t *jd = judge(f);
    sandbox_record_t wrong = record(0, "OK", 0, "nope\n", "");
    judge_record(jd, &wrong);
    assert_false(judge_stopped(jd));
}

static void test_a_custom_checkers_wrong_answer_does_not_stop_the_run(void **state)
{
    fixture_t *f = *state;
    f->bundle.stop_at_first_failure = true;
    f->checker.kind = DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM;
    judge_t *jd = judge(f);
    sandbox_record_t clean = record(0, "OK", 0, "anything\n", "");
    judge_record(jd, &clean);
    assert_false(judge_stopped(jd)); /* deferred: only the checker knows */
    sandbox_record_t crash = record(1, "RE", 1, "", "boom\n");
    judge_record(jd, &crash);
    assert_true(judge_stopped(jd));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_submit_runs_every_test_in_bundle_order),
        T(test_a_run_on_sample_tests_runs_only_the_visible_ones),
        T(test_a_run_on_stdin_has_no_tests),
        T(test_limits_come_from_the_language_then_the_bundle_then_defaults),
        T(test_a_runs_own_limits_are_clamped_and_wall_is_never_below_cpu),
        T(test_the_task_language_is_found_by_id),
        T(test_expected_output_is_accepted_and_other_output_is_wrong),
        T(test_a_record_for_no_test_is_ignored),
        T(test_a_test_with_its_own_flags_is_compared_with_them),
        T(test_a_visible_runtime_error_ends_with_the_last_stderr_line),
        T(test_a_hidden_test_never_quotes_output),
        T(test_a_visible_test_result_names_the_test_and_quotes_its_output),
        T(test_tests_that_never_reported_get_the_verdict_of_the_run_end),
        T(test_the_first_failing_test_decides_and_score_counts_weights),
        T(test_all_passed_is_accepted_with_full_score),
        T(test_the_bundles_max_score_applies_to_a_submit_only),
        T(test_a_compile_error_is_ce_without_test_results),
        T(test_a_compile_error_without_output_says_so),
        T(test_a_cancel_before_every_test_reported_is_cancelled),
        T(test_clean_runs_wait_for_the_custom_checker_in_order),
        T(test_deferred_tests_without_the_checker_get_the_run_end_verdict),
        T(test_a_run_on_stdin_takes_its_records_verdict),
        T(test_a_clean_run_on_stdin_says_how_long_it_took),
        T(test_a_run_on_stdin_killed_by_the_wall_clock_is_tle_by_signal_9),
        T(test_a_cancelled_run_on_stdin_without_a_record_is_cancelled),
        T(test_the_record_request_carries_the_result),
        T(test_the_final_result_says_whether_it_was_recorded),
        T(test_a_stored_result_counts_passed_tests_and_says_already_judged),
        T(test_a_task_that_stops_at_the_first_failure_reports_the_rest_not_run),
        T(test_a_failure_of_the_run_itself_stops_it_too),
        T(test_a_contest_job_stops_at_the_first_failure_whatever_the_task_says),
    T(test_a_run_with_the_jobs_setting_still_shows_every_sample),
    T(test_without_the_setting_every_test_runs_after_a_failure),
        T(test_runs_on_sample_tests_never_stop_early),
        T(test_a_custom_checkers_wrong_answer_does_not_stop_the_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
