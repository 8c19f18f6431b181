/* achievements.c — ListAchievements: the active definitions, in display
 * order, with one hash over all of them (gamification caches by it).
 * What a definition may contain is achjson.c's; loading them is load.c's. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "content.h"
#include "libcommon/cleanup.h"

static const pg_stmt_t stmt_ach_list = {
    .name = "content_ach_list",
    .sql = "SELECT def, content_hash FROM content.achievements WHERE active "
           "ORDER BY sort_order, slug",
    .nparams = 0,
};

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
        Dojo__Content__V1__AchievementDef *a = RPC_NEW(call, Dojo__Content__V1__AchievementDef,
                                                       DOJO__CONTENT__V1__ACHIEVEMENT_DEF__INIT);
        a->slug = rpc_strdup(call, jstr(d, "slug"));
        a->title = rpc_strdup(call, jstr(d, "title"));
        a->description = rpc_strdup(call, jstr(d, "description"));
        a->icon = rpc_strdup(call, jstr(d, "icon"));
        a->sort_order = (int32_t)json_integer_value(json_object_get(d, "sort_order"));
        json_t *rule = json_object_get(d, "rule");
        a->rule = RPC_NEW(call, Dojo__Content__V1__AchievementRule,
                          DOJO__CONTENT__V1__ACHIEVEMENT_RULE__INIT);
        a->rule->kind = check_name_index(&achievement_rule_kinds, jstr(rule, "kind"));
        a->rule->threshold = json_integer_value(json_object_get(rule, "threshold"));
        a->rule->tag = rpc_strdup(call, jstr(rule, "tag"));
        a->rule->difficulty = check_name_index(&task_difficulties, jstr(rule, "difficulty"));
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
