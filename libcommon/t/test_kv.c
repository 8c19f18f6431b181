/* test_kv — the Redis pool against a real server named by
 * DOJO_TEST_REDIS_ADDR (skipped when unset). Keys are dojo:t:<random>:…
 * and deleted at the end. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "libcommon/kv.h"
#include "testutil.h"

static const char *redis_addr;
static kv_pool_t *pool;
static char prefix[40];

#define SKIP_WITHOUT_REDIS()                                                                       \
    do {                                                                                           \
        if (redis_addr == NULL)                                                                    \
            skip();                                                                                \
    } while (0)

static void must(int rc, err_t **err, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %s", what, *err ? (*err)->msg : "(no error)");
}

/* A test key: prefix + name (static buffer per call site is enough here). */
static const char *key(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s:%s", prefix, name);
    return buf;
}

static int setup(void **state)
{
    if (redis_addr == NULL)
        return 0;
    char hex[13];
    random_hex(hex, 12);
    snprintf(prefix, sizeof prefix, "dojo:t:%s", hex);
    cleanup_err err_t *err = NULL;
    if (kv_pool_open(&pool, redis_addr, 3, 2000, &err) < 0) {
        fprintf(stderr, "kv_pool_open: %s\n", err->msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    if (redis_addr == NULL)
        return 0;
    /* SCAN + DEL of our prefix (the test server may be shared). */
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%s:*", prefix);
    cleanup_err err_t *err = NULL;
    char cursor[32] = "0";
    do {
        cleanup_redis_reply redisReply *r = NULL;
        if (kv_command(pool, &r, &err, "SCAN %s MATCH %s COUNT 1000", cursor, pattern) < 0)
            break;
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            kv_command(pool, NULL, &err, "DEL %s", r->element[1]->element[i]->str);
    } while (strcmp(cursor, "0") != 0);
    kv_pool_close(pool);
    return 0;
}

static void test_binary_values_round_trip(void **state)
{
    SKIP_WITHOUT_REDIS();
    char k[64];
    key(k, sizeof k, "bin");
    const char value[] = {'a', '\0', '\r', '\n', 'b'};
    const char *argv[] = {"SET", k, value};
    const size_t argvlen[] = {3, strlen(k), sizeof value};
    cleanup_err err_t *err = NULL;
    must(kv_command_argv(pool, NULL, 3, argv, argvlen, &err), &err, "set");

    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, "GET %s", k), &err, "get");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, sizeof value);
    assert_memory_equal(r->str, value, sizeof value);
}

static void test_format_arguments_are_never_spliced_into_the_command(void **state)
{
    SKIP_WITHOUT_REDIS();
    char k[64];
    key(k, sizeof k, "with space");
    cleanup_err err_t *err = NULL;
    /* Were the value spliced, Redis would see SET <k> x EX 1 and expire it. */
    must(kv_command(pool, NULL, &err, "SET %s %s", k, "x EX 1"), &err, "set");
    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, "GET %s", k), &err, "get");
    assert_string_equal(r->str, "x EX 1");
    cleanup_redis_reply redisReply *ttl = NULL;
    must(kv_command(pool, &ttl, &err, "TTL %s", k), &err, "ttl");
    assert_int_equal(ttl->integer, -1);
}

static void test_error_reply_is_internal_and_carries_the_message(void **state)
{
    SKIP_WITHOUT_REDIS();
    char k[64];
    key(k, sizeof k, "str");
    cleanup_err err_t *err = NULL;
    must(kv_command(pool, NULL, &err, "SET %s notanumber", k), &err, "set");
    redisReply *r = NULL;
    assert_int_equal(kv_command(pool, &r, &err, "INCR %s", k), -1);
    assert_null(r);
    assert_int_equal(err->code, GRPC_STATUS_INTERNAL);
    assert_non_null(strstr(err->msg, "not an integer"));
    assert_non_null(strstr(err->msg, "INCR"));
    assert_string_equal(err_public_message(err), "internal error");
}

static void test_existing_consumer_group_maps_to_already_exists(void **state)
{
    SKIP_WITHOUT_REDIS();
    char k[64];
    key(k, sizeof k, "stream");
    cleanup_err err_t *err = NULL;
    must(kv_command(pool, NULL, &err, "XGROUP CREATE %s workers $ MKSTREAM", k), &err, "create");
    assert_int_equal(kv_command(pool, NULL, &err, "XGROUP CREATE %s workers $ MKSTREAM", k), -1);
    assert_int_equal(err->code, GRPC_STATUS_ALREADY_EXISTS);
    assert_non_null(strstr(err->msg, "BUSYGROUP"));
}

static void test_pipeline_returns_one_reply_per_command(void **state)
{
    SKIP_WITHOUT_REDIS();
    char k[64];
    key(k, sizeof k, "counter");
    const char *incr[] = {"INCR", k};
    const char *incrby[] = {"INCRBY", k, "10"};
    const char *get[] = {"GET", k};
    const kv_cmd_t cmds[] = {{2, incr, NULL}, {3, incrby, NULL}, {2, get, NULL}};
    redisReply *replies[3];
    cleanup_err err_t *err = NULL;
    must(kv_pipeline(pool, cmds, 3, replies, &err), &err, "pipeline");
    assert_int_equal(replies[0]->integer, 1);
    assert_int_equal(replies[1]->integer, 11);
    assert_string_equal(replies[2]->str, "11");
    for (int i = 0; i < 3; i++)
        freeReplyObject(replies[i]);
}

static void test_pipeline_with_an_error_reply_fails_and_keeps_the_connection_usable(void **state)
{
    SKIP_WITHOUT_REDIS();
    char k[64], s[64];
    key(k, sizeof k, "pcounter");
    key(s, sizeof s, "pstring");
    cleanup_err err_t *err = NULL;
    must(kv_command(pool, NULL, &err, "SET %s text", s), &err, "set");
    const char *a[] = {"INCR", k};
    const char *b[] = {"INCR", s}; /* fails: not an integer */
    const char *c[] = {"INCR", k};
    const kv_cmd_t cmds[] = {{2, a, NULL}, {2, b, NULL}, {2, c, NULL}};
    redisReply *replies[3];
    assert_int_equal(kv_pipeline(pool, cmds, 3, replies, &err), -1);
    assert_non_null(strstr(err->msg, "pipeline[1]"));
    for (int i = 0; i < 3; i++)
        assert_null(replies[i]);
    err_clear(&err);
    /* All three ran, and every connection is still in step. */
    for (int i = 0; i < 6; i++) {
        cleanup_redis_reply redisReply *r = NULL;
        must(kv_command(pool, &r, &err, "GET %s", k), &err, "get");
        assert_string_equal(r->str, "2");
    }
}

static void test_lost_connection_is_unavailable_then_replaced(void **state)
{
    SKIP_WITHOUT_REDIS();
    cleanup_err err_t *err = NULL;
    kv_pool_t *one = NULL;
    must(kv_pool_open(&one, redis_addr, 1, 2000, &err), &err, "open");
    cleanup_redis_reply redisReply *id = NULL;
    must(kv_command(one, &id, &err, "CLIENT ID"), &err, "client id");

    char id_text[32];
    snprintf(id_text, sizeof id_text, "%lld", id->integer);
    must(kv_command(pool, NULL, &err, "CLIENT KILL ID %s", id_text), &err, "kill");

    assert_int_equal(kv_command(one, NULL, &err, "PING"), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_string_equal(err_public_message(err), "service unavailable, try again");
    err_clear(&err);

    cleanup_redis_reply redisReply *pong = NULL;
    must(kv_command(one, &pong, &err, "PING"), &err, "ping after reconnect");
    assert_string_equal(pong->str, "PONG");
    kv_pool_close(one);
}

static void test_slow_command_times_out_as_unavailable(void **state)
{
    SKIP_WITHOUT_REDIS();
    char k[64];
    key(k, sizeof k, "never");
    cleanup_err err_t *err = NULL;
    kv_pool_t *quick = NULL;
    must(kv_pool_open(&quick, redis_addr, 1, 200, &err), &err, "open");
    /* BLPOP blocks 2 s, longer than the pool's 200 ms. */
    assert_int_equal(kv_command(quick, NULL, &err, "BLPOP %s 2", k), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_non_null(strstr(err->msg, "timed out"));
    err_clear(&err);
    /* The half-read connection was dropped, not reused. */
    cleanup_redis_reply redisReply *pong = NULL;
    must(kv_command(quick, &pong, &err, "PING"), &err, "ping");
    assert_string_equal(pong->str, "PONG");
    kv_pool_close(quick);
}

static void test_open_with_wrong_address_is_unavailable(void **state)
{
    SKIP_WITHOUT_REDIS();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    cleanup_err err_t *err = NULL;
    kv_pool_t *p = NULL;
    assert_int_equal(kv_pool_open(&p, addr, 1, 500, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_non_null(strstr(err->msg, "connect to redis"));
}

static void test_malformed_address_is_invalid_argument(void **state)
{
    cleanup_err err_t *err = NULL;
    kv_pool_t *p = NULL;
    assert_int_equal(kv_pool_open(&p, "no-port", 1, 500, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
}

int main(void)
{
    redis_addr = test_env_or_null("DOJO_TEST_REDIS_ADDR");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_values_round_trip),
        cmocka_unit_test(test_format_arguments_are_never_spliced_into_the_command),
        cmocka_unit_test(test_error_reply_is_internal_and_carries_the_message),
        cmocka_unit_test(test_existing_consumer_group_maps_to_already_exists),
        cmocka_unit_test(test_pipeline_returns_one_reply_per_command),
        cmocka_unit_test(test_pipeline_with_an_error_reply_fails_and_keeps_the_connection_usable),
        cmocka_unit_test(test_lost_connection_is_unavailable_then_replaced),
        cmocka_unit_test(test_slow_command_times_out_as_unavailable),
        cmocka_unit_test(test_open_with_wrong_address_is_unavailable),
        cmocka_unit_test(test_malformed_address_is_invalid_argument),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
