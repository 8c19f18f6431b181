/* kvc.h — the Redis contract between services: every key, its TTL and the
 * format of its entries, and the few operations on them that more than one
 * service performs. Like a .proto file it is a door between services: a
 * service never spells a `dojo:` key itself, it asks this module.
 *
 * The keys (all prefixed `dojo:` except the leaderboards, whose prefix is
 * configured, default KVC_BOARD_PREFIX_DEFAULT):
 *
 *   dojo:jobs              stream, consumer group KVC_JOBS_GROUP; one field
 *                          KVC_FIELD_JOB = a packed dojo.executor.v1.Job.
 *                          Written by the gateway (kvc_job_enqueue) and, for
 *                          a submission whose job was never queued, by
 *                          gamification's sweeper; read by
 *                          executors (XREADGROUP, XAUTOCLAIM), which trim
 *                          acknowledged entries after
 *                          DOJO_EXECUTOR_JOB_RETENTION (XTRIM MINID).
 *   dojo:executor:alive:{executor_id}
 *                          marker: that executor (a consumer of the group) is
 *                          alive; it refreshes the marker well inside its TTL
 *                          (DOJO_EXECUTOR_HEARTBEAT_TTL). A consumer without
 *                          one is dead: others take over its pending jobs and
 *                          remove it from the group.
 *   dojo:jobs:contest      stream, same group and entry format as dojo:jobs:
 *                          the jobs of counted contest submissions, which
 *                          executors read before dojo:jobs (practice, runs,
 *                          rejudges), trimmed the same way.
 *   dojo:jobs:dead         stream of jobs given up on (kvc_dead_letter):
 *                          fields job, reason, entry, executor, deliveries;
 *                          trimmed to about KVC_DEAD_MAXLEN entries. Written
 *                          by executors; read by gamification's sweeper,
 *                          which finishes each one's submission with an
 *                          internal-error verdict if nobody recorded one.
 *   dojo:sub:{id}          a submission's events: one field KVC_FIELD_EVENT =
 *                          a packed dojo.executor.v1.Event. Written by the
 *                          gateway (`queued`; the sweeper when it queues)
 *                          and the executor, read by the gateway (XRANGE,
 *                          XREAD). Trimmed to about
 *                          KVC_STREAM_MAXLEN entries; expires its TTL after
 *                          the last write (DOJO_EVENT_TTL,
 *                          DOJO_EXECUTOR_EVENT_TTL; default 1 h).
 *   dojo:ctl:{id}          a submission's control messages (stdin, cancel):
 *                          one field KVC_FIELD_CONTROL = a packed
 *                          dojo.executor.v1.Control, seq from the key below.
 *                          Written by the gateway, read by the executor.
 *                          Trimmed and expiring like dojo:sub:{id}.
 *   dojo:gw:ctlseq:{id}    counter: the seq of the next Control (same TTL).
 *   dojo:gw:enq:{id}       marker: the submission's job was enqueued (once;
 *                          set in the same script as the job, so never
 *                          without it); TTL the event TTL, at least
 *                          KVC_ENQUEUED_TTL_MIN_S. Read by gamification's
 *                          sweeper (kvc_jobs_enqueued).
 *   dojo:gw:tasks:gen      counter: bumped by a gateway after every task
 *                          write it forwarded to content (create, update,
 *                          archive); gateways read it before serving a task
 *                          view from their cache, so an author's change is
 *                          seen at once by every replica. No TTL.
 *   dojo:gw:rl:u:{user}    fixed-window counter of an account's budget for
 *                          signed-in work (runs, submissions, reference runs),
 *                          TTL = the window (DOJO_GATEWAY_RATE_WINDOW).
 *   dojo:gw:rl:ip:{ip}     fixed-window counter of a client address's budget
 *                          for anonymous calls (register, login, forgot),
 *                          TTL = the window (DOJO_GATEWAY_ANON_RATE_WINDOW).
 *   dojo:auth:throttle:{kind}:{hash}
 *                          fixed-window counters of auth's throttles; hash =
 *                          hex BLAKE2b-256 of the value (no address or name in
 *                          clear). TTL = the window.
 *   dojo:exec:running:{user}
 *                          sorted set: the learner's jobs that hold a
 *                          running place (member = submission id, score =
 *                          when its lease ends, Redis ms). Written by
 *                          executors (kvc_learner_admit, _renew, _release);
 *                          a lease not renewed (a dead executor) ends by
 *                          itself. TTL = the longest lease.
 *   dojo:exec:sandbox:{user}
 *                          counter: milliseconds the learner's jobs held a
 *                          sandbox in the current window (kvc_learner_charge,
 *                          after each job); TTL = the window, from its first
 *                          charge. Over the cap, kvc_learner_admit lets none
 *                          of the learner's jobs start until it ends.
 *   {prefix}lb:all, {prefix}lb:week:{YYYY-MM-DD}, {prefix}lb:cohort:{slug}
 *                          leaderboard sorted sets (rebuildable from
 *                          PostgreSQL); weekly boards expire
 *                          KVC_BOARD_WEEK_TTL_S after their rebuild.
 *   {board}:gen            the generation a board was built from ("<gen>", or
 *                          "<gen>:empty" for a board built with no member).
 *   dojo:contest:boards    stream of contest scoreboards: one field
 *                          KVC_FIELD_BOARD = a packed
 *                          dojo.gamification.v1.ScoreboardUpdate per
 *                          computation and audience. Written by gamification
 *                          (kvc_board_publish), read by gateways (XREAD),
 *                          which push it to WebSocket viewers. Trimmed to
 *                          about KVC_BOARDS_MAXLEN entries.
 *   dojo:contest:{slug}:board:{audience}
 *                          the latest of those updates for one contest and
 *                          audience ("public", "jury"): what a new viewer is
 *                          sent first. No TTL (contests are few).
 *
 * Reading streams: the kvc_streams_… and kvc_entr… helpers decode the
 * replies of XRANGE, XREVRANGE, XREAD, XREADGROUP and XAUTOCLAIM; a
 * kvc_reader_t is a connection of its own for blocking reads, over as many
 * streams at once as its caller wants, that another thread can wake.
 *
 * Threading: everything here is thread-safe except where a declaration says
 * otherwise (a reader reads from one thread at a time). */
#ifndef DOJO_KVC_H
#define DOJO_KVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kv.h"

/* ---------------------------------------------------------------------------
 * Names, fields, sizes and TTLs */

#define KVC_JOBS "dojo:jobs"
#define KVC_JOBS_GROUP "executors"
#define KVC_JOBS_DEAD "dojo:jobs:dead"
/** The contest stream: read before KVC_JOBS, by the same group. */
#define KVC_JOBS_CONTEST "dojo:jobs:contest"
#define KVC_BOARDS "dojo:contest:boards"

#define KVC_FIELD_JOB "job"
#define KVC_FIELD_EVENT "event"
#define KVC_FIELD_CONTROL "control"
#define KVC_FIELD_BOARD "board"

/** Approximate length (XADD MAXLEN ~) of event and control streams. */
#define KVC_STREAM_MAXLEN 10000
/** Approximate length of the dead-letter stream. */
#define KVC_DEAD_MAXLEN 100000
/** Approximate length of dojo:contest:boards (readers only need the tail). */
#define KVC_BOARDS_MAXLEN 200
/** The enqueued-once marker lives at least this long (a day), so that a
 * repeat with the same idempotency key is recognised long after its events
 * expired. */
#define KVC_ENQUEUED_TTL_MIN_S 86400
/** Weekly boards outlive their week by a week, for late readers. */
#define KVC_BOARD_WEEK_TTL_S (14 * 86400)
/** Gamification's default key prefix (DOJO_GAMIFICATION_REDIS_PREFIX). */
#define KVC_BOARD_PREFIX_DEFAULT "dojo:game:"

/** Room for any key of the contract. Every variable part has a bound far
 * below it (UUIDs, addresses, slugs ≤ 64, prefixes ≤ 64, hashes); a longer
 * one is cut so the key fits. */
#define KVC_KEY_MAX 256

/** A key, built in place by the functions below. */
typedef struct kvc_key {
    char s[KVC_KEY_MAX];
} kvc_key_t;

/* Each builder writes the key into *k and returns k->s (borrowed: valid as
 * long as *k). */

/** dojo:sub:{submission_id}, the submission's event stream. */
const char *kvc_key_events(kvc_key_t *k, const char *submission_id);
/** dojo:ctl:{submission_id}, the submission's control stream. */
const char *kvc_key_control(kvc_key_t *k, const char *submission_id);
/** dojo:gw:ctlseq:{submission_id}, the counter of its Control seq. */
const char *kvc_key_control_seq(kvc_key_t *k, const char *submission_id);
/** dojo:gw:enq:{submission_id}, its enqueued-once marker. */
const char *kvc_key_enqueued(kvc_key_t *k, const char *submission_id);
/** dojo:gw:tasks:gen, the generation of the gateways' task-view caches. */
const char *kvc_key_tasks_gen(kvc_key_t *k);
/** dojo:gw:rl:u:{user_id}, the rate-limit window of an account's signed-in work. */
const char *kvc_key_rate_user(kvc_key_t *k, const char *user_id);
/** dojo:gw:rl:ip:{ip}, the rate-limit window of a client address's anonymous calls. */
const char *kvc_key_rate_ip(kvc_key_t *k, const char *ip);
/** dojo:auth:throttle:{kind}:{hex BLAKE2b-256 of value}, one of auth's
 * throttle windows ("login-ip", "login-account", "reset-ip", ...). */
const char *kvc_key_throttle(kvc_key_t *k, const char *kind, const char *value);
/** {prefix}lb:all, the all-time leaderboard. */
const char *kvc_key_board_all(kvc_key_t *k, const char *prefix);
/** {prefix}lb:week:{YYYY-MM-DD}, the board of the week starting (UTC) at
 * `week_start_us` (microseconds since the epoch). */
const char *kvc_key_board_week(kvc_key_t *k, const char *prefix, int64_t week_start_us);
/** {prefix}lb:cohort:{cohort}, a cohort's board. */
const char *kvc_key_board_cohort(kvc_key_t *k, const char *prefix, const char *cohort);
/** {board_key}:gen, the marker of the generation a board was built from. */
const char *kvc_key_board_marker(kvc_key_t *k, const char *board_key);

/** dojo:executor:alive:{executor_id}, the marker of a live executor. */
const char *kvc_key_executor_alive(kvc_key_t *k, const char *executor_id);

/** dojo:contest:{slug}:board:{audience}, a contest's latest scoreboard for
 * one audience ("public", "jury"). */
const char *kvc_key_contest_board(kvc_key_t *k, const char *slug, const char *audience);

/** The submission id of an event-stream key (the part after "dojo:sub:"),
 * borrowed from `key`; NULL if `key` is no event-stream key. */
const char *kvc_events_key_id(const char *key);

/* ---------------------------------------------------------------------------
 * Writing streams */

/** Appends one entry `field` = data[0..len) to the stream `key` (trimmed to
 * about KVC_STREAM_MAXLEN entries) and sets the stream to expire `ttl_s`
 * seconds from now (none when ttl_s ≤ 0), in one round trip. For event and
 * control streams (kvc_key_events, kvc_key_control). Errors as kv_pipeline;
 * after an error the entry may or may not have been added. */
int kvc_append(kv_pool_t *kv, const char *key, const char *field, const void *data, size_t len,
               int64_t ttl_s, err_t **err);

/** Enqueues a submission's job exactly once, atomically (one script):
 * unless its enqueued-once marker exists already (an idempotent repeat:
 * nothing is written, *enqueued false), appends `queued_event` (a packed
 * Event) to its event stream with `event_ttl_s`, `job` (a packed Job) to
 * dojo:jobs and sets the marker (*enqueued true). So the marker exists
 * exactly when the job was queued. `enqueued` may be NULL. Errors as
 * kv_command_argv; after an UNAVAILABLE error the job may or may not be
 * queued (a retry with the same submission id settles it). */
int kvc_job_enqueue(kv_pool_t *kv, const char *submission_id, const void *queued_event,
                    size_t event_len, const void *job, size_t job_len, int64_t event_ttl_s,
                    bool *enqueued, err_t **err);

/** kvc_job_enqueue onto `stream`: KVC_JOBS or KVC_JOBS_CONTEST. */
int kvc_job_enqueue_on(kv_pool_t *kv, const char *stream, const char *submission_id,
                       const void *queued_event, size_t event_len, const void *job,
                       size_t job_len, int64_t event_ttl_s, bool *enqueued, err_t **err);

/** Publishes one computed scoreboard (a packed ScoreboardUpdate) of contest
 * `slug` for `audience`: stores it as the latest and appends it to
 * dojo:contest:boards, in one round trip. */
int kvc_board_publish(kv_pool_t *kv, const char *slug, const char *audience, const void *data,
                      size_t len, err_t **err);

/** Sets a submission's enqueued-once marker without queuing anything, so
 * that no later kvc_job_enqueue queues it: for a submission about to be
 * finished without being judged. *won is false when the marker existed
 * already (its job was queued: leave the submission to its executor). */
int kvc_job_forgo(kv_pool_t *kv, const char *submission_id, bool *won, err_t **err);

/** Whether each of submission_ids[0..n) has its enqueued-once marker, into
 * out[0..n): whether its job was ever queued (in the last
 * KVC_ENQUEUED_TTL_MIN_S at least). Few round trips (pipelined). */
int kvc_jobs_enqueued(kv_pool_t *kv, const char *const *submission_ids, size_t n, bool *out,
                      err_t **err);

/** The seq of a submission's next Control message (1, 2, …); the counter
 * expires with its control stream, `ttl_s` from now. */
int kvc_control_seq_next(kv_pool_t *kv, const char *submission_id, int64_t ttl_s, int64_t *out,
                         err_t **err);

/** Appends a job given up on to dojo:jobs:dead: its payload (the Job as it
 * was in the queue), why, its entry id in dojo:jobs, the executor and the
 * number of deliveries. */
int kvc_dead_letter(kv_pool_t *kv, const void *job, size_t job_len, const char *reason,
                    const char *entry_id, const char *executor_id, int deliveries, err_t **err);

/* ---------------------------------------------------------------------------
 * Reading streams
 *
 * Stream replies are nested arrays: an entry is [id, [field, value, …]]
 * (fields nil for an entry deleted while pending); XRANGE, XREVRANGE and the
 * second element of XAUTOCLAIM's reply are arrays of entries; XREAD and
 * XREADGROUP answer [[key, entries], …] or nil. Everything these helpers
 * return is borrowed from the reply and valid until it is freed. Malformed
 * parts are skipped, never trusted. */

/** One entry: its id and the value of the field asked for. */
typedef struct kvc_entry {
    const char *id;
    const char *value; /* NULL when the entry has no such field (or was deleted) */
    size_t len;
} kvc_entry_t;

/** The number of elements of an entries array (0 for anything else). */
size_t kvc_entries_count(const redisReply *entries);

/** Decodes element `i` of an entries array: its id and the value of the
 * first field named `field`. false when that element is not an entry. */
bool kvc_entry_at(const redisReply *entries, size_t i, const char *field, kvc_entry_t *out);

/** The number of streams in an XREAD / XREADGROUP reply (0 for nil). */
size_t kvc_streams_count(const redisReply *reply);

/** Stream `i` of an XREAD / XREADGROUP reply: its key and its entries array.
 * false when that element is not [key, entries]. */
bool kvc_stream_at(const redisReply *reply, size_t i, const char **key, const redisReply **entries);

/* ---------------------------------------------------------------------------
 * Blocking reads
 *
 * A reader is one dedicated connection (kv_conn_t) for XREAD / XREADGROUP
 * with BLOCK. One read may cover any number of streams, so a service can
 * multiplex the streams of many clients over few readers: change the set of
 * streams, then kvc_reader_wake the reader so its next read uses it. */

typedef struct kvc_reader kvc_reader_t;

/** Prepares a reader on `kv`'s server (its connection is made on first read;
 * `kv` also carries the wake-ups). *out is new: kvc_reader_close it before
 * closing `kv`. */
void kvc_reader_open(kvc_reader_t **out, kv_pool_t *kv);

/** Frees a reader (NULL is fine). No read may be running on it. */
void kvc_reader_close(kvc_reader_t *r);

/** XREAD COUNT `count` BLOCK `block_ms` STREAMS keys[0..n) after[0..n):
 * waits up to block_ms for entries after the ids after[i] ("0-0" for all,
 * "$" for new ones only) in any of the n streams. *out is a new XREAD reply
 * (decode with kvc_streams_count / kvc_stream_at; free it), or NULL when
 * nothing came in time or kvc_reader_wake cut the wait short (also when the
 * wake came before the read began: it returns at once). Errors as
 * kv_conn_command_argv (UNAVAILABLE when Redis is away; the next read
 * reconnects). One thread at a time. */
int kvc_reader_read(kvc_reader_t *r, size_t n, const char *const *keys, const char *const *after,
                    int count, int block_ms, redisReply **out, err_t **err);

/** XREADGROUP GROUP group consumer COUNT count BLOCK block_ms STREAMS
 * keys[0..n) ids[0..n) (">" for new entries): as kvc_reader_read. The read
 * delivers entries to `consumer`, so a failure after sending is never
 * retried (kv.h). One thread at a time. */
int kvc_reader_read_group(kvc_reader_t *r, const char *group, const char *consumer, size_t n,
                          const char *const *keys, const char *const *ids, int count, int block_ms,
                          redisReply **out, err_t **err);

/** Makes the current or next read of `r` return now with nothing (*out
 * NULL), so its caller can read again with a new set of streams. Any thread;
 * it waits for nothing but a CLIENT UNBLOCK on a pooled connection (trying
 * again for up to ~200 ms while the read has not reached Redis yet). */
void kvc_reader_wake(kvc_reader_t *r);

/* ---------------------------------------------------------------------------
 * Fixed-window rate limits
 *
 * A window starts at its first request and lasts `window_s`; each request is
 * counted *before* the work it guards, atomically per window, so no number of
 * parallel requests gets more than `limit` through. Redis being away fails
 * the request (UNAVAILABLE): limits hold rather than open. */

typedef struct kvc_limit {
    const char *key;  /* kvc_key_rate_user, kvc_key_rate_ip, kvc_key_throttle */
    long long limit;  /* requests allowed per window */
    int64_t window_s; /* > 0 */
} kvc_limit_t;

/** The verdict on one request, from the binding window: the one with the
 * fewest requests left (the first of those on a tie). */
typedef struct kvc_limit_state {
    bool exceeded;       /* this request is over the binding limit */
    long long limit;     /* the binding window's limit */
    long long remaining; /* requests left in it (0 when exceeded) */
    long long reset_s;   /* seconds until it ends, 0 … window_s */
} kvc_limit_state_t;

/** Counts one request in each of the n windows (one round trip) and fills
 * *out. Not being let through is no error: check out->exceeded. */
int kvc_limit_take(kv_pool_t *kv, const kvc_limit_t *limits, size_t n, kvc_limit_state_t *out,
                   err_t **err);

/** Gives one request back to the window `key` (a request that turned out
 * fine); a window that has ended stays ended. */
int kvc_limit_give_back(kv_pool_t *kv, const char *key, err_t **err);

/** Ends the window `key` now (a success that clears a budget). */
int kvc_limit_forget(kv_pool_t *kv, const char *key, err_t **err);

/* ---------------------------------------------------------------------------
 * A learner's share of the executors
 *
 * Every job of a learner takes a running place before it runs and gives it
 * back after; with `max_running` places taken the learner's next job waits
 * (the executor keeps it and runs other learners' jobs meanwhile). A place
 * is a lease the executor renews while the job runs: an executor that dies
 * holds it only until it ends. The same submission taking its place again
 * (a redelivered job) keeps the place it had. Besides, each job's sandbox
 * time is charged to its learner after it ran; a learner over the window's
 * cap gets no new place until the window ends. Times are Redis's clock, so
 * executors' clocks need not agree. */

/** dojo:exec:running:{user_id}, the learner's running places. */
const char *kvc_key_learner_running(kvc_key_t *k, const char *user_id);

/** dojo:exec:sandbox:{user_id}, the learner's sandbox time this window. */
const char *kvc_key_learner_sandbox(kvc_key_t *k, const char *user_id);

/** The rules of admission. */
typedef struct kvc_share {
    int max_running;        /* places per learner; <= 0: no limit */
    int64_t lease_ms;       /* how long a place lasts unrenewed; > 0 */
    int64_t sandbox_cap_ms; /* sandbox time per window and learner; <= 0: no cap */
    int64_t window_ms;      /* the sandbox time's window; > 0 */
} kvc_share_t;

/** Why a job was not admitted. */
typedef enum kvc_share_wait {
    KVC_SHARE_ADMITTED = 0,
    KVC_SHARE_PLACES,  /* the learner's places are held by other submissions */
    KVC_SHARE_SANDBOX, /* the learner used up the window's sandbox time */
} kvc_share_wait_t;

/** Takes a running place for submission `submission_id` of `user_id`
 * (*admitted true) unless the learner's places are all held by other
 * submissions or the learner used up the window's sandbox time (*admitted
 * false: try again later; *why, which may be NULL, says which). A submission
 * that holds a place keeps it either way. One round trip. */
int kvc_learner_admit(kv_pool_t *kv, const char *user_id, const char *submission_id,
                      const kvc_share_t *share, bool *admitted, kvc_share_wait_t *why,
                      err_t **err);

/** Extends the lease of a place taken (by `share->lease_ms` from now); a
 * place that ended meanwhile is taken again if there is room, so *held
 * (may be NULL) says whether the job still holds one. */
int kvc_learner_renew(kv_pool_t *kv, const char *user_id, const char *submission_id,
                      const kvc_share_t *share, bool *held, err_t **err);

/** Charges `sandbox_ms` of sandbox time to the learner's window (starting
 * one when none runs). No-op without a cap or a learner. */
int kvc_learner_charge(kv_pool_t *kv, const char *user_id, int64_t sandbox_ms,
                       const kvc_share_t *share, err_t **err);

/** Gives the place back (none held is fine). */
int kvc_learner_release(kv_pool_t *kv, const char *user_id, const char *submission_id,
                        err_t **err);

#endif
