/* main.c — the gamification service: wiring, and the operator command line.
 *
 *   gamification [serve]                  run the gRPC service
 *   gamification migrate                  apply database migrations and exit
 *   gamification rebuild-leaderboards     mark every Redis board stale; each is
 *                                         rebuilt from PostgreSQL on its next read
 *   gamification send-reminders           mail the due-date reminders due now, once
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/kvc.h"
#include "libcommon/service.h"
#include "services/gamification/migrations.h"

void gam_config_load(gam_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = service_setting(SERVICE_GAMIFICATION_ADDR);
    cfg->metrics_addr = service_setting(SERVICE_GAMIFICATION_METRICS_ADDR);
    cfg->pg_url = service_setting(SERVICE_PG_URL);
    cfg->redis_addr = service_setting(SERVICE_REDIS_ADDR);
    cfg->auth_addr = service_setting(SERVICE_AUTH_ADDR);
    cfg->content_addr = service_setting(SERVICE_CONTENT_ADDR);
    cfg->service_key = config_str("DOJO_SERVICE_KEY", "");
    cfg->clock_file = config_str("DOJO_CLOCK_FILE", "");
    cfg->redis_prefix = config_str("DOJO_GAMIFICATION_REDIS_PREFIX", KVC_BOARD_PREFIX_DEFAULT);
    cfg->content_ttl_ms = config_duration_ms("DOJO_GAMIFICATION_CONTENT_TTL", "60s", 0, 86400000);
    cfg->board_max_age_s =
        config_duration_ms("DOJO_GAMIFICATION_BOARD_MAX_AGE", "10m", 1000, 7 * 86400000LL) / 1000;
    cfg->sweep_interval_ms =
        config_duration_ms("DOJO_GAMIFICATION_SWEEP_INTERVAL", "10s", 0, 3600000);
    cfg->orphan_after_ms =
        config_duration_ms("DOJO_GAMIFICATION_ORPHAN_AFTER", "30s", 1000, 3600000);
    /* Below the enqueued marker's life (a day), which tells orphans apart. */
    cfg->pending_max_ms =
        config_duration_ms("DOJO_GAMIFICATION_PENDING_MAX", "1h", 60000, 20 * 3600000LL);
    cfg->event_ttl_s = config_duration_ms("DOJO_EVENT_TTL", "1h", 60000, 7 * 86400000LL) / 1000;
    cfg->contest_max_pending = config_int("DOJO_CONTEST_MAX_PENDING", 3, 1, 1000);
    if (cfg->orphan_after_ms >= cfg->pending_max_ms) {
        fprintf(stderr, "configuration error: DOJO_GAMIFICATION_ORPHAN_AFTER must be shorter "
                        "than DOJO_GAMIFICATION_PENDING_MAX\n");
        exit(2);
    }
    cfg->public_url = service_setting(SERVICE_PUBLIC_URL);
    cfg->reminder_interval_ms =
        config_duration_ms("DOJO_GAMIFICATION_REMINDER_INTERVAL", "5m", 100, 86400000);
    if (strlen(cfg->redis_prefix) > 64) {
        fprintf(stderr, "configuration error: DOJO_GAMIFICATION_REDIS_PREFIX: at most 64 "
                        "characters\n");
        exit(2);
    }
}

static int gam_open(gam_t *g, bool serving, err_t **err)
{
    if (service_pg_open(&g->pg, g->cfg.pg_url, "game", game_migrations, game_migrations_count,
                        err) < 0)
        return -1;
    if (!serving)
        return 0;
    if (kv_pool_open(&g->kv, g->cfg.redis_addr, service_pool_size(), 2000, err) < 0)
        return err_wrap(err, "connect to Redis");
    if (identity_verifier_open(&g->ids, g->cfg.auth_addr, g->cfg.service_key, err) < 0)
        return -1;
    if (rpc_channel_open(&g->content, g->cfg.content_addr, err) < 0)
        return err_wrap(err, "channel to content");
    if (rpc_channel_open(&g->auth, g->cfg.auth_addr, err) < 0)
        return err_wrap(err, "channel to auth");
    if (gam_contests_open(g, err) < 0)
        return -1;
    return gam_catalog_open(&g->catalog, err);
}

static void gam_close(void *payload)
{
    gam_t *g = payload;
    gam_catalog_close(g->catalog);
    rpc_channel_close(g->auth);
    gam_contests_close(g);
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
    {.method = "ListTaskStats", .unary = gam_rpc_list_task_stats},
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
    {.method = "CreateClass", .unary = gam_rpc_create_class},
    {.method = "GetClass", .unary = gam_rpc_get_class},
    {.method = "ListClasses", .unary = gam_rpc_list_classes},
    {.method = "UpdateClass", .unary = gam_rpc_update_class},
    {.method = "ArchiveClass", .unary = gam_rpc_archive_class},
    {.method = "DeleteClass", .unary = gam_rpc_delete_class},
    {.method = "JoinClass", .unary = gam_rpc_join_class},
    {.method = "RemoveClassMember", .unary = gam_rpc_remove_class_member},
    {.method = "ListClassMembers", .unary = gam_rpc_list_class_members},
    {.method = "ImportRoster", .unary = gam_rpc_import_roster},
    {.method = "CreateAssignment", .unary = gam_rpc_create_assignment},
    {.method = "UpdateAssignment", .unary = gam_rpc_update_assignment},
    {.method = "DeleteAssignment", .unary = gam_rpc_delete_assignment},
    {.method = "GetAssignment", .unary = gam_rpc_get_assignment},
    {.method = "ListAssignments", .unary = gam_rpc_list_assignments},
    {.method = "ListDue", .unary = gam_rpc_list_due},
    {.method = "GetClassBoard", .unary = gam_rpc_get_class_board},
    {.method = "GetClassProgress", .unary = gam_rpc_get_class_progress},
    {.method = "GetTaskAnalytics", .unary = gam_rpc_get_task_analytics},
    {.method = "ExportGrades", .unary = gam_rpc_export_grades},
    {.method = "RecordTaskOpen", .unary = gam_rpc_record_task_open},
    {.method = "ListContestViews", .unary = gam_rpc_list_contest_views},
    {.method = "GetContestView", .unary = gam_rpc_get_contest_view},
    {.method = "RegisterContest", .unary = gam_rpc_register_contest},
    {.method = "PutContestTeam", .unary = gam_rpc_put_contest_team},
    {.method = "ListContestTeams", .unary = gam_rpc_list_contest_teams},
    {.method = "SetContestJury", .unary = gam_rpc_set_contest_jury},
    {.method = "ListContestSubmissions", .unary = gam_rpc_list_contest_submissions},
    {.method = "GetContestSubmission", .unary = gam_rpc_get_contest_submission},
    {.method = "ListContestJudgements", .unary = gam_rpc_list_contest_judgements},
    {.method = "RejudgeContest", .unary = gam_rpc_rejudge_contest},
    {.method = "OverrideVerdict", .unary = gam_rpc_override_verdict},
    {.method = "ListContestAudit", .unary = gam_rpc_list_contest_audit},
    {.method = "CreateClarification", .unary = gam_rpc_create_clarification},
    {.method = "ListClarifications", .unary = gam_rpc_list_clarifications},
    {.method = "GetScoreboard", .unary = gam_rpc_get_scoreboard},
    {.method = "ThawContest", .unary = gam_rpc_thaw_contest},
    {.method = "RevealNext", .unary = gam_rpc_reveal_next},
    {.method = "FinalizeContest", .unary = gam_rpc_finalize_contest},
    {.method = "ListContestEvents", .unary = gam_rpc_list_contest_events},
    {0},
};

static void describe(void *payload, char *out, size_t cap)
{
    gam_t *g = payload;
    snprintf(out, cap, "content=%s clock=%s", g->cfg.content_addr,
             g->cfg.clock_file[0] ? "file" : "real");
}

/* The background threads: the sweeper of pending submissions, the
 * due-date reminders and the contests' scoreboard publisher. */
static int start_threads(rpc_server_t *server, void *payload, err_t **err)
{
    gam_t *g = payload;
    if (gam_boards_start(g, err) < 0)
        return -1;
    if (gam_sweeper_start(g, &g->sweeper, err) < 0) {
        gam_boards_stop(g);
        return -1;
    }
    if (gam_reminders_start(g, &g->reminders, err) < 0) {
        gam_sweeper_stop(g->sweeper);
        g->sweeper = NULL;
        gam_boards_stop(g);
        return -1;
    }
    return 0;
}

static void stop_threads(void *payload)
{
    gam_t *g = payload;
    gam_reminders_stop(g->reminders);
    g->reminders = NULL;
    gam_sweeper_stop(g->sweeper);
    g->sweeper = NULL;
    gam_boards_stop(g);
}

static int serve(void *payload, int argc, char **argv, err_t **err)
{
    gam_t *g = payload;
    if (gam_open(g, true, err) < 0)
        return -1;
    return service_serve(
        &(service_server_t){.name = "gamification",
                            .addr = g->cfg.addr,
                            .metrics_addr = g->cfg.metrics_addr,
                            .service = &dojo__gamification__v1__gamification__descriptor,
                            .handlers = gam_handlers,
                            .payload = g,
                            .start = start_threads,
                            .stop = stop_threads,
                            .describe = describe},
        err);
}

static int migrate(void *payload, int argc, char **argv, err_t **err)
{
    if (gam_open(payload, false, err) < 0)
        return -1;
    printf("migrations applied\n");
    return 0;
}

static int rebuild_boards(void *payload, int argc, char **argv, err_t **err)
{
    gam_t *g = payload;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (gam_open(g, false, err) < 0 || pg_pool_acquire(g->pg, &conn, 5000, err) < 0 ||
        gam_boards_invalidate(conn, err) < 0)
        return -1;
    printf("leaderboards marked stale; each is rebuilt on its next read\n");
    return 0;
}

static int send_reminders(void *payload, int argc, char **argv, err_t **err)
{
    int sent = 0;
    if (gam_open(payload, true, err) < 0 || gam_reminders_run_once(payload, &sent, err) < 0)
        return -1;
    printf("%d reminder%s mailed\n", sent, sent == 1 ? "" : "s");
    return 0;
}

static const service_cmd_t gam_commands[] = {
    {.name = "serve", .run = serve},
    {.name = "migrate", .run = migrate},
    {.name = "rebuild-leaderboards", .run = rebuild_boards},
    {.name = "send-reminders", .run = send_reminders},
    {0},
};

static void configure(void *payload, const char *argv0)
{
    gam_t *g = payload;
    gam_config_load(&g->cfg);
}

static gam_t gam_state;

static const service_def_t gam_service = {
    .name = "gamification",
    .usage = "usage: gamification [serve]\n"
             "       gamification migrate\n"
             "       gamification rebuild-leaderboards\n"
             "       gamification send-reminders\n",
    .commands = gam_commands,
    .payload = &gam_state,
    .configure = configure,
    .close = gam_close,
};

int main(int argc, char **argv)
{
    return service_main(&gam_service, argc, argv);
}
