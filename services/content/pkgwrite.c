/* pkgwrite.c — a task written as a problem package (2023-07-draft layout):
 * <slug>/problem.yaml, statement/problem.en.md, solution/solution.en.md,
 * data/sample and data/secret (hidden tests of a group in its directory),
 * data/testdata.yaml (the default validator's flags and the input validators';
 * a directory's own for its tests' validator_flags), the input validators
 * where they came from (input_validators/<name>/ …), submissions/<verdict>/
 * and dojo.json, which holds what the format cannot say (difficulty,
 * points, hints, languages, the exact limits and checker, test names,
 * order, groups and weights, solution names), so package.c reads the
 * package back to the same task. Other systems ignore dojo.json. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "libcommon/cleanup.h"
#include "libcommon/javasrc.h"
#include "libcommon/mem.h"
#include "model.h"

struct pkg_writer {
    zip_t *za;
    zip_source_t *src; /* the archive in memory; NULL when it goes to a file */
    char slug[80];
    const char *why;
    json_t *names; /* package paths used, for unique file names */
    /* Blob test data (pkg_write_task): each blob's bytes once in `scratch`,
     * read from there while zip_close writes the archive. */
    int scratch;
    int64_t scratch_end;
    json_t *blob_at; /* sha256 -> [offset, size] in scratch */
    pkg_blob_copy_fn copy;
    void *copy_payload;
    err_t **err;
};
typedef pkg_writer_t writer_t;

/* A fixed time: the same task exports to the same bytes. */
#define PKG_MTIME 1577836800

static void add_source(writer_t *w, const char *path, zip_source_t *s)
{
    char full[PKG_MAX_PATH * 2];
    snprintf(full, sizeof full, "%s/%s", w->slug, path);
    zip_int64_t idx = zip_file_add(w->za, full, s, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (idx < 0) {
        zip_source_free(s);
        w->why = "libzip: cannot add a file";
        return;
    }
    zip_file_set_mtime(w->za, (zip_uint64_t)idx, PKG_MTIME, 0);
}

/* Adds `path` (below the package directory) with a copy of `data`. */
static void add(writer_t *w, const char *path, const char *data, size_t len)
{
    if (w->why)
        return;
    char *copy = xcalloc(1, len + 1);
    memcpy(copy, data, len);
    zip_source_t *s = zip_source_buffer(w->za, copy, len, 1);
    if (s == NULL) {
        free(copy);
        w->why = "libzip: cannot make a file";
        return;
    }
    add_source(w, path, s);
}

static void add_text(writer_t *w, const char *path, const char *text)
{
    add(w, path, text, strlen(text));
}

/* ------------------------------------------------------------------------
 * Blob test data: a region of the scratch file as a libzip source
 *
 * libzip reads a source only in zip_close, one entry after another, so a
 * blob's bytes sit in the scratch file (written once per blob, however many
 * tests name it) and each entry reads its region with pread: the archive is
 * written with one read buffer in memory, whatever the blobs' size. The
 * source states what a buffer source does (size, mtime, stored data), so a
 * file makes the same entry whether it came inline or from a blob.
 * ------------------------------------------------------------------------ */

typedef struct region {
    int fd;
    int64_t off, len, pos;
    zip_error_t error;
} region_t;

static zip_int64_t region_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    region_t *r = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        r->pos = 0;
        return 0;
    case ZIP_SOURCE_READ: {
        zip_uint64_t left = (zip_uint64_t)(r->len - r->pos);
        size_t n = (size_t)(len < left ? len : left);
        size_t k = 0;
        while (k < n) {
            ssize_t got =
                pread(r->fd, (char *)data + k, n - k, (off_t)(r->off + r->pos + (int64_t)k));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                zip_error_set(&r->error, ZIP_ER_READ, got < 0 ? errno : EIO);
                return -1;
            }
            k += (size_t)got;
        }
        r->pos += (int64_t)n;
        return (zip_int64_t)n;
    }
    case ZIP_SOURCE_CLOSE:
        return 0;
    case ZIP_SOURCE_SEEK: {
        zip_int64_t at = zip_source_seek_compute_offset((zip_uint64_t)r->pos, (zip_uint64_t)r->len,
                                                        data, len, &r->error);
        if (at < 0)
            return -1;
        r->pos = at;
        return 0;
    }
    case ZIP_SOURCE_TELL:
        return r->pos;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &r->error);
        if (st == NULL)
            return -1;
        zip_stat_init(st);
        st->size = st->comp_size = (zip_uint64_t)r->len;
        st->mtime = PKG_MTIME;
        st->comp_method = ZIP_CM_STORE;
        st->encryption_method = ZIP_EM_NONE;
        st->valid = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_MTIME | ZIP_STAT_COMP_METHOD |
                    ZIP_STAT_ENCRYPTION_METHOD;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&r->error, data, len);
    case ZIP_SOURCE_FREE:
        zip_error_fini(&r->error);
        free(r);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_STAT,
                                              ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
        zip_error_set(&r->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* Adds `path` with the data of blob `sha256`, copied into the scratch file
 * the first time a test names it. */
static void add_blob(writer_t *w, const char *path, const char *sha256)
{
    if (w->why)
        return;
    if (w->copy == NULL || w->scratch < 0) {
        w->why = "a test's data is a blob and the export reads no blobs";
        return;
    }
    json_t *at = json_object_get(w->blob_at, sha256);
    if (at == NULL) {
        if (lseek(w->scratch, (off_t)w->scratch_end, SEEK_SET) < 0) {
            w->why = "cannot write the blobs' scratch file";
            return;
        }
        int64_t size = 0;
        if (w->copy(w->copy_payload, sha256, w->scratch, &size, w->err) < 0) {
            w->why = "cannot read a test's blob";
            return;
        }
        at = json_pack("[I,I]", (json_int_t)w->scratch_end, (json_int_t)size);
        json_object_set_new(w->blob_at, sha256, at);
        w->scratch_end += size;
    }
    region_t *r = xcalloc(1, sizeof *r);
    r->fd = w->scratch;
    r->off = json_integer_value(json_array_get(at, 0));
    r->len = json_integer_value(json_array_get(at, 1));
    zip_error_init(&r->error);
    zip_source_t *s = zip_source_function(w->za, region_cb, r);
    if (s == NULL) {
        zip_error_fini(&r->error);
        free(r);
        w->why = "libzip: cannot make a file";
        return;
    }
    add_source(w, path, s);
}

/* A test's input or expected output: inline text, or its blob. */
static void add_data(writer_t *w, const char *path, json_t *t, const char *text_key,
                     const char *blob_key)
{
    const char *sha = json_string_value(json_object_get(t, blob_key));
    if (sha && *sha)
        add_blob(w, path, sha);
    else
        add_text(w, path, json_string_value(json_object_get(t, text_key)));
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
    if (n < 2) {
        /* Not snprintf from `out` into itself: the copies would overlap. */
        char one[2] = {n ? out[0] : 'x', '\0'};
        snprintf(out, cap, "t-%s", one);
    }
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

/* The words of a flags list on one line ("" for none). New. */
static char *flags_line(json_t *list)
{
    char buf[4096] = "";
    size_t n = 0, i;
    json_t *f;
    json_array_foreach(list, i, f) if (n < sizeof buf - 1)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", json_string_value(f));
    return xstrdup(buf);
}

/* Each test directory whose tests all have their own validator flags, the
 * same ones, gets them in its testdata.yaml (`dirs`: directory -> the
 * flags, or null once two of its tests disagree). */
static void write_group_flags(writer_t *w, json_t *dirs)
{
    const char *dir;
    json_t *flags;
    json_object_foreach(dirs, dir, flags)
    {
        if (json_is_null(flags))
            continue;
        cleanup_free char *line = flags_line(flags);
        cleanup_free char *q = yaml_string(line);
        cleanup_free char *td = xasprintf("output_validator_flags: %s\n", q);
        char path[PKG_MAX_PATH + 20];
        snprintf(path, sizeof path, "%s/testdata.yaml", dir);
        add_text(w, path, td);
    }
}

/* The name a validator goes by in input_validator_flags' map: its path's
 * last part, without a source's extension (as package.c looks it up). */
static void validator_stem(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    snprintf(out, cap, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && pkg_language_of(out))
        *dot = '\0';
}

/* data/testdata.yaml's input_validator_flags: one line for every validator
 * when they all have the same flags, else a map by name (a name twice
 * keeps its first; dojo.json says the rest). "" when none has flags. New. */
static char *input_flags_yaml(json_t *ivs)
{
    size_t i, with = 0;
    json_t *v, *first = NULL;
    bool same = true;
    json_array_foreach(ivs, i, v)
    {
        json_t *f = json_object_get(v, "flags");
        if (f == NULL) {
            same = false;
            continue;
        }
        with++;
        same = same && (first == NULL || json_equal(first, f));
        first = first ? first : f;
    }
    if (with == 0)
        return xstrdup("");
    if (same) {
        cleanup_free char *line = flags_line(first);
        cleanup_free char *q = yaml_string(line);
        return xasprintf("input_validator_flags: %s\n", q);
    }
    char *out = xstrdup("input_validator_flags:\n");
    cleanup_json json_t *seen = json_object();
    json_array_foreach(ivs, i, v)
    {
        json_t *f = json_object_get(v, "flags");
        char stem[PKG_MAX_PATH];
        validator_stem(json_string_value(json_object_get(v, "path")), stem, sizeof stem);
        if (f == NULL || json_object_get(seen, stem))
            continue;
        json_object_set_new(seen, stem, json_true());
        cleanup_free char *line = flags_line(f);
        cleanup_free char *k = yaml_string(stem), *q = yaml_string(line);
        char *more = xasprintf("%s  %s: %s\n", out, k, q);
        free(out);
        out = more;
    }
    return out;
}

/* The input validators at the paths they came from: a directory of files,
 * or a single source named like its path; dojo.json lists each one's
 * files in order and flags. */
static void write_input_validators(writer_t *w, json_t *ivs, json_t *side)
{
    json_t *listed = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ivs, i, v)
    {
        const char *path = json_string_value(json_object_get(v, "path"));
        const char *slash = strrchr(path, '/');
        json_t *files = json_object_get(v, "files");
        json_t *names = json_array();
        const char *one = json_string_value(json_object_get(json_array_get(files, 0), "name"));
        bool single = json_array_size(files) == 1 && slash && one && !strcmp(slash + 1, one);
        size_t k;
        json_t *f;
        json_array_foreach(files, k, f)
        {
            const char *name = json_string_value(json_object_get(f, "name"));
            char file[PKG_MAX_PATH * 2];
            if (single)
                snprintf(file, sizeof file, "%s", path);
            else
                snprintf(file, sizeof file, "%s/%s", path, name);
            add_text(w, file, json_string_value(json_object_get(f, "content")));
            json_array_append_new(names, json_string(name));
        }
        json_t *e = json_pack("{s:s, s:o}", "path", path, "files", names);
        if (json_object_get(v, "flags"))
            json_object_set(e, "flags", json_object_get(v, "flags"));
        json_array_append_new(listed, e);
    }
    if (json_array_size(listed) > 0)
        json_object_set_new(side, "input_validators", listed);
    else
        json_decref(listed);
}

static void write_tests(writer_t *w, json_t *norm, json_t *side_tests, bool *scoring)
{
    size_t i;
    json_t *t;
    cleanup_json json_t *dirs = json_object();
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
        add_data(w, in, t, "input", "input_sha256");
        add_data(w, ans, t, "expected", "expected_sha256");
        json_t *e = json_pack("{s:s, s:O}", "file", path, "name", json_object_get(t, "name"));
        if (group)
            json_object_set_new(e, "group", json_string(group));
        if (weight != 1) {
            json_object_set_new(e, "weight", json_integer(weight));
            *scoring = true;
        }
        json_t *flags = json_object_get(t, "validator_flags");
        if (flags)
            json_object_set(e, "validator_flags", flags);
        json_t *seen = json_object_get(dirs, dir);
        if (seen == NULL)
            json_object_set(dirs, dir, flags ? flags : json_null());
        else if (!flags || !json_equal(seen, flags))
            json_object_set_new(dirs, dir, json_null());
        json_array_append_new(side_tests, e);
    }
    write_group_flags(w, dirs);
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

/* A writer into memory (path NULL) or into the file `path`. */
static pkg_writer_t *writer_open(const char *top, const char *path)
{
    pkg_writer_t *w = xcalloc(1, sizeof *w);
    w->names = json_object();
    w->scratch = -1;
    snprintf(w->slug, sizeof w->slug, "%s", top);
    if (path) {
        int zerr = 0;
        w->za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    } else {
        zip_error_t ze;
        zip_error_init(&ze);
        w->src = zip_source_buffer_create(NULL, 0, 0, &ze);
        if (w->src)
            w->za = zip_open_from_source(w->src, ZIP_TRUNCATE, &ze);
        zip_error_fini(&ze);
    }
    if (w->za == NULL) {
        if (w->src)
            zip_source_free(w->src);
        json_decref(w->names);
        free(w);
        return NULL;
    }
    if (w->src)
        zip_source_keep(w->src);
    return w;
}

pkg_writer_t *pkg_writer_new(const char *top) { return writer_open(top, NULL); }

void pkg_writer_add_text(pkg_writer_t *w, const char *path, const char *text)
{
    add_text(w, path, text);
}

/* The archive's bytes (in memory; `zip` NULL for a file); the writer is
 * gone either way. */
static int finish(writer_t *w, char **zip, size_t *len)
{
    zip_source_t *src = w->src;
    json_decref(w->names);
    json_decref(w->blob_at);
    if (w->why) {
        zip_discard(w->za);
        if (src)
            zip_source_free(src);
        return -1;
    }
    if (zip_close(w->za) < 0) {
        zip_discard(w->za);
        if (src)
            zip_source_free(src);
        w->why = "libzip: cannot write the archive";
        return -1;
    }
    if (src == NULL)
        return 0;
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

int pkg_write_task(json_t *norm, const char *path, int scratch, pkg_blob_copy_fn copy,
                   void *payload, const char **why, err_t **err)
{
    pkg_writer_t *w = writer_open(json_string_value(json_object_get(norm, "slug")), path);
    if (w == NULL) {
        *why = "libzip: cannot start an archive";
        return -1;
    }
    w->scratch = scratch;
    w->copy = copy;
    w->copy_payload = payload;
    w->err = err;
    w->blob_at = json_object();
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
    json_t *ivs = json_object_get(norm, "input_validators");
    cleanup_free char *in_flags = input_flags_yaml(ivs);
    if (*flags || *in_flags) {
        cleanup_free char *q = yaml_string(flags);
        cleanup_free char *td =
            xasprintf("%s%s%s%s", *flags ? "output_validator_flags: " : "", *flags ? q : "",
                      *flags ? "\n" : "", in_flags);
        add_text(w, "data/testdata.yaml", td);
    }
    write_input_validators(w, ivs, side);
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
    int rc = finish(w, NULL, NULL);
    if (rc < 0)
        *why = w->why;
    free(w);
    return rc;
}
