/* judge.c — from driver records to verdicts, score, summary and the result
 * messages; see judge.h. Pure functions over the judge's state. */
#define _GNU_SOURCE
#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V(x) DOJO__COMMON__V1__VERDICT__VERDICT_##x

/* ------------------------------------------------------------------------
 * The plan: tests, checker, limits
 * ------------------------------------------------------------------------ */

const Dojo__Content__V1__LanguageOption *judge_task_language(const Dojo__Content__V1__JudgeBundle *b,
                                                             const char *id)
{
    for (size_t i = 0; id && i < b->n_languages; i++)
        if (b->languages[i]->language && !strcmp(b->languages[i]->language, id))
            return b->languages[i];
    return NULL;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

void judge_limits(const Dojo__Executor__V1__Job *job, const Dojo__Content__V1__JudgeBundle *b,
                  const Dojo__Content__V1__LanguageOption *opt, sandbox_limits_t *out)
{
    const Dojo__Content__V1__Limits *l = opt && opt->limits ? opt->limits : b->limits;
    out->cpu_ms = l && l->cpu_ms ? l->cpu_ms : 2000;
    out->wall_ms = l && l->wall_ms ? l->wall_ms : 5000;
    out->memory_kib = l && l->memory_kib ? l->memory_kib : 262144;
    out->output_kib = l && l->output_kib ? l->output_kib : 1024;
    if (job->kind == DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN && job->limits) {
        const Dojo__Content__V1__Limits *o = job->limits;
        if (o->cpu_ms)
            out->cpu_ms = (int)clamp64(o->cpu_ms, 100, 10000);
        if (o->wall_ms)
            out->wall_ms = (int)clamp64(o->wall_ms, 100, 30000);
        if (o->memory_kib)
            out->memory_kib = (int)clamp64(o->memory_kib, 16384, 1048576);
        if (o->output_kib)
            out->output_kib = (int)clamp64(o->output_kib, 1, 16384);
        if (out->wall_ms < out->cpu_ms)
            out->wall_ms = out->cpu_ms;
    }
}

void judge_init(judge_t *jd, arena_t *a, const Dojo__Executor__V1__Job *job,
                const Dojo__Content__V1__JudgeBundle *b,
                const Dojo__Content__V1__LanguageOption *opt)
{
    memset(jd, 0, sizeof *jd);
    jd->arena = a;
    jd->is_run = job->kind == DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN;
    jd->stdin_run = jd->is_run && !job->sample_tests;
    exec_checker_from_bundle(b->checker, &jd->checker);
    /* A program of the author's decides (after the run): a custom checker or
     * a package validator. */
    jd->custom = jd->checker.kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM ||
                 jd->checker.kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_PACKAGE_VALIDATOR;
    /* Runs show every sample test's output: only submissions stop early,
     * where the task says so or the job does (an ICPC contest's). */
    jd->stop_at_first_failure =
        (b->stop_at_first_failure || job->stop_at_first_failure) && !jd->is_run;
    judge_limits(job, b, opt, &jd->limits);
    jd->bundle_max_score = b->max_score;
    jd->tests = arena_alloc(a, (b->n_tests + 1) * sizeof *jd->tests);
    if (jd->stdin_run)
        return;
    int hidden_k = 0;
    for (size_t i = 0; i < b->n_tests; i++) {
        const Dojo__Content__V1__TestCase *tc = b->tests[i];
        if (tc->hidden)
            hidden_k++;
        if (jd->is_run && tc->hidden)
            continue;
        judge_test_t *t = &jd->tests[jd->ntests++];
        t->bundle_index = (int)i;
        t->tc = tc;
        t->hidden_k = tc->hidden ? hidden_k : 0;
        t->verdict = V(UNSPECIFIED);
        t->flags_bad = !exec_checker_with_flags(&jd->checker, tc->validator_flags, &t->checker);
    }
}

void judge_inputs(const judge_t *jd, const char ***inputs, size_t **lens, const char ***files)
{
    *inputs = arena_alloc(jd->arena, ((size_t)jd->ntests + 1) * sizeof **inputs);
    *lens = arena_alloc(jd->arena, ((size_t)jd->ntests + 1) * sizeof **lens);
    const char **f = arena_alloc(jd->arena, ((size_t)jd->ntests + 1) * sizeof *f);
    bool any = false;
    for (int i = 0; i < jd->ntests; i++) {
        (*inputs)[i] = jd->tests[i].tc->input ? jd->tests[i].tc->input : "";
        (*lens)[i] = strlen((*inputs)[i]);
        f[i] = jd->tests[i].input_file;
        any = any || f[i];
    }
    if (files)
        *files = any ? f : NULL;
}

/* ------------------------------------------------------------------------
 * Records as they arrive
 * ------------------------------------------------------------------------ */

/* exec_utf8_clean into the arena. */
static char *clean(arena_t *a, const char *s, size_t len, size_t max)
{
    char *c = exec_utf8_clean(s ? s : "", s ? len : 0, max);
    char *out = arena_strdup(a, c);
    free(c);
    return out;
}

void judge_compile(judge_t *jd, bool ok, const char *output, size_t len)
{
    jd->compile_reported = true;
    jd->compile_ok = ok;
    jd->compile_output = clean(jd->arena, output, len, EXEC_COMPILE_OUTPUT_MAX);
}

/* The last line of stderr, for a visible test's runtime error message. */
static void append_stderr_tail(char *msg, size_t cap, const char *err, size_t len)
{
    while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == '\r' || err[len - 1] == ' '))
        len--;
    if (len == 0)
        return;
    size_t start = len;
    while (start > 0 && err[start - 1] != '\n')
        start--;
    char *tail = exec_utf8_clean(err + start, len - start, 120);
    size_t used = strlen(msg);
    if (used + 3 < cap)
        snprintf(msg + used, cap - used, ": %s", tail);
    free(tail);
}

judge_test_t *judge_record(judge_t *jd, const sandbox_record_t *rec)
{
    if (jd->stdin_run) {
        jd->have_record = true;
        jd->rec = *rec;
        jd->rec.out = NULL;
        jd->rec.err = NULL;
        jd->rec_verdict = exec_verdict_of_record(rec, &jd->limits, jd->rec_msg, sizeof jd->rec_msg);
        return NULL;
    }
    if (rec->index < 0 || rec->index >= jd->ntests)
        return NULL;
    judge_test_t *t = &jd->tests[rec->index];
    t->reported = true;
    t->cpu_ms = rec->cpu_ms;
    t->wall_ms = rec->wall_ms;
    t->rss_kib = rec->rss_kib;
    if (!t->tc->hidden)
        t->excerpt = clean(jd->arena, rec->out ? rec->out : "", rec->out_len, EXEC_EXCERPT_MAX);
    t->verdict = exec_verdict_of_record(rec, &jd->limits, t->message, sizeof t->message);
    if (t->verdict == V(RE) && !t->tc->hidden && rec->err)
        append_stderr_tail(t->message, sizeof t->message, rec->err, rec->err_len);
    if (t->verdict != V(AC)) {
        jd->stopped = jd->stopped || jd->stop_at_first_failure;
        return t;
    }
    if (jd->custom) {
        /* judged after the run, in one checker sandbox */
        t->actual = arena_strndup(jd->arena, rec->out ? rec->out : "", rec->out ? rec->out_len : 0);
        t->actual_len = rec->out ? rec->out_len : 0;
        t->deferred = true;
        return t;
    }
    if (t->flags_bad) {
        /* Content refuses such flags: a bundle that has them is broken. */
        t->verdict = V(IE);
        snprintf(t->message, sizeof t->message,
                 "the test's validator flags are not the default validator's");
        return t;
    }
    if (t->expected_file && !t->expected) {
        /* Its blob could not be read: the judge's fault, not the program's. */
        t->verdict = V(IE);
        snprintf(t->message, sizeof t->message, "the expected output could not be read");
        return t;
    }
    const char *exp = t->expected ? t->expected : t->tc->expected ? t->tc->expected : "";
    size_t elen = t->expected ? t->expected_len : strlen(exp);
    if (!checker_compare(&t->checker, exp, elen, rec->out ? rec->out : "", rec->out_len,
                         t->message, sizeof t->message)) {
        t->verdict = V(WA);
        jd->stopped = jd->stopped || jd->stop_at_first_failure;
    } else {
        t->message[0] = '\0';
    }
    return t;
}

judge_test_t *judge_interaction(judge_t *jd, int index, const sandbox_record_t *rec,
                                exec_verdict_t verdict, const char *message)
{
    if (index < 0 || index >= jd->ntests)
        return NULL;
    judge_test_t *t = &jd->tests[index];
    t->reported = true;
    if (rec) {
        t->cpu_ms = rec->cpu_ms;
        t->wall_ms = rec->wall_ms;
        t->rss_kib = rec->rss_kib;
    }
    t->verdict = verdict;
    snprintf(t->message, sizeof t->message, "%s", message ? message : "");
    if (verdict != V(AC))
        jd->stopped = jd->stopped || jd->stop_at_first_failure;
    return t;
}

bool judge_stopped(const judge_t *jd) { return jd->stopped; }

/* ------------------------------------------------------------------------
 * The custom checker's pass
 * ------------------------------------------------------------------------ */

int judge_checker_cases(judge_t *jd, checker_case_t **out)
{
    checker_case_t *cases = arena_alloc(jd->arena, ((size_t)jd->ntests + 1) * sizeof *cases);
    int n = 0;
    for (int i = 0; i < jd->ntests; i++) {
        const judge_test_t *t = &jd->tests[i];
        if (!t->deferred)
            continue;
        checker_case_t *c = &cases[n++];
        c->input = t->input ? t->input : t->tc->input ? t->tc->input : "";
        c->input_len = t->input ? t->input_len : strlen(c->input);
        c->expected = t->expected ? t->expected : t->tc->expected ? t->tc->expected : "";
        c->expected_len = t->expected ? t->expected_len : strlen(c->expected);
        c->actual = t->actual ? t->actual : "";
        c->actual_len = t->actual_len;
        c->flags = t->tc->validator_flags;
    }
    *out = cases;
    return n;
}

void judge_checked(judge_t *jd, const checker_case_t *cases, int n)
{
    int k = 0;
    for (int i = 0; i < jd->ntests && k < n; i++) {
        judge_test_t *t = &jd->tests[i];
        if (!t->deferred)
            continue;
        t->verdict = cases[k].verdict;
        snprintf(t->message, sizeof t->message, "%s", cases[k].message);
        k++;
    }
}

/* ------------------------------------------------------------------------
 * The end of the run
 * ------------------------------------------------------------------------ */

sandbox_end_t judge_run_end(const judge_t *jd, const sandbox_outcome_t *o, bool cancelled)
{
    if (!cancelled)
        return o->end;
    if (o->end != SANDBOX_CANCELLED && o->tests_reported < jd->ntests)
        return SANDBOX_CANCELLED;
    if (o->end == SANDBOX_DONE && jd->ntests == 0 && !jd->have_record)
        return SANDBOX_CANCELLED;
    return o->end;
}

/* The verdict of a test that never got one of its own. */
static exec_verdict_t missing_verdict(sandbox_end_t end, const char **msg)
{
    switch (end) {
    case SANDBOX_WALL_KILLED:
        *msg = "the time limit of the whole run was exceeded";
        return V(TLE);
    case SANDBOX_CRASHED:
        *msg = "the sandbox was killed (resource limits)";
        return V(RE);
    case SANDBOX_CANCELLED:
        *msg = "cancelled";
        return V(CANCELLED);
    default:
        *msg = "not run";
        return V(IE);
    }
}

void judge_finish(judge_t *jd, sandbox_end_t end, bool checked)
{
    if (end == SANDBOX_COMPILE_ERROR)
        return;
    const char *msg;
    exec_verdict_t missing = missing_verdict(end, &msg);
    for (int i = 0; i < jd->ntests; i++) {
        judge_test_t *t = &jd->tests[i];
        if (!t->reported && jd->stopped) {
            t->verdict = V(NOT_RUN);
            snprintf(t->message, sizeof t->message, "not run: an earlier test failed");
        } else if (!t->reported || (t->deferred && !checked)) {
            t->verdict = missing;
            snprintf(t->message, sizeof t->message, "%s", msg);
        }
    }
}

Dojo__Gamification__V1__TestResult *judge_test_result(judge_test_t *t)
{
    Dojo__Gamification__V1__TestResult *tr = &t->result;
    dojo__gamification__v1__test_result__init(tr);
    tr->index = t->bundle_index;
    tr->hidden = t->tc->hidden;
    tr->name = t->tc->hidden ? NULL : t->tc->name;
    tr->verdict = t->verdict;
    tr->cpu_ms = (int32_t)t->cpu_ms;
    tr->wall_ms = (int32_t)t->wall_ms;
    tr->memory_kib = (int32_t)t->rss_kib;
    tr->weight = t->tc->weight > 0 ? t->tc->weight : 1;
    tr->group = t->tc->group; /* IOI scoring counts groups whole */
    tr->output_excerpt = t->excerpt && !t->tc->hidden ? t->excerpt : "";
    if (!t->tc->hidden) {
        tr->message = t->message[0] ? t->message : (char *)exec_verdict_phrase(t->verdict);
        return tr;
    }
    /* Hidden tests never quote input, expected or actual output. */
    snprintf(t->name, sizeof t->name, "hidden-%d", t->hidden_k);
    tr->name = t->name;
    switch (t->verdict) {
    case V(RE):
    case V(TLE):
    case V(MLE):
    case V(OLE):
        tr->message = t->message; /* figures and exit codes only */
        break;
    default:
        tr->message = (char *)exec_verdict_phrase(t->verdict);
    }
    return tr;
}

/* ------------------------------------------------------------------------
 * The overall result
 * ------------------------------------------------------------------------ */

static void summary(const judge_t *jd, judge_result_t *res)
{
    char *out = res->message;
    size_t cap = sizeof res->message;
    exec_verdict_t verdict = res->verdict;
    if (verdict == V(CANCELLED)) {
        snprintf(out, cap, "cancelled");
    } else if (verdict == V(CE)) {
        snprintf(out, cap, "compilation failed");
    } else if (jd->stdin_run) {
        if (!jd->have_record)
            snprintf(out, cap, "%s", exec_verdict_phrase(verdict));
        else if (verdict == V(AC))
            snprintf(out, cap, "exited with code 0 in %ld ms", jd->rec.wall_ms);
        else
            snprintf(out, cap, "%s: %s", exec_verdict_phrase(verdict), jd->rec_msg);
    } else if (verdict == V(AC)) {
        snprintf(out, cap, "all %d tests passed", res->total);
    } else {
        snprintf(out, cap, "%d/%d tests passed", res->passed, res->total);
        int not_run = 0;
        for (int i = 0; i < jd->ntests; i++)
            not_run += jd->tests[i].verdict == V(NOT_RUN);
        for (int i = 0; i < jd->ntests; i++) {
            const judge_test_t *t = &jd->tests[i];
            if (t->verdict != V(AC) && t->verdict != V(NOT_RUN)) {
                snprintf(out, cap, "%d/%d tests passed; %s: %s", res->passed, res->total,
                         t->result.name ? t->result.name : "?", exec_verdict_phrase(t->verdict));
                break;
            }
        }
        size_t used = strlen(out);
        if (not_run > 0 && used < cap)
            snprintf(out + used, cap - used, "; %d not run", not_run);
    }
}

/* Sums over the tests: the first failing verdict, passed, score, figures. */
static void tally(judge_t *jd, judge_result_t *res)
{
    res->tests = arena_alloc(jd->arena, ((size_t)jd->ntests + 1) * sizeof *res->tests);
    for (int i = 0; i < jd->ntests; i++) {
        judge_test_t *t = &jd->tests[i];
        Dojo__Gamification__V1__TestResult *tr = judge_test_result(t);
        res->tests[res->ntests++] = tr;
        res->max_score += tr->weight;
        res->cpu_ms += t->cpu_ms;
        if (t->rss_kib > res->memory_kib)
            res->memory_kib = t->rss_kib;
        if (t->verdict == V(AC)) {
            res->passed++;
            res->score += tr->weight;
        } else if (res->verdict == V(AC) && t->verdict != V(NOT_RUN)) {
            res->verdict = t->verdict;
        }
    }
}

/* A RUN on stdin: its one record, or how the run ended without one. */
static void stdin_run_result(judge_t *jd, sandbox_end_t end, judge_result_t *res)
{
    if (jd->have_record) {
        res->verdict = jd->rec_verdict;
        res->cpu_ms = jd->rec.cpu_ms;
        res->memory_kib = jd->rec.rss_kib;
        res->exit_code = jd->rec.term_signal ? -1 : jd->rec.exit_code;
        res->term_signal = jd->rec.term_signal;
        return;
    }
    const char *msg;
    res->verdict = missing_verdict(end, &msg);
    res->exit_code = -1;
    res->term_signal = end == SANDBOX_WALL_KILLED ? 9 : 0;
    if (res->verdict == V(TLE))
        snprintf(jd->rec_msg, sizeof jd->rec_msg, "wall-clock time limit exceeded");
}

void judge_result(judge_t *jd, sandbox_end_t end, judge_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = V(AC);
    out->total = jd->ntests;
    bool compile_failed = end == SANDBOX_COMPILE_ERROR;
    if (!compile_failed)
        tally(jd, out);
    if (!jd->is_run && jd->bundle_max_score > out->max_score)
        out->max_score = jd->bundle_max_score;
    if (compile_failed) {
        out->verdict = V(CE);
        out->score = out->passed = 0;
        if (!jd->compile_reported)
            jd->compile_output = "compilation failed";
    } else if (end == SANDBOX_CANCELLED) {
        out->verdict = V(CANCELLED);
    } else if (jd->stdin_run) {
        stdin_run_result(jd, end, out);
    }
    if (out->verdict == V(UNSPECIFIED))
        out->verdict = V(IE);
    summary(jd, out);
}

/* ------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------ */

static Dojo__Common__V1__Timestamp *timestamp(arena_t *a, int64_t us)
{
    Dojo__Common__V1__Timestamp *t = arena_alloc(a, sizeof *t);
    dojo__common__v1__timestamp__init(t);
    t->unix_micros = us;
    return t;
}

void judge_record_request(judge_t *jd, const judge_result_t *res, const char *submission_id,
                          const char *executor_id, int64_t started_us, int64_t finished_us,
                          int64_t wall_ms, Dojo__Gamification__V1__RecordResultRequest *out)
{
    dojo__gamification__v1__record_result_request__init(out);
    out->submission_id = (char *)submission_id;
    out->verdict = res->verdict;
    out->score = res->score;
    out->max_score = res->max_score;
    out->n_tests = res->ntests;
    out->tests = res->tests;
    out->compile_output = jd->compile_output ? jd->compile_output : "";
    out->cpu_ms = res->cpu_ms;
    out->wall_ms = wall_ms;
    out->memory_kib = (int32_t)res->memory_kib;
    out->started_at = timestamp(jd->arena, started_us);
    out->finished_at = timestamp(jd->arena, finished_us);
    out->executor_id = (char *)executor_id;
}

void judge_final_result(const judge_result_t *res, int64_t wall_ms,
                        const Dojo__Gamification__V1__RecordResultResponse *recorded,
                        Dojo__Executor__V1__FinalResult *out)
{
    dojo__executor__v1__final_result__init(out);
    out->verdict = res->verdict;
    out->score = res->score;
    out->max_score = res->max_score;
    out->tests_passed = res->passed;
    out->tests_total = res->total;
    out->cpu_ms = res->cpu_ms;
    out->wall_ms = wall_ms;
    out->memory_kib = (int32_t)res->memory_kib;
    out->exit_code = res->exit_code;
    out->term_signal = res->term_signal;
    out->message = (char *)res->message;
    out->recorded = recorded != NULL;
    out->awards = recorded ? recorded->awards : NULL;
}

void judge_stored_result(const Dojo__Gamification__V1__Submission *s,
                         Dojo__Executor__V1__FinalResult *out, char *msg, size_t cap)
{
    dojo__executor__v1__final_result__init(out);
    out->verdict = s->verdict;
    out->score = s->score;
    out->max_score = s->max_score;
    out->tests_total = (int32_t)s->n_tests;
    for (size_t i = 0; i < s->n_tests; i++)
        if (s->tests[i]->verdict == V(AC))
            out->tests_passed++;
    out->cpu_ms = s->cpu_ms;
    out->wall_ms = s->wall_ms;
    out->memory_kib = s->memory_kib;
    out->exit_code = 0;
    if (s->n_tests)
        snprintf(msg, cap, "%d/%d tests passed; %s (already judged)", out->tests_passed,
                 out->tests_total, exec_verdict_phrase(s->verdict));
    else
        snprintf(msg, cap, "%s (already judged)", exec_verdict_phrase(s->verdict));
    out->message = msg;
    out->awards = s->awards;
    out->recorded = true;
}
