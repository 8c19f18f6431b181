/* javasrc.h — the names a Java source gives itself. javac wants a public
 * class in a file of its name, and the JVM starts the class named on its
 * command line, which must declare main: learners and problem packages write
 * `public class Solution` as often as `Main`, or put main in a class that is
 * not public. The executor names the source file and main class from these
 * (services/executor/entry.c), content names exported Java files by them. */
#ifndef DOJO_JAVASRC_H
#define DOJO_JAVASRC_H

#include <stdbool.h>
#include <stddef.h>

#define JAVA_NAME_MAX 64 /* a longer or non-ASCII name is not read */
#define JAVA_MAIN_MAX 8

typedef struct java_names {
    char public_type[JAVA_NAME_MAX]; /* the public class, interface, enum or record; "" if none */
    char main[JAVA_MAIN_MAX][JAVA_NAME_MAX]; /* top-level types declaring main, in order */
    int nmain;
} java_names_t;

/** Reads `code`'s top-level types: which is public, which declare
 * `public static ... main(`. Nested types are not listed. */
void java_names_read(const char *code, size_t len, java_names_t *out);

#endif
