/* control.c — a Redis job's control channel: dojo:ctl:{id}, read from the
 * beginning by a thread of its own while the job runs.
 *
 * The gateway appends Control messages (cancel, stdin data, stdin close) for
 * a submission; they may arrive before the job does, so the first read
 * starts at the stream's beginning and the job waits for it. Repeats (same
 * or lower seq, e.g. after a redelivery) are ignored. Standard input of an
 * interactive RUN goes through a pipe whose write end this thread owns: it
 * writes what fits, keeps the rest for later, and closes it on stdin close
 * or when the program has gone. The thread blocks on a kvc reader of its
 * own; the job's end wakes it (kvc_reader_wake) instead of waiting out the
 * block. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

#define STDIN_TOTAL_MAX (1024 * 1024)

struct exec_control {
    exec_job_t *j;
    kvc_reader_t *reader;
    pthread_t thread;
    bool started;
    atomic_bool first_pass; /* the first read (of what is there already) is done */
    bool interactive;
    atomic_int stdin_w; /* the write end of the program's stdin; -1 none */
    /* below: the control thread's own */
    bool stdin_closed;
    char *pending;
    size_t pending_len;
    size_t total_in;
    int64_t last_seq;
};

/* Writes what the pipe takes of the pending stdin. */
static void control_flush(exec_control_t *c)
{
    int fd = atomic_load(&c->stdin_w);
    while (fd >= 0 && c->pending_len > 0) {
        ssize_t n = write(fd, c->pending, c->pending_len);
        if (n > 0) {
            memmove(c->pending, c->pending + n, c->pending_len - (size_t)n);
            c->pending_len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        /* EPIPE: the program is gone (or closed its stdin). */
        c->pending_len = 0;
        c->stdin_closed = true;
    }
    if (c->stdin_closed && c->pending_len == 0 && fd >= 0) {
        close(fd);
        atomic_store(&c->stdin_w, -1);
    }
}

static void control_apply(exec_control_t *c, const Dojo__Executor__V1__Control *m)
{
    exec_job_t *j = c->j;
    if (m->seq != 0 && m->seq <= c->last_seq)
        return; /* a repeat */
    if (m->seq > c->last_seq)
        c->last_seq = m->seq;
    switch (m->action_case) {
    case DOJO__EXECUTOR__V1__CONTROL__ACTION_CANCEL:
        atomic_store(&j->halt, true);
        if (!atomic_exchange(&j->cancel, true))
            LOG_INFO("job cancelled", "submission=%s reason=\"%s\"", j->submission_id,
                     log_esc(m->cancel && m->cancel->reason ? m->cancel->reason : ""));
        break;
    case DOJO__EXECUTOR__V1__CONTROL__ACTION_STDIN_DATA:
        if (!c->interactive || c->stdin_closed || !m->stdin_data)
            break;
        if (c->total_in + m->stdin_data->data.len > STDIN_TOTAL_MAX)
            break;
        c->pending = xrealloc(c->pending, c->pending_len + m->stdin_data->data.len + 1);
        memcpy(c->pending + c->pending_len, m->stdin_data->data.data, m->stdin_data->data.len);
        c->pending_len += m->stdin_data->data.len;
        c->total_in += m->stdin_data->data.len;
        break;
    case DOJO__EXECUTOR__V1__CONTROL__ACTION_STDIN_CLOSE:
        if (c->interactive)
            c->stdin_closed = true;
        break;
    default:
        break;
    }
}

/* Applies the Control messages of one XREAD reply (NULL: none); advances
 * last_id. */
static void control_apply_reply(exec_control_t *c, const redisReply *r, char *last_id, size_t cap)
{
    const char *key;
    const redisReply *entries;
    if (!r || !kvc_stream_at(r, 0, &key, &entries))
        return;
    for (size_t i = 0; i < kvc_entries_count(entries); i++) {
        kvc_entry_t e;
        if (!kvc_entry_at(entries, i, KVC_FIELD_CONTROL, &e))
            continue;
        snprintf(last_id, cap, "%s", e.id);
        if (!e.value)
            continue;
        Dojo__Executor__V1__Control *m =
            dojo__executor__v1__control__unpack(NULL, e.len, (const uint8_t *)e.value);
        if (!m) {
            LOG_WARN("control message does not decode", "submission=%s entry=%s",
                     c->j->submission_id, last_id);
            continue;
        }
        control_apply(c, m);
        dojo__executor__v1__control__free_unpacked(m, NULL);
    }
}

static void *control_main(void *arg)
{
    exec_control_t *c = arg;
    exec_job_t *j = c->j;
    kvc_key_t k;
    const char *key = kvc_key_control(&k, j->submission_id);
    char last_id[64] = "0-0";
    bool first = true;
    while (!atomic_load(&j->done)) {
        cleanup_redis_reply redisReply *r = NULL;
        cleanup_err err_t *err = NULL;
        int rc;
        if (first) {
            rc = kv_command(j->ex->kv, &r, &err, "XREAD COUNT 64 STREAMS %s %s", key, last_id);
        } else {
            /* Pending stdin: come back soon to write the rest. */
            const char *after = last_id;
            rc = kvc_reader_read(c->reader, 1, &key, &after, 64, c->pending_len ? 20 : 250, &r,
                                 &err);
        }
        if (rc < 0) {
            LOG_WARN("control stream read failed", "submission=%s error=\"%s\"", j->submission_id,
                     log_esc(err->msg));
            sleep_ms(100);
        } else {
            control_apply_reply(c, r, last_id, sizeof last_id);
        }
        if (first) {
            first = false;
            atomic_store(&c->first_pass, true);
        }
        control_flush(c);
    }
    return NULL;
}

void exec_control_start(exec_control_t **out, exec_job_t *j, bool interactive)
{
    exec_control_t *c = arena_alloc(&j->arena, sizeof *c);
    c->j = j;
    c->interactive = interactive;
    atomic_init(&c->first_pass, false);
    atomic_init(&c->stdin_w, -1);
    kvc_reader_open(&c->reader, j->ex->kv);
    *out = c;
    if (pthread_create(&c->thread, NULL, control_main, c) != 0) {
        LOG_ERROR("cannot start the control thread", "submission=%s", j->submission_id);
        return;
    }
    c->started = true;
    /* A cancel sent while the job was queued must stop it before it runs. */
    for (int i = 0; i < 2000 && !atomic_load(&c->first_pass); i++)
        sleep_ms(1);
}

void exec_control_give_stdin(exec_control_t *c, int fd) { atomic_store(&c->stdin_w, fd); }

void exec_control_stop(exec_control_t *c)
{
    if (!c)
        return;
    atomic_store(&c->j->done, true);
    if (c->started) {
        /* Without the wake the worker waited out the block (up to 250 ms)
         * before its next job. */
        kvc_reader_wake(c->reader);
        pthread_join(c->thread, NULL);
    }
    kvc_reader_close(c->reader);
    c->reader = NULL;
    int fd = atomic_exchange(&c->stdin_w, -1);
    if (fd >= 0)
        close(fd);
    free(c->pending);
    c->pending = NULL;
}
