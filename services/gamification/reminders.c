/* reminders.c — due-date reminders: every DOJO_GAMIFICATION_REMINDER_INTERVAL
 * a background thread looks for assignments due within their
 * remind_hours_before, and mails each learner of the class who has not
 * solved all of it on time, once (game.assignment_reminders). The rows are
 * written in the transaction that is committed only once auth has queued
 * the mails: a replica that races this one waits on the rows and then finds
 * them taken; a failed send is tried again on the next pass. Times come
 * from the service's clock (DOJO_CLOCK_FILE in tests). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

#define REMINDERS_PER_PASS 500

struct gam_reminders {
    gam_t *g;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

/* Who is due a reminder now: assignment, titles, learner, the due date in
 * the learner's own zone, and the tasks not yet solved on time. */
static const pg_stmt_t stmt_due_soon = {
    .name = "game_rem_due_soon",
    .sql = "SELECT a.id::text, a.title, h.title, m.user_id::text, "
           "to_char(a.due_at AT TIME ZONE coalesce(p.time_zone, 'UTC'), "
           "  'Dy DD Mon YYYY, HH24:MI'), coalesce(p.time_zone, 'UTC'), "
           "array_to_string(ARRAY(SELECT t FROM unnest(a.task_slugs) AS t WHERE NOT EXISTS "
           "  (SELECT 1 FROM game.submissions s WHERE s.user_id = m.user_id AND s.task_slug = t "
           "   AND s.kind = 2 AND s.verdict = 1 AND s.created_at <= a.due_at)), ','), c.slug "
           "FROM game.assignments a "
           "JOIN game.classes c ON c.slug = a.class_slug AND c.archived_at IS NULL "
           "JOIN game.cohorts h ON h.slug = c.slug "
           "JOIN game.cohort_members m ON m.cohort_slug = c.slug "
           "LEFT JOIN game.profiles p ON p.user_id = m.user_id "
           "WHERE a.remind_hours > 0 AND a.opens_at <= " GAM_TS(1) " AND a.due_at > " GAM_TS(
               1) " "
                  "AND a.due_at - make_interval(hours => a.remind_hours) <= " GAM_TS(
                      1) " "
                         "AND NOT EXISTS (SELECT 1 FROM game.assignment_reminders r "
                         "  WHERE r.assignment_id = a.id AND r.user_id = m.user_id) "
                         "ORDER BY a.due_at, a.id LIMIT $2::int",
    .nparams = 2,
};

static const pg_stmt_t stmt_reminded = {
    .name = "game_rem_reminded",
    .sql = "INSERT INTO game.assignment_reminders (assignment_id, user_id, sent_at) "
           "VALUES ($1::uuid, $2::uuid, " GAM_TS(3) ") ON CONFLICT DO NOTHING RETURNING 1",
    .nparams = 3,
};

/* "a,b" → "A title, B title" (malloc'ed). */
static char *task_list(const gam_snapshot_t *snap, const char *slugs)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (f == NULL)
        abort();
    char *copy = xstrdup(slugs), *save = NULL;
    for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save))
        fprintf(f, "- %s\n", gam_task_title(snap, s));
    free(copy);
    fclose(f);
    return out;
}

int gam_reminders_run_once(gam_t *g, int *sent, err_t **err)
{
    *sent = 0;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    char now[32], limit[16];
    snprintf(now, sizeof now, "%lld", (long long)gam_now_us(g));
    snprintf(limit, sizeof limit, "%d", REMINDERS_PER_PASS);
    const char *p[] = {now, limit};
    if (pg_pool_acquire(g->pg, &conn, 5000, err) < 0 ||
        pg_exec(conn, &stmt_due_soon, p, &r, err) < 0)
        return err_wrap(err, "reminders");
    int rows = PQntuples(r);
    if (rows == 0)
        return 0;
    gam_snapshot_t *snap = NULL;
    cleanup_err err_t *stale = NULL;
    if (gam_snapshot_get(g, &snap, &stale) < 0)
        LOG_WARN("task titles unavailable for reminders", "error=\"%s\"", log_esc(stale->msg));

    Dojo__Auth__V1__MailMessage *msgs = xcalloc((size_t)rows, sizeof *msgs);
    Dojo__Auth__V1__MailMessage **ptrs = xcalloc((size_t)rows + 1, sizeof *ptrs);
    char **texts = xcalloc((size_t)rows * 2 + 1, sizeof *texts);
    size_t n = 0;
    int rc = pg_begin(conn, err);
    for (int i = 0; rc == 0 && i < rows; i++) {
        cleanup_pgresult PGresult *ins = NULL;
        const char *pi[] = {pg_get(r, i, 0), pg_get(r, i, 3), now};
        rc = pg_exec(conn, &stmt_reminded, pi, &ins, err);
        /* Taken by another replica, or nothing left to solve: no mail. */
        if (rc < 0 || PQntuples(ins) == 0 || pg_get(r, i, 6)[0] == '\0')
            continue;
        cleanup_free char *tasks = task_list(snap, pg_get(r, i, 6));
        Dojo__Auth__V1__MailMessage *m = &msgs[n];
        dojo__auth__v1__mail_message__init(m);
        m->to_user_id = (char *)pg_get(r, i, 3);
        texts[2 * n] = xasprintf("Due %s: %.120s", pg_get(r, i, 4), pg_get(r, i, 1));
        texts[2 * n + 1] =
            xasprintf("Hello,\n\nthe assignment \"%s\" of your class \"%s\" is due on %s (%s).\n\n"
                      "Still to solve:\n%s\n%s/classes/%s\n",
                      pg_get(r, i, 1), pg_get(r, i, 2), pg_get(r, i, 4), pg_get(r, i, 5), tasks,
                      g->cfg.public_url, pg_get(r, i, 7));
        /* A subject stays one short line whatever the title holds. */
        for (char *q = texts[2 * n]; *q; q++)
            if ((unsigned char)*q < 0x20)
                *q = ' ';
        m->subject = texts[2 * n];
        m->body = texts[2 * n + 1];
        ptrs[n] = m;
        n++;
    }
    if (rc == 0 && n > 0) {
        Dojo__Auth__V1__SendMailRequest req = DOJO__AUTH__V1__SEND_MAIL_REQUEST__INIT;
        req.messages = ptrs;
        req.n_messages = n;
        cleanup_pb ProtobufCMessage *resp = NULL;
        rc = gam_auth_call(g, "SendMail", &req.base, &resp, 10000, err);
    }
    if (rc == 0)
        rc = pg_commit(conn, err);
    if (rc < 0)
        pg_rollback(conn);
    else
        *sent = (int)n;
    for (size_t i = 0; i < 2 * n; i++)
        free(texts[i]);
    free(texts);
    free(ptrs);
    free(msgs);
    gam_snapshot_release(snap);
    if (rc < 0)
        return err_wrap(err, "reminders");
    if (n > 0)
        LOG_INFO("reminders mailed", "mails=%zu", n);
    return 0;
}

static void *reminders_main(void *arg)
{
    gam_reminders_t *rm = arg;
    pthread_mutex_lock(&rm->mu);
    while (!rm->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + rm->g->cfg.reminder_interval_ms % 1000 * 1000000;
        until.tv_sec += rm->g->cfg.reminder_interval_ms / 1000 + ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        while (!rm->stopping &&
               pthread_cond_timedwait(&rm->cv, &rm->mu, &until) != ETIMEDOUT)
            ;
        if (rm->stopping)
            break;
        pthread_mutex_unlock(&rm->mu);
        int sent = 0;
        cleanup_err err_t *err = NULL;
        if (gam_reminders_run_once(rm->g, &sent, &err) < 0)
            LOG_WARN("reminders not sent; trying again later", "error=\"%s\"", log_esc(err->msg));
        pthread_mutex_lock(&rm->mu);
    }
    pthread_mutex_unlock(&rm->mu);
    return NULL;
}

int gam_reminders_start(gam_t *g, gam_reminders_t **out, err_t **err)
{
    gam_reminders_t *rm = xcalloc(1, sizeof *rm);
    rm->g = g;
    pthread_mutex_init(&rm->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rm->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&rm->thread, NULL, reminders_main, rm) != 0) {
        pthread_cond_destroy(&rm->cv);
        pthread_mutex_destroy(&rm->mu);
        free(rm);
        return err_errno(err, errno, "start the reminders thread");
    }
    *out = rm;
    return 0;
}

void gam_reminders_stop(gam_reminders_t *rm)
{
    if (rm == NULL)
        return;
    pthread_mutex_lock(&rm->mu);
    rm->stopping = true;
    pthread_cond_signal(&rm->cv);
    pthread_mutex_unlock(&rm->mu);
    pthread_join(rm->thread, NULL);
    pthread_cond_destroy(&rm->cv);
    pthread_mutex_destroy(&rm->mu);
    free(rm);
}
