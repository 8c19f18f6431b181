/* kvc.c — the Redis contract between services: key names, stream writes,
 * entry decoding, blocking readers and fixed-window rate limits. */
#define _GNU_SOURCE
#include "kvc.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "mem.h"

#define EVENTS_PREFIX "dojo:sub:"

/* ---------------------------------------------------------------------------
 * Keys */

static const char *key_fmt(kvc_key_t *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *key_fmt(kvc_key_t *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->s, sizeof k->s, fmt, ap);
    va_end(ap);
    return k->s;
}

const char *kvc_key_events(kvc_key_t *k, const char *submission_id)
{
    return key_fmt(k, EVENTS_PREFIX "%s", submission_id);
}

const char *kvc_key_control(kvc_key_t *k, const char *submission_id)
{
    return key_fmt(k, "dojo:ctl:%s", submission_id);
}

const char *kvc_key_control_seq(kvc_key_t *k, const char *submission_id)
{
    return key_fmt(k, "dojo:gw:ctlseq:%s", submission_id);
}

const char *kvc_key_enqueued(kvc_key_t *k, const char *submission_id)
{
    return key_fmt(k, "dojo:gw:enq:%s", submission_id);
}

const char *kvc_key_executor_alive(kvc_key_t *k, const char *executor_id)
{
    return key_fmt(k, "dojo:executor:alive:%s", executor_id);
}

const char *kvc_key_learner_running(kvc_key_t *k, const char *user_id)
{
    return key_fmt(k, "dojo:exec:running:%.64s", user_id);
}

const char *kvc_key_learner_sandbox(kvc_key_t *k, const char *user_id)
{
    return key_fmt(k, "dojo:exec:sandbox:%.64s", user_id);
}

const char *kvc_key_contest_board(kvc_key_t *k, const char *slug, const char *audience)
{
    return key_fmt(k, "dojo:contest:%.64s:board:%.16s", slug, audience);
}

const char *kvc_key_tasks_gen(kvc_key_t *k) { return key_fmt(k, "%s", "dojo:gw:tasks:gen"); }

const char *kvc_key_rate_user(kvc_key_t *k, const char *user_id)
{
    return key_fmt(k, "dojo:gw:rl:u:%s", user_id);
}

const char *kvc_key_rate_ip(kvc_key_t *k, const char *ip)
{
    return key_fmt(k, "dojo:gw:rl:ip:%s", ip);
}

const char *kvc_key_throttle(kvc_key_t *k, const char *kind, const char *value)
{
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)value, strlen(value), NULL, 0);
    char hex[sizeof h * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    return key_fmt(k, "dojo:auth:throttle:%s:%s", kind, hex);
}

const char *kvc_key_board_all(kvc_key_t *k, const char *prefix)
{
    return key_fmt(k, "%slb:all", prefix);
}

const char *kvc_key_board_week(kvc_key_t *k, const char *prefix, int64_t week_start_us)
{
    time_t t = (time_t)(week_start_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return key_fmt(k, "%slb:week:%04d-%02d-%02d", prefix, tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday);
}

const char *kvc_key_board_cohort(kvc_key_t *k, const char *prefix, const char *cohort)
{
    return key_fmt(k, "%slb:cohort:%s", prefix, cohort);
}

const char *kvc_key_board_marker(kvc_key_t *k, const char *board_key)
{
    return key_fmt(k, "%s:gen", board_key);
}

const char *kvc_events_key_id(const char *key)
{
    size_t n = strlen(EVENTS_PREFIX);
    return key != NULL && strncmp(key, EVENTS_PREFIX, n) == 0 ? key + n : NULL;
}

/* ---------------------------------------------------------------------------
 * Writing streams */

static void free_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (replies[i] != NULL)
            freeReplyObject(replies[i]);
}

int kvc_append(kv_pool_t *kv, const char *key, const char *field, const void *data, size_t len,
               int64_t ttl_s, err_t **err)
{
    char ttl[24], maxlen[24];
    snprintf(ttl, sizeof ttl, "%" PRId64, ttl_s);
    snprintf(maxlen, sizeof maxlen, "%d", KVC_STREAM_MAXLEN);
    const char *xadd[] = {"XADD", key, "MAXLEN", "~", maxlen, "*", field, data};
    const size_t xadd_len[] = {4, strlen(key), 6, 1, strlen(maxlen), 1, strlen(field), len};
    const char *expire[] = {"EXPIRE", key, ttl};
    const kv_cmd_t cmds[] = {{8, xadd, xadd_len}, {3, expire, NULL}};
    redisReply *replies[2] = {NULL, NULL};
    size_t n = ttl_s > 0 ? 2 : 1;
    if (kv_pipeline(kv, cmds, n, replies, err) < 0)
        return err_wrap(err, "append to %s", key);
    free_replies(replies, n);
    return 0;
}

/* One script, so the marker exists exactly when the queued event and the job
 * were written: "marked" means "in dojo:jobs" to whoever looks (the gateway's
 * repeat, gamification's sweeper). The marker is written last: a script cut
 * short (Redis out of memory) leaves none, and the submission counts as not
 * queued. */
static const char enqueue_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', ARGV[3], ARGV[4]) "
    "if tonumber(ARGV[5]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[5]) end "
    "redis.call('XADD', KEYS[3], '*', ARGV[6], ARGV[7]) "
    "redis.call('SET', KEYS[1], '1', 'EX', ARGV[1]) "
    "return 1";

int kvc_job_enqueue(kv_pool_t *kv, const char *submission_id, const void *queued_event,
                    size_t event_len, const void *job, size_t job_len, int64_t event_ttl_s,
                    bool *enqueued, err_t **err)
{
    return kvc_job_enqueue_on(kv, KVC_JOBS, submission_id, queued_event, event_len, job, job_len,
                              event_ttl_s, enqueued, err);
}

int kvc_job_enqueue_on(kv_pool_t *kv, const char *stream, const char *submission_id,
                       const void *queued_event, size_t event_len, const void *job,
                       size_t job_len, int64_t event_ttl_s, bool *enqueued, err_t **err)
{
    kvc_key_t enq, sub;
    kvc_key_enqueued(&enq, submission_id);
    kvc_key_events(&sub, submission_id);
    char marker_ttl[24], ttl[24], maxlen[24];
    snprintf(marker_ttl, sizeof marker_ttl, "%" PRId64,
             event_ttl_s > KVC_ENQUEUED_TTL_MIN_S ? event_ttl_s : (int64_t)KVC_ENQUEUED_TTL_MIN_S);
    snprintf(ttl, sizeof ttl, "%" PRId64, event_ttl_s);
    snprintf(maxlen, sizeof maxlen, "%d", KVC_STREAM_MAXLEN);
    const char *argv[] = {"EVAL", enqueue_script, "3", enq.s, sub.s, stream, marker_ttl,
                          maxlen, KVC_FIELD_EVENT, queued_event, ttl, KVC_FIELD_JOB, job};
    const size_t lens[] = {4,
                           sizeof enqueue_script - 1,
                           1,
                           strlen(enq.s),
                           strlen(sub.s),
                           strlen(stream),
                           strlen(marker_ttl),
                           strlen(maxlen),
                           strlen(KVC_FIELD_EVENT),
                           event_len,
                           strlen(ttl),
                           strlen(KVC_FIELD_JOB),
                           job_len};
    cleanup_redis_reply redisReply *r = NULL;
    if (kv_command_argv(kv, &r, 13, argv, lens, err) < 0)
        return -1;
    if (enqueued)
        *enqueued = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    return 0;
}

int kvc_job_forgo(kv_pool_t *kv, const char *submission_id, bool *won, err_t **err)
{
    kvc_key_t enq;
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%d", KVC_ENQUEUED_TTL_MIN_S);
    cleanup_redis_reply redisReply *r = NULL;
    if (kv_command(kv, &r, err, "SET %s 0 EX %s NX", kvc_key_enqueued(&enq, submission_id), ttl) <
        0)
        return err_wrap(err, "forgo job");
    *won = r->type == REDIS_REPLY_STATUS;
    return 0;
}

int kvc_jobs_enqueued(kv_pool_t *kv, const char *const *submission_ids, size_t n, bool *out,
                      err_t **err)
{
    for (size_t done = 0; done < n;) {
        enum { BATCH = 64 };
        size_t m = n - done < BATCH ? n - done : BATCH;
        kvc_key_t keys[BATCH];
        const char *argv[BATCH][2];
        kv_cmd_t cmds[BATCH];
        redisReply *replies[BATCH] = {NULL};
        for (size_t i = 0; i < m; i++) {
            argv[i][0] = "EXISTS";
            argv[i][1] = kvc_key_enqueued(&keys[i], submission_ids[done + i]);
            cmds[i] = (kv_cmd_t){2, argv[i], NULL};
        }
        if (kv_pipeline(kv, cmds, m, replies, err) < 0)
            return err_wrap(err, "enqueued markers");
        for (size_t i = 0; i < m; i++)
            out[done + i] = replies[i]->type == REDIS_REPLY_INTEGER && replies[i]->integer == 1;
        free_replies(replies, m);
        done += m;
    }
    return 0;
}

int kvc_board_publish(kv_pool_t *kv, const char *slug, const char *audience, const void *data,
                      size_t len, err_t **err)
{
    kvc_key_t latest;
    kvc_key_contest_board(&latest, slug, audience);
    char maxlen[24];
    snprintf(maxlen, sizeof maxlen, "%d", KVC_BOARDS_MAXLEN);
    const char *a0[] = {"SET", latest.s, data};
    const size_t l0[] = {3, strlen(latest.s), len};
    const char *a1[] = {"XADD", KVC_BOARDS, "MAXLEN", "~", maxlen, "*", KVC_FIELD_BOARD, data};
    const size_t l1[] = {4, strlen(KVC_BOARDS), 6, 1, strlen(maxlen), 1, strlen(KVC_FIELD_BOARD),
                         len};
    const kv_cmd_t cmds[] = {{3, a0, l0}, {8, a1, l1}};
    redisReply *replies[2] = {NULL, NULL};
    if (kv_pipeline(kv, cmds, 2, replies, err) < 0)
        return err_wrap(err, "publish the scoreboard of %s", slug);
    free_replies(replies, 2);
    return 0;
}

int kvc_control_seq_next(kv_pool_t *kv, const char *submission_id, int64_t ttl_s, int64_t *out,
                         err_t **err)
{
    kvc_key_t seq;
    kvc_key_control_seq(&seq, submission_id);
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%" PRId64, ttl_s);
    const char *incr[] = {"INCR", seq.s};
    const char *expire[] = {"EXPIRE", seq.s, ttl};
    const kv_cmd_t cmds[] = {{2, incr, NULL}, {3, expire, NULL}};
    redisReply *replies[2] = {NULL, NULL};
    if (kv_pipeline(kv, cmds, 2, replies, err) < 0)
        return err_wrap(err, "control seq");
    *out = replies[0]->type == REDIS_REPLY_INTEGER ? replies[0]->integer : 1;
    free_replies(replies, 2);
    return 0;
}

int kvc_dead_letter(kv_pool_t *kv, const void *job, size_t job_len, const char *reason,
                    const char *entry_id, const char *executor_id, int deliveries, err_t **err)
{
    char n[16], maxlen[24];
    snprintf(n, sizeof n, "%d", deliveries);
    snprintf(maxlen, sizeof maxlen, "%d", KVC_DEAD_MAXLEN);
    if (kv_command(kv, NULL, err,
                   "XADD %s MAXLEN ~ %s * job %b reason %s entry %s executor %s deliveries %s",
                   KVC_JOBS_DEAD, maxlen, job, job_len, reason, entry_id, executor_id, n) < 0)
        return err_wrap(err, "dead-letter %s", entry_id);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Reading streams */

size_t kvc_entries_count(const redisReply *entries)
{
    return entries != NULL && entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
}

bool kvc_entry_at(const redisReply *entries, size_t i, const char *field, kvc_entry_t *out)
{
    if (i >= kvc_entries_count(entries))
        return false;
    const redisReply *e = entries->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return false;
    *out = (kvc_entry_t){.id = e->element[0]->str};
    const redisReply *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY)
        return true; /* deleted while pending: nil fields */
    for (size_t k = 0; k + 1 < f->elements; k += 2) {
        const redisReply *name = f->element[k], *value = f->element[k + 1];
        if (name->type == REDIS_REPLY_STRING && value->type == REDIS_REPLY_STRING &&
            strcmp(name->str, field) == 0) {
            out->value = value->str;
            out->len = value->len;
            break;
        }
    }
    return true;
}

size_t kvc_streams_count(const redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
}

bool kvc_stream_at(const redisReply *reply, size_t i, const char **key, const redisReply **entries)
{
    if (i >= kvc_streams_count(reply))
        return false;
    const redisReply *s = reply->element[i];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
        s->element[0]->type != REDIS_REPLY_STRING)
        return false;
    *key = s->element[0]->str;
    *entries = s->element[1];
    return true;
}

/* ---------------------------------------------------------------------------
 * Blocking reads
 *
 * A wake must never be lost: the caller changes what it reads, then wakes,
 * while the reader may be anywhere between taking its snapshot and Redis
 * blocking on the command. So a wake is remembered until a read returns;
 * a read that begins with one pending returns at once, and one already
 * underway is cut short with CLIENT UNBLOCK (which answers the XREAD as if
 * it timed out). */

struct kvc_reader {
    kv_pool_t *kv;
    kv_conn_t *conn;
    pthread_mutex_t lock; /* the three below */
    bool reading;         /* a read is between its start and its answer */
    bool wake_pending;    /* a wake that no read has answered yet */
    uint64_t reads;       /* reads begun, to tell one from the next */
};

void kvc_reader_open(kvc_reader_t **out, kv_pool_t *kv)
{
    kvc_reader_t *r = xcalloc(1, sizeof *r);
    r->kv = kv;
    kv_conn_open(&r->conn, kv);
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
}

void kvc_reader_close(kvc_reader_t *r)
{
    if (r == NULL)
        return;
    kv_conn_close(r->conn);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Runs one blocking read: argv[0..head) is the command up to STREAMS, then
 * the n keys and the n ids. */
static int reader_run(kvc_reader_t *r, const char **head, int nhead, size_t n,
                      const char *const *keys, const char *const *ids, int block_ms,
                      redisReply **out, err_t **err)
{
    *out = NULL;
    if (n == 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "blocking read of no stream");
    pthread_mutex_lock(&r->lock);
    if (r->wake_pending) {
        r->wake_pending = false;
        pthread_mutex_unlock(&r->lock);
        return 0;
    }
    r->reading = true;
    r->reads++;
    pthread_mutex_unlock(&r->lock);

    int argc = nhead + 2 * (int)n;
    const char **argv = xcalloc((size_t)argc, sizeof *argv);
    memcpy(argv, head, (size_t)nhead * sizeof *argv);
    for (size_t i = 0; i < n; i++) {
        argv[nhead + i] = keys[i];
        argv[nhead + n + i] = ids[i];
    }
    redisReply *reply = NULL;
    int rc = kv_conn_command_argv(r->conn, block_ms, &reply, argc, argv, NULL, err);
    free(argv);

    pthread_mutex_lock(&r->lock);
    r->reading = false;
    r->wake_pending = false; /* this return answers it: the caller reads anew */
    pthread_mutex_unlock(&r->lock);
    if (rc < 0)
        return -1;
    if (reply->type == REDIS_REPLY_NIL) {
        freeReplyObject(reply);
        return 0;
    }
    *out = reply;
    return 0;
}

int kvc_reader_read(kvc_reader_t *r, size_t n, const char *const *keys, const char *const *after,
                    int count, int block_ms, redisReply **out, err_t **err)
{
    char c[16], b[16];
    snprintf(c, sizeof c, "%d", count);
    snprintf(b, sizeof b, "%d", block_ms);
    const char *head[] = {"XREAD", "COUNT", c, "BLOCK", b, "STREAMS"};
    return reader_run(r, head, 6, n, keys, after, block_ms, out, err);
}

int kvc_reader_read_group(kvc_reader_t *r, const char *group, const char *consumer, size_t n,
                          const char *const *keys, const char *const *ids, int count, int block_ms,
                          redisReply **out, err_t **err)
{
    char c[16], b[16];
    snprintf(c, sizeof c, "%d", count);
    snprintf(b, sizeof b, "%d", block_ms);
    const char *head[] = {"XREADGROUP", "GROUP", group,    consumer, "COUNT", c,
                          "BLOCK",      b,       "STREAMS"};
    return reader_run(r, head, 9, n, keys, ids, block_ms, out, err);
}

void kvc_reader_wake(kvc_reader_t *r)
{
    pthread_mutex_lock(&r->lock);
    r->wake_pending = true;
    bool reading = r->reading;
    uint64_t read = r->reads;
    pthread_mutex_unlock(&r->lock);
    for (int tries = 0; reading && tries < 200; tries++) {
        long long id = kv_conn_client_id(r->conn);
        if (id != 0) {
            char ids[32];
            snprintf(ids, sizeof ids, "%lld", id);
            cleanup_err err_t *err = NULL;
            cleanup_redis_reply redisReply *rep = NULL;
            if (kv_command(r->kv, &rep, &err, "CLIENT UNBLOCK %s", ids) < 0)
                return; /* Redis is away: the read fails by itself */
            if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
                return;
        }
        /* The read has not reached Redis yet (or is connecting). */
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        pthread_mutex_lock(&r->lock);
        reading = r->reading && r->reads == read;
        pthread_mutex_unlock(&r->lock);
    }
}

/* ---------------------------------------------------------------------------
 * Fixed-window rate limits
 *
 * One script counts a request in every window and starts a window (EXPIRE)
 * where none runs, so the count and the window's start are one atomic step.
 * "No TTL" rather than "count is 1" starts a window, so a counter left
 * without one can never outlive its window. */

static const char limit_script[] =
    "local out = {} "
    "for i, key in ipairs(KEYS) do "
    "  local n = redis.call('INCR', key) "
    "  local ttl = redis.call('TTL', key) "
    "  if ttl < 0 then redis.call('EXPIRE', key, ARGV[i]) ttl = tonumber(ARGV[i]) end "
    "  out[2 * i - 1] = n "
    "  out[2 * i] = ttl "
    "end "
    "return out";

/* DECR on an ended window would start a counter with no TTL: skip those. */
static const char give_back_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end "
    "return 0";

#define LIMIT_MAX_WINDOWS 8

int kvc_limit_take(kv_pool_t *kv, const kvc_limit_t *limits, size_t n, kvc_limit_state_t *out,
                   err_t **err)
{
    if (n == 0 || n > LIMIT_MAX_WINDOWS)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "rate limit: 1 to %d windows",
                       LIMIT_MAX_WINDOWS);
    char nkeys[8], windows[LIMIT_MAX_WINDOWS][24];
    const char *argv[3 + 2 * LIMIT_MAX_WINDOWS];
    int argc = 0;
    snprintf(nkeys, sizeof nkeys, "%zu", n);
    argv[argc++] = "EVAL";
    argv[argc++] = limit_script;
    argv[argc++] = nkeys;
    for (size_t i = 0; i < n; i++)
        argv[argc++] = limits[i].key;
    for (size_t i = 0; i < n; i++) {
        snprintf(windows[i], sizeof windows[i], "%" PRId64,
                 limits[i].window_s > 0 ? limits[i].window_s : 1);
        argv[argc++] = windows[i];
    }
    cleanup_redis_reply redisReply *r = NULL;
    if (kv_command_argv(kv, &r, argc, argv, NULL, err) < 0)
        return err_wrap(err, "rate limit");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * n)
        return err_set(err, GRPC_STATUS_INTERNAL, "rate limit: unexpected reply from Redis");
    for (size_t i = 0; i < 2 * n; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            return err_set(err, GRPC_STATUS_INTERNAL, "rate limit: unexpected reply from Redis");

    size_t bind = 0;
    long long best = 0;
    for (size_t i = 0; i < n; i++) {
        long long left = limits[i].limit - r->element[2 * i]->integer;
        if (i == 0 || left < best) {
            best = left;
            bind = i;
        }
    }
    long long reset = r->element[2 * bind + 1]->integer;
    long long window = limits[bind].window_s > 0 ? limits[bind].window_s : 1;
    *out = (kvc_limit_state_t){
        .exceeded = best<0, .limit = limits[bind].limit, .remaining = best> 0 ? best : 0,
        .reset_s = reset < 0        ? window
                   : reset > window ? window
                                    : reset,
    };
    return 0;
}

int kvc_limit_give_back(kv_pool_t *kv, const char *key, err_t **err)
{
    const char *argv[] = {"EVAL", give_back_script, "1", key};
    if (kv_command_argv(kv, NULL, 4, argv, NULL, err) < 0)
        return err_wrap(err, "rate limit: give back");
    return 0;
}

int kvc_limit_forget(kv_pool_t *kv, const char *key, err_t **err)
{
    if (kv_command(kv, NULL, err, "DEL %s", key) < 0)
        return err_wrap(err, "rate limit: forget");
    return 0;
}

/* ---------------------------------------------------------------------------
 * A learner's share of the executors
 *
 * One script per step: ended leases go first; a member that has a place
 * keeps it; otherwise a place is taken only while fewer than ARGV[2] members
 * remain and the sandbox counter (KEYS[2]) is below ARGV[4] (0: no cap). The
 * places' key lives as long as its longest lease: an expiry that would
 * shorten it is skipped. */

static const char admit_script[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "local max, cap = tonumber(ARGV[2]), tonumber(ARGV[4]) "
    "if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then "
    "  if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 0 end "
    "  if cap > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= cap then return 2 end "
    "end "
    "if max <= 0 then return 1 end "
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1]) "
    "if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then "
    "  redis.call('PEXPIRE', KEYS[1], ARGV[3]) end "
    "return 1";

/* The window starts with its first charge. */
static const char charge_script[] =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return n";

static bool share_limits(const kvc_share_t *share)
{
    return share->max_running > 0 || share->sandbox_cap_ms > 0;
}

int kvc_learner_admit(kv_pool_t *kv, const char *user_id, const char *submission_id,
                      const kvc_share_t *share, bool *admitted, kvc_share_wait_t *why,
                      err_t **err)
{
    *admitted = true;
    if (why)
        *why = KVC_SHARE_ADMITTED;
    if (!share_limits(share) || user_id == NULL || *user_id == '\0')
        return 0;
    kvc_key_t places, sandbox;
    char max[16], lease[24], cap[24];
    snprintf(max, sizeof max, "%d", share->max_running > 0 ? share->max_running : 0);
    snprintf(lease, sizeof lease, "%" PRId64, share->lease_ms > 0 ? share->lease_ms : 1000);
    snprintf(cap, sizeof cap, "%" PRId64, share->sandbox_cap_ms > 0 ? share->sandbox_cap_ms : 0);
    const char *argv[] = {"EVAL",
                          admit_script,
                          "2",
                          kvc_key_learner_running(&places, user_id),
                          kvc_key_learner_sandbox(&sandbox, user_id),
                          submission_id,
                          max,
                          lease,
                          cap};
    cleanup_redis_reply redisReply *r = NULL;
    if (kv_command_argv(kv, &r, 9, argv, NULL, err) < 0)
        return err_wrap(err, "learner admission");
    if (r->type != REDIS_REPLY_INTEGER)
        return err_set(err, GRPC_STATUS_INTERNAL, "learner admission: unexpected reply from Redis");
    *admitted = r->integer == 1;
    if (why)
        *why = r->integer == 1 ? KVC_SHARE_ADMITTED
               : r->integer == 2 ? KVC_SHARE_SANDBOX
                                 : KVC_SHARE_PLACES;
    return 0;
}

int kvc_learner_renew(kv_pool_t *kv, const char *user_id, const char *submission_id,
                      const kvc_share_t *share, bool *held, err_t **err)
{
    bool got = true;
    if (kvc_learner_admit(kv, user_id, submission_id, share, &got, NULL, err) < 0)
        return -1;
    if (held)
        *held = got;
    return 0;
}

int kvc_learner_charge(kv_pool_t *kv, const char *user_id, int64_t sandbox_ms,
                       const kvc_share_t *share, err_t **err)
{
    if (share->sandbox_cap_ms <= 0 || user_id == NULL || *user_id == '\0' || sandbox_ms <= 0)
        return 0;
    kvc_key_t k;
    char ms[24], window[24];
    snprintf(ms, sizeof ms, "%" PRId64, sandbox_ms);
    snprintf(window, sizeof window, "%" PRId64, share->window_ms > 0 ? share->window_ms : 60000);
    const char *argv[] = {"EVAL", charge_script, "1", kvc_key_learner_sandbox(&k, user_id), ms,
                          window};
    if (kv_command_argv(kv, NULL, 6, argv, NULL, err) < 0)
        return err_wrap(err, "learner charge");
    return 0;
}

int kvc_learner_release(kv_pool_t *kv, const char *user_id, const char *submission_id,
                        err_t **err)
{
    if (user_id == NULL || *user_id == '\0')
        return 0;
    kvc_key_t k;
    if (kv_command(kv, NULL, err, "ZREM %s %s", kvc_key_learner_running(&k, user_id),
                   submission_id) < 0)
        return err_wrap(err, "learner release");
    return 0;
}
