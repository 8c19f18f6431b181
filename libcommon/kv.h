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

/** Opens a pool of `size` connections to `addr` ("host:port"), with
 * `timeout_ms` for connect and each command. One connection is made now so a
 * wrong address fails at start (UNAVAILABLE). *out is new: kv_pool_close it. */
int kv_pool_open(kv_pool_t **out, const char *addr, int size, int timeout_ms, err_t **err);

/** Closes every connection. */
void kv_pool_close(kv_pool_t *pool);

/** Runs one command given as binary-safe arguments. On success *out (when
 * non-NULL) is a new reply to free (cleanup_redis_reply). A Redis error reply
 * becomes an INTERNAL error carrying Redis' message. */
int kv_command_argv(kv_pool_t *pool, redisReply **out, int argc, const char **argv,
                    const size_t *argvlen, err_t **err);

/** Runs one command written as a hiredis format ("INCR %s", key); %s and %b
 * arguments are sent as separate binary-safe arguments, never spliced into
 * the command text. Same ownership and errors as kv_command_argv. */
int kv_command(kv_pool_t *pool, redisReply **out, err_t **err, const char *fmt, ...);

/** Runs several commands in one round trip on one connection (a pipeline).
 * `cmds` are hiredis formats without arguments substitution beyond what the
 * caller pre-built with redisFormatCommand; replies[i] are new. */
int kv_pipeline(kv_pool_t *pool, int count, char **formatted_cmds, const int *formatted_lens,
                redisReply **replies, err_t **err);

#endif
