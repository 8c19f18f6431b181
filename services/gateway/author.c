/* author.c — the task designer's endpoints. Tasks travel in task-file form
 * (the JSON of content/tasks/<slug>.json): the gateway hands the author's
 * JSON to content as TaskInput.json untouched, and answers with content's own
 * canonical export, so what the designer shows is exactly what git would hold.
 * Every call forwards the author's token; content checks the role too. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/log.h"

#define CONTENT_SVC (&dojo__content__v1__content__descriptor)

/* The TaskInput of a task file's JSON text (borrowed). */
static Dojo__Content__V1__TaskInput json_input(const char *text)
{
    Dojo__Content__V1__TaskInput in = DOJO__CONTENT__V1__TASK_INPUT__INIT;
    in.format_case = DOJO__CONTENT__V1__TASK_INPUT__FORMAT_JSON;
    in.json = (char *)text;
    return in;
}

/* The "task" member of the body, serialised for TaskInput.json. New. */
static int task_text(json_t *body, char **out, const char **slug, err_t **err)
{
    json_t *t = json_object_get(body, "task");
    if (t == NULL || !json_is_object(t))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task: must be a task object");
    json_t *s = json_object_get(t, "slug");
    *slug = json_is_string(s) ? json_string_value(s) : "";
    *out = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (*out == NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task: cannot be serialised");
    return 0;
}

/* ExportTask → the AuthorTask shape. */
int gw_author_export_task(gw_req_t *r, const char *slug, int version, json_t **out,
                          Dojo__Content__V1__ExportTaskResponse **raw, err_t **err)
{
    if (strlen(slug) > 64)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no task %.64s", slug);
    Dojo__Content__V1__ExportTaskRequest req = DOJO__CONTENT__V1__EXPORT_TASK_REQUEST__INIT;
    req.slug = (char *)slug;
    req.version = version;
    Dojo__Content__V1__ExportTaskResponse *e = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "ExportTask", &req.base,
                        (ProtobufCMessage **)&e, &o, err) < 0)
        return -1;
    if (raw) {
        *raw = e;
        return 0;
    }
    json_error_t jerr;
    json_t *file = json_loads(e->json, 0, &jerr);
    const Dojo__Content__V1__Task *t = e->task;
    *out = json_pack("{s:o,s:i,s:s,s:s,s:o}", "task", file ? file : json_object(), "version",
                     t ? t->version : 0, "status",
                     t && t->status == DOJO__CONTENT__V1__TASK_STATUS__TASK_STATUS_ARCHIVED
                         ? "archived"
                         : "active",
                     "content_hash", t ? t->content_hash : "", "updated_at",
                     gw_json_time(t ? t->updated_at : NULL));
    protobuf_c_message_free_unpacked(&e->base, NULL);
    return 0;
}

int gw_h_author_list(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    if (gw_tasks_list_json(r, &r->out, err) < 0)
        return -1;
    r->status = 200;
    return 0;
}

int gw_h_author_get(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    if (gw_author_export_task(r, r->segs[2], 0, &r->out, NULL, err) < 0)
        return -1;
    r->status = 200;
    return 0;
}

int gw_h_author_export(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    int64_t version = 0;
    if (gw_query_int(r, "version", 1, INT32_MAX, &version, err) < 0)
        return -1;
    Dojo__Content__V1__ExportTaskResponse *e = NULL;
    if (gw_author_export_task(r, r->segs[2], (int)version, NULL, &e, err) < 0)
        return -1;
    r->raw_body = arena_strdup(&r->arena, e->json);
    r->raw_len = strlen(e->json);
    r->raw_type = "application/json; charset=utf-8";
    char cd[160];
    snprintf(cd, sizeof cd, "attachment; filename=\"%.100s\"", e->file_name);
    for (char *p = cd; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '_';
    gw_add_header(r, "Content-Disposition", cd);
    protobuf_c_message_free_unpacked(&e->base, NULL);
    r->status = 200;
    return 0;
}

/* CreateTask (create) or UpdateTask of r->segs[2] with the task file's
 * text, answered with the stored task (r->out, r->status). */
static int store_task(gw_req_t *r, const char *text, const char *slug, bool create,
                      int64_t expected, err_t **err)
{
    Dojo__Content__V1__TaskInput in = json_input(text);
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), false);
    const char *ch = "created";
    if (create) {
        Dojo__Content__V1__CreateTaskRequest req = DOJO__CONTENT__V1__CREATE_TASK_REQUEST__INIT;
        req.input = &in;
        cleanup_pb Dojo__Content__V1__CreateTaskResponse *cr = NULL;
        if (rpc_client_call(r->gw->content, CONTENT_SVC, "CreateTask", &req.base,
                            (ProtobufCMessage **)&cr, &o, err) < 0)
            return -1;
        if (cr->task)
            slug = arena_strdup(&r->arena, cr->task->slug);
        LOG_INFO("task created", "task=%s", log_esc(slug));
    } else {
        Dojo__Content__V1__UpdateTaskRequest req = DOJO__CONTENT__V1__UPDATE_TASK_REQUEST__INIT;
        req.slug = (char *)r->segs[2];
        req.input = &in;
        req.expected_version = (int32_t)expected;
        cleanup_pb Dojo__Content__V1__UpdateTaskResponse *ur = NULL;
        if (rpc_client_call(r->gw->content, CONTENT_SVC, "UpdateTask", &req.base,
                            (ProtobufCMessage **)&ur, &o, err) < 0)
            return -1;
        slug = r->segs[2];
        ch = gw_change_name(ur->change);
    }
    if (gw_author_export_task(r, slug, 0, &r->out, NULL, err) < 0)
        return -1;
    json_object_set_new(r->out, "change", json_string(ch ? ch : "unchanged"));
    gw_cache_clear(r->gw->cache);
    gw_taskcache_changed(r->gw);
    r->status = create ? 201 : 200;
    return 0;
}

/* ------------------------------------------------------------------------
 * A save of a task with input validators: they run over the input of every
 * test the current version does not have (every test when the task is new
 * or its validators changed) before it is stored, so a test added in the
 * designer or through the API is checked as a package's are. Seconds of
 * sandbox work: async, and it spends the account's budget like a run.
 * ------------------------------------------------------------------------ */

static bool same_validator(const Dojo__Content__V1__PackageInputValidator *a,
                           const Dojo__Content__V1__PackageInputValidator *b)
{
    const Dojo__Content__V1__PackageValidator *x = a->validator, *y = b->validator;
    if (strcmp(a->path, b->path) || !x || !y || strcmp(x->language, y->language) ||
        x->n_files != y->n_files || x->n_flags != y->n_flags)
        return false;
    for (size_t i = 0; i < x->n_files; i++)
        if (strcmp(x->files[i]->name, y->files[i]->name) ||
            strcmp(x->files[i]->content, y->files[i]->content))
            return false;
    for (size_t i = 0; i < x->n_flags; i++)
        if (strcmp(x->flags[i], y->flags[i]))
            return false;
    return true;
}

typedef struct saved_tests {
    const Dojo__Content__V1__JudgeBundle *bundle; /* the whole task's */
    size_t *index;                                /* checked test -> its index in bundle */
} saved_tests_t;

/* A test of the task file by its JSON path, named in the message. */
static void saved_where(void *payload, int index, char *path, size_t cap, char *label,
                        size_t lcap)
{
    const saved_tests_t *st = payload;
    snprintf(path, cap, "$.tests");
    label[0] = '\0';
    if (index < 0)
        return;
    size_t at = st->index[index];
    snprintf(path, cap, "$.tests[%zu].input", at);
    snprintf(label, lcap, "test \"%s\"", st->bundle->tests[at]->name);
}

/* 422: `errors` (taken) lists every refused input; `error` names the first. */
static void refuse_inputs(gw_req_t *r, json_t *errors)
{
    json_t *first = json_array_get(errors, 0);
    const char *path = json_string_value(json_object_get(first, "path"));
    const char *msg = json_string_value(json_object_get(first, "message"));
    char text[900];
    snprintf(text, sizeof text, "%s: %s%s", path ? path : "$.tests", msg ? msg : "refused",
             json_array_size(errors) > 1 ? " (and more: see errors)" : "");
    r->out = json_pack("{s:{s:s,s:s,s:s}, s:b, s:o}", "error", "code", "invalid_input", "message",
                       text, "field", path ? path : "$.tests", "ok", false, "errors", errors);
    r->status = 422;
}

static int save_checked(gw_req_t *r, bool create, err_t **err)
{
    json_t *body = NULL;
    cleanup_free char *text = NULL;
    const char *slug;
    int64_t expected = 0;
    if (gw_body_json(r, false, &body, err) < 0 || task_text(body, &text, &slug, err) < 0 ||
        (!create && gw_json_int(body, "expected_version", 0, INT32_MAX, &expected, err) < 0))
        return -1;
    cleanup_pb Dojo__Content__V1__ValidateTaskResponse *v = NULL;
    if (gw_author_validate(r, text, &v, err) < 0)
        return -1;
    /* An invalid task: storing it says why. */
    if (!v->ok || v->bundle == NULL || v->n_input_validators == 0)
        return store_task(r, text, slug, create, expected, err);
    Dojo__Content__V1__ExportTaskResponse *cur = NULL;
    cleanup_err err_t *lerr = NULL;
    if (!create && gw_author_export_task(r, r->segs[2], 0, NULL, &cur, &lerr) < 0 &&
        lerr->code != GRPC_STATUS_NOT_FOUND) {
        *err = DOJO_STEAL(lerr);
        return -1;
    }
    const Dojo__Content__V1__Task *ct = cur ? cur->task : NULL;
    bool all = ct == NULL || ct->n_input_validators != v->n_input_validators;
    for (size_t i = 0; !all && i < v->n_input_validators; i++)
        all = !same_validator(ct->input_validators[i], v->input_validators[i]);
    /* The current version's inputs: blobs by hash, inline ones by text. */
    json_t *seen_blobs = json_object(), *seen_texts = json_object();
    for (size_t i = 0; ct && i < ct->n_tests; i++) {
        const Dojo__Content__V1__TestCase *t = ct->tests[i];
        if (t->input_sha256 && t->input_sha256[0])
            json_object_set_new(seen_blobs, t->input_sha256, json_true());
        else
            json_object_set_new(seen_texts, t->input ? t->input : "", json_true());
    }
    const Dojo__Content__V1__JudgeBundle *b = v->bundle;
    saved_tests_t st = {.bundle = b,
                        .index = arena_alloc(&r->arena, (b->n_tests + 1) * sizeof(size_t))};
    Dojo__Content__V1__TestCase **sub = arena_alloc(&r->arena, (b->n_tests + 1) * sizeof *sub);
    size_t n = 0;
    for (size_t i = 0; i < b->n_tests; i++) {
        const Dojo__Content__V1__TestCase *t = b->tests[i];
        bool blob = t->input_sha256 && t->input_sha256[0];
        bool known = blob ? json_object_get(seen_blobs, t->input_sha256) != NULL
                          : json_object_get(seen_texts, t->input ? t->input : "") != NULL;
        if (all || !known) {
            st.index[n] = i;
            sub[n++] = b->tests[i];
        }
    }
    json_decref(seen_blobs);
    json_decref(seen_texts);
    if (cur)
        protobuf_c_message_free_unpacked(&cur->base, NULL);
    if (n > 0) {
        Dojo__Content__V1__JudgeBundle checked = *b;
        checked.tests = sub;
        checked.n_tests = n;
        json_t *errors = json_array();
        if (gw_check_inputs(r, v->input_validators, v->n_input_validators, &checked, saved_where,
                            &st, errors, err) < 0) {
            json_decref(errors);
            return -1;
        }
        LOG_INFO("task inputs checked", "task=%s tests=%zu of=%zu refused=%zu", log_esc(b->slug),
                 n, b->n_tests, json_array_size(errors));
        if (json_array_size(errors) > 0) {
            refuse_inputs(r, errors);
            return 0;
        }
        json_decref(errors);
    }
    return store_task(r, text, slug, create, expected, err);
}

static int save_checked_create(gw_req_t *r, err_t **err) { return save_checked(r, true, err); }
static int save_checked_update(gw_req_t *r, err_t **err) { return save_checked(r, false, err); }

/* A save: at once, or, when the task has input validators, after they ran
 * (save_checked). */
static int save(gw_req_t *r, bool create, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    cleanup_free char *text = NULL;
    const char *slug;
    int64_t expected = 0;
    if (task_text(body, &text, &slug, err) < 0 ||
        (!create && gw_json_int(body, "expected_version", 0, INT32_MAX, &expected, err) < 0))
        return -1;
    json_t *ivs = json_object_get(json_object_get(body, "task"), "input_validators");
    if (json_is_array(ivs) && json_array_size(ivs) > 0) {
        if (gw_limit_take(r, GW_LIMIT_ACCOUNT, err) < 0)
            return -1;
        return gw_req_async(r, create ? save_checked_create : save_checked_update, err);
    }
    return store_task(r, text, slug, create, expected, err);
}

int gw_h_author_create(gw_req_t *r, err_t **err) { return save(r, true, err); }

int gw_h_author_update(gw_req_t *r, err_t **err) { return save(r, false, err); }

int gw_author_validate(gw_req_t *r, const char *text,
                       Dojo__Content__V1__ValidateTaskResponse **out, err_t **err)
{
    Dojo__Content__V1__TaskInput in = json_input(text);
    Dojo__Content__V1__ValidateTaskRequest req = DOJO__CONTENT__V1__VALIDATE_TASK_REQUEST__INIT;
    req.input = &in;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    return rpc_client_call(r->gw->content, CONTENT_SVC, "ValidateTask", &req.base,
                           (ProtobufCMessage **)out, &o, err);
}

int gw_h_author_validate(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    cleanup_free char *text = NULL;
    const char *slug;
    if (task_text(body, &text, &slug, err) < 0)
        return -1;
    {
        cleanup_pb Dojo__Content__V1__ValidateTaskResponse *v = NULL;
        if (gw_author_validate(r, text, &v, err) < 0)
            return -1;
        const char *ch = v->ok ? gw_change_name(v->change) : NULL;
        r->out = json_pack("{s:b,s:o,s:o,s:s,s:o,s:i}", "ok", v->ok, "errors",
                           gw_json_field_errors(v->errors, v->n_errors), "warnings",
                           gw_json_field_errors(v->warnings, v->n_warnings), "content_hash",
                           v->content_hash, "change", ch ? json_string(ch) : json_null(),
                           "version", v->bundle ? v->bundle->version : 0);
        r->status = 200;
    }
    return 0;
}

int gw_h_author_archive(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    json_t *body = NULL;
    if (gw_body_json(r, true, &body, err) < 0)
        return -1;
    bool restore = false;
    if (gw_json_bool(body, "restore", &restore, err) < 0)
        return -1;
    if (strlen(r->segs[2]) > 64) {
        err_set(err, GRPC_STATUS_NOT_FOUND, "no such task");
        return -1;
    }
    {
        Dojo__Content__V1__ArchiveTaskRequest req = DOJO__CONTENT__V1__ARCHIVE_TASK_REQUEST__INIT;
        req.slug = (char *)r->segs[2];
        req.restore = restore;
        cleanup_pb Dojo__Content__V1__ArchiveTaskResponse *a = NULL;
        rpc_call_opts_t o = gw_opts(r, gw_md_user(r), false);
        if (rpc_client_call(r->gw->content, CONTENT_SVC, "ArchiveTask", &req.base,
                            (ProtobufCMessage **)&a, &o, err) < 0)
            return -1;
        if (a->task == NULL) {
            err_set(err, GRPC_STATUS_NOT_FOUND, "no such task");
            return -1;
        }
        r->out = gw_json_task_summary(a->task);
        gw_cache_clear(r->gw->cache);
        gw_taskcache_changed(r->gw);
        r->status = 200;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Running the reference and known-wrong solutions (async: seconds of work)
 * ------------------------------------------------------------------------ */

typedef struct run_state {
    json_t *tests;
    Dojo__Executor__V1__FinalResult *final; /* copied fields */
    int verdict;
    int score, max_score;
    char message[256];
    bool have_result;
} run_state_t;

/* One event of Executor.RunJob's stream; non-zero (stop) at the result. */
static int on_event(const ProtobufCMessage *msg, void *payload)
{
    const Dojo__Executor__V1__Event *ev = (const Dojo__Executor__V1__Event *)msg;
    run_state_t *st = payload;
    if (ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_STARTED) {
        json_array_clear(st->tests); /* a new attempt */
    } else if (ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_TEST_RESULT) {
        json_array_append_new(st->tests, gw_json_test_result(ev->test_result));
    } else if (ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_RESULT) {
        st->have_result = true;
        st->verdict = ev->result->verdict;
        st->score = ev->result->score;
        st->max_score = ev->result->max_score;
        snprintf(st->message, sizeof st->message, "%s", ev->result->message);
        return 1;
    }
    return 0;
}

static int verdict_parse(const char *s)
{
    for (int v = 1; v <= 9; v++)
        if (!strcmp(gw_verdict_name(v), s))
            return v;
    return 0;
}

static bool wanted(json_t *names, const char *name)
{
    if (names == NULL || !json_is_array(names))
        return true;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) if (json_is_string(n) && !strcmp(json_string_value(n), name))
        return true;
    return false;
}

/* An author's run that finds every sandbox slot of the executor busy
 * (RESOURCE_EXHAUSTED, "retry later") is tried again: a package's
 * submissions and a task's solutions run one after the other, and an import
 * would otherwise fail at the first moment other authors' runs fill the
 * slots. Only a call that produced no event is retried (the executor never
 * started it). The pauses double from RUN_RETRY_FIRST_MS up to
 * RUN_RETRY_MAX_MS (or the executor's retry-after when longer), for at most
 * RUN_RETRY_BUDGET_MS of waiting in all; then the last error stands (429).
 * UNAVAILABLE (no executor listening, one draining or restarting) gets only
 * RUN_RETRY_UNAVAILABLE quick tries: a blip, not a queue to wait in. */
#define RUN_RETRY_FIRST_MS 250
#define RUN_RETRY_MAX_MS 8000
#define RUN_RETRY_BUDGET_MS 60000
#define RUN_RETRY_UNAVAILABLE 3

/* Counts the events of one attempt, then hands each on. */
typedef struct counted {
    rpc_stream_msg_fn on_msg;
    void *payload;
    int events;
} counted_t;

static int on_counted(const ProtobufCMessage *msg, void *payload)
{
    counted_t *c = payload;
    c->events++;
    return c->on_msg(msg, c->payload);
}

int gw_executor_run(gw_req_t *r, const Dojo__Executor__V1__RunJobRequest *req,
                    rpc_stream_msg_fn on_msg, void *payload, err_t **err)
{
    int64_t waited = 0, pause = RUN_RETRY_FIRST_MS;
    for (int attempt = 1;; attempt++) {
        rpc_call_opts_t opts = gw_opts(r, gw_md_user(r), false);
        opts.timeout_ms = 120000;
        counted_t c = {.on_msg = on_msg, .payload = payload};
        if (rpc_client_stream(r->gw->executor, &dojo__executor__v1__executor__descriptor, "RunJob",
                              &req->base, &opts, on_counted, &c, err) == 0)
            return 0;
        bool busy = (*err)->code == GRPC_STATUS_RESOURCE_EXHAUSTED ||
                    ((*err)->code == GRPC_STATUS_UNAVAILABLE && attempt <= RUN_RETRY_UNAVAILABLE);
        if (!busy || c.events > 0 || waited >= RUN_RETRY_BUDGET_MS)
            return -1;
        int64_t wait = pause;
        if ((*err)->retry_after_s > 0 && (int64_t)(*err)->retry_after_s * 1000 > wait)
            wait = (int64_t)(*err)->retry_after_s * 1000;
        if (wait > RUN_RETRY_MAX_MS)
            wait = RUN_RETRY_MAX_MS;
        if (wait > RUN_RETRY_BUDGET_MS - waited)
            wait = RUN_RETRY_BUDGET_MS - waited;
        LOG_INFO("executor busy, author run retried", "req_id=%s attempt=%d code=%d wait_ms=%lld",
                 r->req_id, attempt, (*err)->code, (long long)wait);
        err_free(*err);
        *err = NULL;
        sleep_ms(wait);
        waited += wait;
        pause = pause * 2 > RUN_RETRY_MAX_MS ? RUN_RETRY_MAX_MS : pause * 2;
    }
}

int gw_run_solutions(gw_req_t *r, json_t *task, json_t *names,
                     Dojo__Content__V1__JudgeBundle *bundle, json_t *results, bool *all_ok,
                     err_t **err)
{
    *all_ok = true;
    static const char *const lists[] = {"reference_solutions", "wrong_solutions"};
    for (int li = 0; li < 2; li++) {
        json_t *sols = json_object_get(task, lists[li]);
        size_t i;
        json_t *sol;
        if (!json_is_array(sols))
            continue;
        json_array_foreach(sols, i, sol)
        {
            const char *name = json_string_value(json_object_get(sol, "name"));
            const char *lang = json_string_value(json_object_get(sol, "language"));
            const char *code = json_string_value(json_object_get(sol, "code"));
            const char *expv = json_string_value(json_object_get(sol, "expected_verdict"));
            if (!name || !lang || !code || !wanted(names, name))
                continue;
            int expect = li == 0 ? DOJO__COMMON__V1__VERDICT__VERDICT_AC
                                 : (expv && *expv ? verdict_parse(expv) : 0);
            Dojo__Executor__V1__Job job = DOJO__EXECUTOR__V1__JOB__INIT;
            job.kind = DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT;
            job.user_id = r->claims.sub;
            job.task_slug = bundle->slug;
            job.task_version = bundle->version;
            job.language = (char *)lang;
            job.code = (char *)code;
            job.attempt = 1;
            job.request_id = r->req_id;
            Dojo__Executor__V1__RunJobRequest req = DOJO__EXECUTOR__V1__RUN_JOB_REQUEST__INIT;
            req.job = &job;
            req.bundle = bundle;
            req.record = false;
            run_state_t st = {.tests = json_array()};
            if (gw_executor_run(r, &req, on_event, &st, err) < 0 || !st.have_result) {
                json_decref(st.tests);
                if (*err == NULL)
                    err_set(err, GRPC_STATUS_UNAVAILABLE, "the executor gave no result");
                return -1;
            }
            bool as_expected = li == 0 ? st.verdict == DOJO__COMMON__V1__VERDICT__VERDICT_AC
                                       : (expect ? st.verdict == expect
                                                 : st.verdict != DOJO__COMMON__V1__VERDICT__VERDICT_AC);
            *all_ok = *all_ok && as_expected;
            const char *vn = gw_verdict_name(st.verdict);
            const char *en = expect ? gw_verdict_name(expect) : "not_ac";
            json_array_append_new(
                results, json_pack("{s:s,s:s,s:s,s:s,s:o,s:b,s:i,s:i,s:s,s:o}", "name", name,
                                   "role", li == 0 ? "reference" : "wrong", "language", lang,
                                   "expected_verdict", en, "verdict",
                                   vn ? json_string(vn) : json_null(), "as_expected", as_expected,
                                   "score", st.score, "max_score", st.max_score, "message",
                                   st.message, "tests", st.tests));
        }
    }
    return 0;
}

static int run_reference(gw_req_t *r, err_t **err)
{
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    int rc = -1;
    cleanup_free char *text = NULL;
    const char *slug;
    cleanup_pb Dojo__Content__V1__ValidateTaskResponse *v = NULL;
    json_t *results = json_array();
    json_t *names = json_object_get(body, "solutions");
    if (names && !json_is_array(names)) {
        err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "solutions: must be an array of names");
        goto cleanup;
    }
    if (task_text(body, &text, &slug, err) < 0 || gw_author_validate(r, text, &v, err) < 0)
        goto cleanup;
    if (!v->ok || v->bundle == NULL) {
        if (v->n_errors > 0)
            err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "%s: %s", v->errors[0]->path,
                    v->errors[0]->message);
        else
            err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "task: is not valid");
        goto cleanup;
    }
    bool all_ok = true;
    if (gw_run_solutions(r, json_object_get(body, "task"), names, v->bundle, results, &all_ok,
                         err) < 0)
        goto cleanup;
    r->out = json_pack("{s:b,s:o}", "ok", all_ok, "results", results);
    results = NULL;
    r->status = 200;
    rc = 0;
cleanup:
    json_decref(results);
    return rc;
}

int gw_h_author_run_reference(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    /* Validate the body's shape now, so bad requests answer at once. */
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    json_t *t = json_object_get(body, "task");
    bool ok = t && json_is_object(t);
    if (!ok)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task: must be a task object");
    /* Reference runs are sandbox work like a learner's runs: same budget. */
    if (gw_limit_take(r, GW_LIMIT_ACCOUNT, err) < 0)
        return -1;
    return gw_req_async(r, run_reference, err);
}
