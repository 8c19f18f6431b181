/* achievements.c — achievement definitions: validation of
 * content/achievements/ (one JSON file each), loading them, and ListAchievements.
 * Gamification evaluates the rules; here they are only data.
 * content/schema/achievement.schema.json documents the same rules. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "libcommon/text.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

/* Index = AchievementRuleKind. */
static const char *const rule_names[] = {NULL,          "first_solve",  "tasks_solved",
                                         "points",      "streak_days",  "tag_complete",
                                         "difficulty_complete", "first_attempt",
                                         "difficulty_solved",   "all_tasks"};
#define N_RULES (sizeof rule_names / sizeof rule_names[0])

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

/* A required string of 1-max characters without control characters. */
static const char *text_field(content_report_t *rep, json_t *o, const char *key, const char *path,
                              size_t max)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL) {
        content_report_error(rep, path, "required");
        return NULL;
    }
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != json_string_length(v)) {
        content_report_error(rep, path, "must be a string");
        return NULL;
    }
    if (s[0] == '\0' || (size_t)text_utf8_length(s) > max || text_has_control(s)) {
        content_report_error(rep, path, "must be 1-%zu characters without control characters",
                             max);
        return NULL;
    }
    return s;
}

static void unknown_keys(content_report_t *rep, json_t *o, const char *base,
                         const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        bool found = false;
        for (size_t i = 0; known[i] && !found; i++)
            found = !strcmp(known[i], key);
        if (!found) {
            char p[128];
            snprintf(p, sizeof p, "%s.%.64s", base, key);
            content_report_error(rep, p, "unknown field");
        }
    }
}

static int normalize(json_t *doc, content_report_t *rep, json_t **out)
{
    size_t before = rep->n_errors;
    if (!json_is_object(doc)) {
        content_report_error(rep, "$", "must be a JSON object");
        return -1;
    }
    static const char *const keys[] = {"slug", "title", "description", "icon", "rule",
                                       "sort_order", NULL};
    unknown_keys(rep, doc, "$", keys);
    const char *slug = json_string_value(json_object_get(doc, "slug"));
    if (json_object_get(doc, "slug") == NULL)
        content_report_error(rep, "$.slug", "required");
    else if (slug == NULL || !content_is_slug(slug, 64, false)) {
        content_report_error(rep, "$.slug", "must be 1-64 characters of [a-z0-9-]");
        slug = NULL;
    }
    if (slug && rep->file[0]) {
        const char *base = strrchr(rep->file, '/');
        base = base ? base + 1 : rep->file;
        size_t n = strlen(base);
        if (n <= 5 || strcmp(base + n - 5, ".json") || strlen(slug) != n - 5 ||
            strncmp(slug, base, n - 5))
            content_report_error(rep, "$.slug", "must match the file name (\"%s.json\" expected)",
                                 slug);
    }
    const char *title = text_field(rep, doc, "title", "$.title", 80);
    const char *description = text_field(rep, doc, "description", "$.description", 300);
    json_t *icon_v = json_object_get(doc, "icon");
    const char *icon = json_string_value(icon_v);
    if (icon_v == NULL)
        content_report_error(rep, "$.icon", "required");
    else if (icon == NULL || !content_is_slug(icon, 32, false)) {
        content_report_error(rep, "$.icon", "must be 1-32 characters of [a-z0-9-]");
        icon = NULL;
    }
    json_t *so = json_object_get(doc, "sort_order");
    json_int_t sort_order = 0;
    if (so) {
        if (!json_is_integer(so) || json_integer_value(so) < -1000000 ||
            json_integer_value(so) > 1000000)
            content_report_error(rep, "$.sort_order",
                                 "must be an integer from -1000000 to 1000000");
        else
            sort_order = json_integer_value(so);
    }

    json_t *rule_n = json_object();
    json_t *rule = json_object_get(doc, "rule");
    if (rule == NULL) {
        content_report_error(rep, "$.rule", "required");
    } else if (!json_is_object(rule)) {
        content_report_error(rep, "$.rule", "must be an object");
    } else {
        static const char *const rkeys[] = {"kind", "threshold", "tag", "difficulty", NULL};
        unknown_keys(rep, rule, "$.rule", rkeys);
        json_t *kv = json_object_get(rule, "kind");
        int kind = 0;
        for (size_t i = 1; i < N_RULES && json_is_string(kv); i++)
            if (!strcmp(rule_names[i], json_string_value(kv)))
                kind = (int)i;
        if (kv == NULL)
            content_report_error(rep, "$.rule.kind", "required");
        else if (!kind)
            content_report_error(rep, "$.rule.kind",
                                 "must be one of \"first_solve\", \"tasks_solved\", \"points\", "
                                 "\"streak_days\", \"tag_complete\", \"difficulty_complete\", "
                                 "\"first_attempt\", \"difficulty_solved\", \"all_tasks\"");
        else {
            int uses = rule_params[kind];
            json_object_set_new(rule_n, "kind", json_string(rule_names[kind]));
            json_t *th = json_object_get(rule, "threshold");
            if (th && !(uses & USES_THRESHOLD))
                content_report_error(rep, "$.rule.threshold", "not used by kind \"%s\": remove it",
                                     rule_names[kind]);
            else if (uses & USES_THRESHOLD) {
                if (th == NULL) {
                    if (uses & NEEDS_THRESHOLD)
                        content_report_error(rep, "$.rule.threshold", "required for kind \"%s\"",
                                             rule_names[kind]);
                    else
                        json_object_set_new(rule_n, "threshold", json_integer(1));
                } else if (!json_is_integer(th) || json_integer_value(th) < 0 ||
                           json_integer_value(th) > 1000000 ||
                           (json_integer_value(th) == 0 && (uses & NEEDS_THRESHOLD))) {
                    content_report_error(rep, "$.rule.threshold",
                                         "must be an integer from 1 to 1000000");
                } else {
                    json_int_t t = json_integer_value(th);
                    json_object_set_new(rule_n, "threshold", json_integer(t ? t : 1));
                }
            }
            json_t *tag = json_object_get(rule, "tag");
            if (tag && !(uses & USES_TAG))
                content_report_error(rep, "$.rule.tag", "not used by kind \"%s\": remove it",
                                     rule_names[kind]);
            else if (uses & USES_TAG) {
                if (tag == NULL)
                    content_report_error(rep, "$.rule.tag", "required for kind \"%s\"",
                                         rule_names[kind]);
                else if (!json_is_string(tag) || !content_is_slug(json_string_value(tag), 32, false))
                    content_report_error(rep, "$.rule.tag", "must be 1-32 characters of [a-z0-9-]");
                else
                    json_object_set(rule_n, "tag", tag);
            }
            json_t *d = json_object_get(rule, "difficulty");
            if (d && !(uses & USES_DIFFICULTY))
                content_report_error(rep, "$.rule.difficulty",
                                     "not used by kind \"%s\": remove it", rule_names[kind]);
            else if (uses & USES_DIFFICULTY) {
                if (d == NULL)
                    content_report_error(rep, "$.rule.difficulty", "required for kind \"%s\"",
                                         rule_names[kind]);
                else if (!json_is_string(d) || !content_difficulty_from_name(json_string_value(d)))
                    content_report_error(rep, "$.rule.difficulty",
                                         "must be one of \"easy\", \"medium\", \"hard\"");
                else
                    json_object_set(rule_n, "difficulty", d);
            }
        }
    }
    if (rep->n_errors != before) {
        json_decref(rule_n);
        return -1;
    }
    *out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I}", "slug", slug, "title", title,
                     "description", description, "icon", icon, "rule", rule_n, "sort_order",
                     sort_order);
    return 0;
}

int achievement_parse(const char *text, size_t len, content_report_t *rep, json_t **out)
{
    *out = NULL;
    if (len > 64 * 1024) {
        content_report_error(rep, "$", "the file must be at most 64 KiB");
        return -1;
    }
    json_error_t jerr;
    cleanup_json json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        content_report_error(rep, "$", "invalid JSON at line %d, column %d: %s", jerr.line,
                             jerr.column, jerr.text);
        return -1;
    }
    return normalize(doc, rep, out);
}

/* ------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_ach_upsert = {
    .name = "content_ach_upsert",
    .sql = "INSERT INTO content.achievements AS a (slug, def, content_hash, sort_order) "
           "VALUES ($1, $2, $3, $4::int) ON CONFLICT (slug) DO UPDATE SET def = EXCLUDED.def, "
           "content_hash = EXCLUDED.content_hash, sort_order = EXCLUDED.sort_order, "
           "active = true, updated_at = now() "
           "WHERE a.content_hash <> EXCLUDED.content_hash OR NOT a.active "
           "RETURNING (xmax = 0)",
    .nparams = 4,
};

static const pg_stmt_t stmt_ach_retire = {
    .name = "content_ach_retire",
    .sql = "UPDATE content.achievements SET active = false, updated_at = now() "
           "WHERE active AND NOT (slug = ANY (ARRAY(SELECT json_array_elements_text($1::json)))) "
           "RETURNING slug",
    .nparams = 1,
};

static const pg_stmt_t stmt_ach_list = {
    .name = "content_ach_list",
    .sql = "SELECT def, content_hash FROM content.achievements WHERE active "
           "ORDER BY sort_order, slug",
    .nparams = 0,
};

int content_load_achievements(content_t *c, const char *dir, bool print, int *rejected,
                              err_t **err)
{
    char **names = NULL;
    size_t n = 0;
    if (content_list_json(dir, &names, &n, err) < 0)
        return -1;
    int bad = 0, changed = 0, rc = -1;
    cleanup_json json_t *present = json_array();
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (pg_pool_acquire(c->pg, &conn, 5000, err) < 0 || pg_begin(conn, err) < 0 ||
        content_lock_writers(conn, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (!content_join(path, sizeof path, dir, names[i]))
            continue;
        cleanup_free char *text = NULL;
        size_t len = 0;
        cleanup_err err_t *rerr = NULL;
        cleanup_report content_report_t rep;
        content_report_init(&rep, names[i]);
        cleanup_json json_t *norm = NULL;
        if (content_read_file(path, &text, &len, &rerr) < 0)
            content_report_error(&rep, "$", "cannot read the file");
        else
            achievement_parse(text, len, &rep, &norm);
        for (size_t k = 0; k < rep.n_errors; k++) {
            LOG_ERROR("achievement file rejected", "file=\"%s\" path=\"%s\" error=\"%s\"",
                      log_esc(path), log_esc(rep.errors[k].path), log_esc(rep.errors[k].message));
            if (print)
                printf("%s:%s: %s\n", path, rep.errors[k].path, rep.errors[k].message);
        }
        if (norm == NULL) {
            bad++;
            continue;
        }
        const char *slug = json_string_value(json_object_get(norm, "slug"));
        json_array_append(present, json_object_get(norm, "slug"));
        char hash[65], order[24];
        taskjson_hash(norm, hash);
        cleanup_free char *canonical = taskjson_canonical(norm);
        snprintf(order, sizeof order, "%lld",
                 (long long)json_integer_value(json_object_get(norm, "sort_order")));
        const char *p[] = {slug, canonical, hash, order};
        cleanup_pgresult PGresult *r = NULL;
        if (pg_exec(conn, &stmt_ach_upsert, p, &r, err) < 0) {
            err_wrap(err, "store achievement %s", slug);
            goto cleanup;
        }
        if (PQntuples(r) > 0) {
            changed++;
            LOG_INFO("achievement loaded", "slug=%s change=%s", slug,
                     pg_get_bool(r, 0, 0) ? "created" : "updated");
        }
        if (print)
            printf("%s %s\n", PQntuples(r) == 0 ? "unchanged" : pg_get_bool(r, 0, 0) ? "created" : "updated",
                   names[i]);
    }
    if (bad == 0) {
        cleanup_free char *slugs = json_dumps(present, JSON_COMPACT);
        const char *p[] = {slugs};
        cleanup_pgresult PGresult *r = NULL;
        if (pg_exec(conn, &stmt_ach_retire, p, &r, err) < 0)
            goto cleanup;
        for (int i = 0; i < PQntuples(r); i++) {
            LOG_INFO("achievement retired: its file is gone", "slug=%s", pg_get(r, i, 0));
            if (print)
                printf("retired %s\n", pg_get(r, i, 0));
        }
    }
    if (pg_commit(conn, err) < 0)
        goto cleanup;
    LOG_INFO("achievements loaded", "dir=\"%s\" files=%zu changed=%d rejected=%d", log_esc(dir), n,
             changed, bad);
    if (rejected)
        *rejected += bad;
    rc = 0;
cleanup:
    content_free_list(names, n);
    return rc;
}

/* ------------------------------------------------------------------------
 * ListAchievements
 * ------------------------------------------------------------------------ */

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int content_rpc_list_achievements(rpc_call_t *call, const ProtobufCMessage *req,
                                  ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    identity_t id;
    if (content_require_signed_in(c, call, &id, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (content_conn(c, &conn, err) < 0 || pg_exec(conn, &stmt_ach_list, NULL, &r, err) < 0)
        return err_wrap(err, "list achievements");
    Dojo__Content__V1__ListAchievementsResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ListAchievementsResponse,
                DOJO__CONTENT__V1__LIST_ACHIEVEMENTS_RESPONSE__INIT);
    int n = PQntuples(r);
    resp->achievements = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->achievements);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (int i = 0; i < n; i++) {
        cleanup_json json_t *d = json_loads(pg_get(r, i, 0), 0, NULL);
        if (d == NULL)
            return err_set(err, GRPC_STATUS_INTERNAL, "achievement row %d: bad stored JSON", i);
        crypto_hash_sha256_update(&st, (const unsigned char *)pg_get(r, i, 1), 64);
        crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
        Dojo__Content__V1__AchievementDef *a = RPC_NEW(
            call, Dojo__Content__V1__AchievementDef, DOJO__CONTENT__V1__ACHIEVEMENT_DEF__INIT);
        a->slug = rpc_strdup(call, jstr(d, "slug"));
        a->title = rpc_strdup(call, jstr(d, "title"));
        a->description = rpc_strdup(call, jstr(d, "description"));
        a->icon = rpc_strdup(call, jstr(d, "icon"));
        a->sort_order = (int32_t)json_integer_value(json_object_get(d, "sort_order"));
        json_t *rule = json_object_get(d, "rule");
        a->rule = RPC_NEW(call, Dojo__Content__V1__AchievementRule,
                          DOJO__CONTENT__V1__ACHIEVEMENT_RULE__INIT);
        for (size_t k = 1; k < N_RULES; k++)
            if (!strcmp(rule_names[k], jstr(rule, "kind")))
                a->rule->kind = (int)k;
        a->rule->threshold = json_integer_value(json_object_get(rule, "threshold"));
        a->rule->tag = rpc_strdup(call, jstr(rule, "tag"));
        a->rule->difficulty = content_difficulty_from_name(jstr(rule, "difficulty"));
        resp->achievements[resp->n_achievements++] = a;
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    char *hex = rpc_alloc(call, 65);
    for (size_t i = 0; i < sizeof h; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    resp->content_hash = hex;
    *out = &resp->base;
    return 0;
}
