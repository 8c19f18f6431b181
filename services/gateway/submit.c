/* submit.c — runs and submissions: the submit flow, reading results, polling
 * events, cancelling, and the control stream.
 *
 * Submit flow (POST → 202 at once): check the body, the task and the language
 * (Content.GetTask) → the account's rate limit (limits.c; a request refused
 * before this point spends nothing) → Gamification.CreateSubmission
 * (as a service, on behalf of the verified user) → one Redis round trip that
 * writes the `queued` event to the submission's event stream and the Job to
 * the job stream (kvc_job_enqueue; the keys are libcommon/kvc.h's). The
 * executor takes it from there; the WebSocket relays the event stream. */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

#define GAME_SVC (&dojo__gamification__v1__gamification__descriptor)

static int64_t now_micros(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

bool gw_valid_uuid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool gw_valid_stream_id(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 40)
        return false;
    int dashes = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '-') {
            if (++dashes > 1 || p == s || p[1] == '\0')
                return false;
        } else if (!isdigit((unsigned char)*p)) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Creating and enqueueing
 * ------------------------------------------------------------------------ */

static int pack_alloc(const ProtobufCMessage *m, char **out, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    *out = xmalloc(*len);
    protobuf_c_message_pack(m, (uint8_t *)*out);
    return 0;
}

/* Writes the queued event and the job (once per submission: a repeat with
 * the same idempotency key finds it enqueued already). */
static int enqueue(gw_t *gw, const char *stream, const Dojo__Executor__V1__Job *job,
                   err_t **err)
{
    Dojo__Common__V1__Timestamp at = DOJO__COMMON__V1__TIMESTAMP__INIT;
    at.unix_micros = job->enqueued_at ? job->enqueued_at->unix_micros : now_micros();
    Dojo__Executor__V1__Queued q = DOJO__EXECUTOR__V1__QUEUED__INIT;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.submission_id = job->submission_id;
    ev.seq = 1;
    ev.emitted_at = &at;
    ev.attempt = 0;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_QUEUED;
    ev.queued = &q;
    cleanup_free char *evbuf = NULL, *jobbuf = NULL;
    size_t evlen, joblen;
    pack_alloc(&ev.base, &evbuf, &evlen);
    pack_alloc(&job->base, &jobbuf, &joblen);
    if (kvc_job_enqueue_on(gw->kv, stream, job->submission_id, evbuf, evlen, jobbuf, joblen,
                           gw->cfg.event_ttl_s, NULL, err) < 0)
        return err_wrap(err, "enqueue");
    return 0;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)data, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

static bool task_has_language(const Dojo__Content__V1__TaskView *t, const char *lang)
{
    for (size_t i = 0; i < t->n_languages; i++)
        if (!strcmp(t->languages[i]->language, lang))
            return true;
    return false;
}

/* The shared body of POST /runs and POST /submissions. */
static int create(gw_req_t *r, bool run, err_t **err)
{
    gw_t *gw = r->gw;
    if (gw_req_auth(r, err) < 0)
        return -1;
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    const char *slug, *lang, *code, *stdin_text = NULL, *idem = NULL;
    bool interactive = false, samples = false;
    if (gw_json_str(body, "task_slug", true, 64, &slug, err) < 0 ||
        gw_json_str(body, "language", true, 32, &lang, err) < 0)
        return -1;
    {
        json_t *jc = json_object_get(body, "code");
        if (jc == NULL || !json_is_string(jc)) {
            err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "code: %s",
                    jc ? "must be a string" : "is required");
            return -1;
        }
        if ((int64_t)json_string_length(jc) > gw->cfg.max_code) {
            gw_err_http(err, 413, "payload_too_large", "code", "code: must be at most %lld bytes",
                        (long long)gw->cfg.max_code);
            return -1;
        }
        code = json_string_value(jc);
        if (*code == '\0') {
            err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "code: must not be empty");
            return -1;
        }
    }
    if (run) {
        if (gw_json_str(body, "stdin", false, 64 * 1024, &stdin_text, err) < 0 ||
            gw_json_bool(body, "interactive", &interactive, err) < 0 ||
            gw_json_bool(body, "sample_tests", &samples, err) < 0)
            return -1;
    } else if (gw_json_str(body, "idempotency_key", false, 64, &idem, err) < 0) {
        return -1;
    }
    {
        cleanup_pb Dojo__Content__V1__GetTaskResponse *t = NULL;
        if (gw_task_view(r, slug, 0, &t, err) < 0)
            return -1;
        if (t->task->status == DOJO__CONTENT__V1__TASK_STATUS__TASK_STATUS_ARCHIVED) {
            err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                    "the task is archived and takes no new submissions");
            return -1;
        }
        if (!task_has_language(t->task, lang)) {
            err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "language: the task does not accept %s",
                    lang);
            return -1;
        }
        /* Only now, with the request known to be good, does it spend. */
        if (gw_limit_take(r, GW_LIMIT_ACCOUNT, err) < 0)
            return -1;
        char hash[65];
        sha256_hex(code, strlen(code), hash);
        Dojo__Gamification__V1__CreateSubmissionRequest creq =
            DOJO__GAMIFICATION__V1__CREATE_SUBMISSION_REQUEST__INIT;
        creq.user_id = r->claims.sub;
        creq.task_slug = (char *)slug;
        creq.task_version = t->task->version;
        creq.language = (char *)lang;
        creq.code_hash = hash;
        creq.kind = run ? DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN
                        : DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT;
        creq.code = (char *)code;
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
        job.task_slug = (char *)slug;
        job.task_version = t->task->version;
        job.language = (char *)lang;
        job.code = (char *)code;
        if (stdin_text) {
            job.stdin_data.data = (uint8_t *)stdin_text;
            job.stdin_data.len = strlen(stdin_text);
        }
        job.interactive = interactive;
        job.sample_tests = samples;
        job.enqueued_at = &at;
        job.attempt = 1;
        job.request_id = r->req_id;
        if (enqueue(gw, KVC_JOBS, &job, err) < 0)
            return -1;
        metrics_counter_add("dojo_gateway_submissions_total", run ? "kind=\"run\"" : "kind=\"submit\"",
                            1);
        LOG_INFO("submission queued", "submission=%s kind=%s task=%s version=%d",
                 cr->submission_id, run ? "run" : "submit", log_esc(slug), t->task->version);
        char loc[96];
        snprintf(loc, sizeof loc, "/api/v1/submissions/%s", cr->submission_id);
        gw_add_header(r, "Location", loc);
        r->status = 202;
        r->out = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:o}", "id", cr->submission_id, "kind",
                           run ? "run" : "submit", "task_slug", slug, "task_version",
                           t->task->version, "language", lang, "state", "pending", "created_at",
                           gw_json_time(cr->created_at));
    }
    return 0;
}

int gw_job_enqueue(gw_t *gw, const char *stream, const Dojo__Executor__V1__Job *job, err_t **err)
{
    return enqueue(gw, stream, job, err);
}

int gw_h_run(gw_req_t *r, err_t **err) { return create(r, true, err); }
int gw_h_submit(gw_req_t *r, err_t **err) { return create(r, false, err); }

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

int gw_submission_owned(gw_t *gw, const char *req_id, const token_claims_t *claims, const char *id,
                        Dojo__Gamification__V1__GetSubmissionResponse **out, err_t **err)
{
    if (!gw_valid_uuid(id))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    Dojo__Gamification__V1__GetSubmissionRequest req =
        DOJO__GAMIFICATION__V1__GET_SUBMISSION_REQUEST__INIT;
    req.submission_id = (char *)id;
    const char *md[] = {"x-dojo-service-key", gw->cfg.service_key, NULL};
    rpc_call_opts_t o = {.timeout_ms = (int)gw->cfg.rpc_timeout_ms,
                         .idempotent = true,
                         .request_id = req_id,
                         .metadata = md};
    Dojo__Gamification__V1__GetSubmissionResponse *resp = NULL;
    if (rpc_client_call(gw->game, GAME_SVC, "GetSubmission", &req.base,
                        (ProtobufCMessage **)&resp, &o, err) < 0)
        return -1;
    bool mine = resp->submission && !strcmp(resp->submission->user_id, claims->sub);
    bool staff = !strcmp(claims->role, "author") || !strcmp(claims->role, "admin");
    if (!mine && !staff) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    }
    if (out)
        *out = resp;
    else
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    return 0;
}

int gw_h_submission_get(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    if (!gw_valid_uuid(r->segs[1]))
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    Dojo__Gamification__V1__GetSubmissionRequest req =
        DOJO__GAMIFICATION__V1__GET_SUBMISSION_REQUEST__INIT;
    req.submission_id = (char *)r->segs[1];
    cleanup_pb Dojo__Gamification__V1__GetSubmissionResponse *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->game, GAME_SVC, "GetSubmission", &req.base,
                        (ProtobufCMessage **)&resp, &o, err) < 0)
        return -1;
    if (resp->submission == NULL)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no such submission");
    r->out = gw_json_submission(resp->submission);
    r->status = 200;
    return 0;
}

int gw_h_submissions_list(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    const char *task = gw_query(r, "task"), *kind = gw_query(r, "kind"),
               *user = gw_query(r, "user_id"), *tok = gw_query(r, "page_token");
    int64_t size = 0;
    if (gw_query_int(r, "page_size", 0, 100, &size, err) < 0)
        return -1;
    Dojo__Gamification__V1__ListSubmissionsRequest req =
        DOJO__GAMIFICATION__V1__LIST_SUBMISSIONS_REQUEST__INIT;
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    if (task && strlen(task) > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "task: too long");
    if (user && *user && !gw_valid_uuid(user))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    if (kind && *kind) {
        if (!strcmp(kind, "run"))
            req.kind = DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN;
        else if (!strcmp(kind, "submit"))
            req.kind = DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_SUBMIT;
        else
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "kind: must be run or submit");
    }
    /* "" would mean "every learner" for an author: default to the caller. */
    req.user_id = (char *)(user && *user ? user : r->claims.sub);
    req.task_slug = (char *)(task ? task : "");
    page.page_size = (int32_t)size;
    page.page_token = (char *)(tok ? tok : "");
    if (strlen(page.page_token) > 512)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "page_token: too long");
    req.page = &page;
    cleanup_pb Dojo__Gamification__V1__ListSubmissionsResponse *resp = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->game, GAME_SVC, "ListSubmissions", &req.base,
                        (ProtobufCMessage **)&resp, &o, err) < 0)
        return -1;
    json_t *a = json_array();
    for (size_t i = 0; i < resp->n_submissions; i++)
        json_array_append_new(a, gw_json_submission_summary(resp->submissions[i]));
    r->out = json_pack("{s:o,s:s,s:I}", "submissions", a, "next_page_token",
                       resp->page ? resp->page->next_page_token : "", "total",
                       (json_int_t)(resp->page ? resp->page->total : -1));
    r->status = 200;
    return 0;
}

int gw_h_submission_events(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    const char *id = r->segs[1];
    const char *after = gw_query(r, "after");
    if (after && *after && !gw_valid_stream_id(after))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "after: must be an event id");
    if (gw_submission_owned(r->gw, r->req_id, &r->claims, id, NULL, err) < 0)
        return -1;
    kvc_key_t key;
    char start[48];
    snprintf(start, sizeof start, "%s%s", after && *after ? "(" : "-",
             after && *after ? after : "");
    cleanup_redis_reply redisReply *rep = NULL;
    if (kv_command(r->gw->kv, &rep, err, "XRANGE %s %s + COUNT 500", kvc_key_events(&key, id),
                   start) < 0)
        return err_wrap(err, "read events");
    json_t *a = json_array();
    bool done = false;
    for (size_t i = 0; i < kvc_entries_count(rep); i++) {
        kvc_entry_t e;
        if (!kvc_entry_at(rep, i, KVC_FIELD_EVENT, &e) || e.value == NULL)
            continue;
        Dojo__Executor__V1__Event *ev =
            dojo__executor__v1__event__unpack(NULL, e.len, (const uint8_t *)e.value);
        if (ev == NULL)
            continue;
        if (ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_RESULT)
            done = true;
        json_array_append_new(a, gw_json_event(ev, e.id));
        dojo__executor__v1__event__free_unpacked(ev, NULL);
    }
    r->out = json_pack("{s:o,s:b}", "events", a, "done", done);
    r->status = 200;
    return 0;
}

/* ------------------------------------------------------------------------
 * Control
 * ------------------------------------------------------------------------ */

int gw_control_send(gw_t *gw, const char *submission_id, Dojo__Executor__V1__Control *ctl,
                    err_t **err)
{
    int64_t seq = 0;
    if (kvc_control_seq_next(gw->kv, submission_id, gw->cfg.event_ttl_s, &seq, err) < 0)
        return -1;
    Dojo__Common__V1__Timestamp at = DOJO__COMMON__V1__TIMESTAMP__INIT;
    at.unix_micros = now_micros();
    ctl->submission_id = (char *)submission_id;
    ctl->seq = seq;
    ctl->sent_at = &at;
    cleanup_free char *buf = NULL;
    size_t len;
    pack_alloc(&ctl->base, &buf, &len);
    kvc_key_t key;
    if (kvc_append(gw->kv, kvc_key_control(&key, submission_id), KVC_FIELD_CONTROL, buf, len,
                   gw->cfg.event_ttl_s, err) < 0)
        return err_wrap(err, "control");
    return 0;
}

int gw_h_submission_cancel(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    cleanup_pb Dojo__Gamification__V1__GetSubmissionResponse *s = NULL;
    if (gw_submission_owned(r->gw, r->req_id, &r->claims, r->segs[1], &s, err) < 0)
        return -1;
    if (s->submission->state == DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "the submission already finished");
    Dojo__Executor__V1__Cancel c = DOJO__EXECUTOR__V1__CANCEL__INIT;
    c.reason = "learner";
    Dojo__Executor__V1__Control ctl = DOJO__EXECUTOR__V1__CONTROL__INIT;
    ctl.action_case = DOJO__EXECUTOR__V1__CONTROL__ACTION_CANCEL;
    ctl.cancel = &c;
    if (gw_control_send(r->gw, r->segs[1], &ctl, err) < 0)
        return -1;
    r->status = 202;
    return 0;
}
