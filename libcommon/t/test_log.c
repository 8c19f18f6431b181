/* test_log — one line per event on stderr, key=value or JSON, with the
 * service and the thread's RPC context. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "testutil.h"

static int reset(void **state)
{
    unsetenv("DOJO_LOG_LEVEL");
    unsetenv("DOJO_LOG_FORMAT");
    log_init("testsvc");
    log_set_context(NULL, NULL, NULL);
    return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("\"%s\" not found in: %s", needle, hay);
}

static void test_text_line_has_level_service_message_and_pairs(void **state)
{
    capture_t c;
    capture_begin(&c);
    LOG_INFO("login ok", "user=%d method=%s", 42, "password");
    cleanup_free char *out = capture_end(&c);
    assert_true(strncmp(out, "ts=", 3) == 0);
    assert_contains(out, " level=info svc=testsvc msg=\"login ok\" user=42 method=password\n");
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out)); /* exactly one line */
}

static void test_context_fields_appear_on_every_line(void **state)
{
    log_set_context("/dojo.auth.v1.Auth/Login", "ab12", "7");
    capture_t c;
    capture_begin(&c);
    LOG_WARN("slow", NULL);
    LOG_ERROR("failed", "code=%s", "INTERNAL");
    cleanup_free char *out = capture_end(&c);
    assert_contains(out, "level=warn svc=testsvc rpc=/dojo.auth.v1.Auth/Login req_id=ab12 user=7 "
                         "msg=slow\n");
    assert_contains(out, "level=error svc=testsvc rpc=/dojo.auth.v1.Auth/Login req_id=ab12 user=7 "
                         "msg=failed code=INTERNAL\n");
}

static void test_lines_below_min_level_are_dropped(void **state)
{
    setenv("DOJO_LOG_LEVEL", "warn", 1);
    log_init("testsvc");
    capture_t c;
    capture_begin(&c);
    LOG_DEBUG("nope", NULL);
    LOG_INFO("nope either", "k=%d", 1);
    LOG_WARN("yes", NULL);
    cleanup_free char *out = capture_end(&c);
    assert_null(strstr(out, "nope"));
    assert_contains(out, "msg=yes");
}

static void test_json_line_has_members_for_pairs(void **state)
{
    setenv("DOJO_LOG_FORMAT", "json", 1);
    log_init("testsvc");
    log_set_context("/dojo.x.v1.X/Y", NULL, NULL);
    capture_t c;
    capture_begin(&c);
    LOG_INFO("task \"saved\"", "task=%s title=\"%s\"", "t1", "two words");
    cleanup_free char *out = capture_end(&c);
    assert_true(strncmp(out, "{\"ts\":\"", 7) == 0);
    assert_contains(out, "\"level\":\"info\",\"svc\":\"testsvc\",\"rpc\":\"/dojo.x.v1.X/Y\","
                         "\"msg\":\"task \\\"saved\\\"\",\"task\":\"t1\",\"title\":\"two words\"}\n");
}

static void test_bad_log_level_exits_naming_the_variable(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        setenv("DOJO_LOG_LEVEL", "loud", 1);
        log_init("testsvc");
        _exit(0);
    }
    close(p[1]);
    char buf[512] = {0};
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    assert_true(n > 0);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    assert_contains(buf, "DOJO_LOG_LEVEL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_text_line_has_level_service_message_and_pairs, reset),
        cmocka_unit_test_setup(test_context_fields_appear_on_every_line, reset),
        cmocka_unit_test_setup(test_lines_below_min_level_are_dropped, reset),
        cmocka_unit_test_setup(test_json_line_has_members_for_pairs, reset),
        cmocka_unit_test_setup(test_bad_log_level_exits_naming_the_variable, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
