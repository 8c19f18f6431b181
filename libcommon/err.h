/* err.h — the one error type of the tree: a gRPC status code, an errno and a
 * message, wrapped with context as it travels up ("login: load user: ...").
 *
 * Fallible functions return int (0 on success, negative on failure) and take
 * `err_t **err` last. Only the RPC boundary turns an error into a gRPC status;
 * only the HTTP boundary turns that into JSON. */
#ifndef DOJO_ERR_H
#define DOJO_ERR_H

#include <grpc/status.h>
#include <stdarg.h>

typedef struct err {
    grpc_status_code code; /* what the caller of the RPC will see */
    int errno_value;       /* 0 when not from a system call */
    char *msg;             /* full chain, innermost last: "a: b: c" */
    char *public_msg;      /* what a client may see; NULL = derive from code */
    int retry_after_s;     /* > 0 with RESOURCE_EXHAUSTED / UNAVAILABLE */
} err_t;

/** Creates an error with `code` and a printf-style message and stores it in
 * `*err` (if err is non-NULL and *err is still NULL). Always returns -1 so
 * callers can write `return err_set(err, ...)`. The message is public: clients
 * see it as the status message unless the code is INTERNAL/UNKNOWN. */
int err_set(err_t **err, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Like err_set, but the message is for the log only: clients see
 * `public_msg` instead (NULL: the generic text of the code). For messages of
 * libraries and servers (libpq, Redis) that may name tables or values. */
int err_set_private(err_t **err, grpc_status_code code, const char *public_msg,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Like err_set, with an errno value appended as ": strerror(errno)". The
 * code is INTERNAL; the message stays in the logs, clients see a generic one. */
int err_errno(err_t **err, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Prefixes context to an existing error: "ctx: old message". The public
 * message (if any) is kept as is. Returns -1. No-op when *err is NULL. */
int err_wrap(err_t **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The message a client may see: the public message, or for INTERNAL-like
 * codes a generic "internal error". Borrowed from `e`. */
const char *err_public_message(const err_t *e);

/** The status name, e.g. "INVALID_ARGUMENT". Static string. */
const char *err_code_name(grpc_status_code code);

/** Frees an error (NULL is fine). */
void err_free(err_t *e);

/** Frees *e and sets it to NULL. */
void err_clear(err_t **e);

#endif
