/* test_service — the service skeleton: the local defaults, command dispatch
 * and its messages, and serving a real gRPC server with health and metrics
 * until it is asked to stop. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>

#include "dojo/auth/v1/auth.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"
#include "libcommon/service.h"
#include "testutil.h"

/* ------------------------------------------------------------------------
 * Local defaults
 * ------------------------------------------------------------------------ */

static void test_local_defaults_are_the_design_table(void **state)
{
    static const struct {
        service_setting_t setting;
        const char *var, *def;
    } want[] = {
        {SERVICE_GATEWAY_ADDR, "DOJO_GATEWAY_ADDR", "127.0.0.1:8080"},
        {SERVICE_AUTH_ADDR, "DOJO_AUTH_ADDR", "127.0.0.1:7001"},
        {SERVICE_CONTENT_ADDR, "DOJO_CONTENT_ADDR", "127.0.0.1:7002"},
        {SERVICE_GAMIFICATION_ADDR, "DOJO_GAMIFICATION_ADDR", "127.0.0.1:7003"},
        {SERVICE_EXECUTOR_ADDR, "DOJO_EXECUTOR_ADDR", "127.0.0.1:7004"},
        {SERVICE_AUTH_METRICS_ADDR, "DOJO_AUTH_METRICS_ADDR", "127.0.0.1:9101"},
        {SERVICE_CONTENT_METRICS_ADDR, "DOJO_CONTENT_METRICS_ADDR", "127.0.0.1:9102"},
        {SERVICE_GAMIFICATION_METRICS_ADDR, "DOJO_GAMIFICATION_METRICS_ADDR", "127.0.0.1:9103"},
        {SERVICE_EXECUTOR_METRICS_ADDR, "DOJO_EXECUTOR_METRICS_ADDR", "127.0.0.1:9104"},
        {SERVICE_GATEWAY_METRICS_ADDR, "DOJO_GATEWAY_METRICS_ADDR", "127.0.0.1:9105"},
        {SERVICE_PG_URL, "DOJO_PG_URL", "postgresql://dojo@127.0.0.1:55432/dojo"},
        {SERVICE_REDIS_ADDR, "DOJO_REDIS_ADDR", "127.0.0.1:56379"},
        {SERVICE_PUBLIC_URL, "DOJO_PUBLIC_URL", "http://127.0.0.1:8080"},
    };
    assert_int_equal(sizeof want / sizeof *want, SERVICE_SETTING_COUNT);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_string_equal(service_setting_var(want[i].setting), want[i].var);
        assert_string_equal(service_setting_default(want[i].setting), want[i].def);
        unsetenv(want[i].var);
        assert_string_equal(service_setting(want[i].setting), want[i].def);
    }
}

static void test_a_setting_comes_from_its_variable_when_set(void **state)
{
    setenv("DOJO_AUTH_ADDR", "10.0.0.5:7101", 1);
    assert_string_equal(service_setting(SERVICE_AUTH_ADDR), "10.0.0.5:7101");
    setenv("DOJO_AUTH_ADDR", "", 1);
    assert_string_equal(service_setting(SERVICE_AUTH_ADDR), "127.0.0.1:7001");
    unsetenv("DOJO_AUTH_ADDR");
    setenv("DOJO_PG_URL", "postgresql://elsewhere/dojo", 1);
    assert_string_equal(service_setting(SERVICE_PG_URL), "postgresql://elsewhere/dojo");
    unsetenv("DOJO_PG_URL");
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

typedef struct record {
    int configured, closed;
    const char *ran;
    int argc;
    const char *first;
    int rc; /* what the command returns */
} record_t;

static int run_cmd(const char *name, void *payload, int argc, char **argv, err_t **err)
{
    record_t *r = payload;
    r->ran = name;
    r->argc = argc;
    r->first = argc > 0 ? argv[0] : NULL;
    if (r->rc < 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no account %s", argc > 0 ? argv[0] : "?");
    return r->rc;
}

static int cmd_serve(void *p, int argc, char **argv, err_t **err)
{
    return run_cmd("serve", p, argc, argv, err);
}

static int cmd_grant(void *p, int argc, char **argv, err_t **err)
{
    return run_cmd("grant", p, argc, argv, err);
}

static int cmd_any(void *p, int argc, char **argv, err_t **err)
{
    return run_cmd("any", p, argc, argv, err);
}

static void on_configure(void *p, const char *argv0)
{
    ((record_t *)p)->configured++;
}

static void on_close(void *p)
{
    ((record_t *)p)->closed++;
}

static const service_cmd_t commands[] = {
    {.name = "serve", .run = cmd_serve},
    {.name = "grant", .min_args = 1, .max_args = 2, .run = cmd_grant},
    {.name = "any", .max_args = -1, .run = cmd_any},
    {0},
};

/* Runs `words` through service_dispatch; *out gets what went to stderr. */
static int dispatch(record_t *r, char **out, int argc, char **argv)
{
    const service_def_t def = {
        .name = "demo",
        .usage = "usage: demo [serve]\n       demo grant WHO [WHAT]\n",
        .commands = commands,
        .payload = r,
        .configure = on_configure,
        .close = on_close,
    };
    capture_t cap;
    capture_begin(&cap);
    int rc = service_dispatch(&def, argc, argv);
    *out = capture_end(&cap);
    return rc;
}

#define WORDS(...) (sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)), ((char *[]){__VA_ARGS__})

static void test_no_command_runs_the_first_of_the_table(void **state)
{
    record_t r = {0};
    cleanup_free char *out = NULL;
    assert_int_equal(dispatch(&r, &out, WORDS("demo")), 0);
    assert_string_equal(r.ran, "serve");
    assert_int_equal(r.argc, 0);
    assert_int_equal(r.configured, 1);
    assert_int_equal(r.closed, 1);
    assert_string_equal(out, "");
}

static void test_a_command_gets_only_its_operands(void **state)
{
    record_t r = {0};
    cleanup_free char *out = NULL;
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "grant", "ada", "admin")), 0);
    assert_string_equal(r.ran, "grant");
    assert_int_equal(r.argc, 2);
    assert_string_equal(r.first, "ada");
}

static void test_an_unknown_command_prints_the_usage_and_exits_2(void **state)
{
    record_t r = {0};
    cleanup_free char *out = NULL;
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "frobnicate")), 2);
    assert_null(r.ran);
    assert_int_equal(r.closed, 0);
    assert_non_null(strstr(out, "usage: demo [serve]"));
}

static void test_too_few_or_too_many_operands_print_the_usage_and_exit_2(void **state)
{
    record_t r = {0};
    char *out = NULL;
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "grant")), 2);
    assert_non_null(strstr(out, "usage:"));
    free(out);
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "grant", "a", "b", "c")), 2);
    assert_non_null(strstr(out, "usage:"));
    free(out);
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "serve", "extra")), 2);
    free(out);
    assert_null(r.ran);
}

static void test_a_command_taking_any_operands_gets_them_all(void **state)
{
    record_t r = {0};
    cleanup_free char *out = NULL;
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "any", "--a", "1", "--b", "2")), 0);
    assert_int_equal(r.argc, 4);
    assert_string_equal(r.first, "--a");
}

static void test_a_failed_command_says_why_on_stderr_and_exits_1(void **state)
{
    record_t r = {.rc = -1};
    cleanup_free char *out = NULL;
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "grant", "ghost")), 1);
    assert_int_equal(r.closed, 1);
    assert_non_null(strstr(out, "\ndemo grant: no account ghost\n"));
    assert_non_null(strstr(out, "msg=\"demo failed\" command=grant error=\"no account ghost\""));
}

static void test_a_command_that_returns_usage_prints_it_after_closing(void **state)
{
    record_t r = {.rc = SERVICE_USAGE};
    cleanup_free char *out = NULL;
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "grant", "ada")), 2);
    assert_int_equal(r.closed, 1);
    assert_non_null(strstr(out, "usage: demo"));
}

static void test_a_command_may_choose_its_exit_status_without_a_message(void **state)
{
    record_t r = {.rc = 1};
    cleanup_free char *out = NULL;
    assert_int_equal(dispatch(&r, &out, WORDS("demo", "grant", "ada")), 1);
    assert_string_equal(out, "");
}

/* ------------------------------------------------------------------------
 * Serving
 * ------------------------------------------------------------------------ */

typedef struct served {
    rpc_server_t *server;
    pthread_t asker;
    int health; /* the Check answer, -1 until known */
    int started, stopped;
} served_t;

/* Asks the running server for its health, then stops it. */
static void *ask_then_stop(void *arg)
{
    served_t *s = arg;
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", rpc_server_port(s->server));
    rpc_channel_t *ch = NULL;
    cleanup_err err_t *err = NULL;
    if (rpc_channel_open(&ch, target, &err) == 0) {
        Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        req.service = "dojo.auth.v1.Auth";
        cleanup_pb ProtobufCMessage *out = NULL;
        rpc_call_opts_t opts = {.timeout_ms = 5000, .idempotent = true};
        if (rpc_client_call(ch, &grpc__health__v1__health__descriptor, "Check", &req.base, &out,
                            &opts, &err) == 0)
            s->health = ((Grpc__Health__V1__HealthCheckResponse *)out)->status;
        rpc_channel_close(ch);
    }
    rpc_server_stop(s->server);
    return NULL;
}

static int on_start(rpc_server_t *server, void *payload, err_t **err)
{
    served_t *s = payload;
    s->server = server;
    s->started++;
    return pthread_create(&s->asker, NULL, ask_then_stop, s) == 0
               ? 0
               : err_set(err, GRPC_STATUS_INTERNAL, "thread");
}

static void on_stop(void *payload)
{
    ((served_t *)payload)->stopped++;
}

static void on_describe(void *payload, char *out, size_t cap)
{
    snprintf(out, cap, "flavour=test");
}

static int refuse_start(rpc_server_t *server, void *payload, err_t **err)
{
    return err_set(err, GRPC_STATUS_UNAVAILABLE, "no workers today");
}

static const rpc_handler_t no_handlers[] = {{0}};

static void test_serve_answers_health_until_asked_to_stop(void **state)
{
    served_t s = {.health = -1};
    service_server_t srv = {
        .name = "demo",
        .addr = "127.0.0.1:0",
        .metrics_addr = "127.0.0.1:0",
        .service = &dojo__auth__v1__auth__descriptor,
        .handlers = no_handlers,
        .payload = &s,
        .start = on_start,
        .stop = on_stop,
        .describe = on_describe,
    };
    cleanup_err err_t *err = NULL;
    capture_t cap;
    capture_begin(&cap);
    int rc = service_serve(&srv, &err);
    cleanup_free char *out = capture_end(&cap);
    assert_int_equal(rc, 0);
    pthread_join(s.asker, NULL);
    assert_int_equal(s.health, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    assert_int_equal(s.started, 1);
    assert_int_equal(s.stopped, 1);
    assert_non_null(strstr(out, "msg=\"demo serving\" addr=127.0.0.1:0 port="));
    assert_non_null(strstr(out, " flavour=test"));
}

static void test_serve_fails_and_stops_nothing_when_start_fails(void **state)
{
    served_t s = {.health = -1};
    service_server_t srv = {
        .name = "demo",
        .addr = "127.0.0.1:0",
        .metrics_addr = "127.0.0.1:0",
        .service = &dojo__auth__v1__auth__descriptor,
        .handlers = no_handlers,
        .payload = &s,
        .start = refuse_start,
        .stop = on_stop,
    };
    cleanup_err err_t *err = NULL;
    assert_int_equal(service_serve(&srv, &err), -1);
    assert_string_equal(err->msg, "no workers today");
    assert_int_equal(s.stopped, 0);
    /* Nothing is left bound: the metrics can start again. */
    err_clear(&err);
    assert_int_equal(metrics_start("127.0.0.1:0", &err), 0);
    metrics_stop();
}

int main(void)
{
    rpc_init();
    log_init("test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_defaults_are_the_design_table),
        cmocka_unit_test(test_a_setting_comes_from_its_variable_when_set),
        cmocka_unit_test(test_no_command_runs_the_first_of_the_table),
        cmocka_unit_test(test_a_command_gets_only_its_operands),
        cmocka_unit_test(test_an_unknown_command_prints_the_usage_and_exits_2),
        cmocka_unit_test(test_too_few_or_too_many_operands_print_the_usage_and_exit_2),
        cmocka_unit_test(test_a_command_taking_any_operands_gets_them_all),
        cmocka_unit_test(test_a_failed_command_says_why_on_stderr_and_exits_1),
        cmocka_unit_test(test_a_command_that_returns_usage_prints_it_after_closing),
        cmocka_unit_test(test_a_command_may_choose_its_exit_status_without_a_message),
        cmocka_unit_test(test_serve_answers_health_until_asked_to_stop),
        cmocka_unit_test(test_serve_fails_and_stops_nothing_when_start_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
