/* contests.c — contests as this service keeps them: definitions from
 * content (cached), the caller's access, the state, the event log kept in
 * step with both, teams and the jury (views, registration, the jury's team
 * edits). Submissions, clarifications and the scoreboard have files of
 * their own; see gamification.proto for the rules. */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/arena.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/log.h"
#include "libcommon/text.h"

#define ACCESS_PUBLIC DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_PUBLIC
#define ACCESS_TEAM DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_TEAM
#define ACCESS_JURY DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_JURY
#define REG_CLOSED DOJO__CONTENT__V1__REGISTRATION__REGISTRATION_CLOSED
#define REG_INVITE DOJO__CONTENT__V1__REGISTRATION__REGISTRATION_INVITE

static inline void cleanup_jsonv_fn(json_t **j)
{
    if (*j)
        json_decref(*j);
}
#define cleanup_jsonv __attribute__((cleanup(cleanup_jsonv_fn)))

/* ------------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------------ */

void *gam_new(ProtobufCAllocator *a, size_t size)
{
    void *p = a->alloc(a->allocator_data, size);
    if (p == NULL)
        abort();
    memset(p, 0, size);
    return p;
}

char *gam_strdup(ProtobufCAllocator *a, const char *s)
{
    if (s == NULL)
        s = "";
    size_t n = strlen(s);
    char *p = gam_new(a, n + 1);
    memcpy(p, s, n);
    return p;
}

/* ------------------------------------------------------------------------
 * Definitions: Content.GetContest, cached packed for content_ttl_ms
 * ------------------------------------------------------------------------ */

typedef struct def_entry {
    char slug[40];
    uint8_t *packed;
    size_t len;
    int version;
    int64_t fetched_ms;
} def_entry_t;

/* The definitions cache, shared by every thread. */
struct gam_contests {
    pthread_mutex_t mu;
    def_entry_t *defs;
    size_t ndefs, capdefs;
};

int gam_contests_open(gam_t *g, err_t **err)
{
    gam_contests_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    pthread_mutex_init(&c->mu, NULL);
    g->contests = c;
    return 0;
}

void gam_contests_close(gam_t *g)
{
    gam_contests_t *c = g->contests;
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->ndefs; i++)
        free(c->defs[i].packed);
    free(c->defs);
    pthread_mutex_destroy(&c->mu);
    free(c);
    g->contests = NULL;
}

static def_entry_t *def_find(gam_contests_t *c, const char *slug)
{
    for (size_t i = 0; i < c->ndefs; i++)
        if (!strcmp(c->defs[i].slug, slug))
            return &c->defs[i];
    return NULL;
}

static bool is_contest_slug(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 36 || !islower((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

/* Fetches from content: *packed new (free). */
static int def_fetch(gam_t *g, const char *slug, uint8_t **packed, size_t *len, int *version,
                     err_t **err)
{
    Dojo__Content__V1__GetContestRequest req = DOJO__CONTENT__V1__GET_CONTEST_REQUEST__INIT;
    req.slug = (char *)slug;
    rpc_call_opts_t o = {
        .timeout_ms = 3000, .idempotent = true, .metadata = identity_service_metadata(g->ids)};
    cleanup_pb ProtobufCMessage *resp_msg = NULL;
    if (rpc_client_call(g->content, &dojo__content__v1__content__descriptor, "GetContest",
                        &req.base, &resp_msg, &o, err) < 0)
        return -1;
    const Dojo__Content__V1__GetContestResponse *resp = (const void *)resp_msg;
    if (resp->contest == NULL)
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "content GetContest: empty reply");
    *version = resp->contest->version;
    *len = protobuf_c_message_get_packed_size(&resp->contest->base);
    *packed = malloc(*len + 1);
    if (*packed == NULL)
        abort();
    protobuf_c_message_pack(&resp->contest->base, *packed);
    return 0;
}

int gam_contest_def(gam_t *g, const char *slug, ProtobufCAllocator *a,
                    Dojo__Content__V1__Contest **out, err_t **err)
{
    if (slug == NULL || !is_contest_slug(slug))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no contest \"%.40s\"", slug ? slug : "");
    gam_contests_t *c = g->contests;
    int64_t now = mono_ms();
    uint8_t *packed = NULL;
    size_t len = 0;
    int version = 0;
    pthread_mutex_lock(&c->mu);
    def_entry_t *e = def_find(c, slug);
    bool fresh = e && now - e->fetched_ms < g->cfg.content_ttl_ms;
    if (fresh) {
        packed = malloc(e->len + 1);
        if (packed == NULL)
            abort();
        memcpy(packed, e->packed, e->len);
        len = e->len;
    }
    pthread_mutex_unlock(&c->mu);
    if (packed == NULL) {
        cleanup_err err_t *ferr = NULL;
        if (def_fetch(g, slug, &packed, &len, &version, &ferr) < 0) {
            if (ferr->code == GRPC_STATUS_NOT_FOUND) {
                *err = DOJO_STEAL(ferr);
                return err_wrap(err, "contest %s", slug);
            }
            /* Content away: a stale definition is better than none. */
            pthread_mutex_lock(&c->mu);
            e = def_find(c, slug);
            if (e) {
                packed = malloc(e->len + 1);
                if (packed == NULL)
                    abort();
                memcpy(packed, e->packed, e->len);
                len = e->len;
            }
            pthread_mutex_unlock(&c->mu);
            if (packed == NULL) {
                *err = DOJO_STEAL(ferr);
                return err_wrap(err, "contest %s", slug);
            }
            LOG_WARN("content unreachable; using a cached contest", "contest=%s", slug);
        } else {
            pthread_mutex_lock(&c->mu);
            e = def_find(c, slug);
            if (e == NULL) {
                if (c->ndefs == c->capdefs) {
                    c->capdefs = c->capdefs ? c->capdefs * 2 : 8;
                    c->defs = realloc(c->defs, c->capdefs * sizeof *c->defs);
                    if (c->defs == NULL)
                        abort();
                }
                e = &c->defs[c->ndefs++];
                memset(e, 0, sizeof *e);
                snprintf(e->slug, sizeof e->slug, "%s", slug);
            }
            free(e->packed);
            e->packed = malloc(len + 1);
            if (e->packed == NULL)
                abort();
            memcpy(e->packed, packed, len);
            e->len = len;
            e->version = version;
            e->fetched_ms = now;
            pthread_mutex_unlock(&c->mu);
        }
    }
    *out = dojo__content__v1__contest__unpack(a, len, packed);
    free(packed);
    if (*out == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "contest %s: definition does not decode", slug);
    return 0;
}

bool gam_contest_stops_early(const Dojo__Content__V1__Contest *c)
{
    return c != NULL && c->scoring != DOJO__CONTENT__V1__SCORING_KIND__SCORING_KIND_IOI;
}

void gam_contest_def_require(gam_t *g, const char *slug, int min_version)
{
    gam_contests_t *c = g->contests;
    pthread_mutex_lock(&c->mu);
    def_entry_t *e = def_find(c, slug);
    if (e && e->version < min_version)
        e->fetched_ms = INT64_MIN / 2; /* stale: the next read fetches it */
    pthread_mutex_unlock(&c->mu);
}

int64_t gam_contest_end_us(const Dojo__Content__V1__Contest *c)
{
    if (c->duration_s <= 0 || c->start == NULL)
        return 0;
    return c->start->unix_micros + c->duration_s * 1000000;
}

int64_t gam_contest_freeze_us(const Dojo__Content__V1__Contest *c)
{
    int64_t end = gam_contest_end_us(c);
    if (end == 0 || c->freeze_minutes <= 0)
        return 0;
    return end - (int64_t)c->freeze_minutes * 60 * 1000000;
}

int gam_contest_problem(const Dojo__Content__V1__Contest *c, const char *label)
{
    for (size_t i = 0; label && i < c->n_problems; i++)
        if (!strcmp(c->problems[i]->label, label))
            return (int)i;
    return -1;
}

/* ------------------------------------------------------------------------
 * Access
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_member_of = {
    .name = "game_contest_member_of",
    .sql = "SELECT coalesce(team_id, '') FROM game.contest_members "
           "WHERE contest = $1 AND user_id = $2::uuid",
    .nparams = 2,
};

int gam_contest_access(gam_t *g, pg_conn_t *conn, const identity_t *id, const char *slug,
                       gam_access_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    out->level = ACCESS_PUBLIC;
    if (id->kind == IDENTITY_SERVICE) {
        out->level = ACCESS_JURY;
        snprintf(out->actor, sizeof out->actor, "service");
        return 0;
    }
    if (id->kind != IDENTITY_USER)
        return 0;
    snprintf(out->actor, sizeof out->actor, "%s", id->claims.sub);
    if (identity_is_admin(id)) {
        out->level = ACCESS_JURY;
        return 0;
    }
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug, id->claims.sub};
    if (pg_exec(conn, &stmt_member_of, p, &r, err) < 0)
        return err_wrap(err, "contest access");
    if (PQntuples(r) == 1) {
        const char *team = pg_get(r, 0, 0);
        if (team[0] == '\0') {
            out->level = ACCESS_JURY;
        } else {
            out->level = ACCESS_TEAM;
            snprintf(out->team_id, sizeof out->team_id, "%s", team);
        }
    }
    return 0;
}

int gam_require_jury(const gam_access_t *acc, err_t **err)
{
    if (acc->level != ACCESS_JURY)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "only the contest's jury may do this");
    return 0;
}

int gam_contest_open(gam_t *g, rpc_call_t *call, const identity_t *id, const char *slug,
                     int64_t now, Dojo__Content__V1__Contest **c, pg_conn_t **conn, gam_state_t *st,
                     gam_access_t *acc, err_t **err)
{
    identity_t anyone;
    if (id == NULL) {
        if (identity_of_call(g->ids, call, &anyone, err) < 0)
            return -1;
        id = &anyone;
    }
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    if (gam_contest_def(g, slug, &a, c, err) < 0 || gam_conn(g, conn, err) < 0 ||
        gam_contest_sync(g, *conn, *c, now, st, err) < 0)
        return -1;
    return gam_contest_access(g, *conn, id, (*c)->slug, acc, err);
}

/* ------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------ */

void gam_contest_state(const Dojo__Content__V1__Contest *c, int64_t now, int64_t thawed,
                       int64_t finalized, gam_state_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t start = c->start ? c->start->unix_micros : 0;
    if (start == 0 || now < start)
        return;
    out->started = start;
    int64_t freeze = gam_contest_freeze_us(c), end = gam_contest_end_us(c);
    if (freeze && now >= freeze)
        out->frozen = freeze;
    if (end && now >= end) {
        out->ended = end;
        if (out->frozen && thawed)
            out->thawed = thawed < end ? end : thawed;
        if (finalized) {
            out->finalized = finalized < end ? end : finalized;
            if (!out->frozen || out->thawed)
                out->end_of_updates = out->finalized > out->thawed ? out->finalized : out->thawed;
        }
    }
}

static Dojo__Common__V1__Timestamp *ts_msg(ProtobufCAllocator *a, int64_t us)
{
    if (us == 0)
        return NULL;
    Dojo__Common__V1__Timestamp *t =
        GAM_NEW(a, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    t->unix_micros = us;
    return t;
}

Dojo__Gamification__V1__ContestState *gam_state_msg(ProtobufCAllocator *a, const gam_state_t *s)
{
    Dojo__Gamification__V1__ContestState *m = GAM_NEW(a, Dojo__Gamification__V1__ContestState,
                                                      DOJO__GAMIFICATION__V1__CONTEST_STATE__INIT);
    m->started = ts_msg(a, s->started);
    m->frozen = ts_msg(a, s->frozen);
    m->ended = ts_msg(a, s->ended);
    m->thawed = ts_msg(a, s->thawed);
    m->finalized = ts_msg(a, s->finalized);
    m->end_of_updates = ts_msg(a, s->end_of_updates);
    return m;
}

/* ------------------------------------------------------------------------
 * Keeping the event log in step with the definition and the state
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_contest_ensure = {
    .name = "game_contest_ensure",
    .sql = "INSERT INTO game.contests (slug, created_at) VALUES ($1, " GAM_TS(
        2) ") "
           "ON CONFLICT DO NOTHING",
    .nparams = 2,
};

static const pg_stmt_t stmt_contest_peek = {
    .name = "game_contest_peek",
    .sql = "SELECT def_hash, coalesce(encode(state_pb, 'hex'), ''), " GAM_US(
        "thawed_at") ", " GAM_US("finalized_at") " FROM game.contests WHERE slug = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_contest_lock = {
    .name = "game_contest_lock",
    .sql = "SELECT def_hash, coalesce(encode(state_pb, 'hex'), ''), " GAM_US(
        "thawed_at") ", " GAM_US("finalized_at") " FROM game.contests WHERE slug = $1 FOR UPDATE",
    .nparams = 1,
};

static const pg_stmt_t stmt_contest_announced = {
    .name = "game_contest_announced",
    .sql = "UPDATE game.contests SET def_hash = $2, state_pb = decode($3, 'hex') WHERE slug = $1",
    .nparams = 3,
};

/* Hex of a packed message (new, free). */
static char *pack_hex(const ProtobufCMessage *m)
{
    return gam_pack_hex(m);
}

static char *state_hex(const gam_state_t *s)
{
    arena_t ar = {0};
    ProtobufCAllocator a;
    arena_pb_allocator(&ar, &a);
    char *hex = pack_hex(&gam_state_msg(&a, s)->base);
    arena_release(&ar);
    return hex;
}

/* Events for a new definition: the contest and its collections. */
static int announce_def(pg_conn_t *conn, const Dojo__Content__V1__Contest *c, int64_t now,
                        err_t **err)
{
    static const char *const types[] = {"contest", "problems", "organizations", "groups"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        Dojo__Gamification__V1__ContestEvent ev = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
        ev.type = (char *)types[i];
        ev.id = "";
        ev.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_CONTEST;
        ev.contest = (Dojo__Content__V1__Contest *)c;
        char *hash = c->invite_code_sha256;
        ((Dojo__Content__V1__Contest *)c)->invite_code_sha256 = ""; /* never in the log */
        int rc = gam_event_add(conn, c->slug, &ev, true, true, "", now, err);
        ((Dojo__Content__V1__Contest *)c)->invite_code_sha256 = hash;
        if (rc < 0)
            return -1;
    }
    return 0;
}

int gam_contest_sync(gam_t *g, pg_conn_t *conn, const Dojo__Content__V1__Contest *c, int64_t now,
                     gam_state_t *st, err_t **err)
{
    const char *slug = c->slug;
    cleanup_pgresult PGresult *peek = NULL;
    const char *ps[] = {slug};
    if (pg_exec(conn, &stmt_contest_peek, ps, &peek, err) < 0)
        return err_wrap(err, "contest %s", slug);
    gam_state_t now_st;
    if (PQntuples(peek) == 1) {
        gam_contest_state(c, now, pg_get_int64(peek, 0, 2), pg_get_int64(peek, 0, 3), &now_st);
        cleanup_free char *hex = state_hex(&now_st);
        if (!strcmp(pg_get(peek, 0, 0), c->content_hash) && !strcmp(pg_get(peek, 0, 1), hex)) {
            if (st)
                *st = now_st;
            return 0;
        }
    }
    /* Something to announce: once, under the contest's row lock. */
    char nowbuf[24];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    const char *pe[] = {slug, nowbuf};
    cleanup_pgresult PGresult *lock = NULL;
    cleanup_free char *hex = NULL;
    if (pg_begin(conn, err) < 0)
        return err_wrap(err, "contest %s", slug);
    if (pg_exec(conn, &stmt_contest_ensure, pe, NULL, err) < 0 ||
        pg_exec(conn, &stmt_contest_lock, ps, &lock, err) < 0)
        goto fail;
    gam_contest_state(c, now, pg_get_int64(lock, 0, 2), pg_get_int64(lock, 0, 3), &now_st);
    hex = state_hex(&now_st);
    bool def_changed = strcmp(pg_get(lock, 0, 0), c->content_hash) != 0;
    bool state_changed = strcmp(pg_get(lock, 0, 1), hex) != 0;
    if (def_changed && announce_def(conn, c, now, err) < 0)
        goto fail;
    if (state_changed) {
        arena_t ar = {0};
        ProtobufCAllocator a;
        arena_pb_allocator(&ar, &a);
        Dojo__Gamification__V1__ContestEvent ev = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
        ev.type = "state";
        ev.id = "";
        ev.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_STATE;
        ev.state = gam_state_msg(&a, &now_st);
        int rc = gam_event_add(conn, slug, &ev, true, true, "", now, err);
        arena_release(&ar);
        if (rc < 0)
            goto fail;
    }
    const char *pa[] = {slug, c->content_hash, hex};
    if (pg_exec(conn, &stmt_contest_announced, pa, NULL, err) < 0 || pg_commit(conn, err) < 0)
        goto fail;
    if (st)
        *st = now_st;
    if (state_changed || def_changed) {
        LOG_INFO("contest announced", "contest=%s definition=%s state=%s", slug,
                 def_changed ? "changed" : "same", state_changed ? "changed" : "same");
        gam_board_touch(g, slug);
    }
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "contest %s", slug);
}

/* ------------------------------------------------------------------------
 * Teams
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_team_get = {
    .name = "game_contest_team_get",
    .sql = "SELECT id, name, organization_id, array_to_json(group_ids)::text, hidden, "
           "join_code, " GAM_US(
               "created_at") " FROM game.contest_teams WHERE contest = $1 AND id = $2",
    .nparams = 2,
};

static const pg_stmt_t stmt_team_members = {
    .name = "game_contest_team_members",
    .sql = "SELECT m.user_id::text, coalesce(p.display_name, m.user_id::text) "
           "FROM game.contest_members m LEFT JOIN game.profiles p ON p.user_id = m.user_id "
           "WHERE m.contest = $1 AND m.team_id = $2 ORDER BY m.joined_at, m.user_id",
    .nparams = 2,
};

static void strings_of_json(ProtobufCAllocator *a, const char *text, char ***out, size_t *n)
{
    cleanup_jsonv json_t *arr = json_loads(text, 0, NULL);
    *n = 0;
    *out = gam_new(a, (json_array_size(arr) + 1) * sizeof **out);
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (json_is_string(json_array_get(arr, i)))
            (*out)[(*n)++] = gam_strdup(a, json_string_value(json_array_get(arr, i)));
}

static Dojo__Gamification__V1__ContestTeam *team_of_row(ProtobufCAllocator *a, const PGresult *r,
                                                        int row, bool full)
{
    Dojo__Gamification__V1__ContestTeam *t =
        GAM_NEW(a, Dojo__Gamification__V1__ContestTeam, DOJO__GAMIFICATION__V1__CONTEST_TEAM__INIT);
    t->id = gam_strdup(a, pg_get(r, row, 0));
    t->name = gam_strdup(a, pg_get(r, row, 1));
    t->organization_id = gam_strdup(a, pg_get(r, row, 2));
    strings_of_json(a, pg_get(r, row, 3), &t->group_ids, &t->n_group_ids);
    t->hidden = pg_get_bool(r, row, 4);
    t->join_code = full ? gam_strdup(a, pg_get(r, row, 5)) : "";
    t->created_at = ts_msg(a, pg_get_int64(r, row, 6));
    return t;
}

static int team_members(ProtobufCAllocator *a, pg_conn_t *conn, const char *slug,
                        Dojo__Gamification__V1__ContestTeam *t, err_t **err)
{
    cleanup_pgresult PGresult *m = NULL;
    const char *p[] = {slug, t->id};
    if (pg_exec(conn, &stmt_team_members, p, &m, err) < 0)
        return err_wrap(err, "team %s members", t->id);
    int n = PQntuples(m);
    t->members = gam_new(a, ((size_t)n + 1) * sizeof *t->members);
    for (int i = 0; i < n; i++) {
        Dojo__Gamification__V1__ContestMember *x = GAM_NEW(
            a, Dojo__Gamification__V1__ContestMember, DOJO__GAMIFICATION__V1__CONTEST_MEMBER__INIT);
        x->user_id = gam_strdup(a, pg_get(m, i, 0));
        x->display_name = gam_strdup(a, pg_get(m, i, 1));
        x->team_id = gam_strdup(a, t->id);
        t->members[t->n_members++] = x;
    }
    return 0;
}

int gam_team_msg(ProtobufCAllocator *a, pg_conn_t *conn, const char *slug, const char *team_id,
                 bool full, Dojo__Gamification__V1__ContestTeam **out, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug, team_id};
    if (pg_exec(conn, &stmt_team_get, p, &r, err) < 0)
        return err_wrap(err, "team %s", team_id);
    if (PQntuples(r) == 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "team_id: no team \"%s\"", team_id);
    *out = team_of_row(a, r, 0, full);
    return full ? team_members(a, conn, slug, *out, err) : 0;
}

/* The team's event ("teams"), and one "persons" and "accounts" event per
 * member (the jury's feed). */
static int announce_team(pg_conn_t *conn, const char *slug, const char *team_id, int64_t now,
                         err_t **err)
{
    arena_t ar = {0};
    ProtobufCAllocator a;
    arena_pb_allocator(&ar, &a);
    Dojo__Gamification__V1__ContestTeam *full = NULL, *pub = NULL;
    int rc = -1;
    if (gam_team_msg(&a, conn, slug, team_id, true, &full, err) < 0 ||
        gam_team_msg(&a, conn, slug, team_id, false, &pub, err) < 0)
        goto done;
    Dojo__Gamification__V1__ContestEvent ev = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
    ev.type = "teams";
    ev.id = pub->id;
    ev.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_TEAM;
    ev.team = pub;
    if (gam_event_add(conn, slug, &ev, true, !pub->hidden, "", now, err) < 0)
        goto done;
    for (size_t i = 0; i < full->n_members; i++) {
        static const char *const types[] = {"persons", "accounts"};
        for (int k = 0; k < 2; k++) {
            Dojo__Gamification__V1__ContestEvent me = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
            me.type = (char *)types[k];
            me.id = full->members[i]->user_id;
            me.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_MEMBER;
            me.member = full->members[i];
            if (gam_event_add(conn, slug, &me, true, false, "", now, err) < 0)
                goto done;
        }
    }
    rc = 0;
done:
    arena_release(&ar);
    return rc;
}

/* ------------------------------------------------------------------------
 * Views
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_thaw_of = {
    .name = "game_contest_thaw_of",
    .sql = "SELECT " GAM_US("thawed_at") ", " GAM_US(
        "finalized_at") " FROM game.contests WHERE slug = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_team_count = {
    .name = "game_contest_team_count",
    .sql = "SELECT count(*) FROM game.contest_teams WHERE contest = $1 AND NOT hidden",
    .nparams = 1,
};

/* The jury's thaw and finalisation (0 when none). */
static int jury_times(pg_conn_t *conn, const char *slug, int64_t *thawed, int64_t *finalized,
                      err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {slug};
    *thawed = *finalized = 0;
    if (pg_exec(conn, &stmt_thaw_of, p, &r, err) < 0)
        return err_wrap(err, "contest %s", slug);
    if (PQntuples(r) == 1) {
        *thawed = pg_get_int64(r, 0, 0);
        *finalized = pg_get_int64(r, 0, 1);
    }
    return 0;
}

static int view_of(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const identity_t *id,
                   Dojo__Content__V1__Contest *c, int64_t now,
                   Dojo__Gamification__V1__ContestView **out, err_t **err)
{
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    if (gam_contest_sync(g, conn, c, now, NULL, err) < 0)
        return -1;
    gam_access_t acc;
    if (gam_contest_access(g, conn, id, c->slug, &acc, err) < 0)
        return -1;
    int64_t thawed, finalized;
    if (jury_times(conn, c->slug, &thawed, &finalized, err) < 0)
        return -1;
    gam_state_t st;
    gam_contest_state(c, now, thawed, finalized, &st);
    Dojo__Gamification__V1__ContestView *v = RPC_NEW(call, Dojo__Gamification__V1__ContestView,
                                                     DOJO__GAMIFICATION__V1__CONTEST_VIEW__INIT);
    if (acc.level != ACCESS_JURY)
        c->invite_code_sha256 = "";
    v->contest = c;
    v->state = gam_state_msg(&a, &st);
    v->access = acc.level;
    if (acc.level == ACCESS_TEAM &&
        gam_team_msg(&a, conn, c->slug, acc.team_id, true, &v->my_team, err) < 0)
        return -1;
    int64_t end = gam_contest_end_us(c);
    v->can_register = id->kind == IDENTITY_USER && acc.level == ACCESS_PUBLIC &&
                      c->registration != REG_CLOSED && (end == 0 || now < end);
    cleanup_pgresult PGresult *n = NULL;
    const char *p[] = {c->slug};
    if (pg_exec(conn, &stmt_team_count, p, &n, err) < 0)
        return err_wrap(err, "contest %s", c->slug);
    v->team_count = (int32_t)pg_get_int64(n, 0, 0);
    v->now = gam_timestamp(call, now);
    *out = v;
    return 0;
}

int gam_rpc_get_contest_view(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetContestViewRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_of_call(g->ids, call, &id, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (req->min_version > 0 && req->slug)
        gam_contest_def_require(g, req->slug, req->min_version);
    if (gam_contest_def(g, req->slug, &a, &c, err) < 0 || gam_conn(g, &conn, err) < 0)
        return -1;
    Dojo__Gamification__V1__GetContestViewResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetContestViewResponse,
                DOJO__GAMIFICATION__V1__GET_CONTEST_VIEW_RESPONSE__INIT);
    if (view_of(g, call, conn, &id, c, gam_now_us(g), &resp->view, err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
}

int gam_rpc_list_contest_views(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    identity_t id;
    if (identity_of_call(g->ids, call, &id, err) < 0)
        return -1;
    Dojo__Content__V1__ListContestsRequest lreq = DOJO__CONTENT__V1__LIST_CONTESTS_REQUEST__INIT;
    rpc_call_opts_t o = {
        .timeout_ms = 3000, .idempotent = true, .metadata = identity_service_metadata(g->ids)};
    cleanup_pb ProtobufCMessage *lresp_msg = NULL;
    if (rpc_client_call(g->content, &dojo__content__v1__content__descriptor, "ListContests",
                        &lreq.base, &lresp_msg, &o, err) < 0)
        return err_wrap(err, "list contests");
    const Dojo__Content__V1__ListContestsResponse *lr = (const void *)lresp_msg;
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (gam_conn(g, &conn, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListContestViewsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListContestViewsResponse,
                DOJO__GAMIFICATION__V1__LIST_CONTEST_VIEWS_RESPONSE__INIT);
    resp->views = rpc_alloc(call, (lr->n_contests + 1) * sizeof *resp->views);
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    int64_t now = gam_now_us(g);
    for (size_t i = 0; i < lr->n_contests; i++) {
        /* A copy in the call's arena (the reply is freed before ours is sent). */
        size_t len = protobuf_c_message_get_packed_size(&lr->contests[i]->base);
        uint8_t *buf = rpc_alloc(call, len + 1);
        protobuf_c_message_pack(&lr->contests[i]->base, buf);
        Dojo__Content__V1__Contest *c = dojo__content__v1__contest__unpack(&a, len, buf);
        if (c == NULL || view_of(g, call, conn, &id, c, now, &resp->views[resp->n_views], err) < 0)
            return c ? -1 : err_set(err, GRPC_STATUS_INTERNAL, "contest does not decode");
        resp->n_views++;
    }
    *out = &resp->base;
    return 0;
}

/* ------------------------------------------------------------------------
 * Registration and the jury's team edits
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_next_team = {
    .name = "game_contest_next_team",
    .sql = "UPDATE game.contests SET next_team = next_team + 1 WHERE slug = $1 "
           "RETURNING next_team - 1",
    .nparams = 1,
};

static const pg_stmt_t stmt_team_insert = {
    .name = "game_contest_team_insert",
    .sql = "INSERT INTO game.contest_teams (contest, id, name, organization_id, group_ids, hidden, "
           "join_code, created_at) VALUES ($1, $2, $3, $4, "
           "ARRAY(SELECT json_array_elements_text($5::json)), $6::bool, $7, " GAM_TS(8) ")",
    .nparams = 8,
};

static const pg_stmt_t stmt_team_update = {
    .name = "game_contest_team_update",
    .sql = "UPDATE game.contest_teams SET name = $3, organization_id = $4, "
           "group_ids = ARRAY(SELECT json_array_elements_text($5::json)), hidden = $6::bool "
           "WHERE contest = $1 AND id = $2",
    .nparams = 6,
};

static const pg_stmt_t stmt_team_by_code = {
    .name = "game_contest_team_by_code",
    .sql =
        "SELECT t.id, (SELECT count(*) FROM game.contest_members m WHERE m.contest = t.contest "
        "AND m.team_id = t.id) FROM game.contest_teams t WHERE t.contest = $1 AND t.join_code = $2 "
        "FOR UPDATE",
    .nparams = 2,
};

static const pg_stmt_t stmt_member_add = {
    .name = "game_contest_member_add",
    .sql = "INSERT INTO game.contest_members (contest, user_id, team_id, joined_at) "
           "VALUES ($1, $2::uuid, NULLIF($3, ''), " GAM_TS(4) ") ON CONFLICT DO NOTHING "
                                                              "RETURNING 1",
    .nparams = 4,
};

static const pg_stmt_t stmt_members_clear = {
    .name = "game_contest_members_clear",
    .sql = "DELETE FROM game.contest_members WHERE contest = $1 AND team_id = $2",
    .nparams = 2,
};

static const pg_stmt_t stmt_profile_exists = {
    .name = "game_contest_profile_exists",
    .sql = "SELECT display_name FROM game.profiles WHERE user_id = $1::uuid",
    .nparams = 1,
};

static void join_code(char out[11])
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    unsigned char rnd[10];
    randombytes_buf(rnd, sizeof rnd);
    for (int i = 0; i < 10; i++)
        out[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
    out[10] = '\0';
}

static int check_team_name(const char *name, err_t **err)
{
    long n = text_utf8_length(name);
    if (n < 1 || n > 64 || text_has_control(name))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "team_name: must be 1-64 characters without control characters");
    return 0;
}

static bool has_org(const Dojo__Content__V1__Contest *c, const char *id)
{
    for (size_t i = 0; i < c->n_organizations; i++)
        if (!strcmp(c->organizations[i]->id, id))
            return true;
    return false;
}

static bool has_group(const Dojo__Content__V1__Contest *c, const char *id)
{
    for (size_t i = 0; i < c->n_groups; i++)
        if (!strcmp(c->groups[i]->id, id))
            return true;
    return false;
}

/* A new team in the open transaction: *id_out gets its id. */
static int team_create(pg_conn_t *conn, const char *slug, const char *name, const char *org,
                       const char *groups_json, bool hidden, int64_t now, char id_out[24],
                       err_t **err)
{
    cleanup_pgresult PGresult *n = NULL;
    const char *ps[] = {slug};
    if (pg_exec(conn, &stmt_next_team, ps, &n, err) < 0)
        return -1;
    snprintf(id_out, 24, "%s", pg_get(n, 0, 0));
    char code[11], nowbuf[24];
    join_code(code);
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    const char *p[] = {slug, id_out, name, org, groups_json, hidden ? "true" : "false",
                       code, nowbuf};
    return pg_exec(conn, &stmt_team_insert, p, NULL, err);
}

int gam_rpc_register_contest(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__RegisterContestRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (id.kind != IDENTITY_USER)
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED, "learners register themselves");
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    int64_t now = gam_now_us(g);
    if (gam_contest_def(g, req->slug, &a, &c, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_contest_sync(g, conn, c, now, NULL, err) < 0)
        return -1;
    int64_t end = gam_contest_end_us(c);
    if (end && now >= end)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "the contest is over");
    if (c->registration == REG_CLOSED)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "registration is closed: the jury adds the teams");
    if (c->registration == REG_INVITE && req->join_code[0] == '\0') {
        unsigned char h[crypto_hash_sha256_BYTES];
        char hex[crypto_hash_sha256_BYTES * 2 + 1];
        crypto_hash_sha256(h, (const unsigned char *)req->invite_code, strlen(req->invite_code));
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        if (req->invite_code[0] == '\0' || sodium_memcmp(hex, c->invite_code_sha256, 64) != 0)
            return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                           "invite_code: not this contest's invitation code");
    }
    if (req->organization_id[0] && !has_org(c, req->organization_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "organization_id: not an organisation of this contest");
    cleanup_pgresult PGresult *prof = NULL;
    const char *pu[] = {id.claims.sub};
    if (pg_exec(conn, &stmt_profile_exists, pu, &prof, err) < 0)
        return err_wrap(err, "register");
    const char *name = req->team_name;
    if (name[0] == '\0')
        name = PQntuples(prof) ? pg_get(prof, 0, 0) : id.claims.name;
    if (req->join_code[0] == '\0' && check_team_name(name, err) < 0)
        return -1;
    char team[24] = "", nowbuf[24];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    if (pg_begin(conn, err) < 0)
        return err_wrap(err, "register");
    cleanup_pgresult PGresult *added = NULL, *found = NULL;
    if (req->join_code[0]) {
        const char *pj[] = {c->slug, req->join_code};
        if (pg_exec(conn, &stmt_team_by_code, pj, &found, err) < 0)
            goto fail;
        if (PQntuples(found) == 0) {
            pg_rollback(conn);
            return err_set(err, GRPC_STATUS_NOT_FOUND, "join_code: no team has this code");
        }
        if (pg_get_int64(found, 0, 1) >= (c->max_team_size > 0 ? c->max_team_size : 1)) {
            pg_rollback(conn);
            return err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "the team is full (%d members)",
                           c->max_team_size > 0 ? c->max_team_size : 1);
        }
        snprintf(team, sizeof team, "%s", pg_get(found, 0, 0));
    } else if (team_create(conn, c->slug, name, req->organization_id, "[]", false, now, team, err) <
               0) {
        goto fail;
    }
    const char *pm[] = {c->slug, id.claims.sub, team, nowbuf};
    if (pg_exec(conn, &stmt_member_add, pm, &added, err) < 0)
        goto fail;
    if (PQntuples(added) == 0) {
        pg_rollback(conn);
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "you are registered for this contest already");
    }
    if (announce_team(conn, c->slug, team, now, err) < 0 || pg_commit(conn, err) < 0)
        goto fail;
    LOG_INFO("contest registration", "contest=%s team=%s user=%s joined=%d", c->slug, team,
             id.claims.sub, req->join_code[0] != '\0');
    gam_board_touch(g, c->slug);
    Dojo__Gamification__V1__RegisterContestResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RegisterContestResponse,
                DOJO__GAMIFICATION__V1__REGISTER_CONTEST_RESPONSE__INIT);
    if (gam_team_msg(&a, conn, c->slug, team, true, &resp->team, err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "register");
}

int gam_rpc_put_contest_team(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__PutContestTeamRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    int64_t now = gam_now_us(g);
    gam_access_t acc;
    if (gam_contest_open(g, call, &id, req->slug, now, &c, &conn, NULL, &acc, err) < 0 ||
        gam_require_jury(&acc, err) < 0)
        return -1;
    if (check_team_name(req->name, err) < 0)
        return -1;
    if (req->organization_id[0] && !has_org(c, req->organization_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "organization_id: not an organisation of this contest");
    cleanup_jsonv json_t *groups = json_array();
    for (size_t i = 0; i < req->n_group_ids; i++) {
        if (!has_group(c, req->group_ids[i]))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "group_ids[%zu]: not a group of this contest", i);
        json_array_append_new(groups, json_string(req->group_ids[i]));
    }
    size_t max = c->max_team_size > 0 ? (size_t)c->max_team_size : 1;
    if (!req->keep_members && req->n_member_user_ids > max)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "member_user_ids: at most %zu", max);
    for (size_t i = 0; !req->keep_members && i < req->n_member_user_ids; i++)
        if (!gam_is_uuid(req->member_user_ids[i]))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "member_user_ids[%zu]: must be a UUID", i);
    cleanup_free char *groups_text = json_dumps(groups, JSON_COMPACT);
    char team[24] = "", nowbuf[24];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    if (pg_begin(conn, err) < 0)
        return err_wrap(err, "put team");
    if (req->team_id[0]) {
        snprintf(team, sizeof team, "%.23s", req->team_id);
        cleanup_pgresult PGresult *r = NULL;
        const char *p[] = {c->slug,     team,
                           req->name,   req->organization_id,
                           groups_text, req->hidden ? "true" : "false"};
        if (pg_exec(conn, &stmt_team_update, p, &r, err) < 0)
            goto fail;
        cleanup_pgresult PGresult *chk = NULL;
        const char *pc[] = {c->slug, team};
        if (pg_exec(conn, &stmt_team_get, pc, &chk, err) < 0)
            goto fail;
        if (PQntuples(chk) == 0) {
            pg_rollback(conn);
            return err_set(err, GRPC_STATUS_NOT_FOUND, "team_id: no team \"%s\"", team);
        }
    } else if (team_create(conn, c->slug, req->name, req->organization_id, groups_text, req->hidden,
                           now, team, err) < 0) {
        goto fail;
    }
    if (!req->keep_members) {
        const char *pc[] = {c->slug, team};
        if (pg_exec(conn, &stmt_members_clear, pc, NULL, err) < 0)
            goto fail;
        for (size_t i = 0; i < req->n_member_user_ids; i++) {
            cleanup_pgresult PGresult *prof = NULL, *added = NULL;
            const char *pu[] = {req->member_user_ids[i]};
            if (pg_exec(conn, &stmt_profile_exists, pu, &prof, err) < 0)
                goto fail;
            if (PQntuples(prof) == 0) {
                pg_rollback(conn);
                return err_set(err, GRPC_STATUS_NOT_FOUND, "member_user_ids[%zu]: no such learner",
                               i);
            }
            const char *pm[] = {c->slug, req->member_user_ids[i], team, nowbuf};
            if (pg_exec(conn, &stmt_member_add, pm, &added, err) < 0)
                goto fail;
            if (PQntuples(added) == 0) {
                pg_rollback(conn);
                return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                               "member_user_ids[%zu]: already in another team or the jury", i);
            }
        }
    }
    if (announce_team(conn, c->slug, team, now, err) < 0 ||
        gam_audit_add(conn, c->slug, &acc, "team", team, 0, 0, req->name, now, err) < 0 ||
        pg_commit(conn, err) < 0)
        goto fail;
    gam_board_touch(g, c->slug);
    Dojo__Gamification__V1__PutContestTeamResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__PutContestTeamResponse,
                DOJO__GAMIFICATION__V1__PUT_CONTEST_TEAM_RESPONSE__INIT);
    if (gam_team_msg(&a, conn, c->slug, team, true, &resp->team, err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "put team");
}

static const pg_stmt_t stmt_teams_list = {
    .name = "game_contest_teams_list",
    .sql = "SELECT id, name, organization_id, array_to_json(group_ids)::text, hidden, "
           "join_code, " GAM_US("created_at") " FROM game.contest_teams WHERE contest = $1 AND "
                                              "(NOT hidden OR $2::bool) "
                                              "ORDER BY length(id), id",
    .nparams = 2,
};

int gam_rpc_list_contest_teams(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ListContestTeamsRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_of_call(g->ids, call, &id, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    if (gam_contest_open(g, call, &id, req->slug, gam_now_us(g), &c, &conn, NULL, &acc, err) < 0)
        return -1;
    bool jury = acc.level == ACCESS_JURY;
    cleanup_pgresult PGresult *r = NULL;
    const char *p[] = {c->slug, jury ? "true" : "false"};
    if (pg_exec(conn, &stmt_teams_list, p, &r, err) < 0)
        return err_wrap(err, "list teams");
    Dojo__Gamification__V1__ListContestTeamsResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ListContestTeamsResponse,
                DOJO__GAMIFICATION__V1__LIST_CONTEST_TEAMS_RESPONSE__INIT);
    int n = PQntuples(r);
    resp->teams = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->teams);
    for (int i = 0; i < n; i++) {
        bool own = acc.level == ACCESS_TEAM && !strcmp(pg_get(r, i, 0), acc.team_id);
        Dojo__Gamification__V1__ContestTeam *t = team_of_row(&a, r, i, jury || own);
        if ((jury || own) && team_members(&a, conn, c->slug, t, err) < 0)
            return -1;
        resp->teams[resp->n_teams++] = t;
    }
    resp->access = acc.level;
    *out = &resp->base;
    return 0;
}

static const pg_stmt_t stmt_jury_list = {
    .name = "game_contest_jury_list",
    .sql = "SELECT m.user_id::text, coalesce(p.display_name, m.user_id::text) "
           "FROM game.contest_members m LEFT JOIN game.profiles p ON p.user_id = m.user_id "
           "WHERE m.contest = $1 AND m.team_id IS NULL ORDER BY m.joined_at, m.user_id",
    .nparams = 1,
};

static const pg_stmt_t stmt_jury_remove = {
    .name = "game_contest_jury_remove",
    .sql = "DELETE FROM game.contest_members WHERE contest = $1 AND user_id = $2::uuid "
           "AND team_id IS NULL",
    .nparams = 2,
};

int gam_rpc_set_contest_jury(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__SetContestJuryRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_require_signed_in(g->ids, call, &id, err) < 0)
        return -1;
    if (!gam_is_uuid(req->user_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    int64_t now = gam_now_us(g);
    gam_access_t acc;
    if (gam_contest_open(g, call, &id, req->slug, now, &c, &conn, NULL, &acc, err) < 0 ||
        gam_require_jury(&acc, err) < 0)
        return -1;
    char nowbuf[24];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    if (pg_begin(conn, err) < 0)
        return err_wrap(err, "set jury");
    if (req->jury) {
        cleanup_pgresult PGresult *prof = NULL, *added = NULL;
        const char *pu[] = {req->user_id};
        if (pg_exec(conn, &stmt_profile_exists, pu, &prof, err) < 0)
            goto fail;
        if (PQntuples(prof) == 0) {
            pg_rollback(conn);
            return err_set(err, GRPC_STATUS_NOT_FOUND, "user_id: no such learner");
        }
        const char *pm[] = {c->slug, req->user_id, "", nowbuf};
        if (pg_exec(conn, &stmt_member_add, pm, &added, err) < 0)
            goto fail;
        cleanup_pgresult PGresult *who = NULL;
        const char *pw[] = {c->slug, req->user_id};
        if (PQntuples(added) == 0 &&
            (pg_exec(conn, &stmt_member_of, pw, &who, err) < 0 || pg_get(who, 0, 0)[0] != '\0')) {
            pg_rollback(conn);
            return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                           "user_id: a member of one of the contest's teams");
        }
        if (PQntuples(added) == 1) {
            Dojo__Gamification__V1__ContestMember m = DOJO__GAMIFICATION__V1__CONTEST_MEMBER__INIT;
            m.user_id = (char *)req->user_id;
            m.display_name = (char *)pg_get(prof, 0, 0);
            m.jury = true;
            static const char *const types[] = {"persons", "accounts"};
            for (int k = 0; k < 2; k++) {
                Dojo__Gamification__V1__ContestEvent ev =
                    DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
                ev.type = (char *)types[k];
                ev.id = (char *)req->user_id;
                ev.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_MEMBER;
                ev.member = &m;
                if (gam_event_add(conn, c->slug, &ev, true, false, "", now, err) < 0)
                    goto fail;
            }
        }
    } else {
        const char *pr[] = {c->slug, req->user_id};
        if (pg_exec(conn, &stmt_jury_remove, pr, NULL, err) < 0)
            goto fail;
        static const char *const types[] = {"persons", "accounts"};
        for (int k = 0; k < 2; k++) {
            Dojo__Gamification__V1__ContestEvent ev = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
            ev.type = (char *)types[k];
            ev.id = (char *)req->user_id; /* no data: deleted */
            if (gam_event_add(conn, c->slug, &ev, true, false, "", now, err) < 0)
                goto fail;
        }
    }
    if (gam_audit_add(conn, c->slug, &acc, "jury", req->user_id, 0, 0,
                      req->jury ? "added" : "removed", now, err) < 0 ||
        pg_commit(conn, err) < 0)
        goto fail;
    cleanup_pgresult PGresult *r = NULL;
    const char *pl[] = {c->slug};
    if (pg_exec(conn, &stmt_jury_list, pl, &r, err) < 0)
        return err_wrap(err, "set jury");
    Dojo__Gamification__V1__SetContestJuryResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__SetContestJuryResponse,
                DOJO__GAMIFICATION__V1__SET_CONTEST_JURY_RESPONSE__INIT);
    int n = PQntuples(r);
    resp->jury = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->jury);
    for (int i = 0; i < n; i++) {
        Dojo__Gamification__V1__ContestMember *m =
            RPC_NEW(call, Dojo__Gamification__V1__ContestMember,
                    DOJO__GAMIFICATION__V1__CONTEST_MEMBER__INIT);
        m->user_id = rpc_strdup(call, pg_get(r, i, 0));
        m->display_name = rpc_strdup(call, pg_get(r, i, 1));
        m->jury = true;
        resp->jury[resp->n_jury++] = m;
    }
    *out = &resp->base;
    return 0;
fail:
    pg_rollback(conn);
    return err_wrap(err, "set jury");
}

/* ------------------------------------------------------------------------
 * The audit log
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_audit_add = {
    .name = "game_contest_audit_add",
    .sql =
        "INSERT INTO game.contest_audit (contest, at, actor, actor_name, action, target, "
        "from_verdict, to_verdict, reason) VALUES ($1, " GAM_TS(
            2) ", $3, "
               "coalesce((SELECT display_name FROM game.profiles WHERE user_id::text = $3), $3), "
               "$4, $5, $6::smallint, $7::smallint, $8)",
    .nparams = 8,
};

int gam_audit_add(pg_conn_t *conn, const char *slug, const gam_access_t *acc, const char *action,
                  const char *target, int from_verdict, int to_verdict, const char *reason,
                  int64_t now, err_t **err)
{
    char nowbuf[24], from[8], to[8];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    snprintf(from, sizeof from, "%d", from_verdict);
    snprintf(to, sizeof to, "%d", to_verdict);
    const char *p[] = {slug, nowbuf, acc->actor, action, target, from, to, reason ? reason : ""};
    return pg_exec(conn, &stmt_audit_add, p, NULL, err);
}
