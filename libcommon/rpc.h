/* rpc.h — the gRPC layer on gRPC's C core for protobuf-c services.
 *
 * Server: every method of a protobuf-c service descriptor is served at
 * /<package>.<Service>/<Method>. Handlers run on a worker pool (unary) or on
 * a thread of their own (server streaming), never on the completion-queue
 * thread. Methods without a handler, and unknown paths, answer UNIMPLEMENTED;
 * a payload that does not decode answers INVALID_ARGUMENT; a call whose
 * deadline has passed before a worker takes it answers DEADLINE_EXCEEDED.
 * Past the free workers at most DOJO_RPC_QUEUE_MAX unary calls wait; the next
 * answers UNAVAILABLE "busy: every worker taken" (retry-after 1) at once.
 * grpc.health.v1.Health (Check and Watch) is part of every server.
 * SIGTERM/SIGINT stop accepting calls, let in-flight calls finish (within a
 * grace period), then rpc_server_run returns 0.
 *
 * Memory: everything a handler allocates for its reply comes from the call's
 * arena (rpc_alloc, rpc_strdup, RPC_NEW) and is released when the call ends;
 * the decoded request lives in the same arena.
 *
 * Client: one channel per target; every call has a deadline; unary calls
 * marked idempotent are retried on UNAVAILABLE (each attempt sends the whole
 * request anew); server-streaming calls hand each reply to a callback. */
#ifndef DOJO_RPC_H
#define DOJO_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/** The largest message Dojo's peers send or accept (a judge bundle or a task
 * import fits; see content.proto). */
#define RPC_MAX_MESSAGE_BYTES (16 * 1024 * 1024)

typedef struct rpc_server rpc_server_t;
typedef struct rpc_call rpc_call_t;
typedef struct rpc_channel rpc_channel_t;

/* ------------------------------------------------------------------------
 * Process setup
 * ------------------------------------------------------------------------ */

/** Blocks SIGTERM/SIGINT (rpc_server_run waits for them), ignores SIGPIPE and
 * initialises gRPC. Call first in main, before any thread exists. */
void rpc_init(void);

/* ------------------------------------------------------------------------
 * Server
 * ------------------------------------------------------------------------ */

/** A unary handler: read `req` (of the method's input type), set *out to the
 * reply (of its output type, built in the call's arena). Return 0, or -1
 * with *err set: its code and public message become the gRPC status. */
typedef int (*rpc_unary_fn)(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);

/** A server-streaming handler: send replies with rpc_stream_send, then
 * return 0 (status OK) or -1 with *err. */
typedef int (*rpc_stream_fn)(rpc_call_t *call, const ProtobufCMessage *req, err_t **err);

/** One entry of a service's handler table, matched to the descriptor's
 * methods by name. protoc-c drops the `stream` keyword, so whether a method
 * streams is said here: set `stream` instead of `unary`. */
typedef struct rpc_handler {
    const char *method; /* "Login" */
    rpc_unary_fn unary;
    rpc_stream_fn stream;
} rpc_handler_t;

/** The number of workers a server runs unary handlers on: DOJO_RPC_WORKERS
 * (1..256), by default 8 or what rpc_server_default_workers set. For
 * services that size their own queues by it. */
int rpc_server_workers_setting(void);

/** Changes the default of DOJO_RPC_WORKERS for this process (a service whose
 * handlers wait, as auth's for a password-hash slot). Call before
 * rpc_server_new. */
void rpc_server_default_workers(int n);

/** Changes the default of DOJO_RPC_QUEUE_MAX for this process (a service
 * whose callers should hear "busy" sooner, or later). Call before
 * rpc_server_new. */
void rpc_server_default_queue_max(int n);

/** Unary calls waiting for a worker now (for metrics and tests). */
int rpc_server_queued(rpc_server_t *server);

/** Creates a server for `service_name` (used in logs and metrics) listening
 * on `addr` ("host:port"; port 0 picks a free one). Reads DOJO_RPC_WORKERS
 * (default 8), DOJO_RPC_QUEUE_MAX (0..100000, default 256 or what
 * rpc_server_default_queue_max set: calls that may wait past the free
 * workers; each refused one counts in dojo_rpc_refused_total{reason=
 * "queue_full"}), DOJO_RPC_MAX_STREAMS (default 256) and DOJO_RPC_DRAIN_GRACE
 * (default 20s). *out is new: rpc_server_free it. Fails (UNAVAILABLE) when
 * the address cannot be bound. */
int rpc_server_new(rpc_server_t **out, const char *service_name, const char *addr, err_t **err);

/** Serves `service`'s methods with `handlers` (terminated by an entry whose
 * method is NULL). `payload` is returned by rpc_call_payload in handlers.
 * The service is registered with the health service as SERVING once the
 * server starts. Call before rpc_server_start. */
int rpc_server_add_service(rpc_server_t *server, const ProtobufCServiceDescriptor *service,
                           const rpc_handler_t *handlers, void *payload, err_t **err);

/** Starts accepting calls (threads start here). */
int rpc_server_start(rpc_server_t *server, err_t **err);

/** The bound port (useful after asking for port 0). */
int rpc_server_port(const rpc_server_t *server);

/** Blocks until SIGTERM or SIGINT (or rpc_server_stop), then drains: health
 * turns NOT_SERVING, no new calls are accepted, in-flight calls finish (those
 * still running after the grace period are cancelled). Returns 0. */
int rpc_server_run(rpc_server_t *server);

/** Asks rpc_server_run to drain and return, as a signal would. Thread-safe. */
void rpc_server_stop(rpc_server_t *server);

/** True once draining has begun (streaming handlers should wind down). */
bool rpc_server_draining(const rpc_server_t *server);

/** Sets the health status of `service` ("" = the whole server). */
void rpc_server_set_serving(rpc_server_t *server, const char *service, bool serving);

/** Frees a server that is not running (after rpc_server_run returned, or
 * never started). NULL is fine. */
void rpc_server_free(rpc_server_t *server);

/* ------------------------------------------------------------------------
 * Inside a handler
 * ------------------------------------------------------------------------ */

/** The payload given to rpc_server_add_service. */
void *rpc_call_payload(rpc_call_t *call);

/** The full method path, "/dojo.auth.v1.Auth/Login". Borrowed (call's life). */
const char *rpc_call_method(rpc_call_t *call);

/** The value of request metadata `key` (lower case), or NULL. Binary
 * headers (-bin) are not supported. Borrowed for the call's life. */
const char *rpc_call_metadata(rpc_call_t *call, const char *key);

/** The request id: x-request-id from metadata, or a fresh one. Borrowed. */
const char *rpc_call_request_id(rpc_call_t *call);

/** The caller's address as gRPC reports it ("ipv4:127.0.0.1:5555"). Borrowed. */
const char *rpc_call_peer(rpc_call_t *call);

/** Milliseconds left until the call's deadline (INT64_MAX when none). */
int64_t rpc_call_deadline_left_ms(rpc_call_t *call);

/** True when the client cancelled or the deadline passed (streaming calls). */
bool rpc_call_cancelled(rpc_call_t *call);

/** Adds trailing metadata sent with the status; key and value are copied. */
void rpc_call_add_trailer(rpc_call_t *call, const char *key, const char *value);

/** Sets the user shown in this call's log lines. */
void rpc_call_set_log_user(rpc_call_t *call, const char *user);

/** The server running this call. */
rpc_server_t *rpc_call_server(rpc_call_t *call);

/** Zeroed memory from the call's arena, freed when the call ends. */
void *rpc_alloc(rpc_call_t *call, size_t size);

/** A copy of `s` in the call's arena (NULL stays NULL). */
char *rpc_strdup(rpc_call_t *call, const char *s);

/** printf into the call's arena. */
char *rpc_sprintf(rpc_call_t *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** A new message of protobuf-c type `T` initialised with `init` (e.g.
 * RPC_NEW(call, Dojo__Auth__V1__User, DOJO__AUTH__V1__USER__INIT)). */
#define RPC_NEW(call, T, init)                                                                     \
    ({                                                                                             \
        T *m_ = rpc_alloc((call), sizeof(T));                                                      \
        T i_ = init;                                                                               \
        *m_ = i_;                                                                                  \
        m_;                                                                                        \
    })

/** Sends one reply of a streaming call and waits until gRPC has taken it.
 * Fails with CANCELLED when the client went away. */
int rpc_stream_send(rpc_call_t *call, const ProtobufCMessage *msg, err_t **err);

/** Waits up to `ms` for the call to be cancelled or the server to drain, or
 * for rpc_call_wake; returns true if woken early (any reason). For streaming
 * handlers that wait for events. */
bool rpc_call_wait(rpc_call_t *call, int64_t ms);

/* ------------------------------------------------------------------------
 * Client
 * ------------------------------------------------------------------------ */

/** Opens a channel to `target` ("host:port"); connecting happens lazily.
 * *out is new: rpc_channel_close it. */
int rpc_channel_open(rpc_channel_t **out, const char *target, err_t **err);

/** Closes a channel (NULL is fine). No call may be running on it. */
void rpc_channel_close(rpc_channel_t *channel);

/** Options of one client call; zero means the defaults. */
typedef struct rpc_call_opts {
    int timeout_ms;                 /* default 5000; a stream's whole life */
    bool idempotent;                /* unary: retry on UNAVAILABLE (3 tries within the deadline) */
    const char *request_id;         /* sent as x-request-id */
    const char *const *metadata;    /* key, value, key, value, ..., NULL */
} rpc_call_opts_t;

/** Calls `method` ("Login") of `service` with `req`. On success *out is a
 * new message of the method's output type: free it with
 * protobuf_c_message_free_unpacked (or declare it cleanup_pb). A non-OK
 * status becomes an error with that code and the server's message; the
 * trailer retry-after fills err->retry_after_s. */
int rpc_client_call(rpc_channel_t *channel, const ProtobufCServiceDescriptor *service,
                    const char *method, const ProtobufCMessage *req, ProtobufCMessage **out,
                    const rpc_call_opts_t *opts, err_t **err);

/** Called with each reply of a server-streaming call, in order. `msg` (of
 * the method's output type) is borrowed for the call only. Return 0 for
 * more, non-zero to stop: the call is cancelled and rpc_client_stream
 * returns 0. Runs on the calling thread. */
typedef int (*rpc_stream_msg_fn)(const ProtobufCMessage *msg, void *payload);

/** Calls server-streaming `method` of `service` with `req` and passes each
 * reply to `on_msg` until the stream ends. Returns 0 when the stream ended OK
 * or `on_msg` stopped it; otherwise -1 with the status as the error (as
 * rpc_client_call: the server's message, retry-after) — also after replies
 * were delivered. A reply that does not decode is INTERNAL and ends the
 * call. Never retried (`opts->idempotent` is ignored): replies already
 * handed out would come again. */
int rpc_client_stream(rpc_channel_t *channel, const ProtobufCServiceDescriptor *service,
                      const char *method, const ProtobufCMessage *req, const rpc_call_opts_t *opts,
                      rpc_stream_msg_fn on_msg, void *payload, err_t **err);

static inline void cleanup_pb_fn(void *p)
{
    ProtobufCMessage **m = (ProtobufCMessage **)p;
    if (*m)
        protobuf_c_message_free_unpacked(*m, NULL);
}
#define cleanup_pb __attribute__((cleanup(cleanup_pb_fn)))

#endif
