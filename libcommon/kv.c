/* kv.c — Redis: a fixed-size pool of hiredis connections, made lazily and
 * replaced after any failure. */
#define _GNU_SOURCE
#include "kv.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "slots.h"

typedef struct kv_slot {
    redisContext *ctx; /* NULL until used, or after a failure */
} kv_slot_t;

struct kv_pool {
    slots_t leases; /* which of slots[] are lent out */
    char *host;
    int port;
    int timeout_ms;
    int size;
    kv_slot_t *slots;
};

/* ---------------------------------------------------------------------------
 * Errors
 *
 * Redis and socket messages are for the log; clients get a fixed text per
 * code (err_public_message derives it when public_msg is NULL). */

static const char *public_text(grpc_status_code code)
{
    return code == GRPC_STATUS_ALREADY_EXISTS ? "already exists" : NULL;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Redis error replies start with an upper-case code word ("WRONGTYPE ...").
 * Those listed here are conditions a caller handles (an existing consumer
 * group) or that pass (a replica loading, a failover). */
static grpc_status_code status_for_redis_error(const char *msg)
{
    if (has_prefix(msg, "BUSYGROUP"))
        return GRPC_STATUS_ALREADY_EXISTS;
    if (has_prefix(msg, "LOADING") || has_prefix(msg, "BUSY ") || has_prefix(msg, "MASTERDOWN") ||
        has_prefix(msg, "READONLY") || has_prefix(msg, "TRYAGAIN"))
        return GRPC_STATUS_UNAVAILABLE;
    return GRPC_STATUS_INTERNAL;
}

/* ---------------------------------------------------------------------------
 * Pool */

static int parse_addr(const char *addr, char **host, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr)
        return -1;
    const char *h = addr;
    size_t hlen = (size_t)(colon - addr);
    if (h[0] == '[') { /* [::1]:6379 */
        if (hlen < 2 || h[hlen - 1] != ']')
            return -1;
        h++;
        hlen -= 2;
    }
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p <= 0 || p > 65535)
        return -1;
    if ((*host = strndup(h, hlen)) == NULL)
        abort();
    *port = (int)p;
    return 0;
}

static struct timeval ms_to_tv(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static void slot_drop(kv_slot_t *slot)
{
    if (slot->ctx != NULL)
        redisFree(slot->ctx);
    slot->ctx = NULL;
}

static int slot_connect(kv_pool_t *pool, kv_slot_t *slot, err_t **err)
{
    if (slot->ctx != NULL && slot->ctx->err == 0)
        return 0;
    slot_drop(slot);
    slot->ctx = redisConnectWithTimeout(pool->host, pool->port, ms_to_tv(pool->timeout_ms));
    if (slot->ctx == NULL)
        abort(); /* hiredis returns NULL only when out of memory */
    if (slot->ctx->err == 0 && redisSetTimeout(slot->ctx, ms_to_tv(pool->timeout_ms)) == REDIS_OK)
        return 0;
    err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL, "connect to redis %s:%d: %s", pool->host,
                    pool->port, slot->ctx->errstr[0] ? slot->ctx->errstr : "cannot set timeout");
    slot_drop(slot);
    return -1;
}

int kv_pool_open(kv_pool_t **out, const char *addr, int size, int timeout_ms, err_t **err)
{
    if (size < 1 || timeout_ms < 1)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "redis pool size and timeout must be positive");
    kv_pool_t *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        abort();
    if (parse_addr(addr, &pool->host, &pool->port) < 0) {
        free(pool);
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "redis address \"%s\" is not host:port",
                       addr);
    }

    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    slots_init(&pool->leases, size);
    pool->timeout_ms = timeout_ms;
    pool->size = size;
    if ((pool->slots = calloc((size_t)size, sizeof *pool->slots)) == NULL)
        abort();

    if (slot_connect(pool, &pool->slots[0], err) < 0) {
        kv_pool_close(pool);
        return -1;
    }
    *out = pool;
    return 0;
}

void kv_pool_close(kv_pool_t *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++)
        slot_drop(&pool->slots[i]);
    slots_destroy(&pool->leases);
    free(pool->slots);
    free(pool->host);
    free(pool);
}

static bool slot_connected(int index, void *payload)
{
    return ((kv_pool_t *)payload)->slots[index].ctx != NULL;
}

static int pool_acquire(kv_pool_t *pool, kv_slot_t **out, err_t **err)
{
    int i = slots_take(&pool->leases, pool->timeout_ms, slot_connected, pool);
    if (i < 0)
        return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL,
                               "redis pool: no connection free within %d ms (pool size %d)",
                               pool->timeout_ms, pool->size);
    *out = &pool->slots[i];
    return 0;
}

static void pool_release(kv_pool_t *pool, kv_slot_t *slot)
{
    /* A failed context may hold half a reply: never reuse it. */
    if (slot->ctx != NULL && slot->ctx->err != 0)
        slot_drop(slot);
    slots_put(&pool->leases, (int)(slot - pool->slots));
}

/* ---------------------------------------------------------------------------
 * Commands */

/* Checks one reply; consumes it on failure. */
static int reply_check(kv_pool_t *pool, kv_slot_t *slot, redisReply *reply, const char *what,
                       err_t **err)
{
    if (reply == NULL) {
        const char *why = slot->ctx->errstr[0] ? slot->ctx->errstr : "connection lost";
        /* hiredis reports a read timeout as EAGAIN's text; say what it means. */
        if (slot->ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
            why = "timed out";
        return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL, "redis %s:%d: %s: %s",
                               pool->host, pool->port, what, why);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        grpc_status_code code = status_for_redis_error(reply->str);
        int rc = err_set_private(err, code, public_text(code), "redis: %s: %s", what, reply->str);
        freeReplyObject(reply);
        return rc;
    }
    return 0;
}

/* The command name for messages, never its arguments (they may be secrets
 * or user data). */
static void command_name(char *buf, size_t cap, int argc, const char **argv,
                         const size_t *argvlen)
{
    if (argc < 1) {
        snprintf(buf, cap, "(empty)");
        return;
    }
    size_t n = argvlen ? argvlen[0] : strlen(argv[0]);
    snprintf(buf, cap, "%.*s", (int)(n < 32 ? n : 32), argv[0]);
}

int kv_command_argv(kv_pool_t *pool, redisReply **out, int argc, const char **argv,
                    const size_t *argvlen, err_t **err)
{
    char name[40];
    command_name(name, sizeof name, argc, argv, argvlen);
    kv_slot_t *slot = NULL;
    if (pool_acquire(pool, &slot, err) < 0 || slot_connect(pool, slot, err) < 0) {
        if (slot != NULL)
            pool_release(pool, slot);
        return err_wrap(err, "%s", name);
    }
    redisReply *reply = redisCommandArgv(slot->ctx, argc, argv, argvlen);
    int rc = reply_check(pool, slot, reply, name, err);
    pool_release(pool, slot);
    if (rc < 0)
        return -1;
    if (out != NULL)
        *out = reply;
    else
        freeReplyObject(reply);
    return 0;
}

int kv_command(kv_pool_t *pool, redisReply **out, err_t **err, const char *fmt, ...)
{
    char name[40];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(fmt, " "), fmt);
    kv_slot_t *slot = NULL;
    if (pool_acquire(pool, &slot, err) < 0 || slot_connect(pool, slot, err) < 0) {
        if (slot != NULL)
            pool_release(pool, slot);
        return err_wrap(err, "%s", name);
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *reply = redisvCommand(slot->ctx, fmt, ap);
    va_end(ap);
    int rc = reply_check(pool, slot, reply, name, err);
    pool_release(pool, slot);
    if (rc < 0)
        return -1;
    if (out != NULL)
        *out = reply;
    else
        freeReplyObject(reply);
    return 0;
}

int kv_pipeline(kv_pool_t *pool, const kv_cmd_t *cmds, size_t count, redisReply **replies,
                err_t **err)
{
    for (size_t i = 0; i < count; i++)
        replies[i] = NULL;
    if (count == 0)
        return 0;
    kv_slot_t *slot = NULL;
    if (pool_acquire(pool, &slot, err) < 0 || slot_connect(pool, slot, err) < 0) {
        if (slot != NULL)
            pool_release(pool, slot);
        return err_wrap(err, "pipeline");
    }

    for (size_t i = 0; i < count; i++)
        if (redisAppendCommandArgv(slot->ctx, cmds[i].argc, cmds[i].argv, cmds[i].argvlen) !=
            REDIS_OK)
            abort(); /* only fails when out of memory */

    /* Every reply is read even after an error reply, so the connection stays
     * in step with the server and can be reused. */
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        void *r = NULL;
        if (redisGetReply(slot->ctx, &r) != REDIS_OK)
            r = NULL;
        char what[96], name[40];
        command_name(name, sizeof name, cmds[i].argc, cmds[i].argv, cmds[i].argvlen);
        snprintf(what, sizeof what, "pipeline[%zu] %s", i, name);
        if (reply_check(pool, slot, r, what, err) < 0) {
            rc = -1;
            if (r == NULL)
                break; /* the connection is gone; it is dropped on release */
            continue;
        }
        replies[i] = r;
    }
    pool_release(pool, slot);
    if (rc < 0) {
        for (size_t i = 0; i < count; i++) {
            if (replies[i] != NULL)
                freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
    }
    return rc;
}
