/* classes.c — classes, their members, rosters, boards and the teacher's
 * dashboard under /api/v1/classes (and /api/v1/author/tasks/{slug}/analytics,
 * POST /api/v1/tasks/{slug}/open). Every call forwards the caller's token:
 * gamification decides who may see what (classes.proto). Shapes are built
 * field by field, as json.c's are. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"

#define GAME_SVC (&dojo__gamification__v1__gamification__descriptor)
#define ROSTER_TIMEOUT_MS 60000

/* ------------------------------------------------------------------------
 * Calls and small JSON helpers (shared with assignments.c)
 * ------------------------------------------------------------------------ */

int gw_game_call(gw_req_t *r, const char *method, const ProtobufCMessage *req,
                 ProtobufCMessage **out, bool idempotent, err_t **err)
{
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), idempotent);
    return rpc_client_call(r->gw->game, GAME_SVC, method, req, out, &o, err);
}

json_t *gw_json_text(const char *s)
{
    if (s == NULL)
        return json_string("");
    json_t *j = json_string(s);
    return j ? j : gw_json_bytes((const uint8_t *)s, strlen(s));
}

/* "" → null, for ids that are not there. */
static json_t *text_or_null(const char *s)
{
    return s && *s ? gw_json_text(s) : json_null();
}

static json_t *verdict_json(int v)
{
    const char *n = gw_verdict_name(v);
    return n ? json_string(n) : json_null();
}

/* A path segment that names a class: gamification checks its form. */
static int class_seg(gw_req_t *r, const char **out, err_t **err)
{
    *out = r->segs[1];
    if (strlen(*out) > 64)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such class");
    return 0;
}

static const char *next_token(const Dojo__Common__V1__PageInfo *p)
{
    return p && p->next_page_token ? p->next_page_token : "";
}

static bool query_true(gw_req_t *r, const char *name)
{
    const char *v = gw_query(r, name);
    return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

/* ------------------------------------------------------------------------
 * Shapes
 * ------------------------------------------------------------------------ */

json_t *gw_json_class(const Dojo__Gamification__V1__Classroom *c)
{
    if (c == NULL)
        return json_null();
    json_t *teachers = json_array();
    for (size_t i = 0; i < c->n_teachers; i++)
        json_array_append_new(teachers, json_pack("{s:o,s:o}", "user_id",
                                                  gw_json_text(c->teachers[i]->user_id),
                                                  "display_name",
                                                  gw_json_text(c->teachers[i]->display_name)));
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:i,s:o,s:o,s:b,s:b,s:i}", "id",
                     gw_json_text(c->id), "title", gw_json_text(c->title), "description",
                     gw_json_text(c->description), "time_zone", gw_json_text(c->time_zone),
                     "join_code", text_or_null(c->join_code), "archived", c->archived,
                     "archived_at", gw_json_time(c->archived_at), "member_count", c->member_count,
                     "teachers", teachers, "created_at", gw_json_time(c->created_at), "teaching",
                     c->teaching, "member", c->member, "assignment_count", c->assignment_count);
}

static json_t *member_json(const Dojo__Gamification__V1__ClassMember *m)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "user_id", gw_json_text(m->user_id),
                     "display_name", gw_json_text(m->display_name), "username",
                     text_or_null(m->username), "email", text_or_null(m->email), "joined_at",
                     gw_json_time(m->joined_at), "last_active_at",
                     gw_json_time(m->last_active_at), "total_points",
                     (json_int_t)m->total_points);
}

static json_t *board_entry_json(const Dojo__Gamification__V1__ClassBoardEntry *e)
{
    if (e == NULL)
        return json_null();
    return json_pack("{s:I,s:o,s:o,s:f,s:o,s:b}", "rank", (json_int_t)e->rank, "user_id",
                     text_or_null(e->user_id), "display_name", gw_json_text(e->display_name),
                     "points", e->points, "reached_at", gw_json_time(e->reached_at), "you",
                     e->you);
}

static const char *roster_outcome(int o)
{
    switch (o) {
    case DOJO__GAMIFICATION__V1__ROSTER_OUTCOME__ROSTER_OUTCOME_ADDED: return "added";
    case DOJO__GAMIFICATION__V1__ROSTER_OUTCOME__ROSTER_OUTCOME_INVITED: return "invited";
    case DOJO__GAMIFICATION__V1__ROSTER_OUTCOME__ROSTER_OUTCOME_ALREADY_MEMBER:
        return "already_member";
    default: return "rejected";
    }
}

/* ------------------------------------------------------------------------
 * Classes
 * ------------------------------------------------------------------------ */

int gw_h_classes_list(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListClassesRequest req =
        DOJO__GAMIFICATION__V1__LIST_CLASSES_REQUEST__INIT;
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    if (gw_query_page(r, &page, 200, err) < 0)
        return -1;
    req.page = &page;
    req.include_archived = query_true(r, "include_archived");
    req.all = query_true(r, "all");
    cleanup_pb Dojo__Gamification__V1__ListClassesResponse *resp = NULL;
    if (gw_game_call(r, "ListClasses", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_classes; i++)
        json_array_append_new(a, gw_json_class(resp->classes[i]));
    r->out = json_pack("{s:o,s:s}", "classes", a, "next_page_token", next_token(resp->page));
    r->status = 200;
    return 0;
}

int gw_h_class_create(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *title, *desc, *zone;
    if (gw_req_auth(r, err) < 0 || gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "title", true, 512, &title, err) < 0 ||
        gw_json_str(body, "description", false, 4096, &desc, err) < 0 ||
        gw_json_str(body, "time_zone", false, 64, &zone, err) < 0)
        return -1;
    Dojo__Gamification__V1__CreateClassRequest req =
        DOJO__GAMIFICATION__V1__CREATE_CLASS_REQUEST__INIT;
    req.title = (char *)title;
    req.description = (char *)(desc ? desc : "");
    req.time_zone = (char *)(zone ? zone : "");
    cleanup_pb Dojo__Gamification__V1__CreateClassResponse *resp = NULL;
    if (gw_game_call(r, "CreateClass", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = gw_json_class(resp->classroom);
    r->status = 201;
    return 0;
}

int gw_h_class_get(gw_req_t *r, err_t **err)
{
    const char *id;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0)
        return -1;
    Dojo__Gamification__V1__GetClassRequest req = DOJO__GAMIFICATION__V1__GET_CLASS_REQUEST__INIT;
    req.class_id = (char *)id;
    cleanup_pb Dojo__Gamification__V1__GetClassResponse *resp = NULL;
    if (gw_game_call(r, "GetClass", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->out = gw_json_class(resp->classroom);
    r->status = 200;
    return 0;
}

int gw_h_class_update(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *id, *title, *desc, *zone;
    bool rotate = false;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0 ||
        gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "title", false, 512, &title, err) < 0 ||
        gw_json_str(body, "description", false, 4096, &desc, err) < 0 ||
        gw_json_str(body, "time_zone", false, 64, &zone, err) < 0 ||
        gw_json_bool(body, "rotate_join_code", &rotate, err) < 0)
        return -1;
    if (title && *title == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "title: must not be empty");
    if (zone && *zone == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "time_zone: must not be empty");
    Dojo__Gamification__V1__UpdateClassRequest req =
        DOJO__GAMIFICATION__V1__UPDATE_CLASS_REQUEST__INIT;
    req.class_id = (char *)id;
    req.title = (char *)(title ? title : "");
    req.description = (char *)(desc ? desc : "");
    req.update_description = desc != NULL;
    req.time_zone = (char *)(zone ? zone : "");
    req.rotate_join_code = rotate;
    cleanup_pb Dojo__Gamification__V1__UpdateClassResponse *resp = NULL;
    if (gw_game_call(r, "UpdateClass", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = gw_json_class(resp->classroom);
    r->status = 200;
    return 0;
}

int gw_h_class_archive(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *id;
    bool restore = false;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0 ||
        gw_body_json(r, true, &body, err) < 0 || gw_json_bool(body, "restore", &restore, err) < 0)
        return -1;
    Dojo__Gamification__V1__ArchiveClassRequest req =
        DOJO__GAMIFICATION__V1__ARCHIVE_CLASS_REQUEST__INIT;
    req.class_id = (char *)id;
    req.restore = restore;
    cleanup_pb Dojo__Gamification__V1__ArchiveClassResponse *resp = NULL;
    if (gw_game_call(r, "ArchiveClass", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->out = gw_json_class(resp->classroom);
    r->status = 200;
    return 0;
}

int gw_h_class_delete(gw_req_t *r, err_t **err)
{
    const char *id;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0)
        return -1;
    Dojo__Gamification__V1__DeleteClassRequest req =
        DOJO__GAMIFICATION__V1__DELETE_CLASS_REQUEST__INIT;
    req.class_id = (char *)id;
    cleanup_pb ProtobufCMessage *resp = NULL;
    if (gw_game_call(r, "DeleteClass", &req.base, &resp, true, err) < 0)
        return -1;
    r->status = 204;
    return 0;
}

int gw_h_class_join(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *code, *invite;
    if (gw_req_auth(r, err) < 0 || gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "code", false, 64, &code, err) < 0 ||
        gw_json_str(body, "invite", false, 128, &invite, err) < 0)
        return -1;
    Dojo__Gamification__V1__JoinClassRequest req = DOJO__GAMIFICATION__V1__JOIN_CLASS_REQUEST__INIT;
    req.code = (char *)(code ? code : "");
    req.invite_token = (char *)(invite ? invite : "");
    cleanup_pb Dojo__Gamification__V1__JoinClassResponse *resp = NULL;
    if (gw_game_call(r, "JoinClass", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = json_pack("{s:o,s:b}", "class", gw_json_class(resp->classroom), "joined",
                       resp->joined);
    r->status = 200;
    return 0;
}

int gw_h_class_members(gw_req_t *r, err_t **err)
{
    const char *id;
    Dojo__Gamification__V1__ListClassMembersRequest req =
        DOJO__GAMIFICATION__V1__LIST_CLASS_MEMBERS_REQUEST__INIT;
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0 || gw_query_page(r, &page, 500, err) < 0)
        return -1;
    req.class_id = (char *)id;
    req.page = &page;
    cleanup_pb Dojo__Gamification__V1__ListClassMembersResponse *resp = NULL;
    if (gw_game_call(r, "ListClassMembers", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *members = json_array(), *invites = json_array();
    for (size_t i = 0; i < resp->n_members; i++)
        json_array_append_new(members, member_json(resp->members[i]));
    for (size_t i = 0; i < resp->n_invites; i++)
        json_array_append_new(invites, json_pack("{s:o,s:o,s:o}", "email",
                                                 gw_json_text(resp->invites[i]->email),
                                                 "invited_at",
                                                 gw_json_time(resp->invites[i]->invited_at),
                                                 "expires_at",
                                                 gw_json_time(resp->invites[i]->expires_at)));
    r->out = json_pack("{s:o,s:o,s:s}", "members", members, "invites", invites,
                       "next_page_token", next_token(resp->page));
    r->status = 200;
    return 0;
}

int gw_h_class_member_remove(gw_req_t *r, err_t **err)
{
    const char *id, *user = r->segs[3];
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0)
        return -1;
    if (!strcmp(user, "me"))
        user = "";
    else if (!gw_valid_uuid(user))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID or \"me\"");
    Dojo__Gamification__V1__RemoveClassMemberRequest req =
        DOJO__GAMIFICATION__V1__REMOVE_CLASS_MEMBER_REQUEST__INIT;
    req.class_id = (char *)id;
    req.user_id = (char *)user;
    cleanup_pb Dojo__Gamification__V1__RemoveClassMemberResponse *resp = NULL;
    if (gw_game_call(r, "RemoveClassMember", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->out = json_pack("{s:b}", "removed", resp->removed);
    r->status = 200;
    return 0;
}

int gw_h_class_roster(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *id, *csv, *mode;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0 ||
        gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "csv", true, 0, &csv, err) < 0 ||
        gw_json_str(body, "mode", true, 32, &mode, err) < 0)
        return -1;
    Dojo__Gamification__V1__ImportRosterRequest req =
        DOJO__GAMIFICATION__V1__IMPORT_ROSTER_REQUEST__INIT;
    if (!strcmp(mode, "create_accounts"))
        req.mode = DOJO__GAMIFICATION__V1__ROSTER_MODE__ROSTER_MODE_CREATE_ACCOUNTS;
    else if (!strcmp(mode, "invite"))
        req.mode = DOJO__GAMIFICATION__V1__ROSTER_MODE__ROSTER_MODE_INVITE;
    else
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "mode: must be create_accounts or invite");
    req.class_id = (char *)id;
    req.csv = (char *)csv;
    cleanup_pb Dojo__Gamification__V1__ImportRosterResponse *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), false);
    o.timeout_ms = ROSTER_TIMEOUT_MS;
    if (rpc_client_call(r->gw->game, GAME_SVC, "ImportRoster", &req.base,
                        (ProtobufCMessage **)&resp, &o, err) < 0)
        return -1;
    json_t *rows = json_array();
    for (size_t i = 0; i < resp->n_rows; i++) {
        const Dojo__Gamification__V1__RosterRow *row = resp->rows[i];
        json_array_append_new(rows, json_pack("{s:i,s:o,s:o,s:s,s:o,s:o}", "line", row->line,
                                              "email", gw_json_text(row->email), "username",
                                              text_or_null(row->username), "outcome",
                                              roster_outcome(row->outcome), "user_id",
                                              text_or_null(row->user_id), "message",
                                              text_or_null(row->message)));
    }
    r->out = json_pack("{s:o,s:i,s:i,s:i,s:i}", "rows", rows, "added", resp->added, "invited",
                       resp->invited, "already_members", resp->already_members, "rejected",
                       resp->rejected);
    r->status = 200;
    return 0;
}

/* ------------------------------------------------------------------------
 * Boards and the dashboard
 * ------------------------------------------------------------------------ */

static int assignment_query(gw_req_t *r, const char **out, err_t **err)
{
    const char *a = gw_query(r, "assignment");
    *out = a ? a : "";
    if (**out && !gw_valid_uuid(*out))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    return 0;
}

int gw_h_class_board(gw_req_t *r, err_t **err)
{
    const char *id, *assignment;
    Dojo__Gamification__V1__GetClassBoardRequest req =
        DOJO__GAMIFICATION__V1__GET_CLASS_BOARD_REQUEST__INIT;
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0 ||
        assignment_query(r, &assignment, err) < 0 || gw_query_page(r, &page, 100, err) < 0)
        return -1;
    req.class_id = (char *)id;
    req.assignment_id = (char *)assignment;
    req.page = &page;
    cleanup_pb Dojo__Gamification__V1__GetClassBoardResponse *resp = NULL;
    if (gw_game_call(r, "GetClassBoard", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *entries = json_array();
    for (size_t i = 0; i < resp->n_entries; i++)
        json_array_append_new(entries, board_entry_json(resp->entries[i]));
    r->out = json_pack("{s:o,s:o,s:b,s:s,s:I,s:f}", "entries", entries, "own",
                       board_entry_json(resp->own), "own_opted_out", resp->own_opted_out,
                       "next_page_token", next_token(resp->page), "total",
                       (json_int_t)(resp->page ? resp->page->total : -1), "max_points",
                       resp->max_points);
    r->status = 200;
    return 0;
}

static json_t *cell_json(const Dojo__Gamification__V1__ProgressCell *c)
{
    return json_pack("{s:b,s:i,s:o,s:o,s:f,s:b,s:b}", "solved", c->solved, "attempts",
                     c->attempts, "last_verdict", verdict_json(c->last_verdict),
                     "seconds_to_solve",
                     c->seconds_to_solve >= 0 ? json_integer(c->seconds_to_solve) : json_null(),
                     "grade_percent", c->grade_percent, "late", c->late, "opened", c->opened);
}

int gw_h_class_progress(gw_req_t *r, err_t **err)
{
    const char *id, *assignment;
    int64_t days = 0;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0 ||
        assignment_query(r, &assignment, err) < 0 ||
        gw_query_int(r, "inactive_days", 0, 365, &days, err) < 0)
        return -1;
    Dojo__Gamification__V1__GetClassProgressRequest req =
        DOJO__GAMIFICATION__V1__GET_CLASS_PROGRESS_REQUEST__INIT;
    req.class_id = (char *)id;
    req.assignment_id = (char *)assignment;
    req.inactive_days = (int32_t)days;
    cleanup_pb Dojo__Gamification__V1__GetClassProgressResponse *resp = NULL;
    if (gw_game_call(r, "GetClassProgress", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *cols = json_array(), *rows = json_array(), *cells = json_array();
    for (size_t j = 0; j < resp->n_columns; j++) {
        const Dojo__Gamification__V1__ProgressColumn *c = resp->columns[j];
        json_array_append_new(cols, json_pack("{s:o,s:o,s:o,s:o}", "assignment_id",
                                              gw_json_text(c->assignment_id), "assignment_title",
                                              gw_json_text(c->assignment_title), "task_slug",
                                              gw_json_text(c->task_slug), "task_title",
                                              gw_json_text(c->task_title)));
    }
    size_t ncols = resp->n_columns;
    for (size_t i = 0; i < resp->n_rows; i++) {
        const Dojo__Gamification__V1__ProgressRow *row = resp->rows[i];
        json_array_append_new(rows, json_pack("{s:o,s:f,s:i,s:b}", "member",
                                              member_json(row->member), "grade_percent",
                                              row->grade_percent, "solved", row->solved,
                                              "inactive", row->inactive));
        json_t *line = json_array();
        for (size_t j = 0; j < ncols && i * ncols + j < resp->n_cells; j++)
            json_array_append_new(line, cell_json(resp->cells[i * ncols + j]));
        json_array_append_new(cells, line);
    }
    r->out = json_pack("{s:o,s:o,s:o,s:i,s:o}", "columns", cols, "rows", rows, "cells", cells,
                       "inactive_days", resp->inactive_days, "as_of", gw_json_time(resp->as_of));
    r->status = 200;
    return 0;
}

static json_t *analytics_json(const Dojo__Gamification__V1__TaskAnalytics *t)
{
    json_t *verdicts = json_array(), *tests = json_array(), *wrong = json_array(),
           *retries = json_array();
    for (size_t i = 0; i < t->n_verdicts; i++)
        json_array_append_new(verdicts, json_pack("{s:o,s:i,s:f}", "verdict",
                                                  verdict_json(t->verdicts[i]->verdict),
                                                  "submissions", t->verdicts[i]->submissions,
                                                  "share", t->verdicts[i]->share));
    for (size_t i = 0; i < t->n_tests; i++) {
        const Dojo__Gamification__V1__TestFailure *f = t->tests[i];
        json_array_append_new(tests, json_pack("{s:i,s:o,s:b,s:i,s:i}", "index", f->index, "name",
                                               gw_json_text(f->name), "hidden", f->hidden, "ran",
                                               f->ran, "failed", f->failed));
    }
    for (size_t i = 0; i < t->n_wrong_outputs; i++) {
        const Dojo__Gamification__V1__WrongOutput *w = t->wrong_outputs[i];
        json_array_append_new(wrong, json_pack("{s:o,s:o,s:i,s:i}", "test_name",
                                               gw_json_text(w->test_name), "output_excerpt",
                                               gw_json_text(w->output_excerpt), "submissions",
                                               w->submissions, "learners", w->learners));
    }
    for (size_t i = 0; i < t->n_retries; i++)
        json_array_append_new(retries, json_pack("{s:o,s:i}", "label",
                                                 gw_json_text(t->retries[i]->label), "learners",
                                                 t->retries[i]->learners));
    return json_pack("{s:o,s:o,s:i,s:i,s:i,s:f,s:f,s:o,s:o,s:o,s:o,s:i}", "task_slug",
                     gw_json_text(t->task_slug), "title", gw_json_text(t->title), "learners",
                     t->learners, "solvers", t->solvers, "submissions", t->submissions,
                     "median_attempts", t->median_attempts, "median_seconds_to_solve",
                     t->median_seconds_to_solve, "verdicts", verdicts, "tests", tests,
                     "wrong_outputs", wrong, "retries", retries, "sampled", t->sampled);
}

/* ?tasks=a,b,c (at most 50) */
static int analytics(gw_req_t *r, const char *class_id, const char *one_task, err_t **err)
{
    Dojo__Gamification__V1__GetTaskAnalyticsRequest req =
        DOJO__GAMIFICATION__V1__GET_TASK_ANALYTICS_REQUEST__INIT;
    char *slugs[51];
    size_t n = 0;
    if (one_task) {
        if (strlen(one_task) > 64)
            return err_set(err, GRPC_STATUS_NOT_FOUND, "no task %.64s", one_task);
        slugs[n++] = (char *)one_task;
    } else {
        const char *q = gw_query(r, "tasks");
        if (q == NULL || *q == '\0')
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "tasks: is required (slug,slug,...)");
        char *copy = arena_strdup(&r->arena, q), *save = NULL;
        for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            if (n == 50)
                return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "tasks: at most 50");
            slugs[n++] = s;
        }
    }
    req.task_slugs = slugs;
    req.n_task_slugs = n;
    req.class_id = (char *)class_id;
    cleanup_pb Dojo__Gamification__V1__GetTaskAnalyticsResponse *resp = NULL;
    if (gw_game_call(r, "GetTaskAnalytics", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    if (one_task) {
        r->out = resp->n_tasks ? analytics_json(resp->tasks[0]) : json_object();
    } else {
        json_t *a = json_array();
        for (size_t i = 0; i < resp->n_tasks; i++)
            json_array_append_new(a, analytics_json(resp->tasks[i]));
        r->out = json_pack("{s:o}", "tasks", a);
    }
    r->status = 200;
    return 0;
}

int gw_h_class_analytics(gw_req_t *r, err_t **err)
{
    const char *id;
    if (gw_req_auth(r, err) < 0 || class_seg(r, &id, err) < 0)
        return -1;
    return analytics(r, id, NULL, err);
}

int gw_h_author_analytics(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    return analytics(r, "", r->segs[2], err);
}

int gw_h_task_open(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    if (strlen(r->segs[1]) > 64)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no task %.64s", r->segs[1]);
    Dojo__Gamification__V1__RecordTaskOpenRequest req =
        DOJO__GAMIFICATION__V1__RECORD_TASK_OPEN_REQUEST__INIT;
    req.task_slug = (char *)r->segs[1];
    cleanup_pb Dojo__Gamification__V1__RecordTaskOpenResponse *resp = NULL;
    if (gw_game_call(r, "RecordTaskOpen", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->out = json_pack("{s:o}", "first_opened_at", gw_json_time(resp->first_opened_at));
    r->status = 200;
    return 0;
}
