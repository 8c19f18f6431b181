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
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
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
                        const Dojo__Content__V1__PackageValidator *v, char *why, size_t cap)
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
    static char *const fixed[] = {VALIDATOR_INPUT, VALIDATOR_ANSWER, VALIDATOR_FEEDBACK};
    for (int i = 0; i < 3 && rc == 0; i++)
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
static build_entry_t *builds_put(const char *key, sandbox_build_t *build)
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
    snprintf(victim->key, sizeof victim->key, "%s", key);
    victim->build = build;
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
    if (!ok) {
        char *clean = exec_utf8_clean(output ? output : "", len < 600 ? len : 600, 600);
        LOG_WARN("output validator does not compile", "output=\"%s\"", log_esc(clean));
        free(clean);
    }
}

/* The build of `prog` (compiled now on a miss): *entry is the cache's
 * (release it) or NULL, and *owned a build only this call has (free it), at
 * most one of them set; *build is NULL when the validator does not compile.
 * Fails only when the judge failed. */
static int validator_build_get(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                               const validator_prog_t *prog, const char *key,
                               const sandbox_file_t *code_files, int ncode,
                               const char *entry_code, build_entry_t **entry,
                               sandbox_build_t **owned, const sandbox_build_t **build,
                               atomic_bool *cancel, err_t **err)
{
    *entry = NULL;
    *owned = NULL;
    *build = NULL;
    pthread_mutex_lock(&builds_mu);
    *entry = builds_find(key);
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
        .on_compile = on_validator_compile,
    };
    sandbox_outcome_t o;
    sandbox_build_t *b = NULL;
    int rc = sandbox_compile(cfg, &job, &b, &o, err);
    if (rc < 0)
        return err_wrap(err, "compile the output validator");
    if (rc > 0 && o.end == SANDBOX_CANCELLED)
        return 0; /* not cached: it may compile another time */
    pthread_mutex_lock(&builds_mu);
    *entry = builds_put(key, b);
    pthread_mutex_unlock(&builds_mu);
    if (*entry == NULL)
        *owned = b;
    *build = b;
    return 0;
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

int checker_run_validator(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                          const sandbox_lang_t *lang,
                          const Dojo__Content__V1__PackageValidator *v, checker_case_t *cases,
                          int n, atomic_bool *cancel, err_t **err)
{
    for (int i = 0; i < n; i++) {
        cases[i].verdict = V(IE);
        snprintf(cases[i].message, sizeof cases[i].message, "the output validator did not run");
    }
    if (n == 0)
        return 0;
    validator_prog_t prog;
    char why[128];
    if (validator_prog_init(&prog, lang, v, why, sizeof why) < 0) {
        LOG_WARN("output validator refused", "language=%s reason=\"%s\"", lang->id, why);
        return 0;
    }
    /* Its other files sit next to the entry; the tests' inputs and answers
     * are the driver's (in/), staged per test for the validator. */
    int nfiles = (int)v->n_files - 1 + 2 * n;
    sandbox_file_t *files = xcalloc((size_t)nfiles + 1, sizeof *files);
    char (*names)[80] = xcalloc((size_t)nfiles + 1, sizeof *names);
    int k = 0;
    for (size_t i = 1; i < v->n_files; i++, k++) {
        snprintf(names[k], sizeof names[k], "code/%s", v->files[i]->name);
        files[k] = (sandbox_file_t){names[k], v->files[i]->content, strlen(v->files[i]->content)};
    }
    int ncode = k;
    for (int i = 0; i < n; i++) {
        snprintf(names[k], sizeof names[k], "in/%d.in", i);
        files[k] = (sandbox_file_t){names[k], cases[i].input, cases[i].input_len};
        k++;
        snprintf(names[k], sizeof names[k], "in/%d.ans", i);
        files[k] = (sandbox_file_t){names[k], cases[i].expected, cases[i].expected_len};
        k++;
    }
    const char *entry_code = v->files[0]->content ? v->files[0]->content : "";
    char key[65];
    validator_key(lang->id, v, key);
    build_entry_t *entry = NULL;
    sandbox_build_t *owned = NULL;
    const sandbox_build_t *build = NULL;
    int rc = validator_build_get(cfg, runtime, slot, &prog, key, files, ncode, entry_code, &entry,
                                 &owned, &build, cancel, err);
    bool stopped = cancel && atomic_load(cancel);
    if (rc == 0 && build != NULL) {
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
        sandbox_job_t job = {
            .runtime = runtime,
            .slot = slot,
            .id = id,
            .lang = &prog.lang,
            .code = entry_code,
            .code_len = strlen(entry_code),
            .ntests = n,
            .inputs = inputs,
            .input_lens = lens,
            .stdin_fd = -1,
            .limits = VALIDATOR_LIMITS,
            .cancel = cancel,
            .files = files,
            .nfiles = nfiles,
            .build = build,
            .judge_files = true,
            .payload = &run,
            .on_record = on_validator_record,
            .on_feedback = on_validator_feedback,
        };
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
    } else if (rc == 0 && !stopped) {
        for (int i = 0; i < n; i++)
            snprintf(cases[i].message, sizeof cases[i].message,
                     "the output validator does not compile");
    }
    if (entry)
        builds_release(entry);
    sandbox_build_free(owned);
    free(files);
    free(names);
    validator_prog_free(&prog);
    if (rc < 0)
        return err_wrap(err, "output validator");
    return 0;
}
