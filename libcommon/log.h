/* log.h — one line per event, `key=value` (default) or JSON, on stderr.
 *
 *   LOG_INFO("login ok", "user=%s", user_id);
 *   -> ts=2026-11-22T19:30:00.123Z level=info svc=auth rpc=Login req_id=ab12 msg="login ok" user=42
 *
 * The level is checked before anything is formatted. `svc` comes from
 * log_init; `rpc` and `req_id` from the calling thread's RPC context
 * (log_set_context). Never log passwords, tokens or submitted code. */
#ifndef DOJO_LOG_H
#define DOJO_LOG_H

#include <stdbool.h>

typedef enum { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;

extern log_level_t log_min_level;

/** Sets the service name and reads DOJO_LOG_LEVEL (debug|info|warn|error,
 * default info) and DOJO_LOG_FORMAT (text|json, default text). Exits with a
 * message naming the variable on a bad value. */
void log_init(const char *service);

/** Sets the per-thread context printed on every line (strings are copied;
 * NULL clears). */
void log_set_context(const char *rpc, const char *req_id, const char *user);

/** Writes one line. `msg` is a short fixed description; `kv_fmt` is a
 * printf format producing space-separated key=value pairs (may be NULL). */
void log_write(log_level_t level, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** `s` escaped for use inside a quoted value (`error=\"%s\"`): quotes,
 * backslashes and control characters are escaped, long text is cut at 1 KiB.
 * Returns one of four per-thread buffers, so up to four may appear in one
 * log call; each is valid until the fourth following call on the thread. */
const char *log_esc(const char *s);

#define DOJO_LOG(level, msg, ...)                                                                  \
    do {                                                                                           \
        if ((level) >= log_min_level)                                                              \
            log_write((level), (msg), __VA_ARGS__);                                                \
    } while (0)

#define LOG_DEBUG(msg, ...) DOJO_LOG(LOG_LEVEL_DEBUG, msg, __VA_ARGS__)
#define LOG_INFO(msg, ...) DOJO_LOG(LOG_LEVEL_INFO, msg, __VA_ARGS__)
#define LOG_WARN(msg, ...) DOJO_LOG(LOG_LEVEL_WARN, msg, __VA_ARGS__)
#define LOG_ERROR(msg, ...) DOJO_LOG(LOG_LEVEL_ERROR, msg, __VA_ARGS__)

#endif
