/* test_mem — allocation that aborts on out-of-memory: what the functions
 * return, and that an impossible request aborts (in a forked child) instead
 * of returning NULL. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libcommon/mem.h"

static void test_copies_and_formats_are_new_strings(void **state)
{
    char *a = xstrdup("kata");
    char *b = xstrndup("kata dojo", 4);
    char *c = xasprintf("%s-%d", "dojo", 7);
    assert_string_equal(a, "kata");
    assert_string_equal(b, "kata");
    assert_string_equal(c, "dojo-7");
    assert_null(xstrdup(NULL));
    free(a);
    free(b);
    free(c);
}

static void test_zero_sizes_still_give_a_pointer_to_free(void **state)
{
    void *p = xmalloc(0), *q = xcalloc(0, 8), *r = xrealloc(NULL, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_non_null(r);
    free(p);
    free(q);
    free(r);
}

static void test_calloc_zeroes_and_reallocarray_keeps_the_contents(void **state)
{
    int *v = xcalloc(16, sizeof *v);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(v[i], 0);
        v[i] = i;
    }
    v = xreallocarray(v, 4096, sizeof *v);
    for (int i = 0; i < 16; i++)
        assert_int_equal(v[i], i);
    free(v);
}

/* Runs `fn` in a child and reports whether it died of SIGABRT. */
static bool aborts(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* No core file for an abort we asked for. */
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void overflowing_reallocarray(void)
{
    free(xreallocarray(NULL, SIZE_MAX / 2, 4));
}

static void test_an_overflowing_array_size_aborts(void **state)
{
    assert_true(aborts(overflowing_reallocarray));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_and_formats_are_new_strings),
        cmocka_unit_test(test_zero_sizes_still_give_a_pointer_to_free),
        cmocka_unit_test(test_calloc_zeroes_and_reallocarray_keeps_the_contents),
        cmocka_unit_test(test_an_overflowing_array_size_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
