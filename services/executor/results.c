/* results.c — a job's calls to gamification: whether its submission was
 * judged already (GetSubmission), RecordResult (idempotent by submission id:
 * retried on transient failures), and the internal-error end of a job that
 * is given up. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

#define V(x) DOJO__COMMON__V1__VERDICT__VERDICT_##x

static bool retryable(const err_t *e)
{
    return e && (e->code == GRPC_STATUS_UNAVAILABLE || e->code == GRPC_STATUS_DEADLINE_EXCEEDED ||
                 e->code == GRPC_STATUS_RESOURCE_EXHAUSTED || e->code == GRPC_STATUS_ABORTED);
}

int exec_record_result(exec_job_t *j, const Dojo__Gamification__V1__RecordResultRequest *req,
                       Dojo__Gamification__V1__RecordResultResponse **out, err_t **err)
{
    atomic_store(&j->stage, DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_RECORDING);
    rpc_call_opts_t opts = {.timeout_ms = 10000,
                            .idempotent = true,
                            .request_id = j->job->request_id,
                            .metadata = identity_service_metadata(j->ex->ids)};
    for (int attempt = 0;; attempt++) {
        ProtobufCMessage *resp = NULL;
        if (rpc_client_call(j->ex->game, &dojo__gamification__v1__gamification__descriptor,
                            "RecordResult", &req->base, &resp, &opts, err) == 0) {
            *out = (void *)resp;
            return 0;
        }
        if (attempt >= 2 || !retryable(*err))
            return err_wrap(err, "record result");
        LOG_WARN("record result failed; retrying", "submission=%s error=\"%s\"",
                 j->submission_id, log_esc((*err)->msg));
        err_clear(err);
        sleep_ms((attempt + 1) * 300);
    }
}

int exec_get_submission(exec_job_t *j, Dojo__Gamification__V1__GetSubmissionResponse **out,
                        err_t **err)
{
    Dojo__Gamification__V1__GetSubmissionRequest req =
        DOJO__GAMIFICATION__V1__GET_SUBMISSION_REQUEST__INIT;
    req.submission_id = j->submission_id;
    rpc_call_opts_t opts = {.timeout_ms = 5000,
                            .idempotent = true,
                            .request_id = j->job->request_id,
                            .metadata = identity_service_metadata(j->ex->ids)};
    ProtobufCMessage *resp = NULL;
    if (rpc_client_call(j->ex->game, &dojo__gamification__v1__gamification__descriptor,
                        "GetSubmission", &req.base, &resp, &opts, err) < 0)
        return err_wrap(err, "get submission");
    *out = (void *)resp;
    return 0;
}

static Dojo__Common__V1__Timestamp *ts_of(Dojo__Common__V1__Timestamp *ts, int64_t us)
{
    dojo__common__v1__timestamp__init(ts);
    ts->unix_micros = us;
    return ts;
}

void exec_job_fail(exec_job_t *j, const char *public_msg)
{
    Dojo__Gamification__V1__RecordResultRequest req =
        DOJO__GAMIFICATION__V1__RECORD_RESULT_REQUEST__INIT;
    Dojo__Common__V1__Timestamp t0, t1;
    req.submission_id = j->submission_id;
    req.verdict = V(IE);
    req.started_at = ts_of(&t0, j->started_us);
    req.finished_at = ts_of(&t1, wall_us());
    req.executor_id = j->ex->cfg.executor_id;
    cleanup_pb Dojo__Gamification__V1__RecordResultResponse *resp = NULL;
    cleanup_err err_t *err = NULL;
    bool recorded = false;
    if (j->record) {
        if (exec_record_result(j, &req, &resp, &err) == 0)
            recorded = true;
        else
            LOG_WARN("internal-error result not recorded", "submission=%s error=\"%s\"",
                     j->submission_id, log_esc(err->msg));
    }
    Dojo__Executor__V1__FinalResult fr = DOJO__EXECUTOR__V1__FINAL_RESULT__INIT;
    fr.verdict = V(IE);
    fr.message = (char *)public_msg;
    fr.recorded = recorded;
    fr.awards = recorded ? resp->awards : NULL;
    fr.wall_ms = (wall_us() - j->started_us) / 1000;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
    ev.result = &fr;
    exec_emit_or_log(j, &ev);
    atomic_fetch_add(&j->ex->jobs_done, 1);
    atomic_fetch_add(&j->ex->jobs_failed, 1);
    metrics_counter_add("dojo_executor_jobs_total", "verdict=\"IE\"", 1);
}
