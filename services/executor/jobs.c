/* jobs.c — one job from start to end: a table of short steps over one run's
 * state, whose memory lives in the job's arena.
 *
 * The steps, in order: continue the numbering of the submission's event
 * stream; a submission judged before only re-publishes its result; the
 * control channel (Redis jobs: cancel and stdin); the judge bundle (cached)
 * and the languages; the judge's plan; a RUN's stdin; the Started event; the
 * sandbox, whose callbacks arrive on this thread and become events at once
 * (or an input validator over the tests' inputs, for RunJob); the custom
 * checker; the verdicts; RecordResult; the final event. Judging is
 * judge.c's, running sandbox.c's, events events.c's, gamification calls
 * results.c's: this file only puts them in order. A step that fails says
 * whether the job deserves another attempt (RETRY) or never will succeed
 * (GIVE_UP); the queue or RunJob acts on that. A new step (a compile step
 * before the run, a sandbox taken from a pool) is a new row in the table. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor.h"
#include "judge.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

#define V(x) DOJO__COMMON__V1__VERDICT__VERDICT_##x
#define STAGE(x) DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_##x

void exec_job_init(exec_job_t *j, exec_t *ex, const Dojo__Executor__V1__Job *job)
{
    memset(j, 0, sizeof *j);
    j->ex = ex;
    j->job = job;
    snprintf(j->submission_id, sizeof j->submission_id, "%s", job->submission_id);
    j->attempt = job->attempt > 0 ? job->attempt : 1;
    j->slot = -1;
    j->record = true;
    j->sink = exec_events_redis_sink;
    pthread_mutex_init(&j->ev_lock, NULL);
    atomic_init(&j->cancel, false);
    atomic_init(&j->halt, false);
    atomic_init(&j->done, false);
    atomic_init(&j->stage, STAGE(PREPARING));
    atomic_init(&j->tests_done, 0);
    atomic_init(&j->tests_total, 0);
    j->started_us = wall_us();
}

void exec_job_destroy(exec_job_t *j)
{
    arena_release(&j->arena);
    pthread_mutex_destroy(&j->ev_lock);
}

/* ------------------------------------------------------------------------
 * One run's state
 * ------------------------------------------------------------------------ */

typedef struct job_run {
    exec_job_t *j;
    exec_t *ex;
    const Dojo__Executor__V1__Job *job;
    bool stdin_run;   /* a RUN on stdin: one run of the program, no tests */
    bool interactive; /* ... whose stdin keeps coming through the control channel */
    bool interactor;  /* an interactive task: each test against the interactor */
    bool validating;  /* RunJob with job.input_validator: it runs over the inputs instead */
    exec_control_t *control;
    const Dojo__Content__V1__JudgeBundle *bundle;
    bool bundle_cached; /* a reference to release */
    const Dojo__Content__V1__LanguageOption *opt;
    const sandbox_lang_t *lang;
    const sandbox_lang_t *checker_lang;
    judge_t judge;
    int stdin_r; /* the read end of a RUN's stdin; -1 none */
    int64_t run_started_ms;
    sandbox_outcome_t outcome;
    sandbox_end_t end; /* how the run ended, as judged */
    bool checked;      /* the custom checker ran */
    judge_result_t result;
    const char **blobs; /* the blobs referenced (exec_blob_get), to release */
    int nblobs;
    int64_t wall_ms;
    Dojo__Gamification__V1__RecordResultResponse *recorded; /* NULL: not recorded */
    int64_t out_off[2]; /* output streamed so far: stdout, stderr */
    bool out_cut[2];
    exec_job_end_t ending;
    char *reason;
    size_t reason_cap;
} job_run_t;

enum { STEP_NEXT = 0, STEP_DONE, STEP_STOP };

/* Ends the steps: the job is to be retried or given up, for `fmt`. */
__attribute__((format(printf, 3, 4))) static int stop(job_run_t *r, exec_job_end_t ending,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, r->reason_cap, fmt, ap);
    va_end(ap);
    r->ending = ending;
    return STEP_STOP;
}

static bool will_retry(const job_run_t *r) { return r->j->attempt < r->ex->cfg.max_attempts; }

/* ------------------------------------------------------------------------
 * The sandbox's callbacks (on the job's thread)
 * ------------------------------------------------------------------------ */

static void emit_test_result(job_run_t *r, judge_test_t *t)
{
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_TEST_RESULT;
    ev.test_result = judge_test_result(t);
    exec_emit_or_log(r->j, &ev);
    t->emitted = true;
}

static void on_compile(void *payload, bool ok, const char *output, size_t len)
{
    job_run_t *r = payload;
    judge_compile(&r->judge, ok, output, len);
    atomic_store(&r->j->stage, STAGE(RUNNING));
    Dojo__Executor__V1__CompileOutput co = DOJO__EXECUTOR__V1__COMPILE_OUTPUT__INIT;
    co.text = r->judge.compile_output;
    co.ok = ok;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_COMPILE_OUTPUT;
    ev.compile_output = &co;
    exec_emit_or_log(r->j, &ev);
}

/* A blob's file mapped for reading (an empty one as ""); false when it
 * cannot be. Mapped, not read: the pages are the page cache's, and they go
 * with the unmapping, test by test. */
static bool map_file(const char *path, const char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    *len = (size_t)st.st_size;
    void *m = st.st_size > 0 ? mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0) : (void *)"";
    close(fd);
    if (m == MAP_FAILED)
        return false;
    *data = m;
    return true;
}

static void unmap_file(const char **data, size_t len)
{
    if (*data && len > 0)
        munmap((void *)*data, len);
    *data = NULL;
}

static void on_record(void *payload, const sandbox_record_t *rec)
{
    job_run_t *r = payload;
    atomic_store(&r->j->stage, STAGE(RUNNING));
    /* A blob's expected output is mapped just for this comparison. */
    judge_test_t *bt = !r->judge.stdin_run && rec->index >= 0 && rec->index < r->judge.ntests &&
                               r->judge.tests[rec->index].expected_file
                           ? &r->judge.tests[rec->index]
                           : NULL;
    if (bt && !bt->reported && !r->judge.custom &&
        !map_file(bt->expected_file, &bt->expected, &bt->expected_len))
        LOG_ERROR("test data unreadable", "submission=%s file=%s", r->j->submission_id,
                  bt->expected_file);
    judge_test_t *t = judge_record(&r->judge, rec);
    if (bt)
        unmap_file(&bt->expected, bt->expected_len);
    if (!t)
        return;
    atomic_fetch_add(&r->j->tests_done, 1);
    if (!t->deferred)
        emit_test_result(r, t);
    /* The verdict is settled: the sandbox stops (the rest are NOT_RUN). */
    if (judge_stopped(&r->judge))
        atomic_store(&r->j->halt, true);
}

/* Output of a RUN on stdin, as chunks of at most EXEC_CHUNK_MAX; stdout up
 * to the output limit, stderr up to EXEC_STDERR_CAP, the cut marked. */
static void on_chunk(void *payload, char stream, const char *data, size_t len)
{
    job_run_t *r = payload;
    atomic_store(&r->j->stage, STAGE(RUNNING));
    int s = (stream == 'E' || stream == 'e' || stream == 2) ? 1 : 0;
    if (r->out_cut[s])
        return;
    int64_t cap = s ? EXEC_STDERR_CAP : (int64_t)r->judge.limits.output_kib * 1024;
    while (len > 0) {
        size_t n = len > EXEC_CHUNK_MAX ? EXEC_CHUNK_MAX : len;
        bool cut = false;
        if (r->out_off[s] + (int64_t)n >= cap) {
            n = (size_t)(cap - r->out_off[s]);
            cut = true;
        }
        Dojo__Executor__V1__OutputChunk ch = DOJO__EXECUTOR__V1__OUTPUT_CHUNK__INIT;
        ch.data.data = (uint8_t *)data;
        ch.data.len = n;
        ch.offset = r->out_off[s];
        ch.truncated = cut && (size_t)n < len;
        Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
        if (s) {
            ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_STDERR_CHUNK;
            ev.stderr_chunk = &ch;
        } else {
            ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_STDOUT_CHUNK;
            ev.stdout_chunk = &ch;
        }
        if (n > 0 || ch.truncated)
            exec_emit_or_log(r->j, &ev);
        r->out_off[s] += (int64_t)n;
        data += n;
        len -= n;
        if (cut && len > 0) {
            r->out_cut[s] = true;
            return;
        }
    }
}

/* ------------------------------------------------------------------------
 * The steps
 * ------------------------------------------------------------------------ */

/* Redis jobs: this attempt's events continue after whatever the stream holds. */
static int step_resume_events(job_run_t *r)
{
    cleanup_err err_t *err = NULL;
    if (!r->j->synchronous && exec_events_resume(r->j, &err) < 0)
        return stop(r, EXEC_JOB_RETRY, "%s", err->msg);
    return STEP_NEXT;
}

/* A redelivered job whose submission is finished re-publishes its result. */
static int step_judged_before(job_run_t *r)
{
    exec_job_t *j = r->j;
    if (!j->record)
        return STEP_NEXT;
    cleanup_pb Dojo__Gamification__V1__GetSubmissionResponse *sub = NULL;
    cleanup_err err_t *err = NULL;
    if (exec_get_submission(j, &sub, &err) < 0) {
        bool never = err->code == GRPC_STATUS_NOT_FOUND || err->code == GRPC_STATUS_INVALID_ARGUMENT;
        if (never)
            j->record = false; /* nothing to record against */
        return stop(r, never ? EXEC_JOB_GIVE_UP : EXEC_JOB_RETRY, "%s", err->msg);
    }
    if (!sub->submission ||
        sub->submission->state != DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED)
        return STEP_NEXT;
    LOG_INFO("submission already judged; re-publishing its result", "submission=%s",
             j->submission_id);
    if (exec_emit_stored_result(j, sub->submission, &err) < 0)
        return stop(r, EXEC_JOB_RETRY, "%s", err->msg);
    return STEP_DONE;
}

static int step_control(job_run_t *r)
{
    if (!r->j->synchronous)
        exec_control_start(&r->control, r->j, r->interactive);
    return STEP_NEXT;
}

static int step_bundle(job_run_t *r)
{
    if (r->j->given_bundle) {
        r->bundle = r->j->given_bundle;
        return STEP_NEXT;
    }
    cleanup_err err_t *err = NULL;
    if (exec_bundle_get(r->ex, r->job->task_slug, r->job->task_version, &r->bundle, &err) < 0)
        return stop(r, err->code == GRPC_STATUS_NOT_FOUND ? EXEC_JOB_GIVE_UP : EXEC_JOB_RETRY,
                    "%s", err->msg);
    r->bundle_cached = true;
    return STEP_NEXT;
}

static int step_language(job_run_t *r)
{
    if (r->validating) { /* the validator's language, whatever the task accepts */
        const char *id = r->job->input_validator->language;
        r->lang = exec_lang(r->ex, id ? id : "");
        if (!r->lang)
            return stop(r, EXEC_JOB_GIVE_UP, "input validator language \"%s\" is not installed",
                        id ? id : "");
        return STEP_NEXT;
    }
    r->lang = exec_lang(r->ex, r->job->language);
    r->opt = judge_task_language(r->bundle, r->job->language);
    if (!r->lang || !r->opt)
        return stop(r, EXEC_JOB_GIVE_UP, "language \"%s\" %s", r->job->language,
                    !r->lang ? "is not installed on this executor" : "is not accepted by the task");
    return STEP_NEXT;
}

static int step_plan(job_run_t *r)
{
    judge_init(&r->judge, &r->j->arena, r->job, r->bundle, r->opt);
    const exec_checker_t *ck = &r->judge.checker;
    bool package = ck->kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_PACKAGE_VALIDATOR;
    /* A RUN on stdin of an interactive task runs the program alone: the
     * learner plays the interactor. */
    r->interactor =
        package && ck->validator && ck->validator->interactive && !r->stdin_run && !r->validating;
    if (r->validating)
        r->judge.stop_at_first_failure = false; /* the author wants every refused input */
    if (r->judge.custom && !r->stdin_run && !r->validating) {
        const char *id = package ? (ck->validator ? ck->validator->language : NULL)
                                 : ck->custom_language;
        r->checker_lang = exec_lang(r->ex, id ? id : "");
        if (!r->checker_lang || (package ? !ck->validator : !ck->custom_source))
            return stop(r, EXEC_JOB_GIVE_UP, "%s language \"%s\" is not installed",
                        package ? "output validator" : "custom checker", id ? id : "");
    }
    atomic_store(&r->j->tests_total, r->judge.ntests);
    return STEP_NEXT;
}

/* Tests whose data lives in blobs: each blob on this executor's disk
 * (fetched once, cached by hash), referenced for the run — those cached
 * already first, so that fetching the others never evicts what the job is
 * about to use. A blob that cannot be had is the judge's failure: another
 * attempt may find it. */
static int step_blobs(job_run_t *r)
{
    r->blobs = arena_alloc(&r->j->arena, (2 * (size_t)r->judge.ntests + 1) * sizeof *r->blobs);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < r->judge.ntests; i++) {
            judge_test_t *t = &r->judge.tests[i];
            const char *shas[2] = {t->tc->input_sha256, t->tc->expected_sha256};
            const char **files[2] = {&t->input_file, &t->expected_file};
            for (int k = 0; k < 2; k++) {
                if (!shas[k] || !shas[k][0] || *files[k])
                    continue;
                char path[4200];
                cleanup_err err_t *err = NULL;
                int rc = exec_blob_get(r->ex, shas[k], pass == 1, path, sizeof path, &err);
                if (rc < 0)
                    return stop(r, err->code == GRPC_STATUS_NOT_FOUND ? EXEC_JOB_GIVE_UP
                                                                      : EXEC_JOB_RETRY,
                                "test data: %s", err->msg);
                if (rc > 0)
                    continue; /* not cached: the second pass fetches it */
                r->blobs[r->nblobs++] = shas[k];
                *files[k] = arena_strdup(&r->j->arena, path);
                /* A blob named twice holds two references, released twice. */
            }
        }
    }
    return STEP_NEXT;
}

/* A RUN on stdin reads a pipe: stdin_data fits it (at most 64 KiB); more
 * arrives through the control channel, which then owns the write end. */
static int step_stdin(job_run_t *r)
{
    if (!r->stdin_run)
        return STEP_NEXT;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return stop(r, EXEC_JOB_RETRY, "pipe: %s", strerror(errno));
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
    (void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
    const ProtobufCBinaryData *in = &r->job->stdin_data;
    for (size_t off = 0; off < in->len;) {
        ssize_t n = write(fds[1], in->data + off, in->len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    r->stdin_r = fds[0];
    if (r->interactive && r->control)
        exec_control_give_stdin(r->control, fds[1]);
    else
        close(fds[1]);
    return STEP_NEXT;
}

static int step_started(job_run_t *r)
{
    Dojo__Executor__V1__Started st = DOJO__EXECUTOR__V1__STARTED__INIT;
    st.executor_id = r->ex->cfg.executor_id;
    st.runtime = (char *)r->ex->cfg.runtime_name;
    st.test_count = r->judge.ntests;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_STARTED;
    ev.started = &st;
    cleanup_err err_t *err = NULL;
    if (exec_emit(r->j, &ev, &err) < 0)
        return stop(r, EXEC_JOB_RETRY, "%s", err->msg);
    return STEP_NEXT;
}

/* A container name: a little of the submission id, attempt, slot, random. */
static void sandbox_id(const exec_job_t *j, char *out, size_t cap)
{
    char sub[16];
    size_t k = 0;
    for (const char *p = j->submission_id; *p && k < 8; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            sub[k++] = c;
    }
    sub[k] = '\0';
    snprintf(out, cap, "%s-%d-%d-%x", k ? sub : "job", j->attempt, j->slot,
             (unsigned)random() & 0xffffff);
}

static int step_sandbox(job_run_t *r)
{
    exec_job_t *j = r->j;
    if (r->interactor || r->validating)
        return STEP_NEXT; /* step_interactive, step_input_validator */
    char sid[64];
    sandbox_id(j, sid, sizeof sid);
    const char **inputs, **input_files;
    size_t *input_lens;
    judge_inputs(&r->judge, &inputs, &input_lens, &input_files);
    sandbox_job_t sj = {
        .runtime = r->ex->cfg.runtime,
        .slot = j->slot,
        .id = sid,
        .lang = r->lang,
        .code = r->job->code ? r->job->code : "",
        .code_len = r->job->code ? strlen(r->job->code) : 0,
        .ntests = r->judge.ntests,
        .inputs = inputs,
        .input_lens = input_lens,
        .input_files = input_files,
        .interactive = r->stdin_run,
        .syntax_check = r->stdin_run,
        .stdin_fd = r->stdin_run ? r->stdin_r : -1,
        .limits = r->judge.limits,
        .cancel = &j->halt,
        .pool = r->ex->pool,
        .payload = r,
        .on_compile = on_compile,
        .on_record = on_record,
        .on_chunk = on_chunk,
    };
    atomic_store(&j->stage, r->lang->compile_argv[0] ? STAGE(COMPILING) : STAGE(RUNNING));
    r->run_started_ms = mono_ms();
    cleanup_err err_t *err = NULL;
    int rc = atomic_load(&j->cancel) ? 0 : sandbox_run(&r->ex->sandbox, &sj, &r->outcome, &err);
    j->sandbox_ms += mono_ms() - r->run_started_ms;
    if (rc < 0) {
        LOG_ERROR("sandbox failed", "submission=%s error=\"%s\"", j->submission_id,
                  log_esc(err->msg));
        exec_emit_job_error(j, "the sandbox did not start; retrying", will_retry(r));
        return stop(r, EXEC_JOB_RETRY, "sandbox: %s", err->msg);
    }
    /* Halted because the verdict was settled (and not cancelled since): the
     * run is over as far as judging goes. */
    if (r->outcome.end == SANDBOX_CANCELLED && judge_stopped(&r->judge) &&
        !atomic_load(&j->cancel))
        r->outcome.end = SANDBOX_DONE;
    r->end = judge_run_end(&r->judge, &r->outcome, atomic_load(&j->cancel));
    if (r->outcome.runtime_error[0])
        LOG_INFO("sandbox runtime said", "submission=%s end=%d stderr=\"%s\"", j->submission_id,
                 (int)r->end, log_esc(r->outcome.runtime_error));
    return STEP_NEXT;
}

/* An interactive task: the program compiles once, then each test runs it
 * against the interactor (validator.c), both sandboxes at once; a test's
 * verdict is known when both ended. */
static int step_interactive(job_run_t *r)
{
    if (!r->interactor)
        return STEP_NEXT;
    exec_job_t *j = r->j;
    char sid[64];
    sandbox_id(j, sid, sizeof sid);
    static const char *const no_input[] = {""};
    static const size_t no_len[] = {0};
    sandbox_job_t cj = {
        .runtime = r->ex->cfg.runtime,
        .slot = j->slot,
        .id = sid,
        .lang = r->lang,
        .code = r->job->code ? r->job->code : "",
        .code_len = r->job->code ? strlen(r->job->code) : 0,
        .ntests = 1,
        .inputs = no_input,
        .input_lens = no_len,
        .stdin_fd = -1,
        .cancel = &j->halt,
        .pool = r->ex->pool,
        .payload = r,
        .on_compile = on_compile,
    };
    atomic_store(&j->stage, r->lang->compile_argv[0] ? STAGE(COMPILING) : STAGE(RUNNING));
    r->run_started_ms = mono_ms();
    cleanup_err err_t *err = NULL;
    sandbox_build_t *build = NULL;
    interactor_t *it = NULL;
    memset(&r->outcome, 0, sizeof r->outcome);
    int rc = atomic_load(&j->cancel) ? 0 : sandbox_compile(&r->ex->sandbox, &cj, &build,
                                                           &r->outcome, &err);
    if (rc == 0 && build)
        rc = interactor_prepare(&it, &r->ex->sandbox, r->ex->cfg.runtime, j->slot,
                                r->checker_lang, r->judge.checker.validator, &j->halt, &err);
    atomic_store(&j->stage, STAGE(RUNNING));
    interact_sub_t sub = {.cfg = &r->ex->sandbox,
                          .runtime = r->ex->cfg.runtime,
                          .slot = j->slot,
                          .id = sid,
                          .lang = r->lang,
                          .code = cj.code,
                          .code_len = cj.code_len,
                          .build = build,
                          .pool = r->ex->pool,
                          .limits = r->judge.limits};
    int reported = 0;
    for (int i = 0; rc == 0 && it && i < r->judge.ntests && !atomic_load(&j->halt); i++) {
        const Dojo__Content__V1__TestCase *tc = r->judge.tests[i].tc;
        interaction_t *x = arena_alloc(&j->arena, sizeof *x);
        char msg[EXEC_MESSAGE_MAX + 1];
        exec_verdict_t verdict = V(IE);
        snprintf(msg, sizeof msg, "the interactor does not compile");
        memset(x, 0, sizeof *x);
        if (interactor_usable(it)) {
            /* Blob data (test data at real size) is mapped for this test only. */
            judge_test_t *bt = &r->judge.tests[i];
            const char *in = tc->input ? tc->input : "", *ans = tc->expected ? tc->expected : "";
            size_t in_len = strlen(in), ans_len = strlen(ans);
            bool mapped = (!bt->input_file || map_file(bt->input_file, &bt->input, &bt->input_len)) &&
                          (!bt->expected_file ||
                           map_file(bt->expected_file, &bt->expected, &bt->expected_len));
            if (bt->input) {
                in = bt->input;
                in_len = bt->input_len;
            }
            if (bt->expected) {
                ans = bt->expected;
                ans_len = bt->expected_len;
            }
            int irc = mapped ? interact_test(it, &sub, in, in_len, ans, ans_len, tc->validator_flags,
                                           &j->halt, x, &err)
                             : err_set(&err, GRPC_STATUS_UNAVAILABLE, "test data unreadable");
            unmap_file(&bt->input, bt->input_len);
            unmap_file(&bt->expected, bt->expected_len);
            if (irc < 0) {
                rc = -1;
                break;
            }
            if (atomic_load(&j->cancel))
                break; /* stopped halfway: neither side's verdict counts */
            verdict = interaction_verdict(x, &r->judge.limits, msg, sizeof msg);
        }
        judge_test_t *t =
            judge_interaction(&r->judge, i, x->sub_reported ? &x->sub : NULL, verdict, msg);
        reported++;
        atomic_fetch_add(&j->tests_done, 1);
        emit_test_result(r, t);
        if (judge_stopped(&r->judge))
            atomic_store(&j->halt, true);
    }
    interactor_release(it);
    sandbox_build_free(build);
    j->sandbox_ms += mono_ms() - r->run_started_ms;
    if (rc < 0) {
        LOG_ERROR("interactive run failed", "submission=%s error=\"%s\"", j->submission_id,
                  log_esc(err->msg));
        exec_emit_job_error(j, "the sandbox did not start; retrying", will_retry(r));
        return stop(r, EXEC_JOB_RETRY, "interactive: %s", err->msg);
    }
    if (rc == 0 && build) {
        r->outcome.end = atomic_load(&j->cancel) ? SANDBOX_CANCELLED : SANDBOX_DONE;
        r->outcome.tests_reported = reported;
    } else if (atomic_load(&j->cancel)) {
        r->outcome.end = SANDBOX_CANCELLED;
    }
    r->outcome.total_wall_ms = mono_ms() - r->run_started_ms;
    r->end = judge_run_end(&r->judge, &r->outcome, atomic_load(&j->cancel));
    return STEP_NEXT;
}

/* One test's input judged by the input validator: its verdict at once, with
 * the validator's words even for a hidden test (RunJob's callers are the
 * task's author or a service: the data is theirs). */
static void on_input_checked(void *payload, const sandbox_record_t *rec)
{
    job_run_t *r = payload;
    exec_verdict_t v = validator_verdict(rec);
    char said[EXEC_MESSAGE_MAX + 1], msg[EXEC_MESSAGE_MAX + 1];
    validator_message(rec->out, rec->out_len, rec->err, rec->err_len, said, sizeof said);
    if (v == V(IE))
        snprintf(msg, sizeof msg, "the input validator failed (%s, exit %d)%s%s", rec->status,
                 rec->exit_code, said[0] ? ": " : "", said);
    else
        snprintf(msg, sizeof msg, "%s", said[0] ? said : v == V(AC) ? "accepted" : "refused");
    judge_test_t *t = judge_interaction(&r->judge, rec->index, rec, v, msg);
    if (t == NULL)
        return;
    atomic_fetch_add(&r->j->tests_done, 1);
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_TEST_RESULT;
    ev.test_result = judge_test_result(t);
    ev.test_result->message = t->message;
    exec_emit_or_log(r->j, &ev);
    t->emitted = true;
}

/* An input validator of the task's package over every test's input, in a
 * sandbox of its own: the tests' verdicts are its (AC accepted, WA refused,
 * IE failed); one that does not compile is CE with the compiler's words. */
static int step_input_validator(job_run_t *r)
{
    if (!r->validating)
        return STEP_NEXT;
    exec_job_t *j = r->j;
    const char **inputs, **input_files;
    size_t *lens;
    judge_inputs(&r->judge, &inputs, &lens, &input_files);
    atomic_store(&j->stage, r->lang->compile_argv[0] ? STAGE(COMPILING) : STAGE(RUNNING));
    r->run_started_ms = mono_ms();
    cleanup_free char *compiled = NULL;
    cleanup_err err_t *err = NULL;
    int rc = 0;
    memset(&r->outcome, 0, sizeof r->outcome);
    if (atomic_load(&j->cancel))
        r->outcome.end = SANDBOX_CANCELLED;
    else
        rc =
            input_validator_run(&r->ex->sandbox, r->ex->cfg.runtime, j->slot, r->lang,
                                r->job->input_validator, inputs, lens, input_files, r->judge.ntests,
                                on_input_checked, r, &j->halt, &compiled, &r->outcome, &err);
    j->sandbox_ms += mono_ms() - r->run_started_ms;
    if (rc < 0) {
        LOG_ERROR("input validator failed", "submission=%s error=\"%s\"", j->submission_id,
                  log_esc(err->msg));
        exec_emit_job_error(j, "the sandbox did not start; retrying", will_retry(r));
        return stop(r, EXEC_JOB_RETRY, "input validator: %s", err->msg);
    }
    if (rc == 1) {
        on_compile(r, false, compiled, strlen(compiled));
        r->outcome.end = SANDBOX_COMPILE_ERROR;
    }
    r->outcome.total_wall_ms = mono_ms() - r->run_started_ms;
    r->end = judge_run_end(&r->judge, &r->outcome, atomic_load(&j->cancel));
    return STEP_NEXT;
}

/* The author's checker: one sandbox of its own for every test that ran cleanly. */
static int step_custom_checker(job_run_t *r)
{
    if (!r->judge.custom || r->stdin_run || r->interactor || r->validating ||
        r->end != SANDBOX_DONE)
        return STEP_NEXT;
    exec_job_t *j = r->j;
    /* Blob data of the checked tests, mapped for the checker's run. */
    for (int i = 0; i < r->judge.ntests; i++) {
        judge_test_t *t = &r->judge.tests[i];
        if (t->deferred && t->input_file)
            (void)map_file(t->input_file, &t->input, &t->input_len);
        if (t->deferred && t->expected_file)
            (void)map_file(t->expected_file, &t->expected, &t->expected_len);
    }
    checker_case_t *cases;
    int n = judge_checker_cases(&r->judge, &cases);
    cleanup_err err_t *err = NULL;
    int64_t t0 = mono_ms();
    const exec_checker_t *ck = &r->judge.checker;
    int rc = ck->kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_PACKAGE_VALIDATOR
                 ? checker_run_validator(&r->ex->sandbox, r->ex->cfg.runtime, j->slot,
                                         r->checker_lang, ck->validator, cases, n, &j->cancel,
                                         &err)
                 : checker_run_custom(&r->ex->sandbox, r->ex->cfg.runtime, j->slot,
                                      r->checker_lang, ck->custom_source, cases, n, &j->cancel,
                                      &err);
    j->sandbox_ms += mono_ms() - t0;
    for (int i = 0; i < r->judge.ntests; i++) {
        unmap_file(&r->judge.tests[i].input, r->judge.tests[i].input_len);
        unmap_file(&r->judge.tests[i].expected, r->judge.tests[i].expected_len);
    }
    if (rc < 0) {
        exec_emit_job_error(j, "the checker did not start; retrying", will_retry(r));
        return stop(r, EXEC_JOB_RETRY, "%s", err->msg);
    }
    judge_checked(&r->judge, cases, n);
    r->checked = true;
    if (atomic_load(&j->cancel))
        r->end = SANDBOX_CANCELLED;
    return STEP_NEXT;
}

/* Tests not reported yet get their verdicts and events, in test order. */
static int step_verdicts(job_run_t *r)
{
    judge_finish(&r->judge, r->end, r->checked);
    for (int i = 0; i < r->judge.ntests && r->end != SANDBOX_COMPILE_ERROR; i++)
        if (!r->judge.tests[i].emitted)
            emit_test_result(r, &r->judge.tests[i]);
    judge_result(&r->judge, r->end, &r->result);
    r->wall_ms = r->outcome.total_wall_ms > 0 ? r->outcome.total_wall_ms
                                              : mono_ms() - r->run_started_ms;
    return STEP_NEXT;
}

/* Recorded before announced, announced before acknowledged: a job that dies
 * in between is redelivered and re-publishes the stored result. */
static int step_record(job_run_t *r)
{
    exec_job_t *j = r->j;
    if (!j->record)
        return STEP_NEXT;
    Dojo__Gamification__V1__RecordResultRequest req;
    judge_record_request(&r->judge, &r->result, j->submission_id, r->ex->cfg.executor_id,
                         j->started_us, wall_us(), r->wall_ms, &req);
    cleanup_err err_t *err = NULL;
    if (exec_record_result(j, &req, &r->recorded, &err) == 0)
        return STEP_NEXT;
    if (r->judge.is_run) {
        LOG_WARN("run result not recorded", "submission=%s error=\"%s\"", j->submission_id,
                 log_esc(err->msg));
        return STEP_NEXT;
    }
    LOG_WARN("result not recorded; leaving the job for another attempt",
             "submission=%s error=\"%s\"", j->submission_id, log_esc(err->msg));
    exec_emit_job_error(j, "the result could not be saved; retrying", will_retry(r));
    return stop(r, EXEC_JOB_RETRY, "%s", err->msg);
}

static int step_final_event(job_run_t *r)
{
    exec_job_t *j = r->j;
    const judge_result_t *res = &r->result;
    Dojo__Executor__V1__FinalResult fr;
    judge_final_result(res, r->wall_ms, r->recorded, &fr);
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
    ev.result = &fr;
    cleanup_err err_t *err = NULL;
    if (exec_emit(j, &ev, &err) < 0)
        return stop(r, EXEC_JOB_RETRY, "%s", err->msg); /* a redelivery re-publishes it */
    atomic_fetch_add(&r->ex->jobs_done, 1);
    if (res->verdict == V(IE))
        atomic_fetch_add(&r->ex->jobs_failed, 1);
    const char *kind = r->judge.is_run ? "run" : "submit";
    char labels[96];
    snprintf(labels, sizeof labels, "kind=\"%s\",verdict=\"%s\"", kind,
             exec_verdict_name(res->verdict));
    metrics_counter_add("dojo_executor_jobs_total", labels, 1);
    metrics_counter_add("dojo_executor_tests_total", "", res->total);
    const Dojo__Executor__V1__Job *job = r->job;
    LOG_INFO("job done", "submission=%s kind=%s user=%s task=%s v=%d lang=%s attempt=%d "
                         "verdict=%s score=%d/%d tests=%d wall_ms=%lld recorded=%d",
             j->submission_id, kind, job->user_id ? job->user_id : "",
             job->task_slug ? job->task_slug : "", job->task_version, job->language, j->attempt,
             exec_verdict_name(res->verdict), res->score, res->max_score, res->total,
             (long long)r->wall_ms, r->recorded != NULL);
    return STEP_NEXT;
}

static int (*const job_steps[])(job_run_t *) = {
    step_resume_events,  step_judged_before, step_control,     step_bundle,
    step_language,       step_plan,          step_blobs,       step_stdin,
    step_started,        step_sandbox,       step_interactive, step_input_validator,
    step_custom_checker, step_verdicts,      step_record,      step_final_event,
};

/* ------------------------------------------------------------------------
 * The job
 * ------------------------------------------------------------------------ */

exec_job_end_t exec_job_run(exec_job_t *j, char *reason, size_t cap)
{
    const Dojo__Executor__V1__Job *job = j->job;
    bool is_run = job->kind == DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN;
    job_run_t r = {
        .j = j,
        .ex = j->ex,
        .job = job,
        .stdin_run = is_run && !job->sample_tests,
        .interactive = is_run && !job->sample_tests && job->interactive && !j->synchronous,
        .validating = job->input_validator != NULL && j->synchronous && !is_run,
        .stdin_r = -1,
        .ending = EXEC_JOB_FINISHED,
        .reason = reason,
        .reason_cap = cap,
    };
    reason[0] = '\0';
    atomic_store(&j->stage, STAGE(PREPARING));
    for (size_t i = 0; i < sizeof job_steps / sizeof *job_steps; i++)
        if (job_steps[i](&r) != STEP_NEXT)
            break;

    atomic_store(&j->done, true);
    exec_control_stop(r.control);
    for (int i = 0; i < r.nblobs; i++)
        exec_blob_release(r.ex, r.blobs[i]);
    if (r.bundle_cached)
        exec_bundle_release(r.ex, r.bundle);
    if (r.recorded)
        protobuf_c_message_free_unpacked(&r.recorded->base, NULL);
    if (r.stdin_r >= 0)
        close(r.stdin_r);
    return r.ending;
}
