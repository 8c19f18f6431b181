/* download.c — a file from a server-streaming call (a problem package with
 * its tests' blobs, up to 1 GiB) sent to the HTTP client as it arrives,
 * never whole in the gateway.
 *
 * One thread per download runs the call (rpc_client_stream blocks) and puts
 * each piece into a bounded buffer; it waits while the buffer is full, so a
 * slow client slows the call down instead of filling the gateway's memory
 * (gRPC's flow control then holds content back). libmicrohttpd's reader
 * takes from the buffer and, when it is empty, suspends the connection; the
 * thread resumes it when a piece comes or the call ends. The response is
 * made once the first piece is in, so an error before any byte (no such
 * task, not an author) is an ordinary JSON error; a failure after it cuts
 * the connection short of the Content-Length the first piece gave.
 *
 * Locking as in feed.c: the download's lock guards the buffer and flags; the
 * reader suspends under it, and the thread resumes only what it saw
 * suspended under it, after letting go of it. Three holders share the
 * download (the handler until it answers, the thread, the response) and the
 * last one frees it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

/* Bytes a download holds at most before its thread waits for the client. */
#define DL_BUFFER (4 * 1024 * 1024)
/* Downloads running at once; the next is 503. */
#define DL_MAX 16
/* How often a waiting thread looks at whether the gateway is stopping. */
#define DL_TICK_MS 500

typedef struct dl {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    gw_t *gw;
    struct MHD_Connection *conn;
    uint8_t *buf; /* pending bytes buf[off, len) */
    size_t off, len, cap;
    int64_t total, next; /* the file's size; the offset the next piece must have */
    char file_name[128];
    bool started;   /* the first piece is in: total and file_name are known */
    bool ended;     /* every byte is in */
    bool failed;    /* the call failed after the first piece */
    bool suspended; /* by the reader, until the thread resumes it */
    bool gone;      /* libmicrohttpd is done with the response */
    err_t *err;     /* the call failed before the first piece */
    int refs;
    /* The call, the thread's own. */
    rpc_channel_t *channel;
    const ProtobufCServiceDescriptor *service;
    char method[64];
    ProtobufCMessage *req;
    char req_id[24];
    char *md[9];
    rpc_call_opts_t opts;
    gw_download_piece_fn piece;
} dl_t;

static void dl_unref(dl_t *d)
{
    pthread_mutex_lock(&d->lock);
    bool last = --d->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (!last)
        return;
    for (size_t i = 0; d->md[i]; i++)
        free(d->md[i]);
    if (d->req)
        protobuf_c_message_free_unpacked(d->req, NULL);
    err_free(d->err);
    free(d->buf);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (long)ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

/* The connection to resume, if the reader suspended it and libmicrohttpd
 * still has it (a daemon that stopped closed it) (lock held). */
static struct MHD_Connection *take_suspended(dl_t *d)
{
    if (!d->suspended || d->gone)
        return NULL;
    d->suspended = false;
    return d->conn;
}

/* ------------------------------------------------------------------------
 * The call's side (the download's thread)
 * ------------------------------------------------------------------------ */

static int on_piece(const ProtobufCMessage *msg, void *payload)
{
    dl_t *d = payload;
    gw_download_piece_t p = {0};
    d->piece(msg, &p);
    pthread_mutex_lock(&d->lock);
    if (!d->started) {
        if (p.offset != 0 || p.total < 0 || (uint64_t)p.len > (uint64_t)p.total) {
            err_set(&d->err, GRPC_STATUS_INTERNAL, "%s: a first piece at %lld of %lld bytes",
                    d->method, (long long)p.offset, (long long)p.total);
            pthread_cond_broadcast(&d->cond);
            pthread_mutex_unlock(&d->lock);
            return 1;
        }
        d->total = p.total;
        snprintf(d->file_name, sizeof d->file_name, "%s", p.file_name ? p.file_name : "");
        d->started = true;
        pthread_cond_broadcast(&d->cond);
    }
    if (p.offset != d->next || p.total != d->total || p.len > (uint64_t)(d->total - d->next)) {
        LOG_WARN("download cut: a piece out of place",
                 "req_id=%s method=%s offset=%lld "
                 "expected=%lld total=%lld",
                 d->req_id, d->method, (long long)p.offset, (long long)d->next,
                 (long long)d->total);
        pthread_mutex_unlock(&d->lock);
        return 1;
    }
    /* Room for the piece: the client takes what is pending first. */
    while (!d->gone && !atomic_load(&d->gw->stopping) && d->len - d->off > 0 &&
           d->len - d->off + p.len > DL_BUFFER) {
        struct timespec ts;
        deadline_in(&ts, DL_TICK_MS);
        pthread_cond_timedwait(&d->cond, &d->lock, &ts);
    }
    if (d->gone || atomic_load(&d->gw->stopping)) {
        pthread_mutex_unlock(&d->lock);
        return 1;
    }
    if (d->off > 0) {
        memmove(d->buf, d->buf + d->off, d->len - d->off);
        d->len -= d->off;
        d->off = 0;
    }
    if (d->len + p.len > d->cap) {
        size_t cap = d->cap ? d->cap : 64 * 1024;
        while (cap < d->len + p.len)
            cap *= 2;
        d->buf = xrealloc(d->buf, cap);
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p.data, p.len);
    d->len += p.len;
    d->next += (int64_t)p.len;
    struct MHD_Connection *resume = take_suspended(d);
    pthread_mutex_unlock(&d->lock);
    /* Suspended until resumed: libmicrohttpd cannot free it meanwhile. */
    if (resume)
        MHD_resume_connection(resume);
    return 0;
}

static void *dl_main(void *arg)
{
    dl_t *d = arg;
    log_set_context("download", d->req_id, NULL);
    err_t *e = NULL;
    int rc =
        rpc_client_stream(d->channel, d->service, d->method, d->req, &d->opts, on_piece, d, &e);
    pthread_mutex_lock(&d->lock);
    bool started = d->started;
    if (!started) {
        /* The handler is waiting for this: it answers with the error. */
        if (d->err == NULL && e == NULL)
            err_set(&e, GRPC_STATUS_INTERNAL, "%s: the stream ended empty", d->method);
        if (d->err == NULL) {
            d->err = e;
            e = NULL;
        }
    } else if (rc == 0 && d->next == d->total) {
        d->ended = true;
    } else {
        d->failed = true;
    }
    bool ended = d->ended;
    int64_t next = d->next, total = d->total;
    bool gone = d->gone;
    struct MHD_Connection *resume = take_suspended(d);
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    if (resume)
        MHD_resume_connection(resume);
    if (started) {
        if (ended)
            LOG_INFO("download sent", "method=%s bytes=%lld", d->method, (long long)total);
        else
            LOG_WARN("download cut short",
                     "method=%s bytes=%lld total=%lld client_gone=%d "
                     "error=\"%s\"",
                     d->method, (long long)next, (long long)total, gone,
                     log_esc(e ? e->msg : "stopped"));
        metrics_counter_add("dojo_gateway_downloads_total",
                            ended ? "result=\"sent\"" : "result=\"cut\"", 1);
    }
    err_free(e);
    pthread_mutex_lock(&d->gw->ws_lock);
    d->gw->downloads--;
    pthread_mutex_unlock(&d->gw->ws_lock);
    dl_unref(d);
    return NULL;
}

/* ------------------------------------------------------------------------
 * libmicrohttpd's side
 * ------------------------------------------------------------------------ */

static ssize_t dl_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    dl_t *d = cls;
    pthread_mutex_lock(&d->lock);
    if (d->len > d->off) {
        size_t n = d->len - d->off < max ? d->len - d->off : max;
        memcpy(buf, d->buf + d->off, n);
        d->off += n;
        pthread_cond_broadcast(&d->cond); /* room for the next piece */
        pthread_mutex_unlock(&d->lock);
        return (ssize_t)n;
    }
    if (d->ended) {
        pthread_mutex_unlock(&d->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (d->failed) {
        pthread_mutex_unlock(&d->lock);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    d->suspended = true;
    MHD_suspend_connection(d->conn);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static void dl_done(void *cls)
{
    dl_t *d = cls;
    pthread_mutex_lock(&d->lock);
    d->gone = true;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    dl_unref(d);
}

/* ------------------------------------------------------------------------
 * The door
 * ------------------------------------------------------------------------ */

/* A copy of `m` the download owns (packed and read back). */
static ProtobufCMessage *message_copy(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = xcalloc(1, n + 1);
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *copy = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
    free(buf);
    if (copy == NULL)
        abort();
    return copy;
}

int gw_download_start(gw_req_t *r, rpc_channel_t *channel,
                      const ProtobufCServiceDescriptor *service, const char *method,
                      const ProtobufCMessage *req, const rpc_call_opts_t *opts,
                      gw_download_piece_fn piece, const char *content_type, err_t **err)
{
    gw_t *gw = r->gw;
    pthread_mutex_lock(&gw->ws_lock);
    if (gw->downloads >= DL_MAX) {
        pthread_mutex_unlock(&gw->ws_lock);
        return err_set(err, GRPC_STATUS_UNAVAILABLE,
                       "too many downloads in progress: try again in a moment");
    }
    gw->downloads++;
    pthread_mutex_unlock(&gw->ws_lock);

    dl_t *d = xcalloc(1, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->gw = gw;
    d->conn = r->conn;
    d->channel = channel;
    d->service = service;
    snprintf(d->method, sizeof d->method, "%s", method);
    d->req = message_copy(req);
    snprintf(d->req_id, sizeof d->req_id, "%s", r->req_id);
    size_t nmd = 0;
    for (size_t i = 0; opts->metadata && opts->metadata[i] && opts->metadata[i + 1] && nmd + 2 < 9;
         i += 2) {
        d->md[nmd++] = xstrdup(opts->metadata[i]);
        d->md[nmd++] = xstrdup(opts->metadata[i + 1]);
    }
    d->opts = *opts;
    d->opts.metadata = (const char *const *)d->md;
    d->opts.request_id = d->req_id;
    d->piece = piece;
    d->refs = 2; /* this handler and the thread */

    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, dl_main, d);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&gw->ws_lock);
        gw->downloads--;
        pthread_mutex_unlock(&gw->ws_lock);
        d->refs = 1;
        dl_unref(d);
        return err_errno(err, rc, "start a download");
    }

    /* The first piece, or the call's end. */
    pthread_mutex_lock(&d->lock);
    while (!d->started && d->err == NULL)
        pthread_cond_wait(&d->cond, &d->lock);
    if (!d->started) {
        *err = d->err;
        d->err = NULL;
        pthread_mutex_unlock(&d->lock);
        dl_unref(d);
        return -1;
    }
    d->refs++; /* the response's */
    int64_t total = d->total;
    char file_name[128];
    snprintf(file_name, sizeof file_name, "%s", d->file_name);
    pthread_mutex_unlock(&d->lock);
    struct MHD_Response *resp =
        MHD_create_response_from_callback((uint64_t)total, 64 * 1024, dl_read, d, dl_done);
    if (resp == NULL) {
        dl_done(d); /* the thread sees the client gone and stops */
        dl_unref(d);
        return err_set(err, GRPC_STATUS_INTERNAL, "create a download response");
    }
    dl_unref(d);
    r->stream = resp;
    r->raw_type = content_type;
    for (char *c = file_name; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\')
            *c = '_';
    char cd[200];
    snprintf(cd, sizeof cd, "attachment; filename=\"%.100s\"", file_name);
    gw_add_header(r, "Content-Disposition", cd);
    r->status = 200;
    return 0;
}
