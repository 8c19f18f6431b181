/* test_checker — the built-in checkers, the verdict of a driver record,
 * UTF-8 cleaning, and how a custom checker's exit status becomes a verdict
 * (sandbox_run is a stand-in here that plays the checker program). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/executor/executor.h"

#define V(x) DOJO__COMMON__V1__VERDICT__VERDICT_##x
#define K(x) DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_##x

static exec_checker_t checker(Dojo__Content__V1__CheckerKind kind, double abs_tol, double rel_tol)
{
    Dojo__Content__V1__Checker c = DOJO__CONTENT__V1__CHECKER__INIT;
    c.kind = kind;
    c.abs_tol = abs_tol;
    c.rel_tol = rel_tol;
    exec_checker_t out;
    exec_checker_from_bundle(&c, &out);
    return out;
}

static bool same(exec_checker_t ck, const char *exp, const char *act, char *msg)
{
    return checker_compare(&ck, exp, strlen(exp), act, strlen(act), msg, 256);
}

/* ---- built-in checkers ------------------------------------------------- */

static void test_the_default_validator_ignores_case_and_spacing_by_default(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(DEFAULT_VALIDATOR), 0, 0);
    /* the program: C prints "nan", the package expects "NaN" */
    assert_true(same(ck, "NaN\n", "nan\n", msg));
    assert_true(same(ck, "Yes 3\n", "YES   3", msg));
    assert_false(same(ck, "1.0\n", "1\n", msg)); /* no tolerance: numbers are text */
    assert_string_equal(msg, "token 1: expected \"1.0\", got \"1\"");
    assert_false(same(ck, "a b\n", "a\n", msg));
    assert_string_equal(msg, "token 2: expected \"b\", got end of output");
    ck.case_sensitive = true;
    assert_false(same(ck, "NaN\n", "nan\n", msg));
    assert_true(same(ck, "NaN\n", "NaN \n\n", msg));
}

static void test_the_default_validator_space_change_sensitive_compares_whitespace(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(DEFAULT_VALIDATOR), 0, 0);
    ck.space_change_sensitive = true;
    assert_true(same(ck, "a b\nc\n", "A b\nc\n", msg));
    assert_false(same(ck, "a b\n", "a  b\n", msg));
    assert_string_equal(msg, "before token 2: the whitespace differs");
    assert_false(same(ck, "a b\n", "a b", msg));
    assert_string_equal(msg, "after token 2: the whitespace differs");
}

static void test_the_default_validator_with_a_tolerance_reads_nan_and_inf_as_floats(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(DEFAULT_VALIDATOR), 1e-6, 1e-6);
    assert_true(same(ck, "NaN inf -Infinity 2.5\n", "nan INF -inf 2.5000001\n", msg));
    assert_false(same(ck, "inf\n", "-inf\n", msg));
    assert_false(same(ck, "nan\n", "0\n", msg));
    assert_false(same(ck, "1\n", "nan\n", msg));
    assert_false(same(ck, "1\n", "one\n", msg));
    assert_string_equal(msg, "token 1: expected \"1\", got \"one\"");
    assert_true(same(ck, "1000000\n", "1000000.5\n", msg)); /* relative */
    assert_true(same(ck, "Case #1: yes\n", "case #1: YES\n", msg)); /* words stay text */
}

/* A test's own flags (a package's test group): the default validator reads
 * them instead of the task checker's settings. */
static void test_a_tests_own_flags_replace_the_default_validators_settings(void **state)
{
    char msg[256];
    exec_checker_t task = checker(K(DEFAULT_VALIDATOR), 0, 0);
    task.case_sensitive = true;
    char *loose[] = {"float_tolerance", "1e-3"};
    Dojo__Content__V1__ValidatorFlags f = DOJO__CONTENT__V1__VALIDATOR_FLAGS__INIT;
    f.flags = loose;
    f.n_flags = 2;
    exec_checker_t ck;
    assert_true(exec_checker_with_flags(&task, &f, &ck));
    assert_true(same(ck, "0.5\n", "0.5004\n", msg));
    assert_false(same(ck, "0.5\n", "0.502\n", msg));
    assert_true(same(ck, "YES\n", "yes\n", msg)); /* not the task's case_sensitive */
    assert_false(same(task, "0.5\n", "0.5004\n", msg));
    char *words[] = {"case_sensitive", "space_change_sensitive", "float_absolute_tolerance", "0.5",
                     "float_relative_tolerance", "0"};
    f.flags = words;
    f.n_flags = 6;
    assert_true(exec_checker_with_flags(&task, &f, &ck));
    assert_true(ck.case_sensitive && ck.space_change_sensitive);
    assert_true(ck.abs_tol == 0.5 && ck.rel_tol == 0);
    /* No flags at all: case-insensitive, numbers as text. */
    f.n_flags = 0;
    assert_true(exec_checker_with_flags(&task, &f, &ck));
    assert_true(same(ck, "YES\n", "yes\n", msg));
    assert_false(same(ck, "1.0\n", "1\n", msg));
    /* NULL: the task's; another kind: unchanged. */
    assert_true(exec_checker_with_flags(&task, NULL, &ck));
    assert_true(ck.case_sensitive);
    exec_checker_t exact = checker(K(EXACT), 0, 0);
    f.flags = loose;
    f.n_flags = 2;
    assert_true(exec_checker_with_flags(&exact, &f, &ck));
    assert_int_equal(ck.kind, K(EXACT));
    /* Not the default validator's words: refused, the task's kept. */
    char *bad[] = {"float_tolerance", "x"};
    f.flags = bad;
    assert_false(exec_checker_with_flags(&task, &f, &ck));
    assert_true(ck.case_sensitive && ck.abs_tol == 0);
    char *unknown[] = {"ignore_case"};
    f.flags = unknown;
    f.n_flags = 1;
    assert_false(exec_checker_with_flags(&task, &f, &ck));
}

static void test_exact_accepts_identical_bytes_only(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(EXACT), 0, 0);
    assert_true(same(ck, "3\n", "3\n", msg));
    assert_false(same(ck, "3\n", "3", msg));
    assert_false(same(ck, "3\n", "3 \n", msg));
    assert_false(same(ck, "1\n2\n", "1\n3\n", msg));
    assert_non_null(strstr(msg, "line 2"));
}

static void test_unspecified_kind_means_ignore_trailing_whitespace(void **state)
{
    exec_checker_t ck = checker(K(UNSPECIFIED), 0, 0);
    assert_int_equal(ck.kind, K(IGNORE_TRAILING_WS));
}

static void test_trailing_whitespace_and_blank_lines_are_ignored(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(IGNORE_TRAILING_WS), 0, 0);
    assert_true(same(ck, "1 2\n3\n", "1 2   \n3\t\n\n\n", msg));
    assert_true(same(ck, "1 2\n3\n", "1 2\r\n3", msg));
    assert_true(same(ck, "", "\n \n", msg));
    assert_true(same(ck, "a\n\nb\n", "a\n\nb", msg));
}

static void test_leading_and_inner_whitespace_still_matter(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(IGNORE_TRAILING_WS), 0, 0);
    assert_false(same(ck, "1 2\n", " 1 2\n", msg));
    assert_false(same(ck, "1 2\n", "1  2\n", msg));
    assert_false(same(ck, "a\n\nb\n", "a\nb\n", msg));
}

static void test_wrong_line_message_quotes_both_lines(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(IGNORE_TRAILING_WS), 0, 0);
    assert_false(same(ck, "1\n3\n", "1\n4\n", msg));
    assert_string_equal(msg, "line 2: expected \"3\", got \"4\"");
    assert_false(same(ck, "1\n3\n", "1\n", msg));
    assert_string_equal(msg, "line 2: expected \"3\", got end of output");
    assert_false(same(ck, "1\n", "1\n2\n", msg));
    assert_string_equal(msg, "line 2: expected end of output, got \"2\"");
}

static void test_tokens_ignore_all_whitespace_layout(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(TOKENS), 0, 0);
    assert_true(same(ck, "1 2 3\n", "1\n2\t\t3", msg));
    assert_true(same(ck, "", "  \n", msg));
    assert_false(same(ck, "1 2 3\n", "1 2\n", msg));
    assert_string_equal(msg, "token 3: expected \"3\", got end of output");
    assert_false(same(ck, "1.0\n", "1\n", msg));
}

static void test_float_accepts_within_absolute_tolerance(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(FLOAT), 1e-3, 0);
    assert_true(same(ck, "0.5000\n", "0.5004\n", msg));
    assert_false(same(ck, "0.5000\n", "0.5020\n", msg));
    assert_non_null(strstr(msg, "token 1"));
}

static void test_float_accepts_within_relative_tolerance(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(FLOAT), 0, 1e-6);
    assert_true(same(ck, "1000000000\n", "1000000100\n", msg));
    assert_false(same(ck, "1000000000\n", "1000010000\n", msg));
}

static void test_float_default_tolerance_is_one_in_a_million(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(FLOAT), 0, 0);
    assert_true(ck.abs_tol == 1e-6 && ck.rel_tol == 1e-6);
    assert_true(same(ck, "3.14159265\n", "3.1415930\n", msg));
    assert_false(same(ck, "3.14159265\n", "3.1416\n", msg));
}

static void test_float_compares_words_exactly_and_numbers_as_numbers(void **state)
{
    char msg[256];
    exec_checker_t ck = checker(K(FLOAT), 1e-6, 0);
    assert_true(same(ck, "YES 1.5e2\n", "YES 150.0000001\n", msg));
    assert_false(same(ck, "YES 1\n", "yes 1\n", msg));
    assert_false(same(ck, "1\n", "nan\n", msg));
    assert_false(same(ck, "1\n", "0x1\n", msg));
    assert_false(same(ck, "1 2\n", "1\n", msg));
}

/* ---- verdicts of driver records ---------------------------------------- */

static const sandbox_limits_t LIM = {.cpu_ms = 1000, .wall_ms = 3000, .memory_kib = 65536,
                                     .output_kib = 64};

static exec_verdict_t verdict_of(const char *status, int code, int sig, long rss, const char *err,
                                 char *msg)
{
    sandbox_record_t r = {0};
    snprintf(r.status, sizeof r.status, "%s", status);
    r.exit_code = code;
    r.term_signal = sig;
    r.rss_kib = rss;
    r.err = err;
    r.err_len = err ? strlen(err) : 0;
    r.out = "";
    return exec_verdict_of_record(&r, &LIM, msg, 256);
}

static void test_clean_exit_means_compare_the_output(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("OK", 0, 0, 1000, "", msg), V(AC));
}

static void test_cpu_and_wall_limits_are_tle(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("TC", -1, 9, 1000, "", msg), V(TLE));
    assert_non_null(strstr(msg, "CPU"));
    assert_int_equal(verdict_of("TW", -1, 9, 1000, "", msg), V(TLE));
    assert_non_null(strstr(msg, "wall"));
}

static void test_the_wall_clock_safety_net_says_so(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("TS", -1, 9, 1000, "", msg), V(TLE));
    assert_non_null(strstr(msg, "safety net"));
}

static void test_the_process_limit_is_re_and_says_so(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("PL", -1, SIGKILL, 1000, "", msg), V(RE));
    assert_non_null(strstr(msg, "processes"));
}

static void test_output_limit_is_ole(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("OL", -1, 9, 1000, "", msg), V(OLE));
}

static void test_the_driver_stopping_a_test_at_its_memory_limit_is_mle(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("ML", -1, SIGKILL, 70000, "", msg), V(MLE));
    assert_non_null(strstr(msg, "65536 KiB"));
}

static void test_a_peak_over_the_limit_is_mle_however_the_program_ended(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("OK", 0, 0, 65537, "", msg), V(MLE));
    assert_int_equal(verdict_of("SG", -1, SIGKILL, 90000, "", msg), V(MLE));
    assert_int_equal(verdict_of("OK", 0, 0, 65536, "", msg), V(AC));
}

static void test_a_signal_below_the_memory_limit_is_re_with_the_signal(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("SG", -1, SIGKILL, 65000, "", msg), V(RE));
    assert_string_equal(msg, "killed by signal 9 (SIGKILL)");
    assert_int_equal(verdict_of("SG", -1, SIGSEGV, 64000, "", msg), V(RE));
    assert_string_equal(msg, "killed by signal 11 (SIGSEGV)");
}

static void test_python_memory_error_is_mle(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("OK", 1, 0, 30000, "Traceback ...\nMemoryError\n", msg), V(MLE));
    assert_int_equal(verdict_of("OK", 1, 0, 30000, "Traceback\nValueError: x\n", msg), V(RE));
}

static void test_the_other_runtimes_out_of_memory_at_their_heap_limit_is_mle(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("OK", 1, 0, 60000,
                                "Exception in thread \"main\" java.lang.OutOfMemoryError: Java "
                                "heap space\n\tat Main.main(Main.java:5)\n",
                                msg),
                     V(MLE));
    assert_string_equal(msg, "memory limit exceeded (65536 KiB)");
    assert_int_equal(verdict_of("SG", -1, SIGABRT, 60000,
                                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript "
                                "heap out of memory\n",
                                msg),
                     V(MLE));
    assert_int_equal(verdict_of("OK", 2, 0, 60000, "fatal error: runtime: out of memory\n", msg),
                     V(MLE));
    assert_int_equal(verdict_of("SG", -1, SIGABRT, 60000,
                                "memory allocation of 400000000 bytes failed\n", msg),
                     V(MLE));
    assert_int_equal(verdict_of("SG", -1, SIGABRT, 60000,
                                "terminate called after throwing an instance of "
                                "'std::bad_alloc'\n  what():  std::bad_alloc\n",
                                msg),
                     V(MLE));
    assert_int_equal(verdict_of("OK", 1, 0, 60000,
                                "Exception in thread \"main\" java.lang.ArithmeticException\n",
                                msg),
                     V(RE));
    /* Threads the process limit refused are not memory. */
    assert_int_equal(verdict_of("OK", 1, 0, 60000,
                                "Exception in thread \"main\" java.lang.OutOfMemoryError: unable "
                                "to create native thread: possibly out of memory or process/"
                                "resource limits reached\n",
                                msg),
                     V(RE));
}

static void test_nonzero_exit_is_re_with_the_code(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("OK", 3, 0, 1000, "", msg), V(RE));
    assert_string_equal(msg, "exit code 3");
}

static void test_a_program_that_could_not_start_is_ie(void **state)
{
    char msg[256];
    assert_int_equal(verdict_of("XX", -1, 0, 0, "", msg), V(IE));
}

/* ---- UTF-8 ------------------------------------------------------------- */

static void test_invalid_utf8_becomes_replacement_characters(void **state)
{
    char *s = exec_utf8_clean("a\xff" "b", 3, 100);
    assert_string_equal(s, "a\xef\xbf\xbd" "b");
    free(s);
}

static void test_excerpts_are_cut_at_a_character_boundary(void **state)
{
    /* "é" is two bytes: a 3-byte cap keeps "aé" only if it fits. */
    char *s = exec_utf8_clean("a\xc3\xa9\xc3\xa9", 5, 4);
    assert_string_equal(s, "a\xc3\xa9");
    free(s);
}

/* ---- custom checkers (sandbox_run played by this file) ----------------- */

/* The stand-in "checker": reads the bundle of each input and exits with the
 * status named by the actual output ("42", "0", "43", "1", "7" …), printing
 * "note: <expected>" as its message. */
static int fake_exit_for(const char *in, size_t len, char *expected, size_t cap)
{
    size_t l[4];
    assert_int_equal(sscanf(in, "DOJOCHK1 %zu %zu %zu %zu", &l[0], &l[1], &l[2], &l[3]), 4);
    const char *p = memchr(in, '\n', len) + 1;
    assert_int_equal((size_t)(p - in) + l[0] + l[1] + l[2] + l[3], len);
    p += l[0] + l[1];
    snprintf(expected, cap, "%.*s", (int)l[2], p);
    p += l[2];
    return atoi(p);
}

/* A package validator's run (judge_files): the actual output names the exit
 * status ("42", "43 team" …); the judge message quotes the answer file, and
 * "team" in the output adds a team message. The job must carry each test's
 * input and answer as in/<i>.in and in/<i>.ans, and the validator's other
 * files under code/. */
static int validator_runs;
static const sandbox_job_t *last_validator_job;
/* The run command's flags (after the three fixed arguments) of each run. */
static char run_flags[8][128];

static const sandbox_file_t *job_file(const sandbox_job_t *job, const char *name)
{
    for (int i = 0; i < job->nfiles; i++)
        if (!strcmp(job->files[i].name, name))
            return &job->files[i];
    return NULL;
}

static void play_validator(const sandbox_job_t *job)
{
    char *const *argv = job->lang->run_argv;
    int a = 0;
    while (argv[a] && strcmp(argv[a], VALIDATOR_FEEDBACK))
        a++;
    char *fl = run_flags[validator_runs % 8];
    fl[0] = '\0';
    for (int k = a + 1; argv[a] && argv[k]; k++)
        snprintf(fl + strlen(fl), 128 - strlen(fl), "%s%s", fl[0] ? " " : "", argv[k]);
    validator_runs++;
    last_validator_job = job;
    assert_non_null(job->build);
    for (int i = 0; i < job->ntests; i++) {
        char name[32], msg[128];
        snprintf(name, sizeof name, "in/%d.in", i);
        assert_non_null(job_file(job, name));
        snprintf(name, sizeof name, "in/%d.ans", i);
        const sandbox_file_t *ans = job_file(job, name);
        assert_non_null(ans);
        int n = snprintf(msg, sizeof msg, "answer was %.*s\nsecond line\n", (int)ans->len, ans->data);
        job->on_feedback(job->payload, i, 'j', msg, (size_t)n);
        if (memmem(job->inputs[i], job->input_lens[i], "team", 4))
            job->on_feedback(job->payload, i, 't', "try smaller numbers", 19);
        sandbox_record_t r = {.index = i, .exit_code = atoi(job->inputs[i]), .err = "boom",
                              .err_len = 4};
        snprintf(r.status, sizeof r.status, "%s",
                 memmem(job->inputs[i], job->input_lens[i], "slow", 4) ? "TC" : "OK");
        job->on_record(job->payload, &r);
    }
}

/* The stand-in compiler: counts its runs; "#error" does not compile. */
static int compiles;
static struct build_files {
    int unused;
} fake_build;

int sandbox_compile(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_build_t **out,
                    sandbox_outcome_t *o, err_t **err)
{
    compiles++;
    memset(o, 0, sizeof *o);
    *out = NULL;
    assert_non_null(job_file(job, "code/testlib.h"));
    if (strstr(job->code, "#error")) {
        job->on_compile(job->payload, false, "v.cpp:1: error", 14);
        o->end = SANDBOX_COMPILE_ERROR;
        return 1;
    }
    *out = &fake_build;
    return 0;
}

void sandbox_build_free(sandbox_build_t *b) {}

int sandbox_run(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_outcome_t *out,
                err_t **err)
{
    if (job->judge_files) {
        play_validator(job);
        out->end = SANDBOX_DONE;
        out->tests_reported = job->ntests;
        return 0;
    }
    for (int i = 0; i < job->ntests; i++) {
        char expected[64], note[128];
        int code = fake_exit_for(job->inputs[i], job->input_lens[i], expected, sizeof expected);
        snprintf(note, sizeof note, "note: %s\nsecond line", expected);
        /* stderr as the record stream hands it over: err_len bytes, then
         * whatever the stream holds next (here not even a NUL). */
        static const char stream[] = "Traceback (most recent call last)\nT 1 OK 0";
        sandbox_record_t r = {.index = i, .exit_code = code, .out = note, .out_len = strlen(note),
                              .err = stream, .err_len = code == 0 ? 0 : 34};
        snprintf(r.status, sizeof r.status, "OK");
        job->on_record(job->payload, &r);
    }
    out->end = SANDBOX_DONE;
    out->tests_reported = job->ntests;
    return 0;
}

static void test_custom_checker_exit_status_becomes_the_verdict(void **state)
{
    sandbox_lang_t py = {.id = "python3"};
    const char *acts[] = {"0", "42", "1", "43", "2", "7"};
    exec_verdict_t want[] = {V(AC), V(AC), V(WA), V(WA), V(IE), V(IE)};
    checker_case_t cases[6];
    memset(cases, 0, sizeof cases);
    for (int i = 0; i < 6; i++) {
        cases[i].input = "in";
        cases[i].input_len = 2;
        cases[i].expected = "exp";
        cases[i].expected_len = 3;
        cases[i].actual = acts[i];
        cases[i].actual_len = strlen(acts[i]);
    }
    sandbox_config_t cfg = {0};
    atomic_bool cancel = false;
    err_t *err = NULL;
    assert_int_equal(checker_run_custom(&cfg, SANDBOX_CRUN, 0, &py, "print(1)", cases, 6,
                                        &cancel, &err),
                     0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(cases[i].verdict, want[i]);
    /* The first line of the checker's stdout is the message. */
    assert_string_equal(cases[0].message, "note: exp");
    assert_string_equal(cases[4].message, "the checker failed");
}

static void test_a_failed_checker_logs_its_stderr_and_nothing_after_it(void **state)
{
    sandbox_lang_t py = {.id = "python3"};
    checker_case_t c = {.input = "", .expected = "", .actual = "2", .actual_len = 1};
    sandbox_config_t cfg = {0};
    err_t *err = NULL;
    /* The warning goes to stderr: catch it in a file. */
    FILE *log = tmpfile();
    assert_non_null(log);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(log), STDERR_FILENO);
    int rc = checker_run_custom(&cfg, SANDBOX_CRUN, 0, &py, "x", &c, 1, NULL, &err);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    assert_int_equal(c.verdict, V(IE));
    char text[4096] = "";
    rewind(log);
    size_t n = fread(text, 1, sizeof text - 1, log);
    text[n] = '\0';
    fclose(log);
    assert_non_null(strstr(text, "stderr=\"Traceback (most recent call last) \""));
    assert_null(strstr(text, "T 1 OK"));
}

static void test_custom_checker_in_an_unsupported_language_is_ie(void **state)
{
    sandbox_lang_t other = {.id = "brainfuck"};
    checker_case_t c = {.input = "", .expected = "", .actual = "0"};
    c.actual_len = 1;
    sandbox_config_t cfg = {0};
    err_t *err = NULL;
    assert_int_equal(checker_run_custom(&cfg, SANDBOX_CRUN, 0, &other, "x", &c, 1, NULL, &err), 0);
    assert_int_equal(c.verdict, V(IE));
}

/* ---- package validators ------------------------------------------------ */

static sandbox_lang_t lang_of(const char *id, const char *source, const char *const *compile,
                              const char *const *run)
{
    sandbox_lang_t l;
    memset(&l, 0, sizeof l);
    snprintf(l.id, sizeof l.id, "%s", id);
    snprintf(l.source_name, sizeof l.source_name, "%s", source);
    for (int i = 0; compile && compile[i]; i++)
        l.compile_argv[i] = (char *)compile[i];
    for (int i = 0; run[i]; i++)
        l.run_argv[i] = (char *)run[i];
    l.zygote_argv[0] = "/usr/bin/python3";
    return l;
}

static const char *const cpp_compile[] = {"/usr/bin/g++", "-O2", "-o", "/judge/build/main",
                                          "/judge/code/main.cpp", NULL};
static const char *const cpp_run[] = {"/judge/build/main", NULL};

/* A validator of `n` files named by `names` (contents "int main"), flags. */
typedef struct fake_validator {
    Dojo__Content__V1__PackageValidator v;
    Dojo__Content__V1__ValidatorFile files[4];
    Dojo__Content__V1__ValidatorFile *fp[4];
} fake_validator_t;

static void fake_validator(fake_validator_t *f, const char *const *names, const char *entry_code,
                           char **flags, size_t nflags)
{
    memset(f, 0, sizeof *f);
    Dojo__Content__V1__PackageValidator init = DOJO__CONTENT__V1__PACKAGE_VALIDATOR__INIT;
    f->v = init;
    for (int i = 0; names[i] && i < 4; i++) {
        Dojo__Content__V1__ValidatorFile fi = DOJO__CONTENT__V1__VALIDATOR_FILE__INIT;
        f->files[i] = fi;
        f->files[i].name = (char *)names[i];
        f->files[i].content = (char *)(i == 0 ? entry_code : "// more");
        f->fp[i] = &f->files[i];
        f->v.n_files++;
    }
    f->v.files = f->fp;
    f->v.flags = flags;
    f->v.n_flags = nflags;
    f->v.language = "cpp";
}

static void assert_argv(char *const *argv, const char *const *want)
{
    int i = 0;
    for (; want[i]; i++) {
        assert_non_null(argv[i]);
        assert_string_equal(argv[i], want[i]);
    }
    assert_null(argv[i]);
}

static void test_a_cpp_validator_compiles_every_source_and_gets_the_paths_and_flags(void **state)
{
    sandbox_lang_t cpp = lang_of("cpp", "main.cpp", cpp_compile, cpp_run);
    static const char *const names[] = {"validate.cpp", "testlib.h", "util.cc", NULL};
    char *flags[] = {"float_tolerance", "1e-6"};
    fake_validator_t f;
    fake_validator(&f, names, "int main", flags, 2);
    validator_prog_t p;
    char why[128];
    assert_int_equal(validator_prog_init(&p, &cpp, &f.v, VALIDATOR_OUTPUT, why, sizeof why), 0);
    static const char *const want_compile[] = {"/usr/bin/g++", "-O2", "-o", "/judge/build/main",
                                               "/judge/code/validate.cpp", "/judge/code/util.cc",
                                               NULL};
    assert_argv(p.lang.compile_argv, want_compile);
    static const char *const want_run[] = {"/judge/build/main", "/tmp/judge/input",
                                           "/tmp/judge/answer", "/tmp/judge/feedback/",
                                           "float_tolerance", "1e-6", NULL};
    assert_argv(p.lang.run_argv, want_run);
    assert_string_equal(p.lang.source_name, "validate.cpp");
    assert_null(p.lang.zygote_argv[0]); /* its own command, not the learner's zygote */
    validator_prog_free(&p);
}

static void test_java_and_python_validators_run_their_entry(void **state)
{
    static const char *const javac[] = {"/usr/bin/javac", "-d", "/judge/build",
                                        "/judge/code/Main.java", NULL};
    static const char *const java[] = {"/usr/bin/java", "-Xmx{memory_mib}m", "-cp", "/judge/build",
                                       "Main", NULL};
    sandbox_lang_t jl = lang_of("java", "Main.java", javac, java);
    static const char *const jnames[] = {"Validator.java", "Reader.java", NULL};
    fake_validator_t f;
    fake_validator(&f, jnames, "class Validator {}", NULL, 0);
    validator_prog_t p;
    char why[128];
    assert_int_equal(validator_prog_init(&p, &jl, &f.v, VALIDATOR_OUTPUT, why, sizeof why), 0);
    static const char *const want_javac[] = {"/usr/bin/javac", "-d", "/judge/build",
                                             "/judge/code/Validator.java",
                                             "/judge/code/Reader.java", NULL};
    assert_argv(p.lang.compile_argv, want_javac);
    static const char *const want_java[] = {"/usr/bin/java", "-Xmx{memory_mib}m", "-cp",
                                            "/judge/build", "Validator", "/tmp/judge/input",
                                            "/tmp/judge/answer", "/tmp/judge/feedback/", NULL};
    assert_argv(p.lang.run_argv, want_java);
    validator_prog_free(&p);

    static const char *const py[] = {"/usr/bin/python3", "-I", "-S", "/judge/code/main.py", NULL};
    sandbox_lang_t pl = lang_of("python3", "main.py", NULL, py);
    static const char *const pnames[] = {"check.py", "helpers.py", NULL};
    fake_validator(&f, pnames, "import helpers", NULL, 0);
    assert_int_equal(validator_prog_init(&p, &pl, &f.v, VALIDATOR_OUTPUT, why, sizeof why), 0);
    assert_null(p.lang.compile_argv[0]);
    /* -I would keep the entry's folder (helpers.py) off the path. */
    static const char *const want_py[] = {"/usr/bin/python3", "-E", "-s", "-S",
                                          "/judge/code/check.py", "/tmp/judge/input",
                                          "/tmp/judge/answer", "/tmp/judge/feedback/", NULL};
    assert_argv(p.lang.run_argv, want_py);
    validator_prog_free(&p);
}

static void test_an_input_validator_reads_stdin_and_gets_only_its_flags(void **state)
{
    static const char *const py[] = {"/usr/bin/python3", "-I", "-S", "/judge/code/main.py", NULL};
    sandbox_lang_t pl = lang_of("python3", "main.py", NULL, py);
    static const char *const names[] = {"validate.py", NULL};
    char *flags[] = {"--max", "100"};
    fake_validator_t f;
    fake_validator(&f, names, "import sys", flags, 2);
    validator_prog_t p;
    char why[128];
    assert_int_equal(validator_prog_init(&p, &pl, &f.v, VALIDATOR_INPUT_FORMAT, why, sizeof why),
                     0);
    static const char *const want[] = {"/usr/bin/python3",        "-E",    "-s",  "-S",
                                       "/judge/code/validate.py", "--max", "100", NULL};
    assert_argv(p.lang.run_argv, want);
    validator_prog_free(&p);
}

static void test_a_validator_with_too_many_flags_is_refused(void **state)
{
    sandbox_lang_t cpp = lang_of("cpp", "main.cpp", cpp_compile, cpp_run);
    static const char *const names[] = {"v.cpp", NULL};
    char *flags[SANDBOX_ARGV_MAX];
    for (int i = 0; i < SANDBOX_ARGV_MAX; i++)
        flags[i] = "x";
    fake_validator_t f;
    fake_validator(&f, names, "int main", flags, SANDBOX_ARGV_MAX);
    validator_prog_t p;
    char why[128];
    assert_int_equal(validator_prog_init(&p, &cpp, &f.v, VALIDATOR_OUTPUT, why, sizeof why), -1);
    assert_string_equal(why, "too many flags for one command line");
}

static void test_validator_exit_42_is_ac_43_wa_anything_else_ie(void **state)
{
    sandbox_record_t r = {.exit_code = 42};
    snprintf(r.status, sizeof r.status, "OK");
    assert_int_equal(validator_verdict(&r), V(AC));
    r.exit_code = 43;
    assert_int_equal(validator_verdict(&r), V(WA));
    r.exit_code = 0; /* the custom checker's accepted, not the package format's */
    assert_int_equal(validator_verdict(&r), V(IE));
    r.exit_code = 1;
    assert_int_equal(validator_verdict(&r), V(IE));
    r.exit_code = 42;
    snprintf(r.status, sizeof r.status, "TC"); /* its own time limit */
    assert_int_equal(validator_verdict(&r), V(IE));
    snprintf(r.status, sizeof r.status, "SG");
    assert_int_equal(validator_verdict(&r), V(IE));
}

static void test_the_team_message_wins_over_the_judge_message_on_one_line(void **state)
{
    char msg[EXEC_MESSAGE_MAX + 1];
    validator_message("judge says\nmore\n", 16, "", 0, msg, sizeof msg);
    assert_string_equal(msg, "judge says; more");
    validator_message("judge says", 10, "team says\r\n", 11, msg, sizeof msg);
    assert_string_equal(msg, "team says");
    validator_message(NULL, 0, NULL, 0, msg, sizeof msg);
    assert_string_equal(msg, "");
    char big[1000];
    memset(big, 'x', sizeof big);
    validator_message(big, sizeof big, NULL, 0, msg, sizeof msg);
    assert_int_equal(strlen(msg), EXEC_MESSAGE_MAX);
}

static void test_a_validator_is_compiled_once_and_judges_with_its_messages(void **state)
{
    sandbox_lang_t cpp = lang_of("cpp", "main.cpp", cpp_compile, cpp_run);
    static const char *const names[] = {"validate.cpp", "testlib.h", NULL};
    fake_validator_t f;
    fake_validator(&f, names, "int main() { /* once */ }", NULL, 0);
    const char *acts[] = {"42", "43", "43 team", "0", "42 slow"};
    exec_verdict_t want[] = {V(AC), V(WA), V(WA), V(IE), V(IE)};
    const char *msgs[] = {"answer was a0; second line", "answer was a1; second line",
                          "try smaller numbers", "the output validator failed",
                          "the output validator failed"};
    int compiles_before = compiles;
    for (int round = 0; round < 2; round++) {
        checker_case_t cases[5];
        memset(cases, 0, sizeof cases);
        char answers[5][16];
        for (int i = 0; i < 5; i++) {
            snprintf(answers[i], sizeof answers[i], "a%d", i);
            cases[i] = (checker_case_t){.input = "in", .input_len = 2, .expected = answers[i],
                                        .expected_len = 2, .actual = acts[i],
                                        .actual_len = strlen(acts[i])};
        }
        assert_int_equal(checker_run_validator(NULL, SANDBOX_CRUN, 0, &cpp, &f.v, cases, 5,
                                               NULL, NULL),
                         0);
        for (int i = 0; i < 5; i++) {
            assert_int_equal(cases[i].verdict, want[i]);
            assert_string_equal(cases[i].message, msgs[i]);
        }
    }
    assert_int_equal(compiles - compiles_before, 1);
}

/* Tests of a group with flags of its own run with them, one run per set of
 * flags, in the same build; each case's verdict and message stay its own. */
static void test_a_validator_runs_once_per_set_of_flags_each_case_with_its_own(void **state)
{
    sandbox_lang_t cpp = lang_of("cpp", "main.cpp", cpp_compile, cpp_run);
    static const char *const names[] = {"validate.cpp", "testlib.h", NULL};
    char *task_flags[] = {"strict"};
    fake_validator_t f;
    fake_validator(&f, names, "int main() { /* per group */ }", task_flags, 1);
    char *loose[] = {"float_tolerance", "1e-3"};
    Dojo__Content__V1__ValidatorFlags lf = DOJO__CONTENT__V1__VALIDATOR_FLAGS__INIT;
    lf.flags = loose;
    lf.n_flags = 2;
    Dojo__Content__V1__ValidatorFlags lf2 = lf; /* the same flags, another message */
    Dojo__Content__V1__ValidatorFlags none = DOJO__CONTENT__V1__VALIDATOR_FLAGS__INIT;
    const Dojo__Content__V1__ValidatorFlags *per[] = {NULL, &lf, NULL, &lf2, &none};
    const char *acts[] = {"42", "43", "43 team", "42", "42"};
    exec_verdict_t want[] = {V(AC), V(WA), V(WA), V(AC), V(AC)};
    const char *msgs[] = {"answer was a0; second line", "answer was a1; second line",
                          "try smaller numbers", "answer was a3; second line",
                          "answer was a4; second line"};
    checker_case_t cases[5];
    char answers[5][16];
    for (int i = 0; i < 5; i++) {
        snprintf(answers[i], sizeof answers[i], "a%d", i);
        cases[i] = (checker_case_t){.input = "in", .input_len = 2, .expected = answers[i],
                                    .expected_len = 2, .actual = acts[i],
                                    .actual_len = strlen(acts[i]), .flags = per[i]};
    }
    int runs_before = validator_runs, compiles_before = compiles;
    assert_int_equal(
        checker_run_validator(NULL, SANDBOX_CRUN, 0, &cpp, &f.v, cases, 5, NULL, NULL), 0);
    assert_int_equal(validator_runs - runs_before, 3);
    assert_int_equal(compiles - compiles_before, 1);
    /* in the order of each set's first case */
    assert_string_equal(run_flags[runs_before % 8], "strict");
    assert_string_equal(run_flags[(runs_before + 1) % 8], "float_tolerance 1e-3");
    assert_string_equal(run_flags[(runs_before + 2) % 8], "");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cases[i].verdict, want[i]);
        assert_string_equal(cases[i].message, msgs[i]);
    }
    /* Without a case of its own flags: one run, as before. */
    for (int i = 0; i < 5; i++)
        cases[i].flags = NULL;
    runs_before = validator_runs;
    assert_int_equal(
        checker_run_validator(NULL, SANDBOX_CRUN, 0, &cpp, &f.v, cases, 5, NULL, NULL), 0);
    assert_int_equal(validator_runs - runs_before, 1);
}

static void test_a_validator_that_does_not_compile_is_ie_without_a_run(void **state)
{
    sandbox_lang_t cpp = lang_of("cpp", "main.cpp", cpp_compile, cpp_run);
    static const char *const names[] = {"validate.cpp", "testlib.h", NULL};
    fake_validator_t f;
    fake_validator(&f, names, "#error nope", NULL, 0);
    int runs_before = validator_runs, compiles_before = compiles;
    for (int round = 0; round < 2; round++) {
        checker_case_t c = {.input = "", .expected = "1", .expected_len = 1, .actual = "42",
                            .actual_len = 2};
        assert_int_equal(
            checker_run_validator(NULL, SANDBOX_CRUN, 0, &cpp, &f.v, &c, 1, NULL, NULL), 0);
        assert_int_equal(c.verdict, V(IE));
        assert_string_equal(c.message, "the output validator does not compile");
    }
    assert_int_equal(validator_runs, runs_before);
    assert_int_equal(compiles - compiles_before, 1); /* remembered as not compiling */
}

/* ---- interactive problems ------------------------------------------------ */

static sandbox_record_t rec_of(const char *status, int exit_code)
{
    sandbox_record_t r = {.exit_code = exit_code, .cpu_ms = 5};
    snprintf(r.status, sizeof r.status, "%s", status);
    return r;
}

static exec_verdict_t interact(bool sub, sandbox_record_t s, bool inter, sandbox_record_t i,
                               bool inter_first, char *msg)
{
    interaction_t x;
    memset(&x, 0, sizeof x);
    x.sub_reported = sub;
    x.sub = s;
    x.inter_reported = inter;
    x.inter = i;
    x.inter_first = inter_first;
    snprintf(x.judge_msg, sizeof x.judge_msg, "judged");
    x.judge_len = 6;
    sandbox_limits_t lim = {.cpu_ms = 1000, .wall_ms = 2000, .memory_kib = 65536,
                            .output_kib = 64};
    return interaction_verdict(&x, &lim, msg, EXEC_MESSAGE_MAX + 1);
}

static void test_the_interactor_ending_first_with_wa_wins_over_the_program(void **state)
{
    char msg[EXEC_MESSAGE_MAX + 1];
    /* It said WA first: the program's crash (or never ending) after that
     * does not count. */
    assert_int_equal(interact(true, rec_of("OK", 1), true, rec_of("OK", 43), true, msg), V(WA));
    assert_string_equal(msg, "judged");
    assert_int_equal(interact(false, rec_of("", 0), true, rec_of("OK", 43), true, msg), V(WA));
    /* The program crashed first: a runtime error, whatever the interactor
     * said after. */
    assert_int_equal(interact(true, rec_of("OK", 1), true, rec_of("OK", 43), false, msg), V(RE));
    assert_string_equal(msg, "exit code 1");
    assert_int_equal(interact(true, rec_of("TC", -1), false, rec_of("", 0), false, msg), V(TLE));
}

static void test_an_accepting_interactor_still_needs_the_program_to_end_cleanly(void **state)
{
    char msg[EXEC_MESSAGE_MAX + 1];
    assert_int_equal(interact(true, rec_of("OK", 0), true, rec_of("OK", 42), true, msg), V(AC));
    assert_string_equal(msg, "judged");
    assert_int_equal(interact(true, rec_of("OK", 0), true, rec_of("OK", 42), false, msg), V(AC));
    assert_int_equal(interact(true, rec_of("OK", 2), true, rec_of("OK", 42), true, msg), V(RE));
    assert_int_equal(interact(true, rec_of("TW", -1), true, rec_of("OK", 42), true, msg),
                     V(TLE));
    assert_int_equal(interact(false, rec_of("", 0), true, rec_of("OK", 42), true, msg), V(TLE));
    assert_string_equal(msg, "the program did not end after the interactor accepted");
}

static void test_an_interactor_that_fails_is_ie_unless_the_program_failed_first(void **state)
{
    char msg[EXEC_MESSAGE_MAX + 1];
    assert_int_equal(interact(true, rec_of("OK", 0), true, rec_of("OK", 1), false, msg), V(IE));
    assert_string_equal(msg, "the interactor failed");
    assert_int_equal(interact(true, rec_of("OK", 0), true, rec_of("SG", 0), true, msg), V(IE));
    assert_int_equal(interact(true, rec_of("OK", 0), false, rec_of("", 0), false, msg), V(IE));
    assert_int_equal(interact(true, rec_of("ML", 0), false, rec_of("", 0), false, msg), V(MLE));
    assert_int_equal(interact(false, rec_of("", 0), false, rec_of("", 0), false, msg), V(IE));
}

static void test_checker_bundle_carries_four_byte_strings(void **state)
{
    char *b = NULL;
    size_t n = 0;
    checker_bundle("src", 3, "in\0x", 4, "", 0, "act", 3, &b, &n);
    assert_int_equal(n, strlen("DOJOCHK1 3 4 0 3\n") + 10);
    assert_memory_equal(b, "DOJOCHK1 3 4 0 3\nsrcin\0xact", n);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_accepts_identical_bytes_only),
        cmocka_unit_test(test_a_tests_own_flags_replace_the_default_validators_settings),
        cmocka_unit_test(test_unspecified_kind_means_ignore_trailing_whitespace),
        cmocka_unit_test(test_trailing_whitespace_and_blank_lines_are_ignored),
        cmocka_unit_test(test_leading_and_inner_whitespace_still_matter),
        cmocka_unit_test(test_wrong_line_message_quotes_both_lines),
        cmocka_unit_test(test_tokens_ignore_all_whitespace_layout),
        cmocka_unit_test(test_float_accepts_within_absolute_tolerance),
        cmocka_unit_test(test_float_accepts_within_relative_tolerance),
        cmocka_unit_test(test_float_default_tolerance_is_one_in_a_million),
        cmocka_unit_test(test_float_compares_words_exactly_and_numbers_as_numbers),
        cmocka_unit_test(test_clean_exit_means_compare_the_output),
        cmocka_unit_test(test_cpu_and_wall_limits_are_tle),
        cmocka_unit_test(test_output_limit_is_ole),
        cmocka_unit_test(test_the_process_limit_is_re_and_says_so),
        cmocka_unit_test(test_the_wall_clock_safety_net_says_so),
        cmocka_unit_test(test_the_driver_stopping_a_test_at_its_memory_limit_is_mle),
        cmocka_unit_test(test_a_peak_over_the_limit_is_mle_however_the_program_ended),
        cmocka_unit_test(test_a_signal_below_the_memory_limit_is_re_with_the_signal),
        cmocka_unit_test(test_the_default_validator_ignores_case_and_spacing_by_default),
        cmocka_unit_test(test_the_default_validator_space_change_sensitive_compares_whitespace),
        cmocka_unit_test(test_the_default_validator_with_a_tolerance_reads_nan_and_inf_as_floats),
        cmocka_unit_test(test_python_memory_error_is_mle),
        cmocka_unit_test(test_the_other_runtimes_out_of_memory_at_their_heap_limit_is_mle),
        cmocka_unit_test(test_nonzero_exit_is_re_with_the_code),
        cmocka_unit_test(test_a_program_that_could_not_start_is_ie),
        cmocka_unit_test(test_invalid_utf8_becomes_replacement_characters),
        cmocka_unit_test(test_excerpts_are_cut_at_a_character_boundary),
        cmocka_unit_test(test_custom_checker_exit_status_becomes_the_verdict),
        cmocka_unit_test(test_a_failed_checker_logs_its_stderr_and_nothing_after_it),
        cmocka_unit_test(test_custom_checker_in_an_unsupported_language_is_ie),
        cmocka_unit_test(test_checker_bundle_carries_four_byte_strings),
        cmocka_unit_test(test_a_cpp_validator_compiles_every_source_and_gets_the_paths_and_flags),
        cmocka_unit_test(test_java_and_python_validators_run_their_entry),
        cmocka_unit_test(test_an_input_validator_reads_stdin_and_gets_only_its_flags),
        cmocka_unit_test(test_a_validator_with_too_many_flags_is_refused),
        cmocka_unit_test(test_validator_exit_42_is_ac_43_wa_anything_else_ie),
        cmocka_unit_test(test_the_team_message_wins_over_the_judge_message_on_one_line),
        cmocka_unit_test(test_a_validator_is_compiled_once_and_judges_with_its_messages),
        cmocka_unit_test(test_a_validator_that_does_not_compile_is_ie_without_a_run),
        cmocka_unit_test(test_a_validator_runs_once_per_set_of_flags_each_case_with_its_own),
        cmocka_unit_test(test_the_interactor_ending_first_with_wa_wins_over_the_program),
        cmocka_unit_test(test_an_accepting_interactor_still_needs_the_program_to_end_cleanly),
        cmocka_unit_test(test_an_interactor_that_fails_is_ie_unless_the_program_failed_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
