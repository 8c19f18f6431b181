/* embed_sql — compiles a service's SQL migrations (or other data files) into
 * C, so a binary carries the exact text it will apply (and checksum) and needs
 * no files at run time.
 *
 *   embed_sql [--header OUT.h] OUT.c PREFIX FILE.sql...
 *   embed_sql --files EXT [--header OUT.h] OUT.c PREFIX FILE.EXT...
 *
 * writes `const pg_migration_t PREFIX_migrations[]` and
 * `const size_t PREFIX_migrations_count`, entries sorted by file base name,
 * each name being that base name. With --files it writes
 * `const embed_file_t PREFIX_files[]` and `PREFIX_files_count` instead
 * (tools/embed/embed.h). With --header it also writes a header declaring
 * both. Run by the sql_migrations and embedded_files macros (defs.bzl). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name; /* base name, e.g. 001_users.sql */
    char *path;
    char *text;
    size_t len;
} migration_t;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "embed_sql: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die(path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        die("out of memory", NULL);
    for (;;) {
        if (n == cap && (buf = realloc(buf, cap *= 2)) == NULL)
            die("out of memory", NULL);
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        die(path, "read error");
    fclose(f);
    /* libpq takes the text as a C string: a NUL inside would cut it short. */
    if (memchr(buf, '\0', n) != NULL)
        die(path, "contains a NUL byte");
    *len = n;
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const migration_t *)a)->name, ((const migration_t *)b)->name);
}

static int ident_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* Writes `s` as the body of a C string literal, one source line per SQL
 * line. Octal escapes (always three digits) cannot swallow the next
 * character the way \x escapes do; "?" after "?" is escaped so no trigraph
 * forms. */
static void write_literal(FILE *out, const char *s, size_t len)
{
    fputs("\"", out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\':
            fputs("\\\\", out);
            break;
        case '"':
            fputs("\\\"", out);
            break;
        case '\n':
            fputs(i + 1 < len ? "\\n\"\n        \"" : "\\n", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        case '?':
            fputs(i > 0 && s[i - 1] == '?' ? "\\?" : "?", out);
            break;
        default:
            if (c < 0x20 || c >= 0x7f)
                fprintf(out, "\\%03o", c);
            else
                fputc(c, out);
        }
    }
    fputs("\"", out);
}

/* A base name as a literal: names of data files may hold any character but
 * '/' (basename), so they are escaped like the text. */
static void write_name(FILE *out, const char *name)
{
    write_literal(out, name, strlen(name));
}

static void write_or_die(FILE *f, const char *path)
{
    if (ferror(f) || fclose(f) != 0)
        die(path, "write error");
}

int main(int argc, char **argv)
{
    const char *header = NULL, *files_ext = NULL;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "--files")) {
        files_ext = argv[i + 1];
        i += 2;
    }
    if (i + 1 < argc && !strcmp(argv[i], "--header")) {
        header = argv[i + 1];
        i += 2;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: embed_sql [--files EXT] [--header OUT.h] OUT.c PREFIX FILE...\n");
        return 2;
    }
    const char *out_c = argv[i++];
    const char *prefix = argv[i++];
    if (!ident_ok(prefix))
        die("prefix must be a C identifier", prefix);
    char suffix[64];
    snprintf(suffix, sizeof suffix, ".%s", files_ext ? files_ext : "sql");
    const char *kind = files_ext ? "files" : "migrations";
    const char *type = files_ext ? "embed_file_t" : "pg_migration_t";
    const char *include = files_ext ? "tools/embed/embed.h" : "libcommon/pg.h";

    size_t count = (size_t)(argc - i);
    migration_t *m = calloc(count ? count : 1, sizeof *m);
    if (m == NULL)
        die("out of memory", NULL);
    for (size_t k = 0; k < count; k++) {
        m[k].path = argv[i + (int)k];
        char *copy = strdup(m[k].path);
        if (copy == NULL || (m[k].name = strdup(basename(copy))) == NULL)
            die("out of memory", NULL);
        free(copy);
        size_t n = strlen(m[k].name);
        size_t sn = strlen(suffix);
        if (n <= sn || strcmp(m[k].name + n - sn, suffix) != 0)
            die(files_ext ? "not a file of the given extension" : "not a .sql file", m[k].path);
        m[k].text = read_file(m[k].path, &m[k].len);
    }
    qsort(m, count, sizeof *m, by_name);
    for (size_t k = 1; k < count; k++)
        if (!strcmp(m[k - 1].name, m[k].name))
            die("two files share a name", m[k].name);

    FILE *out = fopen(out_c, "w");
    if (out == NULL)
        die(out_c, strerror(errno));
    fprintf(out, "/* Generated by tools/embed/embed_sql from %zu file(s). Do not edit. */\n"
                 "#include <stddef.h>\n\n#include \"%s\"\n\n",
            count, include);
    fprintf(out, "const %s %s_%s[] = {\n", type, prefix, kind);
    for (size_t k = 0; k < count; k++) {
        fputs("    {", out);
        write_name(out, m[k].name);
        fputs(",\n        ", out);
        write_literal(out, m[k].text, m[k].len);
        fputs("},\n", out);
    }
    if (count == 0)
        fputs("    {NULL, NULL},\n", out); /* C has no empty arrays */
    fputs("};\n", out);
    fprintf(out, "const size_t %s_%s_count = %zu;\n", prefix, kind, count);
    write_or_die(out, out_c);

    if (header != NULL) {
        FILE *h = fopen(header, "w");
        if (h == NULL)
            die(header, strerror(errno));
        fprintf(h,
                "/* Generated by tools/embed/embed_sql. Do not edit. */\n"
                "#ifndef DOJO_EMBED_%s_%s_H\n#define DOJO_EMBED_%s_%s_H\n\n"
                "#include <stddef.h>\n\n#include \"%s\"\n\n"
                "/** The embedded %s, sorted by name; static data%s. */\n"
                "extern const %s %s_%s[];\n"
                "extern const size_t %s_%s_count;\n\n#endif\n",
                prefix, files_ext ? "FILES" : "MIGRATIONS", prefix,
                files_ext ? "FILES" : "MIGRATIONS", include, kind,
                files_ext ? "" : " for pg_migrate", type, prefix, kind, prefix, kind);
        write_or_die(h, header);
    }
    for (size_t k = 0; k < count; k++) {
        free(m[k].name);
        free(m[k].text);
    }
    free(m);
    return 0;
}
