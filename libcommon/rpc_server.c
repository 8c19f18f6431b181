/* rpc_server.c — serving protobuf-c services on gRPC's C core.
 *
 * One completion-queue thread reacts to gRPC events and never blocks: it
 * accepts calls, starts reads, and hands decoded work to a worker pool
 * (unary methods) or to a thread per call (server streaming, capped). The
 * worker runs the handler and starts the batch that sends the reply and the
 * status. Every call carries its own arena; the request is decoded into it
 * and the handler builds the reply in it. */
#define _GNU_SOURCE
#include "rpc.h"

#include <errno.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "cleanup.h"
#include "config.h"
#include "grpc/health/v1/health.pb-c.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "slots.h"

/* How many request_call slots wait for new calls at once. */
#define RPC_PENDING_ACCEPTS 16
#define RPC_MAX_TRAILERS 8

typedef struct tag tag_t;
struct tag {
    void (*done)(tag_t *t, bool ok);
};

typedef struct method_entry {
    char *path;
    const ProtobufCMethodDescriptor *desc;
    rpc_unary_fn unary;
    rpc_stream_fn stream;
    void *payload;
} method_entry_t;

typedef struct health_entry {
    char *service;
    int status;
    struct health_entry *next;
} health_entry_t;

struct rpc_server {
    char *name;
    grpc_server *server;
    grpc_completion_queue *cq;
    int port;
    pthread_t cq_thread;
    bool started;

    method_entry_t *methods;
    size_t nmethods;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* work queued, stop requested, calls finished */
    rpc_call_t *queue_head, *queue_tail;
    int queued;     /* calls in the queue */
    int busy;       /* workers running a handler */
    int queue_max;  /* calls that may wait past the free workers */
    long refused;   /* calls refused because the queue was full */
    pthread_t *workers;
    int nworkers;
    bool stopping_workers;
    int max_streams;
    int active_streams;
    rpc_call_t *streams; /* running streaming calls, for wake-ups */
    int inflight;        /* accepted calls not yet freed */
    bool shutdown_done;
    tag_t shutdown_tag;
    int64_t grace_ms;

    atomic_bool draining;
    atomic_bool stop_requested;

    pthread_mutex_t health_mu;
    health_entry_t *health;
};

struct rpc_call {
    tag_t tag_main;
    tag_t tag_close;
    rpc_server_t *server;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_byte_buffer *recv_buf;
    grpc_byte_buffer *send_buf;
    int close_cancelled; /* written by gRPC when RECV_CLOSE_ON_SERVER completes */
    atomic_bool cancelled;
    atomic_int refs;

    const method_entry_t *method;
    char *path;
    char *peer;
    char *req_id;
    char *log_user;
    gpr_timespec deadline; /* monotonic */
    struct timespec started;
    grpc_status_code final_code;
    arena_t arena;

    grpc_metadata trailers[RPC_MAX_TRAILERS];
    int ntrailers;
    grpc_slice status_details;
    bool have_status_details;
    bool sent_initial;
    bool close_started;

    rpc_call_t *next;        /* work queue */
    rpc_call_t *stream_next; /* server->streams */

    pthread_mutex_t mu; /* streaming: waits for sends and wake-ups */
    pthread_cond_t cv;
    bool op_done;
    bool op_ok;
    bool woken;
};

static void request_one(rpc_server_t *s);
static void finish_call(rpc_call_t *c, grpc_status_code code, const char *message,
                        grpc_byte_buffer *reply);

/* ------------------------------------------------------------------------
 * Process setup
 * ------------------------------------------------------------------------ */

void rpc_init(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0)
        abort();
    grpc_init();
}

static double elapsed_s(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* ------------------------------------------------------------------------
 * Health: status per service name, read by Check and Watch
 * ------------------------------------------------------------------------ */

static void wake_streams(rpc_server_t *s);

static int health_get(rpc_server_t *s, const char *service)
{
    int st = -1;
    pthread_mutex_lock(&s->health_mu);
    for (health_entry_t *e = s->health; e; e = e->next)
        if (!strcmp(e->service, service)) {
            st = e->status;
            break;
        }
    pthread_mutex_unlock(&s->health_mu);
    return st;
}

static void health_set(rpc_server_t *s, const char *service, int status)
{
    pthread_mutex_lock(&s->health_mu);
    health_entry_t *e = s->health;
    while (e && strcmp(e->service, service))
        e = e->next;
    if (e == NULL) {
        e = xcalloc(1, sizeof *e);
        e->service = xstrdup(service);
        e->next = s->health;
        s->health = e;
    }
    e->status = status;
    pthread_mutex_unlock(&s->health_mu);
    wake_streams(s);
}

static void health_set_all(rpc_server_t *s, int status)
{
    pthread_mutex_lock(&s->health_mu);
    for (health_entry_t *e = s->health; e; e = e->next)
        e->status = status;
    pthread_mutex_unlock(&s->health_mu);
    wake_streams(s);
}

void rpc_server_set_serving(rpc_server_t *server, const char *service, bool serving)
{
    health_set(server, service,
               serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                       : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
}

static int health_check(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                        err_t **err)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)req_msg;
    int st = health_get(call->server, req->service);
    if (st < 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "unknown service \"%s\"", req->service);
    Grpc__Health__V1__HealthCheckResponse *resp =
        RPC_NEW(call, Grpc__Health__V1__HealthCheckResponse,
                GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT);
    resp->status = st;
    *out = &resp->base;
    return 0;
}

static int health_watch(rpc_call_t *call, const ProtobufCMessage *req_msg, err_t **err)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)req_msg;
    int last = -2;
    for (;;) {
        /* One snapshot of `draining` decides both what is sent and whether
         * to stop: a drain starting in between must not end the stream
         * before NOT_SERVING went out. */
        bool draining = rpc_server_draining(call->server);
        int st = health_get(call->server, req->service);
        if (st < 0)
            st = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
        if (draining)
            st = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
        if (st != last) {
            Grpc__Health__V1__HealthCheckResponse resp =
                GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
            resp.status = st;
            if (rpc_stream_send(call, &resp.base, err) < 0)
                return -1;
            last = st;
        }
        if (rpc_call_cancelled(call) || draining)
            return 0;
        rpc_call_wait(call, 1000);
    }
}

static const rpc_handler_t health_handlers[] = {
    {.method = "Check", .unary = health_check},
    {.method = "Watch", .stream = health_watch},
    {0},
};

/* ------------------------------------------------------------------------
 * Calls: life cycle
 * ------------------------------------------------------------------------ */

static void call_unref(rpc_call_t *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    rpc_server_t *s = c->server;
    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->md);
    grpc_call_details_destroy(&c->details);
    if (c->recv_buf)
        grpc_byte_buffer_destroy(c->recv_buf);
    if (c->send_buf)
        grpc_byte_buffer_destroy(c->send_buf);
    for (int i = 0; i < c->ntrailers; i++) {
        grpc_slice_unref(c->trailers[i].key);
        grpc_slice_unref(c->trailers[i].value);
    }
    if (c->have_status_details)
        grpc_slice_unref(c->status_details);
    arena_release(&c->arena);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    bool accepted = c->path != NULL;
    free(c);
    if (accepted) {
        pthread_mutex_lock(&s->mu);
        s->inflight--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

static void on_finished(tag_t *t, bool ok)
{
    rpc_call_t *c = (rpc_call_t *)((char *)t - offsetof(rpc_call_t, tag_main));
    call_unref(c);
}

/* Sends the status (and the reply, if any) and closes the call: the last
 * batch of every call. Takes ownership of `reply`. */
static void finish_call(rpc_call_t *c, grpc_status_code code, const char *message,
                        grpc_byte_buffer *reply)
{
    grpc_op ops[4];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    c->final_code = code;
    if (!c->sent_initial) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        n++;
        c->sent_initial = true;
    }
    if (reply) {
        if (c->send_buf)
            grpc_byte_buffer_destroy(c->send_buf);
        c->send_buf = reply;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = reply;
        n++;
    }
    c->status_details = grpc_slice_from_copied_string(message ? message : "");
    c->have_status_details = true;
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n].data.send_status_from_server.status_details = &c->status_details;
    ops[n].data.send_status_from_server.trailing_metadata_count = (size_t)c->ntrailers;
    ops[n].data.send_status_from_server.trailing_metadata = c->trailers;
    n++;
    if (!c->close_started) {
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n].data.recv_close_on_server.cancelled = &c->close_cancelled;
        n++;
        c->close_started = true;
    }
    /* Recorded before the status leaves, so a client that has its answer
     * also finds the call counted. Unknown paths share one label: clients
     * must not mint metric series. */
    metrics_rpc_observe(c->method ? c->path : "unknown", err_code_name(code),
                        elapsed_s(&c->started));
    c->tag_main.done = on_finished;
    grpc_call_error rc = grpc_call_start_batch(c->call, ops, n, &c->tag_main, NULL);
    if (rc != GRPC_CALL_OK) {
        LOG_ERROR("rpc finish batch refused", "path=%s grpc_call_error=%d", c->path, (int)rc);
        call_unref(c);
    }
}

static void finish_with_err(rpc_call_t *c, const err_t *e)
{
    if (e->retry_after_s > 0) {
        char v[32];
        snprintf(v, sizeof v, "%d", e->retry_after_s);
        rpc_call_add_trailer(c, "retry-after", v);
    }
    finish_call(c, e->code, err_public_message(e), NULL);
}

static void log_outcome(rpc_call_t *c, const err_t *e, double secs)
{
    if (e == NULL) {
        LOG_DEBUG("rpc ok", "code=OK ms=%.3f", secs * 1e3);
        return;
    }
    switch (e->code) {
    case GRPC_STATUS_INTERNAL:
    case GRPC_STATUS_UNKNOWN:
    case GRPC_STATUS_DATA_LOSS:
    case GRPC_STATUS_UNAVAILABLE:
        LOG_ERROR("rpc failed", "code=%s ms=%.3f error=\"%s\"", err_code_name(e->code), secs * 1e3,
                  log_esc(e->msg));
        break;
    default:
        LOG_INFO("rpc refused", "code=%s ms=%.3f error=\"%s\"", err_code_name(e->code), secs * 1e3,
                 log_esc(e->msg));
    }
}

static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

/* Decodes the received message into the call's arena. */
static int decode_request(rpc_call_t *c, ProtobufCMessage **out, err_t **err)
{
    if (c->recv_buf == NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "request message missing");
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, c->recv_buf))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "request payload unreadable");
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCAllocator alloc;
    arena_pb_allocator(&c->arena, &alloc);
    *out = protobuf_c_message_unpack(c->method->desc->input, &alloc, GRPC_SLICE_LENGTH(all),
                                     GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    if (*out == NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "malformed request payload: not a valid %s", c->method->desc->input->name);
    return 0;
}

/* Runs on a worker (unary) or the call's own thread (streaming). */
static void run_handler(rpc_call_t *c)
{
    cleanup_err err_t *err = NULL;
    ProtobufCMessage *req = NULL;
    ProtobufCMessage *reply = NULL;
    log_set_context(c->path, c->req_id, NULL);

    if (rpc_call_deadline_left_ms(c) <= 0) {
        err_set(&err, GRPC_STATUS_DEADLINE_EXCEEDED, "deadline exceeded before the call started");
    } else if (decode_request(c, &req, &err) == 0) {
        int rc = c->method->stream ? c->method->stream(c, req, &err)
                                   : c->method->unary(c, req, &reply, &err);
        if (rc < 0 && err == NULL)
            err_set(&err, GRPC_STATUS_INTERNAL, "handler failed without saying why");
        if (rc == 0 && !c->method->stream && reply == NULL)
            err_set(&err, GRPC_STATUS_INTERNAL, "handler returned no reply");
    }
    log_set_context(c->path, c->req_id, c->log_user);
    log_outcome(c, err, elapsed_s(&c->started));
    if (err)
        finish_with_err(c, err);
    else
        finish_call(c, GRPC_STATUS_OK, "", reply ? pack_message(reply) : NULL);
    log_set_context(NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------
 * Workers and streaming threads
 * ------------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
    rpc_server_t *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->queue_head == NULL && !s->stopping_workers)
            pthread_cond_wait(&s->cv, &s->mu);
        rpc_call_t *c = s->queue_head;
        if (c == NULL) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        s->queue_head = c->next;
        if (s->queue_head == NULL)
            s->queue_tail = NULL;
        s->queued--;
        s->busy++;
        pthread_mutex_unlock(&s->mu);
        run_handler(c);
        pthread_mutex_lock(&s->mu);
        s->busy--;
        pthread_mutex_unlock(&s->mu);
    }
}

static void *stream_main(void *arg)
{
    rpc_call_t *c = arg;
    rpc_server_t *s = c->server;
    run_handler(c);
    pthread_mutex_lock(&s->mu);
    for (rpc_call_t **p = &s->streams; *p; p = &(*p)->stream_next)
        if (*p == c) {
            *p = c->stream_next;
            break;
        }
    s->active_streams--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    call_unref(c);
    return NULL;
}

static void wake_call(rpc_call_t *c)
{
    pthread_mutex_lock(&c->mu);
    c->woken = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void wake_streams(rpc_server_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (rpc_call_t *c = s->streams; c; c = c->stream_next)
        wake_call(c);
    pthread_mutex_unlock(&s->mu);
}

static void on_close(tag_t *t, bool ok)
{
    rpc_call_t *c = (rpc_call_t *)((char *)t - offsetof(rpc_call_t, tag_close));
    if (!ok || c->close_cancelled)
        atomic_store(&c->cancelled, true);
    wake_call(c);
    call_unref(c);
}

static void start_stream(rpc_call_t *c)
{
    rpc_server_t *s = c->server;
    pthread_mutex_lock(&s->mu);
    if (s->active_streams >= s->max_streams) {
        pthread_mutex_unlock(&s->mu);
        finish_call(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "too many open streams", NULL);
        return;
    }
    s->active_streams++;
    c->stream_next = s->streams;
    s->streams = c;
    pthread_mutex_unlock(&s->mu);

    /* Learn about cancellation while the handler waits between sends. */
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    c->close_started = true;
    c->tag_close.done = on_close;
    atomic_fetch_add(&c->refs, 2); /* one for on_close, one for the thread */
    if (grpc_call_start_batch(c->call, &op, 1, &c->tag_close, NULL) != GRPC_CALL_OK) {
        atomic_store(&c->cancelled, true);
        call_unref(c);
    }

    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, stream_main, c) != 0) {
        pthread_attr_destroy(&attr);
        pthread_mutex_lock(&s->mu);
        s->active_streams--;
        for (rpc_call_t **p = &s->streams; *p; p = &(*p)->stream_next)
            if (*p == c) {
                *p = c->stream_next;
                break;
            }
        pthread_mutex_unlock(&s->mu);
        call_unref(c);
        finish_call(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "cannot start a stream thread", NULL);
        return;
    }
    pthread_attr_destroy(&attr);
}

/* ------------------------------------------------------------------------
 * Completion-queue callbacks (never block)
 * ------------------------------------------------------------------------ */

/* Runs on the completion-queue thread: counts, logs now and then (a burst
 * refuses thousands), and answers without a worker. */
static void refuse_busy(rpc_call_t *c, long n, int queued)
{
    metrics_counter_add("dojo_rpc_refused_total", "reason=\"queue_full\"", 1);
    if (n == 1 || n % 1000 == 0)
        LOG_WARN("rpc queue full, refusing calls", "path=%s queued=%d refused_total=%ld", c->path,
                 queued, n);
    rpc_call_add_trailer(c, "retry-after", "1");
    finish_call(c, GRPC_STATUS_UNAVAILABLE, "busy: every worker taken", NULL);
}

static void on_recv(tag_t *t, bool ok)
{
    rpc_call_t *c = (rpc_call_t *)((char *)t - offsetof(rpc_call_t, tag_main));
    if (!ok) {
        finish_call(c, GRPC_STATUS_CANCELLED, "call ended before its request arrived", NULL);
        return;
    }
    if (c->method->stream) {
        start_stream(c);
        return;
    }
    rpc_server_t *s = c->server;
    pthread_mutex_lock(&s->mu);
    /* Bounded: past the free workers at most queue_max calls wait; the next
     * is told at once, while its caller can still try another replica or
     * come back, instead of waiting in a queue whose end it may not live to
     * see (the deadline) and that holds its request meanwhile. */
    int free_workers = s->nworkers - s->busy;
    if (s->queued >= s->queue_max + (free_workers > 0 ? free_workers : 0)) {
        long n = ++s->refused;
        int queued = s->queued;
        pthread_mutex_unlock(&s->mu);
        refuse_busy(c, n, queued);
        return;
    }
    s->queued++;
    c->next = NULL;
    if (s->queue_tail)
        s->queue_tail->next = c;
    else
        s->queue_head = c;
    s->queue_tail = c;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static const method_entry_t *find_method(rpc_server_t *s, const char *path)
{
    for (size_t i = 0; i < s->nmethods; i++)
        if (!strcmp(s->methods[i].path, path))
            return &s->methods[i];
    return NULL;
}

static void new_request_id(char out[17])
{
    unsigned char raw[8];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 17, raw, sizeof raw);
}

static void on_new_call(tag_t *t, bool ok)
{
    rpc_call_t *c = (rpc_call_t *)((char *)t - offsetof(rpc_call_t, tag_main));
    rpc_server_t *s = c->server;
    if (!ok) {
        /* The server is shutting down: this accept slot is released. */
        call_unref(c);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    if (!atomic_load(&s->draining))
        request_one(s);

    pthread_mutex_lock(&s->mu);
    s->inflight++;
    pthread_mutex_unlock(&s->mu);

    c->path = arena_strndup(&c->arena, (const char *)GRPC_SLICE_START_PTR(c->details.method),
                            GRPC_SLICE_LENGTH(c->details.method));
    c->deadline = gpr_convert_clock_type(c->details.deadline, GPR_CLOCK_MONOTONIC);
    const char *rid = rpc_call_metadata(c, "x-request-id");
    if (rid && rid[0] && strlen(rid) <= 64 &&
        strspn(rid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
            strlen(rid)) {
        c->req_id = arena_strdup(&c->arena, rid);
    } else {
        char fresh[17];
        new_request_id(fresh);
        c->req_id = arena_strdup(&c->arena, fresh);
    }
    c->method = find_method(s, c->path);
    if (c->method == NULL || (c->method->unary == NULL && c->method->stream == NULL)) {
        LOG_INFO("rpc unimplemented", "path=\"%s\" req_id=%s", log_esc(c->path), log_esc(c->req_id));
        char *msg = arena_alloc(&c->arena, strlen(c->path) + 32);
        sprintf(msg, "unknown method %s", c->path);
        finish_call(c, GRPC_STATUS_UNIMPLEMENTED, msg, NULL);
        return;
    }
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    c->tag_main.done = on_recv;
    if (grpc_call_start_batch(c->call, &op, 1, &c->tag_main, NULL) != GRPC_CALL_OK)
        finish_call(c, GRPC_STATUS_INTERNAL, "internal error", NULL);
}

static void request_one(rpc_server_t *s)
{
    rpc_call_t *c = xcalloc(1, sizeof *c);
    c->server = s;
    atomic_init(&c->refs, 1);
    atomic_init(&c->cancelled, false);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    grpc_metadata_array_init(&c->md);
    grpc_call_details_init(&c->details);
    c->tag_main.done = on_new_call;
    grpc_call_error rc =
        grpc_server_request_call(s->server, &c->call, &c->details, &c->md, s->cq, s->cq,
                                 &c->tag_main);
    if (rc != GRPC_CALL_OK)
        call_unref(c);
}

static void on_shutdown(tag_t *t, bool ok)
{
    rpc_server_t *s = (rpc_server_t *)((char *)t - offsetof(rpc_server_t, shutdown_tag));
    pthread_mutex_lock(&s->mu);
    s->shutdown_done = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *cq_main(void *arg)
{
    rpc_server_t *s = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return NULL;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        tag_t *t = ev.tag;
        t->done(t, ev.success != 0);
    }
}

/* ------------------------------------------------------------------------
 * Server set-up and drain
 * ------------------------------------------------------------------------ */

static int add_methods(rpc_server_t *s, const ProtobufCServiceDescriptor *service,
                       const rpc_handler_t *handlers, void *payload, err_t **err)
{
    for (const rpc_handler_t *h = handlers; h->method; h++) {
        bool found = false;
        for (unsigned i = 0; i < service->n_methods; i++)
            found = found || !strcmp(service->methods[i].name, h->method);
        if (!found)
            return err_set(err, GRPC_STATUS_INTERNAL, "service %s has no method %s",
                           service->name, h->method);
    }
    s->methods = xreallocarray(s->methods, s->nmethods + service->n_methods, sizeof *s->methods);
    for (unsigned i = 0; i < service->n_methods; i++) {
        method_entry_t *m = &s->methods[s->nmethods++];
        memset(m, 0, sizeof *m);
        m->path = xasprintf("/%s/%s", service->name, service->methods[i].name);
        m->desc = &service->methods[i];
        m->payload = payload;
        for (const rpc_handler_t *h = handlers; h->method; h++)
            if (!strcmp(h->method, service->methods[i].name)) {
                m->unary = h->unary;
                m->stream = h->stream;
            }
    }
    return 0;
}

static int default_workers = 8;
static int default_queue_max = 256;

void rpc_server_default_workers(int n)
{
    default_workers = n;
}

int rpc_server_workers_setting(void)
{
    return (int)config_int("DOJO_RPC_WORKERS", default_workers, 1, 256);
}

void rpc_server_default_queue_max(int n)
{
    default_queue_max = n;
}

int rpc_server_queued(rpc_server_t *server)
{
    pthread_mutex_lock(&server->mu);
    int n = server->queued;
    pthread_mutex_unlock(&server->mu);
    return n;
}

int rpc_server_new(rpc_server_t **out, const char *service_name, const char *addr, err_t **err)
{
    rpc_server_t *s = xcalloc(1, sizeof *s);
    s->name = xstrdup(service_name);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->health_mu, NULL);
    atomic_init(&s->draining, false);
    atomic_init(&s->stop_requested, false);
    s->nworkers = rpc_server_workers_setting();
    s->queue_max = (int)config_int("DOJO_RPC_QUEUE_MAX", default_queue_max, 0, 100000);
    s->max_streams = (int)config_int("DOJO_RPC_MAX_STREAMS", 256, 1, 100000);
    s->grace_ms = config_duration_ms("DOJO_RPC_DRAIN_GRACE", "20s", 0, 3600 * 1000);

    s->cq = grpc_completion_queue_create_for_next(NULL);
    /* Judge bundles and task imports may reach 16 MiB (content.proto). */
    grpc_arg args[2] = {
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = RPC_MAX_MESSAGE_BYTES},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = RPC_MAX_MESSAGE_BYTES},
    };
    grpc_channel_args server_args = {.num_args = 2, .args = args};
    s->server = grpc_server_create(&server_args, NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    s->port = grpc_server_add_http2_port(s->server, addr, creds);
    grpc_server_credentials_release(creds);
    if (s->port <= 0) {
        rpc_server_free(s);
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "cannot listen on %s", addr);
    }
    if (add_methods(s, &grpc__health__v1__health__descriptor, health_handlers, NULL, err) < 0) {
        rpc_server_free(s);
        return -1;
    }
    health_set(s, "", GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    *out = s;
    return 0;
}

int rpc_server_add_service(rpc_server_t *server, const ProtobufCServiceDescriptor *service,
                           const rpc_handler_t *handlers, void *payload, err_t **err)
{
    if (add_methods(server, service, handlers, payload, err) < 0)
        return -1;
    health_set(server, service->name,
               GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    return 0;
}

int rpc_server_start(rpc_server_t *s, err_t **err)
{
    grpc_server_start(s->server);
    if (pthread_create(&s->cq_thread, NULL, cq_main, s) != 0)
        return err_errno(err, errno, "start completion-queue thread");
    s->workers = xcalloc((size_t)s->nworkers, sizeof *s->workers);
    for (int i = 0; i < s->nworkers; i++)
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0)
            return err_errno(err, errno, "start worker thread");
    s->started = true;
    /* SERVING before the first call is taken: a Check that arrived while the
     * server started waits in gRPC for request_one, and must not be told
     * NOT_SERVING by a server that is ready. */
    health_set_all(s, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    for (int i = 0; i < RPC_PENDING_ACCEPTS; i++)
        request_one(s);
    LOG_INFO("grpc server started", "port=%d workers=%d queue_max=%d", s->port, s->nworkers,
             s->queue_max);
    return 0;
}

int rpc_server_port(const rpc_server_t *server) { return server->port; }

bool rpc_server_draining(const rpc_server_t *server)
{
    return atomic_load(&((rpc_server_t *)server)->draining);
}

void rpc_server_stop(rpc_server_t *server) { atomic_store(&server->stop_requested, true); }

static bool wait_until(rpc_server_t *s, bool *flag, const struct timespec *deadline)
{
    pthread_mutex_lock(&s->mu);
    while (!*flag) {
        if (deadline == NULL) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else if (pthread_cond_timedwait(&s->cv, &s->mu, deadline) == ETIMEDOUT) {
            break;
        }
    }
    bool done = *flag;
    pthread_mutex_unlock(&s->mu);
    return done;
}

int rpc_server_run(rpc_server_t *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    while (!atomic_load(&s->stop_requested)) {
        struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
        sig = sigtimedwait(&set, NULL, &tick);
        if (sig > 0)
            break;
    }
    LOG_INFO("draining", "signal=%d grace_ms=%lld", sig > 0 ? sig : 0, (long long)s->grace_ms);

    atomic_store(&s->draining, true);
    health_set_all(s, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    s->shutdown_tag.done = on_shutdown;
    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);

    struct timespec deadline = timespec_in_ms(CLOCK_REALTIME, s->grace_ms);
    /* Wait for our calls, not for clients: gRPC would also wait for idle
     * connections to go away, which a client may never do. */
    pthread_mutex_lock(&s->mu);
    bool timed_out = false;
    while ((s->inflight > 0 || s->active_streams > 0) && !s->shutdown_done && !timed_out)
        timed_out = pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT;
    pthread_mutex_unlock(&s->mu);
    if (timed_out)
        LOG_WARN("drain grace period over, cancelling calls", NULL);
    grpc_server_cancel_all_calls(s->server);
    wait_until(s, &s->shutdown_done, NULL);

    /* Every call has answered; wait for their last events to be released. */
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0 || s->active_streams > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    s->stopping_workers = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);

    grpc_completion_queue_shutdown(s->cq);
    pthread_join(s->cq_thread, NULL);
    s->started = false;
    LOG_INFO("drained", NULL);
    return 0;
}

void rpc_server_free(rpc_server_t *s)
{
    if (s == NULL)
        return;
    if (s->server && s->port > 0 && !s->started && !s->shutdown_done) {
        /* Never started (a later step of the start failed): gRPC destroys a
         * server that listens only after a shutdown, whose notice comes on
         * the queue no thread reads yet. */
        grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
        grpc_completion_queue_shutdown(s->cq);
        while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
               GRPC_QUEUE_SHUTDOWN)
            ;
    }
    if (s->server)
        grpc_server_destroy(s->server);
    if (s->cq)
        grpc_completion_queue_destroy(s->cq);
    for (size_t i = 0; i < s->nmethods; i++)
        free(s->methods[i].path);
    free(s->methods);
    free(s->workers);
    health_entry_t *e = s->health;
    while (e) {
        health_entry_t *next = e->next;
        free(e->service);
        free(e);
        e = next;
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->health_mu);
    free(s->name);
    free(s);
}

/* ------------------------------------------------------------------------
 * Handler-side accessors
 * ------------------------------------------------------------------------ */

void *rpc_call_payload(rpc_call_t *call) { return call->method ? call->method->payload : NULL; }
const char *rpc_call_method(rpc_call_t *call) { return call->path; }
rpc_server_t *rpc_call_server(rpc_call_t *call) { return call->server; }
const char *rpc_call_request_id(rpc_call_t *call) { return call->req_id; }

const char *rpc_call_metadata(rpc_call_t *call, const char *key)
{
    for (size_t i = 0; i < call->md.count; i++) {
        grpc_metadata *m = &call->md.metadata[i];
        if (grpc_slice_str_cmp(m->key, key) == 0)
            return arena_strndup(&call->arena, (const char *)GRPC_SLICE_START_PTR(m->value),
                                 GRPC_SLICE_LENGTH(m->value));
    }
    return NULL;
}

const char *rpc_call_peer(rpc_call_t *call)
{
    if (call->peer == NULL) {
        char *p = grpc_call_get_peer(call->call);
        call->peer = arena_strdup(&call->arena, p ? p : "");
        gpr_free(p);
    }
    return call->peer;
}

int64_t rpc_call_deadline_left_ms(rpc_call_t *call)
{
    if (call->deadline.tv_sec == INT64_MAX)
        return INT64_MAX;
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    gpr_timespec left = gpr_time_sub(call->deadline, now);
    return left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

bool rpc_call_cancelled(rpc_call_t *call)
{
    return atomic_load(&call->cancelled) || rpc_call_deadline_left_ms(call) <= 0;
}

void rpc_call_add_trailer(rpc_call_t *call, const char *key, const char *value)
{
    if (call->ntrailers >= RPC_MAX_TRAILERS)
        return;
    grpc_metadata *m = &call->trailers[call->ntrailers++];
    memset(m, 0, sizeof *m);
    m->key = grpc_slice_from_copied_string(key);
    m->value = grpc_slice_from_copied_string(value);
}

void rpc_call_set_log_user(rpc_call_t *call, const char *user)
{
    call->log_user = arena_strdup(&call->arena, user);
    log_set_context(call->path, call->req_id, call->log_user);
}

void *rpc_alloc(rpc_call_t *call, size_t size) { return arena_alloc(&call->arena, size); }
char *rpc_strdup(rpc_call_t *call, const char *s) { return arena_strdup(&call->arena, s); }

char *rpc_sprintf(rpc_call_t *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *tmp = xvasprintf(fmt, ap);
    va_end(ap);
    char *out = arena_strdup(&call->arena, tmp);
    free(tmp);
    return out;
}

static void on_stream_op(tag_t *t, bool ok)
{
    rpc_call_t *c = (rpc_call_t *)((char *)t - offsetof(rpc_call_t, tag_main));
    pthread_mutex_lock(&c->mu);
    c->op_done = true;
    c->op_ok = ok;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

int rpc_stream_send(rpc_call_t *call, const ProtobufCMessage *msg, err_t **err)
{
    if (rpc_call_cancelled(call))
        return err_set(err, GRPC_STATUS_CANCELLED, "call cancelled");
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!call->sent_initial) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        call->sent_initial = true;
    }
    if (call->send_buf)
        grpc_byte_buffer_destroy(call->send_buf);
    call->send_buf = pack_message(msg);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = call->send_buf;
    n++;
    pthread_mutex_lock(&call->mu);
    call->op_done = false;
    call->tag_main.done = on_stream_op;
    if (grpc_call_start_batch(call->call, ops, n, &call->tag_main, NULL) != GRPC_CALL_OK) {
        pthread_mutex_unlock(&call->mu);
        return err_set(err, GRPC_STATUS_INTERNAL, "stream send refused");
    }
    while (!call->op_done)
        pthread_cond_wait(&call->cv, &call->mu);
    bool ok = call->op_ok;
    pthread_mutex_unlock(&call->mu);
    if (!ok) {
        atomic_store(&call->cancelled, true);
        return err_set(err, GRPC_STATUS_CANCELLED, "client went away");
    }
    return 0;
}

bool rpc_call_wait(rpc_call_t *call, int64_t ms)
{
    struct timespec until = timespec_in_ms(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&call->mu);
    bool woken = call->woken;
    while (!woken && !atomic_load(&call->cancelled) && !rpc_server_draining(call->server)) {
        if (pthread_cond_timedwait(&call->cv, &call->mu, &until) == ETIMEDOUT)
            break;
        woken = call->woken;
    }
    call->woken = false;
    pthread_mutex_unlock(&call->mu);
    return woken || atomic_load(&call->cancelled) || rpc_server_draining(call->server);
}
