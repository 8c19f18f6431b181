/* fuzz_ws — what a WebSocket client sends the gateway: frames decoded by
 * wsframe.c's ws_decode as ws.c's loop drives it (short reads, a partial
 * frame kept, 64 KiB messages),
 * then each text message read as ws.c reads it (a JSON object without
 * duplicate keys; its type, submission id and resume point checked with the
 * gateway's gw_valid_uuid and gw_valid_stream_id), on any bytes.
 *
 * Input: one byte of mode, then either client frames (mode odd) or one text
 * message (mode even: reaches the message reader without a valid frame).
 * Properties: a message over the configured length never reaches the
 * reader; an id the validators accept has the shape they promise; and the
 * decoder makes the same frames of a stream whether it comes all at once or
 * cut into short reads. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "services/gateway/gateway.h"
#include "services/gateway/wsframe.h"

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

/* What the decoder made of a stream, frame by frame, to compare two runs. */
#define MAX_EVENTS 512
typedef struct event {
    int kind, opcode, close_code;
    size_t len;
    uint64_t hash;
} event_t;
typedef struct run {
    event_t ev[MAX_EVENTS];
    int n;
} run_t;

static void record(run_t *run, const ws_decoded_t *out)
{
    if (out->kind == WS_DECODED_NONE || run->n >= MAX_EVENTS)
        return;
    event_t *e = &run->ev[run->n++];
    memset(e, 0, sizeof *e);
    e->kind = (int)out->kind;
    e->opcode = out->kind == WS_DECODED_MESSAGE ? out->opcode : 0;
    e->close_code = out->close_code;
    e->len = out->len;
    e->hash = 1469598103934665603ull;
    for (size_t i = 0; out->data && i < out->len; i++)
        e->hash = (e->hash ^ out->data[i]) * 1099511628211ull;
}

/* Feeds `data` to the decoder in short reads, as from a socket (or, with
 * `whole`, all at once), keeping a partial frame as ws.c's loop keeps it
 * (conn_readable, conn_frames); what it decodes goes to `run`. */
static void decode_all(const uint8_t *data, size_t size, bool whole, run_t *run)
{
    run->n = 0;
    ws_decoder_t d;
    memset(&d, 0, sizeof d);
    d.max_message = WS_MAX_MSG;
    size_t cap = WS_MAX_MSG + 4096, len = 0, off = 0;
    uint8_t *buf = malloc(cap);
    bool broken = false;
    for (int reads = 0; reads < 4096 && off < size && !broken; reads++) {
        size_t n = size - off;
        if (n > 7 && !whole)
            n = 7 + data[off] % (n - 7 + 1);
        if (n > cap - len)
            n = cap - len;
        if (n == 0)
            break;
        memcpy(buf + len, data + off, n);
        off += n;
        len += n;
        size_t used = 0;
        while (used < len) {
            ws_decoded_t out;
            size_t took = ws_decode(&d, buf + used, len - used, &out);
            if (took > len - used)
                fail("the decoder took more than it was given", "");
            used += took;
            record(run, &out);
            if (out.kind == WS_DECODED_ERROR) {
                if (out.why == NULL || out.close_code < 1000)
                    fail("an error without a reason or close code", "");
                broken = true;
                break;
            }
            if (out.kind == WS_DECODED_MESSAGE) {
                if (out.len > WS_MAX_MSG)
                    fail("a message over the configured length", "");
                if (out.opcode == WS_OP_TEXT) {
                    if (!whole)
                        read_message((const char *)out.data, out.len);
                } else if (out.opcode != WS_OP_BINARY) {
                    fail("a message that is neither text nor binary", "");
                }
            } else if ((out.kind == WS_DECODED_PING || out.kind == WS_DECODED_PONG ||
                        out.kind == WS_DECODED_CLOSE) &&
                       out.len > 125) {
                fail("a control frame over 125 bytes", "");
            } else if (out.kind == WS_DECODED_CLOSE) {
                broken = true; /* ws.c ends the connection here */
                break;
            }
            if (took == 0)
                break;
        }
        memmove(buf, buf + used, len - used);
        len -= used;
    }
    ws_decoder_free(&d);
    free(buf);
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
    /* The same events however the bytes were cut into reads. */
    static run_t cut, whole;
    decode_all(data, size, false, &cut);
    decode_all(data, size, true, &whole);
    if (cut.n != whole.n)
        fail("the frames decoded depend on how the bytes were cut into reads", "");
    for (int i = 0; i < cut.n; i++)
        if (memcmp(&cut.ev[i], &whole.ev[i], sizeof cut.ev[i]) != 0)
            fail("a frame decoded depends on how the bytes were cut into reads", "");
    return 0;
}
