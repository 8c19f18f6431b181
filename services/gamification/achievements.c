/* achievements.c — rules as data: definitions come from
 * Content.ListAchievements (see catalog.c); each rule kind is a measure of
 * what the learner has and a target. An achievement unlocks once, when its
 * measure reaches its target after a recorded result, and is never taken
 * back. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

static const pg_stmt_t stmt_facts = {
    .name = "game_user_facts",
    .sql = "SELECT task_slug, difficulty, first_attempt FROM game.solves "
           "WHERE user_id = $1::uuid ORDER BY task_slug",
    .nparams = 1,
};

static const pg_stmt_t stmt_unlock = {
    .name = "game_achievement_unlock",
    .sql = "INSERT INTO game.achievements (user_id, slug, title, description, icon, unlocked_at) "
           "VALUES ($1::uuid, $2, $3, $4, $5, " GAM_TS(
               6) ") "
                  "ON CONFLICT DO NOTHING RETURNING " GAM_US("unlocked_at"),
    .nparams = 6,
};

int gam_user_facts_load(rpc_call_t *call, pg_conn_t *conn, const char *user_id,
                        gam_user_facts_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {user_id};
    if (pg_exec(conn, &stmt_facts, p, &r, err) < 0)
        return err_wrap(err, "read solves");
    out->nsolved = (size_t)PQntuples(r);
    out->solved = rpc_alloc(call, (out->nsolved + 1) * sizeof(char *));
    for (int i = 0; i < PQntuples(r); i++) {
        out->solved[i] = rpc_strdup(call, pg_get(r, i, 0));
        int64_t d = pg_get_int64(r, i, 1);
        if (d >= 1 && d <= 3)
            out->solved_by_difficulty[d]++;
        if (pg_get_bool(r, i, 2))
            out->first_attempts++;
    }
    return 0;
}

static bool has_solved(const gam_user_facts_t *f, const char *slug)
{
    /* A learner solves tens of tasks, not thousands: a scan is enough (and
     * the SQL order follows the database collation, not strcmp's). */
    for (size_t i = 0; i < f->nsolved; i++)
        if (!strcmp(f->solved[i], slug))
            return true;
    return false;
}

static bool task_has_tag(const gam_task_t *t, const char *tag)
{
    for (size_t i = 0; i < t->ntags; i++)
        if (!strcmp(t->tags[i], tag))
            return true;
    return false;
}

void gam_achievement_measure(const gam_snapshot_t *s, const gam_achievement_t *a,
                             const gam_user_facts_t *f, int64_t *current, int64_t *target)
{
    int64_t n = a->threshold > 0 ? a->threshold : 1;
    *current = 0;
    *target = n;
    switch (a->kind) {
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_FIRST_SOLVE:
        *current = f->nsolved > 0 ? 1 : 0;
        *target = 1;
        break;
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_TASKS_SOLVED:
        *current = (int64_t)f->nsolved;
        break;
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_POINTS:
        *current = f->total_points;
        break;
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_STREAK_DAYS:
        *current = f->streak_current;
        break;
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_FIRST_ATTEMPT:
        *current = f->first_attempts;
        break;
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_DIFFICULTY_SOLVED:
        *current =
            a->difficulty >= 1 && a->difficulty <= 3 ? f->solved_by_difficulty[a->difficulty] : 0;
        break;
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_TAG_COMPLETE:
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_DIFFICULTY_COMPLETE:
    case DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_ALL_TASKS: {
        /* "Every task" means every task active now; at least one must exist,
         * so an empty set has a target no one reaches. */
        int64_t total = 0, done = 0;
        for (size_t i = 0; i < s->ntasks; i++) {
            const gam_task_t *t = &s->tasks[i];
            bool in =
                a->kind ==
                    DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_ALL_TASKS ||
                (a->kind ==
                     DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_TAG_COMPLETE &&
                 task_has_tag(t, a->tag)) ||
                (a->kind ==
                     DOJO__CONTENT__V1__ACHIEVEMENT_RULE_KIND__ACHIEVEMENT_RULE_KIND_DIFFICULTY_COMPLETE &&
                 t->difficulty == a->difficulty);
            if (!in)
                continue;
            total++;
            if (has_solved(f, t->slug))
                done++;
        }
        *current = done;
        *target = total > 0 ? total : 1;
        if (total == 0)
            *current = 0;
        break;
    }
    default:
        *target = INT64_MAX; /* a kind this build does not know never unlocks */
        break;
    }
}

int gam_achievements_evaluate(rpc_call_t *call, pg_conn_t *conn, const gam_snapshot_t *s,
                              const char *user_id, const gam_user_facts_t *f, int64_t at_us,
                              Dojo__Gamification__V1__UnlockedAchievement ***out, size_t *n_out,
                              err_t **err)
{
    Dojo__Gamification__V1__UnlockedAchievement **list =
        rpc_alloc(call, (s->nachievements + 1) * sizeof *list);
    size_t n = 0;
    const char *at = gam_i64(call, at_us);
    for (size_t i = 0; i < s->nachievements; i++) {
        const gam_achievement_t *a = &s->achievements[i];
        int64_t current, target;
        gam_achievement_measure(s, a, f, &current, &target);
        if (current < target)
            continue;
        cleanup_pgresult PGresult *r = NULL;
        const char *p[] = {user_id, a->slug, a->title, a->description, a->icon, at};
        if (pg_exec(conn, &stmt_unlock, p, &r, err) < 0)
            return err_wrap(err, "unlock %s", a->slug);
        if (PQntuples(r) == 0)
            continue; /* unlocked before */
        Dojo__Gamification__V1__UnlockedAchievement *u =
            RPC_NEW(call, Dojo__Gamification__V1__UnlockedAchievement,
                    DOJO__GAMIFICATION__V1__UNLOCKED_ACHIEVEMENT__INIT);
        u->slug = rpc_strdup(call, a->slug);
        u->title = rpc_strdup(call, a->title);
        u->description = rpc_strdup(call, a->description);
        u->icon = rpc_strdup(call, a->icon);
        u->unlocked_at = gam_timestamp(call, pg_get_int64(r, 0, 0));
        list[n++] = u;
        LOG_INFO("achievement unlocked", "achievement=%s", a->slug);
    }
    *out = list;
    *n_out = n;
    return 0;
}
