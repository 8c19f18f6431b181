/* pkgwrite.c — a task written as a problem package (2023-07-draft layout):
 * <slug>/problem.yaml, statement/problem.en.md, solution/solution.en.md,
 * data/sample and data/secret (hidden tests of a group in its directory),
 * data/testdata.yaml (the default validator's flags), submissions/<verdict>/
 * and dojo.json, which holds what the format cannot say (difficulty,
 * points, hints, languages, the exact limits and checker, test names,
 * order, groups and weights, solution names), so package.c reads the
 * package back to the same task. Other systems ignore dojo.json. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "libcommon/cleanup.h"
#include "libcommon/javasrc.h"
#include "libcommon/mem.h"
#include "model.h"

struct pkg_writer {
    zip_t *za;
    zip_source_t *src;
    char slug[80];
    const char *why;
    json_t *names; /* package paths used, for unique file names */
};
typedef pkg_writer_t writer_t;

/* Adds `path` (below the package directory) with a copy of `data`. */
static void add(writer_t *w, const char *path, const char *data, size_t len)
{
    if (w->why)
        return;
    char full[PKG_MAX_PATH * 2];
    snprintf(full, sizeof full, "%s/%s", w->slug, path);
    char *copy = xcalloc(1, len + 1);
    memcpy(copy, data, len);
    zip_source_t *s = zip_source_buffer(w->za, copy, len, 1);
    if (s == NULL) {
        free(copy);
        w->why = "libzip: cannot make a file";
        return;
    }
    zip_int64_t idx = zip_file_add(w->za, full, s, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (idx < 0) {
        zip_source_free(s);
        w->why = "libzip: cannot add a file";
        return;
    }
    /* A fixed time: the same task exports to the same bytes. */
    zip_file_set_mtime(w->za, (zip_uint64_t)idx, 1577836800, 0);
}

static void add_text(writer_t *w, const char *path, const char *text)
{
    add(w, path, text, strlen(text));
}

/* A package file name from a Dojo name: [A-Za-z0-9_.-], starting and ending
 * with a letter or digit; "x" when nothing is left. */
static void file_name(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = name; *s && n + 1 < cap && n < 100; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        out[n++] = ok ? c : '_';
    }
    out[n] = '\0';
    size_t start = 0;
    while (out[start] && !((out[start] >= 'a' && out[start] <= 'z') ||
                           (out[start] >= 'A' && out[start] <= 'Z') ||
                           (out[start] >= '0' && out[start] <= '9')))
        start++;
    memmove(out, out + start, strlen(out + start) + 1);
    n = strlen(out);
    while (n > 0 && !((out[n - 1] >= 'a' && out[n - 1] <= 'z') ||
                      (out[n - 1] >= 'A' && out[n - 1] <= 'Z') ||
                      (out[n - 1] >= '0' && out[n - 1] <= '9')))
        out[--n] = '\0';
    if (n < 2)
        snprintf(out, cap, "t-%s", n ? out : "x");
}

/* `dir`/`base``ext` made unique among the paths used: base, base-2, … */
static void unique_path(writer_t *w, const char *dir, const char *base, const char *ext,
                        char *out, size_t cap)
{
    for (int k = 1; k < 10000; k++) {
        if (k == 1)
            snprintf(out, cap, "%s/%s%s", dir, base, ext);
        else
            snprintf(out, cap, "%s/%s-%d%s", dir, base, k, ext);
        if (!json_object_get(w->names, out)) {
            json_object_set_new(w->names, out, json_true());
            return;
        }
    }
}

/* A YAML double-quoted scalar (a JSON string is one). New. */
static char *yaml_string(const char *s)
{
    cleanup_json json_t *j = json_string(s ? s : "");
    return json_dumps(j ? j : json_string(""), JSON_ENCODE_ANY | JSON_COMPACT);
}

static const char *ext_of(const char *lang)
{
    static const struct {
        const char *lang, *ext;
    } exts[] = {{"python3", "py"}, {"pypy3", "py"}, {"c", "c"},        {"cpp", "cpp"},
                {"java", "java"},  {"kotlin", "kt"}, {"javascript", "js"}, {"go", "go"},
                {"rust", "rs"},    {NULL, NULL}};
    for (size_t i = 0; exts[i].lang; i++)
        if (!strcmp(exts[i].lang, lang))
            return exts[i].ext;
    return "txt";
}

static void write_problem_yaml(writer_t *w, json_t *norm, bool scoring)
{
    bool interactive =
        json_is_true(json_object_get(json_object_get(norm, "checker"), "interactive"));
    json_t *limits = json_object_get(norm, "limits");
    cleanup_free char *name = yaml_string(json_string_value(json_object_get(norm, "title")));
    char uuid[40];
    char hash[65];
    cleanup_json json_t *slug_doc = json_pack("{s:O}", "slug", json_object_get(norm, "slug"));
    check_hash(slug_doc, hash);
    snprintf(uuid, sizeof uuid, "%.8s-%.4s-4%.3s-8%.3s-%.12s", hash, hash + 8, hash + 12,
             hash + 15, hash + 18);
    cleanup_free char *kw = json_dumps(json_object_get(norm, "tags"), JSON_COMPACT);
    double cpu = (double)json_integer_value(json_object_get(limits, "cpu_ms")) / 1000.0;
    json_int_t mem = json_integer_value(json_object_get(limits, "memory_kib"));
    json_int_t out = json_integer_value(json_object_get(limits, "output_kib"));
    cleanup_free char *langs = NULL;
    if (json_is_true(json_object_get(norm, "restrict_languages"))) {
        json_t *ids = json_array();
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(norm, "languages"), i, l)
            json_array_append(ids, json_object_get(l, "language"));
        char *t = json_dumps(ids, JSON_COMPACT);
        langs = xasprintf("languages: %s\n", t);
        free(t);
        json_decref(ids);
    }
    cleanup_free char *text = xasprintf(
        "problem_format_version: 2023-07-draft\n"
        "name: %s\n"
        "uuid: %s\n"
        "type: %s%s%s\n"
        "keywords: %s\n"
        "%s"
        "limits:\n"
        "  time_limit: %g\n"
        "  memory: %lld\n"
        "  output: %lld\n",
        name, uuid, interactive ? "[" : "", scoring ? "scoring" : "pass-fail",
        interactive ? ", interactive]" : "", kw ? kw : "[]", langs ? langs : "", cpu,
        (long long)((mem + 1023) / 1024), (long long)(out > 0 ? (out + 1023) / 1024 : 1));
    add_text(w, "problem.yaml", text);
}

/* The default validator's flags closest to a checker ("" when none
 * apply); dojo.json keeps the checker itself. New. */
static char *validator_flags(json_t *checker)
{
    const char *kind = json_string_value(json_object_get(checker, "kind"));
    if (kind && !strcmp(kind, "package_validator")) {
        /* The package validator's own flags, as they are. */
        char buf[4096] = "";
        size_t n = 0, i;
        json_t *f;
        json_array_foreach(json_object_get(checker, "flags"), i, f) if (n < sizeof buf - 1)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "",
                                  json_string_value(f));
        return xstrdup(buf);
    }
    double a = json_number_value(json_object_get(checker, "abs_tol"));
    double r = json_number_value(json_object_get(checker, "rel_tol"));
    bool dv = kind && !strcmp(kind, "default_validator");
    bool fl = kind && !strcmp(kind, "float");
    bool tokens = kind && !strcmp(kind, "tokens");
    char buf[256] = "";
    size_t n = 0;
    if (!dv || json_is_true(json_object_get(checker, "case_sensitive")))
        n += (size_t)snprintf(buf + n, sizeof buf - n, "case_sensitive ");
    if ((dv && json_is_true(json_object_get(checker, "space_change_sensitive"))) ||
        (!dv && !fl && !tokens))
        n += (size_t)snprintf(buf + n, sizeof buf - n, "space_change_sensitive ");
    if ((dv || fl) && a > 0)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "float_absolute_tolerance %.15g ", a);
    if ((dv || fl) && r > 0)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "float_relative_tolerance %.15g ", r);
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return xstrdup(buf);
}

static void write_tests(writer_t *w, json_t *norm, json_t *side_tests, bool *scoring)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    {
        bool hidden = json_is_true(json_object_get(t, "hidden"));
        const char *group = json_string_value(json_object_get(t, "group"));
        json_int_t weight = json_integer_value(json_object_get(t, "weight"));
        char dir[PKG_MAX_PATH], base[128], path[PKG_MAX_PATH * 2];
        snprintf(dir, sizeof dir, "data/%s%s%s", hidden ? "secret" : "sample",
                 hidden && group ? "/" : "", hidden && group ? group : "");
        file_name(json_string_value(json_object_get(t, "name")), base, sizeof base);
        unique_path(w, dir, base, "", path, sizeof path);
        char in[PKG_MAX_PATH * 2 + 8], ans[PKG_MAX_PATH * 2 + 8];
        snprintf(in, sizeof in, "%s.in", path);
        snprintf(ans, sizeof ans, "%s.ans", path);
        add_text(w, in, json_string_value(json_object_get(t, "input")));
        add_text(w, ans, json_string_value(json_object_get(t, "expected")));
        json_t *e = json_pack("{s:s, s:O}", "file", path, "name", json_object_get(t, "name"));
        if (group)
            json_object_set_new(e, "group", json_string(group));
        if (weight != 1) {
            json_object_set_new(e, "weight", json_integer(weight));
            *scoring = true;
        }
        json_array_append_new(side_tests, e);
    }
}

static void write_solutions(writer_t *w, json_t *norm, json_t *side_sols)
{
    static const struct {
        const char *verdict, *dir;
    } dirs[] = {{"wa", "wrong_answer"},          {"tle", "time_limit_exceeded"},
                {"re", "run_time_error"},        {"mle", "memory_limit_exceeded"},
                {"ole", "output_limit_exceeded"}, {"ce", "compile_error"},
                {NULL, NULL}};
    static const char *const lists[] = {"reference_solutions", "wrong_solutions"};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(norm, lists[l]), i, s)
        {
            const char *lang = json_string_value(json_object_get(s, "language"));
            const char *ev = json_string_value(json_object_get(s, "expected_verdict"));
            const char *dir = l == 0 ? "accepted" : "rejected";
            for (size_t k = 0; l == 1 && ev && dirs[k].verdict; k++)
                if (!strcmp(dirs[k].verdict, ev))
                    dir = dirs[k].dir;
            const char *name = json_string_value(json_object_get(s, "name"));
            const char *slash = strrchr(name, '/');
            char base[128], ext[16], sub[64], path[PKG_MAX_PATH * 2];
            file_name(slash ? slash + 1 : name, base, sizeof base);
            snprintf(ext, sizeof ext, ".%s", ext_of(lang));
            size_t bl = strlen(base), el = strlen(ext);
            if (bl > el && !strcmp(base + bl - el, ext))
                base[bl - el] = '\0';
            /* javac wants a public class in a file of its name. */
            const char *code = json_string_value(json_object_get(s, "code"));
            java_names_t jn;
            if (!strcmp(lang, "java") && code) {
                java_names_read(code, strlen(code), &jn);
                if (jn.public_type[0])
                    snprintf(base, sizeof base, "%s", jn.public_type);
            }
            snprintf(sub, sizeof sub, "submissions/%s", dir);
            unique_path(w, sub, base, ext, path, sizeof path);
            add_text(w, path, code);
            json_array_append_new(side_sols, json_pack("{s:s, s:s, s:s}", "file", path, "name",
                                                       name, "language", lang));
        }
    }
}

pkg_writer_t *pkg_writer_new(const char *top)
{
    pkg_writer_t *w = xcalloc(1, sizeof *w);
    w->names = json_object();
    snprintf(w->slug, sizeof w->slug, "%s", top);
    zip_error_t ze;
    zip_error_init(&ze);
    w->src = zip_source_buffer_create(NULL, 0, 0, &ze);
    if (w->src)
        w->za = zip_open_from_source(w->src, ZIP_TRUNCATE, &ze);
    zip_error_fini(&ze);
    if (w->za == NULL) {
        if (w->src)
            zip_source_free(w->src);
        json_decref(w->names);
        free(w);
        return NULL;
    }
    zip_source_keep(w->src);
    return w;
}

void pkg_writer_add_text(pkg_writer_t *w, const char *path, const char *text)
{
    add_text(w, path, text);
}

/* The archive's bytes; the writer is gone either way. */
static int finish(writer_t *w, char **zip, size_t *len)
{
    zip_source_t *src = w->src;
    json_decref(w->names);
    if (w->why) {
        zip_discard(w->za);
        zip_source_free(src);
        return -1;
    }
    if (zip_close(w->za) < 0) {
        zip_discard(w->za);
        zip_source_free(src);
        w->why = "libzip: cannot write the archive";
        return -1;
    }
    zip_int64_t size = -1;
    if (zip_source_open(src) == 0) {
        if (zip_source_seek(src, 0, SEEK_END) == 0)
            size = zip_source_tell(src);
        if (size >= 0 && zip_source_seek(src, 0, SEEK_SET) == 0) {
            *zip = xcalloc(1, (size_t)size + 1);
            if (zip_source_read(src, *zip, (zip_uint64_t)size) != size) {
                free(*zip);
                *zip = NULL;
                size = -1;
            }
        }
        zip_source_close(src);
    }
    zip_source_free(src);
    if (size < 0) {
        w->why = "libzip: cannot read the archive back";
        return -1;
    }
    *len = (size_t)size;
    return 0;
}

int pkg_writer_finish(pkg_writer_t *w, char **zip, size_t *len, const char **why)
{
    *zip = NULL;
    *len = 0;
    int rc = finish(w, zip, len);
    if (rc < 0)
        *why = w->why;
    free(w);
    return rc;
}

int pkg_write_task(json_t *norm, char **zip, size_t *len, const char **why)
{
    *zip = NULL;
    *len = 0;
    pkg_writer_t *w = pkg_writer_new(json_string_value(json_object_get(norm, "slug")));
    if (w == NULL) {
        *why = "libzip: cannot start an archive";
        return -1;
    }
    json_t *side = json_object();
    static const char *const copied[] = {"difficulty", "points", "hints", "languages",
                                         "restrict_languages", "limits", "checker",
                                         "stop_at_first_failure", NULL};
    for (size_t i = 0; copied[i]; i++)
        if (json_object_get(norm, copied[i]))
            json_object_set(side, copied[i], json_object_get(norm, copied[i]));
    json_t *side_tests = json_array(), *side_sols = json_array();
    bool scoring = false;
    write_tests(w, norm, side_tests, &scoring);
    write_problem_yaml(w, norm, scoring);
    add_text(w, "statement/problem.en.md",
             json_string_value(json_object_get(norm, "description")));
    const char *ed = json_string_value(json_object_get(norm, "editorial"));
    if (ed && *ed)
        add_text(w, "solution/solution.en.md", ed);
    cleanup_free char *flags = validator_flags(json_object_get(norm, "checker"));
    if (*flags) {
        cleanup_free char *q = yaml_string(flags);
        cleanup_free char *td = xasprintf("output_validator_flags: %s\n", q);
        add_text(w, "data/testdata.yaml", td);
    }
    json_t *checker = json_object_get(norm, "checker");
    const char *kind = json_string_value(json_object_get(checker, "kind"));
    if (kind && !strcmp(kind, "package_validator")) {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(checker, "files"), i, f)
        {
            char path[PKG_MAX_PATH];
            snprintf(path, sizeof path, "output_validator/%s",
                     json_string_value(json_object_get(f, "name")));
            add_text(w, path, json_string_value(json_object_get(f, "content")));
        }
    }
    write_solutions(w, norm, side_sols);
    json_object_set_new(side, "tests", side_tests);
    json_object_set_new(side, "solutions", side_sols);
    json_t *full = json_pack("{s:s, s:i}", "about",
                             "Dojo's own data of this task, which problem.yaml cannot hold",
                             "dojo_format", 1);
    json_object_update(full, side);
    json_decref(side);
    cleanup_free char *side_text = json_dumps(full, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                                        CHECK_JSON_REAL);
    json_decref(full);
    add_text(w, "dojo.json", side_text);
    return pkg_writer_finish(w, zip, len, why);
}
