/* packages.c — problem packages (the Kattis / ICPC format, a .zip) through
 * the author API. Content reads the package into a task (ParsePackage);
 * the gateway then runs the package's input validators over every test's
 * input and checks the package's submissions the way the designer's
 * reference run does (the executor's RunJob against the task's would-be
 * bundle, one after the other) and stores the task (CreateTask, or
 * UpdateTask when the slug exists). All of it in one request on an async
 * worker: the author waits for the verdicts, as with run-reference, and an
 * import whose submissions disagree with their directories stores nothing.
 * A package over the request's 8 MiB comes as a blob the author uploaded
 * (PUT /api/v1/author/blobs/{sha256}, streamed) and is named by ?blob=.
 * docs/packages.md. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

#define CONTENT_SVC (&dojo__content__v1__content__descriptor)
/* Reading a package of up to 256 MiB and storing its test data as blobs. */
#define PARSE_CALL_MS 300000
/* A package's whole download, its writing in content included: up to 1 GiB
 * to a client that may be slow. */
#define EXPORT_CALL_MS (30 * 60 * 1000)

/* 422 with every problem: error names the first (its file and rule). */
static void refuse(gw_req_t *r, json_t *errors, json_t *warnings, json_t *results)
{
    json_t *first = json_array_get(errors, 0);
    const char *path = json_string_value(json_object_get(first, "path"));
    const char *msg = json_string_value(json_object_get(first, "message"));
    char text[600];
    snprintf(text, sizeof text, "%s%s%s%s", path && *path ? path : "",
             path && *path ? ": " : "", msg ? msg : "the package was refused",
             json_array_size(errors) > 1 ? " (and more: see errors)" : "");
    r->out = json_pack("{s:{s:s,s:s,s:o}, s:b, s:o, s:o, s:o}", "error", "code", "invalid_package",
                       "message", text, "field", path && *path ? json_string(path) : json_null(),
                       "ok", false, "errors", errors, "warnings", warnings, "results",
                       results ? results : json_array());
    r->status = 422;
}

static const char *solution_path(const Dojo__Content__V1__ParsePackageResponse *p,
                                 const char *name)
{
    for (size_t i = 0; i < p->n_solutions; i++)
        if (!strcmp(p->solutions[i]->name, name))
            return p->solutions[i]->path;
    return name;
}

/* The verdicts that disagree with their directory, as errors. New. */
static json_t *verdict_errors(const Dojo__Content__V1__ParsePackageResponse *p, json_t *results,
                              const char *file)
{
    json_t *errors = json_array();
    size_t i;
    json_t *res;
    json_array_foreach(results, i, res)
    {
        if (json_is_true(json_object_get(res, "as_expected")))
            continue;
        const char *name = json_string_value(json_object_get(res, "name"));
        const char *got = json_string_value(json_object_get(res, "verdict"));
        const char *want = json_string_value(json_object_get(res, "expected_verdict"));
        const char *msg = json_string_value(json_object_get(res, "message"));
        char text[512];
        snprintf(text, sizeof text, "its directory expects %s%s, the judge gave %s%s%s",
                 !strcmp(want, "not_ac") ? "a rejection" : want,
                 !strcmp(want, "not_ac") ? " (anything but ac)" : "", got ? got : "no verdict",
                 msg && *msg ? ": " : "", msg ? msg : "");
        json_array_append_new(errors, json_pack("{s:s,s:s,s:s}", "path", solution_path(p, name),
                                                "message", text, "file", file));
    }
    return errors;
}

/* ------------------------------------------------------------------------
 * Input validators: each one over every test's input of a bundle
 * (Executor.RunJob with Job.input_validator), before the submissions run or
 * a task is stored
 * ------------------------------------------------------------------------ */

typedef struct input_check {
    gw_input_where_fn where;
    void *where_payload;
    const char *validator; /* its path in the package */
    json_t *errors;
    char compile_output[512];
    bool compile_failed, have_result;
    int verdict;
} input_check_t;

static int on_input_event(const ProtobufCMessage *msg, void *payload)
{
    const Dojo__Executor__V1__Event *ev = (const Dojo__Executor__V1__Event *)msg;
    input_check_t *c = payload;
    if (ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_STARTED) {
        json_array_clear(c->errors); /* a new attempt */
    } else if (ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_COMPILE_OUTPUT &&
               !ev->compile_output->ok) {
        c->compile_failed = true;
        snprintf(c->compile_output, sizeof c->compile_output, "%s",
                 ev->compile_output->text ? ev->compile_output->text : "");
    } else if (ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_TEST_RESULT &&
               ev->test_result->verdict != DOJO__COMMON__V1__VERDICT__VERDICT_AC) {
        const Dojo__Gamification__V1__TestResult *t = ev->test_result;
        bool refused = t->verdict == DOJO__COMMON__V1__VERDICT__VERDICT_WA;
        char path[300] = "", label[200] = "", text[800];
        c->where(c->where_payload, t->index, path, sizeof path, label, sizeof label);
        snprintf(text, sizeof text, "%s%s%s %s%s%s", label, label[0] ? ": " : "",
                 refused ? "refused by" : "not judged by", c->validator,
                 t->message && *t->message ? ": " : "", t->message ? t->message : "");
        json_array_append_new(c->errors, json_pack("{s:s,s:s}", "path", path, "message", text));
    } else if (ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_RESULT) {
        c->have_result = true;
        c->verdict = ev->result->verdict;
        return 1;
    }
    return 0;
}

int gw_check_inputs(gw_req_t *r, Dojo__Content__V1__PackageInputValidator *const *ivs, size_t n,
                    const Dojo__Content__V1__JudgeBundle *bundle, gw_input_where_fn where,
                    void *payload, json_t *errors, err_t **err)
{
    for (size_t i = 0; i < n; i++) {
        const Dojo__Content__V1__PackageInputValidator *iv = ivs[i];
        Dojo__Executor__V1__Job job = DOJO__EXECUTOR__V1__JOB__INIT;
        job.kind = DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT;
        job.user_id = r->claims.sub;
        job.task_slug = bundle->slug;
        job.task_version = bundle->version;
        job.language = iv->validator->language;
        job.attempt = 1;
        job.request_id = r->req_id;
        job.input_validator = iv->validator;
        Dojo__Executor__V1__RunJobRequest req = DOJO__EXECUTOR__V1__RUN_JOB_REQUEST__INIT;
        req.job = &job;
        req.bundle = (Dojo__Content__V1__JudgeBundle *)bundle;
        input_check_t c = {.where = where,
                           .where_payload = payload,
                           .validator = iv->path,
                           .errors = json_array()};
        if (gw_executor_run(r, &req, on_input_event, &c, err) < 0 || !c.have_result) {
            json_decref(c.errors);
            if (*err == NULL)
                err_set(err, GRPC_STATUS_UNAVAILABLE, "the executor gave no result");
            return -1;
        }
        if (c.compile_failed || c.verdict == DOJO__COMMON__V1__VERDICT__VERDICT_CE) {
            char text[700];
            snprintf(text, sizeof text, "the input validator does not compile%s%s",
                     c.compile_output[0] ? ": " : "", c.compile_output);
            json_array_append_new(errors,
                                  json_pack("{s:s,s:s}", "path", iv->path, "message", text));
        } else if (json_array_size(c.errors) == 0 &&
                   c.verdict != DOJO__COMMON__V1__VERDICT__VERDICT_AC) {
            json_array_append_new(errors,
                                  json_pack("{s:s,s:s}", "path", iv->path, "message",
                                            "the input validator did not judge every input"));
        }
        LOG_INFO("input validator ran", "validator=%s tests=%zu verdict=%d refused=%zu",
                 log_esc(iv->path), bundle->n_tests, c.verdict, json_array_size(c.errors));
        json_array_extend(errors, c.errors);
        json_decref(c.errors);
    }
    return 0;
}

/* A package's test by its input file ("data/secret/g1/a.in"). */
typedef struct package_tests {
    const Dojo__Content__V1__ParsePackageResponse *p;
    const Dojo__Content__V1__JudgeBundle *bundle;
} package_tests_t;

static void package_where(void *payload, int index, char *path, size_t cap, char *label,
                          size_t lcap)
{
    const package_tests_t *pt = payload;
    (void)lcap;
    label[0] = '\0';
    snprintf(path, cap, "data/");
    if (index < 0 || (size_t)index >= pt->bundle->n_tests)
        return;
    const char *name = pt->bundle->tests[index]->name;
    snprintf(path, cap, "%s", name ? name : "data/");
    for (size_t i = 0; name && i < pt->p->n_test_inputs; i++)
        if (!strcmp(pt->p->test_inputs[i]->name, name))
            snprintf(path, cap, "%s", pt->p->test_inputs[i]->path);
}

/* CreateTask, or UpdateTask when the slug is taken; *created says which. */
static int store(gw_req_t *r, const char *slug, const char *text, int expected_version,
                 bool *created, int *change, err_t **err)
{
    Dojo__Content__V1__TaskInput in = DOJO__CONTENT__V1__TASK_INPUT__INIT;
    in.format_case = DOJO__CONTENT__V1__TASK_INPUT__FORMAT_JSON;
    in.json = (char *)text;
    Dojo__Content__V1__CreateTaskRequest creq = DOJO__CONTENT__V1__CREATE_TASK_REQUEST__INIT;
    creq.input = &in;
    cleanup_pb Dojo__Content__V1__CreateTaskResponse *cr = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), false);
    if (expected_version == 0 &&
        rpc_client_call(r->gw->content, CONTENT_SVC, "CreateTask", &creq.base,
                        (ProtobufCMessage **)&cr, &o, err) == 0) {
        *created = true;
        *change = cr->change;
        return 0;
    }
    if (expected_version == 0) {
        if ((*err)->code != GRPC_STATUS_ALREADY_EXISTS)
            return -1;
        err_free(*err);
        *err = NULL;
    }
    Dojo__Content__V1__UpdateTaskRequest ureq = DOJO__CONTENT__V1__UPDATE_TASK_REQUEST__INIT;
    ureq.slug = (char *)slug;
    ureq.input = &in;
    ureq.expected_version = expected_version;
    cleanup_pb Dojo__Content__V1__UpdateTaskResponse *ur = NULL;
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "UpdateTask", &ureq.base,
                        (ProtobufCMessage **)&ur, &o, err) < 0)
        return -1;
    *created = false;
    *change = ur->change;
    return 0;
}

typedef struct import_opts {
    bool dry_run, check;
    int64_t expected_version;
    const char *file_name, *slug, *blob;
} import_opts_t;

static int package_import(gw_req_t *r, err_t **err)
{
    import_opts_t opt = {.check = true};
    opt.file_name = gw_query(r, "file_name");
    opt.slug = gw_query(r, "slug");
    opt.blob = gw_query(r, "blob");
    const char *dry = gw_query(r, "dry_run"), *check = gw_query(r, "check");
    opt.dry_run = dry && (!strcmp(dry, "1") || !strcmp(dry, "true"));
    opt.check = !(check && (!strcmp(check, "0") || !strcmp(check, "false")));
    if (gw_query_int(r, "expected_version", 0, INT32_MAX, &opt.expected_version, err) < 0)
        return -1;
    if (opt.file_name == NULL || !*opt.file_name)
        opt.file_name = "package.zip";

    Dojo__Content__V1__ParsePackageRequest preq = DOJO__CONTENT__V1__PARSE_PACKAGE_REQUEST__INIT;
    preq.zip.data = (uint8_t *)r->body;
    preq.zip.len = r->body_len;
    preq.zip_sha256 = (char *)(opt.blob ? opt.blob : "");
    preq.file_name = (char *)opt.file_name;
    preq.slug = (char *)(opt.slug ? opt.slug : "");
    cleanup_pb Dojo__Content__V1__ParsePackageResponse *p = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    o.timeout_ms = PARSE_CALL_MS;
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ParsePackage", &preq.base,
                        (ProtobufCMessage **)&p, &o, err) < 0)
        return -1;
    json_t *warnings = gw_json_field_errors(p->warnings, p->n_warnings);
    if (!p->ok) {
        refuse(r, gw_json_field_errors(p->errors, p->n_errors), warnings, NULL);
        return 0;
    }
    cleanup_pb Dojo__Content__V1__ValidateTaskResponse *v = NULL;
    if (gw_author_validate(r, p->json, &v, err) < 0) {
        json_decref(warnings);
        return -1;
    }
    if (!v->ok || v->bundle == NULL) {
        refuse(r, gw_json_field_errors(v->errors, v->n_errors), warnings, NULL);
        return 0;
    }
    json_error_t jerr;
    cleanup_json json_t *task = json_loads(p->json, 0, &jerr);
    json_t *results = json_array();
    if (opt.check && v->n_input_validators > 0) {
        json_t *bad = json_array();
        package_tests_t pt = {.p = p, .bundle = v->bundle};
        if (gw_check_inputs(r, v->input_validators, v->n_input_validators, v->bundle,
                            package_where, &pt, bad, err) < 0) {
            json_decref(bad);
            json_decref(warnings);
            json_decref(results);
            return -1;
        }
        if (json_array_size(bad) > 0) {
            refuse(r, bad, warnings, results);
            return 0;
        }
        json_decref(bad);
    }
    if (opt.check) {
        bool all_ok = true;
        if (gw_run_solutions(r, task, NULL, v->bundle, results, &all_ok, err) < 0) {
            json_decref(warnings);
            json_decref(results);
            return -1;
        }
        if (!all_ok) {
            refuse(r, verdict_errors(p, results, opt.file_name), warnings, results);
            return 0;
        }
    }
    const char *slug = v->bundle->slug;
    if (opt.dry_run) {
        const char *ch = gw_change_name(v->change);
        r->out = json_pack("{s:b,s:b,s:b,s:s,s:o,s:i,s:O,s:o,s:o}", "ok", true, "dry_run", true,
                           "checked", opt.check, "slug", slug, "change",
                           ch ? json_string(ch) : json_null(), "version", v->bundle->version,
                           "task", task, "warnings", warnings, "results", results);
        r->status = 200;
        return 0;
    }
    bool created = false;
    int change = 0;
    if (store(r, slug, p->json, (int)opt.expected_version, &created, &change, err) < 0 ||
        gw_author_export_task(r, slug, 0, &r->out, NULL, err) < 0) {
        json_decref(warnings);
        json_decref(results);
        return -1;
    }
    const char *ch = gw_change_name(change);
    json_object_set_new(r->out, "change", json_string(ch ? ch : "unchanged"));
    json_object_set_new(r->out, "checked", json_boolean(opt.check));
    json_object_set_new(r->out, "warnings", warnings);
    json_object_set_new(r->out, "results", results);
    LOG_INFO("package imported", "task=%s change=%s checked=%d", log_esc(slug),
             ch ? ch : "unchanged", opt.check);
    gw_cache_clear(r->gw->cache);
    gw_taskcache_changed(r->gw);
    r->status = created ? 201 : 200;
    return 0;
}

int gw_h_author_package_import(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    const char *blob = gw_query(r, "blob");
    if (blob && r->body_len)
        return gw_err_http(err, 400, "invalid_argument", "blob",
                           "send the package as the body or name its blob, not both");
    if (blob && !gw_is_sha256(blob))
        return gw_err_http(err, 400, "invalid_argument", "blob",
                           "blob: must be a SHA-256, 64 lower-case hex digits");
    if (r->body_len == 0 && !blob)
        return gw_err_http(err, 400, "invalid_argument", NULL,
                           "the body must be the package: a .zip file (Content-Type: "
                           "application/zip) of at most 8 MiB, or, for a larger one, empty "
                           "with ?blob=SHA-256 of the .zip uploaded with PUT "
                           "/api/v1/author/blobs/{sha256} (up to 256 MiB)");
    /* Checking the submissions is sandbox work like a reference run. */
    if (gw_limit_take(r, GW_LIMIT_ACCOUNT, err) < 0)
        return -1;
    return gw_req_async(r, package_import, err);
}

static void package_piece(const ProtobufCMessage *msg, gw_download_piece_t *out)
{
    const Dojo__Content__V1__ExportPackageResponse *e = (const void *)msg;
    out->data = e->zip.data;
    out->len = e->zip.len;
    out->offset = e->offset;
    out->total = e->total_size;
    out->file_name = e->file_name;
}

/* The package streamed from content to the client (download.c): content
 * writes it with the tests' blobs (up to 1 GiB) before the first byte, so
 * this waits on an async thread, not a worker. */
static int package_export(gw_req_t *r, err_t **err)
{
    int64_t version = 0;
    if (gw_query_int(r, "version", 1, INT32_MAX, &version, err) < 0)
        return -1;
    Dojo__Content__V1__ExportPackageRequest req = DOJO__CONTENT__V1__EXPORT_PACKAGE_REQUEST__INIT;
    req.slug = (char *)r->segs[2];
    req.version = (int32_t)version;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), false);
    o.timeout_ms = EXPORT_CALL_MS;
    return gw_download_start(r, r->gw->content, CONTENT_SVC, "ExportPackage", &req.base, &o,
                             package_piece, "application/zip", err);
}

int gw_h_author_package_export(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    int64_t version = 0;
    if (gw_query_int(r, "version", 1, INT32_MAX, &version, err) < 0)
        return -1;
    if (strlen(r->segs[2]) > 64)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no task %.64s", r->segs[2]);
    return gw_req_async(r, package_export, err);
}
