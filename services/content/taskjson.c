/* taskjson.c — task files: JSON <-> Task messages, validation with precise
 * JSON paths, defaults, the canonical form and its hash.
 *
 * Everything a task is goes through taskjson_normalize: files, TaskInput.json
 * and TaskInput.task (converted to the file form first), so the three can
 * never disagree. The normalised document is the stored form; learner views,
 * judge bundles and exports are all built from it. This file is the
 * authority on what a task file may contain: content/schema/task.schema.json
 * documents the same rules for editors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content.h"
#include "libcommon/text.h"
#include "libcommon/cleanup.h"

/* ------------------------------------------------------------------------
 * Reports
 * ------------------------------------------------------------------------ */

void content_report_init(content_report_t *r, const char *file)
{
    memset(r, 0, sizeof *r);
    r->file = strdup(file ? file : "");
    if (r->file == NULL)
        abort();
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

static void issue_add(content_issue_t **v, size_t *n, size_t *cap, const char *path,
                      const char *fmt, va_list ap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = realloc(*v, *cap * sizeof **v);
        if (*v == NULL)
            abort();
    }
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0 || ((*v)[*n].path = strdup(path)) == NULL)
        abort();
    (*v)[*n].message = msg;
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
 * Small helpers
 * ------------------------------------------------------------------------ */

bool content_is_slug(const char *s, size_t max, bool letter_first)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    if (letter_first && !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

int content_read_file(const char *path, char **out, size_t *len, err_t **err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_errno(err, errno, "stat %s", path);
    if (st.st_size > 2 * CONTENT_MAX_TASK_BYTES)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: larger than 8 MiB", path);
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL)
        abort();
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return err_errno(err, r < 0 ? errno : EIO, "read %s", path);
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

static const char *const difficulty_names[] = {NULL, "easy", "medium", "hard"};
static const char *const checker_names[] = {NULL,    "exact",  "ignore_trailing_ws",
                                            "tokens", "float", "custom"};
static const char *const verdict_names[] = {NULL, "ac", "wa",  "tle", "mle",
                                            "re", "ole", "ce", "ie",  "cancelled"};

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 1; i < n; i++)
        if (!strcmp(names[i], s))
            return (int)i;
    return 0;
}

#define NAMES_N(a) (sizeof(a) / sizeof((a)[0]))

int content_difficulty_from_name(const char *s)
{
    return name_index(difficulty_names, NAMES_N(difficulty_names), s);
}

const char *content_difficulty_name(int d)
{
    return d > 0 && (size_t)d < NAMES_N(difficulty_names) ? difficulty_names[d] : NULL;
}

/* ------------------------------------------------------------------------
 * Field readers: each reports its own problem at its own path and returns
 * whether the value can be used.
 * ------------------------------------------------------------------------ */

#define PATH_MAX_LEN 192

static void path_key(char out[PATH_MAX_LEN], const char *base, const char *key)
{
    /* Deep paths are cut rather than refused; they stay recognisable. */
    if (snprintf(out, PATH_MAX_LEN, "%s.%.64s", base, key) >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = '\0';
}

static void path_idx(char out[PATH_MAX_LEN], const char *base, size_t i)
{
    if (snprintf(out, PATH_MAX_LEN, "%s[%zu]", base, i) >= PATH_MAX_LEN)
        out[PATH_MAX_LEN - 1] = '\0';
}

/* Reports keys of `obj` not in `known`; `ignored` keys only warn. */
static void check_keys(content_report_t *rep, json_t *obj, const char *base,
                       const char *const *known, const char *const *ignored)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool found = false;
        for (size_t i = 0; known[i] && !found; i++)
            found = !strcmp(known[i], key);
        if (found)
            continue;
        char p[PATH_MAX_LEN];
        path_key(p, base, key);
        bool ign = false;
        for (size_t i = 0; ignored && ignored[i] && !ign; i++)
            ign = !strcmp(ignored[i], key);
        if (ign)
            content_report_warn(rep, p, "output-only field, ignored");
        else
            content_report_error(rep, p, "unknown field");
    }
}

/* A string field. Absent: NULL (an error when required). Lengths in bytes
 * (min_bytes, max_bytes; 0 = no bound). */
static const char *want_string(content_report_t *rep, json_t *obj, const char *key,
                               const char *base, bool required, size_t min_bytes,
                               size_t max_bytes)
{
    char p[PATH_MAX_LEN];
    path_key(p, base, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            content_report_error(rep, p, "required");
        return NULL;
    }
    if (!json_is_string(v)) {
        content_report_error(rep, p, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n != strlen(s)) {
        content_report_error(rep, p, "must not contain NUL characters");
        return NULL;
    }
    if (min_bytes && n < min_bytes) {
        content_report_error(rep, p, "must not be empty");
        return NULL;
    }
    if (max_bytes && n > max_bytes) {
        if (max_bytes % 1024 == 0)
            content_report_error(rep, p, "must be at most %zu KiB (is %zu bytes)",
                                 max_bytes / 1024, n);
        else
            content_report_error(rep, p, "must be at most %zu bytes", max_bytes);
        return NULL;
    }
    return s;
}

/* An integer field in [min, max]; absent (or null) = 0 and fine unless
 * required. Returns false when unusable. */
static bool want_int(content_report_t *rep, json_t *obj, const char *key, const char *base,
                     bool zero_ok, json_int_t min, json_int_t max, json_int_t *out)
{
    char p[PATH_MAX_LEN];
    path_key(p, base, key);
    *out = 0;
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return true;
    if (!json_is_integer(v)) {
        content_report_error(rep, p, "must be an integer");
        return false;
    }
    json_int_t x = json_integer_value(v);
    if (x == 0 && zero_ok)
        return true;
    if (x < min) {
        content_report_error(rep, p, "must be at least %lld", (long long)min);
        return false;
    }
    if (x > max) {
        content_report_error(rep, p, "must be at most %lld", (long long)max);
        return false;
    }
    *out = x;
    return true;
}

static json_t *want_array(content_report_t *rep, json_t *obj, const char *key, const char *base,
                          bool required, size_t min, size_t max, const char *what)
{
    char p[PATH_MAX_LEN];
    path_key(p, base, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            content_report_error(rep, p, "required");
        return NULL;
    }
    if (!json_is_array(v)) {
        content_report_error(rep, p, "must be an array");
        return NULL;
    }
    size_t n = json_array_size(v);
    if (n < min) {
        if (min == 1)
            content_report_error(rep, p, "must not be empty");
        else
            content_report_error(rep, p, "must have at least %zu %s", min, what);
        return v;
    }
    if (n > max)
        content_report_error(rep, p, "must have at most %zu %s", max, what);
    return v;
}

static json_t *want_object(content_report_t *rep, json_t *v, const char *path)
{
    if (!json_is_object(v)) {
        content_report_error(rep, path, "must be an object");
        return NULL;
    }
    return v;
}

/* ------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------ */

typedef struct limits {
    json_int_t cpu, wall, mem, out;
    char path[PATH_MAX_LEN]; /* of the object, for errors found later */
    bool present;
} limits_t;

static void read_limits(content_report_t *rep, json_t *parent, const char *base, limits_t *l)
{
    memset(l, 0, sizeof *l);
    path_key(l->path, base, "limits");
    json_t *v = json_object_get(parent, "limits");
    if (v == NULL)
        return;
    if (!want_object(rep, v, l->path))
        return;
    static const char *const keys[] = {"cpu_ms", "wall_ms", "memory_kib", "output_kib", NULL};
    check_keys(rep, v, l->path, keys, NULL);
    l->present = true;
    want_int(rep, v, "cpu_ms", l->path, true, 100, 10000, &l->cpu);
    want_int(rep, v, "wall_ms", l->path, true, 1, 30000, &l->wall);
    want_int(rep, v, "memory_kib", l->path, true, 16384, 1048576, &l->mem);
    want_int(rep, v, "output_kib", l->path, true, 1, 16384, &l->out);
}

/* Fills every unset field from `parent` (or the defaults) and checks
 * wall >= cpu. The wall default grows with a large CPU limit. */
static void resolve_limits(content_report_t *rep, limits_t *l, const limits_t *parent)
{
    if (!l->cpu)
        l->cpu = parent ? parent->cpu : 2000;
    if (!l->mem)
        l->mem = parent ? parent->mem : 262144;
    if (!l->out)
        l->out = parent ? parent->out : 1024;
    if (!l->wall) {
        l->wall = parent ? parent->wall : 5000;
        if (l->wall < l->cpu)
            l->wall = l->cpu;
    } else if (l->wall < l->cpu) {
        char p[PATH_MAX_LEN];
        path_key(p, l->path, "wall_ms");
        content_report_error(rep, p, "must be at least cpu_ms (%lld)", (long long)l->cpu);
    }
}

static json_t *limits_json(const limits_t *l)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "cpu_ms", l->cpu, "wall_ms", l->wall, "memory_kib",
                     l->mem, "output_kib", l->out);
}

/* ------------------------------------------------------------------------
 * Solutions
 * ------------------------------------------------------------------------ */

static bool in_list(json_t *langs, const char *id)
{
    size_t i;
    json_t *l;
    json_array_foreach(langs, i, l)
    {
        if (!strcmp(json_string_value(json_object_get(l, "language")), id))
            return true;
    }
    return false;
}

static json_t *read_solutions(content_report_t *rep, json_t *doc, const char *key, size_t max,
                              bool reference, json_t *task_langs)
{
    json_t *norm = json_array();
    json_t *arr = want_array(rep, doc, key, "$", false, 0, max, "solutions");
    if (arr == NULL)
        return norm;
    char base[PATH_MAX_LEN];
    path_key(base, "$", key);
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s)
    {
        char p[PATH_MAX_LEN], fp[PATH_MAX_LEN];
        path_idx(p, base, i);
        if (!want_object(rep, s, p))
            continue;
        static const char *const keys[] = {"name", "language", "code", "expected_verdict", NULL};
        check_keys(rep, s, p, keys, NULL);
        const char *name = want_string(rep, s, "name", p, true, 1, 0);
        if (name) {
            path_key(fp, p, "name");
            if ((size_t)text_utf8_length(name) > 64 || text_has_control(name)) {
                content_report_error(rep, fp, "must be 1-64 characters without control characters");
                name = NULL;
            } else {
                for (size_t j = 0; j < i; j++) {
                    const char *other =
                        json_string_value(json_object_get(json_array_get(arr, j), "name"));
                    if (other && !strcmp(other, name)) {
                        content_report_error(rep, fp, "duplicate name \"%s\" (also %s[%zu])", name,
                                             base, j);
                        break;
                    }
                }
            }
        }
        const char *lang = want_string(rep, s, "language", p, true, 1, 0);
        if (lang) {
            path_key(fp, p, "language");
            if (!content_language_find(lang)) {
                content_report_error(rep, fp, "unknown language \"%.32s\"", lang);
                lang = NULL;
            } else if (task_langs && !in_list(task_langs, lang)) {
                content_report_error(rep, fp, "\"%s\" is not one of the task's languages", lang);
                lang = NULL;
            }
        }
        const char *code = want_string(rep, s, "code", p, true, 1, CONTENT_MAX_CODE_BYTES);
        int verdict = 0;
        json_t *ev = json_object_get(s, "expected_verdict");
        path_key(fp, p, "expected_verdict");
        if (ev) {
            if (!json_is_string(ev) ||
                !(verdict = name_index(verdict_names, NAMES_N(verdict_names),
                                       json_string_value(ev))) ||
                verdict > 7) {
                content_report_error(rep, fp,
                                     "must be one of \"ac\", \"wa\", \"tle\", \"mle\", \"re\", "
                                     "\"ole\", \"ce\"");
                verdict = -1;
            } else if (reference && verdict != 1) {
                content_report_error(rep, fp, "must be \"ac\" for a reference solution");
                verdict = -1;
            } else if (!reference && verdict == 1) {
                content_report_error(rep, fp, "must not be \"ac\" for a known-wrong solution");
                verdict = -1;
            }
        }
        if (reference && verdict == 0)
            verdict = 1;
        if (name && lang && code && verdict >= 0) {
            json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "language", lang, "code", code);
            if (verdict > 0)
                json_object_set_new(o, "expected_verdict", json_string(verdict_names[verdict]));
            json_array_append_new(norm, o);
        }
    }
    return norm;
}

/* ------------------------------------------------------------------------
 * The whole task
 * ------------------------------------------------------------------------ */

static void check_file_name(content_report_t *rep, const char *slug)
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

int taskjson_normalize(json_t *doc, content_report_t *rep, json_t **out)
{
    size_t errors_before = rep->n_errors;
    *out = NULL;
    if (!json_is_object(doc)) {
        content_report_error(rep, "$", "must be a JSON object");
        return -1;
    }
    static const char *const keys[] = {
        "slug",  "title",     "difficulty", "points", "description",         "tags",
        "languages", "limits", "checker",   "tests",  "hints", "reference_solutions",
        "wrong_solutions", NULL};
    static const char *const output_only[] = {"status", "version", "content_hash", "created_at",
                                              "updated_at", NULL};
    check_keys(rep, doc, "$", keys, output_only);
    cleanup_json json_t *n = json_object();

    /* slug, title, difficulty, points, description */
    const char *slug = want_string(rep, doc, "slug", "$", true, 0, 0);
    if (slug && !content_is_slug(slug, 64, true)) {
        content_report_error(rep, "$.slug",
                             "must be 1-64 characters of [a-z0-9-], starting with a letter");
        slug = NULL;
    }
    if (slug)
        check_file_name(rep, slug);
    const char *title = want_string(rep, doc, "title", "$", true, 1, 0);
    if (title && ((size_t)text_utf8_length(title) > 120 || text_has_control(title))) {
        content_report_error(rep, "$.title", (size_t)text_utf8_length(title) > 120
                                                 ? "must be at most 120 characters"
                                                 : "must not contain control characters");
        title = NULL;
    }
    int difficulty = 0;
    json_t *dv = json_object_get(doc, "difficulty");
    if (dv == NULL)
        content_report_error(rep, "$.difficulty", "required");
    else if (!json_is_string(dv) || !(difficulty = content_difficulty_from_name(json_string_value(dv))))
        content_report_error(rep, "$.difficulty", "must be one of \"easy\", \"medium\", \"hard\"");
    json_int_t points = 0;
    want_int(rep, doc, "points", "$", true, 1, 1000, &points);
    if (points == 0)
        points = difficulty == 3 ? 60 : difficulty == 2 ? 30 : 10;
    const char *description = want_string(rep, doc, "description", "$", true, 1, 64 * 1024);

    /* tags */
    json_t *tags_n = json_array();
    json_t *tags = want_array(rep, doc, "tags", "$", false, 0, 10, "tags");
    if (tags) {
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t)
        {
            char p[PATH_MAX_LEN];
            path_idx(p, "$.tags", i);
            if (!json_is_string(t) || !content_is_slug(json_string_value(t), 32, false)) {
                content_report_error(rep, p, "must be 1-32 characters of [a-z0-9-]");
                continue;
            }
            bool dup = false;
            for (size_t j = 0; j < json_array_size(tags_n) && !dup; j++)
                dup = !strcmp(json_string_value(json_array_get(tags_n, j)), json_string_value(t));
            if (dup)
                content_report_error(rep, p, "duplicate tag \"%s\"", json_string_value(t));
            else
                json_array_append(tags_n, t);
        }
    }

    /* languages (their limits are resolved once the task's are known) */
    limits_t lang_limits[10];
    size_t errors_before_langs = rep->n_errors;
    json_t *langs_n = json_array();
    json_t *langs = want_array(rep, doc, "languages", "$", true, 1, 10, "languages");
    if (langs) {
        size_t i;
        json_t *l;
        json_array_foreach(langs, i, l)
        {
            char p[PATH_MAX_LEN], fp[PATH_MAX_LEN];
            path_idx(p, "$.languages", i);
            if (!want_object(rep, l, p))
                continue;
            static const char *const lkeys[] = {"language", "starter_code", "limits", NULL};
            check_keys(rep, l, p, lkeys, NULL);
            const char *id = want_string(rep, l, "language", p, true, 1, 0);
            path_key(fp, p, "language");
            if (id && !content_language_find(id)) {
                content_report_error(rep, fp, "unknown language \"%.32s\"", id);
                id = NULL;
            }
            if (id && in_list(langs_n, id)) {
                content_report_error(rep, fp, "duplicate language \"%s\"", id);
                id = NULL;
            }
            const char *starter =
                want_string(rep, l, "starter_code", p, false, 0, CONTENT_MAX_CODE_BYTES);
            json_t *sv = json_object_get(l, "starter_code");
            bool starter_ok = starter || sv == NULL;
            limits_t ll;
            read_limits(rep, l, p, &ll);
            if (id && starter_ok && json_array_size(langs_n) < 10) {
                lang_limits[json_array_size(langs_n)] = ll;
                json_array_append_new(langs_n, json_pack("{s:s, s:s}", "language", id,
                                                         "starter_code", starter ? starter : ""));
            }
        }
    }

    /* limits */
    limits_t task_limits;
    read_limits(rep, doc, "$", &task_limits);
    resolve_limits(rep, &task_limits, NULL);
    for (size_t i = 0; i < json_array_size(langs_n); i++) {
        resolve_limits(rep, &lang_limits[i], &task_limits);
        json_object_set_new(json_array_get(langs_n, i), "limits", limits_json(&lang_limits[i]));
    }

    /* checker */
    json_t *checker_n = json_object();
    json_object_set_new(checker_n, "kind", json_null()); /* first, in Checker's order */
    int kind = 2;
    json_t *cv = json_object_get(doc, "checker");
    if (cv && want_object(rep, cv, "$.checker")) {
        static const char *const ckeys[] = {"kind", "abs_tol", "rel_tol", "custom", NULL};
        check_keys(rep, cv, "$.checker", ckeys, NULL);
        json_t *kv = json_object_get(cv, "kind");
        if (kv &&
            (!json_is_string(kv) ||
             !(kind = name_index(checker_names, NAMES_N(checker_names), json_string_value(kv))))) {
            content_report_error(rep, "$.checker.kind",
                                 "must be one of \"exact\", \"ignore_trailing_ws\", \"tokens\", "
                                 "\"float\", \"custom\"");
            kind = 2;
        }
        double tol[2] = {0, 0};
        static const char *const tol_keys[] = {"abs_tol", "rel_tol"};
        for (int t = 0; t < 2; t++) {
            json_t *x = json_object_get(cv, tol_keys[t]);
            char p[PATH_MAX_LEN];
            path_key(p, "$.checker", tol_keys[t]);
            if (x == NULL)
                continue;
            if (!json_is_number(x) || !isfinite(json_number_value(x)) ||
                json_number_value(x) < 0) {
                content_report_error(rep, p, "must be a number >= 0");
                continue;
            }
            tol[t] = json_number_value(x);
            if (kind != 4 && tol[t] != 0)
                content_report_warn(rep, p, "ignored: only the \"float\" checker uses it");
        }
        json_t *cc = json_object_get(cv, "custom");
        if (kind == 5) {
            if (cc == NULL)
                content_report_error(rep, "$.checker.custom", "required for the \"custom\" kind");
            else if (want_object(rep, cc, "$.checker.custom")) {
                static const char *const kkeys[] = {"language", "source", NULL};
                check_keys(rep, cc, "$.checker.custom", kkeys, NULL);
                const char *id = want_string(rep, cc, "language", "$.checker.custom", true, 1, 0);
                if (id && !content_language_find(id)) {
                    content_report_error(rep, "$.checker.custom.language",
                                         "unknown language \"%.32s\"", id);
                    id = NULL;
                }
                const char *src = want_string(rep, cc, "source", "$.checker.custom", true, 1,
                                              CONTENT_MAX_CODE_BYTES);
                if (id && src)
                    json_object_set_new(checker_n, "custom",
                                        json_pack("{s:s, s:s}", "language", id, "source", src));
            }
        } else if (cc) {
            content_report_warn(rep, "$.checker.custom", "ignored: only the \"custom\" kind uses it");
        }
        if (kind == 4) {
            if (tol[0] == 0 && tol[1] == 0)
                tol[0] = tol[1] = 1e-6;
            json_object_set_new(checker_n, "abs_tol", json_real(tol[0]));
            json_object_set_new(checker_n, "rel_tol", json_real(tol[1]));
        }
    }
    json_object_set_new(checker_n, "kind", json_string(checker_names[kind]));

    /* tests */
    json_t *tests_n = json_array();
    json_t *tests = want_array(rep, doc, "tests", "$", true, 1, 200, "tests");
    if (tests) {
        bool visible = false;
        size_t i;
        json_t *t;
        json_array_foreach(tests, i, t)
        {
            char p[PATH_MAX_LEN], fp[PATH_MAX_LEN];
            path_idx(p, "$.tests", i);
            if (!want_object(rep, t, p))
                continue;
            static const char *const tkeys[] = {"name", "input", "expected", "hidden", "weight",
                                                NULL};
            check_keys(rep, t, p, tkeys, NULL);
            const char *name = want_string(rep, t, "name", p, true, 0, 0);
            path_key(fp, p, "name");
            if (name) {
                size_t nl = strlen(name);
                bool ok = nl >= 1 && nl <= 64;
                for (size_t k = 0; k < nl && ok; k++) {
                    char c = name[k];
                    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                }
                if (!ok) {
                    content_report_error(rep, fp, "must be 1-64 characters of [A-Za-z0-9_.-]");
                    name = NULL;
                }
            }
            if (name) {
                for (size_t j = 0; j < i; j++) {
                    const char *other =
                        json_string_value(json_object_get(json_array_get(tests, j), "name"));
                    if (other && !strcmp(other, name)) {
                        content_report_error(rep, fp, "duplicate name \"%s\" (also $.tests[%zu])",
                                             name, j);
                        name = NULL;
                        break;
                    }
                }
            }
            json_t *iv = json_object_get(t, "input");
            const char *input = want_string(rep, t, "input", p, false, 0, CONTENT_MAX_IO_BYTES);
            bool input_ok = input || iv == NULL;
            const char *expected =
                want_string(rep, t, "expected", p, true, 0, CONTENT_MAX_IO_BYTES);
            json_t *hv = json_object_get(t, "hidden");
            bool hidden = false, hidden_ok = true;
            if (hv) {
                if (!json_is_boolean(hv)) {
                    path_key(fp, p, "hidden");
                    content_report_error(rep, fp, "must be true or false");
                    hidden_ok = false;
                } else {
                    hidden = json_is_true(hv);
                }
            }
            json_int_t weight = 0;
            bool weight_ok = want_int(rep, t, "weight", p, true, 0, 100, &weight);
            if (hidden_ok && !hidden)
                visible = true;
            if (name && input_ok && expected && hidden_ok && weight_ok)
                json_array_append_new(tests_n,
                                      json_pack("{s:s, s:s, s:s, s:b, s:I}", "name", name, "input",
                                                input ? input : "", "expected", expected, "hidden",
                                                hidden, "weight", weight ? weight : 1));
        }
        if (!visible && json_array_size(tests) > 0)
            content_report_error(rep, "$.tests",
                                 "at least one test must be visible (\"hidden\": false)");
    }

    /* hints */
    json_t *hints_n = json_array();
    json_t *hints = want_array(rep, doc, "hints", "$", false, 0, 10, "hints");
    if (hints) {
        size_t i;
        json_t *h;
        json_array_foreach(hints, i, h)
        {
            char p[PATH_MAX_LEN];
            path_idx(p, "$.hints", i);
            if (!json_is_string(h) || json_string_length(h) == 0 ||
                json_string_length(h) > 4096 ||
                strlen(json_string_value(h)) != json_string_length(h))
                content_report_error(rep, p, "must be a string of 1 byte to 4 KiB");
            else
                json_array_append(hints_n, h);
        }
    }

    /* solutions (checked against the task's languages only when those are
     * fine, so one mistake is reported once) */
    json_t *known_langs = rep->n_errors == errors_before_langs ? langs_n : NULL;
    json_t *refs = read_solutions(rep, doc, "reference_solutions", 10, true, known_langs);
    json_t *wrongs = read_solutions(rep, doc, "wrong_solutions", 20, false, known_langs);
    if (json_array_size(refs) == 0 && rep->n_errors == errors_before)
        content_report_warn(rep, "$.reference_solutions",
                            "no reference solution: nothing proves the tests right");

    json_object_set_new(n, "slug", json_string(slug ? slug : ""));
    json_object_set_new(n, "title", json_string(title ? title : ""));
    json_object_set_new(n, "difficulty", json_string(difficulty ? difficulty_names[difficulty] : ""));
    json_object_set_new(n, "points", json_integer(points));
    json_object_set_new(n, "description", json_string(description ? description : ""));
    json_object_set_new(n, "tags", tags_n);
    json_object_set_new(n, "languages", langs_n);
    json_object_set_new(n, "limits", limits_json(&task_limits));
    json_object_set_new(n, "checker", checker_n);
    json_object_set_new(n, "tests", tests_n);
    json_object_set_new(n, "hints", hints_n);
    json_object_set_new(n, "reference_solutions", refs);
    json_object_set_new(n, "wrong_solutions", wrongs);
    if (rep->n_errors != errors_before)
        return -1;
    *out = DOJO_STEAL(n);
    return 0;
}

int taskjson_parse(const char *text, size_t len, content_report_t *rep, json_t **out)
{
    *out = NULL;
    if (len > CONTENT_MAX_TASK_BYTES) {
        content_report_error(rep, "$", "the file must be at most 8 MiB");
        return -1;
    }
    json_error_t jerr;
    cleanup_json json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        content_report_error(rep, "$", "invalid JSON at line %d, column %d: %s", jerr.line,
                             jerr.column, jerr.text);
        return -1;
    }
    return taskjson_normalize(doc, rep, out);
}

/* ------------------------------------------------------------------------
 * Canonical text, hash, export
 * ------------------------------------------------------------------------ */

/* 15 significant digits: every such decimal survives a trip through a
 * double, so hashing, storing and exporting agree after one normalisation. */
#define TASKJSON_REAL JSON_REAL_PRECISION(15)

char *taskjson_canonical(json_t *norm)
{
    char *s = json_dumps(norm, JSON_SORT_KEYS | JSON_COMPACT | TASKJSON_REAL);
    if (s == NULL)
        abort();
    return s;
}

void taskjson_hash(json_t *norm, char out[65])
{
    cleanup_free char *s = taskjson_canonical(norm);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    for (size_t i = 0; i < sizeof h; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

char *taskjson_pretty(json_t *norm)
{
    cleanup_free char *s = json_dumps(norm, JSON_INDENT(2) | TASKJSON_REAL);
    char *out = NULL;
    if (s == NULL || asprintf(&out, "%s\n", s) < 0)
        abort();
    return out;
}

/* ------------------------------------------------------------------------
 * Message -> file form
 * ------------------------------------------------------------------------ */

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

static void set_int(json_t *o, const char *key, int64_t v)
{
    if (v)
        json_object_set_new(o, key, json_integer(v));
}

static json_t *limits_from_message(const Dojo__Content__V1__Limits *l)
{
    json_t *o = json_object();
    set_int(o, "cpu_ms", l->cpu_ms);
    set_int(o, "wall_ms", l->wall_ms);
    set_int(o, "memory_kib", l->memory_kib);
    set_int(o, "output_kib", l->output_kib);
    return o;
}

static json_t *solutions_from_message(Dojo__Content__V1__Solution **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set_str(o, "name", v[i]->name);
        set_str(o, "language", v[i]->language);
        set_str(o, "code", v[i]->code);
        if ((size_t)v[i]->expected_verdict < NAMES_N(verdict_names) && v[i]->expected_verdict > 0)
            set_str(o, "expected_verdict", verdict_names[v[i]->expected_verdict]);
        else if (v[i]->expected_verdict)
            json_object_set_new(o, "expected_verdict", json_integer(v[i]->expected_verdict));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *taskjson_from_message(const Dojo__Content__V1__Task *t)
{
    json_t *o = json_object();
    set_str(o, "slug", t->slug);
    set_str(o, "title", t->title);
    if (content_difficulty_name(t->difficulty))
        set_str(o, "difficulty", content_difficulty_name(t->difficulty));
    else if (t->difficulty)
        json_object_set_new(o, "difficulty", json_integer(t->difficulty));
    set_int(o, "points", t->points);
    set_str(o, "description", t->description);
    json_t *tags = json_array();
    for (size_t i = 0; i < t->n_tags; i++)
        json_array_append_new(tags, json_string(t->tags[i]));
    json_object_set_new(o, "tags", tags);
    json_t *langs = json_array();
    for (size_t i = 0; i < t->n_languages; i++) {
        json_t *l = json_object();
        json_object_set_new(l, "language", json_string(t->languages[i]->language));
        set_str(l, "starter_code", t->languages[i]->starter_code);
        if (t->languages[i]->limits)
            json_object_set_new(l, "limits", limits_from_message(t->languages[i]->limits));
        json_array_append_new(langs, l);
    }
    json_object_set_new(o, "languages", langs);
    if (t->limits)
        json_object_set_new(o, "limits", limits_from_message(t->limits));
    if (t->checker) {
        json_t *c = json_object();
        int k = t->checker->kind;
        if (k > 0 && (size_t)k < NAMES_N(checker_names))
            set_str(c, "kind", checker_names[k]);
        else if (k)
            json_object_set_new(c, "kind", json_integer(k));
        if (t->checker->abs_tol != 0)
            json_object_set_new(c, "abs_tol", json_real(t->checker->abs_tol));
        if (t->checker->rel_tol != 0)
            json_object_set_new(c, "rel_tol", json_real(t->checker->rel_tol));
        if (t->checker->custom) {
            json_t *cc = json_object();
            set_str(cc, "language", t->checker->custom->language);
            set_str(cc, "source", t->checker->custom->source);
            json_object_set_new(c, "custom", cc);
        }
        json_object_set_new(o, "checker", c);
    }
    json_t *tests = json_array();
    for (size_t i = 0; i < t->n_tests; i++) {
        const Dojo__Content__V1__TestCase *tc = t->tests[i];
        json_t *x = json_object();
        json_object_set_new(x, "name", json_string(tc->name));
        json_object_set_new(x, "input", json_string(tc->input));
        json_object_set_new(x, "expected", json_string(tc->expected));
        if (tc->hidden)
            json_object_set_new(x, "hidden", json_true());
        set_int(x, "weight", tc->weight);
        json_array_append_new(tests, x);
    }
    json_object_set_new(o, "tests", tests);
    json_t *hints = json_array();
    for (size_t i = 0; i < t->n_hints; i++)
        json_array_append_new(hints, json_string(t->hints[i]));
    json_object_set_new(o, "hints", hints);
    json_object_set_new(o, "reference_solutions",
                        solutions_from_message(t->reference_solutions, t->n_reference_solutions));
    json_object_set_new(o, "wrong_solutions",
                        solutions_from_message(t->wrong_solutions, t->n_wrong_solutions));
    return o;
}

/* ------------------------------------------------------------------------
 * Normalised document -> messages (call's arena). The document was
 * validated, so every field is present with its type.
 * ------------------------------------------------------------------------ */

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static char *cstr(rpc_call_t *call, json_t *o, const char *key)
{
    return rpc_strdup(call, jstr(o, key));
}

static Dojo__Content__V1__Limits *limits_msg(rpc_call_t *call, json_t *l)
{
    Dojo__Content__V1__Limits *m =
        RPC_NEW(call, Dojo__Content__V1__Limits, DOJO__CONTENT__V1__LIMITS__INIT);
    m->cpu_ms = (int32_t)jint(l, "cpu_ms");
    m->wall_ms = (int32_t)jint(l, "wall_ms");
    m->memory_kib = (int32_t)jint(l, "memory_kib");
    m->output_kib = (int32_t)jint(l, "output_kib");
    return m;
}

static void languages_msg(rpc_call_t *call, json_t *norm, Dojo__Content__V1__LanguageOption ***out,
                          size_t *n)
{
    json_t *a = json_object_get(norm, "languages");
    *n = json_array_size(a);
    *out = rpc_alloc(call, (*n + 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_t *l = json_array_get(a, i);
        Dojo__Content__V1__LanguageOption *m = RPC_NEW(call, Dojo__Content__V1__LanguageOption,
                                                       DOJO__CONTENT__V1__LANGUAGE_OPTION__INIT);
        m->language = cstr(call, l, "language");
        m->starter_code = cstr(call, l, "starter_code");
        m->limits = limits_msg(call, json_object_get(l, "limits"));
        (*out)[i] = m;
    }
}

static void strings_msg(rpc_call_t *call, json_t *a, char ***out, size_t *n)
{
    *n = json_array_size(a);
    *out = rpc_alloc(call, (*n + 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = rpc_strdup(call, json_string_value(json_array_get(a, i)));
}

static int checker_kind(json_t *norm)
{
    return name_index(checker_names, NAMES_N(checker_names),
                      jstr(json_object_get(norm, "checker"), "kind"));
}

static Dojo__Content__V1__Checker *checker_msg(rpc_call_t *call, json_t *norm)
{
    json_t *c = json_object_get(norm, "checker");
    Dojo__Content__V1__Checker *m =
        RPC_NEW(call, Dojo__Content__V1__Checker, DOJO__CONTENT__V1__CHECKER__INIT);
    m->kind = checker_kind(norm);
    m->abs_tol = json_number_value(json_object_get(c, "abs_tol"));
    m->rel_tol = json_number_value(json_object_get(c, "rel_tol"));
    json_t *cc = json_object_get(c, "custom");
    if (cc) {
        m->custom =
            RPC_NEW(call, Dojo__Content__V1__CustomChecker, DOJO__CONTENT__V1__CUSTOM_CHECKER__INIT);
        m->custom->language = cstr(call, cc, "language");
        m->custom->source = cstr(call, cc, "source");
    }
    return m;
}

static void tests_msg(rpc_call_t *call, json_t *norm, Dojo__Content__V1__TestCase ***out,
                      size_t *n)
{
    json_t *a = json_object_get(norm, "tests");
    *n = json_array_size(a);
    *out = rpc_alloc(call, (*n + 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_t *t = json_array_get(a, i);
        Dojo__Content__V1__TestCase *m =
            RPC_NEW(call, Dojo__Content__V1__TestCase, DOJO__CONTENT__V1__TEST_CASE__INIT);
        m->name = cstr(call, t, "name");
        m->input = cstr(call, t, "input");
        m->expected = cstr(call, t, "expected");
        m->hidden = json_is_true(json_object_get(t, "hidden"));
        m->weight = (int32_t)jint(t, "weight");
        (*out)[i] = m;
    }
}

static void solutions_msg(rpc_call_t *call, json_t *a, Dojo__Content__V1__Solution ***out,
                          size_t *n)
{
    *n = json_array_size(a);
    *out = rpc_alloc(call, (*n + 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_t *s = json_array_get(a, i);
        Dojo__Content__V1__Solution *m =
            RPC_NEW(call, Dojo__Content__V1__Solution, DOJO__CONTENT__V1__SOLUTION__INIT);
        m->name = cstr(call, s, "name");
        m->language = cstr(call, s, "language");
        m->code = cstr(call, s, "code");
        m->expected_verdict =
            name_index(verdict_names, NAMES_N(verdict_names), jstr(s, "expected_verdict"));
        (*out)[i] = m;
    }
}

static int32_t max_score(json_t *norm)
{
    int32_t sum = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    {
        int64_t w = jint(t, "weight");
        sum += (int32_t)(w > 0 ? w : 1);
    }
    return sum;
}

Dojo__Content__V1__Task *taskjson_to_task(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__Task *m =
        RPC_NEW(call, Dojo__Content__V1__Task, DOJO__CONTENT__V1__TASK__INIT);
    m->slug = cstr(call, norm, "slug");
    m->title = cstr(call, norm, "title");
    m->difficulty = content_difficulty_from_name(jstr(norm, "difficulty"));
    m->points = (int32_t)jint(norm, "points");
    m->description = cstr(call, norm, "description");
    strings_msg(call, json_object_get(norm, "tags"), &m->tags, &m->n_tags);
    languages_msg(call, norm, &m->languages, &m->n_languages);
    m->limits = limits_msg(call, json_object_get(norm, "limits"));
    m->checker = checker_msg(call, norm);
    tests_msg(call, norm, &m->tests, &m->n_tests);
    strings_msg(call, json_object_get(norm, "hints"), &m->hints, &m->n_hints);
    solutions_msg(call, json_object_get(norm, "reference_solutions"), &m->reference_solutions,
                  &m->n_reference_solutions);
    solutions_msg(call, json_object_get(norm, "wrong_solutions"), &m->wrong_solutions,
                  &m->n_wrong_solutions);
    return m;
}

Dojo__Content__V1__TaskView *taskjson_to_view(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__TaskView *m =
        RPC_NEW(call, Dojo__Content__V1__TaskView, DOJO__CONTENT__V1__TASK_VIEW__INIT);
    m->slug = cstr(call, norm, "slug");
    m->title = cstr(call, norm, "title");
    m->difficulty = content_difficulty_from_name(jstr(norm, "difficulty"));
    m->points = (int32_t)jint(norm, "points");
    m->description = cstr(call, norm, "description");
    strings_msg(call, json_object_get(norm, "tags"), &m->tags, &m->n_tags);
    languages_msg(call, norm, &m->languages, &m->n_languages);
    m->limits = limits_msg(call, json_object_get(norm, "limits"));
    m->checker_kind = checker_kind(norm);
    if (m->checker_kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_FLOAT) {
        json_t *c = json_object_get(norm, "checker");
        m->abs_tol = json_number_value(json_object_get(c, "abs_tol"));
        m->rel_tol = json_number_value(json_object_get(c, "rel_tol"));
    }
    json_t *tests = json_object_get(norm, "tests");
    m->sample_tests = rpc_alloc(call, (json_array_size(tests) + 1) * sizeof *m->sample_tests);
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t)
    {
        if (json_is_true(json_object_get(t, "hidden"))) {
            m->hidden_test_count++;
            continue;
        }
        Dojo__Content__V1__SampleTest *s =
            RPC_NEW(call, Dojo__Content__V1__SampleTest, DOJO__CONTENT__V1__SAMPLE_TEST__INIT);
        s->name = cstr(call, t, "name");
        s->input = cstr(call, t, "input");
        s->expected = cstr(call, t, "expected");
        m->sample_tests[m->n_sample_tests++] = s;
    }
    m->max_score = max_score(norm);
    strings_msg(call, json_object_get(norm, "hints"), &m->hints, &m->n_hints);
    return m;
}

Dojo__Content__V1__JudgeBundle *taskjson_to_bundle(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__JudgeBundle *m =
        RPC_NEW(call, Dojo__Content__V1__JudgeBundle, DOJO__CONTENT__V1__JUDGE_BUNDLE__INIT);
    m->slug = cstr(call, norm, "slug");
    m->difficulty = content_difficulty_from_name(jstr(norm, "difficulty"));
    m->points = (int32_t)jint(norm, "points");
    m->limits = limits_msg(call, json_object_get(norm, "limits"));
    m->checker = checker_msg(call, norm);
    tests_msg(call, norm, &m->tests, &m->n_tests);
    languages_msg(call, norm, &m->languages, &m->n_languages);
    m->max_score = max_score(norm);
    return m;
}
