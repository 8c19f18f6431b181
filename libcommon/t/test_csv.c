/* test_csv — RFC 4180 reading (quotes, line ends, BOM, errors by line) and
 * writing (quoting only when needed, formulas defused), and the round trip. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "libcommon/csv.h"
#include "testutil.h"

static csv_doc_t parse_ok(const char *text)
{
    csv_doc_t d;
    cleanup_err err_t *err = NULL;
    int rc = csv_parse(text, strlen(text), 100, &d, &err);
    if (rc != 0)
        fail_msg("csv_parse failed: %s", err->msg);
    return d;
}

static char *parse_error(const char *text, size_t max_rows)
{
    csv_doc_t d;
    cleanup_err err_t *err = NULL;
    assert_int_equal(csv_parse(text, strlen(text), max_rows, &d, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(d.nrows, 0);
    char *m = strdup(err->msg);
    return m;
}

static void test_quoted_fields_hold_commas_quotes_and_newlines(void **state)
{
    csv_doc_t d = parse_ok("email,display_name\r\n"
                           "a@x.org,\"Lovelace, Ada\"\r\n"
                           "b@x.org,\"She said \"\"hi\"\"\"\n"
                           "c@x.org,\"two\nlines\"\n"
                           "d@x.org,\"\"");
    assert_int_equal(d.nrows, 5);
    assert_string_equal(d.rows[1].fields[1], "Lovelace, Ada");
    assert_string_equal(d.rows[2].fields[1], "She said \"hi\"");
    assert_string_equal(d.rows[3].fields[1], "two\nlines");
    assert_int_equal(d.rows[3].line, 4);
    assert_int_equal(d.rows[4].line, 6);
    assert_int_equal(d.rows[4].nfields, 2);
    assert_string_equal(d.rows[4].fields[1], "");
    csv_doc_free(&d);
}

static void test_bom_blank_lines_and_a_missing_last_newline_are_fine(void **state)
{
    csv_doc_t d = parse_ok("\xEF\xBB\xBF"
                           "email\n\n a@x.org \n\r\nb@x.org");
    assert_int_equal(d.nrows, 3);
    assert_string_equal(d.rows[0].fields[0], "email");
    assert_string_equal(d.rows[1].fields[0], " a@x.org ");
    assert_int_equal(d.rows[1].line, 3);
    assert_string_equal(d.rows[2].fields[0], "b@x.org");
    assert_int_equal(d.rows[2].line, 5);
    csv_doc_free(&d);
    d = parse_ok("");
    assert_int_equal(d.nrows, 0);
    csv_doc_free(&d);
    d = parse_ok("a,b,\n");
    assert_int_equal(d.rows[0].nfields, 3);
    csv_doc_free(&d);
}

static void test_errors_name_the_line(void **state)
{
    cleanup_free char *unclosed = parse_error("email\na@x.org,\"Ada\nb@x.org\n", 100);
    assert_string_equal(unclosed, "line 2: a quoted field never ends (a \" is missing)");
    cleanup_free char *after = parse_error("email\n\"a\"b\n", 100);
    assert_non_null(strstr(after, "line 2: text after a closing quote"));
    cleanup_free char *utf8 = parse_error("email\nok\n\xC3\x28\n", 100);
    assert_string_equal(utf8, "line 3: is not valid UTF-8");
    char nul[] = "a\nb\0c\n";
    csv_doc_t d;
    cleanup_err err_t *err = NULL;
    assert_int_equal(csv_parse(nul, sizeof nul - 1, 10, &d, &err), -1);
    assert_string_equal(err->msg, "line 2: contains a NUL byte");
    cleanup_free char *rows = parse_error("h\n1\n2\n3\n", 3);
    assert_string_equal(rows, "line 4: more than 3 records");
}

static char *written(const char *const *fields, size_t n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (size_t i = 0; i < n; i++)
        csv_write_field(f, fields[i], i == 0);
    csv_end_record(f);
    fclose(f);
    return out;
}

static void test_writing_quotes_only_when_needed_and_defuses_formulas(void **state)
{
    const char *plain[] = {"ada", "100", "72.5", ""};
    cleanup_free char *a = written(plain, 4);
    assert_string_equal(a, "ada,100,72.5,\r\n");
    const char *odd[] = {"Lovelace, Ada", "say \"hi\"", "two\nlines", " padded"};
    cleanup_free char *b = written(odd, 4);
    assert_string_equal(b, "\"Lovelace, Ada\",\"say \"\"hi\"\"\",\"two\nlines\",\" padded\"\r\n");
    const char *formulas[] = {"=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "a=b"};
    cleanup_free char *c = written(formulas, 5);
    assert_string_equal(c, "\"'=HYPERLINK(\"\"x\"\")\",\"'+1\",\"'-2\",\"'@SUM(A1)\",a=b\r\n");
}

static void test_what_is_written_reads_back(void **state)
{
    const char *fields[] = {"Ana María", "a,b", "\"q\"", "line\nbreak", "", "x y"};
    cleanup_free char *text = written(fields, 6);
    csv_doc_t d = parse_ok(text);
    assert_int_equal(d.nrows, 1);
    assert_int_equal(d.rows[0].nfields, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(d.rows[0].fields[i], fields[i]);
    csv_doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_fields_hold_commas_quotes_and_newlines),
        cmocka_unit_test(test_bom_blank_lines_and_a_missing_last_newline_are_fine),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_writing_quotes_only_when_needed_and_defuses_formulas),
        cmocka_unit_test(test_what_is_written_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
