/* wsframe.h — RFC 6455 framing as pure functions: the server side's decoder
 * of client frames (masking, fragmentation, control frames, limits) and the
 * header of the frames it sends. No I/O, no threads, no allocation but the
 * decoder's buffer for fragmented messages: what the WebSocket layer (ws.c)
 * feeds with bytes from a socket, and what a fuzzer can feed with anything.
 *
 * Not supported, refused as protocol errors: extensions (RSV bits), unmasked
 * client frames. Text is not checked for UTF-8 here (the JSON parser does). */
#ifndef DOJO_GATEWAY_WSFRAME_H
#define DOJO_GATEWAY_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 7.4.1). */
enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
};

/** The largest header of a frame: 2 + 8 (length) + 4 (mask). */
#define WS_FRAME_HEADER_MAX 14

/** What one ws_decode call found. */
typedef enum ws_decoded_kind {
    WS_DECODED_NONE,    /* nothing whole yet: feed more bytes */
    WS_DECODED_MESSAGE, /* a whole text or binary message (opcode in `opcode`) */
    WS_DECODED_PING,
    WS_DECODED_PONG,
    WS_DECODED_CLOSE,   /* the peer's close; `close_code` 0 when it named none */
    WS_DECODED_ERROR,   /* the stream is broken: close with `close_code` */
} ws_decoded_kind_t;

typedef struct ws_decoded {
    ws_decoded_kind_t kind;
    uint8_t opcode;        /* WS_OP_TEXT or WS_OP_BINARY for a message */
    const uint8_t *data;   /* the payload: borrowed from the input or the
                              decoder, valid until the next ws_decode */
    size_t len;
    int close_code;
    const char *why;       /* for an error: a short static reason */
} ws_decoded_t;

/** A decoder of one connection's client frames. Zero it, set max_message,
 * and ws_decoder_free it at the end. */
typedef struct ws_decoder {
    size_t max_message;    /* bytes of a (reassembled) message; more: 1009 */
    uint8_t *frag;         /* a fragmented message being reassembled (new) */
    size_t frag_len, frag_cap;
    uint8_t frag_opcode;   /* 0: no message in progress */
} ws_decoder_t;

/** Decodes the first whole frame of in[0..len), unmasking its payload in
 * place, and returns the number of bytes it took (0 when no whole frame is
 * there yet: keep the bytes and feed them again with more). *out says what
 * the frame amounted to: a continuation frame that does not end its message
 * is taken with kind WS_DECODED_NONE. After WS_DECODED_ERROR the stream is
 * unusable (the return value is then 0 or the bytes taken). */
size_t ws_decode(ws_decoder_t *d, uint8_t *in, size_t len, ws_decoded_t *out);

/** Frees the reassembly buffer (the decoder may be used again). */
void ws_decoder_free(ws_decoder_t *d);

/** Writes the header of an unmasked, final server frame with `opcode` and a
 * payload of `len` bytes into out (WS_FRAME_HEADER_MAX bytes); returns its
 * length. */
size_t ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len);

#endif
