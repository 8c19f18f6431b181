/* test_fs — mkdir -p in a fresh temporary directory: missing parents are
 * made with their mode, an existing directory is left alone, and failures
 * come back as errno. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libcommon/fs.h"

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    const char *tmp = getenv("TEST_TMPDIR");
    char *dir = NULL;
    if (asprintf(&dir, "%s/test_fs.XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0 || !mkdtemp(dir))
        return -1;
    *state = dir;
    umask(022);
    return 0;
}

static int teardown(void **state)
{
    nftw(*state, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    return st.st_mode & 07777;
}

static void test_missing_parents_are_made_with_the_parent_mode(void **state)
{
    char path[1100], parent[1024];
    snprintf(parent, sizeof parent, "%s/a/b", (char *)*state);
    snprintf(path, sizeof path, "%s/c", parent);
    assert_int_equal(fs_mkdir_p(path, 0755, 0700), 0);
    assert_int_equal(mode_of(path), 0700);
    assert_int_equal(mode_of(parent), 0755);
}

static void test_an_existing_directory_is_left_as_it_is(void **state)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/kept", (char *)*state);
    assert_int_equal(mkdir(path, 0750), 0);
    assert_int_equal(fs_mkdir_p(path, 0755, 0700), 0);
    assert_int_equal(mode_of(path), 0750);
    /* A trailing slash names the same directory. */
    strcat(path, "/");
    assert_int_equal(fs_mkdir_p(path, 0755, 0700), 0);
}

static void test_a_file_in_the_way_fails_with_its_errno(void **state)
{
    char file[1024], path[1100];
    snprintf(file, sizeof file, "%s/file", (char *)*state);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/below", file);
    errno = 0;
    assert_int_equal(fs_mkdir_p(path, 0755, 0700), -1);
    assert_int_equal(errno, ENOTDIR);
}

static void test_a_path_longer_than_1023_bytes_is_enametoolong(void **state)
{
    char path[1100];
    memset(path, 'd', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    errno = 0;
    assert_int_equal(fs_mkdir_p(path, 0755, 0700), -1);
    assert_int_equal(errno, ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_parents_are_made_with_the_parent_mode, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_existing_directory_is_left_as_it_is, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_file_in_the_way_fails_with_its_errno, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_path_longer_than_1023_bytes_is_enametoolong, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
