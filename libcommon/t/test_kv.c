/* test_kv — the Redis pool against a real server named by
 * DOJO_TEST_REDIS_ADDR (skipped when unset; keys are dojo:t:<random>:… and
 * deleted at the end), and against a redis-server of the test's own on a free
 * loopback port, which it stops and restarts. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

static void test_connection_killed_while_idle_is_replaced_before_use(void **state)
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

    /* The server closed it while it sat in the pool: the next command finds
     * that out before sending and goes out on a new connection. */
    cleanup_redis_reply redisReply *again = NULL;
    must(kv_command(one, &again, &err, "CLIENT ID"), &err, "client id after the kill");
    assert_int_not_equal(again->integer, id->integer);
    kv_pool_close(one);
}

/* Runs BLPOP on a pool of one connection (a thread of the test below). */
typedef struct blpop_arg {
    kv_pool_t *pool;
    const char *key;
    int rc;
    grpc_status_code code;
} blpop_arg_t;

static void *blpop_main(void *p)
{
    blpop_arg_t *a = p;
    err_t *err = NULL;
    a->rc = kv_command(a->pool, NULL, &err, "BLPOP %s 5", a->key);
    a->code = err ? err->code : GRPC_STATUS_OK;
    err_free(err);
    return NULL;
}

static void test_connection_lost_after_sending_fails_and_is_not_sent_again(void **state)
{
    SKIP_WITHOUT_REDIS();
    char k[64];
    key(k, sizeof k, "blocked");
    cleanup_err err_t *err = NULL;
    kv_pool_t *one = NULL;
    must(kv_pool_open(&one, redis_addr, 1, 10000, &err), &err, "open");
    cleanup_redis_reply redisReply *id = NULL;
    must(kv_command(one, &id, &err, "CLIENT ID"), &err, "client id");

    blpop_arg_t arg = {.pool = one, .key = k};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, blpop_main, &arg), 0);
    /* Wait until the BLPOP blocks on the server, then cut its connection.
     * Sent again, it would block another 5 s and then succeed (nil). */
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%lld", id->integer);
    bool blocked = false;
    for (int i = 0; i < 500 && !blocked; i++) {
        cleanup_redis_reply redisReply *list = NULL;
        must(kv_command(pool, &list, &err, "CLIENT LIST ID %s", id_text), &err, "client list");
        blocked = list->type == REDIS_REPLY_STRING && strstr(list->str, "cmd=blpop") != NULL;
        if (!blocked)
            test_sleep_ms(10);
    }
    assert_true(blocked);
    must(kv_command(pool, NULL, &err, "CLIENT KILL ID %s", id_text), &err, "kill");
    pthread_join(t, NULL);
    assert_int_equal(arg.rc, -1);
    assert_int_equal(arg.code, GRPC_STATUS_UNAVAILABLE);

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

/* ---- against a Redis of the test's own, which it restarts. */

static pid_t own_pid = -1;
static char *own_dir;

static int own_redis_teardown(void **state)
{
    test_redis_stop(own_pid);
    own_pid = -1;
    if (own_dir != NULL)
        rmdir(own_dir);
    free(own_dir);
    own_dir = NULL;
    return 0;
}

static void test_first_commands_after_a_redis_restart_succeed(void **state)
{
    int port = free_port();
    own_dir = test_tmpdir();
    assert_non_null(own_dir);
    if ((own_pid = test_redis_start(port, own_dir)) < 0)
        skip();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    cleanup_err err_t *err = NULL;
    kv_pool_t *p = NULL;
    kv_conn_t *conn = NULL;
    must(kv_pool_open(&p, addr, 2, 2000, &err), &err, "open");
    kv_conn_open(&conn, p);
    const char *ping[] = {"PING"};
    must(kv_command(p, NULL, &err, "SET before-restart 1"), &err, "set");
    must(kv_conn_command_argv(conn, 0, NULL, 1, ping, NULL, &err), &err, "dedicated ping");

    test_redis_stop(own_pid);
    own_pid = test_redis_start(port, own_dir);
    assert_true(own_pid > 0);

    /* Both connections were closed by the old server; neither command fails. */
    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(p, &r, &err, "GET before-restart"), &err, "get after the restart");
    assert_int_equal(r->type, REDIS_REPLY_NIL); /* the new server, without persistence */
    cleanup_redis_reply redisReply *pong = NULL;
    must(kv_conn_command_argv(conn, 0, &pong, 1, ping, NULL, &err), &err,
         "dedicated ping after the restart");
    assert_string_equal(pong->str, "PONG");

    kv_conn_close(conn);
    kv_pool_close(p);
}

static void test_commands_fail_unavailable_while_redis_is_down_then_succeed(void **state)
{
    int port = free_port();
    own_dir = test_tmpdir();
    assert_non_null(own_dir);
    if ((own_pid = test_redis_start(port, own_dir)) < 0)
        skip();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    cleanup_err err_t *err = NULL;
    kv_pool_t *p = NULL;
    must(kv_pool_open(&p, addr, 1, 2000, &err), &err, "open");
    must(kv_command(p, NULL, &err, "PING"), &err, "ping");

    test_redis_stop(own_pid);
    own_pid = -1;
    assert_int_equal(kv_command(p, NULL, &err, "PING"), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_non_null(strstr(err->msg, "connect to redis"));
    err_clear(&err);

    own_pid = test_redis_start(port, own_dir);
    assert_true(own_pid > 0);
    must(kv_command(p, NULL, &err, "PING"), &err, "ping once it is back");
    kv_pool_close(p);
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
        cmocka_unit_test(test_connection_killed_while_idle_is_replaced_before_use),
        cmocka_unit_test(test_connection_lost_after_sending_fails_and_is_not_sent_again),
        cmocka_unit_test(test_slow_command_times_out_as_unavailable),
        cmocka_unit_test_teardown(test_first_commands_after_a_redis_restart_succeed,
                                  own_redis_teardown),
        cmocka_unit_test_teardown(test_commands_fail_unavailable_while_redis_is_down_then_succeed,
                                  own_redis_teardown),
        cmocka_unit_test(test_open_with_wrong_address_is_unavailable),
        cmocka_unit_test(test_malformed_address_is_invalid_argument),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
