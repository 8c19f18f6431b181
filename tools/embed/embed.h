/* embed.h — a data file compiled into a binary by the embedded_files macro
 * (tools/embed/defs.bzl), so a service needs no files at run time. */
#ifndef DOJO_EMBED_H
#define DOJO_EMBED_H

#include <stddef.h>

/** One embedded file: its base name and its bytes, NUL-terminated (a file
 * with a NUL byte inside is refused at build time). Static data. */
typedef struct embed_file {
    const char *name;
    const char *text;
} embed_file_t;

#endif
