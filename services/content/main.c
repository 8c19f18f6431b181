/* main.c — the content service: wiring, and the operator command line.
 *
 *   content [serve]            load DOJO_CONTENT_DIR, then run the gRPC service
 *   content migrate            apply database migrations and exit
 *   content validate DIR       check task/achievement files; no database needed
 *   content normalize FILE     print a valid file with its defaults resolved
 *   content import DIR         load DIR/tasks and DIR/achievements into the database
 *   content export SLUG [VERSION]   print a task in the file form
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"
#include "services/content/migrations.h"

void content_config_load(content_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = config_addr("DOJO_CONTENT_ADDR", "127.0.0.1:7002");
    cfg->metrics_addr = config_addr("DOJO_CONTENT_METRICS_ADDR", "127.0.0.1:9102");
    cfg->pg_url = config_str("DOJO_PG_URL", "postgresql://dojo@127.0.0.1:55432/dojo");
    cfg->auth_addr = config_addr("DOJO_AUTH_ADDR", "127.0.0.1:7001");
    cfg->service_key = config_str("DOJO_SERVICE_KEY", "");
    cfg->content_dir = config_str("DOJO_CONTENT_DIR", "content");
    cfg->load_at_start = config_bool("DOJO_CONTENT_LOAD", true);
}

static int content_open(content_t *c, err_t **err)
{
    int pool = (int)config_int("DOJO_PG_POOL", 8, 1, 256);
    if (pg_pool_open(&c->pg, c->cfg.pg_url, pool, err) < 0)
        return err_wrap(err, "connect to PostgreSQL");
    if (pg_migrate(c->pg, "content", content_migrations, content_migrations_count, err) < 0)
        return err_wrap(err, "migrate");
    return 0;
}

static void content_close(content_t *c)
{
    identity_verifier_close(c->idv);
    pg_pool_close(c->pg);
}

static const rpc_handler_t content_handlers[] = {
    {.method = "ListTasks", .unary = content_rpc_list_tasks},
    {.method = "GetTask", .unary = content_rpc_get_task},
    {.method = "GetJudgeBundle", .unary = content_rpc_get_judge_bundle},
    {.method = "CreateTask", .unary = content_rpc_create_task},
    {.method = "UpdateTask", .unary = content_rpc_update_task},
    {.method = "ValidateTask", .unary = content_rpc_validate_task},
    {.method = "ArchiveTask", .unary = content_rpc_archive_task},
    {.method = "ExportTask", .unary = content_rpc_export_task},
    {.method = "ImportTasks", .unary = content_rpc_import_tasks},
    {.method = "ListAchievements", .unary = content_rpc_list_achievements},
    {.method = "ListLanguages", .unary = content_rpc_list_languages},
    {0},
};

static int serve(content_t *c, err_t **err)
{
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
    rpc_server_t *server = NULL;
    if (identity_verifier_open(&c->idv, c->cfg.auth_addr, c->cfg.service_key, err) < 0 ||
        metrics_start(c->cfg.metrics_addr, err) < 0 ||
        rpc_server_new(&server, "content", c->cfg.addr, err) < 0 ||
        rpc_server_add_service(server, &dojo__content__v1__content__descriptor, content_handlers,
                               c, err) < 0 ||
        rpc_server_start(server, err) < 0) {
        rpc_server_free(server);
        return -1;
    }
    LOG_INFO("content serving", "addr=%s port=%d metrics=%s content_dir=\"%s\"", c->cfg.addr,
             rpc_server_port(server), c->cfg.metrics_addr, log_esc(c->cfg.content_dir));
    rpc_server_run(server);
    rpc_server_free(server);
    metrics_stop();
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: content [serve]\n"
                    "       content migrate\n"
                    "       content validate DIR     (DIR with tasks/ and achievements/, or a "
                    "folder of task files)\n"
                    "       content normalize FILE   (a task or achievement file)\n"
                    "       content import DIR       (DIR with tasks/ and achievements/)\n"
                    "       content export SLUG [VERSION]\n");
}

int main(int argc, char **argv)
{
    rpc_init();
    log_init("content");
    const char *cmd = argc > 1 ? argv[1] : "serve";
    content_t c;
    memset(&c, 0, sizeof c);
    content_config_load(&c.cfg);
    cleanup_err err_t *err = NULL;
    int rc = 0;

    if (!strcmp(cmd, "serve") && argc <= 2) {
        rc = content_open(&c, &err) < 0 ? -1 : serve(&c, &err);
    } else if (!strcmp(cmd, "migrate") && argc == 2) {
        rc = content_open(&c, &err);
        if (rc == 0)
            printf("migrations applied\n");
    } else if (!strcmp(cmd, "validate") && argc == 3) {
        int errors = content_validate_dir(argv[2], &err);
        if (errors > 0)
            return 1;
        rc = errors < 0 ? -1 : 0;
    } else if (!strcmp(cmd, "normalize") && argc == 3) {
        if (content_normalize_file(argv[2]) > 0)
            return 1;
    } else if (!strcmp(cmd, "import") && argc == 3) {
        int rejected = 0;
        rc = content_open(&c, &err) < 0 ? -1 : content_load_dir(&c, argv[2], true, &rejected, &err);
        if (rc == 0 && rejected) {
            content_close(&c);
            fprintf(stderr, "content import: %d file%s rejected\n", rejected,
                    rejected == 1 ? "" : "s");
            return 1;
        }
    } else if (!strcmp(cmd, "export") && (argc == 3 || argc == 4)) {
        int version = argc == 4 ? atoi(argv[3]) : 0;
        cleanup_free char *text = NULL;
        rc = content_open(&c, &err) < 0 ? -1
                                         : content_export_text(&c, argv[2], version, &text, &err);
        if (rc == 0)
            fputs(text, stdout);
    } else {
        usage();
        return 2;
    }
    content_close(&c);
    if (rc < 0) {
        LOG_ERROR("content failed", "command=%s error=\"%s\"", log_esc(cmd),
                  err ? log_esc(err->msg) : "?");
        fprintf(stderr, "content %s: %s\n", cmd, err ? err->msg : "failed");
        return 1;
    }
    return 0;
}
