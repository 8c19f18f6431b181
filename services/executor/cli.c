/* cli.c — `executor sandbox-run`: the sandbox alone, for operators and the
 * sandbox test battery (tests/sandbox). Runs code once with the given inputs
 * (none: one interactive-mode run on an empty stdin) and prints one JSON line
 * per event: compile, each test's record with its verdict, output chunks,
 * and how the run ended. With --validator-file (a package validator,
 * validator.c), the tests that ran cleanly are then judged by it against
 * their --answer files: one "validator" line per test. With --interactive
 * that validator is the interactor: each input is one interactive test, one
 * "interaction" line each. No Redis, no services. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/mem.h"

#define CLI_MAX_INPUTS 256
#define CLI_MAX_FILES 16

typedef struct cli_run {
    sandbox_limits_t limits;
    bool keep_output;                /* a validator judges the outputs */
    char *outputs[CLI_MAX_INPUTS];   /* each test's stdout, when it ran cleanly */
    size_t output_lens[CLI_MAX_INPUTS];
} cli_run_t;

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(s);
    }
    json_decref(o);
}

static json_t *json_bytes(const char *s, size_t len)
{
    char *clean = exec_utf8_clean(s ? s : "", len, len * 3 + 4);
    json_t *v = json_string(clean);
    free(clean);
    return v;
}

static void cli_on_compile(void *payload, bool ok, const char *output, size_t len)
{
    json_t *c = json_object();
    json_object_set_new(c, "ok", json_boolean(ok));
    json_object_set_new(c, "output", json_bytes(output, len));
    json_t *o = json_object();
    json_object_set_new(o, "compile", c);
    print_json(o);
}

static void cli_on_record(void *payload, const sandbox_record_t *rec)
{
    cli_run_t *r = payload;
    char msg[256];
    exec_verdict_t v = exec_verdict_of_record(rec, &r->limits, msg, sizeof msg);
    json_t *o = json_object();
    json_object_set_new(o, "test", json_integer(rec->index));
    json_object_set_new(o, "status", json_string(rec->status));
    json_object_set_new(o, "verdict",
                        json_string(v == DOJO__COMMON__V1__VERDICT__VERDICT_AC ? "OK"
                                                                               : exec_verdict_name(v)));
    json_object_set_new(o, "message", json_string(msg));
    json_object_set_new(o, "exit_code", json_integer(rec->exit_code));
    json_object_set_new(o, "signal", json_integer(rec->term_signal));
    json_object_set_new(o, "cpu_ms", json_integer(rec->cpu_ms));
    json_object_set_new(o, "wall_ms", json_integer(rec->wall_ms));
    json_object_set_new(o, "rss_kib", json_integer(rec->rss_kib));
    json_object_set_new(o, "stdout", json_bytes(rec->out, rec->out_len));
    json_object_set_new(o, "stderr", json_bytes(rec->err, rec->err_len));
    print_json(o);
    if (r->keep_output && v == DOJO__COMMON__V1__VERDICT__VERDICT_AC && rec->index >= 0 &&
        rec->index < CLI_MAX_INPUTS && !r->outputs[rec->index]) {
        r->outputs[rec->index] = xmalloc(rec->out_len + 1);
        memcpy(r->outputs[rec->index], rec->out ? rec->out : "", rec->out_len);
        r->output_lens[rec->index] = rec->out_len;
    }
}

static void cli_on_chunk(void *payload, char stream, const char *data, size_t len)
{
    json_t *o = json_object();
    json_object_set_new(o, (stream == 'E' || stream == 'e') ? "stderr_chunk" : "stdout_chunk",
                        json_bytes(data, len));
    print_json(o);
}

static int read_file(const char *path, char **out, size_t *len, err_t **err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_errno(err, errno, "open %s", path);
    size_t cap = 65536, n = 0;
    char *b = xmalloc(cap);
    for (;;) {
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (n + 1 >= cap)
            b = xrealloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}

static const char *end_name(sandbox_end_t e)
{
    switch (e) {
    case SANDBOX_DONE: return "DONE";
    case SANDBOX_COMPILE_ERROR: return "COMPILE_ERROR";
    case SANDBOX_WALL_KILLED: return "WALL_KILLED";
    case SANDBOX_CANCELLED: return "CANCELLED";
    case SANDBOX_CRASHED: return "CRASHED";
    }
    return "?";
}

typedef struct cli_args {
    const char *runtime;
    const char *language;
    const char *code_path;
    const char *input_paths[CLI_MAX_INPUTS];
    bool input_is_file[CLI_MAX_INPUTS]; /* --input-file: linked in as test data blobs are */
    int ninputs;
    int slot;
    sandbox_limits_t limits;
    const char *validator_language;
    const char *validator_paths[CLI_MAX_FILES]; /* the first is the entry */
    int nvalidator;
    char *validator_flags[64];
    int nflags;
    const char *answer_paths[CLI_MAX_INPUTS];
    int nanswers;
    bool interactive;
} cli_args_t;

static int cli_parse(const exec_t *ex, int argc, char **argv, cli_args_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    out->runtime = ex->cfg.runtime_name;
    out->limits = (sandbox_limits_t){
        .cpu_ms = 2000, .wall_ms = 5000, .memory_kib = 262144, .output_kib = 1024};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--interactive")) {
            out->interactive = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: needs a value", a);
        i++;
        if (!strcmp(a, "--runtime"))
            out->runtime = v;
        else if (!strcmp(a, "--language"))
            out->language = v;
        else if (!strcmp(a, "--code"))
            out->code_path = v;
        else if ((!strcmp(a, "--input") || !strcmp(a, "--input-file")) &&
                 out->ninputs < CLI_MAX_INPUTS) {
            out->input_is_file[out->ninputs] = !strcmp(a, "--input-file");
            out->input_paths[out->ninputs++] = v;
        }
        else if (!strcmp(a, "--cpu-ms"))
            out->limits.cpu_ms = atoi(v);
        else if (!strcmp(a, "--wall-ms"))
            out->limits.wall_ms = atoi(v);
        else if (!strcmp(a, "--memory-kib"))
            out->limits.memory_kib = atoi(v);
        else if (!strcmp(a, "--output-kib"))
            out->limits.output_kib = atoi(v);
        else if (!strcmp(a, "--slot"))
            out->slot = atoi(v);
        else if (!strcmp(a, "--validator-language"))
            out->validator_language = v;
        else if (!strcmp(a, "--validator-file") && out->nvalidator < CLI_MAX_FILES)
            out->validator_paths[out->nvalidator++] = v;
        else if (!strcmp(a, "--validator-flag") && out->nflags < 64)
            out->validator_flags[out->nflags++] = (char *)v;
        else if (!strcmp(a, "--answer") && out->nanswers < CLI_MAX_INPUTS)
            out->answer_paths[out->nanswers++] = v;
        else
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "unknown option %s", a);
    }
    if (!out->language || !out->code_path)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "--language and --code are required");
    if (out->interactive && out->nvalidator == 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "--interactive needs --validator-file");
    if (out->nvalidator > 0 && (!out->validator_language || out->nanswers != out->ninputs))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "--validator-file needs --validator-language and one --answer per --input");
    return 0;
}

/* What the command read: the code and each input file. */
typedef struct cli_files {
    char *code;
    size_t code_len;
    char *inputs[CLI_MAX_INPUTS];
    size_t lens[CLI_MAX_INPUTS];
    const char *files[CLI_MAX_INPUTS]; /* --input-file paths (borrowed), else NULL */
    bool any_file;
    int loaded;
    char *answers[CLI_MAX_INPUTS];
    size_t answer_lens[CLI_MAX_INPUTS];
    int answers_loaded;
    char *validator[CLI_MAX_FILES];
    size_t validator_lens[CLI_MAX_FILES];
    int validator_loaded;
} cli_files_t;

static int cli_read_files(const cli_args_t *a, cli_files_t *f, err_t **err)
{
    if (read_file(a->code_path, &f->code, &f->code_len, err) < 0)
        return -1;
    for (; f->loaded < a->ninputs; f->loaded++)
        if (a->input_is_file[f->loaded]) {
            f->files[f->loaded] = a->input_paths[f->loaded];
            f->inputs[f->loaded] = xstrdup("");
            f->any_file = true;
        } else if (read_file(a->input_paths[f->loaded], &f->inputs[f->loaded],
                             &f->lens[f->loaded], err) < 0)
            return -1;
    for (; f->answers_loaded < a->nanswers; f->answers_loaded++)
        if (read_file(a->answer_paths[f->answers_loaded], &f->answers[f->answers_loaded],
                      &f->answer_lens[f->answers_loaded], err) < 0)
            return -1;
    for (; f->validator_loaded < a->nvalidator; f->validator_loaded++)
        if (read_file(a->validator_paths[f->validator_loaded], &f->validator[f->validator_loaded],
                      &f->validator_lens[f->validator_loaded], err) < 0)
            return -1;
    return 0;
}

static void cli_free_files(cli_files_t *f)
{
    free(f->code);
    for (int i = 0; i < f->loaded; i++)
        free(f->inputs[i]);
    for (int i = 0; i < f->answers_loaded; i++)
        free(f->answers[i]);
    for (int i = 0; i < f->validator_loaded; i++)
        free(f->validator[i]);
}

static void cli_print_end(const sandbox_outcome_t *out);

/* The package validator of --validator-file, as content.proto has it
 * (borrowing `a`, `f`, and the arrays given). */
static void cli_validator_msg(const cli_args_t *a, cli_files_t *f,
                              Dojo__Content__V1__ValidatorFile *files,
                              Dojo__Content__V1__ValidatorFile **fp,
                              Dojo__Content__V1__PackageValidator *v)
{
    for (int i = 0; i < a->nvalidator; i++) {
        Dojo__Content__V1__ValidatorFile init = DOJO__CONTENT__V1__VALIDATOR_FILE__INIT;
        files[i] = init;
        const char *slash = strrchr(a->validator_paths[i], '/');
        files[i].name = (char *)(slash ? slash + 1 : a->validator_paths[i]);
        files[i].content = f->validator[i];
        fp[i] = &files[i];
    }
    Dojo__Content__V1__PackageValidator init = DOJO__CONTENT__V1__PACKAGE_VALIDATOR__INIT;
    *v = init;
    v->language = (char *)a->validator_language;
    v->files = fp;
    v->n_files = (size_t)a->nvalidator;
    v->flags = (char **)a->validator_flags;
    v->n_flags = (size_t)a->nflags;
    v->interactive = a->interactive;
}

/* --interactive: the program against the interactor on each input; one
 * "interaction" line per test, then the end line. */
static int cli_interact(exec_t *ex, const sandbox_config_t *cfg, const cli_args_t *a,
                        sandbox_runtime_t rt, const sandbox_lang_t *lang, cli_files_t *f,
                        err_t **err)
{
    const sandbox_lang_t *vlang = exec_lang(ex, a->validator_language);
    if (!vlang)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "unknown language %s",
                       a->validator_language);
    Dojo__Content__V1__ValidatorFile files[CLI_MAX_FILES], *fp[CLI_MAX_FILES];
    Dojo__Content__V1__PackageValidator v;
    cli_validator_msg(a, f, files, fp, &v);
    atomic_bool cancel;
    atomic_init(&cancel, false);
    char id[64];
    snprintf(id, sizeof id, "cli-%d-%d", (int)getpid(), a->slot);
    sandbox_job_t cj = {.runtime = rt, .slot = a->slot, .id = id, .lang = lang, .code = f->code,
                        .code_len = f->code_len, .ntests = 1,
                        .inputs = (const char *const *)f->inputs, .input_lens = f->lens,
                        .stdin_fd = -1, .cancel = &cancel, .on_compile = cli_on_compile};
    sandbox_build_t *build = NULL;
    sandbox_outcome_t out;
    int rc = sandbox_compile(cfg, &cj, &build, &out, err);
    if (rc != 0) {
        if (rc > 0)
            cli_print_end(&out);
        return rc < 0 ? -1 : 0;
    }
    interactor_t *it = NULL;
    if (interactor_prepare(&it, cfg, rt, a->slot, vlang, &v, &cancel, err) < 0) {
        sandbox_build_free(build);
        return -1;
    }
    interact_sub_t sub = {.cfg = cfg, .runtime = rt, .slot = a->slot, .id = id, .lang = lang,
                          .code = f->code, .code_len = f->code_len, .build = build,
                          .limits = a->limits};
    long t0 = mono_ms();
    int done = 0;
    for (int i = 0; i < a->ninputs && rc == 0; i++, done++) {
        interaction_t x;
        char msg[EXEC_MESSAGE_MAX + 1];
        exec_verdict_t verdict = DOJO__COMMON__V1__VERDICT__VERDICT_IE;
        snprintf(msg, sizeof msg, "the interactor does not compile");
        memset(&x, 0, sizeof x);
        if (interactor_usable(it)) {
            rc = interact_test(it, &sub, f->inputs[i], f->lens[i], f->answers[i],
                               f->answer_lens[i], NULL, &cancel, &x, err);
            if (rc < 0)
                break;
            verdict = interaction_verdict(&x, &a->limits, msg, sizeof msg);
        }
        json_t *o = json_pack(
            "{s:{s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:i}}", "interaction", "test", i, "verdict",
            exec_verdict_name(verdict), "message", msg, "first",
            x.inter_reported && (x.inter_first || !x.sub_reported) ? "interactor" : "program",
            "program_status", x.sub_reported ? x.sub.status : "", "interactor_status",
            x.inter_reported ? x.inter.status : "", "interactor_exit",
            x.inter_reported ? x.inter.exit_code : -1, "program_cpu_ms",
            x.sub_reported ? (int)x.sub.cpu_ms : -1);
        print_json(o);
    }
    interactor_release(it);
    sandbox_build_free(build);
    sandbox_wait_cleanups();
    if (rc < 0)
        return -1;
    memset(&out, 0, sizeof out);
    out.end = SANDBOX_DONE;
    out.tests_reported = done;
    out.total_wall_ms = mono_ms() - t0;
    cli_print_end(&out);
    return 0;
}

/* The package validator of --validator-file over the tests that ran
 * cleanly: one "validator" line per test. */
static int cli_validate(exec_t *ex, const sandbox_config_t *cfg, const cli_args_t *a,
                        sandbox_runtime_t rt, cli_files_t *f, cli_run_t *run, err_t **err)
{
    const sandbox_lang_t *vlang = exec_lang(ex, a->validator_language);
    if (!vlang)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "unknown language %s",
                       a->validator_language);
    Dojo__Content__V1__ValidatorFile files[CLI_MAX_FILES], *fp[CLI_MAX_FILES];
    Dojo__Content__V1__PackageValidator v;
    cli_validator_msg(a, f, files, fp, &v);
    checker_case_t cases[CLI_MAX_INPUTS];
    int index[CLI_MAX_INPUTS], n = 0;
    for (int i = 0; i < a->ninputs; i++) {
        if (!run->outputs[i])
            continue;
        cases[n] = (checker_case_t){.input = f->inputs[i], .input_len = f->lens[i],
                                    .expected = f->answers[i], .expected_len = f->answer_lens[i],
                                    .actual = run->outputs[i], .actual_len = run->output_lens[i]};
        index[n++] = i;
    }
    atomic_bool cancel;
    atomic_init(&cancel, false);
    if (checker_run_validator(cfg, rt, a->slot, vlang, &v, cases, n, &cancel, err) < 0)
        return -1;
    for (int k = 0; k < n; k++) {
        json_t *o = json_pack("{s:{s:i, s:s, s:s}}", "validator", "test", index[k], "verdict",
                              exec_verdict_name(cases[k].verdict), "message", cases[k].message);
        print_json(o);
    }
    return 0;
}

static void cli_print_end(const sandbox_outcome_t *out)
{
    json_t *o = json_object();
    json_object_set_new(o, "end", json_string(end_name(out->end)));
    json_object_set_new(o, "wall_ms", json_integer(out->total_wall_ms));
    json_object_set_new(o, "tests_reported", json_integer(out->tests_reported));
    if (out->runtime_error[0])
        json_object_set_new(o, "runtime_error", json_string(out->runtime_error));
    print_json(o);
}

/* Runs the files in the sandbox; no inputs means one interactive-mode run
 * on an empty stdin (a pipe whose write end is closed at once). */
static int cli_run(exec_t *ex, const cli_args_t *a, sandbox_runtime_t rt,
                   const sandbox_lang_t *lang, cli_files_t *f, err_t **err)
{
    bool interactive = a->ninputs == 0;
    cleanup_close int stdin_r = -1;
    if (interactive) {
        int pipefd[2];
        if (pipe(pipefd) < 0)
            return err_errno(err, errno, "pipe");
        close(pipefd[1]);
        stdin_r = pipefd[0];
    }
    sandbox_config_t cfg;
    exec_sandbox_config(&ex->cfg, &cfg);
    atomic_bool cancel;
    atomic_init(&cancel, false);
    cli_run_t run = {.limits = a->limits, .keep_output = a->nvalidator > 0};
    char id[64];
    snprintf(id, sizeof id, "cli-%d-%d", (int)getpid(), a->slot);
    sandbox_job_t job = {
        .runtime = rt,
        .slot = a->slot,
        .id = id,
        .lang = lang,
        .code = f->code,
        .code_len = f->code_len,
        .ntests = a->ninputs,
        .inputs = (const char *const *)f->inputs,
        .input_lens = f->lens,
        .input_files = f->any_file ? f->files : NULL,
        .interactive = interactive,
        .stdin_fd = stdin_r,
        .limits = a->limits,
        .cancel = &cancel,
        .payload = &run,
        .on_compile = cli_on_compile,
        .on_record = cli_on_record,
        .on_chunk = cli_on_chunk,
    };
    /* DOJO_EXECUTOR_POOL on: the sandbox is started and ready before the
     * job is sent, as a pooled executor's are. */
    if (ex->cfg.pool) {
        /* A compiled language's first container is the compiler's; the run's
         * starts after it, in the same uid range (--slot). */
        bool compiled = lang->compile_argv[0] != NULL;
        char bid[80];
        snprintf(bid, sizeof bid, "%s%s", id, compiled ? "-c" : "");
        sandbox_box_key_t key = {.runtime = rt,
                                 .lang = lang,
                                 .memory_kib = compiled ? lang->compile_memory_kib
                                                        : a->limits.memory_kib,
                                 .job_kib = sandbox_job_kib(&job),
                                 .compile = compiled};
        sandbox_box_t **box = compiled ? &job.compile_box : &job.box;
        if (sandbox_box_start(&cfg, &key, &(sandbox_box_opts_t){.slot = a->slot, .name = bid},
                              box, err) < 0)
            return -1;
        sandbox_box_wait_ready(*box, 20000);
    }
    sandbox_outcome_t out;
    memset(&out, 0, sizeof out);
    int rc = sandbox_run(&cfg, &job, &out, err);
    /* The container and bundle go away in the background: wait, so the
     * command leaves nothing behind. */
    sandbox_wait_cleanups();
    if (rc == 0 && a->nvalidator > 0)
        rc = cli_validate(ex, &cfg, a, rt, f, &run, err);
    sandbox_wait_cleanups();
    for (int i = 0; i < CLI_MAX_INPUTS; i++)
        free(run.outputs[i]);
    if (rc == 0)
        cli_print_end(&out);
    return rc;
}

int exec_cli_sandbox_run(exec_t *ex, int argc, char **argv, err_t **err)
{
    cli_args_t a;
    if (cli_parse(ex, argc, argv, &a, err) < 0)
        return -1;
    sandbox_runtime_t rt;
    if (!strcmp(a.runtime, "crun"))
        rt = SANDBOX_CRUN;
    else if (!strcmp(a.runtime, "runsc"))
        rt = SANDBOX_RUNSC;
    else
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "--runtime: crun or runsc");
    if (exec_langs_load(ex, err) < 0)
        return -1;
    const sandbox_lang_t *lang = exec_lang(ex, a.language);
    if (!lang)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "unknown language %s", a.language);
    cli_files_t f = {0};
    int rc = cli_read_files(&a, &f, err);
    if (rc == 0 && a.interactive) {
        sandbox_config_t cfg;
        exec_sandbox_config(&ex->cfg, &cfg);
        rc = cli_interact(ex, &cfg, &a, rt, lang, &f, err);
    } else if (rc == 0) {
        rc = cli_run(ex, &a, rt, lang, &f, err);
    }
    cli_free_files(&f);
    return rc;
}
