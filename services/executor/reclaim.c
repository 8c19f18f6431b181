/* reclaim.c — the upkeep of the job group, on one thread per executor.
 *
 *   heartbeats  this executor's marker dojo:executor:alive:{id} (SET PX
 *               DOJO_EXECUTOR_HEARTBEAT_TTL, every third of it), and its
 *               running entries (XCLAIM ... JUSTID resets their idle time,
 *               at least as often), so that no peer takes a job from a live
 *               executor;
 *   rescue      a consumer without a marker is dead (SIGKILL, OOM, a lost
 *               node): its pending entries idle for at least the TTL are
 *               claimed at once, as many as there are idle workers, and
 *               once it holds none it leaves the group (XGROUP DELCONSUMER)
 *               — one script, so a live consumer never loses an entry;
 *   reclaim     entries idle for DOJO_EXECUTOR_RECLAIM_IDLE (a job left for
 *               another attempt, or an executor too stalled to heartbeat)
 *               are claimed the same way (XAUTOCLAIM);
 *   trim        acknowledged entries older than DOJO_EXECUTOR_JOB_RETENTION
 *               leave the stream (XTRIM MINID below the oldest pending or
 *               unread entry), so the stream holds the queue, not its past.
 *
 * Each of these runs on both job streams (exec_streams: the contest stream
 * and dojo:jobs); the group has the same consumers on both.
 *
 * At start, before the workers, entries pending under this executor's own
 * name belong to an earlier process with the same DOJO_EXECUTOR_ID: they are
 * taken back at once. On a clean stop the marker goes and the consumer leaves
 * the group unless it still holds entries (peers then rescue them). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

/* KEYS[1] the job stream, KEYS[2] the consumer's marker; ARGV: group,
 * consumer, claimer, min idle ms, count. A consumer without a marker loses
 * up to `count` entries idle that long to the claimer, and leaves the group
 * when it holds none. Returns {left the group (0/1), claimed entries}. */
static const char RESCUE_LUA[] =
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {0, {}} end\n"
    "if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then\n"
    "  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
    "  return {1, {}}\n"
    "end\n"
    "if tonumber(ARGV[5]) <= 0 then return {0, {}} end\n"
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[4], '-', '+', ARGV[5],"
    " ARGV[2])\n"
    "if #p == 0 then return {0, {}} end\n"
    "local ids = {}\n"
    "for i, e in ipairs(p) do ids[i] = e[1] end\n"
    "return {0, redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], ARGV[4], unpack(ids))}\n";

/* KEYS[1] the job stream; ARGV: group, retention ms. Trims the entries below
 * the oldest pending one, the first unread one and the retention cut-off
 * (Redis' clock); returns how many went. */
static const char TRIM_LUA[] =
    "local last\n"
    "for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
    "  local name, id\n"
    "  for i = 1, #g, 2 do\n"
    "    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then"
    " id = g[i + 1] end\n"
    "  end\n"
    "  if name == ARGV[1] then last = id end\n"
    "end\n"
    "if not last then return 0 end\n"
    "local ms, seq = string.match(last, '^(%d+)-(%d+)$')\n"
    "if not ms then return 0 end\n"
    "local min_ms, min_id = tonumber(ms), ms .. '-' .. string.format('%.0f', tonumber(seq) + 1)\n"
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1])\n"
    "if p[1] > 0 then\n"
    "  min_id = p[2]\n"
    "  min_ms = tonumber(string.match(p[2], '^(%d+)'))\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "local cut = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[2])\n"
    "if cut < min_ms then min_id = string.format('%.0f', cut) .. '-0' end\n"
    "return redis.call('XTRIM', KEYS[1], 'MINID', min_id)\n";

/* A Redis error that only means there is no group (or stream) yet. */
static bool no_group(const err_t *err)
{
    return strstr(err->msg, "NOGROUP") || strstr(err->msg, "no such key");
}

static int64_t clamp_ms(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ------------------------------------------------------------------------
 * Taking entries over
 * ------------------------------------------------------------------------ */

/* Delivery count of one pending entry (XPENDING key group id id 1). */
static int deliveries_of(exec_t *ex, int stream, const char *id)
{
    cleanup_redis_reply redisReply *r = NULL;
    cleanup_err err_t *err = NULL;
    if (kv_command(ex->kv, &r, &err, "XPENDING %s %s %s %s 1", exec_streams[stream],
                   KVC_JOBS_GROUP, id, id) < 0)
        return 1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 4 &&
        r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
        return (int)r->element[0]->element[3]->integer;
    return 1;
}

/* Queues the entries of an XCLAIM/XAUTOCLAIM entries array for the workers;
 * `how` names the way they came ("reclaimed", "rescued", "adopted"). */
static int take_over(exec_t *ex, int stream, const redisReply *entries, const char *how,
                     const char *from)
{
    int n = 0;
    for (size_t i = 0; i < kvc_entries_count(entries); i++) {
        kvc_entry_t e;
        if (!kvc_entry_at(entries, i, KVC_FIELD_JOB, &e))
            continue;
        int deliveries = deliveries_of(ex, stream, e.id);
        if (!exec_queue_push_claimed(ex, stream, e.id, e.value, e.len, deliveries))
            continue; /* ours already: queued or running */
        LOG_INFO("job taken over", "entry=%s stream=%s how=%s from=%s deliveries=%d", e.id,
                 exec_streams[stream], how, from ? from : "?", deliveries);
        char labels[32];
        snprintf(labels, sizeof labels, "how=\"%s\"", how);
        metrics_counter_add("dojo_executor_reclaimed_total", labels, 1);
        n++;
    }
    return n;
}

/* Entries of `stream` idle past DOJO_EXECUTOR_RECLAIM_IDLE, whoever holds
 * them; returns how many were taken. */
static int reclaim_idle(exec_t *ex, int stream, int want)
{
    char idle[32], count[16];
    snprintf(idle, sizeof idle, "%lld", (long long)ex->cfg.reclaim_idle_ms);
    snprintf(count, sizeof count, "%d", want);
    cleanup_redis_reply redisReply *r = NULL;
    cleanup_err err_t *err = NULL;
    if (kv_command(ex->kv, &r, &err, "XAUTOCLAIM %s %s %s %s 0-0 COUNT %s", exec_streams[stream],
                   KVC_JOBS_GROUP, ex->cfg.executor_id, idle, count) < 0) {
        if (!no_group(err))
            LOG_WARN("reclaim failed", "error=\"%s\"", log_esc(err->msg));
        return 0;
    }
    /* [next, entries, [deleted ids]] */
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
        return 0;
    int taken = take_over(ex, stream, r->element[1], "idle", NULL);
    /* Entries deleted from the stream while pending: nothing to run. */
    if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->element[2]->elements; i++) {
            cleanup_err err_t *e2 = NULL;
            if (exec_queue_ack(ex, stream, r->element[2]->element[i]->str, &e2) < 0)
                err_clear(&e2);
        }
    }
    return taken;
}

/* RESCUE_LUA for one consumer: claims up to `want` of its entries if it is
 * dead. Returns how many it claimed; *left: it left the group. */
static int rescue_from(exec_t *ex, int stream, const char *consumer, int want, bool *left)
{
    kvc_key_t marker;
    char min_idle[32], count[16];
    snprintf(min_idle, sizeof min_idle, "%lld", (long long)ex->cfg.heartbeat_ttl_ms);
    snprintf(count, sizeof count, "%d", want > 0 ? want : 0);
    const char *argv[] = {"EVAL",         RESCUE_LUA,          "2",      exec_streams[stream],
                          kvc_key_executor_alive(&marker, consumer), KVC_JOBS_GROUP, consumer,
                          ex->cfg.executor_id, min_idle, count};
    cleanup_redis_reply redisReply *r = NULL;
    cleanup_err err_t *err = NULL;
    *left = false;
    if (kv_command_argv(ex->kv, &r, 10, argv, NULL, &err) < 0) {
        if (!no_group(err))
            LOG_WARN("rescue failed", "consumer=%s error=\"%s\"", log_esc(consumer),
                     log_esc(err->msg));
        return 0;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return 0;
    *left = r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1;
    return take_over(ex, stream, r->element[1], "dead", consumer);
}

/* Every other consumer of the group on `stream`: the dead ones' entries, and
 * the dead ones themselves once empty. Returns how many were taken. */
static int rescue(exec_t *ex, int stream, int want)
{
    int taken = 0;
    cleanup_redis_reply redisReply *r = NULL;
    cleanup_err err_t *err = NULL;
    if (kv_command(ex->kv, &r, &err, "XINFO CONSUMERS %s %s", exec_streams[stream],
                   KVC_JOBS_GROUP) < 0) {
        if (!no_group(err))
            LOG_WARN("listing consumers failed", "error=\"%s\"", log_esc(err->msg));
        return 0;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *c = r->element[i];
        const char *name = NULL;
        for (size_t k = 0; c->type == REDIS_REPLY_ARRAY && k + 1 < c->elements; k += 2)
            if (c->element[k]->type == REDIS_REPLY_STRING && !strcmp(c->element[k]->str, "name") &&
                c->element[k + 1]->type == REDIS_REPLY_STRING)
                name = c->element[k + 1]->str;
        if (!name || !strcmp(name, ex->cfg.executor_id))
            continue;
        bool left;
        int n = rescue_from(ex, stream, name, want, &left);
        want -= n;
        taken += n;
        if (left) {
            LOG_INFO("dead consumer removed from the group", "consumer=%s stream=%s",
                     log_esc(name), exec_streams[stream]);
            metrics_counter_add("dojo_executor_consumers_removed_total", "", 1);
        }
    }
    return taken;
}

/* Entries pending under our own name now, before any worker ran, are an
 * earlier process's. */
static void adopt_own(exec_t *ex, int stream)
{
    int want = exec_queue_idle_workers(ex);
    char count[16];
    snprintf(count, sizeof count, "%d", want);
    cleanup_redis_reply redisReply *p = NULL;
    cleanup_err err_t *err = NULL;
    if (want <= 0 || kv_command(ex->kv, &p, &err, "XPENDING %s %s - + %s %s",
                                exec_streams[stream], KVC_JOBS_GROUP, count,
                                ex->cfg.executor_id) < 0)
        return;
    for (size_t i = 0; p->type == REDIS_REPLY_ARRAY && i < p->elements; i++) {
        const redisReply *e = p->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        cleanup_redis_reply redisReply *r = NULL;
        cleanup_err err_t *e2 = NULL;
        /* Not JUSTID: the delivery count rises, as for any redelivery. */
        if (kv_command(ex->kv, &r, &e2, "XCLAIM %s %s %s 0 %s", exec_streams[stream],
                       KVC_JOBS_GROUP, ex->cfg.executor_id, e->element[0]->str) == 0)
            take_over(ex, stream, r, "adopted", ex->cfg.executor_id);
    }
}

/* ------------------------------------------------------------------------
 * Heartbeats and trimming
 * ------------------------------------------------------------------------ */

static void mark_alive(exec_t *ex)
{
    kvc_key_t marker;
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ex->cfg.heartbeat_ttl_ms);
    cleanup_err err_t *err = NULL;
    if (kv_command(ex->kv, NULL, &err, "SET %s 1 PX %s",
                   kvc_key_executor_alive(&marker, ex->cfg.executor_id), ttl) < 0)
        LOG_WARN("alive marker not written", "error=\"%s\"", log_esc(err->msg));
}

/* Entries per XCLAIM of the heartbeat. */
#define BEAT_BATCH 64

/* The entries this executor holds: their idle time starts again (XCLAIM
 * JUSTID of up to BEAT_BATCH entries of one stream at a time); and the
 * running places of its jobs (fair.c). */
static void heartbeat_entries(exec_t *ex)
{
    cleanup_free exec_entry_t *held = NULL;
    int n = exec_queue_held_entries(ex, &held);
    for (int s = 0; s < EXEC_NSTREAMS; s++) {
        const char *argv[6 + BEAT_BATCH];
        int argc = 0;
        for (int i = 0; i <= n; i++) {
            if (argc == 0) {
                argv[argc++] = "XCLAIM";
                argv[argc++] = exec_streams[s];
                argv[argc++] = KVC_JOBS_GROUP;
                argv[argc++] = ex->cfg.executor_id;
                argv[argc++] = "0";
            }
            if (i < n && held[i].stream == s)
                argv[argc++] = held[i].id;
            if (argc == 5 + BEAT_BATCH || (i == n && argc > 5)) {
                argv[argc++] = "JUSTID";
                cleanup_redis_reply redisReply *r = NULL;
                cleanup_err err_t *err = NULL;
                if (kv_command_argv(ex->kv, &r, argc, argv, NULL, &err) < 0)
                    LOG_WARN("heartbeat failed", "stream=%s entries=%d error=\"%s\"",
                             exec_streams[s], argc - 6, log_esc(err->msg));
                argc = 0;
            }
        }
    }
    exec_fair_renew(ex);
}

static void trim(exec_t *ex, int stream)
{
    char retention[32];
    snprintf(retention, sizeof retention, "%lld", (long long)ex->cfg.job_retention_ms);
    cleanup_redis_reply redisReply *r = NULL;
    cleanup_err err_t *err = NULL;
    if (kv_command(ex->kv, &r, &err, "EVAL %s 1 %s %s %s", TRIM_LUA, exec_streams[stream],
                   KVC_JOBS_GROUP, retention) < 0) {
        if (!no_group(err))
            LOG_WARN("trimming the job stream failed", "error=\"%s\"", log_esc(err->msg));
        return;
    }
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        metrics_counter_add("dojo_executor_jobs_trimmed_total", "", (double)r->integer);
}

/* A clean stop: no marker, and no consumer unless it still holds entries. */
static void leave(exec_t *ex)
{
    kvc_key_t marker;
    cleanup_err err_t *err = NULL;
    if (kv_command(ex->kv, NULL, &err, "DEL %s",
                   kvc_key_executor_alive(&marker, ex->cfg.executor_id)) < 0) {
        LOG_WARN("alive marker not removed", "error=\"%s\"", log_esc(err->msg));
        return;
    }
    bool left = true;
    for (int s = 0; s < EXEC_NSTREAMS; s++) {
        bool gone;
        rescue_from(ex, s, ex->cfg.executor_id, 0, &gone);
        left = left && gone;
    }
    LOG_INFO("left the job group", "consumer_removed=%d", left);
}

/* ------------------------------------------------------------------------
 * The thread
 * ------------------------------------------------------------------------ */

/* When each task is due next (monotonic ms) and how often it runs. */
typedef struct upkeep {
    int64_t alive_at, alive_every;
    int64_t beat_at, beat_every;
    int64_t claim_at, claim_every;
} upkeep_t;

static void upkeep_init(upkeep_t *u, const exec_config_t *cfg)
{
    memset(u, 0, sizeof *u);
    u->alive_every = cfg->heartbeat_ttl_ms / 3;
    /* Entries must stay fresh for both the rescue (idle < the marker's TTL)
     * and XAUTOCLAIM (idle < reclaim_idle). */
    int64_t beat = cfg->reclaim_idle_ms / 3;
    if (beat > cfg->heartbeat_ttl_ms / 3)
        beat = cfg->heartbeat_ttl_ms / 3;
    u->beat_every = clamp_ms(beat, 100, 5000);
    u->claim_every = clamp_ms(cfg->reclaim_idle_ms / 3, 100, u->alive_every);
}

/* One pass of whatever is due; `taking` false once stopping (heartbeats
 * only, while the workers finish). */
static void upkeep_run(exec_t *ex, upkeep_t *u, bool taking)
{
    int64_t now = mono_ms();
    if (now >= u->alive_at) {
        mark_alive(ex);
        u->alive_at = now + u->alive_every;
    }
    if (now >= u->beat_at) {
        heartbeat_entries(ex);
        u->beat_at = now + u->beat_every;
    }
    if (taking && now >= u->claim_at) {
        /* The contest stream first, as everywhere. */
        for (int s = 0; s < EXEC_NSTREAMS; s++) {
            int want = atomic_load(&ex->draining) ? 0 : exec_queue_idle_workers(ex);
            rescue(ex, s, want); /* with want 0: dead consumers that hold nothing leave */
            want = atomic_load(&ex->draining) ? 0 : exec_queue_idle_workers(ex);
            if (want > 0)
                reclaim_idle(ex, s, want);
            trim(ex, s);
        }
        u->claim_at = now + u->claim_every;
    }
}

void exec_reclaim_start(exec_t *ex)
{
    mark_alive(ex);
    for (int s = 0; s < EXEC_NSTREAMS; s++)
        adopt_own(ex, s);
}

void *exec_reclaimer_main(void *arg)
{
    exec_t *ex = arg;
    upkeep_t u;
    upkeep_init(&u, &ex->cfg);
    while (!exec_queue_stopping(ex)) {
        upkeep_run(ex, &u, true);
        sleep_ms(50);
    }
    /* Keep heartbeats going while the workers finish their jobs. */
    while (exec_queue_busy(ex)) {
        upkeep_run(ex, &u, false);
        sleep_ms(50);
    }
    leave(ex);
    return NULL;
}
