/* test_languages — the language catalogue as content serves it: every file
 * of services/executor/languages is a language, ordered by display name, with
 * every learner-facing field, and what a label promises the command does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "services/content/language_catalogue.h"
#include "testkit.h"

static void test_every_catalogue_file_is_a_language(void **state)
{
    (void)state;
    size_t n;
    const content_language_t *all = content_languages(&n);
    assert_int_equal(n, language_catalogue_files_count);
    for (size_t i = 0; i < language_catalogue_files_count; i++) {
        json_t *j = doc_of(language_catalogue_files[i].text);
        const char *id = json_string_value(json_object_get(j, "id"));
        assert_non_null(id);
        const content_language_t *l = content_language_find(id);
        assert_non_null(l);
        /* the file is named after its language */
        char want[64];
        snprintf(want, sizeof want, "%s.json", id);
        assert_string_equal(language_catalogue_files[i].name, want);
        json_t *compile = json_object_get(j, "compile");
        assert_int_equal(l->compiled, json_array_size(compile) > 0);
        json_decref(j);
    }
    (void)all;
}

static void test_languages_are_ordered_by_display_name_with_every_field(void **state)
{
    (void)state;
    size_t n;
    const content_language_t *all = content_languages(&n);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(*all[i].id && *all[i].display_name && *all[i].file_extension &&
                    *all[i].editor_mode && *all[i].version);
        if (i > 0)
            assert_true(strcmp(all[i - 1].display_name, all[i].display_name) <= 0);
    }
    assert_non_null(content_language_find("python3"));
    assert_non_null(content_language_find("c"));
    assert_null(content_language_find("cobol"));
    assert_null(content_language_find(""));
}

/* The argument that follows "-std=" in the compile command, or NULL. */
static const char *std_flag(json_t *compile)
{
    size_t i;
    json_t *a;
    json_array_foreach(compile, i, a)
    {
        const char *s = json_string_value(a);
        if (s && !strncmp(s, "-std=", 5))
            return s + 5;
    }
    return NULL;
}

/* "gcc 12.2.0 (GNU C17)" must compile with -std=gnu17 (it once said C17 and
 * ran -std=gnu11): a label naming a standard names the one the flag selects. */
static void test_a_version_naming_a_standard_matches_the_std_flag(void **state)
{
    (void)state;
    static const struct {
        const char *label, *flag_iso, *flag_gnu;
    } standards[] = {
        {"C++20", "c++20", "gnu++20"}, {"C++17", "c++17", "gnu++17"}, {"C17", "c17", "gnu17"},
        {"C11", "c11", "gnu11"},       {"C99", "c99", "gnu99"},
    };
    int checked = 0;
    for (size_t i = 0; i < language_catalogue_files_count; i++) {
        json_t *j = doc_of(language_catalogue_files[i].text);
        const char *version = json_string_value(json_object_get(j, "version"));
        const char *flag = std_flag(json_object_get(j, "compile"));
        for (size_t k = 0; k < sizeof standards / sizeof standards[0]; k++) {
            const char *at = strstr(version, standards[k].label);
            if (at == NULL)
                continue;
            if (flag == NULL || (strcmp(flag, standards[k].flag_iso) &&
                                 strcmp(flag, standards[k].flag_gnu)))
                fail_msg("%s: version \"%s\" but -std=%s", language_catalogue_files[i].name,
                         version, flag ? flag : "(none)");
            checked++;
            break;
        }
        json_decref(j);
    }
    assert_true(checked >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_catalogue_file_is_a_language),
        cmocka_unit_test(test_languages_are_ordered_by_display_name_with_every_field),
        cmocka_unit_test(test_a_version_naming_a_standard_matches_the_std_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
