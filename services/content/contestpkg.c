/* contestpkg.c — CLICS contest packages (the Contest Package Format of the
 * CCS specifications, 2026-01) read into a contest document and written
 * from one. docs/packages.md is the reader's guide to what maps to what.
 *
 * A package is a directory (here a .zip, checked as problem packages are:
 * package.c's pkg_zip_*) of the Contest API's objects on disk:
 * contest.yaml or contest.json, problems.yaml or problems.json,
 * groups.json, organizations.json, teams.json. Dojo writes dojo.json beside
 * them, the contest file itself, so that what CLICS cannot say
 * (registration, medals, practice after the end ...) reads back the same;
 * what the CLICS files say, which people edit, wins over it. A problem's id is the
 * task's slug. Accounts and persons are not imported: Dojo accounts are made
 * by signing up, and the jury adds them to teams. Pure functions of bytes;
 * contestjson_normalize has the last word on the document made. */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/cleanup.h"
#include "libcommon/mem.h"
#include "model.h"

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/* CLICS RELTIME "(-)h:mm:ss(.uuu)" in whole seconds: 0, or -1 when it is
 * not one or is negative. A fraction is dropped (*fraction says so). */
static int reltime_secs(const char *s, int64_t *out, bool *fraction)
{
    char buf[40];
    if (s == NULL || strlen(s) >= sizeof buf)
        return -1;
    snprintf(buf, sizeof buf, "%s", s);
    char *dot = strchr(buf, '.');
    *fraction = false;
    if (dot) {
        size_t n = strlen(dot + 1);
        if (n == 0 || n > 3)
            return -1;
        for (size_t i = 1; i <= n; i++)
            if (!isdigit((unsigned char)dot[i]))
                return -1;
        *fraction = strspn(dot + 1, "0") != n;
        *dot = '\0';
    }
    return contest_parse_reltime(buf, out);
}

/* Where a problem is in reports: a list's item and member
 * ("problems.yaml[2].id"), or the file alone for a map's member (the
 * message names the member). */
static void at(char *out, size_t cap, const char *file, long index, const char *key)
{
    if (index >= 0)
        snprintf(out, cap, "%s[%ld]%s%s", file, index, key ? "." : "", key ? key : "");
    else
        snprintf(out, cap, "%s", file);
}

/* Copies a string member `from` of `src` to `to` of `dst`, when present
 * (a YAML number such as `id: 45` as its text); anything else is
 * reported. */
static void copy_text(content_report_t *rep, const char *file, long index, json_t *src,
                      const char *from, json_t *dst, const char *to)
{
    json_t *v = json_object_get(src, from);
    if (v == NULL || json_is_null(v))
        return;
    if (json_is_integer(v)) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        json_object_set_new(dst, to, json_string(num));
        return;
    }
    if (!json_is_string(v)) {
        char path[CHECK_PATH_MAX];
        at(path, sizeof path, file, index, from);
        content_report_error(rep, path, "%s%smust be a string", index < 0 ? from : "",
                             index < 0 ? ": " : "");
        return;
    }
    json_object_set(dst, to, v);
}

/* "…+01" (the spec's example) to "…+01:00", which RFC 3339 asks for. */
static json_t *start_time(const char *s)
{
    size_t n = strlen(s);
    if (n > 3 && (s[n - 3] == '+' || s[n - 3] == '-') && isdigit((unsigned char)s[n - 2]) &&
        isdigit((unsigned char)s[n - 1]) && strchr(s, 'T') && strchr(s, 'T') < s + n - 3) {
        cleanup_free char *full = xasprintf("%s:00", s);
        return json_string(full);
    }
    return json_string(s);
}

/* A relative time member of the contest object in whole seconds: -1 when
 * absent, -2 when malformed (reported). */
static int64_t contest_reltime(content_report_t *rep, const char *file, json_t *c, const char *key)
{
    json_t *v = json_object_get(c, key);
    if (v == NULL || json_is_null(v))
        return -1;
    int64_t secs = 0;
    bool fraction = false;
    char path[CHECK_PATH_MAX];
    at(path, sizeof path, file, -1, key);
    if (!json_is_string(v) || reltime_secs(json_string_value(v), &secs, &fraction) < 0) {
        content_report_error(rep, path, "%s: must be a relative time h:mm:ss such as \"5:00:00\"",
                             key);
        return -2;
    }
    if (fraction)
        content_report_warn(rep, path, "%s: the fraction of a second is dropped", key);
    return secs;
}

static void read_contest(content_report_t *rep, const char *file, json_t *c, const char *slug,
                         json_t *doc)
{
    if (!json_is_object(c)) {
        content_report_error(rep, file, "must be a map of the contest's properties");
        return;
    }
    const char *id = json_string_value(json_object_get(c, "id"));
    if (id && strcmp(id, slug) != 0)
        content_report_warn(rep, file, "the contest id \"%.40s\" is imported as \"%s\"", id, slug);
    json_object_set_new(doc, "slug", json_string(slug));
    copy_text(rep, file, -1, c, "name", doc, "title");
    copy_text(rep, file, -1, c, "formal_name", doc, "formal_name");
    json_t *st = json_object_get(c, "start_time");
    if (json_is_string(st))
        json_object_set_new(doc, "start", start_time(json_string_value(st)));
    else if (st)
        content_report_error(rep, file, "start_time: a contest needs a start time");
    int64_t d = contest_reltime(rep, file, c, "duration");
    if (d >= 0) {
        char buf[32];
        contest_format_reltime(d, buf, sizeof buf);
        json_object_set_new(doc, "duration", json_string(buf));
    }
    int64_t f = contest_reltime(rep, file, c, "scoreboard_freeze_duration");
    if (f >= 0) {
        if (f % 60)
            content_report_warn(rep, file,
                                "scoreboard_freeze_duration: rounded down to whole minutes");
        json_object_set_new(doc, "freeze_minutes", json_integer(f / 60));
    }
    json_t *type = json_object_get(c, "scoreboard_type");
    if (type) {
        const char *t = json_string_value(type);
        if (t && !strcmp(t, "pass-fail"))
            json_object_set_new(doc, "scoring", json_string("icpc"));
        else if (t && !strcmp(t, "score"))
            json_object_set_new(doc, "scoring", json_string("ioi"));
        else
            content_report_error(rep, file, "scoreboard_type: must be \"pass-fail\" or \"score\"");
    }
    /* Minutes as a number (the package's YAML example) or a RELTIME (the
     * API's contest object). */
    json_t *pen = json_object_get(c, "penalty_time");
    if (json_is_integer(pen)) {
        json_object_set(doc, "penalty_minutes", pen);
    } else if (pen && !json_is_null(pen)) {
        int64_t p = contest_reltime(rep, file, c, "penalty_time");
        if (p >= 0)
            json_object_set_new(doc, "penalty_minutes", json_integer(p / 60));
    }
}

static int cmp_ordinal(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "ordinal"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "ordinal"));
    return x < y ? -1 : x > y;
}

/* An ICPC problem's points (which its files do not say) from dojo.json's
 * problem of the same task. */
static void keep_points(json_t *q, json_t *saved)
{
    const char *task = json_string_value(json_object_get(q, "task_slug"));
    size_t i;
    json_t *p;
    json_array_foreach(saved, i, p)
    {
        const char *t = json_string_value(json_object_get(p, "task_slug"));
        if (task && t && !strcmp(t, task) && json_object_get(p, "points"))
            json_object_set(q, "points", json_object_get(p, "points"));
    }
}

static void read_problems(content_report_t *rep, const char *file, json_t *arr, json_t *doc)
{
    if (!json_is_array(arr)) {
        content_report_error(rep, file, "must be a list of problems");
        return;
    }
    /* In ordinal order when every problem has one, else as listed. */
    size_t n = json_array_size(arr), i;
    json_t **items = xcalloc(n + 1, sizeof *items), *p;
    bool ordinals = n > 0;
    json_array_foreach(arr, i, p)
    {
        items[i] = p;
        ordinals = ordinals && json_is_integer(json_object_get(p, "ordinal"));
    }
    if (ordinals)
        qsort(items, n, sizeof *items, cmp_ordinal);
    json_t *out = json_array();
    for (i = 0; i < n; i++) {
        p = items[i];
        if (!json_is_object(p)) {
            char path[CHECK_PATH_MAX];
            at(path, sizeof path, file, (long)i, NULL);
            content_report_error(rep, path, "must be a map of the problem's properties");
            continue;
        }
        json_t *q = json_object();
        copy_text(rep, file, (long)i, p, "label", q, "label");
        copy_text(rep, file, (long)i, p, "id", q, "task_slug");
        copy_text(rep, file, (long)i, p, "rgb", q, "rgb");
        copy_text(rep, file, (long)i, p, "color", q, "color");
        json_t *ms = json_object_get(p, "max_score");
        if (json_is_number(ms))
            json_object_set_new(q, "points",
                                json_integer((json_int_t)llround(json_number_value(ms))));
        else
            keep_points(q, json_object_get(doc, "problems"));
        json_array_append_new(out, q);
    }
    free(items);
    json_object_set_new(doc, "problems", out);
}

/* organizations.json or groups.json: their members as the contest file
 * names them (the same names). */
static void read_list(content_report_t *rep, const char *file, json_t *arr, const char *const *keys,
                      json_t *doc, const char *member)
{
    if (!json_is_array(arr)) {
        content_report_error(rep, file, "must be a list");
        return;
    }
    json_t *out = json_array(), *o;
    size_t i;
    json_array_foreach(arr, i, o)
    {
        json_t *x = json_object();
        for (size_t k = 0; keys[k]; k++)
            copy_text(rep, file, (long)i, o, keys[k], x, keys[k]);
        json_array_append_new(out, x);
    }
    json_object_set_new(doc, member, out);
}

static json_t *read_teams(content_report_t *rep, const char *file, json_t *arr)
{
    json_t *out = json_array(), *t;
    if (!json_is_array(arr)) {
        content_report_error(rep, file, "must be a list of teams");
        return out;
    }
    size_t i;
    json_array_foreach(arr, i, t)
    {
        char path[CHECK_PATH_MAX];
        at(path, sizeof path, file, (long)i, "name");
        const char *name = json_string_value(json_object_get(t, "name"));
        if (name == NULL || !*name || strlen(name) > 64) {
            content_report_error(rep, path, "a team needs a name of 1-64 characters");
            continue;
        }
        json_t *x = json_pack("{s:s}", "name", name);
        json_object_set_new(x, "id", json_string(""));
        copy_text(rep, file, (long)i, t, "id", x, "id");
        copy_text(rep, file, (long)i, t, "organization_id", x, "organization_id");
        json_t *groups = json_object_get(t, "group_ids");
        json_object_set(x, "group_ids", json_is_array(groups) ? groups : json_array());
        json_object_set_new(x, "hidden", json_boolean(json_is_true(json_object_get(t, "hidden"))));
        json_array_append_new(out, x);
    }
    return out;
}

/* The first of `names` the package has, parsed; NULL when none is there or
 * it is unreadable (*bad, reported). `*which` names the file. */
static json_t *first_doc(pkg_t *p, const char *const *names, const char **which, bool *bad)
{
    *bad = false;
    for (size_t i = 0; names[i]; i++) {
        json_t *j = pkg_zip_doc(p, names[i], bad);
        if (j || *bad) {
            *which = names[i];
            return j;
        }
    }
    *which = names[0];
    return NULL;
}

int contestpkg_read(const void *zip, size_t len, const char *slug, content_report_t *rep,
                    json_t **doc_out, json_t **teams_out)
{
    *doc_out = NULL;
    *teams_out = NULL;
    pkg_t *p = NULL;
    if (pkg_zip_open(zip, len, rep, &p) < 0)
        return -1;
    json_t *doc = json_object();
    bool bad = false;
    const char *file = NULL;
    /* dojo.json first (an open-ended contest's null duration, medals ...);
     * what the CLICS files say replaces it. */
    cleanup_json json_t *side = pkg_zip_doc(p, "dojo.json", &bad);
    json_t *saved = json_object_get(side, "contest");
    if (json_is_object(saved))
        json_object_update(doc, saved);

    static const char *const contest_files[] = {"contest.yaml", "contest.json", NULL};
    cleanup_json json_t *c = first_doc(p, contest_files, &file, &bad);
    if (c)
        read_contest(rep, file, c, slug, doc);
    else if (!bad)
        content_report_error(rep, "contest.yaml",
                             "the package has no contest.yaml or contest.json");

    static const char *const problem_files[] = {"problems.yaml", "problems.json", NULL};
    cleanup_json json_t *probs = first_doc(p, problem_files, &file, &bad);
    if (probs)
        read_problems(rep, file, probs, doc);
    else if (!bad)
        content_report_error(rep, "problems.yaml",
                             "the package has no problems.yaml or problems.json");

    static const char *const org_keys[] = {"id", "name", "formal_name", "country", "url", NULL};
    static const char *const group_keys[] = {"id", "name", "type", NULL};
    cleanup_json json_t *orgs = pkg_zip_doc(p, "organizations.json", &bad);
    if (orgs)
        read_list(rep, "organizations.json", orgs, org_keys, doc, "organizations");
    cleanup_json json_t *groups = pkg_zip_doc(p, "groups.json", &bad);
    if (groups)
        read_list(rep, "groups.json", groups, group_keys, doc, "groups");
    cleanup_json json_t *teams = pkg_zip_doc(p, "teams.json", &bad);
    *teams_out = teams ? read_teams(rep, "teams.json", teams) : json_array();

    static const char *const ignored[] = {"accounts.yaml", "accounts.json", "persons.json", NULL};
    for (size_t i = 0; ignored[i]; i++) {
        cleanup_json json_t *x = pkg_zip_doc(p, ignored[i], &bad);
        if (x || bad)
            content_report_warn(rep, ignored[i],
                                "not imported: Dojo accounts are made by signing up, and the "
                                "jury adds them to their teams");
    }
    pkg_zip_close(p);
    if (rep->n_errors) {
        json_decref(doc);
        json_decref(*teams_out);
        *teams_out = NULL;
        return -1;
    }
    *doc_out = doc;
    return 0;
}

/* ------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

/* "key: <JSON string>\n" (a JSON string is a YAML double-quoted scalar). */
static void yaml_kv(FILE *f, const char *indent, const char *key, const char *value)
{
    cleanup_json json_t *j = json_string(value ? value : "");
    cleanup_free char *q = json_dumps(j, JSON_ENCODE_ANY);
    fprintf(f, "%s%s: %s\n", indent, key, q);
}

static const char *text_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static char *contest_yaml(json_t *norm)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (f == NULL)
        abort();
    bool ioi = !strcmp(text_of(norm, "scoring"), "ioi");
    yaml_kv(f, "", "id", text_of(norm, "slug"));
    yaml_kv(f, "", "name", text_of(norm, "title"));
    if (*text_of(norm, "formal_name"))
        yaml_kv(f, "", "formal_name", text_of(norm, "formal_name"));
    yaml_kv(f, "", "start_time", text_of(norm, "start"));
    if (json_is_string(json_object_get(norm, "duration")))
        yaml_kv(f, "", "duration", text_of(norm, "duration"));
    char freeze[32];
    contest_format_reltime(json_integer_value(json_object_get(norm, "freeze_minutes")) * 60, freeze,
                           sizeof freeze);
    yaml_kv(f, "", "scoreboard_freeze_duration", freeze);
    yaml_kv(f, "", "scoreboard_type", ioi ? "score" : "pass-fail");
    if (!ioi)
        fprintf(f, "penalty_time: %lld\n",
                (long long)json_integer_value(json_object_get(norm, "penalty_minutes")));
    fclose(f);
    return buf;
}

static char *problems_yaml(json_t *norm, json_t *names)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (f == NULL)
        abort();
    bool ioi = !strcmp(text_of(norm, "scoring"), "ioi");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(norm, "problems"), i, p)
    {
        const char *task = text_of(p, "task_slug");
        yaml_kv(f, "- ", "id", task);
        yaml_kv(f, "  ", "label", text_of(p, "label"));
        const char *name = json_string_value(json_object_get(names, task));
        yaml_kv(f, "  ", "name", name ? name : task);
        fprintf(f, "  ordinal: %zu\n", i + 1);
        if (*text_of(p, "rgb"))
            yaml_kv(f, "  ", "rgb", text_of(p, "rgb"));
        if (*text_of(p, "color"))
            yaml_kv(f, "  ", "color", text_of(p, "color"));
        if (ioi) {
            json_int_t pts = json_integer_value(json_object_get(p, "points"));
            fprintf(f, "  max_score: %lld\n", (long long)(pts ? pts : 100));
        }
    }
    if (i == 0)
        fputs("[]\n", f);
    fclose(f);
    return buf;
}

/* A member list of the contest file as its CLICS file (the same names;
 * empty texts, which CLICS would read as values, left out). */
static char *list_json(json_t *norm, const char *member)
{
    cleanup_json json_t *out = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(norm, member), i, o)
    {
        json_t *x = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
            if (!json_is_string(v) || json_string_length(v) > 0)
                json_object_set(x, k, v);
        json_array_append_new(out, x);
    }
    return json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

int contestpkg_write(json_t *norm, json_t *names, json_t *teams, char **zip, size_t *len,
                     const char **why)
{
    pkg_writer_t *w = pkg_writer_new(text_of(norm, "slug"));
    if (w == NULL) {
        *why = "libzip: cannot start an archive";
        return -1;
    }
    cleanup_free char *contest = contest_yaml(norm);
    cleanup_free char *problems = problems_yaml(norm, names);
    cleanup_free char *orgs = list_json(norm, "organizations");
    cleanup_free char *groups = list_json(norm, "groups");
    cleanup_free char *team_text = json_dumps(teams, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    cleanup_json json_t *side =
        json_pack("{s:s,s:i,s:O}", "about",
                  "Dojo's own data of this contest, which the CLICS files cannot hold",
                  "dojo_format", 1, "contest", norm);
    cleanup_free char *side_text = json_dumps(side, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    pkg_writer_add_text(w, "contest.yaml", contest);
    pkg_writer_add_text(w, "problems.yaml", problems);
    pkg_writer_add_text(w, "organizations.json", orgs);
    pkg_writer_add_text(w, "groups.json", groups);
    pkg_writer_add_text(w, "teams.json", team_text);
    pkg_writer_add_text(w, "dojo.json", side_text);
    return pkg_writer_finish(w, zip, len, why);
}
