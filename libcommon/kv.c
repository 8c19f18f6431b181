/* kv.c — Redis: a fixed-size pool of hiredis connections, made lazily,
 * checked before each use and replaced after any failure; and dedicated
 * connections for blocking commands, under the same rules. */
#define _GNU_SOURCE
#include "kv.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "slots.h"

typedef struct kv_slot {
    redisContext *ctx;      /* NULL until used, or after a failure */
    int timeout_ms;         /* the socket timeout set on ctx */
    atomic_llong client_id; /* CLIENT ID of ctx (dedicated connections only), else 0 */
} kv_slot_t;

struct kv_pool {
    slots_t leases; /* which of slots[] are lent out */
    char *host;
    int port;
    int timeout_ms;
    int size;
    kv_slot_t *slots;
};

struct kv_conn {
    kv_pool_t *pool;
    kv_slot_t slot;
};

/* One command in the wire format (RESP), formatted once so that it can be
 * sent again on a fresh connection. */
typedef struct wire {
    char *cmd;
    size_t len;
} wire_t;

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

/* Fails for an error reply (consuming it); 0 for any other. */
static int reply_check(redisReply *reply, const char *what, err_t **err)
{
    if (reply->type != REDIS_REPLY_ERROR)
        return 0;
    grpc_status_code code = status_for_redis_error(reply->str);
    int rc = err_set_private(err, code, public_text(code), "redis: %s: %s", what, reply->str);
    freeReplyObject(reply);
    return rc;
}

/* The command name for messages, never its arguments (they may be secrets
 * or user data). */
static void command_name(char *buf, size_t cap, int argc, const char **argv, const size_t *argvlen)
{
    if (argc < 1) {
        snprintf(buf, cap, "(empty)");
        return;
    }
    size_t n = argvlen ? argvlen[0] : strlen(argv[0]);
    snprintf(buf, cap, "%.*s", (int)(n < 32 ? n : 32), argv[0]);
}

static wire_t wire_argv(int argc, const char **argv, const size_t *argvlen)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0)
        abort(); /* only fails when out of memory */
    return (wire_t){cmd, (size_t)len};
}

/* ---------------------------------------------------------------------------
 * Connections */

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
    *host = xstrndup(h, hlen);
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
    atomic_store(&slot->client_id, 0);
}

/* Connects a slot that has no usable connection. With `want_id` it also
 * learns the connection's CLIENT ID (for CLIENT UNBLOCK). */
static int slot_connect(kv_pool_t *pool, kv_slot_t *slot, bool want_id, err_t **err)
{
    if (slot->ctx != NULL && slot->ctx->err == 0)
        return 0;
    slot_drop(slot);
    slot->ctx = redisConnectWithTimeout(pool->host, pool->port, ms_to_tv(pool->timeout_ms));
    if (slot->ctx == NULL)
        abort(); /* hiredis returns NULL only when out of memory */
    slot->timeout_ms = pool->timeout_ms;
    const char *why = NULL;
    if (slot->ctx->err != 0)
        why = slot->ctx->errstr;
    else if (redisSetTimeout(slot->ctx, ms_to_tv(pool->timeout_ms)) != REDIS_OK)
        why = "cannot set timeout";
    if (why == NULL && want_id) {
        redisReply *id = redisCommand(slot->ctx, "CLIENT ID");
        if (id != NULL && id->type == REDIS_REPLY_INTEGER)
            atomic_store(&slot->client_id, id->integer);
        else
            why = id == NULL ? slot->ctx->errstr : "CLIENT ID: unexpected reply";
        if (id != NULL)
            freeReplyObject(id);
    }
    if (why == NULL)
        return 0;
    err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL, "connect to redis %s:%d: %s", pool->host,
                    pool->port, why[0] ? why : "connection lost");
    slot_drop(slot);
    return -1;
}

/* An idle connection in step with the server has nothing to read. One the
 * server closed while it sat in the pool (a restart, CLIENT KILL, the
 * server's idle timeout) has its end of file or a reset waiting: poll
 * without waiting tells before anything is sent on it. */
static bool slot_stale(const kv_slot_t *slot)
{
    struct pollfd p = {.fd = slot->ctx->fd, .events = POLLIN | POLLRDHUP};
    return poll(&p, 1, 0) != 0;
}

/* Sends `n` commands in one write burst and reads their replies into
 * replies[]. Returns how many replies were read (n when all went well);
 * fewer when the connection failed, with *unsent true if it failed before
 * the first byte left (the commands certainly did not run), and *timed_out
 * when the server did not answer in time. */
static size_t slot_exchange(kv_slot_t *slot, const wire_t *w, size_t n, redisReply **replies,
                            bool *unsent, bool *timed_out)
{
    redisContext *ctx = slot->ctx;
    *unsent = false;
    *timed_out = false;
    for (size_t i = 0; i < n; i++)
        if (redisAppendFormattedCommand(ctx, w[i].cmd, w[i].len) != REDIS_OK)
            abort(); /* only fails when out of memory */
    /* Each redisBufferWrite is one write(2): when the first one fails,
     * nothing of the commands was sent. */
    bool first = true;
    for (int done = 0; !done; first = false) {
        if (redisBufferWrite(ctx, &done) != REDIS_OK) {
            *unsent = first;
            return 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        errno = 0;
        if (redisGetReply(ctx, &r) != REDIS_OK || r == NULL) {
            /* hiredis reports a read timeout as EAGAIN's text. */
            *timed_out = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
            return i;
        }
        replies[i] = r;
    }
    return n;
}

/* Runs `n` commands in one round trip on `slot` (a pooled or a dedicated
 * connection) with `timeout_ms` for the answer: replaces a stale connection
 * before use and sends once more when the first try certainly did not leave
 * (the rule in kv.h). On success replies[0..n) are new replies, error
 * replies included; on failure (UNAVAILABLE) all are NULL and the slot holds
 * no connection. `what` names the command for messages. */
static int slot_run(kv_pool_t *pool, kv_slot_t *slot, bool want_id, int timeout_ms, const wire_t *w,
                    size_t n, redisReply **replies, const char *what, err_t **err)
{
    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    for (int attempt = 0;; attempt++) {
        if (slot->ctx != NULL && slot->ctx->err == 0 && slot_stale(slot)) {
            LOG_DEBUG("redis connection closed by the server; reconnecting", "redis=%s:%d",
                      pool->host, pool->port);
            slot_drop(slot);
        }
        if (slot_connect(pool, slot, want_id, err) < 0)
            return err_wrap(err, "%s", what);
        if (slot->timeout_ms != timeout_ms) {
            if (redisSetTimeout(slot->ctx, ms_to_tv(timeout_ms)) != REDIS_OK) {
                slot_drop(slot);
                return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL,
                                       "redis %s:%d: %s: cannot set timeout", pool->host,
                                       pool->port, what);
            }
            slot->timeout_ms = timeout_ms;
        }
        bool unsent, timed_out;
        size_t got = slot_exchange(slot, w, n, replies, &unsent, &timed_out);
        if (got == n)
            return 0;
        char why[128];
        snprintf(why, sizeof why, "%s",
                 timed_out              ? "timed out"
                 : slot->ctx->errstr[0] ? slot->ctx->errstr
                                        : "connection lost");
        for (size_t i = 0; i < got; i++) {
            freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
        /* A failed context may hold half a reply: never reuse it. */
        slot_drop(slot);
        if (unsent && attempt == 0) {
            LOG_DEBUG("redis connection found dead when sending; sending again on a new one",
                      "redis=%s:%d error=\"%s\"", pool->host, pool->port, log_esc(why));
            continue;
        }
        if (n > 1)
            return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL, "redis %s:%d: %s[%zu]: %s",
                                   pool->host, pool->port, what, got, why);
        return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL, "redis %s:%d: %s: %s",
                               pool->host, pool->port, what, why);
    }
}

/* ---------------------------------------------------------------------------
 * Pool */

int kv_pool_open(kv_pool_t **out, const char *addr, int size, int timeout_ms, err_t **err)
{
    if (size < 1 || timeout_ms < 1)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "redis pool size and timeout must be positive");
    kv_pool_t *pool = xcalloc(1, sizeof *pool);
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
    pool->slots = xcalloc((size_t)size, sizeof *pool->slots);

    if (slot_connect(pool, &pool->slots[0], false, err) < 0) {
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

/* Runs `n` commands on a pooled connection (slot_run's contract). */
static int pool_run(kv_pool_t *pool, const wire_t *w, size_t n, redisReply **replies,
                    const char *what, err_t **err)
{
    int i = slots_take(&pool->leases, pool->timeout_ms, slot_connected, pool);
    if (i < 0) {
        for (size_t k = 0; k < n; k++)
            replies[k] = NULL;
        return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL,
                               "redis pool: %s: no connection free within %d ms (pool size %d)",
                               what, pool->timeout_ms, pool->size);
    }
    int rc = slot_run(pool, &pool->slots[i], false, pool->timeout_ms, w, n, replies, what, err);
    slots_put(&pool->leases, i);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Commands */

/* After a command of `w` ran with `rc`: frees the command, checks the
 * reply, and hands it to *out (or frees it when out is NULL). */
static int command_done(wire_t w, int rc, redisReply *reply, redisReply **out, const char *name,
                        err_t **err)
{
    redisFreeCommand(w.cmd);
    if (rc < 0 || reply_check(reply, name, err) < 0)
        return -1;
    if (out != NULL)
        *out = reply;
    else
        freeReplyObject(reply);
    return 0;
}

/* Runs one formatted command on the pool and checks its reply. */
static int command_wire(kv_pool_t *pool, wire_t w, redisReply **out, const char *name, err_t **err)
{
    redisReply *reply = NULL;
    int rc = pool_run(pool, &w, 1, &reply, name, err);
    return command_done(w, rc, reply, out, name, err);
}

int kv_command_argv(kv_pool_t *pool, redisReply **out, int argc, const char **argv,
                    const size_t *argvlen, err_t **err)
{
    char name[40];
    command_name(name, sizeof name, argc, argv, argvlen);
    return command_wire(pool, wire_argv(argc, argv, argvlen), out, name, err);
}

int kv_command(kv_pool_t *pool, redisReply **out, err_t **err, const char *fmt, ...)
{
    char name[40];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(fmt, " "), fmt);
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len == -2)
        return err_set(err, GRPC_STATUS_INTERNAL, "redis: %s: invalid command format", name);
    if (len < 0)
        abort(); /* out of memory */
    return command_wire(pool, (wire_t){cmd, (size_t)len}, out, name, err);
}

int kv_pipeline(kv_pool_t *pool, const kv_cmd_t *cmds, size_t count, redisReply **replies,
                err_t **err)
{
    for (size_t i = 0; i < count; i++)
        replies[i] = NULL;
    if (count == 0)
        return 0;
    wire_t *w = xcalloc(count, sizeof *w);
    for (size_t i = 0; i < count; i++)
        w[i] = wire_argv(cmds[i].argc, cmds[i].argv, cmds[i].argvlen);
    int rc = pool_run(pool, w, count, replies, "pipeline", err);
    for (size_t i = 0; i < count; i++)
        redisFreeCommand(w[i].cmd);
    free(w);
    if (rc < 0)
        return -1;

    /* Every reply was read, so the connection stayed in step with the
     * server; now report the first error reply. */
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (replies[i]->type != REDIS_REPLY_ERROR)
            continue;
        char what[96], name[40];
        command_name(name, sizeof name, cmds[i].argc, cmds[i].argv, cmds[i].argvlen);
        snprintf(what, sizeof what, "pipeline[%zu] %s", i, name);
        rc = reply_check(replies[i], what, err);
        replies[i] = NULL;
    }
    if (rc < 0) {
        for (size_t i = 0; i < count; i++) {
            if (replies[i] != NULL)
                freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Dedicated connections */

void kv_conn_open(kv_conn_t **out, kv_pool_t *pool)
{
    kv_conn_t *conn = xcalloc(1, sizeof *conn);
    conn->pool = pool;
    atomic_init(&conn->slot.client_id, 0);
    *out = conn;
}

void kv_conn_close(kv_conn_t *conn)
{
    if (conn == NULL)
        return;
    slot_drop(&conn->slot);
    free(conn);
}

int kv_conn_command_argv(kv_conn_t *conn, int wait_ms, redisReply **out, int argc,
                         const char **argv, const size_t *argvlen, err_t **err)
{
    char name[40];
    command_name(name, sizeof name, argc, argv, argvlen);
    wire_t w = wire_argv(argc, argv, argvlen);
    redisReply *reply = NULL;
    int wait = wait_ms > 0 ? wait_ms : 0;
    int rc = slot_run(conn->pool, &conn->slot, true, conn->pool->timeout_ms + wait, &w, 1, &reply,
                      name, err);
    return command_done(w, rc, reply, out, name, err);
}

long long kv_conn_client_id(const kv_conn_t *conn)
{
    return atomic_load(&conn->slot.client_id);
}
