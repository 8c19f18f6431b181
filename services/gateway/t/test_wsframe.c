/* test_wsframe — the WebSocket's frame decoder and frame headers
 * (wsframe.c): masked client frames in whole or in pieces, fragmented
 * messages, the rules for control frames, limits and lengths, and the
 * headers of server frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/gateway/wsframe.h"

static const uint8_t MASK[4] = {0x12, 0x34, 0x56, 0x78};

/* A masked client frame into out; returns its length. */
static size_t client_frame(uint8_t *out, uint8_t first, const void *payload, size_t len)
{
    size_t h = 0;
    out[h++] = first;
    if (len < 126) {
        out[h++] = 0x80 | (uint8_t)len;
    } else if (len < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[h++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(out + h, MASK, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        out[h + i] = ((const uint8_t *)payload)[i] ^ MASK[i & 3];
    return h + len;
}

static ws_decoder_t decoder(size_t max)
{
    ws_decoder_t d;
    memset(&d, 0, sizeof d);
    d.max_message = max;
    return d;
}

static void test_a_masked_text_frame_is_one_message_unmasked(void **state)
{
    uint8_t buf[64];
    size_t n = client_frame(buf, 0x81, "{\"type\":\"ping\"}", 15);
    ws_decoder_t d = decoder(1024);
    ws_decoded_t out;
    assert_int_equal(ws_decode(&d, buf, n, &out), n);
    assert_int_equal(out.kind, WS_DECODED_MESSAGE);
    assert_int_equal(out.opcode, WS_OP_TEXT);
    assert_int_equal(out.len, 15);
    assert_memory_equal(out.data, "{\"type\":\"ping\"}", 15);
    ws_decoder_free(&d);
}

static void test_a_frame_cut_anywhere_waits_for_the_rest(void **state)
{
    uint8_t whole[400];
    char text[300];
    memset(text, 'x', sizeof text);
    size_t n = client_frame(whole, 0x81, text, sizeof text);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t buf[400];
        memcpy(buf, whole, n);
        ws_decoder_t d = decoder(1024);
        ws_decoded_t out;
        assert_int_equal(ws_decode(&d, buf, cut, &out), 0);
        assert_int_equal(out.kind, WS_DECODED_NONE);
        ws_decoder_free(&d);
    }
}

static void test_fragments_are_reassembled_around_a_ping(void **state)
{
    uint8_t buf[128];
    size_t n = client_frame(buf, 0x01, "hel", 3);
    n += client_frame(buf + n, 0x89, "p", 1);
    n += client_frame(buf + n, 0x80, "lo", 2);
    ws_decoder_t d = decoder(1024);
    ws_decoded_t out;
    size_t off = ws_decode(&d, buf, n, &out);
    assert_int_equal(out.kind, WS_DECODED_NONE);
    off += ws_decode(&d, buf + off, n - off, &out);
    assert_int_equal(out.kind, WS_DECODED_PING);
    assert_memory_equal(out.data, "p", 1);
    off += ws_decode(&d, buf + off, n - off, &out);
    assert_int_equal(out.kind, WS_DECODED_MESSAGE);
    assert_int_equal(out.opcode, WS_OP_TEXT);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.data, "hello", 5);
    assert_int_equal(off, n);
    ws_decoder_free(&d);
}

static void expect_error(uint8_t *buf, size_t n, ws_decoder_t *d, int code)
{
    ws_decoded_t out;
    ws_decode(d, buf, n, &out);
    assert_int_equal(out.kind, WS_DECODED_ERROR);
    assert_int_equal(out.close_code, code);
    assert_non_null(out.why);
}

static void test_unmasked_reserved_and_unknown_frames_are_protocol_errors(void **state)
{
    ws_decoder_t d = decoder(1024);
    uint8_t unmasked[] = {0x81, 0x02, 'h', 'i'};
    expect_error(unmasked, sizeof unmasked, &d, WS_CLOSE_PROTOCOL);
    uint8_t buf[32];
    size_t n = client_frame(buf, 0xC1, "hi", 2); /* RSV1 */
    expect_error(buf, n, &d, WS_CLOSE_PROTOCOL);
    n = client_frame(buf, 0x83, "hi", 2); /* opcode 3 */
    expect_error(buf, n, &d, WS_CLOSE_PROTOCOL);
    n = client_frame(buf, 0x8B, "hi", 2); /* opcode 0xB */
    expect_error(buf, n, &d, WS_CLOSE_PROTOCOL);
    n = client_frame(buf, 0x80, "hi", 2); /* continuation of nothing */
    expect_error(buf, n, &d, WS_CLOSE_PROTOCOL);
    ws_decoder_free(&d);
}

static void test_control_frames_are_short_and_never_fragmented(void **state)
{
    ws_decoder_t d = decoder(1024);
    uint8_t buf[256];
    char big[126];
    memset(big, 'p', sizeof big);
    size_t n = client_frame(buf, 0x89, big, sizeof big);
    expect_error(buf, n, &d, WS_CLOSE_PROTOCOL);
    n = client_frame(buf, 0x09, "p", 1);
    expect_error(buf, n, &d, WS_CLOSE_PROTOCOL);
    n = client_frame(buf, 0x88, "x", 1); /* a close payload of one byte */
    expect_error(buf, n, &d, WS_CLOSE_PROTOCOL);
    ws_decoder_free(&d);
}

static void test_a_new_message_inside_a_fragmented_one_is_refused(void **state)
{
    ws_decoder_t d = decoder(1024);
    uint8_t buf[64];
    size_t n = client_frame(buf, 0x01, "a", 1);
    ws_decoded_t out;
    assert_int_equal(ws_decode(&d, buf, n, &out), n);
    n = client_frame(buf, 0x81, "b", 1);
    expect_error(buf, n, &d, WS_CLOSE_PROTOCOL);
    ws_decoder_free(&d);
}

static void test_a_close_names_its_code_and_reason(void **state)
{
    ws_decoder_t d = decoder(1024);
    uint8_t buf[64];
    uint8_t payload[] = {0x03, 0xE8, 'b', 'y', 'e'};
    size_t n = client_frame(buf, 0x88, payload, sizeof payload);
    ws_decoded_t out;
    assert_int_equal(ws_decode(&d, buf, n, &out), n);
    assert_int_equal(out.kind, WS_DECODED_CLOSE);
    assert_int_equal(out.close_code, 1000);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "bye", 3);
    n = client_frame(buf, 0x88, "", 0);
    assert_int_equal(ws_decode(&d, buf, n, &out), n);
    assert_int_equal(out.kind, WS_DECODED_CLOSE);
    assert_int_equal(out.close_code, 0);
    ws_decoder_free(&d);
}

static void test_messages_over_the_limit_are_refused_before_they_arrive(void **state)
{
    ws_decoder_t d = decoder(100);
    uint8_t buf[16] = {0x81, 0x80 | 126, 0x00, 200};
    expect_error(buf, 4, &d, WS_CLOSE_TOO_BIG);
    /* Fragments that add up to more. */
    ws_decoder_t d2 = decoder(100);
    uint8_t frag[128];
    char part[60];
    memset(part, 'a', sizeof part);
    size_t n = client_frame(frag, 0x01, part, sizeof part);
    ws_decoded_t out;
    assert_int_equal(ws_decode(&d2, frag, n, &out), n);
    n = client_frame(frag, 0x80, part, sizeof part);
    expect_error(frag, n, &d2, WS_CLOSE_TOO_BIG);
    ws_decoder_free(&d);
    ws_decoder_free(&d2);
}

static void test_lengths_must_be_minimally_encoded(void **state)
{
    ws_decoder_t d = decoder(1 << 20);
    uint8_t short16[] = {0x81, 0x80 | 126, 0x00, 0x05, 0, 0, 0, 0};
    expect_error(short16, sizeof short16, &d, WS_CLOSE_PROTOCOL);
    uint8_t short64[] = {0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 0};
    expect_error(short64, sizeof short64, &d, WS_CLOSE_PROTOCOL);
    uint8_t huge[] = {0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    expect_error(huge, sizeof huge, &d, WS_CLOSE_PROTOCOL);
    ws_decoder_free(&d);
}

static void test_a_16_bit_and_a_64_bit_length_decode(void **state)
{
    size_t sizes[] = {126, 65535, 65536, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t len = sizes[k];
        uint8_t *payload = malloc(len);
        uint8_t *buf = malloc(len + 14);
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)(i * 7);
        size_t n = client_frame(buf, 0x82, payload, len);
        ws_decoder_t d = decoder(1 << 20);
        ws_decoded_t out;
        assert_int_equal(ws_decode(&d, buf, n, &out), n);
        assert_int_equal(out.kind, WS_DECODED_MESSAGE);
        assert_int_equal(out.opcode, WS_OP_BINARY);
        assert_int_equal(out.len, len);
        assert_memory_equal(out.data, payload, len);
        ws_decoder_free(&d);
        free(payload);
        free(buf);
    }
}

static void test_server_headers_use_the_shortest_length(void **state)
{
    uint8_t h[WS_FRAME_HEADER_MAX];
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 125), 2);
    assert_int_equal(h[0], 0x81);
    assert_int_equal(h[1], 125);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 126), 4);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 126);
    assert_int_equal(ws_frame_header(h, WS_OP_PING, 0), 2);
    assert_int_equal(h[0], 0x89);
    assert_int_equal(h[1], 0);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 65536), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7], 0x01);
    assert_int_equal(h[8], 0);
    assert_int_equal(h[9], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_masked_text_frame_is_one_message_unmasked),
        cmocka_unit_test(test_a_frame_cut_anywhere_waits_for_the_rest),
        cmocka_unit_test(test_fragments_are_reassembled_around_a_ping),
        cmocka_unit_test(test_unmasked_reserved_and_unknown_frames_are_protocol_errors),
        cmocka_unit_test(test_control_frames_are_short_and_never_fragmented),
        cmocka_unit_test(test_a_new_message_inside_a_fragmented_one_is_refused),
        cmocka_unit_test(test_a_close_names_its_code_and_reason),
        cmocka_unit_test(test_messages_over_the_limit_are_refused_before_they_arrive),
        cmocka_unit_test(test_lengths_must_be_minimally_encoded),
        cmocka_unit_test(test_a_16_bit_and_a_64_bit_length_decode),
        cmocka_unit_test(test_server_headers_use_the_shortest_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
