/* wsframe.c — RFC 6455 frames, decoded and encoded without I/O (wsframe.h). */
#include "services/gateway/wsframe.h"

#include <stdlib.h>
#include <string.h>

static size_t decode_error(ws_decoded_t *out, int code, const char *why)
{
    out->kind = WS_DECODED_ERROR;
    out->close_code = code;
    out->why = why;
    return 0;
}

size_t ws_decode(ws_decoder_t *d, uint8_t *in, size_t len, ws_decoded_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = WS_DECODED_NONE;
    if (len < 2)
        return 0;
    bool fin = in[0] & 0x80;
    uint8_t opcode = in[0] & 0x0F;
    if (in[0] & 0x70)
        return decode_error(out, WS_CLOSE_PROTOCOL, "reserved bits set");
    if (!(in[1] & 0x80))
        return decode_error(out, WS_CLOSE_PROTOCOL, "client frames must be masked");
    uint64_t plen = in[1] & 0x7F;
    size_t hlen = 2;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = (uint64_t)in[2] << 8 | in[3];
        hlen = 4;
        if (plen < 126)
            return decode_error(out, WS_CLOSE_PROTOCOL, "length not minimally encoded");
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | in[2 + i];
        hlen = 10;
        if (plen >> 63)
            return decode_error(out, WS_CLOSE_PROTOCOL, "length over 2^63");
        if (plen < 65536)
            return decode_error(out, WS_CLOSE_PROTOCOL, "length not minimally encoded");
    }
    bool control = opcode & 0x08;
    if (control) {
        if (opcode != WS_OP_CLOSE && opcode != WS_OP_PING && opcode != WS_OP_PONG)
            return decode_error(out, WS_CLOSE_PROTOCOL, "unknown control opcode");
        if (!fin)
            return decode_error(out, WS_CLOSE_PROTOCOL, "fragmented control frame");
        if (plen > 125)
            return decode_error(out, WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
    } else if (opcode != WS_OP_CONT && opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) {
        return decode_error(out, WS_CLOSE_PROTOCOL, "unknown data opcode");
    } else if (opcode == WS_OP_CONT && d->frag_opcode == 0) {
        return decode_error(out, WS_CLOSE_PROTOCOL, "continuation without a message");
    } else if (opcode != WS_OP_CONT && d->frag_opcode != 0) {
        return decode_error(out, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
    }
    if (!control && plen + (opcode == WS_OP_CONT ? d->frag_len : 0) > d->max_message)
        return decode_error(out, WS_CLOSE_TOO_BIG, "message too big");
    const uint8_t *mask = in + hlen;
    hlen += 4;
    if (len < hlen || len - hlen < plen)
        return 0;
    uint8_t *p = in + hlen;
    for (size_t i = 0; i < plen; i++)
        p[i] ^= mask[i & 3];
    size_t took = hlen + (size_t)plen;

    if (control) {
        out->data = p;
        out->len = (size_t)plen;
        if (opcode == WS_OP_PING) {
            out->kind = WS_DECODED_PING;
        } else if (opcode == WS_OP_PONG) {
            out->kind = WS_DECODED_PONG;
        } else {
            if (plen == 1)
                return decode_error(out, WS_CLOSE_PROTOCOL, "close payload of one byte");
            out->kind = WS_DECODED_CLOSE;
            if (plen >= 2) {
                out->close_code = p[0] << 8 | p[1];
                out->data = p + 2;
                out->len = (size_t)plen - 2;
            }
        }
        return took;
    }
    if (fin && opcode != WS_OP_CONT) {
        /* The common case, a message in one frame: no copy. */
        out->kind = WS_DECODED_MESSAGE;
        out->opcode = opcode;
        out->data = p;
        out->len = (size_t)plen;
        return took;
    }
    if (opcode != WS_OP_CONT) {
        d->frag_opcode = opcode;
        d->frag_len = 0;
    }
    if (d->frag_len + plen > d->frag_cap) {
        size_t cap = d->frag_cap ? d->frag_cap : 1024;
        while (cap < d->frag_len + plen)
            cap *= 2;
        uint8_t *n = realloc(d->frag, cap);
        if (n == NULL)
            abort();
        d->frag = n;
        d->frag_cap = cap;
    }
    if (plen > 0)
        memcpy(d->frag + d->frag_len, p, (size_t)plen);
    d->frag_len += (size_t)plen;
    if (fin) {
        out->kind = WS_DECODED_MESSAGE;
        out->opcode = d->frag_opcode;
        out->data = d->frag;
        out->len = d->frag_len;
        d->frag_opcode = 0;
    }
    return took;
}

void ws_decoder_free(ws_decoder_t *d)
{
    free(d->frag);
    d->frag = NULL;
    d->frag_len = d->frag_cap = 0;
    d->frag_opcode = 0;
}

size_t ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len)
{
    out[0] = 0x80 | (opcode & 0x0F);
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}
