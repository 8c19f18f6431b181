/* validator.c — output validators of the Kattis / ICPC problem package format
 * (content.proto PackageValidator): the program they become in their
 * language, their verdicts and messages, the cache of their builds, and
 * their run over a submission's outputs in a sandbox of their own.
 *
 * Called as `validator input_file answer_file feedback_dir [flags...] <
 * team_output`: the driver (plan judge_files) puts each test's input and
 * answer in /tmp/judge and makes /tmp/judge/feedback/ for it. Exit 42 is
 * accepted, 43 wrong answer, anything else a judge error (IE) whose details
 * only the log sees. Everything but validator_build_get and
 * checker_run_validator is pure (t/test_checker.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

#define V(x) DOJO__COMMON__V1__VERDICT__VERDICT_##x

/* ------------------------------------------------------------------------
 * The program: the language's commands over the validator's files
 * ------------------------------------------------------------------------ */

static const char *file_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot : "";
}

/* Whether the compiler takes `name` among its sources: the language's own
 * extension (C++ also .cc and .cxx). */
static bool is_source(const sandbox_lang_t *lang, const char *name)
{
    const char *ext = file_ext(name), *own = file_ext(lang->source_name);
    if (!strcmp(ext, own) && ext[0])
        return true;
    return !strcmp(lang->id, "cpp") && (!strcmp(ext, ".cc") || !strcmp(ext, ".cxx"));
}

/* Languages whose compile step takes only the entry (Rust finds its modules
 * from it; JavaScript's is a syntax check of what runs). */
static bool entry_only(const sandbox_lang_t *lang)
{
    return !strcmp(lang->id, "rust") || !strcmp(lang->id, "javascript");
}

static char *own(validator_prog_t *p, char *s)
{
    if (p->nowned < (int)(sizeof p->owned / sizeof *p->owned))
        p->owned[p->nowned++] = s;
    return s;
}

static int put(char **argv, int *n, char *arg)
{
    if (*n >= SANDBOX_ARGV_MAX - 1)
        return -1;
    argv[(*n)++] = arg;
    argv[*n] = NULL;
    return 0;
}

int validator_prog_init(validator_prog_t *p, const sandbox_lang_t *base,
                        const Dojo__Content__V1__PackageValidator *v, validator_role_t role,
                        char *why, size_t cap)
{
    memset(p, 0, sizeof *p);
    if (v == NULL || v->n_files == 0 || v->files[0]->name == NULL) {
        snprintf(why, cap, "the validator has no files");
        return -1;
    }
    p->lang = *base;
    sandbox_lang_t *l = &p->lang;
    /* No zygote: it runs the learner's way (no arguments); a validator runs
     * its language's own command. */
    l->zygote_argv[0] = NULL;
    l->zygote_source[0] = '\0';
    l->main_class_from_source = false; /* its files are named by the package */
    const char *entry = v->files[0]->name;
    snprintf(l->source_name, sizeof l->source_name, "%s", entry);
    char src_path[128], entry_path[128], src_stem[64], entry_stem[64];
    snprintf(src_path, sizeof src_path, "/judge/code/%s", base->source_name);
    snprintf(entry_path, sizeof entry_path, "/judge/code/%s", entry);
    snprintf(src_stem, sizeof src_stem, "%.*s", (int)(file_ext(base->source_name) - base->source_name),
             base->source_name);
    snprintf(entry_stem, sizeof entry_stem, "%.*s", (int)(file_ext(entry) - entry), entry);

    int n = 0;
    l->compile_argv[0] = NULL;
    for (int i = 0; base->compile_argv[i]; i++) {
        int rc = 0;
        if (strcmp(base->compile_argv[i], src_path) != 0) {
            rc = put(l->compile_argv, &n, base->compile_argv[i]);
        } else {
            rc = put(l->compile_argv, &n, own(p, xstrdup(entry_path)));
            for (size_t k = 1; rc == 0 && !entry_only(base) && k < v->n_files; k++)
                if (is_source(base, v->files[k]->name))
                    rc = put(l->compile_argv, &n,
                             own(p, xasprintf("/judge/code/%s", v->files[k]->name)));
        }
        if (rc < 0) {
            snprintf(why, cap, "too many source files for one command line");
            validator_prog_free(p);
            return -1;
        }
    }
    bool python = !strncmp(base->id, "python", 6);
    n = 0;
    l->run_argv[0] = NULL;
    int rc = 0;
    for (int i = 0; base->run_argv[i] && rc == 0; i++) {
        const char *a = base->run_argv[i];
        if (!strcmp(a, src_path))
            rc = put(l->run_argv, &n, own(p, xstrdup(entry_path)));
        else if (src_stem[0] && !strcmp(a, src_stem)) /* Java's main class */
            rc = put(l->run_argv, &n, own(p, xstrdup(entry_stem)));
        else if (python && !strcmp(a, "-I")) /* isolated, but the entry's folder on the path */
            rc = put(l->run_argv, &n, "-E") < 0 ? -1 : put(l->run_argv, &n, "-s");
        else
            rc = put(l->run_argv, &n, (char *)a);
    }
    /* An input validator reads the input on stdin and takes only its flags. */
    static char *const fixed[] = {VALIDATOR_INPUT, VALIDATOR_ANSWER, VALIDATOR_FEEDBACK};
    for (int i = 0; role == VALIDATOR_OUTPUT && i < 3 && rc == 0; i++)
        rc = put(l->run_argv, &n, fixed[i]);
    for (size_t i = 0; i < v->n_flags && rc == 0; i++)
        rc = put(l->run_argv, &n, v->flags[i]);
    if (rc < 0) {
        snprintf(why, cap, "too many flags for one command line");
        validator_prog_free(p);
        return -1;
    }
    return 0;
}

void validator_prog_free(validator_prog_t *p)
{
    for (int i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    p->nowned = 0;
}

void validator_key(const char *lang_id, const Dojo__Content__V1__PackageValidator *v,
                   char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, lang_id, strlen(lang_id) + 1);
    for (size_t i = 0; i < v->n_files; i++) {
        const char *name = v->files[i]->name ? v->files[i]->name : "";
        const char *content = v->files[i]->content ? v->files[i]->content : "";
        char len[32];
        int h = snprintf(len, sizeof len, "%zu:", strlen(content));
        EVP_DigestUpdate(ctx, name, strlen(name) + 1);
        EVP_DigestUpdate(ctx, len, (size_t)h);
        EVP_DigestUpdate(ctx, content, strlen(content));
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ------------------------------------------------------------------------
 * Verdicts and messages
 * ------------------------------------------------------------------------ */

exec_verdict_t validator_verdict(const sandbox_record_t *rec)
{
    if (strcmp(rec->status, "OK") != 0)
        return V(IE);
    return rec->exit_code == 42 ? V(AC) : rec->exit_code == 43 ? V(WA) : V(IE);
}

void validator_message(const char *judge, size_t jlen, const char *team, size_t tlen, char *out,
                       size_t cap)
{
    const char *s = tlen > 0 ? team : judge;
    size_t n = tlen > 0 ? tlen : jlen;
    if (cap == 0)
        return;
    out[0] = '\0';
    if (s == NULL || n == 0)
        return;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    /* One line for the learner's list of tests: line breaks become "; ". */
    char flat[EXEC_MESSAGE_MAX * 2 + 8];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < sizeof flat; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            continue;
        if (c == '\n') {
            flat[o++] = ';';
            flat[o++] = ' ';
        } else {
            flat[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
        }
    }
    char *clean = exec_utf8_clean(flat, o, cap - 1 < EXEC_MESSAGE_MAX ? cap - 1 : EXEC_MESSAGE_MAX);
    snprintf(out, cap, "%s", clean);
    free(clean);
}

/* ------------------------------------------------------------------------
 * Builds, compiled once per validator (its language and files) and kept
 *
 * Keyed by a hash of what is compiled rather than by the judge bundle: every
 * version of a task, and every task sharing a validator, use one build. A
 * validator that does not compile is remembered too: its tests are IE
 * without a compiler run per submission.
 * ------------------------------------------------------------------------ */

#define BUILDS_MAX 16

typedef struct build_entry {
    char key[65];
    sandbox_build_t *build; /* NULL: it did not compile */
    char *output;           /* ... and what the compiler said (new), or NULL */
    int refs;
    int64_t used_ms;
} build_entry_t;

static pthread_mutex_t builds_mu = PTHREAD_MUTEX_INITIALIZER;
static build_entry_t builds[BUILDS_MAX];

/* The entry of `key`, referenced, or NULL. Under builds_mu. */
static build_entry_t *builds_find(const char *key)
{
    for (int i = 0; i < BUILDS_MAX; i++)
        if (builds[i].key[0] && !strcmp(builds[i].key, key)) {
            builds[i].refs++;
            builds[i].used_ms = mono_ms();
            return &builds[i];
        }
    return NULL;
}

/* Keeps `build` under `key` (a free place or the least recently used
 * unreferenced one), referenced; NULL when every place is in use (the caller
 * then owns the build). Under builds_mu. */
static build_entry_t *builds_put(const char *key, sandbox_build_t *build, char *output)
{
    build_entry_t *victim = NULL;
    for (int i = 0; i < BUILDS_MAX; i++) {
        build_entry_t *e = &builds[i];
        if (!e->key[0]) {
            victim = e;
            break;
        }
        if (e->refs == 0 && (!victim || e->used_ms < victim->used_ms))
            victim = e;
    }
    if (!victim)
        return NULL;
    sandbox_build_free(victim->build);
    free(victim->output);
    snprintf(victim->key, sizeof victim->key, "%s", key);
    victim->build = build;
    victim->output = output;
    victim->refs = 1;
    victim->used_ms = mono_ms();
    return victim;
}

static void builds_release(build_entry_t *e)
{
    pthread_mutex_lock(&builds_mu);
    e->refs--;
    pthread_mutex_unlock(&builds_mu);
}

static void on_validator_compile(void *payload, bool ok, const char *output, size_t len)
{
    if (ok)
        return;
    char **kept = payload;
    char *clean = exec_utf8_clean(output ? output : "", len < 600 ? len : 600, 600);
    LOG_WARN("validator does not compile", "output=\"%s\"", log_esc(clean));
    free(clean);
    free(*kept);
    *kept = exec_utf8_clean(output ? output : "", len, EXEC_COMPILE_OUTPUT_MAX);
}

/* The build of `prog` (compiled now on a miss): *entry is the cache's
 * (release it) or NULL, and *owned a build only this call has (free it), at
 * most one of them set; *build is NULL when the validator does not compile,
 * and then *output (new) what the compiler said, when known. Fails only
 * when the judge failed. */
static int validator_build_get(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                               const validator_prog_t *prog, const char *key,
                               const sandbox_file_t *code_files, int ncode, const char *entry_code,
                               build_entry_t **entry, sandbox_build_t **owned,
                               const sandbox_build_t **build, char **output, atomic_bool *cancel,
                               err_t **err)
{
    *entry = NULL;
    *owned = NULL;
    *build = NULL;
    *output = NULL;
    pthread_mutex_lock(&builds_mu);
    *entry = builds_find(key);
    if (*entry && (*entry)->output)
        *output = xstrdup((*entry)->output);
    pthread_mutex_unlock(&builds_mu);
    if (*entry) {
        *build = (*entry)->build;
        metrics_counter_add("dojo_executor_validator_builds_total", "result=\"hit\"", 1);
        return 0;
    }
    metrics_counter_add("dojo_executor_validator_builds_total", "result=\"miss\"", 1);
    char id[64];
    snprintf(id, sizeof id, "val-%d-%x", slot, (unsigned)random());
    static const char *const no_input[] = {""};
    static const size_t no_len[] = {0};
    sandbox_job_t job = {
        .runtime = runtime,
        .slot = slot,
        .id = id,
        .lang = &prog->lang,
        .code = entry_code,
        .code_len = strlen(entry_code),
        .ntests = 1,
        .inputs = no_input,
        .input_lens = no_len,
        .stdin_fd = -1,
        .files = code_files,
        .nfiles = ncode,
        .cancel = cancel,
        .payload = output,
        .on_compile = on_validator_compile,
    };
    sandbox_outcome_t o;
    sandbox_build_t *b = NULL;
    int rc = sandbox_compile(cfg, &job, &b, &o, err);
    if (rc < 0)
        return err_wrap(err, "compile the validator");
    if (rc > 0 && o.end == SANDBOX_CANCELLED)
        return 0; /* not cached: it may compile another time */
    char *kept = b == NULL && *output ? xstrdup(*output) : NULL;
    pthread_mutex_lock(&builds_mu);
    *entry = builds_put(key, b, kept);
    pthread_mutex_unlock(&builds_mu);
    if (*entry == NULL) {
        *owned = b;
        free(kept);
    }
    *build = b;
    return 0;
}

/* ------------------------------------------------------------------------
 * A validator made ready to run, whatever its role (output validator,
 * interactor, input validator): its program, its other files beside the
 * entry (code/), room for `extra` more files after them, and its build
 * ------------------------------------------------------------------------ */

typedef struct vready {
    validator_prog_t prog;
    bool prog_ok;           /* false: it cannot be a command line (logged) */
    const char *entry_code; /* borrowed from the validator */
    sandbox_file_t *files;  /* ncode code/ files, then `extra` free places */
    char (*names)[80];
    int ncode;
    build_entry_t *entry;
    sandbox_build_t *owned;
    const sandbox_build_t *build; /* NULL: it does not compile (or prog_ok false) */
    char *compile_output;         /* when it does not compile: the compiler's words, or NULL */
} vready_t;

static void vready_release(vready_t *r)
{
    if (r->entry)
        builds_release(r->entry);
    sandbox_build_free(r->owned);
    free(r->files);
    free(r->names);
    free(r->compile_output);
    if (r->prog_ok)
        validator_prog_free(&r->prog);
    memset(r, 0, sizeof *r);
}

/* Fills *r (vready_release it, also after a failure). Fails only when the
 * judge failed; a validator that cannot be a command line or does not
 * compile leaves r->build NULL. */
static int vready_init(vready_t *r, const sandbox_config_t *cfg, sandbox_runtime_t runtime,
                       int slot, const sandbox_lang_t *lang,
                       const Dojo__Content__V1__PackageValidator *v, validator_role_t role,
                       int extra, atomic_bool *cancel, err_t **err)
{
    memset(r, 0, sizeof *r);
    char why[128];
    if (validator_prog_init(&r->prog, lang, v, role, why, sizeof why) < 0) {
        LOG_WARN("validator refused", "role=%d language=%s reason=\"%s\"", (int)role, lang->id,
                 why);
        return 0;
    }
    r->prog_ok = true;
    r->entry_code = v->files[0]->content ? v->files[0]->content : "";
    r->files = xcalloc(v->n_files + (size_t)extra + 1, sizeof *r->files);
    r->names = xcalloc(v->n_files + (size_t)extra + 1, sizeof *r->names);
    for (size_t i = 1; i < v->n_files; i++, r->ncode++) {
        snprintf(r->names[r->ncode], sizeof r->names[0], "code/%s", v->files[i]->name);
        const char *c = v->files[i]->content ? v->files[i]->content : "";
        r->files[r->ncode] = (sandbox_file_t){r->names[r->ncode], c, strlen(c)};
    }
    char key[65];
    validator_key(lang->id, v, key);
    return validator_build_get(cfg, runtime, slot, &r->prog, key, r->files, r->ncode, r->entry_code,
                               &r->entry, &r->owned, &r->build, &r->compile_output, cancel, err);
}

/* The run of a ready validator (r->build set) over n inputs, in the
 * validators' limits, its code files the first `nfiles` of r->files; `id`
 * (the sandbox's name) must outlive the run. The caller adds its own
 * payload and callbacks. */
static sandbox_job_t vready_job(const vready_t *r, sandbox_runtime_t runtime, int slot,
                                const char *id, const char *const *inputs, const size_t *lens,
                                int n, int nfiles, atomic_bool *cancel)
{
    return (sandbox_job_t){
        .runtime = runtime,
        .slot = slot,
        .id = id,
        .lang = &r->prog.lang,
        .code = r->entry_code,
        .code_len = strlen(r->entry_code),
        .ntests = n,
        .inputs = inputs,
        .input_lens = lens,
        .stdin_fd = -1,
        .limits = VALIDATOR_LIMITS,
        .cancel = cancel,
        .files = r->files,
        .nfiles = nfiles,
        .build = r->build,
    };
}

/* ------------------------------------------------------------------------
 * The run over a submission's outputs
 * ------------------------------------------------------------------------ */

typedef struct validator_run {
    checker_case_t *cases;
    int n;
    char *judge_msg; /* n * (FEEDBACK_CAP + 1): test i's judgemessage.txt */
    size_t *judge_len;
    char *team_msg;
    size_t *team_len;
} validator_run_t;

#define FEEDBACK_CAP 4096

static void on_validator_feedback(void *payload, int index, char kind, const char *data,
                                  size_t len)
{
    validator_run_t *r = payload;
    if (index < 0 || index >= r->n || (kind != 'j' && kind != 't'))
        return;
    char *buf = (kind == 'j' ? r->judge_msg : r->team_msg) + (size_t)index * (FEEDBACK_CAP + 1);
    size_t *blen = (kind == 'j' ? r->judge_len : r->team_len) + index;
    *blen = len < FEEDBACK_CAP ? len : FEEDBACK_CAP;
    memcpy(buf, data, *blen);
    buf[*blen] = '\0';
}

static void on_validator_record(void *payload, const sandbox_record_t *rec)
{
    validator_run_t *r = payload;
    if (rec->index < 0 || rec->index >= r->n)
        return;
    checker_case_t *c = &r->cases[rec->index];
    size_t off = (size_t)rec->index * (FEEDBACK_CAP + 1);
    c->verdict = validator_verdict(rec);
    if (c->verdict == V(IE)) {
        char *err = exec_utf8_clean(rec->err, rec->err_len < 300 ? rec->err_len : 300, 300);
        LOG_WARN("output validator failed", "test=%d status=%s exit=%d signal=%d stderr=\"%s\"",
                 rec->index, rec->status, rec->exit_code, rec->term_signal, log_esc(err));
        free(err);
        snprintf(c->message, sizeof c->message, "the output validator failed");
        return;
    }
    validator_message(r->judge_msg + off, r->judge_len[rec->index], r->team_msg + off,
                      r->team_len[rec->index], c->message, sizeof c->message);
    if (r->judge_len[rec->index] > 0) {
        char *jm = exec_utf8_clean(r->judge_msg + off, r->judge_len[rec->index], 300);
        if (c->verdict == V(WA))
            LOG_INFO("output validator said", "test=%d verdict=WA judgemessage=\"%s\"",
                     rec->index, log_esc(jm));
        else
            LOG_DEBUG("output validator said", "test=%d verdict=AC judgemessage=\"%s\"",
                      rec->index, log_esc(jm));
        free(jm);
    }
}

/* One run of the validator `v` over `n` cases, all with v's flags. */
static int validator_run_cases(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                               const sandbox_lang_t *lang,
                               const Dojo__Content__V1__PackageValidator *v,
                               checker_case_t *cases, int n, atomic_bool *cancel, err_t **err)
{
    for (int i = 0; i < n; i++) {
        cases[i].verdict = V(IE);
        snprintf(cases[i].message, sizeof cases[i].message, "the output validator did not run");
    }
    if (n == 0)
        return 0;
    /* Its other files sit next to the entry; the tests' inputs and answers
     * are the driver's (in/), staged per test for the validator. */
    vready_t vr;
    int rc = vready_init(&vr, cfg, runtime, slot, lang, v, VALIDATOR_OUTPUT, 2 * n, cancel, err);
    bool stopped = cancel && atomic_load(cancel);
    if (rc == 0 && vr.build != NULL) {
        int k = vr.ncode;
        for (int i = 0; i < n; i++) {
            snprintf(vr.names[k], sizeof vr.names[k], "in/%d.in", i);
            vr.files[k] = (sandbox_file_t){vr.names[k], cases[i].input, cases[i].input_len};
            k++;
            snprintf(vr.names[k], sizeof vr.names[k], "in/%d.ans", i);
            vr.files[k] = (sandbox_file_t){vr.names[k], cases[i].expected, cases[i].expected_len};
            k++;
        }
        const char **inputs = xcalloc((size_t)n, sizeof *inputs);
        size_t *lens = xcalloc((size_t)n, sizeof *lens);
        for (int i = 0; i < n; i++) {
            inputs[i] = cases[i].actual;
            lens[i] = cases[i].actual_len;
        }
        validator_run_t run = {.cases = cases, .n = n};
        run.judge_msg = xcalloc((size_t)n, FEEDBACK_CAP + 1);
        run.team_msg = xcalloc((size_t)n, FEEDBACK_CAP + 1);
        run.judge_len = xcalloc((size_t)n, sizeof *run.judge_len);
        run.team_len = xcalloc((size_t)n, sizeof *run.team_len);
        char id[64];
        snprintf(id, sizeof id, "val-%d-%x", slot, (unsigned)random());
        sandbox_job_t job = vready_job(&vr, runtime, slot, id, inputs, lens, n, k, cancel);
        job.judge_files = true;
        job.payload = &run;
        job.on_record = on_validator_record;
        job.on_feedback = on_validator_feedback;
        sandbox_outcome_t outcome;
        rc = sandbox_run(cfg, &job, &outcome, err);
        if (rc == 0 && outcome.end != SANDBOX_DONE)
            LOG_WARN("output validator run did not finish",
                     "end=%d reported=%d runtime_error=\"%s\"", (int)outcome.end,
                     outcome.tests_reported, log_esc(outcome.runtime_error));
        free(inputs);
        free(lens);
        free(run.judge_msg);
        free(run.team_msg);
        free(run.judge_len);
        free(run.team_len);
    } else if (rc == 0 && !stopped && vr.prog_ok) {
        for (int i = 0; i < n; i++)
            snprintf(cases[i].message, sizeof cases[i].message,
                     "the output validator does not compile");
    }
    vready_release(&vr);
    if (rc < 0)
        return err_wrap(err, "output validator");
    return 0;
}

/* Whether two cases' flags are the same (NULL: the validator's). */
static bool same_flags(const Dojo__Content__V1__ValidatorFlags *a,
                       const Dojo__Content__V1__ValidatorFlags *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->n_flags != b->n_flags)
        return false;
    for (size_t i = 0; i < a->n_flags; i++)
        if (strcmp(a->flags[i] ? a->flags[i] : "", b->flags[i] ? b->flags[i] : ""))
            return false;
    return true;
}

/* Tests of a group with flags of its own run in a sandbox of their own (the
 * flags are the validator's command line); the build is the same. */
int checker_run_validator(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                          const sandbox_lang_t *lang,
                          const Dojo__Content__V1__PackageValidator *v, checker_case_t *cases,
                          int n, atomic_bool *cancel, err_t **err)
{
    bool own = false;
    for (int i = 0; i < n && !own; i++)
        own = cases[i].flags != NULL;
    if (!own)
        return validator_run_cases(cfg, runtime, slot, lang, v, cases, n, cancel, err);
    checker_case_t *part = xcalloc((size_t)n, sizeof *part);
    int *index = xcalloc((size_t)n, sizeof *index);
    bool *done = xcalloc((size_t)n, sizeof *done);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (done[i])
            continue;
        int k = 0;
        for (int j = i; j < n; j++) {
            if (done[j] || !same_flags(cases[i].flags, cases[j].flags))
                continue;
            done[j] = true;
            index[k] = j;
            part[k++] = cases[j];
        }
        Dojo__Content__V1__PackageValidator with = *v;
        if (cases[i].flags) {
            with.flags = cases[i].flags->flags;
            with.n_flags = cases[i].flags->n_flags;
        }
        rc = validator_run_cases(cfg, runtime, slot, lang, &with, part, k, cancel, err);
        for (int m = 0; m < k; m++) {
            cases[index[m]].verdict = part[m].verdict;
            memcpy(cases[index[m]].message, part[m].message, sizeof part[m].message);
        }
    }
    for (int i = 0; i < n && rc == 0; i++)
        if (!done[i]) {
            cases[i].verdict = V(IE);
            snprintf(cases[i].message, sizeof cases[i].message, "the output validator did not run");
        }
    free(part);
    free(index);
    free(done);
    return rc;
}

/* ------------------------------------------------------------------------
 * Input validators: each test's input on stdin, the flags as arguments
 * ------------------------------------------------------------------------ */

int input_validator_run(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                        const sandbox_lang_t *lang, const Dojo__Content__V1__PackageValidator *v,
                        const char *const *inputs, const size_t *lens,
                        const char *const *input_files, int n,
                        void (*on_record)(void *payload, const sandbox_record_t *rec),
                        void *payload, atomic_bool *cancel, char **compile_output,
                        sandbox_outcome_t *outcome, err_t **err)
{
    *compile_output = NULL;
    memset(outcome, 0, sizeof *outcome);
    vready_t vr;
    int rc = vready_init(&vr, cfg, runtime, slot, lang, v, VALIDATOR_INPUT_FORMAT, 0, cancel, err);
    if (rc == 0 && vr.build == NULL) {
        if (cancel && atomic_load(cancel)) {
            outcome->end = SANDBOX_CANCELLED;
        } else {
            *compile_output =
                vr.compile_output
                    ? DOJO_STEAL(vr.compile_output)
                    : xstrdup(vr.prog_ok ? "the input validator does not compile"
                                         : "the input validator cannot be run (too many "
                                           "files or flags for one command line)");
            rc = 1;
        }
    } else if (rc == 0) {
        char id[64];
        snprintf(id, sizeof id, "ival-%d-%x", slot, (unsigned)random());
        sandbox_job_t job = vready_job(&vr, runtime, slot, id, inputs, lens, n, vr.ncode, cancel);
        job.input_files = input_files;
        job.payload = payload;
        job.on_record = on_record;
        rc = sandbox_run(cfg, &job, outcome, err);
        if (rc == 0 && outcome->end != SANDBOX_DONE)
            LOG_WARN("input validator run did not finish",
                     "end=%d reported=%d runtime_error=\"%s\"", (int)outcome->end,
                     outcome->tests_reported, log_esc(outcome->runtime_error));
    }
    vready_release(&vr);
    if (rc < 0)
        return err_wrap(err, "input validator");
    return rc;
}

/* ------------------------------------------------------------------------
 * Interactive problems
 *
 * The submission and the interactor run at the same time, each in a sandbox
 * of its own (the interactor in the second uid range of the job's slot,
 * EXEC_INTERACTOR_SLOT), one thread each: what one side writes (its
 * driver's O chunks) goes into a pipe that the other side's run reads as its
 * stdin (I frames). A side's record closes the other's stdin; the side that
 * ended first decides, as the package format says (interaction_verdict).
 * Writes never block: a side that does not read while megabytes pile up
 * loses the rest, as its driver would drop it anyway.
 * ------------------------------------------------------------------------ */

exec_verdict_t interaction_verdict(const interaction_t *x, const sandbox_limits_t *lim, char *msg,
                                   size_t cap)
{
    if (cap)
        msg[0] = '\0';
    exec_verdict_t iv = x->inter_reported ? validator_verdict(&x->inter) : V(IE);
    char smsg[EXEC_MESSAGE_MAX + 1] = "";
    exec_verdict_t sv =
        x->sub_reported ? exec_verdict_of_record(&x->sub, lim, smsg, sizeof smsg) : V(IE);
    if (x->inter_reported && (x->inter_first || !x->sub_reported)) {
        /* The interactor ended first: a wrong answer (or its failure) stands
         * whatever the submission did after. An accepted one still needs the
         * submission to end cleanly within its limits. */
        if (iv == V(IE)) {
            snprintf(msg, cap, "the interactor failed");
            return V(IE);
        }
        if (iv == V(AC) && !x->sub_reported) {
            snprintf(msg, cap, "the program did not end after the interactor accepted");
            return V(TLE);
        }
        if (iv == V(AC) && sv != V(AC)) {
            snprintf(msg, cap, "%s", smsg);
            return sv;
        }
    } else {
        if (!x->sub_reported) {
            snprintf(msg, cap, "the program did not run");
            return V(IE);
        }
        if (sv != V(AC)) {
            snprintf(msg, cap, "%s", smsg);
            return sv;
        }
        if (iv == V(IE)) {
            snprintf(msg, cap, "the interactor failed");
            return V(IE);
        }
    }
    validator_message(x->judge_msg, x->judge_len, x->team_msg, x->team_len, msg, cap);
    return iv;
}

/* content.proto: at most 64 files, the entry one of them. */
#define INTERACTOR_FILES_MAX 64

struct interactor {
    vready_t vr; /* room for in/0.in and in/0.ans after its code/ files */
    const sandbox_lang_t *base;                   /* borrowed, for a test's own flags */
    const Dojo__Content__V1__PackageValidator *v; /* borrowed */
};

int interactor_prepare(interactor_t **out, const sandbox_config_t *cfg, sandbox_runtime_t runtime,
                       int slot, const sandbox_lang_t *lang,
                       const Dojo__Content__V1__PackageValidator *v, atomic_bool *cancel,
                       err_t **err)
{
    *out = NULL;
    interactor_t *it = xcalloc(1, sizeof *it);
    it->base = lang;
    it->v = v;
    if (vready_init(&it->vr, cfg, runtime, slot, lang, v, VALIDATOR_OUTPUT, 2, cancel, err) < 0) {
        interactor_release(it);
        return err_wrap(err, "interactor");
    }
    *out = it; /* without a build: every test IE */
    return 0;
}

bool interactor_usable(const interactor_t *it)
{
    return it && it->vr.build;
}

void interactor_release(interactor_t *it)
{
    if (!it)
        return;
    vready_release(&it->vr);
    free(it);
}

typedef struct side side_t;
typedef struct pair {
    pthread_mutex_t mu;
    const sandbox_config_t *cfg;
    const sandbox_limits_t *sub_limits;
    interaction_t *x;
    side_t *sub, *inter;
} pair_t;

struct side {
    pair_t *pair;
    bool is_sub;
    sandbox_job_t job;
    atomic_bool stop;
    int out_w; /* the other side's stdin: what this side writes */
    int in_r;  /* this side's stdin */
    sandbox_outcome_t outcome;
    int rc;
    err_t *err;
    atomic_bool finished;
};

static void side_close_output(side_t *s)
{
    pthread_mutex_lock(&s->pair->mu);
    if (s->out_w >= 0)
        close(s->out_w);
    s->out_w = -1;
    pthread_mutex_unlock(&s->pair->mu);
}

static void side_on_chunk(void *payload, char stream, const char *data, size_t len)
{
    side_t *s = payload;
    if (stream != 'O')
        return; /* stderr: the author's or the learner's, never judged */
    pthread_mutex_lock(&s->pair->mu);
    while (s->out_w >= 0 && len > 0) {
        ssize_t n = write(s->out_w, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* full (it does not read) or gone: the rest is dropped */
        data += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&s->pair->mu);
}

static void side_on_record(void *payload, const sandbox_record_t *rec)
{
    side_t *s = payload;
    pair_t *p = s->pair;
    pthread_mutex_lock(&p->mu);
    interaction_t *x = p->x;
    sandbox_record_t copy = *rec;
    copy.out = copy.err = NULL;
    copy.out_len = copy.err_len = 0;
    if (s->is_sub) {
        x->sub = copy;
        x->sub_reported = true;
        char m[EXEC_MESSAGE_MAX + 1];
        /* It crashed or ran out of time first: the interactor has nothing
         * left to decide. */
        if (!x->inter_reported && exec_verdict_of_record(rec, p->sub_limits, m, sizeof m) != V(AC))
            atomic_store(&p->inter->stop, true);
    } else {
        x->inter = copy;
        x->inter_reported = true;
        x->inter_first = !x->sub_reported;
        if (!x->sub_reported && validator_verdict(rec) != V(AC))
            atomic_store(&p->sub->stop, true);
    }
    pthread_mutex_unlock(&p->mu);
    side_close_output(s); /* the other side reads the end of this one's output */
}

static void side_on_feedback(void *payload, int index, char kind, const char *data, size_t len)
{
    side_t *s = payload;
    pthread_mutex_lock(&s->pair->mu);
    interaction_t *x = s->pair->x;
    char *buf = kind == 'j' ? x->judge_msg : kind == 't' ? x->team_msg : NULL;
    size_t *blen = kind == 'j' ? &x->judge_len : &x->team_len;
    if (buf && index == 0) {
        *blen = len < FEEDBACK_CAP ? len : FEEDBACK_CAP;
        memcpy(buf, data, *blen);
        buf[*blen] = '\0';
    }
    pthread_mutex_unlock(&s->pair->mu);
}

static void *side_main(void *arg)
{
    side_t *s = arg;
    s->rc = sandbox_run(s->pair->cfg, &s->job, &s->outcome, &s->err);
    side_close_output(s); /* no record (killed, crashed): the other reads its end too */
    atomic_store(&s->finished, true);
    return NULL;
}

/* Pipe: read end for a run's stdin, write end non-blocking and large. */
static int side_pipe(int *r, int *w)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
    (void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
    *r = fds[0];
    *w = fds[1];
    return 0;
}

int interact_test(const interactor_t *it, const interact_sub_t *sub, const char *input,
                  size_t input_len, const char *answer, size_t answer_len,
                  const Dojo__Content__V1__ValidatorFlags *flags, atomic_bool *cancel,
                  interaction_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    /* A test's own flags: the interactor's command line with them (the
     * build is the same). */
    validator_prog_t with_flags = {0};
    const sandbox_lang_t *ilang = &it->vr.prog.lang;
    if (flags) {
        Dojo__Content__V1__PackageValidator with = *it->v;
        with.flags = flags->flags;
        with.n_flags = flags->n_flags;
        char why[128];
        if (validator_prog_init(&with_flags, it->base, &with, VALIDATOR_OUTPUT, why, sizeof why) <
            0) {
            LOG_WARN("interactor refused", "language=%s reason=\"%s\"", it->base->id, why);
            return 0; /* neither side reported: IE */
        }
        ilang = &with_flags.lang;
    }
    pair_t p = {.cfg = sub->cfg, .sub_limits = &sub->limits, .x = out};
    pthread_mutex_init(&p.mu, NULL);
    side_t s = {.pair = &p, .is_sub = true, .out_w = -1, .in_r = -1};
    side_t i = {.pair = &p, .is_sub = false, .out_w = -1, .in_r = -1};
    p.sub = &s;
    p.inter = &i;
    atomic_init(&s.stop, false);
    atomic_init(&i.stop, false);
    atomic_init(&s.finished, false);
    atomic_init(&i.finished, false);
    /* sub's output -> interactor's stdin; interactor's output -> sub's stdin */
    if (side_pipe(&i.in_r, &s.out_w) < 0 || side_pipe(&s.in_r, &i.out_w) < 0) {
        int e = errno;
        int fds[] = {i.in_r, s.out_w, s.in_r, i.out_w};
        for (int k = 0; k < 4; k++)
            if (fds[k] >= 0)
                close(fds[k]);
        pthread_mutex_destroy(&p.mu);
        if (flags)
            validator_prog_free(&with_flags);
        return err_errno(err, e, "pipe");
    }
    /* Interactive runs read their stdin from the pipe: their one test's
     * input file is empty. */
    static const char *const no_input[] = {""};
    static const size_t no_len[] = {0};
    char sid[64], iid[64];
    unsigned r = (unsigned)random() & 0xffffff;
    snprintf(sid, sizeof sid, "%s-s%x", sub->id, r);
    snprintf(iid, sizeof iid, "%s-i%x", sub->id, r);
    s.job = (sandbox_job_t){
        .runtime = sub->runtime,
        .slot = sub->slot,
        .id = sid,
        .lang = sub->lang,
        .code = sub->code,
        .code_len = sub->code_len,
        .ntests = 1,
        .inputs = no_input,
        .input_lens = no_len,
        .interactive = true,
        .stdin_fd = s.in_r,
        .limits = sub->limits,
        .cancel = &s.stop,
        .pool = sub->pool,
        .build = sub->build,
        .payload = &s,
        .on_record = side_on_record,
        .on_chunk = side_on_chunk,
    };
    sandbox_file_t files[INTERACTOR_FILES_MAX + 2];
    int nfiles = it->vr.ncode < INTERACTOR_FILES_MAX ? it->vr.ncode : INTERACTOR_FILES_MAX;
    memcpy(files, it->vr.files, (size_t)nfiles * sizeof *files);
    files[nfiles++] = (sandbox_file_t){"in/0.in", input, input_len};
    files[nfiles++] = (sandbox_file_t){"in/0.ans", answer, answer_len};
    sandbox_limits_t ilim = VALIDATOR_LIMITS;
    /* It waits for the submission most of the time: as long as the
     * submission may take in all, and then some. */
    ilim.wall_ms = sub->limits.wall_ms + 10 * sub->limits.cpu_ms + 10000;
    i.job = (sandbox_job_t){
        .runtime = sub->runtime,
        .slot = EXEC_INTERACTOR_SLOT(sub->slot),
        .id = iid,
        .lang = ilang,
        .code = it->vr.entry_code,
        .code_len = strlen(it->vr.entry_code),
        .ntests = 1,
        .inputs = no_input,
        .input_lens = no_len,
        .interactive = true,
        .stdin_fd = i.in_r,
        .limits = ilim,
        .cancel = &i.stop,
        .files = files,
        .nfiles = nfiles,
        .build = it->vr.build,
        .judge_files = true,
        .payload = &i,
        .on_record = side_on_record,
        .on_chunk = side_on_chunk,
        .on_feedback = side_on_feedback,
    };
    pthread_t ts, ti;
    bool started_s = pthread_create(&ts, NULL, side_main, &s) == 0;
    bool started_i = started_s && pthread_create(&ti, NULL, side_main, &i) == 0;
    if (started_s && !started_i)
        atomic_store(&s.stop, true);
    /* Each side ends by its own limits and deadline; a cancel stops both. */
    while (started_i && !(atomic_load(&s.finished) && atomic_load(&i.finished))) {
        if (cancel && atomic_load(cancel)) {
            atomic_store(&s.stop, true);
            atomic_store(&i.stop, true);
        }
        sleep_ms(5);
    }
    if (started_s)
        pthread_join(ts, NULL);
    if (started_i)
        pthread_join(ti, NULL);
    close(s.in_r);
    close(i.in_r);
    side_close_output(&s);
    side_close_output(&i);
    pthread_mutex_destroy(&p.mu);
    int rc = 0;
    if (!started_i) {
        rc = err_set(err, GRPC_STATUS_INTERNAL, "interactive test: no thread");
    } else if (s.rc < 0 || i.rc < 0) {
        err_t *e = s.rc < 0 ? s.err : i.err;
        rc = err_set(err, e ? e->code : GRPC_STATUS_INTERNAL, "%s sandbox: %s",
                     s.rc < 0 ? "the program's" : "the interactor's", e ? e->msg : "failed");
    }
    err_free(s.err);
    err_free(i.err);
    if (rc == 0 && i.outcome.end != SANDBOX_DONE && !out->inter_reported)
        LOG_INFO("interactor did not report", "end=%d runtime_error=\"%s\"", (int)i.outcome.end,
                 log_esc(i.outcome.runtime_error));
    out->sub_end = s.outcome.end;
    if (flags)
        validator_prog_free(&with_flags);
    return rc;
}
