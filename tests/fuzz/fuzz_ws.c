/* fuzz_ws — what a WebSocket client sends the gateway: frames decoded by
 * wslay configured as ws.c configures it (server side, 64 KiB messages),
 * then each text message read as ws.c reads it (a JSON object without
 * duplicate keys; its type, submission id and resume point checked with the
 * gateway's gw_valid_uuid and gw_valid_stream_id), on any bytes.
 *
 * Input: one byte of mode, then either client frames (mode odd) or one text
 * message (mode even: reaches the message reader without a valid frame).
 * Properties: a message over the configured length never reaches the
 * reader; an id the validators accept has the shape they promise. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "fuzz.h"
#include "services/gateway/gateway.h"

#define WS_MAX_MSG (64 * 1024) /* as ws.c */

static void fail(const char *what, const char *detail)
{
    fuzz_fail("fuzz_ws: %s: %.600s", what, detail ? detail : "(null)");
}

static void check_uuid(const char *s)
{
    if (!gw_valid_uuid(s))
        return;
    if (strlen(s) != 36)
        fail("a UUID of the wrong length", s);
    for (int i = 0; i < 36; i++)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            fail("a UUID of the wrong shape", s);
}

static void check_stream_id(const char *s)
{
    if (!gw_valid_stream_id(s))
        return;
    char *end = NULL;
    if (!isdigit((unsigned char)s[0]) || strlen(s) > 40)
        fail("a stream id of the wrong shape", s);
    (void)strtoull(s, &end, 10);
    if (*end == '-') {
        if (!isdigit((unsigned char)end[1]))
            fail("a stream id with an empty sequence", s);
        (void)strtoull(end + 1, &end, 10);
    }
    if (*end != '\0')
        fail("a stream id with more than ms-seq", s);
}

static void read_message(const char *text, size_t len)
{
    /* An exact-size copy: reading past the message is caught. */
    char *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, text, len);
    json_error_t jerr;
    json_t *msg = json_loadb(copy, len, JSON_REJECT_DUPLICATES, &jerr);
    if (json_is_object(msg)) {
        const char *type = json_string_value(json_object_get(msg, "type"));
        const char *sub = json_string_value(json_object_get(msg, "submission_id"));
        const char *after = json_string_value(json_object_get(msg, "after"));
        json_t *id = json_object_get(msg, "id");
        if (type)
            (void)strcmp(type, "subscribe");
        if (sub)
            check_uuid(sub);
        if (after)
            check_stream_id(after);
        if (id) {
            char *echo = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
            if (echo == NULL)
                fail("an id that cannot be echoed", "");
            free(echo);
        }
        json_t *d = json_object_get(msg, "data");
        if (json_is_string(d) && strlen(json_string_value(d)) != json_string_length(d))
            fail("stdin data with a NUL inside", "");
    }
    json_decref(msg);
    /* The validators on the raw text too (NUL-terminated). */
    char *z = malloc(len + 1);
    if (len)
        memcpy(z, text, len);
    z[len] = '\0';
    check_uuid(z);
    check_stream_id(z);
    free(z);
    free(copy);
}

typedef struct feed {
    const uint8_t *data;
    size_t size, off;
} feed_t;

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    feed_t *f = user;
    if (f->off >= f->size) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    /* Short reads, as from a socket. */
    size_t n = f->size - f->off;
    if (n > len)
        n = len;
    if (n > 7)
        n = 7 + f->data[f->off] % (n - 7 + 1);
    memcpy(buf, f->data + f->off, n);
    f->off += n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    return (ssize_t)len;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    if (arg->opcode == WSLAY_BINARY_FRAME) {
        const char *why = "text frames only";
        wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, (const uint8_t *)why,
                                strlen(why));
        return;
    }
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        if (arg->msg_length > WS_MAX_MSG)
            fail("a message over the configured length", "");
        read_message((const char *)arg->msg, arg->msg_length);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    if (mode % 2 == 0) {
        read_message((const char *)data, size);
        return 0;
    }
    feed_t f = {.data = data, .size = size};
    struct wslay_event_callbacks cbs = {
        .recv_callback = recv_cb,
        .send_callback = send_cb,
        .on_msg_recv_callback = on_msg,
    };
    wslay_event_context_ptr ctx;
    if (wslay_event_context_server_init(&ctx, &cbs, &f) != 0)
        abort();
    wslay_event_config_set_max_recv_msg_length(ctx, WS_MAX_MSG);
    /* As ws.c's loop: receive while wslay wants to, then send what it queued. */
    for (int i = 0; i < 4096 && f.off < f.size && wslay_event_want_read(ctx); i++) {
        if (wslay_event_recv(ctx) != 0)
            break;
        if (wslay_event_send(ctx) != 0)
            break;
    }
    wslay_event_context_free(ctx);
    return 0;
}
