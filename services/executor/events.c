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

int exec_stream_append(exec_t *ex, const char *key, const char *field, const void *data,
                       size_t len, err_t **err)
{
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ex->cfg.event_ttl_s);
    const char *xadd[] = {"XADD", key, "MAXLEN", "~", "10000", "*", field, (const char *)data};
    size_t xadd_len[] = {4, strlen(key), 6, 1, 5, 1, strlen(field), len};
    const char *expire[] = {"EXPIRE", key, ttl};
    kv_cmd_t cmds[] = {
        {.argc = 8, .argv = xadd, .argvlen = xadd_len},
        {.argc = 3, .argv = expire, .argvlen = NULL},
    };
    redisReply *replies[2] = {NULL, NULL};
    if (kv_pipeline(ex->kv, cmds, 2, replies, err) < 0)
        return err_wrap(err, "append to %s", key);
    freeReplyObject(replies[0]);
    freeReplyObject(replies[1]);
    return 0;
}

int exec_events_redis_sink(exec_job_t *job, Dojo__Executor__V1__Event *ev, err_t **err)
{
    size_t len = protobuf_c_message_get_packed_size(&ev->base);
    cleanup_free uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        abort();
    protobuf_c_message_pack(&ev->base, buf);
    char key[128];
    snprintf(key, sizeof key, EXEC_SUB_PREFIX "%s", job->submission_id);
    return exec_stream_append(job->ex, key, "event", buf, len, err);
}

int exec_events_resume(exec_job_t *job, err_t **err)
{
    char key[128];
    snprintf(key, sizeof key, EXEC_SUB_PREFIX "%s", job->submission_id);
    cleanup_redis_reply redisReply *r = NULL;
    if (kv_command(job->ex->kv, &r, err, "XREVRANGE %s + - COUNT 1", key) < 0)
        return err_wrap(err, "read last event of %s", key);
    job->seq = 0;
    /* [[id, [field, value, ...]]] */
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return 0;
    redisReply *entry = r->element[0];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    redisReply *fields = entry->element[1];
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (fields->element[i]->type != REDIS_REPLY_STRING ||
            strcmp(fields->element[i]->str, "event") != 0)
            continue;
        redisReply *v = fields->element[i + 1];
        Dojo__Executor__V1__Event *ev =
            dojo__executor__v1__event__unpack(NULL, v->len, (const uint8_t *)v->str);
        if (ev) {
            job->seq = ev->seq;
            dojo__executor__v1__event__free_unpacked(ev, NULL);
        } else {
            LOG_WARN("last event does not decode; continuing from its entry count",
                     "submission=%s", job->submission_id);
            cleanup_redis_reply redisReply *n = NULL;
            if (kv_command(job->ex->kv, &n, err, "XLEN %s", key) == 0 &&
                n->type == REDIS_REPLY_INTEGER)
                job->seq = n->integer;
            err_clear(err);
        }
        break;
    }
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
