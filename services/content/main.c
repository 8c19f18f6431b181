/* main.c — the content service: wiring, and the operator command line.
 *
 *   content [serve]            load DOJO_CONTENT_DIR, then run the gRPC service
 *   content migrate            apply database migrations and exit
 *   content validate DIR       check task/achievement files; no database needed
 *   content normalize FILE     print a valid file with its defaults resolved
 *   content import DIR         load DIR/tasks, DIR/contests and DIR/achievements into the
 *                              database
 *   content export SLUG [VERSION]   print a task in the file form
 *   content package FILE.zip [SLUG] print the task a problem package makes
 *   content gc-blobs           collect the blobs nothing uses, once
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/service.h"
#include "services/content/migrations.h"

void content_config_load(content_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = service_setting(SERVICE_CONTENT_ADDR);
    cfg->metrics_addr = service_setting(SERVICE_CONTENT_METRICS_ADDR);
    cfg->pg_url = service_setting(SERVICE_PG_URL);
    cfg->auth_addr = service_setting(SERVICE_AUTH_ADDR);
    cfg->service_key = config_str("DOJO_SERVICE_KEY", "");
    cfg->content_dir = config_str("DOJO_CONTENT_DIR", "content");
    cfg->load_at_start = config_bool("DOJO_CONTENT_LOAD", true);
    cfg->clock_file = config_str("DOJO_CLOCK_FILE", "");
    cfg->blob_gc_interval_ms =
        config_duration_ms("DOJO_CONTENT_BLOB_GC_INTERVAL", "1h", 0, 7LL * 24 * 3600 * 1000);
    cfg->blob_gc_grace_ms =
        config_duration_ms("DOJO_CONTENT_BLOB_GC_GRACE", "7d", 1000, 365LL * 24 * 3600 * 1000);
    cfg->blob_gc_batch = config_int("DOJO_CONTENT_BLOB_GC_BATCH", 100, 1, 10000);
}

static int content_open(content_t *c, err_t **err)
{
    return service_pg_open(&c->pg, c->cfg.pg_url, "content", content_migrations,
                           content_migrations_count, err);
}

static void content_close(void *payload)
{
    content_t *c = payload;
    content_blob_gc_stop(c->blob_gc);
    c->blob_gc = NULL;
    identity_verifier_close(c->idv);
    pg_pool_close(c->pg);
}

static const rpc_handler_t content_handlers[] = {
    {.method = "ListTasks", .unary = content_rpc_list_tasks},
    {.method = "GetTask", .unary = content_rpc_get_task},
    {.method = "GetTasks", .unary = content_rpc_get_tasks},
    {.method = "GetJudgeBundle", .unary = content_rpc_get_judge_bundle},
    {.method = "GetTaskSolutions", .unary = content_rpc_get_task_solutions},
    {.method = "CreateTask", .unary = content_rpc_create_task},
    {.method = "UpdateTask", .unary = content_rpc_update_task},
    {.method = "ValidateTask", .unary = content_rpc_validate_task},
    {.method = "ArchiveTask", .unary = content_rpc_archive_task},
    {.method = "ExportTask", .unary = content_rpc_export_task},
    {.method = "ImportTasks", .unary = content_rpc_import_tasks},
    {.method = "ParsePackage", .unary = content_rpc_parse_package},
    {.method = "ExportPackage", .stream = content_rpc_export_package},
    {.method = "ListContests", .unary = content_rpc_list_contests},
    {.method = "GetContest", .unary = content_rpc_get_contest},
    {.method = "PutContest", .unary = content_rpc_put_contest},
    {.method = "ExportContest", .unary = content_rpc_export_contest},
    {.method = "ParseContestPackage", .unary = content_rpc_parse_contest_package},
    {.method = "ExportContestPackage", .unary = content_rpc_export_contest_package},
    {.method = "ListAchievements", .unary = content_rpc_list_achievements},
    {.method = "ListTracks", .unary = content_rpc_list_tracks},
    {.method = "ListLanguages", .unary = content_rpc_list_languages},
    {.method = "PutBlobChunk", .unary = content_rpc_put_blob_chunk},
    {.method = "GetBlobStatus", .unary = content_rpc_get_blob_status},
    {.method = "ReadBlob", .stream = content_rpc_read_blob},
    {0},
};

static void describe(void *payload, char *out, size_t cap)
{
    content_t *c = payload;
    snprintf(out, cap, "content_dir=\"%s\"", log_esc(c->cfg.content_dir));
}

static int serve(void *payload, int argc, char **argv, err_t **err)
{
    content_t *c = payload;
    if (content_open(c, err) < 0)
        return -1;
    if (c->cfg.load_at_start) {
        /* A bad file is logged and skipped; only the database failing stops
         * the start. */
        int rejected = 0;
        if (content_load_dir(c, c->cfg.content_dir, false, &rejected, err) < 0)
            return err_wrap(err, "load %s", c->cfg.content_dir);
        if (rejected)
            LOG_WARN("some content files were rejected; their tasks keep their last good version",
                     "rejected=%d", rejected);
    }
    if (identity_verifier_open(&c->idv, c->cfg.auth_addr, c->cfg.service_key, err) < 0 ||
        content_blob_gc_start(c, &c->blob_gc, err) < 0)
        return -1;
    int rc = service_serve(&(service_server_t){.name = "content",
                                             .addr = c->cfg.addr,
                                             .metrics_addr = c->cfg.metrics_addr,
                                             .service = &dojo__content__v1__content__descriptor,
                                             .handlers = content_handlers,
                                             .payload = c,
                                             .describe = describe},
                         err);
    content_blob_gc_stop(c->blob_gc);
    c->blob_gc = NULL;
    return rc;
}

static int migrate(void *payload, int argc, char **argv, err_t **err)
{
    if (content_open(payload, err) < 0)
        return -1;
    printf("migrations applied\n");
    return 0;
}

/* Errors in files are reported per file; they make the exit status 1. */
static int validate(void *payload, int argc, char **argv, err_t **err)
{
    int errors = content_validate_dir(argv[0], err);
    return errors > 0 ? 1 : errors;
}

static int normalize(void *payload, int argc, char **argv, err_t **err)
{
    return content_normalize_file(argv[0]) > 0 ? 1 : 0;
}

static int package(void *payload, int argc, char **argv, err_t **err)
{
    return content_package_file(argv[0], argc == 2 ? argv[1] : NULL);
}

static int import(void *payload, int argc, char **argv, err_t **err)
{
    int rejected = 0;
    if (content_open(payload, err) < 0 ||
        content_load_dir(payload, argv[0], true, &rejected, err) < 0)
        return -1;
    if (rejected == 0)
        return 0;
    fprintf(stderr, "content import: %d file%s rejected\n", rejected, rejected == 1 ? "" : "s");
    return 1;
}

static int export(void *payload, int argc, char **argv, err_t **err)
{
    int version = argc == 2 ? atoi(argv[1]) : 0;
    cleanup_free char *text = NULL;
    if (content_open(payload, err) < 0 ||
        content_export_text(payload, argv[0], version, &text, err) < 0)
        return -1;
    fputs(text, stdout);
    return 0;
}

/* One pass of the serving collector, now (DOJO_CONTENT_BLOB_GC_GRACE and
 * _BATCH as it uses them). */
static int gc_blobs(void *payload, int argc, char **argv, err_t **err)
{
    int n = 0;
    int64_t bytes = 0;
    if (content_open(payload, err) < 0 || content_blob_gc_run_once(payload, &n, &bytes, err) < 0)
        return -1;
    printf("collected %d unused blob%s, %lld bytes\n", n, n == 1 ? "" : "s", (long long)bytes);
    return 0;
}

static const service_cmd_t content_commands[] = {
    {.name = "serve", .run = serve},
    {.name = "migrate", .run = migrate},
    {.name = "validate", .min_args = 1, .max_args = 1, .run = validate},
    {.name = "normalize", .min_args = 1, .max_args = 1, .run = normalize},
    {.name = "import", .min_args = 1, .max_args = 1, .run = import},
    {.name = "package", .min_args = 1, .max_args = 2, .run = package},
    {.name = "export", .min_args = 1, .max_args = 2, .run = export},
    {.name = "gc-blobs", .run = gc_blobs},
    {0},
};

static void configure(void *payload, const char *argv0)
{
    content_t *c = payload;
    content_config_load(&c->cfg);
}

static content_t content_state;

static const service_def_t content_service = {
    .name = "content",
    .usage = "usage: content [serve]\n"
             "       content migrate\n"
             "       content validate DIR     (DIR with tasks/ and achievements/, or a "
             "folder of task files)\n"
             "       content normalize FILE   (a task or achievement file)\n"
             "       content import DIR       (DIR with tasks/ and achievements/)\n"
             "       content export SLUG [VERSION]\n"
             "       content package FILE.zip [SLUG]   (the task a problem package makes)\n"
             "       content gc-blobs         (collect unused blobs once; see "
             "DOJO_CONTENT_BLOB_GC_GRACE)\n",
    .commands = content_commands,
    .payload = &content_state,
    .configure = configure,
    .close = content_close,
};

int main(int argc, char **argv)
{
    return service_main(&content_service, argc, argv);
}
