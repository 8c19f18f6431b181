/* main.c — the gamification service: wiring, and the operator command line.
 *
 *   gamification [serve]                  run the gRPC service
 *   gamification migrate                  apply database migrations and exit
 *   gamification rebuild-leaderboards     mark every Redis board stale; each is
 *                                         rebuilt from PostgreSQL on its next read
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"
#include "services/gamification/migrations.h"

void gam_config_load(gam_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = config_addr("DOJO_GAMIFICATION_ADDR", "127.0.0.1:7003");
    cfg->metrics_addr = config_addr("DOJO_GAMIFICATION_METRICS_ADDR", "127.0.0.1:9103");
    cfg->pg_url = config_str("DOJO_PG_URL", "postgresql://dojo@127.0.0.1:55432/dojo");
    cfg->redis_addr = config_addr("DOJO_REDIS_ADDR", "127.0.0.1:56379");
    cfg->auth_addr = config_addr("DOJO_AUTH_ADDR", "127.0.0.1:7001");
    cfg->content_addr = config_addr("DOJO_CONTENT_ADDR", "127.0.0.1:7002");
    cfg->service_key = config_str("DOJO_SERVICE_KEY", "");
    cfg->clock_file = config_str("DOJO_CLOCK_FILE", "");
    cfg->redis_prefix = config_str("DOJO_GAMIFICATION_REDIS_PREFIX", KVC_BOARD_PREFIX_DEFAULT);
    cfg->content_ttl_ms = config_duration_ms("DOJO_GAMIFICATION_CONTENT_TTL", "60s", 0, 86400000);
    cfg->board_max_age_s =
        config_duration_ms("DOJO_GAMIFICATION_BOARD_MAX_AGE", "10m", 1000, 7 * 86400000LL) / 1000;
    if (strlen(cfg->redis_prefix) > 64) {
        fprintf(stderr, "configuration error: DOJO_GAMIFICATION_REDIS_PREFIX: at most 64 "
                        "characters\n");
        exit(2);
    }
}

static int gam_open(gam_t *g, bool serving, err_t **err)
{
    int pool = (int)config_int("DOJO_PG_POOL", 8, 1, 256);
    if (pg_pool_open(&g->pg, g->cfg.pg_url, pool, err) < 0)
        return err_wrap(err, "connect to PostgreSQL");
    if (pg_migrate(g->pg, "game", game_migrations, game_migrations_count, err) < 0)
        return err_wrap(err, "migrate");
    if (!serving)
        return 0;
    if (kv_pool_open(&g->kv, g->cfg.redis_addr, pool, 2000, err) < 0)
        return err_wrap(err, "connect to Redis");
    if (identity_verifier_open(&g->ids, g->cfg.auth_addr, g->cfg.service_key, err) < 0)
        return -1;
    if (rpc_channel_open(&g->content, g->cfg.content_addr, err) < 0)
        return err_wrap(err, "channel to content");
    return gam_catalog_open(&g->catalog, err);
}

static void gam_close(gam_t *g)
{
    gam_catalog_close(g->catalog);
    rpc_channel_close(g->content);
    identity_verifier_close(g->ids);
    kv_pool_close(g->kv);
    pg_pool_close(g->pg);
}

static const rpc_handler_t gam_handlers[] = {
    {.method = "CreateSubmission", .unary = gam_rpc_create_submission},
    {.method = "RecordResult", .unary = gam_rpc_record_result},
    {.method = "GetSubmission", .unary = gam_rpc_get_submission},
    {.method = "ListSubmissions", .unary = gam_rpc_list_submissions},
    {.method = "GetProgress", .unary = gam_rpc_get_progress},
    {.method = "GetLeaderboard", .unary = gam_rpc_get_leaderboard},
    {.method = "SetLeaderboardOptOut", .unary = gam_rpc_set_leaderboard_opt_out},
    {.method = "CreateCohort", .unary = gam_rpc_create_cohort},
    {.method = "AddCohortMember", .unary = gam_rpc_add_cohort_member},
    {.method = "RemoveCohortMember", .unary = gam_rpc_remove_cohort_member},
    {.method = "ListCohorts", .unary = gam_rpc_list_cohorts},
    {.method = "ListCohortMembers", .unary = gam_rpc_list_cohort_members},
    {.method = "SetUserProfile", .unary = gam_rpc_set_user_profile},
    {.method = "SaveDraft", .unary = gam_rpc_save_draft},
    {.method = "GetDraft", .unary = gam_rpc_get_draft},
    {0},
};

static int serve(gam_t *g, err_t **err)
{
    rpc_server_t *server = NULL;
    if (metrics_start(g->cfg.metrics_addr, err) < 0 ||
        rpc_server_new(&server, "gamification", g->cfg.addr, err) < 0 ||
        rpc_server_add_service(server, &dojo__gamification__v1__gamification__descriptor,
                               gam_handlers, g, err) < 0 ||
        rpc_server_start(server, err) < 0) {
        rpc_server_free(server);
        return -1;
    }
    LOG_INFO("gamification serving", "addr=%s port=%d metrics=%s content=%s clock=%s", g->cfg.addr,
             rpc_server_port(server), g->cfg.metrics_addr, g->cfg.content_addr,
             g->cfg.clock_file[0] ? "file" : "real");
    rpc_server_run(server);
    rpc_server_free(server);
    metrics_stop();
    return 0;
}

static int rebuild_boards(gam_t *g, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (pg_pool_acquire(g->pg, &conn, 5000, err) < 0)
        return -1;
    return gam_boards_invalidate(conn, err);
}

static void usage(void)
{
    fprintf(stderr, "usage: gamification [serve]\n"
                    "       gamification migrate\n"
                    "       gamification rebuild-leaderboards\n");
}

int main(int argc, char **argv)
{
    rpc_init();
    log_init("gamification");
    const char *cmd = argc > 1 ? argv[1] : "serve";
    gam_t g;
    memset(&g, 0, sizeof g);
    gam_config_load(&g.cfg);
    cleanup_err err_t *err = NULL;
    int rc = 0;

    if (!strcmp(cmd, "serve") && argc <= 2) {
        rc = gam_open(&g, true, &err) < 0 ? -1 : serve(&g, &err);
    } else if (!strcmp(cmd, "migrate") && argc == 2) {
        rc = gam_open(&g, false, &err);
        if (rc == 0)
            printf("migrations applied\n");
    } else if (!strcmp(cmd, "rebuild-leaderboards") && argc == 2) {
        rc = gam_open(&g, false, &err) < 0 ? -1 : rebuild_boards(&g, &err);
        if (rc == 0)
            printf("leaderboards marked stale; each is rebuilt on its next read\n");
    } else {
        usage();
        return 2;
    }
    gam_close(&g);
    if (rc < 0) {
        LOG_ERROR("gamification failed", "command=%s error=\"%s\"", log_esc(cmd),
                  err ? log_esc(err->msg) : "?");
        fprintf(stderr, "gamification %s: %s\n", cmd, err ? err->msg : "failed");
        return 1;
    }
    return 0;
}
