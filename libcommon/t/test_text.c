/* test_text — checks on learner-supplied text: UTF-8 sequences and lengths,
 * control characters, IANA time zones (against the system's tzdata) and
 * display names, with messages that name the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "libcommon/text.h"

static size_t seq(const char *s)
{
    return text_utf8_seq((const unsigned char *)s, strlen(s));
}

static void test_utf8_sequences_have_their_length(void **state)
{
    assert_int_equal(seq("a"), 1);
    assert_int_equal(seq("\xc3\xa9"), 2);         /* é */
    assert_int_equal(seq("\xe2\x82\xac"), 3);     /* € */
    assert_int_equal(seq("\xf0\x9f\x8e\x89"), 4); /* 🎉 */
    assert_int_equal(seq("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF */
}

static void test_overlong_forms_surrogates_and_big_code_points_are_not_utf8(void **state)
{
    assert_int_equal(seq("\xc0\xaf"), 0);         /* overlong '/' */
    assert_int_equal(seq("\xe0\x80\xaf"), 0);     /* overlong, 3 bytes */
    assert_int_equal(seq("\xed\xa0\x80"), 0);     /* U+D800 */
    assert_int_equal(seq("\xf4\x90\x80\x80"), 0); /* U+110000 */
    assert_int_equal(seq("\x80"), 0);             /* a lone continuation byte */
    assert_int_equal(seq("\xc3"), 0);             /* cut short */
    assert_int_equal(seq("\xc3("), 0);            /* not a continuation */
}

static void test_length_counts_code_points_or_is_minus_one(void **state)
{
    assert_int_equal(text_utf8_length(""), 0);
    assert_int_equal(text_utf8_length("dojo"), 4);
    assert_int_equal(text_utf8_length("caf\xc3\xa9 \xe2\x82\xac"), 6);
    assert_int_equal(text_utf8_length("ok\xff"), -1);
}

static void test_c0_controls_and_del_are_control_characters(void **state)
{
    assert_false(text_has_control("plain text, ünïcode"));
    assert_true(text_has_control("tab\there"));
    assert_true(text_has_control("line\n"));
    assert_true(text_has_control("del\x7f"));
}

static void test_a_known_time_zone_passes(void **state)
{
    cleanup_err err_t *err = NULL;
    assert_int_equal(text_check_time_zone("time_zone", "UTC", &err), 0);
    assert_int_equal(text_check_time_zone("time_zone", "Europe/Berlin", &err), 0);
    assert_int_equal(text_check_time_zone("time_zone", "America/Argentina/Buenos_Aires", &err), 0);
    assert_null(err);
}

static void test_an_unknown_time_zone_is_named_in_the_message(void **state)
{
    cleanup_err err_t *err = NULL;
    assert_int_equal(text_check_time_zone("time_zone", "Mars/Base", &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->msg, "time_zone: unknown time zone \"Mars/Base\"");
}

static void test_a_time_zone_cannot_walk_out_of_the_zoneinfo_directory(void **state)
{
    const char *bad[] = {"",        "/etc/passwd",     "../../etc/passwd", "Europe//Berlin",
                         "Europe/", "Europe/Berlin\n", "Europe/Berl in",   "zone.tab"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cleanup_err err_t *err = NULL;
        assert_int_equal(text_check_time_zone("tz", bad[i], &err), -1);
        assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
        assert_non_null(strstr(err->msg, "tz: "));
    }
    /* A directory of tzdata is not a zone. */
    cleanup_err err_t *err = NULL;
    assert_int_equal(text_check_time_zone("tz", "Europe", &err), -1);
}

static void test_a_display_name_is_one_to_64_printable_characters(void **state)
{
    cleanup_err err_t *err = NULL;
    assert_int_equal(text_check_display_name("Ada Lovelace", &err), 0);
    char sixty_four[65];
    memset(sixty_four, 'x', 64);
    sixty_four[64] = '\0';
    assert_int_equal(text_check_display_name(sixty_four, &err), 0);
    /* 64 characters of two bytes each still fit. */
    char wide[129] = "";
    for (int i = 0; i < 64; i++)
        strcat(wide, "\xc3\xa9");
    assert_int_equal(text_check_display_name(wide, &err), 0);
    assert_null(err);
}

static void expect_display_name_refused(const char *name, const char *why)
{
    cleanup_err err_t *err = NULL;
    assert_int_equal(text_check_display_name(name, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->msg, why);
}

static void test_a_bad_display_name_says_what_is_wrong(void **state)
{
    char sixty_five[66];
    memset(sixty_five, 'x', 65);
    sixty_five[65] = '\0';
    expect_display_name_refused("", "display_name: must be 1 to 64 characters long");
    expect_display_name_refused(sixty_five, "display_name: must be 1 to 64 characters long");
    expect_display_name_refused("bad\xff", "display_name: must be valid UTF-8");
    expect_display_name_refused("a\tb", "display_name: must not contain control characters");
    expect_display_name_refused("a\xc2\x85z", "display_name: must not contain control characters");
    expect_display_name_refused(" Ada", "display_name: must not start or end with a space");
    expect_display_name_refused("Ada ", "display_name: must not start or end with a space");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_sequences_have_their_length),
        cmocka_unit_test(test_overlong_forms_surrogates_and_big_code_points_are_not_utf8),
        cmocka_unit_test(test_length_counts_code_points_or_is_minus_one),
        cmocka_unit_test(test_c0_controls_and_del_are_control_characters),
        cmocka_unit_test(test_a_known_time_zone_passes),
        cmocka_unit_test(test_an_unknown_time_zone_is_named_in_the_message),
        cmocka_unit_test(test_a_time_zone_cannot_walk_out_of_the_zoneinfo_directory),
        cmocka_unit_test(test_a_display_name_is_one_to_64_printable_characters),
        cmocka_unit_test(test_a_bad_display_name_says_what_is_wrong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
