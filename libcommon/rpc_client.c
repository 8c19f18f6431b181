/* rpc_client.c — calls to other services over one channel per target: unary
 * (with retries for idempotent calls) and server-streaming.
 *
 * Each calling thread keeps its own pluck completion queue, so a unary call
 * costs one batch and one wait; no thread is shared between callers. */
#define _GNU_SOURCE
#include "rpc.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rpc_channel {
    grpc_channel *channel;
    char *target;
};

static pthread_key_t cq_key;
static pthread_once_t cq_once = PTHREAD_ONCE_INIT;

static void cq_destroy(void *p)
{
    grpc_completion_queue *cq = p;
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

static void cq_key_create(void) { pthread_key_create(&cq_key, cq_destroy); }

static grpc_completion_queue *thread_cq(void)
{
    pthread_once(&cq_once, cq_key_create);
    grpc_completion_queue *cq = pthread_getspecific(cq_key);
    if (cq == NULL) {
        cq = grpc_completion_queue_create_for_pluck(NULL);
        pthread_setspecific(cq_key, cq);
    }
    return cq;
}

int rpc_channel_open(rpc_channel_t **out, const char *target, err_t **err)
{
    rpc_channel_t *ch = calloc(1, sizeof *ch);
    if (ch == NULL || (ch->target = strdup(target)) == NULL)
        abort();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_arg args[2] = {
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = RPC_MAX_MESSAGE_BYTES},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
         .value.integer = RPC_MAX_MESSAGE_BYTES},
    };
    grpc_channel_args channel_args = {.num_args = 2, .args = args};
    ch->channel = grpc_channel_create(target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    if (ch->channel == NULL) {
        free(ch->target);
        free(ch);
        return err_set(err, GRPC_STATUS_INTERNAL, "cannot create a channel to %s", target);
    }
    *out = ch;
    return 0;
}

void rpc_channel_close(rpc_channel_t *channel)
{
    if (channel == NULL)
        return;
    grpc_channel_destroy(channel->channel);
    free(channel->target);
    free(channel);
}

static const ProtobufCMethodDescriptor *find_method(const ProtobufCServiceDescriptor *service,
                                                    const char *method)
{
    for (unsigned i = 0; i < service->n_methods; i++)
        if (!strcmp(service->methods[i].name, method))
            return &service->methods[i];
    return NULL;
}

static const char *find_trailer(const grpc_metadata_array *md, const char *key, char *buf,
                                size_t cap)
{
    for (size_t i = 0; i < md->count; i++)
        if (grpc_slice_str_cmp(md->metadata[i].key, key) == 0) {
            size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);
            if (n >= cap)
                n = cap - 1;
            memcpy(buf, GRPC_SLICE_START_PTR(md->metadata[i].value), n);
            buf[n] = '\0';
            return buf;
        }
    return NULL;
}

/* ------------------------------------------------------------------------
 * What every call shares: metadata out, a status in, messages both ways
 * ------------------------------------------------------------------------ */

#define MAX_METADATA 16

typedef struct call_md {
    grpc_metadata md[MAX_METADATA];
    size_t n;
} call_md_t;

static void call_md_init(call_md_t *m, const rpc_call_opts_t *opts)
{
    memset(m, 0, sizeof *m);
    if (opts && opts->request_id) {
        m->md[m->n].key = grpc_slice_from_static_string("x-request-id");
        m->md[m->n].value = grpc_slice_from_copied_string(opts->request_id);
        m->n++;
    }
    for (const char *const *kv = opts ? opts->metadata : NULL;
         kv && kv[0] && kv[1] && m->n < MAX_METADATA; kv += 2) {
        m->md[m->n].key = grpc_slice_from_copied_string(kv[0]);
        m->md[m->n].value = grpc_slice_from_copied_string(kv[1]);
        m->n++;
    }
}

static void call_md_destroy(call_md_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        grpc_slice_unref(m->md[i].key);
        grpc_slice_unref(m->md[i].value);
    }
}

/* A non-OK status as an error: the server's message is what a client may
 * see (the server already made internal ones generic), the path is context
 * for the log, a retry-after trailer becomes the retry hint. */
static void status_error(err_t **err, const char *path, grpc_status_code status, grpc_slice details,
                         const grpc_metadata_array *trailing_md)
{
    char *text = grpc_slice_to_c_string(details);
    err_set_private(err, status, text, "%s", text);
    err_wrap(err, "%s", path);
    char buf[32];
    if (find_trailer(trailing_md, "retry-after", buf, sizeof buf))
        err_set_retry_after(err, atoi(buf));
    gpr_free(text);
}

/* Decodes a reply of type `type`; NULL when it does not decode. */
static ProtobufCMessage *unpack_reply(const ProtobufCMessageDescriptor *type, grpc_byte_buffer *buf)
{
    grpc_byte_buffer_reader reader;
    grpc_byte_buffer_reader_init(&reader, buf);
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCMessage *msg =
        protobuf_c_message_unpack(type, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    return msg;
}

/* The request, packed once: every attempt sends a byte buffer of its own
 * over this slice, because gRPC takes the payload out of the byte buffer it
 * is given (a reused buffer would send an empty message). */
static grpc_slice pack_request(const ProtobufCMessage *req)
{
    size_t len = protobuf_c_message_get_packed_size(req);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(slice));
    return slice;
}

static gpr_timespec deadline_of(const rpc_call_opts_t *opts)
{
    int timeout_ms = (opts && opts->timeout_ms > 0) ? opts->timeout_ms : 5000;
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

/* ------------------------------------------------------------------------
 * Unary calls
 * ------------------------------------------------------------------------ */

/* One attempt with a fresh byte buffer over `payload`. Returns the status;
 * on OK *out is set. */
static grpc_status_code call_once(rpc_channel_t *ch, const char *path,
                                  const ProtobufCMethodDescriptor *m, grpc_slice payload,
                                  gpr_timespec deadline, const rpc_call_opts_t *opts,
                                  ProtobufCMessage **out, err_t **err)
{
    grpc_completion_queue *cq = thread_cq();
    grpc_slice method = grpc_slice_from_static_string(path);
    grpc_call *call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               method, NULL, deadline, NULL);
    call_md_t md;
    call_md_init(&md, opts);
    grpc_byte_buffer *req_buf = grpc_raw_byte_buffer_create(&payload, 1);

    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_byte_buffer *resp_buf = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = md.n;
    ops[0].data.send_initial_metadata.metadata = md.md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp_buf;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;

    int tag = 0;
    grpc_call_error rc = grpc_call_start_batch(call, ops, 6, &tag, NULL);
    if (rc == GRPC_CALL_OK)
        grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    else
        status = GRPC_STATUS_INTERNAL;

    if (status == GRPC_STATUS_OK) {
        if (resp_buf == NULL) {
            status = GRPC_STATUS_INTERNAL;
            err_set(err, status, "%s: reply message missing", path);
        } else if ((*out = unpack_reply(m->output, resp_buf)) == NULL) {
            status = GRPC_STATUS_INTERNAL;
            err_set(err, status, "%s: malformed reply", path);
        }
    } else {
        status_error(err, path, status, details, &trailing_md);
    }

    call_md_destroy(&md);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_byte_buffer_destroy(req_buf);
    if (resp_buf)
        grpc_byte_buffer_destroy(resp_buf);
    grpc_call_unref(call);
    return status;
}

int rpc_client_call(rpc_channel_t *channel, const ProtobufCServiceDescriptor *service,
                    const char *method, const ProtobufCMessage *req, ProtobufCMessage **out,
                    const rpc_call_opts_t *opts, err_t **err)
{
    const ProtobufCMethodDescriptor *m = find_method(service, method);
    if (m == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "%s has no method %s", service->name, method);
    char path[256];
    snprintf(path, sizeof path, "/%s/%s", service->name, method);

    grpc_slice payload = pack_request(req);
    gpr_timespec deadline = deadline_of(opts);
    int tries = (opts && opts->idempotent) ? 3 : 1;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    for (int attempt = 0; attempt < tries; attempt++) {
        if (attempt > 0) {
            err_clear(err);
            struct timespec pause = {0, (long)attempt * 50 * 1000000L};
            nanosleep(&pause, NULL);
            if (gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), deadline) >= 0)
                break;
        }
        st = call_once(channel, path, m, payload, deadline, opts, out, err);
        if (st != GRPC_STATUS_UNAVAILABLE)
            break;
    }
    grpc_slice_unref(payload);
    return st == GRPC_STATUS_OK ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Server-streaming calls
 * ------------------------------------------------------------------------ */

/* Runs one batch and waits for it; false when it could not start or failed. */
static bool run_batch(grpc_call *call, grpc_completion_queue *cq, const grpc_op *ops, size_t n)
{
    int tag = 0;
    if (grpc_call_start_batch(call, ops, n, &tag, NULL) != GRPC_CALL_OK)
        return false;
    grpc_event ev = grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

int rpc_client_stream(rpc_channel_t *channel, const ProtobufCServiceDescriptor *service,
                      const char *method, const ProtobufCMessage *req, const rpc_call_opts_t *opts,
                      rpc_stream_msg_fn on_msg, void *payload, err_t **err)
{
    const ProtobufCMethodDescriptor *m = find_method(service, method);
    if (m == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "%s has no method %s", service->name, method);
    char path[256];
    snprintf(path, sizeof path, "/%s/%s", service->name, method);

    grpc_completion_queue *cq = thread_cq();
    grpc_call *call = grpc_channel_create_call(channel->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               grpc_slice_from_static_string(path), NULL,
                                               deadline_of(opts), NULL);
    call_md_t md;
    call_md_init(&md, opts);
    grpc_slice packed = pack_request(req);
    grpc_byte_buffer *req_buf = grpc_raw_byte_buffer_create(&packed, 1);
    grpc_slice_unref(packed);
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    int rc = 0;
    bool stopped = false;

    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = md.n;
    ops[0].data.send_initial_metadata.metadata = md.md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    /* A failed send shows in the status below (the server never answered). */
    (void)run_batch(call, cq, ops, 4);

    for (;;) {
        grpc_byte_buffer *buf = NULL;
        grpc_op recv;
        memset(&recv, 0, sizeof recv);
        recv.op = GRPC_OP_RECV_MESSAGE;
        recv.data.recv_message.recv_message = &buf;
        if (!run_batch(call, cq, &recv, 1) || buf == NULL) {
            if (buf)
                grpc_byte_buffer_destroy(buf);
            break; /* the stream ended: the status says how */
        }
        ProtobufCMessage *msg = unpack_reply(m->output, buf);
        grpc_byte_buffer_destroy(buf);
        if (msg == NULL) {
            rc = err_set(err, GRPC_STATUS_INTERNAL, "%s: malformed reply", path);
            grpc_call_cancel(call, NULL);
            break;
        }
        int stop = on_msg(msg, payload);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (stop) {
            stopped = true;
            grpc_call_cancel(call, NULL);
            break;
        }
    }

    grpc_op sop;
    memset(&sop, 0, sizeof sop);
    sop.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    sop.data.recv_status_on_client.trailing_metadata = &trailing_md;
    sop.data.recv_status_on_client.status = &status;
    sop.data.recv_status_on_client.status_details = &details;
    if (!run_batch(call, cq, &sop, 1) && rc == 0 && !stopped)
        rc = err_set(err, GRPC_STATUS_INTERNAL, "%s: no status", path);
    if (rc == 0 && !stopped && status != GRPC_STATUS_OK) {
        status_error(err, path, status, details, &trailing_md);
        rc = -1;
    }

    call_md_destroy(&md);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_byte_buffer_destroy(req_buf);
    grpc_call_unref(call);
    return rc;
}
