/* test_embed_sql — the sql_migrations and embedded_files macros embed files
 * byte for byte, sorted by base name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/embed/testdata_files.h"
#include "tools/embed/testdata_migrations.h"

/* Test files are runfiles; Bazel runs tests from the workspace runfiles root. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_migrations_are_sorted_by_file_name(void **state)
{
    (void)state;
    assert_int_equal(embedtest_migrations_count, 2);
    assert_string_equal(embedtest_migrations[0].name, "001_first.sql");
    assert_string_equal(embedtest_migrations[1].name, "002_second.sql");
}

static void test_text_is_embedded_byte_for_byte(void **state)
{
    (void)state;
    assert_string_equal(embedtest_migrations[0].sql, slurp("tools/embed/testdata/001_first.sql"));
    assert_string_equal(embedtest_migrations[1].sql, slurp("tools/embed/testdata/002_second.sql"));
}

static void test_special_characters_survive(void **state)
{
    (void)state;
    const char *sql = embedtest_migrations[0].sql;
    assert_non_null(strstr(sql, "it's \"quoted\""));
    assert_non_null(strstr(sql, "a \\ backslash\n"));
    assert_non_null(strstr(sql, "\tid int"));
    assert_non_null(strstr(sql, "caf\xc3\xa9 ?\?= ok"));
}

static void test_data_files_are_embedded_sorted_and_byte_for_byte(void **state)
{
    (void)state;
    assert_int_equal(embedtest_files_count, 2);
    assert_string_equal(embedtest_files[0].name, "a.txt");
    assert_string_equal(embedtest_files[1].name, "b.txt");
    assert_string_equal(embedtest_files[0].text, slurp("tools/embed/testdata/a.txt"));
    assert_string_equal(embedtest_files[1].text, slurp("tools/embed/testdata/b.txt"));
    assert_non_null(strstr(embedtest_files[1].text, "\"it\\u0027s\"}\n\ttab"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_are_sorted_by_file_name),
        cmocka_unit_test(test_text_is_embedded_byte_for_byte),
        cmocka_unit_test(test_special_characters_survive),
        cmocka_unit_test(test_data_files_are_embedded_sorted_and_byte_for_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
