/* config.c — the executor's configuration: the DOJO_* environment (see
 * docs/operators.md), the sandbox settings derived from it, and the
 * languages this executor runs. */
#define _GNU_SOURCE
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/service.h"

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
    cfg->addr = service_setting(SERVICE_EXECUTOR_ADDR);
    cfg->metrics_addr = service_setting(SERVICE_EXECUTOR_METRICS_ADDR);
    cfg->redis_addr = service_setting(SERVICE_REDIS_ADDR);
    cfg->auth_addr = service_setting(SERVICE_AUTH_ADDR);
    cfg->content_addr = service_setting(SERVICE_CONTENT_ADDR);
    cfg->gamification_addr = service_setting(SERVICE_GAMIFICATION_ADDR);
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
    cfg->heartbeat_ttl_ms =
        config_duration_ms("DOJO_EXECUTOR_HEARTBEAT_TTL", "5s", 1000, 600000);
    cfg->job_retention_ms =
        config_duration_ms("DOJO_EXECUTOR_JOB_RETENTION", "60s", 0, 7 * 86400000LL);
    cfg->max_attempts = (int)config_int("DOJO_EXECUTOR_MAX_ATTEMPTS", 3, 1, 100);
    cfg->event_ttl_s =
        config_duration_ms("DOJO_EXECUTOR_EVENT_TTL", "1h", 1000, 30 * 86400000LL) / 1000;
    cfg->bundle_cache_size = (int)config_int("DOJO_EXECUTOR_BUNDLE_CACHE", 64, 1, 10000);
    {
        char def[4200];
        snprintf(def, sizeof def, "%s/blobs", cfg->workdir);
        absolute_path(config_str("DOJO_EXECUTOR_BLOB_CACHE_DIR", def), cfg->blob_dir,
                      sizeof cfg->blob_dir);
    }
    cfg->blob_cache_bytes =
        config_int("DOJO_EXECUTOR_BLOB_CACHE_MIB", 4096, 16, 1 << 24) * 1024 * 1024;
    cfg->uid_base = (unsigned)config_int("DOJO_EXECUTOR_UID_BASE", 1000000000, 65536, 4000000000);
    cfg->pids_limit = (int)config_int("DOJO_EXECUTOR_PIDS_LIMIT", 64, 8, 65536);
    cfg->learner_max_running =
        (int)config_int("DOJO_EXECUTOR_LEARNER_MAX_RUNNING", 1, 0, 1000);
    cfg->learner_sandbox_ms =
        config_int("DOJO_EXECUTOR_LEARNER_SANDBOX_SECONDS", 30, 0, 86400) * 1000;
    cfg->learner_window_ms =
        config_duration_ms("DOJO_EXECUTOR_LEARNER_SANDBOX_WINDOW", "60s", 1000, 86400000);
    cfg->pool = config_bool("DOJO_EXECUTOR_POOL", true);
    cfg->pool_size = (int)config_int("DOJO_EXECUTOR_POOL_SIZE", 4, 1, 16);
    cfg->pool_starts = (int)config_int("DOJO_EXECUTOR_POOL_STARTS", 1, 1, 8);
    cfg->pool_memory_mib = (int)config_int("DOJO_EXECUTOR_POOL_MEMORY_MIB", 1024, 16, 1 << 20);
    cfg->pool_languages = config_str("DOJO_EXECUTOR_POOL_LANGUAGES", "python3");
    cfg->pool_key_idle_ms =
        config_duration_ms("DOJO_EXECUTOR_POOL_KEY_IDLE", "10m", 1000, 7 * 86400000LL);
}

void exec_sandbox_config(const exec_config_t *cfg, sandbox_config_t *out)
{
    memset(out, 0, sizeof *out);
    out->workdir = cfg->workdir;
    out->rootfs_dir = cfg->rootfs_dir;
    out->driver_path = cfg->driver_path;
    out->host_uid_base = cfg->uid_base;
    out->pids_limit = cfg->pids_limit;
}

/* ------------------------------------------------------------------------
 * Languages (languages/<id>.json)
 * ------------------------------------------------------------------------ */

int exec_langs_load(exec_t *ex, err_t **err)
{
    if (sandbox_langs_load(ex->cfg.languages_dir, ex->langs, EXEC_MAX_LANGS, &ex->nlangs, err) < 0)
        return err_wrap(err, "languages from %s", ex->cfg.languages_dir);
    return 0;
}

const sandbox_lang_t *exec_lang(const exec_t *ex, const char *id)
{
    for (int i = 0; id && i < ex->nlangs; i++)
        if (!strcmp(ex->langs[i].id, id))
            return &ex->langs[i];
    return NULL;
}

/* ------------------------------------------------------------------------
 * The pool of pre-started sandboxes (pool.h)
 * ------------------------------------------------------------------------ */

#define EXEC_POOL_KEYS 8

int exec_pool_open(exec_t *ex, err_t **err)
{
    if (!ex->cfg.pool)
        return 0;
    int jobs = ex->cfg.concurrency + ex->cfg.sync_slots;
    /* Slots after the workers' and RunJob's: every box ready, every box a
     * job holds, and those still being torn down (gVisor: 1-1.5 s). */
    sandbox_pool_config_t pc = {
        .size = ex->cfg.pool_size,
        .memory_budget_kib = ex->cfg.pool_memory_mib * 1024L,
        .max_keys = EXEC_POOL_KEYS,
        .first_slot = jobs,
        .slots = 2 * jobs + 2 * ex->cfg.pool_size * 2 + ex->cfg.pool_starts + 4,
        .key_idle_ms = ex->cfg.pool_key_idle_ms,
        .starts = ex->cfg.pool_starts,
        .metrics_prefix = "dojo_executor_pool",
    };
    if (sandbox_pool_open(&ex->pool, &ex->sandbox, &pc, err) < 0)
        return err_wrap(err, "pool");
    char list[512];
    snprintf(list, sizeof list, "%s", ex->cfg.pool_languages);
    char *save = NULL;
    for (char *id = strtok_r(list, ", ", &save); id; id = strtok_r(NULL, ", ", &save)) {
        const sandbox_lang_t *lang = exec_lang(ex, id);
        if (lang == NULL) {
            LOG_WARN("pool: no such language", "language=%s", id);
            continue;
        }
        sandbox_pool_want(ex->pool, &(sandbox_box_key_t){.runtime = ex->cfg.runtime,
                                                         .lang = lang,
                                                         .memory_kib = EXEC_DEFAULT_MEMORY_KIB});
        if (lang->compile_argv[0])
            sandbox_pool_want(ex->pool,
                              &(sandbox_box_key_t){.runtime = ex->cfg.runtime,
                                                   .lang = lang,
                                                   .memory_kib = lang->compile_memory_kib,
                                                   .compile = true});
    }
    return 0;
}

void exec_pool_close(exec_t *ex)
{
    sandbox_pool_close(ex->pool);
    ex->pool = NULL;
}
