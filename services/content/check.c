/* check.c — the validation kit of content files: reports, JSON paths, typed
 * readers, enum names, documents read by sections (see check.h). */
#define _GNU_SOURCE
#include "check.h"

#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/cleanup.h"
#include "libcommon/mem.h"
#include "libcommon/text.h"

/* ------------------------------------------------------------------------
 * Reports
 * ------------------------------------------------------------------------ */

void content_report_init(content_report_t *r, const char *file)
{
    memset(r, 0, sizeof *r);
    r->file = xstrdup(file ? file : "");
}

static void issues_free(content_issue_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].message);
    }
    free(v);
}

void content_report_free(content_report_t *r)
{
    issues_free(r->errors, r->n_errors);
    issues_free(r->warnings, r->n_warnings);
    free(r->file);
    memset(r, 0, sizeof *r);
}

/* A copy of `s` with every byte that is not part of a UTF-8 character
 * replaced by U+FFFD: reports travel as protobuf and JSON strings, and what
 * they quote may not be text (jansson's parse errors quote the bytes at
 * fault; a path cuts a long key at a byte count). New. */
static char *utf8_copy(const char *s)
{
    size_t len = strlen(s), o = 0;
    char *out = xmalloc(len * 3 + 1);
    for (size_t i = 0; i < len;) {
        size_t n = text_utf8_seq((const unsigned char *)s + i, len - i);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
    return out;
}

static void issue_add(content_issue_t **v, size_t *n, size_t *cap, const char *path,
                      const char *fmt, va_list ap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = xreallocarray(*v, *cap, sizeof **v);
    }
    cleanup_free char *message = xvasprintf(fmt, ap);
    (*v)[*n].path = utf8_copy(path);
    (*v)[*n].message = utf8_copy(message);
    (*n)++;
}

void content_report_error(content_report_t *r, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    issue_add(&r->errors, &r->n_errors, &r->cap_errors, path, fmt, ap);
    va_end(ap);
}

void content_report_warn(content_report_t *r, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    issue_add(&r->warnings, &r->n_warnings, &r->cap_warnings, path, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------
 * Paths
 * ------------------------------------------------------------------------ */

void check_path_key(char out[CHECK_PATH_MAX], const char *base, const char *key)
{
    if (snprintf(out, CHECK_PATH_MAX, "%s.%.64s", base, key) >= CHECK_PATH_MAX)
        out[CHECK_PATH_MAX - 1] = '\0';
}

void check_path_index(char out[CHECK_PATH_MAX], const char *base, size_t i)
{
    if (snprintf(out, CHECK_PATH_MAX, "%s[%zu]", base, i) >= CHECK_PATH_MAX)
        out[CHECK_PATH_MAX - 1] = '\0';
}

/* ------------------------------------------------------------------------
 * Objects and their fields
 * ------------------------------------------------------------------------ */

bool check_obj(check_obj_t *out, content_report_t *rep, json_t *v, const char *path)
{
    out->rep = rep;
    out->json = NULL;
    snprintf(out->path, sizeof out->path, "%s", path);
    if (!json_is_object(v)) {
        content_report_error(rep, path, "must be an object");
        return false;
    }
    out->json = v;
    return true;
}

void check_member_path(char out[CHECK_PATH_MAX], const check_obj_t *o, const char *key)
{
    check_path_key(out, o->path, key);
}

bool check_member(check_obj_t *out, const check_obj_t *o, const char *key)
{
    json_t *v = json_object_get(o->json, key);
    if (v == NULL)
        return false;
    char p[CHECK_PATH_MAX];
    check_path_key(p, o->path, key);
    return check_obj(out, o->rep, v, p);
}

bool check_item(check_obj_t *out, const check_obj_t *o, const char *key, json_t *arr, size_t i)
{
    char base[CHECK_PATH_MAX], p[CHECK_PATH_MAX];
    check_path_key(base, o->path, key);
    check_path_index(p, base, i);
    return check_obj(out, o->rep, json_array_get(arr, i), p);
}

static bool listed(const char *const *list, const char *key)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!strcmp(list[i], key))
            return true;
    return false;
}

static void report_unknown(const check_obj_t *o, const char *key, const char *const *ignored)
{
    char p[CHECK_PATH_MAX];
    check_path_key(p, o->path, key);
    if (listed(ignored, key))
        content_report_warn(o->rep, p, "output-only field, ignored");
    else
        content_report_error(o->rep, p, "unknown field");
}

void check_keys(const check_obj_t *o, const char *const *known, const char *const *ignored)
{
    const char *key;
    json_t *v;
    json_object_foreach(o->json, key, v)
    {
        if (!listed(known, key))
            report_unknown(o, key, ignored);
    }
}

bool check_has(const check_obj_t *o, const char *key)
{
    return json_object_get(o->json, key) != NULL;
}

const char *check_string(const check_obj_t *o, const char *key, unsigned flags, size_t min_bytes,
                         size_t max_bytes)
{
    char p[CHECK_PATH_MAX];
    check_path_key(p, o->path, key);
    json_t *v = json_object_get(o->json, key);
    if (v == NULL) {
        if (flags & CHECK_REQUIRED)
            content_report_error(o->rep, p, "required");
        return NULL;
    }
    if (!json_is_string(v)) {
        content_report_error(o->rep, p, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n != strlen(s)) {
        content_report_error(o->rep, p, "must not contain NUL characters");
        return NULL;
    }
    if (min_bytes && n < min_bytes) {
        content_report_error(o->rep, p, "must not be empty");
        return NULL;
    }
    if (max_bytes && n > max_bytes) {
        if (max_bytes % 1024 == 0)
            content_report_error(o->rep, p, "must be at most %zu KiB (is %zu bytes)",
                                 max_bytes / 1024, n);
        else
            content_report_error(o->rep, p, "must be at most %zu bytes", max_bytes);
        return NULL;
    }
    return s;
}

const char *check_text(const check_obj_t *o, const char *key, unsigned flags, size_t max_chars)
{
    const char *s = check_string(o, key, flags, 1, 0);
    if (s && ((size_t)text_utf8_length(s) > max_chars || text_has_control(s))) {
        char p[CHECK_PATH_MAX];
        check_path_key(p, o->path, key);
        content_report_error(o->rep, p, "must be 1-%zu characters without control characters",
                             max_chars);
        return NULL;
    }
    return s;
}

bool check_int(const check_obj_t *o, const char *key, unsigned flags, json_int_t min,
               json_int_t max, json_int_t *out)
{
    char p[CHECK_PATH_MAX];
    check_path_key(p, o->path, key);
    *out = 0;
    json_t *v = json_object_get(o->json, key);
    if (v == NULL)
        return true;
    if (!json_is_integer(v)) {
        content_report_error(o->rep, p, "must be an integer");
        return false;
    }
    json_int_t x = json_integer_value(v);
    if (x == 0 && (flags & CHECK_ZERO_UNSET))
        return true;
    if (x < min) {
        content_report_error(o->rep, p, "must be at least %lld", (long long)min);
        return false;
    }
    if (x > max) {
        content_report_error(o->rep, p, "must be at most %lld", (long long)max);
        return false;
    }
    *out = x;
    return true;
}

bool check_bool(const check_obj_t *o, const char *key, bool *out)
{
    *out = false;
    json_t *v = json_object_get(o->json, key);
    if (v == NULL)
        return true;
    if (!json_is_boolean(v)) {
        char p[CHECK_PATH_MAX];
        check_path_key(p, o->path, key);
        content_report_error(o->rep, p, "must be true or false");
        return false;
    }
    *out = json_is_true(v);
    return true;
}

bool check_nonnegative(const check_obj_t *o, const char *key, double *out)
{
    *out = 0;
    json_t *v = json_object_get(o->json, key);
    if (v == NULL)
        return true;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0) {
        char p[CHECK_PATH_MAX];
        check_path_key(p, o->path, key);
        content_report_error(o->rep, p, "must be a number >= 0");
        return false;
    }
    *out = json_number_value(v);
    return true;
}

json_t *check_array(const check_obj_t *o, const char *key, unsigned flags, size_t min, size_t max,
                    const char *what)
{
    char p[CHECK_PATH_MAX];
    check_path_key(p, o->path, key);
    json_t *v = json_object_get(o->json, key);
    if (v == NULL) {
        if (flags & CHECK_REQUIRED)
            content_report_error(o->rep, p, "required");
        return NULL;
    }
    if (!json_is_array(v)) {
        content_report_error(o->rep, p, "must be an array");
        return NULL;
    }
    size_t n = json_array_size(v);
    if (n < min) {
        if (min == 1)
            content_report_error(o->rep, p, "must not be empty");
        else
            content_report_error(o->rep, p, "must have at least %zu %s", min, what);
        return v;
    }
    if (n > max)
        content_report_error(o->rep, p, "must have at most %zu %s", max, what);
    return v;
}

bool check_unique(content_report_t *rep, const char *path, json_t *arr, const char *arr_path,
                  size_t i, const char *key, const char *value)
{
    for (size_t j = 0; j < i; j++) {
        const char *other = json_string_value(json_object_get(json_array_get(arr, j), key));
        if (other && !strcmp(other, value)) {
            content_report_error(rep, path, "duplicate %s \"%s\" (also %s[%zu])", key, value,
                                 arr_path, j);
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Slugs and names
 * ------------------------------------------------------------------------ */

bool check_is_slug(const char *s, size_t max, unsigned flags)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    if ((flags & CHECK_LETTER_FIRST) && !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

const char *check_slug_value(content_report_t *rep, const char *path, json_t *v, size_t max,
                             unsigned flags)
{
    const char *s = json_string_value(v);
    if (s == NULL || !check_is_slug(s, max, flags)) {
        content_report_error(rep, path, "must be 1-%zu characters of [a-z0-9-]%s", max,
                             (flags & CHECK_LETTER_FIRST) ? ", starting with a letter" : "");
        return NULL;
    }
    return s;
}

const char *check_slug(const check_obj_t *o, const char *key, size_t max, unsigned flags)
{
    char p[CHECK_PATH_MAX];
    check_path_key(p, o->path, key);
    json_t *v = json_object_get(o->json, key);
    if (v == NULL) {
        if (flags & CHECK_REQUIRED)
            content_report_error(o->rep, p, "required");
        return NULL;
    }
    return check_slug_value(o->rep, p, v, max, flags);
}

int check_name_index(const check_names_t *names, const char *s)
{
    for (size_t i = 1; s && i < names->n; i++)
        if (!strcmp(names->names[i], s))
            return (int)i;
    return 0;
}

const char *check_name(const check_names_t *names, int value)
{
    return value > 0 && (size_t)value < names->n ? names->names[value] : NULL;
}

int check_enum_value(content_report_t *rep, const char *path, json_t *v, const check_names_t *names)
{
    int value = check_name_index(names, json_string_value(v));
    if (value)
        return value;
    char list[512];
    size_t used = 0;
    for (size_t i = 1; i < names->n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"", i > 1 ? ", " : "",
                                 names->names[i]);
    content_report_error(rep, path, "must be one of %s", list);
    return 0;
}

int check_enum(const check_obj_t *o, const char *key, const check_names_t *names, unsigned flags)
{
    char p[CHECK_PATH_MAX];
    check_path_key(p, o->path, key);
    json_t *v = json_object_get(o->json, key);
    if (v == NULL) {
        if (flags & CHECK_REQUIRED)
            content_report_error(o->rep, p, "required");
        return 0;
    }
    int value = check_enum_value(o->rep, p, v, names);
    return value ? value : -1;
}

void check_file_name(content_report_t *rep, const char *slug)
{
    const char *base = strrchr(rep->file, '/');
    base = base ? base + 1 : rep->file;
    size_t n = strlen(base);
    if (n == 0)
        return;
    if (n <= 5 || strcmp(base + n - 5, ".json") != 0) {
        content_report_error(rep, "$.slug", "the file name must be \"%s.json\"", slug);
        return;
    }
    if (strlen(slug) != n - 5 || strncmp(base, slug, n - 5) != 0)
        content_report_error(rep, "$.slug", "must equal the file name without .json (\"%.*s\")",
                             (int)(n - 5), base);
}

/* ------------------------------------------------------------------------
 * Documents
 * ------------------------------------------------------------------------ */

static bool is_section(const check_section_t *s, const char *key)
{
    for (; s->key; s++)
        if (!strcmp(s->key, key))
            return true;
    return false;
}

int check_document(json_t *doc, const check_kind_t *kind, void *state, content_report_t *rep,
                   json_t **out)
{
    size_t errors_before = rep->n_errors;
    *out = NULL;
    if (!json_is_object(doc)) {
        content_report_error(rep, "$", "must be a JSON object");
        return -1;
    }
    check_obj_t d = {.rep = rep, .json = doc, .path = "$"};
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (!is_section(kind->sections, key))
            report_unknown(&d, key, kind->ignored);
    }
    cleanup_json json_t *n = json_object();
    for (const check_section_t *s = kind->sections; s->key; s++)
        json_object_set_new(n, s->key, s->read(&d, state));
    if (rep->n_errors != errors_before)
        return -1;
    *out = DOJO_STEAL(n);
    return 0;
}

int check_parse(const char *text, size_t len, size_t max_bytes, content_report_t *rep, json_t **out)
{
    *out = NULL;
    if (len > max_bytes) {
        if (max_bytes % (1024 * 1024) == 0)
            content_report_error(rep, "$", "the file must be at most %zu MiB",
                                 max_bytes / (1024 * 1024));
        else
            content_report_error(rep, "$", "the file must be at most %zu KiB", max_bytes / 1024);
        return -1;
    }
    json_error_t jerr;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*out == NULL) {
        content_report_error(rep, "$", "invalid JSON at line %d, column %d: %s", jerr.line,
                             jerr.column, jerr.text);
        return -1;
    }
    return 0;
}

char *check_canonical(json_t *norm)
{
    char *s = json_dumps(norm, JSON_SORT_KEYS | JSON_COMPACT | CHECK_JSON_REAL);
    if (s == NULL)
        abort();
    return s;
}

void check_hash(json_t *norm, char out[65])
{
    cleanup_free char *s = check_canonical(norm);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    for (size_t i = 0; i < sizeof h; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

char *check_pretty(json_t *norm)
{
    cleanup_free char *s = json_dumps(norm, JSON_INDENT(2) | CHECK_JSON_REAL);
    if (s == NULL)
        abort(); /* jansson fails only when out of memory */
    return xasprintf("%s\n", s);
}
