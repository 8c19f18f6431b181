/* main.c — the executor service: wiring, and the operator command line.
 *
 *   executor [serve]        take jobs from dojo:jobs and serve the admin gRPC service
 *   executor sweep          remove containers and bundles left by an earlier process
 *   executor sandbox-run --runtime crun|runsc --language ID --code FILE
 *                        [--input FILE]... [--cpu-ms N] [--wall-ms N] [--memory-kib N]
 *                        [--output-kib N] [--slot N]
 *                           run code in the sandbox, one JSON line per event
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

const sandbox_lang_t *exec_lang(const exec_t *ex, const char *id)
{
    for (int i = 0; id && i < ex->nlangs; i++)
        if (!strcmp(ex->langs[i].id, id))
            return &ex->langs[i];
    return NULL;
}

/* <dir of this binary>/driver/driver: next to it in bazel-bin. */
static void default_driver(char *out, size_t cap, const char *argv0)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(self, sizeof self, "%s", argv0 ? argv0 : "executor");
        n = (ssize_t)strlen(self);
    }
    self[n] = '\0';
    const char *dir = dirname(self);
    /* Bazel's genrule names it driver.bin; an installed tree may call it driver. */
    snprintf(out, cap, "%s/driver/driver.bin", dir);
    if (access(out, X_OK) == 0)
        return;
    snprintf(out, cap, "%s/driver/driver", dir);
}

/* crun and runsc read bind sources from their own working directory, so a
 * relative DOJO_EXECUTOR_WORKDIR (the local default) must become absolute. */
static void absolute_path(const char *path, char *out, size_t cap)
{
    char cwd[4096];
    if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%s/%s", cwd, path);
}

void exec_config_load(exec_config_t *cfg, const char *argv0)
{
    static const char *const runtimes[] = {"crun", "runsc", NULL};
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = config_addr("DOJO_EXECUTOR_ADDR", "127.0.0.1:7004");
    cfg->metrics_addr = config_addr("DOJO_EXECUTOR_METRICS_ADDR", "127.0.0.1:9104");
    cfg->redis_addr = config_addr("DOJO_REDIS_ADDR", "127.0.0.1:56379");
    cfg->auth_addr = config_addr("DOJO_AUTH_ADDR", "127.0.0.1:7001");
    cfg->content_addr = config_addr("DOJO_CONTENT_ADDR", "127.0.0.1:7002");
    cfg->gamification_addr = config_addr("DOJO_GAMIFICATION_ADDR", "127.0.0.1:7003");
    cfg->service_key = config_str("DOJO_SERVICE_KEY", "");
    int rt = config_enum("DOJO_EXECUTOR_RUNTIME", "crun", runtimes);
    cfg->runtime = rt == 1 ? SANDBOX_RUNSC : SANDBOX_CRUN;
    cfg->runtime_name = runtimes[rt];
    absolute_path(config_str("DOJO_EXECUTOR_WORKDIR", ".dojo/executor"), cfg->workdir,
                  sizeof cfg->workdir);
    absolute_path(config_str("DOJO_EXECUTOR_ROOTFS_DIR", ".dojo/rootfs"), cfg->rootfs_dir,
                  sizeof cfg->rootfs_dir);
    cfg->languages_dir = config_str("DOJO_EXECUTOR_LANGUAGES_DIR", "services/executor/languages");
    const char *driver = config_str("DOJO_EXECUTOR_DRIVER", "");
    if (driver[0])
        snprintf(cfg->driver_path, sizeof cfg->driver_path, "%s", driver);
    else
        default_driver(cfg->driver_path, sizeof cfg->driver_path, argv0);
    const char *id = config_str("DOJO_EXECUTOR_ID", "");
    if (id[0]) {
        snprintf(cfg->executor_id, sizeof cfg->executor_id, "%s", id);
    } else {
        char host[64] = "executor";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        snprintf(cfg->executor_id, sizeof cfg->executor_id, "%s-%d", host, (int)getpid());
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->concurrency = (int)config_int("DOJO_EXECUTOR_CONCURRENCY", cpus > 0 ? cpus : 1, 1, 256);
    cfg->sync_slots = (int)config_int("DOJO_EXECUTOR_SYNC_SLOTS", 2, 0, 64);
    cfg->reclaim_idle_ms =
        config_duration_ms("DOJO_EXECUTOR_RECLAIM_IDLE", "60s", 500, 7 * 86400000LL);
    cfg->max_attempts = (int)config_int("DOJO_EXECUTOR_MAX_ATTEMPTS", 3, 1, 100);
    cfg->event_ttl_s =
        config_duration_ms("DOJO_EXECUTOR_EVENT_TTL", "1h", 1000, 30 * 86400000LL) / 1000;
    cfg->bundle_cache_size = (int)config_int("DOJO_EXECUTOR_BUNDLE_CACHE", 64, 1, 10000);
    cfg->uid_base = (unsigned)config_int("DOJO_EXECUTOR_UID_BASE", 1000000000, 65536, 4000000000);
    cfg->pids_limit = (int)config_int("DOJO_EXECUTOR_PIDS_LIMIT", 64, 8, 65536);
}

static void sandbox_config_of(const exec_config_t *cfg, sandbox_config_t *out)
{
    memset(out, 0, sizeof *out);
    out->workdir = cfg->workdir;
    out->rootfs_dir = cfg->rootfs_dir;
    out->driver_path = cfg->driver_path;
    out->host_uid_base = cfg->uid_base;
    out->pids_limit = cfg->pids_limit;
}

static int load_languages(exec_t *ex, err_t **err)
{
    if (sandbox_langs_load(ex->cfg.languages_dir, ex->langs, EXEC_MAX_LANGS, &ex->nlangs, err) < 0)
        return err_wrap(err, "languages from %s", ex->cfg.languages_dir);
    return 0;
}

static int exec_open(exec_t *ex, err_t **err)
{
    pthread_mutex_init(&ex->lock, NULL);
    ex->started_us = wall_us();
    sandbox_config_of(&ex->cfg, &ex->sandbox);
    if (mkdir(ex->cfg.workdir, 0700) < 0 && errno != EEXIST)
        return err_errno(err, errno, "create %s", ex->cfg.workdir);
    if (load_languages(ex, err) < 0)
        return -1;
    ex->slot_busy = calloc((size_t)(ex->cfg.concurrency + ex->cfg.sync_slots), sizeof(bool));
    if (!ex->slot_busy)
        abort();
    /* Workers block up to 2 s in XREADGROUP and control threads up to 250 ms
     * in XREAD: a pool of their own with a timeout above both. */
    if (kv_pool_open(&ex->kv, ex->cfg.redis_addr, ex->cfg.concurrency + ex->cfg.sync_slots + 4,
                     5000, err) < 0 ||
        kv_pool_open(&ex->kv_block, ex->cfg.redis_addr, 2 * ex->cfg.concurrency + 2, 5000, err) <
            0)
        return err_wrap(err, "connect to Redis");
    if (identity_verifier_open(&ex->ids, ex->cfg.auth_addr, ex->cfg.service_key, err) < 0)
        return -1;
    if (rpc_channel_open(&ex->content, ex->cfg.content_addr, err) < 0)
        return err_wrap(err, "channel to content");
    if (rpc_channel_open(&ex->game, ex->cfg.gamification_addr, err) < 0)
        return err_wrap(err, "channel to gamification");
    exec_bundles_open(&ex->bundles, ex->cfg.bundle_cache_size);
    return exec_queue_init(ex, err);
}

static void exec_close(exec_t *ex)
{
    exec_bundles_close(ex->bundles);
    rpc_channel_close(ex->game);
    rpc_channel_close(ex->content);
    identity_verifier_close(ex->ids);
    kv_pool_close(ex->kv_block);
    kv_pool_close(ex->kv);
    free(ex->slot_busy);
}

static int serve(exec_t *ex, err_t **err)
{
    int swept = sandbox_sweep(&ex->sandbox);
    if (swept > 0)
        LOG_INFO("removed leftover containers", "count=%d", swept);
    rpc_server_t *server = NULL;
    if (metrics_start(ex->cfg.metrics_addr, err) < 0 ||
        rpc_server_new(&server, "executor", ex->cfg.addr, err) < 0 ||
        rpc_server_add_service(server, &dojo__executor__v1__executor__descriptor,
                               exec_admin_handlers, ex, err) < 0) {
        rpc_server_free(server);
        return -1;
    }
    ex->server = server;
    exec_queue_metrics(ex);
    if (exec_queue_start(ex, err) < 0 || rpc_server_start(server, err) < 0) {
        exec_queue_stop(ex);
        ex->server = NULL;
        rpc_server_free(server);
        return -1;
    }
    LOG_INFO("executor serving",
             "addr=%s port=%d metrics=%s id=%s runtime=%s slots=%d languages=%d reclaim_idle_ms=%lld "
             "driver=\"%s\"",
             ex->cfg.addr, rpc_server_port(server), ex->cfg.metrics_addr, ex->cfg.executor_id,
             ex->cfg.runtime_name, ex->cfg.concurrency, ex->nlangs,
             (long long)ex->cfg.reclaim_idle_ms, log_esc(ex->cfg.driver_path));
    rpc_server_run(server);
    /* SIGTERM: no new jobs (the workers see the drain); running ones finish. */
    LOG_INFO("waiting for running jobs", "running=%d", atomic_load(&ex->jobs_running));
    exec_queue_stop(ex);
    ex->server = NULL;
    rpc_server_free(server);
    metrics_stop();
    return 0;
}

/* ------------------------------------------------------------------------
 * executor sandbox-run
 * ------------------------------------------------------------------------ */

typedef struct cli_run {
    sandbox_limits_t limits;
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
    char *b = malloc(cap);
    for (;;) {
        if (!b)
            abort();
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (n + 1 >= cap)
            b = realloc(b, cap *= 2);
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

static int cli_sandbox_run(exec_t *ex, int argc, char **argv, err_t **err)
{
    const char *runtime = ex->cfg.runtime_name, *language = NULL, *code_path = NULL;
    const char *inputs_path[256];
    int ninputs = 0, slot = 0;
    sandbox_limits_t lim = {.cpu_ms = 2000, .wall_ms = 5000, .memory_kib = 262144, .output_kib = 1024};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: needs a value", a);
        i++;
        if (!strcmp(a, "--runtime"))
            runtime = v;
        else if (!strcmp(a, "--language"))
            language = v;
        else if (!strcmp(a, "--code"))
            code_path = v;
        else if (!strcmp(a, "--input") && ninputs < 256)
            inputs_path[ninputs++] = v;
        else if (!strcmp(a, "--cpu-ms"))
            lim.cpu_ms = atoi(v);
        else if (!strcmp(a, "--wall-ms"))
            lim.wall_ms = atoi(v);
        else if (!strcmp(a, "--memory-kib"))
            lim.memory_kib = atoi(v);
        else if (!strcmp(a, "--output-kib"))
            lim.output_kib = atoi(v);
        else if (!strcmp(a, "--slot"))
            slot = atoi(v);
        else
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "unknown option %s", a);
    }
    if (!language || !code_path)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "--language and --code are required");
    sandbox_runtime_t rt;
    if (!strcmp(runtime, "crun"))
        rt = SANDBOX_CRUN;
    else if (!strcmp(runtime, "runsc"))
        rt = SANDBOX_RUNSC;
    else
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "--runtime: crun or runsc");
    if (load_languages(ex, err) < 0)
        return -1;
    const sandbox_lang_t *lang = exec_lang(ex, language);
    if (!lang)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "unknown language %s", language);
    cleanup_free char *code = NULL;
    size_t code_len = 0;
    if (read_file(code_path, &code, &code_len, err) < 0)
        return -1;
    char *inputs[256];
    size_t lens[256];
    int rc = 0;
    int loaded = 0;
    for (; loaded < ninputs; loaded++)
        if ((rc = read_file(inputs_path[loaded], &inputs[loaded], &lens[loaded], err)) < 0)
            break;
    int pipefd[2] = {-1, -1};
    bool interactive = ninputs == 0;
    if (rc == 0 && interactive && pipe(pipefd) < 0)
        rc = err_errno(err, errno, "pipe");
    if (rc == 0) {
        /* No inputs: one interactive-mode run on an empty stdin (a pipe). */
        if (interactive) {
            close(pipefd[1]);
            pipefd[1] = -1;
        }
        sandbox_config_t cfg;
        sandbox_config_of(&ex->cfg, &cfg);
        atomic_bool cancel;
        atomic_init(&cancel, false);
        cli_run_t run = {.limits = lim};
        char id[64];
        snprintf(id, sizeof id, "cli-%d-%d", (int)getpid(), slot);
        sandbox_job_t job = {
            .runtime = rt,
            .slot = slot,
            .id = id,
            .lang = lang,
            .code = code,
            .code_len = code_len,
            .ntests = ninputs,
            .inputs = (const char *const *)inputs,
            .input_lens = lens,
            .interactive = interactive,
            .stdin_fd = interactive ? pipefd[0] : -1,
            .limits = lim,
            .cancel = &cancel,
            .payload = &run,
            .on_compile = cli_on_compile,
            .on_record = cli_on_record,
            .on_chunk = cli_on_chunk,
        };
        sandbox_outcome_t out;
        memset(&out, 0, sizeof out);
        rc = sandbox_run(&cfg, &job, &out, err);
        /* The container and bundle go away in the background: wait, so the
         * command leaves nothing behind. */
        sandbox_wait_cleanups();
        if (rc == 0) {
            json_t *o = json_object();
            json_object_set_new(o, "end", json_string(end_name(out.end)));
            json_object_set_new(o, "wall_ms", json_integer(out.total_wall_ms));
            json_object_set_new(o, "tests_reported", json_integer(out.tests_reported));
            if (out.runtime_error[0])
                json_object_set_new(o, "runtime_error", json_string(out.runtime_error));
            print_json(o);
        }
    }
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    for (int i = 0; i < loaded; i++)
        free(inputs[i]);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: executor [serve]\n"
            "       executor sweep\n"
            "       executor sandbox-run --runtime crun|runsc --language ID --code FILE\n"
            "                [--input FILE]... [--cpu-ms N] [--wall-ms N] [--memory-kib N]\n"
            "                [--output-kib N] [--slot N]\n");
}

int main(int argc, char **argv)
{
    rpc_init();
    log_init("executor");
    srandom((unsigned)(wall_us() ^ getpid()));
    const char *cmd = argc > 1 ? argv[1] : "serve";
    static exec_t ex;
    exec_config_load(&ex.cfg, argv[0]);
    cleanup_err err_t *err = NULL;
    int rc = 0;

    if (!strcmp(cmd, "serve") && argc <= 2) {
        rc = exec_open(&ex, &err) < 0 ? -1 : serve(&ex, &err);
        exec_close(&ex);
    } else if (!strcmp(cmd, "sweep") && argc == 2) {
        sandbox_config_t cfg;
        sandbox_config_of(&ex.cfg, &cfg);
        int n = sandbox_sweep(&cfg);
        printf("removed %d leftover container%s\n", n, n == 1 ? "" : "s");
    } else if (!strcmp(cmd, "sandbox-run")) {
        rc = cli_sandbox_run(&ex, argc, argv, &err);
    } else {
        usage();
        return 2;
    }
    if (rc < 0) {
        LOG_ERROR("executor failed", "command=%s error=\"%s\"", log_esc(cmd),
                  err ? log_esc(err->msg) : "?");
        fprintf(stderr, "executor %s: %s\n", cmd, err ? err->msg : "failed");
        return 1;
    }
    return 0;
}
