/* err.c — the error type: creation, wrapping with context, public messages,
 * and the hints the boundaries read (retry-after, HTTP status). */
#define _GNU_SOURCE
#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static bool code_is_internal(grpc_status_code code)
{
    return code == GRPC_STATUS_INTERNAL || code == GRPC_STATUS_UNKNOWN ||
           code == GRPC_STATUS_DATA_LOSS;
}

/* Takes ownership of msg. */
static int err_new(err_t **err, grpc_status_code code, int errno_value, char *msg)
{
    if (err == NULL || *err != NULL) {
        free(msg);
        return -1;
    }
    err_t *e = xcalloc(1, sizeof *e);
    e->code = code;
    e->errno_value = errno_value;
    e->msg = msg;
    if (!code_is_internal(code))
        e->public_msg = xstrdup(msg);
    *err = e;
    return -1;
}

int err_set(err_t **err, grpc_status_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return err_new(err, code, 0, msg);
}

int err_set_private(err_t **err, grpc_status_code code, const char *public_msg, const char *fmt,
                    ...)
{
    if (err == NULL || *err != NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    err_new(err, code, 0, msg);
    free((*err)->public_msg);
    (*err)->public_msg = xstrdup(public_msg);
    return -1;
}

int err_errno(err_t **err, int errno_value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *head = xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = xasprintf("%s: %s", head, strerror(errno_value));
    free(head);
    return err_new(err, GRPC_STATUS_INTERNAL, errno_value, msg);
}

int err_wrap(err_t **err, const char *fmt, ...)
{
    if (err == NULL || *err == NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char *ctx = xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
    free(ctx);
    free((*err)->msg);
    (*err)->msg = msg;
    return -1;
}

int err_recode(err_t **err, grpc_status_code code, const char *public_msg)
{
    if (err == NULL || *err == NULL)
        return -1;
    (*err)->code = code;
    if (public_msg != NULL) {
        free((*err)->public_msg);
        (*err)->public_msg = xstrdup(public_msg);
    }
    return -1;
}

int err_set_retry_after(err_t **err, int seconds)
{
    if (err == NULL || *err == NULL)
        return -1;
    (*err)->retry_after_s = seconds > 0 ? seconds : 0;
    return -1;
}

int err_set_http(err_t **err, int http_status, const char *http_code, const char *field)
{
    if (err == NULL || *err == NULL)
        return -1;
    err_t *e = *err;
    free(e->http_code);
    free(e->field);
    e->http_status = http_status;
    e->http_code = xstrdup(http_code);
    e->field = field != NULL && field[0] != '\0' ? xstrdup(field) : NULL;
    return -1;
}

const char *err_public_message(const err_t *e)
{
    if (e == NULL)
        return "";
    if (e->public_msg != NULL)
        return e->public_msg;
    switch (e->code) {
    case GRPC_STATUS_UNAVAILABLE:
        return "service unavailable, try again";
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return "deadline exceeded";
    default:
        return "internal error";
    }
}

const char *err_code_name(grpc_status_code code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if ((int)code < 0 || (size_t)code >= sizeof names / sizeof names[0])
        return "UNKNOWN";
    return names[code];
}

void err_free(err_t *e)
{
    if (e == NULL)
        return;
    free(e->msg);
    free(e->public_msg);
    free(e->http_code);
    free(e->field);
    free(e);
}

void err_clear(err_t **e)
{
    err_free(*e);
    *e = NULL;
}
