/* kv.h — Redis through hiredis: a small pool of connections that reconnect,
 * and dedicated connections for blocking commands.
 *
 * hiredis contexts are not thread-safe, so each command borrows one
 * connection for its duration. What is spelled in Redis (key names, TTLs,
 * entry formats) is the services' contract and lives in kvc.h, not here.
 *
 * Reconnecting and retrying. A command is sent once more, on a fresh
 * connection, only when it certainly did not reach the server:
 *   - before a connection is used it is checked (a poll that does not wait):
 *     one the server closed while it sat idle — a Redis restart, CLIENT
 *     KILL, the server's idle timeout — has its end of file waiting and is
 *     replaced before anything is sent;
 *   - if writing the command fails before its first byte left (the socket
 *     turned out dead), it is sent once more on a new connection.
 * A command that was sent and then failed — the connection dropped before
 * the answer, or no answer within the timeout — is never retried: the server
 * may have run it (an XADD, an INCR, an XREADGROUP that delivered entries).
 * It fails UNAVAILABLE and its connection is replaced on the next use; the
 * caller knows whether its command may be repeated. So after a restart the
 * first commands succeed as soon as Redis accepts connections again. */
#ifndef DOJO_KV_H
#define DOJO_KV_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "err.h"

typedef struct kv_pool kv_pool_t;

static inline void cleanup_redis_reply_fn(redisReply **r)
{
    if (*r)
        freeReplyObject(*r);
}
#define cleanup_redis_reply __attribute__((cleanup(cleanup_redis_reply_fn)))

/** Opens a pool of `size` connections to `addr` ("host:port", "[v6]:port"),
 * with `timeout_ms` both for waiting for a free connection and for connect and
 * each command (a blocking command belongs on a kv_conn_t, below). One
 * connection is made now so a wrong address fails at start (UNAVAILABLE).
 * Sets SIGPIPE to ignored if it still has its default action: hiredis writes
 * with write(2), and a Redis restart must not kill the process. *out is new:
 * kv_pool_close it. Thread-safe once open. */
int kv_pool_open(kv_pool_t **out, const char *addr, int size, int timeout_ms, err_t **err);

/** Closes every connection and frees the pool (NULL is fine). No command may
 * be running, and every kv_conn_t opened on it must be closed first. */
void kv_pool_close(kv_pool_t *pool);

/** Runs one command given as binary-safe arguments (`argvlen` may be NULL for
 * NUL-terminated ones). On success *out (when non-NULL) is a new reply to
 * free (cleanup_redis_reply). Errors: no free connection in time, Redis not
 * reachable, a connection lost after sending or a timeout → UNAVAILABLE (see
 * the retry rule above). A Redis error reply becomes an error carrying Redis'
 * message: BUSYGROUP → ALREADY_EXISTS; LOADING, BUSY, MASTERDOWN, READONLY,
 * TRYAGAIN → UNAVAILABLE; anything else INTERNAL. Thread-safe. */
int kv_command_argv(kv_pool_t *pool, redisReply **out, int argc, const char **argv,
                    const size_t *argvlen, err_t **err);

/** Runs one command written as a hiredis format ("INCR %s", key); %s and %b
 * arguments are sent as separate binary-safe arguments, never spliced into
 * the command text. Same ownership and errors as kv_command_argv. (err comes
 * before the format because of the variable arguments.) */
int kv_command(kv_pool_t *pool, redisReply **out, err_t **err, const char *fmt, ...);

/** One command of a pipeline: binary-safe arguments as for kv_command_argv
 * (`argvlen` may be NULL). Borrowed by kv_pipeline for the call only. */
typedef struct kv_cmd {
    int argc;
    const char **argv;
    const size_t *argvlen;
} kv_cmd_t;

/** Runs `count` commands in one round trip on one connection (a pipeline;
 * wrap them in MULTI … EXEC for atomicity). On success replies[i] (an array
 * of `count` the caller provides) are new replies to freeReplyObject. If the
 * connection fails, or any reply is a Redis error, the call fails as
 * kv_command_argv would (naming the command index) and every replies[i] is
 * NULL; note that the other commands have still run. The retry rule above
 * holds for the pipeline as a whole. Thread-safe. */
int kv_pipeline(kv_pool_t *pool, const kv_cmd_t *cmds, size_t count, redisReply **replies,
                err_t **err);

/* ---------------------------------------------------------------------------
 * Dedicated connections
 *
 * A blocking command (XREAD BLOCK, XREADGROUP BLOCK) holds its connection
 * for as long as it waits; on the pool it would starve short commands. A
 * kv_conn_t is one connection of its own to the pool's server, made on first
 * use and remade after a failure, under the same retry rule. */

typedef struct kv_conn kv_conn_t;

/** Prepares a dedicated connection to `pool`'s server (connected on first
 * use, so this cannot fail). *out is new: kv_conn_close it before the pool.
 * Commands on it come from one thread at a time; kv_conn_client_id from any. */
void kv_conn_open(kv_conn_t **out, kv_pool_t *pool);

/** Closes the connection and frees it (NULL is fine). No command may be
 * running on it. */
void kv_conn_close(kv_conn_t *conn);

/** Runs one command that may wait up to `wait_ms` on the server (a BLOCK
 * argument); the answer may take that long plus the pool's timeout. Same
 * arguments, ownership, errors and retry rule as kv_command_argv. */
int kv_conn_command_argv(kv_conn_t *conn, int wait_ms, redisReply **out, int argc,
                         const char **argv, const size_t *argvlen, err_t **err);

/** The server's CLIENT ID of the current connection (for CLIENT UNBLOCK from
 * another thread), 0 while not connected. Any thread. */
long long kv_conn_client_id(const kv_conn_t *conn);

#endif
