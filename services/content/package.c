/* package.c — problem packages (the Kattis / ICPC problem package format,
 * legacy and 2023-07) read into a task document and written from one.
 * docs/packages.md is the reader's guide to what maps to what.
 *
 * Reading is in steps over one pkg_t: the zip's entries checked before
 * anything is decompressed (no absolute or ".." paths, no links, no
 * encryption, bounded counts and sizes, each file read with its cap so a
 * lying header cannot inflate it), then problem.yaml, the statement, the
 * test data with its groups and testdata.yaml, the submissions, and
 * dojo.json (what an exported package adds so it reads back to the same
 * task). Every problem is reported at the file it is in, with the rule.
 * The document built is in the task file form: taskjson_normalize has the
 * last word on it. Pure functions of bytes; the only I/O is the caller's:
 * the zip may be a file, and large hidden test data goes to the caller's
 * blob callback (pkg_source_t) instead of into the task. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "libcommon/cleanup.h"
#include "libcommon/mem.h"
#include "model.h"

/* ------------------------------------------------------------------------
 * The zip and its files
 * ------------------------------------------------------------------------ */

typedef struct pkg_file {
    char *path; /* inside the package, the top directory stripped */
    zip_uint64_t index;
    zip_uint64_t size; /* as the header says; the read is capped anyway */
    char *data;        /* NUL-terminated once read */
    size_t len;
    bool read_done, read_ok, used;
} pkg_file_t;

typedef struct pkg {
    content_report_t *rep;
    const pkg_source_t *src;
    err_t **err;         /* the blob callback's failure, when it failed */
    size_t inline_bytes; /* hidden test data kept inline so far */
    zip_t *za;
    pkg_file_t *files;
    size_t n;
    size_t total_read;
    char top[PKG_MAX_PATH]; /* the one top-level directory, or "" */
    json_t *doc;            /* the task being built */
    json_t *problem;        /* problem.yaml */
    json_t *testdata;       /* dir -> parsed testdata.yaml (or null) */
    json_t *solution_paths; /* solution name -> package path */
    bool scoring, interactive;
    bool have_time_limit;
} pkg_t;

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const pkg_file_t *)a)->path, ((const pkg_file_t *)b)->path);
}

static void pkg_free(pkg_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->files[i].path);
        free(p->files[i].data);
    }
    free(p->files);
    if (p->za)
        zip_discard(p->za);
    json_decref(p->doc);
    json_decref(p->problem);
    json_decref(p->testdata);
    json_decref(p->solution_paths);
}

/* Why a name from the zip cannot be a file of the package, or NULL. */
static const char *unsafe_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return "an empty name";
    if (n >= PKG_MAX_PATH)
        return "a name longer than 255 bytes";
    if (name[0] == '/')
        return "an absolute path";
    if (strchr(name, '\\'))
        return "a backslash in the path";
    for (const char *s = name; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return "a control character in the path";
    const char *c = name;
    while (*c) {
        const char *e = strchr(c, '/');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if ((len == 2 && !strncmp(c, "..", 2)) || (len == 1 && c[0] == '.'))
            return "a \".\" or \"..\" path component";
        if (len == 0 && e)
            return "an empty path component";
        c += len + (e ? 1 : 0);
    }
    return NULL;
}

static bool is_link(zip_t *za, zip_uint64_t i)
{
    zip_uint8_t os = 0;
    zip_uint32_t attr = 0;
    if (zip_file_get_external_attributes(za, i, 0, &os, &attr) < 0)
        return false;
    return os == ZIP_OPSYS_UNIX && S_ISLNK((mode_t)(attr >> 16));
}

/* The entries' names, checked; directories left out. The single top-level
 * directory, when every file is inside one, is stripped. */
static int pkg_open(pkg_t *p)
{
    const pkg_source_t *in = p->src;
    size_t len = in->len;
    long long max = in->fd >= 0 ? PKG_MAX_BLOB_ZIP_BYTES : PKG_MAX_ZIP_BYTES;
    struct stat sb;
    if (in->fd >= 0) {
        if (fstat(in->fd, &sb) < 0) {
            content_report_error(p->rep, "", "the package cannot be read");
            return -1;
        }
        len = (size_t)sb.st_size;
    }
    if ((long long)len > max) {
        content_report_error(p->rep, "", "the package is %.1f MiB; the limit is %lld MiB%s",
                             len / 1048576.0, max >> 20,
                             in->fd >= 0 ? ""
                                         : " in one request (upload a larger one as a blob: "
                                           "PUT /api/v1/author/blobs/{sha256}, up to 256 MiB)");
        return -1;
    }
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = NULL;
    if (in->fd >= 0) {
        /* libzip closes what it is given: a descriptor of its own. */
        int fd = dup(in->fd);
        FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
        if (fp == NULL && fd >= 0)
            close(fd);
        src = fp ? zip_source_filep_create(fp, 0, -1, &ze) : NULL;
        if (src == NULL && fp)
            fclose(fp);
    } else {
        src = zip_source_buffer_create(in->zip, len, 0, &ze);
    }
    if (src)
        p->za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (p->za == NULL) {
        content_report_error(p->rep, "", "not a readable .zip file: %s", zip_error_strerror(&ze));
        if (src)
            zip_source_free(src);
        zip_error_fini(&ze);
        return -1;
    }
    zip_error_fini(&ze);
    zip_int64_t n = zip_get_num_entries(p->za, 0);
    if (n > PKG_MAX_ENTRIES) {
        content_report_error(p->rep, "", "the zip has %lld entries; the limit is %d", (long long)n,
                             PKG_MAX_ENTRIES);
        return -1;
    }
    p->files = xcalloc((size_t)n + 1, sizeof *p->files);
    zip_uint64_t declared = 0;
    for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(p->za, i, 0, &st) < 0 || !(st.valid & ZIP_STAT_NAME)) {
            content_report_error(p->rep, "", "entry %llu: unreadable header",
                                 (unsigned long long)i);
            continue;
        }
        const char *why = unsafe_name(st.name);
        if (why) {
            content_report_error(p->rep, st.name, "refused: %s (a package's files stay inside it)",
                                 why);
            continue;
        }
        if (is_link(p->za, i)) {
            content_report_error(p->rep, st.name, "refused: a symbolic link");
            continue;
        }
        if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
            content_report_error(p->rep, st.name, "refused: encrypted");
            continue;
        }
        if (st.name[strlen(st.name) - 1] == '/')
            continue;
        declared += st.size;
        p->files[p->n++] = (pkg_file_t){.path = xstrdup(st.name), .index = i, .size = st.size};
    }
    if (p->rep->n_errors)
        return -1;
    if (declared > (zip_uint64_t)PKG_MAX_TOTAL_BYTES) {
        content_report_error(p->rep, "", "the files would unpack to %.1f MiB; the limit is %lld MiB",
                             declared / 1048576.0, PKG_MAX_TOTAL_BYTES >> 20);
        return -1;
    }
    /* One top directory (the package's own): strip it. */
    if (p->n > 0) {
        const char *slash = strchr(p->files[0].path, '/');
        size_t tl = slash ? (size_t)(slash - p->files[0].path) : 0;
        bool one = tl > 0;
        for (size_t i = 0; one && i < p->n; i++)
            one = !strncmp(p->files[i].path, p->files[0].path, tl + 1);
        if (one) {
            snprintf(p->top, sizeof p->top, "%.*s", (int)tl, p->files[0].path);
            for (size_t i = 0; i < p->n; i++)
                memmove(p->files[i].path, p->files[i].path + tl + 1,
                        strlen(p->files[i].path + tl + 1) + 1);
        }
    }
    qsort(p->files, p->n, sizeof *p->files, cmp_file);
    for (size_t i = 1; i < p->n; i++)
        if (!strcmp(p->files[i].path, p->files[i - 1].path))
            content_report_error(p->rep, p->files[i].path, "refused: the zip holds it twice");
    return p->rep->n_errors ? -1 : 0;
}

static pkg_file_t *pkg_find(pkg_t *p, const char *path)
{
    pkg_file_t key = {.path = (char *)path};
    return bsearch(&key, p->files, p->n, sizeof *p->files, cmp_file);
}

/* Reads a file's bytes, at most `max` (0: the per-file limit; more than
 * it only for test data going to a blob): true with f->data and f->len;
 * false with the problem reported. Reads past what the header says never
 * happen: the cap holds whatever the header claims. */
static bool pkg_read(pkg_t *p, pkg_file_t *f, size_t max)
{
    f->used = true;
    if (f->read_done)
        return f->read_ok;
    f->read_done = true;
    if (max == 0)
        max = PKG_MAX_FILE_BYTES;
    if (f->size > max) {
        if (max >= 1024 * 1024)
            content_report_error(p->rep, f->path, "is %.1f MiB; the limit for this file is %zu MiB",
                                 f->size / 1048576.0, max >> 20);
        else
            content_report_error(p->rep, f->path,
                                 "is %.1f KiB; the limit for this file is %zu KiB",
                                 f->size / 1024.0, max / 1024);
        return false;
    }
    if (p->total_read + f->size > (zip_uint64_t)PKG_MAX_TOTAL_BYTES) {
        content_report_error(p->rep, f->path, "the files read reach %lld MiB, the limit",
                             PKG_MAX_TOTAL_BYTES >> 20);
        return false;
    }
    zip_file_t *zf = zip_fopen_index(p->za, f->index, 0);
    if (zf == NULL) {
        content_report_error(p->rep, f->path, "cannot be decompressed: %s",
                             zip_strerror(p->za));
        return false;
    }
    /* One byte more than the header says shows a lying header. */
    size_t cap = (size_t)f->size + 1;
    f->data = xcalloc(1, cap + 1);
    zip_int64_t got = 0, r = 0;
    while ((size_t)got < cap && (r = zip_fread(zf, f->data + got, cap - (size_t)got)) > 0)
        got += r;
    bool bad = r < 0;
    zip_fclose(zf);
    if (bad || (size_t)got > max || (zip_uint64_t)got != f->size) {
        content_report_error(p->rep, f->path, "%s",
                             bad ? "cannot be decompressed (corrupt data)"
                                 : "unpacks to more or less than its header says (refused)");
        return false;
    }
    f->len = (size_t)got;
    f->data[f->len] = '\0';
    p->total_read += f->len;
    f->read_ok = true;
    return true;
}

/* A file's text: valid UTF-8 without NUL (what a task's strings can hold). */
static const char *pkg_text(pkg_t *p, pkg_file_t *f, size_t max)
{
    if (!pkg_read(p, f, max))
        return NULL;
    if (strlen(f->data) != f->len) {
        content_report_error(p->rep, f->path, "contains a NUL byte (Dojo keeps tests and code as "
                                              "text)");
        return NULL;
    }
    json_t *s = json_stringn(f->data, f->len);
    if (s == NULL) {
        content_report_error(p->rep, f->path, "is not UTF-8 text");
        return NULL;
    }
    json_decref(s);
    return f->data;
}

/* ------------------------------------------------------------------------
 * The same checked zip for other packages (contest packages: contestpkg.c)
 * ------------------------------------------------------------------------ */

/* A package read from memory with its source (p first: freeing p frees
 * both). */
typedef struct pkg_mem {
    pkg_t p;
    pkg_source_t src;
} pkg_mem_t;

int pkg_zip_open(const void *zip, size_t len, content_report_t *rep, pkg_t **out)
{
    pkg_mem_t *m = xcalloc(1, sizeof *m);
    m->src = (pkg_source_t){.zip = zip, .len = len, .fd = -1};
    m->p.src = &m->src;
    m->p.rep = rep;
    if (pkg_open(&m->p) < 0) {
        pkg_zip_close(&m->p);
        return -1;
    }
    *out = &m->p;
    return 0;
}

void pkg_zip_close(pkg_t *p)
{
    if (p == NULL)
        return;
    pkg_free(p);
    free(p);
}

const char *pkg_zip_top(const pkg_t *p)
{
    return p->top;
}

json_t *pkg_zip_doc(pkg_t *p, const char *path, bool *bad)
{
    pkg_file_t *f = pkg_find(p, path);
    *bad = false;
    if (f == NULL)
        return NULL;
    const char *text = pkg_text(p, f, 0);
    json_t *j = NULL;
    size_t n = strlen(path);
    if (text && n > 5 && !strcmp(path + n - 5, ".json")) {
        json_error_t jerr;
        j = json_loadb(text, f->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (j == NULL)
            content_report_error(p->rep, path, "line %d: %s", jerr.line, jerr.text);
    } else if (text) {
        char why[256];
        if (pkg_yaml_parse(text, f->len, why, sizeof why, &j) < 0)
            content_report_error(p->rep, path, "%s", why);
    }
    *bad = j == NULL;
    return j;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* A YAML file of the package: NULL when absent; an object, or NULL with
 * the problem reported. */
static json_t *pkg_yaml(pkg_t *p, const char *path, bool *bad)
{
    pkg_file_t *f = pkg_find(p, path);
    *bad = false;
    if (f == NULL)
        return NULL;
    const char *text = pkg_text(p, f, 256 * 1024);
    char why[256];
    json_t *j = NULL;
    if (text == NULL || pkg_yaml_parse(text, f->len, why, sizeof why, &j) < 0) {
        if (text)
            content_report_error(p->rep, path, "%s", why);
        *bad = true;
        return NULL;
    }
    if (!json_is_object(j)) {
        content_report_error(p->rep, path, "must be a YAML map of keys to values");
        json_decref(j);
        *bad = true;
        return NULL;
    }
    return j;
}

/* A YAML number (integer or real, or a string holding one). */
static bool yaml_number(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out);
    }
    if (json_is_string(v)) {
        char *end = NULL;
        *out = strtod(json_string_value(v), &end);
        return end != json_string_value(v) && *end == '\0' && isfinite(*out);
    }
    return false;
}

/* ------------------------------------------------------------------------
 * problem.yaml
 * ------------------------------------------------------------------------ */

static const char *const problem_keys[] = {
    "problem_format_version", "type", "name", "uuid", "version", "author", "credits", "source",
    "source_url", "license", "rights_owner", "embargo_until", "limits", "validation",
    "validator_flags", "grading", "keywords", "languages", "allow_file_writing", "constants",
    NULL};

static void read_name(pkg_t *p)
{
    json_t *name = json_object_get(p->problem, "name");
    const char *title = NULL;
    if (json_is_string(name)) {
        title = json_string_value(name);
    } else if (json_is_object(name)) {
        json_t *en = json_object_get(name, "en");
        if (json_is_string(en)) {
            title = json_string_value(en);
        } else {
            const char *k;
            json_t *v;
            json_object_foreach(name, k, v) if (json_is_string(v))
            {
                title = json_string_value(v);
                break;
            }
        }
    } else if (name && !json_is_null(name)) {
        content_report_error(p->rep, "problem.yaml",
                             "name: must be a string or a map of language codes to names");
    }
    if (title && *title)
        json_object_set_new(p->doc, "title", json_string(title));
}

static void read_type(pkg_t *p)
{
    json_t *t = json_object_get(p->problem, "type");
    json_t *list = json_is_array(t) ? json_incref(t) : json_pack("[O]", t ? t : json_null());
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (json_is_null(v) || (s && !strcmp(s, "pass-fail")))
            continue;
        if (s && !strcmp(s, "scoring")) {
            p->scoring = true;
        } else if (s && !strcmp(s, "interactive")) {
            p->interactive = true;
        } else if (s && (!strcmp(s, "multi-pass") ||
                         !strcmp(s, "submit-answer"))) {
            content_report_error(p->rep, "problem.yaml",
                                 "type: \"%s\" problems are not supported yet", s);
        } else {
            content_report_error(p->rep, "problem.yaml",
                                 "type: must be \"pass-fail\" or \"scoring\" (or a list of them)");
        }
    }
    json_decref(list);
}

/* A limit in problem.yaml's unit, converted and range-checked into `key` of
 * the task's limits. */
static void limit_mib(pkg_t *p, json_t *limits, json_t *out, const char *key, const char *dojo_key,
                      long min_kib, long max_kib)
{
    json_t *v = json_object_get(limits, key);
    if (v == NULL || json_is_null(v))
        return;
    double mib;
    if (!yaml_number(v, &mib) || mib <= 0 || mib != floor(mib) || mib * 1024 < min_kib ||
        mib * 1024 > max_kib) {
        content_report_error(p->rep, "problem.yaml",
                             "limits.%s: must be a whole number of MiB, %ld-%ld (Dojo's range)",
                             key, (min_kib + 1023) / 1024, max_kib / 1024);
        return;
    }
    json_object_set_new(out, dojo_key, json_integer((json_int_t)mib * 1024));
}

/* The CPU time limit: 2023-07's limits.time_limit, else DOMjudge's
 * .timelimit file; the multipliers say how to derive one from the
 * submissions' times, which Dojo does not (the default stays). */
static void set_time_limit(pkg_t *p, json_t *out, double secs, const char *where)
{
    double ms = round(secs * 1000);
    if (!(ms >= 100 && ms <= 10000)) {
        content_report_error(p->rep, where,
                             "time limit: %g s is outside Dojo's range of 0.1-10 s of CPU time",
                             secs);
        return;
    }
    json_object_set_new(out, "cpu_ms", json_integer((json_int_t)ms));
    if (ms > 5000)
        json_object_set_new(out, "wall_ms", json_integer((json_int_t)fmin(30000, ms * 2)));
    p->have_time_limit = true;
}

static void read_limits(pkg_t *p)
{
    json_t *limits = json_object_get(p->problem, "limits");
    json_t *out = json_object();
    if (limits && !json_is_object(limits) && !json_is_null(limits))
        content_report_error(p->rep, "problem.yaml", "limits: must be a map");
    if (json_is_object(limits)) {
        static const char *const known[] = {
            "time_multiplier",    "time_safety_margin", "time_multipliers", "time_limit",
            "time_resolution",    "memory",             "output",           "code",
            "compilation_time",   "compilation_memory", "validation_time",  "validation_memory",
            "validation_output",  "validation_passes",  NULL};
        const char *k;
        json_t *v;
        json_object_foreach(limits, k, v)
        {
            bool ok = false;
            for (size_t i = 0; known[i]; i++)
                ok = ok || !strcmp(k, known[i]);
            if (!ok)
                content_report_error(p->rep, "problem.yaml", "limits.%s: unknown key", k);
        }
        json_t *tl = json_object_get(limits, "time_limit");
        double secs;
        if (tl && !json_is_null(tl)) {
            if (yaml_number(tl, &secs) && secs > 0)
                set_time_limit(p, out, secs, "problem.yaml");
            else
                content_report_error(p->rep, "problem.yaml",
                                     "limits.time_limit: must be a number of seconds > 0");
        }
        limit_mib(p, limits, out, "memory", "memory_kib", 16384, 1048576);
        limit_mib(p, limits, out, "output", "output_kib", 1024, 16384);
        if (!p->have_time_limit &&
            (json_object_get(limits, "time_multiplier") ||
             json_object_get(limits, "time_multipliers")))
            content_report_warn(p->rep, "problem.yaml",
                                "limits: time multipliers are not applied: without time_limit "
                                "(or .timelimit) the CPU limit is Dojo's default, 2 s");
    }
    pkg_file_t *f = pkg_find(p, ".timelimit");
    const char *text = f ? pkg_text(p, f, 64) : NULL;
    if (text && !p->have_time_limit) {
        char *end = NULL;
        double secs = strtod(text, &end);
        while (end && (*end == '\n' || *end == ' ' || *end == '\r'))
            end++;
        if (end == text || (end && *end))
            content_report_error(p->rep, ".timelimit", "must hold a number of seconds");
        else
            set_time_limit(p, out, secs, ".timelimit");
    }
    if (json_object_size(out))
        json_object_set_new(p->doc, "limits", out);
    else
        json_decref(out);
}

/* keywords: a string of words (legacy) or a list (2023-07), to tags. */
static void read_keywords(pkg_t *p)
{
    json_t *kw = json_object_get(p->problem, "keywords");
    json_t *words = json_array();
    if (json_is_string(kw)) {
        cleanup_free char *s = xstrdup(json_string_value(kw));
        char *save = NULL;
        for (char *w = strtok_r(s, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save))
            json_array_append_new(words, json_string(w));
    } else if (json_is_array(kw)) {
        json_array_extend(words, kw);
    } else if (kw && !json_is_null(kw)) {
        content_report_error(p->rep, "problem.yaml", "keywords: must be a string or a list");
    }
    json_t *tags = json_array();
    size_t i;
    json_t *w;
    json_array_foreach(words, i, w)
    {
        char tag[33] = "";
        const char *s = json_string_value(w);
        size_t n = 0;
        bool ok = s && *s;
        for (; ok && *s && n < 32; s++) {
            char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
            if (c == ' ' || c == '_')
                c = '-';
            ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            tag[n++] = c;
        }
        tag[n] = '\0';
        ok = ok && (s == NULL || *s == '\0');
        bool dup = false;
        size_t j;
        json_t *t;
        json_array_foreach(tags, j, t) dup = dup || !strcmp(json_string_value(t), tag);
        if (!ok || json_array_size(tags) >= 10) {
            content_report_warn(p->rep, "problem.yaml",
                                "keywords: \"%.40s\" left out (a tag is 1-32 characters of "
                                "[a-z0-9-], at most 10 tags)",
                                json_is_string(w) ? json_string_value(w) : "?");
        } else if (!dup) {
            json_array_append_new(tags, json_string(tag));
        }
    }
    json_decref(words);
    json_object_set_new(p->doc, "tags", tags);
}

/* The default validator's flags (validator_flags, output_validator_flags)
 * onto `checker` (a default_validator checker's members); false, with the
 * problem reported at `where`, when one is not the default validator's. */
static bool apply_validator_flags(pkg_t *p, json_t *checker, const char *flags, const char *where)
{
    cleanup_free char *s = xstrdup(flags);
    char *save = NULL;
    for (char *w = strtok_r(s, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
        if (!strcmp(w, "case_sensitive") || !strcmp(w, "space_change_sensitive")) {
            json_object_set_new(checker, w, json_true());
            continue;
        }
        bool abs = !strcmp(w, "float_absolute_tolerance"), rel = !strcmp(w, "float_relative_tolerance");
        if (abs || rel || !strcmp(w, "float_tolerance")) {
            char *num = strtok_r(NULL, " \t\n", &save);
            char *end = NULL;
            double eps = num ? strtod(num, &end) : -1;
            if (!num || *end || !(eps >= 0) || !isfinite(eps)) {
                content_report_error(p->rep, where, "%s: must be followed by a number >= 0", w);
                return false;
            }
            if (!rel)
                json_object_set_new(checker, "abs_tol", json_real(eps));
            if (!abs)
                json_object_set_new(checker, "rel_tol", json_real(eps));
            continue;
        }
        content_report_error(p->rep, where,
                             "validator flags: \"%.40s\" is not a flag of the default output "
                             "validator (case_sensitive, space_change_sensitive, "
                             "float_tolerance E, float_absolute_tolerance E, "
                             "float_relative_tolerance E)",
                             w);
        return false;
    }
    return true;
}

/* A flags value: a string, or a list of strings (2023-07's *_args). New. */
static char *flags_text(json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (!json_is_array(v))
        return NULL;
    size_t cap = 1, i;
    json_t *w;
    /* A number is written with %.17g into 32 bytes: room for 31 of it. */
    json_array_foreach(v, i, w) cap += (json_is_string(w) ? json_string_length(w) : 31) + 1;
    char *out = xcalloc(1, cap);
    json_array_foreach(v, i, w)
    {
        char num[32];
        const char *s = json_string_value(w);
        if (s == NULL && json_is_number(w)) {
            snprintf(num, sizeof num, "%.17g", json_number_value(w));
            s = num;
        }
        if (s) {
            strcat(out, i ? " " : "");
            strcat(out, s);
        }
    }
    return out;
}

static bool has_output_validator(pkg_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (has_prefix(p->files[i].path, "output_validators/") ||
            has_prefix(p->files[i].path, "output_validator/"))
            return true;
    return false;
}

/* The order of a validator's files: its entry first (Python's __main__.py
 * or only .py, Java's class with main, else the source with main()), then
 * the rest in name order. */
static int entry_rank(json_t *f, const char *lang)
{
    const char *name = json_string_value(json_object_get(f, "name"));
    const char *text = json_string_value(json_object_get(f, "content"));
    const char *l = pkg_language_of(name);
    if (l == NULL || strcmp(l, lang))
        return 3;
    if (!strcmp(lang, "python3"))
        return !strcmp(name, "__main__.py") ? 0 : 1;
    if (!strcmp(lang, "java"))
        return strstr(text, "static void main") ? 0 : 1;
    return strstr(text, "main(") ? 0 : 1;
}

/* One file of a validator's program (rel: its name in the program's
 * directory) appended to `files` as {name, content}; a subdirectory, a
 * build or run script, or unreadable text is reported instead. */
static void program_file(pkg_t *p, pkg_file_t *f, const char *rel, json_t *files)
{
    if (strchr(rel, '/')) {
        content_report_error(p->rep, f->path,
                             "a validator's files must sit side by side (no subdirectories)");
        return;
    }
    if (!strcmp(rel, "build") || !strcmp(rel, "run")) {
        content_report_error(p->rep, f->path,
                             "build and run scripts are not supported: Dojo builds the "
                             "validator from its sources by their language");
        return;
    }
    const char *text = pkg_text(p, f, PKG_MAX_FILE_BYTES);
    if (text)
        json_array_append_new(files, json_pack("{s:s, s:s}", "name", rel, "content", text));
}

/* A validator's program from its files (stolen): {language, files} with
 * the entry first, or NULL with the problem reported at `where` (sources in
 * two languages, or none Dojo runs). New. */
static json_t *program_of(pkg_t *p, const char *where, json_t *files)
{
    const char *lang = NULL;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *l = pkg_language_of(json_string_value(json_object_get(f, "name")));
        if (l && lang && strcmp(l, lang)) {
            content_report_error(p->rep, where,
                                 "the validator's sources are in more than one language (%s and "
                                 "%s)",
                                 lang, l);
            json_decref(files);
            return NULL;
        }
        lang = l ? l : lang;
    }
    if (lang == NULL) {
        if (p->rep->n_errors == 0)
            content_report_error(p->rep, where,
                                 "no source file of a language Dojo runs (.cpp, .c, .py, .java …)");
        json_decref(files);
        return NULL;
    }
    /* Entry first: a stable insertion by rank. */
    json_t *ordered = json_array();
    for (int rank = 0; rank <= 3; rank++)
        json_array_foreach(files, i, f) if (entry_rank(f, lang) == rank)
            json_array_append(ordered, f);
    json_decref(files);
    return json_pack("{s:s, s:o}", "language", lang, "files", ordered);
}

/* Flags as the list a validator gets. New. */
static json_t *flag_list(const char *text)
{
    json_t *list = json_array();
    cleanup_free char *s = xstrdup(text ? text : "");
    char *save = NULL;
    for (char *w = strtok_r(s, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
        json_array_append_new(list, json_string(w));
    return list;
}

/* A custom output validator (or interactor), legacy output_validators/<name>/
 * or 2023-07 output_validator/, as the package_validator checker. */
static void read_custom_validator(pkg_t *p)
{
    json_t *files = json_array();
    char program[PKG_MAX_PATH] = "";
    const char *where = "output_validators/";
    for (size_t i = 0; i < p->n; i++) {
        const char *path = p->files[i].path, *rel = NULL;
        if (has_prefix(path, "output_validator/")) {
            rel = path + strlen("output_validator/");
            where = "output_validator/";
        } else if (has_prefix(path, "output_validators/")) {
            const char *prog = path + strlen("output_validators/");
            const char *slash = strchr(prog, '/');
            size_t n = slash ? (size_t)(slash - prog) : strlen(prog);
            if (program[0] && (strlen(program) != n || strncmp(program, prog, n))) {
                content_report_error(p->rep, path,
                                     "Dojo runs one output validator; the package has several "
                                     "(\"%s\" and \"%.*s\")",
                                     program, (int)n, prog);
                json_decref(files);
                return;
            }
            snprintf(program, sizeof program, "%.*s", (int)n, prog);
            rel = slash ? slash + 1 : prog;
        } else {
            continue;
        }
        program_file(p, &p->files[i], rel, files);
    }
    json_t *checker = program_of(p, where, files);
    if (checker == NULL)
        return;
    json_object_set_new(checker, "kind", json_string("package_validator"));
    json_t *flags = json_object_get(p->problem, "validator_flags");
    cleanup_free char *text = flags_text(flags);
    if (text)
        json_object_set_new(checker, "flags", flag_list(text));
    if (p->interactive)
        json_object_set_new(checker, "interactive", json_true());
    json_object_set_new(p->doc, "checker", checker);
}

static void read_validation(pkg_t *p)
{
    json_t *v = json_object_get(p->problem, "validation");
    const char *val = json_string_value(v);
    if (v && !json_is_null(v) && !val)
        content_report_error(p->rep, "problem.yaml",
                             "validation: must be \"default\" or \"custom\" (with \"interactive\" "
                             "or \"score\")");
    if (val && has_prefix(val, "custom")) {
        if (strstr(val, "interactive"))
            p->interactive = true;
        if (strstr(val, "score"))
            content_report_error(p->rep, "problem.yaml",
                                 "validation: validators that give a score are not supported yet");
        if (!has_output_validator(p)) {
            content_report_error(p->rep, "output_validators/",
                                 "required: \"validation: custom\" needs its output validator");
            return;
        }
    }
    if ((val && has_prefix(val, "custom")) || has_output_validator(p)) {
        read_custom_validator(p);
        return;
    }
    if (p->interactive) {
        content_report_error(p->rep, "output_validator/",
                             "required: an interactive problem needs its interactor (the output "
                             "validator)");
        return;
    }
    if (val && strcmp(val, "default")) {
        content_report_error(p->rep, "problem.yaml",
                             "validation: must be \"default\" or \"custom\"");
        return;
    }
    json_object_set_new(p->doc, "checker", json_pack("{s:s}", "kind", "default_validator"));
    json_t *flags = json_object_get(p->problem, "validator_flags");
    cleanup_free char *text = flags_text(flags);
    if (flags && !json_is_null(flags) && text == NULL)
        content_report_error(p->rep, "problem.yaml", "validator_flags: must be a string");
    else if (text)
        apply_validator_flags(p, json_object_get(p->doc, "checker"), text, "problem.yaml");
}

static void read_problem(pkg_t *p)
{
    bool bad = false;
    p->problem = pkg_yaml(p, "problem.yaml", &bad);
    if (p->problem == NULL) {
        if (!bad)
            content_report_error(p->rep, "problem.yaml",
                                 "required: a problem package has problem.yaml at its top");
        p->problem = json_object();
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(p->problem, k, v)
    {
        bool ok = false;
        for (size_t i = 0; problem_keys[i]; i++)
            ok = ok || !strcmp(k, problem_keys[i]);
        if (!ok)
            content_report_error(p->rep, "problem.yaml", "%s: unknown key", k);
    }
    json_t *ver = json_object_get(p->problem, "problem_format_version");
    const char *vs = json_string_value(ver);
    if (ver && !(vs && (!strcmp(vs, "legacy") || !strcmp(vs, "legacy-icpc") ||
                        has_prefix(vs, "2023-07") || !strcmp(vs, "2025-09") ||
                        !strcmp(vs, "draft"))))
        content_report_error(p->rep, "problem.yaml",
                             "problem_format_version: Dojo reads \"legacy\", \"2023-07\", "
                             "\"2023-07-draft\" and \"2025-09\"");
    read_name(p);
    read_type(p);
    read_limits(p);
    read_keywords(p);
    read_validation(p);
    json_t *langs = json_object_get(p->problem, "languages");
    if (langs && !json_is_null(langs) && !(json_is_string(langs) &&
                                           !strcmp(json_string_value(langs), "all"))) {
        json_t *list = json_is_array(langs) ? json_incref(langs) : json_pack("[O]", langs);
        json_t *out = json_array();
        size_t i;
        json_t *l;
        json_array_foreach(list, i, l)
        {
            const char *id = json_string_value(l);
            if (id && !strcmp(id, "python"))
                id = "python3";
            if (id && !strcmp(id, "kotlin-jvm"))
                id = "kotlin";
            if (id == NULL || content_language_find(id) == NULL)
                content_report_error(p->rep, "problem.yaml",
                                     "languages: \"%.32s\" is not a language Dojo runs",
                                     id ? id : "?");
            else
                json_array_append_new(out, json_pack("{s:s}", "language", id));
        }
        json_decref(list);
        json_object_set_new(p->doc, "languages", out);
        json_object_set_new(p->doc, "restrict_languages", json_true());
    }
}

/* ------------------------------------------------------------------------
 * The statement and the editorial
 * ------------------------------------------------------------------------ */

/* The best file of `dir` named `stem`.<lang>.<ext> or `stem`.<ext>, English
 * first, Markdown before plain text before LaTeX. */
static pkg_file_t *find_text_file(pkg_t *p, const char *const *dirs, const char *stem,
                                  const char **ext_out)
{
    static const char *const exts[] = {"md", "txt", "tex", NULL};
    for (size_t e = 0; exts[e]; e++)
        for (size_t d = 0; dirs[d]; d++) {
            char path[PKG_MAX_PATH];
            snprintf(path, sizeof path, "%s/%s.en.%s", dirs[d], stem, exts[e]);
            pkg_file_t *f = pkg_find(p, path);
            snprintf(path, sizeof path, "%s/%s.%s", dirs[d], stem, exts[e]);
            if (f == NULL)
                f = pkg_find(p, path);
            char prefix[PKG_MAX_PATH], suffix[16];
            snprintf(prefix, sizeof prefix, "%s/%s.", dirs[d], stem);
            snprintf(suffix, sizeof suffix, ".%s", exts[e]);
            for (size_t i = 0; f == NULL && i < p->n; i++)
                if (has_prefix(p->files[i].path, prefix) && has_suffix(p->files[i].path, suffix) &&
                    !strchr(p->files[i].path + strlen(prefix), '/'))
                    f = &p->files[i];
            if (f) {
                *ext_out = exts[e];
                return f;
            }
        }
    return NULL;
}

/* A LaTeX statement kept as its source: \problemname gives the title when
 * problem.yaml has none, and its line goes. New. */
static char *latex_statement(pkg_t *p, const char *tex)
{
    const char *pn = strstr(tex, "\\problemname{");
    if (pn == NULL)
        return xstrdup(tex);
    const char *start = pn + strlen("\\problemname{"), *end = strchr(start, '}');
    if (end == NULL)
        return xstrdup(tex);
    if (!json_object_get(p->doc, "title") && end > start)
        json_object_set_new(p->doc, "title", json_stringn(start, (size_t)(end - start)));
    const char *eol = strchr(end, '\n');
    eol = eol ? eol + 1 : end + 1;
    return xasprintf("%.*s%s", (int)(pn - tex), tex, eol);
}

static void read_statement(pkg_t *p)
{
    static const char *const dirs[] = {"statement", "problem_statement", NULL};
    const char *ext = NULL;
    pkg_file_t *f = find_text_file(p, dirs, "problem", &ext);
    if (f == NULL) {
        for (size_t i = 0; i < p->n; i++)
            if ((has_prefix(p->files[i].path, "statement/") ||
                 has_prefix(p->files[i].path, "problem_statement/")) &&
                has_suffix(p->files[i].path, ".pdf")) {
                content_report_error(p->rep, p->files[i].path,
                                     "a PDF statement cannot be shown to learners: add "
                                     "problem.en.md (Markdown), .txt or .tex beside it");
                return;
            }
        content_report_error(p->rep, "statement/",
                             "required: statement/problem.en.md (or problem_statement/, with "
                             ".md, .txt or .tex)");
        return;
    }
    const char *text = pkg_text(p, f, CONTENT_MAX_CODE_BYTES);
    if (text == NULL)
        return;
    cleanup_free char *desc = NULL;
    if (!strcmp(ext, "tex")) {
        desc = latex_statement(p, text);
        content_report_warn(p->rep, f->path,
                            "kept as its LaTeX source: Dojo shows statements as Markdown, so "
                            "LaTeX commands show as written; edit the statement in the designer");
    } else {
        desc = xstrdup(text);
    }
    json_object_set_new(p->doc, "description", json_string(desc));
    json_object_set_new(p->doc, "statement_file", json_string(f->path));

    static const char *const sol_dirs[] = {"solution", NULL};
    pkg_file_t *e = find_text_file(p, sol_dirs, "solution", &ext);
    const char *ed = e ? pkg_text(p, e, CONTENT_MAX_CODE_BYTES) : NULL;
    if (ed && *ed)
        json_object_set_new(p->doc, "editorial", json_string(ed));
}

/* ------------------------------------------------------------------------
 * Test data: data/sample and data/secret, groups, testdata.yaml
 * ------------------------------------------------------------------------ */

/* The testdata.yaml (or test_group.yaml) that applies in `dir` ("data/x"):
 * its own or its closest ancestor's, up to data/. Borrowed; NULL for none. */
static json_t *testdata_for(pkg_t *p, const char *dir)
{
    char d[PKG_MAX_PATH];
    snprintf(d, sizeof d, "%s", dir);
    for (int guard = 0; guard < 64; guard++) {
        json_t *cached = json_object_get(p->testdata, d);
        if (cached == NULL) {
            char path[PKG_MAX_PATH + 20];
            bool bad = false;
            snprintf(path, sizeof path, "%s/testdata.yaml", d);
            json_t *y = pkg_yaml(p, path, &bad);
            if (y == NULL && !bad) {
                snprintf(path, sizeof path, "%s/test_group.yaml", d);
                y = pkg_yaml(p, path, &bad);
            }
            cached = y ? y : json_null();
            json_object_set_new(p->testdata, d, cached);
        }
        if (!json_is_null(cached))
            return cached;
        char *slash = strrchr(d, '/');
        if (slash == NULL)
            return NULL;
        *slash = '\0';
    }
    return NULL;
}

/* The value of `key` (else `alt`, may be NULL) in `dir`'s own
 * testdata.yaml or test_group.yaml, or, when that sets neither, in its
 * closest ancestor's up to data/: a group inherits each key it does not set
 * itself (as problemtools reads them). Borrowed; NULL for none. `from` (may
 * be NULL) gets the file that sets it. */
static json_t *testdata_key(pkg_t *p, const char *dir, const char *key, const char *alt,
                            char *from)
{
    char d[PKG_MAX_PATH];
    snprintf(d, sizeof d, "%s", dir);
    for (int guard = 0; guard < 64; guard++) {
        (void)testdata_for(p, d); /* reads and caches d's own file */
        json_t *own = json_object_get(p->testdata, d);
        json_t *f = json_is_object(own) ? json_object_get(own, key) : NULL;
        if (f == NULL && alt && json_is_object(own))
            f = json_object_get(own, alt);
        if (f) {
            if (from) {
                snprintf(from, PKG_MAX_PATH + 20, "%s/testdata.yaml", d);
                if (pkg_find(p, from) == NULL)
                    snprintf(from, PKG_MAX_PATH + 20, "%s/test_group.yaml", d);
            }
            return f;
        }
        char *slash = strrchr(d, '/');
        if (slash == NULL || !strcmp(d, "data"))
            return NULL;
        *slash = '\0';
    }
    return NULL;
}

/* The words of `text` appended to `list`. */
static void append_words(json_t *list, const char *text)
{
    cleanup_json json_t *words = flag_list(text);
    json_array_extend(list, words);
}

/* A test whose group sets output validator flags of its own (other than the
 * root's) gets them as its validator_flags, after problem.yaml's
 * validator_flags as the format passes them; they are checked here for the
 * default validator, naming the group's file. */
static void read_group_flags(pkg_t *p, const char *root_flags, const char *kind)
{
    json_t *problem_flags = json_object_get(p->problem, "validator_flags");
    cleanup_free char *pf = problem_flags ? flags_text(problem_flags) : NULL;
    bool dv = kind && !strcmp(kind, "default_validator");
    json_t *checked = json_object(); /* files already checked */
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(p->doc, "tests"), i, t)
    {
        const char *file = json_string_value(json_object_get(t, "file"));
        if (file == NULL)
            continue;
        char dir[PKG_MAX_PATH], from[PKG_MAX_PATH + 20];
        snprintf(dir, sizeof dir, "%s", file);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        json_t *f = testdata_key(p, dir, "output_validator_flags", "output_validator_args", from);
        if (f == NULL || !strcmp(from, "data/testdata.yaml") ||
            !strcmp(from, "data/test_group.yaml"))
            continue;
        cleanup_free char *text = json_is_null(f) ? xstrdup("") : flags_text(f);
        if (text == NULL) {
            if (!json_object_get(checked, from))
                content_report_error(p->rep, from,
                                     "output_validator_flags: must be a string (or "
                                     "output_validator_args a list of strings)");
            json_object_set_new(checked, from, json_false());
            continue;
        }
        if (!strcmp(text, root_flags ? root_flags : ""))
            continue;
        json_t *list = json_array();
        append_words(list, pf);
        append_words(list, text);
        if (dv && !json_object_get(checked, from)) {
            cleanup_json json_t *scratch = json_object();
            cleanup_free char *all = xasprintf("%s %s", pf ? pf : "", text);
            bool ok = apply_validator_flags(p, scratch, all, from);
            json_object_set_new(checked, from, json_boolean(ok));
        }
        if (json_is_false(json_object_get(checked, from))) {
            json_decref(list);
            continue;
        }
        if (json_array_size(list) > VALIDATOR_FLAGS_MAX) {
            content_report_error(p->rep, from, "%zu validator flags: at most %d",
                                 json_array_size(list), VALIDATOR_FLAGS_MAX);
            json_object_set_new(checked, from, json_false());
            json_decref(list);
            continue;
        }
        json_object_set_new(t, "validator_flags", list);
    }
    json_decref(checked);
}

/* The root's flags onto the checker, and each group's own flags onto its
 * tests (read_group_flags). */
static void read_testdata_flags(pkg_t *p)
{
    json_t *root = testdata_for(p, "data");
    json_t *rf = root ? json_object_get(root, "output_validator_flags") : NULL;
    if (rf == NULL && root)
        rf = json_object_get(root, "output_validator_args");
    cleanup_free char *root_flags = rf ? flags_text(rf) : NULL;
    /* Every group's file, read here: a group's own input validator flags
     * would be silently ignored. */
    for (size_t i = 0; i < p->n; i++) {
        const char *path = p->files[i].path;
        const char *base = strrchr(path, '/');
        if (!has_prefix(path, "data/") || base == NULL ||
            (strcmp(base, "/testdata.yaml") && strcmp(base, "/test_group.yaml")) ||
            !strcmp(path, "data/testdata.yaml") || !strcmp(path, "data/test_group.yaml"))
            continue;
        char dir[PKG_MAX_PATH];
        snprintf(dir, sizeof dir, "%.*s", (int)(base - path), path);
        json_t *td = testdata_for(p, dir);
        if (td && (json_object_get(td, "input_validator_flags") ||
                   json_object_get(td, "input_validator_args")))
            content_report_warn(p->rep, path,
                                "input validator flags per test group are not applied: the "
                                "input validators get data/testdata.yaml's for every test");
    }
    json_t *checker = json_object_get(p->doc, "checker");
    const char *kind = json_string_value(json_object_get(checker, "kind"));
    read_group_flags(p, root_flags, kind);
    if (root_flags && kind && !strcmp(kind, "package_validator")) {
        json_t *list = json_object_get(checker, "flags");
        if (list == NULL)
            json_object_set_new(checker, "flags", list = json_array());
        append_words(list, root_flags);
    } else if (root_flags && checker) {
        apply_validator_flags(p, checker, root_flags, "data/testdata.yaml");
    }
    json_t *on_reject = root ? json_object_get(root, "on_reject") : NULL;
    if (json_is_string(on_reject) && !strcmp(json_string_value(on_reject), "break"))
        json_object_set_new(p->doc, "stop_at_first_failure", json_true());
}

/* ------------------------------------------------------------------------
 * Input validators: input_format_validators/ (legacy), input_validators/
 * (2023-07) and input_validator/ (2025-09)
 *
 * Each program is a directory below the first two (or a single source file
 * there), or input_validator/ itself. They are kept with the task
 * (input_validators, in path order; the gateway runs them over every test's
 * input before the task is stored, and an export writes them back). Flags
 * come from data/testdata.yaml: input_validator_flags (a string or a list for
 * every validator, or a map by the validator's name); dojo.json, when it
 * lists a validator, gives its flags and its files' order instead.
 * ------------------------------------------------------------------------ */

/* The program of `path` below the input validator folders: its directory
 * ("input_validators/check", or the file itself for a single-file program)
 * in prog and the file's name in it in *rel; false when path is none. */
static bool input_program(const char *path, char prog[PKG_MAX_PATH], const char **rel)
{
    static const char *const dirs[] = {"input_format_validators/", "input_validators/", NULL};
    if (has_prefix(path, "input_validator/")) {
        snprintf(prog, PKG_MAX_PATH, "input_validator");
        *rel = path + strlen("input_validator/");
        return true;
    }
    for (int d = 0; dirs[d]; d++) {
        if (!has_prefix(path, dirs[d]))
            continue;
        const char *name = path + strlen(dirs[d]);
        const char *slash = strchr(name, '/');
        size_t n = slash ? (size_t)(slash - name) + strlen(dirs[d]) : strlen(path);
        snprintf(prog, PKG_MAX_PATH, "%.*s", (int)n, path);
        *rel = slash ? slash + 1 : name;
        return true;
    }
    return false;
}

/* The flags of the validator `prog` (its directory) from data/testdata.yaml.
 * New, or NULL for none. */
static json_t *input_flags(pkg_t *p, const char *prog)
{
    json_t *root = testdata_for(p, "data");
    json_t *f = root ? json_object_get(root, "input_validator_flags") : NULL;
    if (f == NULL && root)
        f = json_object_get(root, "input_validator_args");
    if (json_is_object(f)) {
        const char *slash = strrchr(prog, '/'), *name = slash ? slash + 1 : prog;
        char stem[PKG_MAX_PATH];
        snprintf(stem, sizeof stem, "%s", name);
        char *dot = strrchr(stem, '.');
        if (dot && pkg_language_of(stem))
            *dot = '\0'; /* a single-file program is named without its extension */
        f = json_object_get(f, stem);
    }
    cleanup_free char *text = f ? flags_text(f) : NULL;
    if (f && !json_is_null(f) && text == NULL) {
        content_report_error(p->rep, "data/testdata.yaml",
                             "input_validator_flags: must be a string, a list of strings or a "
                             "map from a validator's name to those");
        return NULL;
    }
    return text ? flag_list(text) : NULL;
}

static void read_input_validators(pkg_t *p)
{
    json_t *list = json_array();
    char cur[PKG_MAX_PATH] = "";
    json_t *files = NULL;
    /* p->files are sorted by path: a program's files are together. */
    for (size_t i = 0; i <= p->n; i++) {
        char prog[PKG_MAX_PATH] = "";
        const char *rel = NULL;
        bool in = i < p->n && input_program(p->files[i].path, prog, &rel);
        if (files && (!in || strcmp(prog, cur))) {
            json_t *v = program_of(p, cur, files);
            files = NULL;
            if (v) {
                json_object_set_new(v, "path", json_string(cur));
                json_t *flags = input_flags(p, cur);
                if (flags)
                    json_object_set_new(v, "flags", flags);
                json_array_append_new(list, v);
            }
        }
        if (!in)
            continue;
        if (files == NULL) {
            files = json_array();
            snprintf(cur, sizeof cur, "%s", prog);
        }
        program_file(p, &p->files[i], rel, files);
    }
    if (json_array_size(list) > 0)
        json_object_set_new(p->doc, "input_validators", list);
    else
        json_decref(list);
}

/* Dojo's group of a secret test: its first directory below data/secret,
 * lower-cased with "_" as "-"; "" for none. */
static bool group_of(pkg_t *p, const char *rel, char group[33], const char *path)
{
    group[0] = '\0';
    const char *slash = strchr(rel, '/');
    if (slash == NULL)
        return true;
    size_t n = (size_t)(slash - rel);
    bool ok = n >= 1 && n <= 32;
    for (size_t i = 0; ok && i < n; i++) {
        char c = rel[i] >= 'A' && rel[i] <= 'Z' ? (char)(rel[i] - 'A' + 'a') : rel[i];
        if (c == '_' || c == '.')
            c = '-';
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        group[i] = c;
    }
    group[ok ? n : 0] = '\0';
    if (!ok)
        content_report_error(p->rep, path,
                             "test group \"%.*s\": a group's name must be 1-32 characters of "
                             "[A-Za-z0-9_-] (Dojo's groups are [a-z0-9-])",
                             (int)(n > 64 ? 64 : n), rel);
    return ok;
}

/* A test's weight: accept_score of its testdata.yaml (scoring problems). */
static json_int_t weight_of(pkg_t *p, const char *dir)
{
    if (!p->scoring)
        return 1;
    json_t *s = testdata_key(p, dir, "accept_score", NULL, NULL);
    double w = 1;
    if (s && (!yaml_number(s, &w) || w != floor(w) || w < 1 || w > 100)) {
        content_report_error(p->rep, dir,
                             "testdata.yaml: accept_score must be a whole number 1-100 (it "
                             "becomes each test's weight in Dojo)");
        return 1;
    }
    return (json_int_t)w;
}

/* A test file kept as a blob: read (up to a blob's size), handed to the
 * caller's callback, its bytes dropped. Blob data is bytes: no text rule.
 * NULL with the problem reported, or with p->err set when the callback
 * failed. */
static const char *blob_of(pkg_t *p, pkg_file_t *f, char sha[65])
{
    if (*p->err)
        return NULL; /* the store failed already: the read ends in that error */
    if (!pkg_read(p, f, (size_t)CONTENT_MAX_BLOB_BYTES))
        return NULL;
    if (f->len == 0) {
        sha[0] = '\0';
        return "";
    }
    int rc = p->src->blob(p->src->blob_payload, f->data, f->len, sha, p->err);
    free(f->data);
    f->data = NULL;
    if (rc < 0) {
        content_report_error(p->rep, f->path, "could not be stored as test data");
        return NULL;
    }
    return sha;
}

/* A test file's data: inline text (returned, *sha "") or, for a hidden
 * test's large file when the caller stores blobs, a blob (*sha its hash,
 * "" returned). NULL with the problem reported. */
static const char *case_data(pkg_t *p, pkg_file_t *f, bool sample, char sha[65])
{
    sha[0] = '\0';
    bool blob = !sample && p->src->blob &&
                (f->size > PKG_INLINE_MAX || p->inline_bytes + f->size > PKG_INLINE_BUDGET);
    if (!blob) {
        const char *text = pkg_text(p, f, CONTENT_MAX_IO_BYTES);
        if (text && !sample)
            p->inline_bytes += f->len;
        return text;
    }
    if (blob_of(p, f, sha) == NULL)
        return NULL;
    /* An empty file stays inline: a blob is at least a byte. */
    return "";
}

/* One .in with its .ans as a test. */
static void read_case(pkg_t *p, pkg_file_t *in, json_t *tests, json_t *interactions)
{
    size_t n = strlen(in->path) - 3;
    char base[PKG_MAX_PATH];
    snprintf(base, sizeof base, "%.*s", (int)n, in->path);
    char ans_path[PKG_MAX_PATH + 8];
    snprintf(ans_path, sizeof ans_path, "%s.ans", base);
    pkg_file_t *ans = pkg_find(p, ans_path);
    if (ans == NULL) {
        content_report_error(p->rep, in->path, "has no answer file %s (every .in needs its .ans)",
                             ans_path);
        return;
    }
    bool sample = has_prefix(base, "data/sample/");
    const char *rel = base + strlen(sample ? "data/sample/" : "data/secret/");
    char name[PKG_MAX_PATH + 8];
    snprintf(name, sizeof name, "%s%s", sample ? "" : "secret.", rel);
    for (char *c = name; *c; c++)
        if (*c == '/')
            *c = '.';
    if (strlen(name) > 64) {
        content_report_error(p->rep, in->path,
                             "the test's name \"%s\" is longer than 64 characters (Dojo's "
                             "limit): shorten the file name",
                             name);
        return;
    }
    char group[33] = "";
    if (!sample && !group_of(p, rel, group, in->path))
        return;
    char in_sha[65], ans_sha[65];
    const char *input = case_data(p, in, sample, in_sha);
    const char *expected = input ? case_data(p, ans, sample, ans_sha) : NULL;
    if (!input || !expected)
        return;
    char dir[PKG_MAX_PATH];
    snprintf(dir, sizeof dir, "%s", base);
    *strrchr(dir, '/') = '\0';
    json_t *t = json_pack("{s:s, s:s, s:s, s:b}", "name", name, "input", input, "expected",
                          expected, "hidden", !sample);
    /* A blob stands in for the text: the task file gives one of them. */
    if (in_sha[0]) {
        json_object_del(t, "input");
        json_object_set_new(t, "input_sha256", json_string(in_sha));
    }
    if (ans_sha[0]) {
        json_object_del(t, "expected");
        json_object_set_new(t, "expected_sha256", json_string(ans_sha));
    }
    json_int_t w = sample ? 1 : weight_of(p, dir);
    if (w != 1)
        json_object_set_new(t, "weight", json_integer(w));
    if (group[0])
        json_object_set_new(t, "group", json_string(group));
    json_object_set_new(t, "file", json_string(base));
    json_array_append_new(tests, t);
    (void)interactions;
}

static void read_tests(pkg_t *p)
{
    json_t *tests = json_array();
    json_t *interactions = json_array();
    bool other_dirs = false;
    for (size_t i = 0; i < p->n; i++) {
        pkg_file_t *f = &p->files[i];
        if (!has_prefix(f->path, "data/"))
            continue;
        bool in_set = has_prefix(f->path, "data/sample/") || has_prefix(f->path, "data/secret/");
        if (!in_set) {
            other_dirs = other_dirs || strchr(f->path + 5, '/');
            continue;
        }
        if (has_suffix(f->path, ".in")) {
            read_case(p, f, tests, interactions);
        } else if (has_suffix(f->path, ".ans")) {
            char in[PKG_MAX_PATH];
            snprintf(in, sizeof in, "%.*s.in", (int)(strlen(f->path) - 4), f->path);
            if (pkg_find(p, in) == NULL)
                content_report_error(p->rep, f->path, "has no input file %s", in);
        } else if (has_suffix(f->path, ".interaction") && has_prefix(f->path, "data/sample/")) {
            const char *text = pkg_text(p, f, 64 * 1024);
            if (text)
                json_array_append_new(interactions,
                                      json_pack("{s:s, s:s}", "file", f->path, "text", text));
        }
    }
    if (other_dirs)
        content_report_warn(p->rep, "data/",
                            "only data/sample and data/secret are read (invalid_input, "
                            "invalid_output and valid_output test the validators)");
    size_t n = json_array_size(tests);
    if (n == 0 && p->rep->n_errors == 0)
        content_report_error(p->rep, "data/secret/",
                             "required: at least one test (a .in file with its .ans)");
    if (n > CONTENT_MAX_TESTS)
        content_report_error(p->rep, "data/", "%zu tests; Dojo takes at most %d per task", n,
                             CONTENT_MAX_TESTS);
    /* .interaction samples are kept in the statement, where they show. */
    size_t k;
    json_t *it;
    json_array_foreach(interactions, k, it)
    {
        const char *desc = json_string_value(json_object_get(p->doc, "description"));
        if (desc == NULL)
            break;
        cleanup_free char *more = xasprintf(
            "%s\n\n### Example interaction\n\n(lines starting with `>` are your program's "
            "output, `<` the judge's)\n\n```\n%s```\n",
            desc, json_string_value(json_object_get(it, "text")));
        json_object_set_new(p->doc, "description", json_string(more));
    }
    json_decref(interactions);
    json_object_set_new(p->doc, "tests", tests);
}

/* ------------------------------------------------------------------------
 * submissions/<verdict>/
 * ------------------------------------------------------------------------ */

typedef struct verdict_dir {
    const char *dir;
    bool reference;
    const char *verdict; /* NULL: anything but ac */
} verdict_dir_t;

static const verdict_dir_t verdict_dirs[] = {
    {"accepted", true, "ac"},
    {"wrong_answer", false, "wa"},
    {"time_limit_exceeded", false, "tle"},
    {"run_time_error", false, "re"},
    {"memory_limit_exceeded", false, "mle"},
    {"output_limit_exceeded", false, "ole"},
    {"compile_error", false, "ce"},
    {"compiler_error", false, "ce"},
    {"rejected", false, NULL},
    {"brute_force", false, NULL},
    {NULL, false, NULL},
};

static const struct {
    const char *ext, *language;
} ext_languages[] = {
    {"py", "python3"}, {"py3", "python3"}, {"c", "c"},           {"cc", "cpp"},
    {"cpp", "cpp"},    {"cxx", "cpp"},     {"c++", "cpp"},       {"java", "java"},
    {"kt", "kotlin"},  {"js", "javascript"}, {"go", "go"},       {"rs", "rust"},
    {NULL, NULL},
};

const char *pkg_language_of(const char *file)
{
    const char *dot = strrchr(file, '.');
    for (size_t i = 0; dot && ext_languages[i].ext; i++)
        if (!strcmp(dot + 1, ext_languages[i].ext))
            return ext_languages[i].language;
    return NULL;
}

static void read_submission(pkg_t *p, pkg_file_t *f, const verdict_dir_t *vd, json_t *refs,
                            json_t *wrongs)
{
    const char *rel = f->path + strlen("submissions/");
    const char *file = strchr(rel, '/') + 1;
    const char *lang = pkg_language_of(file);
    if (lang == NULL) {
        content_report_warn(p->rep, f->path,
                            "skipped: its language is not one Dojo runs (by its extension)");
        return;
    }
    const char *code = pkg_text(p, f, CONTENT_MAX_CODE_BYTES);
    if (code == NULL)
        return;
    if (!strcmp(lang, "python3") && has_prefix(code, "#!") && strstr(code, "python2") &&
        strstr(code, "python2") < strchr(code, '\n')) {
        content_report_warn(p->rep, f->path, "skipped: Python 2 (Dojo runs Python 3)");
        return;
    }
    json_t *list = vd->reference ? refs : wrongs;
    size_t max = vd->reference ? 10 : 20;
    if (json_array_size(list) >= max) {
        content_report_warn(p->rep, f->path, "skipped: a task keeps at most %zu %s solutions",
                            max, vd->reference ? "accepted" : "wrong");
        return;
    }
    if (strlen(rel) > 64) {
        content_report_error(p->rep, f->path,
                             "its name \"%s\" is longer than 64 characters (Dojo's limit)", rel);
        return;
    }
    json_t *s = json_pack("{s:s, s:s, s:s}", "name", rel, "language", lang, "code", code);
    if (!vd->reference && vd->verdict)
        json_object_set_new(s, "expected_verdict", json_string(vd->verdict));
    json_array_append_new(list, s);
    json_object_set_new(p->solution_paths, rel, json_string(f->path));
}

static void read_submissions(pkg_t *p)
{
    json_t *refs = json_array(), *wrongs = json_array();
    for (size_t i = 0; i < p->n; i++) {
        pkg_file_t *f = &p->files[i];
        if (!has_prefix(f->path, "submissions/"))
            continue;
        const char *rel = f->path + strlen("submissions/");
        const char *slash = strchr(rel, '/');
        if (slash == NULL) {
            if (strcmp(rel, "submissions.yaml"))
                content_report_warn(p->rep, f->path, "ignored: not in a verdict's directory");
            else
                content_report_warn(p->rep, f->path,
                                    "ignored: per-submission requirements are not checked; each "
                                    "directory's verdict is");
            continue;
        }
        if (strchr(slash + 1, '/')) {
            content_report_warn(p->rep, f->path,
                                "skipped: submissions of several files are not supported yet");
            continue;
        }
        const verdict_dir_t *vd = verdict_dirs;
        while (vd->dir && (strlen(vd->dir) != (size_t)(slash - rel) ||
                           strncmp(rel, vd->dir, strlen(vd->dir))))
            vd++;
        if (vd->dir == NULL) {
            content_report_warn(p->rep, f->path,
                                "skipped: Dojo checks accepted, wrong_answer, "
                                "time_limit_exceeded, run_time_error, memory_limit_exceeded, "
                                "output_limit_exceeded, compile_error, rejected and brute_force");
            continue;
        }
        read_submission(p, f, vd, refs, wrongs);
    }
    if (json_array_size(refs) == 0)
        content_report_warn(p->rep, "submissions/accepted/",
                            "no accepted submission Dojo can run: nothing proves the tests right");
    json_object_set_new(p->doc, "reference_solutions", refs);
    json_object_set_new(p->doc, "wrong_solutions", wrongs);
}

/* ------------------------------------------------------------------------
 * dojo.json: what an exported package adds
 * ------------------------------------------------------------------------ */

static void rename_by_file(json_t *items, json_t *map, const char *key_field)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *file = json_string_value(json_object_get(it, key_field));
        json_t *m = file ? json_object_get(map, file) : NULL;
        if (!json_is_object(m))
            continue;
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v) json_object_set(it, k, v);
    }
}

static int cmp_order(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "order"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "order"));
    return x < y ? -1 : x > y;
}

/* Sorts `arr`'s objects by their "order" (those without keep their order,
 * after the others) and drops the key. New array. */
static json_t *sorted_by_order(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = xcalloc(n + 1, sizeof *v);
    for (size_t k = 0; k < n; k++) {
        v[k] = json_incref(json_array_get(arr, k));
        if (!json_object_get(v[k], "order"))
            json_object_set_new(v[k], "order", json_integer(100000 + (json_int_t)k));
    }
    qsort(v, n, sizeof *v, cmp_order);
    json_t *out = json_array();
    for (size_t k = 0; k < n; k++) {
        json_object_del(v[k], "order");
        json_array_append_new(out, v[k]);
    }
    free(v);
    return out;
}

static bool has_item(json_t *arr, json_t *item)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (x == item)
        return true;
    return false;
}

/* dojo.json's input validators ([{path, files: [names], flags}]): for each
 * one the package has, its flags (none when it lists none) and its files'
 * order, which the folders and testdata.yaml cannot always say (a flag with
 * a space, two validators of one name, an entry that is not the reader's
 * choice). The programs themselves are the folders'. */
static void sidecar_input_validators(pkg_t *p, json_t *listed)
{
    json_t *ivs = json_object_get(p->doc, "input_validators");
    size_t i, j;
    json_t *m, *v;
    json_array_foreach(listed, i, m)
    {
        const char *path = json_string_value(json_object_get(m, "path"));
        json_array_foreach(ivs, j, v)
        {
            if (!path || strcmp(path, json_string_value(json_object_get(v, "path"))))
                continue;
            json_t *flags = json_object_get(m, "flags");
            if (json_is_array(flags) && json_array_size(flags) > 0)
                json_object_set_new(v, "flags", json_deep_copy(flags));
            else
                json_object_del(v, "flags");
            json_t *names = json_object_get(m, "files");
            json_t *files = json_object_get(v, "files");
            if (!json_is_array(names) || !json_is_array(files))
                break;
            json_t *ordered = json_array();
            size_t k, l;
            json_t *name, *f;
            json_array_foreach(names, k, name) json_array_foreach(files, l, f) if (
                json_is_string(name) && !has_item(ordered, f) &&
                !strcmp(json_string_value(name), json_string_value(json_object_get(f, "name"))))
                json_array_append(ordered, f);
            json_array_foreach(files, l, f) if (!has_item(ordered, f))
                json_array_append(ordered, f);
            json_object_set_new(v, "files", ordered);
            break;
        }
    }
}

static void read_sidecar(pkg_t *p)
{
    pkg_file_t *f = pkg_find(p, "dojo.json");
    const char *text = f ? pkg_text(p, f, 256 * 1024) : NULL;
    if (text == NULL)
        return;
    json_error_t je;
    cleanup_json json_t *s = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(s)) {
        content_report_error(p->rep, "dojo.json", "not a JSON object: %s", je.text);
        return;
    }
    static const char *const copied[] = {"difficulty", "points", "hints", "languages",
                                         "restrict_languages", "limits", "checker",
                                         "stop_at_first_failure", NULL};
    for (size_t i = 0; copied[i]; i++) {
        json_t *v = json_object_get(s, copied[i]);
        if (v)
            json_object_set(p->doc, copied[i], v);
        else if (!strcmp(copied[i], "stop_at_first_failure") ||
                 !strcmp(copied[i], "restrict_languages"))
            json_object_del(p->doc, copied[i]);
    }
    /* Tests: names, groups and weights by file, in the listed order. */
    json_t *tmap = json_object(), *smap = json_object();
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(s, "tests"), i, it)
    {
        const char *file = json_string_value(json_object_get(it, "file"));
        if (file == NULL)
            continue;
        json_t *m = json_deep_copy(it);
        json_object_del(m, "file");
        json_object_set_new(m, "order", json_integer((json_int_t)i));
        /* dojo.json states each test's own flags, like the checker: a test
         * it lists without them has none (null: dropped below). */
        if (!json_object_get(m, "validator_flags"))
            json_object_set_new(m, "validator_flags", json_null());
        json_object_set_new(tmap, file, m);
    }
    json_array_foreach(json_object_get(s, "solutions"), i, it)
    {
        const char *file = json_string_value(json_object_get(it, "file"));
        if (file == NULL)
            continue;
        json_t *m = json_deep_copy(it);
        json_object_del(m, "file");
        json_object_set_new(m, "order", json_integer((json_int_t)i));
        json_object_set_new(smap, file, m);
    }
    json_t *tests = json_object_get(p->doc, "tests");
    rename_by_file(tests, tmap, "file");
    json_array_foreach(tests, i, it) if (json_is_null(json_object_get(it, "validator_flags")))
        json_object_del(it, "validator_flags");
    json_object_set_new(p->doc, "tests", sorted_by_order(tests));
    static const char *const lists[] = {"reference_solutions", "wrong_solutions", NULL};
    for (size_t l = 0; lists[l]; l++) {
        json_t *sols = json_object_get(p->doc, lists[l]);
        json_array_foreach(sols, i, it)
        {
            const char *name = json_string_value(json_object_get(it, "name"));
            const char *path = json_string_value(json_object_get(p->solution_paths, name));
            json_t *m = path ? json_object_get(smap, path) : NULL;
            if (!json_is_object(m))
                continue;
            const char *k;
            json_t *val;
            json_object_foreach(m, k, val) json_object_set(it, k, val);
            json_object_set_new(p->solution_paths, json_string_value(json_object_get(it, "name")),
                                json_string(path));
        }
        json_object_set_new(p->doc, lists[l], sorted_by_order(sols));
    }
    json_decref(tmap);
    json_decref(smap);
    sidecar_input_validators(p, json_object_get(s, "input_validators"));
}

/* ------------------------------------------------------------------------
 * The whole package
 * ------------------------------------------------------------------------ */

static void choose_slug(pkg_t *p, const char *file_name, const char *slug)
{
    char s[PKG_MAX_PATH] = "";
    if (slug && *slug) {
        snprintf(s, sizeof s, "%s", slug);
    } else if (p->top[0]) {
        snprintf(s, sizeof s, "%s", p->top);
    } else if (file_name && *file_name) {
        const char *b = strrchr(file_name, '/');
        snprintf(s, sizeof s, "%s", b ? b + 1 : file_name);
        char *dot = strrchr(s, '.');
        if (dot && (!strcmp(dot, ".zip") || !strcmp(dot, ".kpp")))
            *dot = '\0';
    }
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
        else if (*c == '_')
            *c = '-';
    if (!check_is_slug(s, 64, CHECK_LETTER_FIRST)) {
        content_report_error(p->rep, p->top[0] ? p->top : "",
                             "the task's slug \"%.64s\" (from %s) must be 1-64 characters of "
                             "[a-z0-9-] starting with a letter: rename the package or give a slug",
                             s, slug && *slug ? "the request" : p->top[0] ? "the package's directory"
                                                                          : "the file name");
        snprintf(s, sizeof s, "package");
    }
    json_object_set_new(p->doc, "slug", json_string(s));
}

/* Languages: the accepted submissions' (the editor's default first), else
 * Python 3; every language is accepted unless problem.yaml restricts them. */
static void default_languages(pkg_t *p)
{
    if (json_object_get(p->doc, "languages"))
        return;
    json_t *langs = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(p->doc, "reference_solutions"), i, s)
    {
        const char *l = json_string_value(json_object_get(s, "language"));
        bool dup = false;
        size_t j;
        json_t *x;
        json_array_foreach(langs, j, x) dup = dup ||
                                              !strcmp(json_string_value(json_object_get(x, "language")), l);
        if (!dup)
            json_array_append_new(langs, json_pack("{s:s}", "language", l));
    }
    if (json_array_size(langs) == 0)
        json_array_append_new(langs, json_pack("{s:s}", "language", "python3"));
    json_object_set_new(p->doc, "languages", langs);
}

int pkg_read_task(const pkg_source_t *src, const char *file_name, const char *slug,
                  content_report_t *rep, json_t **doc_out, json_t **side_out, err_t **err)
{
    *doc_out = NULL;
    *side_out = NULL;
    pkg_t p = {.rep = rep,
               .src = src,
               .err = err,
               .doc = json_object(),
               .testdata = json_object(),
               .solution_paths = json_object()};
    if (pkg_open(&p) < 0) {
        pkg_free(&p);
        return -1;
    }
    choose_slug(&p, file_name, slug);
    json_object_set_new(p.doc, "difficulty", json_string("medium"));
    read_problem(&p);
    read_statement(&p);
    if (!json_object_get(p.doc, "title"))
        json_object_set(p.doc, "title", json_object_get(p.doc, "slug"));
    read_tests(&p);
    read_testdata_flags(&p);
    read_input_validators(&p);
    read_submissions(&p);
    read_sidecar(&p);
    default_languages(&p);
    /* No sample: learners see the statement and the number of hidden tests. */
    bool visible = false;
    size_t i;
    json_t *t;
    json_t *test_inputs = json_object();
    json_array_foreach(json_object_get(p.doc, "tests"), i, t)
    {
        visible = visible || !json_is_true(json_object_get(t, "hidden"));
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *base = json_string_value(json_object_get(t, "file"));
        if (name && base)
            json_object_set_new(test_inputs, name, json_sprintf("%s.in", base));
        json_object_del(t, "file");
    }
    if (!visible)
        json_object_set_new(p.doc, "no_visible_tests", json_true());
    json_object_del(p.doc, "statement_file");
    if (rep->n_errors) {
        json_decref(test_inputs);
        pkg_free(&p);
        return -1;
    }
    *doc_out = DOJO_STEAL(p.doc);
    *side_out = json_pack("{s:o, s:o}", "solutions", DOJO_STEAL(p.solution_paths), "tests",
                          test_inputs);
    pkg_free(&p);
    return 0;
}

int pkg_normalize(json_t *doc, content_report_t *rep, json_t **norm)
{
    /* The task has no file of its own ("" skips the file-name rule); its
     * problems join the package's report at their JSON paths. */
    cleanup_report content_report_t task_rep;
    content_report_init(&task_rep, "");
    int rc = taskjson_normalize(doc, &task_rep, norm);
    for (size_t i = 0; i < task_rep.n_errors; i++)
        content_report_error(rep, task_rep.errors[i].path, "in the task made from the package: %s",
                             task_rep.errors[i].message);
    for (size_t i = 0; i < task_rep.n_warnings; i++)
        if (strcmp(task_rep.warnings[i].path, "$.reference_solutions"))
            content_report_warn(rep, task_rep.warnings[i].path, "%s",
                                task_rep.warnings[i].message);
    return rc;
}
