/* runjob.c — the one server-streaming call the gateway makes:
 * Executor.RunJob, for authors running reference solutions. libcommon's
 * client is unary only, so this drives gRPC's C core directly: one call, its
 * own completion queue, one message received at a time until the status. */
#define _GNU_SOURCE
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#include <grpc/grpc_security.h>
#include <pthread.h>

/* A channel of our own (rpc.h's channels are opaque), made on first use. */
static grpc_channel *exec_channel;
static const char *exec_target;
static pthread_once_t exec_once = PTHREAD_ONCE_INIT;

static void exec_channel_open(void)
{
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_arg args[1] = {{.type = GRPC_ARG_INTEGER,
                         .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                         .value.integer = RPC_MAX_MESSAGE_BYTES}};
    grpc_channel_args channel_args = {.num_args = 1, .args = args};
    exec_channel = grpc_channel_create(exec_target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
}

static bool wait_tag(grpc_completion_queue *cq, void *tag, gpr_timespec deadline)
{
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, deadline, NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

int gw_runjob(const char *target, const Dojo__Executor__V1__RunJobRequest *req,
              const char *const *md, const char *req_id, int timeout_ms, gw_event_fn on_event,
              void *payload, err_t **err)
{
    exec_target = target;
    pthread_once(&exec_once, exec_channel_open);
    if (exec_channel == NULL)
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "no channel to the executor");
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    grpc_slice method = grpc_slice_from_static_string("/dojo.executor.v1.Executor/RunJob");
    grpc_call *call = grpc_channel_create_call(exec_channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               method, NULL, deadline, NULL);
    grpc_metadata meta[8];
    size_t nmd = 0;
    memset(meta, 0, sizeof meta);
    if (req_id) {
        meta[nmd].key = grpc_slice_from_static_string("x-request-id");
        meta[nmd].value = grpc_slice_from_copied_string(req_id);
        nmd++;
    }
    for (const char *const *kv = md; kv && kv[0] && kv[1] && nmd < 8; kv += 2) {
        meta[nmd].key = grpc_slice_from_copied_string(kv[0]);
        meta[nmd].value = grpc_slice_from_copied_string(kv[1]);
        nmd++;
    }
    size_t len = protobuf_c_message_get_packed_size(&req->base);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(&req->base, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *req_buf = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);

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
    ops[0].data.send_initial_metadata.count = nmd;
    ops[0].data.send_initial_metadata.metadata = meta;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    int tag_send = 1;
    if (grpc_call_start_batch(call, ops, 4, &tag_send, NULL) != GRPC_CALL_OK) {
        rc = err_set(err, GRPC_STATUS_INTERNAL, "RunJob: start");
        goto status;
    }
    wait_tag(cq, &tag_send, gpr_inf_future(GPR_CLOCK_REALTIME));

    for (;;) {
        grpc_byte_buffer *msg = NULL;
        grpc_op rop;
        memset(&rop, 0, sizeof rop);
        rop.op = GRPC_OP_RECV_MESSAGE;
        rop.data.recv_message.recv_message = &msg;
        int tag_recv = 2;
        if (grpc_call_start_batch(call, &rop, 1, &tag_recv, NULL) != GRPC_CALL_OK)
            break;
        bool ok = wait_tag(cq, &tag_recv, gpr_inf_future(GPR_CLOCK_REALTIME));
        if (!ok || msg == NULL) {
            if (msg)
                grpc_byte_buffer_destroy(msg);
            break;
        }
        grpc_byte_buffer_reader reader;
        grpc_byte_buffer_reader_init(&reader, msg);
        grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
        grpc_byte_buffer_destroy(msg);
        Dojo__Executor__V1__Event *ev = dojo__executor__v1__event__unpack(
            NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
        grpc_slice_unref(all);
        if (ev == NULL)
            continue;
        int stop = on_event(ev, payload);
        dojo__executor__v1__event__free_unpacked(ev, NULL);
        if (stop) {
            stopped = true;
            grpc_call_cancel(call, NULL);
            break;
        }
    }

status:;
    grpc_op sop;
    memset(&sop, 0, sizeof sop);
    sop.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    sop.data.recv_status_on_client.trailing_metadata = &trailing_md;
    sop.data.recv_status_on_client.status = &status;
    sop.data.recv_status_on_client.status_details = &details;
    int tag_status = 3;
    if (grpc_call_start_batch(call, &sop, 1, &tag_status, NULL) == GRPC_CALL_OK)
        wait_tag(cq, &tag_status, gpr_inf_future(GPR_CLOCK_REALTIME));
    if (rc == 0 && status != GRPC_STATUS_OK && !stopped) {
        char *text = grpc_slice_to_c_string(details);
        err_set(err, status, "%s", text);
        err_wrap(err, "Executor.RunJob");
        gpr_free(text);
        rc = -1;
    }
    for (size_t i = 0; i < nmd; i++) {
        grpc_slice_unref(meta[i].key);
        grpc_slice_unref(meta[i].value);
    }
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_byte_buffer_destroy(req_buf);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    return rc;
}
