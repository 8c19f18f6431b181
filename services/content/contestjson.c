/* contestjson.c — the rules of contest files (content/contests/, one JSON
 * file each), read with the validation kit section by section, and contests
 * <-> messages. Who takes part and how they rank is gamification's; here a
 * contest is only data. content/schema/contest.schema.json documents the
 * same rules. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "model.h"

static const char *const scoring_names[] = {NULL, "icpc", "ioi"};
static const char *const ioi_mode_names[] = {NULL, "best", "last"};
static const char *const registration_names[] = {NULL, "open", "closed", "invite"};

const check_names_t contest_scorings = {scoring_names, 3};
const check_names_t contest_ioi_modes = {ioi_mode_names, 3};
const check_names_t contest_registrations = {registration_names, 4};

#define MAX_DURATION_S (30LL * 86400)

/* What later sections need of earlier ones. */
typedef struct contest_state {
    int64_t duration_s; /* 0: open-ended, -1: unusable */
    int registration;   /* Registration, 0 when unusable */
} contest_state_t;

/* ------------------------------------------------------------------------
 * Times
 * ------------------------------------------------------------------------ */

int contest_parse_reltime(const char *s, int64_t *out)
{
    int h, m, sec, n = 0;
    if (s == NULL || sscanf(s, "%9d:%2d:%2d%n", &h, &m, &sec, &n) != 3 || s[n] != '\0' || h < 0 ||
        m < 0 || m > 59 || sec < 0 || sec > 59 || !isdigit((unsigned char)s[0]))
        return -1;
    /* "h:mm:ss": minutes and seconds always two digits. */
    const char *c1 = strchr(s, ':');
    if (strlen(c1) != 6)
        return -1;
    *out = (int64_t)h * 3600 + m * 60 + sec;
    return 0;
}

void contest_format_reltime(int64_t secs, char *out, size_t cap)
{
    snprintf(out, cap, "%lld:%02d:%02d", (long long)(secs / 3600), (int)(secs / 60 % 60),
             (int)(secs % 60));
}

void contest_format_time(int64_t us, char *out, size_t cap)
{
    clock_format_rfc3339(us, out, cap);
    /* Whole seconds read better in files: drop ".000". */
    char *dot = strstr(out, ".000Z");
    if (dot)
        memmove(dot, "Z", 2);
}

/* ------------------------------------------------------------------------
 * Small readers
 * ------------------------------------------------------------------------ */

/* 1-max characters of [a-z0-9_-] (organisation and group ids). */
static bool is_ident(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

/* 1-8 characters of [A-Za-z0-9]. */
static bool is_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 8)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_rgb(const char *s)
{
    size_t n = strlen(s);
    if (s[0] != '#' || (n != 4 && n != 7))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

/* An optional text member (0-max characters, no control characters). */
static const char *optional_text(const check_obj_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o->json, key);
    if (v && json_is_string(v) && json_string_length(v) == 0)
        return "";
    return check_text(o, key, 0, max);
}

/* ------------------------------------------------------------------------
 * slug, title, formal_name, description
 * ------------------------------------------------------------------------ */

static json_t *read_slug(const check_obj_t *doc, void *state)
{
    const char *slug = check_slug(doc, "slug", 36, CHECK_REQUIRED | CHECK_LETTER_FIRST);
    if (slug)
        check_file_name(doc->rep, slug);
    return str_or_empty(slug);
}

static json_t *read_title(const check_obj_t *doc, void *state)
{
    return str_or_empty(check_text(doc, "title", CHECK_REQUIRED, 120));
}

static json_t *read_formal_name(const check_obj_t *doc, void *state)
{
    return str_or_empty(optional_text(doc, "formal_name", 200));
}

static json_t *read_description(const check_obj_t *doc, void *state)
{
    return str_or_empty(check_string(doc, "description", 0, 0, 16 * 1024));
}

/* ------------------------------------------------------------------------
 * start, duration, freeze_minutes
 * ------------------------------------------------------------------------ */

static json_t *read_start(const check_obj_t *doc, void *state)
{
    const char *s = check_string(doc, "start", CHECK_REQUIRED, 0, 64);
    int64_t us;
    if (s == NULL)
        return json_string("");
    if (clock_parse_rfc3339(s, &us) < 0) {
        content_report_error(doc->rep, "$.start",
                             "must be an RFC 3339 time such as \"2026-03-08T09:00:00Z\"");
        return json_string("");
    }
    char buf[40];
    contest_format_time(us, buf, sizeof buf);
    return json_string(buf);
}

static json_t *read_duration(const check_obj_t *doc, void *state)
{
    contest_state_t *st = state;
    json_t *v = json_object_get(doc->json, "duration");
    if (v == NULL || json_is_null(v)) {
        st->duration_s = 0;
        return json_null();
    }
    int64_t secs;
    if (!json_is_string(v) || contest_parse_reltime(json_string_value(v), &secs) < 0) {
        content_report_error(doc->rep, "$.duration",
                             "must be a relative time h:mm:ss such as \"5:00:00\", or null for "
                             "an open-ended contest");
        st->duration_s = -1;
        return json_null();
    }
    if (secs < 60 || secs > MAX_DURATION_S) {
        content_report_error(doc->rep, "$.duration", "must be from 0:01:00 to 720:00:00");
        st->duration_s = -1;
        return json_null();
    }
    st->duration_s = secs;
    char buf[32];
    contest_format_reltime(secs, buf, sizeof buf);
    return json_string(buf);
}

static json_t *read_freeze_minutes(const check_obj_t *doc, void *state)
{
    contest_state_t *st = state;
    json_int_t v = 0;
    if (check_int(doc, "freeze_minutes", 0, 0, MAX_DURATION_S / 60, &v) && v > 0) {
        if (st->duration_s == 0)
            content_report_error(doc->rep, "$.freeze_minutes",
                                 "an open-ended contest never freezes: remove it");
        else if (st->duration_s > 0 && v * 60 > st->duration_s)
            content_report_error(doc->rep, "$.freeze_minutes", "must not exceed the duration");
    }
    return json_integer(v);
}

/* ------------------------------------------------------------------------
 * scoring, ioi_mode, penalty_minutes
 * ------------------------------------------------------------------------ */

static json_t *enum_or_default(const check_obj_t *doc, const char *key, const check_names_t *names)
{
    int v = check_enum(doc, key, names, 0);
    return json_string(names->names[v > 0 ? v : 1]);
}

static json_t *read_scoring(const check_obj_t *doc, void *state)
{
    return enum_or_default(doc, "scoring", &contest_scorings);
}

static json_t *read_ioi_mode(const check_obj_t *doc, void *state)
{
    return enum_or_default(doc, "ioi_mode", &contest_ioi_modes);
}

static json_t *read_penalty(const check_obj_t *doc, void *state)
{
    json_int_t v = 20;
    if (check_has(doc, "penalty_minutes") && !check_int(doc, "penalty_minutes", 0, 0, 120, &v))
        v = 20;
    return json_integer(v);
}

/* ------------------------------------------------------------------------
 * registration, invite_code_sha256
 * ------------------------------------------------------------------------ */

static json_t *read_registration(const check_obj_t *doc, void *state)
{
    contest_state_t *st = state;
    int v = check_enum(doc, "registration", &contest_registrations, 0);
    st->registration = v == 0 ? 1 : v;
    return json_string(registration_names[v > 0 ? v : 1]);
}

static json_t *read_invite(const check_obj_t *doc, void *state)
{
    contest_state_t *st = state;
    const char *h = check_string(doc, "invite_code_sha256", 0, 0, 0);
    bool invite = st->registration == 3;
    if (h && h[0] && !is_hex64(h)) {
        content_report_error(doc->rep, "$.invite_code_sha256",
                             "must be 64 lower-case hex digits (the SHA-256 of the code)");
        return json_string("");
    }
    if (invite && (h == NULL || h[0] == '\0') && !check_has(doc, "invite_code_sha256"))
        content_report_error(doc->rep, "$.invite_code_sha256",
                             "required when registration is \"invite\"");
    if (!invite && h && h[0])
        content_report_error(doc->rep, "$.invite_code_sha256",
                             "only for registration \"invite\": remove it");
    return str_or_empty(h);
}

/* ------------------------------------------------------------------------
 * hide_tasks_until_start, practice_after_end, max_team_size
 * ------------------------------------------------------------------------ */

static json_t *read_hide(const check_obj_t *doc, void *state)
{
    bool v = false;
    check_bool(doc, "hide_tasks_until_start", &v);
    return json_boolean(v);
}

static json_t *read_practice(const check_obj_t *doc, void *state)
{
    bool v = true;
    if (check_has(doc, "practice_after_end") && !check_bool(doc, "practice_after_end", &v))
        v = true;
    return json_boolean(v);
}

static json_t *read_team_size(const check_obj_t *doc, void *state)
{
    json_int_t v = 1;
    if (check_has(doc, "max_team_size") && !check_int(doc, "max_team_size", 0, 1, 10, &v))
        v = 1;
    return json_integer(v);
}

/* ------------------------------------------------------------------------
 * problems
 * ------------------------------------------------------------------------ */

static json_t *read_problem(const check_obj_t *p, json_t *arr, size_t i)
{
    static const char *const keys[] = {"label", "task_slug", "rgb", "color", "points", NULL};
    check_keys(p, keys, NULL);
    char fp[CHECK_PATH_MAX];
    bool ok = true;
    check_member_path(fp, p, "label");
    const char *label = check_string(p, "label", CHECK_REQUIRED, 0, 0);
    if (label && !is_label(label)) {
        content_report_error(p->rep, fp, "must be 1-8 characters of [A-Za-z0-9]");
        label = NULL;
    }
    if (label && !check_unique(p->rep, fp, arr, "$.problems", i, "label", label))
        label = NULL;
    check_member_path(fp, p, "task_slug");
    const char *task = check_slug(p, "task_slug", 64, CHECK_REQUIRED | CHECK_LETTER_FIRST);
    if (task && !check_unique(p->rep, fp, arr, "$.problems", i, "task_slug", task))
        task = NULL;
    check_member_path(fp, p, "rgb");
    const char *rgb = check_string(p, "rgb", 0, 0, 0);
    if (rgb && rgb[0] && !is_rgb(rgb)) {
        content_report_error(p->rep, fp, "must be \"#rgb\" or \"#rrggbb\"");
        ok = false;
    }
    const char *color = optional_text(p, "color", 32);
    json_int_t points = 100;
    if (check_has(p, "points") && !check_int(p, "points", 0, 1, 10000, &points))
        ok = false;
    if (!(label && task && ok) || (check_has(p, "color") && color == NULL) ||
        (check_has(p, "rgb") && rgb == NULL))
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "label", label, "task_slug", task, "rgb",
                     rgb ? rgb : "", "color", color ? color : "", "points", points);
}

static json_t *read_problems(const check_obj_t *doc, void *state)
{
    json_t *out = json_array();
    json_t *arr = check_array(doc, "problems", CHECK_REQUIRED, 1, 26, "problems");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        check_obj_t p;
        json_t *v = NULL;
        if (check_item(&p, doc, "problems", arr, i) && (v = read_problem(&p, arr, i)))
            json_array_append_new(out, v);
    }
    return out;
}

/* ------------------------------------------------------------------------
 * organizations, groups
 * ------------------------------------------------------------------------ */

/* The member "id" of `o` (item i of the array `what`) as an identifier. */
static const char *read_ident(const check_obj_t *o, json_t *arr, const char *arr_path, size_t i)
{
    char fp[CHECK_PATH_MAX];
    check_member_path(fp, o, "id");
    const char *id = check_string(o, "id", CHECK_REQUIRED, 0, 0);
    if (id && !is_ident(id, 36)) {
        content_report_error(o->rep, fp, "must be 1-36 characters of [a-z0-9_-]");
        return NULL;
    }
    if (id && !check_unique(o->rep, fp, arr, arr_path, i, "id", id))
        return NULL;
    return id;
}

static json_t *read_organization(const check_obj_t *o, json_t *arr, size_t i)
{
    static const char *const keys[] = {"id", "name", "formal_name", "country", "url", NULL};
    check_keys(o, keys, NULL);
    const char *id = read_ident(o, arr, "$.organizations", i);
    const char *name = check_text(o, "name", CHECK_REQUIRED, 120);
    const char *formal = optional_text(o, "formal_name", 200);
    const char *country = check_string(o, "country", 0, 0, 0);
    char fp[CHECK_PATH_MAX];
    check_member_path(fp, o, "country");
    if (country && country[0] &&
        (strlen(country) != 3 || !isupper((unsigned char)country[0]) ||
         !isupper((unsigned char)country[1]) || !isupper((unsigned char)country[2]))) {
        content_report_error(o->rep, fp, "must be an ISO 3166-1 alpha-3 code such as \"NLD\"");
        country = NULL;
    }
    const char *url = check_string(o, "url", 0, 0, 300);
    if (!id || !name || (check_has(o, "formal_name") && !formal) ||
        (check_has(o, "country") && !country) || (check_has(o, "url") && !url))
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "name", name, "formal_name",
                     formal ? formal : "", "country", country ? country : "", "url",
                     url ? url : "");
}

static json_t *read_organizations(const check_obj_t *doc, void *state)
{
    json_t *out = json_array();
    json_t *arr = check_array(doc, "organizations", 0, 0, 1000, "organizations");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        check_obj_t o;
        json_t *v = NULL;
        if (check_item(&o, doc, "organizations", arr, i) && (v = read_organization(&o, arr, i)))
            json_array_append_new(out, v);
    }
    return out;
}

static json_t *read_group(const check_obj_t *o, json_t *arr, size_t i)
{
    static const char *const keys[] = {"id", "name", "type", NULL};
    check_keys(o, keys, NULL);
    const char *id = read_ident(o, arr, "$.groups", i);
    const char *name = check_text(o, "name", CHECK_REQUIRED, 120);
    const char *type = optional_text(o, "type", 32);
    if (!id || !name || (check_has(o, "type") && !type))
        return NULL;
    return json_pack("{s:s, s:s, s:s}", "id", id, "name", name, "type", type ? type : "");
}

static json_t *read_groups(const check_obj_t *doc, void *state)
{
    json_t *out = json_array();
    json_t *arr = check_array(doc, "groups", 0, 0, 100, "groups");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        check_obj_t o;
        json_t *v = NULL;
        if (check_item(&o, doc, "groups", arr, i) && (v = read_group(&o, arr, i)))
            json_array_append_new(out, v);
    }
    return out;
}

/* ------------------------------------------------------------------------
 * medals
 * ------------------------------------------------------------------------ */

static json_t *read_medals(const check_obj_t *doc, void *state)
{
    json_int_t g = 0, s = 0, b = 0;
    check_obj_t m;
    if (check_member(&m, doc, "medals")) {
        static const char *const keys[] = {"gold", "silver", "bronze", NULL};
        check_keys(&m, keys, NULL);
        check_int(&m, "gold", 0, 0, 100, &g);
        check_int(&m, "silver", 0, 0, 100, &s);
        check_int(&m, "bronze", 0, 0, 100, &b);
    }
    return json_pack("{s:I, s:I, s:I}", "gold", g, "silver", s, "bronze", b);
}

/* ------------------------------------------------------------------------
 * The whole definition
 * ------------------------------------------------------------------------ */

/* clang-format off */
static const check_section_t contest_sections[] = {
    {"slug", read_slug},
    {"title", read_title},
    {"formal_name", read_formal_name},
    {"description", read_description},
    {"start", read_start},
    {"duration", read_duration},
    {"freeze_minutes", read_freeze_minutes},
    {"scoring", read_scoring},
    {"ioi_mode", read_ioi_mode},
    {"penalty_minutes", read_penalty},
    {"registration", read_registration},
    {"invite_code_sha256", read_invite},
    {"hide_tasks_until_start", read_hide},
    {"practice_after_end", read_practice},
    {"max_team_size", read_team_size},
    {"problems", read_problems},
    {"organizations", read_organizations},
    {"groups", read_groups},
    {"medals", read_medals},
    {NULL, NULL},
};
/* clang-format on */

static const char *const contest_ignored[] = {"version", "content_hash", "created_at", "updated_at",
                                              NULL};

static const check_kind_t contest_kind = {.sections = contest_sections, .ignored = contest_ignored};

int contestjson_normalize(json_t *doc, content_report_t *rep, json_t **out)
{
    contest_state_t st = {0};
    return check_document(doc, &contest_kind, &st, rep, out);
}

int contestjson_parse(const char *text, size_t len, content_report_t *rep, json_t **out)
{
    cleanup_json json_t *doc = NULL;
    *out = NULL;
    if (check_parse(text, len, CONTENT_MAX_CONTEST_BYTES, rep, &doc) < 0)
        return -1;
    return contestjson_normalize(doc, rep, out);
}

/* ------------------------------------------------------------------------
 * Contests <-> messages
 * ------------------------------------------------------------------------ */

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

json_t *contestjson_from_message(const Dojo__Content__V1__Contest *c)
{
    json_t *o = json_object();
    set_str(o, "slug", c->slug);
    set_str(o, "title", c->title);
    set_str(o, "formal_name", c->formal_name);
    set_str(o, "description", c->description);
    if (c->start) {
        char buf[40];
        contest_format_time(c->start->unix_micros, buf, sizeof buf);
        json_object_set_new(o, "start", json_string(buf));
    }
    if (c->duration_s > 0) {
        char buf[32];
        contest_format_reltime(c->duration_s, buf, sizeof buf);
        json_object_set_new(o, "duration", json_string(buf));
    }
    if (c->freeze_minutes)
        json_object_set_new(o, "freeze_minutes", json_integer(c->freeze_minutes));
    set_str(o, "scoring", check_name(&contest_scorings, c->scoring));
    set_str(o, "ioi_mode", check_name(&contest_ioi_modes, c->ioi_mode));
    if (c->penalty_minutes)
        json_object_set_new(o, "penalty_minutes", json_integer(c->penalty_minutes));
    set_str(o, "registration", check_name(&contest_registrations, c->registration));
    set_str(o, "invite_code_sha256", c->invite_code_sha256);
    if (c->hide_tasks_until_start)
        json_object_set_new(o, "hide_tasks_until_start", json_true());
    /* proto3 cannot tell false from unset: messages always say it. */
    json_object_set_new(o, "practice_after_end", json_boolean(c->practice_after_end));
    if (c->max_team_size)
        json_object_set_new(o, "max_team_size", json_integer(c->max_team_size));
    json_t *ps = json_array();
    for (size_t i = 0; i < c->n_problems; i++) {
        const Dojo__Content__V1__ContestProblem *p = c->problems[i];
        json_t *x = json_object();
        set_str(x, "label", p->label);
        set_str(x, "task_slug", p->task_slug);
        set_str(x, "rgb", p->rgb);
        set_str(x, "color", p->color);
        if (p->points)
            json_object_set_new(x, "points", json_integer(p->points));
        json_array_append_new(ps, x);
    }
    json_object_set_new(o, "problems", ps);
    json_t *os = json_array();
    for (size_t i = 0; i < c->n_organizations; i++) {
        const Dojo__Content__V1__Organization *g = c->organizations[i];
        json_t *x = json_object();
        set_str(x, "id", g->id);
        set_str(x, "name", g->name);
        set_str(x, "formal_name", g->formal_name);
        set_str(x, "country", g->country);
        set_str(x, "url", g->url);
        json_array_append_new(os, x);
    }
    json_object_set_new(o, "organizations", os);
    json_t *gs = json_array();
    for (size_t i = 0; i < c->n_groups; i++) {
        json_t *x = json_object();
        set_str(x, "id", c->groups[i]->id);
        set_str(x, "name", c->groups[i]->name);
        set_str(x, "type", c->groups[i]->type);
        json_array_append_new(gs, x);
    }
    json_object_set_new(o, "groups", gs);
    if (c->medals)
        json_object_set_new(o, "medals",
                            json_pack("{s:i, s:i, s:i}", "gold", c->medals->gold, "silver",
                                      c->medals->silver, "bronze", c->medals->bronze));
    return o;
}

Dojo__Content__V1__Contest *contestjson_to_message(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__Contest *c =
        RPC_NEW(call, Dojo__Content__V1__Contest, DOJO__CONTENT__V1__CONTEST__INIT);
    c->slug = rpc_strdup(call, jstr(norm, "slug"));
    c->title = rpc_strdup(call, jstr(norm, "title"));
    c->formal_name = rpc_strdup(call, jstr(norm, "formal_name"));
    c->description = rpc_strdup(call, jstr(norm, "description"));
    int64_t us = 0;
    if (clock_parse_rfc3339(jstr(norm, "start"), &us) == 0) {
        c->start = RPC_NEW(call, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
        c->start->unix_micros = us;
    }
    int64_t d = 0;
    if (contest_parse_reltime(json_string_value(json_object_get(norm, "duration")), &d) == 0)
        c->duration_s = d;
    c->freeze_minutes = (int32_t)json_integer_value(json_object_get(norm, "freeze_minutes"));
    c->scoring = check_name_index(&contest_scorings, jstr(norm, "scoring"));
    c->ioi_mode = check_name_index(&contest_ioi_modes, jstr(norm, "ioi_mode"));
    c->penalty_minutes = (int32_t)json_integer_value(json_object_get(norm, "penalty_minutes"));
    c->registration = check_name_index(&contest_registrations, jstr(norm, "registration"));
    c->invite_code_sha256 = rpc_strdup(call, jstr(norm, "invite_code_sha256"));
    c->hide_tasks_until_start = json_is_true(json_object_get(norm, "hide_tasks_until_start"));
    c->practice_after_end = json_is_true(json_object_get(norm, "practice_after_end"));
    c->max_team_size = (int32_t)json_integer_value(json_object_get(norm, "max_team_size"));
    json_t *ps = json_object_get(norm, "problems");
    c->problems = rpc_alloc(call, (json_array_size(ps) + 1) * sizeof *c->problems);
    size_t i;
    json_t *x;
    json_array_foreach(ps, i, x)
    {
        Dojo__Content__V1__ContestProblem *p = RPC_NEW(call, Dojo__Content__V1__ContestProblem,
                                                       DOJO__CONTENT__V1__CONTEST_PROBLEM__INIT);
        p->label = rpc_strdup(call, jstr(x, "label"));
        p->task_slug = rpc_strdup(call, jstr(x, "task_slug"));
        p->rgb = rpc_strdup(call, jstr(x, "rgb"));
        p->color = rpc_strdup(call, jstr(x, "color"));
        p->points = (int32_t)json_integer_value(json_object_get(x, "points"));
        p->name = rpc_strdup(call, jstr(x, "name")); /* filled in by the store when known */
        c->problems[c->n_problems++] = p;
    }
    json_t *os = json_object_get(norm, "organizations");
    c->organizations = rpc_alloc(call, (json_array_size(os) + 1) * sizeof *c->organizations);
    json_array_foreach(os, i, x)
    {
        Dojo__Content__V1__Organization *g =
            RPC_NEW(call, Dojo__Content__V1__Organization, DOJO__CONTENT__V1__ORGANIZATION__INIT);
        g->id = rpc_strdup(call, jstr(x, "id"));
        g->name = rpc_strdup(call, jstr(x, "name"));
        g->formal_name = rpc_strdup(call, jstr(x, "formal_name"));
        g->country = rpc_strdup(call, jstr(x, "country"));
        g->url = rpc_strdup(call, jstr(x, "url"));
        c->organizations[c->n_organizations++] = g;
    }
    json_t *gs = json_object_get(norm, "groups");
    c->groups = rpc_alloc(call, (json_array_size(gs) + 1) * sizeof *c->groups);
    json_array_foreach(gs, i, x)
    {
        Dojo__Content__V1__ContestGroup *g =
            RPC_NEW(call, Dojo__Content__V1__ContestGroup, DOJO__CONTENT__V1__CONTEST_GROUP__INIT);
        g->id = rpc_strdup(call, jstr(x, "id"));
        g->name = rpc_strdup(call, jstr(x, "name"));
        g->type = rpc_strdup(call, jstr(x, "type"));
        c->groups[c->n_groups++] = g;
    }
    json_t *m = json_object_get(norm, "medals");
    c->medals = RPC_NEW(call, Dojo__Content__V1__Medals, DOJO__CONTENT__V1__MEDALS__INIT);
    c->medals->gold = (int32_t)json_integer_value(json_object_get(m, "gold"));
    c->medals->silver = (int32_t)json_integer_value(json_object_get(m, "silver"));
    c->medals->bronze = (int32_t)json_integer_value(json_object_get(m, "bronze"));
    return c;
}
