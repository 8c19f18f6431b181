/* gateway.h — the public edge: HTTP/1.1 JSON API under /api/v1, the
 * WebSocket for submission events, and the static web app.
 *
 * libmicrohttpd runs the HTTP side (an epoll thread pool; see docs/gateway.md
 * for why); every request is answered from its MHD thread with short,
 * deadline-bound gRPC calls; slow work (running reference solutions) suspends
 * the connection and runs on a thread of its own; WebSockets, once upgraded,
 * share a fixed set of threads (ws.c). The gateway keeps no state of its own besides short
 * caches: Redis holds rate-limit counters, the job queue and event streams. */
#ifndef DOJO_GATEWAY_H
#define DOJO_GATEWAY_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dojo/auth/v1/auth.pb-c.h"
#include "dojo/content/v1/content.pb-c.h"
#include "dojo/executor/v1/executor.pb-c.h"
#include "dojo/gamification/v1/gamification.pb-c.h"
#include "libcommon/arena.h"
#include "libcommon/err.h"
#include "libcommon/identity.h"
#include "libcommon/kv.h"
#include "libcommon/rpc.h"
#include "libcommon/token.h"

/* ------------------------------------------------------------------------
 * Configuration and process state
 * ------------------------------------------------------------------------ */

typedef struct gw_config {
    const char *addr;
    const char *metrics_addr;
    const char *auth_addr;
    const char *content_addr;
    const char *gamification_addr;
    const char *executor_addr;
    const char *redis_addr;
    const char *service_key;
    const char *web_dir;
    const char *csp;
    bool secure_cookies;
    bool trust_proxy;        /* X-Forwarded-Proto (and, by default, the header below) */
    const char *proxy_header; /* the client address's header; NULL: the socket's peer */
    int threads;             /* libmicrohttpd's */
    int workers;             /* the API handlers' (workers.c) */
    int signin_workers;      /* of them, at most this many on password-hashing routes */
    int64_t queue_max;       /* requests waiting for a worker */
    int64_t queue_wait_ms;   /* the longest a request waits for one */
    int64_t max_body;        /* bytes, ordinary API requests */
    int64_t max_author_body; /* bytes, author task endpoints */
    int64_t max_code;        /* bytes of submitted code */
    int64_t rate_limit;      /* runs, submissions, reference runs per window, per account */
    int64_t rate_window_s;
    int64_t anon_rate_limit; /* register, login, forgot per window, per client address */
    int64_t anon_rate_window_s;
    int64_t tasks_cache_ms;  /* TTL of cached task lists and views */
    int64_t rpc_timeout_ms;
    int64_t ws_max;          /* concurrent WebSocket connections */
    int64_t feed_keepalive_ms; /* a streamed event feed's keep-alive newline */
    int64_t feed_poll_ms;      /* how often a streamed feed asks for new events */
    int64_t feed_max_s;        /* a streamed feed ends after this (clients go on with since_token) */
    int64_t feed_max_streams;  /* streamed feeds open at once */
    int64_t event_ttl_s;     /* expiry of a submission's event and control streams */
} gw_config_t;

typedef struct gw_cache gw_cache_t;
typedef struct gw_feeds gw_feeds_t;

/** The descriptor budget (admit.c). Counters are atomic: any thread. */
typedef struct gw_admit {
    long fd_limit;             /* RLIMIT_NOFILE (soft, raised to hard) */
    long reserve;              /* kept free: /healthz, reconnects, files */
    atomic_long conns;         /* libmicrohttpd connections, WebSockets included */
    atomic_long websockets;    /* upgraded connections */
    atomic_long other_fds;     /* the rest, counted at counted_at_ms */
    _Atomic int64_t counted_at_ms;
    atomic_long shed;          /* connections refused since start */
} gw_admit_t;

typedef struct gw {
    gw_config_t cfg;
    rpc_channel_t *auth;
    rpc_channel_t *content;
    rpc_channel_t *game;
    rpc_channel_t *executor;
    kv_pool_t *kv;
    identity_verifier_t *ids; /* access tokens, and the gateway's own service metadata */
    gw_cache_t *cache;
    struct gw_taskcache *taskcache; /* taskcache.c */
    gw_admit_t admit;
    struct gw_ws *ws;                /* ws.c */
    struct gw_ws_events *ws_events;  /* wsevents.c */
    gw_feeds_t *feeds;               /* feed.c */
    struct MHD_Daemon *daemon;
    struct gw_workers *workers;      /* workers.c */
    int ws_count; /* guarded by ws_lock */
    pthread_mutex_t ws_lock;
    int async_running; /* reference runs in flight; guarded by ws_lock */
    int downloads;     /* streamed downloads in flight (download.c); guarded by ws_lock */
    atomic_bool stopping; /* set at SIGTERM: WebSockets close */
} gw_t;

void gw_config_load(gw_config_t *cfg);

/* ------------------------------------------------------------------------
 * Requests (request.c; their life is the router's, router.c)
 * ------------------------------------------------------------------------ */

typedef struct gw_req gw_req_t;
typedef int (*gw_async_fn)(gw_req_t *r, err_t **err);
typedef struct gw_blob_upload gw_blob_upload_t; /* blobs.c */
/** The route handler type: fills r->status and r->out, or returns -1 with
 * *err (turned into the JSON error at the HTTP boundary). */
typedef int (*gw_handler_fn)(gw_req_t *r, err_t **err);

/** One HTTP request: lives from the first access-handler call to the
 * completion notification. Memory from `arena` lives as long. */
struct gw_req {
    gw_t *gw;
    struct MHD_Connection *conn;
    arena_t arena;
    const char *method;
    const char *path;       /* URL path without the query */
    const char *segs[8];    /* path segments after /api/v1/ */
    int nsegs;
    char *body;             /* NUL-terminated copy of the request body */
    size_t body_len;
    size_t body_cap;
    int64_t body_limit;
    bool body_too_large;
    bool started;
    char req_id[24];
    char client_ip[64];     /* gw_client_address */
    const char *limit_key;  /* the budget this request spent (gw_limit_take), or NULL */
    /* Authentication, once gw_req_auth succeeded. */
    bool authed;
    bool via_cookie;
    token_claims_t claims;
    const char *token;      /* the raw access token */
    /* The response being built. */
    int status;
    json_t *in;             /* the parsed request body (gw_body_json) */
    json_t *out;            /* the JSON body; NULL for no body */
    const char *extra_hdr[16]; /* name, value pairs */
    int nextra;
    const char *cookies[8];
    int ncookies;
    const char *raw_body;   /* a non-JSON body (export), with raw_type */
    size_t raw_len;
    const char *raw_type;
    /* A blob upload streaming its body (blobs.c), or NULL. */
    gw_blob_upload_t *blob;
    /* Suspended while a worker runs the handler (workers.c). */
    bool deferred;
    gw_handler_fn job_fn;
    bool job_signin;
    int64_t job_queued_ms;
    gw_req_t *job_next;
    bool job_done;          /* atomic: set by the worker before it resumes */
    struct MHD_Response *stream; /* a streamed body (gw_feed_start): gw_respond sends it */
    gw_async_fn async_fn;   /* the long part a handler asked for (gw_req_async) */
    err_t *async_err;
};

/** A request header, or NULL. Borrowed (request's life). */
const char *gw_header(gw_req_t *r, const char *name);
/** A query argument, or NULL. */
const char *gw_query(gw_req_t *r, const char *name);
/** A cookie, or NULL. */
const char *gw_cookie(gw_req_t *r, const char *name);

/** Adds a response header (copied into the request's arena). */
void gw_add_header(gw_req_t *r, const char *name, const char *value);
/** Answers 200 with `zip` (copied) as an application/zip attachment named
 * `file_name` (control characters replaced). */
void gw_reply_zip(gw_req_t *r, const ProtobufCBinaryData *zip, const char *file_name);
/** Adds a Set-Cookie value (copied). */
void gw_set_cookie(gw_req_t *r, const char *value);

/** Authenticates the request (Bearer header first, then the dojo_at cookie)
 * and, for unsafe methods authenticated by cookie, checks the CSRF header.
 * UNAUTHENTICATED / PERMISSION_DENIED ("csrf") errors. */
int gw_req_auth(gw_req_t *r, err_t **err);
/** Like gw_req_auth but also requires an author or admin. */
int gw_req_author(gw_req_t *r, err_t **err);
/** CSRF check for cookie-carried credentials other than the access token
 * (refresh, logout): required when the request carries any dojo cookie and
 * no Authorization header. */
int gw_req_csrf(gw_req_t *r, err_t **err);

/** Parses the body as a JSON object (an absent body is {} when `optional`).
 * INVALID_ARGUMENT for malformed JSON or UTF-8. *out is borrowed: the request
 * owns it and frees it with itself (a second call returns the same object). */
int gw_body_json(gw_req_t *r, bool optional, json_t **out, err_t **err);

/** gRPC metadata for calls made as the gateway itself (service key).
 * Borrowed (the process's life). */
const char *const *gw_md_service(gw_req_t *r);
/** gRPC metadata forwarding the caller's access token. */
const char *const *gw_md_user(gw_req_t *r);
/** rpc options with the request id and `md`. */
rpc_call_opts_t gw_opts(gw_req_t *r, const char *const *md, bool idempotent);

/** Runs `fn` on a thread of its own once the handler returns, instead of on
 * its worker; its result is sent when it returns. At most 8 at a time
 * (UNAVAILABLE beyond). Returns 0 (the handler must return 0 at once). */
int gw_req_async(gw_req_t *r, gw_async_fn fn, err_t **err);

/* ------------------------------------------------------------------------
 * The handlers' workers (workers.c)
 * ------------------------------------------------------------------------ */

typedef struct gw_workers gw_workers_t;

/** Starts cfg.workers threads (gw->workers). */
int gw_workers_open(gw_t *gw, err_t **err);
/** Suspends r's connection and queues `fn` for a worker (`signin`: a
 * password-hashing route, within cfg.signin_workers); the worker resumes the
 * connection when it is done and the access handler answers (r->deferred).
 * UNAVAILABLE with a retry-after when the queue is full or stopping (nothing
 * suspended then). Called on libmicrohttpd's threads. */
int gw_workers_submit(gw_req_t *r, gw_handler_fn fn, bool signin, err_t **err);
/** Requests queued or running. */
long gw_workers_pending(gw_t *gw);
/** Refuses new requests (503), lets the workers empty the queue and joins
 * them: before the HTTP daemon stops, which must find no connection
 * suspended. NULL-safe. */
void gw_workers_stop(gw_t *gw);
/** Stops them if need be and frees them (after metrics_stop: the gauges
 * read them). NULL-safe. */
void gw_workers_close(gw_t *gw);

/** An error whose JSON code is one of the gateway's own
 * ("payload_too_large", "csrf_failed" ...): http status, code and field
 * (NULL: none) travel with it (err_set_http); the message is public. No-op
 * when *err is set already. Returns -1. */
int gw_err_http(err_t **err, int http_status, const char *code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** Retry-After of a 503 whose error names no time of its own: a restarting
 * PostgreSQL or Redis is back within seconds. */
#define GW_RETRY_AFTER_UNAVAILABLE_S 2

/** Queues the response built in r (or the error `e`, borrowed); every 429
 * and 503 carries Retry-After. */
enum MHD_Result gw_respond(gw_req_t *r, err_t *e);
/** The JSON error body for `e` and its HTTP status: the status err_set_http
 * gave it, else derived from its gRPC code. New. */
json_t *gw_error_json(const err_t *e, int *status);

/** Adds the security headers every response carries. */
void gw_security_headers(gw_t *gw, struct MHD_Response *resp, bool api);

/* ------------------------------------------------------------------------
 * JSON helpers (json.c)
 * ------------------------------------------------------------------------ */

/** Reads a field of `obj` with type checking; INVALID_ARGUMENT naming the
 * field when it has the wrong type, is missing (required) or too long
 * (max_bytes > 0). *out is borrowed from obj; NULL when absent. */
int gw_json_str(json_t *obj, const char *key, bool required, size_t max_bytes, const char **out,
                err_t **err);
int gw_json_bool(json_t *obj, const char *key, bool *out, err_t **err);
int gw_json_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                err_t **err);
/** Parses a query integer in [min, max]; absent leaves *out. */
int gw_query_int(gw_req_t *r, const char *name, int64_t min, int64_t max, int64_t *out,
                 err_t **err);
/** The page the query asks for (page_size in [0, max], page_token of at
 * most 64 bytes) into `page`; the token is borrowed from the request. */
int gw_query_page(gw_req_t *r, Dojo__Common__V1__PageRequest *page, int max, err_t **err);

/** RFC 3339 UTC with milliseconds, or JSON null for an unset time. New ref. */
json_t *gw_json_time(const Dojo__Common__V1__Timestamp *ts);
/** JSON string from possibly non-UTF-8 bytes (invalid sequences → U+FFFD). */
json_t *gw_json_bytes(const uint8_t *data, size_t len);

const char *gw_difficulty_name(int d);
int gw_difficulty_parse(const char *s);
const char *gw_verdict_name(int v); /* NULL for unspecified */
const char *gw_role_name(int role);
const char *gw_checker_name(int kind);
const char *gw_change_name(int change);

json_t *gw_json_user(const Dojo__Auth__V1__User *u, bool with_email);
json_t *gw_json_task_summary(const Dojo__Content__V1__TaskSummary *t);
json_t *gw_json_task_view(const Dojo__Content__V1__TaskView *t);
json_t *gw_json_limits(const Dojo__Content__V1__Limits *l);
/** A test result safe for learners: hidden tests lose any excerpt. */
json_t *gw_json_test_result(const Dojo__Gamification__V1__TestResult *t);
json_t *gw_json_awards(const Dojo__Gamification__V1__Awards *a);
json_t *gw_json_streak(const Dojo__Gamification__V1__Streak *s);
json_t *gw_json_unlocked(const Dojo__Gamification__V1__UnlockedAchievement *a);
json_t *gw_json_submission(const Dojo__Gamification__V1__Submission *s);
json_t *gw_json_submission_summary(const Dojo__Gamification__V1__SubmissionSummary *s);
json_t *gw_json_final_result(const Dojo__Executor__V1__FinalResult *f);
/** One event as the API shows it; `id` is the Redis stream entry id. */
json_t *gw_json_event(const Dojo__Executor__V1__Event *e, const char *id);
json_t *gw_json_field_errors(Dojo__Common__V1__FieldError **errs, size_t n);

/* ------------------------------------------------------------------------
 * Caches (cache.c): short-TTL serialized JSON by key.
 * ------------------------------------------------------------------------ */

int gw_cache_open(gw_cache_t **out, int64_t ttl_ms);
void gw_cache_close(gw_cache_t *c);
/** Queues the cached response for `key` on `conn` when there is a fresh one
 * (true, with MHD's result in *result); false on a miss. */
bool gw_cache_queue(gw_cache_t *c, const char *key, struct MHD_Connection *conn,
                    enum MHD_Result *result);
/** Stores `resp` for `key`, taking over the caller's reference. */
void gw_cache_put(gw_cache_t *c, const char *key, struct MHD_Response *resp);
void gw_cache_clear(gw_cache_t *c);

/* ------------------------------------------------------------------------
 * Route handlers
 * ------------------------------------------------------------------------ */

/* accounts.c */
int gw_h_register(gw_req_t *r, err_t **err);
int gw_h_login(gw_req_t *r, err_t **err);
int gw_h_refresh(gw_req_t *r, err_t **err);
int gw_h_logout(gw_req_t *r, err_t **err);
int gw_h_forgot(gw_req_t *r, err_t **err);
int gw_h_reset(gw_req_t *r, err_t **err);
int gw_h_password(gw_req_t *r, err_t **err);
int gw_h_me_get(gw_req_t *r, err_t **err);
int gw_h_me_patch(gw_req_t *r, err_t **err);

/* tasks.c (list and view answer from MHD responses directly for the cache) */
enum MHD_Result gw_h_tasks_list(gw_req_t *r);
/** The task list as JSON for the caller (authors: archived tasks too); new in *out. */
int gw_tasks_list_json(gw_req_t *r, json_t **out, err_t **err);
int gw_h_task_get(gw_req_t *r, err_t **err);
int gw_h_languages(gw_req_t *r, err_t **err);
int gw_h_achievements(gw_req_t *r, err_t **err);
int gw_h_task_stats(gw_req_t *r, err_t **err);
int gw_h_task_solutions(gw_req_t *r, err_t **err);
int gw_h_tracks(gw_req_t *r, err_t **err);
/* taskcache.c */
typedef struct gw_taskcache gw_taskcache_t;
/** Task views kept by version and content hash; heads trusted for `ttl_ms`
 * (0: nothing is kept). */
int gw_taskcache_open(gw_taskcache_t **out, int64_t ttl_ms);
void gw_taskcache_close(gw_taskcache_t *c);
/** After a task write forwarded to content: no gateway trusts the task
 * heads it read before (bumps the generation in Redis). */
void gw_taskcache_changed(gw_t *gw);
/** The learner view of a task, `version` 0 for the current one: from the
 * cache when the current heads name it, else from content; *out is new. */
int gw_task_view(gw_req_t *r, const char *slug, int version, Dojo__Content__V1__GetTaskResponse **out,
                 err_t **err);

/* submit.c */
int gw_h_run(gw_req_t *r, err_t **err);
int gw_h_submit(gw_req_t *r, err_t **err);
int gw_h_submission_get(gw_req_t *r, err_t **err);
int gw_h_submissions_list(gw_req_t *r, err_t **err);
int gw_h_submission_events(gw_req_t *r, err_t **err);
int gw_h_submission_cancel(gw_req_t *r, err_t **err);
/** Writes a Control message to the submission's control stream (kvc.h) with
 * the next seq. */
int gw_control_send(gw_t *gw, const char *submission_id, Dojo__Executor__V1__Control *ctl,
                    err_t **err);
/** Checks that `claims` may act on submission `id`; *out (optional) gets the
 * submission (new). NOT_FOUND otherwise. */
int gw_submission_owned(gw_t *gw, const char *req_id, const token_claims_t *claims, const char *id,
                        Dojo__Gamification__V1__GetSubmissionResponse **out, err_t **err);
bool gw_valid_uuid(const char *s);
bool gw_valid_stream_id(const char *s);
/** Writes the submission's queued event and `job` onto `stream` (KVC_JOBS
 * or KVC_JOBS_CONTEST), once per submission. */
int gw_job_enqueue(gw_t *gw, const char *stream, const Dojo__Executor__V1__Job *job, err_t **err);

/* progress.c */
int gw_h_progress(gw_req_t *r, err_t **err);
int gw_h_leaderboard(gw_req_t *r, err_t **err);
int gw_h_draft_get(gw_req_t *r, err_t **err);
int gw_h_draft_put(gw_req_t *r, err_t **err);

/* author.c */
int gw_h_author_list(gw_req_t *r, err_t **err);
int gw_h_author_create(gw_req_t *r, err_t **err);
int gw_h_author_get(gw_req_t *r, err_t **err);
int gw_h_author_update(gw_req_t *r, err_t **err);
int gw_h_author_validate(gw_req_t *r, err_t **err);
int gw_h_author_run_reference(gw_req_t *r, err_t **err);
int gw_h_author_archive(gw_req_t *r, err_t **err);
int gw_h_author_export(gw_req_t *r, err_t **err);
/** ExportTask in the AuthorTask shape (*out new) or, with `raw`, the
 * response itself (free it with protobuf_c_message_free_unpacked). */
int gw_author_export_task(gw_req_t *r, const char *slug, int version, json_t **out,
                          Dojo__Content__V1__ExportTaskResponse **raw, err_t **err);
/** ValidateTask of a task file's text; *out new (cleanup_pb). */
int gw_author_validate(gw_req_t *r, const char *text,
                       Dojo__Content__V1__ValidateTaskResponse **out, err_t **err);
/** Executor.RunJob of `req`, each event to `on_msg` (rpc_client_stream's
 * contract), tried again while every sandbox slot is busy (author.c: up to a
 * minute) as long as no event came. Blocks: async handlers only. */
int gw_executor_run(gw_req_t *r, const Dojo__Executor__V1__RunJobRequest *req,
                    rpc_stream_msg_fn on_msg, void *payload, err_t **err);
/** Runs the reference and wrong solutions of `task` (the file form,
 * borrowed) named in `names` (NULL: all) against `bundle` on the executor,
 * one after the other, appending one result each to `results`; *all_ok
 * says whether every verdict was the expected one. -1 when the executor
 * could not run one. Blocks for seconds: async handlers only. */
int gw_run_solutions(gw_req_t *r, json_t *task, json_t *names,
                     Dojo__Content__V1__JudgeBundle *bundle, json_t *results, bool *all_ok,
                     err_t **err);

/* packages.c: problem packages (.zip) imported and exported */
/** Where a refused input of test `index` (of the bundle checked) is: a path
 * into `path` (cap bytes) and, optionally, a label for the message (""
 * for none). */
typedef void (*gw_input_where_fn)(void *payload, int index, char *path, size_t cap, char *label,
                                  size_t lcap);
/** Runs each input validator of `ivs` (n) over every test's input of
 * `bundle` on the executor, one after the other; each refused input ("refused
 * by <path>: <message>", at where's path) and each validator that does not
 * compile (at its own path) is appended to `errors`. -1 when the executor
 * could not run one. Blocks: async handlers only. */
int gw_check_inputs(gw_req_t *r, Dojo__Content__V1__PackageInputValidator *const *ivs, size_t n,
                    const Dojo__Content__V1__JudgeBundle *bundle, gw_input_where_fn where,
                    void *payload, json_t *errors, err_t **err);
int gw_h_author_package_import(gw_req_t *r, err_t **err);
int gw_h_author_package_export(gw_req_t *r, err_t **err);

/* blobs.c: test data uploads, their bodies streamed (never buffered) */
/** True for PUT /api/v1/author/blobs/{sha256}: the router streams its body. */
bool gw_blob_route(const char *url, const char *method);
/** True for a blob's name: 64 lower-case hex digits. */
bool gw_is_sha256(const char *s);
/** At the request's first call: checks the caller, the hash and the sizes
 * (answering 401/403/400/411/413 at once) and prepares r->blob. */
enum MHD_Result gw_blob_begin(gw_req_t *r);
/** Every later access-handler call of a blob upload: the body's pieces,
 * gathered and sent on to content in 1 MiB chunks by a request worker (the
 * connection suspended meanwhile; `*size` is left at what is not taken
 * yet), then at its end the last chunk and the upload's state or error. */
enum MHD_Result gw_blob_access(gw_req_t *r, const char *data, size_t *size);
void gw_blob_free(gw_blob_upload_t *b);
/** GET /api/v1/author/blobs/{sha256}: the caller's upload state. */
int gw_h_author_blob_get(gw_req_t *r, err_t **err);

/* classes.c: classes, members, rosters, boards, the dashboard */
/** Calls gamification forwarding the caller's token. */
int gw_game_call(gw_req_t *r, const char *method, const ProtobufCMessage *req,
                 ProtobufCMessage **out, bool idempotent, err_t **err);
/** A JSON string of possibly invalid UTF-8 (replaced), "" for NULL. New ref. */
json_t *gw_json_text(const char *s);
json_t *gw_json_class(const Dojo__Gamification__V1__Classroom *c);
int gw_h_classes_list(gw_req_t *r, err_t **err);
int gw_h_class_create(gw_req_t *r, err_t **err);
int gw_h_class_get(gw_req_t *r, err_t **err);
int gw_h_class_update(gw_req_t *r, err_t **err);
int gw_h_class_archive(gw_req_t *r, err_t **err);
int gw_h_class_delete(gw_req_t *r, err_t **err);
int gw_h_class_join(gw_req_t *r, err_t **err);
int gw_h_class_members(gw_req_t *r, err_t **err);
int gw_h_class_member_remove(gw_req_t *r, err_t **err);
int gw_h_class_roster(gw_req_t *r, err_t **err);
int gw_h_class_board(gw_req_t *r, err_t **err);
int gw_h_class_progress(gw_req_t *r, err_t **err);
int gw_h_class_analytics(gw_req_t *r, err_t **err);
int gw_h_author_analytics(gw_req_t *r, err_t **err);
int gw_h_task_open(gw_req_t *r, err_t **err);

/* assignments.c */
json_t *gw_json_assignment(const Dojo__Gamification__V1__Assignment *a);
int gw_h_assignments_list(gw_req_t *r, err_t **err);
int gw_h_assignment_create(gw_req_t *r, err_t **err);
int gw_h_assignment_get(gw_req_t *r, err_t **err);
int gw_h_assignment_update(gw_req_t *r, err_t **err);
int gw_h_assignment_delete(gw_req_t *r, err_t **err);
int gw_h_assignment_grades(gw_req_t *r, err_t **err);
int gw_h_my_assignments(gw_req_t *r, err_t **err);

/* institutions.c */
int gw_h_institutions_list(gw_req_t *r, err_t **err);
int gw_h_institution_create(gw_req_t *r, err_t **err);
int gw_h_institution_members(gw_req_t *r, err_t **err);
int gw_h_user_role(gw_req_t *r, err_t **err);
int gw_h_user_institution(gw_req_t *r, err_t **err);

/* admit.c: new connections against RLIMIT_NOFILE */
/** Descriptors a WebSocket holds besides its socket. */
#define GW_WS_EXTRA_FDS 0
/** Reads (and raises to the hard limit) RLIMIT_NOFILE and counts the
 * descriptors open now. FAILED_PRECONDITION when the limit is too low to
 * serve. */
int gw_admit_open(gw_t *gw, err_t **err);
/** libmicrohttpd's connection limit: half the reserve above the shedding
 * point. */
unsigned gw_admit_connection_limit(gw_t *gw);
/** libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls = gw): counts
 * connections and marks the ones accepted past the budget. */
void gw_admit_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe);
/** Whether the request's connection was accepted past the budget. */
bool gw_admit_refused(gw_req_t *r);
/** Answers 503 with Retry-After and closes the connection. */
enum MHD_Result gw_admit_refuse(gw_req_t *r);
/** Whether a connection may become a WebSocket (its extra descriptors fit);
 * gw_admit_websocket_count(+1 / -1) when it does and when it closes. */
bool gw_admit_websocket(gw_t *gw);
void gw_admit_websocket_count(gw_t *gw, int delta);

/* contests.c: /api/v1/contests (gamification decides who sees what) */
/** A scoreboard as the API shows it. New ref. */
json_t *gw_json_scoreboard(const Dojo__Gamification__V1__Scoreboard *sb);
int gw_h_contests_list(gw_req_t *r, err_t **err);
int gw_h_contest_get(gw_req_t *r, err_t **err);
int gw_h_contest_register(gw_req_t *r, err_t **err);
int gw_h_contest_problems(gw_req_t *r, err_t **err);
int gw_h_contest_problem(gw_req_t *r, err_t **err);
int gw_h_contest_teams(gw_req_t *r, err_t **err);
int gw_h_contest_team_create(gw_req_t *r, err_t **err);
int gw_h_contest_team_put(gw_req_t *r, err_t **err);
int gw_h_contest_jury_put(gw_req_t *r, err_t **err);
int gw_h_contest_submit(gw_req_t *r, err_t **err);
int gw_h_contest_submissions(gw_req_t *r, err_t **err);
int gw_h_contest_submission(gw_req_t *r, err_t **err);
int gw_h_contest_judgements(gw_req_t *r, err_t **err);
int gw_h_contest_rejudge(gw_req_t *r, err_t **err);
int gw_h_contest_override(gw_req_t *r, err_t **err);
int gw_h_contest_audit(gw_req_t *r, err_t **err);
int gw_h_contest_clarifications(gw_req_t *r, err_t **err);
int gw_h_contest_clarify(gw_req_t *r, err_t **err);
int gw_h_contest_scoreboard(gw_req_t *r, err_t **err);
int gw_h_contest_thaw(gw_req_t *r, err_t **err);
int gw_h_contest_reveal(gw_req_t *r, err_t **err);
int gw_h_contest_finalize(gw_req_t *r, err_t **err);
int gw_h_author_contest_put(gw_req_t *r, err_t **err);
int gw_h_author_contest_export(gw_req_t *r, err_t **err);
int gw_h_author_contest_package_put(gw_req_t *r, err_t **err);
int gw_h_author_contest_package_get(gw_req_t *r, err_t **err);

/* clics.c */
/** Answers a request under /api/clics (the CLICS Contest API, read-only). */
enum MHD_Result gw_clics_serve(gw_req_t *r);

/* boards.c: contest scoreboards pushed to WebSocket viewers */
/** The longest board topic ("contest:{slug}:public"), with its NUL. */
#define GW_BOARD_TOPIC_MAX 56
typedef struct gw_ws_conn gw_ws_conn_t;
/** `c` watches the scoreboard of contest `slug` (the jury's or the public
 * one): the latest now, then every newer one, through its board's topic
 * (gw_ws_join); one board per connection (watching another replaces it).
 * Starts the reader thread on first use. Runs on the connection's worker.
 * RESOURCE_EXHAUSTED when the connection has no topic left. */
int gw_boards_watch(gw_ws_conn_t *c, const char *slug, bool jury, err_t **err);
/** `c` watches nothing (closing a connection leaves its topics anyway). */
void gw_boards_unwatch(gw_ws_conn_t *c);


/* ------------------------------------------------------------------------
 * The WebSocket (ws.c: connections, topics; wsevents.c: submission events)
 *
 * A fixed set of threads serves every WebSocket: one epoll loop for the
 * sockets, WS_WORKERS workers for client messages, one relay for event
 * streams. A connection (gw_ws_conn_t) is reference-counted: what a handler
 * is given is borrowed for the call; keep it longer with gw_ws_conn_ref.
 * Sending never blocks on the client (what the socket does not take is
 * queued; a client far behind is closed) and works from any thread; after a
 * connection closed, sending to it does nothing.
 * ------------------------------------------------------------------------ */

typedef struct gw_ws gw_ws_t;
typedef struct gw_ws_conn gw_ws_conn_t;
typedef struct gw_ws_frame gw_ws_frame_t;
typedef struct gw_ws_subs gw_ws_subs_t;

/** Topics a connection may join at once. */
#define GW_WS_MAX_TOPICS 4

/** Starts the loop, the workers and the relay (gw->ws, gw->ws_events). */
/* ------------------------------------------------------------------------
 * Streamed responses (feed.c): long-lived bodies without an MHD thread each
 * ------------------------------------------------------------------------ */

/** Where a stream's bytes come from. `poll` runs on the hub thread every
 * `poll_ms`: *out new bytes (malloc, freed by the hub; NULL when none) of
 * *len; returns 0 to go on, 1 to end after them, -1 to end (the error is
 * logged). `free` frees `payload` once the stream is over. */
typedef struct gw_feed_source {
    gw_t *gw;
    int poll_ms;
    int (*poll)(void *payload, char **out, size_t *len, err_t **err);
    void (*free)(void *payload);
    void *payload;
} gw_feed_source_t;

/** Starts the hub; frees it (after gw_http_stop). */
int gw_feeds_open(gw_t *gw, err_t **err);
void gw_feeds_close(gw_t *gw);
/** Ends every stream and waits a bounded while until they are sent; before
 * gw_http_stop (libmicrohttpd must have no suspended connections then). */
void gw_feeds_shutdown(gw_t *gw);
/** Answers `r` with a stream: `first` (copied) at once, then what `src`
 * produces, a keep-alive newline when nothing came for
 * DOJO_CLICS_FEED_KEEPALIVE_MS, until `max_ms` have passed. The payload is
 * the stream's from here on (its free runs when it is over); on failure
 * (UNAVAILABLE: too many streams) it stays the caller's. */
int gw_feed_start(gw_req_t *r, const char *first, size_t len, const gw_feed_source_t *src,
                  int64_t max_ms, err_t **err);

/* ------------------------------------------------------------------------
 * Downloads (download.c): a file from a server-streaming call, sent as it
 * arrives
 * ------------------------------------------------------------------------ */

/** One reply of a download's call as a piece of the file: its bytes
 * (borrowed from the reply), where they start, the file's size and name. */
typedef struct gw_download_piece {
    const uint8_t *data;
    size_t len;
    int64_t offset, total;
    const char *file_name;
} gw_download_piece_t;
typedef void (*gw_download_piece_fn)(const ProtobufCMessage *msg, gw_download_piece_t *out);

/** Answers `r` (on a worker or an async thread) with the file that
 * server-streaming `method` sends, `piece` reading each reply: blocks until
 * the first piece is in, then sets the response (200, `content_type`, an
 * attachment named as the pieces say, Content-Length their total) and
 * returns while a thread of the download's own goes on with the call,
 * holding at most a few MiB however large the file. `req` and `opts` are
 * copied. An error before the first piece is returned as it is (the call's
 * status); UNAVAILABLE when too many downloads run. After it, a failure cuts
 * the connection short. */
int gw_download_start(gw_req_t *r, rpc_channel_t *channel,
                      const ProtobufCServiceDescriptor *service, const char *method,
                      const ProtobufCMessage *req, const rpc_call_opts_t *opts,
                      gw_download_piece_fn piece, const char *content_type, err_t **err);

int gw_ws_open(gw_t *gw, err_t **err);
/** At SIGTERM: every connection gets a close 1001, then ends within a second. */
void gw_ws_shutdown(gw_t *gw);
/** Stops the threads and ends what is left (before MHD stops; NULL-safe,
 * once). */
void gw_ws_close(gw_t *gw);
/** Answers a WebSocket upgrade at /api/v1/ws (or an error). */
enum MHD_Result gw_ws_upgrade(gw_req_t *r);

/** A client message handler, chosen by the message's "type" in ws.c's
 * table: runs on a worker (it may make short gRPC and Redis calls), one
 * message of a connection at a time, in order. `msg` is the parsed object,
 * `id` its "id" member or NULL; both borrowed for the call. */
typedef void (*gw_ws_handler_fn)(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id);

void gw_ws_conn_ref(gw_ws_conn_t *c);
void gw_ws_conn_unref(gw_ws_conn_t *c);
/** Whether the connection has ended (nothing sent to it arrives). */
bool gw_ws_conn_closed(gw_ws_conn_t *c);
gw_t *gw_ws_gw(const gw_ws_conn_t *c);
/** The caller's token claims and the upgrade's request id; borrowed (the
 * connection's life). */
const token_claims_t *gw_ws_claims(const gw_ws_conn_t *c);
const char *gw_ws_req_id(const gw_ws_conn_t *c);

/** Sends one text message. Any thread. */
void gw_ws_send_text(gw_ws_conn_t *c, const char *text, size_t len);
/** Sends `msg` as compact JSON, taking over the reference. */
void gw_ws_send_json(gw_ws_conn_t *c, json_t *msg);
/** {"type":"error","code","message"[,"submission_id"][,"id"]}. */
void gw_ws_send_error(gw_ws_conn_t *c, const char *code, const char *message, const char *sub,
                      json_t *id);
/** The same for `e` as the HTTP API would answer it (borrowed). */
void gw_ws_send_err(gw_ws_conn_t *c, const err_t *e, const char *sub, json_t *id);

/** A text frame made once to send to many connections: new, one reference
 * (gw_ws_frame_unref; each queue takes its own). */
gw_ws_frame_t *gw_ws_frame_text(const char *text, size_t len);
void gw_ws_send_frame(gw_ws_conn_t *c, gw_ws_frame_t *f);
void gw_ws_frame_unref(gw_ws_frame_t *f); /* NULL is fine */

/** Joins `topic` (any string; say "contest:{slug}:public"): what is
 * published on it reaches c until it leaves or closes (closing leaves every
 * topic). RESOURCE_EXHAUSTED past GW_WS_MAX_TOPICS. Any thread. */
int gw_ws_join(gw_ws_conn_t *c, const char *topic, err_t **err);
void gw_ws_leave(gw_ws_conn_t *c, const char *topic);
/** Sends text[0..len) to every connection joined to `topic`, framed once;
 * returns how many. Any thread; never waits for a client. */
size_t gw_ws_publish(gw_t *gw, const char *topic, const char *text, size_t len);

/* wsevents.c */
int gw_ws_events_open(gw_t *gw, err_t **err);
void gw_ws_events_close(gw_t *gw);
/** Forgets the connection's subscriptions (ws.c, as it ends). */
void gw_ws_events_drop(gw_ws_conn_t *c);
/** wsevents.c's per-connection state, kept in the connection. */
gw_ws_subs_t **gw_ws_conn_subs(gw_ws_conn_t *c);
/** boards.c's per-connection state: the watched board's topic
 * (GW_BOARD_TOPIC_MAX bytes, "" for none), kept in the connection. */
char *gw_ws_conn_board(gw_ws_conn_t *c);
/** The gateway the connection belongs to (borrowed). */
gw_t *gw_ws_conn_gw(gw_ws_conn_t *c);
/** The handlers of "subscribe", "unsubscribe", and "stdin", "stdin_close"
 * and "cancel". */
void gw_ws_h_subscribe(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id);
void gw_ws_h_unsubscribe(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id);
void gw_ws_h_control(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id);

/* limits.c */
/** Sets r->client_ip: the socket's peer address, or the last entry of the
 * trusted proxy's header (cfg.proxy_header) when it holds an address. */
void gw_client_address(gw_req_t *r);

typedef enum gw_limit_kind {
    GW_LIMIT_ACCOUNT,   /* signed-in work, per account (r->claims.sub): authenticate first */
    GW_LIMIT_ANONYMOUS, /* calls without an account, per client address */
} gw_limit_kind_t;

/** Spends one request of the caller's budget and adds the RateLimit-*
 * headers. Over the budget: 429 "resource_exhausted" with retry_after_s.
 * Call it after the request's own input checks. Redis away: UNAVAILABLE. */
int gw_limit_take(gw_req_t *r, gw_limit_kind_t kind, err_t **err);

/** Gives the spent request back when the response's `status` refuses the
 * request's input (400, 404, 413, 415, 422): refused requests spend
 * nothing. gw_respond calls it for every response. */
void gw_limit_settle(gw_req_t *r, int status);

/* static.c */
enum MHD_Result gw_static_serve(gw_req_t *r);

/* path.c: pure functions of a request's path and headers */
/** Cuts `rest` (the path after "/api/v1/") at each '/' into at most `cap`
 * segments, copied into `a`; *nsegs gets their count. False for an empty
 * segment ("a//b"), a trailing slash or more than `cap` segments. */
bool gw_path_split(arena_t *a, const char *rest, const char **segs, int cap, int *nsegs);
/** Whether `segs` are what `pattern` describes: segments separated by '/',
 * each literal or ":" (any one segment), the same number of them. */
bool gw_route_match(const char *pattern, const char *const *segs, int nsegs);
/** Whether `s` is valid UTF-8 of at most `max` bytes without control
 * characters: the rule for paths and query arguments. */
bool gw_text_ok(const char *s, size_t max);
/** Whether a Content-Type header names JSON ("application/json", any case,
 * with or without parameters). False for NULL. */
bool gw_json_content_type(const char *ct);

/* router.c */
/** Starts the HTTP daemon on cfg.addr (MHD's threads start here). */
int gw_http_start(gw_t *gw, err_t **err);
/** Stops it (after MHD_quiesce_daemon and the drain). */
void gw_http_stop(gw_t *gw);

#endif
