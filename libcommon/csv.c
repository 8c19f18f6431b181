/* csv.c — RFC 4180 reading and writing (see csv.h). */
#define _GNU_SOURCE
#include "csv.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "text.h"

#define CSV_MAX_FIELDS 100

typedef struct buf {
    char *data;
    size_t len, cap;
} buf_t;

static void buf_put(buf_t *b, char c)
{
    if (b->len + 1 >= b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->data = xrealloc(b->data, b->cap);
    }
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

static char *buf_take(buf_t *b)
{
    char *s = b->data ? b->data : xstrdup("");
    *b = (buf_t){0};
    return s;
}

static void row_free(csv_row_t *r)
{
    for (size_t i = 0; i < r->nfields; i++)
        free(r->fields[i]);
    free(r->fields);
    *r = (csv_row_t){0};
}

void csv_doc_free(csv_doc_t *doc)
{
    if (doc == NULL)
        return;
    for (size_t i = 0; i < doc->nrows; i++)
        row_free(&doc->rows[i]);
    free(doc->rows);
    *doc = (csv_doc_t){0};
}

static void row_add(csv_row_t *r, buf_t *field)
{
    r->fields = xreallocarray(r->fields, r->nfields + 1, sizeof *r->fields);
    r->fields[r->nfields++] = buf_take(field);
}

/* A record that is one empty field is a blank line: dropped. */
static bool row_blank(const csv_row_t *r, bool quoted)
{
    return !quoted && r->nfields == 1 && r->fields[0][0] == '\0';
}

int csv_parse(const char *text, size_t len, size_t max_rows, csv_doc_t *out, err_t **err)
{
    *out = (csv_doc_t){0};
    size_t i = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        i = 3;
    /* Validate UTF-8 (and refuse NUL) before anything else: errors name the line. */
    int line = 1;
    for (size_t j = i; j < len;) {
        unsigned char c = (unsigned char)text[j];
        if (c == '\0')
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "line %d: contains a NUL byte",
                           line);
        size_t n = text_utf8_seq((const unsigned char *)text + j, len - j);
        if (n == 0)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "line %d: is not valid UTF-8",
                           line);
        line += c == '\n';
        j += n;
    }

    csv_row_t row = {0};
    buf_t field = {0};
    bool quoted = false, any_quoted = false, in_quotes = false, after_quote = false;
    line = 1;
    row.line = 1;
    int rc = 0;
    for (;; i++) {
        bool end = i >= len;
        char c = end ? '\n' : text[i];
        if (in_quotes) {
            if (end) {
                rc = err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                             "line %d: a quoted field never ends (a \" is missing)", row.line);
                break;
            }
            if (c == '"' && i + 1 < len && text[i + 1] == '"') {
                buf_put(&field, '"');
                i++;
            } else if (c == '"') {
                in_quotes = false;
                after_quote = true;
            } else {
                line += c == '\n';
                buf_put(&field, c);
            }
            continue;
        }
        if (c == '"' && field.len == 0 && !quoted) {
            in_quotes = quoted = any_quoted = true;
            continue;
        }
        if (c == ',' || c == '\n' || (c == '\r' && i + 1 < len && text[i + 1] == '\n') ||
            (c == '\r' && i + 1 == len)) {
            if (row.nfields >= CSV_MAX_FIELDS) {
                rc = err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                             "line %d: more than %d fields", row.line, CSV_MAX_FIELDS);
                break;
            }
            row_add(&row, &field);
            quoted = after_quote = false;
            if (c == ',')
                continue;
            if (c == '\r')
                i++;
            if (!row_blank(&row, any_quoted)) {
                if (out->nrows >= max_rows) {
                    rc = err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                                 "line %d: more than %zu records", row.line, max_rows);
                    break;
                }
                out->rows = xreallocarray(out->rows, out->nrows + 1, sizeof *out->rows);
                out->rows[out->nrows++] = row;
            } else {
                row_free(&row);
            }
            row = (csv_row_t){0};
            any_quoted = false;
            line++;
            row.line = line;
            if (end || i + 1 >= len)
                break;
            continue;
        }
        if (after_quote) {
            rc = err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                         "line %d: text after a closing quote (write \"\" for a quote)", line);
            break;
        }
        buf_put(&field, c);
    }
    free(field.data);
    row_free(&row);
    if (rc < 0)
        csv_doc_free(out);
    return rc;
}

static bool needs_quotes(const char *s)
{
    size_t n = strlen(s);
    return strpbrk(s, ",\"\r\n") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
}

void csv_write_field(FILE *f, const char *s, bool first)
{
    if (!first)
        fputc(',', f);
    bool formula = s[0] && strchr("=+-@\t\r", s[0]) != NULL;
    if (!formula && !needs_quotes(s)) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

void csv_end_record(FILE *f)
{
    fputs("\r\n", f);
}
