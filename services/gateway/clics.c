/* clics.c — the ICPC CLICS Contest API (version 2026-01), read-only, at
 * /api/clics: so a resolver, a contest data server or a shadowing CCS can
 * read a Dojo contest.
 *
 *   GET /api/clics                              API information
 *   GET /api/clics/contests[/{id}]              contests (open-ended practice
 *                                               rounds are no CLICS contests)
 *   GET /api/clics/contests/{id}/{endpoint}[/{object id}]
 *       access, judgement-types, languages, problems, groups, organizations,
 *       teams, persons, accounts, state, submissions, judgements, runs,
 *       clarifications, awards, scoreboard
 *   GET /api/clics/contests/{id}/event-feed[?since_token=T][&stream=false]
 *                                               NDJSON, held open
 *
 * Who sees what is gamification's decision, as for /api/v1/contests: the
 * caller's token (Bearer, the dojo_at cookie, or HTTP basic with the
 * account's login and password, as the spec asks) or no credentials at all
 * (public). The public never sees submissions, judgements or runs; a team
 * sees its own; the jury everything. Problems appear at the start (the jury
 * sees them before). Collections filter on their ID properties
 * (?team_id=7, ?to_team_id= for null). Errors are the spec's
 * {"code": <status>, "message": "..."}; an unknown since_token is 400.
 *
 * Every object is made by one function from its gamification message, for
 * the REST endpoints and the event feed alike, so that replaying the feed
 * gives exactly what the endpoints return. The feed answers what happened
 * so far and then stays open (feed.c holds it without a libmicrohttpd
 * thread), with what happens next and a newline as keep-alive; with
 * stream=false it ends at once (tools that poll continue with since_token =
 * the last token). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

#define GAME_SVC (&dojo__gamification__v1__gamification__descriptor)
#define CONTENT_SVC (&dojo__content__v1__content__descriptor)
#define ACC_TEAM DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_TEAM
#define ACC_JURY DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_JURY
#define IOI DOJO__CONTENT__V1__SCORING_KIND__SCORING_KIND_IOI

/* Pages of ListContestEvents one feed request reads at most. */
#define FEED_MAX_PAGES 200

typedef Dojo__Gamification__V1__ContestView view_t;

/* ------------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * HTTP basic authentication, as the spec asks of every provider: the
 * account's login and password, exchanged for an access token at auth
 * (Login) and kept here until shortly before the token expires, so a tool
 * polling the API logs in once per token rather than once per request.
 * Keyed by a keyed hash of the credentials; nothing else is kept.
 * ------------------------------------------------------------------------ */

#define BASIC_SLOTS 64

static struct {
    pthread_mutex_t lock;
    unsigned char key[crypto_generichash_KEYBYTES];
    bool keyed;
    struct { unsigned char hash[32]; char token[2048]; int64_t until_us; } slot[BASIC_SLOTS];
    unsigned next;
} basic = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int basic_token(gw_req_t *r, const char *b64, char *tok, size_t cap, err_t **err)
{
    unsigned char raw[512];
    size_t n = 0;
    if (sodium_base642bin(raw, sizeof raw - 1, b64, strlen(b64), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "malformed basic credentials");
    raw[n] = '\0';
    char *colon = memchr(raw, ':', n);
    if (colon == NULL || memchr(raw, '\0', n) != NULL)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "malformed basic credentials");
    unsigned char hash[32];
    pthread_mutex_lock(&basic.lock);
    if (!basic.keyed) {
        randombytes_buf(basic.key, sizeof basic.key);
        basic.keyed = true;
    }
    crypto_generichash(hash, sizeof hash, raw, n, basic.key, sizeof basic.key);
    int64_t now = wall_us();
    for (int i = 0; i < BASIC_SLOTS; i++)
        if (basic.slot[i].until_us > now && sodium_memcmp(basic.slot[i].hash, hash, 32) == 0) {
            snprintf(tok, cap, "%s", basic.slot[i].token);
            pthread_mutex_unlock(&basic.lock);
            sodium_memzero(raw, sizeof raw);
            return 0;
        }
    pthread_mutex_unlock(&basic.lock);
    *colon = '\0';
    Dojo__Auth__V1__LoginRequest req = DOJO__AUTH__V1__LOGIN_REQUEST__INIT;
    req.login = (char *)raw;
    req.password = colon + 1;
    req.client_ip = r->client_ip;
    req.user_agent = (char *)"clics";
    cleanup_pb Dojo__Auth__V1__TokenPair *pair = NULL;
    rpc_call_opts_t o = gw_opts(r, NULL, false);
    int rc = rpc_client_call(r->gw->auth, &dojo__auth__v1__auth__descriptor, "Login", &req.base,
                             (ProtobufCMessage **)&pair, &o, err);
    sodium_memzero(raw, sizeof raw);
    if (rc < 0)
        return -1;
    if (pair->access_token == NULL || strlen(pair->access_token) >= cap)
        return err_set(err, GRPC_STATUS_INTERNAL, "Login: no usable access token");
    snprintf(tok, cap, "%s", pair->access_token);
    int64_t until = pair->access_expires_at ? pair->access_expires_at->unix_micros - 30000000 : 0;
    pthread_mutex_lock(&basic.lock);
    unsigned i = basic.next++ % BASIC_SLOTS;
    memcpy(basic.slot[i].hash, hash, 32);
    snprintf(basic.slot[i].token, sizeof basic.slot[i].token, "%s", tok);
    basic.slot[i].until_us = until;
    pthread_mutex_unlock(&basic.lock);
    return 0;
}

/* Signed in by Bearer, the dojo_at cookie or HTTP basic; else public. */
static int viewer(gw_req_t *r, err_t **err)
{
    const char *authz = gw_header(r, "Authorization");
    if (authz && strncasecmp(authz, "Basic ", 6) == 0) {
        char tok[2048];
        if (basic_token(r, authz + 6, tok, sizeof tok, err) < 0)
            return -1;
        if (identity_verify_token(r->gw->ids, tok, &r->claims, err) < 0)
            return -1;
        r->token = arena_strdup(&r->arena, tok);
        r->authed = true;
        return 0;
    }
    const char *at = gw_cookie(r, "dojo_at");
    if (authz || (at && *at))
        return gw_req_auth(r, err);
    return 0;
}

static int game(gw_req_t *r, const char *method, const ProtobufCMessage *req,
                ProtobufCMessage **out, err_t **err)
{
    static const char *const anonymous[] = {NULL};
    rpc_call_opts_t o = gw_opts(r, r->authed ? gw_md_user(r) : anonymous, true);
    return rpc_client_call(r->gw->game, GAME_SVC, method, req, out, &o, err);
}

/* ------------------------------------------------------------------------
 * Times and small values
 * ------------------------------------------------------------------------ */

/* RELTIME "(-)h:mm:ss.uuu". */
static json_t *reltime(int64_t ms)
{
    char buf[40];
    const char *sign = ms < 0 ? "-" : "";
    uint64_t a = ms < 0 ? (uint64_t)(-ms) : (uint64_t)ms;
    snprintf(buf, sizeof buf, "%s%" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64, sign,
             a / 3600000, a / 60000 % 60, a / 1000 % 60, a % 1000);
    return json_string(buf);
}

static bool set(const Dojo__Common__V1__Timestamp *t) { return t && t->unix_micros != 0; }

static int64_t start_us(const view_t *v)
{
    return v->contest->start ? v->contest->start->unix_micros : 0;
}

/* Contest time of an absolute time, or null. */
static json_t *contest_time(const view_t *v, const Dojo__Common__V1__Timestamp *t)
{
    return set(t) ? reltime((t->unix_micros - start_us(v)) / 1000) : json_null();
}

static json_t *id_or_null(const char *s) { return s && *s ? gw_json_text(s) : json_null(); }

/* CLICS judgement type of a Dojo verdict (null: not judged yet). */
static const char *judgement_type(int v)
{
    switch (v) {
    case DOJO__COMMON__V1__VERDICT__VERDICT_AC: return "AC";
    case DOJO__COMMON__V1__VERDICT__VERDICT_WA: return "WA";
    case DOJO__COMMON__V1__VERDICT__VERDICT_TLE: return "TLE";
    case DOJO__COMMON__V1__VERDICT__VERDICT_MLE: return "MLE";
    case DOJO__COMMON__V1__VERDICT__VERDICT_RE: return "RTE";
    case DOJO__COMMON__V1__VERDICT__VERDICT_OLE: return "OLE";
    case DOJO__COMMON__V1__VERDICT__VERDICT_CE: return "CE";
    case DOJO__COMMON__V1__VERDICT__VERDICT_IE:
    case DOJO__COMMON__V1__VERDICT__VERDICT_CANCELLED: return "JE";
    default: return NULL;
    }
}

static json_t *jt_json(int v)
{
    const char *t = judgement_type(v);
    return t ? json_string(t) : json_null();
}

/* ------------------------------------------------------------------------
 * Objects: one function per CLICS type
 * ------------------------------------------------------------------------ */

static json_t *contest_obj(const Dojo__Content__V1__Contest *c)
{
    json_t *o = json_object();
    bool ioi = c->scoring == IOI;
    json_object_set_new(o, "id", gw_json_text(c->slug));
    json_object_set_new(o, "name", gw_json_text(c->title));
    json_object_set_new(o, "formal_name", gw_json_text(*c->formal_name ? c->formal_name : c->title));
    json_object_set_new(o, "start_time", gw_json_time(c->start));
    json_object_set_new(o, "duration", reltime(c->duration_s * 1000));
    json_object_set_new(o, "scoreboard_freeze_duration", reltime((int64_t)c->freeze_minutes * 60000));
    json_object_set_new(o, "scoreboard_type", json_string(ioi ? "score" : "pass-fail"));
    if (!ioi)
        json_object_set_new(o, "penalty_time", reltime((int64_t)c->penalty_minutes * 60000));
    return o;
}

static json_t *state_obj(const Dojo__Gamification__V1__ContestState *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "started", gw_json_time(s ? s->started : NULL));
    json_object_set_new(o, "ended", gw_json_time(s ? s->ended : NULL));
    json_object_set_new(o, "frozen", gw_json_time(s ? s->frozen : NULL));
    json_object_set_new(o, "thawed", gw_json_time(s ? s->thawed : NULL));
    json_object_set_new(o, "finalized", gw_json_time(s ? s->finalized : NULL));
    json_object_set_new(o, "end_of_updates", gw_json_time(s ? s->end_of_updates : NULL));
    return o;
}

static json_t *organizations_arr(const Dojo__Content__V1__Contest *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->n_organizations; i++) {
        const Dojo__Content__V1__Organization *g = c->organizations[i];
        json_t *o = json_pack("{s:o,s:o,s:o}", "id", gw_json_text(g->id), "name",
                              gw_json_text(g->name), "formal_name",
                              gw_json_text(*g->formal_name ? g->formal_name : g->name));
        if (*g->country)
            json_object_set_new(o, "country", gw_json_text(g->country));
        if (*g->url)
            json_object_set_new(o, "url", gw_json_text(g->url));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *groups_arr(const Dojo__Content__V1__Contest *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->n_groups; i++) {
        json_t *o = json_pack("{s:o,s:o}", "id", gw_json_text(c->groups[i]->id), "name",
                              gw_json_text(c->groups[i]->name));
        if (*c->groups[i]->type)
            json_object_set_new(o, "type", gw_json_text(c->groups[i]->type));
        json_array_append_new(a, o);
    }
    return a;
}

/* The problem set with what the tasks say (time limit, test count), the
 * tasks read in one call; [] for everyone but the jury until the start. */
static json_t *problems_arr(gw_req_t *r, const Dojo__Content__V1__Contest *c, bool visible)
{
    json_t *a = json_array();
    if (!visible || c->n_problems == 0)
        return a;
    /* Without the tasks' facts (content away) the required count is 0
     * rather than the whole answer failing. */
    Dojo__Content__V1__GetTasksRequest treq = DOJO__CONTENT__V1__GET_TASKS_REQUEST__INIT;
    char **slugs = arena_alloc(&r->arena, c->n_problems * sizeof *slugs);
    for (size_t i = 0; i < c->n_problems; i++)
        slugs[i] = c->problems[i]->task_slug;
    treq.slugs = slugs;
    treq.n_slugs = c->n_problems;
    treq.include_hidden = true;
    cleanup_pb Dojo__Content__V1__GetTasksResponse *t = NULL;
    cleanup_err err_t *e = NULL;
    rpc_call_opts_t opts = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "GetTasks", &treq.base,
                        (ProtobufCMessage **)&t, &opts, &e) < 0)
        LOG_WARN("clics problems without task facts", "contest=%s error=\"%s\"", c->slug,
                 log_esc(e ? e->msg : ""));
    for (size_t i = 0; i < c->n_problems; i++) {
        const Dojo__Content__V1__ContestProblem *p = c->problems[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", gw_json_text(p->label));
        json_object_set_new(o, "label", gw_json_text(p->label));
        json_object_set_new(o, "name", gw_json_text(p->name));
        json_object_set_new(o, "ordinal", json_integer((json_int_t)i + 1));
        if (*p->rgb)
            json_object_set_new(o, "rgb", gw_json_text(p->rgb));
        if (*p->color)
            json_object_set_new(o, "color", gw_json_text(p->color));
        if (c->scoring == IOI)
            json_object_set_new(o, "max_score", json_integer(p->points ? p->points : 100));
        const Dojo__Content__V1__TaskView *task = NULL;
        for (size_t k = 0; t && k < t->n_tasks && task == NULL; k++)
            if (!strcmp(t->tasks[k]->slug, p->task_slug))
                task = t->tasks[k];
        int tests = 0;
        if (task) {
            tests = (int)task->n_sample_tests + task->hidden_test_count;
            if (task->limits && task->limits->cpu_ms)
                json_object_set_new(o, "time_limit", json_real(task->limits->cpu_ms / 1000.0));
        }
        json_object_set_new(o, "test_data_count", json_integer(tests));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *team_obj(const Dojo__Gamification__V1__ContestTeam *t)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < t->n_group_ids; i++)
        json_array_append_new(groups, gw_json_text(t->group_ids[i]));
    json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:b}", "id", gw_json_text(t->id), "label",
                          gw_json_text(t->id), "name", gw_json_text(t->name), "group_ids", groups,
                          "hidden", t->hidden);
    json_object_set_new(o, "organization_id", id_or_null(t->organization_id));
    return o;
}

/* persons and accounts (the jury's): one member. */
static json_t *person_obj(const Dojo__Gamification__V1__ContestMember *m)
{
    json_t *teams = json_array();
    if (m->team_id && *m->team_id)
        json_array_append_new(teams, gw_json_text(m->team_id));
    return json_pack("{s:o,s:o,s:o,s:s}", "id", gw_json_text(m->user_id), "name",
                     gw_json_text(m->display_name), "team_ids", teams, "role",
                     m->jury ? "staff" : "contestant");
}

static json_t *account_obj(const Dojo__Gamification__V1__ContestMember *m)
{
    json_t *o = json_pack("{s:o,s:o,s:s,s:o}", "id", gw_json_text(m->user_id), "username",
                          gw_json_text(m->user_id), "type", m->jury ? "judge" : "team",
                          "person_id", gw_json_text(m->user_id));
    json_object_set_new(o, "team_id", id_or_null(m->team_id));
    json_object_set_new(o, "name", gw_json_text(m->display_name));
    return o;
}

static json_t *submission_obj(const view_t *v, const Dojo__Gamification__V1__ContestSubmission *s)
{
    json_t *files = json_array();
    json_array_append_new(files, json_pack("{s:s,s:s}", "filename", "files.zip", "mime",
                                           "application/zip"));
    json_t *o = json_object();
    json_object_set_new(o, "id", gw_json_text(s->id));
    json_object_set_new(o, "language_id", gw_json_text(s->language));
    json_object_set_new(o, "problem_id", gw_json_text(s->problem_id));
    json_object_set_new(o, "team_id", gw_json_text(s->team_id));
    json_object_set_new(o, "time", gw_json_time(s->time));
    json_object_set_new(o, "contest_time", reltime(s->contest_time_ms));
    json_object_set_new(o, "files", files);
    (void)v;
    return o;
}

static json_t *judgement_obj(const view_t *v, const Dojo__Gamification__V1__ContestJudgement *j)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", gw_json_text(j->id));
    json_object_set_new(o, "submission_id", gw_json_text(j->submission_id));
    json_object_set_new(o, "judgement_type_id", set(j->end_time) ? jt_json(j->verdict) : json_null());
    json_object_set_new(o, "current", json_boolean(j->current));
    json_object_set_new(o, "start_time", gw_json_time(j->start_time));
    json_object_set_new(o, "start_contest_time", contest_time(v, j->start_time));
    json_object_set_new(o, "end_time", gw_json_time(j->end_time));
    json_object_set_new(o, "end_contest_time", contest_time(v, j->end_time));
    if (set(j->end_time))
        json_object_set_new(o, "max_run_time", json_real(j->max_run_ms / 1000.0));
    if (v->contest->scoring == IOI)
        json_object_set_new(o, "score", json_real(j->score));
    return o;
}

/* The runs of a finished judgement, one per test that ran, in test order
 * (a task that stops at the first failure runs no test after it). */
static void runs_of(const view_t *v, const Dojo__Gamification__V1__ContestJudgement *j, json_t *out)
{
    if (!set(j->end_time))
        return;
    for (size_t i = 0; i < j->n_tests; i++) {
        const Dojo__Gamification__V1__TestResult *t = j->tests[i];
        if (t->verdict == DOJO__COMMON__V1__VERDICT__VERDICT_NOT_RUN)
            break;
        char id[96];
        snprintf(id, sizeof id, "%s-%zu", j->id, i + 1);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "judgement_id", gw_json_text(j->id));
        json_object_set_new(o, "ordinal", json_integer((json_int_t)i + 1));
        json_object_set_new(o, "judgement_type_id", jt_json(t->verdict));
        json_object_set_new(o, "time", gw_json_time(j->end_time));
        json_object_set_new(o, "contest_time", contest_time(v, j->end_time));
        json_object_set_new(o, "run_time", json_real(t->cpu_ms / 1000.0));
        json_array_append_new(out, o);
    }
}

static json_t *clarification_obj(const Dojo__Gamification__V1__Clarification *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", gw_json_text(c->id));
    json_object_set_new(o, "from_team_id", id_or_null(c->from_team_id));
    json_object_set_new(o, "to_team_id", id_or_null(c->to_team_id));
    json_object_set_new(o, "reply_to_id", id_or_null(c->reply_to_id));
    json_object_set_new(o, "problem_id", id_or_null(c->problem_id));
    json_object_set_new(o, "text", gw_json_text(c->text));
    json_object_set_new(o, "time", gw_json_time(c->time));
    json_object_set_new(o, "contest_time", reltime(c->contest_time_ms));
    return o;
}

static json_t *award_obj(const Dojo__Gamification__V1__ContestAward *w)
{
    json_t *teams = json_array();
    for (size_t i = 0; i < w->n_team_ids; i++)
        json_array_append_new(teams, gw_json_text(w->team_ids[i]));
    return json_pack("{s:o,s:o,s:o}", "id", gw_json_text(w->id), "citation",
                     gw_json_text(w->citation), "team_ids", teams);
}

/* `token`: the newest event of the caller's feed when the board was read. */
static json_t *scoreboard_obj(const view_t *v, const Dojo__Gamification__V1__Scoreboard *sb,
                              const char *token)
{
    bool ioi = v->contest->scoring == IOI;
    json_t *rows = json_array();
    for (size_t i = 0; i < sb->n_rows; i++) {
        const Dojo__Gamification__V1__ScoreboardRow *row = sb->rows[i];
        json_t *score = ioi ? json_pack("{s:f}", "score", row->score)
                            : json_pack("{s:i,s:o}", "num_solved", row->num_solved, "total_time",
                                        reltime(row->total_minutes * 60000));
        if (row->last_time_ms >= 0)
            json_object_set_new(score, "time", reltime(row->last_time_ms));
        json_t *cells = json_array();
        for (size_t k = 0; k < row->n_problems; k++) {
            const Dojo__Gamification__V1__ScoreboardCell *c = row->problems[k];
            json_t *cell = json_pack("{s:o,s:i,s:i}", "problem_id", gw_json_text(c->problem_id),
                                     "num_judged", c->num_judged, "num_pending", c->num_pending);
            bool scored = ioi ? c->score > 0 : c->solved;
            if (ioi)
                json_object_set_new(cell, "score", json_real(c->score));
            else
                json_object_set_new(cell, "solved", json_boolean(c->solved));
            if (scored && c->time_ms >= 0)
                json_object_set_new(cell, "time", reltime(c->time_ms));
            if (c->first_to_solve)
                json_object_set_new(cell, "first_to_solve", json_true());
            json_array_append_new(cells, cell);
        }
        json_array_append_new(rows, json_pack("{s:i,s:o,s:o,s:o}", "rank", row->rank, "team_id",
                                              gw_json_text(row->team_id), "score", score,
                                              "problems", cells));
    }
    /* The spec requires an id; a log without events (none seen yet) has "0". */
    return json_pack("{s:s,s:o,s:o,s:o,s:o}", "event_id", token && *token ? token : "0",
                     "time", gw_json_time(sb->time),
                     "contest_time", reltime(sb->contest_time_ms), "state",
                     state_obj(sb->state), "rows", rows);
}

/* ------------------------------------------------------------------------
 * Endpoints
 * ------------------------------------------------------------------------ */

static json_t *judgement_types_arr(void)
{
    static const struct { const char *id, *name; bool penalty, solved; } types[] = {
        {"AC", "correct", false, true},           {"WA", "wrong answer", true, false},
        {"TLE", "time limit exceeded", true, false}, {"MLE", "memory limit exceeded", true, false},
        {"RTE", "run-time error", true, false},   {"OLE", "output limit exceeded", true, false},
        {"CE", "compiler error", false, false},   {"JE", "judging error", false, false},
    };
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:b}", "id", types[i].id, "name",
                                           types[i].name, "penalty", types[i].penalty, "solved",
                                           types[i].solved));
    return a;
}

static int languages_arr(gw_req_t *r, json_t **out, err_t **err)
{
    Dojo__Content__V1__ListLanguagesRequest req = DOJO__CONTENT__V1__LIST_LANGUAGES_REQUEST__INIT;
    cleanup_pb Dojo__Content__V1__ListLanguagesResponse *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ListLanguages", &req.base,
                        (ProtobufCMessage **)&resp, &o, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_languages; i++) {
        const Dojo__Content__V1__Language *l = resp->languages[i];
        json_t *ext = json_array();
        if (*l->file_extension)
            json_array_append_new(ext, gw_json_text(l->file_extension));
        json_array_append_new(a, json_pack("{s:o,s:o,s:b,s:o}", "id", gw_json_text(l->id), "name",
                                           gw_json_text(l->display_name), "entry_point_required",
                                           0, "extensions", ext));
    }
    *out = a;
    return 0;
}

static int teams_msgs(gw_req_t *r, const char *cid,
                      Dojo__Gamification__V1__ListContestTeamsResponse **out, err_t **err)
{
    Dojo__Gamification__V1__ListContestTeamsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_TEAMS_REQUEST__INIT;
    req.slug = (char *)cid;
    return game(r, "ListContestTeams", &req.base, (ProtobufCMessage **)out, err);
}

/* persons (accounts = false) or accounts: the members of the teams, for
 * the jury; nothing for anyone else. */
static int members_arr(gw_req_t *r, const view_t *v, bool accounts, json_t **out, err_t **err)
{
    *out = json_array();
    if (v->access != ACC_JURY)
        return 0;
    cleanup_pb Dojo__Gamification__V1__ListContestTeamsResponse *t = NULL;
    if (teams_msgs(r, v->contest->slug, &t, err) < 0)
        return -1;
    for (size_t i = 0; i < t->n_teams; i++)
        for (size_t k = 0; k < t->teams[i]->n_members; k++)
            json_array_append_new(*out, accounts ? account_obj(t->teams[i]->members[k])
                                                 : person_obj(t->teams[i]->members[k]));
    return 0;
}

static int judgements_msgs(gw_req_t *r, const char *cid,
                           Dojo__Gamification__V1__ListContestJudgementsResponse **out, err_t **err)
{
    Dojo__Gamification__V1__ListContestJudgementsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_JUDGEMENTS_REQUEST__INIT;
    req.slug = (char *)cid;
    return game(r, "ListContestJudgements", &req.base, (ProtobufCMessage **)out, err);
}

static bool is_public(const view_t *v)
{
    return v->access != ACC_JURY && v->access != ACC_TEAM;
}

static int scoreboard_msg(gw_req_t *r, const char *cid, const char *group,
                          Dojo__Gamification__V1__GetScoreboardResponse **out, err_t **err)
{
    Dojo__Gamification__V1__GetScoreboardRequest req =
        DOJO__GAMIFICATION__V1__GET_SCOREBOARD_REQUEST__INIT;
    req.slug = (char *)cid;
    req.group_id = (char *)(group ? group : "");
    if (game(r, "GetScoreboard", &req.base, (ProtobufCMessage **)out, err) < 0)
        return -1;
    if ((*out)->scoreboard == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "GetScoreboard: empty reply");
    return 0;
}

/* One collection (or singleton) as JSON; NOT_FOUND for an unknown name. */
static int endpoint(gw_req_t *r, const view_t *v, const char *name, json_t **out, err_t **err)
{
    const Dojo__Content__V1__Contest *c = v->contest;
    const char *cid = c->slug;
    bool started = v->state && set(v->state->started);
    *out = NULL;
    if (!strcmp(name, "judgement-types")) {
        *out = judgement_types_arr();
    } else if (!strcmp(name, "languages")) {
        return languages_arr(r, out, err);
    } else if (!strcmp(name, "problems")) {
        *out = problems_arr(r, c, started || v->access == ACC_JURY);
    } else if (!strcmp(name, "groups")) {
        *out = groups_arr(c);
    } else if (!strcmp(name, "organizations")) {
        *out = organizations_arr(c);
    } else if (!strcmp(name, "teams")) {
        cleanup_pb Dojo__Gamification__V1__ListContestTeamsResponse *t = NULL;
        if (teams_msgs(r, cid, &t, err) < 0)
            return -1;
        *out = json_array();
        for (size_t i = 0; i < t->n_teams; i++)
            json_array_append_new(*out, team_obj(t->teams[i]));
    } else if (!strcmp(name, "persons") || !strcmp(name, "accounts")) {
        return members_arr(r, v, name[0] == 'a', out, err);
    } else if (!strcmp(name, "state")) {
        *out = state_obj(v->state);
    } else if (!strcmp(name, "submissions")) {
        *out = json_array();
        if (is_public(v))
            return 0;
        Dojo__Gamification__V1__ListContestSubmissionsRequest req =
            DOJO__GAMIFICATION__V1__LIST_CONTEST_SUBMISSIONS_REQUEST__INIT;
        req.slug = (char *)cid;
        req.limit = 5000;
        cleanup_pb Dojo__Gamification__V1__ListContestSubmissionsResponse *s = NULL;
        if (game(r, "ListContestSubmissions", &req.base, (ProtobufCMessage **)&s, err) < 0)
            return -1;
        /* Oldest first, as the feed tells them. */
        for (size_t i = s->n_submissions; i-- > 0;)
            json_array_append_new(*out, submission_obj(v, s->submissions[i]));
    } else if (!strcmp(name, "judgements") || !strcmp(name, "runs")) {
        *out = json_array();
        if (is_public(v))
            return 0;
        cleanup_pb Dojo__Gamification__V1__ListContestJudgementsResponse *j = NULL;
        if (judgements_msgs(r, cid, &j, err) < 0)
            return -1;
        for (size_t i = 0; i < j->n_judgements; i++) {
            if (name[0] == 'j')
                json_array_append_new(*out, judgement_obj(v, j->judgements[i]));
            else
                runs_of(v, j->judgements[i], *out);
        }
    } else if (!strcmp(name, "clarifications")) {
        Dojo__Gamification__V1__ListClarificationsRequest req =
            DOJO__GAMIFICATION__V1__LIST_CLARIFICATIONS_REQUEST__INIT;
        req.slug = (char *)cid;
        cleanup_pb Dojo__Gamification__V1__ListClarificationsResponse *l = NULL;
        if (game(r, "ListClarifications", &req.base, (ProtobufCMessage **)&l, err) < 0)
            return -1;
        *out = json_array();
        for (size_t i = 0; i < l->n_clarifications; i++)
            json_array_append_new(*out, clarification_obj(l->clarifications[i]));
    } else if (!strcmp(name, "awards")) {
        cleanup_pb Dojo__Gamification__V1__GetScoreboardResponse *sb = NULL;
        if (scoreboard_msg(r, cid, NULL, &sb, err) < 0)
            return -1;
        *out = json_array();
        for (size_t i = 0; i < sb->scoreboard->n_awards; i++)
            json_array_append_new(*out, award_obj(sb->scoreboard->awards[i]));
    } else if (!strcmp(name, "scoreboard")) {
        cleanup_pb Dojo__Gamification__V1__GetScoreboardResponse *sb = NULL;
        if (scoreboard_msg(r, cid, gw_query(r, "group_id"), &sb, err) < 0)
            return -1;
        *out = scoreboard_obj(v, sb->scoreboard, sb->event_token);
    } else {
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no endpoint \"%.40s\"", name);
    }
    return 0;
}

static const char *const filter_reserved[] = {"since_token", "group_id", "stream", "types", NULL};

static enum MHD_Result filter_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    json_t *arr = cls, *keep = json_array();
    for (const char *const *p = filter_reserved; *p; p++)
        if (!strcmp(*p, key)) {
            json_decref(keep);
            return MHD_YES;
        }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        json_t *f = json_object_get(item, key);
        bool match = (value == NULL || *value == '\0') ? (f == NULL || json_is_null(f))
                                                       : (json_is_string(f) &&
                                                          !strcmp(json_string_value(f), value));
        if (match)
            json_array_append(keep, item);
    }
    json_array_clear(arr);
    json_array_extend(arr, keep);
    json_decref(keep);
    return MHD_YES;
}

/* ------------------------------------------------------------------------
 * The event feed
 * ------------------------------------------------------------------------ */

static void line(json_t *lines, const char *type, const char *id, json_t *data)
{
    json_array_append_new(lines, json_pack("{s:s,s:o,s:o}", "type", type, "id",
                                           id && *id ? json_string(id) : json_null(),
                                           "data", data ? data : json_null()));
}

/* The lines of one event of the log; the last carries its token (so a
 * client continuing from it misses nothing). */
static void event_lines(gw_req_t *r, const view_t *v, const Dojo__Gamification__V1__ContestEvent *ev,
                        json_t *lines)
{
    size_t before = json_array_size(lines);
    const char *t = ev->type;
    bool started = v->state && set(v->state->started);
    switch (ev->data_case) {
    case DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_CONTEST:
        if (!strcmp(t, "contest"))
            line(lines, "contest", NULL, contest_obj(ev->contest));
        else if (!strcmp(t, "problems"))
            /* The problem set as it is now (hidden until the start). */
            line(lines, "problems", NULL,
                 problems_arr(r, v->contest, started || v->access == ACC_JURY));
        else if (!strcmp(t, "organizations"))
            line(lines, "organizations", NULL, organizations_arr(ev->contest));
        else if (!strcmp(t, "groups"))
            line(lines, "groups", NULL, groups_arr(ev->contest));
        break;
    case DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_TEAM:
        line(lines, "teams", ev->id, team_obj(ev->team));
        break;
    case DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_STATE:
        line(lines, "state", NULL, state_obj(ev->state));
        /* Problems become visible at the start. */
        if (set(ev->state->started) && !set(ev->state->ended) && v->access != ACC_JURY)
            line(lines, "problems", NULL, problems_arr(r, v->contest, true));
        break;
    case DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_SUBMISSION:
        line(lines, "submissions", ev->id, submission_obj(v, ev->submission));
        break;
    case DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_JUDGEMENT: {
        line(lines, "judgements", ev->id, judgement_obj(v, ev->judgement));
        json_t *runs = json_array();
        runs_of(v, ev->judgement, runs);
        size_t i;
        json_t *run;
        json_array_foreach(runs, i, run)
            line(lines, "runs", json_string_value(json_object_get(run, "id")), json_incref(run));
        json_decref(runs);
        break;
    }
    case DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_CLARIFICATION:
        line(lines, "clarifications", ev->id, clarification_obj(ev->clarification));
        break;
    case DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_AWARD:
        line(lines, "awards", ev->id, award_obj(ev->award));
        break;
    case DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_MEMBER:
        if (!strcmp(t, "persons"))
            line(lines, "persons", ev->id, person_obj(ev->member));
        else if (!strcmp(t, "accounts"))
            line(lines, "accounts", ev->id, account_obj(ev->member));
        break;
    default:
        /* A deletion: data null. */
        line(lines, t, ev->id, NULL);
        break;
    }
    if (json_array_size(lines) > before)
        json_object_set_new(json_array_get(lines, json_array_size(lines) - 1), "token",
                            gw_json_text(ev->token));
}

/* One page of the caller's log after `tok`. */
static int events_page(gw_req_t *r, const char *slug, const char *tok,
                       Dojo__Gamification__V1__ListContestEventsResponse **out, err_t **err)
{
    Dojo__Gamification__V1__ListContestEventsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_EVENTS_REQUEST__INIT;
    req.slug = (char *)slug;
    req.since_token = (char *)tok;
    req.limit = 1000;
    return game(r, "ListContestEvents", &req.base, (ProtobufCMessage **)out, err);
}

/* The lines of every event after `tok` (moved on to the last one), at most
 * FEED_MAX_PAGES pages. */
static int feed_lines(gw_req_t *r, const view_t *v, char tok[32], json_t *lines, err_t **err)
{
    for (int page = 0; page < FEED_MAX_PAGES; page++) {
        cleanup_pb Dojo__Gamification__V1__ListContestEventsResponse *resp = NULL;
        if (events_page(r, v->contest->slug, tok, &resp, err) < 0)
            return -1;
        for (size_t i = 0; i < resp->n_events; i++)
            event_lines(r, v, resp->events[i], lines);
        if (resp->last_token && *resp->last_token)
            snprintf(tok, 32, "%s", resp->last_token);
        if (resp->n_events < 1000)
            break;
    }
    return 0;
}

/* NDJSON of `lines`: new (free), *len bytes. */
static char *ndjson(json_t *lines, size_t *len)
{
    size_t cap = 4096, i;
    char *buf = malloc(cap);
    json_t *l;
    *len = 0;
    if (buf == NULL)
        abort();
    json_array_foreach(lines, i, l) {
        cleanup_free char *text = json_dumps(l, JSON_COMPACT);
        size_t n = strlen(text);
        while (*len + n + 2 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        memcpy(buf + *len, text, n);
        *len += n;
        buf[(*len)++] = '\n';
    }
    return buf;
}

/* ------------------------------------------------------------------------
 * The streamed feed: held open by feed.c's hub, which polls the log every
 * DOJO_CLICS_FEED_POLL_MS as the caller (a request of its own, with a copy
 * of the caller's token, since the HTTP request's may be gone while a poll
 * runs). It ends when the caller's access token expires (the client goes on
 * with since_token and fresh credentials) or after DOJO_CLICS_FEED_MAX_S.
 * ------------------------------------------------------------------------ */

typedef struct feed_ctx {
    gw_req_t sr;
    char *token;
    Dojo__Gamification__V1__GetContestViewResponse *vr;
    char slug[40];
    char tok[32];
} feed_ctx_t;

static int get_view(gw_req_t *r, const char *cid,
                    Dojo__Gamification__V1__GetContestViewResponse **out, err_t **err);

static void feed_ctx_free(void *payload)
{
    feed_ctx_t *x = payload;
    if (x->vr)
        protobuf_c_message_free_unpacked(&x->vr->base, NULL);
    arena_release(&x->sr.arena);
    free(x->token);
    free(x);
}

static int feed_poll(void *payload, char **out, size_t *len, err_t **err)
{
    feed_ctx_t *x = payload;
    *out = NULL;
    *len = 0;
    arena_release(&x->sr.arena);
    if (x->sr.authed && (int64_t)x->sr.claims.exp * 1000 <= wall_us() / 1000 + 5000)
        return 1;
    cleanup_pb Dojo__Gamification__V1__ListContestEventsResponse *first = NULL;
    if (events_page(&x->sr, x->slug, x->tok, &first, err) < 0)
        return -1;
    if (first->n_events == 0)
        return 0;
    /* The state changed: what the caller may see may have too (problems
     * appear at the start). */
    for (size_t i = 0; i < first->n_events; i++)
        if (first->events[i]->data_case == DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_STATE) {
            Dojo__Gamification__V1__GetContestViewResponse *vr = NULL;
            if (get_view(&x->sr, x->slug, &vr, err) < 0)
                return -1;
            protobuf_c_message_free_unpacked(&x->vr->base, NULL);
            x->vr = vr;
            break;
        }
    json_t *lines = json_array();
    int rc = feed_lines(&x->sr, x->vr->view, x->tok, lines, err);
    if (rc == 0)
        *out = ndjson(lines, len);
    json_decref(lines);
    return rc;
}

/* GET …/event-feed[?since_token=T][&stream=false]: what happened so far,
 * then (unless stream=false) everything that happens next, with a newline
 * as keep-alive. `vr` is taken over when the feed is streamed. */
static int event_feed(gw_req_t *r, Dojo__Gamification__V1__GetContestViewResponse **vr,
                      err_t **err)
{
    const view_t *v = (*vr)->view;
    const char *since = gw_query(r, "since_token"), *stream = gw_query(r, "stream");
    char tok[32];
    snprintf(tok, sizeof tok, "%s", since ? since : "");
    if (since && strlen(since) >= sizeof tok)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "since_token: unknown token");
    bool streamed = true;
    if (stream && !strcmp(stream, "false"))
        streamed = false;
    else if (stream && strcmp(stream, "true") != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "stream: must be true or false");
    json_t *lines = json_array();
    if (tok[0] == '\0') {
        /* What the log does not hold, first: the judgement types and the
         * languages (without tokens: they come with every full feed). */
        json_t *langs = NULL;
        if (languages_arr(r, &langs, err) < 0) {
            json_decref(lines);
            return -1;
        }
        line(lines, "judgement-types", NULL, judgement_types_arr());
        line(lines, "languages", NULL, langs);
    }
    int rc = feed_lines(r, v, tok, lines, err);
    size_t len = 0;
    char *text = rc == 0 ? ndjson(lines, &len) : NULL;
    json_decref(lines);
    if (rc < 0)
        return -1;
    r->raw_type = "application/x-ndjson";
    r->status = 200;
    if (!streamed) {
        r->raw_body = arena_strndup(&r->arena, text, len);
        r->raw_len = len;
        free(text);
        return 0;
    }
    feed_ctx_t *x = calloc(1, sizeof *x);
    if (x == NULL)
        abort();
    x->sr.gw = r->gw;
    x->sr.method = "GET";
    x->sr.path = "/api/clics (event feed)";
    snprintf(x->sr.req_id, sizeof x->sr.req_id, "%s", r->req_id);
    snprintf(x->sr.client_ip, sizeof x->sr.client_ip, "%s", r->client_ip);
    if (r->authed) {
        x->sr.authed = true;
        x->sr.claims = r->claims;
        x->token = strdup(r->token ? r->token : "");
        if (x->token == NULL)
            abort();
        x->sr.token = x->token;
    }
    x->vr = *vr;
    snprintf(x->slug, sizeof x->slug, "%s", v->contest->slug);
    snprintf(x->tok, sizeof x->tok, "%s", tok);
    gw_feed_source_t src = {.gw = r->gw,
                            .poll_ms = (int)r->gw->cfg.feed_poll_ms,
                            .poll = feed_poll,
                            .free = feed_ctx_free,
                            .payload = x};
    /* X-Accel-Buffering: a proxy in front must pass the lines on as they come. */
    gw_add_header(r, "X-Accel-Buffering", "no");
    rc = gw_feed_start(r, text, len, &src, r->gw->cfg.feed_max_s * 1000, err);
    free(text);
    if (rc < 0) {
        x->vr = NULL;
        feed_ctx_free(x);
        return -1;
    }
    *vr = NULL;
    return 0;
}

/* ------------------------------------------------------------------------
 * Access (what this caller may read)
 * ------------------------------------------------------------------------ */

static json_t *access_obj(const view_t *v)
{
    static const struct { const char *type, *props; bool team, jury_only; } eps[] = {
        {"contest", "id,name,formal_name,start_time,duration,scoreboard_freeze_duration,"
                    "scoreboard_type,penalty_time", false, false},
        {"judgement-types", "id,name,penalty,solved", false, false},
        {"languages", "id,name,entry_point_required,extensions", false, false},
        {"problems", "id,label,name,ordinal,rgb,color,time_limit,test_data_count,max_score",
         false, false},
        {"groups", "id,name,type", false, false},
        {"organizations", "id,name,formal_name,country,url", false, false},
        {"teams", "id,label,name,organization_id,group_ids,hidden", false, false},
        {"persons", "id,name,team_ids,role", false, true},
        {"accounts", "id,username,name,type,team_id,person_id", false, true},
        {"state", "started,ended,frozen,thawed,finalized,end_of_updates", false, false},
        {"submissions", "id,language_id,problem_id,team_id,time,contest_time,files", true, false},
        {"judgements", "id,submission_id,judgement_type_id,current,start_time,start_contest_time,"
                       "end_time,end_contest_time,max_run_time,score", true, false},
        {"runs", "id,judgement_id,ordinal,judgement_type_id,time,contest_time,run_time", true,
         false},
        {"clarifications", "id,from_team_id,to_team_id,reply_to_id,problem_id,text,time,"
                           "contest_time", false, false},
        {"awards", "id,citation,team_ids", false, false},
    };
    json_t *endpoints = json_array();
    for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
        if (eps[i].jury_only && v->access != ACC_JURY)
            continue;
        if (eps[i].team && is_public(v))
            continue;
        json_t *props = json_array();
        char buf[256];
        snprintf(buf, sizeof buf, "%s", eps[i].props);
        char *save = NULL;
        for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
            json_array_append_new(props, json_string(p));
        json_array_append_new(endpoints, json_pack("{s:s,s:o}", "type", eps[i].type,
                                                   "properties", props));
    }
    return json_pack("{s:[],s:o}", "capabilities", "endpoints", endpoints);
}

/* ------------------------------------------------------------------------
 * The door
 * ------------------------------------------------------------------------ */

static int get_view(gw_req_t *r, const char *cid,
                    Dojo__Gamification__V1__GetContestViewResponse **out, err_t **err)
{
    Dojo__Gamification__V1__GetContestViewRequest req =
        DOJO__GAMIFICATION__V1__GET_CONTEST_VIEW_REQUEST__INIT;
    req.slug = (char *)cid;
    if (strlen(cid) > 36)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no contest \"%.40s\"", cid);
    if (game(r, "GetContestView", &req.base, (ProtobufCMessage **)out, err) < 0)
        return -1;
    if ((*out)->view == NULL || (*out)->view->contest == NULL ||
        (*out)->view->contest->duration_s == 0) {
        protobuf_c_message_free_unpacked(&(*out)->base, NULL);
        *out = NULL;
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no contest \"%s\"", cid);
    }
    return 0;
}

static int contests_list(gw_req_t *r, err_t **err)
{
    Dojo__Gamification__V1__ListContestViewsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_VIEWS_REQUEST__INIT;
    cleanup_pb Dojo__Gamification__V1__ListContestViewsResponse *resp = NULL;
    if (game(r, "ListContestViews", &req.base, (ProtobufCMessage **)&resp, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_views; i++)
        if (resp->views[i]->contest && resp->views[i]->contest->duration_s > 0)
            json_array_append_new(a, contest_obj(resp->views[i]->contest));
    r->out = a;
    return 0;
}

/* segs: "contests", {id}, {endpoint}, {object id} */
static int route(gw_req_t *r, err_t **err)
{
    if (viewer(r, err) < 0)
        return -1;
    r->status = 200;
    if (r->nsegs == 0) {
        r->out = json_pack("{s:s,s:s,s:s}", "version", "2026-01", "version_url",
                           "https://ccs-specs.icpc.io/2026-01/contest_api", "name", "Dojo");
        return 0;
    }
    if (strcmp(r->segs[0], "contests") != 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such endpoint");
    if (r->nsegs == 1)
        return contests_list(r, err);
    cleanup_pb Dojo__Gamification__V1__GetContestViewResponse *vr = NULL;
    if (get_view(r, r->segs[1], &vr, err) < 0)
        return -1;
    const view_t *v = vr->view;
    if (r->nsegs == 2) {
        r->out = contest_obj(v->contest);
        return 0;
    }
    const char *name = r->segs[2];
    if (!strcmp(name, "access") && r->nsegs == 3) {
        r->out = access_obj(v);
        return 0;
    }
    if (!strcmp(name, "event-feed") && r->nsegs == 3)
        return event_feed(r, &vr, err);
    bool singleton = !strcmp(name, "state") || !strcmp(name, "scoreboard");
    if (r->nsegs > 4 || (singleton && r->nsegs == 4))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such endpoint");
    json_t *data = NULL;
    if (endpoint(r, v, name, &data, err) < 0)
        return -1;
    if (r->nsegs == 4) {
        size_t i;
        json_t *item, *found = NULL;
        json_array_foreach(data, i, item) {
            json_t *id = json_object_get(item, "id");
            if (json_is_string(id) && !strcmp(json_string_value(id), r->segs[3])) {
                found = json_incref(item);
                break;
            }
        }
        json_decref(data);
        if (found == NULL)
            return err_set(err, GRPC_STATUS_NOT_FOUND, "no %s \"%.40s\"", name, r->segs[3]);
        r->out = found;
        return 0;
    }
    if (json_is_array(data))
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, filter_arg, data);
    r->out = data;
    return 0;
}

static bool split(gw_req_t *r)
{
    const char *p = r->path + strlen("/api/clics");
    r->nsegs = 0;
    if (*p == '/')
        p++;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || r->nsegs >= (int)(sizeof r->segs / sizeof r->segs[0]))
            return false;
        r->segs[r->nsegs++] = arena_strndup(&r->arena, p, len);
        p += len;
        if (*p == '/')
            p++;
    }
    return true;
}

enum MHD_Result gw_clics_serve(gw_req_t *r)
{
    cleanup_err err_t *e = NULL;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        gw_err_http(&e, 405, "method_not_allowed", NULL, "the Contest API is read-only here");
    else if (!gw_text_ok(r->path, 2048) || !split(r))
        gw_err_http(&e, 404, "not_found", NULL, "no such endpoint");
    else
        (void)route(r, &e);
    gw_add_header(r, "Access-Control-Allow-Origin", "*");
    if (e) {
        /* The spec's error body: {"code": <status>, "message": ...}. */
        int code = 500;
        json_t *j = gw_error_json(e, &code), *ej = json_object_get(j, "error");
        const char *msg = json_string_value(json_object_get(ej, "message"));
        const char *field = json_string_value(json_object_get(ej, "field"));
        char text[512];
        snprintf(text, sizeof text, "%s%s%s", field ? field : "", field ? ": " : "",
                 msg ? msg : "error");
        json_decref(r->out);
        r->out = json_pack("{s:i,s:s}", "code", code, "message", text);
        json_decref(j);
        r->status = code;
        r->raw_body = NULL;
        if (code == 503 || code == 429)
            gw_add_header(r, "Retry-After", "2");
        if (code == 401)
            gw_add_header(r, "WWW-Authenticate", "Basic realm=\"Dojo Contest API\"");
    }
    return gw_respond(r, NULL);
}
