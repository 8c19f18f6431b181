/* test_entry — the file a Java source is compiled as and the class the JVM
 * starts, read from the code's own tokens (entry.c): public classes other
 * than Main, main in a class that is not public, names inside comments,
 * strings and text blocks that must not count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libcommon/javasrc.h"
#include "services/executor/sandbox.h"

static sandbox_lang_t java(void)
{
    static char *compile[] = {"/usr/bin/javac", "-d", "/judge/build", "/judge/code/Main.java", NULL};
    static char *run[] = {"/usr/bin/java", "-cp", "/judge/build", "Main", NULL};
    sandbox_lang_t l;
    memset(&l, 0, sizeof l);
    snprintf(l.id, sizeof l.id, "java");
    snprintf(l.source_name, sizeof l.source_name, "Main.java");
    memcpy(l.compile_argv, compile, sizeof compile);
    memcpy(l.run_argv, run, sizeof run);
    l.main_class_from_source = true;
    return l;
}

/* The entry of `code`: its file name and main class, checked against the
 * commands too. */
static void expect_entry(const char *code, const char *file, const char *main_class)
{
    sandbox_lang_t l = java();
    sandbox_entry_t e;
    sandbox_entry_of(&l, code, strlen(code), &e);
    assert_string_equal(e.source_name, file);
    assert_string_equal(e.main_class, main_class);
    char path[128];
    snprintf(path, sizeof path, "/judge/code/%s", file);
    assert_string_equal(e.compile_argv[3], path);
    assert_null(e.compile_argv[4]);
    assert_string_equal(e.run_argv[3], main_class);
    assert_null(e.run_argv[4]);
    assert_string_equal(e.run_argv[0], "/usr/bin/java");
}

static void main_stays_main(void **state)
{
    (void)state;
    expect_entry("import java.util.*;\npublic class Main {\n"
                 "  public static void main(String[] a) { System.out.println(1); }\n}\n",
                 "Main.java", "Main");
    expect_entry("class Main { public static void main(String[] a) {} }", "Main.java", "Main");
}

static void public_class_names_the_file(void **state)
{
    (void)state;
    expect_entry("public class Solution {\n  static class Node {}\n"
                 "  public static void main(String... args) {}\n}\n",
                 "Solution.java", "Solution");
    expect_entry("public final class Sol<T> { public static void main(String[] a) {} }",
                 "Sol.java", "Sol");
    /* The public type without main, main in another: both named. */
    expect_entry("class Main { public static void main(String[] a) {} }\n"
                 "public class Helper {}\n",
                 "Helper.java", "Main");
}

static void main_in_a_class_that_is_not_public(void **state)
{
    (void)state;
    expect_entry("import java.io.*;\nclass Node { int v; }\n"
                 "class Solution {\n  static public void main(String[] a) throws IOException {}\n}\n",
                 "Main.java", "Solution");
    /* A nested type's main is not an entry the JVM is told to start. */
    expect_entry("class A { static class Main { public static void main(String[] a) {} } }\n"
                 "class B { public static void main(String[] a) {} }\n",
                 "Main.java", "B");
    expect_entry("enum E { X; public static void main(String[] a) {} }", "Main.java", "E");
    expect_entry("record R(int x) { public static void main(String[] a) {} }", "Main.java", "R");
}

static void words_that_are_not_code(void **state)
{
    (void)state;
    expect_entry("// public class Fake {\n/* public class Fake2 { */\n"
                 "class Solution {\n"
                 "  static String s = \"public class Str { public static void main(\";\n"
                 "  static String t = \"\"\"\n    } public class Block {\n    \"\"\";\n"
                 "  static char c = '{', d = '\"', q = '\\'';\n"
                 "  public static void main(String[] a) { Class<?> k = Solution.class; }\n"
                 "}\n",
                 "Main.java", "Solution");
    expect_entry("@interface Tag {}\npublic class Sol { public static void main(String[] a) {} }",
                 "Sol.java", "Sol");
    /* A main that is not public static is no entry. */
    expect_entry("public class Sol { void main(String[] a) {} }", "Sol.java", "Sol");
}

static void nothing_to_read(void **state)
{
    (void)state;
    expect_entry("", "Main.java", "Main");
    expect_entry("public class", "Main.java", "Main");
    expect_entry("public class {{{{", "Main.java", "Main");
    expect_entry("}}}} public class Ok { public static void main(String[] a) {} }", "Ok.java", "Ok");
    /* Names that make no plain file: left to the compiler's own message. */
    char longname[200] = "public class ";
    memset(longname + strlen(longname), 'A', 100);
    expect_entry(longname, "Main.java", "Main");
    expect_entry("public class Ünï {}", "Main.java", "Main");
    expect_entry("/* never closed", "Main.java", "Main");
    expect_entry("class X { String s = \"never closed", "Main.java", "Main");
}

static void other_languages_untouched(void **state)
{
    (void)state;
    sandbox_lang_t l = java();
    l.main_class_from_source = false;
    sandbox_entry_t e;
    const char *code = "public class Solution { public static void main(String[] a) {} }";
    sandbox_entry_of(&l, code, strlen(code), &e);
    assert_string_equal(e.source_name, "Main.java");
    assert_string_equal(e.compile_argv[3], "/judge/code/Main.java");
    assert_string_equal(e.run_argv[3], "Main");
    java_names_t names;
    java_names_read(code, strlen(code), &names);
    assert_string_equal(names.public_type, "Solution");
    assert_int_equal(names.nmain, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(main_stays_main),
        cmocka_unit_test(public_class_names_the_file),
        cmocka_unit_test(main_in_a_class_that_is_not_public),
        cmocka_unit_test(words_that_are_not_code),
        cmocka_unit_test(nothing_to_read),
        cmocka_unit_test(other_languages_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
