/* institutions.c — institutions and roles: /api/v1/institutions (admins,
 * and an institution's own admins for theirs), PUT /api/v1/users/{id}/role
 * (admins: any role; institution admins: teacher or learner for their own
 * members) and PUT /api/v1/users/{id}/institution (admins). The caller's
 * token goes to auth, which decides. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"

#define AUTH_SVC (&dojo__auth__v1__auth__descriptor)

static int auth_call(gw_req_t *r, const char *method, const ProtobufCMessage *req,
                     ProtobufCMessage **out, bool idempotent, err_t **err)
{
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), idempotent);
    return rpc_client_call(r->gw->auth, AUTH_SVC, method, req, out, &o, err);
}

static json_t *institution_json(const Dojo__Auth__V1__Institution *i)
{
    return json_pack("{s:o,s:o,s:o,s:i,s:o}", "id", gw_json_text(i->id), "slug",
                     gw_json_text(i->slug), "name", gw_json_text(i->name), "member_count",
                     i->member_count, "created_at", gw_json_time(i->created_at));
}

int gw_h_institutions_list(gw_req_t *r, err_t **err)
{
    Dojo__Auth__V1__ListInstitutionsRequest req = DOJO__AUTH__V1__LIST_INSTITUTIONS_REQUEST__INIT;
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    if (gw_req_auth(r, err) < 0 || gw_query_page(r, &page, 200, err) < 0)
        return -1;
    req.page = &page;
    cleanup_pb Dojo__Auth__V1__ListInstitutionsResponse *resp = NULL;
    if (auth_call(r, "ListInstitutions", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_institutions; i++)
        json_array_append_new(a, institution_json(resp->institutions[i]));
    r->out = json_pack("{s:o,s:s}", "institutions", a, "next_page_token",
                       resp->page ? resp->page->next_page_token : "");
    r->status = 200;
    return 0;
}

int gw_h_institution_create(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *slug, *name;
    if (gw_req_auth(r, err) < 0 || gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "slug", true, 64, &slug, err) < 0 ||
        gw_json_str(body, "name", true, 512, &name, err) < 0)
        return -1;
    Dojo__Auth__V1__CreateInstitutionRequest req =
        DOJO__AUTH__V1__CREATE_INSTITUTION_REQUEST__INIT;
    req.slug = (char *)slug;
    req.name = (char *)name;
    cleanup_pb Dojo__Auth__V1__CreateInstitutionResponse *resp = NULL;
    if (auth_call(r, "CreateInstitution", &req.base, (ProtobufCMessage **)&resp, false, err) < 0)
        return -1;
    r->out = institution_json(resp->institution);
    r->status = 201;
    return 0;
}

int gw_h_institution_members(gw_req_t *r, err_t **err)
{
    Dojo__Auth__V1__ListInstitutionMembersRequest req =
        DOJO__AUTH__V1__LIST_INSTITUTION_MEMBERS_REQUEST__INIT;
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    if (gw_req_auth(r, err) < 0 || gw_query_page(r, &page, 500, err) < 0)
        return -1;
    if (!gw_valid_uuid(r->segs[1]))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such institution");
    req.institution_id = (char *)r->segs[1];
    req.page = &page;
    cleanup_pb Dojo__Auth__V1__ListInstitutionMembersResponse *resp = NULL;
    if (auth_call(r, "ListInstitutionMembers", &req.base, (ProtobufCMessage **)&resp, true, err) <
        0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_users; i++)
        json_array_append_new(a, gw_json_user(resp->users[i], true));
    r->out = json_pack("{s:o,s:s}", "users", a, "next_page_token",
                       resp->page ? resp->page->next_page_token : "");
    r->status = 200;
    return 0;
}

int gw_h_user_role(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *role;
    if (gw_req_auth(r, err) < 0 || gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "role", true, 16, &role, err) < 0)
        return -1;
    if (!gw_valid_uuid(r->segs[1]))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such user");
    static const struct {
        const char *name;
        int role;
    } roles[] = {{"learner", DOJO__COMMON__V1__ROLE__ROLE_LEARNER},
                 {"teacher", DOJO__COMMON__V1__ROLE__ROLE_TEACHER},
                 {"author", DOJO__COMMON__V1__ROLE__ROLE_AUTHOR},
                 {"admin", DOJO__COMMON__V1__ROLE__ROLE_ADMIN}};
    Dojo__Auth__V1__SetRoleRequest req = DOJO__AUTH__V1__SET_ROLE_REQUEST__INIT;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(roles[i].name, role))
            req.role = roles[i].role;
    if (req.role == 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "role: must be learner, teacher, author or admin");
    req.user_id = (char *)r->segs[1];
    cleanup_pb Dojo__Auth__V1__SetRoleResponse *resp = NULL;
    if (auth_call(r, "SetRole", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->out = gw_json_user(resp->user, true);
    r->status = 200;
    return 0;
}

int gw_h_user_institution(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    const char *inst;
    bool admin = false;
    if (gw_req_auth(r, err) < 0 || gw_body_json(r, false, &body, err) < 0 ||
        gw_json_str(body, "institution", false, 64, &inst, err) < 0 ||
        gw_json_bool(body, "institution_admin", &admin, err) < 0)
        return -1;
    if (!gw_valid_uuid(r->segs[1]))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such user");
    Dojo__Auth__V1__SetInstitutionRequest req = DOJO__AUTH__V1__SET_INSTITUTION_REQUEST__INIT;
    req.user_id = (char *)r->segs[1];
    req.institution = (char *)(inst ? inst : "");
    req.institution_admin = admin;
    cleanup_pb Dojo__Auth__V1__SetInstitutionResponse *resp = NULL;
    if (auth_call(r, "SetInstitution", &req.base, (ProtobufCMessage **)&resp, true, err) < 0)
        return -1;
    r->out = gw_json_user(resp->user, true);
    r->status = 200;
    return 0;
}
