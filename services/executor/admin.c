/* admin.c — dojo.executor.v1.Executor: this instance's state (GetStats,
 * ListRunning), Drain, and RunJob (an author's synchronous run whose events
 * stream back to the caller instead of Redis). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

static int require_admin(exec_t *ex, rpc_call_t *call, err_t **err)
{
    identity_t id;
    if (identity_require_signed_in(ex->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_SERVICE && !identity_is_admin(&id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "admins and services only");
    return 0;
}

static Dojo__Common__V1__Timestamp *timestamp(rpc_call_t *call, int64_t us)
{
    Dojo__Common__V1__Timestamp *t =
        RPC_NEW(call, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    t->unix_micros = us;
    return t;
}

static int get_stats(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                     err_t **err)
{
    exec_t *ex = rpc_call_payload(call);
    if (require_admin(ex, call, err) < 0)
        return -1;
    int64_t pending, lag;
    if (exec_queue_depth(ex, &pending, &lag, err) < 0)
        return err_recode(err, GRPC_STATUS_UNAVAILABLE, NULL);
    Dojo__Executor__V1__GetStatsResponse *r = RPC_NEW(
        call, Dojo__Executor__V1__GetStatsResponse, DOJO__EXECUTOR__V1__GET_STATS_RESPONSE__INIT);
    r->executor_id = ex->cfg.executor_id;
    r->runtime = (char *)ex->cfg.runtime_name;
    r->version = (char *)config_str("DOJO_VERSION", "dev");
    r->slots = ex->cfg.concurrency;
    r->jobs_running = atomic_load(&ex->jobs_running);
    r->jobs_done = atomic_load(&ex->jobs_done);
    r->jobs_failed = atomic_load(&ex->jobs_failed);
    r->queue_pending = pending;
    r->queue_lag = lag;
    r->queue_depth = pending + (lag > 0 ? lag : 0);
    r->uptime_seconds = (wall_us() - ex->started_us) / 1000000;
    r->started_at = timestamp(call, ex->started_us);
    r->draining = atomic_load(&ex->draining);
    *out = &r->base;
    return 0;
}

static int drain(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                 err_t **err)
{
    exec_t *ex = rpc_call_payload(call);
    const Dojo__Executor__V1__DrainRequest *req = (const void *)req_msg;
    if (require_admin(ex, call, err) < 0)
        return -1;
    bool draining = !req->resume;
    if (atomic_exchange(&ex->draining, draining) != draining)
        LOG_INFO(draining ? "draining: no new jobs" : "resumed taking jobs", NULL);
    rpc_server_set_serving(ex->server, "", !draining);
    Dojo__Executor__V1__DrainResponse *r = RPC_NEW(call, Dojo__Executor__V1__DrainResponse,
                                                   DOJO__EXECUTOR__V1__DRAIN_RESPONSE__INIT);
    r->draining = draining;
    r->jobs_running = atomic_load(&ex->jobs_running);
    *out = &r->base;
    return 0;
}

static int list_running(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                        err_t **err)
{
    exec_t *ex = rpc_call_payload(call);
    if (require_admin(ex, call, err) < 0)
        return -1;
    Dojo__Executor__V1__ListRunningResponse *r =
        RPC_NEW(call, Dojo__Executor__V1__ListRunningResponse,
                DOJO__EXECUTOR__V1__LIST_RUNNING_RESPONSE__INIT);
    pthread_mutex_lock(&ex->lock);
    size_t n = 0;
    for (exec_job_t *j = ex->running; j; j = j->next)
        n++;
    r->jobs = rpc_alloc(call, (n + 1) * sizeof *r->jobs);
    for (exec_job_t *j = ex->running; j; j = j->next) {
        Dojo__Executor__V1__RunningJob *rj = RPC_NEW(call, Dojo__Executor__V1__RunningJob,
                                                     DOJO__EXECUTOR__V1__RUNNING_JOB__INIT);
        rj->submission_id = rpc_strdup(call, j->submission_id);
        rj->kind = j->job->kind;
        rj->user_id = rpc_strdup(call, j->job->user_id);
        rj->task_slug = rpc_strdup(call, j->job->task_slug);
        rj->task_version = j->job->task_version;
        rj->language = rpc_strdup(call, j->job->language);
        rj->attempt = j->attempt;
        rj->stage = atomic_load(&j->stage);
        rj->started_at = timestamp(call, j->started_us);
        rj->tests_done = atomic_load(&j->tests_done);
        rj->tests_total = atomic_load(&j->tests_total);
        rj->synchronous = j->synchronous;
        r->jobs[r->n_jobs++] = rj;
    }
    pthread_mutex_unlock(&ex->lock);
    *out = &r->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * RunJob
 * ------------------------------------------------------------------------ */

typedef struct sync_run {
    rpc_call_t *call;
    exec_job_t *job;
    pthread_t watcher;
    bool send_failed;
} sync_run_t;

static int stream_sink(exec_job_t *job, Dojo__Executor__V1__Event *ev, err_t **err)
{
    sync_run_t *s = job->sink_payload;
    if (s->send_failed)
        return err_set(err, GRPC_STATUS_CANCELLED, "the caller went away");
    if (rpc_stream_send(s->call, &ev->base, err) < 0) {
        s->send_failed = true;
        atomic_store(&job->cancel, true);
        atomic_store(&job->halt, true);
        return -1;
    }
    return 0;
}

/* Cancelling the call cancels the job (its container is killed). */
static void *watch_call(void *arg)
{
    sync_run_t *s = arg;
    while (!atomic_load(&s->job->done)) {
        rpc_call_wait(s->call, 50);
        if (rpc_call_cancelled(s->call)) {
            atomic_store(&s->job->cancel, true);
            atomic_store(&s->job->halt, true);
            break;
        }
        sleep_ms(20);
    }
    return NULL;
}

static bool valid_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* Who may run, and a job worth running: every check before a slot is taken. */
static int run_job_check(exec_t *ex, rpc_call_t *call, const Dojo__Executor__V1__RunJobRequest *req,
                         err_t **err)
{
    identity_t id;
    if (identity_require_signed_in(ex->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_SERVICE && !identity_is_author(&id))
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "authors and services only");
    if (atomic_load(&ex->draining) || rpc_server_draining(ex->server))
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "this executor is draining");
    const Dojo__Executor__V1__Job *in = req->job;
    if (!in)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "job: required");
    if (in->kind != DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN &&
        in->kind != DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "job.kind: RUN or SUBMIT");
    if (!in->task_slug || !in->task_slug[0] || in->task_version <= 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "job.task_slug and job.task_version: required");
    const Dojo__Content__V1__PackageValidator *iv = in->input_validator;
    if (iv) {
        if (in->kind != DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT ||
            req->record)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "job.input_validator: a SUBMIT job that is not recorded");
        if (iv->n_files == 0 || iv->n_files > 64 || !iv->files[0]->name)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "job.input_validator.files: 1 to 64 files");
        if (!exec_lang(ex, iv->language))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "job.input_validator.language: \"%s\" is not installed",
                           iv->language ? iv->language : "");
    } else if (!in->code || !in->code[0] || strlen(in->code) > 64 * 1024) {
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "job.code: 1 byte to 64 KiB");
    }
    if (in->stdin_data.len > 64 * 1024)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "job.stdin_data: at most 64 KiB");
    if (!iv && !exec_lang(ex, in->language))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "job.language: unknown \"%s\"",
                       in->language);
    bool have_id = in->submission_id && in->submission_id[0];
    if (have_id && !valid_uuid(in->submission_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "job.submission_id: must be a UUID");
    if (req->record && !have_id)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "record: needs job.submission_id (an existing submission)");
    if (req->bundle && (!req->bundle->slug || strcmp(req->bundle->slug, in->task_slug) != 0 ||
                        req->bundle->version != in->task_version))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "bundle: its slug and version must equal the job's");
    if (!req->bundle) {
        /* NOT_FOUND as a status, before any event (the job checks again). */
        const Dojo__Content__V1__JudgeBundle *b = NULL;
        if (exec_bundle_get(ex, in->task_slug, in->task_version, &b, err) < 0)
            return -1;
        exec_bundle_release(ex, b);
    }
    return 0;
}

static int run_job(rpc_call_t *call, const ProtobufCMessage *req_msg, err_t **err)
{
    exec_t *ex = rpc_call_payload(call);
    const Dojo__Executor__V1__RunJobRequest *req = (const void *)req_msg;
    if (run_job_check(ex, call, req, err) < 0)
        return -1;
    const Dojo__Executor__V1__Job *in = req->job;
    bool have_id = in->submission_id && in->submission_id[0];

    int slot = exec_slot_take(ex, ex->cfg.concurrency, ex->cfg.concurrency + ex->cfg.sync_slots);
    if (slot < 0) {
        err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "every sandbox slot is busy");
        return err_set_retry_after(err, 1);
    }
    Dojo__Executor__V1__Job job = *in;
    if (!have_id) {
        unsigned char r[16];
        for (int i = 0; i < 16; i++)
            r[i] = (unsigned char)random();
        r[6] = (r[6] & 0x0f) | 0x40;
        r[8] = (r[8] & 0x3f) | 0x80;
        job.submission_id = rpc_sprintf(
            call, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
            r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
            r[15]);
    }
    exec_job_t j;
    exec_job_init(&j, ex, &job);
    j.synchronous = true;
    j.slot = slot;
    j.record = req->record;
    j.attempt = 1;
    j.given_bundle = req->bundle;
    sync_run_t s = {.call = call, .job = &j};
    j.sink = stream_sink;
    j.sink_payload = &s;
    exec_running_add(ex, &j);
    bool watching = pthread_create(&s.watcher, NULL, watch_call, &s) == 0;
    char reason[256];
    exec_job_end_t end = exec_job_run(&j, reason, sizeof reason);
    atomic_store(&j.done, true);
    if (watching)
        pthread_join(s.watcher, NULL);
    exec_running_remove(ex, &j);
    exec_slot_release(ex, slot);
    int rc = 0;
    if (end == EXEC_JOB_GIVE_UP) {
        if (!s.send_failed)
            exec_job_fail(&j, "this job cannot be judged");
        LOG_WARN("run job failed", "submission=%s reason=\"%s\"", j.submission_id,
                 log_esc(reason));
    } else if (end == EXEC_JOB_RETRY) {
        LOG_WARN("run job failed on the judge's side", "submission=%s reason=\"%s\"",
                 j.submission_id, log_esc(reason));
        if (!s.send_failed)
            exec_job_fail(&j, "the judge failed; try again");
    }
    if (s.send_failed)
        rc = err_set(err, GRPC_STATUS_CANCELLED, "the caller went away");
    exec_job_destroy(&j);
    return rc;
}

const rpc_handler_t exec_admin_handlers[] = {
    {.method = "GetStats", .unary = get_stats},
    {.method = "Drain", .unary = drain},
    {.method = "ListRunning", .unary = list_running},
    {.method = "RunJob", .stream = run_job},
    {0},
};
