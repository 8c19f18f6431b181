/* achjson.c — the rules of achievement files (content/achievements/, one
 * JSON file each), read with the validation kit section by section.
 * Gamification evaluates the rules; here they are only data.
 * content/schema/achievement.schema.json documents the same rules. */
#include <string.h>

#include "libcommon/cleanup.h"
#include "model.h"

/* Index = AchievementRuleKind. */
static const char *const rule_names[] = {NULL,
                                         "first_solve",
                                         "tasks_solved",
                                         "points",
                                         "streak_days",
                                         "tag_complete",
                                         "difficulty_complete",
                                         "first_attempt",
                                         "difficulty_solved",
                                         "all_tasks"};
#define N_RULES (sizeof rule_names / sizeof rule_names[0])

const check_names_t achievement_rule_kinds = {rule_names, N_RULES};

/* The parameters each kind uses (and which of them it needs). */
enum { USES_THRESHOLD = 1, NEEDS_THRESHOLD = 2, USES_TAG = 4, USES_DIFFICULTY = 8 };
static const int rule_params[N_RULES] = {
    [1] = 0,
    [2] = USES_THRESHOLD | NEEDS_THRESHOLD,
    [3] = USES_THRESHOLD | NEEDS_THRESHOLD,
    [4] = USES_THRESHOLD | NEEDS_THRESHOLD,
    [5] = USES_TAG,
    [6] = USES_DIFFICULTY,
    [7] = USES_THRESHOLD,
    [8] = USES_THRESHOLD | NEEDS_THRESHOLD | USES_DIFFICULTY,
    [9] = 0,
};

/* ------------------------------------------------------------------------
 * slug, title, description, icon, sort_order
 * ------------------------------------------------------------------------ */

static json_t *read_slug(const check_obj_t *doc, void *state)
{
    const char *slug = check_slug(doc, "slug", 64, CHECK_REQUIRED);
    if (slug)
        check_file_name(doc->rep, slug);
    return json_string(slug ? slug : "");
}

static json_t *read_title(const check_obj_t *doc, void *state)
{
    const char *s = check_text(doc, "title", CHECK_REQUIRED, 80);
    return json_string(s ? s : "");
}

static json_t *read_description(const check_obj_t *doc, void *state)
{
    const char *s = check_text(doc, "description", CHECK_REQUIRED, 300);
    return json_string(s ? s : "");
}

static json_t *read_icon(const check_obj_t *doc, void *state)
{
    const char *s = check_slug(doc, "icon", 32, CHECK_REQUIRED);
    return json_string(s ? s : "");
}

static json_t *read_sort_order(const check_obj_t *doc, void *state)
{
    json_int_t v = 0;
    check_int(doc, "sort_order", 0, -1000000, 1000000, &v);
    return json_integer(v);
}

/* ------------------------------------------------------------------------
 * rule
 * ------------------------------------------------------------------------ */

/* The member `key` of the rule when its kind uses it, else NULL. A member
 * the kind does not use, and an absent one it needs, are reported. */
static json_t *rule_param(const check_obj_t *r, const char *key, int kind, bool used, bool needed)
{
    char p[CHECK_PATH_MAX];
    check_member_path(p, r, key);
    json_t *v = json_object_get(r->json, key);
    if (v && !used)
        content_report_error(r->rep, p, "not used by kind \"%s\": remove it", rule_names[kind]);
    else if (!v && needed)
        content_report_error(r->rep, p, "required for kind \"%s\"", rule_names[kind]);
    return used ? v : NULL;
}

static void read_rule_params(const check_obj_t *r, int kind, json_t *out)
{
    int uses = rule_params[kind];
    char p[CHECK_PATH_MAX];
    bool threshold_used = uses & USES_THRESHOLD, threshold_needed = uses & NEEDS_THRESHOLD;
    if (rule_param(r, "threshold", kind, threshold_used, threshold_needed)) {
        json_int_t t = 0;
        if (check_int(r, "threshold", threshold_needed ? 0 : CHECK_ZERO_UNSET, 1, 1000000, &t))
            json_object_set_new(out, "threshold", json_integer(t ? t : 1));
    } else if (threshold_used && !threshold_needed) {
        json_object_set_new(out, "threshold", json_integer(1));
    }
    json_t *tag = rule_param(r, "tag", kind, uses & USES_TAG, uses & USES_TAG);
    check_member_path(p, r, "tag");
    if (tag && check_slug_value(r->rep, p, tag, 32, 0))
        json_object_set(out, "tag", tag);
    json_t *d = rule_param(r, "difficulty", kind, uses & USES_DIFFICULTY, uses & USES_DIFFICULTY);
    check_member_path(p, r, "difficulty");
    if (d && check_enum_value(r->rep, p, d, &task_difficulties))
        json_object_set(out, "difficulty", d);
}

static json_t *read_rule(const check_obj_t *doc, void *state)
{
    json_t *out = json_object();
    check_obj_t r;
    if (!check_has(doc, "rule")) {
        content_report_error(doc->rep, "$.rule", "required");
        return out;
    }
    if (!check_member(&r, doc, "rule"))
        return out;
    static const char *const keys[] = {"kind", "threshold", "tag", "difficulty", NULL};
    check_keys(&r, keys, NULL);
    int kind = check_enum(&r, "kind", &achievement_rule_kinds, CHECK_REQUIRED);
    if (kind > 0) {
        json_object_set_new(out, "kind", json_string(rule_names[kind]));
        read_rule_params(&r, kind, out);
    }
    return out;
}

/* ------------------------------------------------------------------------
 * The whole definition
 * ------------------------------------------------------------------------ */

/* clang-format off */
static const check_section_t achievement_sections[] = {
    {"slug", read_slug},
    {"title", read_title},
    {"description", read_description},
    {"icon", read_icon},
    {"sort_order", read_sort_order},
    {"rule", read_rule},
    {NULL, NULL},
};
/* clang-format on */

static const check_kind_t achievement_kind = {.sections = achievement_sections};

int achievement_normalize(json_t *doc, content_report_t *rep, json_t **out)
{
    return check_document(doc, &achievement_kind, NULL, rep, out);
}

int achievement_parse(const char *text, size_t len, content_report_t *rep, json_t **out)
{
    cleanup_json json_t *doc = NULL;
    *out = NULL;
    if (check_parse(text, len, CONTENT_MAX_ACHIEVEMENT_BYTES, rep, &doc) < 0)
        return -1;
    return achievement_normalize(doc, rep, out);
}
