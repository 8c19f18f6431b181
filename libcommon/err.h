/* err.h — the one error type of the tree: a gRPC status code, an errno and a
 * message, wrapped with context as it travels up ("login: load user: ...").
 *
 * Fallible functions return int (0 on success, negative on failure) and take
 * `err_t **err` last. Only the RPC boundary turns an error into a gRPC status;
 * only the HTTP boundary turns that into JSON.
 *
 * Read the fields freely; change them only through the functions below (so a
 * public message, a retry hint or an HTTP status never gets out of step with
 * the rest). */
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
    /* How the HTTP boundary answers (err_set_http); 0 / NULL = derived there
     * from `code`. */
    int http_status; /* e.g. 413 */
    char *http_code; /* the JSON error code, e.g. "payload_too_large" */
    char *field;     /* the request field concerned, or NULL */
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

/** Changes the code of an existing error, e.g. to UNAVAILABLE when whatever
 * failed downstream means "try again later" to our callers. A non-NULL
 * `public_msg` replaces what a client sees; NULL keeps it. Returns -1. No-op
 * when *err is NULL. */
int err_recode(err_t **err, grpc_status_code code, const char *public_msg);

/** Asks the client to retry after `seconds` (> 0): the RPC boundary sends it
 * as the retry-after trailer, the HTTP boundary as Retry-After. Returns -1.
 * No-op when *err is NULL. */
int err_set_retry_after(err_t **err, int seconds);

/** Says how the HTTP boundary answers this error: with `http_status`, the
 * JSON error code `http_code` ("csrf_failed") and the request field it
 * concerns (`field`, NULL for none). Without it the boundary derives all
 * three from the gRPC code. The strings are copied. Returns -1. No-op when
 * *err is NULL. */
int err_set_http(err_t **err, int http_status, const char *http_code, const char *field);

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
