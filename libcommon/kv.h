/* kv.h — Redis through hiredis: a small pool of connections that reconnect.
 *
 * hiredis contexts are not thread-safe, so each command borrows one
 * connection for its duration. A connection that failed is dropped and a new
 * one is made on the next use; the failed command reports UNAVAILABLE (it is
 * not retried: the server may or may not have run it). */
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
 * each command (so a blocking command such as XREADGROUP BLOCK n needs a pool
 * whose timeout exceeds n). One connection is made now so a wrong address
 * fails at start (UNAVAILABLE). Sets SIGPIPE to ignored if it still has its
 * default action: hiredis writes with write(2), and a Redis restart must not
 * kill the process. *out is new: kv_pool_close it. */
int kv_pool_open(kv_pool_t **out, const char *addr, int size, int timeout_ms, err_t **err);

/** Closes every connection and frees the pool (NULL is fine). No command may
 * be running. */
void kv_pool_close(kv_pool_t *pool);

/** Runs one command given as binary-safe arguments (`argvlen` may be NULL for
 * NUL-terminated ones). On success *out (when non-NULL) is a new reply to
 * free (cleanup_redis_reply). Errors: no free connection in time, a broken
 * connection or a timeout → UNAVAILABLE (the command is not retried; the
 * connection is replaced on next use). A Redis error reply becomes an error
 * carrying Redis' message: BUSYGROUP → ALREADY_EXISTS; LOADING, BUSY,
 * MASTERDOWN, READONLY, TRYAGAIN → UNAVAILABLE; anything else INTERNAL. */
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
 * NULL; note that the other commands have still run. */
int kv_pipeline(kv_pool_t *pool, const kv_cmd_t *cmds, size_t count, redisReply **replies,
                err_t **err);

#endif
