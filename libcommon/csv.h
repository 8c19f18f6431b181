/* csv.h — comma-separated values as RFC 4180 has them, both ways: class
 * rosters come in as CSV and grades go out as CSV.
 *
 * Reading: fields separated by commas, optionally in double quotes (a quote
 * inside a quoted field is written twice; quoted fields may span lines),
 * records ending in CRLF or LF (the last one may end without), an optional
 * UTF-8 byte order mark. Blank lines are skipped. Errors name the line.
 *
 * Writing: fields are quoted only when they must be (a comma, a quote, CR or
 * LF, or a space at either end), and a field that a spreadsheet would take
 * for a formula (starting with = + - @, a tab or CR) gets a leading ' — the
 * usual defence against CSV injection; such a field does not read back
 * unchanged. */
#ifndef DOJO_CSV_H
#define DOJO_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

/** One record: its fields, and the line of the file it starts on (from 1). */
typedef struct csv_row {
    char **fields;
    size_t nfields;
    int line;
} csv_row_t;

typedef struct csv_doc {
    csv_row_t *rows;
    size_t nrows;
} csv_doc_t;

/** Parses `len` bytes of `text` into *out (new: csv_doc_free it). At most
 * `max_rows` records (blank lines do not count) and 100 fields each.
 * INVALID_ARGUMENT "line N: ..." for invalid UTF-8, a NUL byte, a quote
 * that never closes, text after a closing quote, or too many records or
 * fields; *out is then empty. */
int csv_parse(const char *text, size_t len, size_t max_rows, csv_doc_t *out, err_t **err);

void csv_doc_free(csv_doc_t *doc);

/** Writes one field to `f`, preceded by a comma unless `first`. */
void csv_write_field(FILE *f, const char *field, bool first);

/** Ends a record (CRLF, as RFC 4180 says). */
void csv_end_record(FILE *f);

#endif
