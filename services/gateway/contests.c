/* contests.c — contests under /api/v1/contests: the list and one contest,
 * registration (a new team, a team's join code, an invitation code), the
 * problems, submitting within the contest's time rules, the scoreboard as
 * the viewer may see it, clarifications, and the jury's doors (every
 * submission with its code and per-test results, rejudges, overrides with
 * their reason, the audit log, teams, the jury itself, thaw, the
 * step-by-step reveal, finalisation).
 *
 * Gamification decides who sees what (gamification.proto's contest
 * section): every call carries the caller's token, or no credentials at all
 * for a reader who is not signed in (a public viewer), never the service
 * key, which would make anyone jury. The one exception is CreateSubmission,
 * a service call on behalf of the verified user as for practice
 * submissions; its job goes to dojo:jobs:contest when it counts, so the
 * executors take it ahead of practice. Shapes are built field by field. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

#define GAME_SVC (&dojo__gamification__v1__gamification__descriptor)

typedef Dojo__Gamification__V1__ContestAccess access_t;
#define ACC_PUBLIC DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_PUBLIC
#define ACC_TEAM DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_TEAM
#define ACC_JURY DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_JURY

/* ------------------------------------------------------------------------
 * The caller, the contest in the path, calls
 * ------------------------------------------------------------------------ */

/* Signed in when the request carries credentials (a bad or expired token is
 * 401, so a browser refreshes it rather than silently seeing less); a
 * reader without any is a public viewer. */
static int viewer(gw_req_t *r, err_t **err)
{
    const char *at = gw_cookie(r, "dojo_at");
    if (gw_header(r, "Authorization") || (at && *at))
        return gw_req_auth(r, err);
    return 0;
}

static int call(gw_req_t *r, const char *method, const ProtobufCMessage *req,
                ProtobufCMessage **out, bool idempotent, err_t **err)
{
    static const char *const anonymous[] = {NULL};
    rpc_call_opts_t o = gw_opts(r, r->authed ? gw_md_user(r) : anonymous, idempotent);
    return rpc_client_call(r->gw->game, GAME_SVC, method, req, out, &o, err);
}

/* Contest slugs are 1-36 characters of [a-z0-9-]; anything else names no
 * contest (404, as gamification would say). */
static int slug_seg_at(gw_req_t *r, int i, const char **out, err_t **err)
{
    const char *s = r->segs[i];
    size_t n = strlen(s);
    *out = "";
    bool ok = n >= 1 && n <= 36;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
    if (!ok)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no contest \"%.40s\"", s);
    *out = s;
    return 0;
}

static int slug_seg(gw_req_t *r, const char **out, err_t **err) { return slug_seg_at(r, 1, out, err); }

/* An id in the path (a CLICS id, a submission's UUID, a team id). */
static int id_seg(gw_req_t *r, int i, const char *what, const char **out, err_t **err)
{
    *out = "";
    if (strlen(r->segs[i]) > 64)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such %s", what);
    *out = r->segs[i];
    return 0;
}

static bool query_true(gw_req_t *r, const char *name)
{
    const char *v = gw_query(r, name);
    return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

/* A short query filter ("" when absent). */
static int query_str(gw_req_t *r, const char *name, size_t max, const char **out, err_t **err)
{
    const char *v = gw_query(r, name);
    *out = "";
    if (v && strlen(v) > max)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be at most %zu bytes", name,
                       max);
    *out = v ? v : "";
    return 0;
}

/* ------------------------------------------------------------------------
 * Shapes
 * ------------------------------------------------------------------------ */

static json_t *text_or_null(const char *s) { return s && *s ? gw_json_text(s) : json_null(); }

static json_t *verdict_json(int v)
{
    const char *n = gw_verdict_name(v);
    return n ? json_string(n) : json_null();
}

static const char *access_name(int a)
{
    switch (a) {
    case ACC_JURY: return "jury";
    case ACC_TEAM: return "team";
    default: return "public";
    }
}

static const char *scoring_name(int s)
{
    return s == DOJO__CONTENT__V1__SCORING_KIND__SCORING_KIND_IOI ? "ioi" : "icpc";
}

static const char *registration_name(int reg)
{
    switch (reg) {
    case DOJO__CONTENT__V1__REGISTRATION__REGISTRATION_CLOSED: return "closed";
    case DOJO__CONTENT__V1__REGISTRATION__REGISTRATION_INVITE: return "invite";
    default: return "open";
    }
}

static json_t *state_json(const Dojo__Gamification__V1__ContestState *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "started", gw_json_time(s ? s->started : NULL));
    json_object_set_new(o, "frozen", gw_json_time(s ? s->frozen : NULL));
    json_object_set_new(o, "ended", gw_json_time(s ? s->ended : NULL));
    json_object_set_new(o, "thawed", gw_json_time(s ? s->thawed : NULL));
    json_object_set_new(o, "finalized", gw_json_time(s ? s->finalized : NULL));
    json_object_set_new(o, "end_of_updates", gw_json_time(s ? s->end_of_updates : NULL));
    return o;
}

static bool has_time(const Dojo__Common__V1__Timestamp *t) { return t && t->unix_micros != 0; }

/* "scheduled", "running" or "ended": what the UI shows first. */
static const char *phase_of(const Dojo__Gamification__V1__ContestState *s)
{
    if (s == NULL || !has_time(s->started))
        return "scheduled";
    return has_time(s->ended) ? "ended" : "running";
}

static json_t *problem_json(const Dojo__Content__V1__ContestProblem *p, bool ioi)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", gw_json_text(p->label));
    json_object_set_new(o, "label", gw_json_text(p->label));
    json_object_set_new(o, "name", gw_json_text(p->name));
    json_object_set_new(o, "task_slug", gw_json_text(p->task_slug));
    json_object_set_new(o, "rgb", text_or_null(p->rgb));
    json_object_set_new(o, "color", text_or_null(p->color));
    json_object_set_new(o, "points", ioi ? json_integer(p->points ? p->points : 100) : json_null());
    return o;
}

static json_t *contest_json(const Dojo__Content__V1__Contest *c)
{
    json_t *o = json_object(), *orgs = json_array(), *groups = json_array();
    for (size_t i = 0; i < c->n_organizations; i++) {
        const Dojo__Content__V1__Organization *g = c->organizations[i];
        json_array_append_new(orgs, json_pack("{s:o,s:o,s:o,s:o,s:o}", "id", gw_json_text(g->id),
                                              "name", gw_json_text(g->name), "formal_name",
                                              gw_json_text(*g->formal_name ? g->formal_name
                                                                           : g->name),
                                              "country", text_or_null(g->country), "url",
                                              text_or_null(g->url)));
    }
    for (size_t i = 0; i < c->n_groups; i++)
        json_array_append_new(groups, json_pack("{s:o,s:o,s:o}", "id",
                                                gw_json_text(c->groups[i]->id), "name",
                                                gw_json_text(c->groups[i]->name), "type",
                                                text_or_null(c->groups[i]->type)));
    json_object_set_new(o, "slug", gw_json_text(c->slug));
    json_object_set_new(o, "title", gw_json_text(c->title));
    json_object_set_new(o, "formal_name", gw_json_text(*c->formal_name ? c->formal_name : c->title));
    json_object_set_new(o, "description", gw_json_text(c->description));
    json_object_set_new(o, "start", gw_json_time(c->start));
    json_object_set_new(o, "duration_s", c->duration_s ? json_integer(c->duration_s) : json_null());
    Dojo__Common__V1__Timestamp end = DOJO__COMMON__V1__TIMESTAMP__INIT;
    if (c->duration_s && c->start)
        end.unix_micros = c->start->unix_micros + c->duration_s * 1000000;
    json_object_set_new(o, "end", gw_json_time(&end));
    json_object_set_new(o, "freeze_minutes", json_integer(c->freeze_minutes));
    json_object_set_new(o, "scoring", json_string(scoring_name(c->scoring)));
    json_object_set_new(o, "ioi_mode",
                        c->scoring == DOJO__CONTENT__V1__SCORING_KIND__SCORING_KIND_IOI
                            ? json_string(c->ioi_mode == DOJO__CONTENT__V1__IOI_MODE__IOI_MODE_LAST
                                              ? "last"
                                              : "best")
                            : json_null());
    json_object_set_new(o, "penalty_minutes", json_integer(c->penalty_minutes));
    json_object_set_new(o, "registration", json_string(registration_name(c->registration)));
    json_object_set_new(o, "hide_tasks_until_start", json_boolean(c->hide_tasks_until_start));
    json_object_set_new(o, "practice_after_end", json_boolean(c->practice_after_end));
    json_object_set_new(o, "max_team_size", json_integer(c->max_team_size ? c->max_team_size : 1));
    json_object_set_new(o, "organizations", orgs);
    json_object_set_new(o, "groups", groups);
    json_object_set_new(o, "medals",
                        json_pack("{s:i,s:i,s:i}", "gold", c->medals ? c->medals->gold : 0,
                                  "silver", c->medals ? c->medals->silver : 0, "bronze",
                                  c->medals ? c->medals->bronze : 0));
    json_object_set_new(o, "version", json_integer(c->version));
    return o;
}

static json_t *member_json(const Dojo__Gamification__V1__ContestMember *m)
{
    return json_pack("{s:o,s:o,s:o,s:b}", "user_id", gw_json_text(m->user_id), "display_name",
                     gw_json_text(m->display_name), "team_id", text_or_null(m->team_id), "jury",
                     m->jury);
}

static json_t *team_json(const Dojo__Gamification__V1__ContestTeam *t)
{
    if (t == NULL)
        return json_null();
    json_t *groups = json_array(), *members = json_array();
    for (size_t i = 0; i < t->n_group_ids; i++)
        json_array_append_new(groups, gw_json_text(t->group_ids[i]));
    for (size_t i = 0; i < t->n_members; i++)
        json_array_append_new(members, member_json(t->members[i]));
    return json_pack("{s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o}", "id", gw_json_text(t->id), "name",
                     gw_json_text(t->name), "organization_id", text_or_null(t->organization_id),
                     "group_ids", groups, "hidden", t->hidden, "members", members, "join_code",
                     text_or_null(t->join_code), "created_at", gw_json_time(t->created_at));
}

/* The view of one contest; problems only once it started, unless jury
 * (contest-only tasks stay unknown until then). */
static json_t *view_json(const Dojo__Gamification__V1__ContestView *v)
{
    const Dojo__Content__V1__Contest *c = v->contest;
    if (c == NULL)
        return json_null();
    json_t *o = contest_json(c), *problems = json_array();
    bool open = v->access == ACC_JURY || (v->state && has_time(v->state->started));
    bool ioi = c->scoring == DOJO__CONTENT__V1__SCORING_KIND__SCORING_KIND_IOI;
    for (size_t i = 0; open && i < c->n_problems; i++)
        json_array_append_new(problems, problem_json(c->problems[i], ioi));
    json_object_set_new(o, "problems", problems);
    json_object_set_new(o, "problem_count", json_integer((json_int_t)c->n_problems));
    json_object_set_new(o, "state", state_json(v->state));
    json_object_set_new(o, "phase", json_string(phase_of(v->state)));
    json_object_set_new(o, "access", json_string(access_name(v->access)));
    json_object_set_new(o, "my_team", team_json(v->my_team));
    json_object_set_new(o, "can_register", json_boolean(v->can_register));
    json_object_set_new(o, "team_count", json_integer(v->team_count));
    json_object_set_new(o, "now", gw_json_time(v->now));
    return o;
}

static json_t *judgement_json(const Dojo__Gamification__V1__ContestJudgement *j)
{
    if (j == NULL)
        return json_null();
    json_t *tests = json_array();
    for (size_t i = 0; i < j->n_tests; i++)
        json_array_append_new(tests, gw_json_test_result(j->tests[i]));
    json_t *o = json_object();
    json_object_set_new(o, "id", gw_json_text(j->id));
    json_object_set_new(o, "submission_id", gw_json_text(j->submission_id));
    json_object_set_new(o, "verdict", verdict_json(j->verdict));
    json_object_set_new(o, "score", json_real(j->score));
    json_object_set_new(o, "current", json_boolean(j->current));
    json_object_set_new(o, "kind", gw_json_text(j->kind));
    json_object_set_new(o, "start_time", gw_json_time(j->start_time));
    json_object_set_new(o, "end_time", gw_json_time(j->end_time));
    json_object_set_new(o, "max_run_ms", json_integer(j->max_run_ms));
    json_object_set_new(o, "tests", tests);
    json_object_set_new(o, "actor_id", text_or_null(j->actor_id));
    json_object_set_new(o, "reason", text_or_null(j->reason));
    json_object_set_new(o, "compile_output", text_or_null(j->compile_output));
    return o;
}

static json_t *submission_json(const Dojo__Gamification__V1__ContestSubmission *s, bool all)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", gw_json_text(s->id));
    json_object_set_new(o, "submission_id", gw_json_text(s->submission_id));
    json_object_set_new(o, "team_id", gw_json_text(s->team_id));
    json_object_set_new(o, "user_id", text_or_null(s->user_id));
    json_object_set_new(o, "problem_id", gw_json_text(s->problem_id));
    json_object_set_new(o, "language", gw_json_text(s->language));
    json_object_set_new(o, "time", gw_json_time(s->time));
    json_object_set_new(o, "contest_time_ms", json_integer(s->contest_time_ms));
    json_object_set_new(o, "counted", json_boolean(s->counted));
    json_object_set_new(o, "task_slug", gw_json_text(s->task_slug));
    json_object_set_new(o, "task_version", json_integer(s->task_version));
    json_object_set_new(o, "code", text_or_null(s->code));
    json_object_set_new(o, "judgement", judgement_json(s->judgement));
    if (all) {
        json_t *js = json_array();
        for (size_t i = 0; i < s->n_judgements; i++)
            json_array_append_new(js, judgement_json(s->judgements[i]));
        json_object_set_new(o, "judgements", js);
    }
    return o;
}

static json_t *clarification_json(const Dojo__Gamification__V1__Clarification *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", gw_json_text(c->id));
    json_object_set_new(o, "from_team_id", text_or_null(c->from_team_id));
    json_object_set_new(o, "to_team_id", text_or_null(c->to_team_id));
    json_object_set_new(o, "reply_to_id", text_or_null(c->reply_to_id));
    json_object_set_new(o, "problem_id", text_or_null(c->problem_id));
    json_object_set_new(o, "text", gw_json_text(c->text));
    json_object_set_new(o, "time", gw_json_time(c->time));
    json_object_set_new(o, "contest_time_ms", json_integer(c->contest_time_ms));
    json_object_set_new(o, "announcement", json_boolean(c->announcement));
    return o;
}

json_t *gw_json_scoreboard(const Dojo__Gamification__V1__Scoreboard *sb)
{
    if (sb == NULL)
        return json_null();
    json_t *rows = json_array(), *awards = json_array();
    for (size_t i = 0; i < sb->n_rows; i++) {
        const Dojo__Gamification__V1__ScoreboardRow *row = sb->rows[i];
        json_t *cells = json_array();
        for (size_t k = 0; k < row->n_problems; k++) {
            const Dojo__Gamification__V1__ScoreboardCell *c = row->problems[k];
            json_array_append_new(
                cells, json_pack("{s:o,s:i,s:i,s:b,s:f,s:o,s:b}", "problem_id",
                                 gw_json_text(c->problem_id), "num_judged", c->num_judged,
                                 "num_pending", c->num_pending, "solved", c->solved, "score",
                                 c->score, "time_ms",
                                 c->time_ms >= 0 ? json_integer(c->time_ms) : json_null(),
                                 "first_to_solve", c->first_to_solve));
        }
        json_array_append_new(
            rows, json_pack("{s:i,s:o,s:i,s:I,s:f,s:o,s:o}", "rank", row->rank, "team_id",
                            gw_json_text(row->team_id), "num_solved", row->num_solved,
                            "total_minutes", (json_int_t)row->total_minutes, "score", row->score,
                            "last_time_ms",
                            row->last_time_ms >= 0 ? json_integer(row->last_time_ms) : json_null(),
                            "problems", cells));
    }
    for (size_t i = 0; i < sb->n_awards; i++) {
        json_t *teams = json_array();
        for (size_t k = 0; k < sb->awards[i]->n_team_ids; k++)
            json_array_append_new(teams, gw_json_text(sb->awards[i]->team_ids[k]));
        json_array_append_new(awards, json_pack("{s:o,s:o,s:o}", "id",
                                                gw_json_text(sb->awards[i]->id), "citation",
                                                gw_json_text(sb->awards[i]->citation), "team_ids",
                                                teams));
    }
    json_t *o = json_object();
    json_object_set_new(o, "contest", gw_json_text(sb->contest_slug));
    json_object_set_new(o, "audience", json_string(access_name(sb->audience)));
    json_object_set_new(o, "generation", json_integer(sb->generation));
    json_object_set_new(o, "time", gw_json_time(sb->time));
    json_object_set_new(o, "contest_time_ms", json_integer(sb->contest_time_ms));
    json_object_set_new(o, "state", state_json(sb->state));
    json_object_set_new(o, "scoring", json_string(scoring_name(sb->scoring)));
    json_object_set_new(o, "frozen", json_boolean(sb->frozen));
    json_object_set_new(o, "rows", rows);
    json_object_set_new(o, "awards", awards);
    return o;
}

static json_t *audit_json(const Dojo__Gamification__V1__AuditEntry *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(e->id));
    json_object_set_new(o, "at", gw_json_time(e->at));
    json_object_set_new(o, "actor_id", gw_json_text(e->actor_id));
    json_object_set_new(o, "actor_name", text_or_null(e->actor_name));
    json_object_set_new(o, "action", gw_json_text(e->action));
    json_object_set_new(o, "target", gw_json_text(e->target));
    json_object_set_new(o, "from_verdict", verdict_json(e->from_verdict));
    json_object_set_new(o, "to_verdict", verdict_json(e->to_verdict));
    json_object_set_new(o, "reason", text_or_null(e->reason));
    return o;
}

/* ------------------------------------------------------------------------
 * Contests, registration, problems, teams
 * ------------------------------------------------------------------------ */

int gw_h_contests_list(gw_req_t *r, err_t **err)
{
    if (viewer(r, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListContestViewsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_VIEWS_REQUEST__INIT;
    cleanup_pb Dojo__Gamification__V1__ListContestViewsResponse *resp = NULL;
    if (call(r, "ListContestViews", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_views; i++) {
        json_t *v = view_json(resp->views[i]);
        /* The list stays light: problems and organisations are on the page. */
        json_object_del(v, "problems");
        json_object_del(v, "organizations");
        json_object_del(v, "groups");
        json_array_append_new(a, v);
    }
    r->out = json_pack("{s:o}", "contests", a);
    r->status = 200;
    return 0;
}

/* The view of the contest in the path; *out is new. */
static int get_view(gw_req_t *r, const char *slug, Dojo__Gamification__V1__GetContestViewResponse **out,
                    err_t **err)
{
    Dojo__Gamification__V1__GetContestViewRequest req =
        DOJO__GAMIFICATION__V1__GET_CONTEST_VIEW_REQUEST__INIT;
    req.slug = (char *)slug;
    if (call(r, "GetContestView", &req.base, (ProtobufCMessage **)out, true, err) < 0)
        return -1;
    if ((*out)->view == NULL || (*out)->view->contest == NULL) {
        protobuf_c_message_free_unpacked(&(*out)->base, NULL);
        *out = NULL;
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no contest \"%s\"", slug);
    }
    return 0;
}

int gw_h_contest_get(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (viewer(r, err) < 0 || slug_seg(r, &slug, err) < 0)
        return -1;
    cleanup_pb Dojo__Gamification__V1__GetContestViewResponse *resp = NULL;
    if (get_view(r, slug, &resp, err) < 0)
        return -1;
    r->out = view_json(resp->view);
    r->status = 200;
    return 0;
}

int gw_h_contest_register(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *slug, *name, *org, *invite, *join;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        gw_body_json(r, true, &body, err) < 0 ||
        gw_json_str(body, "team_name", false, 256, &name, err) < 0 ||
        gw_json_str(body, "organization_id", false, 64, &org, err) < 0 ||
        gw_json_str(body, "invite_code", false, 128, &invite, err) < 0 ||
        gw_json_str(body, "join_code", false, 64, &join, err) < 0)
        return -1;
    Dojo__Gamification__V1__RegisterContestRequest req =
        DOJO__GAMIFICATION__V1__REGISTER_CONTEST_REQUEST__INIT;
    req.slug = (char *)slug;
    req.team_name = (char *)(name ? name : "");
    req.organization_id = (char *)(org ? org : "");
    req.invite_code = (char *)(invite ? invite : "");
    req.join_code = (char *)(join ? join : "");
    cleanup_pb Dojo__Gamification__V1__RegisterContestResponse *resp = NULL;
    if (call(r, "RegisterContest", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = json_pack("{s:o}", "team", team_json(resp->team));
    r->status = 201;
    return 0;
}

int gw_h_contest_problems(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (viewer(r, err) < 0 || slug_seg(r, &slug, err) < 0)
        return -1;
    cleanup_pb Dojo__Gamification__V1__GetContestViewResponse *resp = NULL;
    if (get_view(r, slug, &resp, err) < 0)
        return -1;
    json_t *v = view_json(resp->view);
    r->out = json_pack("{s:O,s:O}", "problems", json_object_get(v, "problems"), "phase",
                       json_object_get(v, "phase"));
    json_decref(v);
    r->status = 200;
    return 0;
}

/* One problem with its statement (the task's learner view): once the
 * contest started, or for the jury. */
int gw_h_contest_problem(gw_req_t *r, err_t **err)
{
    const char *slug, *label;
    if (viewer(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        id_seg(r, 3, "problem", &label, err) < 0)
        return -1;
    cleanup_pb Dojo__Gamification__V1__GetContestViewResponse *resp = NULL;
    if (get_view(r, slug, &resp, err) < 0)
        return -1;
    const Dojo__Gamification__V1__ContestView *v = resp->view;
    const Dojo__Content__V1__ContestProblem *p = NULL;
    for (size_t i = 0; i < v->contest->n_problems && p == NULL; i++)
        if (!strcmp(v->contest->problems[i]->label, label))
            p = v->contest->problems[i];
    bool open = v->access == ACC_JURY || (v->state && has_time(v->state->started));
    if (p == NULL || !open)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no problem \"%s\" in contest %s", label,
                       slug);
    /* Before the start only the jury gets here; content hides the task
     * from everyone else until then. */
    Dojo__Content__V1__GetTaskRequest treq = DOJO__CONTENT__V1__GET_TASK_REQUEST__INIT;
    treq.slug = p->task_slug;
    treq.include_hidden = v->access == ACC_JURY;
    cleanup_pb Dojo__Content__V1__GetTaskResponse *t = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), true);
    if (rpc_client_call(r->gw->content, &dojo__content__v1__content__descriptor, "GetTask",
                        &treq.base, (ProtobufCMessage **)&t, &o, err) < 0)
        return -1;
    if (t->task == NULL)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no problem \"%s\" in contest %s", label,
                       slug);
    r->out = json_pack("{s:o,s:o}", "problem",
                       problem_json(p, v->contest->scoring ==
                                           DOJO__CONTENT__V1__SCORING_KIND__SCORING_KIND_IOI),
                       "task", gw_json_task_view(t->task));
    r->status = 200;
    return 0;
}

int gw_h_contest_teams(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (viewer(r, err) < 0 || slug_seg(r, &slug, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListContestTeamsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_TEAMS_REQUEST__INIT;
    req.slug = (char *)slug;
    cleanup_pb Dojo__Gamification__V1__ListContestTeamsResponse *resp = NULL;
    if (call(r, "ListContestTeams", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_teams; i++)
        json_array_append_new(a, team_json(resp->teams[i]));
    r->out = json_pack("{s:o,s:s}", "teams", a, "access", access_name(resp->access));
    r->status = 200;
    return 0;
}

/* POST …/teams creates, PUT …/teams/{id} replaces (jury). */
static int put_team(gw_req_t *r, const char *team_id, err_t **err)
{
    json_t *body = NULL, *groups, *members;
    const char *slug, *name, *org;
    bool hidden = false;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "name", true, 256, &name, err) < 0 ||
        gw_json_str(body, "organization_id", false, 64, &org, err) < 0 ||
        gw_json_bool(body, "hidden", &hidden, err) < 0)
        return -1;
    Dojo__Gamification__V1__PutContestTeamRequest req =
        DOJO__GAMIFICATION__V1__PUT_CONTEST_TEAM_REQUEST__INIT;
    char *gids[100], *uids[10];
    groups = json_object_get(body, "group_ids");
    members = json_object_get(body, "member_user_ids");
    struct { json_t *a; const char *key; char **out; size_t cap; size_t *n; } lists[] = {
        {groups, "group_ids", gids, 100, &req.n_group_ids},
        {members, "member_user_ids", uids, 10, &req.n_member_user_ids},
    };
    for (size_t l = 0; l < 2; l++) {
        json_t *a = lists[l].a;
        if (a == NULL || json_is_null(a))
            continue;
        if (!json_is_array(a))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be an array of strings",
                           lists[l].key);
        if (json_array_size(a) > lists[l].cap)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: at most %zu", lists[l].key,
                           lists[l].cap);
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *s = json_array_get(a, i);
            if (!json_is_string(s) || json_string_length(s) > 64)
                return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                               "%s[%zu]: must be a string of at most 64 bytes", lists[l].key, i);
            lists[l].out[i] = (char *)json_string_value(s);
        }
        *lists[l].n = json_array_size(a);
    }
    req.slug = (char *)slug;
    req.team_id = (char *)team_id;
    req.name = (char *)name;
    req.organization_id = (char *)(org ? org : "");
    req.group_ids = gids;
    req.hidden = hidden;
    req.member_user_ids = uids;
    req.keep_members = members == NULL || json_is_null(members);
    cleanup_pb Dojo__Gamification__V1__PutContestTeamResponse *resp = NULL;
    if (call(r, "PutContestTeam", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = team_json(resp->team);
    r->status = *team_id ? 200 : 201;
    return 0;
}

int gw_h_contest_team_create(gw_req_t *r, err_t **err) { return put_team(r, "", err); }

int gw_h_contest_team_put(gw_req_t *r, err_t **err)
{
    const char *id;
    if (id_seg(r, 3, "team", &id, err) < 0)
        return -1;
    return put_team(r, id, err);
}

int gw_h_contest_jury_put(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *slug, *user = r->segs[3];
    bool jury = true;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        gw_body_json(r, true, &body, err) < 0 || gw_json_bool(body, "jury", &jury, err) < 0)
        return -1;
    if (!gw_valid_uuid(user))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    Dojo__Gamification__V1__SetContestJuryRequest req =
        DOJO__GAMIFICATION__V1__SET_CONTEST_JURY_REQUEST__INIT;
    req.slug = (char *)slug;
    req.user_id = (char *)user;
    req.jury = jury;
    cleanup_pb Dojo__Gamification__V1__SetContestJuryResponse *resp = NULL;
    if (call(r, "SetContestJury", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_jury; i++)
        json_array_append_new(a, member_json(resp->jury[i]));
    r->out = json_pack("{s:o}", "jury", a);
    r->status = 200;
    return 0;
}

/* ------------------------------------------------------------------------
 * Submitting
 *
 * As POST /api/v1/submissions, with the problem's label instead of a task:
 * gamification checks the contest's time rules and registration before it
 * says which task and version to judge (a submission before the start is
 * told so, 409, rather than that the task is unknown), and whether the
 * submission counts: counted ones are queued on dojo:jobs:contest, ahead of
 * practice; after the end they are practice, graded but never counted.
 * ------------------------------------------------------------------------ */

static int64_t now_micros(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int gw_h_contest_submit(gw_req_t *r, err_t **err)
{
    gw_t *gw = r->gw;
    json_t *body = NULL, *jc;
    const char *slug, *problem, *lang, *idem, *code;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "problem_id", true, 8, &problem, err) < 0 ||
        gw_json_str(body, "language", true, 32, &lang, err) < 0 ||
        gw_json_str(body, "idempotency_key", false, 64, &idem, err) < 0)
        return -1;
    jc = json_object_get(body, "code");
    if (jc == NULL || !json_is_string(jc))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "code: %s",
                       jc ? "must be a string" : "is required");
    if ((int64_t)json_string_length(jc) > gw->cfg.max_code)
        return gw_err_http(err, 413, "payload_too_large", "code",
                           "code: must be at most %lld bytes", (long long)gw->cfg.max_code);
    code = json_string_value(jc);
    if (*code == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "code: must not be empty");
    /* Only now, with the body known to be good, does it spend. */
    if (gw_limit_take(r, GW_LIMIT_ACCOUNT, err) < 0)
        return -1;

    unsigned char h[crypto_hash_sha256_BYTES];
    char hash[65];
    crypto_hash_sha256(h, (const unsigned char *)code, strlen(code));
    sodium_bin2hex(hash, sizeof hash, h, sizeof h);
    Dojo__Gamification__V1__CreateSubmissionRequest creq =
        DOJO__GAMIFICATION__V1__CREATE_SUBMISSION_REQUEST__INIT;
    creq.user_id = r->claims.sub;
    creq.contest_slug = (char *)slug;
    creq.problem_id = (char *)problem;
    creq.language = (char *)lang;
    creq.code_hash = hash;
    creq.code = (char *)code;
    creq.kind = DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT;
    creq.idempotency_key = (char *)(idem ? idem : "");
    cleanup_pb Dojo__Gamification__V1__CreateSubmissionResponse *cr = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), false);
    if (rpc_client_call(gw->game, GAME_SVC, "CreateSubmission", &creq.base,
                        (ProtobufCMessage **)&cr, &o, err) < 0)
        return -1;

    Dojo__Common__V1__Timestamp at = DOJO__COMMON__V1__TIMESTAMP__INIT;
    at.unix_micros = now_micros();
    Dojo__Executor__V1__Job job = DOJO__EXECUTOR__V1__JOB__INIT;
    job.submission_id = cr->submission_id;
    job.kind = creq.kind;
    job.user_id = r->claims.sub;
    job.task_slug = cr->task_slug;
    job.task_version = cr->task_version;
    job.language = (char *)lang;
    job.code = (char *)code;
    job.enqueued_at = &at;
    job.attempt = 1;
    job.request_id = r->req_id;
    job.stop_at_first_failure = cr->stop_at_first_failure;
    if (gw_job_enqueue(gw, cr->contest_counted ? KVC_JOBS_CONTEST : KVC_JOBS, &job, err) < 0)
        return -1;
    metrics_counter_add("dojo_gateway_submissions_total",
                        cr->contest_counted ? "kind=\"contest\"" : "kind=\"contest_practice\"", 1);
    LOG_INFO("contest submission queued", "submission=%s contest=%s problem=%s counted=%d",
             cr->submission_id, slug, log_esc(problem), cr->contest_counted);
    char loc[160];
    snprintf(loc, sizeof loc, "/api/v1/contests/%s/submissions/%s", slug,
             cr->contest_submission_id);
    gw_add_header(r, "Location", loc);
    json_t *out = json_object();
    json_object_set_new(out, "id", gw_json_text(cr->contest_submission_id));
    json_object_set_new(out, "submission_id", gw_json_text(cr->submission_id));
    json_object_set_new(out, "team_id", text_or_null(cr->contest_team_id));
    json_object_set_new(out, "problem_id", gw_json_text(problem));
    json_object_set_new(out, "language", gw_json_text(lang));
    json_object_set_new(out, "counted", json_boolean(cr->contest_counted));
    json_object_set_new(out, "task_slug", gw_json_text(cr->task_slug));
    json_object_set_new(out, "task_version", json_integer(cr->task_version));
    json_object_set_new(out, "state", json_string("pending"));
    json_object_set_new(out, "created_at", gw_json_time(cr->created_at));
    r->out = out;
    r->status = 202;
    return 0;
}

/* ------------------------------------------------------------------------
 * Submissions and judgements (the jury's all, a team's its own)
 * ------------------------------------------------------------------------ */

int gw_h_contest_submissions(gw_req_t *r, err_t **err)
{
    const char *slug, *team, *problem;
    int64_t limit = 0;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        query_str(r, "team_id", 64, &team, err) < 0 ||
        query_str(r, "problem_id", 8, &problem, err) < 0 ||
        gw_query_int(r, "limit", 1, 5000, &limit, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListContestSubmissionsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_SUBMISSIONS_REQUEST__INIT;
    req.slug = (char *)slug;
    req.team_id = (char *)team;
    req.problem_id = (char *)problem;
    req.limit = (int32_t)limit;
    cleanup_pb Dojo__Gamification__V1__ListContestSubmissionsResponse *resp = NULL;
    if (call(r, "ListContestSubmissions", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_submissions; i++)
        json_array_append_new(a, submission_json(resp->submissions[i], false));
    r->out = json_pack("{s:o,s:s}", "submissions", a, "access", access_name(resp->access));
    r->status = 200;
    return 0;
}

int gw_h_contest_submission(gw_req_t *r, err_t **err)
{
    const char *slug, *id;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        id_seg(r, 3, "submission", &id, err) < 0)
        return -1;
    Dojo__Gamification__V1__GetContestSubmissionRequest req =
        DOJO__GAMIFICATION__V1__GET_CONTEST_SUBMISSION_REQUEST__INIT;
    req.slug = (char *)slug;
    req.id = (char *)id;
    cleanup_pb Dojo__Gamification__V1__GetContestSubmissionResponse *resp = NULL;
    if (call(r, "GetContestSubmission", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    if (resp->submission == NULL)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    r->out = submission_json(resp->submission, true);
    r->status = 200;
    return 0;
}

int gw_h_contest_judgements(gw_req_t *r, err_t **err)
{
    const char *slug, *sub;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        query_str(r, "submission_id", 64, &sub, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListContestJudgementsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_JUDGEMENTS_REQUEST__INIT;
    req.slug = (char *)slug;
    req.submission_id = (char *)sub;
    cleanup_pb Dojo__Gamification__V1__ListContestJudgementsResponse *resp = NULL;
    if (call(r, "ListContestJudgements", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_judgements; i++)
        json_array_append_new(a, judgement_json(resp->judgements[i]));
    r->out = json_pack("{s:o,s:s}", "judgements", a, "access", access_name(resp->access));
    r->status = 200;
    return 0;
}

/* ------------------------------------------------------------------------
 * The jury: rejudge, override, audit
 * ------------------------------------------------------------------------ */

/* Exactly one target: submission_id, problem_id or all. */
int gw_h_contest_rejudge(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *slug, *sub, *problem, *reason;
    bool all = false;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "submission_id", false, 64, &sub, err) < 0 ||
        gw_json_str(body, "problem_id", false, 8, &problem, err) < 0 ||
        gw_json_bool(body, "all", &all, err) < 0 ||
        gw_json_str(body, "reason", true, 2000, &reason, err) < 0)
        return -1;
    int targets = (sub && *sub) + (problem && *problem) + all;
    if (targets != 1)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "give exactly one target: submission_id, problem_id or all");
    Dojo__Gamification__V1__RejudgeContestRequest req =
        DOJO__GAMIFICATION__V1__REJUDGE_CONTEST_REQUEST__INIT;
    req.slug = (char *)slug;
    req.submission_id = (char *)(sub ? sub : "");
    req.problem_id = (char *)(problem ? problem : "");
    req.all = all;
    req.reason = (char *)reason;
    cleanup_pb Dojo__Gamification__V1__RejudgeContestResponse *resp = NULL;
    if (call(r, "RejudgeContest", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = json_pack("{s:i}", "queued", resp->queued);
    r->status = 202;
    return 0;
}

static int verdict_parse(const char *s)
{
    for (int v = 1; gw_verdict_name(v); v++)
        if (!strcmp(gw_verdict_name(v), s))
            return v;
    return 0;
}

int gw_h_contest_override(gw_req_t *r, err_t **err)
{
    json_t *body = NULL, *jscore;
    const char *slug, *id, *verdict, *reason;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        id_seg(r, 3, "submission", &id, err) < 0 || gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "verdict", true, 16, &verdict, err) < 0 ||
        gw_json_str(body, "reason", true, 2000, &reason, err) < 0)
        return -1;
    int v = verdict_parse(verdict);
    if (v == 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "verdict: must be one of ac, wa, tle, mle, re, ole, ce");
    jscore = json_object_get(body, "score");
    if (jscore && !json_is_null(jscore) && !json_is_number(jscore))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "score: must be a number");
    Dojo__Gamification__V1__OverrideVerdictRequest req =
        DOJO__GAMIFICATION__V1__OVERRIDE_VERDICT_REQUEST__INIT;
    req.slug = (char *)slug;
    req.submission_id = (char *)id;
    req.verdict = v;
    req.score = jscore && json_is_number(jscore) ? json_number_value(jscore) : 0;
    req.reason = (char *)reason;
    cleanup_pb Dojo__Gamification__V1__OverrideVerdictResponse *resp = NULL;
    if (call(r, "OverrideVerdict", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = judgement_json(resp->judgement);
    r->status = 200;
    return 0;
}

int gw_h_contest_audit(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListContestAuditRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_AUDIT_REQUEST__INIT;
    req.slug = (char *)slug;
    cleanup_pb Dojo__Gamification__V1__ListContestAuditResponse *resp = NULL;
    if (call(r, "ListContestAudit", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_entries; i++)
        json_array_append_new(a, audit_json(resp->entries[i]));
    r->out = json_pack("{s:o}", "entries", a);
    r->status = 200;
    return 0;
}

/* ------------------------------------------------------------------------
 * Clarifications
 * ------------------------------------------------------------------------ */

int gw_h_contest_clarifications(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (viewer(r, err) < 0 || slug_seg(r, &slug, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListClarificationsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CLARIFICATIONS_REQUEST__INIT;
    req.slug = (char *)slug;
    cleanup_pb Dojo__Gamification__V1__ListClarificationsResponse *resp = NULL;
    if (call(r, "ListClarifications", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_clarifications; i++)
        json_array_append_new(a, clarification_json(resp->clarifications[i]));
    r->out = json_pack("{s:o,s:s}", "clarifications", a, "access", access_name(resp->access));
    r->status = 200;
    return 0;
}

/* A team's question; the jury's answer (reply_to_id, to_all) or
 * announcement (neither). */
int gw_h_contest_clarify(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *slug, *text, *problem, *reply;
    bool to_all = false;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "text", true, 16384, &text, err) < 0 ||
        gw_json_str(body, "problem_id", false, 8, &problem, err) < 0 ||
        gw_json_str(body, "reply_to_id", false, 64, &reply, err) < 0 ||
        gw_json_bool(body, "to_all", &to_all, err) < 0)
        return -1;
    Dojo__Gamification__V1__CreateClarificationRequest req =
        DOJO__GAMIFICATION__V1__CREATE_CLARIFICATION_REQUEST__INIT;
    req.slug = (char *)slug;
    req.text = (char *)text;
    req.problem_id = (char *)(problem ? problem : "");
    req.reply_to_id = (char *)(reply ? reply : "");
    req.to_all = to_all;
    cleanup_pb Dojo__Gamification__V1__CreateClarificationResponse *resp = NULL;
    if (call(r, "CreateClarification", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    if (resp->clarification == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "CreateClarification: empty reply");
    r->out = clarification_json(resp->clarification);
    r->status = 201;
    return 0;
}

/* ------------------------------------------------------------------------
 * The scoreboard and the jury's end of the contest
 * ------------------------------------------------------------------------ */

/* The board the viewer may see: the jury's for the jury (the public one
 * with ?public=true), the public one, frozen for the last freeze_minutes
 * until the jury thaws it, for everyone else. A team finds its own results
 * of the freeze in its submissions. */
int gw_h_contest_scoreboard(gw_req_t *r, err_t **err)
{
    const char *slug, *group;
    if (viewer(r, err) < 0 || slug_seg(r, &slug, err) < 0 ||
        query_str(r, "group_id", 64, &group, err) < 0)
        return -1;
    Dojo__Gamification__V1__GetScoreboardRequest req =
        DOJO__GAMIFICATION__V1__GET_SCOREBOARD_REQUEST__INIT;
    req.slug = (char *)slug;
    req.group_id = (char *)group;
    req.public_view = query_true(r, "public");
    cleanup_pb Dojo__Gamification__V1__GetScoreboardResponse *resp = NULL;
    if (call(r, "GetScoreboard", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    if (resp->scoreboard == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "GetScoreboard: empty reply");
    r->out = gw_json_scoreboard(resp->scoreboard);
    r->status = 200;
    return 0;
}

int gw_h_contest_thaw(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0)
        return -1;
    Dojo__Gamification__V1__ThawContestRequest req =
        DOJO__GAMIFICATION__V1__THAW_CONTEST_REQUEST__INIT;
    req.slug = (char *)slug;
    cleanup_pb Dojo__Gamification__V1__ThawContestResponse *resp = NULL;
    if (call(r, "ThawContest", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = json_pack("{s:o}", "state", state_json(resp->state));
    r->status = 200;
    return 0;
}

int gw_h_contest_reveal(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0)
        return -1;
    Dojo__Gamification__V1__RevealNextRequest req =
        DOJO__GAMIFICATION__V1__REVEAL_NEXT_REQUEST__INIT;
    req.slug = (char *)slug;
    cleanup_pb Dojo__Gamification__V1__RevealNextResponse *resp = NULL;
    if (call(r, "RevealNext", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = json_pack("{s:o,s:o,s:o,s:b}", "team_id", text_or_null(resp->team_id), "problem_id",
                       text_or_null(resp->problem_id), "scoreboard",
                       gw_json_scoreboard(resp->scoreboard), "done",
                       resp->team_id == NULL || *resp->team_id == '\0');
    r->status = 200;
    return 0;
}

int gw_h_contest_finalize(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (gw_req_auth(r, err) < 0 || slug_seg(r, &slug, err) < 0)
        return -1;
    Dojo__Gamification__V1__FinalizeContestRequest req =
        DOJO__GAMIFICATION__V1__FINALIZE_CONTEST_REQUEST__INIT;
    req.slug = (char *)slug;
    cleanup_pb Dojo__Gamification__V1__FinalizeContestResponse *resp = NULL;
    if (call(r, "FinalizeContest", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = json_pack("{s:o}", "state", state_json(resp->state));
    r->status = 200;
    return 0;
}

/* ------------------------------------------------------------------------
 * Authors: contests as data (content/contests/<slug>.json, the same form)
 * ------------------------------------------------------------------------ */

#define CONTENT_SVC (&dojo__content__v1__content__descriptor)

/* Tells gamification a new version is stored, so its pages show it at once
 * rather than after its definitions cache expires (the replica this call
 * reaches; others within DOJO_GAMIFICATION_CONTENT_TTL). Best effort. */
static void contest_refresh(gw_req_t *r, const char *slug, int version)
{
    Dojo__Gamification__V1__GetContestViewRequest req =
        DOJO__GAMIFICATION__V1__GET_CONTEST_VIEW_REQUEST__INIT;
    req.slug = (char *)slug;
    req.min_version = version;
    cleanup_pb Dojo__Gamification__V1__GetContestViewResponse *resp = NULL;
    cleanup_err err_t *e = NULL;
    if (call(r, "GetContestView", &req.base, (ProtobufCMessage **)&resp, true, &e) < 0)
        LOG_WARN("contest stored; gamification not told", "contest=%s error=\"%s\"", slug,
                 log_esc(e->msg));
}

/* PUT /api/v1/author/contests/{slug} {contest, expected_version, dry_run,
 * invite_code}: creates (expected_version 0) or changes a contest. Problems
 * with the definition answer 422 with every one of them in "errors". */
/* PutContest of a contest file's text: r->out and r->status are the
 * answer (422 with every problem in "errors"); 0, or -1 for a call that
 * failed. `file` names the text in the errors ("" for the request's). */
static int store_contest(gw_req_t *r, const char *slug, const char *text, const char *file,
                         int64_t expected, bool dry, const char *invite, err_t **err)
{
    Dojo__Content__V1__ContestInput in = DOJO__CONTENT__V1__CONTEST_INPUT__INIT;
    in.format_case = DOJO__CONTENT__V1__CONTEST_INPUT__FORMAT_JSON;
    in.json = (char *)text;
    in.file = (char *)file;
    Dojo__Content__V1__PutContestRequest req = DOJO__CONTENT__V1__PUT_CONTEST_REQUEST__INIT;
    req.input = &in;
    req.expected_version = (int32_t)expected;
    req.dry_run = dry;
    req.invite_code = (char *)(invite ? invite : "");
    cleanup_pb Dojo__Content__V1__PutContestResponse *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), false);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "PutContest", &req.base,
                        (ProtobufCMessage **)&resp, &o, err) < 0)
        return -1;
    const char *change = gw_change_name(resp->change);
    json_t *out = json_object();
    json_object_set_new(out, "change", json_string(change ? change : "unchanged"));
    json_object_set_new(out, "errors", gw_json_field_errors(resp->errors, resp->n_errors));
    json_object_set_new(out, "warnings", gw_json_field_errors(resp->warnings, resp->n_warnings));
    if (resp->change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED) {
        json_object_set_new(out, "error",
                            json_pack("{s:s,s:s,s:o}", "code", "failed_precondition", "message",
                                      "the contest was not stored: see errors", "field",
                                      resp->n_errors ? gw_json_text(resp->errors[0]->path)
                                                     : json_null()));
        r->out = out;
        r->status = 422;
        return 0;
    }
    json_object_set_new(out, "contest", resp->contest ? contest_json(resp->contest) : json_null());
    if (!dry && resp->change != DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED) {
        /* A contest hides its tasks until it starts: the learners' task
         * list and the task views change with it. */
        gw_cache_clear(r->gw->cache);
        gw_taskcache_changed(r->gw);
        if (resp->contest)
            contest_refresh(r, slug, resp->contest->version);
    }
    r->out = out;
    r->status = resp->change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED && !dry ? 201
                                                                                           : 200;
    return 0;
}

int gw_h_author_contest_put(gw_req_t *r, err_t **err)
{
    json_t *body = NULL, *def;
    const char *slug, *invite;
    int64_t expected = 0;
    bool dry = false;
    if (gw_req_author(r, err) < 0 || slug_seg_at(r, 2, &slug, err) < 0 ||
        gw_body_json(r, false, &body, err) < 0 ||
        gw_json_int(body, "expected_version", 0, INT32_MAX, &expected, err) < 0 ||
        gw_json_bool(body, "dry_run", &dry, err) < 0 ||
        gw_json_str(body, "invite_code", false, 64, &invite, err) < 0)
        return -1;
    def = json_object_get(body, "contest");
    if (!json_is_object(def))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "contest: is required (the contest file's JSON object)");
    const char *inner = json_string_value(json_object_get(def, "slug"));
    if (inner == NULL || strcmp(inner, slug) != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "contest: its slug must be the one in the path (%s)", slug);
    cleanup_free char *text = json_dumps(def, JSON_COMPACT);
    return store_contest(r, slug, text, "", expected, dry, invite, err);
}

/* ------------------------------------------------------------------------
 * CLICS contest packages: content reads and writes the files
 * (ParseContestPackage, ExportContestPackage); the teams are gamification's,
 * put and listed here as the service (an author's import or export speaks
 * for the contest, like its definition).
 * ------------------------------------------------------------------------ */

static int service_call(gw_req_t *r, const char *method, const ProtobufCMessage *req,
                        ProtobufCMessage **out, bool idempotent, err_t **err)
{
    rpc_call_opts_t o = gw_opts(r, gw_md_service(r), idempotent);
    return rpc_client_call(r->gw->game, GAME_SVC, method, req, out, &o, err);
}

/* Every team of the contest, hidden ones too. *out new (cleanup_pb). */
static int all_teams(gw_req_t *r, const char *slug,
                     Dojo__Gamification__V1__ListContestTeamsResponse **out, err_t **err)
{
    Dojo__Gamification__V1__ListContestTeamsRequest req =
        DOJO__GAMIFICATION__V1__LIST_CONTEST_TEAMS_REQUEST__INIT;
    req.slug = (char *)slug;
    return service_call(r, "ListContestTeams", &req.base, (ProtobufCMessage **)out, true, err);
}

/* The package's teams, each matched by name with a team of the contest
 * (changed, members kept) or made (without members): [{package_id, id,
 * name, change}] into `out`. */
static int put_package_teams(gw_req_t *r, const char *slug,
                             const Dojo__Content__V1__ParseContestPackageResponse *p, json_t *out,
                             err_t **err)
{
    cleanup_pb Dojo__Gamification__V1__ListContestTeamsResponse *have = NULL;
    if (all_teams(r, slug, &have, err) < 0)
        return -1;
    for (size_t i = 0; i < p->n_teams; i++) {
        const Dojo__Content__V1__ContestPackageTeam *t = p->teams[i];
        Dojo__Gamification__V1__PutContestTeamRequest req =
            DOJO__GAMIFICATION__V1__PUT_CONTEST_TEAM_REQUEST__INIT;
        req.slug = (char *)slug;
        for (size_t k = 0; k < have->n_teams && !*req.team_id; k++)
            if (!strcmp(have->teams[k]->name, t->name))
                req.team_id = have->teams[k]->id;
        req.name = t->name;
        req.organization_id = t->organization_id;
        req.group_ids = t->group_ids;
        req.n_group_ids = t->n_group_ids;
        req.hidden = t->hidden;
        req.keep_members = *req.team_id != '\0';
        cleanup_pb Dojo__Gamification__V1__PutContestTeamResponse *resp = NULL;
        if (service_call(r, "PutContestTeam", &req.base, (ProtobufCMessage **)&resp, false,
                         err) < 0)
            return err_wrap(err, "teams.json[%zu] (%s)", i, t->name);
        json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s}", "package_id", t->id, "id",
                                             resp->team ? resp->team->id : "", "name", t->name,
                                             "change", *req.team_id ? "updated" : "created"));
    }
    return 0;
}

/* PUT /api/v1/author/contests/{slug}/package[?expected_version=&dry_run=]
 * with a CLICS contest package (.zip) as the body: the contest stored as
 * PUT …/{slug} stores it, then its teams. */
int gw_h_author_contest_package_put(gw_req_t *r, err_t **err)
{
    const char *slug;
    int64_t expected = 0;
    if (gw_req_author(r, err) < 0 || slug_seg_at(r, 2, &slug, err) < 0 ||
        gw_query_int(r, "expected_version", 0, INT32_MAX, &expected, err) < 0)
        return -1;
    const char *dq = gw_query(r, "dry_run");
    bool dry = dq && (!strcmp(dq, "1") || !strcmp(dq, "true"));
    if (r->body_len == 0)
        return gw_err_http(err, 400, "invalid_argument", NULL,
                           "the body must be the contest package: a .zip file (Content-Type: "
                           "application/zip)");
    Dojo__Content__V1__ParseContestPackageRequest preq =
        DOJO__CONTENT__V1__PARSE_CONTEST_PACKAGE_REQUEST__INIT;
    preq.zip.data = (uint8_t *)r->body;
    preq.zip.len = r->body_len;
    preq.slug = (char *)slug;
    cleanup_pb Dojo__Content__V1__ParseContestPackageResponse *p = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ParseContestPackage", &preq.base,
                        (ProtobufCMessage **)&p, &o, err) < 0)
        return -1;
    json_t *warnings = gw_json_field_errors(p->warnings, p->n_warnings);
    if (!p->ok) {
        json_t *errors = gw_json_field_errors(p->errors, p->n_errors);
        const char *first = p->n_errors ? p->errors[0]->path : "";
        char text[600];
        snprintf(text, sizeof text, "%s%s%s%s", first, *first ? ": " : "",
                 p->n_errors ? p->errors[0]->message : "the package was refused",
                 p->n_errors > 1 ? " (and more: see errors)" : "");
        r->out = json_pack("{s:{s:s,s:s,s:o},s:s,s:o,s:o}", "error", "code", "invalid_package",
                           "message", text, "field", *first ? json_string(first) : json_null(),
                           "change", "rejected", "errors", errors, "warnings", warnings);
        r->status = 422;
        return 0;
    }
    if (store_contest(r, slug, p->json, "", expected, dry, NULL, err) < 0) {
        json_decref(warnings);
        return -1;
    }
    json_array_extend(warnings, json_object_get(r->out, "warnings"));
    json_object_set_new(r->out, "warnings", warnings);
    json_t *teams = json_array();
    json_object_set_new(r->out, "teams", teams);
    if (r->status >= 300)
        return 0;
    if (dry) {
        for (size_t i = 0; i < p->n_teams; i++)
            json_array_append_new(teams, json_pack("{s:s,s:s}", "package_id", p->teams[i]->id,
                                                   "name", p->teams[i]->name));
        return 0;
    }
    if (put_package_teams(r, slug, p, teams, err) < 0)
        return -1;
    LOG_INFO("contest package imported", "contest=%s teams=%zu", slug, p->n_teams);
    return 0;
}

/* GET /api/v1/author/contests/{slug}/package: the contest as a CLICS
 * contest package, with its teams. */
int gw_h_author_contest_package_get(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (gw_req_author(r, err) < 0 || slug_seg_at(r, 2, &slug, err) < 0)
        return -1;
    cleanup_pb Dojo__Gamification__V1__ListContestTeamsResponse *have = NULL;
    if (all_teams(r, slug, &have, err) < 0)
        return -1;
    Dojo__Content__V1__ExportContestPackageRequest req =
        DOJO__CONTENT__V1__EXPORT_CONTEST_PACKAGE_REQUEST__INIT;
    req.slug = (char *)slug;
    req.teams = arena_alloc(&r->arena, (have->n_teams + 1) * sizeof *req.teams);
    for (size_t i = 0; i < have->n_teams; i++) {
        const Dojo__Gamification__V1__ContestTeam *t = have->teams[i];
        Dojo__Content__V1__ContestPackageTeam *m = arena_alloc(&r->arena, sizeof *m);
        dojo__content__v1__contest_package_team__init(m);
        m->id = t->id;
        m->name = t->name;
        m->organization_id = t->organization_id;
        m->group_ids = t->group_ids;
        m->n_group_ids = t->n_group_ids;
        m->hidden = t->hidden;
        req.teams[req.n_teams++] = m;
    }
    cleanup_pb Dojo__Content__V1__ExportContestPackageResponse *e = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ExportContestPackage", &req.base,
                        (ProtobufCMessage **)&e, &o, err) < 0)
        return -1;
    gw_reply_zip(r, &e->zip, e->file_name);
    char ver[16];
    snprintf(ver, sizeof ver, "%d", e->version);
    gw_add_header(r, "X-Contest-Version", ver);
    return 0;
}

/* GET /api/v1/author/contests/{slug}/export: the contest file. */
int gw_h_author_contest_export(gw_req_t *r, err_t **err)
{
    const char *slug;
    if (gw_req_author(r, err) < 0 || slug_seg_at(r, 2, &slug, err) < 0)
        return -1;
    Dojo__Content__V1__ExportContestRequest req = DOJO__CONTENT__V1__EXPORT_CONTEST_REQUEST__INIT;
    req.slug = (char *)slug;
    cleanup_pb Dojo__Content__V1__ExportContestResponse *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ExportContest", &req.base,
                        (ProtobufCMessage **)&resp, &o, err) < 0)
        return -1;
    r->raw_body = arena_strdup(&r->arena, resp->json);
    r->raw_len = strlen(resp->json);
    r->raw_type = "application/json; charset=utf-8";
    char cd[96];
    snprintf(cd, sizeof cd, "attachment; filename=\"%s.json\"", slug);
    gw_add_header(r, "Content-Disposition", cd);
    char ver[16];
    snprintf(ver, sizeof ver, "%d", resp->version);
    gw_add_header(r, "X-Contest-Version", ver);
    r->status = 200;
    return 0;
}
