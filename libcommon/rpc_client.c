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

#include "mem.h"

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
    rpc_channel_t *ch = xcalloc(1, sizeof *ch);
    ch->target = xstrdup(target);
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

/* The descriptor of `method` and its path "/pkg.Service/Method" in path[cap];
 * NULL (INTERNAL) when the service has no such method. */
static const ProtobufCMethodDescriptor *method_of(const ProtobufCServiceDescriptor *service,
                                                  const char *method, char *path, size_t cap,
                                                  err_t **err)
{
    for (unsigned i = 0; i < service->n_methods; i++)
        if (!strcmp(service->methods[i].name, method)) {
            snprintf(path, cap, "/%s/%s", service->name, method);
            return &service->methods[i];
        }
    err_set(err, GRPC_STATUS_INTERNAL, "%s has no method %s", service->name, method);
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
 * What every call shares: the request out, a status in
 * ------------------------------------------------------------------------ */

#define MAX_METADATA 16

/* One call on the calling thread's completion queue, from creation to
 * status: what its batches point at lives here. */
typedef struct client_call {
    const char *path;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata md[MAX_METADATA];
    size_t nmd;
    grpc_byte_buffer *req_buf;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
} client_call_t;

/* Creates the call with a byte buffer of its own over `payload` (gRPC takes
 * the payload out of the byte buffer it sends, so a buffer is never sent
 * twice). */
static void client_call_begin(client_call_t *c, rpc_channel_t *ch, const char *path,
                              grpc_slice payload, gpr_timespec deadline,
                              const rpc_call_opts_t *opts)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->cq = thread_cq();
    /* Copied, not static: `path` lives on the caller's stack, and a static
     * slice tells gRPC the bytes live for ever — its HPACK encoder may match
     * :path against an earlier call's by address and length, and the next
     * call's path sits at the same address. */
    grpc_slice method = grpc_slice_from_copied_string(path);
    c->call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
                                       method, NULL, deadline, NULL);
    grpc_slice_unref(method);
    if (opts && opts->request_id) {
        c->md[c->nmd].key = grpc_slice_from_static_string("x-request-id");
        c->md[c->nmd].value = grpc_slice_from_copied_string(opts->request_id);
        c->nmd++;
    }
    for (const char *const *kv = opts ? opts->metadata : NULL;
         kv && kv[0] && kv[1] && c->nmd < MAX_METADATA; kv += 2) {
        c->md[c->nmd].key = grpc_slice_from_copied_string(kv[0]);
        c->md[c->nmd].value = grpc_slice_from_copied_string(kv[1]);
        c->nmd++;
    }
    c->req_buf = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_metadata_array_init(&c->initial_md);
    grpc_metadata_array_init(&c->trailing_md);
    c->status = GRPC_STATUS_UNKNOWN;
    c->details = grpc_empty_slice();
}

/* Fills ops[0..3]: metadata, the request, half-close, the server's initial
 * metadata. Returns 4. */
static size_t client_call_send_ops(client_call_t *c, grpc_op *ops)
{
    memset(ops, 0, 4 * sizeof *ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->nmd;
    ops[0].data.send_initial_metadata.metadata = c->md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->req_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
    return 4;
}

/* Fills *op to receive the status and trailers. */
static void client_call_status_op(client_call_t *c, grpc_op *op)
{
    memset(op, 0, sizeof *op);
    op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op->data.recv_status_on_client.trailing_metadata = &c->trailing_md;
    op->data.recv_status_on_client.status = &c->status;
    op->data.recv_status_on_client.status_details = &c->details;
}

/* Runs one batch and waits for it; false when it could not start or failed. */
static bool client_call_run(client_call_t *c, const grpc_op *ops, size_t n)
{
    int tag = 0;
    if (grpc_call_start_batch(c->call, ops, n, &tag, NULL) != GRPC_CALL_OK)
        return false;
    grpc_event ev =
        grpc_completion_queue_pluck(c->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* The received non-OK status as an error: the server's message is what a
 * client may see (the server already made internal ones generic), the path
 * is context for the log, a retry-after trailer becomes the retry hint. */
static int client_call_status_error(client_call_t *c, err_t **err)
{
    char *text = grpc_slice_to_c_string(c->details);
    err_set_private(err, c->status, text, "%s", text);
    err_wrap(err, "%s", c->path);
    char buf[32];
    if (find_trailer(&c->trailing_md, "retry-after", buf, sizeof buf))
        err_set_retry_after(err, atoi(buf));
    gpr_free(text);
    return -1;
}

static void client_call_end(client_call_t *c)
{
    for (size_t i = 0; i < c->nmd; i++) {
        grpc_slice_unref(c->md[i].key);
        grpc_slice_unref(c->md[i].value);
    }
    grpc_slice_unref(c->details);
    grpc_metadata_array_destroy(&c->initial_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    grpc_byte_buffer_destroy(c->req_buf);
    grpc_call_unref(c->call);
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

/* The request, packed once for all attempts. */
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

/* One attempt, all in one batch. Returns the status; on OK *out is set. */
static grpc_status_code call_once(rpc_channel_t *ch, const char *path,
                                  const ProtobufCMethodDescriptor *m, grpc_slice payload,
                                  gpr_timespec deadline, const rpc_call_opts_t *opts,
                                  ProtobufCMessage **out, err_t **err)
{
    client_call_t c;
    client_call_begin(&c, ch, path, payload, deadline, opts);
    grpc_byte_buffer *resp_buf = NULL;
    grpc_op ops[6];
    size_t n = client_call_send_ops(&c, ops);
    memset(&ops[n], 0, sizeof ops[n]);
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n].data.recv_message.recv_message = &resp_buf;
    n++;
    client_call_status_op(&c, &ops[n++]);
    if (!client_call_run(&c, ops, n) && c.status == GRPC_STATUS_UNKNOWN)
        c.status = GRPC_STATUS_INTERNAL; /* the batch did not start */

    grpc_status_code status = c.status;
    if (status == GRPC_STATUS_OK) {
        if (resp_buf == NULL) {
            status = GRPC_STATUS_INTERNAL;
            err_set(err, status, "%s: reply message missing", path);
        } else if ((*out = unpack_reply(m->output, resp_buf)) == NULL) {
            status = GRPC_STATUS_INTERNAL;
            err_set(err, status, "%s: malformed reply", path);
        }
    } else {
        client_call_status_error(&c, err);
    }
    if (resp_buf)
        grpc_byte_buffer_destroy(resp_buf);
    client_call_end(&c);
    return status;
}

int rpc_client_call(rpc_channel_t *channel, const ProtobufCServiceDescriptor *service,
                    const char *method, const ProtobufCMessage *req, ProtobufCMessage **out,
                    const rpc_call_opts_t *opts, err_t **err)
{
    char path[256];
    const ProtobufCMethodDescriptor *m = method_of(service, method, path, sizeof path, err);
    if (m == NULL)
        return -1;

    grpc_slice payload = pack_request(req);
    gpr_timespec deadline = deadline_of(opts);
    int tries = (opts && opts->idempotent) ? 3 : 1;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    for (int attempt = 0; attempt < tries; attempt++) {
        if (attempt > 0) {
            struct timespec pause = {0, (long)attempt * 50 * 1000000L};
            nanosleep(&pause, NULL);
            /* Out of time: the last attempt's error stands (cleared before
             * this check, the call failed with no error, and callers read
             * (*err)->code). */
            if (gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), deadline) >= 0)
                break;
            err_clear(err);
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

int rpc_client_stream(rpc_channel_t *channel, const ProtobufCServiceDescriptor *service,
                      const char *method, const ProtobufCMessage *req, const rpc_call_opts_t *opts,
                      rpc_stream_msg_fn on_msg, void *payload, err_t **err)
{
    char path[256];
    const ProtobufCMethodDescriptor *m = method_of(service, method, path, sizeof path, err);
    if (m == NULL)
        return -1;

    grpc_slice packed = pack_request(req);
    client_call_t c;
    client_call_begin(&c, channel, path, packed, deadline_of(opts), opts);
    grpc_slice_unref(packed);
    int rc = 0;
    bool stopped = false;

    grpc_op ops[4];
    size_t n = client_call_send_ops(&c, ops);
    /* A failed send shows in the status below (the server never answered). */
    (void)client_call_run(&c, ops, n);

    for (;;) {
        grpc_byte_buffer *buf = NULL;
        grpc_op recv;
        memset(&recv, 0, sizeof recv);
        recv.op = GRPC_OP_RECV_MESSAGE;
        recv.data.recv_message.recv_message = &buf;
        if (!client_call_run(&c, &recv, 1) || buf == NULL) {
            if (buf)
                grpc_byte_buffer_destroy(buf);
            break; /* the stream ended: the status says how */
        }
        ProtobufCMessage *msg = unpack_reply(m->output, buf);
        grpc_byte_buffer_destroy(buf);
        if (msg == NULL) {
            rc = err_set(err, GRPC_STATUS_INTERNAL, "%s: malformed reply", path);
            grpc_call_cancel(c.call, NULL);
            break;
        }
        int stop = on_msg(msg, payload);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (stop) {
            stopped = true;
            grpc_call_cancel(c.call, NULL);
            break;
        }
    }

    grpc_op sop;
    client_call_status_op(&c, &sop);
    bool have_status = client_call_run(&c, &sop, 1);
    if (rc == 0 && !stopped) {
        if (!have_status)
            rc = err_set(err, GRPC_STATUS_INTERNAL, "%s: no status", path);
        else if (c.status != GRPC_STATUS_OK)
            rc = client_call_status_error(&c, err);
    }
    client_call_end(&c);
    return rc;
}
