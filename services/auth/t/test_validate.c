/* test_validate — the rules of account fields (emails, usernames,
 * passwords), their normalised forms, the messages that name the field, and
 * role names both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "services/auth/auth.h"

typedef int (*normalise_fn)(const char *in, char *out, size_t cap, err_t **err);

static void expect_normalised(normalise_fn fn, const char *in, const char *want)
{
    char out[300];
    cleanup_err err_t *err = NULL;
    if (fn(in, out, sizeof out, &err) < 0)
        fail_msg("\"%s\" refused: %s", in, err->msg);
    assert_string_equal(out, want);
}

static void expect_refused(normalise_fn fn, const char *in, const char *why)
{
    char out[300];
    cleanup_err err_t *err = NULL;
    assert_int_equal(fn(in, out, sizeof out, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->msg, why);
}

static void test_an_email_is_kept_in_lower_case(void **state)
{
    expect_normalised(auth_validate_email, "Ada.Lovelace@Example.ORG", "ada.lovelace@example.org");
    expect_normalised(auth_validate_email, "a+tag@sub.example.co", "a+tag@sub.example.co");
}

static void test_an_email_needs_one_at_and_a_dotted_domain(void **state)
{
    const char *shape = "email: must be a valid address like name@example.org";
    expect_refused(auth_validate_email, "", "email: is required");
    expect_refused(auth_validate_email, "ada", shape);
    expect_refused(auth_validate_email, "@example.org", shape);
    expect_refused(auth_validate_email, "a@b@example.org", shape);
    expect_refused(auth_validate_email, "ada@localhost", shape);
    expect_refused(auth_validate_email, "ada@.example.org", shape);
    expect_refused(auth_validate_email, "ada@example..org", shape);
    expect_refused(auth_validate_email, "ada@example.", shape);
}

static void test_an_email_has_no_spaces_quotes_brackets_or_non_ascii(void **state)
{
    const char *chars = "email: must not contain spaces, quotes or brackets";
    expect_refused(auth_validate_email, "ada lovelace@example.org", chars);
    expect_refused(auth_validate_email, "\"ada\"@example.org", chars);
    expect_refused(auth_validate_email, "<ada>@example.org", chars);
    expect_refused(auth_validate_email, "ada@exa\tmple.org", chars);
    expect_refused(auth_validate_email, "j\xc3\xbcrgen@example.org",
                   "email: only ASCII addresses are supported");
}

static void test_an_email_is_at_most_254_characters(void **state)
{
    char long_email[300];
    memset(long_email, 'a', 250);
    strcpy(long_email + 250, "@x.org"); /* 256 */
    expect_refused(auth_validate_email, long_email, "email: must be at most 254 characters");
}

static void test_a_username_is_3_to_32_of_a_z_digits_underscore_and_dash(void **state)
{
    expect_normalised(auth_validate_username, "Ada_L-99", "ada_l-99");
    expect_normalised(auth_validate_username, "abc", "abc");
    expect_refused(auth_validate_username, "", "username: is required");
    expect_refused(auth_validate_username, "ab", "username: must be 3 to 32 characters long");
    expect_refused(auth_validate_username, "abcdefghijabcdefghijabcdefghijabc",
                   "username: must be 3 to 32 characters long");
    expect_refused(auth_validate_username, "ada lovelace",
                   "username: may contain only letters a-z, digits, '_' and '-'");
    expect_refused(auth_validate_username, "ad\xc3\xa9",
                   "username: may contain only letters a-z, digits, '_' and '-'");
}

static void expect_password(const char *pw, const char *why)
{
    cleanup_err err_t *err = NULL;
    int rc = auth_validate_password("new_password", pw, &err);
    if (why == NULL) {
        if (rc < 0)
            fail_msg("\"%s\" refused: %s", pw, err->msg);
        return;
    }
    assert_int_equal(rc, -1);
    assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->msg, why);
}

static void test_a_password_is_10_to_128_characters_counted_as_code_points(void **state)
{
    expect_password("correct horse", NULL);
    expect_password("short", "new_password: must be at least 10 characters");
    /* Nine characters of two bytes each are still nine characters. */
    expect_password("\xc3\xa9\xc3\xa8\xc3\xa9\xc3\xa8\xc3\xa9\xc3\xa8\xc3\xa9\xc3\xa8\xc3\xa9",
                    "new_password: must be at least 10 characters");
    char long_pw[200];
    for (int i = 0; i < 129; i++)
        long_pw[i] = (char)('a' + i % 26);
    long_pw[129] = '\0';
    expect_password(long_pw, "new_password: must be at most 128 characters");
    long_pw[128] = '\0';
    expect_password(long_pw, NULL);
    expect_password("bad utf-8 \xff\xfe", "new_password: must be valid UTF-8");
}

static void test_a_password_of_one_repeated_character_is_refused(void **state)
{
    expect_password("aaaaaaaaaaaa", "new_password: must not be one character repeated");
    expect_password(
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
        "new_password: must not be one character repeated");
    expect_password("aaaaaaaaaaab", NULL);
}

static void test_role_names_and_roles_map_both_ways(void **state)
{
    const char *names[] = {"learner", "teacher", "author", "admin"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        assert_string_equal(auth_role_text(auth_role_from_text(names[i])), names[i]);
    assert_int_equal(auth_role_from_text("admin"), DOJO__COMMON__V1__ROLE__ROLE_ADMIN);
    assert_int_equal(auth_role_from_text("teacher"), DOJO__COMMON__V1__ROLE__ROLE_TEACHER);
}

static void test_an_unknown_role_name_is_a_learner_and_no_role_has_no_name(void **state)
{
    assert_int_equal(auth_role_from_text("root"), DOJO__COMMON__V1__ROLE__ROLE_LEARNER);
    assert_int_equal(auth_role_from_text(""), DOJO__COMMON__V1__ROLE__ROLE_LEARNER);
    assert_null(auth_role_text(DOJO__COMMON__V1__ROLE__ROLE_UNSPECIFIED));
    assert_null(auth_role_text(99));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_email_is_kept_in_lower_case),
        cmocka_unit_test(test_an_email_needs_one_at_and_a_dotted_domain),
        cmocka_unit_test(test_an_email_has_no_spaces_quotes_brackets_or_non_ascii),
        cmocka_unit_test(test_an_email_is_at_most_254_characters),
        cmocka_unit_test(test_a_username_is_3_to_32_of_a_z_digits_underscore_and_dash),
        cmocka_unit_test(test_a_password_is_10_to_128_characters_counted_as_code_points),
        cmocka_unit_test(test_a_password_of_one_repeated_character_is_refused),
        cmocka_unit_test(test_role_names_and_roles_map_both_ways),
        cmocka_unit_test(test_an_unknown_role_name_is_a_learner_and_no_role_has_no_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
