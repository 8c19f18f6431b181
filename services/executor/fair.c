/* fair.c — each learner's share of the executors.
 *
 * At most DOJO_EXECUTOR_LEARNER_MAX_RUNNING jobs of one learner run at once,
 * whichever executors hold them: a job takes one of its learner's running
 * places (a lease in Redis, libcommon/kvc.h) before it runs and gives it back
 * after. A job that finds its learner's places taken waits in this executor
 * (queue.c keeps it, heartbeats its entry, and runs other learners' jobs
 * meanwhile) until a place frees. The reclaimer renews the leases of the jobs
 * running here; an executor that dies stops renewing, so its places end
 * within a lease (three DOJO_EXECUTOR_HEARTBEAT_TTLs, at least 15 s) by
 * themselves, and the job itself, taken over by a peer within about one TTL,
 * takes its place again before its learner's next job can.
 *
 * Besides, after each job the wall time its sandboxes ran is charged to its
 * learner's window (DOJO_EXECUTOR_LEARNER_SANDBOX_WINDOW, a minute); over
 * DOJO_EXECUTOR_LEARNER_SANDBOX_SECONDS, none of the learner's jobs starts
 * (they wait the same way, none is refused) until that window, which starts
 * at its first charge, is over. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

/* A place outlives a missed renewal or two, and the takeover of a dead
 * executor's job (which takes its place again, ahead of its learner's
 * next job): three heartbeat TTLs, at least FAIR_LEASE_MIN_MS. */
#define FAIR_LEASE_MIN_MS 15000

static kvc_share_t share_of(const exec_t *ex)
{
    int64_t lease = 3 * ex->cfg.heartbeat_ttl_ms;
    return (kvc_share_t){.max_running = ex->cfg.learner_max_running,
                         .lease_ms = lease > FAIR_LEASE_MIN_MS ? lease : FAIR_LEASE_MIN_MS,
                         .sandbox_cap_ms = ex->cfg.learner_sandbox_ms,
                         .window_ms = ex->cfg.learner_window_ms};
}

bool exec_fair_admit(exec_t *ex, const char *user_id, const char *submission_id,
                     kvc_share_wait_t *why)
{
    kvc_share_t s = share_of(ex);
    bool admitted = true;
    cleanup_err err_t *err = NULL;
    if (why)
        *why = KVC_SHARE_ADMITTED;
    if (kvc_learner_admit(ex->kv, user_id, submission_id, &s, &admitted, why, &err) < 0) {
        /* Without Redis the job cannot report anyway; holding it back would
         * only add a wait once Redis is back. */
        LOG_WARN("learner admission failed; running the job", "submission=%s error=\"%s\"",
                 submission_id, log_esc(err->msg));
        return true;
    }
    return admitted;
}

void exec_fair_tell_waiting(exec_job_t *j, kvc_share_wait_t why)
{
    Dojo__Executor__V1__Queued q = DOJO__EXECUTOR__V1__QUEUED__INIT;
    q.waiting_for = why == KVC_SHARE_SANDBOX ? "sandbox_time" : "earlier_job";
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_QUEUED;
    ev.queued = &q;
    cleanup_err err_t *err = NULL;
    /* After the events already there; the job's run continues after this. */
    if (exec_events_resume(j, &err) < 0 || exec_emit(j, &ev, &err) < 0)
        LOG_WARN("waiting not told", "submission=%s error=\"%s\"", j->submission_id,
                 log_esc(err->msg));
}

void exec_fair_release(exec_t *ex, const char *user_id, const char *submission_id)
{
    cleanup_err err_t *err = NULL;
    if (kvc_learner_release(ex->kv, user_id, submission_id, &err) < 0)
        LOG_WARN("running place not given back; its lease will end", "submission=%s error=\"%s\"",
                 submission_id, log_esc(err->msg));
}

void exec_fair_charge(exec_t *ex, const char *user_id, int64_t sandbox_ms)
{
    kvc_share_t s = share_of(ex);
    cleanup_err err_t *err = NULL;
    if (kvc_learner_charge(ex->kv, user_id, sandbox_ms, &s, &err) < 0)
        LOG_WARN("sandbox time not charged", "user=%s ms=%lld error=\"%s\"",
                 user_id ? user_id : "", (long long)sandbox_ms, log_esc(err->msg));
}

/* A placed job's learner and submission, copied out of the running list. */
typedef struct placed {
    char user[64];
    char submission[64];
} placed_t;

void exec_fair_renew(exec_t *ex)
{
    if (ex->cfg.learner_max_running <= 0)
        return; /* no places, nothing to renew */
    int cap = EXEC_MAX_WORKERS, n = 0;
    cleanup_free placed_t *jobs = xcalloc((size_t)cap, sizeof *jobs);
    pthread_mutex_lock(&ex->lock);
    for (exec_job_t *j = ex->running; j && n < cap; j = j->next) {
        if (!j->placed)
            continue;
        snprintf(jobs[n].user, sizeof jobs[n].user, "%s", j->job->user_id);
        snprintf(jobs[n].submission, sizeof jobs[n].submission, "%s", j->submission_id);
        n++;
    }
    pthread_mutex_unlock(&ex->lock);
    kvc_share_t s = share_of(ex);
    for (int i = 0; i < n; i++) {
        cleanup_err err_t *err = NULL;
        bool held = true;
        if (kvc_learner_renew(ex->kv, jobs[i].user, jobs[i].submission, &s, &held, &err) < 0)
            LOG_WARN("running place not renewed", "submission=%s error=\"%s\"", jobs[i].submission,
                     log_esc(err->msg));
        else if (!held)
            LOG_WARN("running place lost while running", "submission=%s", jobs[i].submission);
    }
}
