/* taskjson.c — the rules of task files: one reader per section of the file
 * (head fields, tags, languages, limits, checker, tests, hints, solutions),
 * each reporting precise JSON paths and resolving its defaults.
 *
 * Everything a task is goes through taskjson_normalize: files, TaskInput.json
 * and TaskInput.task (converted to the file form first), so the three can
 * never disagree. The normalised document is the stored form; learner views,
 * judge bundles and exports are all built from it. This file is the
 * authority on what a task file may contain: content/schema/task.schema.json
 * documents the same rules for editors. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/cleanup.h"
#include "libcommon/text.h"
#include "model.h"

static const char *const difficulty_names[] = {NULL, "easy", "medium", "hard"};
static const char *const checker_names[] = {
    NULL,     "exact",  "ignore_trailing_ws", "tokens", "float", "custom", "default_validator",
    "package_validator"};
static const char *const verdict_names[] = {NULL, "ac", "wa", "tle", "mle",       "re",
                                            "ole", "ce", "ie", "cancelled", "not_run"};

const check_names_t task_difficulties = {difficulty_names, 4};
const check_names_t task_checker_kinds = {checker_names, 8};
const check_names_t task_verdicts = {verdict_names, 11};
/* What a solution may expect: a verdict a submission can get, "ac" to "ce". */
static const check_names_t solution_verdicts = {verdict_names, 8};

enum { DIFFICULTY_MEDIUM = 2, DIFFICULTY_HARD = 3 };
enum {
    KIND_IGNORE_TRAILING_WS = 2,
    KIND_FLOAT = 4,
    KIND_CUSTOM = 5,
    KIND_DEFAULT_VALIDATOR = 6,
    KIND_PACKAGE_VALIDATOR = 7,
};
enum { VERDICT_AC = 1 };

#define MAX_LANGUAGES 10

typedef struct limits {
    json_int_t cpu, wall, mem, out;
    char path[CHECK_PATH_MAX]; /* of the object, for errors found later */
} limits_t;

/* What the sections of one task share, in reading order. */
typedef struct task_state {
    int difficulty; /* for the default points */
    json_t *langs;  /* the languages section's value (borrowed) */
    limits_t lang_limits[MAX_LANGUAGES];
    size_t errors_before_langs;
    bool restrict_languages; /* only the listed languages are accepted */
    bool any_visible, any_test; /* what the tests section found */
    int checker_kind;           /* the checker section's, for the tests' own flags */
    json_t *solution_langs;  /* langs when restricted, or NULL: any known
                                language (also when something since was wrong) */
} task_state_t;

/* ------------------------------------------------------------------------
 * slug, title, difficulty, points, description
 * ------------------------------------------------------------------------ */

static json_t *read_slug(const check_obj_t *doc, void *state)
{
    const char *slug = check_string(doc, "slug", CHECK_REQUIRED, 0, 0);
    if (slug)
        slug = check_slug_value(doc->rep, "$.slug", json_object_get(doc->json, "slug"), 64,
                                CHECK_LETTER_FIRST);
    if (slug)
        check_file_name(doc->rep, slug);
    return json_string(slug ? slug : "");
}

static json_t *read_title(const check_obj_t *doc, void *state)
{
    const char *title = check_string(doc, "title", CHECK_REQUIRED, 1, 0);
    if (title && ((size_t)text_utf8_length(title) > 120 || text_has_control(title))) {
        content_report_error(doc->rep, "$.title",
                             (size_t)text_utf8_length(title) > 120
                                 ? "must be at most 120 characters"
                                 : "must not contain control characters");
        title = NULL;
    }
    return json_string(title ? title : "");
}

static json_t *read_difficulty(const check_obj_t *doc, void *state)
{
    task_state_t *st = state;
    int d = check_enum(doc, "difficulty", &task_difficulties, CHECK_REQUIRED);
    st->difficulty = d > 0 ? d : 0;
    return json_string(st->difficulty ? difficulty_names[st->difficulty] : "");
}

static json_t *read_points(const check_obj_t *doc, void *state)
{
    const task_state_t *st = state;
    json_int_t points = 0;
    check_int(doc, "points", CHECK_ZERO_UNSET, 1, 1000, &points);
    if (points == 0)
        points = st->difficulty == DIFFICULTY_HARD     ? 60
                 : st->difficulty == DIFFICULTY_MEDIUM ? 30
                                                       : 10;
    return json_integer(points);
}

static json_t *read_description(const check_obj_t *doc, void *state)
{
    const char *s = check_string(doc, "description", CHECK_REQUIRED, 1, 64 * 1024);
    return json_string(s ? s : "");
}

/* ------------------------------------------------------------------------
 * tags
 * ------------------------------------------------------------------------ */

static bool has_string(json_t *arr, const char *s)
{
    for (size_t j = 0; j < json_array_size(arr); j++)
        if (!strcmp(json_string_value(json_array_get(arr, j)), s))
            return true;
    return false;
}

static json_t *read_tags(const check_obj_t *doc, void *state)
{
    json_t *out = json_array();
    json_t *tags = check_array(doc, "tags", 0, 0, 10, "tags");
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        char p[CHECK_PATH_MAX];
        check_path_index(p, "$.tags", i);
        const char *tag = check_slug_value(doc->rep, p, t, 32, 0);
        if (tag == NULL)
            continue;
        if (has_string(out, tag))
            content_report_error(doc->rep, p, "duplicate tag \"%s\"", tag);
        else
            json_array_append(out, t);
    }
    return out;
}

/* ------------------------------------------------------------------------
 * limits: of the task, and of each language (which inherits the task's)
 * ------------------------------------------------------------------------ */

static void read_limits(const check_obj_t *parent, limits_t *l)
{
    memset(l, 0, sizeof *l);
    check_member_path(l->path, parent, "limits");
    check_obj_t o;
    if (!check_member(&o, parent, "limits"))
        return;
    static const char *const keys[] = {"cpu_ms", "wall_ms", "memory_kib", "output_kib", NULL};
    check_keys(&o, keys, NULL);
    check_int(&o, "cpu_ms", CHECK_ZERO_UNSET, 100, 10000, &l->cpu);
    check_int(&o, "wall_ms", CHECK_ZERO_UNSET, 1, 30000, &l->wall);
    check_int(&o, "memory_kib", CHECK_ZERO_UNSET, 16384, 1048576, &l->mem);
    check_int(&o, "output_kib", CHECK_ZERO_UNSET, 1, 16384, &l->out);
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
        char p[CHECK_PATH_MAX];
        check_path_key(p, l->path, "wall_ms");
        content_report_error(rep, p, "must be at least cpu_ms (%lld)", (long long)l->cpu);
    }
}

static json_t *limits_json(const limits_t *l)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "cpu_ms", l->cpu, "wall_ms", l->wall, "memory_kib",
                     l->mem, "output_kib", l->out);
}

/* The task's limits; then each language's, now that it can inherit them. */
static json_t *read_task_limits(const check_obj_t *doc, void *state)
{
    task_state_t *st = state;
    limits_t task;
    read_limits(doc, &task);
    resolve_limits(doc->rep, &task, NULL);
    for (size_t i = 0; i < json_array_size(st->langs); i++) {
        resolve_limits(doc->rep, &st->lang_limits[i], &task);
        json_object_set_new(json_array_get(st->langs, i), "limits",
                            limits_json(&st->lang_limits[i]));
    }
    return limits_json(&task);
}

/* ------------------------------------------------------------------------
 * languages (their limits are resolved by the limits section)
 * ------------------------------------------------------------------------ */

static bool has_language(json_t *langs, const char *id)
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

static void read_language(const check_obj_t *l, task_state_t *st)
{
    static const char *const keys[] = {"language", "starter_code", "limits", NULL};
    check_keys(l, keys, NULL);
    char fp[CHECK_PATH_MAX];
    check_member_path(fp, l, "language");
    const char *id = check_string(l, "language", CHECK_REQUIRED, 1, 0);
    if (id && !content_language_find(id)) {
        content_report_error(l->rep, fp, "unknown language \"%.32s\"", id);
        id = NULL;
    }
    if (id && has_language(st->langs, id)) {
        content_report_error(l->rep, fp, "duplicate language \"%s\"", id);
        id = NULL;
    }
    const char *starter = check_string(l, "starter_code", 0, 0, CONTENT_MAX_CODE_BYTES);
    bool starter_ok = starter || !check_has(l, "starter_code");
    limits_t limits;
    read_limits(l, &limits);
    size_t n = json_array_size(st->langs);
    if (id && starter_ok && n < MAX_LANGUAGES) {
        st->lang_limits[n] = limits;
        json_array_append_new(st->langs, json_pack("{s:s, s:s}", "language", id, "starter_code",
                                                   starter ? starter : ""));
    }
}

static json_t *read_languages(const check_obj_t *doc, void *state)
{
    task_state_t *st = state;
    st->errors_before_langs = doc->rep->n_errors;
    st->langs = json_array();
    json_t *langs = check_array(doc, "languages", CHECK_REQUIRED, 1, MAX_LANGUAGES, "languages");
    for (size_t i = 0; i < json_array_size(langs); i++) {
        check_obj_t l;
        if (check_item(&l, doc, "languages", langs, i))
            read_language(&l, st);
    }
    return st->langs;
}

/* A task accepts every language of the catalogue (the listed ones with
 * their starter code and limits, the others with the task's limits) unless
 * its author restricts it to the listed ones. Kept only when true, so a task
 * stored before the field existed keeps its content hash. */
static json_t *read_restrict_languages(const check_obj_t *doc, void *state)
{
    task_state_t *st = state;
    bool v = false;
    check_bool(doc, "restrict_languages", &v);
    st->restrict_languages = v;
    return v ? json_true() : NULL;
}

/* ------------------------------------------------------------------------
 * checker
 * ------------------------------------------------------------------------ */

/* abs_tol and rel_tol into tol[0] and tol[1]. */
static void read_tolerances(const check_obj_t *c, int kind, double tol[2])
{
    static const char *const keys[] = {"abs_tol", "rel_tol"};
    for (int t = 0; t < 2; t++) {
        if (!check_nonnegative(c, keys[t], &tol[t]) || kind == KIND_FLOAT ||
            kind == KIND_DEFAULT_VALIDATOR || tol[t] == 0)
            continue;
        char p[CHECK_PATH_MAX];
        check_member_path(p, c, keys[t]);
        content_report_warn(c->rep, p,
                            "ignored: only the \"float\" and \"default_validator\" checkers use it");
    }
}

static void read_custom(const check_obj_t *c, int kind, json_t *out)
{
    if (kind != KIND_CUSTOM) {
        if (check_has(c, "custom"))
            content_report_warn(c->rep, "$.checker.custom",
                                "ignored: only the \"custom\" kind uses it");
        return;
    }
    check_obj_t cc;
    if (!check_has(c, "custom")) {
        content_report_error(c->rep, "$.checker.custom", "required for the \"custom\" kind");
        return;
    }
    if (!check_member(&cc, c, "custom"))
        return;
    static const char *const keys[] = {"language", "source", NULL};
    check_keys(&cc, keys, NULL);
    const char *id = check_string(&cc, "language", CHECK_REQUIRED, 1, 0);
    if (id && !content_language_find(id)) {
        content_report_error(cc.rep, "$.checker.custom.language", "unknown language \"%.32s\"", id);
        id = NULL;
    }
    const char *src = check_string(&cc, "source", CHECK_REQUIRED, 1, CONTENT_MAX_CODE_BYTES);
    if (id && src)
        json_object_set_new(out, "custom", json_pack("{s:s, s:s}", "language", id, "source", src));
}

/* The default validator's flags (the problem package format's
 * case_sensitive and space_change_sensitive), kept only when true, and its
 * tolerances only when set (none: numbers compare as text). */
static void read_validator_flags(const check_obj_t *c, int kind, const double tol[2],
                                 json_t *out)
{
    static const char *const flags[] = {"case_sensitive", "space_change_sensitive"};
    for (int f = 0; f < 2; f++) {
        bool v = false;
        if (!check_bool(c, flags[f], &v) || !v)
            continue;
        if (kind == KIND_DEFAULT_VALIDATOR) {
            json_object_set_new(out, flags[f], json_true());
        } else {
            char p[CHECK_PATH_MAX];
            check_member_path(p, c, flags[f]);
            content_report_warn(c->rep, p, "ignored: only the \"default_validator\" checker uses it");
        }
    }
    if (kind == KIND_DEFAULT_VALIDATOR && (tol[0] != 0 || tol[1] != 0)) {
        json_object_set_new(out, "abs_tol", json_real(tol[0]));
        json_object_set_new(out, "rel_tol", json_real(tol[1]));
    }
}

/* A package validator's file name: the package format's rule, at most 64
 * characters, and a leading "_" for Python's __main__.py. */
static bool is_validator_file_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > VALIDATOR_NAME_MAX)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || (c == '_' && k < n - 1))
            continue;
        if ((k == 0 || k == n - 1) || !(c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* files: 1-64 of {name, content}, files[0] the entry. */
static json_t *read_validator_files(const check_obj_t *c)
{
    json_t *files = check_array(c, "files", CHECK_REQUIRED, 1, VALIDATOR_FILES_MAX, "files");
    json_t *out = json_array();
    size_t total = 0;
    for (size_t i = 0; i < json_array_size(files); i++) {
        check_obj_t f;
        if (!check_item(&f, c, "files", files, i))
            continue;
        static const char *const keys[] = {"name", "content", NULL};
        check_keys(&f, keys, NULL);
        char fp[CHECK_PATH_MAX];
        check_member_path(fp, &f, "name");
        const char *name = check_string(&f, "name", CHECK_REQUIRED, 0, 0);
        if (name && !is_validator_file_name(name)) {
            content_report_error(f.rep, fp,
                                 "must be 1-64 characters of [A-Za-z0-9_.-], beginning with a "
                                 "letter, digit or _ and ending with a letter or digit");
            name = NULL;
        }
        char arr_path[CHECK_PATH_MAX];
        check_member_path(arr_path, c, "files");
        if (name && !check_unique(f.rep, fp, files, arr_path, i, "name", name))
            name = NULL;
        const char *content = check_string(&f, "content", CHECK_REQUIRED, 0, VALIDATOR_FILE_MAX);
        if (content)
            total += strlen(content);
        if (name && content)
            json_array_append_new(out, json_pack("{s:s, s:s}", "name", name, "content", content));
    }
    if (total > VALIDATOR_TOTAL_MAX) {
        char fp[CHECK_PATH_MAX];
        check_member_path(fp, c, "files");
        content_report_error(c->rep, fp, "the files hold %zu bytes: at most %d (4 MiB) in all",
                             total, VALIDATOR_TOTAL_MAX);
    }
    return out;
}

/* `key`: validator flags (the package's validator_flags, or a test's own),
 * each one argument. */
static json_t *read_validator_flags_list(const check_obj_t *c, const char *key)
{
    json_t *flags = check_array(c, key, 0, 0, VALIDATOR_FLAGS_MAX, "flags");
    json_t *out = json_array();
    char base[CHECK_PATH_MAX];
    check_member_path(base, c, key);
    for (size_t i = 0; i < json_array_size(flags); i++) {
        json_t *v = json_array_get(flags, i);
        char p[CHECK_PATH_MAX];
        check_path_index(p, base, i);
        const char *s = json_string_value(v);
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 256 ||
            strlen(s) != json_string_length(v) || strchr(s, '\n') || strchr(s, '\r'))
            content_report_error(c->rep, p,
                                 "must be a string of 1-256 bytes without NUL or line breaks");
        else
            json_array_append(out, v);
    }
    return out;
}

/* The package validator's language, files, flags and interactive. */
static void read_package_validator(const check_obj_t *c, int kind, json_t *out)
{
    static const char *const own[] = {"language", "files", "flags", "interactive"};
    if (kind != KIND_PACKAGE_VALIDATOR) {
        for (size_t k = 0; k < sizeof own / sizeof *own; k++) {
            if (!check_has(c, own[k]))
                continue;
            char p[CHECK_PATH_MAX];
            check_member_path(p, c, own[k]);
            content_report_warn(c->rep, p, "ignored: only the \"package_validator\" kind uses it");
        }
        return;
    }
    char lp[CHECK_PATH_MAX];
    check_member_path(lp, c, "language");
    const char *id = check_string(c, "language", CHECK_REQUIRED, 1, 0);
    if (id && !content_language_find(id)) {
        content_report_error(c->rep, lp, "unknown language \"%.32s\"", id);
        id = NULL;
    }
    json_t *files = read_validator_files(c);
    json_t *flags = read_validator_flags_list(c, "flags");
    bool interactive = false;
    check_bool(c, "interactive", &interactive);
    if (id)
        json_object_set_new(out, "language", json_string(id));
    json_object_set_new(out, "files", files);
    if (json_array_size(flags) > 0)
        json_object_set_new(out, "flags", flags);
    else
        json_decref(flags);
    if (interactive)
        json_object_set_new(out, "interactive", json_true());
}

static json_t *read_checker(const check_obj_t *doc, void *state)
{
    task_state_t *st = state;
    json_t *out = json_object();
    json_object_set_new(out, "kind", json_null()); /* first, in Checker's order */
    int kind = KIND_IGNORE_TRAILING_WS;
    check_obj_t c;
    if (check_member(&c, doc, "checker")) {
        static const char *const keys[] = {"kind",           "abs_tol",
                                           "rel_tol",        "custom",
                                           "case_sensitive", "space_change_sensitive",
                                           "language",       "files",
                                           "flags",          "interactive",
                                           NULL};
        check_keys(&c, keys, NULL);
        int k = check_enum(&c, "kind", &task_checker_kinds, 0);
        if (k > 0)
            kind = k;
        double tol[2] = {0, 0};
        read_tolerances(&c, kind, tol);
        read_custom(&c, kind, out);
        if (kind == KIND_FLOAT) {
            if (tol[0] == 0 && tol[1] == 0)
                tol[0] = tol[1] = 1e-6;
            json_object_set_new(out, "abs_tol", json_real(tol[0]));
            json_object_set_new(out, "rel_tol", json_real(tol[1]));
        }
        read_validator_flags(&c, kind, tol, out);
        read_package_validator(&c, kind, out);
    }
    json_object_set_new(out, "kind", json_string(checker_names[kind]));
    st->checker_kind = kind;
    return out;
}

/* ------------------------------------------------------------------------
 * tests
 * ------------------------------------------------------------------------ */

static bool is_test_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* A blob's name: 64 lower-case hex digits. */
bool task_is_sha256(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return false;
    for (size_t k = 0; k < 64; k++)
        if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')))
            return false;
    return true;
}

/* The test's data `key` ("input"/"expected") inline or as the blob named by
 * `key`_sha256, never both. Hidden tests only may use a blob: a visible one
 * is shown to learners, inline. *ok is false after an error; *sha the blob. */
static const char *read_test_data(const check_obj_t *t, const char *key, bool required,
                                  bool hidden, const char **sha, bool *ok)
{
    char skey[32], fp[CHECK_PATH_MAX];
    snprintf(skey, sizeof skey, "%s_sha256", key);
    check_member_path(fp, t, skey);
    *sha = NULL;
    *ok = true;
    if (check_has(t, skey)) {
        const char *h = check_string(t, skey, 0, 0, 64);
        if (h && !task_is_sha256(h)) {
            content_report_error(t->rep, fp, "must be a SHA-256: 64 lower-case hex digits");
            h = NULL;
        }
        if (h && check_has(t, key)) {
            content_report_error(t->rep, fp, "give either %s or %s, not both", key, skey);
            h = NULL;
        }
        if (h && !hidden) {
            content_report_error(t->rep, fp,
                                 "only hidden tests may keep their data in blobs (a visible "
                                 "test is shown to learners: give its %s inline, at most 1 MiB)",
                                 key);
            h = NULL;
        }
        *ok = h != NULL;
        *sha = h;
        return NULL;
    }
    const char *v = check_string(t, key, required ? CHECK_REQUIRED : 0, 0, CONTENT_MAX_IO_BYTES);
    *ok = v || (!required && !check_has(t, key));
    return v;
}

/* A test's own validator flags (TestCase.validator_flags) for a checker of
 * `kind`: a package validator takes any; the default validator its own
 * words, each tolerance followed by a number >= 0; other kinds none (a
 * warning, dropped). New array, or NULL when absent, dropped or wrong. */
static json_t *read_test_flags(const check_obj_t *t, int kind, bool *ok)
{
    *ok = true;
    if (!check_has(t, "validator_flags"))
        return NULL;
    char fp[CHECK_PATH_MAX];
    check_member_path(fp, t, "validator_flags");
    size_t errors = t->rep->n_errors;
    json_t *flags = read_validator_flags_list(t, "validator_flags");
    if (t->rep->n_errors > errors) {
        json_decref(flags);
        *ok = false;
        return NULL;
    }
    if (kind != KIND_PACKAGE_VALIDATOR && kind != KIND_DEFAULT_VALIDATOR) {
        content_report_warn(t->rep, fp,
                            "ignored: only the \"package_validator\" and \"default_validator\" "
                            "checkers take a test's own flags");
        json_decref(flags);
        return NULL;
    }
    for (size_t k = 0; kind == KIND_DEFAULT_VALIDATOR && k < json_array_size(flags); k++) {
        const char *w = json_string_value(json_array_get(flags, k));
        if (!strcmp(w, "case_sensitive") || !strcmp(w, "space_change_sensitive"))
            continue;
        char p[CHECK_PATH_MAX];
        check_path_index(p, fp, k);
        if (!strcmp(w, "float_tolerance") || !strcmp(w, "float_absolute_tolerance") ||
            !strcmp(w, "float_relative_tolerance")) {
            const char *num = json_string_value(json_array_get(flags, k + 1));
            char *end = NULL;
            double eps = num ? strtod(num, &end) : -1;
            if (num && *num && !*end && eps >= 0 && isfinite(eps)) {
                k++;
                continue;
            }
            content_report_error(t->rep, p, "%s: must be followed by a number >= 0", w);
        } else {
            content_report_error(t->rep, p,
                                 "\"%.40s\" is not a flag of the default output validator "
                                 "(case_sensitive, space_change_sensitive, float_tolerance E, "
                                 "float_absolute_tolerance E, float_relative_tolerance E)",
                                 w);
        }
        json_decref(flags);
        *ok = false;
        return NULL;
    }
    return flags;
}

/* Test `i` of `tests`; *visible is set when it is a visible one. */
static json_t *read_test(const check_obj_t *t, json_t *tests, size_t i, int checker_kind,
                         bool *visible)
{
    static const char *const keys[] = {"name",         "input",           "expected",
                                       "hidden",       "weight",          "group",
                                       "input_sha256", "expected_sha256", "validator_flags",
                                       NULL};
    check_keys(t, keys, NULL);
    char fp[CHECK_PATH_MAX];
    check_member_path(fp, t, "name");
    const char *name = check_string(t, "name", CHECK_REQUIRED, 0, 0);
    if (name && !is_test_name(name)) {
        content_report_error(t->rep, fp, "must be 1-64 characters of [A-Za-z0-9_.-]");
        name = NULL;
    }
    if (name && !check_unique(t->rep, fp, tests, "$.tests", i, "name", name))
        name = NULL;
    bool hidden = false;
    bool hidden_ok = check_bool(t, "hidden", &hidden);
    const char *input_sha, *expected_sha;
    bool input_ok, expected_ok;
    const char *input = read_test_data(t, "input", false, hidden, &input_sha, &input_ok);
    const char *expected = read_test_data(t, "expected", true, hidden, &expected_sha, &expected_ok);
    json_int_t weight = 0;
    bool weight_ok = check_int(t, "weight", CHECK_ZERO_UNSET, 0, 100, &weight);
    /* A test group (IOI subtask); absent stays absent, so tasks without
     * groups keep their content hash. */
    const char *group = check_slug(t, "group", 32, 0);
    bool group_ok = group || !check_has(t, "group");
    bool flags_ok;
    json_t *flags = read_test_flags(t, checker_kind, &flags_ok);
    if (hidden_ok && !hidden)
        *visible = true;
    if (!(name && input_ok && expected_ok && hidden_ok && weight_ok && group_ok && flags_ok)) {
        json_decref(flags);
        return NULL;
    }
    /* Inline data keeps its keys (absent input is ""); a blob replaces its
     * key, so tasks without blobs keep their content hash. */
    json_t *out = json_pack("{s:s}", "name", name);
    if (!input_sha)
        json_object_set_new(out, "input", json_string(input ? input : ""));
    if (!expected_sha)
        json_object_set_new(out, "expected", json_string(expected));
    json_object_set_new(out, "hidden", json_boolean(hidden));
    json_object_set_new(out, "weight", json_integer(weight ? weight : 1));
    if (group)
        json_object_set_new(out, "group", json_string(group));
    if (input_sha)
        json_object_set_new(out, "input_sha256", json_string(input_sha));
    if (expected_sha)
        json_object_set_new(out, "expected_sha256", json_string(expected_sha));
    /* Absent stays absent (the checker's flags), so other tasks keep their
     * content hash; empty is kept: no flags at all. */
    if (flags)
        json_object_set_new(out, "validator_flags", flags);
    return out;
}

static json_t *read_tests(const check_obj_t *doc, void *state)
{
    task_state_t *st = state;
    json_t *out = json_array();
    json_t *tests = check_array(doc, "tests", CHECK_REQUIRED, 1, CONTENT_MAX_TESTS, "tests");
    bool visible = false;
    for (size_t i = 0; i < json_array_size(tests); i++) {
        check_obj_t t;
        json_t *test = NULL;
        if (check_item(&t, doc, "tests", tests, i) && (test = read_test(&t, tests, i, st->checker_kind, &visible)))
            json_array_append_new(out, test);
    }
    st->any_visible = visible;
    st->any_test = json_array_size(tests) > 0;
    return out;
}

/* ------------------------------------------------------------------------
 * hints
 * ------------------------------------------------------------------------ */

static json_t *read_hints(const check_obj_t *doc, void *state)
{
    json_t *out = json_array();
    json_t *hints = check_array(doc, "hints", 0, 0, 10, "hints");
    size_t i;
    json_t *h;
    json_array_foreach(hints, i, h)
    {
        char p[CHECK_PATH_MAX];
        check_path_index(p, "$.hints", i);
        if (!json_is_string(h) || json_string_length(h) == 0 || json_string_length(h) > 4096 ||
            strlen(json_string_value(h)) != json_string_length(h))
            content_report_error(doc->rep, p, "must be a string of 1 byte to 4 KiB");
        else
            json_array_append(out, h);
    }
    return out;
}

/* ------------------------------------------------------------------------
 * editorial: left out of the normalised form when empty, so tasks without
 * one keep their content hash
 * ------------------------------------------------------------------------ */

static json_t *read_editorial(const check_obj_t *doc, void *state)
{
    (void)state;
    const char *s = check_string(doc, "editorial", 0, 0, 64 * 1024);
    return s && s[0] ? json_string(s) : NULL;
}

/* ------------------------------------------------------------------------
 * stop_at_first_failure: left out of the normalised form when false (the
 * default), so tasks without it keep their content hash
 * ------------------------------------------------------------------------ */

static json_t *read_stop_at_first_failure(const check_obj_t *doc, void *state)
{
    (void)state;
    bool stop = false;
    return check_bool(doc, "stop_at_first_failure", &stop) && stop ? json_true() : NULL;
}

/* Learners get an example: a visible test, unless the author says there is
 * none (a problem package without samples); kept only when true. */
static json_t *read_no_visible_tests(const check_obj_t *doc, void *state)
{
    const task_state_t *st = state;
    bool none = false;
    if (!check_bool(doc, "no_visible_tests", &none))
        return NULL;
    if (none && st->any_visible)
        content_report_error(doc->rep, "$.no_visible_tests",
                             "must be false or absent: a test is visible");
    else if (!none && !st->any_visible && st->any_test)
        content_report_error(doc->rep, "$.tests",
                             "at least one test must be visible (\"hidden\": false), or "
                             "\"no_visible_tests\": true when learners get none");
    return none ? json_true() : NULL;
}

/* ------------------------------------------------------------------------
 * input_validators: a problem package's input validators, kept with the
 * task (the gateway runs them over the tests' inputs; an export writes them
 * back). Left out when there are none, so other tasks keep their hash.
 * ------------------------------------------------------------------------ */

#define INPUT_VALIDATORS_MAX 16

/* A validator's path as the package reader makes it: input_validator, or
 * input_format_validators/<name> or input_validators/<name> (a directory, or
 * a single source file of that name). */
static bool is_input_validator_path(const char *path)
{
    if (!strcmp(path, "input_validator"))
        return true;
    static const char *const dirs[] = {"input_format_validators/", "input_validators/", NULL};
    for (int d = 0; dirs[d]; d++)
        if (!strncmp(path, dirs[d], strlen(dirs[d])))
            return is_validator_file_name(path + strlen(dirs[d]));
    return false;
}

static int cmp_validator_path(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "path")),
                  json_string_value(json_object_get(*(json_t *const *)b, "path")));
}

static json_t *read_input_validators(const check_obj_t *doc, void *state)
{
    (void)state;
    json_t *arr = check_array(doc, "input_validators", 0, 0, INPUT_VALIDATORS_MAX,
                              "input validators");
    size_t n = json_array_size(arr), total = 0;
    json_t **out = calloc(n + 1, sizeof *out);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        check_obj_t v;
        if (!check_item(&v, doc, "input_validators", arr, i))
            continue;
        static const char *const keys[] = {"path", "language", "files", "flags", NULL};
        check_keys(&v, keys, NULL);
        char pp[CHECK_PATH_MAX], lp[CHECK_PATH_MAX];
        check_member_path(pp, &v, "path");
        const char *path = check_string(&v, "path", CHECK_REQUIRED, 1, 0);
        if (path && !is_input_validator_path(path)) {
            content_report_error(doc->rep, pp,
                                 "must be input_validator, or input_format_validators/<name> or "
                                 "input_validators/<name> (1-64 characters of [A-Za-z0-9_.-])");
            path = NULL;
        }
        if (path && !check_unique(doc->rep, pp, arr, "$.input_validators", i, "path", path))
            path = NULL;
        check_member_path(lp, &v, "language");
        const char *id = check_string(&v, "language", CHECK_REQUIRED, 1, 0);
        if (id && !content_language_find(id)) {
            content_report_error(doc->rep, lp, "unknown language \"%.32s\"", id);
            id = NULL;
        }
        json_t *files = read_validator_files(&v);
        json_t *flags = read_validator_flags_list(&v, "flags");
        size_t k;
        json_t *f;
        json_array_foreach(files, k, f) total += json_string_length(json_object_get(f, "content"));
        if (!path || !id) {
            json_decref(files);
            json_decref(flags);
            continue;
        }
        json_t *o = json_pack("{s:s, s:s, s:o}", "path", path, "language", id, "files", files);
        if (json_array_size(flags) > 0)
            json_object_set_new(o, "flags", flags);
        else
            json_decref(flags);
        out[kept++] = o;
    }
    if (total > VALIDATOR_TOTAL_MAX)
        content_report_error(doc->rep, "$.input_validators",
                             "the input validators' files hold %zu bytes: at most %d (4 MiB) in "
                             "all",
                             total, VALIDATOR_TOTAL_MAX);
    /* Path order, as a package lists them: the same validators are the same
     * task whatever order they came in. */
    qsort(out, kept, sizeof *out, cmp_validator_path);
    json_t *list = kept ? json_array() : NULL;
    for (size_t i = 0; i < kept; i++)
        json_array_append_new(list, out[i]);
    free(out);
    return list;
}

/* ------------------------------------------------------------------------
 * reference_solutions, wrong_solutions
 * ------------------------------------------------------------------------ */

/* expected_verdict: -1 when wrong (reported), else the verdict, which a
 * reference solution always has ("ac"). */
static int read_verdict(const check_obj_t *s, bool reference)
{
    char fp[CHECK_PATH_MAX];
    check_member_path(fp, s, "expected_verdict");
    int verdict = check_enum(s, "expected_verdict", &solution_verdicts, 0);
    if (verdict < 0)
        return -1;
    if (reference && verdict > 0 && verdict != VERDICT_AC) {
        content_report_error(s->rep, fp, "must be \"ac\" for a reference solution");
        return -1;
    }
    if (!reference && verdict == VERDICT_AC) {
        content_report_error(s->rep, fp, "must not be \"ac\" for a known-wrong solution");
        return -1;
    }
    return reference ? VERDICT_AC : verdict;
}

/* Solution `i` of `arr` (the member `key`); `task_langs` NULL: any known
 * language. */
static json_t *read_solution(const check_obj_t *s, json_t *arr, const char *key, size_t i,
                             bool reference, json_t *task_langs)
{
    static const char *const keys[] = {"name", "language", "code", "expected_verdict", NULL};
    check_keys(s, keys, NULL);
    char base[CHECK_PATH_MAX], fp[CHECK_PATH_MAX];
    check_path_key(base, "$", key);
    const char *name = check_text(s, "name", CHECK_REQUIRED, 64);
    if (name) {
        check_member_path(fp, s, "name");
        check_unique(s->rep, fp, arr, base, i, "name", name);
    }
    const char *lang = check_string(s, "language", CHECK_REQUIRED, 1, 0);
    check_member_path(fp, s, "language");
    if (lang && !content_language_find(lang)) {
        content_report_error(s->rep, fp, "unknown language \"%.32s\"", lang);
        lang = NULL;
    } else if (lang && task_langs && !has_language(task_langs, lang)) {
        content_report_error(s->rep, fp, "\"%s\" is not one of the task's languages", lang);
        lang = NULL;
    }
    const char *code = check_string(s, "code", CHECK_REQUIRED, 1, CONTENT_MAX_CODE_BYTES);
    int verdict = read_verdict(s, reference);
    if (!(name && lang && code && verdict >= 0))
        return NULL;
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "language", lang, "code", code);
    if (verdict > 0)
        json_object_set_new(o, "expected_verdict", json_string(verdict_names[verdict]));
    return o;
}

static json_t *read_solutions(const check_obj_t *doc, const char *key, size_t max, bool reference,
                              json_t *task_langs)
{
    json_t *out = json_array();
    json_t *arr = check_array(doc, key, 0, 0, max, "solutions");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        check_obj_t s;
        json_t *sol = NULL;
        if (check_item(&s, doc, key, arr, i) &&
            (sol = read_solution(&s, arr, key, i, reference, task_langs)))
            json_array_append_new(out, sol);
    }
    return out;
}

/* Solutions are checked against the task's languages only when nothing was
 * wrong from the languages on, so one mistake is reported once. */
static json_t *read_reference_solutions(const check_obj_t *doc, void *state)
{
    task_state_t *st = state;
    st->solution_langs = st->restrict_languages && doc->rep->n_errors == st->errors_before_langs
                             ? st->langs
                             : NULL;
    return read_solutions(doc, "reference_solutions", 10, true, st->solution_langs);
}

static json_t *read_wrong_solutions(const check_obj_t *doc, void *state)
{
    const task_state_t *st = state;
    return read_solutions(doc, "wrong_solutions", 20, false, st->solution_langs);
}

/* ------------------------------------------------------------------------
 * The whole task
 * ------------------------------------------------------------------------ */

/* In Task's field order. */
/* clang-format off */
static const check_section_t task_sections[] = {
    {"slug", read_slug},
    {"title", read_title},
    {"difficulty", read_difficulty},
    {"points", read_points},
    {"description", read_description},
    {"tags", read_tags},
    {"languages", read_languages},
    {"restrict_languages", read_restrict_languages},
    {"limits", read_task_limits},
    {"checker", read_checker},
    {"tests", read_tests},
    {"hints", read_hints},
    {"reference_solutions", read_reference_solutions},
    {"wrong_solutions", read_wrong_solutions},
    {"editorial", read_editorial},
    {"stop_at_first_failure", read_stop_at_first_failure},
    {"no_visible_tests", read_no_visible_tests},
    {"input_validators", read_input_validators},
    {NULL, NULL},
};
/* clang-format on */

static const char *const output_only[] = {"status",     "version",    "content_hash",
                                          "created_at", "updated_at", NULL};

static const check_kind_t task_kind = {.sections = task_sections, .ignored = output_only};

int taskjson_normalize(json_t *doc, content_report_t *rep, json_t **out)
{
    task_state_t st;
    memset(&st, 0, sizeof st);
    if (check_document(doc, &task_kind, &st, rep, out) < 0)
        return -1;
    if (json_array_size(json_object_get(*out, "reference_solutions")) == 0)
        content_report_warn(rep, "$.reference_solutions",
                            "no reference solution: nothing proves the tests right");
    return 0;
}

int taskjson_parse(const char *text, size_t len, content_report_t *rep, json_t **out)
{
    cleanup_json json_t *doc = NULL;
    *out = NULL;
    if (check_parse(text, len, CONTENT_MAX_TASK_BYTES, rep, &doc) < 0)
        return -1;
    return taskjson_normalize(doc, rep, out);
}
