/* assignments.c — a class's assignments under
 * /api/v1/classes/{id}/assignments, their grades as CSV, and the learner's
 * own list of what is due (GET /api/v1/me/assignments). Dates travel as
 * RFC 3339 instants plus local times in the class's zone; gamification
 * parses what teachers write (classes.proto). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"

static const char *const policy_names[] = {NULL, "accept", "penalty", "refuse"};
static const char *const state_names[] = {NULL, "upcoming", "open", "late", "closed"};

static json_t *name_or_null(const char *const *names, size_t n, int v)
{
    return v > 0 && (size_t)v < n && names[v] ? json_string(names[v]) : json_null();
}

json_t *gw_json_assignment(const Dojo__Gamification__V1__Assignment *a)
{
    if (a == NULL)
        return json_null();
    json_t *tasks = json_array();
    for (size_t i = 0; i < a->n_tasks; i++)
        json_array_append_new(tasks, json_pack("{s:o,s:o,s:i}", "slug",
                                               gw_json_text(a->tasks[i]->slug), "title",
                                               gw_json_text(a->tasks[i]->title), "points",
                                               a->tasks[i]->points));
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:i,s:i,s:o,s:o}", "id",
                     gw_json_text(a->id), "class_id", gw_json_text(a->class_id), "title",
                     gw_json_text(a->title), "description", gw_json_text(a->description),
                     "tasks", tasks, "opens_at", gw_json_time(a->opens_at), "due_at",
                     gw_json_time(a->due_at), "time_zone", gw_json_text(a->time_zone),
                     "opens_at_local", gw_json_text(a->opens_at_local), "due_at_local",
                     gw_json_text(a->due_at_local), "late_policy",
                     name_or_null(policy_names, 4, a->late_policy), "late_penalty_percent",
                     a->late_penalty_percent, "remind_hours_before", a->remind_hours_before,
                     "created_at", gw_json_time(a->created_at), "updated_at",
                     gw_json_time(a->updated_at));
}

/* The AssignmentInput of a request body; strings borrowed from the body,
 * arrays from the request's arena. */
static int input_of(gw_req_t *r, Dojo__Gamification__V1__AssignmentInput *in, err_t **err)
{
    json_t *body = NULL;
    const char *title, *desc, *opens, *due, *policy;
    int64_t penalty = 0, remind = 0;
    if (gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "title", true, 512, &title, err) < 0 ||
        gw_json_str(body, "description", false, 16384, &desc, err) < 0 ||
        gw_json_str(body, "opens_at", false, 64, &opens, err) < 0 ||
        gw_json_str(body, "due_at", true, 64, &due, err) < 0 ||
        gw_json_str(body, "late_policy", false, 16, &policy, err) < 0 ||
        gw_json_int(body, "late_penalty_percent", 0, 100, &penalty, err) < 0 ||
        gw_json_int(body, "remind_hours_before", 0, 336, &remind, err) < 0)
        return -1;
    json_t *slugs = json_object_get(body, "task_slugs");
    if (!json_is_array(slugs))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "task_slugs: must be an array of task slugs");
    size_t n = json_array_size(slugs);
    if (n > 50)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task_slugs: 1 to 50 tasks");
    in->task_slugs = arena_alloc(&r->arena, (n + 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(slugs, i);
        if (!json_is_string(s) || json_string_length(s) > 64)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "task_slugs[%zu]: must be a task slug", i);
        in->task_slugs[in->n_task_slugs++] = (char *)json_string_value(s);
    }
    in->title = (char *)title;
    in->description = (char *)(desc ? desc : "");
    in->opens_at = (char *)(opens ? opens : "");
    in->due_at = (char *)due;
    in->late_policy = DOJO__GAMIFICATION__V1__LATE_POLICY__LATE_POLICY_UNSPECIFIED;
    if (policy && *policy) {
        size_t k = 1;
        while (k < 4 && strcmp(policy_names[k], policy) != 0)
            k++;
        if (k == 4)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "late_policy: must be accept, penalty or refuse");
        in->late_policy = (int)k;
    }
    in->late_penalty_percent = (int32_t)penalty;
    in->remind_hours_before = (int32_t)remind;
    return 0;
}

/* classes/{id}/assignments/{aid}: the two ids. */
static int ids_of(gw_req_t *r, const char **class_id, const char **aid, err_t **err)
{
    *class_id = r->segs[1];
    *aid = r->nsegs > 3 ? r->segs[3] : "";
    if (strlen(*class_id) > 64)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such class");
    if (r->nsegs > 3 && !gw_valid_uuid(*aid))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such assignment");
    return 0;
}

int gw_h_assignments_list(gw_req_t *r, err_t **err)
{
    const char *cid, *aid;
    if (gw_req_auth(r, err) < 0 || ids_of(r, &cid, &aid, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListAssignmentsRequest req =
        DOJO__GAMIFICATION__V1__LIST_ASSIGNMENTS_REQUEST__INIT;
    req.class_id = (char *)cid;
    cleanup_pb Dojo__Gamification__V1__ListAssignmentsResponse *resp = NULL;
    if (gw_game_call(r, "ListAssignments", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_assignments; i++)
        json_array_append_new(a, gw_json_assignment(resp->assignments[i]));
    r->out = json_pack("{s:o}", "assignments", a);
    r->status = 200;
    return 0;
}

int gw_h_assignment_create(gw_req_t *r, err_t **err)
{
    const char *cid, *aid;
    Dojo__Gamification__V1__AssignmentInput in = DOJO__GAMIFICATION__V1__ASSIGNMENT_INPUT__INIT;
    if (gw_req_auth(r, err) < 0 || ids_of(r, &cid, &aid, err) < 0 || input_of(r, &in, err) < 0)
        return -1;
    Dojo__Gamification__V1__CreateAssignmentRequest req =
        DOJO__GAMIFICATION__V1__CREATE_ASSIGNMENT_REQUEST__INIT;
    req.class_id = (char *)cid;
    req.assignment = &in;
    cleanup_pb Dojo__Gamification__V1__CreateAssignmentResponse *resp = NULL;
    if (gw_game_call(r, "CreateAssignment", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = gw_json_assignment(resp->assignment);
    r->status = 201;
    return 0;
}

int gw_h_assignment_get(gw_req_t *r, err_t **err)
{
    const char *cid, *aid;
    if (gw_req_auth(r, err) < 0 || ids_of(r, &cid, &aid, err) < 0)
        return -1;
    Dojo__Gamification__V1__GetAssignmentRequest req =
        DOJO__GAMIFICATION__V1__GET_ASSIGNMENT_REQUEST__INIT;
    req.class_id = (char *)cid;
    req.assignment_id = (char *)aid;
    cleanup_pb Dojo__Gamification__V1__GetAssignmentResponse *resp = NULL;
    if (gw_game_call(r, "GetAssignment", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->out = gw_json_assignment(resp->assignment);
    r->status = 200;
    return 0;
}

int gw_h_assignment_update(gw_req_t *r, err_t **err)
{
    const char *cid, *aid;
    Dojo__Gamification__V1__AssignmentInput in = DOJO__GAMIFICATION__V1__ASSIGNMENT_INPUT__INIT;
    if (gw_req_auth(r, err) < 0 || ids_of(r, &cid, &aid, err) < 0 || input_of(r, &in, err) < 0)
        return -1;
    Dojo__Gamification__V1__UpdateAssignmentRequest req =
        DOJO__GAMIFICATION__V1__UPDATE_ASSIGNMENT_REQUEST__INIT;
    req.class_id = (char *)cid;
    req.assignment_id = (char *)aid;
    req.assignment = &in;
    cleanup_pb Dojo__Gamification__V1__UpdateAssignmentResponse *resp = NULL;
    if (gw_game_call(r, "UpdateAssignment", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->out = gw_json_assignment(resp->assignment);
    r->status = 200;
    return 0;
}

int gw_h_assignment_delete(gw_req_t *r, err_t **err)
{
    const char *cid, *aid;
    if (gw_req_auth(r, err) < 0 || ids_of(r, &cid, &aid, err) < 0)
        return -1;
    Dojo__Gamification__V1__DeleteAssignmentRequest req =
        DOJO__GAMIFICATION__V1__DELETE_ASSIGNMENT_REQUEST__INIT;
    req.class_id = (char *)cid;
    req.assignment_id = (char *)aid;
    cleanup_pb ProtobufCMessage *resp = NULL;
    if (gw_game_call(r, "DeleteAssignment", &req.base, &resp, true, err) < 0)
        return -1;
    r->status = 204;
    return 0;
}

int gw_h_assignment_grades(gw_req_t *r, err_t **err)
{
    const char *cid, *aid;
    if (gw_req_auth(r, err) < 0 || ids_of(r, &cid, &aid, err) < 0)
        return -1;
    Dojo__Gamification__V1__ExportGradesRequest req =
        DOJO__GAMIFICATION__V1__EXPORT_GRADES_REQUEST__INIT;
    req.class_id = (char *)cid;
    req.assignment_id = (char *)aid;
    cleanup_pb Dojo__Gamification__V1__ExportGradesResponse *resp = NULL;
    if (gw_game_call(r, "ExportGrades", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->raw_body = arena_strdup(&r->arena, resp->csv);
    r->raw_len = strlen(resp->csv);
    r->raw_type = "text/csv; charset=utf-8";
    /* The name is made of [a-z0-9-.] by gamification. */
    char cd[200];
    snprintf(cd, sizeof cd, "attachment; filename=\"%.150s\"", resp->file_name);
    gw_add_header(r, "Content-Disposition", cd);
    gw_add_header(r, "Cache-Control", "no-store");
    r->status = 200;
    return 0;
}

int gw_h_my_assignments(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    const char *past = gw_query(r, "include_past");
    Dojo__Gamification__V1__ListDueRequest req = DOJO__GAMIFICATION__V1__LIST_DUE_REQUEST__INIT;
    req.include_past = past && (!strcmp(past, "true") || !strcmp(past, "1"));
    cleanup_pb Dojo__Gamification__V1__ListDueResponse *resp = NULL;
    if (gw_game_call(r, "ListDue", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_assignments; i++) {
        const Dojo__Gamification__V1__DueAssignment *d = resp->assignments[i];
        json_t *tasks = json_array();
        for (size_t k = 0; k < d->n_tasks; k++) {
            const Dojo__Gamification__V1__TaskStanding *t = d->tasks[k];
            const char *v = gw_verdict_name(t->last_verdict);
            json_array_append_new(tasks, json_pack("{s:o,s:o,s:b,s:i,s:f,s:b,s:o}", "slug",
                                                   gw_json_text(t->slug), "title",
                                                   gw_json_text(t->title), "solved", t->solved,
                                                   "attempts", t->attempts, "grade_percent",
                                                   t->grade_percent, "late", t->late,
                                                   "last_verdict", v ? json_string(v) : json_null()));
        }
        json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o,s:f,s:b}", "assignment",
                                           gw_json_assignment(d->assignment), "class_title",
                                           gw_json_text(d->class_title), "state",
                                           name_or_null(state_names, 5, d->state), "tasks", tasks,
                                           "grade_percent", d->grade_percent, "complete",
                                           d->complete));
    }
    r->out = json_pack("{s:o,s:o}", "assignments", a, "time_zone", gw_json_text(resp->time_zone));
    r->status = 200;
    return 0;
}
