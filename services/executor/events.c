/* events.c — the per-submission event stream dojo:sub:{id}.
 *
 * Every event is one entry with one field, "event", holding a packed
 * dojo.executor.v1.Event. Sequence numbers continue from whatever the stream
 * already holds (the gateway's `queued`, an earlier attempt's events), so a
 * reader can order and de-duplicate across attempts. The stream expires an
 * hour (DOJO_EXECUTOR_EVENT_TTL) after its last write. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "judge.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

int exec_events_redis_sink(exec_job_t *job, Dojo__Executor__V1__Event *ev, err_t **err)
{
    size_t len = protobuf_c_message_get_packed_size(&ev->base);
    cleanup_free uint8_t *buf = xmalloc(len);
    protobuf_c_message_pack(&ev->base, buf);
    kvc_key_t key;
    return kvc_append(job->ex->kv, kvc_key_events(&key, job->submission_id), KVC_FIELD_EVENT, buf,
                      len, job->ex->cfg.event_ttl_s, err);
}

int exec_events_resume(exec_job_t *job, err_t **err)
{
    kvc_key_t k;
    const char *key = kvc_key_events(&k, job->submission_id);
    cleanup_redis_reply redisReply *r = NULL;
    if (kv_command(job->ex->kv, &r, err, "XREVRANGE %s + - COUNT 1", key) < 0)
        return err_wrap(err, "read last event of %s", key);
    job->seq = 0;
    kvc_entry_t last;
    if (!kvc_entry_at(r, 0, KVC_FIELD_EVENT, &last) || !last.value)
        return 0;
    Dojo__Executor__V1__Event *ev =
        dojo__executor__v1__event__unpack(NULL, last.len, (const uint8_t *)last.value);
    if (ev) {
        job->seq = ev->seq;
        dojo__executor__v1__event__free_unpacked(ev, NULL);
        return 0;
    }
    LOG_WARN("last event does not decode; continuing from its entry count", "submission=%s",
             job->submission_id);
    cleanup_redis_reply redisReply *n = NULL;
    if (kv_command(job->ex->kv, &n, err, "XLEN %s", key) == 0 && n->type == REDIS_REPLY_INTEGER)
        job->seq = n->integer;
    err_clear(err);
    return 0;
}

int exec_emit(exec_job_t *job, Dojo__Executor__V1__Event *ev, err_t **err)
{
    Dojo__Common__V1__Timestamp ts = DOJO__COMMON__V1__TIMESTAMP__INIT;
    ts.unix_micros = wall_us();
    ev->submission_id = job->submission_id;
    ev->emitted_at = &ts;
    ev->attempt = job->attempt;
    pthread_mutex_lock(&job->ev_lock);
    ev->seq = job->seq + 1;
    int rc = job->sink(job, ev, err);
    if (rc == 0)
        job->seq++;
    pthread_mutex_unlock(&job->ev_lock);
    ev->emitted_at = NULL;
    return rc;
}

void exec_emit_or_log(exec_job_t *job, Dojo__Executor__V1__Event *ev)
{
    cleanup_err err_t *err = NULL;
    if (exec_emit(job, ev, &err) < 0)
        LOG_WARN("event not written", "submission=%s kind=%d error=\"%s\"", job->submission_id,
                 (int)ev->kind_case, log_esc(err->msg));
}

void exec_emit_job_error(exec_job_t *job, const char *msg, bool will_retry)
{
    Dojo__Executor__V1__JobError je = DOJO__EXECUTOR__V1__JOB_ERROR__INIT;
    je.message = (char *)msg;
    je.will_retry = will_retry;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_ERROR;
    ev.error = &je;
    exec_emit_or_log(job, &ev);
}

int exec_emit_stored_result(exec_job_t *job, const Dojo__Gamification__V1__Submission *s,
                            err_t **err)
{
    Dojo__Executor__V1__FinalResult fr;
    char msg[EXEC_MESSAGE_MAX + 1];
    judge_stored_result(s, &fr, msg, sizeof msg);
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
    ev.result = &fr;
    return exec_emit(job, &ev, err);
}
