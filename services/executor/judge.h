/* judge.h — what a run's records mean: a verdict per test, then the overall
 * verdict, score and summary, and the RecordResult and FinalResult messages
 * that carry them.
 *
 * Pure: no I/O, no clock, no threads, no events. The orchestrator (jobs.c)
 * feeds the judge what the sandbox reports, in the order it reports it, and
 * sends what the judge builds. Memory comes from the job's arena; messages
 * borrow from the judge, its bundle and its arena, so they live as long as
 * the job. Unit-tested in t/test_judge.c. */
#ifndef DOJO_EXECUTOR_JUDGE_H
#define DOJO_EXECUTOR_JUDGE_H

#include "libcommon/arena.h"
#include "services/executor/executor.h"

/** One test of the run, in run order. */
typedef struct judge_test {
    int bundle_index; /* index in the bundle's tests (TestResult.index) */
    const Dojo__Content__V1__TestCase *tc;
    int hidden_k;   /* 1-based among the bundle's hidden tests; 0 for visible */
    char name[32];  /* "hidden-<k>" */
    bool reported;  /* the driver reported it */
    bool deferred;  /* ran cleanly; waits for the custom checker */
    bool emitted;   /* the orchestrator sent its test_result event */
    /* How its output is compared: the task's checker, or with the test's
     * own validator flags (exec_checker_with_flags); flags_bad when those
     * are not the checker's to take (the test is IE). */
    exec_checker_t checker;
    bool flags_bad;
    exec_verdict_t verdict;
    char message[EXEC_MESSAGE_MAX + 1];
    long cpu_ms, wall_ms, rss_kib;
    char *excerpt; /* visible tests only */
    char *actual;  /* custom checker: the output to check */
    size_t actual_len;
    /* Test data in blobs: the cached files (jobs.c fills them), and while
     * the orchestrator has them mapped, their bytes (NULL otherwise). */
    const char *input_file;
    const char *expected_file;
    const char *input;
    size_t input_len;
    const char *expected;
    size_t expected_len;
    Dojo__Gamification__V1__TestResult result; /* judge_test_result */
} judge_test_t;

typedef struct judge {
    arena_t *arena;
    bool is_run;    /* a RUN: no points, the bundle's max_score does not apply */
    bool stdin_run; /* a RUN on stdin: one run of the program, no tests */
    exec_checker_t checker;
    bool custom; /* CUSTOM checker or PACKAGE_VALIDATOR: clean runs wait for judge_checked */
    bool stop_at_first_failure; /* a SUBMIT of a task that stops there */
    bool stopped;               /* ... and a test failed: the rest do not run */
    sandbox_limits_t limits;
    int bundle_max_score;
    judge_test_t *tests;
    int ntests;
    /* compilation */
    bool compile_reported;
    bool compile_ok;
    char *compile_output;
    /* a RUN on stdin: the driver's one record (its buffers dropped) */
    bool have_record;
    sandbox_record_t rec;
    exec_verdict_t rec_verdict;
    char rec_msg[EXEC_MESSAGE_MAX + 1];
} judge_t;

/** The task's option for language `id`, or NULL when the task does not
 * accept it. Borrowed from `b`. */
const Dojo__Content__V1__LanguageOption *judge_task_language(const Dojo__Content__V1__JudgeBundle *b,
                                                             const char *id);

/** The limits of each test: the language option's limits (else the
 * bundle's, else 2 s CPU, 5 s wall, 256 MiB, 1 MiB output), and for a RUN
 * its own non-zero limits clamped to the maximums (wall never below CPU). */
void judge_limits(const Dojo__Executor__V1__Job *job, const Dojo__Content__V1__JudgeBundle *b,
                  const Dojo__Content__V1__LanguageOption *opt, sandbox_limits_t *out);

/** Prepares judging `job` against `b` with the task's language option `opt`
 * (may be NULL): which tests run (every test for a SUBMIT, the visible ones
 * for a RUN on sample tests, none for a RUN on stdin), the checker and the
 * limits. Borrows `a`, `job` and `b` for the judge's life. */
void judge_init(judge_t *jd, arena_t *a, const Dojo__Executor__V1__Job *job,
                const Dojo__Content__V1__JudgeBundle *b,
                const Dojo__Content__V1__LanguageOption *opt);

/** The tests' inputs in run order, for the sandbox (arrays of ntests in the
 * arena, strings borrowed from the bundle); `files` (may be NULL) gets each
 * test's input_file (NULL for inline input), or NULL when no test has one. */
void judge_inputs(const judge_t *jd, const char ***inputs, size_t **lens, const char ***files);

/** Keeps the compiler's output (cleaned to UTF-8, capped). */
void judge_compile(judge_t *jd, bool ok, const char *output, size_t len);

/** Judges one driver record: its verdict, message and figures, its output
 * compared by the checker. Returns the test it is about (judged, unless it
 * is deferred to the custom checker), or NULL when it is about no test: a
 * RUN on stdin keeps it as the run's record; an unknown index is ignored. */
judge_test_t *judge_record(judge_t *jd, const sandbox_record_t *rec);

/** An interactive test's result (validator.c's interaction_verdict): its
 * verdict and message, and the submission's figures from `rec` (NULL when it
 * never reported). Returns the test, or NULL for an unknown index. */
judge_test_t *judge_interaction(judge_t *jd, int index, const sandbox_record_t *rec,
                                exec_verdict_t verdict, const char *message);

/** True once a test failed and the task stops at the first failure
 * (Task.stop_at_first_failure, for SUBMIT): the orchestrator stops the
 * sandbox, and the tests not reported yet are NOT_RUN. A custom checker's
 * wrong answers are known only after the run, so only failures of the run
 * itself (time, memory, crash, output) stop it then. */
bool judge_stopped(const judge_t *jd);

/** The cases for the custom checker: one per deferred test, in run order
 * (*out in the arena, buffers borrowed). Returns their number. */
int judge_checker_cases(judge_t *jd, checker_case_t **out);

/** Takes the custom checker's verdicts of the `n` cases judge_checker_cases
 * made, in the same order. */
void judge_checked(judge_t *jd, const checker_case_t *cases, int n);

/** How the run ended, for judging: the sandbox's end, or CANCELLED when the
 * job was cancelled (`cancelled`) before every test reported — or before a
 * RUN on stdin reported at all — even if the sandbox ended otherwise. */
sandbox_end_t judge_run_end(const judge_t *jd, const sandbox_outcome_t *o, bool cancelled);

/** Gives every test without a verdict of its own (never reported, or
 * deferred and not `checked`) the verdict of how the run ended: NOT_RUN
 * after judge_stopped (for the tests never reported), TLE when the whole
 * run's wall clock ran out, RE when the sandbox was killed, CANCELLED,
 * otherwise IE "not run". Nothing after a compile error: no test ran. */
void judge_finish(judge_t *jd, sandbox_end_t end, bool checked);

/** The TestResult of `t` as the learner may see it (fills t->result):
 * hidden tests are named hidden-<k> and say only their verdict — or, for
 * RE/TLE/MLE/OLE, figures and exit codes — never input or output. */
Dojo__Gamification__V1__TestResult *judge_test_result(judge_test_t *t);

/** The overall result of a run. */
typedef struct judge_result {
    exec_verdict_t verdict;
    int score;
    int max_score;
    int passed;
    int total;
    int64_t cpu_ms;     /* sum over the tests (a RUN on stdin: its record's) */
    long memory_kib;    /* peak over the tests */
    int exit_code;      /* a RUN on stdin: -1 when killed by a signal or unknown */
    int term_signal;
    Dojo__Gamification__V1__TestResult **tests; /* in run order; none after CE */
    size_t ntests;
    char message[EXEC_MESSAGE_MAX + 1]; /* "3/5 tests passed; hidden-2: wrong answer" */
} judge_result_t;

/** The overall result after judge_finish: the first failing test's verdict
 * (AC when all passed; NOT_RUN tests are neither), CE after a compile
 * error, CANCELLED, or for a RUN on stdin its record's verdict; score = the
 * weights of the passed tests, max_score all of them. */
void judge_result(judge_t *jd, sandbox_end_t end, judge_result_t *out);

/** The RecordResultRequest of `res` (strings borrowed from the arguments,
 * `jd` and `res`; timestamps in the arena). */
void judge_record_request(judge_t *jd, const judge_result_t *res, const char *submission_id,
                          const char *executor_id, int64_t started_us, int64_t finished_us,
                          int64_t wall_ms, Dojo__Gamification__V1__RecordResultRequest *out);

/** The FinalResult event of `res`; `recorded` is the RecordResult reply, or
 * NULL when the result was not recorded. Borrows from `res` and `recorded`. */
void judge_final_result(const judge_result_t *res, int64_t wall_ms,
                        const Dojo__Gamification__V1__RecordResultResponse *recorded,
                        Dojo__Executor__V1__FinalResult *out);

/** The FinalResult of a submission judged before, from its stored result;
 * the message ("4/5 tests passed; wrong answer (already judged)") is written
 * to `msg` (cap bytes), which out->message borrows, as it borrows `s`. */
void judge_stored_result(const Dojo__Gamification__V1__Submission *s,
                         Dojo__Executor__V1__FinalResult *out, char *msg, size_t cap);

#endif
