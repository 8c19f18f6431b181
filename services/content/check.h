/* check.h — the validation kit of every kind of content file (tasks,
 * achievements, and the kinds still to come): a report of every problem of a
 * file as (JSON path, message) pairs, typed readers that each report their own
 * problem at their own path, and a document read section by section into its
 * normalised form.
 *
 * A kind of file is a table of sections (check_kind_t): one top-level key
 * each, read in table order by a function that reports the section's problems
 * and returns its normalised value. check_document refuses unknown top-level
 * keys, runs the sections and assembles the normalised document with its keys
 * in table order. Adding a kind is writing its sections; adding a field is
 * one reader call in its section.
 *
 * Messages have one wording wherever the same rule applies: "required",
 * "must be a string", "must be at most 10000", "must be one of "a", "b"",
 * "unknown field". Pure functions of jansson values; no I/O. */
#ifndef DOJO_CONTENT_CHECK_H
#define DOJO_CONTENT_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "libcommon/cleanup.h"

/* ------------------------------------------------------------------------
 * Reports: every problem of one file, in the order found
 * ------------------------------------------------------------------------ */

typedef struct content_issue {
    char *path;    /* "$.tests[3].expected" */
    char *message; /* "required" */
} content_issue_t;

typedef struct content_report {
    char *file; /* "two-sum.json", "" when not from a file */
    content_issue_t *errors;
    size_t n_errors, cap_errors;
    content_issue_t *warnings;
    size_t n_warnings, cap_warnings;
} content_report_t;

/** Starts an empty report for `file` (copied; NULL = ""). */
void content_report_init(content_report_t *r, const char *file);
/** Frees what the report holds; it is empty (and reusable after init) afterwards. */
void content_report_free(content_report_t *r);
/** Adds an error (the document is refused) or a warning (it is not) at
 * `path`. Both strings are copied, as UTF-8: bytes that are not (a quoted
 * piece of a broken file, a key cut in a path) become U+FFFD. */
void content_report_error(content_report_t *r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void content_report_warn(content_report_t *r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void cleanup_report_fn(content_report_t *r)
{
    content_report_free(r);
}
#define cleanup_report __attribute__((cleanup(cleanup_report_fn)))

/* ------------------------------------------------------------------------
 * JSON paths ("$", "$.languages[0].limits"). A path that would not fit is
 * cut: it stays recognisable, and a key counts at most 64 bytes of it.
 * ------------------------------------------------------------------------ */

#define CHECK_PATH_MAX 192

void check_path_key(char out[CHECK_PATH_MAX], const char *base, const char *key);
void check_path_index(char out[CHECK_PATH_MAX], const char *base, size_t i);

/* ------------------------------------------------------------------------
 * Objects being read, and their fields
 * ------------------------------------------------------------------------ */

/** An object of the document, with where it is and where its problems go. */
typedef struct check_obj {
    content_report_t *rep;
    json_t *json;              /* borrowed from the document */
    char path[CHECK_PATH_MAX]; /* "$.tests[3]" */
} check_obj_t;

/** Flags of the readers below. */
enum {
    CHECK_REQUIRED = 1,     /* absent is an error ("required") */
    CHECK_ZERO_UNSET = 2,   /* integers: 0 means "not set" and passes any range */
    CHECK_LETTER_FIRST = 4, /* slugs: the first character is a letter */
};

/** Opens `v` (at `path`) as an object: false, with "must be an object"
 * reported, when it is not one. */
bool check_obj(check_obj_t *out, content_report_t *rep, json_t *v, const char *path);
/** Opens the member `key` of `o`: false when it is absent (nothing reported)
 * or not an object (reported). */
bool check_member(check_obj_t *out, const check_obj_t *o, const char *key);
/** Opens item `i` of the array `arr`, the member `key` of `o`: false (and
 * reported) when the item is not an object. */
bool check_item(check_obj_t *out, const check_obj_t *o, const char *key, json_t *arr, size_t i);
/** The path of o's member `key`. */
void check_member_path(char out[CHECK_PATH_MAX], const check_obj_t *o, const char *key);

/** Reports every key of `o` not in `known` ("unknown field"); keys in
 * `ignored` (may be NULL) only warn ("output-only field, ignored"). Both
 * lists end with NULL. */
void check_keys(const check_obj_t *o, const char *const *known, const char *const *ignored);

/** True when `o` has the member `key` (any value, null included). */
bool check_has(const check_obj_t *o, const char *key);

/** A string member: NULL when absent (an error with CHECK_REQUIRED) or
 * unusable (not a string, a NUL inside, shorter than min_bytes or longer
 * than max_bytes; 0 = no bound). Borrowed from the document. */
const char *check_string(const check_obj_t *o, const char *key, unsigned flags, size_t min_bytes,
                         size_t max_bytes);

/** A string member of 1 to max_chars characters without control
 * characters: check_string's problems, then "must be 1-N characters without
 * control characters". */
const char *check_text(const check_obj_t *o, const char *key, unsigned flags, size_t max_chars);

/** An integer member in [min, max]. Absent: *out = 0 and true (nothing is
 * required). Not an integer or out of range: false, reported, *out = 0. */
bool check_int(const check_obj_t *o, const char *key, unsigned flags, json_int_t min,
               json_int_t max, json_int_t *out);

/** A boolean member; absent = false. False (reported) when not a boolean. */
bool check_bool(const check_obj_t *o, const char *key, bool *out);

/** A number member >= 0 (finite); absent = 0. False (reported) otherwise. */
bool check_nonnegative(const check_obj_t *o, const char *key, double *out);

/** An array member. NULL when absent (an error with CHECK_REQUIRED) or not an
 * array; with too few or too many items ("must have at most 10 tags", `what`
 * naming them) the problem is reported and the array still returned, so its
 * items get checked too. Borrowed. */
json_t *check_array(const check_obj_t *o, const char *key, unsigned flags, size_t min, size_t max,
                    const char *what);

/** False, with "duplicate name "x" (also $.tests[1])" reported at `path`,
 * when an item before `i` of `arr` (at `arr_path`) has `value` as its member
 * `key`. */
bool check_unique(content_report_t *rep, const char *path, json_t *arr, const char *arr_path,
                  size_t i, const char *key, const char *value);

/* ------------------------------------------------------------------------
 * Slugs and names
 * ------------------------------------------------------------------------ */

/** True when `s` is 1-`max` characters of [a-z0-9-] (CHECK_LETTER_FIRST: the
 * first one a letter). */
bool check_is_slug(const char *s, size_t max, unsigned flags);
/** `v` (at `path`) as a slug: NULL, with "must be 1-N characters of
 * [a-z0-9-]" (", starting with a letter") reported, when it is not a string
 * of that form. */
const char *check_slug_value(content_report_t *rep, const char *path, json_t *v, size_t max,
                             unsigned flags);
/** The member `key` of `o` as a slug (absent: NULL, "required" with
 * CHECK_REQUIRED). */
const char *check_slug(const check_obj_t *o, const char *key, size_t max, unsigned flags);

/** The names of an enum as files spell them: the proto's value names without
 * their prefix, in lower case; index = enum value, names[0] (UNSPECIFIED) is
 * NULL and never accepted. */
typedef struct check_names {
    const char *const *names;
    size_t n;
} check_names_t;
#define CHECK_NAMES(array, count) ((check_names_t){(array), (count)})

/** The value named `s` (NULL is fine), or 0 when none is. */
int check_name_index(const check_names_t *names, const char *s);
/** The name of `value`, or NULL when it has none. Static. */
const char *check_name(const check_names_t *names, int value);
/** `v` (at `path`) as one of `names`: its value, or 0 with "must be one of
 * "a", "b"" reported. */
int check_enum_value(content_report_t *rep, const char *path, json_t *v,
                     const check_names_t *names);
/** The member `key` of `o` as one of `names`: its value; 0 when absent
 * ("required" with CHECK_REQUIRED); -1 when it names none (reported). */
int check_enum(const check_obj_t *o, const char *key, const check_names_t *names, unsigned flags);

/** Reports at "$.slug" when the report's file name (its last path part, if
 * it has one) is not "<slug>.json". */
void check_file_name(content_report_t *rep, const char *slug);

/* ------------------------------------------------------------------------
 * Documents
 * ------------------------------------------------------------------------ */

/** One top-level key of a kind of document. `read` gets the whole document
 * (its member `key` may be absent), reports that member's problems and
 * returns its normalised value: new, never NULL (any placeholder when the
 * member is unusable: the document is refused then). */
typedef struct check_section {
    const char *key;
    json_t *(*read)(const check_obj_t *doc, void *state);
} check_section_t;

typedef struct check_kind {
    const check_section_t *sections; /* in reading (and output) order; ends with {NULL} */
    const char *const *ignored;      /* keys warned about, not refused (NULL = none) */
} check_kind_t;

/** Reads `doc` (borrowed) as a document of `kind`: "must be a JSON object"
 * at "$", unknown keys, then each section in order with `state` (the kind's
 * own, shared by its sections). Returns 0 with *out new (keys in section
 * order), or -1 when anything was reported as an error. */
int check_document(json_t *doc, const check_kind_t *kind, void *state, content_report_t *rep,
                   json_t **out);

/** Parses the text of a file of at most `max_bytes` (a whole number of KiB),
 * refusing duplicate keys; problems at "$". Returns 0 with *out new, or -1. */
int check_parse(const char *text, size_t len, size_t max_bytes, content_report_t *rep,
                json_t **out);

/** jansson's flag for reals in every text made from a normalised document:
 * 15 significant digits, so every such decimal survives a trip through a
 * double and hashing, storing and exporting agree after one normalisation. */
#define CHECK_JSON_REAL JSON_REAL_PRECISION(15)

/** The canonical text of a normalised document (sorted keys, compact):
 * what is stored and hashed. New, free() it. */
char *check_canonical(json_t *norm);
/** The SHA-256 (lower-case hex) of the canonical text. */
void check_hash(json_t *norm, char out[65]);
/** The text of a normalised document for people (exports): two-space
 * indent, its own key order, a trailing newline. New, free() it. */
char *check_pretty(json_t *norm);

#endif
